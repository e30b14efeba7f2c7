/* What a traced connection costs the decoder at rest: after a handshake
 * with keys, both directions on their application keys, application data
 * gone by, nothing waiting.  sizeof(struct tt_conn) and every heap block
 * it holds (tt_conn_heap_bytes), for a typical TLS 1.3 connection (SNI of
 * 20 characters, ALPN "h2", AES-128-GCM) and a TLS 1.2 AES-GCM one, from
 * either side, fed whole or a byte at a time, keys there from the start
 * or given once everything waits for them: under a bound, and nothing
 * the summary reports lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evassert.h"
#include "evlog.h"
#include "testkeys.h"
#include "tlsgen.h"

#define SNI "www.example-shop.com"

/* The decoder's share of a connection at rest, in bytes, at most. */
#define REST_MAX13 800
#define REST_MAX12 800

/* Replays r as one side (pieces of piece bytes; keys held back until
 * the end when late), checks that both directions decrypt and nothing
 * waits, and returns sizeof(struct tt_conn) plus its heap; the summary
 * (at close) must hold want_summary. */
static size_t at_rest(const struct tlsgen_result *r, int as_server,
		      size_t piece, bool late, const char *want_summary)
{
	struct testkeys k;
	testkeys_init(&k, r->keylog, r->keylog_len);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &k.src;
	k.hidden = late;
	evlog_replay(r, as_server, &c, &l, piece);
	if (late) {
		assert_true(tt_conn_waiting(&c));
		k.hidden = false;
		tt_conn_drain(&c, &l.em);
	}
	assert_false(tt_conn_waiting(&c));
	for (int d = 0; d < 2; d++) {
		assert_int_equal(c.d[d].kstate, TT_K_ON);
		assert_false(c.d[d].dead);
	}
	assert_null(evlog_nth(&l, "decode_error", NULL, 0));
	size_t total = sizeof(c) + tt_conn_heap_bytes(&c);
	evlog_close(&c, &l);
	const char *sum = evlog_nth(&l, "summary", NULL, 0);
	assert_has(sum, want_summary);
	assert_has(sum, "\"keys\":\"used\"");
	tt_conn_release(&c);
	assert_int_equal(tt_conn_heap_bytes(&c), 0);
	evlog_free(&l);
	return total;
}

/* The most any way of replaying r leaves (malloc may hand out a chunk a
 * little larger than asked for, depending on what was freed before). */
static size_t rest_every_way(const struct tlsgen_result *r,
			     const char *want_summary)
{
	size_t most = 0;
	for (int side = 0; side < 2; side++)
		for (int p = 0; p < 2; p++)
			for (int late = 0; late < 2; late++) {
				size_t n = at_rest(r, side, p ? 1 : (size_t)-1,
						   late, want_summary);
				if (n > most)
					most = n;
			}
	return most;
}

/* The most r leaves at rest, printed and checked against most. */
static void rest_case(const struct tlsgen_opts *o, const char *what,
		      const char *want_summary, size_t most)
{
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(o, &r), 0);
	size_t n = rest_every_way(&r, want_summary);
	printf("%s at rest: sizeof(struct tt_conn) %zu, heap %zu, total %zu "
	       "bytes\n",
	       what, sizeof(struct tt_conn), n - sizeof(struct tt_conn), n);
	assert_true(n <= most);
	tlsgen_free(&r);
}

static void test_rest_tls13(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.sni = SNI,
				.alpn = "h2,http/1.1",
				.ciphersuites = "TLS_AES_128_GCM_SHA256",
				.app_bytes = 100};
	rest_case(&o, "TLS 1.3 AES-128-GCM",
		  "\"version\":\"TLS 1.3\",\"cipher\":\"TLS_AES_128_GCM_"
		  "SHA256\",\"sni\":\"" SNI "\",\"alpn\":\"h2\"",
		  REST_MAX13);
}

static void test_rest_tls12(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.sni = SNI,
				.alpn = "h2,http/1.1",
				.cipher = "ECDHE-ECDSA-AES128-GCM-SHA256",
				.app_bytes = 100};
	rest_case(&o, "TLS 1.2 AES-128-GCM",
		  "\"version\":\"TLS 1.2\",\"cipher\":\"TLS_ECDHE_ECDSA_WITH_"
		  "AES_128_GCM_SHA256\",\"sni\":\"" SNI "\",\"alpn\":\"h2\"",
		  REST_MAX12);
}

/* A renegotiated TLS 1.2 connection lists more handshake messages than
 * struct tt_conn keeps inline: the summary has them all, in order. */
static void test_summary_long_list(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.cipher = "ECDHE-ECDSA-AES128-GCM-SHA256",
				.renegotiate = 1,
				.app_bytes = 100,
				.close_notify = 1};
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&o, &r), 0);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	evlog_replay_closed(&r, 0, &k.src, &l, (size_t)-1);
	assert_has(
		evlog_nth(&l, "summary", NULL, 0),
		"\"handshake_messages\":24,\"messages\":[\"out client_hello\","
		"\"in server_hello\",\"in certificate\","
		"\"in server_key_exchange\",\"in certificate_request\","
		"\"in server_hello_done\",\"out certificate\","
		"\"out client_key_exchange\",\"out certificate_verify\","
		"\"out finished\",\"in new_session_ticket\",\"in finished\","
		"\"in hello_request\",\"out client_hello\",\"in server_hello\","
		"\"in certificate\",\"in server_key_exchange\","
		"\"in certificate_request\",\"in server_hello_done\","
		"\"out certificate\",\"out client_key_exchange\","
		"\"out certificate_verify\",\"out finished\",\"in finished\"],");
	evlog_free(&l);
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rest_tls13),
		cmocka_unit_test(test_rest_tls12),
		cmocka_unit_test(test_summary_long_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
