/* The ChaCha20 block, for the decoder's peek at a record's keystream
 * (decoder/decrypt/decrypt.c). */
#include "libcrypto_local.h"

#include <string.h>

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

int tt_lc_chacha20_block(void *ctx, const uint8_t *key, uint32_t counter,
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
