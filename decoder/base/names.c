/* IANA name tables and cipher-suite attributes (see names.h).
 *
 * Every lookup is a switch generated from a tables/<registry>.def list,
 * so the compiler rejects a value listed twice and picks the search
 * strategy (jump table or binary search) itself; there is no table to
 * keep sorted by hand and no mutable state, so every function is safe
 * from any thread or hook.
 */
#include <stdio.h>

#include "names.h"

/* The fallbacks go through buf so that a label is always a plain string
 * the formatters can print without knowing which case they are in.
 * GREASE is only checked after the table: no registry names a GREASE
 * value, and a name, if one ever appeared, should win.  8-bit registries
 * have no GREASE and print two hex digits.
 */
static const char *label(const char *name, uint16_t v, bool wide,
			 char buf[TT_NAMEBUF])
{
	if (name)
		return name;
	if (!wide)
		snprintf(buf, TT_NAMEBUF, "unknown(0x%02x)", (unsigned)v);
	else if (tt_is_grease16(v))
		snprintf(buf, TT_NAMEBUF, "grease(0x%04x)", (unsigned)v);
	else
		snprintf(buf, TT_NAMEBUF, "unknown(0x%04x)", (unsigned)v);
	return buf;
}

/* One registry's tt_name_<reg>() and tt_label_<reg>(), from its list and
 * the macro that turns one entry into a case. */
#define REGISTRY(reg, list, entry, type)                                       \
	const char *tt_name_##reg(type v)                                      \
	{                                                                      \
		switch (v) {                                                   \
			list(entry)                                            \
		}                                                              \
		return NULL;                                                   \
	}                                                                      \
	const char *tt_label_##reg(type v, char buf[TT_NAMEBUF])               \
	{                                                                      \
		return label(tt_name_##reg(v), v, sizeof(type) > 1, buf);      \
	}

#define NAME(v, id, name)                                                      \
	case v:                                                                \
		return name;
#define SUITE_NAME(v, id, kx, auth, bulk, mode, mac, prf, ver)                 \
	case v:                                                                \
		return "TLS_" #id;

REGISTRY(content_type, TT_CONTENT_TYPES, NAME, uint8_t)
REGISTRY(handshake, TT_HANDSHAKE_TYPES, NAME, uint8_t)
REGISTRY(alert, TT_ALERTS, NAME, uint8_t)
REGISTRY(alert_level, TT_ALERT_LEVELS, NAME, uint8_t)
REGISTRY(version, TT_VERSIONS, NAME, uint16_t)
REGISTRY(extension, TT_EXTENSIONS, NAME, uint16_t)
REGISTRY(cipher, TT_CIPHER_SUITES, SUITE_NAME, uint16_t)
REGISTRY(group, TT_GROUPS, NAME, uint16_t)
REGISTRY(sigscheme, TT_SIGSCHEMES, NAME, uint16_t)
REGISTRY(cert_type, TT_CERT_TYPES, NAME, uint8_t)
REGISTRY(compression, TT_COMPRESSION_METHODS, NAME, uint8_t)
REGISTRY(ec_point_format, TT_EC_POINT_FORMATS, NAME, uint8_t)
REGISTRY(psk_mode, TT_PSK_MODES, NAME, uint8_t)
REGISTRY(starttls, TT_STARTTLS_PROTOCOLS, NAME, uint8_t)
REGISTRY(ldap_result, TT_LDAP_RESULTS, NAME, uint8_t)

/* 24-bit values: no GREASE, six hex digits. */
const char *tt_name_ssl2_cipher(uint32_t v)
{
	switch (v) {
		TT_SSL2_CIPHERS(NAME)
	}
	return NULL;
}

const char *tt_label_ssl2_cipher(uint32_t v, char buf[TT_NAMEBUF])
{
	const char *name = tt_name_ssl2_cipher(v);
	if (name)
		return name;
	snprintf(buf, TT_NAMEBUF, "unknown(0x%06x)", (unsigned)(v & 0xffffff));
	return buf;
}

/* ---- Cipher-suite attributes ----
 *
 * The lengths follow from the columns of cipher.def.  Each macro below
 * is pasted together with a column's token, so a combination nobody
 * defined (a TLS 1.3 CBC suite, say) fails to compile instead of getting
 * a made-up length.  Sources: RFC 5246 6.2.3 and 6.3 and appendix C,
 * RFC 5288 3, RFC 6655 3, RFC 7905 2, RFC 8446 5.3, RFC 8998, RFC 9189
 * (GOST TLS 1.2), RFC 9367 (GOST TLS 1.3), the AEGIS draft's TLS 1.3
 * section.
 */

/* Key-block key bytes of a bulk cipher. */
#define KEY_NULL	 0
#define KEY_RC4_40	 5
#define KEY_RC4_128	 16
#define KEY_RC2_40	 5
#define KEY_DES40	 5
#define KEY_DES		 8
#define KEY_3DES_EDE	 24
#define KEY_IDEA	 16
#define KEY_AES_128	 16
#define KEY_AES_256	 32
#define KEY_CAMELLIA_128 16
#define KEY_CAMELLIA_256 32
#define KEY_SEED	 16
#define KEY_ARIA_128	 16
#define KEY_ARIA_256	 32
#define KEY_CHACHA20	 32
#define KEY_SM4		 16
#define KEY_AEGIS_128L	 16
#define KEY_AEGIS_256	 32
#define KEY_KUZNYECHIK	 32
#define KEY_MAGMA	 32
#define KEY_GOST28147	 32

/* Block bytes of the block ciphers. */
#define BLOCK_RC2_40	   8
#define BLOCK_DES40	   8
#define BLOCK_DES	   8
#define BLOCK_3DES_EDE	   8
#define BLOCK_IDEA	   8
#define BLOCK_AES_128	   16
#define BLOCK_AES_256	   16
#define BLOCK_CAMELLIA_128 16
#define BLOCK_CAMELLIA_256 16
#define BLOCK_SEED	   16
#define BLOCK_ARIA_128	   16
#define BLOCK_ARIA_256	   16
#define BLOCK_KUZNYECHIK   16
#define BLOCK_MAGMA	   8
#define BLOCK_GOST28147	   8

/* Write IV bytes from the key schedule, by version and mode, given the
 * cipher's block and key bytes. */
#define IV_12_NULL(block, key)		    0
#define IV_12_STREAM(block, key)	    0
#define IV_12_CBC(block, key)		    block
#define IV_12_GCM(block, key)		    4
#define IV_12_CCM(block, key)		    4
#define IV_12_CCM_8(block, key)		    4
#define IV_12_CHACHA20_POLY1305(block, key) 12
#define IV_12_CTR(block, key)		    (block / 2)
#define IV_13_NULL(block, key)		    0
#define IV_13_GCM(block, key)		    12
#define IV_13_CCM(block, key)		    12
#define IV_13_CCM_8(block, key)		    12
#define IV_13_CHACHA20_POLY1305(block, key) 12
#define IV_13_AEGIS(block, key)		    key /* the nonce is as long as the key */
#define IV_13_MGM(block, key)		    block

/* Nonce or IV bytes carried by each record, by version and mode. */
#define EXPLICIT_12_NULL(block)		     0
#define EXPLICIT_12_STREAM(block)	     0
#define EXPLICIT_12_CBC(block)		     block
#define EXPLICIT_12_GCM(block)		     8
#define EXPLICIT_12_CCM(block)		     8
#define EXPLICIT_12_CCM_8(block)	     8
#define EXPLICIT_12_CHACHA20_POLY1305(block) 0
#define EXPLICIT_12_CTR(block)		     0
#define EXPLICIT_13_NULL(block)		     0
#define EXPLICIT_13_GCM(block)		     0
#define EXPLICIT_13_CCM(block)		     0
#define EXPLICIT_13_CCM_8(block)	     0
#define EXPLICIT_13_CHACHA20_POLY1305(block) 0
#define EXPLICIT_13_AEGIS(block)	     0
#define EXPLICIT_13_MGM(block)		     0

/* MAC bytes per record, by MAC (OMAC is as long as the block). */
#define MAC_NONE(block)	  0
#define MAC_MD5(block)	  16
#define MAC_SHA1(block)	  20
#define MAC_SHA256(block) 32
#define MAC_SHA384(block) 48
#define MAC_OMAC(block)	  block
#define MAC_IMIT(block)	  4

/* The crypto table's cipher (crypto.h) of each bulk cipher of the
 * MAC-protected suites; -1 for those it has not: the 40-bit export
 * ciphers (their key expansion is not done here) and those only AEAD or
 * GOST suites use. */
#define CIPHER_NULL	    -1
#define CIPHER_RC4_40	    -1
#define CIPHER_RC4_128	    TT_CIPHER_RC4_128
#define CIPHER_RC2_40	    -1
#define CIPHER_DES40	    -1
#define CIPHER_DES	    TT_CIPHER_DES_CBC
#define CIPHER_3DES_EDE	    TT_CIPHER_3DES_EDE_CBC
#define CIPHER_IDEA	    TT_CIPHER_IDEA_CBC
#define CIPHER_AES_128	    TT_CIPHER_AES_128_CBC
#define CIPHER_AES_256	    TT_CIPHER_AES_256_CBC
#define CIPHER_CAMELLIA_128 TT_CIPHER_CAMELLIA_128_CBC
#define CIPHER_CAMELLIA_256 TT_CIPHER_CAMELLIA_256_CBC
#define CIPHER_SEED	    TT_CIPHER_SEED_CBC
#define CIPHER_ARIA_128	    TT_CIPHER_ARIA_128_CBC
#define CIPHER_ARIA_256	    TT_CIPHER_ARIA_256_CBC
#define CIPHER_CHACHA20	    -1
#define CIPHER_SM4	    -1
#define CIPHER_AEGIS_128L   -1
#define CIPHER_AEGIS_256    -1
#define CIPHER_KUZNYECHIK   -1
#define CIPHER_MAGMA	    -1
#define CIPHER_GOST28147    -1

/* The crypto table's hash of each record MAC; -1 for none (AEADs) and
 * the GOST MACs. */
#define MACHASH_NONE   -1
#define MACHASH_MD5    TT_HASH_MD5
#define MACHASH_SHA1   TT_HASH_SHA1
#define MACHASH_SHA256 TT_HASH_SHA256
#define MACHASH_SHA384 TT_HASH_SHA384
#define MACHASH_OMAC   -1
#define MACHASH_IMIT   -1

/* What the crypto table (crypto.h) has: AES-GCM, ARIA-GCM, AES-CCM with
 * a 16- or 8-byte tag, ChaCha20-Poly1305; for TLS 1.2 and earlier also
 * the MAC-protected suites (CBC, RC4, NULL) with an MD5, SHA-1, SHA-256
 * or SHA-384 HMAC; all under a SHA-256 or SHA-384 key schedule.  Not:
 * Camellia-GCM (OpenSSL has no such cipher), the export ciphers, SM4,
 * AEGIS, GOST, TLS 1.3's integrity-only suites.  The arguments are
 * TT_BULK_, TT_MODE_ and TT_DIGEST_ constants and -1 or a crypto table
 * enum for cipher and machash. */
#define AEAD_OF(bulk, mode)                                                    \
	((mode) == TT_MODE_CHACHA20_POLY1305 ? TT_AEAD_CHACHA20_POLY1305       \
	 : (mode) == TT_MODE_CCM                                               \
		 ? ((bulk) == TT_BULK_AES_256 ? TT_AEAD_AES_256_CCM            \
					      : TT_AEAD_AES_128_CCM)           \
	 : (mode) == TT_MODE_CCM_8                                             \
		 ? ((bulk) == TT_BULK_AES_256 ? TT_AEAD_AES_256_CCM_8          \
					      : TT_AEAD_AES_128_CCM_8)         \
	 : (bulk) == TT_BULK_ARIA_128 ? TT_AEAD_ARIA_128_GCM                   \
	 : (bulk) == TT_BULK_ARIA_256 ? TT_AEAD_ARIA_256_GCM                   \
	 : (bulk) == TT_BULK_AES_256  ? TT_AEAD_AES_256_GCM                    \
				      : TT_AEAD_AES_128_GCM)
#define AES(bulk)  ((bulk) == TT_BULK_AES_128 || (bulk) == TT_BULK_AES_256)
#define ARIA(bulk) ((bulk) == TT_BULK_ARIA_128 || (bulk) == TT_BULK_ARIA_256)
#define DECRYPT(bulk, mode, prf, cipher, machash, tls13)                       \
	(((prf) == TT_DIGEST_SHA256 || (prf) == TT_DIGEST_SHA384) &&           \
	 (((mode) == TT_MODE_GCM && (AES(bulk) || ARIA(bulk))) ||              \
	  (((mode) == TT_MODE_CCM || (mode) == TT_MODE_CCM_8) && AES(bulk)) || \
	  (mode) == TT_MODE_CHACHA20_POLY1305 ||                               \
	  (!(tls13) && (machash) >= 0 &&                                       \
	   ((mode) == TT_MODE_NULL ||                                          \
	    (((mode) == TT_MODE_CBC || (mode) == TT_MODE_STREAM) &&            \
	     (cipher) >= 0)))))

/* One case of tt_suite_info(): a constant object per suite.  Column
 * tokens are only ever pasted: passed on whole, a NULL would expand.
 * (The parameters end in _ so that they do not replace field names.) */
#define SUITE(v_, id_, kx_, auth_, bulk_, mode_, mac_, prf_, ver_)             \
	case v_: {                                                             \
		static const struct tt_suite s = {                             \
			.code = v_,                                            \
			.tls13 = ver_ == 13,                                   \
			.kx = TT_KX_##kx_,                                     \
			.auth = TT_AUTH_##auth_,                               \
			.bulk = TT_BULK_##bulk_,                               \
			.mode = TT_MODE_##mode_,                               \
			.key_len = KEY_##bulk_,                                \
			.iv_len = IV_##ver_##_##mode_(BLOCK_##bulk_,           \
						      KEY_##bulk_),            \
			.explicit_nonce =                                      \
				EXPLICIT_##ver_##_##mode_(BLOCK_##bulk_),      \
			.mac = TT_DIGEST_##mac_,                               \
			.mac_len = MAC_##mac_(BLOCK_##bulk_),                  \
			.prf = TT_DIGEST_##prf_,                               \
			.decrypt = DECRYPT(TT_BULK_##bulk_, TT_MODE_##mode_,   \
					   TT_DIGEST_##prf_, CIPHER_##bulk_,   \
					   MACHASH_##mac_, ver_ == 13),        \
			.hash = TT_DIGEST_##prf_ == TT_DIGEST_SHA384           \
					? TT_HASH_SHA384                       \
					: TT_HASH_SHA256,                      \
			.aead = AEAD_OF(TT_BULK_##bulk_, TT_MODE_##mode_),     \
			.cipher = (enum tt_cipher)(                            \
				CIPHER_##bulk_ < 0 ? 0 : CIPHER_##bulk_),      \
			.mac_hash = (enum tt_hash)(                            \
				MACHASH_##mac_ < 0 ? 0 : MACHASH_##mac_),      \
		};                                                             \
		return &s;                                                     \
	}

const struct tt_suite *tt_suite_info(uint16_t code)
{
	switch (code) {
		TT_CIPHER_SUITES(SUITE)
	}
	return NULL;
}
