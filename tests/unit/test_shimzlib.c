/* shim/zlib.c: the inflate table from a dlopen'ed zlib.
 *
 * The test binary links zlib (to deflate), so the dlopen finds the same
 * library.  Oracles: a stream of two records made by Python's zlib
 * (compressobj(), each record flushed with Z_SYNC_FLUSH, as OpenSSL's
 * zlib method does), and zlib's deflate called directly.
 *
 * The first test must run first: it checks that nothing is loaded before
 * the first tt_inflate_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "libz.h"

static const struct tt_inflate *T;

/* Two records of one stream: "hello, hello, hello" then "hello, world",
 * whose "hello" refers back into the first record. */
#define REC1 "789cca48cdc9c9d751c840a200000000ffff"
#define REC2 "82b2cbf38b725200000000ffff"

static void *new_stream(void)
{
	void *st = NULL;
	assert_int_equal(T->stream_new(T->ctx, &st), 0);
	assert_non_null(st);
	return st;
}

/* Inflates hex into out (cap bytes); the table's result. */
static int inflate_hex(void *st, const char *hex, uint8_t *out, size_t cap,
		       size_t *got)
{
	uint8_t in[256];
	size_t n = unhex(hex, in, sizeof(in));
	uint8_t *exact = dup_exact(in, n);
	int rc = T->inflate(T->ctx, st, exact, n, out, cap, got);
	free(exact);
	return rc;
}

/* One deflate stream, each record flushed with Z_SYNC_FLUSH. */
struct defl {
	z_stream z;
};

static void defl_init(struct defl *d)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(deflateInit(&d->z, Z_DEFAULT_COMPRESSION), Z_OK);
}

/* Compresses in as one record into out (cap bytes); its length. */
static size_t defl_record(struct defl *d, const uint8_t *in, size_t n,
			  uint8_t *out, size_t cap)
{
	d->z.next_in = (Bytef *)in;
	d->z.avail_in = (uInt)n;
	d->z.next_out = out;
	d->z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&d->z, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(d->z.avail_in, 0);
	assert_true(d->z.avail_out > 0);
	return cap - d->z.avail_out;
}

/* ------------------------------------------------------------------ */

static void test_load(void **state)
{
	(void)state;
	const char *why = "untouched";
	assert_false(tt_inflate_loaded());
	T = tt_inflate_load(&why);
	assert_non_null(T);
	assert_string_equal(why, "untouched");
	assert_true(tt_inflate_loaded());
	assert_ptr_equal(tt_inflate_load(NULL), T);
	assert_non_null(T->stream_new);
	assert_non_null(T->inflate);
	assert_non_null(T->stream_free);
	T->stream_free(T->ctx, NULL); /* accepted */
}

/* The known stream, record by record: the second inflates only after
 * the first, in the same stream (the window spans records). */
static void test_known_stream(void **state)
{
	(void)state;
	uint8_t out[64];
	size_t got = 99;
	void *st = new_stream();
	assert_int_equal(inflate_hex(st, REC1, out, sizeof(out), &got), 0);
	assert_int_equal(got, 19);
	assert_memory_equal(out, "hello, hello, hello", 19);
	assert_int_equal(inflate_hex(st, REC2, out, sizeof(out), &got), 0);
	assert_int_equal(got, 12);
	assert_memory_equal(out, "hello, world", 12);
	T->stream_free(T->ctx, st);

	/* alone, in a fresh stream, the second record has no zlib header */
	st = new_stream();
	assert_int_equal(inflate_hex(st, REC2, out, sizeof(out), &got),
			 TT_INFLATE_BAD);
	T->stream_free(T->ctx, st);
}

/* Exactly the room given is fine; one byte more is TT_INFLATE_TOO_BIG,
 * whether it is left in the input or held inside zlib. */
static void test_bounds(void **state)
{
	(void)state;
	static uint8_t plain[TT_INFLATED_MAX + 1], comp[TT_COMPRESSED_MAX],
		out[TT_INFLATED_MAX];
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + (i >> 5));
	for (int extra = 0; extra < 2; extra++) {
		struct defl d;
		defl_init(&d);
		size_t n = defl_record(&d, plain, TT_INFLATED_MAX + extra, comp,
				       sizeof(comp));
		void *st = new_stream();
		size_t got = 0;
		int rc =
			T->inflate(T->ctx, st, comp, n, out, sizeof(out), &got);
		if (extra) {
			assert_int_equal(rc, TT_INFLATE_TOO_BIG);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(got, TT_INFLATED_MAX);
			assert_memory_equal(out, plain, TT_INFLATED_MAX);
		}
		T->stream_free(T->ctx, st);
		deflateEnd(&d.z);
	}
	/* a highly compressible record: 16385 zero bytes in a few bytes */
	memset(plain, 0, sizeof(plain));
	struct defl d;
	defl_init(&d);
	size_t n = defl_record(&d, plain, sizeof(plain), comp, sizeof(comp));
	assert_true(n < 64);
	void *st = new_stream();
	size_t got;
	assert_int_equal(
		T->inflate(T->ctx, st, comp, n, out, sizeof(out), &got),
		TT_INFLATE_TOO_BIG);
	T->stream_free(T->ctx, st);
	deflateEnd(&d.z);
}

/* Corrupt data, a stream that ends (Z_FINISH), empty input: failures. */
static void test_bad(void **state)
{
	(void)state;
	uint8_t out[64];
	size_t got;
	void *st = new_stream();
	/* a zlib header whose check bits are wrong */
	assert_int_equal(inflate_hex(st, "789dca48cdc9c9d751c840a200000000ffff",
				     out, sizeof(out), &got),
			 TT_INFLATE_BAD);
	T->stream_free(T->ctx, st);

	st = new_stream();
	/* a block type 3 (reserved) after a good header */
	assert_int_equal(inflate_hex(st, "789c07", out, sizeof(out), &got),
			 TT_INFLATE_BAD);
	T->stream_free(T->ctx, st);

	/* a whole stream, ended: OpenSSL's expand fails on Z_STREAM_END */
	uint8_t comp[64];
	uLongf clen = sizeof(comp);
	assert_int_equal(compress(comp, &clen, (const Bytef *)"hello", 5),
			 Z_OK);
	st = new_stream();
	assert_int_equal(
		T->inflate(T->ctx, st, comp, clen, out, sizeof(out), &got),
		TT_INFLATE_BAD);
	T->stream_free(T->ctx, st);

	st = new_stream();
	assert_int_equal(
		T->inflate(T->ctx, st, comp, 0, out, sizeof(out), &got),
		TT_INFLATE_BAD);
	assert_int_equal(got, 0);
	T->stream_free(T->ctx, st);
}

/* A record cut inside a DEFLATE block (no flush at its end) yields what
 * it can; the next one goes on from there. */
static void test_unflushed(void **state)
{
	(void)state;
	uint8_t in[64], out[64];
	size_t n = unhex(REC1 REC2, in, sizeof(in));
	void *st = new_stream();
	size_t got1, got2;
	assert_int_equal(
		T->inflate(T->ctx, st, in, 10, out, sizeof(out), &got1), 0);
	assert_int_equal(T->inflate(T->ctx, st, in + 10, n - 10, out + got1,
				    sizeof(out) - got1, &got2),
			 0);
	assert_int_equal(got1 + got2, 31);
	assert_memory_equal(out, "hello, hello, hellohello, world", 31);
	T->stream_free(T->ctx, st);
}

/* A library that is not there, or is not zlib: NULL with the reason,
 * nothing left loaded, no dlerror() left for the host. */
static void test_absent(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_null(tt_zlib_open("libtlstrace-absent.so.9", &why));
	assert_string_equal(why, "zlib could not be loaded");
	assert_null(dlerror());
	why = NULL;
	assert_null(tt_zlib_open("libcmocka.so.0", &why));
	assert_string_equal(why, "zlib lacks inflateInit2_");
	assert_null(dlerror());
	/* the loaded table is not affected */
	assert_ptr_equal(tt_inflate_load(NULL), T);
}

/* A second, independent table from the same library works the same. */
static void test_open_again(void **state)
{
	(void)state;
	const char *why = NULL;
	const struct tt_inflate *t = tt_zlib_open("libz.so.1", &why);
	assert_non_null(t);
	assert_ptr_not_equal(t, T);
	void *st = NULL;
	assert_int_equal(t->stream_new(t->ctx, &st), 0);
	uint8_t in[64], out[64];
	size_t n = unhex(REC1, in, sizeof(in)), got;
	assert_int_equal(t->inflate(t->ctx, st, in, n, out, sizeof(out), &got),
			 0);
	assert_int_equal(got, 19);
	t->stream_free(t->ctx, st);
	tt_zlib_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_known_stream),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_unflushed),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_open_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
