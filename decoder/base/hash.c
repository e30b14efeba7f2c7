/* MD5 (RFC 1321 3) and SHA-256 (FIPS 180-2 6.2).
 *
 * Both pad the message the same way (a 1 bit, zeros to 56 mod 64 bytes,
 * the bit length in 64 bits) and work on 64-byte blocks; they differ in
 * the byte order of words and length (MD5 little-endian, SHA-256
 * big-endian) and in the compression function.
 */
#include <stdbool.h>
#include <string.h>

#include "hash.h"

static inline uint32_t rol32(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Feeds n bytes to a 64-byte block buffer whose fill is len % 64,
 * calling block() on each block completed. */
static void absorb(uint32_t *h, uint8_t *buf, uint64_t *len, const void *p,
		   size_t n, void (*block)(uint32_t *h, const uint8_t *b))
{
	const uint8_t *q = p;
	size_t have = (size_t)(*len % 64);
	*len += n;
	if (have) {
		size_t take = 64 - have < n ? 64 - have : n;
		memcpy(buf + have, q, take);
		q += take;
		n -= take;
		if (have + take < 64)
			return;
		block(h, buf);
	}
	for (; n >= 64; q += 64, n -= 64)
		block(h, q);
	if (n)
		memcpy(buf, q, n);
}

/* Pads the message as both digests do (a 1 bit, zeros to 56 mod 64
 * bytes, the length in bits in 64 bits), then writes the nw words of h
 * to out, 4 bytes each; length and words big-endian when be is set,
 * little-endian otherwise. */
static void finish(uint32_t *h, unsigned nw, uint8_t *buf, uint64_t *len,
		   void (*block)(uint32_t *h, const uint8_t *b), bool be,
		   uint8_t *out)
{
	uint64_t bits = *len * 8;
	uint8_t tail[72] = {0x80};
	size_t padlen = 64 - (size_t)((*len + 8) % 64); /* 1 to 64 */
	for (unsigned i = 0; i < 8; i++)
		tail[padlen + i] = (uint8_t)(bits >> (be ? 56 - 8 * i : 8 * i));
	absorb(h, buf, len, tail, padlen + 8, block);
	for (unsigned i = 0; i < nw; i++)
		for (unsigned j = 0; j < 4; j++)
			out[4 * i + j] =
				(uint8_t)(h[i] >> (be ? 24 - 8 * j : 8 * j));
}

/* ---- MD5 ---- */

/* RFC 1321 3.4: the per-step shifts and T[i] = floor(2^32 * |sin(i + 1)|). */
static const uint8_t md5_s[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static void md5_block(uint32_t *h, const uint8_t *b)
{
	uint32_t x[16];
	for (int i = 0; i < 16; i++)
		x[i] = le32(b + 4 * i);
	uint32_t a = h[0], bb = h[1], c = h[2], d = h[3];
	for (unsigned i = 0; i < 64; i++) {
		uint32_t f;
		unsigned k;
		switch (i / 16) {
		case 0: /* F, message words in order */
			f = (bb & c) | (~bb & d);
			k = i;
			break;
		case 1: /* G, 1 + 5i */
			f = (bb & d) | (c & ~d);
			k = (1 + 5 * i) % 16;
			break;
		case 2: /* H, 5 + 3i */
			f = bb ^ c ^ d;
			k = (5 + 3 * i) % 16;
			break;
		default: /* I, 7i */
			f = c ^ (bb | ~d);
			k = (7 * i) % 16;
			break;
		}
		uint32_t t = d;
		d = c;
		c = bb;
		bb = bb + rol32(a + f + md5_t[i] + x[k], md5_s[i]);
		a = t;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
}

void tt_md5_init(struct tt_md5 *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->len = 0;
}

void tt_md5_update(struct tt_md5 *c, const void *p, size_t n)
{
	absorb(c->h, c->buf, &c->len, p, n, md5_block);
}

void tt_md5_final(struct tt_md5 *c, uint8_t out[TT_MD5_LEN])
{
	finish(c->h, 4, c->buf, &c->len, md5_block, false, out);
}

void tt_md5(const void *p, size_t n, uint8_t out[TT_MD5_LEN])
{
	struct tt_md5 c;
	tt_md5_init(&c);
	tt_md5_update(&c, p, n);
	tt_md5_final(&c, out);
}

/* ---- SHA-256 ---- */

/* FIPS 180-2 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t *h, const uint8_t *b)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = be32(b + 4 * i);
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^
			      (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
		 g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t S1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + S1 + ch + sha256_k[i] + w[i];
		uint32_t S0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
		uint32_t maj = (a & bb) ^ (a & c) ^ (bb & c);
		uint32_t t2 = S0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = bb;
		bb = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void tt_sha256_init(struct tt_sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof(iv));
	c->len = 0;
}

void tt_sha256_update(struct tt_sha256 *c, const void *p, size_t n)
{
	absorb(c->h, c->buf, &c->len, p, n, sha256_block);
}

void tt_sha256_final(struct tt_sha256 *c, uint8_t out[TT_SHA256_LEN])
{
	finish(c->h, 8, c->buf, &c->len, sha256_block, true, out);
}

void tt_sha256(const void *p, size_t n, uint8_t out[TT_SHA256_LEN])
{
	struct tt_sha256 c;
	tt_sha256_init(&c);
	tt_sha256_update(&c, p, n);
	tt_sha256_final(&c, out);
}

char *tt_hex_lower(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = 0;
	return out;
}
