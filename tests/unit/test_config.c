/* shim/config.c: TLSTRACE_* variables read through a fake getter, and
 * the one-line warning a value that makes no sense must give (naming the
 * variable, showing the value safely, and the default used). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* ---- fake environment and warning collector -------------------------- */

static struct {
	const char *name, *value;
} g_env[8];
static size_t g_nenv;

static char g_warn[16][2048];
static size_t g_warn_len[16];
static size_t g_nwarn;

static void env_clear(void)
{
	g_nenv = 0;
	g_nwarn = 0;
}

static void env_set(const char *name, const char *value)
{
	assert_true(g_nenv < sizeof(g_env) / sizeof(g_env[0]));
	g_env[g_nenv].name = name;
	g_env[g_nenv].value = value;
	g_nenv++;
}

static const char *fake_get(const char *name)
{
	for (size_t i = 0; i < g_nenv; i++)
		if (strcmp(g_env[i].name, name) == 0)
			return g_env[i].value;
	return NULL;
}

static void fake_warn(const char *msg, size_t len)
{
	assert_true(g_nwarn < sizeof(g_warn) / sizeof(g_warn[0]));
	assert_true(len < sizeof(g_warn[0]));
	memcpy(g_warn[g_nwarn], msg, len);
	g_warn[g_nwarn][len] = 0;
	g_warn_len[g_nwarn] = len;
	g_nwarn++;
}

static void load(struct tt_config *cfg)
{
	g_nwarn = 0;
	memset(cfg, 0x5a, sizeof(*cfg)); /* load must set every field */
	tt_config_load(cfg, fake_get, fake_warn);
}

/* A warning is one line: printable, one newline at its very end. */
static void check_one_line(size_t i)
{
	const char *w = g_warn[i];
	size_t n = g_warn_len[i];
	assert_int_equal(strlen(w), n);
	assert_true(n > 1);
	assert_int_equal(w[n - 1], '\n');
	for (size_t k = 0; k + 1 < n; k++) {
		unsigned char c = (unsigned char)w[k];
		if (c < 0x20 || c == 0x7f) {
			fprintf(stderr, "raw byte 0x%02x in warning: %s", c, w);
			fail();
		}
	}
}

static void expect_defaults(const struct tt_config *cfg)
{
	assert_int_equal(cfg->sink, TT_SINK_STDERR);
	assert_int_equal(cfg->level, TT_INFO);
	assert_int_equal(cfg->format, TT_FMT_TEXT);
	assert_string_equal(cfg->keylog, "");
	assert_string_equal(cfg->keylog_out, "");
	assert_true(cfg->decrypt);
	assert_int_equal(cfg->events.n, 0); /* every event */
}

/* ---- tests ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	struct tt_config cfg;
	env_clear();
	load(&cfg);
	expect_defaults(&cfg);
	assert_string_equal(cfg.path, "");
	assert_int_equal(g_nwarn, 0);

	/* empty values count as unset */
	env_set("TLSTRACE_LEVEL", "");
	env_set("TLSTRACE_FORMAT", "");
	env_set("TLSTRACE_LOG", "");
	env_set("TLSTRACE_KEYLOG", "");
	env_set("SSLKEYLOGFILE", "");
	env_set("TLSTRACE_KEYLOG_OUT", "");
	env_set("TLSTRACE_DECRYPT", "");
	env_set("TLSTRACE_EVENTS", "");
	load(&cfg);
	expect_defaults(&cfg);
	assert_int_equal(g_nwarn, 0);
}

static void test_levels(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		enum tt_level l;
	} cases[] = {
		{"error", TT_ERROR},  {"warn", TT_WARN},
		{"info", TT_INFO},    {"debug", TT_DEBUG},
		{"trace", TT_TRACE},  {"ERROR", TT_ERROR},
		{"Warn", TT_WARN},    {"INFO", TT_INFO},
		{"DeBuG", TT_DEBUG},  {"TRACE", TT_TRACE},
		{"warning", TT_WARN}, {"WARNING", TT_WARN},
		{"Warning", TT_WARN},
	};
	struct tt_config cfg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_clear();
		env_set("TLSTRACE_LEVEL", cases[i].v);
		load(&cfg);
		assert_int_equal(cfg.level, cases[i].l);
		assert_int_equal(g_nwarn, 0);
		enum tt_level l = TT_TRACE;
		assert_true(tt_parse_level(cases[i].v, &l));
		assert_int_equal(l, cases[i].l);
	}
	static const char *const bad[] = {"",	     "inf",	 "infos",
					  "verbose", " info",	 "info ",
					  "5",	     "warnings", "err"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum tt_level l = TT_DEBUG;
		assert_false(tt_parse_level(bad[i], &l));
		assert_int_equal(l, TT_DEBUG); /* untouched */
	}
}

static void test_bad_level(void **state)
{
	(void)state;
	struct tt_config cfg;
	env_clear();
	env_set("TLSTRACE_LEVEL", "verbose");
	load(&cfg);
	expect_defaults(&cfg);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_LEVEL"));
	assert_non_null(strstr(g_warn[0], "verbose"));
	assert_non_null(strstr(g_warn[0], "using info"));
	assert_string_equal(g_warn[0],
			    "tlstrace: TLSTRACE_LEVEL='verbose' is not one of "
			    "error, warn, info, debug, trace; using info\n");

	/* the other settings still apply */
	env_set("TLSTRACE_FORMAT", "json");
	load(&cfg);
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(cfg.format, TT_FMT_JSON);
	assert_int_equal(g_nwarn, 1);
}

static void test_control_chars_shown_escaped(void **state)
{
	(void)state;
	struct tt_config cfg;
	env_clear();
	env_set("TLSTRACE_LEVEL", "de\nbug\x1b[2J\x7f\t");
	load(&cfg);
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(strstr(g_warn[0], "'de\\x0abug\\x1b[2J\\x7f\\x09'"));
	assert_non_null(strstr(g_warn[0], "using info\n"));
}

static void test_long_value_clipped(void **state)
{
	(void)state;
	struct tt_config cfg;
	char *v = malloc(1001);
	for (int i = 0; i < 1000; i++)
		v[i] = (char)('a' + i % 26);
	v[1000] = 0;
	env_clear();
	env_set("TLSTRACE_LEVEL", v);
	load(&cfg);
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	/* clipped: shorter than the value, starts with it, and the end of
	 * the line (variable, default) is still there */
	assert_true(g_warn_len[0] < 400);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_LEVEL='abcdefghij"));
	assert_null(strstr(g_warn[0], v + 500));
	assert_non_null(strstr(g_warn[0], "using info\n"));

	/* the same with a value made of control characters, which grow
	 * four times when shown */
	memset(v, 1, 1000);
	load(&cfg);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_true(g_warn_len[0] < 400);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_LEVEL='\\x01\\x01"));
	assert_non_null(strstr(g_warn[0], "using info\n"));

	/* multi-byte UTF-8 is shown as bytes, never a raw control */
	for (int i = 0; i + 1 < 1000; i += 2) {
		v[i] = (char)0xc3;
		v[i + 1] = (char)0xa9;
	}
	load(&cfg);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_true(g_warn_len[0] < 400);
	free(v);
}

static void test_format(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		enum tt_format f;
	} cases[] = {{"json", TT_FMT_JSON},
		     {"JSON", TT_FMT_JSON},
		     {"text", TT_FMT_TEXT},
		     {"Text", TT_FMT_TEXT}};
	struct tt_config cfg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_clear();
		env_set("TLSTRACE_FORMAT", cases[i].v);
		load(&cfg);
		assert_int_equal(cfg.format, cases[i].f);
		assert_int_equal(g_nwarn, 0);
	}
	env_clear();
	env_set("TLSTRACE_FORMAT", "yaml");
	load(&cfg);
	expect_defaults(&cfg);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_FORMAT"));
	assert_non_null(strstr(g_warn[0], "'yaml'"));
	assert_non_null(strstr(g_warn[0], "using text\n"));
}

static void test_log_sinks(void **state)
{
	(void)state;
	struct tt_config cfg;
	char want[PATH_MAX];
	long pid = (long)getpid();

	env_clear();
	env_set("TLSTRACE_LOG", "stderr");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_int_equal(g_nwarn, 0);

	env_clear();
	env_set("TLSTRACE_LOG", "syslog");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_SYSLOG);
	assert_string_equal(cfg.path, "/dev/log");
	assert_int_equal(g_nwarn, 0);

	env_clear();
	env_set("TLSTRACE_LOG", "/tmp/tls.jsonl");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_FILE);
	assert_string_equal(cfg.path, "/tmp/tls.jsonl");
	assert_int_equal(g_nwarn, 0);

	env_clear();
	env_set("TLSTRACE_LOG", "tls-%p.jsonl");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_FILE);
	snprintf(want, sizeof(want), "tls-%ld.jsonl", pid);
	assert_string_equal(cfg.path, want);

	env_clear();
	env_set("TLSTRACE_LOG", "/var/log/%p/100%%-%p");
	load(&cfg);
	snprintf(want, sizeof(want), "/var/log/%ld/100%%-%ld", pid, pid);
	assert_string_equal(cfg.path, want);
	assert_int_equal(g_nwarn, 0);
}

static void test_log_path_too_long(void **state)
{
	(void)state;
	struct tt_config cfg;
	char *v = malloc(5001);
	v[0] = '/';
	memset(v + 1, 'd', 4999);
	v[5000] = 0;
	env_clear();
	env_set("TLSTRACE_LOG", v);
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_LOG"));
	assert_non_null(strstr(g_warn[0], "'/ddd"));
	assert_non_null(strstr(g_warn[0], "using stderr\n"));

	/* a path that only gets too long once %p is expanded */
	char *t = malloc(PATH_MAX + 1);
	t[0] = '/';
	size_t n = 1;
	while (n + 2 < PATH_MAX - 1) {
		memcpy(t + n, "%p", 2);
		n += 2;
	}
	t[n] = 0;
	env_clear();
	env_set("TLSTRACE_LOG", t);
	load(&cfg);
	char pidb[32];
	size_t pl = (size_t)snprintf(pidb, sizeof(pidb), "%ld", (long)getpid());
	if (1 + (n - 1) / 2 * pl >= PATH_MAX) {
		assert_int_equal(cfg.sink, TT_SINK_STDERR);
		assert_int_equal(g_nwarn, 1);
		assert_non_null(strstr(g_warn[0], "using stderr\n"));
	} else {
		assert_int_equal(cfg.sink, TT_SINK_FILE);
	}
	free(t);

	/* the longest path that fits: PATH_MAX - 1 bytes */
	v[PATH_MAX - 1] = 0;
	env_clear();
	env_set("TLSTRACE_LOG", v);
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_FILE);
	assert_int_equal(strlen(cfg.path), PATH_MAX - 1);
	assert_int_equal(g_nwarn, 0);
	v[PATH_MAX - 1] = 'd';
	v[PATH_MAX] = 0;
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_int_equal(g_nwarn, 1);
	free(v);
}

/* TLSTRACE_LOG=syslog:PATH: an absolute socket path that fits in
 * sun_path, taken as it is; anything else is one warning and stderr. */
static void expect_bad_syslog(const char *v, const char *line)
{
	struct tt_config cfg;
	env_clear();
	env_set("TLSTRACE_LOG", v);
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_string_equal(cfg.path, "");
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_string_equal(g_warn[0], line);
}

static void test_log_syslog_path(void **state)
{
	(void)state;
	struct tt_config cfg;

	env_clear();
	env_set("TLSTRACE_LOG", "syslog:/run/tlstrace/log.sock");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_SYSLOG);
	assert_string_equal(cfg.path, "/run/tlstrace/log.sock");
	assert_int_equal(g_nwarn, 0);

	/* no %p expansion: the path is a socket someone else bound */
	env_clear();
	env_set("TLSTRACE_LOG", "syslog:/tmp/100%-%p");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_SYSLOG);
	assert_string_equal(cfg.path, "/tmp/100%-%p");
	assert_int_equal(g_nwarn, 0);

	/* the longest that fits: 107 bytes, sun_path less its NUL */
	char v[7 + 109];
	memcpy(v, "syslog:/", 8);
	memset(v + 8, 's', 106);
	v[8 + 106] = 0;
	assert_int_equal(strlen(v + 7), TT_SYSLOG_PATH_MAX);
	env_clear();
	env_set("TLSTRACE_LOG", v);
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_SYSLOG);
	assert_string_equal(cfg.path, v + 7);
	assert_int_equal(g_nwarn, 0);

	/* one byte more: refused (the value is shown clipped) */
	v[8 + 106] = 's';
	v[8 + 107] = 0;
	char line[512];
	snprintf(line, sizeof(line),
		 "tlstrace: TLSTRACE_LOG='%.122s' has a socket path longer "
		 "than 107 bytes; using stderr\n",
		 v);
	expect_bad_syslog(v, line);

	expect_bad_syslog(
		"syslog:",
		"tlstrace: TLSTRACE_LOG='syslog:' names no socket "
		"(syslog:PATH wants an absolute path); using stderr\n");
	expect_bad_syslog(
		"syslog:dev/log",
		"tlstrace: TLSTRACE_LOG='syslog:dev/log' is not an "
		"absolute socket path (syslog:/PATH); using stderr\n");
	expect_bad_syslog(
		"syslog:\x1b[31m/x",
		"tlstrace: TLSTRACE_LOG='syslog:\\x1b[31m/x' is not an "
		"absolute socket path (syslog:/PATH); using stderr\n");
	expect_bad_syslog(
		"syslog: /dev/log",
		"tlstrace: TLSTRACE_LOG='syslog: /dev/log' is not an "
		"absolute socket path (syslog:/PATH); using stderr\n");

	/* only the exact prefix names the sink: the rest are file paths */
	env_clear();
	env_set("TLSTRACE_LOG", "syslog.log");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_FILE);
	assert_string_equal(cfg.path, "syslog.log");
	env_clear();
	env_set("TLSTRACE_LOG", "SYSLOG:/dev/log");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_FILE);
	assert_string_equal(cfg.path, "SYSLOG:/dev/log");
	assert_int_equal(g_nwarn, 0);
}

static void test_keylog(void **state)
{
	(void)state;
	struct tt_config cfg;
	env_clear();
	env_set("TLSTRACE_KEYLOG", "/tmp/keys-a");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/keys-a");

	env_clear();
	env_set("SSLKEYLOGFILE", "/tmp/keys-b");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/keys-b");

	env_clear();
	env_set("SSLKEYLOGFILE", "/tmp/keys-b");
	env_set("TLSTRACE_KEYLOG", "/tmp/keys-a");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/keys-a");

	env_clear();
	env_set("TLSTRACE_KEYLOG", "");
	env_set("SSLKEYLOGFILE", "/tmp/keys-b");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/keys-b");
	assert_int_equal(g_nwarn, 0);

	/* the rest of the configuration does not depend on it */
	env_clear();
	env_set("SSLKEYLOGFILE", "/tmp/keys-b");
	load(&cfg);
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(cfg.format, TT_FMT_TEXT);
}

static void test_keylog_out(void **state)
{
	(void)state;
	struct tt_config cfg;
	char want[PATH_MAX];
	long pid = (long)getpid();

	env_clear();
	env_set("TLSTRACE_KEYLOG_OUT", "/tmp/secrets.keys");
	load(&cfg);
	assert_string_equal(cfg.keylog_out, "/tmp/secrets.keys");
	assert_int_equal(g_nwarn, 0);
	/* an export file is not a key log to read, and the reverse */
	assert_string_equal(cfg.keylog, "");

	env_clear();
	env_set("TLSTRACE_KEYLOG", "/tmp/in.keys");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/in.keys");
	assert_string_equal(cfg.keylog_out, "");

	env_clear();
	env_set("TLSTRACE_KEYLOG", "/tmp/in.keys");
	env_set("TLSTRACE_KEYLOG_OUT", "/tmp/out.keys");
	load(&cfg);
	assert_string_equal(cfg.keylog, "/tmp/in.keys");
	assert_string_equal(cfg.keylog_out, "/tmp/out.keys");
	assert_int_equal(g_nwarn, 0);

	/* %p and %% as in TLSTRACE_LOG */
	env_clear();
	env_set("TLSTRACE_KEYLOG_OUT", "keys-%p.txt");
	load(&cfg);
	snprintf(want, sizeof(want), "keys-%ld.txt", pid);
	assert_string_equal(cfg.keylog_out, want);

	env_clear();
	env_set("TLSTRACE_KEYLOG_OUT", "/var/tmp/%p/100%%-%p%x");
	load(&cfg);
	snprintf(want, sizeof(want), "/var/tmp/%ld/100%%-%ld%%x", pid, pid);
	assert_string_equal(cfg.keylog_out, want);
	assert_int_equal(g_nwarn, 0);

	/* the rest of the configuration does not depend on it */
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(cfg.format, TT_FMT_TEXT);
	assert_true(cfg.decrypt);
}

static void test_keylog_out_too_long(void **state)
{
	(void)state;
	struct tt_config cfg;
	char *v = malloc(PATH_MAX + 2);

	/* the longest path that fits: PATH_MAX - 1 bytes */
	v[0] = '/';
	memset(v + 1, 'k', PATH_MAX);
	v[PATH_MAX - 1] = 0;
	env_clear();
	env_set("TLSTRACE_KEYLOG_OUT", v);
	load(&cfg);
	assert_int_equal(strlen(cfg.keylog_out), PATH_MAX - 1);
	assert_int_equal(g_nwarn, 0);

	/* one byte more: no export, one line naming the variable, the
	 * value and the default */
	v[PATH_MAX - 1] = 'k';
	v[PATH_MAX] = 0;
	load(&cfg);
	assert_string_equal(cfg.keylog_out, "");
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(
		strstr(g_warn[0], "tlstrace: TLSTRACE_KEYLOG_OUT='/kkk"));
	assert_true(g_warn_len[0] < 400);
	const char *tail = "' is too long a path; using no key export\n";
	assert_true(g_warn_len[0] > strlen(tail));
	assert_string_equal(g_warn[0] + g_warn_len[0] - strlen(tail), tail);
	/* nothing else is touched */
	assert_int_equal(cfg.sink, TT_SINK_STDERR);
	assert_string_equal(cfg.keylog, "");
	assert_true(cfg.decrypt);

	/* too long only once %p is expanded, by one byte; and just fitting */
	char pidb[32];
	size_t pl = (size_t)snprintf(pidb, sizeof(pidb), "%ld", (long)getpid());
	memset(v, 'k', PATH_MAX + 1);
	v[0] = '/';
	memcpy(v + PATH_MAX - pl, "%p", 3);
	env_clear();
	env_set("TLSTRACE_KEYLOG_OUT", v);
	load(&cfg);
	assert_string_equal(cfg.keylog_out, "");
	assert_int_equal(g_nwarn, 1);
	check_one_line(0);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_KEYLOG_OUT"));
	assert_non_null(strstr(g_warn[0], "using no key export\n"));

	v[0] = '/';
	memset(v + 1, 'k', PATH_MAX);
	memcpy(v + PATH_MAX - 1 - pl, "%p", 3);
	load(&cfg);
	assert_int_equal(g_nwarn, 0);
	assert_int_equal(strlen(cfg.keylog_out), PATH_MAX - 1);
	assert_string_equal(cfg.keylog_out + PATH_MAX - 1 - pl, pidb);
	free(v);
}

static void test_decrypt(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		bool on;
	} cases[] = {
		{"on", true},  {"off", false}, {"1", true},    {"0", false},
		{"yes", true}, {"no", false},  {"true", true}, {"false", false},
	};
	struct tt_config cfg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_clear();
		env_set("TLSTRACE_DECRYPT", cases[i].v);
		load(&cfg);
		assert_int_equal(cfg.decrypt, cases[i].on);
		assert_int_equal(g_nwarn, 0);
		assert_int_equal(cfg.level, TT_INFO);
		assert_string_equal(cfg.keylog_out, "");
	}

	/* lower case only; nothing around the word */
	static const char *const bad[] = {
		"ON", "Off", "OFF", "Yes",    "NO",	  "True", "FALSE", "2",
		"00", "-1",  "o",   "of",     "onn",	  " on",  "off ",  "y",
		"n",  "t",   "f",   "enable", "disabled", "on\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_clear();
		env_set("TLSTRACE_DECRYPT", bad[i]);
		load(&cfg);
		assert_true(cfg.decrypt);
		assert_int_equal(g_nwarn, 1);
		check_one_line(0);
		assert_non_null(strstr(g_warn[0], "TLSTRACE_DECRYPT='"));
		assert_non_null(strstr(g_warn[0], "using on\n"));
	}

	env_clear();
	env_set("TLSTRACE_DECRYPT", "OFF");
	load(&cfg);
	assert_string_equal(g_warn[0], "tlstrace: TLSTRACE_DECRYPT='OFF' is "
				       "not on or off; using on\n");
	env_clear();
	env_set("TLSTRACE_DECRYPT", "on\n");
	load(&cfg);
	assert_string_equal(g_warn[0], "tlstrace: TLSTRACE_DECRYPT='on\\x0a' "
				       "is not on or off; using on\n");

	/* the other settings still apply */
	env_clear();
	env_set("TLSTRACE_DECRYPT", "maybe");
	env_set("TLSTRACE_FORMAT", "json");
	env_set("TLSTRACE_KEYLOG_OUT", "/tmp/k");
	load(&cfg);
	assert_true(cfg.decrypt);
	assert_int_equal(cfg.format, TT_FMT_JSON);
	assert_string_equal(cfg.keylog_out, "/tmp/k");
	assert_int_equal(g_nwarn, 1);
}

static void test_several_bad_values(void **state)
{
	(void)state;
	struct tt_config cfg;
	char *v = malloc(8000);
	memset(v, 'x', 7999);
	v[7999] = 0;
	env_clear();
	env_set("TLSTRACE_LEVEL", "loud");
	env_set("TLSTRACE_FORMAT", "xml");
	env_set("TLSTRACE_LOG", v);
	env_set("TLSTRACE_KEYLOG_OUT", v);
	env_set("TLSTRACE_DECRYPT", "sometimes");
	load(&cfg);
	expect_defaults(&cfg);
	assert_int_equal(g_nwarn, 5);
	for (size_t i = 0; i < 5; i++)
		check_one_line(i);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_LEVEL='loud'"));
	assert_non_null(strstr(g_warn[1], "TLSTRACE_FORMAT='xml'"));
	assert_non_null(strstr(g_warn[2], "TLSTRACE_LOG='xxx"));
	assert_non_null(strstr(g_warn[3], "TLSTRACE_KEYLOG_OUT='xxx"));
	assert_non_null(strstr(g_warn[4], "TLSTRACE_DECRYPT='sometimes'"));
	free(v);
}

/* ---- TLSTRACE_EVENTS -------------------------------------------------- */

/* The valid names, as the warning lists them (strcmp order). */
#define VALID_EVENTS                                                           \
	"alert, certificate, certificate_request, certificate_status, "        \
	"certificate_url, certificate_verify, change_cipher_spec, "            \
	"client_certificate_request, client_hello, client_key_exchange, "      \
	"compressed_certificate, connection_closed, connection_reset, "        \
	"decode_error, decoding_stopped, diagnosis, ekt_key, "                 \
	"encrypted_extensions, encrypted_record, end_of_early_data, "          \
	"finished, handshake, handshake_bytes, heartbeat, hello_request, "     \
	"hello_retry_request, hello_verify_request, io_bypass, key_update, "   \
	"message_hash, new_connection_id, new_session_ticket, not_inflated, "  \
	"record, renegotiation, request_connection_id, resync, "               \
	"server_hello, server_hello_done, server_key_exchange, "               \
	"ssl2_client_hello, ssl2_server_hello, starttls, starttls_stop, "      \
	"summary, supplemental_data"

/* The names cfg's filter wants, in registry order, comma-separated. */
static void wanted(const struct tt_config *cfg, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		if (cfg->events.want[i / 64] >> (i % 64) & 1)
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "," : "", tt_event_name(i));
}

static void expect_events(const char *v, const char *want, size_t nwarn)
{
	struct tt_config cfg;
	char got[2048];
	env_clear();
	env_set("TLSTRACE_EVENTS", v);
	load(&cfg);
	wanted(&cfg, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("TLSTRACE_EVENTS='%s': wants %s, not %s", v, got,
			 want);
	assert_int_equal(g_nwarn, nwarn);
	for (size_t i = 0; i < nwarn; i++)
		check_one_line(i);
	/* the rest of the configuration is untouched */
	assert_int_equal(cfg.level, TT_INFO);
	assert_int_equal(cfg.format, TT_FMT_TEXT);
	assert_true(cfg.decrypt);
}

static void test_events(void **state)
{
	(void)state;
	/* registry order, whatever the list's */
	expect_events("summary,diagnosis", "summary,diagnosis", 0);
	expect_events("summary,diagnosis,certificate_request,alert",
		      "alert,summary,diagnosis,certificate_request", 0);
	expect_events("handshake", "handshake", 0);
	expect_events("client_hello,server_hello_done,message_hash",
		      "client_hello,server_hello_done,message_hash", 0);
	/* blanks around names, empty items, repeats */
	expect_events("  summary ,\tdiagnosis\n", "summary,diagnosis", 0);
	expect_events(",,summary,, ,alert,", "alert,summary", 0);
	expect_events("summary,summary", "summary", 0);
	struct tt_config cfg;
	env_clear();
	env_set("TLSTRACE_EVENTS", "summary");
	load(&cfg);
	assert_int_equal(cfg.events.n, 1);
	/* every name: as many as the registry holds */
	char all[2048];
	size_t o = 0;
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s",
				      i ? "," : "", tt_event_name(i));
	expect_events(all, all, 0);
	/* empty: every event, silently */
	expect_events("", "", 0);
}

static void test_events_unknown(void **state)
{
	(void)state;
	/* the valid names apply, the unknown ones are named with the list */
	expect_events("summary,bogus, diagnosis", "summary,diagnosis", 1);
	assert_string_equal(
		g_warn[0],
		"tlstrace: TLSTRACE_EVENTS='summary,bogus, "
		"diagnosis' has unknown event name bogus (valid: " VALID_EVENTS
		"); using the other names\n");
	/* names are spelt as in the log: letter case counts */
	expect_events("Summary,alert,x y", "alert", 1);
	assert_string_equal(
		g_warn[0],
		"tlstrace: TLSTRACE_EVENTS='Summary,alert,x y' has "
		"unknown event names Summary, x y (valid: " VALID_EVENTS
		"); using the other names\n");
	/* none valid: the variable is ignored, every event is written */
	expect_events("bogus,nope", "", 1);
	assert_string_equal(
		g_warn[0], "tlstrace: TLSTRACE_EVENTS='bogus,nope' has unknown "
			   "event names bogus, nope (valid: " VALID_EVENTS
			   "); using all events\n");
	/* a value of separators names no event */
	expect_events(" , ,", "", 1);
	assert_string_equal(g_warn[0], "tlstrace: TLSTRACE_EVENTS=' , ,' "
				       "names no event; using all events\n");
	/* control characters in a name are shown escaped */
	expect_events("alert,\x1b[2J", "alert", 1);
	assert_non_null(strstr(g_warn[0], "has unknown event name \\x1b[2J ("));
}

/* A long value costs no memory and gives a bounded line: the value and
 * each unknown name clipped, as many unknown names as fit, then "...". */
static void test_events_long(void **state)
{
	(void)state;
	enum { LEN = 100000 };
	char *v = malloc(LEN + 1);
	/* "summary," then "xxxx...x," items of 50 bytes, then ",alert" */
	size_t o = (size_t)snprintf(v, LEN + 1, "summary,");
	while (o + 51 + 7 < LEN) {
		memset(v + o, 'x', 50);
		v[o + 50] = ',';
		o += 51;
	}
	strcpy(v + o, "alert");
	expect_events(v, "alert,summary", 1);
	assert_true(g_warn_len[0] < 1400);
	const char *x39 = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	char want[512];
	snprintf(want, sizeof(want),
		 "has unknown event names %s..., %s..., %s..., %s..., ... "
		 "(valid: alert, ",
		 x39, x39, x39, x39);
	if (!strstr(g_warn[0], want))
		fail_msg("got %s", g_warn[0]);
	assert_non_null(strstr(g_warn[0], "TLSTRACE_EVENTS='summary,xxxx"));
	assert_non_null(strstr(g_warn[0], "); using the other names\n"));

	/* one very long unknown name alone */
	memset(v, 'y', LEN);
	v[LEN] = 0;
	expect_events(v, "", 1);
	assert_true(g_warn_len[0] < 1200);
	assert_non_null(strstr(g_warn[0], "); using all events\n"));
	/* a long list of valid names, each many times */
	o = 0;
	while (o + 9 < LEN)
		o += (size_t)snprintf(v + o, LEN + 1 - o, "summary, ");
	expect_events(v, "summary", 0);
	free(v);
}

static void expand_ok(const char *tmpl, long pid, const char *want)
{
	char out[256];
	assert_true(tt_expand_path(tmpl, pid, out, sizeof(out)));
	assert_string_equal(out, want);
}

static void test_expand_path(void **state)
{
	(void)state;
	expand_ok("", 42, "");
	expand_ok("plain", 42, "plain");
	expand_ok("%p", 42, "42");
	expand_ok("a-%p-b", 4242, "a-4242-b");
	expand_ok("%p%p", 7, "77");
	expand_ok("%%", 42, "%");
	expand_ok("%%p", 42, "%p");
	expand_ok("%%%p", 42, "%42");
	expand_ok("100%", 42, "100%");
	expand_ok("%x%", 42, "%x%");
	expand_ok("%P", 42, "%P");
	expand_ok("/tmp/%p.log", 2147483647L, "/tmp/2147483647.log");
	expand_ok("%p", 0, "0");

	/* the exact room: text and NUL */
	char buf[64];
	memset(buf, 0x5a, sizeof(buf));
	assert_true(tt_expand_path("ab%p", 42, buf, 5));
	assert_string_equal(buf, "ab42");
	for (size_t cap = 0; cap < 5; cap++) {
		memset(buf, 0x5a, sizeof(buf));
		assert_false(tt_expand_path("ab%p", 42, buf, cap));
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0x5a);
	}
	assert_true(tt_expand_path("a%%", 1, buf, 3));
	assert_string_equal(buf, "a%");
	assert_false(tt_expand_path("a%%", 1, buf, 2));
}

/* No room at all: even an empty template must not write its NUL. */
static void test_expand_path_cap_zero(void **state)
{
	(void)state;
	char buf[4];
	memset(buf, 0x5a, sizeof(buf));
	assert_false(tt_expand_path("", 42, buf, 0));
	assert_int_equal(buf[0], 0x5a);
	assert_true(tt_expand_path("", 42, buf, 1));
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_bad_level),
		cmocka_unit_test(test_control_chars_shown_escaped),
		cmocka_unit_test(test_long_value_clipped),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_log_sinks),
		cmocka_unit_test(test_log_path_too_long),
		cmocka_unit_test(test_log_syslog_path),
		cmocka_unit_test(test_keylog),
		cmocka_unit_test(test_keylog_out),
		cmocka_unit_test(test_keylog_out_too_long),
		cmocka_unit_test(test_decrypt),
		cmocka_unit_test(test_several_bad_values),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_events_unknown),
		cmocka_unit_test(test_events_long),
		cmocka_unit_test(test_expand_path),
		cmocka_unit_test(test_expand_path_cap_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
