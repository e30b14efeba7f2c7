/* decoder/base/hash.c: MD5 against the test suite of RFC 1321 (A.5),
 * SHA-256 against the examples of FIPS 180-2 (appendix B) and the
 * NIST one-million-'a' message; then every split of messages around the
 * block and padding boundaries through the incremental interface, with
 * libcrypto as the oracle.  Inputs are exact-size heap copies, so that
 * ASan sees any overread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"

static char *hex_of(const uint8_t *b, size_t n)
{
	static char out[2 * 64 + 1];
	return tt_hex_lower(b, n, out);
}

static uint8_t *heap_copy(const void *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

static const char *md5_hex(const char *s)
{
	size_t n = strlen(s);
	uint8_t *q = heap_copy(s, n), d[TT_MD5_LEN];
	tt_md5(q, n, d);
	free(q);
	return hex_of(d, sizeof(d));
}

static const char *sha256_hex(const void *s, size_t n)
{
	uint8_t *q = heap_copy(s, n), d[TT_SHA256_LEN];
	tt_sha256(q, n, d);
	free(q);
	return hex_of(d, sizeof(d));
}

/* RFC 1321 A.5 */
static void test_md5_rfc1321(void **state)
{
	(void)state;
	assert_string_equal(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
	assert_string_equal(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
	assert_string_equal(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
	assert_string_equal(md5_hex("message digest"),
			    "f96b697d7cb7938d525a2f31aaf161d0");
	assert_string_equal(md5_hex("abcdefghijklmnopqrstuvwxyz"),
			    "c3fcd3d76192e4007dfb496cca67e13b");
	assert_string_equal(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				    "qrstuvwxyz0123456789"),
			    "d174ab98d277d9f5a5611c2c9f419d9f");
	assert_string_equal(md5_hex("1234567890123456789012345678901234567890"
				    "1234567890123456789012345678901234567890"),
			    "57edf4a22be3c955ac49da2e2107b67a");
}

/* FIPS 180-2 B.1, B.2, B.3 */
static void test_sha256_fips180_2(void **state)
{
	(void)state;
	assert_string_equal(sha256_hex("abc", 3),
			    "ba7816bf8f01cfea414140de5dae2223"
			    "b00361a396177a9cb410ff61f20015ad");
	const char *b2 =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_string_equal(sha256_hex(b2, strlen(b2)),
			    "248d6a61d20638b8e5c026930c3e6039"
			    "a33ce45964ff2167f6ecedd419db06c1");
	size_t n = 1000000;
	char *a = malloc(n);
	assert_non_null(a);
	memset(a, 'a', n);
	assert_string_equal(sha256_hex(a, n),
			    "cdc76e5c9914fb9281a1c7e284d73e67"
			    "f1809a48a497200e046d39ccc7112cd0");
	/* the same million through the incremental interface, in pieces
	 * that are never a multiple of the block */
	struct tt_sha256 c;
	uint8_t d[TT_SHA256_LEN];
	tt_sha256_init(&c);
	for (size_t o = 0, step = 1; o < n; o += step, step = step % 97 + 1)
		tt_sha256_update(&c, a + o, o + step > n ? n - o : step);
	tt_sha256_final(&c, d);
	assert_string_equal(hex_of(d, sizeof(d)),
			    "cdc76e5c9914fb9281a1c7e284d73e67"
			    "f1809a48a497200e046d39ccc7112cd0");
	free(a);
	assert_string_equal(sha256_hex("", 0),
			    "e3b0c44298fc1c149afbf4c8996fb924"
			    "27ae41e4649b934ca495991b7852b855");
}

static void oracle(const EVP_MD *md, const uint8_t *m, size_t n, uint8_t *out)
{
	unsigned len = 0;
	assert_int_equal(EVP_Digest(m, n, out, &len, md, NULL), 1);
}

/* alg's digest of the n bytes at m through the incremental interface,
 * in two updates split at cut. */
#define SPLIT(alg)                                                             \
	static void alg##_split(const uint8_t *m, size_t n, size_t cut,        \
				uint8_t *out)                                  \
	{                                                                      \
		struct tt_##alg c;                                             \
		tt_##alg##_init(&c);                                           \
		tt_##alg##_update(&c, m, cut);                                 \
		tt_##alg##_update(&c, m + cut, n - cut);                       \
		tt_##alg##_final(&c, out);                                     \
	}
SPLIT(md5)
SPLIT(sha256)

/* Each digest with its libcrypto oracle, in both forms. */
static const struct digest {
	const EVP_MD *(*md)(void);
	void (*whole)(const void *p, size_t n, uint8_t *out);
	void (*split)(const uint8_t *m, size_t n, size_t cut, uint8_t *out);
	size_t len;
} digests[] = {
	{EVP_md5, tt_md5, md5_split, TT_MD5_LEN},
	{EVP_sha256, tt_sha256, sha256_split, TT_SHA256_LEN},
};
#define NDIGESTS (sizeof(digests) / sizeof(digests[0]))

/* Every length from 0 to 200 (the padding's one and two final blocks,
 * lengths of 55, 56, 63, 64 and 119, 120), each split at every offset. */
static void test_lengths_and_splits(void **state)
{
	(void)state;
	uint8_t msg[200];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	unsigned checks = 0;
	for (size_t n = 0; n <= sizeof(msg); n++) {
		uint8_t *m = heap_copy(msg, n);
		uint8_t want[NDIGESTS][TT_SHA256_LEN], got[TT_SHA256_LEN];
		for (size_t a = 0; a < NDIGESTS; a++) {
			const struct digest *d = &digests[a];
			oracle(d->md(), m, n, want[a]);
			d->whole(m, n, got);
			assert_memory_equal(got, want[a], d->len);
		}
		for (size_t cut = 0; cut <= n; cut++) {
			for (size_t a = 0; a < NDIGESTS; a++) {
				digests[a].split(m, n, cut, got);
				assert_memory_equal(got, want[a],
						    digests[a].len);
			}
			checks++;
		}
		free(m);
	}
	print_message("%u splits checked against libcrypto\n", checks);
}

static void test_hex(void **state)
{
	(void)state;
	const uint8_t b[] = {0x00, 0x0f, 0xa0, 0xff};
	char out[9];
	assert_string_equal(tt_hex_lower(b, 4, out), "000fa0ff");
	assert_string_equal(tt_hex_lower(b, 0, out), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_rfc1321),
		cmocka_unit_test(test_sha256_fips180_2),
		cmocka_unit_test(test_lengths_and_splits),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
