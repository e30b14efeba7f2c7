/* AES single blocks, for the decoder's peek at a record's keystream
 * (decoder/decrypt/decrypt.c): with the AES-NI instructions where the CPU
 * has them, else with this thread's libcrypto ECB contexts.  Either way
 * each thread keeps a few keyed slots, re-keyed only when the key
 * changes.
 */
#include "libcrypto_local.h"

#include <stdlib.h>
#include <string.h>

/* This thread's slot for an AES key: the one that holds it (*fresh
 * false), else the least recently used one, to be keyed by the caller
 * (*fresh true).  A record's peek uses its direction's key, so a slot is
 * re-keyed only when the key changes (a connection's two directions, or
 * several connections, take turns). */
static struct tt_lc_aes_slot *aes_slot(struct tt_lc_thread *t,
				       const uint8_t *key, size_t key_len,
				       bool *fresh)
{
	struct tt_lc_aes_slot *lru = &t->aes[0];
	*fresh = false;
	for (size_t i = 0; i < AES_SLOTS; i++) {
		struct tt_lc_aes_slot *a = &t->aes[i];
		if (a->klen == key_len && memcmp(a->key, key, key_len) == 0) {
			a->used = ++t->clock;
			return a;
		}
		if (a->used < lru->used)
			lru = a;
	}
	*fresh = true;
	lru->klen = 0;
	lru->used = ++t->clock;
	return lru;
}

/* The slot now holds key. */
static void aes_slot_keyed(struct tt_lc_aes_slot *a, const uint8_t *key,
			   size_t key_len)
{
	memcpy(a->key, key, key_len);
	a->klen = (uint8_t)key_len;
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

static int aesni_block(struct tt_lc_aes_slot *a, bool fresh, const uint8_t *key,
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
int tt_lc_aes_block(void *ctx, const uint8_t *key, size_t key_len,
		    const uint8_t *in, uint8_t *out)
{
	struct tt_lc_thread *t;
	int outl = 0;
	bool fresh;
	(void)ctx;
	if (key_len != 16 && key_len != 32)
		return -1;
	t = tt_lc_thread_get();
	if (!t)
		return -1;
#ifdef HAVE_AESNI_CODE
	if (aesni_ok) {
		struct tt_lc_aes_slot *n = aes_slot(t, key, key_len, &fresh);
		return aesni_block(n, fresh, key, key_len, in, out);
	}
#endif
	if (!tt_lc_enter())
		return -1;
	struct tt_lc_aes_slot *a = aes_slot(t, key, key_len, &fresh);
	if (fresh) {
		/* a context for the other key length is made anew */
		tt_lc.cipher_ctx_free(a->c);
		a->c = tt_lc.cipher_ctx_new();
		if (!a->c ||
		    tt_lc.encrypt_init_ex(
			    a->c,
			    tt_lc.cipher[key_len == 16 ? AL_AES_128_ECB
						       : AL_AES_256_ECB],
			    NULL, key, NULL) != 1 ||
		    tt_lc.cipher_ctx_set_padding(a->c, 0) != 1)
			goto fail;
		aes_slot_keyed(a, key, key_len);
	}
	if (tt_lc.encrypt_update(a->c, out, &outl, in, TT_AES_BLOCK) != 1 ||
	    outl != TT_AES_BLOCK)
		goto fail;
	tt_lc_leave();
	return 0;
fail:
	/* its state unknown: the slot is emptied */
	tt_lc.cipher_ctx_free(a->c);
	tt_wipe(a, sizeof(*a));
	tt_lc_leave();
	return -1;
}

void tt_lc_aes_init(void)
{
#ifdef HAVE_AESNI_CODE
	__builtin_cpu_init();
	aesni_ok = __builtin_cpu_supports("aes") &&
		   __builtin_cpu_supports("sse4.1") &&
		   !getenv("TLSTRACE_NO_AESNI");
#endif
}
