/* shim/ptrmap.c: the bounded map of what a program set on a TLS
 * library's objects.  All of a key's values come back by key, a
 * forgotten key is gone, a copy follows its source, the map refuses a
 * put past TT_PTRMAP_FULL keys (never grows), and after many puts and
 * removals (each moving entries of its run back) every key still held
 * is found and no forgotten one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ptrmap.h"

static struct tt_ptrmap map = TT_PTRMAP_INIT;

/* Key number i: an address no object has, never NULL or 1. */
static const void *key(uintptr_t i)
{
	return (const void *)(0x10000 + i * 16);
}

/* Value j of key i's: i * 3, i * 5, i * 7... */
static void *val(uintptr_t i, unsigned j)
{
	return (void *)(i * (3 + 2 * j));
}

static void put(uintptr_t i, bool ok)
{
	void *v[TT_PTRMAP_VALS];
	for (unsigned j = 0; j < TT_PTRMAP_VALS; j++)
		v[j] = val(i, j);
	assert_int_equal(tt_ptrmap_put(&map, key(i), v), ok);
}

/* i's first value, or -1 when i has none; the others are the ones put
 * with it. */
static long get(uintptr_t i)
{
	void *v[TT_PTRMAP_VALS] = {NULL};
	if (!tt_ptrmap_get(&map, key(i), v))
		return -1;
	uintptr_t of = (uintptr_t)v[0] / 3;
	for (unsigned j = 0; j < TT_PTRMAP_VALS; j++)
		assert_ptr_equal(v[j], val(of, j));
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
	void *none[TT_PTRMAP_VALS] = {NULL};
	assert_false(tt_ptrmap_put(&map, NULL, none));
	/* every value kept apart, NULLs too: a module with fewer values
	 * leaves the rest NULL */
	void *some[TT_PTRMAP_VALS] = {NULL};
	some[TT_PTRMAP_VALS - 1] = (void *)0x40;
	assert_true(tt_ptrmap_put(&map, key(3), some));
	void *back[TT_PTRMAP_VALS];
	memset(back, 0xff, sizeof(back));
	assert_true(tt_ptrmap_get(&map, key(3), back));
	assert_memory_equal(back, some, sizeof(some));
	tt_ptrmap_del(&map, key(3));
	assert_false(tt_ptrmap_get(&map, key(3), back));
}

static void test_full_and_churn(void **state)
{
	(void)state;
	const unsigned full = TT_PTRMAP_FULL;
	assert_int_equal(full, TT_PTRMAP_CAP / 4 * 3);
	for (uintptr_t i = 0; i < full; i++)
		put(1000 + i, true);
	put(5000, false); /* full: refused */
	put(1000, true);  /* a key held can still be set */
	assert_int_equal(get(5000), -1);
	/* 20,000 turns of one removal and one new key: entries move back
	 * along their runs, every live key still found */
	for (uintptr_t t = 0; t < 20000; t++) {
		tt_ptrmap_del(&map, key(1000 + t));
		put(1000 + full + t, true);
		assert_int_equal(get(1000 + full + t),
				 (long)(1000 + full + t) * 3);
	}
	for (uintptr_t i = 20000; i < 20000 + full; i++)
		assert_int_equal(get(1000 + i), (long)(1000 + i) * 3);
	assert_int_equal(get(1000 + 19999), -1);
	for (uintptr_t i = 20000; i < 20000 + full; i++)
		tt_ptrmap_del(&map, key(1000 + i));
	assert_int_equal(map.n, 0);
}

/* Removals in every order from a full map, where runs are long: every
 * key left found, every removed one gone, and the map empty in the end
 * with no entry left taken. */
static void test_remove_from_runs(void **state)
{
	(void)state;
	const unsigned full = TT_PTRMAP_FULL;
	for (uintptr_t i = 0; i < full; i++)
		put(100000 + i, true);
	/* every third key, from the last one back */
	for (uintptr_t i = full; i-- > 0;)
		if (i % 3 == 0)
			tt_ptrmap_del(&map, key(100000 + i));
	for (uintptr_t i = 0; i < full; i++)
		assert_int_equal(get(100000 + i),
				 i % 3 ? (long)(100000 + i) * 3 : -1);
	/* the room made is taken again, and no more */
	for (uintptr_t i = 0; i < full; i += 3)
		put(200000 + i, true);
	put(300000, false);
	for (uintptr_t i = 0; i < full; i++) {
		tt_ptrmap_del(&map, key(100000 + i));
		tt_ptrmap_del(&map, key(200000 + i));
	}
	assert_int_equal(map.n, 0);
	for (unsigned i = 0; i < TT_PTRMAP_CAP; i++)
		assert_null(map.e[i].key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_full_and_churn),
		cmocka_unit_test(test_remove_from_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
