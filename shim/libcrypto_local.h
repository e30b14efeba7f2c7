/* What the files of the crypto table (shim/libcrypto*.c) share, and
 * nothing outside them uses: the libcrypto functions bound at load, the
 * error mark around every call into it, this thread's contexts, and the
 * entries of the table.
 *
 * The OpenSSL headers are included for their declarations only: every
 * function is reached through a pointer from dlsym, declared with the
 * type of the real function (typeof), so the compiler checks each call.
 * Nothing refers to an OpenSSL symbol, and libtlstrace.so does not link
 * libcrypto.  The headers are those of OpenSSL 3; the functions used and
 * the constants (EVP_CTRL_AEAD_*, OPENSSL_INIT_NO_ATEXIT) are the same in
 * 1.1.1, whose library is loaded as well.
 */
#ifndef TT_LIBCRYPTO_LOCAL_H
#define TT_LIBCRYPTO_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

/* The one-shot digest functions (SHA256_Init...) are deprecated in
 * OpenSSL 3 but exported by every build that has the algorithm. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/provider.h>
#include <openssl/sha.h>

#include "crypto.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AESNI_CODE 1
#endif

/* Symbols every supported version has: X(name, field). */
#define LC_COMMON(X)                                                           \
	X(OPENSSL_init_crypto, init_crypto)                                    \
	X(ERR_set_mark, err_set_mark)                                          \
	X(ERR_pop_to_mark, err_pop_to_mark)                                    \
	X(EVP_MD_CTX_new, md_ctx_new)                                          \
	X(EVP_MD_CTX_free, md_ctx_free)                                        \
	X(EVP_MD_CTX_copy_ex, md_ctx_copy_ex)                                  \
	X(EVP_DigestInit_ex, digest_init_ex)                                   \
	X(EVP_DigestUpdate, digest_update)                                     \
	X(EVP_DigestFinal_ex, digest_final_ex)                                 \
	X(EVP_CIPHER_CTX_new, cipher_ctx_new)                                  \
	X(EVP_CIPHER_CTX_free, cipher_ctx_free)                                \
	X(EVP_CIPHER_CTX_copy, cipher_ctx_copy)                                \
	X(EVP_CIPHER_CTX_ctrl, cipher_ctx_ctrl)                                \
	X(EVP_CIPHER_CTX_set_padding, cipher_ctx_set_padding)                  \
	X(EVP_CipherInit_ex, cipher_init_ex)                                   \
	X(EVP_CipherUpdate, cipher_update)                                     \
	X(EVP_CipherFinal_ex, cipher_final_ex)                                 \
	X(EVP_EncryptInit_ex, encrypt_init_ex)                                 \
	X(EVP_EncryptUpdate, encrypt_update)

/* OpenSSL 3 only. */
#define LC_V3(X)                                                               \
	X(OSSL_LIB_CTX_new, libctx_new)                                        \
	X(OSSL_PROVIDER_load, provider_load)                                   \
	X(EVP_MD_fetch, md_fetch)                                              \
	X(EVP_CIPHER_fetch, cipher_fetch)

/* OpenSSL 1.1.1 (and 3, unused there). */
#define LC_V1(X)                                                               \
	X(EVP_sha256, sha256)                                                  \
	X(EVP_sha384, sha384)                                                  \
	X(EVP_aes_128_gcm, aes_128_gcm)                                        \
	X(EVP_aes_256_gcm, aes_256_gcm)                                        \
	X(EVP_chacha20_poly1305, chacha20_poly1305)                            \
	X(EVP_aes_128_ccm, aes_128_ccm)                                        \
	X(EVP_aes_128_ecb, aes_128_ecb)                                        \
	X(EVP_aes_256_ecb, aes_256_ecb)                                        \
	X(EVP_chacha20, chacha20)

/* OpenSSL 1.1.1, looked up but not required: a build may leave some
 * out (no-idea, no-seed, no-rc4, ...), and its headers then do not
 * declare them either, so each is declared with the type of a getter
 * of its kind that every build has: X(name, field, like).  The table's
 * has() says what was found. */
#define LC_V1_OPTIONAL(X)                                                      \
	X(EVP_md5, md5, EVP_sha256)                                            \
	X(EVP_sha1, sha1, EVP_sha256)                                          \
	X(EVP_aes_256_ccm, aes_256_ccm, EVP_aes_128_ccm)                       \
	X(EVP_aria_128_gcm, aria_128_gcm, EVP_aes_128_ccm)                     \
	X(EVP_aria_256_gcm, aria_256_gcm, EVP_aes_128_ccm)                     \
	X(EVP_aes_128_cbc, aes_128_cbc, EVP_aes_128_ccm)                       \
	X(EVP_aes_256_cbc, aes_256_cbc, EVP_aes_128_ccm)                       \
	X(EVP_camellia_128_cbc, camellia_128_cbc, EVP_aes_128_ccm)             \
	X(EVP_camellia_256_cbc, camellia_256_cbc, EVP_aes_128_ccm)             \
	X(EVP_aria_128_cbc, aria_128_cbc, EVP_aes_128_ccm)                     \
	X(EVP_aria_256_cbc, aria_256_cbc, EVP_aes_128_ccm)                     \
	X(EVP_seed_cbc, seed_cbc, EVP_aes_128_ccm)                             \
	X(EVP_idea_cbc, idea_cbc, EVP_aes_128_ccm)                             \
	X(EVP_des_cbc, des_cbc, EVP_aes_128_ccm)                               \
	X(EVP_des_ede3_cbc, des_ede3_cbc, EVP_aes_128_ccm)                     \
	X(EVP_rc4, rc4, EVP_aes_128_ccm)

/* The digests' own functions, below EVP: no provider dispatch and no
 * context to allocate, which makes an HMAC (the key schedule's unit of
 * work) about three times cheaper.  Looked up but not required:
 * X(name, field).  A digest whose three are all found is computed with
 * them, else through EVP. */
#define LC_RAW(X)                                                              \
	X(SHA256_Init, sha256_init)                                            \
	X(SHA256_Update, sha256_update)                                        \
	X(SHA256_Final, sha256_final)                                          \
	X(SHA384_Init, sha384_init)                                            \
	X(SHA384_Update, sha384_update)                                        \
	X(SHA384_Final, sha384_final)                                          \
	X(MD5_Init, md5_init)                                                  \
	X(MD5_Update, md5_update)                                              \
	X(MD5_Final, md5_final)                                                \
	X(SHA1_Init, sha1_init)                                                \
	X(SHA1_Update, sha1_update)                                            \
	X(SHA1_Final, sha1_final)

/* The ciphers after those of enum tt_aead. */
enum {
	AL_AES_128_ECB = TT_AEAD_COUNT,
	AL_AES_256_ECB,
	AL_CHACHA20,
	AL_CIPHERS
};

/* The bound functions and the algorithms, set once by tt_lc_load(). */
struct tt_lc_syms {
#define X(name, field) typeof(name) *field;
	LC_COMMON(X)
	LC_V3(X)
	LC_V1(X)
	LC_RAW(X)
#undef X
#define X(name, field, like) typeof(like) *field;
	LC_V1_OPTIONAL(X)
#undef X
	OSSL_LIB_CTX *libctx;
	/* NULL for what this libcrypto lacks (only the optional ones) */
	const EVP_MD *md[TT_HASH_COUNT]; /* by enum tt_hash */
	bool raw[TT_HASH_COUNT];	 /* its own functions were all found */
	const EVP_CIPHER *cipher[AL_CIPHERS];	  /* enum tt_aead, then AL_* */
	const EVP_CIPHER *block[TT_CIPHER_COUNT]; /* by enum tt_cipher */
};
extern struct tt_lc_syms tt_lc;

/* This thread's keyed AES single-block states: an expanded key for the
 * AES-NI path, or a libcrypto context (one path per process). */
#define AES_SLOTS 4
struct tt_lc_aes_slot {
#ifdef HAVE_AESNI_CODE
	__m128i rk[15];
#endif
	EVP_CIPHER_CTX *c;
	uint8_t key[32];
	uint8_t klen; /* 0: holds no key */
	uint64_t used;
};

/* This thread's contexts, made on first use (tt_lc_thread_get) and freed
 * when it exits.  On the heap, the thread-local variable being only its
 * pointer: a library dlopen'ed into a running process takes its
 * initial-exec TLS from a surplus of a few hundred bytes that every such
 * library shares. */
struct tt_lc_thread {
	struct tt_lc_aes_slot aes[AES_SLOTS];
	EVP_MD_CTX *md; /* digests and HMAC */
	/* per enum tt_aead: the key of the last call that succeeded, kept
	 * in the context (aead_keyed: 1 to open, 2 to seal, 0 none), so that
	 * the records of one key only set their nonce */
	EVP_CIPHER_CTX *aead[TT_AEAD_COUNT];
	uint8_t aead_key[TT_AEAD_COUNT][TT_AEAD_KEY_MAX];
	uint8_t aead_keyed[TT_AEAD_COUNT];
	EVP_CIPHER_CTX *cbc; /* CBC, re-initialised per call */
	uint64_t clock;
};
extern __thread struct tt_lc_thread *tt_lc_thread;

/* Loads libcrypto, binds tt_lc and fetches the algorithms (once, from
 * tt_crypto_load); NULL on success, else why not (a static string). */
const char *tt_lc_load(void);
/* False once libcrypto has been cleaned up; otherwise sets an error mark
 * that tt_lc_leave() pops. */
bool tt_lc_enter(void);
void tt_lc_leave(void);
struct tt_lc_thread *tt_lc_thread_new(void);

/* This thread's contexts, made on its first call; NULL when they cannot
 * be (out of memory): no crypto in this thread, until a later call
 * succeeds. */
static inline struct tt_lc_thread *tt_lc_thread_get(void)
{
	struct tt_lc_thread *t = tt_lc_thread;
	return __builtin_expect(t != NULL, 1) ? t : tt_lc_thread_new();
}

/* The entries of the table (struct tt_crypto). */
int tt_lc_digest(void *ctx, enum tt_hash h, const uint8_t *in, size_t len,
		 uint8_t *out);
int tt_lc_hash_new(void *ctx, enum tt_hash h, void **st);
int tt_lc_hash_update(void *ctx, void *st, const uint8_t *in, size_t len);
int tt_lc_hash_final(void *ctx, const void *st, uint8_t *out);
void tt_lc_hash_free(void *ctx, void *st);
int tt_lc_hmac(void *ctx, enum tt_hash h, const uint8_t *key, size_t key_len,
	       const uint8_t *data, size_t len, uint8_t *out);
int tt_lc_has(void *ctx, enum tt_alg_kind kind, int alg);
int tt_lc_aead_seal(void *ctx, enum tt_aead a, const uint8_t *key,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag);
int tt_lc_aead_open(void *ctx, enum tt_aead a, const uint8_t *key,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, size_t len, uint8_t *out,
		    const uint8_t *tag);
int tt_lc_cbc_encrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
		      const uint8_t *iv, const uint8_t *in, size_t len,
		      uint8_t *out);
int tt_lc_cbc_decrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
		      const uint8_t *iv, const uint8_t *in, size_t len,
		      uint8_t *out);
int tt_lc_stream_new(void *ctx, enum tt_cipher c, const uint8_t *key,
		     void **st);
int tt_lc_stream_xor(void *ctx, void *st, const uint8_t *in, size_t len,
		     uint8_t *out);
int tt_lc_stream_copy(void *ctx, const void *st, void **copy);
void tt_lc_stream_free(void *ctx, void *st);
int tt_lc_aes_block(void *ctx, const uint8_t *key, size_t key_len,
		    const uint8_t *in, uint8_t *out);
int tt_lc_chacha20_block(void *ctx, const uint8_t *key, uint32_t counter,
			 const uint8_t *nonce, uint8_t *out);

/* Chooses the AES path (AES-NI where the CPU has it, unless
 * TLSTRACE_NO_AESNI is set), after a successful load. */
void tt_lc_aes_init(void);

#endif
