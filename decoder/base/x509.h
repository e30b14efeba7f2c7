/* X.509 certificate fields, read by a bounded DER walker: issuer and
 * subject (as DER, for tt_dn_render) and the validity times. */
#ifndef TT_X509_H
#define TT_X509_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* Fields of one certificate.  Spans point into the caller's buffer. */
struct tt_x509 {
	const uint8_t *subject; /* DER of the subject Name, tag included */
	size_t subject_len;
	const uint8_t *issuer;
	size_t issuer_len;
	char not_before[24]; /* RFC 3339 UTC: 2026-11-23T10:00:00Z */
	char not_after[24];
};

/* Walks a DER Certificate far enough to find issuer, validity and
 * subject.  TT_DECODE when the structure is not a certificate. */
TT_MUST_USE tt_rc tt_x509_parse(const uint8_t *der, size_t n,
				struct tt_x509 *out);

#endif
