/* shim/ptrmap.c: the bounded map of what a program set on a TLS
 * library's objects.  Values come back by key, a forgotten key is gone,
 * a copy follows its source, the map refuses a put past three quarters
 * of its entries (never grows), and after many puts and removals (which
 * rebuild it) every key still held is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ptrmap.h"

static struct tt_ptrmap map = TT_PTRMAP_INIT;

/* Key number i: an address no object has, never NULL or 1. */
static const void *key(uintptr_t i)
{
	return (const void *)(0x10000 + i * 16);
}

static void put(uintptr_t i, bool ok)
{
	void *v[2] = {(void *)(i * 3), (void *)(i * 5)};
	assert_int_equal(tt_ptrmap_put(&map, key(i), v), ok);
}

/* i's first value, or -1 when i has none; its second is the one put
 * with it. */
static long get(uintptr_t i)
{
	void *v[2] = {NULL, NULL};
	if (!tt_ptrmap_get(&map, key(i), v))
		return -1;
	assert_int_equal((uintptr_t)v[1] * 3, (uintptr_t)v[0] * 5);
	return (long)(uintptr_t)v[0];
}

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(get(1), -1);
	put(1, true);
	put(2, true);
	assert_int_equal(get(1), 3);
	assert_int_equal(get(2), 6);
	tt_ptrmap_copy(&map, key(1), key(7));
	assert_int_equal(get(7), 3 * 1);
	tt_ptrmap_copy(&map, key(99), key(7)); /* no values: forgotten */
	assert_int_equal(get(7), -1);
	tt_ptrmap_del(&map, key(1));
	tt_ptrmap_del(&map, key(1));
	assert_int_equal(get(1), -1);
	assert_int_equal(get(2), 6);
	tt_ptrmap_del(&map, key(2));
	assert_false(tt_ptrmap_put(&map, NULL, (void *[2]){NULL, NULL}));
}

static void test_full_and_churn(void **state)
{
	(void)state;
	const unsigned full = TT_PTRMAP_CAP * 3 / 4;
	for (uintptr_t i = 0; i < full; i++)
		put(1000 + i, true);
	put(5000, false); /* full: refused */
	put(1000, true);  /* a key held can still be set */
	assert_int_equal(get(5000), -1);
	/* 20,000 turns of one removal and one new key: removed entries pile
	 * up and the table is rebuilt, every live key still found */
	for (uintptr_t t = 0; t < 20000; t++) {
		tt_ptrmap_del(&map, key(1000 + t));
		put(1000 + full + t, true);
		assert_int_equal(get(1000 + full + t),
				 (long)(1000 + full + t) * 3);
	}
	for (uintptr_t i = 20000; i < 20000 + full; i++)
		assert_int_equal(get(1000 + i), (long)(1000 + i) * 3);
	assert_int_equal(get(1000 + 19999), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_full_and_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
