/* Record layer and handshake reassembly fed with real OpenSSL streams:
 * whole, one byte at a time, and split at every offset, the same events
 * must come out; and hostile framing gives one decode_error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"
#include "tlsgen.h"

#define K_DOT "CN=K-Dot Certificate Authority"
#define ROOTS "CN=The Roots Authority"

/* Replays the exchange in the real order, as the client (c2s = out). */
static void replay(const struct tlsgen_result *r, struct evlog *l,
		   size_t piece)
{
	struct tt_conn c;
	tt_conn_init(&c);
	evlog_replay(r, 0, &c, l, piece);
	tt_conn_release(&c);
}

/* Feeds one direction alone, split once at k. */
static void one_dir(const struct tlsgen_stream *st, enum tt_dir dir,
		    size_t k, struct evlog *l)
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
	struct tlsgen_opts o = {.version = TLSGEN_TLS12, .mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST, .sni = "localhost",
				.app_bytes = 100, .close_notify = 1};
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
	assert_non_null(strstr(cert, "\"subject\":\"CN=tlstrace client,O=Example\""));
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
		const struct tlsgen_stream *st = tlsgen_stream_of(&r, from_server);
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
	struct tlsgen_opts o = {.version = TLSGEN_TLS12, .mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST, .sni = "localhost",
				.app_bytes = 50};
	split_everywhere(&o);
}

static void test_split_tls13_hrr(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS13, .sni = "localhost",
				.server_groups = "P-256",
				.client_groups = "X25519:P-256",
				.app_bytes = 50};
	split_everywhere(&o);
}

static void test_no_ca_names(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12, .mtls = 1,
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
	struct tlsgen_opts o = {.version = TLSGEN_TLS13, .sni = "localhost",
				.alpn = "h2,http/1.1",
				.server_groups = "P-256",
				.client_groups = "X25519:P-256"};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	replay(&r, &l, 3);
	char names[2048];
	evlog_names(&l, names, sizeof(names));
	assert_string_equal(names, "client_hello hello_retry_request "
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

/* A handshake header that claims more than the cap: one decode_error,
 * then the direction passes bytes through. */
static void test_lying_length(void **state)
{
	(void)state;
	static const uint8_t rec[] = {22, 3, 3, 0, 8, 1, 0xff, 0xff, 0xff,
				      0, 0, 0, 0};
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct tt_conn c;
	tt_conn_init(&c);
	assert_int_equal(tt_conn_feed(&c, TT_IN, rec, sizeof(rec), &l.em),
			 TT_DECODE);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
	assert_non_null(strstr(evlog_find(&l, "decode_error", NULL),
			       "handshake message too long"));
	assert_int_equal(tt_conn_feed(&c, TT_IN, rec, sizeof(rec), &l.em),
			 TT_DECODE);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
	tt_conn_release(&c);
	evlog_free(&l);
}

/* The same once part of the message header is buffered: the direction
 * stops the one way (tt_dir_stop), its buffers freed. */
static void test_lying_length_split(void **state)
{
	(void)state;
	static const uint8_t r1[] = {22, 3, 3, 0, 2, 1, 0xff};
	static const uint8_t r2[] = {22, 3, 3, 0, 2, 0xff, 0xff};
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct tt_conn c;
	tt_conn_init(&c);
	assert_int_equal(tt_conn_feed(&c, TT_IN, r1, sizeof(r1), &l.em), TT_OK);
	assert_non_null(c.d[TT_IN].hbuf);
	assert_int_equal(tt_conn_feed(&c, TT_IN, r2, sizeof(r2), &l.em),
			 TT_DECODE);
	assert_true(c.d[TT_IN].dead);
	assert_null(c.d[TT_IN].hbuf);
	assert_null(c.d[TT_IN].rbuf);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
	assert_non_null(strstr(evlog_find(&l, "decode_error", NULL),
			       "claimed length 16777215 exceeds the 262144-byte cap"));
	assert_false(c.d[TT_OUT].dead);
	tt_conn_release(&c);
	evlog_free(&l);
}

static void test_bad_headers(void **state)
{
	(void)state;
	static const uint8_t cases[][5] = {
		{'G', 'E', 'T', ' ', '/'},   /* not TLS */
		{22, 2, 0, 0, 1},	     /* SSL 2 version */
		{22, 3, 3, 0x48, 0x01},	     /* over 2^14 + 2048 */
		{99, 3, 3, 0, 1},	     /* unknown content type */
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
	assert_true(tt_looks_like_tls((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
	assert_true(tt_looks_like_tls((const uint8_t *)"\x16", 1));
	assert_false(tt_looks_like_tls((const uint8_t *)"\x17\x03\x03", 3));
}

/* Every prefix of a real stream: no crash, no out-of-bounds read (ASan),
 * and events only for what is complete. */
static void test_truncation(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12, .mtls = 1,
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
	static const uint8_t rec[] = {22, 3, 3, 0, 8, 20, 0, 0, 4,
				      1, 2, 3, 4};
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls12_mtls_ca_names),
		cmocka_unit_test(test_split_tls12),
		cmocka_unit_test(test_split_tls13_hrr),
		cmocka_unit_test(test_no_ca_names),
		cmocka_unit_test(test_tls13_hrr),
		cmocka_unit_test(test_lying_length),
		cmocka_unit_test(test_lying_length_split),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_version_flip_mid_record),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
