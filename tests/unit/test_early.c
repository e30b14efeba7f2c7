/* 0-RTT early data (RFC 8446 4.2.10): real OpenSSL exchanges, a TLS 1.3
 * resumption whose client sends early data with its ClientHello, which
 * the server accepts or turns down, replayed from both sides with the
 * client's key log: the offer, the answer, the early records counted,
 * EndOfEarlyData decrypted with the client early traffic secret, and the
 * handshake after it decrypted as usual. */
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

static void make(int reject, struct tlsgen_result *r)
{
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.resume = 1,
				.early_data = 2000,
				.early_reject = reject,
				.app_bytes = 100,
				.close_notify = 1};
	assert_int_equal(evlog_tlsgen(&o, r), 0);
	assert_true(r->resumed);
	/* OpenSSL's own view: the client sent it, the server took it or
	 * skipped it */
	assert_int_equal(r->early_status, reject ? 1 : 2);
	assert_int_equal(r->early_read, reject ? 0 : 2000);
}

/* Replays r as the client or the server, keys from its key log (the
 * early secret corrupted if asked; none at all if !keys), in pieces of
 * piece bytes, then closes. */
static void replay(const struct tlsgen_result *r, int as_server, int keys,
		   int corrupt_early, size_t piece, struct evlog *l)
{
	struct testkeys k;
	testkeys_init(&k, r->keylog, r->keylog_len);
	if (corrupt_early)
		testkeys_corrupt(&k, TT_KL_CLIENT_EARLY_TRAFFIC_SECRET);
	evlog_init(l, TT_INFO);
	evlog_replay_closed(r, as_server, keys ? &k.src : NULL, l, piece);
}

/* Accepted: the 4 early records counted, EndOfEarlyData decrypted between
 * the server's Finished and the client's, whole and a byte at a time. */
static void test_accepted(void **state)
{
	(void)state;
	struct tlsgen_result r;
	make(0, &r);
	static const size_t pieces[] = {(size_t)-1, 1};
	for (int side = 0; side < 2; side++) {
		const char *c2s = side ? "in" : "out";
		const char *s2c = side ? "out" : "in";
		for (size_t i = 0; i < 2; i++) {
			struct evlog l;
			replay(&r, side, 1, 0, pieces[i], &l);
			assert_names(&l, "client_hello server_hello "
					 "encrypted_extensions finished "
					 "end_of_early_data finished "
					 "new_session_ticket alert alert "
					 "connection_closed summary");
			assert_has(evlog_find(&l, "client_hello", c2s),
				   "\"early_data\":true");
			assert_has(evlog_find(&l, "encrypted_extensions", s2c),
				   "\"early_data_accepted\":true");
			const char *eoed =
				evlog_find(&l, "end_of_early_data", c2s);
			assert_has(eoed, "\"early_data_records\":4");
			assert_has(eoed, "\"decrypted\":true");
			assert_has(evlog_find(&l, "finished", c2s),
				   "\"decrypted\":true");
			assert_has(evlog_find(&l, "new_session_ticket", s2c),
				   "\"max_early_data\":16384");
			const char *sm = evlog_find(&l, "summary", NULL);
			assert_has(
				sm,
				"\"early_data\":\"accepted\","
				"\"early_data_records\":4,\"keys\":\"used\"");
			assert_int_equal(evlog_count(&l, "decode_error", NULL),
					 0);
			evlog_free(&l);
		}
	}
	tlsgen_free(&r);
}

/* Turned down: the server skips the 4 early records, so does the decoder
 * (counted, no decode_error); no EndOfEarlyData. */
static void test_rejected(void **state)
{
	(void)state;
	struct tlsgen_result r;
	make(1, &r);
	for (int side = 0; side < 2; side++) {
		const char *c2s = side ? "in" : "out";
		const char *s2c = side ? "out" : "in";
		struct evlog l;
		replay(&r, side, 1, 0, (size_t)-1, &l);
		assert_names(&l, "client_hello server_hello "
				 "encrypted_extensions finished finished "
				 "new_session_ticket alert alert "
				 "connection_closed summary");
		assert_has(evlog_find(&l, "client_hello", c2s),
			   "\"early_data\":true");
		assert_has(evlog_find(&l, "encrypted_extensions", s2c),
			   "\"early_data_accepted\":false");
		assert_has(evlog_find(&l, "finished", c2s),
			   "\"decrypted\":true");
		assert_has(evlog_find(&l, "summary", NULL),
			   "\"early_data\":\"rejected\","
			   "\"early_data_records\":4,\"keys\":\"used\"");
		evlog_free(&l);
	}
	tlsgen_free(&r);
}

/* A wrong early secret: the first early record does not open, one
 * decode_error, and the client's direction is no longer decrypted. */
static void test_wrong_early_secret(void **state)
{
	(void)state;
	struct tlsgen_result r;
	make(0, &r);
	struct evlog l;
	replay(&r, 0, 1, 1, (size_t)-1, &l);
	assert_int_equal(evlog_count(&l, "decode_error", "out"), 1);
	assert_has(
		evlog_find(&l, "decode_error", "out"),
		"\"error\":\"record did not decrypt with the logged secret\"");
	assert_int_equal(evlog_count(&l, "end_of_early_data", NULL), 0);
	assert_has(evlog_find(&l, "finished", "in"), "\"decrypted\":true");
	assert_has(evlog_find(&l, "summary", NULL),
		   "\"early_data\":\"accepted\",\"early_data_records\":0,"
		   "\"keys\":\"failed\"");
	evlog_free(&l);
	tlsgen_free(&r);
}

/* No keys: the offer is all that shows; nothing waits for the server's
 * answer that cannot be read. */
static void test_no_keys(void **state)
{
	(void)state;
	struct tlsgen_result r;
	make(0, &r);
	for (int side = 0; side < 2; side++) {
		struct evlog l;
		replay(&r, side, 0, 0, (size_t)-1, &l);
		assert_names(&l, "client_hello server_hello connection_closed "
				 "summary");
		assert_has(evlog_find(&l, "client_hello", NULL),
			   "\"early_data\":true");
		assert_has(
			evlog_find(&l, "summary", NULL),
			"\"early_data\":\"offered\",\"early_data_records\":0");
		evlog_free(&l);
	}
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_wrong_early_secret),
		cmocka_unit_test(test_no_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
