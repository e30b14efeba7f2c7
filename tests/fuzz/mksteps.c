/* mkcorpus, plus each scenario's writes in the order they happened and
 * its key log.
 *
 *   mksteps DIR
 *
 * does what tests/tools/mkcorpus does, then runs every scenario again and
 * writes DIR/steps/SCEN: each write one side made, in the real order
 * across both directions, as the segments fuzz_record reads:
 *   u8 from_server, u16 length (big-endian), that many bytes
 * (a write over 65535 bytes becomes several segments).  The whole-stream
 * files of records/ lose that order, and with it what one direction's
 * decoding learns from the other (version, role) at the right time.
 * DIR/keylog/SCEN is the client's NSS key log of the same run, for
 * fuzz_decrypt.
 *
 * A few scenarios only fuzz_decrypt uses (more[] below) get steps and a
 * key log too, and two exchanges are rewritten with a KeyUpdate in each
 * direction (OpenSSL sends one only when asked, which tlsgen does not):
 * DIR/steps/SCEN_keyupdate, DIR/keylog/SCEN_keyupdate.  One exchange
 * starts with an SSLv2-compatible ClientHello (tests/unit/helpers/
 * v2hello.h): DIR/steps/sslv2_compat, DIR/keylog/sslv2_compat (the
 * server's key log).
 *
 * mkcorpus.c is included rather than copied so that the scenario list
 * stays in one place.  Built and run by tests/fuzz/mkseeds.py.
 */
#define main mkcorpus_main
#include "../tools/mkcorpus.c"
#undef main

#include "keylog.h"
#include "keysched.h"
#include "ossl_crypto.h"
#include "v2hello.h"

/* Scenarios only fuzz_decrypt uses: the TLS 1.2 ones above negotiate
 * AES-256-GCM and the TLS 1.3 ones AES-256-GCM or ChaCha20-Poly1305;
 * these add TLS 1.2 AES-128-GCM and ChaCha20-Poly1305 (no explicit
 * nonce), TLS 1.3 AES-128-GCM and AES-128-CCM, a TLS 1.3 exchange with
 * larger records, and CBC and NULL suites of TLS 1.0 to 1.2. */
static const struct scenario more[] = {
	{"tls12_gcm_reneg",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .cipher = "ECDHE-ECDSA-AES128-GCM-SHA256",
	  .renegotiate = 1,
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls12_chacha_refused",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .cipher = "ECDHE-ECDSA-CHACHA20-POLY1305",
	  .renegotiate = 1,
	  .client_refuses_reneg = 1,
	  .app_bytes = 64}},
	{"tls13_aes128gcm",
	 {.version = TLSGEN_TLS13,
	  .ciphersuites = "TLS_AES_128_GCM_SHA256",
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls13_ccm",
	 {.version = TLSGEN_TLS13,
	  .ciphersuites = "TLS_AES_128_CCM_SHA256",
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	/* The MAC-protected suites: TLS 1.0 CBC (the IV chained through
	 * application data), TLS 1.1 CBC MAC-then-encrypt, TLS 1.2's NULL
	 * cipher (a MAC only) with a renegotiation. */
	{"tls10_cbc",
	 {.version = TLSGEN_TLS10,
	  .sni = "localhost",
	  .cipher = "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls11_cbc_noetm",
	 {.version = TLSGEN_TLS11,
	  .sni = "localhost",
	  .cipher = "ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0",
	  .no_etm = 1,
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls12_null_reneg",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .cipher = "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0",
	  .renegotiate = 1,
	  .app_bytes = 64,
	  .close_notify = 1}},
	/* Records waiting for keys past the queue's first 4 KiB. */
	{"tls13_bulk",
	 {.version = TLSGEN_TLS13,
	  .sni = "localhost",
	  .app_bytes = 6000,
	  .close_notify = 1}},
};

/* Exchanges rewritten with a KeyUpdate in each direction. */
static const char *const keyupdate_of[] = {"tls13_mtls_ca", "tls13_chacha"};

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (np == NULL) {
			fprintf(stderr, "mksteps: out of memory\n");
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

/* One write as segments: u8 from_server, u16 length, bytes. */
static int add_write(struct buf *b, int from_server, const uint8_t *p,
		     size_t len)
{
	while (len > 0) {
		size_t n = len > 0xffff ? 0xffff : len;
		uint8_t h[3] = {(uint8_t)from_server, (uint8_t)(n >> 8),
				(uint8_t)n};
		if (buf_add(b, h, 3) != 0 || buf_add(b, p, n) != 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int put_file(const char *sub, const char *scen, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, scen);
	f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "mksteps: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = fwrite(p, 1, n, f) == n;
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "mksteps: %s: write failed\n", path);
		return -1;
	}
	nfiles++;
	return 0;
}

static int put_steps(const char *scen, const struct tlsgen_result *r)
{
	struct buf b = {0};
	int rc = 0;

	for (size_t i = 0; i < r->nsteps && rc == 0; i++) {
		const struct tlsgen_step *s = &r->steps[i];
		rc = add_write(&b, s->from_server,
			       tlsgen_stream_of(r, s->from_server)->data +
				       s->off,
			       s->len);
	}
	if (rc == 0)
		rc = put_file("steps", scen, b.p, b.n);
	free(b.p);
	return rc;
}

static int put_keylog(const char *scen, const struct tlsgen_result *r)
{
	return put_file("keylog", scen, r->keylog, r->keylog_len);
}

/* ---- a KeyUpdate in each direction of a TLS 1.3 exchange ----
 *
 * Each direction's records are opened with its handshake keys, then its
 * first application keys; after its first application data record a
 * KeyUpdate (RFC 8446 4.6.3) sealed with those keys is added, then an
 * application data record with 300 bytes of padding (5.4) sealed with the
 * keys of the next secret (7.2), with which every later record of the
 * direction is sealed again.  Writes keep their boundaries, each with the
 * records it had (and the added ones). */

struct ku_dir {
	struct tt_rkeys hs, app; /* open the records as OpenSSL sent them */
	struct tt_rkeys next;	 /* seal them after the KeyUpdate */
	int epoch;		 /* 0 handshake, 1 application, 2 after it */
	uint8_t request;	 /* the KeyUpdate's request_update */
};

static const uint8_t *keylog_secret(const struct tlsgen_result *r,
				    enum tt_keylog_label label,
				    struct tt_keylog_entry *e)
{
	size_t off = 0, used = 0;

	while (off < r->keylog_len) {
		tt_rc rc = tt_keylog_next(r->keylog + off, r->keylog_len - off,
					  &used, e);
		if (rc == TT_OK && e->label == label)
			return e->secret;
		if (used == 0)
			break;
		off += used;
	}
	return NULL;
}

static int ku_init(struct ku_dir *k, const struct tt_crypto *cr,
		   const struct tt_suite *suite, const struct tlsgen_result *r,
		   int from_server)
{
	struct tt_keylog_entry hs, app;
	uint8_t next[TT_HASH_MAX];

	memset(k, 0, sizeof(*k));
	k->request = from_server ? 0 : 1;
	if (keylog_secret(r,
			  from_server ? TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET
				      : TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
			  &hs) == NULL ||
	    keylog_secret(r,
			  from_server ? TT_KL_SERVER_TRAFFIC_SECRET_0
				      : TT_KL_CLIENT_TRAFFIC_SECRET_0,
			  &app) == NULL) {
		fprintf(stderr, "mksteps: key log without traffic secrets\n");
		return -1;
	}
	if (tt_tls13_traffic_keys(cr, suite, hs.secret, &k->hs) != TT_OK ||
	    tt_tls13_traffic_keys(cr, suite, app.secret, &k->app) != TT_OK ||
	    tt_tls13_next_secret(cr, suite->hash, app.secret, next) != TT_OK ||
	    tt_tls13_traffic_keys(cr, suite, next, &k->next) != TT_OK) {
		fprintf(stderr, "mksteps: key derivation failed\n");
		return -1;
	}
	return 0;
}

/* Seals a TLS 1.3 record of inner type type, with pad zero bytes of
 * padding, onto out. */
static int seal13(const struct tt_crypto *cr, struct tt_rkeys *k, uint8_t type,
		  const uint8_t *plain, size_t n, size_t pad, struct buf *out)
{
	static uint8_t inner[TT_TLS13_CIPHERTEXT_MAX],
		ct[TT_TLS13_CIPHERTEXT_MAX];
	uint8_t hdr[5], nonce[TT_AEAD_NONCE_LEN], tag[TT_AEAD_TAG_LEN];
	size_t len = n + 1 + pad + TT_AEAD_TAG_LEN;

	if (len > TT_TLS13_CIPHERTEXT_MAX)
		return -1;
	memcpy(inner, plain, n);
	inner[n] = type;
	memset(inner + n + 1, 0, pad);
	hdr[0] = 23;
	hdr[1] = 3;
	hdr[2] = 3;
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
	tt_record_nonce(k->iv, k->seq, nonce);
	if (cr->aead_seal(cr->ctx, k->suite->aead, k->key, nonce, hdr, 5, inner,
			  n + 1 + pad, ct, tag) != 0) {
		fprintf(stderr, "mksteps: seal failed\n");
		return -1;
	}
	k->seq++;
	if (buf_add(out, hdr, 5) != 0 || buf_add(out, ct, n + 1 + pad) != 0 ||
	    buf_add(out, tag, sizeof(tag)) != 0)
		return -1;
	return 0;
}

/* One whole record of a direction, rewritten onto out. */
static int ku_record(struct ku_dir *k, const struct tt_crypto *cr,
		     const uint8_t *rec, size_t len, struct buf *out)
{
	static uint8_t plain[TT_TLS13_CIPHERTEXT_MAX];
	size_t pl = 0;
	uint8_t type = 0;

	if (rec[0] != 23)
		return buf_add(out, rec, len);
	if (k->epoch == 0) {
		if (tt_tls13_open(cr, &k->hs, rec, len, plain, sizeof(plain),
				  &pl, &type) == TT_OK)
			return buf_add(out, rec, len);
		k->epoch = 1;
	}
	if (tt_tls13_open(cr, &k->app, rec, len, plain, sizeof(plain), &pl,
			  &type) != TT_OK) {
		fprintf(stderr, "mksteps: a record did not open\n");
		return -1;
	}
	if (k->epoch == 1) {
		if (buf_add(out, rec, len) != 0)
			return -1;
		if (type != 23)
			return 0;
		/* sealed with the next sequence number of these keys, which
		 * the next original record was sealed with too */
		struct tt_rkeys cur = k->app;
		const uint8_t ku[5] = {24, 0, 0, 1, k->request};
		k->epoch = 2;
		if (seal13(cr, &cur, 22, ku, sizeof(ku), 0, out) != 0)
			return -1;
		/* then application data under the new keys, padded past the
		 * blocks a tracer looks at for the inner content type */
		static const char more_data[] = "after the KeyUpdate";
		return seal13(cr, &k->next, 23, (const uint8_t *)more_data,
			      sizeof(more_data) - 1, 300, out);
	}
	return seal13(cr, &k->next, type, plain, pl, 0, out);
}

static const struct tt_suite *suite13(const char *name)
{
	static const struct {
		const char *name;
		uint16_t code;
	} codes[] = {
		{"TLS_AES_128_GCM_SHA256", 0x1301},
		{"TLS_AES_256_GCM_SHA384", 0x1302},
		{"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
		{"TLS_AES_128_CCM_SHA256", 0x1304},
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].name, name) == 0)
			return tt_suite_find(codes[i].code);
	return NULL;
}

static int put_keyupdate(const char *scen, const struct tlsgen_result *r)
{
	const struct tt_crypto *cr = ossl_crypto();
	const struct tt_suite *suite = suite13(r->cipher);
	struct ku_dir k[2];
	struct buf out = {0}, w = {0};
	char name[256];
	int rc = 0;

	if (suite == NULL || r->version != TLSGEN_TLS13) {
		fprintf(stderr, "mksteps: %s: not TLS 1.3 (%s)\n", scen,
			r->cipher);
		return -1;
	}
	if (ku_init(&k[0], cr, suite, r, 0) != 0 ||
	    ku_init(&k[1], cr, suite, r, 1) != 0)
		return -1;
	for (size_t i = 0; i < r->nsteps && rc == 0; i++) {
		const struct tlsgen_step *s = &r->steps[i];
		const uint8_t *p = tlsgen_stream_of(r, s->from_server)->data;
		size_t off = s->off, end = s->off + s->len;
		w.n = 0;
		while (off < end && rc == 0) {
			size_t len;
			if (end - off < 5 ||
			    (len = 5 + (size_t)(p[off + 3] << 8 | p[off + 4])) >
				    end - off) {
				fprintf(stderr,
					"mksteps: %s: a write that is not "
					"whole records\n",
					scen);
				rc = -1;
				break;
			}
			rc = ku_record(&k[s->from_server], cr, p + off, len,
				       &w);
			off += len;
		}
		if (rc == 0)
			rc = add_write(&out, s->from_server, w.p, w.n);
	}
	if (rc == 0 && (k[0].epoch != 2 || k[1].epoch != 2)) {
		fprintf(stderr,
			"mksteps: %s: no application data to follow "
			"with a KeyUpdate\n",
			scen);
		rc = -1;
	}
	snprintf(name, sizeof(name), "%s_keyupdate", scen);
	if (rc == 0)
		rc = put_file("steps", name, out.p, out.n);
	if (rc == 0)
		rc = put_keylog(name, r);
	free(out.p);
	free(w.p);
	return rc;
}

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

/* Runs one scenario and writes what write_fn makes of it. */
static int one(const struct scenario *sc, const char *name,
	       int (*write_fn)(const char *, const struct tlsgen_result *))
{
	struct tlsgen_result r;
	int rc = 0;

	if (tlsgen_run(&sc->o, &r) != 0) {
		fprintf(stderr, "mksteps: %s: %s\n", sc->name, r.error);
		rc = -1;
	} else {
		rc = write_fn(name, &r);
	}
	tlsgen_free(&r);
	return rc;
}

static int put_both(const char *scen, const struct tlsgen_result *r)
{
	if (put_steps(scen, r) != 0 || put_keylog(scen, r) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	int failed;

	failed = mkcorpus_main(argc, argv);
	if (argc != 2)
		return failed;
	static const char *const subs[] = {"steps", "keylog"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", out_dir, subs[i]);
		if (make_dir(path) != 0)
			return 1;
	}
	nfiles = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (one(&scenarios[i], scenarios[i].name, put_both) != 0)
			failed = 1;
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (one(&more[i], more[i].name, put_both) != 0)
			failed = 1;
	for (size_t i = 0; i < sizeof(keyupdate_of) / sizeof(keyupdate_of[0]);
	     i++) {
		const struct scenario *sc = find_scenario(keyupdate_of[i]);
		if (sc == NULL || one(sc, sc->name, put_keyupdate) != 0)
			failed = 1;
	}
	struct v2hello_opts vo = {.chal_len = 16, .app_bytes = 10};
	struct tlsgen_result vr;
	if (v2hello_run(&vo, &vr) != 0) {
		fprintf(stderr, "mksteps: sslv2_compat: %s\n", vr.error);
		failed = 1;
	} else if (put_both("sslv2_compat", &vr) != 0) {
		failed = 1;
	}
	tlsgen_free(&vr);
	tlsgen_cleanup();
	printf("mksteps: %zu files in %s/steps and %s/keylog\n", nfiles,
	       out_dir, out_dir);
	return failed;
}
