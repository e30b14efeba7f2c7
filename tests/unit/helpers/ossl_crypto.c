/* The crypto table (decoder/base/crypto.h) filled from libcrypto linked
 * directly: the oracle the shim's dlopen'ed binding and the decoder's
 * key schedule are tested against.  The ciphers OpenSSL 3 keeps in its
 * legacy provider (RC4, DES, SEED) are fetched from a library context of
 * this helper's own with the legacy and default providers loaded, as the
 * shim does; the rest come from the default context. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

#include "ossl_crypto.h"

const EVP_MD *ossl_md(enum tt_hash h)
{
	switch (h) {
	case TT_HASH_SHA384:
		return EVP_sha384();
	case TT_HASH_MD5:
		return EVP_md5();
	case TT_HASH_SHA1:
		return EVP_sha1();
	default:
		return EVP_sha256();
	}
}

static const char *const block_names[TT_CIPHER_COUNT] = {
	"AES-128-CBC",	    "AES-256-CBC",  "CAMELLIA-128-CBC",
	"CAMELLIA-256-CBC", "ARIA-128-CBC", "ARIA-256-CBC",
	"SEED-CBC",	    "IDEA-CBC",	    "DES-CBC",
	"DES-EDE3-CBC",	    "RC4"};
static EVP_CIPHER *blocks[TT_CIPHER_COUNT];
static OSSL_LIB_CTX *lc;
static pthread_once_t blocks_once = PTHREAD_ONCE_INIT;

/* Fetched once and never freed (a test process's lifetime). */
static void fetch_blocks(void)
{
	lc = OSSL_LIB_CTX_new();
	if (!lc || !OSSL_PROVIDER_load(lc, "default"))
		return;
	(void)OSSL_PROVIDER_load(lc, "legacy");
	for (int i = 0; i < TT_CIPHER_COUNT; i++)
		blocks[i] = EVP_CIPHER_fetch(lc, block_names[i], NULL);
	ERR_clear_error();
}

static const EVP_CIPHER *block_of(enum tt_cipher c)
{
	pthread_once(&blocks_once, fetch_blocks);
	return (unsigned)c < TT_CIPHER_COUNT ? blocks[c] : NULL;
}

static int lc_digest(void *ctx, enum tt_hash h, const uint8_t *in, size_t len,
		     uint8_t *out)
{
	static const uint8_t none[1];
	(void)ctx;
	return EVP_Digest(len ? in : none, len, out, NULL, ossl_md(h), NULL) ==
			       1
		       ? 0
		       : -1;
}

static int lc_hash_new(void *ctx, enum tt_hash h, void **st)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	(void)ctx;
	if (!c || EVP_DigestInit_ex(c, ossl_md(h), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	*st = c;
	return 0;
}

static int lc_hash_update(void *ctx, void *st, const uint8_t *in, size_t len)
{
	(void)ctx;
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(st, in, len) == 1 ? 0 : -1;
}

static int lc_hash_final(void *ctx, const void *st, uint8_t *out)
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	int ok;
	(void)ctx;
	ok = copy && EVP_MD_CTX_copy_ex(copy, st) == 1 &&
	     EVP_DigestFinal_ex(copy, out, NULL) == 1;
	EVP_MD_CTX_free(copy);
	return ok ? 0 : -1;
}

static void lc_hash_free(void *ctx, void *st)
{
	(void)ctx;
	EVP_MD_CTX_free(st);
}

static int lc_hmac(void *ctx, enum tt_hash h, const uint8_t *key,
		   size_t key_len, const uint8_t *data, size_t len,
		   uint8_t *out)
{
	static const uint8_t none[1];
	unsigned int n = 0;
	(void)ctx;
	if (key_len > INT_MAX)
		return -1;
	return HMAC(ossl_md(h), key_len ? key : none, (int)key_len,
		    len ? data : none, len, out, &n) != NULL &&
			       n == tt_hash_len(h)
		       ? 0
		       : -1;
}

static const EVP_CIPHER *cipher_of(enum tt_aead a)
{
	switch (a) {
	case TT_AEAD_AES_128_GCM:
		return EVP_aes_128_gcm();
	case TT_AEAD_AES_256_GCM:
		return EVP_aes_256_gcm();
	case TT_AEAD_CHACHA20_POLY1305:
		return EVP_chacha20_poly1305();
	case TT_AEAD_AES_128_CCM:
	case TT_AEAD_AES_128_CCM_8:
		return EVP_aes_128_ccm();
	case TT_AEAD_AES_256_CCM:
	case TT_AEAD_AES_256_CCM_8:
		return EVP_aes_256_ccm();
	case TT_AEAD_ARIA_128_GCM:
		return EVP_aria_128_gcm();
	case TT_AEAD_ARIA_256_GCM:
		return EVP_aria_256_gcm();
	}
	return NULL;
}

static bool is_ccm(enum tt_aead a)
{
	return a == TT_AEAD_AES_128_CCM || a == TT_AEAD_AES_256_CCM ||
	       a == TT_AEAD_AES_128_CCM_8 || a == TT_AEAD_AES_256_CCM_8;
}

static int lc_aead(int enc, enum tt_aead a, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	static uint8_t dummy[1];
	const EVP_CIPHER *ci = cipher_of(a);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ccm = is_ccm(a), tl = (int)tt_aead_tag_len(a), outl, ok;

	if (!c || !ci || len > INT_MAX || aad_len > INT_MAX) {
		EVP_CIPHER_CTX_free(c);
		return -1;
	}
	if (len == 0) {
		in = dummy;
		out = dummy;
	}
	ok = EVP_CipherInit_ex(c, ci, NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, TT_AEAD_NONCE_LEN,
				 NULL) == 1 &&
	     (!ccm || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl,
					  enc ? NULL : tag) == 1) &&
	     EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
	     (!ccm || EVP_CipherUpdate(c, NULL, &outl, NULL, (int)len) == 1) &&
	     (aad_len == 0 ||
	      EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len) == 1) &&
	     EVP_CipherUpdate(c, out, &outl, in, (int)len) == 1;
	if (ok && !enc && !ccm)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl, tag) ==
			     1 &&
		     EVP_CipherFinal_ex(c, dummy, &outl) == 1;
	if (ok && enc)
		ok = EVP_CipherFinal_ex(c, dummy, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, tl, tag) ==
			     1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int lc_seal(void *ctx, enum tt_aead a, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	(void)ctx;
	return lc_aead(1, a, key, nonce, aad, aad_len, in, len, out, tag);
}

static int lc_open(void *ctx, enum tt_aead a, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out,
		   const uint8_t *tag)
{
	uint8_t t[TT_AEAD_TAG_LEN];
	(void)ctx;
	memcpy(t, tag, tt_aead_tag_len(a));
	return lc_aead(0, a, key, nonce, aad, aad_len, in, len, out, t);
}

static int lc_aes_block(void *ctx, const uint8_t *key, size_t key_len,
			const uint8_t *in, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl, ok;
	(void)ctx;
	ok = c && (key_len == 16 || key_len == 32) &&
	     EVP_EncryptInit_ex(
		     c, key_len == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(),
		     NULL, key, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	     EVP_EncryptUpdate(c, out, &outl, in, TT_AES_BLOCK) == 1 &&
	     outl == TT_AES_BLOCK;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int lc_chacha20_block(void *ctx, const uint8_t *key, uint32_t counter,
			     const uint8_t *nonce, uint8_t *out)
{
	static const uint8_t zeros[TT_CHACHA20_BLOCK];
	uint8_t iv[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl, ok;
	(void)ctx;
	for (int i = 0; i < 4; i++)
		iv[i] = (uint8_t)(counter >> (8 * i)); /* little-endian */
	memcpy(iv + 4, nonce, 12);
	ok = c && EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv) == 1 &&
	     EVP_EncryptUpdate(c, out, &outl, zeros, TT_CHACHA20_BLOCK) == 1 &&
	     outl == TT_CHACHA20_BLOCK;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int lc_has(void *ctx, enum tt_alg_kind kind, int alg)
{
	(void)ctx;
	switch (kind) {
	case TT_ALG_HASH:
		return alg >= 0 && alg < TT_HASH_COUNT ? 0 : -1;
	case TT_ALG_AEAD:
		return alg >= 0 && alg < TT_AEAD_COUNT &&
				       cipher_of((enum tt_aead)alg)
			       ? 0
			       : -1;
	case TT_ALG_CIPHER:
		return block_of((enum tt_cipher)alg) ? 0 : -1;
	}
	return -1;
}

static int lc_cbc(int enc, enum tt_cipher ci, const uint8_t *key,
		  const uint8_t *iv, const uint8_t *in, size_t len,
		  uint8_t *out)
{
	const EVP_CIPHER *e = block_of(ci);
	EVP_CIPHER_CTX *c;
	uint8_t fin[16];
	int outl = 0, finl = 0, ok;
	size_t bs = tt_cipher_block(ci);

	if (!e || bs == 0 || len % bs || len > INT_MAX)
		return -1;
	if (len == 0)
		return 0;
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_CipherInit_ex(c, e, NULL, key, iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	     EVP_CipherUpdate(c, out, &outl, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(c, fin, &finl) == 1 &&
	     (size_t)outl + (size_t)finl == len;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int lc_cbc_encrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
			  const uint8_t *iv, const uint8_t *in, size_t len,
			  uint8_t *out)
{
	(void)ctx;
	return lc_cbc(1, c, key, iv, in, len, out);
}

static int lc_cbc_decrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
			  const uint8_t *iv, const uint8_t *in, size_t len,
			  uint8_t *out)
{
	(void)ctx;
	return lc_cbc(0, c, key, iv, in, len, out);
}

static int lc_stream_new(void *ctx, enum tt_cipher ci, const uint8_t *key,
			 void **st)
{
	const EVP_CIPHER *e = block_of(ci);
	EVP_CIPHER_CTX *c;
	(void)ctx;
	if (!e || tt_cipher_block(ci) != 0)
		return -1;
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex(c, e, NULL, key, NULL) != 1) {
		EVP_CIPHER_CTX_free(c);
		return -1;
	}
	*st = c;
	return 0;
}

static int lc_stream_xor(void *ctx, void *st, const uint8_t *in, size_t len,
			 uint8_t *out)
{
	int outl = 0;
	(void)ctx;
	if (len == 0)
		return 0;
	return len <= INT_MAX &&
			       EVP_EncryptUpdate(st, out, &outl, in,
						 (int)len) == 1 &&
			       (size_t)outl == len
		       ? 0
		       : -1;
}

static int lc_stream_copy(void *ctx, const void *st, void **copy)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	(void)ctx;
	if (!c || EVP_CIPHER_CTX_copy(c, st) != 1) {
		EVP_CIPHER_CTX_free(c);
		return -1;
	}
	*copy = c;
	return 0;
}

static void lc_stream_free(void *ctx, void *st)
{
	(void)ctx;
	EVP_CIPHER_CTX_free(st);
}

static const struct tt_crypto table = {
	.ctx = NULL,
	.digest = lc_digest,
	.hash_new = lc_hash_new,
	.hash_update = lc_hash_update,
	.hash_final = lc_hash_final,
	.hash_free = lc_hash_free,
	.hmac = lc_hmac,
	.has = lc_has,
	.aead_seal = lc_seal,
	.aead_open = lc_open,
	.cbc_encrypt = lc_cbc_encrypt,
	.cbc_decrypt = lc_cbc_decrypt,
	.stream_new = lc_stream_new,
	.stream_xor = lc_stream_xor,
	.stream_copy = lc_stream_copy,
	.stream_free = lc_stream_free,
	.aes_block = lc_aes_block,
	.chacha20_block = lc_chacha20_block,
};


const struct tt_crypto *ossl_crypto(void)
{
	return &table;
}
