/* IANA names, one table per registry (decoder/tables/<registry>.def).
 *
 * tt_name_X(v) returns the registry spelling, or NULL when v is not in
 * the table.  tt_label_X(v, buf) never fails: the name, else
 * "grease(0x0a0a)" for a GREASE value (RFC 8701, 16-bit registries
 * only), else "unknown(0x1234)" written into buf.
 */
#ifndef TT_NAMES_H
#define TT_NAMES_H

#include <stdint.h>

#define TT_NAMEBUF 24

const char *tt_name_content_type(uint8_t v);   /* handshake, alert, ... */
const char *tt_name_handshake(uint8_t v);      /* client_hello, ... */
const char *tt_name_alert(uint8_t v);          /* no_renegotiation, ... */
const char *tt_name_alert_level(uint8_t v);    /* warning, fatal */
const char *tt_name_version(uint16_t v);       /* "TLS 1.2" */
const char *tt_name_extension(uint16_t v);     /* server_name, ... */
const char *tt_name_cipher(uint16_t v);        /* TLS_AES_128_GCM_SHA256 */
const char *tt_name_group(uint16_t v);         /* x25519, secp256r1 */
const char *tt_name_sigscheme(uint16_t v);     /* rsa_pss_rsae_sha256 */
const char *tt_name_cert_type(uint8_t v);      /* rsa_sign, ecdsa_sign */
const char *tt_name_compression(uint8_t v);    /* null, DEFLATE */
const char *tt_name_ec_point_format(uint8_t v);/* uncompressed */
const char *tt_name_psk_mode(uint8_t v);       /* psk_dhe_ke */

const char *tt_label_content_type(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_handshake(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_alert(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_alert_level(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_version(uint16_t v, char buf[TT_NAMEBUF]);
const char *tt_label_extension(uint16_t v, char buf[TT_NAMEBUF]);
const char *tt_label_cipher(uint16_t v, char buf[TT_NAMEBUF]);
const char *tt_label_group(uint16_t v, char buf[TT_NAMEBUF]);
const char *tt_label_sigscheme(uint16_t v, char buf[TT_NAMEBUF]);
const char *tt_label_cert_type(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_compression(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_ec_point_format(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_psk_mode(uint8_t v, char buf[TT_NAMEBUF]);

/* RFC 8701 GREASE: 0x?A?A with both bytes equal. */
static inline int tt_is_grease16(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

#endif
