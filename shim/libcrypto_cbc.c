/* The ciphers of the MAC-protected suites: block ciphers in CBC mode
 * (AES, Camellia, ARIA, SEED, IDEA, DES, 3DES) and RC4, through
 * libcrypto's EVP interface.
 *
 * CBC runs on this thread's context, initialised with the key and IV on
 * every call, padding off: chaining from one record to the next is the
 * decoder's (it passes the IV in).  An RC4 state is a context of its own,
 * made by stream_new and carried by the decoder from record to record.
 * Every call is made between tt_lc_enter() and tt_lc_leave().
 */
#include "libcrypto_local.h"

#include <limits.h>
#include <string.h>

static bool cbc_ok(enum tt_cipher c, size_t len)
{
	size_t bs;
	if ((unsigned)c >= TT_CIPHER_COUNT || !tt_lc.block[c])
		return false;
	bs = tt_cipher_block(c);
	return bs != 0 && len % bs == 0 && len <= INT_MAX;
}

static int cbc(int enc, enum tt_cipher ci, const uint8_t *key,
	       const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t fin[TT_CIPHER_BLOCK_MAX];
	int outl = 0, finl = 0;
	struct tt_lc_thread *t;
	EVP_CIPHER_CTX *c;
	bool ok;

	if (!cbc_ok(ci, len))
		return -1;
	if (len == 0)
		return 0;
	t = tt_lc_thread_get();
	if (!t || !tt_lc_enter())
		return -1;
	c = t->cbc;
	if (!c)
		c = t->cbc = tt_lc.cipher_ctx_new();
	ok = c &&
	     tt_lc.cipher_init_ex(c, tt_lc.block[ci], NULL, key, iv, enc) ==
		     1 &&
	     tt_lc.cipher_ctx_set_padding(c, 0) == 1 &&
	     tt_lc.cipher_update(c, out, &outl, in, (int)len) == 1 &&
	     (size_t)outl <= len && tt_lc.cipher_final_ex(c, fin, &finl) == 1 &&
	     (size_t)outl + (size_t)finl == len;
	/* without padding nothing is held back, so final writes nothing;
	 * were it otherwise, the sizes above would not add up */
	if (!ok) {
		/* its state unknown: made anew next time */
		tt_lc.cipher_ctx_free(c);
		t->cbc = NULL;
	}
	tt_lc_leave();
	tt_wipe(fin, sizeof(fin));
	return ok ? 0 : -1;
}

int tt_lc_cbc_encrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
		      const uint8_t *iv, const uint8_t *in, size_t len,
		      uint8_t *out)
{
	(void)ctx;
	return cbc(1, c, key, iv, in, len, out);
}

int tt_lc_cbc_decrypt(void *ctx, enum tt_cipher c, const uint8_t *key,
		      const uint8_t *iv, const uint8_t *in, size_t len,
		      uint8_t *out)
{
	(void)ctx;
	return cbc(0, c, key, iv, in, len, out);
}

int tt_lc_stream_new(void *ctx, enum tt_cipher ci, const uint8_t *key,
		     void **st)
{
	EVP_CIPHER_CTX *c;
	bool ok;
	(void)ctx;
	if ((unsigned)ci >= TT_CIPHER_COUNT || tt_cipher_block(ci) != 0 ||
	    !tt_lc.block[ci] || !tt_lc_enter())
		return -1;
	c = tt_lc.cipher_ctx_new();
	ok = c &&
	     tt_lc.cipher_init_ex(c, tt_lc.block[ci], NULL, key, NULL, 1) == 1;
	if (ok)
		*st = c;
	else
		tt_lc.cipher_ctx_free(c);
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_stream_xor(void *ctx, void *st, const uint8_t *in, size_t len,
		     uint8_t *out)
{
	bool ok = true;
	(void)ctx;
	if (len == 0)
		return 0;
	if (!tt_lc_enter())
		return -1;
	for (size_t done = 0; ok && done < len;) {
		size_t take = len - done < (1u << 30) ? len - done : 1u << 30;
		int outl = 0;
		ok = tt_lc.cipher_update(st, out + done, &outl, in + done,
					 (int)take) == 1 &&
		     (size_t)outl == take;
		done += take;
	}
	tt_lc_leave();
	return ok ? 0 : -1;
}

int tt_lc_stream_copy(void *ctx, const void *st, void **copy)
{
	EVP_CIPHER_CTX *c;
	bool ok;
	(void)ctx;
	if (!tt_lc_enter())
		return -1;
	c = tt_lc.cipher_ctx_new();
	ok = c && tt_lc.cipher_ctx_copy(c, st) == 1;
	if (ok)
		*copy = c;
	else
		tt_lc.cipher_ctx_free(c);
	tt_lc_leave();
	return ok ? 0 : -1;
}

void tt_lc_stream_free(void *ctx, void *st)
{
	(void)ctx;
	if (st == NULL || !tt_lc_enter())
		return;
	tt_lc.cipher_ctx_free(st);
	tt_lc_leave();
}
