/* Compressed records (RFC 3749 DEFLATE) end to end in the decoder.
 *
 * No peer on the test machines compresses (Debian's OpenSSL is built
 * without zlib: `s_client -comp` negotiates none), so the exchanges are
 * made compressed here: a real TLS 1.2 AES-128-GCM exchange by OpenSSL
 * (tests/unit/helpers/tlsgen.c) is re-encoded as if both sides had
 * negotiated DEFLATE.  Each ClientHello gets DEFLATE in its list and
 * each ServerHello chooses it (the randoms, so the keys, stay the same);
 * every record after a side's ChangeCipherSpec is decrypted with the keys
 * of the client's key log, compressed in that side's deflate stream of
 * the epoch (zlib format, Z_SYNC_FLUSH per record, as OpenSSL's zlib
 * method), encrypted again and its length set.  A renegotiation's
 * ServerHello may choose DEFLATE again or null.
 *
 * The re-encoded exchange replayed with the key log must give the events
 * of the original, with its compression shown; a corrupted compressed
 * record one decode_error; without zlib, records are reported as
 * without keys, after one not_inflated event per direction and epoch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "evassert.h"
#include "evlog.h"
#include "keysched.h"
#include "ossl_crypto.h"
#include "testkeys.h"
#include "tlsgen.h"

#define K_DOT	"CN=K-Dot Certificate Authority"
#define ROOTS	"CN=The Roots Authority"
#define CA_LIST "\"ca_count\":2,\"ca_names\":[\"" K_DOT "\",\"" ROOTS "\"]"
#define GCM	"ECDHE-ECDSA-AES128-GCM-SHA256"

/* ---- the re-encoding ---- */

struct recode_opts {
	int reneg_null;	 /* the renegotiation's ServerHello chooses null */
	int corrupt_dir; /* 1 + from_server of the side whose record is
			  * corrupted (0: none) */
	int corrupt_nth; /* its n-th compressed record (0-based) */
	int stored;	 /* deflate level 0: records no smaller */
};

struct side_state {
	int ccs;	   /* after its ChangeCipherSpec */
	int comp;	   /* this epoch is compressed */
	int zinit;	   /* z holds a stream */
	int ncomp;	   /* records compressed so far */
	struct tt_rkeys k; /* this epoch's keys (seq: next record) */
	z_stream z;
};

struct recode {
	const struct tlsgen_result *r;
	const struct recode_opts *o;
	struct testkeys keys;
	const struct tt_suite *suite;
	uint8_t crandom[32], srandom[32];
	int sh_comp; /* the latest ServerHello's method, as re-encoded */
	int nsh;     /* ServerHellos seen */
	struct side_state st[2];
	struct tlsgen_result out;
	size_t cap[2];
};

static void out_append(struct recode *rc, int side, const uint8_t *p, size_t n)
{
	struct tlsgen_stream *s = side ? &rc->out.s2c : &rc->out.c2s;
	if (s->len + n > rc->cap[side]) {
		rc->cap[side] = 2 * (s->len + n);
		s->data = realloc(s->data, rc->cap[side]);
		assert_non_null(s->data);
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

/* DEFLATE offered in a ClientHello (before null), chosen in a
 * ServerHello; the randoms taken.  m: one record's plaintext, whole
 * handshake messages; a ClientHello grows by one byte. */
static size_t edit_hellos(struct recode *rc, uint8_t *m, size_t n, size_t cap)
{
	size_t off = 0;
	while (off + 4 <= n) {
		size_t len = (size_t)m[off + 1] << 16 | m[off + 2] << 8 |
			     m[off + 3];
		assert_true(off + 4 + len <= n);
		uint8_t *b = m + off + 4;
		if (m[off] == 1) { /* ClientHello */
			memcpy(rc->crandom, b + 2, 32);
			size_t q = 34 + 1 + b[34];
			q += 2 + (size_t)(b[q] << 8 | b[q + 1]);
			/* q: the compression methods' length byte */
			assert_int_equal(b[q], 1);
			assert_int_equal(b[q + 1], 0);
			assert_true(n + 1 <= cap);
			memmove(b + q + 2, b + q + 1, n - (off + 4 + q + 1));
			b[q] = 2;
			b[q + 1] = 1; /* DEFLATE, then null */
			len++;
			n++;
			m[off + 1] = (uint8_t)(len >> 16);
			m[off + 2] = (uint8_t)(len >> 8);
			m[off + 3] = (uint8_t)len;
		} else if (m[off] == 2) { /* ServerHello */
			memcpy(rc->srandom, b + 2, 32);
			size_t q = 34 + 1 + b[34] + 2;
			assert_int_equal(b[q], 0);
			rc->sh_comp = !(rc->nsh++ && rc->o->reneg_null);
			b[q] = (uint8_t)rc->sh_comp;
		}
		off += 4 + len;
	}
	assert_int_equal(off, n);
	return n;
}

/* A side's ChangeCipherSpec: the keys and compression of the handshake
 * in progress. */
static void switch_epoch(struct recode *rc, int side)
{
	struct side_state *s = &rc->st[side];
	uint8_t master[TT_KEYLOG_SECRET_MAX];
	assert_int_equal(rc->keys.src.get(&rc->keys, rc->crandom,
					  TT_KL_CLIENT_RANDOM, master),
			 48);
	struct tt_rkeys ck, sk;
	assert_int_equal(tt_tls12_keys(ossl_crypto(), rc->suite, TT_V_TLS12,
				       master, rc->crandom, rc->srandom, &ck,
				       &sk),
			 TT_OK);
	s->k = side ? sk : ck;
	if (s->zinit)
		deflateEnd(&s->z);
	s->zinit = 0;
	s->comp = rc->sh_comp;
	if (s->comp) {
		memset(&s->z, 0, sizeof(s->z));
		assert_int_equal(
			deflateInit(&s->z, rc->o->stored
						   ? Z_NO_COMPRESSION
						   : Z_DEFAULT_COMPRESSION),
			Z_OK);
		s->zinit = 1;
	}
	s->ccs = 1;
}

/* One record of side, re-encoded onto its output stream. */
static void recode_record(struct recode *rc, int side,
			  const struct tlsgen_record *rec)
{
	struct side_state *s = &rc->st[side];
	static uint8_t plain[20000], comp[20000], out[20000];
	uint8_t hdr[5] = {rec->type, (uint8_t)(rec->version >> 8),
			  (uint8_t)rec->version};
	size_t n;
	if (!s->ccs) {
		memcpy(plain, rec->body, rec->len);
		n = rec->len;
		if (rec->type == 22)
			n = edit_hellos(rc, plain, n, sizeof(plain));
		hdr[3] = (uint8_t)(n >> 8);
		hdr[4] = (uint8_t)n;
		out_append(rc, side, hdr, 5);
		out_append(rc, side, plain, n);
		if (rec->type == 20)
			switch_epoch(rc, side);
		return;
	}
	const struct tt_crypto *cr = ossl_crypto();
	uint64_t seq = s->k.seq;
	uint8_t whole[20000];
	memcpy(whole, hdr, 3);
	whole[3] = (uint8_t)(rec->len >> 8);
	whole[4] = (uint8_t)rec->len;
	memcpy(whole + 5, rec->body, rec->len);
	assert_int_equal(tt_tls12_open(cr, &s->k, whole, rec->len + 5, plain,
				       sizeof(plain), &n),
			 TT_OK);
	if (rec->type == 22)
		n = edit_hellos(rc, plain, n, sizeof(plain));
	const uint8_t *body = plain;
	if (s->comp) {
		s->z.next_in = plain;
		s->z.avail_in = (uInt)n;
		s->z.next_out = comp;
		s->z.avail_out = sizeof(comp);
		if (n)
			assert_int_equal(deflate(&s->z, Z_SYNC_FLUSH), Z_OK);
		assert_int_equal(s->z.avail_in, 0);
		n = sizeof(comp) - s->z.avail_out;
		if (rc->o->corrupt_dir == side + 1 &&
		    rc->o->corrupt_nth == s->ncomp)
			comp[0] |=
				0x06; /* a bad zlib header, or block type 3 */
		s->ncomp++;
		body = comp;
	}
	/* AES-GCM: the record's own explicit nonce, AAD with the new length */
	size_t en = rc->suite->explicit_nonce;
	uint8_t nonce[12], aad[13];
	memcpy(nonce, s->k.iv, 12 - en);
	memcpy(nonce + 12 - en, rec->body, en);
	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(aad + 8, hdr, 3);
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	memcpy(out, rec->body, en);
	assert_int_equal(cr->aead_seal(cr->ctx, rc->suite->aead, s->k.key,
				       nonce, aad, 13, body, n, out + en,
				       out + en + n),
			 0);
	size_t len = en + n + TT_AEAD_TAG_LEN;
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
	out_append(rc, side, hdr, 5);
	out_append(rc, side, out, len);
	if (rec->type == 20)
		switch_epoch(rc, side);
}

/* r re-encoded with compression into rc->out: each write of r becomes
 * the re-encoded records it completes (a record cut across writes goes
 * with the write of its last byte). */
static void recode(const struct tlsgen_result *r, const struct recode_opts *o,
		   struct recode *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->r = r;
	rc->o = o;
	testkeys_init(&rc->keys, r->keylog, r->keylog_len);
	rc->suite = tt_suite_find(0xc02b); /* ECDHE_ECDSA_AES_128_GCM_SHA256 */
	assert_non_null(rc->suite);
	rc->out.steps = calloc(r->nsteps, sizeof(*rc->out.steps));
	assert_non_null(rc->out.steps);
	rc->out.keylog = r->keylog;
	rc->out.keylog_len = r->keylog_len;
	size_t start[2] = {0, 0}; /* first byte not yet in a whole record */
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct tlsgen_step *s = &r->steps[i];
		int side = s->from_server;
		const struct tlsgen_stream *in = tlsgen_stream_of(r, side);
		struct tlsgen_stream upto = {.data = in->data,
					     .len = s->off + s->len};
		struct tlsgen_step *ns = &rc->out.steps[rc->out.nsteps];
		ns->from_server = side;
		ns->off = tlsgen_stream_of(&rc->out, side)->len;
		struct tlsgen_record rec;
		size_t off = start[side];
		while (tlsgen_next_record(&upto, &off, &rec) == 1) {
			recode_record(rc, side, &rec);
			start[side] = off;
		}
		ns->len = tlsgen_stream_of(&rc->out, side)->len - ns->off;
		if (ns->len)
			rc->out.nsteps++;
	}
	assert_int_equal(start[0], r->c2s.len);
	assert_int_equal(start[1], r->s2c.len);
	for (int i = 0; i < 2; i++)
		if (rc->st[i].zinit)
			deflateEnd(&rc->st[i].z);
}

static void recode_free(struct recode *rc)
{
	free(rc->out.c2s.data);
	free(rc->out.s2c.data);
	free(rc->out.steps);
}

/* ---- replays and checks ---- */

static void same_names(const struct evlog *a, const struct evlog *b)
{
	static char na[16384], nb[16384];
	evlog_names_all(a, na, sizeof(na));
	evlog_names_all(b, nb, sizeof(nb));
	if (strcmp(na, nb) != 0) {
		fprintf(stderr, "original:   %s\ncompressed: %s\n", na, nb);
		evlog_dump(b);
		fail();
	}
}

static const struct tlsgen_opts reneg_opts = {.version = TLSGEN_TLS12,
					      .mtls = 1,
					      .client_sends_cert = 1,
					      .ca_names = TLSGEN_CA_LIST,
					      .cipher = GCM,
					      .renegotiate = 1,
					      .app_bytes = 40000,
					      .close_notify = 1};

/* The renegotiation exchange compressed, from both sides, whole and a
 * byte at a time: the original's events in the same order, every
 * message decrypted and inflated. */
static void deflate_reneg(int reneg_null)
{
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&reneg_opts, &r), 0);
	struct recode_opts ro = {.reneg_null = reneg_null};
	struct recode rc;
	recode(&r, &ro, &rc);
	for (int side = 0; side < 2; side++) {
		for (int p = 0; p < 2; p++) {
			size_t piece = p ? 1 : (size_t)-1;
			struct testkeys k, k0;
			testkeys_init(&k, r.keylog, r.keylog_len);
			testkeys_init(&k0, r.keylog, r.keylog_len);
			struct evlog l, l0;
			evlog_init(&l, TT_DEBUG);
			evlog_init(&l0, TT_DEBUG);
			evlog_replay_closed(&r, side, &k0.src, &l0, piece);
			evlog_replay_closed(&rc.out, side, &k.src, &l, piece);
			same_names(&l0, &l);
			const char *s2c = side ? "out" : "in";
			const char *c2s = side ? "in" : "out";
			assert_has(evlog_nth(&l, "client_hello", c2s, 0),
				   "\"compression\":[\"DEFLATE\",\"null\"]");
			assert_has(evlog_nth(&l, "client_hello", c2s, 1),
				   "\"compression\":[\"DEFLATE\",\"null\"]");
			assert_has(evlog_nth(&l, "server_hello", s2c, 0),
				   "\"compression\":\"DEFLATE\"");
			assert_has(evlog_nth(&l, "server_hello", s2c, 1),
				   reneg_null ? "\"compression\":\"null\""
					      : "\"compression\":\"DEFLATE\"");
			for (int i = 0; i < 2; i++) {
				assert_has(evlog_nth(&l, "finished", s2c, i),
					   "\"decrypted\":true");
				assert_has(evlog_nth(&l, "finished", c2s, i),
					   "\"decrypted\":true");
			}
			assert_has(evlog_nth(&l, "hello_request", s2c, 0),
				   "\"decrypted\":true");
			const char *cr2 =
				evlog_nth(&l, "certificate_request", s2c, 1);
			assert_has(cr2, CA_LIST);
			assert_has(cr2, "\"decrypted\":true");
			assert_has(evlog_nth(&l, "renegotiation", NULL, 2),
				   "\"phase\":\"completed\"");
			assert_has(evlog_nth(&l, "alert", c2s, 0),
				   "\"alert\":\"close_notify\"");
			assert_has(evlog_nth(&l, "alert", c2s, 0),
				   "\"decrypted\":true");
			assert_has(evlog_nth(&l, "alert", s2c, 0),
				   "\"alert\":\"close_notify\"");
			assert_null(evlog_nth(&l, "decode_error", NULL, 0));
			assert_null(evlog_nth(&l, "not_inflated", NULL, 0));
			const char *sum = evlog_nth(&l, "summary", NULL, 0);
			assert_has(sum, "\"keys\":\"used\"");
			assert_has(sum,
				   "\"compression\":\"DEFLATE\",\"inflate\":"
				   "\"used\"");
			assert_lacks(evlog_nth(&l0, "summary", NULL, 0),
				     "compression");
			assert_int_equal(k.inflate_calls, reneg_null ? 2 : 4);
			evlog_free(&l);
			evlog_free(&l0);
		}
	}
	recode_free(&rc);
	tlsgen_free(&r);
}

static void test_deflate_reneg(void **state)
{
	(void)state;
	deflate_reneg(0);
}

/* The renegotiation chooses null: its epochs are read as they are. */
static void test_deflate_then_null(void **state)
{
	(void)state;
	deflate_reneg(1);
}

/* A compressed record that does not inflate: one decode_error, and
 * nothing more decoded in that direction; the other goes on. */
static void corrupt(int nth_rec, const char *after)
{
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&reneg_opts, &r), 0);
	struct recode_opts ro = {.corrupt_dir = 2, .corrupt_nth = nth_rec};
	struct recode rc;
	recode(&r, &ro, &rc);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(&rc.out, 0, &k.src, &l, (size_t)-1);
	if (evlog_count(&l, "decode_error", NULL) != 1)
		evlog_dump(&l);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
	const char *de = evlog_nth(&l, "decode_error", "in", 0);
	assert_has(de, "\"error\":\"record did not inflate\"");
	assert_has(de,
		   "\"detail\":\"corrupt data, or not the next bytes of the "
		   "stream (DEFLATE)\"");
	/* the last event in before it */
	for (size_t i = 0; i < l.n; i++) {
		if (l.lines[i] != de)
			continue;
		size_t j = i;
		while (j > 0 && !strstr(l.lines[--j], "\"dir\":\"in\""))
			;
		assert_has(l.lines[j], after);
		for (j = i + 1; j < l.n; j++)
			if (strstr(l.lines[j], "\"dir\":\"in\"") &&
			    !strstr(l.lines[j], "\"event\":\"connection_"))
				assert_has(l.lines[j], "\"event\":\"summary\"");
	}
	assert_null(evlog_nth(&l, "hello_request", NULL, 0));
	assert_has(evlog_nth(&l, "finished", "out", 0), "\"decrypted\":true");
	assert_has(evlog_nth(&l, "summary", NULL, 0), "\"inflate\":\"failed\"");
	evlog_free(&l);
	recode_free(&rc);
	tlsgen_free(&r);
}

static void test_corrupt_first(void **state)
{
	(void)state;
	/* the server's Finished, the first record of its stream */
	corrupt(0, "\"event\":\"change_cipher_spec\"");
}

static void test_corrupt_later(void **state)
{
	(void)state;
	/* its first application data, after the Finished */
	corrupt(1, "\"event\":\"finished\"");
}

/* Without zlib: records of each compressed epoch are reported as without
 * keys, after one not_inflated per direction and epoch; nothing in them
 * is parsed as a handshake message. */
static void no_zlib(int table_absent)
{
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&reneg_opts, &r), 0);
	struct recode_opts ro = {0};
	struct recode rc;
	recode(&r, &ro, &rc);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	k.no_inflate = !table_absent;
	if (table_absent)
		k.src.inflate = NULL;
	const char *why = table_absent ? "no inflate service" : "test: no zlib";
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(&rc.out, 0, &k.src, &l, (size_t)-1);
	/* one per direction: the renegotiation's hellos went by unread, so
	 * its epochs are not decrypted at all */
	assert_int_equal(evlog_count(&l, "not_inflated", NULL), 2);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 0);
	for (int d = 0; d < 2; d++) {
		const char *ni =
			evlog_nth(&l, "not_inflated", d ? "out" : "in", 0);
		assert_has(ni, "\"compression\":\"DEFLATE\",\"record_type\":"
			       "\"handshake\",\"record_length\":");
		assert_has(ni, why);
		assert_has(
			ni,
			"\"note\":\"compressed (DEFLATE), not inflated: this "
			"direction's records are reported as without keys "
			"until its next change_cipher_spec\"");
	}
	/* the first handshake's CertificateRequest, in the clear, only */
	assert_int_equal(evlog_count(&l, "certificate_request", NULL), 1);
	assert_has(evlog_nth(&l, "finished", "in", 0), "\"inferred\":true");
	assert_has(evlog_nth(&l, "finished", "out", 0), "\"inferred\":true");
	assert_has(evlog_nth(&l, "hello_request", "in", 0),
		   "\"inferred\":true");
	const char *sum = evlog_nth(&l, "summary", NULL, 0);
	assert_has(sum, "\"compression\":\"DEFLATE\",\"inflate\":\"no_zlib\"");
	/* the renegotiation's: its ChangeCipherSpec read by its type, its
	 * Finished inferred, its keys not made */
	assert_has(evlog_nth(&l, "change_cipher_spec", "in", 1),
		   "\"decrypted\":true");
	assert_has(evlog_nth(&l, "finished", "in", 1), "\"inferred\":true");
	assert_has(evlog_nth(&l, "finished", "out", 1), "\"inferred\":true");
	assert_int_equal(k.inflate_calls, table_absent ? 0 : 2);
	evlog_free(&l);
	recode_free(&rc);
	tlsgen_free(&r);
}

static void test_no_zlib(void **state)
{
	(void)state;
	no_zlib(0);
}

static void test_no_inflate_table(void **state)
{
	(void)state;
	no_zlib(1);
}

/* Without keys a compressed exchange looks as an uncompressed one does:
 * nothing inflated, nothing asked of zlib. */
static void test_no_keys(void **state)
{
	(void)state;
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&reneg_opts, &r), 0);
	struct recode_opts ro = {0};
	struct recode rc;
	recode(&r, &ro, &rc);
	struct evlog l, l0;
	evlog_init(&l, TT_DEBUG);
	evlog_init(&l0, TT_DEBUG);
	evlog_replay_closed(&r, 0, NULL, &l0, (size_t)-1);
	evlog_replay_closed(&rc.out, 0, NULL, &l, (size_t)-1);
	same_names(&l0, &l);
	const char *sum = evlog_nth(&l, "summary", NULL, 0);
	assert_has(sum, "\"compression\":\"DEFLATE\"");
	assert_lacks(sum, "inflate");
	evlog_free(&l);
	evlog_free(&l0);
	recode_free(&rc);
	tlsgen_free(&r);
}

/* Keys that come only after a long wait: the bodies of the records past
 * the queue's cap were not kept, so the stream of that epoch cannot go
 * on after them: one not_inflated per direction, "incomplete", no
 * decode_error. */
static void test_keys_after_cap(void **state)
{
	(void)state;
	struct tlsgen_opts o = reneg_opts;
	o.app_bytes = 200000;
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&o, &r), 0);
	struct recode_opts ro = {.stored = 1};
	struct recode rc;
	recode(&r, &ro, &rc);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	k.hidden = true;
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &k.src;
	evlog_replay(&rc.out, 0, &c, &l, (size_t)-1);
	k.hidden = false;
	tt_conn_drain(&c, &l.em);
	evlog_close(&c, &l);
	tt_conn_release(&c);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 0);
	assert_has(evlog_nth(&l, "finished", "in", 0), "\"decrypted\":true");
	assert_has(evlog_nth(&l, "finished", "out", 0), "\"decrypted\":true");
	/* the first application data past the cap, in each direction */
	assert_int_equal(evlog_count(&l, "not_inflated", NULL), 2);
	for (int d = 0; d < 2; d++) {
		const char *ni =
			evlog_nth(&l, "not_inflated", d ? "out" : "in", 0);
		assert_has(ni, "\"record_type\":\"application_data\"");
		assert_has(
			ni,
			"\"reason\":\"a record of this stream was not read (it "
			"waited for keys past the queue's cap), so the records "
			"after it cannot be inflated\"");
	}
	/* what follows is as without keys; no handshake record after the
	 * decrypted Finished is taken for one */
	assert_has(evlog_nth(&l, "hello_request", "in", 0),
		   "\"inferred\":true");
	assert_has(evlog_nth(&l, "finished", "in", 1), "\"inferred\":true");
	assert_has(evlog_nth(&l, "summary", NULL, 0),
		   "\"compression\":\"DEFLATE\",\"inflate\":\"incomplete\"");
	evlog_free(&l);
	recode_free(&rc);
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deflate_reneg),
		cmocka_unit_test(test_deflate_then_null),
		cmocka_unit_test(test_corrupt_first),
		cmocka_unit_test(test_corrupt_later),
		cmocka_unit_test(test_no_zlib),
		cmocka_unit_test(test_no_inflate_table),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_keys_after_cap),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
