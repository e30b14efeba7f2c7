/* X.509 certificate fields, read by a bounded DER walker.
 *
 * RFC 5280 4.1 / 4.1.2.5:
 *   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
 *       signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE {
 *       version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER,
 *       signature AlgorithmIdentifier, issuer Name, validity Validity,
 *       subject Name, subjectPublicKeyInfo SubjectPublicKeyInfo,
 *       issuerUniqueID [1] IMPLICIT UniqueIdentifier OPTIONAL,
 *       subjectUniqueID [2] IMPLICIT UniqueIdentifier OPTIONAL,
 *       extensions [3] EXPLICIT Extensions OPTIONAL }
 *   Validity ::= SEQUENCE { notBefore Time, notAfter Time }
 *   Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 *
 * Only issuer, validity and subject are read; the rest of the
 * certificate is checked for well-formed DER (tt_der_check) so that a
 * truncated or garbled one is not passed off as a certificate.
 */
#include <string.h>

#include "der.h"
#include "dn.h"
#include "x509.h"

/* ---- certificate ---- */

TT_MUST_USE static tt_rc two_digits(struct tt_cur *c, unsigned *v)
{
	uint8_t a, b;

	TRY(tt_u8(c, &a));
	TRY(tt_u8(c, &b));
	ENSURE(a >= '0' && a <= '9' && b >= '0' && b <= '9', TT_DECODE);
	*v = (unsigned)(a - '0') * 10 + (unsigned)(b - '0');
	return TT_OK;
}

static void put2(char *s, unsigned v)
{
	s[0] = (char)('0' + v / 10 % 10);
	s[1] = (char)('0' + v % 10);
}

/* RFC 5280 4.1.2.5.1/4.1.2.5.2: YYMMDDHHMMSSZ (YY < 50 is 20YY) or
 * YYYYMMDDHHMMSSZ, always Zulu, no fractions.  Out: RFC 3339. */
TT_MUST_USE static tt_rc x509_time(struct tt_cur *c, char out[24])
{
	static const uint8_t mdays[12] = {31, 29, 31, 30, 31, 30,
					  31, 31, 30, 31, 30, 31};
	struct tt_der_tlv t;
	unsigned cc, yy, mo, dd, hh, mi, ss, year;
	uint8_t z;

	TRY(tt_der_tlv(c, &t));
	if (t.tag == DER_UTCTIME) {
		ENSURE(tt_cur_left(&t.body) == 13, TT_DECODE);
		TRY(two_digits(&t.body, &yy));
		cc = yy < 50 ? 20 : 19;
	} else {
		ENSURE(t.tag == DER_GENTIME, TT_DECODE);
		ENSURE(tt_cur_left(&t.body) == 15, TT_DECODE);
		TRY(two_digits(&t.body, &cc));
		TRY(two_digits(&t.body, &yy));
	}
	TRY(two_digits(&t.body, &mo));
	TRY(two_digits(&t.body, &dd));
	TRY(two_digits(&t.body, &hh));
	TRY(two_digits(&t.body, &mi));
	TRY(two_digits(&t.body, &ss));
	TRY(tt_u8(&t.body, &z));
	ENSURE(z == 'Z', TT_DECODE);
	year = cc * 100 + yy;
	ENSURE(mo >= 1 && mo <= 12 && dd >= 1 && dd <= mdays[mo - 1],
	       TT_DECODE);
	ENSURE(mo != 2 || dd < 29 ||
		       (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)),
	       TT_DECODE);
	ENSURE(hh < 24 && mi < 60 && ss < 60, TT_DECODE);

	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put2(out, cc);
	put2(out + 2, yy);
	put2(out + 5, mo);
	put2(out + 8, dd);
	put2(out + 11, hh);
	put2(out + 14, mi);
	put2(out + 17, ss);
	return TT_OK;
}

TT_MUST_USE static tt_rc x509_name(struct tt_cur *c, const uint8_t **p,
				   size_t *n)
{
	struct tt_der_tlv t;
	size_t values;

	TRY(tt_der_expect(c, DER_SEQUENCE, &t));
	TRY(tt_dn_count(t.tlv, t.tlv_len, &values));
	*p = t.tlv;
	*n = t.tlv_len;
	return TT_OK;
}

TT_MUST_USE static tt_rc x509_walk(const uint8_t *der, size_t n,
				   struct tt_x509 *x)
{
	struct tt_cur c = tt_cur_make(der, n);
	struct tt_der_tlv cert, tbs, alg, sig, t, v;

	TRY(tt_der_expect(&c, DER_SEQUENCE, &cert));
	TRY(tt_expect_empty(&c));
	TRY(tt_der_expect(&cert.body, DER_SEQUENCE, &tbs));
	TRY(tt_der_expect(&cert.body, DER_SEQUENCE, &alg));
	TRY(tt_der_check(alg.body, 2));
	TRY(tt_der_expect(&cert.body, DER_BIT_STRING, &sig));
	TRY(tt_expect_empty(&cert.body));

	struct tt_cur *b = &tbs.body;
	if (tt_der_peek(b, DER_CTX0)) {
		TRY(tt_der_expect(b, DER_CTX0, &t));
		TRY(tt_der_expect(&t.body, DER_INTEGER, &v));
		ENSURE(tt_cur_left(&v.body) > 0, TT_DECODE);
		TRY(tt_expect_empty(&t.body));
	}
	TRY(tt_der_expect(b, DER_INTEGER, &t)); /* serialNumber */
	ENSURE(tt_cur_left(&t.body) > 0, TT_DECODE);
	TRY(tt_der_expect(b, DER_SEQUENCE, &t)); /* signature */
	TRY(tt_der_check(t.body, 2));
	TRY(x509_name(b, &x->issuer, &x->issuer_len));
	TRY(tt_der_expect(b, DER_SEQUENCE, &t)); /* validity */
	TRY(x509_time(&t.body, x->not_before));
	TRY(x509_time(&t.body, x->not_after));
	TRY(tt_expect_empty(&t.body));
	TRY(x509_name(b, &x->subject, &x->subject_len));
	TRY(tt_der_expect(b, DER_SEQUENCE, &t)); /* subjectPublicKeyInfo */
	TRY(tt_der_check(t.body, 2));
	/* Unique identifiers and extensions: checked, not read. */
	TRY(tt_der_check(*b, 1));
	return TT_OK;
}

tt_rc tt_x509_parse(const uint8_t *der, size_t n, struct tt_x509 *out)
{
	tt_rc rc;

	memset(out, 0, sizeof(*out));
	rc = x509_walk(der, n, out);
	if (rc != TT_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
