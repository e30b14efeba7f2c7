/* Handshake completion, renegotiation inferred from record order, the
 * end of a connection, its summary and diagnoses, on real OpenSSL
 * exchanges replayed from either side, whole and one byte at a time. */
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

static void replay(const struct tlsgen_result *r, int as_server,
		   struct tt_conn *c, struct evlog *l, size_t piece)
{
	evlog_replay(r, as_server, c, l, piece);
}

/* The events of a log, restricted to the session-level ones. */
static void session_names(const struct evlog *l, char *out, size_t cap)
{
	static const char *const keep[] = {"\"hello_request\"",
					   "\"renegotiation\"",
					   "\"alert\"",
					   "\"connection_reset\"",
					   "\"connection_closed\"",
					   "\"diagnosis\"",
					   "\"summary\""};
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *ev = strstr(l->lines[i], "\"event\":");
		if (!ev)
			continue;
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			if (strncmp(ev + 8, keep[k], strlen(keep[k])) != 0)
				continue;
			const char *ph = strstr(l->lines[i], "\"phase\":\"");
			const char *code = strstr(l->lines[i], "\"code\":\"");
			const char *dir = strstr(l->lines[i], "\"dir\":\"in\"")
						  ? "in"
						  : "out";
			char extra[40] = "";
			const char *src = ph ? ph + 9 : code ? code + 8 : NULL;
			if (src) {
				size_t n = strcspn(src, "\"");
				snprintf(extra, sizeof(extra), ":%.*s", (int)n,
					 src);
			}
			size_t len = strlen(keep[k]) - 2;
			o += (size_t)snprintf(out + o, cap - o, "%s%s %.*s%s",
					      o ? " " : "", dir, (int)len,
					      keep[k] + 1, extra);
		}
	}
}

static void run_ok(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	assert_int_equal(evlog_tlsgen(o, r), 0);
}

static void check(const struct tlsgen_opts *o, int as_server,
		  void (*finish)(struct tt_conn *, struct evlog *),
		  const char *expect)
{
	struct tlsgen_result r;
	run_ok(o, &r);
	struct evlog whole, bytes;
	evlog_init(&whole, TT_DEBUG);
	evlog_init(&bytes, TT_DEBUG);
	struct tt_conn c1, c2;
	tt_conn_init(&c1);
	tt_conn_init(&c2);
	replay(&r, as_server, &c1, &whole, (size_t)-1);
	replay(&r, as_server, &c2, &bytes, 1);
	finish(&c1, &whole);
	finish(&c2, &bytes);
	assert_true(evlog_same(&whole, &bytes));
	char names[2048];
	session_names(&whole, names, sizeof(names));
	if (strcmp(names, expect) != 0) {
		for (size_t i = 0; i < whole.n; i++)
			fprintf(stderr, "  %s\n", whole.lines[i]);
	}
	assert_string_equal(names, expect);
	tt_conn_release(&c1);
	tt_conn_release(&c2);
	evlog_free(&whole);
	evlog_free(&bytes);
	tlsgen_free(&r);
}

static const struct tlsgen_opts reneg = {.version = TLSGEN_TLS12,
					 .client_sends_cert = 1,
					 .ca_names = TLSGEN_CA_LIST,
					 .renegotiate = 1,
					 .app_bytes = 64,
					 .close_notify = 1};

static void test_accepted(void **state)
{
	(void)state;
	check(&reneg, 0, evlog_close,
	      "in hello_request in renegotiation:requested "
	      "out renegotiation:started in renegotiation:completed "
	      "out connection_closed out summary");
	check(&reneg, 1, evlog_close,
	      "out hello_request out renegotiation:requested "
	      "in renegotiation:started out renegotiation:completed "
	      "out connection_closed out summary");
}

/* The log of o's exchange replayed as the client, ended by finish. */
static void client_log(const struct tlsgen_opts *o,
		       void (*finish)(struct tt_conn *, struct evlog *),
		       struct evlog *l)
{
	struct tlsgen_result r;
	run_ok(o, &r);
	evlog_init(l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	replay(&r, 0, &c, l, (size_t)-1);
	finish(&c, l);
	tt_conn_release(&c);
	tlsgen_free(&r);
}

/* The renegotiation refused by the client; the server answers with a
 * fatal alert (OpenSSL) or, IIS-style, never reads the refusal. */
static struct tlsgen_opts refusal(int server_resets)
{
	struct tlsgen_opts o = reneg;
	o.client_refuses_reneg = 1;
	o.server_resets_on_refusal = server_resets;
	o.close_notify = 0;
	return o;
}

static void test_refused_openssl_style(void **state)
{
	(void)state;
	struct tlsgen_opts o = refusal(0);
	/* the diagnosis as soon as the server's fatal alert completes the
	 * evidence, not at the close */
	check(&o, 0, evlog_fin_then_close,
	      "in hello_request in renegotiation:requested out alert "
	      "out renegotiation:refused in alert "
	      "in diagnosis:renegotiation_refused_then_alert "
	      "in connection_closed out summary");
	/* a client that exits with the connection still open */
	check(&o, 0, evlog_exit_open,
	      "in hello_request in renegotiation:requested out alert "
	      "out renegotiation:refused in alert "
	      "in diagnosis:renegotiation_refused_then_alert out summary");
}

/* A refusal the server never answers, the client exiting with the
 * connection open: the pending diagnosis before the summary. */
static void test_refused_open_at_exit(void **state)
{
	(void)state;
	struct tlsgen_opts o = refusal(1);
	check(&o, 0, evlog_exit_open,
	      "in hello_request in renegotiation:requested out alert "
	      "out renegotiation:refused "
	      "out diagnosis:renegotiation_refused_then_alert out summary");
	struct evlog l;
	client_log(&o, evlog_exit_open, &l);
	const char *d = evlog_find(&l, "diagnosis", NULL);
	assert_non_null(d);
	assert_non_null(strstr(d, "the connection was still open when the "
				  "process exited"));
	assert_non_null(strstr(evlog_find(&l, "summary", NULL),
			       "\"ended\":\"open at process exit\""));
	evlog_free(&l);
}

static void test_refused_iis_style(void **state)
{
	(void)state;
	struct tlsgen_opts o = refusal(1);
	check(&o, 0, evlog_reset_then_close,
	      "in hello_request in renegotiation:requested out alert "
	      "out renegotiation:refused in connection_reset "
	      "in diagnosis:renegotiation_refused_then_reset out summary");
	check(&o, 1, evlog_abort,
	      "out hello_request out renegotiation:requested in alert "
	      "in renegotiation:refused out connection_reset "
	      "out diagnosis:renegotiation_refused_then_reset out summary");
}

/* The summary of the IIS-style exchange, field by field. */
static void test_summary_fields(void **state)
{
	(void)state;
	struct tlsgen_opts o = refusal(1);
	o.sni = "localhost";
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	replay(&r, 0, &c, &l, (size_t)-1);
	evlog_reset_then_close(&c, &l);
	const char *s = evlog_find(&l, "summary", NULL);
	assert_non_null(s);
	static const char *const want[] = {
		"\"version\":\"TLS 1.2\"",
		"\"sni\":\"localhost\"",
		"\"duration_us\":100",
		"\"client_auth_requested\":false",
		"\"client_cert_sent\":false",
		"\"alerts\":[\"out warning no_renegotiation (inferred)\"]",
		"\"renegotiations\":1,\"renegotiation\":\"refused\"",
		"\"ended\":\"reset (ECONNRESET on read)\"",
		"\"in hello_request (inferred)\"",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(s, want[i]))
			fprintf(stderr, "missing %s in\n%s\n", want[i], s);
		assert_non_null(strstr(s, want[i]));
	}
	/* a second close writes nothing more */
	size_t n = l.n;
	evlog_close(&c, &l);
	assert_int_equal(evlog_count(&l, "summary", NULL), 2);
	assert_int_equal(l.n, n + 1);
	tt_conn_release(&c);
	evlog_free(&l);
	tlsgen_free(&r);
}

/* mTLS without a client certificate (TLS 1.2): the client's empty
 * Certificate gives the diagnosis with the CA names; the server's fatal
 * alert during the handshake gives its own. */
static void test_client_cert_missing(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.mtls = 1,
				.ca_names = TLSGEN_CA_LIST};
	struct tlsgen_result r;
	run_ok(&o, &r);
	struct evlog l;
	evlog_init(&l, TT_WARN);
	struct tt_conn c;
	tt_conn_init(&c);
	replay(&r, 0, &c, &l, (size_t)-1);
	assert_int_equal(evlog_count(&l, "diagnosis", NULL), 2);
	assert_non_null(strstr(l.lines[0], "client_certificate_not_sent"));
	assert_non_null(strstr(l.lines[0],
			       "\\\"CN=K-Dot Certificate Authority\\\", "
			       "\\\"CN=The Roots Authority\\\""));
	const char *fatal = evlog_find(&l, "diagnosis", "in");
	assert_non_null(strstr(fatal, "fatal_alert_in_handshake"));
	assert_non_null(strstr(fatal, "handshake_failure"));
	tt_conn_release(&c);
	evlog_free(&l);
	tlsgen_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused_openssl_style),
		cmocka_unit_test(test_refused_iis_style),
		cmocka_unit_test(test_refused_open_at_exit),
		cmocka_unit_test(test_summary_fields),
		cmocka_unit_test(test_client_cert_missing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
