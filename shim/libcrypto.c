/* The crypto table bound to a libcrypto loaded with dlopen.
 *
 * libcrypto.so.3 is tried first, then libcrypto.so.1.1, RTLD_LOCAL so that
 * none of its symbols become visible to the host.  Every function is
 * reached through a pointer from dlsym; no OpenSSL header is included, the
 * few constants used are ABI values identical in 1.1.1 and 3.x.
 *
 * On OpenSSL 3 the algorithms are fetched once from a private
 * OSSL_LIB_CTX (no configuration file, default provider), so the host's
 * configuration and providers neither affect nor see us.  On 1.1.1 the
 * built-in EVP_sha256() etc. are used.
 *
 * Every entry point, and the loading, runs between ERR_set_mark() and
 * ERR_pop_to_mark(): errors raised inside are dropped, the host's own
 * errors and marks are left as they were.  Before that, OPENSSL_init_crypto
 * tells whether libcrypto has been cleaned up (OPENSSL_cleanup from the
 * host's atexit); after that every entry fails without touching it.
 *
 * When the libcrypto is one we brought into the process, it is
 * initialised with OPENSSL_INIT_NO_ATEXIT: nothing is registered with
 * atexit and nothing is freed at exit.
 *
 * aes_block and chacha20_block run once per record: each thread keeps one
 * EVP_CIPHER_CTX per cipher (in __thread storage), made on first use and
 * re-keyed on each call.  A thread-specific key frees them when the thread
 * exits.  Digests, HMAC and AEADs use a context per call.
 */
#include "libcrypto.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AESNI_CODE 1
#endif

/* ABI constants (openssl/evp.h, openssl/crypto.h; same in 1.1.1 and 3). */
#define LC_CTRL_AEAD_SET_IVLEN 0x9
#define LC_CTRL_AEAD_GET_TAG   0x10
#define LC_CTRL_AEAD_SET_TAG   0x11
#define LC_INIT_NO_ATEXIT      0x00080000ULL

/* Opaque OpenSSL types. */
typedef struct lc_libctx lc_libctx;
typedef struct lc_md lc_md;
typedef struct lc_md_ctx lc_md_ctx;
typedef struct lc_cipher lc_cipher;
typedef struct lc_cipher_ctx lc_cipher_ctx;
typedef struct lc_engine lc_engine;

/* Symbols every supported version has: X(name, ret, params, field). */
#define LC_COMMON(X)                                                           \
	X(OPENSSL_init_crypto, int, (uint64_t, const void *), init_crypto)     \
	X(ERR_set_mark, int, (void), err_set_mark)                             \
	X(ERR_pop_to_mark, int, (void), err_pop_to_mark)                       \
	X(EVP_MD_CTX_new, lc_md_ctx *, (void), md_ctx_new)                     \
	X(EVP_MD_CTX_free, void, (lc_md_ctx *), md_ctx_free)                   \
	X(EVP_MD_CTX_copy_ex, int, (lc_md_ctx *, const lc_md_ctx *),           \
	  md_ctx_copy_ex)                                                      \
	X(EVP_DigestInit_ex, int, (lc_md_ctx *, const lc_md *, lc_engine *),   \
	  digest_init_ex)                                                      \
	X(EVP_DigestUpdate, int, (lc_md_ctx *, const void *, size_t),          \
	  digest_update)                                                       \
	X(EVP_DigestFinal_ex, int,                                             \
	  (lc_md_ctx *, unsigned char *, unsigned int *), digest_final_ex)     \
	X(EVP_CIPHER_CTX_new, lc_cipher_ctx *, (void), cipher_ctx_new)         \
	X(EVP_CIPHER_CTX_free, void, (lc_cipher_ctx *), cipher_ctx_free)       \
	X(EVP_CIPHER_CTX_ctrl, int, (lc_cipher_ctx *, int, int, void *),       \
	  cipher_ctx_ctrl)                                                     \
	X(EVP_CIPHER_CTX_set_padding, int, (lc_cipher_ctx *, int),             \
	  cipher_ctx_set_padding)                                              \
	X(EVP_CipherInit_ex, int,                                              \
	  (lc_cipher_ctx *, const lc_cipher *, lc_engine *,                    \
	   const unsigned char *, const unsigned char *, int),                 \
	  cipher_init_ex)                                                      \
	X(EVP_CipherUpdate, int,                                               \
	  (lc_cipher_ctx *, unsigned char *, int *, const unsigned char *,     \
	   int),                                                               \
	  cipher_update)                                                       \
	X(EVP_CipherFinal_ex, int, (lc_cipher_ctx *, unsigned char *, int *),  \
	  cipher_final_ex)                                                     \
	X(EVP_EncryptInit_ex, int,                                             \
	  (lc_cipher_ctx *, const lc_cipher *, lc_engine *,                    \
	   const unsigned char *, const unsigned char *),                      \
	  encrypt_init_ex)                                                     \
	X(EVP_EncryptUpdate, int,                                              \
	  (lc_cipher_ctx *, unsigned char *, int *, const unsigned char *,     \
	   int),                                                               \
	  encrypt_update)

/* OpenSSL 3 only. */
#define LC_V3(X)                                                               \
	X(OSSL_LIB_CTX_new, lc_libctx *, (void), libctx_new)                   \
	X(EVP_MD_fetch, lc_md *, (lc_libctx *, const char *, const char *),    \
	  md_fetch)                                                            \
	X(EVP_CIPHER_fetch, lc_cipher *,                                       \
	  (lc_libctx *, const char *, const char *), cipher_fetch)

/* OpenSSL 1.1.1 (and 3, unused there). */
#define LC_V1(X)                                                               \
	X(EVP_sha256, const lc_md *, (void), sha256)                           \
	X(EVP_sha384, const lc_md *, (void), sha384)                           \
	X(EVP_aes_128_gcm, const lc_cipher *, (void), aes_128_gcm)             \
	X(EVP_aes_256_gcm, const lc_cipher *, (void), aes_256_gcm)             \
	X(EVP_chacha20_poly1305, const lc_cipher *, (void), chacha20_poly1305) \
	X(EVP_aes_128_ccm, const lc_cipher *, (void), aes_128_ccm)             \
	X(EVP_aes_128_ecb, const lc_cipher *, (void), aes_128_ecb)             \
	X(EVP_aes_256_ecb, const lc_cipher *, (void), aes_256_ecb)             \
	X(EVP_chacha20, const lc_cipher *, (void), chacha20)

enum { AL_AES_128_ECB = 4, AL_AES_256_ECB, AL_CHACHA20, AL_CIPHERS };

static struct {
#define X(name, ret, params, field) ret(*field) params;
	LC_COMMON(X)
	LC_V3(X)
	LC_V1(X)
#undef X
	lc_libctx *libctx;
	const lc_md *md[2];		     /* by enum tt_hash */
	const lc_cipher *cipher[AL_CIPHERS]; /* enum tt_aead, then AL_* */
} L;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const struct tt_crypto *loaded_table;
static const char *load_why = "libcrypto not loaded";
static pthread_key_t tls_key;
static bool tls_key_ok;

/* This thread's keyed AES single-block states: an expanded key for the
 * AES-NI path, or a libcrypto context (one path per process). */
#define AES_SLOTS 4
struct aes_slot {
#ifdef HAVE_AESNI_CODE
	__m128i rk[15];
#endif
	lc_cipher_ctx *c;
	uint8_t key[32];
	uint8_t klen; /* 0: holds no key */
	uint64_t used;
};
struct tls_ctxs {
	struct aes_slot aes[AES_SLOTS];
	lc_md_ctx *md;		 /* digests and HMAC */
	lc_cipher_ctx *aead[4]; /* per enum tt_aead, re-initialised per call */
	uint64_t clock;
	bool registered;
};
static __thread struct tls_ctxs tls;

/* ------------------------------------------------------------------ */
/* Entering and leaving libcrypto                                      */

/* False once libcrypto has been cleaned up; otherwise sets an error mark
 * that leave() pops. */
static bool enter(void)
{
	if (L.init_crypto(0, NULL) != 1)
		return false;
	L.err_set_mark();
	return true;
}

static void leave(void)
{
	L.err_pop_to_mark();
}

static void tls_register(void)
{
	if (!tls.registered && tls_key_ok)
		tls.registered = pthread_setspecific(tls_key, &tls) == 0;
}

/* This thread's digest context (each use initialises it). */
static lc_md_ctx *tls_md(void)
{
	if (!tls.md) {
		tls.md = L.md_ctx_new();
		tls_register();
	}
	return tls.md;
}

/* After a failure a context's state is unknown: made anew next time. */
static void tls_md_drop(void)
{
	L.md_ctx_free(tls.md);
	tls.md = NULL;
}

/* ------------------------------------------------------------------ */
/* Digests                                                             */

static bool hash_ok(enum tt_hash h)
{
	return h == TT_HASH_SHA256 || h == TT_HASH_SHA384;
}

static size_t hash_block(enum tt_hash h)
{
	return h == TT_HASH_SHA384 ? 128 : 64;
}

/* Hashes up to two pieces with c, which is initialised here. */
static bool md_run(lc_md_ctx *c, enum tt_hash h, const uint8_t *a, size_t alen,
		   const uint8_t *b, size_t blen, uint8_t *out)
{
	unsigned int n = 0;
	return L.digest_init_ex(c, L.md[h], NULL) == 1 &&
	       (alen == 0 || L.digest_update(c, a, alen) == 1) &&
	       (blen == 0 || L.digest_update(c, b, blen) == 1) &&
	       L.digest_final_ex(c, out, &n) == 1 && n == tt_hash_len(h);
}

static int sc_digest(void *ctx, enum tt_hash h, const uint8_t *in, size_t len,
		     uint8_t *out)
{
	lc_md_ctx *c;
	bool ok;
	(void)ctx;
	if (!hash_ok(h) || !enter())
		return -1;
	c = tls_md();
	ok = c && md_run(c, h, in, len, NULL, 0, out);
	if (!ok)
		tls_md_drop();
	leave();
	return ok ? 0 : -1;
}

static int sc_hash_new(void *ctx, enum tt_hash h, void **st)
{
	lc_md_ctx *c;
	bool ok;
	(void)ctx;
	if (!hash_ok(h) || !enter())
		return -1;
	c = L.md_ctx_new();
	ok = c && L.digest_init_ex(c, L.md[h], NULL) == 1;
	if (ok) {
		*st = c;
	} else {
		L.md_ctx_free(c);
	}
	leave();
	return ok ? 0 : -1;
}

static int sc_hash_update(void *ctx, void *st, const uint8_t *in, size_t len)
{
	bool ok;
	(void)ctx;
	if (len == 0)
		return 0;
	if (!enter())
		return -1;
	ok = L.digest_update(st, in, len) == 1;
	leave();
	return ok ? 0 : -1;
}

static int sc_hash_final(void *ctx, const void *st, uint8_t *out)
{
	lc_md_ctx *copy;
	unsigned int n = 0;
	bool ok;
	(void)ctx;
	if (!enter())
		return -1;
	copy = L.md_ctx_new();
	ok = copy && L.md_ctx_copy_ex(copy, st) == 1 &&
	     L.digest_final_ex(copy, out, &n) == 1;
	L.md_ctx_free(copy);
	leave();
	return ok ? 0 : -1;
}

static void sc_hash_free(void *ctx, void *st)
{
	(void)ctx;
	if (st == NULL || !enter())
		return;
	L.md_ctx_free(st);
	leave();
}

/* RFC 2104: H(K0 ^ opad || H(K0 ^ ipad || data)), K0 the key padded with
 * zeros to the block size, or its digest padded when it is longer. */
static int sc_hmac(void *ctx, enum tt_hash h, const uint8_t *key,
		   size_t key_len, const uint8_t *data, size_t len,
		   uint8_t *out)
{
	uint8_t k0[128], pad[128], inner[TT_HASH_MAX];
	size_t bl, hl;
	lc_md_ctx *c;
	bool ok;
	(void)ctx;
	if (!hash_ok(h) || !enter())
		return -1;
	bl = hash_block(h);
	hl = tt_hash_len(h);
	memset(k0, 0, sizeof(k0));
	c = tls_md();
	ok = c != NULL;
	if (ok && key_len > bl)
		ok = md_run(c, h, key, key_len, NULL, 0, k0);
	else if (key_len)
		memcpy(k0, key, key_len);
	if (ok) {
		for (size_t i = 0; i < bl; i++)
			pad[i] = k0[i] ^ 0x36;
		ok = md_run(c, h, pad, bl, data, len, inner);
	}
	if (ok) {
		for (size_t i = 0; i < bl; i++)
			pad[i] = k0[i] ^ 0x5c;
		ok = md_run(c, h, pad, bl, inner, hl, out);
	}
	if (!ok)
		tls_md_drop();
	leave();
	tt_wipe(k0, sizeof(k0));
	tt_wipe(pad, sizeof(pad));
	tt_wipe(inner, sizeof(inner));
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* AEAD                                                                */

/* One seal (enc) or open with a fresh context.  CCM needs the tag length
 * (and, to open, the tag) before the key, and the total length before the
 * AAD; GCM and ChaCha20-Poly1305 take the expected tag before the final
 * call that checks it. */
static int aead(int enc, enum tt_aead a, const uint8_t *key,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	static uint8_t dummy[1];
	uint8_t fin[16];
	lc_cipher_ctx *c;
	int ccm = a == TT_AEAD_AES_128_CCM, outl = 0;
	bool ok;

	if ((unsigned)a > TT_AEAD_AES_128_CCM || len > INT_MAX ||
	    aad_len > INT_MAX || !enter())
		return -1;
	if (len == 0) {
		in = dummy;
		out = dummy;
	}
	c = tls.aead[a];
	if (!c) {
		c = tls.aead[a] = L.cipher_ctx_new();
		tls_register();
	}
	ok =
	    c && L.cipher_init_ex(c, L.cipher[a], NULL, NULL, NULL, enc) == 1 &&
	    L.cipher_ctx_ctrl(c, LC_CTRL_AEAD_SET_IVLEN, TT_AEAD_NONCE_LEN,
			      NULL) == 1 &&
	    (!ccm || L.cipher_ctx_ctrl(c, LC_CTRL_AEAD_SET_TAG, TT_AEAD_TAG_LEN,
				       enc ? NULL : tag) == 1) &&
	    L.cipher_init_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
	    (!ccm || L.cipher_update(c, NULL, &outl, NULL, (int)len) == 1) &&
	    (aad_len == 0 ||
	     L.cipher_update(c, NULL, &outl, aad, (int)aad_len) == 1) &&
	    L.cipher_update(c, out, &outl, in, (int)len) == 1;
	if (ok && !enc && !ccm)
		ok = L.cipher_ctx_ctrl(c, LC_CTRL_AEAD_SET_TAG, TT_AEAD_TAG_LEN,
				       tag) == 1 &&
		     L.cipher_final_ex(c, fin, &outl) == 1;
	if (ok && enc)
		ok = L.cipher_final_ex(c, fin, &outl) == 1 &&
		     L.cipher_ctx_ctrl(c, LC_CTRL_AEAD_GET_TAG, TT_AEAD_TAG_LEN,
				       tag) == 1;
	if (!ok || ccm) {
		/* a failed open leaves state behind; CCM's message length
		 * is set once per key, so its context is not reused */
		L.cipher_ctx_free(c);
		tls.aead[a] = NULL;
	}
	leave();
	return ok ? 0 : -1;
}

static int sc_seal(void *ctx, enum tt_aead a, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	(void)ctx;
	return aead(1, a, key, nonce, aad, aad_len, in, len, out, tag);
}

static int sc_open(void *ctx, enum tt_aead a, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out,
		   const uint8_t *tag)
{
	uint8_t t[TT_AEAD_TAG_LEN];
	(void)ctx;
	memcpy(t, tag, sizeof(t));
	return aead(0, a, key, nonce, aad, aad_len, in, len, out, t);
}

/* ------------------------------------------------------------------ */
/* Single blocks, with per-thread contexts                             */

static void tls_free(void *p)
{
	struct tls_ctxs *t = p;
	/* Thread exit: after OPENSSL_cleanup the contexts are left alone. */
	bool live = L.init_crypto(0, NULL) == 1;
	for (size_t i = 0; i < AES_SLOTS; i++) {
		if (live)
			L.cipher_ctx_free(t->aes[i].c);
		tt_wipe(&t->aes[i], sizeof(t->aes[i]));
	}
	if (live) {
		L.md_ctx_free(t->md);
		for (size_t i = 0; i < 4; i++)
			L.cipher_ctx_free(t->aead[i]);
	}
	t->md = NULL;
	memset(t->aead, 0, sizeof(t->aead));
	/* A context made later in this thread's exit (another destructor
	 * tracing I/O) registers again and is freed on the next round. */
	t->registered = false;
}

/* This thread's slot for an AES key: the one that holds it (*fresh
 * false), else the least recently used one, to be keyed by the caller
 * (*fresh true).  A record's peek uses its direction's key, so a slot is
 * re-keyed only when the key changes (a connection's two directions, or
 * several connections, take turns). */
static struct aes_slot *aes_slot(const uint8_t *key, size_t key_len,
				 bool *fresh)
{
	struct aes_slot *lru = &tls.aes[0];
	*fresh = false;
	for (size_t i = 0; i < AES_SLOTS; i++) {
		struct aes_slot *a = &tls.aes[i];
		if (a->klen == key_len && memcmp(a->key, key, key_len) == 0) {
			a->used = ++tls.clock;
			return a;
		}
		if (a->used < lru->used)
			lru = a;
	}
	*fresh = true;
	lru->klen = 0;
	lru->used = ++tls.clock;
	return lru;
}

/* The slot now holds key. */
static void aes_slot_keyed(struct aes_slot *a, const uint8_t *key,
			   size_t key_len)
{
	memcpy(a->key, key, key_len);
	a->klen = (uint8_t)key_len;
	tls_register();
}

#ifdef HAVE_AESNI_CODE
/* AES single blocks with the AES-NI instructions (FIPS-197 with the key
 * expansion of Intel's AES-NI white paper), where the CPU has them: a
 * record's peek then costs a few nanoseconds and no call into libcrypto.
 * Expanded keys are cached per thread like the contexts below. */
static bool aesni_ok;

#define AESNI __attribute__((target("aes,sse4.1")))

AESNI static __m128i expand128(__m128i k, __m128i kg)
{
	kg = _mm_shuffle_epi32(kg, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, kg);
}

AESNI static void keys128(const uint8_t *key, __m128i *rk)
{
	rk[0] = _mm_loadu_si128((const __m128i *)key);
#define K128(i, rcon)                                                          \
	rk[i] = expand128(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rcon))
	K128(1, 0x01);
	K128(2, 0x02);
	K128(3, 0x04);
	K128(4, 0x08);
	K128(5, 0x10);
	K128(6, 0x20);
	K128(7, 0x40);
	K128(8, 0x80);
	K128(9, 0x1b);
	K128(10, 0x36);
#undef K128
}

/* AES-256: even round keys from the previous even one and RotWord/SubWord
 * of the odd one, odd round keys with SubWord only. */
AESNI static void keys256(const uint8_t *key, __m128i *rk)
{
	rk[0] = _mm_loadu_si128((const __m128i *)key);
	rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
#define K256(i, rcon)                                                          \
	do {                                                                   \
		rk[i] = expand128(rk[i - 2],                                   \
				  _mm_aeskeygenassist_si128(rk[i - 1], rcon)); \
		if (i + 1 < 15)                                                \
			rk[i + 1] = expand128(                                 \
				rk[i - 1],                                     \
				_mm_shuffle_epi32(                             \
					_mm_aeskeygenassist_si128(rk[i], 0),   \
					0xaa));                                \
	} while (0)
	K256(2, 0x01);
	K256(4, 0x02);
	K256(6, 0x04);
	K256(8, 0x08);
	K256(10, 0x10);
	K256(12, 0x20);
	K256(14, 0x40);
#undef K256
}

AESNI static void aesni_encrypt(const __m128i *rk, int rounds,
				const uint8_t *in, uint8_t *out)
{
	__m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), rk[0]);
	for (int r = 1; r < rounds; r++)
		x = _mm_aesenc_si128(x, rk[r]);
	x = _mm_aesenclast_si128(x, rk[rounds]);
	_mm_storeu_si128((__m128i *)out, x);
}

static int aesni_block(struct aes_slot *a, bool fresh, const uint8_t *key,
		       size_t key_len, const uint8_t *in, uint8_t *out)
{
	if (fresh) {
		if (key_len == 16)
			keys128(key, a->rk);
		else
			keys256(key, a->rk);
		aes_slot_keyed(a, key, key_len);
	}
	aesni_encrypt(a->rk, key_len == 16 ? 10 : 14, in, out);
	return 0;
}
#endif

/* AES single blocks: AES-NI where the CPU has it, else this thread's
 * libcrypto ECB contexts, keyed once per key. */
static int sc_aes_block(void *ctx, const uint8_t *key, size_t key_len,
			const uint8_t *in, uint8_t *out)
{
	int outl = 0;
	bool fresh;
	(void)ctx;
	if (key_len != 16 && key_len != 32)
		return -1;
#ifdef HAVE_AESNI_CODE
	if (aesni_ok) {
		struct aes_slot *n = aes_slot(key, key_len, &fresh);
		return aesni_block(n, fresh, key, key_len, in, out);
	}
#endif
	if (!enter())
		return -1;
	struct aes_slot *a = aes_slot(key, key_len, &fresh);
	if (fresh) {
		/* a context for the other key length is made anew */
		L.cipher_ctx_free(a->c);
		a->c = L.cipher_ctx_new();
		if (!a->c ||
		    L.encrypt_init_ex(a->c,
				      L.cipher[key_len == 16 ? AL_AES_128_ECB
							     : AL_AES_256_ECB],
				      NULL, key, NULL) != 1 ||
		    L.cipher_ctx_set_padding(a->c, 0) != 1)
			goto fail;
		aes_slot_keyed(a, key, key_len);
	}
	if (L.encrypt_update(a->c, out, &outl, in, TT_AES_BLOCK) != 1 ||
	    outl != TT_AES_BLOCK)
		goto fail;
	leave();
	return 0;
fail:
	/* its state unknown: the slot is emptied */
	L.cipher_ctx_free(a->c);
	tt_wipe(a, sizeof(*a));
	leave();
	return -1;
}

/* ChaCha20 block function (RFC 8439 2.3), computed here: one block is
 * cheaper than a cipher context's setup, and needs no libcrypto. */
#define ROTL32(v, n) ((uint32_t)((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                                         \
	do {                                                                   \
		a += b;                                                        \
		d ^= a;                                                        \
		d = ROTL32(d, 16);                                             \
		c += d;                                                        \
		b ^= c;                                                        \
		b = ROTL32(b, 12);                                             \
		a += b;                                                        \
		d ^= a;                                                        \
		d = ROTL32(d, 8);                                              \
		c += d;                                                        \
		b ^= c;                                                        \
		b = ROTL32(b, 7);                                              \
	} while (0)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int sc_chacha20_block(void *ctx, const uint8_t *key, uint32_t counter,
			     const uint8_t *nonce, uint8_t *out)
{
	uint32_t st[16], x[16];
	(void)ctx;
	st[0] = 0x61707865;
	st[1] = 0x3320646e;
	st[2] = 0x79622d32;
	st[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		st[4 + i] = le32(key + 4 * i);
	st[12] = counter;
	for (int i = 0; i < 3; i++)
		st[13 + i] = le32(nonce + 4 * i);
	memcpy(x, st, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + st[i];
		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
	tt_wipe(st, sizeof(st));
	tt_wipe(x, sizeof(x));
	return 0;
}

static const struct tt_crypto table = {
    .ctx = NULL,
    .digest = sc_digest,
    .hash_new = sc_hash_new,
    .hash_update = sc_hash_update,
    .hash_final = sc_hash_final,
    .hash_free = sc_hash_free,
    .hmac = sc_hmac,
    .aead_seal = sc_seal,
    .aead_open = sc_open,
    .aes_block = sc_aes_block,
    .chacha20_block = sc_chacha20_block,
};

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* Resolves every symbol of h into L; NULL, or what is missing. */
static const char *bind_syms(void *h, bool *v3)
{
	memset(&L, 0, sizeof(L));
#define X(name, ret, params, field)                                            \
	if (!(*(void **)&L.field = dlsym(h, #name)))                           \
		return "libcrypto lacks " #name;
	LC_COMMON(X)
#undef X
	*v3 = dlsym(h, "OSSL_LIB_CTX_new") != NULL;
	if (*v3) {
#define X(name, ret, params, field)                                            \
	if (!(*(void **)&L.field = dlsym(h, #name)))                           \
		return "libcrypto lacks " #name;
		LC_V3(X)
#undef X
	} else {
#define X(name, ret, params, field)                                            \
	if (!(*(void **)&L.field = dlsym(h, #name)))                           \
		return "libcrypto lacks " #name;
		LC_V1(X)
#undef X
	}
	return NULL;
}

/* Fetches (3) or looks up (1.1.1) every algorithm; NULL, or what
 * failed.  Called between ERR_set_mark() and ERR_pop_to_mark(). */
static const char *fetch_all(bool v3)
{
	static const char *const mds[2] = {"SHA256", "SHA384"};
	static const char *const ciphers[AL_CIPHERS] = {
	    "AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CCM",
	    "AES-128-ECB", "AES-256-ECB", "ChaCha20"};

	if (!v3) {
		L.md[TT_HASH_SHA256] = L.sha256();
		L.md[TT_HASH_SHA384] = L.sha384();
		L.cipher[TT_AEAD_AES_128_GCM] = L.aes_128_gcm();
		L.cipher[TT_AEAD_AES_256_GCM] = L.aes_256_gcm();
		L.cipher[TT_AEAD_CHACHA20_POLY1305] = L.chacha20_poly1305();
		L.cipher[TT_AEAD_AES_128_CCM] = L.aes_128_ccm();
		L.cipher[AL_AES_128_ECB] = L.aes_128_ecb();
		L.cipher[AL_AES_256_ECB] = L.aes_256_ecb();
		L.cipher[AL_CHACHA20] = L.chacha20();
	} else {
		L.libctx = L.libctx_new();
		if (!L.libctx)
			return "OSSL_LIB_CTX_new failed";
		for (int i = 0; i < 2; i++)
			L.md[i] = L.md_fetch(L.libctx, mds[i], NULL);
		for (int i = 0; i < AL_CIPHERS; i++)
			L.cipher[i] =
			    L.cipher_fetch(L.libctx, ciphers[i], NULL);
	}
	if (!L.md[TT_HASH_SHA256] || !L.md[TT_HASH_SHA384])
		return "libcrypto has no SHA-256 or SHA-384";
	for (int i = 0; i < AL_CIPHERS; i++)
		if (!L.cipher[i])
			return "libcrypto lacks a cipher (AES-GCM, AES-CCM, "
			       "AES-ECB, ChaCha20 or ChaCha20-Poly1305)";
	return NULL;
}

static void do_load(void)
{
	static const char *const names[] = {"libcrypto.so.3",
					    "libcrypto.so.1.1"};
	const char *why = "neither libcrypto.so.3 nor libcrypto.so.1.1 "
			  "could be loaded";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool v3, ours;
		const char *miss;
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);

		ours = h == NULL;
		if (ours)
			h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			dlerror(); /* leave no dlopen failure to the host */
			continue;
		}
		miss = bind_syms(h, &v3);
		if (miss) {
			/* Nothing of it has run yet: it can go. */
			why = miss;
			memset(&L, 0, sizeof(L));
			dlclose(h);
			continue;
		}
		/* From here on the library stays loaded, whatever happens.
		 * A copy we brought in is initialised before anything else
		 * can register its atexit handler; its error queue is ours
		 * alone, so popping with no mark (clearing it) is right. */
		if (ours && L.init_crypto(LC_INIT_NO_ATEXIT, NULL) != 1) {
			L.err_pop_to_mark();
			load_why = "OPENSSL_init_crypto failed";
			return;
		}
		L.err_set_mark();
		miss = fetch_all(v3);
		L.err_pop_to_mark();
		if (miss) {
			load_why = miss;
			return;
		}
		tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
#ifdef HAVE_AESNI_CODE
		__builtin_cpu_init();
		aesni_ok = __builtin_cpu_supports("aes") &&
			   __builtin_cpu_supports("sse4.1") &&
			   !getenv("TLSTRACE_NO_AESNI");
#endif
		__atomic_store_n(&loaded_table, &table, __ATOMIC_RELEASE);
		return;
	}
	load_why = why;
}

const struct tt_crypto *tt_crypto_load(const char **why)
{
	const struct tt_crypto *t =
	    __atomic_load_n(&loaded_table, __ATOMIC_ACQUIRE);

	if (!t) {
		pthread_once(&load_once, do_load);
		t = __atomic_load_n(&loaded_table, __ATOMIC_ACQUIRE);
	}
	if (!t && why)
		*why = load_why;
	return t;
}

bool tt_crypto_loaded(void)
{
	return __atomic_load_n(&loaded_table, __ATOMIC_ACQUIRE) != NULL;
}
