/* Test helpers for byte strings: hex text in, compared as hex, and
 * copies of exactly the size asked (so that AddressSanitizer sees any
 * read past the end).  Include after <cmocka.h>. */
#ifndef TEST_BYTES_H
#define TEST_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hex text s into out (cap bytes); returns the byte count. */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	assert_true(strlen(s) % 2 == 0 && n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Fails, showing both, unless got starts with the bytes of hex want. */
static inline void assert_hex(const uint8_t *got, const char *want)
{
	uint8_t w[512];
	size_t n = unhex(want, w, sizeof(w));
	if (memcmp(got, w, n) != 0) {
		char g[1025];
		for (size_t i = 0; i < n; i++)
			snprintf(g + 2 * i, 3, "%02x", got[i]);
		fail_msg("got  %s\nwant %s", g, want);
	}
}

/* A malloc'ed copy of n bytes, exactly n (1 when n is 0). */
static inline uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

#endif
