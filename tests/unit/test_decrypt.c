/* Decryption end to end in the decoder: real OpenSSL exchanges (TLS 1.3
 * every suite, TLS 1.2 AES-GCM and ChaCha20-Poly1305 with renegotiation)
 * replayed from the client and the server side with the client's key
 * log as the key source; whole and one byte at a time; keys present from
 * the start, arriving late, never arriving, or wrong. */
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

#define K_DOT	"CN=K-Dot Certificate Authority"
#define ROOTS	"CN=The Roots Authority"
#define CA_LIST "\"ca_count\":2,\"ca_names\":[\"" K_DOT "\",\"" ROOTS "\"]"

static void run_ok(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	assert_int_equal(evlog_tlsgen(o, r), 0);
}

/* TLS 1.3 mTLS with both CA names, some application data each way and
 * close_notify: the exchange most tests replay. */
static const struct tlsgen_opts mtls13 = {.version = TLSGEN_TLS13,
					  .mtls = 1,
					  .client_sends_cert = 1,
					  .ca_names = TLSGEN_CA_LIST,
					  .app_bytes = 100,
					  .close_notify = 1};

/* Both sides' view of a TLS 1.3 mTLS exchange, every message decrypted.
 * me = the traced side's direction word for what it sends. */
static void check13(const struct tlsgen_result *r, int as_server, size_t piece,
		    int ca_names)
{
	struct testkeys k;
	testkeys_init(&k, r->keylog, r->keylog_len);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(r, as_server, &k.src, &l, piece);
	const char *s2c = as_server ? "out" : "in";
	const char *c2s = as_server ? "in" : "out";
	char names[4096];
	evlog_names(&l, names, sizeof(names));
	const char *want =
		"client_hello server_hello change_cipher_spec "
		"encrypted_extensions certificate_request certificate "
		"certificate_verify finished change_cipher_spec certificate "
		"certificate_verify finished new_session_ticket "
		"new_session_ticket alert alert connection_closed summary";
	if (strncmp(names, want, strlen(want)) != 0) {
		evlog_dump(&l);
		assert_string_equal(names, want);
	}
	const char *cr = evlog_nth(&l, "certificate_request", s2c, 0);
	assert_has(cr, "\"decrypted\":true");
	assert_has(cr, "\"version\":\"TLS 1.3\"");
	assert_has(cr, ca_names ? CA_LIST : "\"ca_count\":0,\"ca_names\":[]");
	assert_has(cr, "\"sig_algs\":[");
	assert_has(evlog_nth(&l, "encrypted_extensions", s2c, 0),
		   "\"decrypted\":true");
	assert_has(evlog_nth(&l, "certificate", s2c, 0),
		   "\"subject\":\"CN=localhost\"");
	assert_has(evlog_nth(&l, "certificate", s2c, 0), "\"decrypted\":true");
	assert_has(evlog_nth(&l, "certificate", c2s, 0),
		   "\"subject\":\"CN=tlstrace client,O=Example\"");
	assert_has(evlog_nth(&l, "certificate", c2s, 0), "\"decrypted\":true");
	assert_has(evlog_nth(&l, "certificate_verify", s2c, 0),
		   "\"sig_alg\":\"ecdsa_secp256r1_sha256\"");
	assert_has(evlog_nth(&l, "certificate_verify", c2s, 0),
		   "\"decrypted\":true");
	assert_has(evlog_nth(&l, "finished", s2c, 0),
		   "\"verify_data_length\":");
	assert_has(evlog_nth(&l, "finished", c2s, 0), "\"decrypted\":true");
	assert_has(evlog_nth(&l, "new_session_ticket", s2c, 0),
		   "\"decrypted\":true");
	/* close_notify, decrypted: no truncation diagnosis */
	assert_has(evlog_nth(&l, "alert", c2s, 0),
		   "\"alert\":\"close_notify\"");
	assert_has(evlog_nth(&l, "alert", s2c, 0),
		   "\"alert\":\"close_notify\"");
	assert_null(evlog_nth(&l, "decode_error", NULL, 0));
	assert_null(evlog_nth(&l, "diagnosis", NULL, 0));
	const char *sum = evlog_nth(&l, "summary", NULL, 0);
	assert_has(sum, "\"keys\":\"used\"");
	assert_has(sum, "\"client_auth_requested\":true");
	assert_has(sum, "\"client_cert_sent\":true");
	evlog_free(&l);
}

static void tls13_suite(const char *suite, int ca_names)
{
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = ca_names,
				.ciphersuites = suite,
				.app_bytes = 100,
				.close_notify = 1};
	struct tlsgen_result r;
	run_ok(&o, &r);
	assert_string_equal(r.cipher, suite);
	for (int side = 0; side < 2; side++) {
		check13(&r, side, (size_t)-1, ca_names == TLSGEN_CA_LIST);
		check13(&r, side, 1, ca_names == TLSGEN_CA_LIST);
	}
	tlsgen_free(&r);
}

static void test_tls13_aes128gcm(void **state)
{
	(void)state;
	tls13_suite("TLS_AES_128_GCM_SHA256", TLSGEN_CA_LIST);
}

static void test_tls13_aes256gcm(void **state)
{
	(void)state;
	tls13_suite("TLS_AES_256_GCM_SHA384", TLSGEN_CA_LIST);
}

static void test_tls13_chacha(void **state)
{
	(void)state;
	tls13_suite("TLS_CHACHA20_POLY1305_SHA256", TLSGEN_CA_LIST);
}

static void test_tls13_ccm(void **state)
{
	(void)state;
	tls13_suite("TLS_AES_128_CCM_SHA256", TLSGEN_CA_LIST);
}

static void test_tls13_no_ca_names(void **state)
{
	(void)state;
	tls13_suite("TLS_AES_128_GCM_SHA256", TLSGEN_CA_DISABLED);
}

/* Keys held back until the exchange is over, then given: the same
 * events, in the same order, once the queue drains; never given: the
 * inferred events of old and a summary saying so. */
static void test_keys_late_and_missing(void **state)
{
	(void)state;
	struct tlsgen_opts o = mtls13;
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	struct evlog early, late, never;
	evlog_init(&early, TT_DEBUG);
	evlog_init(&late, TT_DEBUG);
	evlog_init(&never, TT_DEBUG);
	evlog_replay_closed(&r, 0, &k.src, &early, (size_t)-1);

	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &k.src;
	k.hidden = true;
	k.crypto_calls = 0;
	evlog_replay(&r, 0, &c, &late, (size_t)-1);
	assert_true(tt_conn_waiting(&c));
	assert_null(evlog_nth(&late, "certificate_request", NULL, 0));
	assert_int_equal(k.crypto_calls, 0); /* no secret: no libcrypto */
	k.hidden = false;
	tt_conn_drain(&c, &late.em);
	evlog_close(&c, &late);
	tt_conn_release(&c);
	/* each direction's events in its own order (the two directions
	 * drain one after the other) */
	for (int d = 0; d < 2; d++) {
		char a[4096], b[4096];
		evlog_names_dir(&early, d ? "out" : "in", a, sizeof(a));
		evlog_names_dir(&late, d ? "out" : "in", b, sizeof(b));
		assert_string_equal(a, b);
	}
	assert_has(evlog_nth(&late, "certificate_request", "in", 0), CA_LIST);

	k.hidden = true;
	tt_conn_init(&c);
	c.ks = &k.src;
	evlog_replay(&r, 0, &c, &never, (size_t)-1);
	evlog_close(&c, &never);
	tt_conn_release(&c);
	assert_null(evlog_nth(&never, "certificate_request", NULL, 0));
	assert_null(evlog_nth(&never, "encrypted_extensions", NULL, 0));
	assert_has(evlog_nth(&never, "summary", NULL, 0),
		   "\"messages\":[\"out client_hello\",\"in server_hello\"]");
	assert_has(evlog_nth(&never, "summary", NULL, 0),
		   "\"keys\":\"missing\"");
	evlog_free(&early);
	evlog_free(&late);
	evlog_free(&never);
	tlsgen_free(&r);
}

/* The IIS-style refusal (the server asks to renegotiate with a
 * HelloRequest, the client refuses, the server resets), replayed as one
 * side, whole and a byte at a time, and ended by finish: records that
 * waited for keys which never came are given up at the
 * connection's end (its first step included: a reset or a FIN read),
 * in both directions and in wire order: the events, inferences and
 * diagnosis are those of a replay with no key source at all, line for
 * line, the summary's "keys":"missing" aside.  expect: every event, in
 * order (NULL: not checked). */
static void iis_keys_never(int as_server,
			   void (*finish)(struct tt_conn *, struct evlog *),
			   const char *expect)
{
	struct tlsgen_opts o = TLSGEN_IIS_REFUSAL_OPTS;
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	k.hidden = true;
	static const size_t pieces[] = {(size_t)-1, 1};
	for (size_t i = 0; i < 2; i++) {
		struct evlog none, never;
		evlog_init(&none, TT_DEBUG);
		evlog_init(&never, TT_DEBUG);
		evlog_replay_ended(&r, as_server, NULL, &none, pieces[i],
				   finish);
		evlog_replay_ended(&r, as_server, &k.src, &never, pieces[i],
				   finish);
		static char a[8192], b[8192];
		evlog_names_all(&none, a, sizeof(a));
		evlog_names_all(&never, b, sizeof(b));
		if (strcmp(a, b) != 0)
			fprintf(stderr,
				"as %s\nno key source: %s\nkeys never:    %s\n",
				as_server ? "server" : "client", a, b);
		if (expect)
			assert_string_equal(a, expect);
		assert_string_equal(b, a);
		assert_has(evlog_find(&never, "summary", NULL),
			   "\"renegotiation\":\"refused\"");
		assert_int_equal(none.n, never.n);
		for (size_t j = 0; j < none.n; j++) {
			const char *x = strstr(none.lines[j], "\"dir\":");
			if (!strstr(x, "\"event\":\"summary\"")) {
				assert_true(evlog_is(never.lines[j], x));
				continue;
			}
			/* the summary: the same, with the keys' outcome */
			const char *at = strstr(x, "\"renegotiations\":");
			assert_non_null(at);
			char want[4096];
			snprintf(want, sizeof(want),
				 "%.*s\"keys\":\"missing\",%s", (int)(at - x),
				 x, at);
			assert_true(evlog_is(never.lines[j], want));
		}
		evlog_free(&none);
		evlog_free(&never);
	}
	tlsgen_free(&r);
}

/* As the client: the server's reset read, then the close. */
static void test_keys_never_iis_client(void **state)
{
	(void)state;
	iis_keys_never(0, evlog_reset_then_close,
		       "out client_hello, in server_hello, in certificate, "
		       "in server_key_exchange, in server_hello_done, "
		       "out client_key_exchange, out change_cipher_spec, "
		       "out finished, in new_session_ticket, "
		       "in change_cipher_spec, in finished, "
		       "in hello_request, in renegotiation, out alert, "
		       "out renegotiation, in connection_reset, "
		       "in diagnosis, out summary");
	/* a FIN read instead, then the close */
	iis_keys_never(0, evlog_fin_then_close, NULL);
}

/* As the server: its close with a zero linger (the reset). */
static void test_keys_never_iis_server(void **state)
{
	(void)state;
	iis_keys_never(1, evlog_abort,
		       "in client_hello, out server_hello, out certificate, "
		       "out server_key_exchange, out server_hello_done, "
		       "in client_key_exchange, in change_cipher_spec, "
		       "in finished, out new_session_ticket, "
		       "out change_cipher_spec, out finished, "
		       "out hello_request, out renegotiation, in alert, "
		       "in renegotiation, out connection_reset, "
		       "out diagnosis, out summary");
	/* the client's reset read, then the close */
	iis_keys_never(1, evlog_reset_then_close, NULL);
}

/* The server's CertificateRequest decrypted with both CA names, no
 * decode_error, and a summary saying keys were used. */
static void decrypted_clean(const struct evlog *l, int as_server)
{
	const char *cr = evlog_nth(l, "certificate_request",
				   as_server ? "out" : "in", 0);
	assert_has(cr, CA_LIST);
	assert_has(cr, "\"decrypted\":true");
	assert_null(evlog_nth(l, "decode_error", NULL, 0));
	assert_has(evlog_nth(l, "summary", NULL, 0), "\"keys\":\"used\"");
}

/* Feeds r's steps as a process with a reader thread ahead of its writer
 * would: whenever this side sends and then receives, the received bytes
 * are fed first.  Keys are hidden until reveal_at bytes were fed (0:
 * known from the start). */
static void replay_reader_ahead(const struct tlsgen_result *r, int as_server,
				struct testkeys *k, struct evlog *l,
				size_t reveal_at)
{
	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &k->src;
	k->hidden = reveal_at > 0;
	size_t fed = 0;
	for (size_t i = 0; i < r->nsteps; i++) {
		size_t order[2] = {i, i};
		const struct tlsgen_step *s = &r->steps[i];
		int mine = (s->from_server != 0) == (as_server != 0);
		if (mine && i + 1 < r->nsteps &&
		    (r->steps[i + 1].from_server != 0) != (as_server != 0)) {
			order[0] = i + 1; /* the answer first */
			order[1] = i;
			i++;
		}
		for (int j = 0; j < (order[0] == order[1] ? 1 : 2); j++) {
			const struct tlsgen_step *t = &r->steps[order[j]];
			enum tt_dir dir = (t->from_server != 0) ==
							  (as_server != 0)
						  ? TT_OUT
						  : TT_IN;
			if (tt_conn_waiting(&c))
				tt_conn_drain(&c, &l->em);
			(void)tt_conn_feed(
				&c, dir,
				tlsgen_stream_of(r, t->from_server)->data +
					t->off,
				t->len, &l->em);
			fed += t->len;
			if (k->hidden && fed >= reveal_at)
				k->hidden = false;
		}
	}
	k->hidden = false;
	tt_conn_drain(&c, &l->em);
	evlog_close(&c, l);
	tt_conn_release(&c);
}

/* A reader thread ahead of the writer: the peer's answer is fed before
 * what this process sent first (a ServerHello before the ClientHello; at
 * the server, the client's Finished before the ServerHello).  Each
 * direction's events are those of the exchange fed in order. */
static void test_reader_ahead(void **state)
{
	(void)state;
	struct tlsgen_opts o = mtls13;
	struct tlsgen_result r;
	run_ok(&o, &r);
	for (int side = 0; side < 2; side++) {
		struct testkeys k;
		testkeys_init(&k, r.keylog, r.keylog_len);
		struct evlog in_order, ahead;
		evlog_init(&in_order, TT_DEBUG);
		evlog_init(&ahead, TT_DEBUG);
		evlog_replay_closed(&r, side, &k.src, &in_order, (size_t)-1);
		replay_reader_ahead(&r, side, &k, &ahead, 0);
		for (int d = 0; d < 2; d++) {
			char a[4096], b[4096];
			evlog_names_dir(&in_order, d ? "out" : "in", a,
					sizeof(a));
			evlog_names_dir(&ahead, d ? "out" : "in", b, sizeof(b));
			if (strcmp(a, b) != 0)
				evlog_dump(&ahead);
			assert_string_equal(a, b);
		}
		decrypted_clean(&ahead, side);
		evlog_free(&in_order);
		evlog_free(&ahead);
	}
	tlsgen_free(&r);
}

/* Keys far behind the bytes (a reader 400 KB ahead of its TLS library):
 * past the queue's cap, records wait by their headers only, so that when
 * the keys come what follows still decrypts: the CertificateRequest,
 * and at the end both close_notify alerts. */
static void test_keys_far_behind(void **state)
{
	(void)state;
	struct tlsgen_opts o = mtls13;
	o.app_bytes = 400 * 1024;
	struct tlsgen_result r;
	run_ok(&o, &r);
	for (int side = 0; side < 2; side++) {
		struct testkeys k;
		testkeys_init(&k, r.keylog, r.keylog_len);
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		/* keys once 600 KB of the 800 KB of application data went by */
		replay_reader_ahead(&r, side, &k, &l, 600 * 1024);
		decrypted_clean(&l, side);
		assert_has(evlog_nth(&l, "alert", "in", 0),
			   "\"alert\":\"close_notify\"");
		assert_has(evlog_nth(&l, "alert", "out", 0),
			   "\"alert\":\"close_notify\"");
		const char *sum = evlog_nth(&l, "summary", NULL, 0);
		assert_has(sum, "\"close_notify_received\":\"seen\"");
		assert_has(sum, "\"close_notify_sent\":\"seen\"");
		evlog_free(&l);
	}
	tlsgen_free(&r);
}

/* A wrong secret: one decode_error, then ciphertext as without keys. */
static void test_wrong_keys(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.app_bytes = 100};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	testkeys_corrupt(&k, TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(&r, 0, &k.src, &l, (size_t)-1);
	assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
	assert_has(evlog_nth(&l, "decode_error", "in", 0),
		   "record did not decrypt with the logged secret");
	assert_null(evlog_nth(&l, "certificate_request", NULL, 0));
	/* the client's own direction still decrypts */
	assert_has(evlog_nth(&l, "certificate", "out", 0),
		   "\"decrypted\":true");
	assert_has(evlog_nth(&l, "summary", NULL, 0), "\"keys\":\"failed\"");
	evlog_free(&l);
	tlsgen_free(&r);
}

/* TLS 1.2 renegotiation with keys: the HelloRequest, the second
 * handshake's CertificateRequest and the refusal alert decoded exactly. */
static void reneg12(const char *cipher)
{
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.cipher = cipher,
				.renegotiate = 1,
				.app_bytes = 100,
				.close_notify = 1};
	struct tlsgen_result r;
	run_ok(&o, &r);
	for (int side = 0; side < 2; side++) {
		for (int p = 0; p < 2; p++) {
			struct testkeys k;
			testkeys_init(&k, r.keylog, r.keylog_len);
			struct evlog l;
			evlog_init(&l, TT_DEBUG);
			evlog_replay_closed(&r, side, &k.src, &l,
					    p ? 1 : (size_t)-1);
			const char *s2c = side ? "out" : "in";
			const char *hr = evlog_nth(&l, "hello_request", s2c, 0);
			assert_has(hr, "\"decrypted\":true");
			assert_null(strstr(hr, "inferred"));
			assert_has(evlog_nth(&l, "finished", s2c, 0),
				   "\"decrypted\":true");
			assert_has(evlog_nth(&l, "certificate_request", s2c, 0),
				   CA_LIST);
			const char *cr2 =
				evlog_nth(&l, "certificate_request", s2c, 1);
			assert_has(cr2, CA_LIST);
			assert_has(cr2, "\"decrypted\":true");
			assert_has(evlog_nth(&l, "client_hello", NULL, 1),
				   "\"renegotiation_info\":true");
			assert_has(evlog_nth(&l, "renegotiation", NULL, 2),
				   "\"phase\":\"completed\"");
			assert_null(evlog_nth(&l, "decode_error", NULL, 0));
			assert_has(evlog_nth(&l, "alert", NULL, 0),
				   "\"alert\":\"close_notify\"");
			assert_has(evlog_nth(&l, "summary", NULL, 0),
				   "\"keys\":\"used\"");
			evlog_free(&l);
		}
	}
	tlsgen_free(&r);

	o.client_refuses_reneg = 1;
	o.server_resets_on_refusal = 1;
	o.close_notify = 0;
	run_ok(&o, &r);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(&r, 0, &k.src, &l, (size_t)-1);
	assert_has(evlog_nth(&l, "hello_request", "in", 0),
		   "\"decrypted\":true");
	const char *al = evlog_nth(&l, "alert", "out", 0);
	assert_has(
		al,
		"\"alert_level\":\"warning\",\"alert\":\"no_renegotiation\"");
	assert_has(al, "\"decrypted\":true");
	assert_null(strstr(al, "inferred"));
	assert_has(evlog_nth(&l, "renegotiation", "out", 0),
		   "\"phase\":\"refused\"");
	evlog_free(&l);
	tlsgen_free(&r);
}

static void test_tls12_gcm_reneg(void **state)
{
	(void)state;
	reneg12("ECDHE-ECDSA-AES128-GCM-SHA256");
}

static void test_tls12_chacha_reneg(void **state)
{
	(void)state;
	reneg12("ECDHE-ECDSA-CHACHA20-POLY1305");
}

/* One exchange of TLS 1.2 or earlier with keys, replayed from both sides,
 * whole and a byte at a time: every Finished and both close_notify
 * alerts decrypted, nothing that fails, keys used.  etm: whether the
 * ServerHello agreed on encrypt_then_mac (RFC 7366). */
static void check12(const struct tlsgen_result *r, int etm)
{
	for (int side = 0; side < 2; side++) {
		for (int p = 0; p < 2; p++) {
			struct testkeys k;
			testkeys_init(&k, r->keylog, r->keylog_len);
			struct evlog l;
			evlog_init(&l, TT_DEBUG);
			evlog_replay_closed(r, side, &k.src, &l,
					    p ? 1 : (size_t)-1);
			const char *s2c = side ? "out" : "in";
			const char *c2s = side ? "in" : "out";
			const char *sh = evlog_nth(&l, "server_hello", s2c, 0);
			if (etm)
				assert_has(sh, "\"encrypt_then_mac\"");
			else
				assert_null(strstr(sh, "encrypt_then_mac"));
			/* each event whole, from its name to its end */
			for (int d = 0; d < 2; d++) {
				const char *dir = d ? s2c : c2s;
				assert_has(evlog_nth(&l, "finished", dir, 0),
					   "\"event\":\"finished\","
					   "\"verify_data_length\":12,"
					   "\"decrypted\":true}");
				assert_has(
					evlog_nth(&l, "alert", dir, 0),
					"\"event\":\"alert\","
					"\"alert_level\":\"warning\","
					"\"alert\":\"close_notify\","
					"\"alert_code\":0,\"decrypted\":true}");
				assert_null(evlog_nth(&l, "finished", dir, 1));
				assert_null(evlog_nth(&l, "alert", dir, 1));
			}
			if (evlog_nth(&l, "decode_error", NULL, 0))
				evlog_dump(&l);
			assert_null(evlog_nth(&l, "decode_error", NULL, 0));
			assert_null(evlog_nth(&l, "diagnosis", NULL, 0));
			/* two Finished and two close_notify records */
			assert_has(
				evlog_nth(&l, "summary", NULL, 0),
				"\"keys\":\"used\",\"decrypted_records\":4,");
			evlog_free(&l);
		}
	}
}

/* Runs an exchange of the given version and cipher list (both sides),
 * app_bytes each way and close_notify, and checks it as check12. */
static void suite12(int version, int key, const char *cipher, int no_etm,
		    const char *iana, int etm)
{
	struct tlsgen_opts o = {.version = version,
				.server_key = key,
				.cipher = cipher,
				.no_etm = no_etm,
				.legacy = strstr(cipher, "SEED") != NULL,
				.app_bytes = 300,
				.close_notify = 1};
	struct tlsgen_result r;
	run_ok(&o, &r);
	assert_string_equal(r.cipher, iana);
	assert_int_equal(r.version, version);
	check12(&r, etm);
	tlsgen_free(&r);
}

/* CBC with HMAC-SHA1, TLS 1.2: encrypt_then_mac by default, and
 * MAC-then-encrypt when the client does not offer it. */
static void test_tls12_aes128_sha(void **state)
{
	(void)state;
	const char *iana = "TLS_RSA_WITH_AES_128_CBC_SHA";
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "AES128-SHA", 0, iana, 1);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "AES128-SHA", 1, iana, 0);
}

/* CBC with HMAC-SHA384 (and the SHA-384 PRF). */
static void test_tls12_aes256_sha384(void **state)
{
	(void)state;
	const char *iana = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "ECDHE-RSA-AES256-SHA384", 0,
		iana, 1);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "ECDHE-RSA-AES256-SHA384", 1,
		iana, 0);
}

/* TLS 1.1 (explicit IV, MD5 + SHA-1 PRF) and TLS 1.0 (the IV chained
 * from each record's last block, application data included). */
static void test_tls11_tls10_cbc(void **state)
{
	(void)state;
	const char *c = "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0";
	const char *iana = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
	suite12(TLSGEN_TLS11, TLSGEN_KEY_EC, c, 0, iana, 1);
	suite12(TLSGEN_TLS11, TLSGEN_KEY_EC, c, 1, iana, 0);
	suite12(TLSGEN_TLS10, TLSGEN_KEY_EC, c, 0, iana, 1);
	suite12(TLSGEN_TLS10, TLSGEN_KEY_EC, c, 1, iana, 0);
	suite12(TLSGEN_TLS10, TLSGEN_KEY_RSA, "AES256-SHA:@SECLEVEL=0", 1,
		"TLS_RSA_WITH_AES_256_CBC_SHA", 0);
}

/* The other CBC ciphers this OpenSSL negotiates: Camellia, and SEED
 * from the legacy provider; and the NULL cipher (a MAC only). */
static void test_tls12_other_cbc_null(void **state)
{
	(void)state;
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "CAMELLIA128-SHA256", 0,
		"TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", 1);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "CAMELLIA256-SHA", 1,
		"TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "SEED-SHA:@SECLEVEL=0", 0,
		"TLS_RSA_WITH_SEED_CBC_SHA", 1);
	suite12(TLSGEN_TLS10, TLSGEN_KEY_RSA, "SEED-SHA:@SECLEVEL=0", 0,
		"TLS_RSA_WITH_SEED_CBC_SHA", 1);
	/* OpenSSL's server agrees on encrypt_then_mac with a NULL cipher
	 * too; it applies to CBC only (RFC 7366 3), here as there */
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "NULL-SHA:@SECLEVEL=0", 0,
		"TLS_RSA_WITH_NULL_SHA", 1);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "NULL-SHA256:@SECLEVEL=0", 1,
		"TLS_RSA_WITH_NULL_SHA256", 0);
	suite12(TLSGEN_TLS10, TLSGEN_KEY_EC, "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0",
		0, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", 1);
}

/* AEAD suites beyond AES-GCM and ChaCha20: AES-CCM with 8- and 16-byte
 * tags, AES-256-CCM, ARIA-GCM; and the GCM suites of DSS servers. */
static void test_tls12_more_aead(void **state)
{
	(void)state;
	suite12(TLSGEN_TLS12, TLSGEN_KEY_EC, "ECDHE-ECDSA-AES128-CCM8", 0,
		"TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_EC, "ECDHE-ECDSA-AES256-CCM8", 0,
		"TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_EC, "ECDHE-ECDSA-AES256-CCM", 0,
		"TLS_ECDHE_ECDSA_WITH_AES_256_CCM", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "AES128-CCM8", 0,
		"TLS_RSA_WITH_AES_128_CCM_8", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "AES256-CCM", 0,
		"TLS_RSA_WITH_AES_256_CCM", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_RSA, "ARIA128-GCM-SHA256", 0,
		"TLS_RSA_WITH_ARIA_128_GCM_SHA256", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_EC, "ECDHE-ECDSA-ARIA256-GCM-SHA384",
		0, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_DSA,
		"DHE-DSS-AES128-GCM-SHA256:@SECLEVEL=1", 0,
		"TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", 0);
	suite12(TLSGEN_TLS12, TLSGEN_KEY_DSA,
		"DHE-DSS-AES256-GCM-SHA384:@SECLEVEL=1", 0,
		"TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", 0);
}

/* A cipher this libcrypto lacks at run time (RC4, DES, SEED without the
 * legacy provider): not decrypted, said once in the summary, the
 * inferred events as without keys, no decode_error. */
static void test_cipher_missing(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.cipher = "ECDHE-ECDSA-AES128-SHA256",
				.app_bytes = 100};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	k.no_ciphers = true;
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	evlog_replay_closed(&r, 0, &k.src, &l, (size_t)-1);
	assert_has(evlog_nth(&l, "finished", "in", 0), "\"inferred\":true");
	assert_has(evlog_nth(&l, "finished", "out", 0), "\"inferred\":true");
	assert_null(evlog_nth(&l, "decode_error", NULL, 0));
	assert_has(evlog_nth(&l, "summary", NULL, 0),
		   "\"keys\":\"unsupported_suite\"");
	evlog_free(&l);
	tlsgen_free(&r);
}

static void test_tls13_ccm8(void **state)
{
	(void)state;
	tls13_suite("TLS_AES_128_CCM_8_SHA256", TLSGEN_CA_LIST);
}

static void test_tls12_cbc_reneg(void **state)
{
	(void)state;
	reneg12("ECDHE-ECDSA-AES128-SHA256");
	reneg12("ECDHE-ECDSA-AES256-SHA");
}

/* One bit of one record of the server's flight flipped, at off bytes
 * from the record's end: exactly one decode_error, the summary's keys
 * failed, and the record reported as without keys. */
static void tamper12(const struct tlsgen_opts *o, size_t off, const char *why)
{
	struct tlsgen_result r;
	run_ok(o, &r);
	/* the server's first encrypted record: the one after its CCS */
	size_t pos = 0, at = 0;
	struct tlsgen_record rec;
	int ccs = 0;
	while (tlsgen_next_record(&r.s2c, &pos, &rec) == 1) {
		if (ccs) {
			at = rec.off + 5 + rec.len - off;
			break;
		}
		ccs = rec.type == 20;
	}
	assert_true(at > 0);
	r.s2c.data[at] ^= 0x01;
	for (int side = 0; side < 2; side++) {
		struct testkeys k;
		testkeys_init(&k, r.keylog, r.keylog_len);
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		evlog_replay_closed(&r, side, &k.src, &l, (size_t)-1);
		const char *s2c = side ? "out" : "in";
		if (evlog_count(&l, "decode_error", NULL) != 1)
			evlog_dump(&l);
		assert_int_equal(evlog_count(&l, "decode_error", NULL), 1);
		assert_has(evlog_nth(&l, "decode_error", s2c, 0),
			   "record did not decrypt with the logged secret");
		/* the server's Finished is no longer decrypted; the client's
		 * direction still is */
		assert_null(
			strstr(evlog_nth(&l, "finished", s2c, 0), "decrypted"));
		assert_has(evlog_nth(&l, "finished", side ? "in" : "out", 0),
			   "\"decrypted\":true");
		assert_has(evlog_nth(&l, "summary", NULL, 0),
			   "\"keys\":\"failed\"");
		evlog_free(&l);
	}
	(void)why;
	tlsgen_free(&r);
}

/* A bit flipped in the ciphertext, and separately in the MAC: with
 * encrypt_then_mac the MAC is the record's last bytes; MAC-then-encrypt
 * carries it in the last blocks (a bit flipped in the block before the
 * last flips the same bit of the last block's plaintext: MAC or
 * padding). */
static void test_tls12_cbc_tampered(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.server_key = TLSGEN_KEY_RSA,
				.cipher = "AES128-SHA",
				.app_bytes = 100,
				.close_notify = 1};
	/* the Finished record: 16 IV + 32 (16 + 20 MAC... padded) */
	tamper12(&o, 30, "ciphertext, encrypt_then_mac");
	tamper12(&o, 1, "MAC, encrypt_then_mac");
	o.no_etm = 1;
	tamper12(&o, 48, "ciphertext, MAC-then-encrypt");
	tamper12(&o, 17, "MAC, MAC-then-encrypt");
	o.version = TLSGEN_TLS10;
	o.cipher = "AES128-SHA:@SECLEVEL=0";
	tamper12(&o, 48, "ciphertext, TLS 1.0");
	tamper12(&o, 17, "MAC, TLS 1.0");
	o.version = TLSGEN_TLS12;
	o.cipher = "NULL-SHA:@SECLEVEL=0";
	tamper12(&o, 21, "content, NULL cipher");
	tamper12(&o, 1, "MAC, NULL cipher");
}

/* Replays r step by step with no drain between steps, as two threads
 * might hand their bytes over: the keys are hidden until the step
 * numbered reveal (or the end), then every step is fed as it comes. */
static void replay_reveal(const struct tlsgen_result *r, int as_server,
			  struct testkeys *k, size_t reveal, struct evlog *l)
{
	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &k->src;
	k->hidden = true;
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct tlsgen_step *t = &r->steps[i];
		if (i == reveal)
			k->hidden = false;
		enum tt_dir dir = (t->from_server != 0) == (as_server != 0)
					  ? TT_OUT
					  : TT_IN;
		(void)tt_conn_feed(&c, dir,
				   tlsgen_stream_of(r, t->from_server)->data +
					   t->off,
				   t->len, &l->em);
	}
	k->hidden = false;
	tt_conn_drain(&c, &l->em);
	evlog_close(&c, l);
	tt_conn_release(&c);
}

/* The events of a replay whose keys came late equal, in their order
 * across both directions, those of one with the keys from the start. */
static void same_order(const struct tlsgen_result *r, int as_server,
		       size_t reveal, const char *must)
{
	struct testkeys k;
	testkeys_init(&k, r->keylog, r->keylog_len);
	struct evlog early, late;
	evlog_init(&early, TT_DEBUG);
	evlog_init(&late, TT_DEBUG);
	evlog_replay_closed(r, as_server, &k.src, &early, (size_t)-1);
	replay_reveal(r, as_server, &k, reveal, &late);
	static char a[16384], b[16384];
	evlog_names_all(&early, a, sizeof(a));
	evlog_names_all(&late, b, sizeof(b));
	if (strcmp(a, b) != 0 || !strstr(b, must)) {
		fprintf(stderr,
			"as %s, keys at step %zu of %zu\nwant %s\n"
			"keys at once: %s\nkeys late:    %s\n",
			as_server ? "server" : "client", reveal, r->nsteps,
			must, a, b);
		fail();
	}
	evlog_free(&early);
	evlog_free(&late);
}

/* A resumed TLS 1.2 handshake: the server's ChangeCipherSpec and
 * Finished come before the client's, whether the keys come while the
 * server's Finished waits (the client's flight then waits behind it) or
 * only after everything was fed. */
static void test_wire_order_resumed12(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.resume = 1,
				.cipher = "ECDHE-ECDSA-AES128-GCM-SHA256",
				.app_bytes = 100,
				.close_notify = 1};
	struct tlsgen_result r;
	run_ok(&o, &r);
	assert_true(r.resumed);
	/* the steps: ClientHello, the server's flight, the client's */
	assert_true(r.nsteps >= 3);
	for (size_t reveal = 2; reveal <= r.nsteps; reveal++) {
		same_order(&r, 0, reveal,
			   "out client_hello, in server_hello, "
			   "in change_cipher_spec, in finished, "
			   "out change_cipher_spec, out finished");
		same_order(&r, 1, reveal,
			   "in client_hello, out server_hello, "
			   "out change_cipher_spec, out finished, "
			   "in change_cipher_spec, in finished");
	}
	tlsgen_free(&r);
}

/* TLS 1.3 with the keys arriving after both directions' records (and at
 * every step in between): the events in wire order across directions. */
static void test_wire_order_late13(void **state)
{
	(void)state;
	struct tlsgen_opts o = mtls13;
	struct tlsgen_result r;
	run_ok(&o, &r);
	for (size_t reveal = 1; reveal <= r.nsteps; reveal++) {
		same_order(&r, 0, reveal,
			   "in server_hello, in change_cipher_spec, "
			   "in encrypted_extensions, in certificate_request, "
			   "in certificate, in certificate_verify, "
			   "in finished, out change_cipher_spec, "
			   "out certificate, out certificate_verify, "
			   "out finished, in new_session_ticket");
		same_order(&r, 1, reveal,
			   "out server_hello, out change_cipher_spec, "
			   "out encrypted_extensions, out certificate_request, "
			   "out certificate, out certificate_verify, "
			   "out finished, in change_cipher_spec, "
			   "in certificate, in certificate_verify, "
			   "in finished, out new_session_ticket");
	}
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_order_resumed12),
		cmocka_unit_test(test_wire_order_late13),
		cmocka_unit_test(test_tls13_aes128gcm),
		cmocka_unit_test(test_tls13_aes256gcm),
		cmocka_unit_test(test_tls13_chacha),
		cmocka_unit_test(test_tls13_ccm),
		cmocka_unit_test(test_tls13_no_ca_names),
		cmocka_unit_test(test_keys_late_and_missing),
		cmocka_unit_test(test_keys_never_iis_client),
		cmocka_unit_test(test_keys_never_iis_server),
		cmocka_unit_test(test_reader_ahead),
		cmocka_unit_test(test_keys_far_behind),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_tls12_gcm_reneg),
		cmocka_unit_test(test_tls12_chacha_reneg),
		cmocka_unit_test(test_tls12_aes128_sha),
		cmocka_unit_test(test_tls12_aes256_sha384),
		cmocka_unit_test(test_tls11_tls10_cbc),
		cmocka_unit_test(test_tls12_other_cbc_null),
		cmocka_unit_test(test_tls12_more_aead),
		cmocka_unit_test(test_tls13_ccm8),
		cmocka_unit_test(test_cipher_missing),
		cmocka_unit_test(test_tls12_cbc_reneg),
		cmocka_unit_test(test_tls12_cbc_tampered),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
