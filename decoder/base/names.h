/* IANA registries: constants and names.
 *
 * Each registry is one X-macro list in tables/<registry>.def, the only
 * place its values are written.  From it come the constants below
 * (TT_CT_HANDSHAKE, TT_EXT_SERVER_NAME, TT_V_TLS12, TT_CS_..., ...) and
 * the lookups of names.c.
 *
 * tt_name_X(v) returns the registry spelling, or NULL when v is not in
 * the table.  tt_label_X(v, buf) never fails: the name, else
 * "grease(0x0a0a)" for a GREASE value (RFC 8701, 16-bit registries
 * only), else "unknown(0x1234)" written into buf.  All of it is
 * constant data and switches: callable from any thread or signal
 * handler.
 */
#ifndef TT_NAMES_H
#define TT_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "tables/alert.def"
#include "tables/alert_level.def"
#include "tables/cert_type.def"
#include "tables/cipher.def"
#include "tables/compression.def"
#include "tables/content_type.def"
#include "tables/ec_point_format.def"
#include "tables/extension.def"
#include "tables/group.def"
#include "tables/handshake.def"
#include "tables/psk_mode.def"
#include "tables/sigscheme.def"
#include "tables/version.def"

#define TT_NAMEBUF 24

/* ---- Constants, one enum per registry ---- */

#define TT_CT_(v, id, name) TT_CT_##id = v,
enum tt_content_type { TT_CONTENT_TYPES(TT_CT_) };
#undef TT_CT_

#define TT_HT_(v, id, name) TT_HT_##id = v,
enum tt_handshake_type { TT_HANDSHAKE_TYPES(TT_HT_) };
#undef TT_HT_

#define TT_AL_(v, id, name) TT_AL_##id = v,
enum tt_alert { TT_ALERTS(TT_AL_) };
#undef TT_AL_

#define TT_ALEVEL_(v, id, name) TT_ALEVEL_##id = v,
enum tt_alert_level { TT_ALERT_LEVELS(TT_ALEVEL_) };
#undef TT_ALEVEL_

#define TT_V_(v, id, name) TT_V_##id = v,
enum tt_version { TT_VERSIONS(TT_V_) };
#undef TT_V_

#define TT_EXT_(v, id, name) TT_EXT_##id = v,
enum tt_extension { TT_EXTENSIONS(TT_EXT_) };
#undef TT_EXT_

#define TT_CS_(v, id) TT_CS_##id = v,
enum tt_cipher_suite { TT_CIPHER_SUITES(TT_CS_) };
#undef TT_CS_

#define TT_GROUP_(v, id, name) TT_GROUP_##id = v,
enum tt_group { TT_GROUPS(TT_GROUP_) };
#undef TT_GROUP_

#define TT_SIG_(v, id, name) TT_SIG_##id = v,
enum tt_sigscheme { TT_SIGSCHEMES(TT_SIG_) };
#undef TT_SIG_

#define TT_CERT_(v, id, name) TT_CERT_##id = v,
enum tt_cert_type { TT_CERT_TYPES(TT_CERT_) };
#undef TT_CERT_

#define TT_COMP_(v, id, name) TT_COMP_##id = v,
enum tt_compression { TT_COMPRESSION_METHODS(TT_COMP_) };
#undef TT_COMP_

#define TT_ECPF_(v, id, name) TT_ECPF_##id = v,
enum tt_ec_point_format { TT_EC_POINT_FORMATS(TT_ECPF_) };
#undef TT_ECPF_

#define TT_PSKM_(v, id, name) TT_PSKM_##id = v,
enum tt_psk_mode { TT_PSK_MODES(TT_PSKM_) };
#undef TT_PSKM_

/* ---- Names and labels ---- */

const char *tt_name_content_type(uint8_t v);	/* handshake, alert, ... */
const char *tt_name_handshake(uint8_t v);	/* client_hello, ... */
const char *tt_name_alert(uint8_t v);		/* no_renegotiation, ... */
const char *tt_name_alert_level(uint8_t v);	/* warning, fatal */
const char *tt_name_version(uint16_t v);	/* "TLS 1.2" */
const char *tt_name_extension(uint16_t v);	/* server_name, ... */
const char *tt_name_cipher(uint16_t v);		/* TLS_AES_128_GCM_SHA256 */
const char *tt_name_group(uint16_t v);		/* x25519, secp256r1 */
const char *tt_name_sigscheme(uint16_t v);	/* rsa_pss_rsae_sha256 */
const char *tt_name_cert_type(uint8_t v);	/* rsa_sign, ecdsa_sign */
const char *tt_name_compression(uint8_t v);	/* null, DEFLATE */
const char *tt_name_ec_point_format(uint8_t v); /* uncompressed */
const char *tt_name_psk_mode(uint8_t v);	/* psk_dhe_ke */

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
