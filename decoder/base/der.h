/* DER primitives: a bounded reader of one TLV element at a time, the
 * checks of X.690 the certificate and Name walkers share, and the minimal
 * length encoding that the Name renderer uses to re-encode a value.
 *
 * DER subset read: one-byte tags, definite lengths of up to 4 length
 * bytes (non-minimal ones accepted, as OpenSSL does), no indefinite
 * lengths.  Every read goes through tt_cur.
 */
#ifndef TT_DER_H
#define TT_DER_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* Nesting walked by tt_der_check inside a certificate; deeper elements
 * are taken as opaque. */
#define TT_DN_MAX_DEPTH 8

enum {
	DER_INTEGER = 0x02,
	DER_BIT_STRING = 0x03,
	DER_OID = 0x06,
	DER_UTF8 = 0x0c,
	DER_NUMERIC = 0x12,
	DER_PRINTABLE = 0x13,
	DER_T61 = 0x14,
	DER_IA5 = 0x16,
	DER_UTCTIME = 0x17,
	DER_GENTIME = 0x18,
	DER_VISIBLE = 0x1a,
	DER_UNIVERSAL = 0x1c,
	DER_BMP = 0x1e,
	DER_SEQUENCE = 0x30,
	DER_SET = 0x31,
	DER_CTX0 = 0xa0,

	DER_CONSTRUCTED = 0x20,
	DER_CLASS_MASK = 0xc0,
	DER_TAGNUM_MASK = 0x1f,
};

/* One element, as read by tt_der_tlv. */
struct tt_der_tlv {
	uint8_t tag;
	uint8_t hdr_len;    /* tag and length octets as encoded */
	struct tt_cur body; /* contents octets */
	const uint8_t *tlv; /* first octet of the tag */
	size_t tlv_len;	    /* whole element as encoded */
};

/* Reads one element from c into t.  TT_DECODE on a multi-byte tag, an
 * indefinite length, a length of more than 4 octets, or a body longer
 * than what c holds. */
TT_MUST_USE tt_rc tt_der_tlv(struct tt_cur *c, struct tt_der_tlv *t);

/* tt_der_tlv, and TT_DECODE unless the element's tag is tag. */
TT_MUST_USE tt_rc tt_der_expect(struct tt_cur *c, uint8_t tag,
				struct tt_der_tlv *t);

/* Whether the next octet of c is tag (nothing is read). */
int tt_der_peek(const struct tt_cur *c, uint8_t tag);

/* Checks that c holds a sequence of well-formed elements, constructed
 * ones walked down to TT_DN_MAX_DEPTH (depth is the level of c). */
TT_MUST_USE tt_rc tt_der_check(struct tt_cur c, unsigned depth);

/* Checks the contents octets of an OBJECT IDENTIFIER (X.690 8.19). */
TT_MUST_USE tt_rc tt_der_oid_check(struct tt_cur oid);

/* Writes the minimal DER length octets (X.690 10.1) of len < 2^32 to o
 * (room for 5) and returns how many. */
size_t tt_der_len_octets(uint8_t *o, size_t len);

#endif
