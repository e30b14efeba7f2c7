/* decoder/base/keylog.c: NSS key log lines.
 *
 * Every line is parsed from an exact-size heap copy, so ASan sees any
 * read past the length given.  Real key logs come from tlsgen (OpenSSL's
 * key-log callback) for TLS 1.2 and 1.3, SHA-256 and SHA-384 suites.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "tlsgen.h"

#define R64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define S64 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define S96 S64 "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"

static unsigned lines_checked;

static tt_rc parse(const char *s, size_t n, struct tt_keylog_entry *e)
{
	char *copy = malloc(n ? n : 1);
	tt_rc rc;

	assert_non_null(copy);
	memcpy(copy, s, n);
	rc = tt_keylog_parse_line(copy, n, e);
	free(copy);
	lines_checked++;
	return rc;
}

static tt_rc parse_str(const char *s, struct tt_keylog_entry *e)
{
	return parse(s, strlen(s), e);
}

static int all_zero(const struct tt_keylog_entry *e)
{
	static const struct tt_keylog_entry z;
	return e->label == TT_KL_NONE && e->secret_len == 0 &&
	       memcmp(e->client_random, z.client_random, 32) == 0 &&
	       memcmp(e->secret, z.secret, sizeof(z.secret)) == 0;
}

static void expect_rc(const char *line, tt_rc want)
{
	struct tt_keylog_entry e;
	tt_rc rc = parse_str(line, &e);
	if (rc != want)
		fail_msg("\"%s\": rc %d, want %d", line, rc, want);
	if (rc != TT_OK || e.label == TT_KL_NONE)
		assert_true(all_zero(&e));
}

static void expect_entry(const char *line, enum tt_keylog_label l,
			 size_t secret_len)
{
	struct tt_keylog_entry e;
	tt_rc rc = parse_str(line, &e);
	if (rc != TT_OK)
		fail_msg("\"%s\": rc %d", line, rc);
	assert_int_equal(e.label, l);
	assert_int_equal(e.secret_len, secret_len);
	for (int i = 0; i < 32; i++)
		assert_int_equal(e.client_random[i], i);
	for (size_t i = 0; i < secret_len; i++)
		assert_int_equal(e.secret[i], 0xa0 + i);
}

static void test_labels(void **state)
{
	static const struct {
		const char *name;
		enum tt_keylog_label l;
	} all[] = {
		{"CLIENT_RANDOM", TT_KL_CLIENT_RANDOM},
		{"CLIENT_EARLY_TRAFFIC_SECRET",
		 TT_KL_CLIENT_EARLY_TRAFFIC_SECRET},
		{"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
		 TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET},
		{"SERVER_HANDSHAKE_TRAFFIC_SECRET",
		 TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET},
		{"CLIENT_TRAFFIC_SECRET_0", TT_KL_CLIENT_TRAFFIC_SECRET_0},
		{"SERVER_TRAFFIC_SECRET_0", TT_KL_SERVER_TRAFFIC_SECRET_0},
		{"EXPORTER_SECRET", TT_KL_EXPORTER_SECRET},
	};
	char line[512];
	(void)state;

	assert_int_equal(sizeof(all) / sizeof(all[0]), TT_KL_COUNT - 1);
	assert_string_equal(tt_keylog_label_name(TT_KL_NONE), "");
	assert_string_equal(tt_keylog_label_name(TT_KL_COUNT), "");
	assert_string_equal(tt_keylog_label_name((enum tt_keylog_label) - 1),
			    "");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int cr = all[i].l == TT_KL_CLIENT_RANDOM;

		assert_string_equal(tt_keylog_label_name(all[i].l),
				    all[i].name);
		/* 48-byte secrets for every label */
		snprintf(line, sizeof(line), "%s " R64 " " S96 "\n",
			 all[i].name);
		expect_entry(line, all[i].l, 48);
		/* 32-byte ones only for TLS 1.3 labels */
		snprintf(line, sizeof(line), "%s " R64 " " S64, all[i].name);
		if (cr)
			expect_rc(line, TT_DECODE);
		else
			expect_entry(line, all[i].l, 32);
		/* a label is matched whole */
		snprintf(line, sizeof(line), "%sX " R64 " " S96, all[i].name);
		expect_rc(line, TT_UNSUPPORTED);
		snprintf(line, sizeof(line), "%.*s " R64 " " S96,
			 (int)strlen(all[i].name) - 1, all[i].name);
		expect_rc(line, TT_UNSUPPORTED);
		/* labels are case-sensitive */
		snprintf(line, sizeof(line), "%s " R64 " " S96, all[i].name);
		line[0] = (char)tolower((unsigned char)line[0]);
		expect_rc(line, TT_DECODE);
	}
}

static void test_hex_case_and_line_ends(void **state)
{
	char line[512];
	(void)state;

	/* upper, lower and mixed case hex */
	snprintf(line, sizeof(line), "CLIENT_RANDOM " R64 " " S96);
	for (char *p = line + 14; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	expect_entry(line, TT_KL_CLIENT_RANDOM, 48);
	for (char *p = line + 14; *p; p += 3)
		*p = (char)tolower((unsigned char)*p);
	expect_entry(line, TT_KL_CLIENT_RANDOM, 48);

	/* line ends: LF, CRLF, none, trailing blanks */
	static const char *ends[] = {"",  "\n", "\r\n",	   "\r",
				     " ", "\t", " \t \r\n"};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		snprintf(line, sizeof(line),
			 "SERVER_HANDSHAKE_TRAFFIC_SECRET " R64 " " S64 "%s",
			 ends[i]);
		expect_entry(line, TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET, 32);
	}
	/* only one newline, and only at the end */
	expect_rc("CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 "\n\n", TT_DECODE);
	expect_rc("CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 "\nx", TT_DECODE);
	expect_rc("CLIENT_TRAFFIC_SECRET_0 " R64 "\n" S64, TT_DECODE);
	expect_rc("CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 "\r\r\n", TT_OK);
}

static void test_comments_and_blanks(void **state)
{
	static const char *ok[] = {
		"",
		"\n",
		"\r\n",
		" \t ",
		"#",
		"# SSL/TLS secrets log file, generated by NSS\n",
		"#\r\n",
		"#CLIENT_RANDOM zz",
		"# \xff\xfe binary\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect_rc(ok[i], TT_OK);
	/* a comment must start the line */
	expect_rc(" # indented", TT_DECODE);
	expect_rc("CLIENT_RANDOM " R64 " " S96 " # trailing", TT_DECODE);
	/* a NUL ends nothing: it is a bad byte */
	{
		struct tt_keylog_entry e;
		static const char nul[] = "#\0x\n";
		assert_int_equal(parse(nul, sizeof(nul) - 1, &e), TT_OK);
		static const char bad[] = "CLIENT_RANDOM " R64 " " S96 "\0";
		assert_int_equal(parse(bad, sizeof(bad) - 1, &e), TT_DECODE);
		assert_true(all_zero(&e));
	}
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
		/* field lengths */
		"CLIENT_RANDOM " R64 "00 " S96,
		"CLIENT_RANDOM " R64 "0 " S96,
		"CLIENT_RANDOM 00" R64 " " S96,
		"CLIENT_RANDOM " R64 " " S96 "00",
		"CLIENT_RANDOM " R64 " " S96 "0",
		"CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 "00",
		"CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 "0",
		"CLIENT_TRAFFIC_SECRET_0 " R64 " 00",
		"CLIENT_TRAFFIC_SECRET_0 " R64 " ",
		"CLIENT_TRAFFIC_SECRET_0 " R64,
		"CLIENT_TRAFFIC_SECRET_0 " R64 " " S64 S64,
		"CLIENT_TRAFFIC_SECRET_0",
		"CLIENT_TRAFFIC_SECRET_0 ",
		/* not hex */
		"CLIENT_RANDOM " R64 " " S64 "g0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
		"CLIENT_RANDOM 0x02030405060708090a0b0c0d0e0f101112131415161718"
		"191a1b1c1d1e1f " S96,
		"EXPORTER_SECRET " R64 " " S64 "\xc3\xa9",
		/* separators */
		"CLIENT_RANDOM  " R64 " " S96,
		"CLIENT_RANDOM " R64 "  " S96,
		"CLIENT_RANDOM\t" R64 " " S96,
		"CLIENT_RANDOM " R64 "\t" S96,
		" CLIENT_RANDOM " R64 " " S96,
		"CLIENT_RANDOM " R64 " " S96 " " S96,
		"CLIENT_RANDOM " R64 " " S96 " x",
		/* labels */
		"client_random " R64 " " S96,
		"Client_Random " R64 " " S96,
		"CLIENT-RANDOM " R64 " " S96,
		" " R64 " " S96,
		/* garbage */
		"hello",
		"hello world",
		"a b c",
		"\xff\xfe\xfd",
		"GET / HTTP/1.1\r\n",
		"RSA",
		"RSA 00",
		"RSA 0011 zz",
		"RSA 001 0011",
		"RSA  0011 0011",
	};
	static const char *unsupported[] = {
		"RSA 0011223344556677 " S96,
		"ECH_SECRET " R64 " " S64,
		"ECH_CONFIG " R64 " 00",
		"CLIENT_TRAFFIC_SECRET_1 " R64 " " S64,
		"X1 00 00",
	};
	char label[TT_KEYLOG_LABEL_MAX + 2], line[256];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_rc(bad[i], TT_DECODE);
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]);
	     i++)
		expect_rc(unsupported[i], TT_UNSUPPORTED);

	/* label and unknown-field caps */
	memset(label, 'A', sizeof(label));
	label[TT_KEYLOG_LABEL_MAX] = '\0';
	snprintf(line, sizeof(line), "%s 00 00", label);
	expect_rc(line, TT_UNSUPPORTED);
	label[TT_KEYLOG_LABEL_MAX] = 'A';
	label[TT_KEYLOG_LABEL_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "%s 00 00", label);
	expect_rc(line, TT_DECODE);
	{
		char *big = malloc(TT_KEYLOG_HEX_MAX + 16);
		assert_non_null(big);
		memcpy(big, "XY 00 ", 6);
		memset(big + 6, 'f', TT_KEYLOG_HEX_MAX);
		big[6 + TT_KEYLOG_HEX_MAX] = '\0';
		expect_rc(big, TT_UNSUPPORTED);
		memcpy(big + 6 + TT_KEYLOG_HEX_MAX, "ff", 3);
		expect_rc(big, TT_DECODE);
		free(big);
	}
}

/* Every proper prefix of a valid line is refused (or blank), and nothing
 * past the cut is read. */
static void test_truncation(void **state)
{
	static const char *lines[] = {
		"CLIENT_RANDOM " R64 " " S96,
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " R64 " " S64,
		"EXPORTER_SECRET " R64 " " S96,
	};
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = strlen(lines[i]);
		for (size_t cut = 0; cut < n; cut++) {
			struct tt_keylog_entry e;
			tt_rc rc = parse(lines[i], cut, &e);
			if (cut == 0) {
				assert_int_equal(rc, TT_OK);
			} else if (rc != TT_DECODE) {
				/* only a 32-byte secret inside a 48-byte one
				 * is a valid shorter line */
				assert_int_equal(rc, TT_OK);
				assert_int_equal(cut, n - 32);
				assert_int_equal(e.secret_len, 32);
				continue;
			}
			assert_true(all_zero(&e));
		}
		struct tt_keylog_entry e;
		assert_int_equal(parse(lines[i], n, &e), TT_OK);
		assert_int_not_equal(e.label, TT_KL_NONE);
	}
}

/* A file: lines of every kind, walked with tt_keylog_next. */
static void test_next(void **state)
{
	static const char file[] =
		"# SSL/TLS secrets log file, generated by NSS\n"
		"\n"
		"CLIENT_RANDOM " R64 " " S96 "\n"
		"RSA 0011223344556677 " S96 "\r\n"
		"garbage line\n"
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " R64 " " S64 "\r\n"
		"\r\n"
		"SERVER_TRAFFIC_SECRET_0 " R64 " " S96;
	static const struct {
		tt_rc rc;
		enum tt_keylog_label l;
	} want[] = {
		{TT_OK, TT_KL_NONE},
		{TT_OK, TT_KL_NONE},
		{TT_OK, TT_KL_CLIENT_RANDOM},
		{TT_UNSUPPORTED, TT_KL_NONE},
		{TT_DECODE, TT_KL_NONE},
		{TT_OK, TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET},
		{TT_OK, TT_KL_NONE},
		{TT_OK, TT_KL_SERVER_TRAFFIC_SECRET_0},
	};
	size_t n = sizeof(file) - 1, left = n, k = 0, used;
	char *copy = malloc(n);
	const char *p = copy;
	struct tt_keylog_entry e;
	(void)state;

	assert_non_null(copy);
	memcpy(copy, file, n);
	while (left) {
		tt_rc rc = tt_keylog_next(p, left, &used, &e);
		assert_true(k < sizeof(want) / sizeof(want[0]));
		assert_int_equal(rc, want[k].rc);
		assert_int_equal(e.label, want[k].l);
		assert_true(used >= 1 && used <= left);
		if (k + 1 < sizeof(want) / sizeof(want[0]))
			assert_int_equal(p[used - 1], '\n');
		p += used;
		left -= used;
		k++;
	}
	assert_int_equal(k, sizeof(want) / sizeof(want[0]));
	assert_int_equal(tt_keylog_next(p, 0, &used, &e), TT_NEED_MORE);
	assert_int_equal(used, 0);
	assert_true(all_zero(&e));
	free(copy);
}

/* Key logs OpenSSL writes, for each version and hash. */
static void test_real_keylogs(void **state)
{
	static const struct tlsgen_opts opts[] = {
		{.version = TLSGEN_TLS12},
		{.version = TLSGEN_TLS13,
		 .ciphersuites = "TLS_AES_128_GCM_SHA256"},
		{.version = TLSGEN_TLS13,
		 .ciphersuites = "TLS_AES_256_GCM_SHA384"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct tlsgen_result r;
		size_t left, used, entries = 0;
		const char *p;

		if (tlsgen_run(&opts[i], &r) != 0)
			fail_msg("tlsgen: %s", r.error);
		p = r.keylog;
		left = r.keylog_len;
		while (left) {
			struct tt_keylog_entry e;
			assert_int_equal(tt_keylog_next(p, left, &used, &e),
					 TT_OK);
			assert_int_not_equal(e.label, TT_KL_NONE);
			if (opts[i].version == TLSGEN_TLS12)
				assert_int_equal(e.label, TT_KL_CLIENT_RANDOM);
			else
				assert_int_equal(
					e.secret_len,
					strstr(opts[i].ciphersuites, "SHA384")
						? 48
						: 32);
			/* ClientHello.random, as sent */
			assert_memory_equal(e.client_random, r.c2s.data + 11,
					    32);
			entries++;
			p += used;
			left -= used;
		}
		assert_int_equal(entries,
				 opts[i].version == TLSGEN_TLS12 ? 1 : 5);
		tlsgen_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_hex_case_and_line_ends),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_real_keylogs),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "keylog: %u lines checked\n", lines_checked);
	tlsgen_cleanup();
	return rc;
}
