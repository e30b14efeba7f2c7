/* A connection joined mid-stream (tt_conn_midstream: the process was
 * attached after some of its bytes moved): the first record boundary of
 * each direction, at once or by a chain of two headers, whole, split at
 * every offset and one byte at a time; records after it taken as
 * encrypted unless their bytes prove otherwise; the inference of a TLS
 * 1.2 connection whose handshake was seen without keys (the IIS-style
 * refused renegotiation, from either side); bytes that are not TLS; and
 * a new connection whose ClientHello comes after the attach. */
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

/* A TLS 1.2 record of type with n body bytes (a pattern that is not a
 * record header) at out; returns its length. */
static size_t rec(uint8_t *out, uint8_t type, size_t n, uint8_t seed)
{
	out[0] = type;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	for (size_t i = 0; i < n; i++)
		out[5 + i] = (uint8_t)(0x80 | (seed + 37 * i + (i >> 3)));
	return 5 + n;
}

/* A connection joined mid-stream; role as the caller guessed it. */
static void joined(struct tt_conn *c, enum tt_role role)
{
	tt_conn_init(c);
	tt_conn_midstream(c, role);
}

/* Feeds n bytes in pieces of piece bytes; returns the last result. */
static tt_rc feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		  size_t n, size_t piece, struct evlog *l)
{
	tt_rc rc = TT_OK;
	for (size_t o = 0; o < n; o += piece) {
		size_t k = n - o < piece ? n - o : piece;
		uint8_t *copy = malloc(k);
		assert_non_null(copy);
		memcpy(copy, p + o, k);
		rc = tt_conn_feed(c, dir, copy, k, &l->em);
		free(copy);
	}
	return rc;
}

/* A connection joined as role, fed in dir one record of type with n
 * body bytes, whole; returns the feed's result. */
static tt_rc joined_record(struct tt_conn *c, enum tt_role role,
			   enum tt_dir dir, uint8_t type, size_t n,
			   uint8_t seed, struct evlog *l)
{
	uint8_t b[64];
	assert_true(n <= sizeof(b) - 5);
	joined(c, role);
	return feed(c, dir, b, rec(b, type, n, seed), (size_t)-1, l);
}

/* The usual case: an idle connection's next bytes start a record, each
 * direction's; OpenSSL reads the 5-byte header, then the body. */
static void test_at_boundary(void **state)
{
	(void)state;
	uint8_t in[128], out[128];
	size_t ni = rec(in, TT_CT_APPLICATION_DATA, 40, 1);
	ni += rec(in + ni, TT_CT_APPLICATION_DATA, 33, 2);
	size_t no = rec(out, TT_CT_APPLICATION_DATA, 60, 3);
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	assert_int_equal(feed(&c, TT_OUT, out, no, (size_t)-1, &l), TT_OK);
	assert_int_equal(feed(&c, TT_IN, in, 5, 5, &l), TT_OK);
	assert_int_equal(feed(&c, TT_IN, in + 5, ni - 5, (size_t)-1, &l),
			 TT_OK);
	evlog_close(&c, &l);
	assert_names(&l, "resync record encrypted_record resync record "
			 "encrypted_record record encrypted_record "
			 "connection_closed summary");
	assert_true(evlog_is(evlog_nth(&l, "resync", "out", 0),
			     "\"dir\":\"out\",\"event\":\"resync\","
			     "\"skipped\":0}"));
	assert_true(evlog_is(evlog_nth(&l, "resync", "in", 0),
			     "\"dir\":\"in\",\"event\":\"resync\","
			     "\"skipped\":0}"));
	assert_true(evlog_is(
		evlog_find(&l, "summary", NULL),
		"\"dir\":\"out\",\"event\":\"summary\",\"version\":\"unknown\","
		"\"attached\":true,\"unseen\":\"handshake\","
		"\"duration_us\":100,\"bytes_in\":83,\"bytes_out\":65,"
		"\"handshake_messages\":0,\"messages\":[],"
		"\"client_auth_requested\":false,\"client_cert_sent\":false,"
		"\"alerts\":[],\"renegotiations\":0,\"renegotiation\":\"none\","
		"\"close_notify_received\":\"not seen\","
		"\"close_notify_sent\":\"not seen\","
		"\"ended\":\"closed by this process\"}"));
	tt_conn_release(&c);
	evlog_free(&l);
}

/* The events of feeding dir the bytes p, n joined as role, split at k
 * (0: whole), then closed. */
static void split_at(enum tt_role role, enum tt_dir dir, const uint8_t *p,
		     size_t n, size_t k, struct evlog *l)
{
	struct tt_conn c;
	joined(&c, role);
	if (k)
		(void)feed(&c, dir, p, k, (size_t)-1, l);
	(void)feed(&c, dir, p + k, n - k, (size_t)-1, l);
	evlog_close(&c, l);
	tt_conn_release(&c);
}

/* The same events wherever the bytes are cut: at every offset once, and
 * one byte at a time. */
static void same_everywhere(enum tt_role role, enum tt_dir dir,
			    const uint8_t *p, size_t n, const struct evlog *ref)
{
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	for (size_t k = 1; k < n; k++) {
		evlog_clear(&l);
		split_at(role, dir, p, n, k, &l);
		if (!evlog_same(ref, &l)) {
			fprintf(stderr, "split at %zu of %zu\n", k, n);
			fail();
		}
	}
	evlog_clear(&l);
	struct tt_conn c;
	joined(&c, role);
	(void)feed(&c, dir, p, n, 1, &l);
	evlog_close(&c, &l);
	tt_conn_release(&c);
	assert_true(evlog_same(ref, &l));
	evlog_free(&l);
}

/* Attached in the middle of a record: the first header whose successor
 * is a header too is the boundary; the record there is taken from its
 * header (its body went by), and the bytes before it are counted. */
static void test_mid_record(void **state)
{
	(void)state;
	uint8_t b[600];
	/* the last 300 bytes of an application-data record (one that
	 * holds a byte pattern like a header: 0x17 0x03 0x03 with a length
	 * whose successor is no header), then two records and an alert */
	uint8_t tail[305];
	rec(tail, TT_CT_APPLICATION_DATA, 300, 9);
	memcpy(b, tail + 5, 300);
	static const uint8_t decoy[] = {0x17, 0x03, 0x03, 0x00, 0x07};
	memcpy(b + 100, decoy, sizeof(decoy));
	size_t n = 300;
	n += rec(b + n, TT_CT_APPLICATION_DATA, 120, 4);
	n += rec(b + n, TT_CT_APPLICATION_DATA, 20, 5);
	n += rec(b + n, TT_CT_ALERT, 26, 6);
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	split_at(TT_ROLE_SERVER, TT_OUT, b, n, 0, &l);
	assert_names(&l, "resync record encrypted_record record "
			 "encrypted_record record encrypted_record "
			 "connection_closed summary");
	assert_true(evlog_is(evlog_find(&l, "resync", NULL),
			     "\"dir\":\"out\",\"event\":\"resync\","
			     "\"skipped\":300}"));
	assert_true(evlog_is(evlog_nth(&l, "record", NULL, 0),
			     "\"dir\":\"out\",\"event\":\"record\","
			     "\"record_type\":\"application_data\","
			     "\"record_version\":\"TLS 1.2\","
			     "\"record_length\":120}"));
	assert_true(evlog_is(evlog_nth(&l, "encrypted_record", NULL, 2),
			     "\"dir\":\"out\",\"event\":\"encrypted_record\","
			     "\"record_type\":\"alert\",\"record_length\":26,"
			     "\"encrypted\":true}"));
	const char *sum = evlog_find(&l, "summary", NULL);
	assert_has(sum, "\"bytes_in\":0,\"bytes_out\":481,\"skipped_out\":300,"
			"\"handshake_messages\":0");
	assert_lacks(sum, "skipped_in");
	assert_has(sum, "\"close_notify_sent\":\"likely (encrypted alert)\"");
	same_everywhere(TT_ROLE_SERVER, TT_OUT, b, n, &l);
	evlog_free(&l);
}

/* A header split across calls, the boundary's and a chain's, is found
 * the same: covered at every offset above; here the first 5 bytes come
 * one at a time and the body after, with the first header's successor
 * split too. */
static void test_header_split(void **state)
{
	(void)state;
	uint8_t b[200];
	size_t n = rec(b, TT_CT_HANDSHAKE, 40, 7);
	n += rec(b + n, TT_CT_APPLICATION_DATA, 30, 8);
	struct evlog ref, l;
	evlog_init(&ref, TT_TRACE);
	evlog_init(&l, TT_TRACE);
	split_at(TT_ROLE_CLIENT, TT_IN, b, n, 0, &ref);
	assert_names(&ref, "resync record hello_request renegotiation record "
			   "encrypted_record connection_closed summary");
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	(void)feed(&c, TT_IN, b, 5, 1, &l);
	(void)feed(&c, TT_IN, b + 5, 43, (size_t)-1, &l);
	(void)feed(&c, TT_IN, b + 48, n - 48, (size_t)-1, &l);
	evlog_close(&c, &l);
	tt_conn_release(&c);
	assert_true(evlog_same(&ref, &l));
	same_everywhere(TT_ROLE_CLIENT, TT_IN, b, n, &ref);
	/* a chain whose first header is split: 3 bytes of a record body,
	 * then the records */
	static const uint8_t junk[] = {0x81, 0x92, 0xa3};
	uint8_t m[220];
	memcpy(m, junk, sizeof(junk));
	memcpy(m + sizeof(junk), b, n);
	evlog_clear(&ref);
	split_at(TT_ROLE_CLIENT, TT_IN, m, n + 3, 0, &ref);
	assert_names(&ref, "resync record hello_request renegotiation record "
			   "encrypted_record connection_closed summary");
	assert_has(evlog_find(&ref, "resync", NULL), "\"skipped\":3}");
	assert_has(evlog_find(&ref, "summary", NULL), "\"skipped_in\":3,");
	same_everywhere(TT_ROLE_CLIENT, TT_IN, m, n + 3, &ref);
	evlog_free(&ref);
	evlog_free(&l);
}

/* An alert record of 26 bytes (AES-GCM) is one encrypted alert, not 13
 * alerts in the clear. */
static void test_encrypted_alert_26(void **state)
{
	(void)state;
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	assert_int_equal(joined_record(&c, TT_ROLE_CLIENT, TT_IN, TT_CT_ALERT,
				       26, 0x5c, &l),
			 TT_OK);
	assert_names(&l, "resync encrypted_record");
	assert_int_equal(evlog_count(&l, "alert", NULL), 0);
	assert_true(evlog_is(evlog_find(&l, "encrypted_record", NULL),
			     "\"dir\":\"in\",\"event\":\"encrypted_record\","
			     "\"record_type\":\"alert\",\"record_length\":26,"
			     "\"encrypted\":true}"));
	tt_conn_release(&c);
	evlog_free(&l);
}

/* What no cipher can make is in the clear: an alert record of one alert
 * (2 bytes, level warning or fatal) is decoded, a ChangeCipherSpec of
 * its 1 byte too (the next encrypted handshake record is then the
 * Finished); a 2-byte alert record of another level is not one. */
static void test_plaintext_alert_and_ccs(void **state)
{
	(void)state;
	static const uint8_t fatal[] = {0x15, 0x03, 0x03, 0x00,
					0x02, 0x02, 0x28};
	static const uint8_t odd[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x07, 0x28};
	static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	(void)feed(&c, TT_IN, fatal, sizeof(fatal), 1, &l);
	assert_names(&l, "resync alert");
	assert_true(evlog_is(evlog_find(&l, "alert", NULL),
			     "\"dir\":\"in\",\"event\":\"alert\","
			     "\"alert_level\":\"fatal\","
			     "\"alert\":\"handshake_failure\","
			     "\"alert_code\":40}"));
	(void)feed(&c, TT_IN, odd, sizeof(odd), (size_t)-1, &l);
	assert_names(&l, "resync alert encrypted_record");
	assert_has(evlog_nth(&l, "encrypted_record", NULL, 0),
		   "\"record_type\":\"alert\",\"record_length\":2,");
	uint8_t fin[64];
	size_t nf = rec(fin, TT_CT_HANDSHAKE, 40, 3);
	(void)feed(&c, TT_OUT, ccs, sizeof(ccs), (size_t)-1, &l);
	(void)feed(&c, TT_OUT, fin, nf, (size_t)-1, &l);
	assert_names(&l, "resync alert encrypted_record resync "
			 "change_cipher_spec finished");
	assert_true(
		evlog_is(evlog_find(&l, "change_cipher_spec", NULL),
			 "\"dir\":\"out\",\"event\":\"change_cipher_spec\"}"));
	assert_has(
		evlog_find(&l, "finished", NULL),
		"\"evidence\":\"first encrypted handshake record after "
		"change_cipher_spec\",\"encrypted\":true,\"inferred\":true}");
	evlog_end(&c, &l, TT_END_LOCAL_CLOSE, TT_OUT, NULL, "close");
	assert_has(evlog_find(&l, "summary", NULL),
		   "\"messages\":[\"out finished (inferred)\"],"
		   "\"client_auth_requested\":false,\"client_cert_sent\":false,"
		   "\"alerts\":[\"in fatal handshake_failure\"]");
	tt_conn_release(&c);
	evlog_free(&l);
}


/* A chain's first record with a body of 2 bytes (a clear alert), its
 * successor's header right after: the alert is decoded whatever the
 * cuts, two of them anywhere included (the body may go by in a call
 * that holds neither header). */
static void test_short_body_any_cuts(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n = 0;
	memset(b, 0xee, 5); /* the end of a record before the attach */
	n = 5;
	static const uint8_t alert[] = {0x15, 3, 3, 0, 2, 2, 40};
	memcpy(b + n, alert, sizeof(alert));
	n += sizeof(alert);
	n += rec(b + n, 23, 20, 7);
	struct evlog ref, l;
	evlog_init(&ref, TT_TRACE);
	evlog_init(&l, TT_TRACE);
	split_at(TT_ROLE_CLIENT, TT_IN, b, n, 0, &ref);
	const char *a = evlog_find(&ref, "alert", "in");
	assert_non_null(a);
	assert_non_null(strstr(a, "\"alert\":\"handshake_failure\""));
	for (size_t k1 = 1; k1 < n; k1++) {
		for (size_t k2 = k1 + 1; k2 < n; k2++) {
			evlog_clear(&l);
			struct tt_conn c;
			joined(&c, TT_ROLE_CLIENT);
			(void)feed(&c, TT_IN, b, k1, (size_t)-1, &l);
			(void)feed(&c, TT_IN, b + k1, k2 - k1, (size_t)-1, &l);
			(void)feed(&c, TT_IN, b + k2, n - k2, (size_t)-1, &l);
			evlog_close(&c, &l);
			tt_conn_release(&c);
			if (!evlog_same(&ref, &l)) {
				fprintf(stderr, "cut at %zu and %zu of %zu\n",
					k1, k2, n);
				fail();
			}
		}
	}
	evlog_free(&l);
	evlog_free(&ref);
}

/* The session-level events of a log, as "dir name[:phase or code]". */
static void session_names(const struct evlog *l, char *out, size_t cap)
{
	static const char *const keep[] = {
		"hello_request",    "renegotiation",	 "alert",
		"connection_reset", "connection_closed", "diagnosis",
		"summary"};
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			char pat[64];
			snprintf(pat, sizeof(pat), "\"event\":\"%s\"", keep[k]);
			if (!strstr(l->lines[i], pat))
				continue;
			const char *ph = strstr(l->lines[i], "\"phase\":\"");
			const char *code = strstr(l->lines[i], "\"code\":\"");
			const char *src = ph ? ph + 9 : code ? code + 8 : NULL;
			char extra[48] = "";
			if (src)
				snprintf(extra, sizeof(extra), ":%.*s",
					 (int)strcspn(src, "\""), src);
			o += (size_t)snprintf(
				out + o, cap - o, "%s%s %s%s", o ? " " : "",
				strstr(l->lines[i], "\"dir\":\"in\"") ? "in"
								      : "out",
				keep[k], extra);
		}
	}
}

/* The IIS-style exchange of test_session.c (the server asks for a
 * renegotiation with a HelloRequest, the client refuses, the server
 * resets), its TLS 1.2 handshake seen, without keys: the events of one
 * side. */
static void seen_iis(int as_server, struct evlog *l)
{
	struct tlsgen_opts o = TLSGEN_IIS_REFUSAL_OPTS;
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&o, &r), 0);
	evlog_replay_ended(&r, as_server, NULL, l, (size_t)-1,
			   as_server ? evlog_abort : evlog_reset_then_close);
	tlsgen_free(&r);
}

/* The same refusal joined mid-stream: the server's encrypted handshake
 * record of 28 bytes (an AES-GCM HelloRequest), the client's encrypted
 * alert record of 26, then the reset. */
static void joined_iis(int as_server, const struct tt_keysrc *ks,
		       struct evlog *l)
{
	uint8_t hr[64], al[64];
	size_t nh = rec(hr, TT_CT_HANDSHAKE, 28, 0x21);
	size_t na = rec(al, TT_CT_ALERT, 26, 0x42);
	struct tt_conn c;
	joined(&c, as_server ? TT_ROLE_SERVER : TT_ROLE_CLIENT);
	c.ks = ks;
	enum tt_dir s2c = as_server ? TT_OUT : TT_IN;
	(void)feed(&c, s2c, hr, nh, (size_t)-1, l);
	(void)feed(&c, (enum tt_dir) !s2c, al, na, (size_t)-1, l);
	if (as_server)
		evlog_abort(&c, l);
	else
		evlog_reset_then_close(&c, l);
	tt_conn_release(&c);
}

/* Each line of the inferred events of b (from its first hello_request
 * to its diagnosis) is a's. */
static void same_inference(const struct evlog *a, const struct evlog *b)
{
	static const char *const names[] = {"hello_request", "renegotiation",
					    "alert", "connection_reset",
					    "diagnosis"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = evlog_count(b, names[i], NULL);
		assert_int_equal(evlog_count(a, names[i], NULL), n);
		for (size_t k = 0; k < n; k++) {
			const char *x = evlog_nth(a, names[i], NULL, k);
			const char *y = evlog_nth(b, names[i], NULL, k);
			assert_true(evlog_is(y, strstr(x, "\"dir\":")));
		}
	}
}

static void iis(int as_server, const char *expect)
{
	struct testkeys k;
	testkeys_init(&k, "", 0);
	struct evlog seen, mid;
	evlog_init(&seen, TT_DEBUG);
	evlog_init(&mid, TT_DEBUG);
	seen_iis(as_server, &seen);
	joined_iis(as_server, &k.src, &mid);
	char a[1024], b[1024];
	session_names(&seen, a, sizeof(a));
	session_names(&mid, b, sizeof(b));
	assert_string_equal(a, expect);
	assert_string_equal(b, expect);
	same_inference(&seen, &mid);
	/* every event, in order */
	char all[1024];
	evlog_names_all(&mid, all, sizeof(all));
	if (as_server)
		assert_string_equal(
			all,
			"out resync, out hello_request, out renegotiation, "
			"in resync, in alert, in renegotiation, "
			"out connection_reset, out diagnosis, out summary");
	else
		assert_string_equal(
			all, "in resync, in hello_request, in renegotiation, "
			     "out resync, out alert, out renegotiation, "
			     "in connection_reset, in diagnosis, out summary");
	const char *sum = evlog_find(&mid, "summary", NULL);
	fprintf(stderr, "%s summary: %s\n", as_server ? "server" : "client",
		sum);
	/* the server's bytes are its HelloRequest's record (33), the
	 * client's its alert's (31) */
	const char *s2c = as_server ? "out" : "in";
	const char *c2s = as_server ? "in" : "out";
	char want[1024];
	snprintf(want, sizeof(want),
		 "\"dir\":\"out\",\"event\":\"summary\","
		 "\"version\":\"unknown\",\"attached\":true,"
		 "\"unseen\":\"handshake\",\"duration_us\":100,"
		 "\"bytes_in\":%d,\"bytes_out\":%d,"
		 "\"handshake_messages\":1,"
		 "\"messages\":[\"%s hello_request (inferred)\"],"
		 "\"client_auth_requested\":false,"
		 "\"client_cert_sent\":false,"
		 "\"alerts\":[\"%s warning no_renegotiation (inferred)\"],"
		 "\"keys\":\"missing\",\"keys_note\":\"the secrets were "
		 "derived before the attach, in a handshake that went "
		 "by unseen: without its client random none can be "
		 "found\",\"renegotiations\":1,"
		 "\"renegotiation\":\"refused\","
		 "\"close_notify_received\":\"not seen\","
		 "\"close_notify_sent\":\"not seen\","
		 "\"ended\":\"%s\"}",
		 as_server ? 31 : 33, as_server ? 33 : 31, s2c, c2s,
		 as_server ? "reset by this process (SO_LINGER 0)"
			   : "reset (ECONNRESET on read)");
	assert_true(evlog_is(sum, want));
	evlog_free(&seen);
	evlog_free(&mid);
}

static void test_iis_client(void **state)
{
	(void)state;
	iis(0, "in hello_request in renegotiation:requested out alert "
	       "out renegotiation:refused in connection_reset "
	       "in diagnosis:renegotiation_refused_then_reset out summary");
}

static void test_iis_server(void **state)
{
	(void)state;
	iis(1, "out hello_request out renegotiation:requested in alert "
	       "in renegotiation:refused out connection_reset "
	       "out diagnosis:renegotiation_refused_then_reset out summary");
}

/* The server's bytes joined in the middle of a record, the HelloRequest
 * its last: no record follows to make a chain, but the client's answer
 * does, and the server's bytes end exactly where the HelloRequest's
 * record ends: that is their first record, before the answer.  The same
 * events when the server's bytes come one at a time. */
static void test_pause(void **state)
{
	(void)state;
	uint8_t tail[1300], ad[400], hr[64], al[64];
	size_t nt = rec(tail, TT_CT_APPLICATION_DATA, 1200, 3) - 700;
	memmove(tail, tail + 700, nt);
	size_t nd = rec(ad, TT_CT_APPLICATION_DATA, 372, 4);
	size_t nh = rec(hr, TT_CT_HANDSHAKE, 28, 5);
	size_t na = rec(al, TT_CT_ALERT, 26, 6);
	struct evlog ref, l;
	evlog_init(&ref, TT_DEBUG);
	evlog_init(&l, TT_DEBUG);
	for (size_t piece = (size_t)-1; piece; piece = piece == 1 ? 0 : 1) {
		struct evlog *e = piece == 1 ? &l : &ref;
		struct tt_conn c;
		joined(&c, TT_ROLE_CLIENT);
		(void)feed(&c, TT_IN, tail, nt, piece, e);
		(void)feed(&c, TT_OUT, ad, nd, (size_t)-1, e);
		(void)feed(&c, TT_IN, hr, nh, piece, e);
		(void)feed(&c, TT_OUT, al, na, (size_t)-1, e);
		evlog_reset_then_close(&c, e);
		tt_conn_release(&c);
	}
	char names[1024];
	evlog_names_all(&ref, names, sizeof(names));
	assert_string_equal(names,
			    "out resync, in resync, in hello_request, "
			    "in renegotiation, out alert, out renegotiation, "
			    "in connection_reset, in diagnosis, out summary");
	assert_has(evlog_nth(&ref, "resync", "in", 0), "\"skipped\":505}");
	assert_has(evlog_find(&ref, "diagnosis", NULL),
		   "\"code\":\"renegotiation_refused_then_reset\"");
	assert_has(evlog_find(&ref, "summary", NULL),
		   "\"bytes_in\":538,\"bytes_out\":408,\"skipped_in\":505,");
	assert_true(evlog_same(&ref, &l));
	/* the last record of a direction that ends: at its end */
	evlog_clear(&ref);
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	(void)feed(&c, TT_IN, tail, nt, (size_t)-1, &ref);
	(void)feed(&c, TT_IN, al, na, (size_t)-1, &ref);
	assert_int_equal(ref.n, 0);
	evlog_fin_then_close(&c, &ref);
	assert_names(&ref, "resync encrypted_record connection_closed summary");
	assert_has(evlog_find(&ref, "connection_closed", NULL),
		   "\"close_notify\":\"likely (encrypted alert)\"");
	tt_conn_release(&c);
	evlog_free(&ref);
	evlog_free(&l);
}

/* Without a role nothing is inferred from the order of records (who sent
 * them is not known); without a key source there is no keys field. */
static void test_role_unknown(void **state)
{
	(void)state;
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	(void)joined_record(&c, TT_ROLE_UNKNOWN, TT_IN, TT_CT_HANDSHAKE, 28,
			    0x21, &l);
	evlog_close(&c, &l);
	assert_names(&l, "resync encrypted_record connection_closed summary");
	assert_has(evlog_find(&l, "encrypted_record", NULL),
		   "\"record_type\":\"handshake\",\"record_length\":28,");
	assert_lacks(evlog_find(&l, "summary", NULL), "\"keys\"");
	tt_conn_release(&c);
	evlog_free(&l);
}

/* The peer's FIN without close_notify: a truncation only once the
 * records proved TLS 1.2 or older (TLS 1.3 hides its alerts in
 * application data). */
static void test_fin_pre13(void **state)
{
	(void)state;
	uint8_t ad[64], hs[64];
	size_t na = rec(ad, TT_CT_APPLICATION_DATA, 30, 1);
	size_t nh = rec(hs, TT_CT_HANDSHAKE, 40, 2);
	for (int proven = 0; proven < 2; proven++) {
		struct evlog l;
		evlog_init(&l, TT_INFO);
		struct tt_conn c;
		joined(&c, TT_ROLE_SERVER);
		(void)feed(&c, TT_IN, ad, na, (size_t)-1, &l);
		if (proven) /* a renegotiation the client starts */
			(void)feed(&c, TT_IN, hs, nh, (size_t)-1, &l);
		evlog_fin_then_close(&c, &l);
		assert_names(&l, proven ? "renegotiation connection_closed "
					  "diagnosis summary"
					: "connection_closed summary");
		if (proven)
			assert_has(evlog_find(&l, "diagnosis", NULL),
				   "\"code\":\"closed_without_close_notify\"");
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

/* Bytes that are not TLS framing: the connection is plain, nothing is
 * written for it, every feed says so, and its end writes nothing. */
static void test_not_tls(void **state)
{
	(void)state;
	static const char get[] = "GET / HTTP/1.1\r\nHost: example.com\r\n"
				  "Accept: */*\r\n\r\n";
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	for (size_t piece = 1; piece <= sizeof(get); piece *= 4) {
		struct tt_conn c;
		joined(&c, TT_ROLE_CLIENT);
		assert_int_equal(feed(&c, TT_OUT, (const uint8_t *)get,
				      sizeof(get) - 1, piece, &l),
				 TT_PLAIN);
		assert_true(c.plain);
		static const uint8_t reply[] = "HTTP/1.1 200 OK\r\n";
		assert_int_equal(feed(&c, TT_IN, reply, sizeof(reply) - 1,
				      (size_t)-1, &l),
				 TT_PLAIN);
		evlog_close(&c, &l);
		assert_int_equal(l.n, 0);
		assert_int_equal(tt_conn_heap_bytes(&c), 0);
		tt_conn_release(&c);
	}
	/* too few bytes to tell, or none: nothing either */
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	assert_int_equal(feed(&c, TT_OUT, (const uint8_t *)"PING\r\n", 6,
			      (size_t)-1, &l),
			 TT_OK);
	evlog_fin_then_close(&c, &l);
	assert_int_equal(l.n, 0);
	assert_true(c.plain);
	tt_conn_release(&c);
	joined(&c, TT_ROLE_SERVER);
	evlog_close(&c, &l);
	assert_int_equal(l.n, 0);
	tt_conn_release(&c);
	evlog_free(&l);
}

/* 70 KiB of random bytes: plain once 64 KiB went by without a chain of
 * two headers, in a block of bounded size meanwhile. */
static void test_random_bytes(void **state)
{
	(void)state;
	size_t n = 70 * 1024;
	uint8_t *b = malloc(n);
	assert_non_null(b);
	uint32_t x = 0x2545f491;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)(x >> 11);
	}
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct tt_conn c;
	joined(&c, TT_ROLE_SERVER);
	size_t o = 0, most = 0;
	tt_rc rc = TT_OK;
	while (o < n && rc == TT_OK) {
		size_t k = n - o < 1000 ? n - o : 1000;
		rc = tt_conn_feed(&c, TT_IN, b + o, k, &l.em);
		size_t heap = tt_conn_heap_bytes(&c);
		most = heap > most ? heap : most;
		o += k;
	}
	assert_int_equal(rc, TT_PLAIN);
	assert_true(o > 64 * 1024 && o <= 66 * 1024);
	assert_true(most > 0 && most <= 512);
	assert_int_equal(tt_conn_heap_bytes(&c), 0);
	evlog_close(&c, &l);
	assert_int_equal(l.n, 0);
	tt_conn_release(&c);
	evlog_free(&l);
	free(b);
}

/* One direction is TLS, the other not: that one stops, saying why, and
 * the connection is reported. */
static void test_one_direction_not_tls(void **state)
{
	(void)state;
	uint8_t ad[64];
	size_t na = rec(ad, TT_CT_APPLICATION_DATA, 30, 1);
	static const char text[] = "this is a line of text, not TLS at all\n";
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	joined(&c, TT_ROLE_CLIENT);
	assert_int_equal(feed(&c, TT_IN, ad, na, (size_t)-1, &l), TT_OK);
	assert_int_equal(feed(&c, TT_OUT, (const uint8_t *)text,
			      sizeof(text) - 1, (size_t)-1, &l),
			 TT_DECODE);
	evlog_close(&c, &l);
	assert_names(&l, "resync decode_error connection_closed summary");
	assert_true(evlog_is(evlog_find(&l, "decode_error", NULL),
			     "\"dir\":\"out\",\"event\":\"decode_error\","
			     "\"error\":\"no TLS record boundary\","
			     "\"detail\":\"text: a cleartext protocol\"}"));
	assert_has(evlog_find(&l, "summary", NULL),
		   "\"bytes_in\":35,\"bytes_out\":39,\"skipped_out\":39,");
	tt_conn_release(&c);
	evlog_free(&l);
}

/* A new connection whose ClientHello is the first record after the
 * attach is decoded as any, keys included: the same events as without
 * the attach, and a summary that says attached and nothing unseen. */
static void test_fresh_client_hello(void **state)
{
	(void)state;
	struct tlsgen_opts o = TLSGEN_MTLS12_OPTS;
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&o, &r), 0);
	struct testkeys k;
	testkeys_init(&k, r.keylog, r.keylog_len);
	for (int as_server = 0; as_server < 2; as_server++) {
		for (int role_known = 0; role_known < 2; role_known++) {
			struct evlog plain, mid;
			evlog_init(&plain, TT_TRACE);
			evlog_init(&mid, TT_TRACE);
			evlog_replay_closed(&r, as_server, &k.src, &plain,
					    (size_t)-1);
			struct tt_conn c;
			joined(&c, !role_known ? TT_ROLE_UNKNOWN
				   : as_server ? TT_ROLE_SERVER
					       : TT_ROLE_CLIENT);
			c.ks = &k.src;
			evlog_replay(&r, as_server, &c, &mid, (size_t)-1);
			evlog_close(&c, &mid);
			tt_conn_release(&c);
			/* the first line of each is a record line: the same,
			 * but for the resync before the first of each
			 * direction */
			size_t i = 0, j = 0;
			while (i < plain.n && j < mid.n) {
				if (strstr(mid.lines[j],
					   "\"event\":\"resync\"")) {
					assert_has(mid.lines[j],
						   "\"skipped\":0}");
					j++;
					continue;
				}
				if (strstr(plain.lines[i],
					   "\"event\":\"summary\""))
					break;
				assert_string_equal(plain.lines[i],
						    mid.lines[j]);
				i++;
				j++;
			}
			assert_int_equal(evlog_count(&mid, "resync", NULL), 2);
			assert_int_equal(i, plain.n - 1);
			assert_int_equal(j, mid.n - 1);
			const char *sum = mid.lines[j];
			assert_has(sum, "\"version\":\"TLS 1.2\"");
			assert_has(sum,
				   "\"sni\":\"localhost\",\"attached\":true,"
				   "\"duration_us\":");
			assert_lacks(sum, "unseen");
			assert_lacks(sum, "skipped");
			assert_has(sum, "\"keys\":\"used\"");
			assert_has(
				evlog_find(&mid, "certificate_request", NULL),
				"\"ca_count\":2");
			evlog_free(&plain);
			evlog_free(&mid);
		}
	}
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_at_boundary),
		cmocka_unit_test(test_mid_record),
		cmocka_unit_test(test_header_split),
		cmocka_unit_test(test_encrypted_alert_26),
		cmocka_unit_test(test_plaintext_alert_and_ccs),
		cmocka_unit_test(test_short_body_any_cuts),
		cmocka_unit_test(test_iis_client),
		cmocka_unit_test(test_iis_server),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_role_unknown),
		cmocka_unit_test(test_fin_pre13),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_one_direction_not_tls),
		cmocka_unit_test(test_fresh_client_hello),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
