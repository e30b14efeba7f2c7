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
#include "evassert.h"
#include "msgbuf.h"
#include "tlsgen.h"

#define K_DOT "CN=K-Dot Certificate Authority"
#define ROOTS "CN=The Roots Authority"

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
	struct tlsgen_opts o = {.version = TLSGEN_TLS13,
				.mtls = 1,
				.client_sends_cert = 1,
				.ca_names = ca_names};
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
	assert_int_equal(tt_hs_certificate(&c, TT_OUT, body, len, &l.em),
			 TT_OK);
	assert_non_null(strstr(l.lines[0],
			       "\"subject\":\"CN=tlstrace client,O=Example\""));
	/* every truncation of the real body is refused, never overread */
	assert_true(find_msg(&r, 1, 13, &body, &len));
	for (size_t k = 0; k < len; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, body, k);
		evlog_clear(&l);
		assert_int_equal(
			tt_hs_certificate_request(&c, TT_IN, copy, k, &l.em),
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
	assert_non_null(strstr(l.lines[0],
			       "\"ca_count\":2,\"ca_names\":["
			       "\"(malformed name)\",\"" K_DOT "\"]"));
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
	assert_non_null(
		strstr(l.lines[0],
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
		1,  0, 0, 3, 3, 3, 0, /* client_hello cut short */
		14, 0, 0, 0,	      /* server_hello_done */
	};
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct tt_conn c;
	tt_conn_init(&c);
	tt_hs_feed(&c, TT_IN, hs, sizeof(hs), &l.em);
	assert_names(&l, "decode_error server_hello_done");
	assert_non_null(strstr(l.lines[0], "client_hello of 3 bytes"));
	tt_conn_release(&c);
	evlog_free(&l);
}

/* ---- the log level decides what is shown, never what is accepted ---- */

static const enum tt_level all_levels[] = {TT_ERROR, TT_WARN, TT_INFO, TT_DEBUG,
					   TT_TRACE};
#define NLEVELS (sizeof(all_levels) / sizeof(all_levels[0]))

/* An ALPN extension naming "h2", with one byte after its list when
 * trailing. */
static void alpn_ext(struct buf *b, int trailing)
{
	put16(b, 16);
	size_t e = open16(b);
	size_t list = open16(b);
	put8(b, 2);
	putn(b, "h2", 2);
	close16(b, list);
	if (trailing)
		put8(b, 0);
	close16(b, e);
}

/* A TLS 1.3 ServerHello: TLS_AES_128_GCM_SHA256, an x25519 share, ALPN. */
static void server_hello13(struct buf *b, int alpn_trailing)
{
	b->n = 0;
	put16(b, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(b, (unsigned)(0x40 + i));
	put8(b, 0);
	put16(b, 0x1301);
	put8(b, 0);
	size_t exts = open16(b);
	put16(b, 43); /* supported_versions */
	put16(b, 2);
	put16(b, 0x0304);
	put16(b, 51); /* key_share */
	size_t ks = open16(b);
	put16(b, 0x001d);
	put16(b, 32);
	for (int i = 0; i < 32; i++)
		put8(b, (unsigned)i);
	close16(b, ks);
	alpn_ext(b, alpn_trailing);
	close16(b, exts);
}

static void encrypted_extensions(struct buf *b, int alpn_trailing)
{
	b->n = 0;
	size_t exts = open16(b);
	put16(b, 0); /* server_name, acknowledged */
	put16(b, 0);
	alpn_ext(b, alpn_trailing);
	close16(b, exts);
}

/* Runs parser on body with a fresh connection (version and cipher
 * preset) at every level; each run must return rc, emit one event when
 * accepted and shown and none otherwise, and leave the connection
 * exactly as every other level does.  *out gets that connection. */
static void same_at_every_level(tt_hs_parser parser, uint16_t version,
				uint16_t cipher, const uint8_t *body,
				size_t len, tt_rc rc, struct tt_conn *out)
{
	for (size_t i = 0; i < NLEVELS; i++) {
		struct evlog l;
		evlog_init(&l, all_levels[i]);
		struct tt_conn c;
		tt_conn_init(&c);
		c.version = version;
		c.cipher = cipher;
		assert_int_equal(parser(&c, TT_IN, body, len, &l.em), rc);
		size_t shown = rc == TT_OK && all_levels[i] >= TT_INFO;
		assert_int_equal(l.n, shown);
		if (i == 0)
			*out = c;
		else
			assert_memory_equal(&c, out, sizeof(c));
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

/* Through the reassembler: the decode error is there at warn and up
 * (with the message's bytes at trace), and the connection's state is the
 * same at every level. */
static void feed_at_every_level(uint8_t type, const uint8_t *body, size_t len,
				uint16_t version, uint16_t cipher)
{
	static uint8_t msg[1 << 16];
	msg[0] = type;
	msg[1] = (uint8_t)(len >> 16);
	msg[2] = (uint8_t)(len >> 8);
	msg[3] = (uint8_t)len;
	memcpy(msg + 4, body, len);
	struct tt_conn first;
	for (size_t i = 0; i < NLEVELS; i++) {
		struct evlog l;
		evlog_init(&l, all_levels[i]);
		struct tt_conn c;
		tt_conn_init(&c);
		c.version = version;
		c.cipher = cipher;
		tt_hs_feed(&c, TT_IN, msg, 4 + len, &l.em);
		assert_names(&l, all_levels[i] == TT_TRACE
					 ? "decode_error handshake_bytes"
				 : all_levels[i] >= TT_WARN ? "decode_error"
							    : "");
		if (i == 0)
			first = c;
		else
			assert_memory_equal(&c, &first, sizeof(c));
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

static void test_server_hello_alpn_trailing(void **state)
{
	(void)state;
	static struct buf b;
	struct tt_conn c;
	server_hello13(&b, 1);
	same_at_every_level(tt_hs_server_hello, 0, 0, b.b, b.n, TT_DECODE, &c);
	assert_false(c.sh_seen);
	assert_int_equal(c.version, 0);
	assert_int_equal(c.cipher, 0);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	assert_string_equal(c.alpn, "");
	feed_at_every_level(2, b.b, b.n, 0, 0);

	/* without the byte: accepted alike at every level */
	server_hello13(&b, 0);
	same_at_every_level(tt_hs_server_hello, 0, 0, b.b, b.n, TT_OK, &c);
	assert_true(c.sh_seen);
	assert_int_equal(c.version, 0x0304);
	assert_int_equal(c.cipher, 0x1301);
	assert_int_equal(c.role, TT_ROLE_CLIENT);
	assert_string_equal(c.alpn, "h2");
	assert_int_equal(c.srandom[0], 0x40);

	struct evlog l;
	evlog_init(&l, TT_INFO);
	tt_conn_init(&c);
	assert_int_equal(tt_hs_server_hello(&c, TT_IN, b.b, b.n, &l.em), TT_OK);
	assert_non_null(strstr(l.lines[0],
			       "\"version\":\"TLS 1.3\",\"cipher\":"
			       "\"TLS_AES_128_GCM_SHA256\",\"alpn\":[\"h2\"],"
			       "\"renegotiation_info\":false"));
	tt_conn_release(&c);
	evlog_free(&l);
}

static void test_encrypted_extensions_alpn_trailing(void **state)
{
	(void)state;
	static struct buf b;
	struct tt_conn c;
	encrypted_extensions(&b, 1);
	same_at_every_level(tt_hs_encrypted_extensions, 0x0304, 0x1301, b.b,
			    b.n, TT_DECODE, &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	assert_string_equal(c.alpn, "");
	feed_at_every_level(8, b.b, b.n, 0x0304, 0x1301);

	encrypted_extensions(&b, 0);
	same_at_every_level(tt_hs_encrypted_extensions, 0x0304, 0x1301, b.b,
			    b.n, TT_OK, &c);
	assert_int_equal(c.role, TT_ROLE_CLIENT);
	assert_string_equal(c.alpn, "h2");

	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	tt_conn_init(&c);
	assert_int_equal(tt_hs_encrypted_extensions(&c, TT_IN, b.b, b.n, &l.em),
			 TT_OK);
	assert_non_null(strstr(l.lines[0],
			       "\"extensions\":[\"server_name\","
			       "\"application_layer_protocol_negotiation\"],"
			       "\"sni_acknowledged\":true,\"alpn\":[\"h2\"]"));
	tt_conn_release(&c);
	evlog_free(&l);
}

static void test_server_key_exchange_truncated(void **state)
{
	(void)state;
	/* ECDHE: named_curve x25519, a 4-byte point, a signature */
	static const uint8_t ske[] = {3, 0x00, 0x1d, 4, 1, 2,	 3,
				      4, 0x08, 0x04, 0, 2, 0xaa, 0xbb};
	struct tt_conn c;
	/* cut in the group, in the point */
	static const size_t cuts[] = {0, 2, 6};
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		same_at_every_level(tt_hs_server_key_exchange, 0x0303, 0xc02f,
				    ske, cuts[k], TT_DECODE, &c);
		assert_int_equal(c.role, TT_ROLE_UNKNOWN);
		feed_at_every_level(12, ske, cuts[k], 0x0303, 0xc02f);
	}
	/* DHE: p, g and Ys, the last one cut */
	static const uint8_t dhe[] = {0, 2, 0x00, 0xff, 0, 1, 2, 0, 3, 1};
	same_at_every_level(tt_hs_server_key_exchange, 0x0303, 0x009e, dhe,
			    sizeof(dhe), TT_DECODE, &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);

	same_at_every_level(tt_hs_server_key_exchange, 0x0303, 0xc02f, ske,
			    sizeof(ske), TT_OK, &c);
	assert_int_equal(c.role, TT_ROLE_CLIENT);
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	tt_conn_init(&c);
	c.version = 0x0303;
	c.cipher = 0xc02f;
	assert_int_equal(
		tt_hs_server_key_exchange(&c, TT_IN, ske, sizeof(ske), &l.em),
		TT_OK);
	assert_non_null(
		strstr(l.lines[0], "\"group\":\"x25519\",\"length\":14"));
	tt_conn_release(&c);
	evlog_free(&l);
}

static tt_rc server_hello_done(struct tt_conn *c, enum tt_dir dir,
			       const uint8_t *body, size_t len,
			       const struct tt_emit *em)
{
	return tt_hs_generic(c, dir, 14, body, len, em);
}

/* A malformed message teaches nothing: not even the sender's role. */
static void test_malformed_learns_nothing(void **state)
{
	(void)state;
	static const uint8_t one = 1;
	struct tt_conn c;
	/* server_hello_done with a body */
	same_at_every_level(server_hello_done, 0x0303, 0, &one, 1, TT_DECODE,
			    &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	/* new_session_ticket cut in its ticket */
	static const uint8_t nst[] = {0, 0, 1, 0, 0, 4, 1, 2};
	same_at_every_level(tt_hs_new_session_ticket, 0x0303, 0, nst,
			    sizeof(nst), TT_DECODE, &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	/* certificate_request without its CA list */
	static const uint8_t cr[] = {1, 1, 0, 2, 0x08, 0x04};
	same_at_every_level(tt_hs_certificate_request, 0x0303, 0, cr,
			    sizeof(cr), TT_DECODE, &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	assert_false(c.cr_seen);
	/* a ClientHello whose last extension is cut: neither the role, nor
	 * the random, nor the SNI before it are kept */
	static struct buf b;
	static const uint8_t sni[] = "example.com";
	client_hello(&b, sni, sizeof(sni) - 1, 0);
	static const uint8_t alpn_cut[] = {0, 16, 0, 4, 0, 3, 2, 'h'};
	putn(&b, alpn_cut, sizeof(alpn_cut));
	size_t exts = ((size_t)b.b[47] << 8 | b.b[48]) + sizeof(alpn_cut);
	b.b[47] = (uint8_t)(exts >> 8);
	b.b[48] = (uint8_t)exts;
	same_at_every_level(tt_hs_client_hello, 0, 0, b.b, b.n, TT_DECODE, &c);
	assert_int_equal(c.role, TT_ROLE_UNKNOWN);
	assert_int_equal(c.sni_len, 0);
	assert_int_equal(c.crandom[1], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_certificate_request),
		cmocka_unit_test(test_many_ca_names),
		cmocka_unit_test(test_bad_dn),
		cmocka_unit_test(test_client_hello_untrusted),
		cmocka_unit_test(test_malformed_then_next),
		cmocka_unit_test(test_server_hello_alpn_trailing),
		cmocka_unit_test(test_encrypted_extensions_alpn_trailing),
		cmocka_unit_test(test_server_key_exchange_truncated),
		cmocka_unit_test(test_malformed_learns_nothing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tlsgen_cleanup();
	return rc;
}
