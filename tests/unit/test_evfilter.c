/* The event filter (TLSTRACE_EVENTS, -e) at the source: an emitter with
 * a filter gets exactly the lines that the same exchange gives without
 * one, less those the filter leaves out, each line equal field for field
 * (the summary and the diagnoses included).  The decoder builds no event
 * the filter leaves out; these exchanges check that nothing it remembers
 * (renegotiation state, CA names for a diagnosis, alerts, message log)
 * depends on whether an event was built.  Real OpenSSL exchanges, with
 * and without keys, from either side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"
#include "testkeys.h"
#include "tlsgen.h"

typedef void (*finish_fn)(struct tt_conn *c, struct evlog *l);

/* The lines of r replayed as one side (with its keys or without), at
 * level, through filter f (NULL: none), into l. */
static void run(const struct tlsgen_result *r, int as_server, int keys,
		finish_fn finish, enum tt_level level,
		const struct tt_evfilter *f, struct evlog *l)
{
	struct testkeys k;
	evlog_init(l, level);
	l->em.events = f;
	struct tt_conn c;
	tt_conn_init(&c);
	if (keys) {
		testkeys_init(&k, r->keylog, r->keylog_len);
		c.ks = &k.src;
	}
	evlog_replay(r, as_server, &c, l, (size_t)-1);
	finish(&c, l);
	tt_conn_release(&c);
}

/* The event name of a line, as a registry index (-1: not one). */
static int line_event(const char *line)
{
	const char *p = strstr(line, "\"event\":\"");
	assert_non_null(p);
	p += 9;
	return tt_event_lookup(p, strcspn(p, "\""));
}

static bool wanted(const struct tt_evfilter *f, int id)
{
	return id >= 0 && (f->want[id / 64] >> (id % 64) & 1);
}

/* The filtered log is the whole one less the lines f leaves out. */
static void expect_subset(const struct evlog *whole, const struct evlog *got,
			  const struct tt_evfilter *f, const char *what)
{
	size_t k = 0;
	bool same = true;
	for (size_t i = 0; i < whole->n && same; i++) {
		if (!wanted(f, line_event(whole->lines[i])))
			continue;
		same = k < got->n &&
		       strcmp(whole->lines[i], got->lines[k]) == 0;
		k++;
	}
	if (!same || k != got->n) {
		fprintf(stderr, "%s: the whole log\n", what);
		evlog_dump(whole);
		fprintf(stderr, "%s: filtered\n", what);
		evlog_dump(got);
		fail();
	}
}

static size_t count_events(const struct evlog *l, enum tt_event_id id)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += line_event(l->lines[i]) == (int)id;
	return n;
}

struct scenario {
	const char *name;
	struct tlsgen_opts o;
	int as_server, keys;
	finish_fn finish;
	/* what the whole log must hold, so that the comparison is about
	 * something: diagnoses, certificate requests */
	size_t diagnoses, cert_requests;
};

static struct tlsgen_opts reneg(int refuses, int resets)
{
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.client_sends_cert = 1,
				.ca_names = TLSGEN_CA_LIST,
				.renegotiate = 1,
				.app_bytes = 64,
				.close_notify = !refuses,
				.client_refuses_reneg = refuses,
				.server_resets_on_refusal = resets};
	return o;
}

static struct tlsgen_opts mtls(int version, int sends_cert)
{
	struct tlsgen_opts o = {.version = version,
				.mtls = 1,
				.client_sends_cert = sends_cert,
				.ca_names = TLSGEN_CA_LIST,
				.sni = "localhost",
				.app_bytes = 32,
				.close_notify = sends_cert};
	return o;
}

/* Every filter checked on each exchange: the fleet's usual choice, a
 * pair of message events, and each registry name alone. */
static void check_scenario(const struct scenario *s)
{
	struct tlsgen_result r;
	assert_int_equal(evlog_tlsgen(&s->o, &r), 0);
	static const enum tt_level levels[] = {TT_WARN, TT_INFO, TT_DEBUG,
					       TT_TRACE};
	for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
		struct evlog whole;
		run(&r, s->as_server, s->keys, s->finish, levels[li], NULL,
		    &whole);
		if (levels[li] == TT_INFO) {
			if (count_events(&whole, TT_EVN_DIAGNOSIS) !=
				    s->diagnoses ||
			    count_events(&whole, TT_EVN_CERTIFICATE_REQUEST) !=
				    s->cert_requests) {
				evlog_dump(&whole);
				fail_msg("%s: not the exchange meant: %zu "
					 "diagnoses, %zu certificate_request",
					 s->name,
					 count_events(&whole, TT_EVN_DIAGNOSIS),
					 count_events(
						 &whole,
						 TT_EVN_CERTIFICATE_REQUEST));
			}
		}
		struct tt_evfilter f;
		char what[160];
		for (int k = -2; k < TT_EVENT_COUNT; k++) {
			tt_evfilter_init(&f);
			if (k == -2) {
				tt_evfilter_add(&f, TT_EVN_SUMMARY);
				tt_evfilter_add(&f, TT_EVN_DIAGNOSIS);
			} else if (k == -1) {
				tt_evfilter_add(&f, TT_EVN_CERTIFICATE_REQUEST);
				tt_evfilter_add(&f, TT_EVN_ALERT);
			} else {
				tt_evfilter_add(&f, (enum tt_event_id)k);
			}
			struct evlog got;
			run(&r, s->as_server, s->keys, s->finish, levels[li],
			    &f, &got);
			snprintf(what, sizeof(what), "%s, %s, filter %s",
				 s->name, tt_level_name(levels[li]),
				 k == -2   ? "summary,diagnosis"
				 : k == -1 ? "certificate_request,alert"
					   : tt_event_name((unsigned)k));
			expect_subset(&whole, &got, &f, what);
			evlog_free(&got);
		}
		/* every name wanted: the whole log */
		tt_evfilter_init(&f);
		for (int k = 0; k < TT_EVENT_COUNT; k++)
			tt_evfilter_add(&f, (enum tt_event_id)k);
		struct evlog all;
		run(&r, s->as_server, s->keys, s->finish, levels[li], &f, &all);
		assert_true(evlog_same(&whole, &all));
		evlog_free(&all);
		evlog_free(&whole);
	}
	tlsgen_free(&r);
}

static void test_reneg_refused_iis(void **state)
{
	(void)state;
	struct scenario s = {"IIS-style refusal, client", reneg(1, 1), 0, 0,
			     evlog_reset_then_close,	  1,	       0};
	check_scenario(&s);
	struct scenario srv = {"IIS-style refusal, server",
			       reneg(1, 1),
			       1,
			       0,
			       evlog_abort,
			       1,
			       0};
	check_scenario(&srv);
	struct scenario open = {"IIS-style refusal, open at exit",
				reneg(1, 1),
				0,
				0,
				evlog_exit_open,
				1,
				0};
	check_scenario(&open);
}

static void test_reneg_refused_openssl(void **state)
{
	(void)state;
	struct scenario s = {"OpenSSL-style refusal", reneg(1, 0), 0, 0,
			     evlog_fin_then_close,    1,	   0};
	check_scenario(&s);
}

static void test_reneg_accepted(void **state)
{
	(void)state;
	/* the renegotiation's CertificateRequest (the first handshake has
	 * none) is ciphertext without keys */
	struct scenario s = {
		"accepted renegotiation", reneg(0, 0), 0, 0, evlog_close, 0, 0};
	check_scenario(&s);
	struct scenario keys = {"accepted renegotiation, keys",
				reneg(0, 0),
				1,
				1,
				evlog_close,
				0,
				1};
	check_scenario(&keys);
}

/* The server's fatal alert when no certificate came: its diagnosis names
 * the CA names of a CertificateRequest that, filtered out, was never
 * built. */
static void test_no_client_cert(void **state)
{
	(void)state;
	struct scenario s = {"TLS 1.2 mTLS, no client certificate",
			     mtls(TLSGEN_TLS12, 0),
			     0,
			     0,
			     evlog_fin_then_close,
			     2,
			     1};
	check_scenario(&s);
	struct scenario t13 = {"TLS 1.3 mTLS, no client certificate, keys",
			       mtls(TLSGEN_TLS13, 0),
			       0,
			       1,
			       evlog_fin_then_close,
			       1,
			       1};
	check_scenario(&t13);
}

static void test_mtls_tls13_keys(void **state)
{
	(void)state;
	struct scenario s = {"TLS 1.3 mTLS, keys",
			     mtls(TLSGEN_TLS13, 1),
			     0,
			     1,
			     evlog_close,
			     0,
			     1};
	check_scenario(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reneg_refused_iis),
		cmocka_unit_test(test_reneg_refused_openssl),
		cmocka_unit_test(test_reneg_accepted),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_mtls_tls13_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
