/* Handshake message parsers on real plaintext (OpenSSL's own messages,
 * TLS 1.3 included) and on crafted hostile bodies. */
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

/* A tiny message builder with length-prefix back-patching. */
struct buf {
	uint8_t b[1 << 20];
	size_t n;
};
static void put8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}
static void putn(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static size_t open16(struct buf *b)
{
	put16(b, 0);
	return b->n;
}
static void close16(struct buf *b, size_t at)
{
	size_t len = b->n - at;
	b->b[at - 2] = (uint8_t)(len >> 8);
	b->b[at - 1] = (uint8_t)len;
}

/* The plaintext of a message OpenSSL sent, by handshake type. */
static int find_msg(const struct tlsgen_result *r, int from_server,
		    uint8_t type, const uint8_t **body, size_t *len)
{
	for (size_t i = 0; i < r->nmsgs; i++) {
		const struct tlsgen_msg *m = &r->msgs[i];
		if (m->from_server != from_server || m->content_type != 22 ||
		    m->len < 4 || r->plain[m->off] != type)
			continue;
		*body = r->plain + m->off + 4;
		*len = m->len - 4;
		return 1;
	}
	return 0;
}

static void tls13_cr(int ca_names, const char *expect)
{
	struct tlsgen_opts o = {.version = TLSGEN_TLS13, .mtls = 1,
				.client_sends_cert = 1, .ca_names = ca_names};
	struct tlsgen_result r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(tlsgen_run(&o, &r), 0);
	const uint8_t *body;
	size_t len;
	assert_true(find_msg(&r, 1, 13, &body, &len));
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	c.version = 0x0304;
	assert_int_equal(tt_hs_certificate_request(&c, TT_IN, body, len, &l.em),
			 TT_OK);
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.lines[0], expect));
	assert_non_null(strstr(l.lines[0], "\"version\":\"TLS 1.3\""));
	assert_non_null(strstr(l.lines[0], "\"sig_algs\":[\""));
	/* the 1.3 Certificate (with its per-entry extensions) too */
	assert_true(find_msg(&r, 0, 11, &body, &len));
	evlog_clear(&l);
	assert_int_equal(tt_hs_certificate(&c, TT_OUT, body, len, &l.em), TT_OK);
	assert_non_null(strstr(l.lines[0],
			       "\"subject\":\"CN=tlstrace client,O=Example\""));
	/* every truncation of the real body is refused, never overread */
	assert_true(find_msg(&r, 1, 13, &body, &len));
	for (size_t k = 0; k < len; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, body, k);
		evlog_clear(&l);
		assert_int_equal(tt_hs_certificate_request(&c, TT_IN, copy, k,
							   &l.em),
				 TT_DECODE);
		assert_int_equal(l.n, 0);
		free(copy);
	}
	tt_conn_release(&c);
	evlog_free(&l);
	tlsgen_free(&r);
}

static void test_tls13_certificate_request(void **state)
{
	(void)state;
	tls13_cr(TLSGEN_CA_LIST,
		 "\"ca_count\":2,\"ca_names\":[\"" K_DOT "\",\"" ROOTS "\"]");
	/* -no_ca_names: an empty certificate_authorities extension */
	tls13_cr(TLSGEN_CA_DISABLED, "\"ca_count\":0,\"ca_names\":[]");
	/* no list at all: the extension is absent */
	tls13_cr(TLSGEN_CA_NONE, "\"ca_count\":0,\"ca_names\":[]");
}

/* A TLS 1.2 CertificateRequest naming many CAs: all counted, the first
 * TT_CA_NAMES_RENDERED rendered, the event marked truncated. */
static void test_many_ca_names(void **state)
{
	(void)state;
	static struct buf b;
	b.n = 0;
	put8(&b, 1);
	put8(&b, 64);
	size_t sigs = open16(&b);
	put16(&b, 0x0403);
	close16(&b, sigs);
	size_t cas = open16(&b);
	const uint8_t *dn;
	size_t dnlen;
	assert_int_equal(tlsgen_subject_der(TLSGEN_CERT_ROOT, &dn, &dnlen), 0);
	size_t count = (65535 - 8) / (dnlen + 2);
	for (size_t i = 0; i < count; i++) {
		put16(&b, (unsigned)dnlen);
		putn(&b, dn, dnlen);
	}
	close16(&b, cas);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	c.version = 0x0303;
	assert_int_equal(tt_hs_certificate_request(&c, TT_IN, b.b, b.n, &l.em),
			 TT_OK);
	char expect[64];
	snprintf(expect, sizeof(expect), "\"ca_count\":%zu,", count);
	assert_non_null(strstr(l.lines[0], expect));
	assert_non_null(strstr(l.lines[0], "\"truncated\":true"));
	/* exactly TT_CA_NAMES_RENDERED names rendered */
	size_t seen = 0;
	for (const char *p = l.lines[0]; (p = strstr(p, ROOTS)); p++)
		seen++;
	assert_int_equal(seen, TT_CA_NAMES_RENDERED);
	tt_conn_release(&c);
	evlog_free(&l);
	tlsgen_cleanup();
}

/* A DistinguishedName that is not DER: the list goes on, the bad name is
 * shown as malformed; a zero-length name is a decode error. */
static void test_bad_dn(void **state)
{
	(void)state;
	static struct buf b;
	b.n = 0;
	put8(&b, 1);
	put8(&b, 1);
	size_t sigs = open16(&b);
	put16(&b, 0x0804);
	close16(&b, sigs);
	size_t cas = open16(&b);
	put16(&b, 3);
	putn(&b, "\x30\x05\x31", 3); /* SEQUENCE claiming 5 bytes, has 1 */
	const uint8_t *dn;
	size_t dnlen;
	assert_int_equal(tlsgen_subject_der(TLSGEN_CERT_INTER, &dn, &dnlen), 0);
	put16(&b, (unsigned)dnlen);
	putn(&b, dn, dnlen);
	close16(&b, cas);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	c.version = 0x0303;
	assert_int_equal(tt_hs_certificate_request(&c, TT_IN, b.b, b.n, &l.em),
			 TT_OK);
	assert_non_null(strstr(l.lines[0], "\"ca_count\":2,\"ca_names\":["
					   "\"(malformed name)\",\"" K_DOT
					   "\"]"));
	/* zero-length DN */
	b.b[cas] = 0;
	b.b[cas + 1] = 0;
	evlog_clear(&l);
	assert_int_equal(tt_hs_certificate_request(&c, TT_IN, b.b, b.n, &l.em),
			 TT_DECODE);
	tt_conn_release(&c);
	evlog_free(&l);
	tlsgen_cleanup();
}

static size_t client_hello(struct buf *b, const uint8_t *sni, size_t sni_len,
			   int dup_ext)
{
	b->n = 0;
	put16(b, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(b, (unsigned)i);
	put8(b, 0);
	size_t cs = open16(b);
	put16(b, 0x1a1a); /* GREASE */
	put16(b, 0x1301);
	put16(b, 0x00ff);
	put16(b, 0xfefe); /* unassigned */
	close16(b, cs);
	put8(b, 1);
	put8(b, 0);
	size_t exts = open16(b);
	put16(b, 0); /* server_name */
	size_t e = open16(b);
	size_t list = open16(b);
	put8(b, 0);
	put16(b, (unsigned)sni_len);
	putn(b, sni, sni_len);
	close16(b, list);
	close16(b, e);
	if (dup_ext) {
		put16(b, 0);
		put16(b, 0);
	}
	close16(b, exts);
	return b->n;
}

static void test_client_hello_untrusted(void **state)
{
	(void)state;
	static struct buf b;
	static const uint8_t sni[] = "bad\xff\"\\\n\x01host\xc3\xa9";
	client_hello(&b, sni, sizeof(sni) - 1, 0);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	assert_int_equal(tt_hs_client_hello(&c, TT_IN, b.b, b.n, &l.em), TT_OK);
	assert_int_equal(tt_conn_role(&c), TT_ROLE_SERVER);
	/* invalid UTF-8 as \xHH text, controls JSON-escaped, UTF-8 kept */
	assert_non_null(strstr(l.lines[0],
			       "\"sni\":\"bad\\\\xff\\\"\\\\\\n\\u0001host\xc3\xa9\""));
	assert_non_null(strstr(l.lines[0],
			       "\"cipher_suites\":[\"grease(0x1a1a)\","
			       "\"TLS_AES_128_GCM_SHA256\","
			       "\"TLS_EMPTY_RENEGOTIATION_INFO_SCSV\","
			       "\"unknown(0xfefe)\"]"));
	assert_non_null(strstr(l.lines[0], "\"scsv\":true"));
	/* a duplicated extension is malformed (RFC 8446 4.2) */
	client_hello(&b, sni, 4, 1);
	evlog_clear(&l);
	assert_int_equal(tt_hs_client_hello(&c, TT_IN, b.b, b.n, &l.em),
			 TT_DECODE);
	assert_int_equal(l.n, 0);
	/* every truncation refused */
	client_hello(&b, sni, sizeof(sni) - 1, 0);
	for (size_t k = 0; k < b.n; k++) {
		if (k == 47) /* the pre-1.2 form, without extensions: valid */
			continue;
		assert_int_equal(tt_hs_client_hello(&c, TT_IN, b.b, k, &l.em),
				 TT_DECODE);
	}
	tt_conn_release(&c);
	evlog_free(&l);
}

/* Through the reassembler: a malformed message is reported and the
 * stream goes on with the next one. */
static void test_malformed_then_next(void **state)
{
	(void)state;
	static const uint8_t hs[] = {
		1, 0, 0, 3, 3, 3, 0,	 /* client_hello cut short */
		14, 0, 0, 0,		 /* server_hello_done */
	};
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	tt_hs_feed(&c, TT_IN, hs, sizeof(hs), &l.em);
	char names[256];
	evlog_names(&l, names, sizeof(names));
	assert_string_equal(names, "decode_error server_hello_done");
	assert_non_null(strstr(l.lines[0], "client_hello of 3 bytes"));
	tt_conn_release(&c);
	evlog_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_certificate_request),
		cmocka_unit_test(test_many_ca_names),
		cmocka_unit_test(test_bad_dn),
		cmocka_unit_test(test_client_hello_untrusted),
		cmocka_unit_test(test_malformed_then_next),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
