/* shim/keys.c: the secret store.  Secrets go in as OpenSSL hands them
 * over (NSS key log lines) and come out by client random and label
 * through the key source, found through the store's hash index: the most
 * recent 256 client randoms are kept, a forgotten one is gone, and every
 * other one is still found after many insertions, evictions and
 * removals (which rebuild the index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "keys.h"
#include "keylog.h"

#define SLOTS 256

/* Client random number i: distinct bytes all over, with the first four
 * the same for all (a time, as older stacks send). */
static void crandom(unsigned i, uint8_t cr[32])
{
	for (unsigned k = 0; k < 32; k++)
		cr[k] = (uint8_t)(k < 4 ? 0x5c : (i * 131 + k * 7 + (i >> 8)));
	cr[30] = (uint8_t)i;
	cr[31] = (uint8_t)(i >> 8);
}

static void add(unsigned i, const char *label, uint8_t fill)
{
	uint8_t cr[32];
	char line[256];
	int n = snprintf(line, sizeof(line), "%s ", label);
	crandom(i, cr);
	for (unsigned k = 0; k < 32; k++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x",
			      cr[k]);
	line[n++] = ' ';
	for (unsigned k = 0; k < 32; k++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x",
			      (uint8_t)(fill + k));
	line[n] = 0;
	tt_keys_add_line(line);
}

/* The secret of client random i under label l: its first byte, or -1;
 * its length is want. */
static int get_len(unsigned i, enum tt_keylog_label l, size_t want)
{
	const struct tt_keysrc *ks = tt_keys_source();
	uint8_t cr[32], out[TT_KEYLOG_SECRET_MAX];
	crandom(i, cr);
	size_t n = ks->get(ks->ctx, cr, l, out);
	if (n == 0)
		return -1;
	assert_int_equal(n, want);
	return out[0];
}

static int get(unsigned i, enum tt_keylog_label l)
{
	return get_len(i, l, 32);
}

static void forget(unsigned i)
{
	uint8_t cr[32];
	crandom(i, cr);
	tt_keys_forget(cr);
}

static int setup(void **state)
{
	static struct tt_config cfg;
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.decrypt = true;
	tt_keys_init(&cfg);
	return 0;
}

static void test_put_get_forget(void **state)
{
	(void)state;
	add(1, "CLIENT_TRAFFIC_SECRET_0", 0x10);
	add(1, "SERVER_TRAFFIC_SECRET_0", 0x20);
	add(2, "CLIENT_TRAFFIC_SECRET_0", 0x30);
	assert_int_equal(get(1, TT_KL_CLIENT_TRAFFIC_SECRET_0), 0x10);
	assert_int_equal(get(1, TT_KL_SERVER_TRAFFIC_SECRET_0), 0x20);
	assert_int_equal(get(2, TT_KL_CLIENT_TRAFFIC_SECRET_0), 0x30);
	assert_int_equal(get(2, TT_KL_SERVER_TRAFFIC_SECRET_0), -1);
	assert_int_equal(get(3, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
	forget(1);
	assert_int_equal(get(1, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
	assert_int_equal(get(2, TT_KL_CLIENT_TRAFFIC_SECRET_0), 0x30);
	forget(2);
	forget(2); /* twice: nothing */
	assert_int_equal(get(2, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
}

/* 10,000 client randoms in turn, every third one forgotten after the
 * next was added: the store keeps the 256 most recent of those not
 * forgotten, and finds each of them. */
static void test_many(void **state)
{
	(void)state;
	const unsigned N = 10000;
	for (unsigned i = 100; i < 100 + N; i++) {
		add(i, "CLIENT_TRAFFIC_SECRET_0", (uint8_t)i);
		if (i % 3 == 0)
			forget(i - 1);
		assert_int_equal(get(i, TT_KL_CLIENT_TRAFFIC_SECRET_0),
				 (uint8_t)i);
	}
	unsigned kept = 0, last = 100 + N - 1;
	for (unsigned i = last; i >= 100 && kept < SLOTS; i--) {
		bool forgotten = (i + 1) % 3 == 0 && i + 1 <= last;
		int v = get(i, TT_KL_CLIENT_TRAFFIC_SECRET_0);
		if (forgotten) {
			assert_int_equal(v, -1);
			continue;
		}
		assert_int_equal(v, (uint8_t)i);
		kept++;
	}
	assert_int_equal(kept, SLOTS);
	/* older than the 256 most recent: evicted */
	assert_int_equal(get(100, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
	assert_int_equal(get(101, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
}

/* Secrets handed as bytes (GnuTLS, NSS, mbedTLS): stored as the same
 * line would be; a label we do not use, a length no suite has, and a
 * TLS 1.2 master secret of other than 48 bytes are refused. */
static void test_add_secret(void **state)
{
	(void)state;
	uint8_t cr[32], sec[48];
	crandom(20000, cr);
	memset(sec, 0x42, sizeof(sec));
	assert_true(tt_keys_add_secret("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr,
				       sec, 32, false));
	assert_int_equal(get(20000, TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET),
			 0x42);
	assert_false(tt_keys_add_secret("CLIENT_RANDOM", cr, sec, 32, false));
	assert_false(
		tt_keys_add_secret("EXPORTER_SECRET_X", cr, sec, 32, false));
	assert_false(tt_keys_add_secret("CLIENT_TRAFFIC_SECRET_0", cr, sec, 40,
					false));
	assert_false(tt_keys_add_secret(NULL, cr, sec, 32, false));
	assert_int_equal(get(20000, TT_KL_CLIENT_RANDOM), -1);
	assert_int_equal(get(20000, TT_KL_CLIENT_TRAFFIC_SECRET_0), -1);
	assert_true(tt_keys_add_secret("CLIENT_RANDOM", cr, sec, 48, false));
	assert_int_equal(get_len(20000, TT_KL_CLIENT_RANDOM, 48), 0x42);
	/* first: a secret held under the label stays; without, replaced */
	memset(sec, 0x43, sizeof(sec));
	assert_true(tt_keys_add_secret("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr,
				       sec, 32, true));
	assert_int_equal(get(20000, TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET),
			 0x42);
	assert_true(tt_keys_add_secret("CLIENT_TRAFFIC_SECRET_0", cr, sec, 32,
				       true));
	assert_int_equal(get(20000, TT_KL_CLIENT_TRAFFIC_SECRET_0), 0x43);
	assert_true(tt_keys_add_secret("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr,
				       sec, 32, false));
	assert_int_equal(get(20000, TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET),
			 0x43);
	forget(20000);
}

/* The notes for a summary whose keys did not come: none at first, then
 * each text once, joined by "; ". */
static void test_notes(void **state)
{
	(void)state;
	const struct tt_keysrc *ks = tt_keys_source();
	assert_null(ks->note(ks->ctx));
	tt_keys_note("A cannot");
	assert_string_equal(ks->note(ks->ctx), "A cannot");
	tt_keys_note("B cannot either");
	tt_keys_note("A cannot");
	assert_string_equal(ks->note(ks->ctx), "A cannot; B cannot either");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_forget),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_add_secret),
		cmocka_unit_test(test_notes),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
