/* Record layer and handshake reassembly fed with real OpenSSL streams:
 * whole, one byte at a time, and split at every offset, the same events
 * must come out; hostile framing gives one decode_error; and what no peer
 * of the suite sends (a heartbeat record, an unknown handshake type, an
 * SSLv2-compatible ClientHello, a certificate that is not X.509) gives
 * its own event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"
#include "evassert.h"
#include "tlsgen.h"

#define K_DOT "CN=K-Dot Certificate Authority"
#define ROOTS "CN=The Roots Authority"

/* Replays the exchange in the real order, as the client (c2s = out). */
static void replay(const struct tlsgen_result *r, struct evlog *l, size_t piece)
{
	struct tt_conn c;
	tt_conn_init(&c);
	evlog_replay(r, 0, &c, l, piece);
	tt_conn_release(&c);
}

/* Feeds one direction alone, split once at k. */
static void one_dir(const struct tlsgen_stream *st, enum tt_dir dir, size_t k,
		    struct evlog *l)
{
	struct tt_conn c;
	tt_conn_init(&c);
	(void)tt_conn_feed(&c, dir, st->data, k, &l->em);
	(void)tt_conn_feed(&c, dir, st->data + k, st->len - k, &l->em);
	tt_conn_release(&c);
}

static void run_ok(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	assert_int_equal(evlog_tlsgen(o, r), 0);
}

static void test_tls12_mtls_ca_names(void **state)
{
	(void)state;
	struct tlsgen_opts o = TLSGEN_MTLS12_OPTS;
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog whole, bytes;
	evlog_init(&whole, TT_DEBUG);
	evlog_init(&bytes, TT_DEBUG);
	replay(&r, &whole, (size_t)-1);
	replay(&r, &bytes, 1);
	assert_true(evlog_same(&whole, &bytes));

	char names[2048];
	evlog_names(&whole, names, sizeof(names));
	assert_string_equal(
		names,
		"client_hello server_hello certificate server_key_exchange "
		"certificate_request server_hello_done certificate "
		"client_key_exchange certificate_verify change_cipher_spec "
		"finished new_session_ticket change_cipher_spec finished "
		"encrypted_record encrypted_record");
	const char *cr = evlog_find(&whole, "certificate_request", "in");
	assert_non_null(cr);
	assert_non_null(strstr(cr, "\"ca_count\":2,\"ca_names\":[\"" K_DOT
				   "\",\"" ROOTS "\"]"));
	assert_non_null(strstr(cr, "\"version\":\"TLS 1.2\""));
	assert_non_null(strstr(cr, "\"sig_algs\":[\"ecdsa_secp256r1_sha256\""));
	const char *cert = evlog_find(&whole, "certificate", "out");
	assert_non_null(cert);
	assert_non_null(
		strstr(cert, "\"subject\":\"CN=tlstrace client,O=Example\""));
	assert_non_null(strstr(cert, "\"issuer\":\"" K_DOT "\""));
	assert_non_null(strstr(cert, "\"not_after\":\"2036-01-01T00:00:00Z\""));
	const char *ch = evlog_find(&whole, "client_hello", "out");
	assert_non_null(strstr(ch, "\"sni\":\"localhost\""));
	/* close_notify is encrypted in TLS 1.2: not decoded without keys */
	assert_null(evlog_find(&whole, "alert", NULL));
	assert_non_null(strstr(evlog_find(&whole, "encrypted_record", "out"),
			       "\"record_type\":\"alert\""));
	evlog_free(&whole);
	evlog_free(&bytes);
	tlsgen_free(&r);
}

/* Every split point of each direction gives the same events. */
static void split_everywhere(const struct tlsgen_opts *o)
{
	struct tlsgen_result r;
	run_ok(o, &r);
	for (int from_server = 0; from_server < 2; from_server++) {
		const struct tlsgen_stream *st =
			tlsgen_stream_of(&r, from_server);
		enum tt_dir dir = from_server ? TT_IN : TT_OUT;
		struct evlog ref, l;
		evlog_init(&ref, TT_TRACE);
		evlog_init(&l, TT_TRACE);
		one_dir(st, dir, 0, &ref);
		assert_true(ref.n > 2);
		for (size_t k = 1; k < st->len; k++) {
			evlog_clear(&l);
			one_dir(st, dir, k, &l);
			if (!evlog_same(&ref, &l)) {
				fprintf(stderr, "split at %zu of %zu\n", k,
					st->len);
				fail();
			}
		}
		evlog_free(&ref);
		evlog_free(&l);
	}
	tlsgen_free(&r);
}

static void test_split_tls12(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.sni = "localhost",
				.app_bytes = 50};
	split_everywhere(&o);
}

static void test_split_tls13_hrr(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.sni = "localhost",
				.server_groups = "P-256",
				.client_groups = "X25519:P-256",
				.app_bytes = 50};
	split_everywhere(&o);
}

static void test_no_ca_names(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_DISABLED};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	replay(&r, &l, 7);
	const char *cr = evlog_find(&l, "certificate_request", "in");
	assert_non_null(cr);
	assert_non_null(strstr(cr, "\"ca_count\":0,\"ca_names\":[]"));
	evlog_free(&l);
	tlsgen_free(&r);
}

static void test_tls13_hrr(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.sni = "localhost",
				.alpn = "h2,http/1.1",
				.server_groups = "P-256",
				.client_groups = "X25519:P-256"};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	replay(&r, &l, 3);
	assert_names(&l, "client_hello hello_retry_request "
			 "client_hello server_hello");
	const char *hrr = evlog_find(&l, "hello_retry_request", "in");
	assert_non_null(strstr(hrr, "\"selected_group\":\"secp256r1\""));
	const char *sh = evlog_find(&l, "server_hello", "in");
	assert_non_null(strstr(sh, "\"version\":\"TLS 1.3\""));
	assert_non_null(strstr(sh, "\"cipher\":\"TLS_AES_256_GCM_SHA384\""));
	const char *ch = evlog_find(&l, "client_hello", "out");
	assert_non_null(strstr(ch, "\"alpn\":[\"h2\",\"http/1.1\"]"));
	assert_non_null(strstr(ch, "\"supported_versions\":[\"TLS 1.3\"]"));
	evlog_free(&l);
	tlsgen_free(&r);
}

/* A handshake message longer than the cap (a certificate chain of
 * 300,000 bytes over 19 records, a ServerHelloDone in the last one):
 * one event of its type with its length, marked truncated, nothing
 * buffered, and decoding goes on with the next message.  Fed whole and
 * one byte at a time. */
static void oversized(size_t piece, bool header_split)
{
	enum { LEN = 300000 };
	size_t total = 4 + LEN + 4;
	uint8_t *hs = calloc(1, total);
	assert_non_null(hs);
	hs[0] = 11; /* certificate */
	hs[1] = (uint8_t)(LEN >> 16);
	hs[2] = (uint8_t)(LEN >> 8);
	hs[3] = (uint8_t)LEN;
	hs[4 + LEN] = 14; /* server_hello_done, empty */
	/* records of up to 16384 bytes; the first one cut inside the
	 * message header when header_split */
	uint8_t *wire = malloc(total + 5 * (total / 1000 + 2));
	assert_non_null(wire);
	size_t w = 0;
	for (size_t off = 0, k = 0; off < total; k++) {
		size_t n = header_split && k == 0 ? 2 : 16384;
		if (n > total - off)
			n = total - off;
		uint8_t h[5] = {22, 3, 3, (uint8_t)(n >> 8), (uint8_t)n};
		memcpy(wire + w, h, 5);
		memcpy(wire + w + 5, hs + off, n);
		w += 5 + n;
		off += n;
	}
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	for (size_t off = 0; off < w; off += piece) {
		size_t n = w - off < piece ? w - off : piece;
		assert_int_equal(tt_conn_feed(&c, TT_IN, wire + off, n, &l.em),
				 TT_OK);
		assert_true(c.d[TT_IN].hcap <= 1024); /* never the message */
	}
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 0);
	assert_names(&l, "certificate server_hello_done");
	const char *cert = evlog_find(&l, "certificate", "in");
	assert_non_null(strstr(cert, "\"truncated\":true"));
	assert_non_null(strstr(cert, "\"length\":300000,\"note\":\"longer than "
				     "the 262144-byte cap: passed over by its "
				     "length, not decoded\""));
	assert_false(c.d[TT_IN].dead);
	assert_null(c.d[TT_IN].hbuf);
	assert_int_equal(c.d[TT_IN].hskip, 0);
	assert_int_equal(c.d[TT_IN].hs_msgs, 2);
	tt_conn_release(&c);
	evlog_free(&l);
	free(wire);
	free(hs);
}

static void test_oversized_message(void **state)
{
	(void)state;
	oversized((size_t)-1, false);
	oversized(1, false);
	oversized((size_t)-1, true);
	oversized(7, true);
}

static void test_bad_headers(void **state)
{
	(void)state;
	static const uint8_t cases[][5] = {
		{'G', 'E', 'T', ' ', '/'}, /* not TLS */
		{22, 2, 0, 0, 1},	   /* SSL 2 version */
		{22, 3, 3, 0x48, 0x01},	   /* over 2^14 + 2048 */
		{99, 3, 3, 0, 1},	   /* unknown content type */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evlog l;
		evlog_init(&l, TT_INFO);
		struct tt_conn c;
		tt_conn_init(&c);
		assert_int_equal(tt_conn_feed(&c, TT_IN, cases[i], 5, &l.em),
				 TT_DECODE);
		assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
		assert_non_null(strstr(l.lines[0], "not a TLS record header"));
		tt_conn_release(&c);
		evlog_free(&l);
	}
	assert_false(tt_looks_like_tls((const uint8_t *)"GET /", 5));
	assert_true(
		tt_looks_like_tls((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
	assert_true(tt_looks_like_tls((const uint8_t *)"\x16", 1));
	assert_false(tt_looks_like_tls((const uint8_t *)"\x17\x03\x03", 3));
}

/* Every prefix of a real stream: no crash, no out-of-bounds read (ASan),
 * and events only for what is complete. */
static void test_truncation(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	for (size_t k = 0; k <= r.s2c.len; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, r.s2c.data, k);
		struct tt_conn c;
		tt_conn_init(&c);
		(void)tt_conn_feed(&c, TT_IN, copy, k, &l.em);
		tt_conn_release(&c);
		free(copy);
		assert_int_equal(evlog_count(&l, "decode_error", NULL), 0);
		evlog_clear(&l);
	}
	evlog_free(&l);
	tlsgen_free(&r);
}

/* A record's fate is decided when its header is complete: the other
 * direction changing the version part-way (its ServerHello) must not make
 * a skipped record's tail be parsed from a half-filled buffer. */
static void test_version_flip_mid_record(void **state)
{
	(void)state;
	static const uint8_t rec[] = {22, 3, 3, 0, 8, 20, 0, 0, 4, 1, 2, 3, 4};
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct tt_conn c;
	tt_conn_init(&c);
	c.version = TT_V_TLS12;
	c.d[TT_OUT].ccs = true; /* after CCS: encrypted in TLS 1.2 */
	assert_int_equal(tt_conn_feed(&c, TT_OUT, rec, 9, &l.em), TT_OK);
	c.version = TT_V_TLS13; /* now the same bytes would be plaintext */
	assert_int_equal(tt_conn_feed(&c, TT_OUT, rec + 9, 4, &l.em), TT_OK);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 0);
	assert_int_equal(evlog_count(&l, "handshake_bytes", NULL), 0);
	/* the release of a half-copied record skips its tail */
	tt_conn_release(&c);
	c.version = TT_V_TLS12;
	c.d[TT_IN].ccs = false;
	assert_int_equal(tt_conn_feed(&c, TT_IN, rec, 9, &l.em), TT_OK);
	tt_conn_release(&c);
	assert_int_equal(tt_conn_feed(&c, TT_IN, rec + 9, 4, &l.em), TT_OK);
	assert_int_equal(evlog_count(&l, "handshake_bytes", NULL), 0);
	tt_conn_release(&c);
	evlog_free(&l);
}

/* A real TLS 1.2 exchange whose server certificate is not X.509 any more
 * (its outer SEQUENCE tag changed to SET, the message framing intact):
 * the certificate event says leaf_unparsable and lists it as such in the
 * chain, the issuer's certificate is still read, and the rest of the
 * handshake is decoded as before. */
static void test_leaf_unparsable(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12, .sni = "localhost"};
	struct tlsgen_result r;
	run_ok(&o, &r);
	const uint8_t *leaf;
	size_t leaf_len;
	assert_int_equal(tlsgen_cert_der(TLSGEN_CERT_SERVER, &leaf, &leaf_len),
			 0);
	uint8_t *at = memmem(r.s2c.data, r.s2c.len, leaf, leaf_len);
	assert_non_null(at);
	assert_int_equal(at[0], 0x30);

	struct evlog good, bad;
	evlog_init(&good, TT_DEBUG);
	evlog_init(&bad, TT_DEBUG);
	replay(&r, &good, (size_t)-1);
	at[0] = 0x31;
	replay(&r, &bad, (size_t)-1);
	char names_good[1024], names_bad[1024];
	evlog_names(&good, names_good, sizeof(names_good));
	evlog_names(&bad, names_bad, sizeof(names_bad));
	assert_string_equal(names_bad, names_good);
	assert_true(evlog_is(
		evlog_find(&bad, "certificate", "in"),
		"\"dir\":\"in\",\"event\":\"certificate\",\"sender\":\"server\","
		"\"cert_count\":2,"
		"\"chain_subjects\":[\"(not X.509)\",\"" K_DOT "\"],"
		"\"chain_issuers\":[\"(not X.509)\",\"" ROOTS "\"],"
		"\"chain_not_after\":[\"(not X.509)\","
		"\"2036-01-01T00:00:00Z\"],"
		"\"leaf_unparsable\":true}"));
	/* and unchanged, the same chain read whole */
	assert_true(evlog_is(
		evlog_find(&good, "certificate", "in"),
		"\"dir\":\"in\",\"event\":\"certificate\",\"sender\":\"server\","
		"\"cert_count\":2,\"subject\":\"CN=localhost\","
		"\"issuer\":\"" K_DOT
		"\",\"not_after\":\"2036-01-01T00:00:00Z\","
		"\"chain_subjects\":[\"CN=localhost\",\"" K_DOT "\"],"
		"\"chain_issuers\":[\"" K_DOT "\",\"" ROOTS "\"],"
		"\"chain_not_after\":[\"2036-01-01T00:00:00Z\","
		"\"2036-01-01T00:00:00Z\"]}"));
	evlog_free(&good);
	evlog_free(&bad);
	tlsgen_free(&r);
}

/* A heartbeat record (RFC 6520) in the clear: one event with its
 * length, its payload not decoded, and the next record decoded as
 * usual. */
static void test_heartbeat(void **state)
{
	(void)state;
	static const uint8_t in[] = {
		24, 3, 3, 0, 3, 1, 0, 0, /* heartbeat_request, empty */
		21, 3, 3, 0, 2, 1, 0,	 /* warning close_notify */
	};
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	assert_int_equal(tt_conn_feed(&c, TT_IN, in, sizeof(in), &l.em), TT_OK);
	assert_names(&l, "heartbeat alert");
	assert_true(evlog_is(l.lines[0],
			     "\"dir\":\"in\",\"event\":\"heartbeat\","
			     "\"record_length\":3}"));
	assert_true(evlog_is(l.lines[1], "\"dir\":\"in\",\"event\":\"alert\","
					 "\"alert_level\":\"warning\","
					 "\"alert\":\"close_notify\","
					 "\"alert_code\":0}"));
	tt_conn_release(&c);
	evlog_free(&l);
}

/* A handshake type no registry names gives the generic event
 * "handshake" with the type's number; the message after it is decoded. */
static void test_unknown_handshake_type(void **state)
{
	(void)state;
	static const uint8_t out[] = {
		22, 3, 3, 0,	11,   99,
		0,  0, 3, 0xaa, 0xbb, 0xcc, /* type 99, 3 bytes */
		14, 0, 0, 0,		    /* server_hello_done */
	};
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	assert_int_equal(tt_conn_feed(&c, TT_OUT, out, sizeof(out), &l.em),
			 TT_OK);
	assert_names(&l, "handshake server_hello_done");
	assert_true(evlog_is(l.lines[0],
			     "\"dir\":\"out\",\"event\":\"handshake\","
			     "\"handshake_type\":\"unknown(0x63)\","
			     "\"length\":3}"));
	assert_true(evlog_is(l.lines[1], "\"dir\":\"out\","
					 "\"event\":\"server_hello_done\","
					 "\"length\":0}"));
	tt_conn_release(&c);
	evlog_free(&l);
}

/* An SSLv2-compatible ClientHello (RFC 5246 E.2), whole and cut after
 * every byte: one client_hello that says so, with the challenge as its
 * random (left-padded with zeros), the cipher specs named, no
 * decode_error; the direction goes on in TLS records (a close_notify
 * alert after it is decoded: it waits for the ServerHello it follows
 * on the wire, until the connection ends without one). */
static void test_sslv2_compatible_hello(void **state)
{
	(void)state;
	static const uint8_t hello[] = {
		0x80, 34,	  /* 2-byte header (no padding), length */
		1,		  /* msg_type client_hello */
		3,    1,	  /* version TLS 1.0 */
		0,    9,	  /* cipher_spec_length */
		0,    0,	  /* session_id_length */
		0,    16,	  /* challenge_length */
		0x00, 0x00, 0x2f, /* TLS_RSA_WITH_AES_128_CBC_SHA */
		0x01, 0x00, 0x80, /* SSL_CK_RC4_128_WITH_MD5 */
		0x00, 0x00, 0xff, /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, /* challenge */
		0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	};
	const size_t n = sizeof(hello);
	assert_int_equal(n, 2 + 34);
	static const char want[] =
		"\"dir\":\"out\",\"event\":\"client_hello\","
		"\"format\":\"sslv2_compatible\",\"version\":\"TLS 1.0\","
		"\"version_code\":769,\"random\":"
		"\"00000000000000000000000000000000"
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf\",\"challenge_length\":16,"
		"\"session_id\":\"\",\"cipher_count\":3,\"cipher_suites\":["
		"\"TLS_RSA_WITH_AES_128_CBC_SHA\",\"SSL_CK_RC4_128_WITH_MD5\","
		"\"TLS_EMPTY_RENEGOTIATION_INFO_SCSV\"],"
		"\"renegotiation_info\":false,\"scsv\":true}";
	static const uint8_t later[] = {21, 3, 1, 0, 2, 1, 0};
	for (size_t piece = 1; piece <= n; piece++) {
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		struct tt_conn c;
		tt_conn_init(&c);
		tt_rc rc = TT_OK;
		for (size_t o = 0; o < n && rc == TT_OK; o += piece)
			rc = tt_conn_feed(&c, TT_OUT, hello + o,
					  n - o < piece ? n - o : piece, &l.em);
		assert_int_equal(rc, TT_OK);
		assert_int_equal(
			tt_conn_feed(&c, TT_OUT, later, sizeof(later), &l.em),
			TT_OK);
		assert_int_equal(l.n, 1);
		struct tt_end_info ei = {.how = TT_END_LOCAL_CLOSE,
					 .dir = TT_OUT,
					 .call = "close"};
		tt_conn_end(&c, &ei, &l.em);
		assert_int_equal(l.n, 4); /* + connection_closed, summary */
		assert_true(evlog_is(l.lines[0], want));
		assert_true(evlog_is(
			l.lines[1],
			"\"dir\":\"out\",\"event\":\"alert\","
			"\"alert_level\":\"warning\",\"alert\":\"close_notify\","
			"\"alert_code\":0}"));
		assert_false(c.d[TT_OUT].dead);
		assert_int_equal(tt_conn_role(&c), TT_ROLE_CLIENT);
		assert_true(c.ch_seen);
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls12_mtls_ca_names),
		cmocka_unit_test(test_split_tls12),
		cmocka_unit_test(test_split_tls13_hrr),
		cmocka_unit_test(test_no_ca_names),
		cmocka_unit_test(test_tls13_hrr),
		cmocka_unit_test(test_oversized_message),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_version_flip_mid_record),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_unknown_handshake_type),
		cmocka_unit_test(test_sslv2_compatible_hello),
		cmocka_unit_test(test_leaf_unparsable),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
