/* shim/format.c: the JSON Lines and text renderings of an event against
 * the contract in DESIGN.md.  JSON output is checked by a strict parser
 * (RFC 8259 grammar, UTF-8 validated, top-level members recorded), and
 * truncation is tried at every cap from TT_LINE_MIN up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "format.h"

/* ---- a strict JSON checker ------------------------------------------ */

struct jmember {
	char key[64];
	char type; /* s string, n number, b bool, z null, a array, o object */
	const char *val;
	size_t vlen;
};

struct jdoc {
	struct jmember m[128];
	size_t n;
};

struct jp {
	const char *p, *end;
	int depth;
};

static bool j_hex4(struct jp *j, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		if (j->p >= j->end)
			return false;
		char c = *j->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t len;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return len;
}

/* A string at j->p; decoded into out (cap bytes) when out is not NULL. */
static bool j_string(struct jp *j, char *out, size_t cap)
{
	size_t o = 0;
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	for (;;) {
		if (j->p >= j->end)
			return false;
		unsigned char c = (unsigned char)*j->p;
		char tmp[4];
		size_t tn;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			char e = *j->p++;
			unsigned cp;
			switch (e) {
			case '"':
				cp = '"';
				break;
			case '\\':
				cp = '\\';
				break;
			case '/':
				cp = '/';
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (!j_hex4(j, &cp))
					return false;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return false;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned lo;
					if (j->end - j->p < 2 ||
					    j->p[0] != '\\' || j->p[1] != 'u')
						return false;
					j->p += 2;
					if (!j_hex4(j, &lo) || lo < 0xdc00 ||
					    lo > 0xdfff)
						return false;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				}
				if (cp == 0)
					return false; /* never in our strings */
				break;
			default:
				return false;
			}
			tn = put_utf8(tmp, cp);
		} else {
			tn = utf8_len((const unsigned char *)j->p,
				      (const unsigned char *)j->end);
			if (tn == 0)
				return false;
			memcpy(tmp, j->p, tn);
			j->p += tn;
		}
		if (out) {
			if (o + tn + 1 > cap)
				return false;
			memcpy(out + o, tmp, tn);
			o += tn;
		}
	}
	if (out)
		out[o] = 0;
	return true;
}

static bool j_lit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool is_digit(struct jp *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static bool j_number(struct jp *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!is_digit(j))
		return false;
	if (*j->p == '0')
		j->p++;
	else
		while (is_digit(j))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!is_digit(j))
			return false;
		while (is_digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!is_digit(j))
			return false;
		while (is_digit(j))
			j->p++;
	}
	return true;
}

static bool j_value(struct jp *j, char *type, struct jdoc *doc);

static bool j_object(struct jp *j, struct jdoc *doc)
{
	j->p++; /* { */
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[64];
		if (!j_string(j, key, sizeof(key)))
			return false;
		if (j->p >= j->end || *j->p++ != ':')
			return false;
		const char *v = j->p;
		char type;
		if (!j_value(j, &type, NULL))
			return false;
		if (doc) {
			for (size_t i = 0; i < doc->n; i++)
				if (strcmp(doc->m[i].key, key) == 0)
					return false; /* duplicate key */
			if (doc->n == sizeof(doc->m) / sizeof(doc->m[0]))
				return false;
			struct jmember *m = &doc->m[doc->n++];
			strcpy(m->key, key);
			m->type = type;
			m->val = v;
			m->vlen = (size_t)(j->p - v);
		}
		if (j->p >= j->end)
			return false;
		if (*j->p == '}') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool j_array(struct jp *j)
{
	j->p++; /* [ */
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		char type;
		if (!j_value(j, &type, NULL))
			return false;
		if (j->p >= j->end)
			return false;
		if (*j->p == ']') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool j_value(struct jp *j, char *type, struct jdoc *doc)
{
	if (j->p >= j->end || ++j->depth > 16)
		return false;
	bool ok;
	switch (*j->p) {
	case '"':
		*type = 's';
		ok = j_string(j, NULL, 0);
		break;
	case '{':
		*type = 'o';
		ok = j_object(j, doc);
		break;
	case '[':
		*type = 'a';
		ok = j_array(j);
		break;
	case 't':
		*type = 'b';
		ok = j_lit(j, "true");
		break;
	case 'f':
		*type = 'b';
		ok = j_lit(j, "false");
		break;
	case 'n':
		*type = 'z';
		ok = j_lit(j, "null");
		break;
	default:
		*type = 'n';
		ok = j_number(j);
	}
	j->depth--;
	return ok;
}

/* A JSON Lines line: one object, no whitespace needed, then exactly one
 * newline at the end. */
static bool json_line_ok(const char *s, size_t n, struct jdoc *doc)
{
	memset(doc, 0, sizeof(*doc));
	if (n < 3 || s[n - 1] != '\n' || s[n - 2] != '}' || s[0] != '{')
		return false;
	if (memchr(s, '\n', n - 1))
		return false;
	struct jp j = {s, s + n - 1, 0};
	char type;
	if (!j_value(&j, &type, doc) || type != 'o')
		return false;
	return j.p == j.end;
}

static const struct jmember *jfind(const struct jdoc *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->m[i].key, key) == 0)
			return &d->m[i];
	return NULL;
}

/* The decoded value of string member key, in a static buffer. */
static const char *jstr(const struct jdoc *d, const char *key)
{
	static char out[8192];
	const struct jmember *m = jfind(d, key);
	assert_non_null(m);
	assert_int_equal(m->type, 's');
	struct jp j = {m->val, m->val + m->vlen, 0};
	assert_true(j_string(&j, out, sizeof(out)));
	return out;
}

/* The raw text of member key's value, in a static buffer. */
static const char *jraw(const struct jdoc *d, const char *key)
{
	static char out[8192];
	const struct jmember *m = jfind(d, key);
	assert_non_null(m);
	assert_true(m->vlen < sizeof(out));
	memcpy(out, m->val, m->vlen);
	out[m->vlen] = 0;
	return out;
}

static void test_json_checker_itself(void **state)
{
	(void)state;
	struct jdoc d;
	static const char *const good[] = {
		"{}\n",
		"{\"a\":1,\"b\":[],\"c\":[\"x\",\"y\"],\"d\":true}\n",
		"{\"a\":\"\\u00e9\\n\\\\\",\"b\":-0.5e+3,\"c\":null}\n",
		"{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}\n",
	};
	static const char *const bad[] = {
		"{\n",
		"{\"a\":1}",
		"{\"a\":1,}\n",
		"{\"a\":1}}\n",
		"{\"a\":\"x}\n",
		"{\"a\":\"\x01\"}\n",
		"{\"a\":\"\\x41\"}\n",
		"{\"a\":\"\xff\"}\n",
		"{\"a\":\"\xc0\x80\"}\n",
		"{\"a\":[1,]}\n",
		"{\"a\":01}\n",
		"{\"a\":1,\"a\":2}\n",
		"{\"a\":tru}\n",
		"{\"a\":1}\n{}\n",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(json_line_ok(good[i], strlen(good[i]), &d));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (json_line_ok(bad[i], strlen(bad[i]), &d)) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			fail();
		}
	}
	assert_true(json_line_ok(good[2], strlen(good[2]), &d));
	assert_string_equal(jstr(&d, "a"), "\xc3\xa9\n\\");
	assert_string_equal(jraw(&d, "b"), "-0.5e+3");
}

/* ---- events and lines ---------------------------------------------- */

static struct tt_event *g_ev;
static const struct timespec TS = {1795428000, 123456789};
#define TS_TEXT "2026-11-23T10:00:00.123456Z"

static const struct tt_line_ctx CTX = {
	.pid = 4242,
	.tid = 4243,
	.conn = 1,
	.fd = 5,
	.local = "127.0.0.1:50000",
	.peer = "[::1]:443",
	.role = "client",
	.show_addrs = false,
};

static void no_sink(void *ctx, struct tt_event *ev)
{
	(void)ctx;
	(void)ev;
}

static struct tt_event *begin(const char *name, enum tt_level l, enum tt_dir d)
{
	struct tt_emit em = {no_sink, NULL, g_ev, TT_TRACE, 0, NULL, NULL};
	struct tt_event *ev = tt_ev_begin(&em, name, l, d);
	assert_non_null(ev);
	return ev;
}

/* Renders into a heap buffer of exactly cap bytes (so ASan sees any byte
 * written past it) and returns a NUL-terminated copy. */
static char *render_cap(enum tt_format f, size_t cap, const struct tt_event *ev,
			const struct tt_line_ctx *c, enum tt_level max,
			const struct timespec *ts, size_t *len)
{
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = tt_format_line(f, buf, cap, ev, c, max, ts);
	assert_true(n <= cap);
	assert_true(n >= 1);
	char *s = malloc(n + 1);
	memcpy(s, buf, n);
	s[n] = 0;
	free(buf);
	if (len)
		*len = n;
	return s;
}

/* A line at a comfortable cap, in a static buffer. */
static const char *line(enum tt_format f, const struct tt_event *ev,
			enum tt_level max)
{
	static char out[70000];
	size_t n;
	char *s = render_cap(f, sizeof(out) - 1, ev, &CTX, max, &TS, &n);
	assert_int_equal(strlen(s), n); /* no NUL inside a line */
	memcpy(out, s, n + 1);
	free(s);
	return out;
}

static const char *json(const struct tt_event *ev, enum tt_level max,
			struct jdoc *d)
{
	const char *s = line(TT_FMT_JSON, ev, max);
	if (!json_line_ok(s, strlen(s), d)) {
		fprintf(stderr, "invalid JSON line: %s", s);
		fail();
	}
	return s;
}

static const char *text(const struct tt_event *ev, enum tt_level max)
{
	const char *s = line(TT_FMT_TEXT, ev, max);
	size_t n = strlen(s);
	assert_true(n > 0 && s[n - 1] == '\n');
	assert_null(memchr(s, '\n', n - 1));
	return s;
}

static const char *const COMMON[] = {"ts",   "level", "pid",   "tid",
				     "conn", "fd",    "local", "peer",
				     "role", "dir",   "event"};
static const char COMMON_TYPE[] = "ssnnnnsssss";
#define NCOMMON (sizeof(COMMON) / sizeof(COMMON[0]))

static void test_json_common_fields(void **state)
{
	(void)state;
	struct tt_event *ev = begin("certificate_request", TT_INFO, TT_IN);
	struct jdoc d;
	const char *s = json(ev, TT_INFO, &d);
	assert_string_equal(
		s, "{\"ts\":\"" TS_TEXT "\",\"level\":\"info\",\"pid\":4242,"
		   "\"tid\":4243,\"conn\":1,\"fd\":5,"
		   "\"local\":\"127.0.0.1:50000\",\"peer\":\"[::1]:443\","
		   "\"role\":\"client\",\"dir\":\"in\","
		   "\"event\":\"certificate_request\"}\n");
	assert_int_equal(d.n, NCOMMON);
	for (size_t i = 0; i < NCOMMON; i++) {
		assert_string_equal(d.m[i].key, COMMON[i]);
		assert_int_equal(d.m[i].type, COMMON_TYPE[i]);
	}

	/* with fields, the common ones still come first, in order */
	ev = begin("alert", TT_WARN, TT_OUT);
	tt_ev_str(ev, "alert_level", TT_INFO, "fatal");
	tt_ev_str(ev, "alert", TT_INFO, "handshake_failure");
	tt_ev_int(ev, "alert_code", TT_INFO, 40);
	struct tt_line_ctx c = CTX;
	c.role = "unknown";
	c.conn = 77;
	c.pid = 1;
	c.tid = 2;
	c.fd = -1;
	char *l = render_cap(TT_FMT_JSON, 4096, ev, &c, TT_INFO, &TS, NULL);
	assert_true(json_line_ok(l, strlen(l), &d));
	assert_int_equal(d.n, NCOMMON + 3);
	for (size_t i = 0; i < NCOMMON; i++) {
		assert_string_equal(d.m[i].key, COMMON[i]);
		assert_int_equal(d.m[i].type, COMMON_TYPE[i]);
	}
	assert_string_equal(jstr(&d, "level"), "warn");
	assert_string_equal(jstr(&d, "dir"), "out");
	assert_string_equal(jstr(&d, "role"), "unknown");
	assert_string_equal(jraw(&d, "conn"), "77");
	assert_string_equal(jraw(&d, "fd"), "-1");
	assert_string_equal(d.m[NCOMMON].key, "alert_level");
	assert_string_equal(d.m[NCOMMON + 1].key, "alert");
	assert_string_equal(d.m[NCOMMON + 2].key, "alert_code");
	assert_string_equal(jraw(&d, "alert_code"), "40");
	free(l);

	/* every level name */
	static const char *const lv[] = {"error", "warn", "info", "debug",
					 "trace"};
	for (int i = TT_ERROR; i <= TT_TRACE; i++) {
		ev = begin("summary", (enum tt_level)i, TT_IN);
		json(ev, TT_TRACE, &d);
		assert_string_equal(jstr(&d, "level"), lv[i]);
	}
}

/* conn is an unsigned counter: JSON and text must print the same number
 * for the same line, however large. */
static void test_conn_unsigned(void **state)
{
	(void)state;
	struct tt_event *ev = begin("summary", TT_INFO, TT_IN);
	struct tt_line_ctx c = CTX;
	c.conn = 18446744073709551615ULL;
	struct jdoc d;
	char *l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_non_null(strstr(l, " conn=18446744073709551615 "));
	free(l);
	l = render_cap(TT_FMT_JSON, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_true(json_line_ok(l, strlen(l), &d));
	assert_string_equal(jraw(&d, "conn"), "18446744073709551615");
	free(l);
}

static void test_timestamps(void **state)
{
	(void)state;
	static const struct {
		struct timespec ts;
		const char *want;
	} cases[] = {
		{{1795428000, 123456789}, "2026-11-23T10:00:00.123456Z"},
		{{1795428000, 0}, "2026-11-23T10:00:00.000000Z"},
		{{1795428000, 999999999}, "2026-11-23T10:00:00.999999Z"},
		{{1795428000, 1000}, "2026-11-23T10:00:00.000001Z"},
		{{1795428000, 999}, "2026-11-23T10:00:00.000000Z"},
		{{0, 0}, "1970-01-01T00:00:00.000000Z"},
		{{1709164800, 500000000}, "2024-02-29T00:00:00.500000Z"},
		{{1709164799, 0}, "2024-02-28T23:59:59.000000Z"},
	};
	struct tt_event *ev = begin("summary", TT_INFO, TT_IN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jdoc d;
		char *l = render_cap(TT_FMT_JSON, 1024, ev, &CTX, TT_INFO,
				     &cases[i].ts, NULL);
		assert_true(json_line_ok(l, strlen(l), &d));
		assert_string_equal(jstr(&d, "ts"), cases[i].want);
		free(l);
		l = render_cap(TT_FMT_TEXT, 1024, ev, &CTX, TT_INFO,
			       &cases[i].ts, NULL);
		assert_memory_equal(l, cases[i].want, strlen(cases[i].want));
		assert_int_equal(l[strlen(cases[i].want)], ' ');
		free(l);
	}
}

static void test_json_escapes(void **state)
{
	(void)state;
	struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_str(ev, "quote", TT_INFO, "a\"b");
	tt_ev_str(ev, "backslash", TT_INFO, "a\\b");
	tt_ev_str(ev, "nl", TT_INFO, "a\nb");
	tt_ev_str(ev, "tab", TT_INFO, "a\tb");
	tt_ev_str(ev, "cr", TT_INFO, "a\rb");
	tt_ev_str(ev, "bs", TT_INFO, "a\bb");
	tt_ev_str(ev, "ff", TT_INFO, "a\fb");
	tt_ev_str(ev, "c01", TT_INFO,
		  "a\x01"
		  "b");
	tt_ev_str(ev, "c1f", TT_INFO, "\x1f");
	tt_ev_str(ev, "esc", TT_INFO, "\x1b[31m");
	tt_ev_str(ev, "del", TT_INFO,
		  "a\x7f"
		  "b");
	tt_ev_str(ev, "slash", TT_INFO, "a/b");
	tt_ev_str(ev, "empty", TT_INFO, "");
	struct jdoc d;
	const char *s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(
		s,
		",\"quote\":\"a\\\"b\",\"backslash\":\"a\\\\b\","
		"\"nl\":\"a\\nb\",\"tab\":\"a\\tb\",\"cr\":\"a\\rb\","
		"\"bs\":\"a\\bb\",\"ff\":\"a\\fb\",\"c01\":\"a\\u0001b\","
		"\"c1f\":\"\\u001f\",\"esc\":\"\\u001b[31m\","
		"\"del\":\"a\\u007fb\",\"slash\":\"a/b\",\"empty\":\"\"}\n"));

	/* every ASCII byte round-trips through the escaping */
	char all[128];
	for (int i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = 0;
	ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_str(ev, "all", TT_INFO, all);
	s = json(ev, TT_INFO, &d);
	assert_string_equal(jstr(&d, "all"), all);
	/* no raw control character or DEL on the line */
	for (const char *p = s; *p != '\n'; p++)
		assert_true((unsigned char)*p >= 0x20 &&
			    (unsigned char)*p != 0x7f);

	/* the event name and the addresses are escaped too */
	ev = begin("odd\"name", TT_INFO, TT_OUT);
	struct tt_line_ctx c = CTX;
	c.local = "a\"b";
	c.peer = "c\\d";
	char *l = render_cap(TT_FMT_JSON, 4096, ev, &c, TT_INFO, &TS, NULL);
	assert_true(json_line_ok(l, strlen(l), &d));
	assert_string_equal(jstr(&d, "event"), "odd\"name");
	assert_string_equal(jstr(&d, "local"), "a\"b");
	assert_string_equal(jstr(&d, "peer"), "c\\d");
	free(l);

	/* absent addresses are empty strings, not missing keys */
	c.local = NULL;
	c.peer = NULL;
	l = render_cap(TT_FMT_JSON, 4096, ev, &c, TT_INFO, &TS, NULL);
	assert_true(json_line_ok(l, strlen(l), &d));
	assert_string_equal(jstr(&d, "local"), "");
	assert_string_equal(jstr(&d, "peer"), "");
	free(l);
}

static void test_utf8_passthrough(void **state)
{
	(void)state;
	static const char *const u[] = {
		"caf\xc3\xa9",				   /* 2 bytes */
		"\xe2\x82\xac 5",			   /* 3 bytes */
		"\xe6\x9d\xb1\xe4\xba\xac",		   /* CJK */
		"\xf0\x9f\x98\x80",			   /* 4 bytes */
		"CN=\xc3\x89mile,O=Soci\xc3\xa9t\xc3\xa9", /* a DN */
		"\xef\xbf\xbf\xf4\x8f\xbf\xbf", /* U+FFFF, U+10FFFF */
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		struct tt_event *ev = begin("certificate", TT_INFO, TT_IN);
		tt_ev_str(ev, "subject", TT_INFO, u[i]);
		struct jdoc d;
		const char *s = json(ev, TT_INFO, &d);
		char want[256];
		snprintf(want, sizeof(want), ",\"subject\":\"%s\"}\n", u[i]);
		assert_non_null(strstr(s, want));
		assert_string_equal(jstr(&d, "subject"), u[i]);
		/* and in text, the bytes are kept as they are */
		s = text(ev, TT_INFO);
		assert_non_null(strstr(s, u[i]));
	}
}

static void test_untrusted_invalid_utf8(void **state)
{
	(void)state;
	static const uint8_t b[] = {'a', 0xff, 'b', 0xc3, 0xa9, 0xc3};
	struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_untrusted(ev, "sni", TT_INFO, b, sizeof(b));
	struct jdoc d;
	const char *s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(s, ",\"sni\":\"a\\\\xffb\xc3\xa9\\\\xc3\"}\n"));
	assert_string_equal(jstr(&d, "sni"), "a\\xffb\xc3\xa9\\xc3");
	s = text(ev, TT_INFO);
	assert_non_null(strstr(s, " sni=\"a\\\\xffb\xc3\xa9\\\\xc3\"\n"));

	/* a NUL byte from a peer never ends the string early */
	static const uint8_t z[] = {'x', 0, 'y'};
	ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_untrusted(ev, "sni", TT_INFO, z, sizeof(z));
	s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(s, ",\"sni\":\"x\\\\x00y\"}\n"));
	assert_string_equal(jstr(&d, "sni"), "x\\x00y");
}

static void test_lists(void **state)
{
	(void)state;
	struct tt_event *ev = begin("certificate_request", TT_INFO, TT_IN);
	tt_ev_str(ev, "version", TT_INFO, "TLS 1.2");
	tt_ev_int(ev, "ca_count", TT_INFO, 0);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	tt_ev_list_end(ev);
	tt_ev_list_begin(ev, "sig_algs", TT_INFO);
	tt_ev_list_add(ev, "ecdsa_secp256r1_sha256");
	tt_ev_list_add(ev, "rsa_pss_rsae_sha256");
	tt_ev_list_end(ev);
	struct jdoc d;
	const char *s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(
		s, ",\"version\":\"TLS 1.2\",\"ca_count\":0,\"ca_names\":[],"
		   "\"sig_algs\":[\"ecdsa_secp256r1_sha256\","
		   "\"rsa_pss_rsae_sha256\"]}\n"));
	assert_int_equal(jfind(&d, "ca_names")->type, 'a');
	s = text(ev, TT_INFO);
	assert_non_null(
		strstr(s, " certificate_request version=\"TLS 1.2\" ca_count=0 "
			  "ca_names=none sig_algs=ecdsa_secp256r1_sha256,"
			  "rsa_pss_rsae_sha256\n"));

	/* items that need escaping, one item, and an empty item */
	ev = begin("certificate_request", TT_INFO, TT_IN);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	tt_ev_list_add(ev, "CN=K-Dot Certificate Authority");
	tt_ev_list_add(ev, "CN=a\\,b\"c");
	tt_ev_list_add(ev, "");
	tt_ev_list_end(ev);
	tt_ev_list_begin(ev, "one", TT_INFO);
	tt_ev_list_add(ev, "h2");
	tt_ev_list_end(ev);
	s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(s, ",\"ca_names\":[\"CN=K-Dot Certificate "
				  "Authority\",\"CN=a\\\\,b\\\"c\",\"\"],"
				  "\"one\":[\"h2\"]}\n"));
	s = text(ev, TT_INFO);
	assert_non_null(strstr(s, " ca_names=\"CN=K-Dot Certificate "
				  "Authority\",\"CN=a\\\\,b\\\"c\",\"\" "
				  "one=h2\n"));
}

static void test_ints_bools_hex(void **state)
{
	(void)state;
	static const uint8_t rnd[] = {0x00, 0xff, 0x1a, 0xb2};
	struct tt_event *ev = begin("server_hello", TT_INFO, TT_IN);
	tt_ev_int(ev, "zero", TT_INFO, 0);
	tt_ev_int(ev, "neg", TT_INFO, -5);
	tt_ev_int(ev, "max", TT_INFO, LLONG_MAX);
	tt_ev_int(ev, "min", TT_INFO, LLONG_MIN);
	tt_ev_bool(ev, "yes", TT_INFO, true);
	tt_ev_bool(ev, "no", TT_INFO, false);
	tt_ev_hex(ev, "random", TT_INFO, rnd, sizeof(rnd));
	tt_ev_hex(ev, "none", TT_INFO, rnd, 0);
	tt_ev_printf(ev, "cipher", TT_INFO, "unknown(0x%04x)", 0x1234);
	struct jdoc d;
	const char *s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(
		s, ",\"zero\":0,\"neg\":-5,\"max\":9223372036854775807,"
		   "\"min\":-9223372036854775808,\"yes\":true,\"no\":false,"
		   "\"random\":\"00ff1ab2\",\"none\":\"\","
		   "\"cipher\":\"unknown(0x1234)\"}\n"));
	assert_int_equal(jfind(&d, "max")->type, 'n');
	assert_int_equal(jfind(&d, "no")->type, 'b');
	s = text(ev, TT_INFO);
	assert_non_null(strstr(
		s, " server_hello zero=0 neg=-5 max=9223372036854775807 "
		   "min=-9223372036854775808 yes=true no=false "
		   "random=00ff1ab2 none=\"\" cipher=unknown(0x1234)\n"));
}

static void test_field_levels(void **state)
{
	(void)state;
	struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_str(ev, "sni", TT_INFO, "localhost");
	tt_ev_int(ev, "session_id_len", TT_DEBUG, 32);
	tt_ev_str(ev, "hex", TT_TRACE, "0100");
	tt_ev_str(ev, "warned", TT_WARN, "w");
	struct jdoc d;
	json(ev, TT_INFO, &d);
	assert_non_null(jfind(&d, "sni"));
	assert_non_null(jfind(&d, "warned"));
	assert_null(jfind(&d, "session_id_len"));
	assert_null(jfind(&d, "hex"));
	assert_null(jfind(&d, "truncated")); /* filtered is not truncated */
	assert_int_equal(d.n, NCOMMON + 2);
	assert_null(strstr(text(ev, TT_INFO), "session_id_len"));

	json(ev, TT_DEBUG, &d);
	assert_string_equal(jraw(&d, "session_id_len"), "32");
	assert_null(jfind(&d, "hex"));
	assert_non_null(strstr(text(ev, TT_DEBUG), " session_id_len=32"));

	json(ev, TT_TRACE, &d);
	assert_int_equal(d.n, NCOMMON + 4);
	/* order of the fields is kept */
	assert_string_equal(d.m[NCOMMON].key, "sni");
	assert_string_equal(d.m[NCOMMON + 1].key, "session_id_len");
	assert_string_equal(d.m[NCOMMON + 2].key, "hex");
	assert_string_equal(d.m[NCOMMON + 3].key, "warned");

	json(ev, TT_WARN, &d);
	assert_int_equal(d.n, NCOMMON + 1);
	assert_non_null(jfind(&d, "warned"));
}

static void test_flags(void **state)
{
	(void)state;
	static const struct {
		uint16_t flag;
		const char *key;
	} f[] = {
		{TT_EVF_ENCRYPTED, "encrypted"},
		{TT_EVF_INFERRED, "inferred"},
		{TT_EVF_DECRYPTED, "decrypted"},
		{TT_EVF_TRUNCATED, "truncated"},
	};
	struct jdoc d;
	struct tt_event *ev = begin("encrypted_record", TT_TRACE, TT_IN);
	tt_ev_int(ev, "len", TT_INFO, 5);
	const char *s = json(ev, TT_TRACE, &d);
	for (size_t i = 0; i < 4; i++) {
		char q[32];
		snprintf(q, sizeof(q), "\"%s\"", f[i].key);
		assert_null(jfind(&d, f[i].key));
		assert_null(strstr(s, q));
	}
	assert_null(strstr(text(ev, TT_TRACE), "true"));

	for (size_t i = 0; i < 4; i++) {
		ev = begin("encrypted_record", TT_TRACE, TT_IN);
		tt_ev_int(ev, "len", TT_INFO, 5);
		ev->flags = f[i].flag;
		json(ev, TT_TRACE, &d);
		for (size_t k = 0; k < 4; k++) {
			if (k == i)
				assert_string_equal(jraw(&d, f[k].key), "true");
			else
				assert_null(jfind(&d, f[k].key));
		}
		char want[64];
		snprintf(want, sizeof(want), " len=5 %s=true\n", f[i].key);
		assert_non_null(strstr(text(ev, TT_TRACE), want));
	}

	ev = begin("certificate_request", TT_INFO, TT_IN);
	tt_ev_str(ev, "evidence", TT_INFO, "record sizes");
	ev->flags = TT_EVF_ENCRYPTED | TT_EVF_INFERRED | TT_EVF_DECRYPTED |
		    TT_EVF_TRUNCATED;
	s = json(ev, TT_INFO, &d);
	assert_non_null(strstr(
		s,
		",\"evidence\":\"record sizes\",\"encrypted\":true,"
		"\"inferred\":true,\"decrypted\":true,\"truncated\":true}\n"));
	assert_non_null(
		strstr(text(ev, TT_INFO),
		       " evidence=\"record sizes\" encrypted=true "
		       "inferred=true decrypted=true truncated=true\n"));

	/* an event truncated by the decoder (arena full) says so */
	ev = begin("client_hello", TT_INFO, TT_OUT);
	for (int i = 0; i < TT_EV_MAX_FIELDS + 1; i++)
		tt_ev_int(ev, "n", TT_DEBUG, i);
	json(ev, TT_INFO, &d);
	assert_string_equal(jraw(&d, "truncated"), "true");
}

static void test_text_layout(void **state)
{
	(void)state;
	struct tt_event *ev = begin("certificate_request", TT_INFO, TT_IN);
	tt_ev_int(ev, "ca_count", TT_INFO, 2);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	tt_ev_list_add(ev, "CN=K-Dot Certificate Authority");
	tt_ev_list_add(ev, "CN=The Roots Authority");
	tt_ev_list_end(ev);
	tt_ev_str(ev, "version", TT_INFO, "TLS 1.2");
	assert_string_equal(text(ev, TT_INFO), TS_TEXT
			    " info  pid=4242 tid=4243 conn=1 fd=5 client in  "
			    "certificate_request ca_count=2 "
			    "ca_names=\"CN=K-Dot Certificate Authority\","
			    "\"CN=The Roots Authority\" version=\"TLS 1.2\"\n");

	ev = begin("alert", TT_WARN, TT_OUT);
	tt_ev_str(ev, "alert", TT_INFO, "no_renegotiation");
	struct tt_line_ctx c = CTX;
	c.role = "server";
	c.pid = 7;
	c.tid = 8;
	c.conn = 12;
	c.fd = 130;
	char *l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_string_equal(l, TS_TEXT " warn  pid=7 tid=8 conn=12 fd=130 "
				       "server out alert "
				       "alert=no_renegotiation\n");
	free(l);

	static const struct {
		enum tt_level l;
		const char *pad;
	} lv[] = {{TT_ERROR, "error "},
		  {TT_WARN, "warn  "},
		  {TT_INFO, "info  "},
		  {TT_DEBUG, "debug "},
		  {TT_TRACE, "trace "}};
	for (size_t i = 0; i < 5; i++) {
		ev = begin("summary", lv[i].l, TT_IN);
		const char *s = text(ev, TT_TRACE);
		assert_memory_equal(s, TS_TEXT " ", strlen(TS_TEXT) + 1);
		assert_memory_equal(s + strlen(TS_TEXT) + 1, lv[i].pad,
				    strlen(lv[i].pad));
		assert_non_null(strstr(s, " client in  summary\n"));
	}

	/* an event with no field ends right after its name */
	ev = begin("hello_request", TT_INFO, TT_IN);
	c = CTX;
	c.role = "unknown";
	l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_string_equal(l, TS_TEXT " info  pid=4242 tid=4243 conn=1 fd=5 "
				       "unknown in  hello_request\n");
	free(l);
}

static void test_text_quoting(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"},
		{"localhost", "localhost"},
		{"unknown(0x1234)", "unknown(0x1234)"},
		{"grease(0x0a0a)", "grease(0x0a0a)"},
		{"h2", "h2"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"", "\"\""},
		{"TLS 1.3", "\"TLS 1.3\""},
		{"a=b", "\"a=b\""},
		{"a,b", "\"a,b\""},
		{"a\"b", "\"a\\\"b\""},
		{"a\\b", "\"a\\\\b\""},
		{"a\nb", "\"a\\x0ab\""},
		{"a\tb", "\"a\\x09b\""},
		{"\r", "\"\\x0d\""},
		{"\x1b[0m", "\"\\x1b[0m\""},
		{"a\x7f"
		 "b",
		 "\"a\\x7fb\""},
		{"x\\x00y", "\"x\\\\x00y\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
		tt_ev_str(ev, "v", TT_INFO, cases[i].in);
		tt_ev_int(ev, "after", TT_INFO, 1);
		char want[128];
		snprintf(want, sizeof(want), " client_hello v=%s after=1\n",
			 cases[i].out);
		const char *s = text(ev, TT_INFO);
		if (!strstr(s, want)) {
			fprintf(stderr, "case %zu: got %swant ...%s", i, s,
				want);
			fail();
		}
		/* no raw control byte or DEL ever reaches the text line */
		for (const char *p = s; *p != '\n'; p++)
			assert_true((unsigned char)*p >= 0x20 &&
				    (unsigned char)*p != 0x7f);
	}
}

static void test_show_addrs(void **state)
{
	(void)state;
	struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
	tt_ev_str(ev, "sni", TT_INFO, "localhost");
	struct tt_line_ctx c = CTX;
	c.show_addrs = true;
	char *l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_string_equal(l, TS_TEXT " info  pid=4242 tid=4243 conn=1 fd=5 "
				       "client out client_hello "
				       "local=127.0.0.1:50000 peer=[::1]:443 "
				       "sni=localhost\n");
	free(l);
	c.show_addrs = false;
	l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_null(strstr(l, "local="));
	assert_null(strstr(l, "peer="));
	free(l);
	/* unknown addresses: an empty quoted value */
	c.show_addrs = true;
	c.local = NULL;
	c.peer = "[fe80::1%eth0]:8443";
	l = render_cap(TT_FMT_TEXT, 1024, ev, &c, TT_INFO, &TS, NULL);
	assert_non_null(strstr(l, " client_hello local=\"\" "
				  "peer=[fe80::1%eth0]:8443 sni=localhost\n"));
	free(l);
	/* JSON always carries both, whatever show_addrs says */
	struct jdoc d;
	c = CTX;
	for (int k = 0; k < 2; k++) {
		c.show_addrs = k;
		l = render_cap(TT_FMT_JSON, 1024, ev, &c, TT_INFO, &TS, NULL);
		assert_true(json_line_ok(l, strlen(l), &d));
		assert_string_equal(jstr(&d, "local"), "127.0.0.1:50000");
		assert_string_equal(jstr(&d, "peer"), "[::1]:443");
		assert_int_equal(d.n, NCOMMON + 1);
		free(l);
	}
}

/* ---- truncation ----------------------------------------------------- */

static void test_truncated_big_field(void **state)
{
	(void)state;
	char *big = malloc(2001);
	memset(big, 'x', 2000);
	big[2000] = 0;
	struct tt_event *ev = begin("certificate", TT_INFO, TT_IN);
	tt_ev_str(ev, "before", TT_INFO, "kept");
	tt_ev_str(ev, "subject", TT_INFO, big);
	tt_ev_str(ev, "after", TT_INFO, "x");
	size_t n;
	char *l = render_cap(TT_FMT_JSON, 600, ev, &CTX, TT_INFO, &TS, &n);
	struct jdoc d;
	if (!json_line_ok(l, n, &d)) {
		fprintf(stderr, "invalid: %s", l);
		fail();
	}
	assert_true(n <= 600);
	assert_memory_equal(l + n - 2, "}\n", 2);
	assert_non_null(strstr(l, "\"truncated\":true"));
	assert_string_equal(jstr(&d, "before"), "kept");
	assert_null(jfind(&d, "subject"));
	assert_null(jfind(&d, "after")); /* cut, not reordered */
	free(l);

	l = render_cap(TT_FMT_TEXT, 600, ev, &CTX, TT_INFO, &TS, &n);
	assert_true(n <= 600);
	assert_string_equal(l, TS_TEXT " info  pid=4242 tid=4243 conn=1 fd=5 "
				       "client in  certificate before=kept "
				       "truncated=true\n");
	free(l);
	free(big);
}

/* The formatter may keep room for the flags at the end of a line, so a
 * line can be cut a little before the cap; never by more than this. */
#define TAIL_MARGIN 128

static bool is_flag_key(const char *k)
{
	return strcmp(k, "encrypted") == 0 || strcmp(k, "inferred") == 0 ||
	       strcmp(k, "decrypted") == 0 || strcmp(k, "truncated") == 0;
}

/* Builds the event for the sweep: small fields, a big one, a list, more
 * small fields; big_ctl makes the big field all control characters,
 * which expand six times in JSON. */
static struct tt_event *sweep_event(uint16_t flags, bool big_ctl)
{
	struct tt_event *ev = begin("client_hello", TT_INFO, TT_OUT);
	char k[16];
	static char keys[64][16];
	int nk = 0;
	for (int i = 0; i < 12; i++) {
		snprintf(keys[nk], sizeof(keys[nk]), "f%d", i);
		if (i % 3 == 0)
			tt_ev_int(ev, keys[nk], TT_INFO, i * 1000);
		else if (i % 3 == 1)
			tt_ev_printf(ev, keys[nk], TT_INFO, "v\"%d\\", i);
		else
			tt_ev_bool(ev, keys[nk], TT_INFO, i & 1);
		nk++;
	}
	char big[2001];
	memset(big, big_ctl ? 1 : 'x', 2000);
	big[2000] = 0;
	tt_ev_strcpy(ev, "big", TT_INFO, big, 2000);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	for (int i = 0; i < 6; i++) {
		snprintf(k, sizeof(k), "CN=ca %d", i);
		tt_ev_list_add(ev, k);
	}
	tt_ev_list_end(ev);
	for (int i = 12; i < 30; i++) {
		snprintf(keys[nk], sizeof(keys[nk]), "g%d", i);
		tt_ev_int(ev, keys[nk], i % 2 ? TT_INFO : TT_DEBUG, i);
		nk++;
	}
	ev->flags = flags;
	return ev;
}

static void sweep_json(uint16_t flags, bool big_ctl)
{
	struct tt_event *ev = sweep_event(flags, big_ctl);
	size_t full_n;
	char *full = render_cap(TT_FMT_JSON, 65536, ev, &CTX, TT_DEBUG, &TS,
				&full_n);
	struct jdoc fd, d;
	assert_true(json_line_ok(full, full_n, &fd));
	assert_null(strstr(full, "\"truncated\""));
	for (size_t cap = TT_LINE_MIN; cap <= 2 * full_n; cap++) {
		size_t n;
		char *l = render_cap(TT_FMT_JSON, cap, ev, &CTX, TT_DEBUG, &TS,
				     &n);
		if (n > cap || !json_line_ok(l, n, &d)) {
			fprintf(stderr,
				"cap %zu flags %#x: invalid line "
				"(%zu bytes): %s\n",
				cap, flags, n, l);
			fail();
		}
		/* the common fields, then a prefix of the event's fields,
		 * then the flags */
		size_t i = 0;
		for (; i < d.n && !is_flag_key(d.m[i].key); i++) {
			assert_string_equal(d.m[i].key, fd.m[i].key);
			assert_int_equal(d.m[i].vlen, fd.m[i].vlen);
			assert_memory_equal(d.m[i].val, fd.m[i].val,
					    d.m[i].vlen);
		}
		assert_true(i >= NCOMMON);
		bool cut = strcmp(l, full) != 0;
		if (cut && !jfind(&d, "truncated")) {
			fprintf(stderr, "cap %zu: cut without truncated: %s\n",
				cap, l);
			fail();
		}
		for (; i < d.n; i++)
			assert_true(is_flag_key(d.m[i].key));
		static const struct {
			uint16_t f;
			const char *k;
		} fl[] = {{TT_EVF_ENCRYPTED, "encrypted"},
			  {TT_EVF_INFERRED, "inferred"},
			  {TT_EVF_DECRYPTED, "decrypted"}};
		for (size_t k = 0; k < 3; k++) {
			if ((flags & fl[k].f) && !jfind(&d, fl[k].k)) {
				fprintf(stderr, "cap %zu: %s lost: %s\n", cap,
					fl[k].k, l);
				fail();
			}
		}
		if (cap >= full_n + TAIL_MARGIN)
			assert_string_equal(l, full);
		free(l);
	}
	free(full);
}

static void test_truncation_sweep_json(void **state)
{
	(void)state;
	sweep_json(0, false);
	sweep_json(0, true);
}

/* The flags must survive a cut line, all of them: "anything seen only as
 * ciphertext carries encrypted: true". */
static void test_truncation_sweep_json_flags(void **state)
{
	(void)state;
	sweep_json(TT_EVF_INFERRED, false);
	sweep_json(TT_EVF_ENCRYPTED | TT_EVF_INFERRED | TT_EVF_DECRYPTED,
		   false);
	sweep_json(TT_EVF_ENCRYPTED | TT_EVF_INFERRED | TT_EVF_DECRYPTED, true);
}

/* Removes trailing " flag=true" tokens; returns the new length. */
static size_t strip_text_flags(const char *s, size_t n, bool *truncated)
{
	static const char *const fl[] = {" truncated=true", " decrypted=true",
					 " inferred=true", " encrypted=true"};
	*truncated = false;
	for (size_t i = 0; i < 4; i++) {
		size_t k = strlen(fl[i]);
		if (n >= k && memcmp(s + n - k, fl[i], k) == 0) {
			n -= k;
			if (i == 0)
				*truncated = true;
		}
	}
	return n;
}

static void sweep_text(uint16_t flags)
{
	struct tt_event *ev = sweep_event(flags, true);
	size_t full_n;
	char *full = render_cap(TT_FMT_TEXT, 65536, ev, &CTX, TT_DEBUG, &TS,
				&full_n);
	bool tr;
	size_t full_body = strip_text_flags(full, full_n - 1, &tr);
	assert_false(tr);
	for (size_t cap = TT_LINE_MIN; cap <= 2 * full_n; cap++) {
		size_t n;
		char *l = render_cap(TT_FMT_TEXT, cap, ev, &CTX, TT_DEBUG, &TS,
				     &n);
		assert_true(n <= cap);
		assert_int_equal(l[n - 1], '\n');
		assert_null(memchr(l, '\n', n - 1));
		size_t body = strip_text_flags(l, n - 1, &tr);
		/* a prefix of the full line that ends at a field boundary */
		if (body > full_body || memcmp(l, full, body) != 0 ||
		    (body < full_body && full[body] != ' ')) {
			fprintf(stderr,
				"cap %zu flags %#x: not a field "
				"prefix; tail: %s",
				cap, flags, l + (n > 120 ? n - 120 : 0));
			fail();
		}
		if (body < full_body && !tr) {
			fprintf(stderr, "cap %zu: cut without truncated: %s\n",
				cap, l);
			fail();
		}
		if (flags & TT_EVF_ENCRYPTED)
			assert_non_null(strstr(l, " encrypted=true"));
		if (cap >= full_n + TAIL_MARGIN)
			assert_string_equal(l, full);
		free(l);
	}
	free(full);
}

static void test_truncation_sweep_text(void **state)
{
	(void)state;
	sweep_text(0);
	sweep_text(TT_EVF_ENCRYPTED | TT_EVF_INFERRED | TT_EVF_DECRYPTED);
}

/* An oversized event name or role must not make the formatter read past
 * its own header buffer: the line holds the whole name. */
static void test_long_event_name(void **state)
{
	(void)state;
	char name[301];
	memset(name, 'n', 300);
	name[300] = 0;
	struct tt_event *ev = begin(name, TT_INFO, TT_IN);
	tt_ev_int(ev, "x", TT_INFO, 1);
	size_t n;
	char *l = render_cap(TT_FMT_TEXT, 4096, ev, &CTX, TT_INFO, &TS, &n);
	char want[400];
	snprintf(want, sizeof(want), " client in  %s x=1\n", name);
	assert_non_null(strstr(l, want));
	free(l);
	struct jdoc d;
	l = render_cap(TT_FMT_JSON, 4096, ev, &CTX, TT_INFO, &TS, &n);
	assert_true(json_line_ok(l, n, &d));
	assert_string_equal(jstr(&d, "event"), name);
	free(l);
}

static int setup(void **state)
{
	(void)state;
	g_ev = calloc(1, sizeof(*g_ev));
	return g_ev ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(g_ev);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_checker_itself),
		cmocka_unit_test(test_json_common_fields),
		cmocka_unit_test(test_conn_unsigned),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_utf8_passthrough),
		cmocka_unit_test(test_untrusted_invalid_utf8),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_ints_bools_hex),
		cmocka_unit_test(test_field_levels),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_text_layout),
		cmocka_unit_test(test_text_quoting),
		cmocka_unit_test(test_show_addrs),
		cmocka_unit_test(test_truncated_big_field),
		cmocka_unit_test(test_truncation_sweep_json),
		cmocka_unit_test(test_truncation_sweep_json_flags),
		cmocka_unit_test(test_truncation_sweep_text),
		/* last: under ASan a read past the header buffer aborts */
		cmocka_unit_test(test_long_event_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
