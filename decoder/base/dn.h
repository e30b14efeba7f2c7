/* Distinguished Names rendered as RFC 4514 strings the way libcrypto's
 * X509_NAME_print_ex() does in RFC 2253 mode without ASN1_STRFLGS_ESC_MSB
 * (the unit tests use it as the oracle): attribute values in reverse DER
 * order, joined by ',' between RDNs and '+' inside a multi-valued RDN,
 * short names for known attribute types, dotted OID and '#' + hex of the
 * whole DER value for unknown ones, RFC 4514 escaping, UTF-8 kept as
 * UTF-8 (BMPString, UniversalString and T61String converted to it), and
 * bytes that are not valid UTF-8 written as the text \xHH.
 */
#ifndef TT_DN_H
#define TT_DN_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* Caps that bound work on hostile input. */
#define TT_DN_MAX_RDNS 64 /* attribute values in one Name */

/* Renders the DER encoding of a Name (SEQUENCE OF RelativeDistinguishedName,
 * tag and length included) into out, NUL-terminated.  *len gets the string
 * length.  TT_DECODE on malformed DER (out then holds what was rendered
 * before the error); TT_TOO_BIG when out (cap bytes) was too small, out
 * holding a truncated but valid UTF-8 prefix.  A Name with more than
 * TT_DN_MAX_RDNS values renders its first TT_DN_MAX_RDNS (the last ones in
 * DER order) and returns TT_TOO_BIG too. */
TT_MUST_USE tt_rc tt_dn_render(const uint8_t *der, size_t n, char *out,
			       size_t cap, size_t *len);

/* Checks the DER encoding of a whole Name (tag and length included) as
 * tt_dn_render reads it, and counts its attribute values into *count.
 * TT_DECODE when it is not a Name tt_dn_render would render. */
TT_MUST_USE tt_rc tt_dn_count(const uint8_t *der, size_t n, size_t *count);

/* OpenSSL's short name for an attribute type ("CN", "emailAddress"), given
 * the contents octets of its OBJECT IDENTIFIER; NULL when tt_dn_render
 * prints the type as a dotted OID. */
const char *tt_x509_attr_name(const uint8_t *oid, size_t n);

#endif
