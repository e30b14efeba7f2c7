/* DER primitives (X.690) shared by the Name renderer (dn.c) and the
 * certificate walker (x509.c).
 *
 * DER subset read: one-byte tags, definite lengths of up to 4 length
 * bytes (non-minimal ones accepted, as OpenSSL does), no indefinite
 * lengths.  The callers add their own rules (dn.c: no constructed
 * strings, SEQUENCE and SET in their constructed form only).  Every read
 * goes through tt_cur.
 */
#include "der.h"

/* ---- TLV reader ---- */

/* One element.  Multi-byte tags and lengths over 4 octets (or 2^32) are
 * nothing a certificate needs, so they are refused rather than walked. */
tt_rc tt_der_tlv(struct tt_cur *c, struct tt_der_tlv *t)
{
	uint8_t b;
	uint32_t len;

	t->tlv = c->p;
	TRY(tt_u8(c, &t->tag));
	ENSURE((t->tag & DER_TAGNUM_MASK) != DER_TAGNUM_MASK, TT_DECODE);
	TRY(tt_u8(c, &b));
	t->hdr_len = 2;
	if (b < 0x80) {
		len = b;
	} else {
		/* 0x80 is BER's indefinite length: never valid DER. */
		uint8_t k = b & 0x7f;
		ENSURE(k >= 1 && k <= 4, TT_DECODE);
		len = 0;
		for (uint8_t i = 0; i < k; i++) {
			TRY(tt_u8(c, &b));
			len = len << 8 | b;
		}
		t->hdr_len = (uint8_t)(t->hdr_len + k);
	}
	TRY(tt_sub(c, len, &t->body));
	t->tlv_len = t->hdr_len + (size_t)len;
	return TT_OK;
}

tt_rc tt_der_expect(struct tt_cur *c, uint8_t tag, struct tt_der_tlv *t)
{
	TRY(tt_der_tlv(c, t));
	ENSURE(t->tag == tag, TT_DECODE);
	return TT_OK;
}

int tt_der_peek(const struct tt_cur *c, uint8_t tag)
{
	struct tt_cur p = *c;
	uint8_t b;
	return tt_u8(&p, &b) == TT_OK && b == tag;
}

/* Well-formedness of the parts of a certificate we do not interpret, so
 * that a truncated or garbled extension is not passed off as a
 * certificate.  Below TT_DN_MAX_DEPTH elements are taken as opaque. */
tt_rc tt_der_check(struct tt_cur c, unsigned depth)
{
	while (tt_cur_left(&c)) {
		struct tt_der_tlv t;
		TRY(tt_der_tlv(&c, &t));
		if ((t.tag & DER_CONSTRUCTED) && depth < TT_DN_MAX_DEPTH)
			TRY(tt_der_check(t.body, depth + 1));
	}
	return TT_OK;
}

/* X.690 8.19: at least one octet, the last one ends a subidentifier, and
 * no subidentifier starts with 0x80 (the checks of c2i_ASN1_OBJECT). */
tt_rc tt_der_oid_check(struct tt_cur oid)
{
	int start = 1;
	uint8_t b = 0;

	ENSURE(tt_cur_left(&oid) > 0, TT_DECODE);
	while (tt_cur_left(&oid)) {
		TRY(tt_u8(&oid, &b));
		ENSURE(!(start && b == 0x80), TT_DECODE);
		start = !(b & 0x80);
	}
	ENSURE(start, TT_DECODE);
	return TT_OK;
}

/* Minimal DER length octets (X.690 10.1) for len < 2^32. */
size_t tt_der_len_octets(uint8_t *o, size_t len)
{
	size_t k = 0;

	if (len < 0x80) {
		o[0] = (uint8_t)len;
		return 1;
	}
	for (size_t l = len; l; l >>= 8)
		k++;
	o[0] = (uint8_t)(0x80 | k);
	for (size_t i = 0; i < k; i++)
		o[1 + i] = (uint8_t)(len >> (8 * (k - 1 - i)));
	return 1 + k;
}
