/* The crypto table: the only way decoder/ reaches libcrypto.
 *
 * decoder/ makes no syscalls and loads nothing (DESIGN.md, "libcrypto
 * inside someone else's process"), so everything cryptographic it needs
 * comes through these function pointers.  The shim fills the table from a
 * dlopen'ed libcrypto (inside ERR_set_mark()/ERR_pop_to_mark(), with a
 * private OSSL_LIB_CTX); a unit test fills it from libcrypto directly.
 *
 * Conventions, for every entry:
 * - the first argument is the table's ctx, the implementation's state;
 * - 0 on success, -1 on any failure (including an AEAD tag that does not
 *   verify: the caller cannot and need not tell the two apart);
 * - a length of 0 is valid for every input buffer, whose pointer may then
 *   be NULL;
 * - outputs have the fixed sizes named below; an implementation never
 *   writes more.
 * Nothing here keeps a pointer to its inputs after it returns.
 */
#ifndef TT_CRYPTO_H
#define TT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum tt_hash {
	TT_HASH_SHA256 = 0,
	TT_HASH_SHA384 = 1,
	/* record MACs of older suites, and the TLS 1.0/1.1 PRF and SSL 3.0
	 * key block */
	TT_HASH_MD5 = 2,
	TT_HASH_SHA1 = 3,
};
#define TT_HASH_COUNT 4

#define TT_HASH_MAX 48 /* bytes of the largest digest (SHA-384) */

static inline size_t tt_hash_len(enum tt_hash h)
{
	switch (h) {
	case TT_HASH_SHA384:
		return 48;
	case TT_HASH_MD5:
		return 16;
	case TT_HASH_SHA1:
		return 20;
	default:
		return 32;
	}
}

enum tt_aead {
	TT_AEAD_AES_128_GCM = 0,
	TT_AEAD_AES_256_GCM,
	TT_AEAD_CHACHA20_POLY1305,
	TT_AEAD_AES_128_CCM, /* 16-byte tag */
	TT_AEAD_AES_256_CCM,
	TT_AEAD_AES_128_CCM_8, /* 8-byte tag (RFC 6655 3) */
	TT_AEAD_AES_256_CCM_8,
	TT_AEAD_ARIA_128_GCM, /* RFC 6209 */
	TT_AEAD_ARIA_256_GCM,
};
#define TT_AEAD_COUNT 9

#define TT_AEAD_NONCE_LEN 12 /* every AEAD here takes a 12-byte nonce */
#define TT_AEAD_TAG_LEN	  16 /* and makes a tag of at most 16 bytes */
#define TT_AEAD_KEY_MAX	  32

static inline size_t tt_aead_key_len(enum tt_aead a)
{
	return a == TT_AEAD_AES_128_GCM || a == TT_AEAD_AES_128_CCM ||
			       a == TT_AEAD_AES_128_CCM_8 ||
			       a == TT_AEAD_ARIA_128_GCM
		       ? 16
		       : 32;
}

static inline size_t tt_aead_tag_len(enum tt_aead a)
{
	return a == TT_AEAD_AES_128_CCM_8 || a == TT_AEAD_AES_256_CCM_8 ? 8
									: 16;
}

/* The ciphers of the MAC-protected suites (TLS 1.0-1.2, SSL 3.0): block
 * ciphers in CBC mode, and RC4. */
enum tt_cipher {
	TT_CIPHER_AES_128_CBC = 0,
	TT_CIPHER_AES_256_CBC,
	TT_CIPHER_CAMELLIA_128_CBC,
	TT_CIPHER_CAMELLIA_256_CBC,
	TT_CIPHER_ARIA_128_CBC,
	TT_CIPHER_ARIA_256_CBC,
	TT_CIPHER_SEED_CBC,
	TT_CIPHER_IDEA_CBC,
	TT_CIPHER_DES_CBC,
	TT_CIPHER_3DES_EDE_CBC,
	TT_CIPHER_RC4_128, /* the one stream cipher */
};
#define TT_CIPHER_COUNT 11

#define TT_CIPHER_KEY_MAX   32
#define TT_CIPHER_BLOCK_MAX 16

static inline size_t tt_cipher_key_len(enum tt_cipher c)
{
	switch (c) {
	case TT_CIPHER_AES_256_CBC:
	case TT_CIPHER_CAMELLIA_256_CBC:
	case TT_CIPHER_ARIA_256_CBC:
		return 32;
	case TT_CIPHER_DES_CBC:
		return 8;
	case TT_CIPHER_3DES_EDE_CBC:
		return 24;
	default:
		return 16;
	}
}

/* Block bytes; 0 for the stream cipher. */
static inline size_t tt_cipher_block(enum tt_cipher c)
{
	switch (c) {
	case TT_CIPHER_RC4_128:
		return 0;
	case TT_CIPHER_IDEA_CBC:
	case TT_CIPHER_DES_CBC:
	case TT_CIPHER_3DES_EDE_CBC:
		return 8;
	default:
		return 16;
	}
}

/* What kind of algorithm the table's has() is asked about. */
enum tt_alg_kind {
	TT_ALG_HASH,   /* enum tt_hash */
	TT_ALG_AEAD,   /* enum tt_aead */
	TT_ALG_CIPHER, /* enum tt_cipher */
};

#define TT_AES_BLOCK	  16
#define TT_CHACHA20_BLOCK 64

struct tt_crypto {
	void *ctx;

	/* out (tt_hash_len(h) bytes) = H(in). */
	int (*digest)(void *ctx, enum tt_hash h, const uint8_t *in, size_t len,
		      uint8_t *out);

	/* Incremental hashing, for handshake transcripts.  hash_new makes a
	 * fresh state in *st; hash_final writes the digest of everything
	 * fed so far without ending the state (it finishes a copy), so a
	 * transcript can be read at every point and fed on; hash_free
	 * accepts NULL. */
	int (*hash_new)(void *ctx, enum tt_hash h, void **st);
	int (*hash_update)(void *ctx, void *st, const uint8_t *in, size_t len);
	int (*hash_final)(void *ctx, const void *st, uint8_t *out);
	void (*hash_free)(void *ctx, void *st);

	/* out (tt_hash_len(h) bytes) = HMAC-H(key, data). */
	int (*hmac)(void *ctx, enum tt_hash h, const uint8_t *key,
		    size_t key_len, const uint8_t *data, size_t len,
		    uint8_t *out);

	/* Whether this libcrypto has the algorithm alg of that kind: 0 when
	 * it has, -1 when not (OpenSSL 3 without its legacy provider has no
	 * RC4, SEED, IDEA or DES; a FIPS build no MD5).  SHA-256, SHA-384,
	 * AES-GCM, AES-128-CCM and ChaCha20-Poly1305 are always there. */
	int (*has)(void *ctx, enum tt_alg_kind kind, int alg);

	/* AEAD with a key of tt_aead_key_len(a) bytes and a
	 * TT_AEAD_NONCE_LEN-byte nonce.  seal: out (len bytes) and tag
	 * (tt_aead_tag_len(a) bytes) from in; open: out (len bytes) from
	 * in, -1 when the tag does not verify (out is then garbage; the
	 * caller wipes it).  out may be in itself (exact overlap), never
	 * partly. */
	int (*aead_seal)(void *ctx, enum tt_aead a, const uint8_t *key,
			 const uint8_t *nonce, const uint8_t *aad,
			 size_t aad_len, const uint8_t *in, size_t len,
			 uint8_t *out, uint8_t *tag);
	int (*aead_open)(void *ctx, enum tt_aead a, const uint8_t *key,
			 const uint8_t *nonce, const uint8_t *aad,
			 size_t aad_len, const uint8_t *in, size_t len,
			 uint8_t *out, const uint8_t *tag);

	/* CBC without padding, for c a block cipher: out (len bytes, a
	 * whole number of tt_cipher_block(c) blocks) from in, with a key of
	 * tt_cipher_key_len(c) bytes and a one-block iv.  out may be in
	 * itself (exact overlap), never partly.  Chaining from one call to
	 * the next (TLS 1.0) is the caller's: the next iv is the last
	 * ciphertext block. */
	int (*cbc_encrypt)(void *ctx, enum tt_cipher c, const uint8_t *key,
			   const uint8_t *iv, const uint8_t *in, size_t len,
			   uint8_t *out);
	int (*cbc_decrypt)(void *ctx, enum tt_cipher c, const uint8_t *key,
			   const uint8_t *iv, const uint8_t *in, size_t len,
			   uint8_t *out);

	/* A stream cipher's state (RC4: one per direction, carried from
	 * record to record): stream_new keys a fresh state in *st;
	 * stream_xor runs len bytes of keystream over in into out (out may
	 * be in) and moves the state on; stream_copy makes an independent
	 * copy in *copy, so that a record can be tried without losing the
	 * state it started from; stream_free accepts NULL. */
	int (*stream_new)(void *ctx, enum tt_cipher c, const uint8_t *key,
			  void **st);
	int (*stream_xor)(void *ctx, void *st, const uint8_t *in, size_t len,
			  uint8_t *out);
	int (*stream_copy)(void *ctx, const void *st, void **copy);
	void (*stream_free)(void *ctx, void *st);

	/* Raw single blocks, to peek at a record's first bytes without
	 * authenticating it.  aes_block: out = AES-Encrypt(key, in), one
	 * TT_AES_BLOCK block, key_len 16 or 32 (no mode, no padding).
	 * chacha20_block: out = the TT_CHACHA20_BLOCK-byte ChaCha20
	 * keystream block (RFC 8439 2.3) for a 32-byte key, a 12-byte nonce
	 * and the given block counter. */
	int (*aes_block)(void *ctx, const uint8_t *key, size_t key_len,
			 const uint8_t *in, uint8_t *out);
	int (*chacha20_block)(void *ctx, const uint8_t *key, uint32_t counter,
			      const uint8_t *nonce, uint8_t *out);
};

/* Clears a secret so the compiler cannot drop the stores as dead (a plain
 * memset before free or return may be).  No libcrypto needed. */
static inline void tt_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* Whether a and b (n bytes each) are equal, in a time that does not
 * depend on where they differ, and without a memcmp() a fuzzer's
 * comparison hooks could learn an expected MAC from. */
static inline bool tt_same_secret(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

#endif
