/* The tlsgen helper itself, checked without the decoder: if these pass,
 * decoder tests fed by tlsgen see what OpenSSL really sends.  The record
 * and message walking here is deliberately naive and independent of
 * decoder/, so a decoder bug cannot hide a helper bug or the reverse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsgen.h"

enum {
	CT_CCS = 20,
	CT_ALERT = 21,
	CT_HANDSHAKE = 22,
	CT_APPDATA = 23,
	HS_HELLO_REQUEST = 0,
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_CERTIFICATE = 11,
	HS_CERTIFICATE_REQUEST = 13,
	EXT_CERTIFICATE_AUTHORITIES = 47,
	ALERT_WARNING = 1,
	ALERT_FATAL = 2,
	ALERT_HANDSHAKE_FAILURE = 40,
	ALERT_NO_RENEGOTIATION = 100,
	ALERT_CERTIFICATE_REQUIRED = 116,
};

/* RFC 8446 4.1.3: the ServerHello.random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* ------------------------------------------------------------------ */
/* Small readers                                                       */

#define MAXREC 256

/* Splits a whole stream into records; a stream that does not end on a
 * record boundary fails the test. */
static size_t records(const struct tlsgen_stream *s, struct tlsgen_record *v)
{
	size_t off = 0, n = 0;
	int rc;

	while ((rc = tlsgen_next_record(s, &off, &v[n])) == 1) {
		n++;
		assert_true(n < MAXREC);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(off, s->len);
	return n;
}

/* Index of the first record of type t at or after i, or n. */
static size_t first_of(const struct tlsgen_record *v, size_t n, size_t i,
		       uint8_t t)
{
	while (i < n && v[i].type != t)
		i++;
	return i;
}

static size_t count_after(const struct tlsgen_record *v, size_t n, size_t i,
			  uint8_t t)
{
	size_t c = 0;

	for (; i < n; i++)
		c += v[i].type == t;
	return c;
}

/* The nth plaintext message of one side, by content type and (for
 * handshake messages) handshake type; NULL when there are fewer. */
static const uint8_t *msg(const struct tlsgen_result *r, int from_server,
			  uint8_t ct, int hs_type, int nth, size_t *len)
{
	for (size_t i = 0; i < r->nmsgs; i++) {
		const struct tlsgen_msg *m = &r->msgs[i];
		const uint8_t *p = r->plain + m->off;

		if (m->from_server != from_server || m->content_type != ct)
			continue;
		if (hs_type >= 0 && (m->len == 0 || p[0] != hs_type))
			continue;
		if (nth-- > 0)
			continue;
		*len = m->len;
		return p;
	}
	return NULL;
}

static int count_msgs(const struct tlsgen_result *r, int from_server,
		      uint8_t ct, int hs_type)
{
	size_t len;
	int n = 0;

	while (msg(r, from_server, ct, hs_type, n, &len) != NULL)
		n++;
	return n;
}

struct rd {
	const uint8_t *p, *end;
};

static size_t rd_n(struct rd *c, size_t n)
{
	size_t v = 0;

	assert_true((size_t)(c->end - c->p) >= n);
	for (size_t i = 0; i < n; i++)
		v = v << 8 | *c->p++;
	return v;
}

/* A length-prefixed block as a reader of its own; the parent skips it. */
static struct rd rd_block(struct rd *c, size_t lenbytes)
{
	size_t n = rd_n(c, lenbytes);
	struct rd b = {c->p, c->p + n};

	assert_true((size_t)(c->end - c->p) >= n);
	c->p += n;
	return b;
}

/* Checks that a DistinguishedName list (u16 length each) holds exactly
 * the subjects of the given certificates, in that order. */
static void check_dn_list(struct rd list, const enum tlsgen_cert *want,
			  size_t nwant)
{
	for (size_t i = 0; i < nwant; i++) {
		struct rd dn = rd_block(&list, 2);
		const uint8_t *der;
		size_t len;

		assert_int_equal(tlsgen_subject_der(want[i], &der, &len), 0);
		assert_int_equal((size_t)(dn.end - dn.p), len);
		assert_memory_equal(dn.p, der, len);
	}
	assert_true(list.p == list.end);
}

/* TLS 1.2 CertificateRequest (RFC 5246 7.4.4): the DN list, checked. */
static void check_cr12(const uint8_t *m, size_t len,
		       const enum tlsgen_cert *want, size_t nwant)
{
	struct rd c = {m, m + len};
	struct rd body;

	assert_int_equal(rd_n(&c, 1), HS_CERTIFICATE_REQUEST);
	body = rd_block(&c, 3);
	assert_true(c.p == c.end);
	rd_block(&body, 1); /* certificate_types */
	rd_block(&body, 2); /* supported_signature_algorithms */
	check_dn_list(rd_block(&body, 2), want, nwant);
	assert_true(body.p == body.end);
}

/* TLS 1.3 CertificateRequest (RFC 8446 4.3.2): the
 * certificate_authorities extension; present = 0 expects it absent. */
static void check_cr13(const uint8_t *m, size_t len, int present,
		       const enum tlsgen_cert *want, size_t nwant)
{
	struct rd c = {m, m + len};
	struct rd body, exts;
	int seen = 0;

	assert_int_equal(rd_n(&c, 1), HS_CERTIFICATE_REQUEST);
	body = rd_block(&c, 3);
	rd_block(&body, 1); /* certificate_request_context */
	exts = rd_block(&body, 2);
	assert_true(body.p == body.end);
	while (exts.p < exts.end) {
		size_t type = rd_n(&exts, 2);
		struct rd data = rd_block(&exts, 2);

		if (type != EXT_CERTIFICATE_AUTHORITIES)
			continue;
		seen = 1;
		check_dn_list(rd_block(&data, 2), want, nwant);
		assert_true(data.p == data.end);
	}
	assert_int_equal(seen, present);
}

/* Chunks and steps describe the streams exactly: chunks tile each stream
 * in increasing order, and the steps are those chunks, interleaved. */
static void check_consistency(const struct tlsgen_result *r)
{
	size_t next_chunk[2] = {0, 0};
	size_t off[2] = {0, 0};

	for (int d = 0; d < 2; d++) {
		const struct tlsgen_stream *s = tlsgen_stream_of(r, d);
		size_t prev = 0;

		assert_true(s->len > 0);
		assert_true(s->nchunks > 0);
		for (size_t i = 0; i < s->nchunks; i++) {
			assert_true(s->chunk_ends[i] > prev);
			prev = s->chunk_ends[i];
		}
		assert_int_equal(prev, s->len);
	}
	assert_int_equal(r->nsteps, r->c2s.nchunks + r->s2c.nchunks);
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct tlsgen_step *st = &r->steps[i];
		int d = st->from_server;
		const struct tlsgen_stream *s = tlsgen_stream_of(r, d);

		assert_true(d == 0 || d == 1);
		assert_true(next_chunk[d] < s->nchunks);
		assert_int_equal(st->off, off[d]);
		assert_int_equal(st->off + st->len,
				 s->chunk_ends[next_chunk[d]]);
		off[d] += st->len;
		next_chunk[d]++;
	}
	assert_int_equal(off[0], r->c2s.len);
	assert_int_equal(off[1], r->s2c.len);
	/* The first write of a connection is the client's. */
	assert_int_equal(r->steps[0].from_server, 0);
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		n += strncmp(p, prefix, pl) == 0;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static void run_ok(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	int rc = tlsgen_run(o, r);

	if (rc != 0)
		print_error("tlsgen_run: %s\n", r->error);
	assert_int_equal(rc, 0);
	check_consistency(r);
}

/* ------------------------------------------------------------------ */
/* The chain                                                           */

static X509 *cert(enum tlsgen_cert which)
{
	const uint8_t *der, *p;
	size_t len;
	X509 *x;

	assert_int_equal(tlsgen_cert_der(which, &der, &len), 0);
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_true(p == der + len);
	return x;
}

/* The DESIGN.md oracle: RFC 2253 order, UTF-8 kept. */
static void check_name(const X509_NAME *n, const char *want)
{
	BIO *b = BIO_new(BIO_s_mem());
	char buf[256];
	int len;

	assert_non_null(b);
	assert_true(X509_NAME_print_ex(
			    b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >=
		    0);
	len = BIO_read(b, buf, sizeof(buf) - 1);
	assert_true(len > 0);
	buf[len] = '\0';
	assert_string_equal(buf, want);
	BIO_free(b);
}

static void check_verifies(X509 *leaf, X509 *inter, X509 *root)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	assert_non_null(store);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_true(X509_STORE_add_cert(store, root));
	assert_true(sk_X509_push(untrusted, inter));
	assert_true(X509_STORE_CTX_init(ctx, store, leaf, untrusted));
	X509_STORE_CTX_set_time(ctx, 0, (time_t)1893456000); /* 2030 */
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
}

static void test_chain(void **state)
{
	X509 *root = cert(TLSGEN_CERT_ROOT);
	X509 *inter = cert(TLSGEN_CERT_INTER);
	X509 *srv = cert(TLSGEN_CERT_SERVER);
	X509 *cli = cert(TLSGEN_CERT_CLIENT);
	ASN1_TIME *t = ASN1_TIME_new();
	const uint8_t *der;
	size_t len;

	(void)state;
	check_name(X509_get_subject_name(root), "CN=The Roots Authority");
	check_name(X509_get_subject_name(inter),
		   "CN=K-Dot Certificate Authority");
	check_name(X509_get_issuer_name(inter), "CN=The Roots Authority");
	check_name(X509_get_subject_name(srv), "CN=localhost");
	check_name(X509_get_issuer_name(srv), "CN=K-Dot Certificate Authority");
	check_name(X509_get_subject_name(cli), "CN=tlstrace client,O=Example");
	check_name(X509_get_issuer_name(cli), "CN=K-Dot Certificate Authority");
	assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(srv)), 0x1003);

	assert_non_null(t);
	assert_true(ASN1_TIME_set_string(t, "260101000000Z"));
	assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(cli), t), 0);
	assert_true(ASN1_TIME_set_string(t, "360101000000Z"));
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(cli), t), 0);
	ASN1_TIME_free(t);

	check_verifies(srv, inter, root);
	check_verifies(cli, inter, root);

	/* The subject DER is the one inside the certificate. */
	assert_int_equal(tlsgen_subject_der(TLSGEN_CERT_CLIENT, &der, &len), 0);
	assert_int_equal(i2d_X509_NAME(X509_get_subject_name(cli), NULL),
			 (int)len);
	assert_int_equal(tlsgen_cert_der(TLSGEN_NCERTS, &der, &len), -1);

	X509_free(root);
	X509_free(inter);
	X509_free(srv);
	X509_free(cli);
}

static void test_write_pem(void **state)
{
	static const char *const files[] = {
		"root.pem",   "inter.pem",  "cas.pem",	  "server.pem",
		"server.key", "client.pem", "client.key",
	};
	char dir[] = "/tmp/test_tlsgen.XXXXXX";
	char path[sizeof(dir) + 32];
	const uint8_t *der;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tlsgen_write_pem(dir), 0);

	/* cas.pem: the intermediate, then the root. */
	snprintf(path, sizeof(path), "%s/cas.pem", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	for (int i = 0; i < 2; i++) {
		enum tlsgen_cert want = i ? TLSGEN_CERT_ROOT
					  : TLSGEN_CERT_INTER;
		unsigned char *mine = NULL;
		X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
		int n;

		assert_non_null(x);
		n = i2d_X509(x, &mine);
		assert_int_equal(tlsgen_cert_der(want, &der, &len), 0);
		assert_int_equal((size_t)n, len);
		assert_memory_equal(mine, der, len);
		OPENSSL_free(mine);
		X509_free(x);
	}
	assert_null(PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);

	/* The client key matches the client certificate. */
	snprintf(path, sizeof(path), "%s/client.key", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	{
		EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		X509 *c = cert(TLSGEN_CERT_CLIENT);

		assert_non_null(k);
		assert_true(X509_check_private_key(c, k));
		EVP_PKEY_free(k);
		X509_free(c);
	}
	fclose(f);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static const enum tlsgen_cert inter_root[] = {TLSGEN_CERT_INTER,
					      TLSGEN_CERT_ROOT};

static void test_tls12_mtls_ca_names(void **state)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS12,
		.mtls = 1,
		.client_sends_cert = 1,
		.ca_names = TLSGEN_CA_LIST,
		.sni = "localhost",
		.alpn = "h2,http/1.1",
		.app_bytes = 100,
		.close_notify = 1,
	};
	struct tlsgen_record v[MAXREC];
	struct tlsgen_result r;
	uint8_t seq[512];
	size_t n = 0, len;
	const uint8_t *m;

	(void)state;
	run_ok(&o, &r);
	assert_int_equal(r.version, TLSGEN_TLS12);
	assert_string_equal(r.alpn, "h2");
	assert_int_equal(r.handshakes[0], 1);
	assert_int_equal(r.handshakes[1], 1);
	assert_int_equal(r.verify[0], 0);
	assert_int_equal(r.verify[1], 0);
	assert_int_equal(r.peer_ca_count, 2);
	assert_true(r.hs_end[0] > 0 && r.hs_end[0] < r.c2s.len);
	assert_true(r.hs_end[1] > 0 && r.hs_end[1] < r.s2c.len);

	assert_true(r.s2c.len > 5);
	assert_int_equal(r.s2c.data[0], CT_HANDSHAKE);
	assert_int_equal(r.s2c.data[1], 0x03);
	assert_int_equal(r.s2c.data[2], 0x03);

	/* On the wire, in the clear: the DN list as OpenSSL writes it,
	 * each name with its u16 length, intermediate first. */
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *der;
		size_t dl;

		assert_int_equal(tlsgen_subject_der(inter_root[i], &der, &dl),
				 0);
		assert_true(n + 2 + dl <= sizeof(seq));
		seq[n++] = (uint8_t)(dl >> 8);
		seq[n++] = (uint8_t)dl;
		memcpy(seq + n, der, dl);
		n += dl;
	}
	assert_non_null(memmem(r.s2c.data, r.s2c.len, seq, n));

	/* The same through the message: it parses, and holds just those. */
	m = msg(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST, 0, &len);
	assert_non_null(m);
	check_cr12(m, len, inter_root, 2);
	assert_non_null(memmem(r.s2c.data, r.s2c.len, m, len));

	/* The client's certificate goes out in the clear in TLS 1.2. */
	m = msg(&r, 0, CT_HANDSHAKE, HS_CERTIFICATE, 0, &len);
	assert_non_null(m);
	assert_true(len > 100);
	assert_non_null(memmem(r.c2s.data, r.c2s.len, m, len));

	/* Plain records, then application data, then close_notify. */
	n = records(&r.s2c, v);
	assert_int_equal(v[n - 1].type, CT_ALERT);
	assert_int_equal(count_after(v, n, 0, CT_APPDATA), 1);
	assert_int_equal(count_lines(r.keylog, "CLIENT_RANDOM "), 1);
	m = msg(&r, 0, CT_ALERT, -1, 0, &len);
	assert_non_null(m);
	assert_int_equal(len, 2);
	assert_int_equal(m[1], 0); /* close_notify */
	tlsgen_free(&r);
}

static void test_tls12_empty_ca_list(void **state)
{
	static const int modes[] = {TLSGEN_CA_DISABLED, TLSGEN_CA_NONE};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct tlsgen_opts o = {
			.version = TLSGEN_TLS12,
			.mtls = 1,
			.client_sends_cert = 1,
			.ca_names = modes[i],
		};
		struct tlsgen_result r;
		const uint8_t *m;
		size_t len;

		run_ok(&o, &r);
		assert_int_equal(r.peer_ca_count, 0);
		m = msg(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST, 0, &len);
		assert_non_null(m);
		check_cr12(m, len, NULL, 0);
		assert_non_null(memmem(r.s2c.data, r.s2c.len, m, len));
		tlsgen_free(&r);
	}
}

static void test_tls13(void **state)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS13,
		.mtls = 1,
		.client_sends_cert = 1,
		.ca_names = TLSGEN_CA_LIST,
		.sni = "localhost",
		.app_bytes = 100,
		.close_notify = 1,
	};
	struct tlsgen_record v[MAXREC];
	struct tlsgen_result r;
	const uint8_t *m, *der;
	size_t n, i, len, dl;

	(void)state;
	run_ok(&o, &r);
	assert_int_equal(r.version, TLSGEN_TLS13);
	assert_int_equal(r.peer_ca_count, 2);
	assert_int_equal(r.handshakes[0], 1);
	assert_int_equal(r.handshakes[1], 1);

	/* ServerHello in the clear, then (after the compatibility CCS)
	 * nothing but application_data records. */
	n = records(&r.s2c, v);
	assert_int_equal(v[0].type, CT_HANDSHAKE);
	assert_int_equal(v[0].body[0], HS_SERVER_HELLO);
	i = first_of(v, n, 0, CT_APPDATA);
	assert_true(i > 0 && i < n);
	for (size_t k = 1; k < i; k++)
		assert_int_equal(v[k].type, CT_CCS);
	assert_int_equal(count_after(v, n, i, CT_APPDATA), n - i);

	/* The CA names are encrypted on the wire... */
	assert_int_equal(tlsgen_subject_der(TLSGEN_CERT_INTER, &der, &dl), 0);
	assert_null(memmem(r.s2c.data, r.s2c.len, der, dl));
	/* ...and in the plaintext the sender wrote. */
	m = msg(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST, 0, &len);
	assert_non_null(m);
	check_cr13(m, len, 1, inter_root, 2);

	/* What a TLS 1.3 key log holds, one client per connection. */
	assert_int_equal(
		count_lines(r.keylog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET "), 1);
	assert_int_equal(
		count_lines(r.keylog, "SERVER_HANDSHAKE_TRAFFIC_SECRET "), 1);
	assert_int_equal(count_lines(r.keylog, "CLIENT_TRAFFIC_SECRET_0 "), 1);
	assert_int_equal(count_lines(r.keylog, "SERVER_TRAFFIC_SECRET_0 "), 1);
	assert_int_equal(count_lines(r.keylog, "EXPORTER_SECRET "), 1);
	assert_int_equal(r.keylog[r.keylog_len - 1], '\n');
	assert_int_equal(strlen(r.keylog), r.keylog_len);
	tlsgen_free(&r);
}

/* PEERS.md: with -no_ca_names the extension is still sent, empty; with
 * no list at all it is left out. */
static void test_tls13_ca_extension_forms(void **state)
{
	(void)state;
	for (int disabled = 0; disabled < 2; disabled++) {
		struct tlsgen_opts o = {
			.version = TLSGEN_TLS13,
			.mtls = 1,
			.client_sends_cert = 1,
			.ca_names = disabled ? TLSGEN_CA_DISABLED
					     : TLSGEN_CA_NONE,
		};
		struct tlsgen_result r;
		const uint8_t *m;
		size_t len;

		run_ok(&o, &r);
		assert_int_equal(r.peer_ca_count, disabled ? 0 : -1);
		m = msg(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST, 0, &len);
		assert_non_null(m);
		check_cr13(m, len, disabled, NULL, 0);
		tlsgen_free(&r);
	}
}

static void test_hello_retry_request(void **state)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS13,
		.server_groups = "P-256",
		.client_groups = "X25519:P-256",
		.app_bytes = 10,
	};
	struct tlsgen_record v[MAXREC];
	struct tlsgen_result r;
	size_t n, end, hellos = 0, ccs = 0;

	(void)state;
	run_ok(&o, &r);

	/* Two ClientHellos before any application data.  Between them
	 * sits the client's middlebox-compatibility CCS (RFC 8446 D.4),
	 * which OpenSSL sends by default. */
	n = records(&r.c2s, v);
	end = first_of(v, n, 0, CT_APPDATA);
	assert_true(end < n);
	for (size_t i = 0; i < end; i++) {
		if (v[i].type == CT_HANDSHAKE &&
		    v[i].body[0] == HS_CLIENT_HELLO) {
			assert_true(hellos == 0 || ccs == 1);
			hellos++;
		}
		ccs += v[i].type == CT_CCS;
	}
	assert_int_equal(hellos, 2);
	assert_int_equal(ccs, 1);

	/* The server's first record: a ServerHello with the HRR random. */
	assert_true(records(&r.s2c, v) > 2);
	assert_int_equal(v[0].type, CT_HANDSHAKE);
	assert_int_equal(v[0].body[0], HS_SERVER_HELLO);
	assert_true(v[0].len >= 4 + 2 + 32);
	assert_memory_equal(v[0].body + 6, hrr_random, 32);
	assert_int_equal(count_msgs(&r, 1, CT_HANDSHAKE, HS_SERVER_HELLO), 2);
	tlsgen_free(&r);
}

static void test_renegotiation(void **state)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS12,
		.client_sends_cert = 1,
		.ca_names = TLSGEN_CA_LIST,
		.renegotiate = 1,
		.app_bytes = 20000, /* two records each way */
		.close_notify = 1,
	};
	struct tlsgen_record v[MAXREC];
	struct tlsgen_result r;
	size_t n, i, first_app;
	const uint8_t *m;
	size_t len;

	(void)state;
	run_ok(&o, &r);
	assert_int_equal(r.handshakes[0], 2);
	assert_int_equal(r.handshakes[1], 2);
	assert_int_equal(r.peer_ca_count, 2);
	assert_int_equal(count_lines(r.keylog, "CLIENT_RANDOM "), 2);

	/* The server's stream goes on after the first handshake: the
	 * HelloRequest and the second handshake, encrypted handshake
	 * records among application data. */
	n = records(&r.s2c, v);
	for (i = 0; i < n && v[i].off < r.hs_end[1]; i++)
		;
	assert_true(i < n);
	first_app = first_of(v, n, 0, CT_APPDATA);
	assert_true(count_after(v, n, first_app, CT_HANDSHAKE) >= 3);
	assert_int_equal(count_after(v, n, first_app, CT_APPDATA), 4);

	/* The client answers with a new handshake, not an alert. */
	n = records(&r.c2s, v);
	first_app = first_of(v, n, 0, CT_APPDATA);
	assert_true(count_after(v, n, first_app, CT_HANDSHAKE) >= 3);
	assert_int_equal(count_after(v, n, first_app, CT_CCS), 1);

	/* In the plaintext: HelloRequest, then a CertificateRequest that
	 * only the renegotiation carries, answered with a certificate. */
	assert_int_equal(count_msgs(&r, 1, CT_HANDSHAKE, HS_HELLO_REQUEST), 1);
	assert_int_equal(count_msgs(&r, 0, CT_HANDSHAKE, HS_CLIENT_HELLO), 2);
	assert_int_equal(
		count_msgs(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST), 1);
	m = msg(&r, 1, CT_HANDSHAKE, HS_CERTIFICATE_REQUEST, 0, &len);
	check_cr12(m, len, inter_root, 2);
	m = msg(&r, 0, CT_HANDSHAKE, HS_CERTIFICATE, 0, &len);
	assert_non_null(m);
	assert_true(len > 100);
	/* Encrypted, so nowhere on the wire. */
	assert_null(memmem(r.c2s.data, r.c2s.len, m, len));
	tlsgen_free(&r);
}

static void check_alert(const struct tlsgen_result *r, int from_server,
			int level, int desc)
{
	size_t len;
	const uint8_t *m = msg(r, from_server, CT_ALERT, -1, 0, &len);

	assert_non_null(m);
	assert_int_equal(len, 2);
	assert_int_equal(m[0], level);
	assert_int_equal(m[1], desc);
}

/* Both refusal forms: OpenSSL's server (fatal handshake_failure) and
 * the IIS-like one that stops reading. */
static void test_renegotiation_refused(void **state)
{
	(void)state;
	for (int reset = 0; reset < 2; reset++) {
		struct tlsgen_opts o = {
			.version = TLSGEN_TLS12,
			.client_sends_cert = 1,
			.renegotiate = 1,
			.client_refuses_reneg = 1,
			.server_resets_on_refusal = reset,
			.app_bytes = 50,
			.close_notify = 1,
		};
		struct tlsgen_record v[MAXREC];
		struct tlsgen_result r;
		size_t n, first_app;

		run_ok(&o, &r);
		assert_int_equal(r.handshakes[0], 1);
		assert_int_equal(r.handshakes[1], 1);
		assert_int_equal(count_lines(r.keylog, "CLIENT_RANDOM "), 1);

		/* Client: request, then one (encrypted) alert record, and
		 * no handshake record after the first one. */
		n = records(&r.c2s, v);
		first_app = first_of(v, n, 0, CT_APPDATA);
		assert_true(first_app < n);
		assert_int_equal(count_after(v, n, first_app, CT_HANDSHAKE), 0);
		assert_int_equal(v[n - 1].type, CT_ALERT);
		assert_int_equal(count_after(v, n, first_app, CT_ALERT), 1);
		check_alert(&r, 0, ALERT_WARNING, ALERT_NO_RENEGOTIATION);
		assert_int_equal(
			count_msgs(&r, 0, CT_HANDSHAKE, HS_CLIENT_HELLO), 1);

		/* Server: response, HelloRequest, then its fatal alert or
		 * nothing at all. */
		n = records(&r.s2c, v);
		first_app = first_of(v, n, 0, CT_APPDATA);
		assert_int_equal(
			count_msgs(&r, 1, CT_HANDSHAKE, HS_HELLO_REQUEST), 1);
		if (reset) {
			assert_int_equal(v[n - 1].type, CT_HANDSHAKE);
			assert_int_equal(count_msgs(&r, 1, CT_ALERT, -1), 0);
			assert_int_equal(r.failed[0], 0);
			assert_int_equal(r.failed[1], 0);
		} else {
			assert_int_equal(v[n - 1].type, CT_ALERT);
			check_alert(&r, 1, ALERT_FATAL,
				    ALERT_HANDSHAKE_FAILURE);
			assert_int_equal(r.failed[0], 1);
			assert_int_equal(r.failed[1], 1);
			assert_non_null(strstr(r.reason[1], "renegotiation"));
		}
		assert_int_equal(count_after(v, n, first_app, CT_HANDSHAKE), 1);
		tlsgen_free(&r);
	}
}

/* mTLS without a client certificate: the refusal is the expected
 * outcome, with the alert each version uses. */
static void test_mtls_without_client_cert(void **state)
{
	(void)state;
	for (int v13 = 0; v13 < 2; v13++) {
		struct tlsgen_opts o = {
			.version = v13 ? TLSGEN_TLS13 : TLSGEN_TLS12,
			.mtls = 1,
			.ca_names = TLSGEN_CA_LIST,
		};
		struct tlsgen_result r;
		const uint8_t *m;
		size_t len;

		run_ok(&o, &r);
		assert_int_equal(r.failed[1], 1);
		assert_int_equal(r.failed[0], 1);
		assert_int_equal(r.handshakes[1], 0);
		assert_int_equal(r.version, o.version);
		check_alert(&r, 1, ALERT_FATAL,
			    v13 ? ALERT_CERTIFICATE_REQUIRED
				: ALERT_HANDSHAKE_FAILURE);
		/* An empty Certificate message went out. */
		m = msg(&r, 0, CT_HANDSHAKE, HS_CERTIFICATE, 0, &len);
		assert_non_null(m);
		assert_int_equal(len, v13 ? 8 : 7);
		tlsgen_free(&r);
	}
}

static void test_bad_options(void **state)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS13,
		.renegotiate = 1,
	};
	struct tlsgen_result r;

	(void)state;
	assert_int_equal(tlsgen_run(&o, &r), -1);
	assert_true(r.error[0] != '\0');
	tlsgen_free(&r);

	o.version = TLSGEN_TLS12;
	o.renegotiate = 0;
	o.alpn = ",";
	assert_int_equal(tlsgen_run(&o, &r), -1);
	tlsgen_free(&r);

	/* No common group: a failure nobody asked for is an error. */
	o.alpn = NULL;
	o.version = TLSGEN_TLS13;
	o.server_groups = "P-256";
	o.client_groups = "X25519";
	assert_int_equal(tlsgen_run(&o, &r), -1);
	assert_non_null(strstr(r.error, "handshake failed"));
	tlsgen_free(&r);
}

static int teardown(void **state)
{
	(void)state;
	tlsgen_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_write_pem),
		cmocka_unit_test(test_tls12_mtls_ca_names),
		cmocka_unit_test(test_tls12_empty_ca_list),
		cmocka_unit_test(test_tls13),
		cmocka_unit_test(test_tls13_ca_extension_forms),
		cmocka_unit_test(test_hello_retry_request),
		cmocka_unit_test(test_renegotiation),
		cmocka_unit_test(test_renegotiation_refused),
		cmocka_unit_test(test_mtls_without_client_cert),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
