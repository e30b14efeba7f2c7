/* IANA registries: constants, names and cipher-suite attributes.
 *
 * Each registry is one X-macro list in tables/<registry>.def, the only
 * place its values are written.  From it come the constants below
 * (TT_CT_HANDSHAKE, TT_EXT_SERVER_NAME, TT_V_TLS12, TT_CS_..., ...),
 * the lookups of names.c and the suite table behind tt_suite_info().
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

#include "crypto.h"
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
#include "tables/ldap_result.def"
#include "tables/psk_mode.def"
#include "tables/sigscheme.def"
#include "tables/ssl2_cipher.def"
#include "tables/starttls.def"
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

#define TT_CS_(v, id, kx, auth, bulk, mode, mac, prf, ver) TT_CS_##id = v,
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

#define TT_SSL2_CK_(v, id, name) TT_SSL2_CK_##id = v,
enum tt_ssl2_cipher { TT_SSL2_CIPHERS(TT_SSL2_CK_) };
#undef TT_SSL2_CK_
#define TT_STARTTLS_(v, id, name) TT_STARTTLS_##id = v,
enum tt_starttls_protocol { TT_STARTTLS_PROTOCOLS(TT_STARTTLS_) };
#undef TT_STARTTLS_

#define TT_LDAP_(v, id, name) TT_LDAP_##id = v,
enum tt_ldap_result { TT_LDAP_RESULTS(TT_LDAP_) };
#undef TT_LDAP_

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
const char *tt_name_ssl2_cipher(uint32_t v);	/* SSL_CK_RC4_128_WITH_MD5 */
const char *tt_name_starttls(uint8_t v);	/* smtp, postgresql */
const char *tt_name_ldap_result(uint8_t v);	/* success, protocolError */

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
/* A 3-byte SSL 2.0 cipher kind; unknown ones as "unknown(0x123456)". */
const char *tt_label_ssl2_cipher(uint32_t v, char buf[TT_NAMEBUF]);
const char *tt_label_starttls(uint8_t v, char buf[TT_NAMEBUF]);
const char *tt_label_ldap_result(uint8_t v, char buf[TT_NAMEBUF]);

/* RFC 8701 GREASE: 0x?A?A with both bytes equal. */
static inline int tt_is_grease16(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ---- Cipher-suite attributes (the columns of tables/cipher.def) ---- */

enum tt_kx {
	TT_KX_NONE,	  /* TLS 1.3 suites, SCSVs, TLS_NULL_WITH_NULL_NULL */
	TT_KX_RSA,	  /* premaster encrypted to the certificate's key */
	TT_KX_RSA_EXPORT, /* the same, or to a 512-bit key sent in SKE */
	TT_KX_DH,	  /* static DH key in the certificate: no SKE */
	TT_KX_DHE,	  /* SKE: ServerDHParams, signed unless anon */
	TT_KX_ECDH,	  /* static ECDH key in the certificate: no SKE */
	TT_KX_ECDHE,	  /* SKE: ServerECDHParams, signed unless anon */
	TT_KX_PSK,	  /* SKE: psk_identity_hint (RFC 4279) */
	TT_KX_RSA_PSK,	  /* SKE: psk_identity_hint (RFC 4279) */
	TT_KX_DHE_PSK,	  /* SKE: the hint, then ServerDHParams */
	TT_KX_ECDHE_PSK,  /* SKE: the hint, then ServerECDHParams (RFC 5489) */
	TT_KX_SRP,	  /* SKE: ServerSRPParams (RFC 5054) */
	TT_KX_KRB5,	  /* Kerberos ticket (RFC 2712) */
	TT_KX_ECCPWD,	  /* password-authenticated ECC (RFC 8492) */
	TT_KX_GOST,	  /* VKO GOST R 34.10-2012 (RFC 9189) */
};

enum tt_auth {
	TT_AUTH_NONE, /* anonymous, or negotiated apart (TLS 1.3) */
	TT_AUTH_RSA,
	TT_AUTH_DSS,
	TT_AUTH_ECDSA,
	TT_AUTH_PSK,
	TT_AUTH_SRP,
	TT_AUTH_KRB5,
	TT_AUTH_ECCPWD,
	TT_AUTH_GOST,
};

enum tt_bulk {
	TT_BULK_NULL,
	TT_BULK_RC4_40,
	TT_BULK_RC4_128,
	TT_BULK_RC2_40,
	TT_BULK_DES40,
	TT_BULK_DES,
	TT_BULK_3DES_EDE,
	TT_BULK_IDEA,
	TT_BULK_AES_128,
	TT_BULK_AES_256,
	TT_BULK_CAMELLIA_128,
	TT_BULK_CAMELLIA_256,
	TT_BULK_SEED,
	TT_BULK_ARIA_128,
	TT_BULK_ARIA_256,
	TT_BULK_CHACHA20,
	TT_BULK_SM4,
	TT_BULK_AEGIS_128L,
	TT_BULK_AEGIS_256,
	TT_BULK_KUZNYECHIK,
	TT_BULK_MAGMA,
	TT_BULK_GOST28147,
};

enum tt_mode {
	TT_MODE_NULL,	/* no encryption: plaintext and a MAC */
	TT_MODE_STREAM, /* RC4, with a MAC */
	TT_MODE_CBC,	/* with a MAC */
	TT_MODE_GCM,
	TT_MODE_CCM,   /* 16-byte tag */
	TT_MODE_CCM_8, /* 8-byte tag */
	TT_MODE_CHACHA20_POLY1305,
	TT_MODE_AEGIS,
	TT_MODE_MGM, /* GOST TLS 1.3 suites (RFC 9367) */
	TT_MODE_CTR, /* counter mode with a MAC (GOST TLS 1.2 suites) */
};

/* Hash (or MAC, for the last two) algorithms of the mac and prf
 * columns. */
enum tt_digest {
	TT_DIGEST_NONE,
	TT_DIGEST_MD5,
	TT_DIGEST_SHA1,
	TT_DIGEST_SHA256,
	TT_DIGEST_SHA384,
	TT_DIGEST_SHA512,
	TT_DIGEST_SM3,
	TT_DIGEST_STREEBOG256, /* GOST R 34.11-2012, 256 bits */
	TT_DIGEST_OMAC,	       /* OMAC of the bulk cipher (GOST) */
	TT_DIGEST_IMIT,	       /* GOST 28147-89 IMIT */
};

/* One cipher suite: the registry's facts about it and, for the suites
 * the decoder can decrypt, the crypto table's names for its algorithms
 * (keysched.h).  Lengths are in bytes. */
struct tt_suite {
	uint16_t code; /* IANA value */
	bool tls13;
	enum tt_kx kx;
	enum tt_auth auth;
	enum tt_bulk bulk;
	enum tt_mode mode;
	/* Key-block key bytes (RFC 5246 6.3): 5 for the 40-bit export
	 * ciphers, which expand them. */
	uint8_t key_len;
	/* Write IV bytes the key schedule makes: 12 in TLS 1.3 (the AEAD's
	 * nonce length: 16 or 32 for AEGIS, the block for MGM) and for TLS
	 * 1.2 ChaCha20; 4 (the salt) for TLS 1.2 GCM and CCM, whose records
	 * carry the other 8 nonce bytes explicitly; the block size for CBC
	 * (a key-block IV in TLS 1.0; later versions send one per record
	 * instead); half the block for GOST CTR. */
	uint8_t iv_len;
	/* Nonce or IV bytes at the start of each TLS 1.2 record: 8 for GCM
	 * and CCM, the block size for CBC (TLS 1.1 and later: TLS 1.0 has
	 * none). */
	uint8_t explicit_nonce;
	enum tt_digest mac;
	uint8_t mac_len; /* MAC bytes per record; 0 for AEADs */
	enum tt_digest prf;
	/* Whether the crypto table can open its records: an AEAD it has,
	 * or (TLS 1.2 and earlier) a cipher it has or none, with an HMAC;
	 * under a SHA-256 or SHA-384 key schedule.  hash, aead, cipher and
	 * mac_hash are meaningful only then, aead for the AEAD modes,
	 * cipher for CBC and STREAM, mac_hash for those and NULL.  At run
	 * time the libcrypto may still lack the cipher (crypto.h, has). */
	bool decrypt;
	enum tt_hash hash; /* HKDF hash (1.3) or PRF hash (1.2) */
	enum tt_aead aead;
	enum tt_cipher cipher;
	enum tt_hash mac_hash;
};

/* The suite registered as code, or NULL when code is not a registered
 * suite (GREASE, unassigned, private use).  The SCSVs are entries with
 * every attribute NONE. */
const struct tt_suite *tt_suite_info(uint16_t code);

#endif
