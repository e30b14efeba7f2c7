/* Digests, HMAC and the AEADs, through libcrypto's EVP interface.
 *
 * HMAC uses the digest's own functions where libcrypto exports them (no
 * error queue, no context).  Digests, and HMAC otherwise, use this
 * thread's digest context, initialised on every use; a transcript
 * (hash_*) has a context of its own.  An AEAD uses this thread's context
 * for its algorithm, which keeps the last key (CCM's is made anew each
 * time).  Every EVP call is made between tt_lc_enter() and tt_lc_leave().
 * has() reads what tt_lc_load found, and needs no call.
 */
#include "libcrypto_local.h"

#include <limits.h>
#include <string.h>

/* This thread's digest context (each use initialises it). */
static EVP_MD_CTX *tls_md(void)
{
	struct tt_lc_thread *t = tt_lc_thread_get();
	if (!t)
		return NULL;
	if (!t->md)
		t->md = tt_lc.md_ctx_new();
	return t->md;
}

/* After a failure a context's state is unknown: made anew next time. */
static void tls_md_drop(void)
{
	struct tt_lc_thread *t = tt_lc_thread;
	if (t) {
		tt_lc.md_ctx_free(t->md);
		t->md = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Digests                                                             */

static bool hash_ok(enum tt_hash h)
{
	return (unsigned)h < TT_HASH_COUNT && tt_lc.md[h] != NULL;
}

static size_t hash_block(enum tt_hash h)
{
	return h == TT_HASH_SHA384 ? 128 : 64;
}

/* Hashes up to two pieces with c, which is initialised here. */
static bool md_run(EVP_MD_CTX *c, enum tt_hash h, const uint8_t *a, size_t alen,
		   const uint8_t *b, size_t blen, uint8_t *out)
{
	unsigned int n = 0;
	return tt_lc.digest_init_ex(c, tt_lc.md[h], NULL) == 1 &&
	       (alen == 0 || tt_lc.digest_update(c, a, alen) == 1) &&
	       (blen == 0 || tt_lc.digest_update(c, b, blen) == 1) &&
	       tt_lc.digest_final_ex(c, out, &n) == 1 && n == tt_hash_len(h);
}

int tt_lc_digest(void *ctx, enum tt_hash h, const uint8_t *in, size_t len,
		 uint8_t *out)
{
	EVP_MD_CTX *c;
	bool ok;
	(void)ctx;
	if (!hash_ok(h) || !tt_lc_enter())
		return -1;
	c = tls_md();
	ok = c && md_run(c, h, in, len, NULL, 0, out);
	if (!ok)
		tls_md_drop();
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_hash_new(void *ctx, enum tt_hash h, void **st)
{
	EVP_MD_CTX *c;
	bool ok;
	(void)ctx;
	if (!hash_ok(h) || !tt_lc_enter())
		return -1;
	c = tt_lc.md_ctx_new();
	ok = c && tt_lc.digest_init_ex(c, tt_lc.md[h], NULL) == 1;
	if (ok) {
		*st = c;
	} else {
		tt_lc.md_ctx_free(c);
	}
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_hash_update(void *ctx, void *st, const uint8_t *in, size_t len)
{
	bool ok;
	(void)ctx;
	if (len == 0)
		return 0;
	if (!tt_lc_enter())
		return -1;
	ok = tt_lc.digest_update(st, in, len) == 1;
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_hash_final(void *ctx, const void *st, uint8_t *out)
{
	EVP_MD_CTX *copy;
	unsigned int n = 0;
	bool ok;
	(void)ctx;
	if (!tt_lc_enter())
		return -1;
	copy = tt_lc.md_ctx_new();
	ok = copy && tt_lc.md_ctx_copy_ex(copy, st) == 1 &&
	     tt_lc.digest_final_ex(copy, out, &n) == 1;
	tt_lc.md_ctx_free(copy);
	tt_lc_leave();
	return ok ? 0 : -1;
}

void tt_lc_hash_free(void *ctx, void *st)
{
	(void)ctx;
	if (st == NULL || !tt_lc_enter())
		return;
	tt_lc.md_ctx_free(st);
	tt_lc_leave();
}

/* The context of a digest's own functions. */
union raw_ctx {
	SHA256_CTX sha256;
	SHA512_CTX sha512;
	MD5_CTX md5;
	SHA_CTX sha1;
};

/* A digest of up to two pieces with the digest's own functions. */
static bool raw_run(enum tt_hash h, union raw_ctx *c, const uint8_t *a,
		    size_t alen, const uint8_t *b, size_t blen, uint8_t *out)
{
#define RAW(init, update, final, st)                                           \
	(tt_lc.init(st) == 1 &&                                                \
	 (alen == 0 || tt_lc.update(st, a, alen) == 1) &&                      \
	 (blen == 0 || tt_lc.update(st, b, blen) == 1) &&                      \
	 tt_lc.final(out, st) == 1)
	switch (h) {
	case TT_HASH_SHA256:
		return RAW(sha256_init, sha256_update, sha256_final,
			   &c->sha256);
	case TT_HASH_SHA384:
		return RAW(sha384_init, sha384_update, sha384_final,
			   &c->sha512);
	case TT_HASH_MD5:
		return RAW(md5_init, md5_update, md5_final, &c->md5);
	case TT_HASH_SHA1:
		return RAW(sha1_init, sha1_update, sha1_final, &c->sha1);
	default:
		return false;
	}
#undef RAW
}

/* RFC 2104: H(K0 ^ opad || H(K0 ^ ipad || data)), K0 the key padded with
 * zeros to the block size, or its digest padded when it is longer.  With
 * the digest's own functions where there are (they raise no error and
 * need no context), else through this thread's EVP context. */
int tt_lc_hmac(void *ctx, enum tt_hash h, const uint8_t *key, size_t key_len,
	       const uint8_t *data, size_t len, uint8_t *out)
{
	uint8_t k0[128], pad[128], inner[TT_HASH_MAX];
	size_t bl, hl;
	EVP_MD_CTX *c = NULL;
	union raw_ctx rc;
	bool r, ok;
	(void)ctx;
	if (!hash_ok(h))
		return -1;
	r = tt_lc.raw[h];
	if (!r && !tt_lc_enter())
		return -1;
	bl = hash_block(h);
	hl = tt_hash_len(h);
	memset(k0, 0, sizeof(k0));
	ok = r || (c = tls_md()) != NULL;
#define RUN(a, al, b, bl_, o)                                                  \
	(r ? raw_run(h, &rc, a, al, b, bl_, o) : md_run(c, h, a, al, b, bl_, o))
	if (ok && key_len > bl)
		ok = RUN(key, key_len, NULL, 0, k0);
	else if (key_len)
		memcpy(k0, key, key_len);
	if (ok) {
		for (size_t i = 0; i < bl; i++)
			pad[i] = k0[i] ^ 0x36;
		ok = RUN(pad, bl, data, len, inner);
	}
	if (ok) {
		for (size_t i = 0; i < bl; i++)
			pad[i] = k0[i] ^ 0x5c;
		ok = RUN(pad, bl, inner, hl, out);
	}
#undef RUN
	if (!r) {
		if (!ok)
			tls_md_drop();
		tt_lc_leave();
	}
	tt_wipe(k0, sizeof(k0));
	tt_wipe(pad, sizeof(pad));
	tt_wipe(inner, sizeof(inner));
	tt_wipe(&rc, sizeof(rc));
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* AEAD                                                                */

/* One seal (enc) or open, with this thread's context for the AEAD, whose
 * key stays in place for the next call with the same key and direction.
 * CCM needs the tag length (and, to open, the tag) before the key, and
 * the total length before the AAD; GCM and ChaCha20-Poly1305 take the
 * expected tag before the final call that checks it. */
static int aead(int enc, enum tt_aead a, const uint8_t *key,
		const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	static uint8_t dummy[1];
	uint8_t fin[16];
	struct tt_lc_thread *t;
	EVP_CIPHER_CTX *c;
	int ccm = a == TT_AEAD_AES_128_CCM || a == TT_AEAD_AES_256_CCM ||
		  a == TT_AEAD_AES_128_CCM_8 || a == TT_AEAD_AES_256_CCM_8;
	int tl = (int)tt_aead_tag_len(a), outl = 0;
	size_t klen;
	bool ok;

	if ((unsigned)a >= TT_AEAD_COUNT || !tt_lc.cipher[a] || len > INT_MAX ||
	    aad_len > INT_MAX || !(t = tt_lc_thread_get()) || !tt_lc_enter())
		return -1;
	if (len == 0) {
		in = dummy;
		out = dummy;
	}
	c = t->aead[a];
	if (!c) {
		c = t->aead[a] = tt_lc.cipher_ctx_new();
		t->aead_keyed[a] = 0;
	}
	klen = tt_aead_key_len(a);
	if (c && !ccm && t->aead_keyed[a] == (enc ? 2 : 1) &&
	    memcmp(t->aead_key[a], key, klen) == 0) {
		/* the key is in place: a new nonce restarts the state */
		ok = tt_lc.cipher_init_ex(c, NULL, NULL, NULL, nonce, enc) == 1;
	} else {
		t->aead_keyed[a] = 0;
		ok = c &&
		     tt_lc.cipher_init_ex(c, tt_lc.cipher[a], NULL, NULL, NULL,
					  enc) == 1 &&
		     tt_lc.cipher_ctx_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN,
					   TT_AEAD_NONCE_LEN, NULL) == 1 &&
		     (!ccm ||
		      tt_lc.cipher_ctx_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl,
					    enc ? NULL : tag) == 1) &&
		     tt_lc.cipher_init_ex(c, NULL, NULL, key, nonce, enc) == 1;
	}
	ok = ok &&
	     (!ccm ||
	      tt_lc.cipher_update(c, NULL, &outl, NULL, (int)len) == 1) &&
	     (aad_len == 0 ||
	      tt_lc.cipher_update(c, NULL, &outl, aad, (int)aad_len) == 1) &&
	     tt_lc.cipher_update(c, out, &outl, in, (int)len) == 1;
	if (ok && !enc && !ccm)
		ok = tt_lc.cipher_ctx_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl, tag) ==
			     1 &&
		     tt_lc.cipher_final_ex(c, fin, &outl) == 1;
	if (ok && enc)
		ok = tt_lc.cipher_final_ex(c, fin, &outl) == 1 &&
		     tt_lc.cipher_ctx_ctrl(c, EVP_CTRL_AEAD_GET_TAG, tl, tag) ==
			     1;
	if (!ok || ccm) {
		/* a failed open leaves state behind; CCM's message length
		 * is set once per key, so its context is not reused */
		tt_lc.cipher_ctx_free(c);
		t->aead[a] = NULL;
		t->aead_keyed[a] = 0;
	} else if (!t->aead_keyed[a]) {
		memcpy(t->aead_key[a], key, klen);
		t->aead_keyed[a] = enc ? 2 : 1;
	}
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_aead_seal(void *ctx, enum tt_aead a, const uint8_t *key,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	(void)ctx;
	return aead(1, a, key, nonce, aad, aad_len, in, len, out, tag);
}

int tt_lc_aead_open(void *ctx, enum tt_aead a, const uint8_t *key,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, size_t len, uint8_t *out,
		    const uint8_t *tag)
{
	uint8_t t[TT_AEAD_TAG_LEN];
	(void)ctx;
	if ((unsigned)a >= TT_AEAD_COUNT)
		return -1;
	memcpy(t, tag, tt_aead_tag_len(a));
	return aead(0, a, key, nonce, aad, aad_len, in, len, out, t);
}

/* ------------------------------------------------------------------ */
/* What there is                                                       */

int tt_lc_has(void *ctx, enum tt_alg_kind kind, int alg)
{
	(void)ctx;
	switch (kind) {
	case TT_ALG_HASH:
		return alg >= 0 && alg < TT_HASH_COUNT && tt_lc.md[alg] ? 0
									: -1;
	case TT_ALG_AEAD:
		return alg >= 0 && alg < TT_AEAD_COUNT && tt_lc.cipher[alg]
			       ? 0
			       : -1;
	case TT_ALG_CIPHER:
		return alg >= 0 && alg < TT_CIPHER_COUNT && tt_lc.block[alg]
			       ? 0
			       : -1;
	}
	return -1;
}
