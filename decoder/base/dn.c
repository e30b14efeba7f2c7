/* Distinguished Names: RFC 4514 rendering of a DER Name.
 *
 * RFC 5280 4.1.2.4 (issuer, and 4.1.2.6 subject), X.501:
 *   Name ::= CHOICE { rdnSequence RDNSequence }
 *   RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 *   RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 *   AttributeTypeAndValue ::= SEQUENCE { type AttributeType,
 *                                        value AttributeValue }
 *   AttributeType ::= OBJECT IDENTIFIER
 *   AttributeValue ::= ANY -- DEFINED BY AttributeType
 *
 * Names are rendered as RFC 4514 (2.1-2.4) strings the way libcrypto's
 * X509_NAME_print_ex(.., XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) does
 * (crypto/asn1/a_strex.c), which the unit tests check byte for byte:
 * - attribute values in reverse DER order, so a multi-valued RDN comes
 *   out reversed as well; ',' between RDNs, '+' inside one;
 * - types OpenSSL has a short name for (the arcs in attr_names[]) by that
 *   name, any other as a dotted OID cut at 79 characters (OpenSSL renders
 *   it into an 80-byte buffer) and its value as '#' + upper-case hex of
 *   the value's DER;
 * - string values converted to UTF-8 (T61String and the other one-byte
 *   types as Latin-1, BMPString as UCS-2, UniversalString as UCS-4);
 *   ',+"\<>;' escaped with '\', '#' when first (but not when it is the
 *   whole value), a space when first or last, controls as \XX; values of
 *   other types (OCTET STRING, SEQUENCE, ...) dumped as '#' + hex.
 * Where OpenSSL would copy invalid text through or drop it (bytes that
 * are not UTF-8 in a UTF8String, surrogates or out-of-range code points
 * in BMP/UniversalString, a trailing partial code unit), we write each
 * offending byte as the text \xHH instead, so the output is always valid
 * UTF-8.
 *
 * Beyond the DER subset der.c reads: no constructed strings, SEQUENCE
 * and SET in their constructed form only (OpenSSL's Name decoder also
 * takes 0x10 and 0x11).  An empty RDN is skipped, as OpenSSL does.
 */
#include <string.h>

#include "der.h"
#include "dn.h"

/* OBJ_obj2txt refuses OIDs longer than this (RFC 2578 3.5: 128 arcs of
 * 32 bits), and do_name_ex() then prints an empty attribute name. */
#define OID_MAX_LEN 586
/* do_name_ex() renders unknown OIDs into char objtmp[80]. */
#define OID_TXT_MAX 79
/* Decimal digits of the largest arc in an OID_MAX_LEN OID: 2^4102 < 10^1235. */
#define ARC_DIGITS_MAX 1240

/* ---- attribute types ---- */

/* Every OID under the arcs that hold directory attribute types for which
 * OpenSSL 3.0 has a short name (OBJ_nid2sn), generated from its object
 * table: X.520 2.5.4, PKCS #9 1.2.840.113549.1.9, RFC 4519/1274 pilot
 * 0.9.2342.19200300.100.1, EV jurisdiction 1.3.6.1.4.1.311.60.2.1,
 * RFC 3739 PDA 1.3.6.1.5.5.7.9, and the Russian 1.2.643.100 and
 * 1.2.643.3.131.1.  OIDs OpenSSL knows elsewhere (extension or algorithm
 * OIDs used as attribute types) come out dotted here, named there.
 * test_der checks this table against the running libcrypto. */
static const struct {
	const char *oid; /* contents octets */
	uint8_t len;
	const char *sn;
} attr_names[] = {
	{"\x55\x04\x03", 3, "CN"},
	{"\x55\x04\x04", 3, "SN"},
	{"\x55\x04\x05", 3, "serialNumber"},
	{"\x55\x04\x06", 3, "C"},
	{"\x55\x04\x07", 3, "L"},
	{"\x55\x04\x08", 3, "ST"},
	{"\x55\x04\x09", 3, "street"},
	{"\x55\x04\x0a", 3, "O"},
	{"\x55\x04\x0b", 3, "OU"},
	{"\x55\x04\x0c", 3, "title"},
	{"\x55\x04\x0d", 3, "description"},
	{"\x55\x04\x0e", 3, "searchGuide"},
	{"\x55\x04\x0f", 3, "businessCategory"},
	{"\x55\x04\x10", 3, "postalAddress"},
	{"\x55\x04\x11", 3, "postalCode"},
	{"\x55\x04\x12", 3, "postOfficeBox"},
	{"\x55\x04\x13", 3, "physicalDeliveryOfficeName"},
	{"\x55\x04\x14", 3, "telephoneNumber"},
	{"\x55\x04\x15", 3, "telexNumber"},
	{"\x55\x04\x16", 3, "teletexTerminalIdentifier"},
	{"\x55\x04\x17", 3, "facsimileTelephoneNumber"},
	{"\x55\x04\x18", 3, "x121Address"},
	{"\x55\x04\x19", 3, "internationaliSDNNumber"},
	{"\x55\x04\x1a", 3, "registeredAddress"},
	{"\x55\x04\x1b", 3, "destinationIndicator"},
	{"\x55\x04\x1c", 3, "preferredDeliveryMethod"},
	{"\x55\x04\x1d", 3, "presentationAddress"},
	{"\x55\x04\x1e", 3, "supportedApplicationContext"},
	{"\x55\x04\x1f", 3, "member"},
	{"\x55\x04\x20", 3, "owner"},
	{"\x55\x04\x21", 3, "roleOccupant"},
	{"\x55\x04\x22", 3, "seeAlso"},
	{"\x55\x04\x23", 3, "userPassword"},
	{"\x55\x04\x24", 3, "userCertificate"},
	{"\x55\x04\x25", 3, "cACertificate"},
	{"\x55\x04\x26", 3, "authorityRevocationList"},
	{"\x55\x04\x27", 3, "certificateRevocationList"},
	{"\x55\x04\x28", 3, "crossCertificatePair"},
	{"\x55\x04\x29", 3, "name"},
	{"\x55\x04\x2a", 3, "GN"},
	{"\x55\x04\x2b", 3, "initials"},
	{"\x55\x04\x2c", 3, "generationQualifier"},
	{"\x55\x04\x2d", 3, "x500UniqueIdentifier"},
	{"\x55\x04\x2e", 3, "dnQualifier"},
	{"\x55\x04\x2f", 3, "enhancedSearchGuide"},
	{"\x55\x04\x30", 3, "protocolInformation"},
	{"\x55\x04\x31", 3, "distinguishedName"},
	{"\x55\x04\x32", 3, "uniqueMember"},
	{"\x55\x04\x33", 3, "houseIdentifier"},
	{"\x55\x04\x34", 3, "supportedAlgorithms"},
	{"\x55\x04\x35", 3, "deltaRevocationList"},
	{"\x55\x04\x36", 3, "dmdName"},
	{"\x55\x04\x41", 3, "pseudonym"},
	{"\x55\x04\x48", 3, "role"},
	{"\x55\x04\x61", 3, "organizationIdentifier"},
	{"\x55\x04\x62", 3, "c3"},
	{"\x55\x04\x63", 3, "n3"},
	{"\x55\x04\x64", 3, "dnsName"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "emailAddress"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x02", 9, "unstructuredName"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03", 9, "contentType"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04", 9, "messageDigest"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05", 9, "signingTime"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x06", 9, "countersignature"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07", 9, "challengePassword"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x08", 9, "unstructuredAddress"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x09", 9,
	 "extendedCertificateAttributes"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 9, "extReq"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0f", 9, "SMIME-CAPS"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10", 9, "SMIME"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x14", 9, "friendlyName"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x15", 9, "localKeyID"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", 10, "UID"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x02", 10,
	 "textEncodedORAddress"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x03", 10, "mail"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x04", 10, "info"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x05", 10, "favouriteDrink"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x06", 10, "roomNumber"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x07", 10, "photo"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x08", 10, "userClass"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x09", 10, "host"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0a", 10, "manager"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0b", 10, "documentIdentifier"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0c", 10, "documentTitle"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0d", 10, "documentVersion"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0e", 10, "documentAuthor"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0f", 10, "documentLocation"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x14", 10, "homeTelephoneNumber"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x15", 10, "secretary"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x16", 10, "otherMailbox"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x17", 10, "lastModifiedTime"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x18", 10, "lastModifiedBy"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1a", 10, "aRecord"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1b", 10,
	 "pilotAttributeType27"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1c", 10, "mXRecord"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1d", 10, "nSRecord"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1e", 10, "sOARecord"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1f", 10, "cNAMERecord"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x25", 10, "associatedDomain"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x26", 10, "associatedName"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x27", 10, "homePostalAddress"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x28", 10, "personalTitle"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x29", 10,
	 "mobileTelephoneNumber"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2a", 10,
	 "pagerTelephoneNumber"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2b", 10, "friendlyCountryName"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2c", 10, "uid"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2d", 10,
	 "organizationalStatus"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2e", 10, "janetMailbox"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2f", 10,
	 "mailPreferenceOption"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x30", 10, "buildingName"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x31", 10, "dSAQuality"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x32", 10, "singleLevelQuality"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x33", 10,
	 "subtreeMinimumQuality"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x34", 10,
	 "subtreeMaximumQuality"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x35", 10, "personalSignature"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x36", 10, "dITRedirect"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x37", 10, "audio"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x38", 10, "documentPublisher"},
	{"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x01", 11, "jurisdictionL"},
	{"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x02", 11, "jurisdictionST"},
	{"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x03", 11, "jurisdictionC"},
	{"\x2b\x06\x01\x05\x05\x07\x09\x01", 8, "id-pda-dateOfBirth"},
	{"\x2b\x06\x01\x05\x05\x07\x09\x02", 8, "id-pda-placeOfBirth"},
	{"\x2b\x06\x01\x05\x05\x07\x09\x03", 8, "id-pda-gender"},
	{"\x2b\x06\x01\x05\x05\x07\x09\x04", 8, "id-pda-countryOfCitizenship"},
	{"\x2b\x06\x01\x05\x05\x07\x09\x05", 8, "id-pda-countryOfResidence"},
	{"\x2a\x85\x03\x03\x81\x03\x01\x01", 8, "INN"},
	{"\x2a\x85\x03\x64\x01", 5, "OGRN"},
	{"\x2a\x85\x03\x64\x03", 5, "SNILS"},
	{"\x2a\x85\x03\x64\x05", 5, "OGRNIP"},
	{"\x2a\x85\x03\x64\x6f", 5, "subjectSignTool"},
	{"\x2a\x85\x03\x64\x70", 5, "issuerSignTool"},
	{"\x2a\x85\x03\x64\x71", 5, "classSignTool"},
};

const char *tt_x509_attr_name(const uint8_t *oid, size_t n)
{
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (attr_names[i].len == n &&
		    !memcmp(attr_names[i].oid, oid, n))
			return attr_names[i].sn;
	return NULL;
}

/* ---- bounded output ---- */

/* The rendered text grows in atomic pieces (an escape, one UTF-8
 * character, a hex pair, an attribute name): once one does not fit,
 * nothing more is written, so a cut output is a prefix made of whole
 * pieces and thus valid UTF-8 with no half escape.  The text is kept
 * NUL-terminated all along. */
struct out {
	char *buf;
	size_t room; /* bytes usable for text: cap - 1 for the NUL */
	size_t len;
	int full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (n > o->room - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static const char hexdig[] = "0123456789ABCDEF";

/* Our rule for text that cannot be shown as UTF-8: the 4 characters \xHH. */
static void out_bad_byte(struct out *o, uint8_t b)
{
	char e[4] = {'\\', 'x', hexdig[b >> 4], hexdig[b & 15]};
	out_put(o, e, sizeof(e));
}

/* One code point of a value, escaped as do_esc_char() does with
 * ESC_2253 | ESC_CTRL.  OpenSSL marks the last character with the "last"
 * flag instead of (not as well as) the "first" one, so a value that is
 * just "#" is printed bare while " " is escaped. */
static void out_char(struct out *o, uint32_t cp, int first, int last)
{
	char e[4];

	if (cp < 0x20 || cp == 0x7f) {
		e[0] = '\\';
		e[1] = hexdig[cp >> 4];
		e[2] = hexdig[cp & 15];
		out_put(o, e, 3);
		return;
	}
	if (cp < 0x80) {
		int esc = strchr(",+\"\\<>;", (int)cp) != NULL ||
			  (cp == ' ' && (first || last)) ||
			  (cp == '#' && first && !last);
		e[0] = '\\';
		e[1] = (char)cp;
		out_put(o, esc ? e : e + 1, esc ? 2 : 1);
		return;
	}
	if (cp < 0x800) {
		e[0] = (char)(0xc0 | cp >> 6);
		e[1] = (char)(0x80 | (cp & 0x3f));
		out_put(o, e, 2);
	} else if (cp < 0x10000) {
		e[0] = (char)(0xe0 | cp >> 12);
		e[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		e[2] = (char)(0x80 | (cp & 0x3f));
		out_put(o, e, 3);
	} else {
		e[0] = (char)(0xf0 | cp >> 18);
		e[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		e[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		e[3] = (char)(0x80 | (cp & 0x3f));
		out_put(o, e, 4);
	}
}

/* Length of the well-formed UTF-8 sequence (RFC 3629 4: no overlongs,
 * no surrogates, nothing past U+10FFFF) starting at the cursor, with its
 * code point; 0 when the first byte does not start one. */
static size_t utf8_seq(const struct tt_cur *c, uint32_t *cp)
{
	struct tt_cur p = *c;
	uint8_t b, lo = 0x80, hi = 0xbf;
	size_t n;

	if (tt_u8(&p, &b) != TT_OK)
		return 0;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		*cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		*cp = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		*cp = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if (tt_u8(&p, &b) != TT_OK || b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		*cp = *cp << 6 | (b & 0x3f);
	}
	return n;
}

static void out_utf8(struct out *o, struct tt_cur v)
{
	int first = 1;
	uint32_t cp = 0;
	uint8_t b;

	while (tt_cur_left(&v)) {
		size_t n = utf8_seq(&v, &cp);
		if (n == 0) {
			if (tt_u8(&v, &b) != TT_OK)
				return;
			out_bad_byte(o, b);
		} else {
			if (tt_skip(&v, n) != TT_OK)
				return;
			out_char(o, cp, first, tt_cur_left(&v) == 0);
		}
		first = 0;
	}
}

/* width 1: Latin-1 (what OpenSSL makes of every one-byte string type,
 * T61String included); 2: UCS-2 big-endian; 4: UCS-4 big-endian. */
static void out_ucs(struct out *o, struct tt_cur v, size_t width)
{
	int first = 1;

	while (tt_cur_left(&v) >= width) {
		struct tt_cur unit;
		uint32_t cp = 0;
		uint8_t b;

		if (tt_sub(&v, width, &unit) != TT_OK)
			return;
		for (size_t i = 0; i < width; i++) {
			if (tt_u8(&unit, &b) != TT_OK)
				return;
			cp = cp << 8 | b;
		}
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
			/* Not a character: show the code unit as it came. */
			for (size_t i = width; i > 0; i--)
				out_bad_byte(o, (uint8_t)(cp >> (8 * (i - 1))));
		} else {
			out_char(o, cp, first, tt_cur_left(&v) == 0);
		}
		first = 0;
	}
	while (tt_cur_left(&v)) {
		uint8_t b;
		if (tt_u8(&v, &b) != TT_OK)
			return;
		out_bad_byte(o, b);
	}
}

static void out_hex(struct out *o, struct tt_cur c)
{
	uint8_t b;

	while (tt_u8(&c, &b) == TT_OK) {
		char h[2] = {hexdig[b >> 4], hexdig[b & 15]};
		out_put(o, h, 2);
	}
}


/* A BIT STRING as i2c_ASN1_BIT_STRING re-encodes it: padding bits
 * cleared, and 03 01 00 when it holds no bits at all.  Zero when it is
 * one OpenSSL would not have decoded (no octets, over 7 unused bits). */
static int out_bit_string(struct out *o, struct tt_cur body)
{
	uint8_t hdr[12], unused, last = 0;
	size_t n = 0, len;
	struct tt_cur bits;

	if (tt_u8(&body, &unused) != TT_OK || unused > 7)
		return 0;
	len = tt_cur_left(&body);
	if (len == 0)
		unused = 0;
	else if (tt_sub(&body, len - 1, &bits) != TT_OK ||
		 tt_u8(&body, &last) != TT_OK)
		return 0;
	hdr[n++] = DER_BIT_STRING;
	n += tt_der_len_octets(hdr + n, len + 1);
	hdr[n++] = unused;
	out_hex(o, tt_cur_make(hdr, n));
	if (len) {
		last = (uint8_t)(last & (0xff << unused));
		out_hex(o, bits);
		out_hex(o, tt_cur_make(&last, 1));
	}
	return 1;
}

/* '#' + hex of the value's DER, as do_dump() with ASN1_STRFLGS_DUMP_DER.
 * OpenSSL re-encodes a primitive value (so a non-minimal length comes out
 * minimal) but keeps a SEQUENCE as it was received; so do we. */
static void out_dump(struct out *o, const struct tt_der_tlv *v)
{
	uint8_t hdr[12];
	size_t n = 0;

	out_put(o, "#", 1);
	if (v->tag & DER_CONSTRUCTED) {
		out_hex(o, tt_cur_make(v->tlv, v->tlv_len));
		return;
	}
	if (v->tag == DER_BIT_STRING && out_bit_string(o, v->body))
		return;
	hdr[n++] = v->tag;
	n += tt_der_len_octets(hdr + n, tt_cur_left(&v->body));
	out_hex(o, tt_cur_make(hdr, n));
	out_hex(o, v->body);
}

static void out_value(struct out *o, const struct tt_der_tlv *v, int known)
{
	/* do_name_ex() dumps every value of an unknown type; do_print_ex()
	 * dumps values whose tag has no entry in tag2nbyte[]. */
	if (!known) {
		out_dump(o, v);
		return;
	}
	switch (v->tag) {
	case DER_UTF8:
		out_utf8(o, v->body);
		break;
	case DER_NUMERIC:
	case DER_PRINTABLE:
	case DER_T61:
	case DER_IA5:
	case DER_UTCTIME:
	case DER_GENTIME:
	case DER_VISIBLE:
		out_ucs(o, v->body, 1);
		break;
	case DER_BMP:
		out_ucs(o, v->body, 2);
		break;
	case DER_UNIVERSAL:
		out_ucs(o, v->body, 4);
		break;
	default:
		out_dump(o, v);
		break;
	}
}

/* ---- dotted OIDs ---- */

/* The OID text, cut like OBJ_obj2txt() into do_name_ex()'s buffer. */
struct oid_txt {
	char b[OID_TXT_MAX];
	size_t n;
};

static void txt_put(struct oid_txt *t, const char *s, size_t n)
{
	while (n-- && t->n < OID_TXT_MAX)
		t->b[t->n++] = *s++;
}

static void txt_u64(struct oid_txt *t, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	txt_put(t, d + n, sizeof(d) - n);
}

/* An arc of more than 63 bits (2.25.<UUID> has 128): OpenSSL prints it
 * in full through a BIGNUM, so schoolbook base-128 to decimal here.
 * sub is 80 for a first subidentifier that stands for 2.(X-80). */
static void txt_big(struct oid_txt *t, struct tt_cur arc, unsigned sub)
{
	uint8_t dec[ARC_DIGITS_MAX] = {0}; /* little-endian decimal digits */
	size_t nd = 1;
	uint8_t b;

	while (tt_u8(&arc, &b) == TT_OK) {
		unsigned carry = b & 0x7f;
		for (size_t i = 0; i < nd; i++) {
			unsigned v = dec[i] * 128u + carry;
			dec[i] = (uint8_t)(v % 10);
			carry = v / 10;
		}
		while (carry && nd < sizeof(dec)) {
			dec[nd++] = (uint8_t)(carry % 10);
			carry /= 10;
		}
	}
	/* The arc is at least 2^63, so subtracting sub < 100 cannot go
	 * below zero. */
	for (size_t i = 0; i < nd && sub; i++) {
		unsigned d = sub % 10;
		sub /= 10;
		if (dec[i] < d) {
			dec[i] = (uint8_t)(dec[i] + 10 - d);
			sub++;
		} else {
			dec[i] = (uint8_t)(dec[i] - d);
		}
	}
	while (nd > 1 && dec[nd - 1] == 0)
		nd--;
	while (nd && t->n < OID_TXT_MAX) {
		char ch = (char)('0' + dec[--nd]);
		txt_put(t, &ch, 1);
	}
}

/* X.690 8.19.4: the first subidentifier is X*40+Y, with X = 2 taking
 * every value from 80 up. */
static void oid_dotted(struct oid_txt *t, struct tt_cur oid)
{
	int first = 1;

	t->n = 0;
	if (tt_cur_left(&oid) > OID_MAX_LEN)
		return;
	while (tt_cur_left(&oid) && t->n < OID_TXT_MAX) {
		struct tt_cur scan = oid, arc;
		size_t k = 0;
		uint8_t b = 0x80;

		while ((b & 0x80) && tt_u8(&scan, &b) == TT_OK)
			k++;
		if (tt_sub(&oid, k, &arc) != TT_OK)
			return;
		if (!first)
			txt_put(t, ".", 1);
		if (k > 9) {
			if (first)
				txt_put(t, "2.", 2);
			txt_big(t, arc, first ? 80 : 0);
		} else {
			uint64_t v = 0;
			while (tt_u8(&arc, &b) == TT_OK)
				v = v << 7 | (b & 0x7f);
			if (first) {
				uint64_t x = v < 40 ? 0 : v < 80 ? 1 : 2;
				txt_u64(t, x);
				txt_put(t, ".", 1);
				v -= x * 40;
			}
			txt_u64(t, v);
		}
		first = 0;
	}
}

/* ---- Name walking ---- */

/* Where one AttributeTypeAndValue sits, and which RDN holds it. */
struct dn_ref {
	const uint8_t *atv;
	size_t len;
	size_t rdn;
};

struct dn_walk {
	struct tt_cur rdns; /* RDNs not yet opened */
	struct tt_cur set;  /* rest of the current RDN */
	size_t rdn;	    /* RDNs opened so far */
};

struct dn_atv {
	struct tt_cur oid; /* contents octets */
	struct tt_der_tlv val;
};

TT_MUST_USE static tt_rc dn_open(struct dn_walk *w, const uint8_t *der,
				 size_t n)
{
	struct tt_cur c = tt_cur_make(der, n);
	struct tt_der_tlv name;

	TRY(tt_der_expect(&c, DER_SEQUENCE, &name));
	TRY(tt_expect_empty(&c));
	w->rdns = name.body;
	w->set = tt_cur_make(der, 0);
	w->rdn = 0;
	return TT_OK;
}

TT_MUST_USE static tt_rc dn_atv(struct tt_cur c, struct dn_atv *a)
{
	struct tt_der_tlv seq, oid;

	TRY(tt_der_expect(&c, DER_SEQUENCE, &seq));
	TRY(tt_der_expect(&seq.body, DER_OID, &oid));
	TRY(tt_der_oid_check(oid.body));
	TRY(tt_der_tlv(&seq.body, &a->val));
	TRY(tt_expect_empty(&seq.body));
	a->oid = oid.body;
	/* A universal constructed value other than a SEQUENCE or SET is a
	 * BER constructed string (X.690 10.2 keeps them out of DER).  OpenSSL
	 * would splice its pieces together; a dump would not match that. */
	if ((a->val.tag & (DER_CLASS_MASK | DER_CONSTRUCTED)) ==
	    DER_CONSTRUCTED)
		ENSURE(a->val.tag == DER_SEQUENCE || a->val.tag == DER_SET,
		       TT_DECODE);
	return TT_OK;
}

/* The next AttributeTypeAndValue, or r->atv = NULL at the end of the Name.
 * An empty RDN is skipped, as OpenSSL does, though X.501 wants at least
 * one value in it. */
TT_MUST_USE static tt_rc dn_next(struct dn_walk *w, struct dn_ref *r)
{
	struct tt_der_tlv atv;
	struct dn_atv a;

	while (tt_cur_left(&w->set) == 0) {
		struct tt_der_tlv set;
		if (tt_cur_left(&w->rdns) == 0) {
			r->atv = NULL;
			r->len = 0;
			return TT_OK;
		}
		TRY(tt_der_expect(&w->rdns, DER_SET, &set));
		w->set = set.body;
		w->rdn++;
	}
	TRY(tt_der_tlv(&w->set, &atv));
	TRY(dn_atv(tt_cur_make(atv.tlv, atv.tlv_len), &a));
	r->atv = atv.tlv;
	r->len = atv.tlv_len;
	r->rdn = w->rdn;
	return TT_OK;
}

/* Checks a whole Name and counts its values. */
tt_rc tt_dn_count(const uint8_t *der, size_t n, size_t *count)
{
	struct dn_walk w;
	struct dn_ref r;

	*count = 0;
	TRY(dn_open(&w, der, n));
	for (;;) {
		TRY(dn_next(&w, &r));
		if (!r.atv)
			return TT_OK;
		(*count)++;
	}
}

static void out_atv(struct out *o, const struct dn_atv *a)
{
	struct tt_cur oid = a->oid;
	const uint8_t *p;
	const char *sn;
	size_t n = tt_cur_left(&oid);

	if (tt_bytes(&oid, n, &p) != TT_OK)
		return;
	sn = tt_x509_attr_name(p, n);
	if (sn) {
		out_put(o, sn, strlen(sn));
	} else {
		struct oid_txt t;
		oid_dotted(&t, a->oid);
		out_put(o, t.b, t.n);
	}
	out_put(o, "=", 1);
	out_value(o, &a->val, sn != NULL);
}

/* The whole Name is checked before anything is written, so TT_DECODE
 * leaves an empty string.  Values are printed last first, so with more
 * than TT_DN_MAX_RDNS of them the last TT_DN_MAX_RDNS in DER order are the
 * ones kept: the output is then a prefix of the full rendering and the
 * result TT_TOO_BIG, as when out is too small. */
tt_rc tt_dn_render(const uint8_t *der, size_t n, char *out, size_t cap,
		   size_t *len)
{
	struct dn_ref kept[TT_DN_MAX_RDNS];
	struct dn_walk w;
	struct dn_ref r;
	struct out o = {out, cap ? cap - 1 : 0, 0, cap == 0};
	size_t count, skip, shown = 0;

	if (len)
		*len = 0;
	if (cap)
		out[0] = '\0';
	TRY(tt_dn_count(der, n, &count));
	skip = count > TT_DN_MAX_RDNS ? count - TT_DN_MAX_RDNS : 0;
	TRY(dn_open(&w, der, n));
	for (size_t i = 0; i < count; i++) {
		TRY(dn_next(&w, &r));
		if (i >= skip)
			kept[shown++] = r;
	}
	for (size_t i = shown; i-- > 0;) {
		struct dn_atv a;

		if (i + 1 < shown)
			out_put(&o, kept[i + 1].rdn == kept[i].rdn ? "+" : ",",
				1);
		/* Cannot fail: dn_count has walked it. */
		TRY(dn_atv(tt_cur_make(kept[i].atv, kept[i].len), &a));
		out_atv(&o, &a);
	}
	if (len)
		*len = o.len;
	return o.full || skip ? TT_TOO_BIG : TT_OK;
}
