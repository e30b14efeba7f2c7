/* Message fields that no peer of the test suite sends, on bodies built
 * here: a TLS 1.3 CertificateRequest with signature_algorithms_cert and
 * oid_filters (RFC 8446 4.2.3, 4.2.5; OpenSSL and GnuTLS never send
 * either).  Each field is checked at its exact value, through the real
 * JSON formatter. */
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

/* A small message builder with length-prefix back-patching. */
struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n < sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Opens a vector with a 1- or 2-byte length; close() fills it in. */
static size_t open_vec(struct buf *b, int width)
{
	for (int i = 0; i < width; i++)
		put8(b, 0);
	return b->n;
}

static void close_vec(struct buf *b, size_t at, int width)
{
	size_t len = b->n - at;
	if (width == 2)
		b->b[at - 2] = (uint8_t)(len >> 8);
	b->b[at - 1] = (uint8_t)len;
}

/* Extension of type t holding a 2-byte-length list of signature
 * schemes. */
static void sig_ext(struct buf *b, unsigned t, const uint16_t *s, size_t n)
{
	put16(b, t);
	size_t ext = open_vec(b, 2);
	size_t list = open_vec(b, 2);
	for (size_t i = 0; i < n; i++)
		put16(b, s[i]);
	close_vec(b, list, 2);
	close_vec(b, ext, 2);
}

/* One OIDFilter: certificate_extension_oid<1..2^8-1> (the OID's DER
 * contents), certificate_extension_values<0..2^16-1> (the extension
 * value's DER). */
static void oid_filter(struct buf *b, const uint8_t *oid, size_t oid_len,
		       const uint8_t *val, size_t val_len)
{
	size_t o = open_vec(b, 1);
	putn(b, oid, oid_len);
	close_vec(b, o, 1);
	size_t v = open_vec(b, 2);
	putn(b, val, val_len);
	close_vec(b, v, 2);
}

/* A TLS 1.3 CertificateRequest as a server asking for an ECDSA or
 * RSA-PSS signature, a chain signed with ECDSA, Ed25519 or RSA PKCS#1,
 * and a client certificate for clientAuth with digitalSignature, issued
 * under the K-Dot CA. */
static void test_tls13_cr_sig_algs_cert_oid_filters(void **state)
{
	(void)state;
	static const uint16_t sigs[] = {0x0403, 0x0804};
	static const uint16_t sigs_cert[] = {0x0403, 0x0807, 0x0401};
	/* 2.5.29.37 extKeyUsage: SEQUENCE { id-kp-clientAuth } */
	static const uint8_t eku_oid[] = {0x55, 0x1d, 0x25};
	static const uint8_t eku_val[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
					  0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
	/* 2.5.29.15 keyUsage: BIT STRING digitalSignature */
	static const uint8_t ku_oid[] = {0x55, 0x1d, 0x0f};
	static const uint8_t ku_val[] = {0x03, 0x02, 0x07, 0x80};
	const uint8_t *ca;
	size_t ca_len;
	assert_int_equal(tlsgen_subject_der(TLSGEN_CERT_INTER, &ca, &ca_len),
			 0);

	struct buf *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	put8(b, 0); /* certificate_request_context: empty */
	size_t exts = open_vec(b, 2);
	sig_ext(b, 13, sigs, 2);      /* signature_algorithms */
	sig_ext(b, 50, sigs_cert, 3); /* signature_algorithms_cert */
	put16(b, 48);		      /* oid_filters */
	size_t ext = open_vec(b, 2);
	size_t filters = open_vec(b, 2);
	oid_filter(b, eku_oid, sizeof(eku_oid), eku_val, sizeof(eku_val));
	oid_filter(b, ku_oid, sizeof(ku_oid), ku_val, sizeof(ku_val));
	close_vec(b, filters, 2);
	close_vec(b, ext, 2);
	put16(b, 47); /* certificate_authorities */
	ext = open_vec(b, 2);
	size_t names = open_vec(b, 2);
	size_t dn = open_vec(b, 2);
	putn(b, ca, ca_len);
	close_vec(b, dn, 2);
	close_vec(b, names, 2);
	close_vec(b, ext, 2);
	close_vec(b, exts, 2);

	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct tt_conn c;
	tt_conn_init(&c);
	c.version = 0x0304;
	assert_int_equal(
		tt_hs_certificate_request(&c, TT_IN, b->b, b->n, &l.em), TT_OK);
	assert_int_equal(l.n, 1);
	assert_true(evlog_is(
		l.lines[0],
		"\"dir\":\"in\",\"event\":\"certificate_request\","
		"\"version\":\"TLS 1.3\",\"context\":\"\","
		"\"sig_algs\":[\"ecdsa_secp256r1_sha256\","
		"\"rsa_pss_rsae_sha256\"],"
		"\"sig_algs_cert\":[\"ecdsa_secp256r1_sha256\",\"ed25519\","
		"\"rsa_pkcs1_sha256\"],"
		"\"oid_filters\":2,"
		"\"ca_count\":1,\"ca_names\":[\"CN=K-Dot Certificate "
		"Authority\"]}"));

	/* at info neither debug field is written */
	struct evlog info;
	evlog_init(&info, TT_INFO);
	tt_conn_release(&c);
	tt_conn_init(&c);
	c.version = 0x0304;
	assert_int_equal(
		tt_hs_certificate_request(&c, TT_IN, b->b, b->n, &info.em),
		TT_OK);
	assert_int_equal(info.n, 1);
	assert_null(strstr(info.lines[0], "sig_algs_cert"));
	assert_null(strstr(info.lines[0], "oid_filters"));
	tt_conn_release(&c);
	evlog_free(&info);
	evlog_free(&l);
	free(b);
	tlsgen_cleanup();
}

/* An oid_filters extension with no filters counts zero; a filter whose
 * values run past the extension makes the message malformed. */
static void test_tls13_cr_oid_filters_edges(void **state)
{
	(void)state;
	static const uint16_t sigs[] = {0x0403};
	for (int bad = 0; bad < 2; bad++) {
		struct buf b = {.n = 0};
		put8(&b, 0);
		size_t exts = open_vec(&b, 2);
		sig_ext(&b, 13, sigs, 1);
		put16(&b, 48);
		size_t ext = open_vec(&b, 2);
		size_t filters = open_vec(&b, 2);
		if (bad) {
			static const uint8_t oid[] = {0x55, 0x1d, 0x0f};
			put8(&b, sizeof(oid));
			putn(&b, oid, sizeof(oid));
			put16(&b, 9); /* 9 bytes of values claimed, 1 there */
			put8(&b, 0x03);
		}
		close_vec(&b, filters, 2);
		close_vec(&b, ext, 2);
		close_vec(&b, exts, 2);
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		struct tt_conn c;
		tt_conn_init(&c);
		c.version = 0x0304;
		tt_rc rc =
			tt_hs_certificate_request(&c, TT_IN, b.b, b.n, &l.em);
		if (bad) {
			assert_int_equal(rc, TT_DECODE);
			assert_int_equal(l.n, 0);
		} else {
			assert_int_equal(rc, TT_OK);
			assert_int_equal(l.n, 1);
			assert_non_null(strstr(l.lines[0],
					       "\"sig_algs\":[\"ecdsa_secp256r1"
					       "_sha256\"],\"oid_filters\":0,"
					       "\"ca_count\":0,"));
			assert_null(strstr(l.lines[0], "sig_algs_cert"));
		}
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_cr_sig_algs_cert_oid_filters),
		cmocka_unit_test(test_tls13_cr_oid_filters_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
