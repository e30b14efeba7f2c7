/* decoder/base/der.c: Name rendering and certificate fields.
 *
 * libcrypto is the oracle: every Name below is built with it, encoded with
 * i2d_X509_NAME, decoded again with d2i_X509_NAME (the DER of a
 * multi-valued RDN is sorted, so only the decoded copy has the order we
 * see) and printed with X509_NAME_print_ex(XN_FLAG_RFC2253 &
 * ~ASN1_STRFLGS_ESC_MSB); tt_dn_render must give the same bytes.  Where
 * OpenSSL cannot build or print a value (invalid text, types its Name
 * decoder refuses), the expected string is written out by hand.  Inputs
 * are passed in exact-size heap copies so that ASan sees any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bytes.h"
#include "dn.h"
#include "x509.h"
#include "utf8check.h"

#define PRINT_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
#define BIG	    65536

/* ---- helpers ---- */

static unsigned oracle_checks, caps_checked, truncations_checked;

static int utf8_valid(const char *s, size_t n)
{
	return utf8_strict_ok(s, n);
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Every backslash in our output starts a whole escape: \c for one of
 * ,+"\<># and space, \XX for a control, \xHH for a byte that is not
 * text. */
static int escapes_whole(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\')
			continue;
		if (i + 1 >= n)
			return 0;
		char c = s[i + 1];
		if (strchr(",+\"\\<>;# ", c)) {
			i += 1;
		} else if (c == 'x') {
			if (i + 3 >= n || !is_hex(s[i + 2]) ||
			    !is_hex(s[i + 3]))
				return 0;
			i += 3;
		} else if (is_hex(c)) {
			if (i + 2 >= n || !is_hex(s[i + 2]))
				return 0;
			i += 2;
		} else {
			return 0;
		}
	}
	return 1;
}

/* tt_dn_render into a big buffer, on an exact-size copy. */
static tt_rc render(const uint8_t *der, size_t n, char *out, size_t cap)
{
	uint8_t *d = dup_exact(der, n);
	size_t len = (size_t)-1;
	tt_rc rc = tt_dn_render(d, n, out, cap, &len);
	free(d);
	if (cap) {
		assert_int_equal(len, strlen(out));
		assert_true(utf8_valid(out, len));
		assert_true(escapes_whole(out, len));
	}
	return rc;
}

/* X509_NAME_print_ex of a decoded name, NUL-terminated, or NULL when
 * OpenSSL cannot print it. */
static char *oracle_name(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s = NULL;
	assert_non_null(b);
	int r = X509_NAME_print_ex(b, nm, 0, PRINT_FLAGS);
	long l = BIO_get_mem_data(b, &p);
	if (r >= 0) {
		s = malloc((size_t)l + 1);
		assert_non_null(s);
		if (l > 0)
			memcpy(s, p, (size_t)l);
		s[l] = '\0';
	}
	BIO_free(b);
	return s;
}

static char *oracle_der(const uint8_t *der, size_t n)
{
	const unsigned char *q = der;
	X509_NAME *nm = d2i_X509_NAME(NULL, &q, (long)n);
	if (!nm) {
		ERR_clear_error();
		return NULL;
	}
	assert_ptr_equal(q, der + n);
	char *s = oracle_name(nm);
	X509_NAME_free(nm);
	return s;
}

/* Output caps of 0..full+1 bytes: TT_TOO_BIG and a growing prefix made
 * of whole characters and escapes, until everything fits. */
static void check_caps(const uint8_t *der, size_t n, const char *full)
{
	size_t flen = strlen(full), prev = 0;

	for (size_t cap = 0; cap <= flen + 1; cap++) {
		char *buf = malloc(cap ? cap : 1);
		caps_checked++;
		assert_non_null(buf);
		uint8_t *d = dup_exact(der, n);
		size_t len = (size_t)-1;
		tt_rc rc = tt_dn_render(d, n, cap ? buf : NULL, cap, &len);
		free(d);
		if (cap == flen + 1) {
			assert_int_equal(rc, TT_OK);
			assert_string_equal(buf, full);
		} else {
			assert_int_equal(rc, TT_TOO_BIG);
		}
		if (cap == 0) {
			assert_int_equal(len, 0);
		} else {
			assert_true(len < cap);
			assert_int_equal(buf[len], '\0');
			assert_int_equal(strlen(buf), len);
			assert_memory_equal(buf, full, len);
			assert_true(utf8_valid(buf, len));
			assert_true(escapes_whole(buf, len));
			assert_true(len >= prev);
			prev = len;
		}
		free(buf);
	}
}

/* Every strict prefix of a valid Name is malformed. */
static void check_truncations(const uint8_t *der, size_t n)
{
	char out[BIG];
	for (size_t k = 0; k < n; k++) {
		truncations_checked++;
		memset(out, 'z', 16);
		assert_int_equal(render(der, k, out, sizeof(out)), TT_DECODE);
		assert_string_equal(out, "");
	}
}

/* The oracle and we agree on der, and (when given) both say expect. */
static void check_der(const uint8_t *der, size_t n, const char *expect)
{
	static char got[BIG];
	oracle_checks++;
	char *want = oracle_der(der, n);
	if (!want)
		fail_msg("OpenSSL cannot decode or print this name");
	assert_int_equal(render(der, n, got, sizeof(got)), TT_OK);
	assert_string_equal(got, want);
	if (expect)
		assert_string_equal(got, expect);
	free(want);
	check_caps(der, n, got);
	check_truncations(der, n);
}

static void check_name(X509_NAME *nm, const char *expect)
{
	unsigned char *der = NULL;
	int dl = i2d_X509_NAME(nm, &der);
	assert_true(dl > 0);
	check_der(der, (size_t)dl, expect);
	OPENSSL_free(der);
	X509_NAME_free(nm);
}

/* Our rendering alone, for what OpenSSL cannot produce or print. */
static void check_fixed(const uint8_t *der, size_t n, const char *expect)
{
	static char got[BIG];
	assert_int_equal(render(der, n, got, sizeof(got)), TT_OK);
	assert_string_equal(got, expect);
	check_caps(der, n, got);
	check_truncations(der, n);
}

static void add(X509_NAME *nm, const char *field, int type, const char *v,
		int len, int set)
{
	if (!X509_NAME_add_entry_by_txt(nm, field, type,
					(const unsigned char *)v, len, -1, set))
		fail_msg("cannot add %s", field);
}

static void add_utf8(X509_NAME *nm, const char *field, const char *v)
{
	add(nm, field, MBSTRING_UTF8, v, -1, 0);
}

static X509_NAME *name1(const char *field, const char *v)
{
	X509_NAME *nm = X509_NAME_new();
	assert_non_null(nm);
	add_utf8(nm, field, v);
	return nm;
}

/* Minimal DER building for names OpenSSL will not build. */
static size_t put_tlv(uint8_t *o, uint8_t tag, const uint8_t *v, size_t n)
{
	size_t h = 0;
	o[h++] = tag;
	if (n < 0x80) {
		o[h++] = (uint8_t)n;
	} else if (n < 0x100) {
		o[h++] = 0x81;
		o[h++] = (uint8_t)n;
	} else {
		o[h++] = 0x82;
		o[h++] = (uint8_t)(n >> 8);
		o[h++] = (uint8_t)n;
	}
	memmove(o + h, v, n);
	return h + n;
}

/* Name { RDN { ATV { oid, tag value } } } */
static size_t mk_name1(uint8_t *o, const uint8_t *oid, size_t on, uint8_t tag,
		       const void *v, size_t vn)
{
	uint8_t a[4096], b[4096];
	size_t n = put_tlv(a, 0x06, oid, on);
	n += put_tlv(a + n, tag, v, vn);
	n = put_tlv(b, 0x30, a, n);
	n = put_tlv(a, 0x31, b, n);
	return put_tlv(o, 0x30, a, n);
}

static const uint8_t OID_CN[] = {0x55, 0x04, 0x03};
static const uint8_t OID_1234[] = {0x2a, 0x03, 0x04};

/* ---- names against the oracle ---- */

static void test_simple(void **state)
{
	(void)state;
	check_name(name1("CN", "The Roots Authority"),
		   "CN=The Roots Authority");

	X509_NAME *nm = X509_NAME_new();
	add_utf8(nm, "O", "Example");
	add_utf8(nm, "CN", "tlstrace client");
	check_name(nm, "CN=tlstrace client,O=Example");

	nm = X509_NAME_new();
	add(nm, "C", MBSTRING_ASC, "DE", -1, 0);
	add_utf8(nm, "ST", "Bayern");
	add_utf8(nm, "L", "M\xc3\xbcnchen");
	add_utf8(nm, "O", "Example GmbH");
	add_utf8(nm, "OU", "Ops");
	add_utf8(nm, "CN", "host.example.com");
	check_name(nm, "CN=host.example.com,OU=Ops,O=Example GmbH,"
		       "L=M\xc3\xbcnchen,ST=Bayern,C=DE");

	nm = X509_NAME_new();
	check_name(nm, "");
}

/* X509_NAME_add_entry(.., loc = -1, set): set 0 or 1 both open a new RDN
 * when appending; -1 joins the previous one. */
static void test_multivalued(void **state)
{
	(void)state;
	X509_NAME *nm = X509_NAME_new();
	add_utf8(nm, "O", "Example");
	add(nm, "CN", MBSTRING_UTF8, "zz", -1, 0);
	add(nm, "OU", MBSTRING_UTF8, "b", -1, -1);
	add(nm, "C", MBSTRING_ASC, "DE", -1, -1);
	/* DER sorts a SET OF by the encodings of its members (OU, CN, C
	 * here: the shorter ones first), and printing reverses that. */
	check_name(nm, "C=DE+CN=zz+OU=b,O=Example");

	nm = X509_NAME_new();
	add(nm, "CN", MBSTRING_UTF8, "a", -1, 1);
	add(nm, "OU", MBSTRING_UTF8, "b", -1, 1);
	check_name(nm, "OU=b,CN=a");

	nm = X509_NAME_new();
	add(nm, "DC", MBSTRING_ASC, "com", -1, 0);
	add(nm, "DC", MBSTRING_ASC, "example", -1, 0);
	add(nm, "UID", MBSTRING_UTF8, "jdoe", -1, 0);
	add(nm, "CN", MBSTRING_UTF8, "John Doe", -1, -1);
	check_name(nm, NULL);
}

static void test_escaping(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"a,b", "CN=a\\,b"},
		{"a+b", "CN=a\\+b"},
		{"a\"b", "CN=a\\\"b"},
		{"a\\b", "CN=a\\\\b"},
		{"a<b", "CN=a\\<b"},
		{"a>b", "CN=a\\>b"},
		{"a;b", "CN=a\\;b"},
		{",+\"\\<>;", "CN=\\,\\+\\\"\\\\\\<\\>\\;"},
		{"#hash", "CN=\\#hash"},
		{"a#b#", "CN=a#b#"},
		{"#", "CN=#"}, /* OpenSSL: a lone '#' is "last", not "first" */
		{"##", "CN=\\##"},
		{" lead", "CN=\\ lead"},
		{"trail ", "CN=trail\\ "},
		{" both ", "CN=\\ both\\ "},
		{" ", "CN=\\ "},
		{"  ", "CN=\\ \\ "},
		{"a = b", "CN=a = b"},
		{"a=b", "CN=a=b"},
		{"in side", "CN=in side"},
		{"a\x01z", "CN=a\\01z"},
		{"tab\there", "CN=tab\\09here"},
		{"nl\n", "CN=nl\\0A"},
		{"\x1f\x7f", "CN=\\1F\\7F"},
		{"Z\xc3\xbcrich", "CN=Z\xc3\xbcrich"},
		{"\xe6\x9d\xb1\xe4\xba\xac", "CN=\xe6\x9d\xb1\xe4\xba\xac"},
		{"\xf0\x9f\x98\x80 x", "CN=\xf0\x9f\x98\x80 x"},
		{"\xc2\x80\xc2\x9f",
		 "CN=\xc2\x80\xc2\x9f"}, /* C1 controls: kept */
		{"", "CN="},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509_NAME *nm = X509_NAME_new();
		add(nm, "CN", V_ASN1_UTF8STRING, cases[i].in, -1, 0);
		check_name(nm, cases[i].out);
	}
	/* The same through other string types. */
	X509_NAME *nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_PRINTABLESTRING, " a+b ", -1, 0);
	add(nm, "OU", V_ASN1_IA5STRING, "#x\\", -1, 0);
	check_name(nm, "OU=\\#x\\\\,CN=\\ a\\+b\\ ");
}

static void test_string_types(void **state)
{
	(void)state;
	X509_NAME *nm;

	/* BMPString: UCS-2 big-endian. */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_BMPSTRING,
	    "\x00#\x00Z\x00\xfc\x03\xa9\x67\x71\x4e\xac\x00 ", 14, 0);
	check_name(nm, "CN=\\#Z\xc3\xbc\xce\xa9\xe6\x9d\xb1\xe4\xba\xac\\ ");
	nm = X509_NAME_new();
	add(nm, "O", MBSTRING_BMP, "\x00O\x00k", 4, 0);
	check_name(nm, "O=Ok");
	/* UTF-8 converted to a BMPString by libcrypto. */
	ASN1_STRING *bmp = NULL;
	assert_int_equal(ASN1_mbstring_copy(&bmp,
					    (const unsigned char *)"Gr\xc3\xbc"
								   "\xc3\x9f"
								   "e,",
					    -1, MBSTRING_UTF8,
					    B_ASN1_BMPSTRING),
			 V_ASN1_BMPSTRING);
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_BMPSTRING,
	    (const char *)ASN1_STRING_get0_data(bmp), ASN1_STRING_length(bmp),
	    0);
	ASN1_STRING_free(bmp);
	check_name(nm, "CN=Gr\xc3\xbc\xc3\x9f"
		       "e\\,");

	/* T61String: bytes as Latin-1. */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_T61STRING, "caf\xe9", -1, 0);
	check_name(nm, "CN=caf\xc3\xa9");
	/* PrintableString and IA5String with high bytes: Latin-1 as well. */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_PRINTABLESTRING, "a\xe9\x7f", -1, 0);
	add(nm, "OU", V_ASN1_IA5STRING, "\xff", -1, 0);
	check_name(nm, "OU=\xc3\xbf,CN=a\xc3\xa9\\7F");

	/* UniversalString: UCS-4 big-endian. */
	nm = X509_NAME_new();
	add(nm, "CN", V_ASN1_UNIVERSALSTRING,
	    "\0\0\0#\0\x01\xf6\x00\0\0\x6c\x34\0\0\0 ", 16, 0);
	check_name(nm, "CN=\\#\xf0\x9f\x98\x80\xe6\xb0\xb4\\ ");

	nm = X509_NAME_new();
	add(nm, "serialNumber", V_ASN1_NUMERICSTRING, "0123 45", -1, 0);
	add(nm, "emailAddress", MBSTRING_ASC, "ops@example.com", -1, 0);
	check_name(nm, "emailAddress=ops@example.com,serialNumber=0123 45");
}

static void test_attribute_types(void **state)
{
	(void)state;
	static const char *const fields[] = {
		"CN",
		"C",
		"L",
		"ST",
		"O",
		"OU",
		"street",
		"DC",
		"UID",
		"emailAddress",
		"serialNumber",
		"title",
		"SN",
		"GN",
		"initials",
		"pseudonym",
		"generationQualifier",
		"dnQualifier",
		"name",
		"description",
		"postalCode",
		"businessCategory",
		"jurisdictionC",
		"jurisdictionST",
		"jurisdictionL",
		"organizationIdentifier",
		"postOfficeBox",
		"telephoneNumber",
		"role",
		"unstructuredName",
		"mail",
	};
	X509_NAME *nm = X509_NAME_new();
	char expect[4096] = "";
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char v[64], one[128];
		snprintf(v, sizeof(v), "v%zu", i);
		add(nm, fields[i], V_ASN1_UTF8STRING, v, -1, 0);
		snprintf(one, sizeof(one), "%s=%s%s", fields[i], v,
			 i ? "," : "");
		memmove(expect + strlen(one), expect, strlen(expect) + 1);
		memcpy(expect, one, strlen(one));
	}
	check_name(nm, expect);

	/* Unknown types: dotted OID, '#' and the hex of the value's DER. */
	nm = X509_NAME_new();
	add(nm, "1.2.3.4", MBSTRING_UTF8, "x,y", -1, 0);
	check_name(nm, "1.2.3.4=#0C03782C79");
	nm = X509_NAME_new();
	add(nm, "2.25.329800735698586629295641978511506172918",
	    V_ASN1_UTF8STRING, "", 0, 0);
	check_name(nm, "2.25.329800735698586629295641978511506172918=#0C00");
	/* do_name_ex() cuts dotted OIDs at 79 characters. */
	nm = X509_NAME_new();
	add(nm,
	    "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25."
	    "26.27.28.29.30",
	    MBSTRING_UTF8, "x", -1, 0);
	check_name(nm, "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
		       "22.23.24.25.26.27.28.29.3=#0C0178");
	nm = X509_NAME_new();
	add(nm, "1.3.6.1.4.1.99999.1", V_ASN1_BMPSTRING, "\x00\x41", 2, 0);
	add(nm, "0.9.2342.19200300.100.1.25", MBSTRING_ASC, "org", -1, 0);
	check_name(nm, "DC=org,1.3.6.1.4.1.99999.1=#1E020041");
}

/* Each OID under the attribute arcs OpenSSL knows by name is in our
 * table with OpenSSL's spelling, and the other way round. */
static void test_attr_table(void **state)
{
	(void)state;
	static const char *const arcs[] = {
		"2.5.4.",
		"1.2.840.113549.1.9.",
		"0.9.2342.19200300.100.1.",
		"1.3.6.1.4.1.311.60.2.1.",
		"1.3.6.1.5.5.7.9.",
		"1.2.643.100.",
		"1.2.643.3.131.1.",
	};
	int named = 0;
	for (size_t a = 0; a < sizeof(arcs) / sizeof(arcs[0]); a++) {
		for (int last = 0; last < 300; last++) {
			char txt[64];
			snprintf(txt, sizeof(txt), "%s%d", arcs[a], last);
			ASN1_OBJECT *o = OBJ_txt2obj(txt, 1);
			assert_non_null(o);
			int nid = OBJ_obj2nid(o);
			const char *ours = tt_x509_attr_name(OBJ_get0_data(o),
							     OBJ_length(o));
			if (nid == NID_undef) {
				if (ours)
					fail_msg(
						"%s: we say %s, OpenSSL has no "
						"name",
						txt, ours);
			} else {
				if (!ours || strcmp(ours, OBJ_nid2sn(nid)))
					fail_msg("%s: we say %s, OpenSSL %s",
						 txt, ours ? ours : "(none)",
						 OBJ_nid2sn(nid));
				named++;
				/* And the rendering agrees. */
				X509_NAME *nm = X509_NAME_new();
				assert_int_equal(
					X509_NAME_add_entry_by_OBJ(
						nm, o, V_ASN1_UTF8STRING,
						(const unsigned char *)"v #",
						-1, -1, 0),
					1);
				check_name(nm, NULL);
			}
			ASN1_OBJECT_free(o);
		}
	}
	assert_true(named > 100);
}

/* Values of types that are not strings, and encodings libcrypto decodes
 * but never writes (non-minimal lengths, empty RDNs). */
static void test_hand_der_oracle(void **state)
{
	(void)state;
	uint8_t d[8192];
	size_t n;

	n = mk_name1(d, OID_CN, 3, 0x30, "\x02\x01\x05", 3);
	check_der(d, n, "CN=#3003020105");
	n = mk_name1(d, OID_CN, 3, 0x03, "\x00\xab", 2);
	check_der(d, n, "CN=#030200AB");
	n = mk_name1(d, OID_CN, 3, 0x0d, "\x01\x02", 2);
	check_der(d, n, "CN=#0D020102");
	n = mk_name1(d, OID_1234, 3, 0x1e, "\x00#", 2);
	check_der(d, n, "1.2.3.4=#1E020023");
	/* BIT STRINGs come back re-encoded: padding cleared, no bits as
	 * 03 01 00. */
	n = mk_name1(d, OID_CN, 3, 0x03, "\x01\xab", 2);
	check_der(d, n, "CN=#030201AA");
	n = mk_name1(d, OID_1234, 3, 0x03, "\x07\xff\xff", 3);
	check_der(d, n, "1.2.3.4=#030307FF80");
	n = mk_name1(d, OID_CN, 3, 0x03, "\x05", 1);
	check_der(d, n, "CN=#030100");

	/* A SEQUENCE is dumped as received, a string re-encoded minimally. */
	static const uint8_t seq_nonmin[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b,
					     0x06, 0x03, 0x55, 0x04, 0x03, 0x30,
					     0x81, 0x03, 0x02, 0x01, 0x05};
	check_der(seq_nonmin, sizeof(seq_nonmin), "CN=#308103020105");
	static const uint8_t str_nonmin[] = {0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a,
					     0x06, 0x03, 0x2a, 0x03, 0x04, 0x0c,
					     0x82, 0x00, 0x01, 'x'};
	check_der(str_nonmin, sizeof(str_nonmin), "1.2.3.4=#0C0178");
	static const uint8_t long_hdrs[] = {
		0x30, 0x84, 0,	  0,	0,    0x14, 0x31, 0x83, 0,
		0,    0x0f, 0x30, 0x82, 0,    0x0b, 0x06, 0x03, 0x55,
		0x04, 0x03, 0x0c, 0x81, 0x03, 'a',  'b',  'c'};
	check_der(long_hdrs, sizeof(long_hdrs), "CN=abc");

	/* An empty RDN: OpenSSL skips it, so do we. */
	static const uint8_t empty_set[] = {0x30, 0x10, 0x31, 0x00, 0x31, 0x0a,
					    0x30, 0x08, 0x06, 0x03, 0x55, 0x04,
					    0x03, 0x0c, 0x01, 'x',  0x31, 0x00};
	check_der(empty_set, sizeof(empty_set), "CN=x");

	/* First arc 2 with a subidentifier past 64 bits. */
	static const uint8_t huge_first[] = {
		0x30, 0x17, 0x31, 0x15, 0x30, 0x13, 0x06, 0x0e, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x7f, 0x01, 0x0c, 0x01, 'x'};
	check_der(huge_first, sizeof(huge_first),
		  "2.2475880078570760549798248367.1=#0C0178");

	/* OIDs of 586 octets are still printed (cut at 79 characters), longer
	 * ones get an empty name from OpenSSL. */
	for (size_t olen = 585; olen <= 588; olen++) {
		uint8_t oid[600];
		oid[0] = 0x2a;
		for (size_t k = 1; k < olen; k++)
			oid[k] = k < 40 ? 0x81 : 0x01;
		n = mk_name1(d, oid, olen, 0x0c, "x", 1);
		check_der(d, n, olen > 586 ? "=#0C0178" : NULL);
	}
	/* Arcs of every size around the 64-bit boundary. */
	for (size_t k = 1; k <= 20; k++) {
		uint8_t oid[32];
		size_t on = 0;
		oid[on++] = 0x2b;
		for (size_t i = 0; i + 1 < k; i++)
			oid[on++] = (uint8_t)(0x80 | (0x7f - i));
		oid[on++] = 0x55;
		n = mk_name1(d, oid, on, 0x0c, "x", 1);
		check_der(d, n, NULL);
		oid[0] = 0x80 | 0x7f;
		n = mk_name1(d, oid, on, 0x0c, "x", 1);
		check_der(d, n, NULL);
	}
}

/* Where OpenSSL refuses, garbles or cannot build a value. */
static void test_fixed_expectations(void **state)
{
	(void)state;
	uint8_t d[512];
	size_t n;

	/* OCTET STRING values: OpenSSL's Name decoder refuses the tag. */
	n = mk_name1(d, OID_1234, 3, 0x04, "\x01\x02\x03", 3);
	check_fixed(d, n, "1.2.3.4=#0403010203");
	n = mk_name1(d, OID_CN, 3, 0x04, "ab", 2);
	check_fixed(d, n, "CN=#04026162");
	/* VisibleString: refused by OpenSSL's decoder, printed as text by
	 * its printer (tag2nbyte says 1). */
	n = mk_name1(d, OID_CN, 3, 0x1a, " vis", 4);
	check_fixed(d, n, "CN=\\ vis");
	/* Not UTF-8 in a UTF8String: OpenSSL copies the bytes through. */
	n = mk_name1(d, OID_CN, 3, 0x0c, "a\xff\xc3", 3);
	check_fixed(d, n, "CN=a\\xFF\\xC3");
	n = mk_name1(d, OID_CN, 3, 0x0c,
		     "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 ", 10);
	check_fixed(d, n,
		    "CN=\\xC0\\xAF\\xED\\xA0\\x80\\xF4\\x90\\x80\\x80\\ ");
	n = mk_name1(d, OID_CN, 3, 0x0c,
		     "\xe6\x9d"
		     "a\xe6\x9d\xb1",
		     6);
	check_fixed(d, n, "CN=\\xE6\\x9Da\xe6\x9d\xb1");
	/* BMPString: surrogates and an odd trailing byte. */
	n = mk_name1(d, OID_CN, 3, 0x1e, "\xd8\x3d\xde\x00\x00\x41\x00", 7);
	check_fixed(d, n, "CN=\\xD8\\x3D\\xDE\\x00A\\x00");
	/* UniversalString past U+10FFFF, and a partial code unit. */
	n = mk_name1(d, OID_CN, 3, 0x1c, "\x00\x11\x00\x00\x00\x00\x00 \x00",
		     9);
	check_fixed(d, n, "CN=\\x00\\x11\\x00\\x00 \\x00");
	/* BIT STRINGs OpenSSL refuses: as they came. */
	n = mk_name1(d, OID_CN, 3, 0x03, "\x08\xff", 2);
	check_fixed(d, n, "CN=#030208FF");
	n = mk_name1(d, OID_CN, 3, 0x03, "", 0);
	check_fixed(d, n, "CN=#0300");
	/* A value of a private or context tag. */
	n = mk_name1(d, OID_CN, 3, 0x80, "abc", 3);
	check_fixed(d, n, "CN=#8003616263");
	/* UTCTime inside a Name: text for OpenSSL's printer. */
	n = mk_name1(d, OID_CN, 3, 0x17, "260101000000Z", 13);
	check_fixed(d, n, "CN=260101000000Z");
}

/* More values than TT_DN_MAX_RDNS: the first ones printed, TT_TOO_BIG. */
static void test_rdn_cap(void **state)
{
	(void)state;
	static char got[BIG];
	X509_NAME *nm = X509_NAME_new();
	for (int i = 0; i < TT_DN_MAX_RDNS + 6; i++) {
		char v[16];
		snprintf(v, sizeof(v), "n%d", i);
		add(nm, "CN", MBSTRING_UTF8, v, -1, i % 3 == 1 ? -1 : 0);
	}
	unsigned char *der = NULL;
	int dl = i2d_X509_NAME(nm, &der);
	char *full = oracle_der(der, (size_t)dl);
	assert_non_null(full);
	assert_int_equal(render(der, (size_t)dl, got, sizeof(got)), TT_TOO_BIG);
	/* A prefix of the full rendering, ending with a whole value. */
	size_t len = strlen(got);
	assert_true(len > 0 && len < strlen(full));
	assert_memory_equal(got, full, len);
	assert_true(full[len] == ',' || full[len] == '+');
	/* Exactly TT_DN_MAX_RDNS values. */
	size_t values = 1;
	for (size_t i = 0; i < len; i++)
		values += got[i] == ',' || got[i] == '+';
	assert_int_equal(values, TT_DN_MAX_RDNS);
	free(full);
	OPENSSL_free(der);
	X509_NAME_free(nm);

	/* TT_DN_MAX_RDNS values exactly: TT_OK. */
	nm = X509_NAME_new();
	for (int i = 0; i < TT_DN_MAX_RDNS; i++)
		add(nm, "O", MBSTRING_UTF8, "x", -1, 0);
	check_name(nm, NULL);
}

/* ---- malformed names ---- */

static void expect_decode(const uint8_t *d, size_t n)
{
	char out[256];
	assert_int_equal(render(d, n, out, sizeof(out)), TT_DECODE);
	assert_string_equal(out, "");
}

static void test_malformed(void **state)
{
	(void)state;
	/* CN=x as a base to break. */
	static const uint8_t ok[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
				     0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'x'};
	uint8_t d[64];
	char out[64];
	size_t len;

	assert_int_equal(render(ok, sizeof(ok), out, sizeof(out)), TT_OK);
	assert_string_equal(out, "CN=x");

	/* Lengths that lie past the end, at every level. */
	static const size_t len_at[] = {1, 3, 5, 7, 12};
	for (size_t i = 0; i < sizeof(len_at) / sizeof(len_at[0]); i++) {
		memcpy(d, ok, sizeof(ok));
		d[len_at[i]]++;
		expect_decode(d, sizeof(ok));
		d[len_at[i]] = 0x7f;
		expect_decode(d, sizeof(ok));
	}
	/* Lengths that stop short leave bytes that do not parse. */
	for (size_t i = 0; i < sizeof(len_at) / sizeof(len_at[0]); i++) {
		memcpy(d, ok, sizeof(ok));
		d[len_at[i]]--;
		expect_decode(d, sizeof(ok));
	}
	/* Indefinite length (BER only). */
	static const uint8_t indef[] = {0x30, 0x80, 0x31, 0x0a, 0x30, 0x08,
					0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
					0x01, 'x',  0x00, 0x00};
	expect_decode(indef, sizeof(indef));
	static const uint8_t indef_val[] = {0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a,
					    0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
					    0x80, 'x',	0x00, 0x00};
	expect_decode(indef_val, sizeof(indef_val));
	/* 5-byte lengths, even small ones; 0xff is reserved. */
	static const uint8_t len5[] = {0x30, 0x85, 0,	 0,    0,    0,	   0x0c,
				       0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55,
				       0x04, 0x03, 0x0c, 0x01, 'x'};
	expect_decode(len5, sizeof(len5));
	static const uint8_t len_ff[] = {0x30, 0xff, 0x31, 0x0a};
	expect_decode(len_ff, sizeof(len_ff));
	static const uint8_t len4_huge[] = {0x30, 0x84, 0xff, 0xff,
					    0xff, 0xff, 0x31, 0x00};
	expect_decode(len4_huge, sizeof(len4_huge));
	/* Multi-byte tag. */
	static const uint8_t mtag[] = {0x30, 0x0d, 0x31, 0x0b, 0x30,
				       0x09, 0x06, 0x03, 0x55, 0x04,
				       0x03, 0x1f, 0x20, 0x01, 'x'};
	expect_decode(mtag, sizeof(mtag));
	/* Wrong tags at each level. */
	static const size_t tag_at[] = {0, 2, 4, 6};
	for (size_t i = 0; i < sizeof(tag_at) / sizeof(tag_at[0]); i++) {
		memcpy(d, ok, sizeof(ok));
		d[tag_at[i]] ^= 0x01;
		expect_decode(d, sizeof(ok));
	}
	/* Bad OID encodings: empty, unterminated, leading 0x80. */
	static const uint8_t oid_empty[] = {0x30, 0x09, 0x31, 0x07, 0x30, 0x05,
					    0x06, 0x00, 0x0c, 0x01, 'x'};
	expect_decode(oid_empty, sizeof(oid_empty));
	memcpy(d, ok, sizeof(ok));
	d[10] = 0x83;
	expect_decode(d, sizeof(ok));
	memcpy(d, ok, sizeof(ok));
	d[9] = 0x80;
	expect_decode(d, sizeof(ok));
	memcpy(d, ok, sizeof(ok));
	d[8] = 0x80;
	expect_decode(d, sizeof(ok));
	/* A second value, or nothing, after the type. */
	static const uint8_t two_vals[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b,
					   0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
					   0x01, 'x',  0x0c, 0x01, 'y'};
	expect_decode(two_vals, sizeof(two_vals));
	static const uint8_t no_val[] = {0x30, 0x09, 0x31, 0x07, 0x30, 0x05,
					 0x06, 0x03, 0x55, 0x04, 0x03};
	expect_decode(no_val, sizeof(no_val));
	/* Constructed (BER) string. */
	static const uint8_t cons[] = {0x30, 0x10, 0x31, 0x0e, 0x30, 0x0c,
				       0x06, 0x03, 0x55, 0x04, 0x03, 0x2c,
				       0x05, 0x0c, 0x03, 'a',  'b',  'c'};
	expect_decode(cons, sizeof(cons));
	/* Trailing bytes after the Name. */
	memcpy(d, ok, sizeof(ok));
	d[sizeof(ok)] = 0;
	expect_decode(d, sizeof(ok) + 1);
	/* Nothing at all. */
	expect_decode(ok, 0);

	/* cap 0 with no buffer, cap 1 with an empty one. */
	len = 99;
	assert_int_equal(tt_dn_render(ok, sizeof(ok), NULL, 0, &len),
			 TT_TOO_BIG);
	assert_int_equal(len, 0);
	out[0] = 'z';
	assert_int_equal(tt_dn_render(ok, sizeof(ok), out, 1, &len),
			 TT_TOO_BIG);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	/* An empty Name fits in one byte. */
	assert_int_equal(
		tt_dn_render((const uint8_t *)"\x30\x00", 2, out, 1, &len),
		TT_OK);
	assert_string_equal(out, "");
}

/* ---- differential: mutated encodings against the oracle ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* An entry OpenSSL names but we print dotted (not an attribute arc). */
static int foreign_oid(const X509_NAME *nm)
{
	for (int i = 0; i < X509_NAME_entry_count(nm); i++) {
		const ASN1_OBJECT *o =
			X509_NAME_ENTRY_get_object(X509_NAME_get_entry(nm, i));
		if (OBJ_obj2nid(o) != NID_undef &&
		    !tt_x509_attr_name(OBJ_get0_data(o), OBJ_length(o)))
			return 1;
	}
	return 0;
}

static void test_differential(void **state)
{
	(void)state;
	static const uint8_t interesting[] = {
		0x00, 0x01, 0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e, 0x20, 0x23,
		0x2b, 0x30, 0x31, 0x5c, 0x7f, 0x80, 0x81, 0x82, 0xc3, 0xff};
	/* Non-minimal lengths, a SEQUENCE and a BIT STRING value, an OID
	 * with an arc past 64 bits, a multi-valued RDN. */
	static const uint8_t hand[] = {
		0x30, 0x81, 0x4b, 0x31, 0x82, 0x00, 0x0d, 0x30, 0x0b, 0x06,
		0x03, 0x55, 0x04, 0x03, 0x30, 0x81, 0x03, 0x02, 0x01, 0x05,
		0x31, 0x1c, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x03,
		0x02, 0x00, 0xab, 0x30, 0x0f, 0x06, 0x0a, 0x69, 0x83, 0xf0,
		0x9d, 0xa7, 0xeb, 0xcf, 0xde, 0xe0, 0x07, 0x0c, 0x01, 'x',
		0x31, 0x1a, 0x30, 0x18, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
		0x81, 0x10, 'a',  ' ',	'"',  'q',  '"',  '<',	0xe6, 0x9d,
		0xb1, '>',  ';',  ' ',	'\\', '#',  ' ',  ' '};
	uint8_t *seeds[8];
	int seed_len[8], nseeds = 0;
	X509_NAME *nm;

	check_der(hand, sizeof(hand),
		  "O=a \\\"q\\\"\\<\xe6\x9d\xb1\\>\\; \\\\# \\ ,"
		  "2.25.279352089165410311=#0C0178+"
		  "OU=#030200AB,CN=#308103020105");
	seeds[nseeds] = OPENSSL_memdup(hand, sizeof(hand));
	seed_len[nseeds++] = (int)sizeof(hand);

	nm = X509_NAME_new();
	add_utf8(nm, "O", "Example");
	add_utf8(nm, "CN", "tlstrace client");
	add(nm, "OU", MBSTRING_UTF8, "a+b", -1, -1);
	seeds[nseeds] = NULL;
	seed_len[nseeds] = i2d_X509_NAME(nm, &seeds[nseeds]);
	assert_true(seed_len[nseeds] > 0);
	nseeds++;
	X509_NAME_free(nm);
	nm = X509_NAME_new();
	add(nm, "C", MBSTRING_ASC, "DE", -1, 0);
	add(nm, "CN", V_ASN1_BMPSTRING, "\x00#\x4e\xac\x00 ", 6, 0);
	add(nm, "L", V_ASN1_T61STRING, "\xe9t\xe9", -1, 0);
	add(nm, "1.2.3.4", MBSTRING_UTF8, "x", -1, 0);
	seeds[nseeds] = NULL;
	seed_len[nseeds] = i2d_X509_NAME(nm, &seeds[nseeds]);
	assert_true(seed_len[nseeds] > 0);
	nseeds++;
	X509_NAME_free(nm);
	nm = X509_NAME_new();
	add(nm, "DC", MBSTRING_ASC, "org", -1, 0);
	add(nm, "CN", V_ASN1_UNIVERSALSTRING, "\0\0\0,\0\x01\xf6\x00", 8, 0);
	add(nm, "emailAddress", MBSTRING_ASC, "a@b", -1, -1);
	add(nm, "CN", MBSTRING_UTF8, " Z\xc3\xbcrich\x01", -1, 0);
	seeds[nseeds] = NULL;
	seed_len[nseeds] = i2d_X509_NAME(nm, &seeds[nseeds]);
	assert_true(seed_len[nseeds] > 0);
	nseeds++;
	X509_NAME_free(nm);

	rng_state = getenv("TEST_DER_SEED")
			    ? strtoull(getenv("TEST_DER_SEED"), NULL, 0) | 1
			    : 0x9e3779b97f4a7c15ull;
	long iters = getenv("TEST_DER_ITERS") ? atol(getenv("TEST_DER_ITERS"))
					      : 30000;
	long compared = 0, refused_by_us = 0, foreign = 0, unprintable = 0;
	static char got[BIG];
	for (long it = 0; it < iters; it++) {
		int s = (int)rnd((uint32_t)nseeds);
		uint8_t buf[600];
		size_t n = (size_t)seed_len[s];
		memcpy(buf, seeds[s], n);
		for (uint32_t m = 1 + rnd(3); m > 0; m--) {
			size_t at = rnd((uint32_t)n);
			switch (rnd(5)) {
			case 0:
				buf[at] = (uint8_t)rnd(256);
				break;
			case 1:
				buf[at] ^= (uint8_t)(1u << rnd(8));
				break;
			case 2:
				buf[at] = interesting[rnd(sizeof(interesting))];
				break;
			case 3:
				if (n > 1) {
					memmove(buf + at, buf + at + 1,
						n - at - 1);
					n--;
				}
				break;
			default:
				if (n < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = (uint8_t)rnd(256);
					n++;
				}
				break;
			}
		}
		const unsigned char *q = buf;
		X509_NAME *dec = d2i_X509_NAME(NULL, &q, (long)n);
		if (!dec) {
			ERR_clear_error();
			tt_rc rc = render(buf, n, got, sizeof(got));
			assert_true(rc == TT_OK || rc == TT_DECODE ||
				    rc == TT_TOO_BIG);
			continue;
		}
		size_t used = (size_t)(q - buf);
		char *want = oracle_name(dec);
		int skip = foreign_oid(dec);
		X509_NAME_free(dec);
		tt_rc rc = render(buf, used, got, sizeof(got));
		if (!want) {
			unprintable++;
		} else if (skip) {
			foreign++;
		} else if (rc == TT_DECODE) {
			refused_by_us++;
			if (getenv("TEST_DER_VERBOSE")) {
				print_message("refused by us only: ");
				for (size_t i = 0; i < used; i++)
					print_message("%02x", buf[i]);
				print_message(" -> %s\n", want);
			}
		} else {
			assert_int_equal(rc, TT_OK);
			if (strcmp(got, want)) {
				char hex[2048] = "";
				for (size_t i = 0; i < used && i < 600; i++)
					sprintf(hex + 2 * i, "%02x", buf[i]);
				fail_msg("differs on %s\n ours: %s\n  ssl: %s",
					 hex, got, want);
			}
			compared++;
		}
		free(want);
	}
	print_message("differential: %ld iterations, %ld compared equal, "
		      "%ld refused by us only, %ld with OIDs only OpenSSL "
		      "names, %ld OpenSSL could not print\n",
		      iters, compared, refused_by_us, foreign, unprintable);
	assert_true(compared > iters / 20);
	for (int i = 0; i < nseeds; i++)
		OPENSSL_free(seeds[i]);
}

/* ---- certificates ---- */

static ASN1_TIME *mk_time(int type, const char *text)
{
	ASN1_TIME *t = ASN1_STRING_type_new(type);
	assert_non_null(t);
	assert_int_equal(ASN1_STRING_set(t, text, -1), 1);
	return t;
}

struct cert_spec {
	long version; /* X509_VERSION_1 / _3 */
	int nb_type;
	const char *nb;
	int na_type;
	const char *na;
};

/* A real self-signed certificate with an EC key: issuer
 * CN=The Roots Authority, subject CN=tlstrace client,O=Example. */
static uint8_t *mk_cert(const struct cert_spec *sp, size_t *n, X509 **out)
{
	static EVP_PKEY *key;
	if (!key)
		key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, sp->version), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567),
			 1);
	X509_NAME *iss = X509_NAME_new();
	add_utf8(iss, "CN", "The Roots Authority");
	X509_NAME *sub = X509_NAME_new();
	add_utf8(sub, "O", "Example");
	add_utf8(sub, "CN", "tlstrace client");
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	assert_int_equal(X509_set_subject_name(x, sub), 1);
	X509_NAME_free(iss);
	X509_NAME_free(sub);
	ASN1_TIME *nb = mk_time(sp->nb_type, sp->nb);
	ASN1_TIME *na = mk_time(sp->na_type, sp->na);
	assert_int_equal(X509_set1_notBefore(x, nb), 1);
	assert_int_equal(X509_set1_notAfter(x, na), 1);
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (sp->version == X509_VERSION_3) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		static const char *const exts[][2] = {
			{"basicConstraints", "critical,CA:FALSE"},
			{"subjectKeyIdentifier", "hash"},
			{"subjectAltName", "DNS:client.example,IP:127.0.0.1"},
			{"keyUsage", "critical,digitalSignature"},
			{"extendedKeyUsage", "clientAuth,serverAuth"},
		};
		for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
			X509_EXTENSION *e = X509V3_EXT_conf(
				NULL, &ctx, exts[i][0], exts[i][1]);
			assert_non_null(e);
			assert_int_equal(X509_add_ext(x, e, -1), 1);
			X509_EXTENSION_free(e);
		}
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int dl = i2d_X509(x, &der);
	assert_true(dl > 0);
	uint8_t *d = dup_exact(der, (size_t)dl);
	OPENSSL_free(der);
	*n = (size_t)dl;
	if (out)
		*out = x;
	else
		X509_free(x);
	return d;
}

static void check_cert_fields(const uint8_t *der, size_t n, X509 *x,
			      const char *nb, const char *na)
{
	struct tt_x509 c;
	char out[512];
	assert_int_equal(tt_x509_parse(der, n, &c), TT_OK);
	assert_string_equal(c.not_before, nb);
	assert_string_equal(c.not_after, na);

	unsigned char *sd = NULL, *id = NULL;
	int sl = i2d_X509_NAME(X509_get_subject_name(x), &sd);
	int il = i2d_X509_NAME(X509_get_issuer_name(x), &id);
	assert_int_equal(c.subject_len, sl);
	assert_memory_equal(c.subject, sd, (size_t)sl);
	assert_int_equal(c.issuer_len, il);
	assert_memory_equal(c.issuer, id, (size_t)il);
	OPENSSL_free(sd);
	OPENSSL_free(id);

	size_t len;
	assert_int_equal(
		tt_dn_render(c.subject, c.subject_len, out, sizeof(out), &len),
		TT_OK);
	assert_string_equal(out, "CN=tlstrace client,O=Example");
	char *o = oracle_name(X509_get_subject_name(x));
	assert_string_equal(out, o);
	free(o);
	assert_int_equal(
		tt_dn_render(c.issuer, c.issuer_len, out, sizeof(out), &len),
		TT_OK);
	assert_string_equal(out, "CN=The Roots Authority");
}

static void check_cert_truncations(const uint8_t *der, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct tt_x509 c;
		uint8_t *d = dup_exact(der, k);
		memset(&c, 0x55, sizeof(c));
		assert_int_equal(tt_x509_parse(d, k, &c), TT_DECODE);
		assert_null(c.subject);
		assert_string_equal(c.not_after, "");
		free(d);
	}
	/* One byte too many. */
	uint8_t *d = malloc(n + 1);
	assert_non_null(d);
	memcpy(d, der, n);
	d[n] = 0;
	struct tt_x509 c;
	assert_int_equal(tt_x509_parse(d, n + 1, &c), TT_DECODE);
	free(d);
}

static void test_x509(void **state)
{
	(void)state;
	static const struct {
		struct cert_spec sp;
		const char *nb, *na;
	} cases[] = {
		{{X509_VERSION_3, V_ASN1_UTCTIME, "260101000000Z",
		  V_ASN1_GENERALIZEDTIME, "20301231235959Z"},
		 "2026-01-01T00:00:00Z",
		 "2030-12-31T23:59:59Z"},
		{{X509_VERSION_3, V_ASN1_UTCTIME, "500101000000Z",
		  V_ASN1_UTCTIME, "491231235959Z"},
		 "1950-01-01T00:00:00Z",
		 "2049-12-31T23:59:59Z"},
		{{X509_VERSION_1, V_ASN1_GENERALIZEDTIME, "19991231235959Z",
		  V_ASN1_UTCTIME, "281123100000Z"},
		 "1999-12-31T23:59:59Z",
		 "2028-11-23T10:00:00Z"},
		{{X509_VERSION_3, V_ASN1_UTCTIME, "280229120000Z",
		  V_ASN1_GENERALIZEDTIME, "20000229000000Z"},
		 "2028-02-29T12:00:00Z",
		 "2000-02-29T00:00:00Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		X509 *x;
		uint8_t *der = mk_cert(&cases[i].sp, &n, &x);
		check_cert_fields(der, n, x, cases[i].nb, cases[i].na);
		/* notAfter as OpenSSL reads it. */
		struct tm tm;
		char want[32];
		assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm),
				 1);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		assert_string_equal(want, cases[i].na);
		check_cert_truncations(der, n);
		X509_free(x);
		free(der);
	}
}

static void test_x509_bad_times(void **state)
{
	(void)state;
	static const struct {
		int type;
		const char *text;
	} bad[] = {
		{V_ASN1_UTCTIME, "261301000000Z"}, /* month 13 */
		{V_ASN1_UTCTIME, "260001000000Z"}, /* month 0 */
		{V_ASN1_UTCTIME, "260100000000Z"}, /* day 0 */
		{V_ASN1_UTCTIME, "260431000000Z"}, /* 31 April */
		{V_ASN1_UTCTIME, "270229000000Z"}, /* not a leap year */
		{V_ASN1_GENERALIZEDTIME, "21000229000000Z"},
		{V_ASN1_UTCTIME, "260101240000Z"}, /* hour 24 */
		{V_ASN1_UTCTIME, "260101006000Z"}, /* minute 60 */
		{V_ASN1_UTCTIME, "260101000060Z"}, /* second 60 */
		{V_ASN1_UTCTIME, "2601010000Z"},   /* no seconds */
		{V_ASN1_UTCTIME, "260101000000"},  /* no Z */
		{V_ASN1_UTCTIME, "260101000000+0100"},
		{V_ASN1_UTCTIME, "26010100000aZ"},
		{V_ASN1_UTCTIME, "2601010000 0Z"},
		{V_ASN1_GENERALIZEDTIME, "20301231235959.5Z"},
		{V_ASN1_GENERALIZEDTIME, "301231235959Z"},
		{V_ASN1_GENERALIZEDTIME, "20301231235959z"},
		{V_ASN1_OCTET_STRING, "20301231235959Z"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cert_spec sp = {X509_VERSION_3, V_ASN1_UTCTIME,
				       "260101000000Z", bad[i].type,
				       bad[i].text};
		size_t n;
		struct tt_x509 c;
		uint8_t *der = mk_cert(&sp, &n, NULL);
		if (tt_x509_parse(der, n, &c) != TT_DECODE)
			fail_msg("accepted notAfter %s", bad[i].text);
		free(der);
	}
}

/* Structures around the fields: not a certificate at all, a bad
 * extension, a bad Name inside. */
static void test_x509_structure(void **state)
{
	(void)state;
	struct cert_spec sp = {X509_VERSION_3, V_ASN1_UTCTIME, "260101000000Z",
			       V_ASN1_GENERALIZEDTIME, "20301231235959Z"};
	struct tt_x509 c;
	size_t n;
	uint8_t *der = mk_cert(&sp, &n, NULL);

	/* A Name is not a certificate. */
	static const uint8_t name[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
				       0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'x'};
	assert_int_equal(tt_x509_parse(name, sizeof(name), &c), TT_DECODE);
	assert_int_equal(tt_x509_parse(der, 0, &c), TT_DECODE);

	/* Every single-byte change either still parses or is refused; none
	 * reads out of bounds (ASan) or leaves a bad string behind. */
	for (size_t i = 0; i < n; i++) {
		for (int v = 0; v < 256; v += 17) {
			uint8_t *d = dup_exact(der, n);
			d[i] = (uint8_t)v;
			tt_rc rc = tt_x509_parse(d, n, &c);
			if (rc == TT_OK) {
				char out[512];
				size_t len;
				assert_int_equal(strlen(c.not_after), 20);
				assert_int_equal(strlen(c.not_before), 20);
				assert_int_equal(
					tt_dn_render(c.subject, c.subject_len,
						     out, sizeof(out), &len),
					TT_OK);
				assert_true(utf8_valid(out, len));
			} else {
				assert_int_equal(rc, TT_DECODE);
			}
			free(d);
		}
	}
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_multivalued),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_string_types),
		cmocka_unit_test(test_attribute_types),
		cmocka_unit_test(test_attr_table),
		cmocka_unit_test(test_hand_der_oracle),
		cmocka_unit_test(test_fixed_expectations),
		cmocka_unit_test(test_rdn_cap),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_x509),
		cmocka_unit_test(test_x509_bad_times),
		cmocka_unit_test(test_x509_structure),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	print_message("%u names checked against X509_NAME_print_ex, %u output "
		      "caps, %u truncated names\n",
		      oracle_checks, caps_checked, truncations_checked);
	return failed;
}
