/* decoder/base/event.c: UTF-8 sanitising of peer bytes, and the event
 * builders' bounds (arena and field exhaustion never overflow, always
 * mark the event truncated; a disabled event makes every builder a
 * no-op). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"

/* ---- tt_utf8_sanitize ------------------------------------------------ */

#define GUARD 0xa5

/* Sanitises b into a buffer of exactly cap bytes followed by guard bytes
 * that must stay untouched; returns the result, the text in out. */
static size_t san(const void *b, size_t n, char *out, size_t cap)
{
	char buf[4096];
	assert_true(cap + 64 <= sizeof(buf));
	memset(buf, GUARD, sizeof(buf));
	size_t r = tt_utf8_sanitize(b, n, buf, cap);
	for (size_t i = cap; i < cap + 64; i++)
		assert_int_equal((unsigned char)buf[i], GUARD);
	if (r != (size_t)-1) {
		assert_true(r < cap);
		assert_int_equal(buf[r], 0);
		assert_int_equal(strlen(buf), r);
		memcpy(out, buf, r + 1);
	}
	return r;
}

static void expect(const char *in, size_t n, const char *want)
{
	char out[4096];
	size_t r = san(in, n, out, 1024);
	if (r == (size_t)-1 || strcmp(out, want) != 0) {
		fprintf(stderr, "input of %zu bytes: got \"%s\", want \"%s\"\n",
			n, r == (size_t)-1 ? "(-1)" : out, want);
		fail();
	}
	assert_int_equal(r, strlen(want));
}

#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, want)

static void test_utf8_valid(void **state)
{
	(void)state;
	EXPECT("", "");
	EXPECT("plain ASCII", "plain ASCII");
	EXPECT("\x7f", "\x7f");		/* DEL is valid UTF-8 */
	EXPECT("\x01\x1f", "\x01\x1f"); /* controls: the formatter's job */
	EXPECT("\xc2\x80", "\xc2\x80"); /* U+0080 */
	EXPECT("caf\xc3\xa9", "caf\xc3\xa9");		/* 2 bytes */
	EXPECT("\xdf\xbf", "\xdf\xbf");			/* U+07FF */
	EXPECT("\xe0\xa0\x80", "\xe0\xa0\x80");		/* U+0800 */
	EXPECT("\xe2\x82\xac", "\xe2\x82\xac");		/* euro sign */
	EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	EXPECT("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	EXPECT("\xef\xbf\xbf", "\xef\xbf\xbf");		/* U+FFFF */
	EXPECT("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000 */
	EXPECT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* emoji */
	EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	EXPECT("a\xc3\xa9"
	       "b\xe6\x9d\xb1"
	       "c\xf0\x9f\x98\x80"
	       "d",
	       "a\xc3\xa9"
	       "b\xe6\x9d\xb1"
	       "c\xf0\x9f\x98\x80"
	       "d");
}

static void test_utf8_invalid(void **state)
{
	(void)state;
	/* overlong forms */
	EXPECT("\xc0\x80", "\\xc0\\x80");
	EXPECT("\xc1\xbf", "\\xc1\\xbf");
	EXPECT("\xe0\x80\x80", "\\xe0\\x80\\x80");
	EXPECT("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"); /* U+07FF in 3 bytes */
	EXPECT("\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80");
	EXPECT("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"); /* U+FFFF in 4 */
	/* surrogates */
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	EXPECT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	EXPECT("\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
	       "\\xed\\xa0\\xbd\\xed\\xb8\\x80");
	/* above U+10FFFF and bytes that never appear */
	EXPECT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	EXPECT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	EXPECT("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
	EXPECT("\xfe\xff", "\\xfe\\xff");
	/* truncated sequences at the end */
	EXPECT("a\xc3", "a\\xc3");
	EXPECT("a\xe2\x82", "a\\xe2\\x82");
	EXPECT("a\xf0\x9f\x98", "a\\xf0\\x9f\\x98");
	/* truncated in the middle: the next character survives */
	EXPECT("\xe2\x82"
	       "A",
	       "\\xe2\\x82A");
	EXPECT("\xf0\x9f"
	       "\xc3\xa9",
	       "\\xf0\\x9f\xc3\xa9");
	EXPECT("\xc3"
	       "\xe2\x82\xac",
	       "\\xc3\xe2\x82\xac");
	/* lone continuation bytes */
	EXPECT("\x80", "\\x80");
	EXPECT("\xbf", "\\xbf");
	EXPECT("a\x80"
	       "b",
	       "a\\x80b");
	EXPECT("\xc3\xa9\xa9", "\xc3\xa9\\xa9");
	/* NUL never ends the text early */
	EXPECT("\0", "\\x00");
	EXPECT("a\0b", "a\\x00b");
	/* the hex is lower case, two digits */
	EXPECT("\xab\xcd\xef", "\\xab\\xcd\\xef");

	/* every single byte: ASCII but NUL is kept, the rest is \xHH */
	for (unsigned c = 0; c < 256; c++) {
		char in[1] = {(char)c}, want[8];
		if (c > 0 && c < 0x80)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		expect(in, 1, want);
	}
}

/* The output of the sanitiser is always valid UTF-8 with no NUL, for any
 * input: checked on pseudo-random bytes biased towards UTF-8 leads. */
static bool valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i], cp;
		size_t len;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

static void test_utf8_random(void **state)
{
	(void)state;
	static const uint8_t pick[] = {0x00, 0x41, 0x7f, 0x80, 0x9f, 0xa0,
				       0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed,
				       0xef, 0xf0, 0xf4, 0xf5, 0xff};
	uint32_t x = 12345;
	char out[4096];
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t in[16];
		size_t n = (size_t)(iter % 17);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (x >> 16) & 1 ? pick[(x >> 17) % sizeof(pick)]
					      : (uint8_t)(x >> 20);
		}
		size_t r = san(in, n, out, 1024);
		assert_true(r != (size_t)-1);
		assert_true(valid_utf8((const unsigned char *)out, r));
		assert_true(r <= 4 * n);
	}
}

static void test_utf8_cap(void **state)
{
	(void)state;
	static const char in[] = "a\xc3\xa9\xff\xe2\x82\xac"
				 "b\x80";
	static const char want[] = "a\xc3\xa9\\xff\xe2\x82\xac"
				   "b\\x80";
	size_t len = sizeof(want) - 1;
	char out[4096];
	/* too small, at every size: (size_t)-1, nothing written past cap */
	for (size_t cap = 0; cap <= len; cap++)
		assert_int_equal(san(in, sizeof(in) - 1, out, cap), (size_t)-1);
	/* the exact size, text and NUL, fits */
	assert_int_equal(san(in, sizeof(in) - 1, out, len + 1), len);
	assert_string_equal(out, want);
	/* empty input: needs one byte for the NUL */
	assert_int_equal(san("", 0, out, 0), (size_t)-1);
	assert_int_equal(san("", 0, out, 1), 0);
	assert_string_equal(out, "");
	/* an escape needs its four bytes at once */
	assert_int_equal(san("\xff", 1, out, 4), (size_t)-1);
	assert_int_equal(san("\xff", 1, out, 5), 4);
	/* a 4-byte character is not split */
	assert_int_equal(san("\xf0\x9f\x98\x80", 4, out, 4), (size_t)-1);
	assert_int_equal(san("\xf0\x9f\x98\x80", 4, out, 5), 4);
}

/* ---- builders -------------------------------------------------------- */

static int g_sent;

static void count_sink(void *ctx, struct tt_event *ev)
{
	(void)ev;
	(*(int *)ctx)++;
}

/* An event scratch followed by guard bytes, so a write past the struct
 * is seen even without ASan. */
#define EV_GUARD 256

static struct tt_event *new_ev(void)
{
	unsigned char *p = malloc(sizeof(struct tt_event) + EV_GUARD);
	assert_non_null(p);
	memset(p, GUARD, sizeof(struct tt_event) + EV_GUARD);
	return (struct tt_event *)p;
}

static void check_guard(const struct tt_event *ev)
{
	/* from the end of the arena: the struct's own tail padding counts */
	const unsigned char *g = (const unsigned char *)ev->arena + TT_EV_ARENA;
	const unsigned char *end =
		(const unsigned char *)ev + sizeof(*ev) + EV_GUARD;
	for (; g < end; g++) {
		if (*g != GUARD) {
			fprintf(stderr, "byte written %td past the arena\n",
				g - ((const unsigned char *)ev->arena +
				     TT_EV_ARENA));
			fail();
		}
	}
}

/* Every string of every field lies inside the arena or is static, and is
 * NUL-terminated inside it. */
static void check_fields(const struct tt_event *ev)
{
	assert_true(ev->nf <= TT_EV_MAX_FIELDS);
	assert_true(ev->used <= TT_EV_ARENA);
	const char *a = ev->arena, *e = ev->arena + TT_EV_ARENA;
	for (size_t i = 0; i < ev->nf; i++) {
		const struct tt_field *f = &ev->f[i];
		if (f->type == TT_FT_INT || f->type == TT_FT_BOOL)
			continue;
		const char *s = f->v.s;
		assert_non_null(s);
		uint32_t items = f->type == TT_FT_LIST ? f->n : 1;
		if (items == 0)
			continue; /* an empty list is never read */
		if (s < a || s >= e) {
			/* outside the arena: only a static "" or a
			 * caller's string, never the arena's end */
			assert_true(s != e);
			assert_true(f->type != TT_FT_LIST);
			continue;
		}
		for (uint32_t k = 0; k < items; k++) {
			const char *z = memchr(s, 0, (size_t)(e - s));
			assert_non_null(z);
			assert_true(z < a + ev->used);
			s = z + 1;
		}
	}
}

static struct tt_event *begin(struct tt_event *scratch, enum tt_level lvl)
{
	struct tt_emit em = {count_sink, &g_sent, scratch, TT_TRACE,
			     0,		 NULL,	  NULL};
	struct tt_event *ev = tt_ev_begin(&em, "client_hello", lvl, TT_OUT);
	assert_ptr_equal(ev, scratch);
	return ev;
}

static void test_begin_resets(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	assert_string_equal(ev->name, "client_hello");
	assert_int_equal(ev->level, TT_INFO);
	assert_int_equal(ev->dir, TT_OUT);
	assert_int_equal(ev->flags, 0);
	assert_int_equal(ev->nf, 0);
	assert_int_equal(ev->used, 0);
	assert_int_equal(ev->list_open, -1);
	tt_ev_strcpy(ev, "a", TT_INFO, "abc", 3);
	tt_ev_list_begin(ev, "l", TT_INFO);
	ev->flags = TT_EVF_TRUNCATED | TT_EVF_ENCRYPTED;
	ev = begin(s, TT_DEBUG);
	assert_int_equal(ev->level, TT_DEBUG);
	assert_int_equal(ev->flags, 0);
	assert_int_equal(ev->nf, 0);
	assert_int_equal(ev->used, 0);
	assert_int_equal(ev->list_open, -1);
	check_guard(s);
	free(s);
}

static void test_scalars(void **state)
{
	(void)state;
	static const uint8_t b[] = {0x00, 0xff, 0x10, 0xab};
	static const char lit[] = "static";
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	tt_ev_str(ev, "s", TT_INFO, lit);
	tt_ev_str(ev, "null", TT_INFO, NULL);
	tt_ev_strcpy(ev, "c", TT_DEBUG, "copied!", 6);
	tt_ev_untrusted(ev, "u", TT_INFO, (const uint8_t *)"a\xff", 2);
	tt_ev_int(ev, "i", TT_TRACE, -42);
	tt_ev_bool(ev, "t", TT_INFO, true);
	tt_ev_bool(ev, "f", TT_INFO, false);
	tt_ev_hex(ev, "h", TT_INFO, b, sizeof(b));
	tt_ev_printf(ev, "p", TT_INFO, "%s-%d", "x", 7);
	assert_int_equal(ev->nf, 9);
	assert_int_equal(ev->flags, 0);

	const struct tt_field *f = tt_ev_find(ev, "s");
	assert_int_equal(f->type, TT_FT_STR);
	assert_ptr_equal(f->v.s, lit);
	assert_string_equal(tt_ev_find(ev, "null")->v.s, "");
	f = tt_ev_find(ev, "c");
	assert_string_equal(f->v.s, "copied");
	assert_int_equal(f->level, TT_DEBUG);
	assert_true(f->v.s >= ev->arena && f->v.s < ev->arena + ev->used);
	assert_string_equal(tt_ev_find(ev, "u")->v.s, "a\\xff");
	f = tt_ev_find(ev, "i");
	assert_int_equal(f->type, TT_FT_INT);
	assert_int_equal(f->level, TT_TRACE);
	assert_int_equal(f->v.i, -42);
	f = tt_ev_find(ev, "t");
	assert_int_equal(f->type, TT_FT_BOOL);
	assert_true(f->v.i != 0);
	assert_true(tt_ev_find(ev, "f")->v.i == 0);
	f = tt_ev_find(ev, "h");
	assert_int_equal(f->type, TT_FT_HEX);
	assert_string_equal(f->v.s, "00ff10ab");
	assert_string_equal(tt_ev_find(ev, "p")->v.s, "x-7");
	assert_null(tt_ev_find(ev, "missing"));
	assert_null(tt_ev_find(ev, ""));
	check_fields(ev);
	check_guard(s);
	free(s);
}

static void test_find_first_of_duplicates(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	tt_ev_int(ev, "k", TT_INFO, 1);
	tt_ev_int(ev, "k", TT_INFO, 2);
	tt_ev_int(ev, "kk", TT_INFO, 3);
	assert_int_equal(tt_ev_find(ev, "k")->v.i, 1);
	assert_int_equal(tt_ev_find(ev, "kk")->v.i, 3);
	assert_ptr_equal(tt_ev_find(ev, "k"), &ev->f[0]);
	free(s);
}

static void test_lists(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	char *p = tt_ev_list_reserve(ev, 10);
	assert_non_null(p);
	memcpy(p, "abc", 3);
	tt_ev_list_commit(ev, 3);
	p = tt_ev_list_reserve(ev, 2);
	assert_non_null(p);
	memcpy(p, "de", 2);
	tt_ev_list_commit(ev, 2);
	tt_ev_list_add(ev, "");
	tt_ev_list_add(ev, "fgh");
	tt_ev_list_add_untrusted(ev, (const uint8_t *)"\xc0z", 2);
	tt_ev_list_end(ev);
	const struct tt_field *f = tt_ev_find(ev, "ca_names");
	assert_non_null(f);
	assert_int_equal(f->type, TT_FT_LIST);
	assert_int_equal(f->n, 5);
	assert_memory_equal(f->v.s, "abc\0de\0\0fgh\0\\xc0z", 18);
	assert_int_equal(ev->used, 18);
	assert_int_equal(ev->list_open, -1);

	/* outside a list, reserve and add do nothing */
	assert_null(tt_ev_list_reserve(ev, 1));
	tt_ev_list_add(ev, "stray");
	tt_ev_list_commit(ev, 0);
	tt_ev_list_add_untrusted(ev, (const uint8_t *)"x", 1);
	assert_int_equal(f->n, 5);
	assert_int_equal(ev->used, 18);
	assert_int_equal(ev->nf, 1);

	/* an empty list */
	tt_ev_list_begin(ev, "empty", TT_DEBUG);
	tt_ev_list_end(ev);
	f = tt_ev_find(ev, "empty");
	assert_int_equal(f->n, 0);
	assert_int_equal(f->level, TT_DEBUG);

	/* a new field closes an open list */
	tt_ev_list_begin(ev, "alpn", TT_INFO);
	tt_ev_list_add(ev, "h2");
	tt_ev_int(ev, "after", TT_INFO, 1);
	assert_int_equal(ev->list_open, -1);
	tt_ev_list_add(ev, "late");
	assert_int_equal(tt_ev_find(ev, "alpn")->n, 1);
	assert_int_equal(ev->nf, 4);

	/* a reservation bigger than the arena: NULL and truncated */
	tt_ev_list_begin(ev, "big", TT_INFO);
	assert_null(tt_ev_list_reserve(ev, TT_EV_ARENA));
	assert_true(ev->flags & TT_EVF_TRUNCATED);
	assert_int_equal(tt_ev_find(ev, "big")->n, 0);

	/* send closes an open list and calls the sink once */
	struct tt_emit em = {count_sink, &g_sent, s, TT_TRACE, 0, NULL, NULL};
	g_sent = 0;
	ev = tt_ev_begin(&em, "certificate_request", TT_INFO, TT_IN);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	tt_ev_list_add(ev, "CN=x");
	tt_ev_send(&em, ev);
	assert_int_equal(g_sent, 1);
	assert_int_equal(ev->list_open, -1);
	check_fields(ev);
	check_guard(s);
	free(s);
}

static void test_field_limit(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	static char keys[TT_EV_MAX_FIELDS + 8][8];
	for (int i = 0; i < TT_EV_MAX_FIELDS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		tt_ev_int(ev, keys[i], TT_INFO, i);
	}
	assert_int_equal(ev->nf, TT_EV_MAX_FIELDS);
	assert_int_equal(ev->flags & TT_EVF_TRUNCATED, 0);
	size_t used = ev->used;
	/* one more of every kind: dropped, truncated, nothing written */
	tt_ev_int(ev, "over", TT_INFO, 1);
	assert_true(ev->flags & TT_EVF_TRUNCATED);
	tt_ev_str(ev, "over", TT_INFO, "x");
	tt_ev_strcpy(ev, "over", TT_INFO, "x", 1);
	tt_ev_untrusted(ev, "over", TT_INFO, (const uint8_t *)"x", 1);
	tt_ev_bool(ev, "over", TT_INFO, true);
	tt_ev_hex(ev, "over", TT_INFO, (const uint8_t *)"x", 1);
	tt_ev_printf(ev, "over", TT_INFO, "%d", 1);
	tt_ev_list_begin(ev, "over", TT_INFO);
	assert_int_equal(ev->list_open, -1);
	assert_null(tt_ev_list_reserve(ev, 1));
	tt_ev_list_add(ev, "x");
	tt_ev_list_add_untrusted(ev, (const uint8_t *)"x", 1);
	tt_ev_list_commit(ev, 1);
	tt_ev_list_end(ev);
	assert_int_equal(ev->nf, TT_EV_MAX_FIELDS);
	assert_int_equal(ev->used, used);
	assert_null(tt_ev_find(ev, "over"));
	assert_int_equal(tt_ev_find(ev, "k47")->v.i, 47);
	for (int i = 0; i < TT_EV_MAX_FIELDS; i++)
		assert_int_equal(ev->f[i].v.i, i);
	check_guard(s);
	free(s);
}

/* Fills the arena with big copies, then tries every builder again. */
static void test_arena_exhaustion(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	char *big = malloc(TT_EV_ARENA);
	memset(big, 'x', TT_EV_ARENA);
	int k = 0;
	while (!(ev->flags & TT_EVF_TRUNCATED)) {
		tt_ev_strcpy(ev, "big", TT_INFO, big, 5000);
		assert_true(ev->used <= TT_EV_ARENA);
		assert_true(++k < 40);
	}
	assert_int_equal(k, TT_EV_ARENA / 5001 + 1);
	/* a copy that does not fit is not kept */
	assert_int_equal(ev->used, (size_t)(k - 1) * 5001);
	for (int i = 0; i < k - 1; i++) {
		assert_int_equal(strlen(ev->f[i].v.s), 5000);
		assert_true(ev->f[i].v.s >= ev->arena);
	}
	/* ... and neither is its field: no key shown with an empty value */
	assert_int_equal(ev->nf, (size_t)(k - 1));

	/* what still fits goes in; what does not is dropped */
	size_t room = TT_EV_ARENA - ev->used;
	tt_ev_strcpy(ev, "fits", TT_INFO, big, room - 1);
	assert_int_equal(ev->used, TT_EV_ARENA);
	assert_int_equal(strlen(tt_ev_find(ev, "fits")->v.s), room - 1);

	/* the arena is now exactly full: every builder must stay inside */
	static const uint8_t b[] = {1, 2, 3};
	tt_ev_strcpy(ev, "s", TT_INFO, "a", 1);
	tt_ev_strcpy(ev, "empty", TT_INFO, "", 0);
	tt_ev_untrusted(ev, "u", TT_INFO, b, sizeof(b));
	tt_ev_untrusted(ev, "u0", TT_INFO, b, 0);
	tt_ev_hex(ev, "h", TT_INFO, b, sizeof(b));
	tt_ev_hex(ev, "h0", TT_INFO, b, 0);
	tt_ev_list_begin(ev, "l", TT_INFO);
	tt_ev_list_add(ev, "item");
	tt_ev_list_add(ev, "");
	tt_ev_list_add_untrusted(ev, b, sizeof(b));
	assert_null(tt_ev_list_reserve(ev, 0));
	tt_ev_list_end(ev);
	assert_int_equal(tt_ev_find(ev, "l")->n, 0);
	tt_ev_int(ev, "i", TT_INFO, 5); /* no arena needed: kept */
	assert_int_equal(tt_ev_find(ev, "i")->v.i, 5);
	assert_int_equal(ev->used, TT_EV_ARENA);
	check_guard(s);
	check_fields(ev);
	free(big);
	free(s);
}

/* tt_ev_printf on an arena with no room left at all. */
static void test_printf_full_arena(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	char *big = malloc(TT_EV_ARENA);
	memset(big, 'x', TT_EV_ARENA);
	tt_ev_strcpy(ev, "fill", TT_INFO, big, TT_EV_ARENA - 1);
	assert_int_equal(ev->used, TT_EV_ARENA);
	assert_int_equal(ev->flags & TT_EVF_TRUNCATED, 0);
	tt_ev_printf(ev, "p", TT_INFO, "%s", "hello");
	assert_true(ev->flags & TT_EVF_TRUNCATED);
	assert_true(ev->used <= TT_EV_ARENA);
	check_guard(s);
	check_fields(ev);
	free(big);
	free(s);
}

/* tt_ev_printf that does not fit whole: truncated, never past the
 * arena, whatever room was left. */
static void test_printf_partial(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	char *big = malloc(TT_EV_ARENA);
	memset(big, 'x', TT_EV_ARENA);
	for (size_t left = 1; left <= 12; left++) {
		struct tt_event *ev = begin(s, TT_INFO);
		tt_ev_strcpy(ev, "fill", TT_INFO, big, TT_EV_ARENA - left - 1);
		assert_int_equal(TT_EV_ARENA - ev->used, left);
		tt_ev_printf(ev, "p", TT_INFO, "%s", "0123456789");
		assert_true(ev->used <= TT_EV_ARENA);
		assert_int_equal(!!(ev->flags & TT_EVF_TRUNCATED), left < 11);
		check_fields(ev);
		check_guard(s);
	}
	free(big);
	free(s);
}

/* tt_ev_untrusted with an input that fits raw but not once escaped. */
static void test_untrusted_exhaustion(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	struct tt_event *ev = begin(s, TT_INFO);
	uint8_t *bad = malloc(TT_EV_ARENA);
	memset(bad, 0xff, TT_EV_ARENA);
	tt_ev_untrusted(ev, "u", TT_INFO, bad, TT_EV_ARENA / 4);
	assert_true(ev->flags & TT_EVF_TRUNCATED);
	assert_int_equal(ev->used, 0);
	tt_ev_untrusted(ev, "ok", TT_INFO, bad, TT_EV_ARENA / 4 - 1);
	assert_int_equal(ev->used, TT_EV_ARENA - 3);
	assert_int_equal(strlen(tt_ev_find(ev, "ok")->v.s), TT_EV_ARENA - 4);
	tt_ev_list_begin(ev, "l", TT_INFO);
	tt_ev_list_add_untrusted(ev, bad, 1);
	assert_int_equal(tt_ev_find(ev, "l")->n, 0);
	tt_ev_list_add_untrusted(ev, (const uint8_t *)"ab", 2);
	assert_int_equal(tt_ev_find(ev, "l")->n, 1);
	assert_int_equal(ev->used, TT_EV_ARENA);
	check_fields(ev);
	check_guard(s);
	free(bad);
	free(s);
}

/* A disabled level: tt_ev_begin returns NULL, leaves the scratch alone,
 * and every builder and send accepts the NULL. */
static void test_null_event(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	unsigned char *before = malloc(sizeof(*s));
	memcpy(before, s, sizeof(*s));
	int sent = 0;
	struct tt_emit em = {count_sink, &sent, s, TT_INFO, 0, NULL, NULL};
	assert_null(tt_ev_begin(&em, "x", TT_DEBUG, TT_IN));
	assert_null(tt_ev_begin(&em, "x", TT_TRACE, TT_IN));
	assert_non_null(tt_ev_begin(&em, "x", TT_INFO, TT_IN));
	memcpy(s, before, sizeof(*s));
	struct tt_emit no_fn = {NULL, &sent, s, TT_TRACE, 0, NULL, NULL};
	struct tt_emit no_ev = {count_sink, &sent, NULL, TT_TRACE,
				0,	    NULL,  NULL};
	struct tt_emit quiet = {count_sink, &sent, s, TT_ERROR, 0, NULL, NULL};
	assert_null(tt_ev_begin(&no_fn, "x", TT_ERROR, TT_IN));
	assert_null(tt_ev_begin(&no_ev, "x", TT_ERROR, TT_IN));
	assert_null(tt_ev_begin(NULL, "x", TT_ERROR, TT_IN));
	assert_null(tt_ev_begin(&quiet, "x", TT_WARN, TT_IN));
	assert_false(tt_emit_on(NULL, TT_ERROR));
	assert_true(tt_emit_on(&quiet, TT_ERROR));
	assert_false(tt_emit_on(&quiet, TT_WARN));

	struct tt_event *ev = tt_ev_begin(&em, "x", TT_DEBUG, TT_IN);
	assert_null(ev);
	static const uint8_t b[] = {0xff, 'a'};
	tt_ev_str(ev, "k", TT_INFO, "v");
	tt_ev_strcpy(ev, "k", TT_INFO, "v", 1);
	tt_ev_untrusted(ev, "k", TT_INFO, b, sizeof(b));
	tt_ev_int(ev, "k", TT_INFO, 1);
	tt_ev_bool(ev, "k", TT_INFO, true);
	tt_ev_hex(ev, "k", TT_INFO, b, sizeof(b));
	tt_ev_printf(ev, "k", TT_INFO, "%d", 1);
	tt_ev_list_begin(ev, "k", TT_INFO);
	assert_null(tt_ev_list_reserve(ev, 1));
	tt_ev_list_commit(ev, 1);
	tt_ev_list_add(ev, "x");
	tt_ev_list_add_untrusted(ev, b, sizeof(b));
	tt_ev_list_end(ev);
	tt_ev_send(&em, ev);
	assert_int_equal(sent, 0);
	assert_memory_equal(s, before, sizeof(*s));
	check_guard(s);
	free(before);
	free(s);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(tt_level_name(TT_ERROR), "error");
	assert_string_equal(tt_level_name(TT_WARN), "warn");
	assert_string_equal(tt_level_name(TT_INFO), "info");
	assert_string_equal(tt_level_name(TT_DEBUG), "debug");
	assert_string_equal(tt_level_name(TT_TRACE), "trace");
	assert_string_equal(tt_role_name(TT_ROLE_UNKNOWN), "unknown");
	assert_string_equal(tt_role_name(TT_ROLE_CLIENT), "client");
	assert_string_equal(tt_role_name(TT_ROLE_SERVER), "server");
	assert_string_equal(tt_dir_name(TT_IN), "in");
	assert_string_equal(tt_dir_name(TT_OUT), "out");
}

/* ---- event names and the filter ---------------------------------------- */

/* The registry: every name once, in snake_case, found again by its
 * spelling; the filter's order is strcmp's. */
static void test_registry(void **state)
{
	(void)state;
	assert_int_equal(TT_EVENT_COUNT, 46);
	assert_string_equal(tt_event_name(TT_EVN_HANDSHAKE), "handshake");
	assert_string_equal(tt_event_name(TT_EVN_SUMMARY), "summary");
	assert_string_equal(tt_event_name(TT_EVN_DIAGNOSIS), "diagnosis");
	assert_string_equal(tt_event_name(TT_EVN_HANDSHAKE_BYTES),
			    "handshake_bytes");
	/* the handshake types follow, in handshake.def's order */
	assert_int_equal(TT_EVN_HELLO_REQUEST, TT_EVN_HANDSHAKE_BYTES + 1);
	assert_string_equal(tt_event_name(TT_EVN_HELLO_REQUEST),
			    "hello_request");
	assert_string_equal(tt_event_name(TT_EVN_CERTIFICATE_REQUEST),
			    "certificate_request");
	assert_int_equal(TT_EVN_MESSAGE_HASH, TT_EVENT_COUNT - 1);
	assert_string_equal(tt_event_name(TT_EVN_MESSAGE_HASH), "message_hash");
	assert_null(tt_event_name(TT_EVENT_COUNT));
	assert_null(tt_event_name(~0u));
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++) {
		const char *n = tt_event_name(i);
		assert_non_null(n);
		assert_true(n[0] >= 'a' && n[0] <= 'z');
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') ||
				    (*p >= '0' && *p <= '9') || *p == '_');
		assert_int_equal(tt_event_lookup(n, strlen(n)), (int)i);
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(n, tt_event_name(k));
	}
	/* n bytes exactly: no prefix, no longer name */
	assert_int_equal(tt_event_lookup("summary", 7), TT_EVN_SUMMARY);
	assert_int_equal(tt_event_lookup("summaryx", 7), TT_EVN_SUMMARY);
	assert_int_equal(tt_event_lookup("summary", 6), -1);
	assert_int_equal(tt_event_lookup("summaryx", 8), -1);
	assert_int_equal(tt_event_lookup("Summary", 7), -1);
	assert_int_equal(tt_event_lookup("", 0), -1);
	assert_int_equal(tt_event_lookup("handshake", 9), TT_EVN_HANDSHAKE);

	struct tt_evfilter f;
	memset(&f, 0x5a, sizeof(f));
	tt_evfilter_init(&f);
	assert_int_equal(f.n, 0);
	for (unsigned w = 0; w < TT_EVENT_WORDS; w++)
		assert_true(f.want[w] == 0);
	assert_string_equal(tt_event_name(f.by_name[0]), "alert");
	assert_string_equal(tt_event_name(f.by_name[TT_EVENT_COUNT - 1]),
			    "supplemental_data");
	for (unsigned i = 1; i < TT_EVENT_COUNT; i++)
		assert_true(strcmp(tt_event_name(f.by_name[i - 1]),
				   tt_event_name(f.by_name[i])) < 0);
}

/* Items of a comma list: blanks around them dropped, empty ones skipped. */
static void expect_items(const char *list, const char *want)
{
	char got[256] = "";
	size_t o = 0, n;
	const char *p = list;
	for (const char *s; (s = tt_list_next(&p, &n));)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "[%.*s]",
				      (int)n, s);
	assert_int_equal(*p, 0); /* at the end */
	assert_null(tt_list_next(&p, &n));
	if (strcmp(got, want) != 0)
		fail_msg("list \"%s\": got %s, want %s", list, got, want);
}

static void test_list_items(void **state)
{
	(void)state;
	expect_items("", "");
	expect_items(",", "");
	expect_items(" , ,\t,\n ", "");
	expect_items("summary", "[summary]");
	expect_items("summary,diagnosis", "[summary][diagnosis]");
	expect_items("  summary ,\tdiagnosis\n", "[summary][diagnosis]");
	expect_items(",,summary,,,diagnosis,,", "[summary][diagnosis]");
	expect_items("a b , c", "[a b][c]");
	expect_items("x,\r\v\f y \f", "[x][y]");
}

static int g_unknown;
static char g_unknown_text[256];

static void on_unknown(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	size_t o = strlen(g_unknown_text);
	snprintf(g_unknown_text + o, sizeof(g_unknown_text) - o, "[%.*s]",
		 (int)n, s);
	g_unknown++;
}

static bool wants(const struct tt_evfilter *f, enum tt_event_id id)
{
	return f->want[id / 64] >> (id % 64) & 1;
}

static void test_filter_parse(void **state)
{
	(void)state;
	struct tt_evfilter f;
	tt_evfilter_init(&f);
	g_unknown = 0;
	g_unknown_text[0] = 0;
	size_t k = tt_evfilter_parse(
		&f, " summary , ,diagnosis,bogus,, alert ,SUMMARY,summary",
		on_unknown, NULL);
	assert_int_equal(k, 4);	  /* summary twice */
	assert_int_equal(f.n, 3); /* distinct names */
	assert_int_equal(g_unknown, 2);
	assert_string_equal(g_unknown_text, "[bogus][SUMMARY]");
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		assert_int_equal(wants(&f, i), i == TT_EVN_SUMMARY ||
						       i == TT_EVN_DIAGNOSIS ||
						       i == TT_EVN_ALERT);
	/* no callback: unknown names are skipped all the same */
	tt_evfilter_init(&f);
	assert_int_equal(
		tt_evfilter_parse(&f, "x,certificate_request", NULL, NULL), 1);
	assert_int_equal(f.n, 1);
	assert_true(wants(&f, TT_EVN_CERTIFICATE_REQUEST));
	tt_evfilter_init(&f);
	assert_int_equal(tt_evfilter_parse(&f, " , ", on_unknown, NULL), 0);
	assert_int_equal(f.n, 0);
	tt_evfilter_add(&f, TT_EVENT_COUNT); /* out of range: ignored */
	assert_int_equal(f.n, 0);
}

/* A filtered emitter: tt_ev_begin gives an event for the names the
 * filter wants (at an enabled level) and NULL for every other name, the
 * scratch then untouched. */
static void test_filtered_emitter(void **state)
{
	(void)state;
	struct tt_event *s = new_ev();
	int sent = 0;
	struct tt_evfilter f;
	tt_evfilter_init(&f);
	assert_int_equal(
		tt_evfilter_parse(&f,
				  "summary,diagnosis,certificate_request,alert",
				  NULL, NULL),
		4);
	struct tt_emit em = {count_sink, &sent, s, TT_INFO, 0, NULL, &f};
	unsigned char *before = malloc(sizeof(*s));
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++) {
		const char *name = tt_event_name(i);
		bool in = i == TT_EVN_SUMMARY || i == TT_EVN_DIAGNOSIS ||
			  i == TT_EVN_CERTIFICATE_REQUEST || i == TT_EVN_ALERT;
		assert_int_equal(tt_evfilter_has(&f, name), in);
		memcpy(before, s, sizeof(*s));
		struct tt_event *ev = tt_ev_begin(&em, name, TT_INFO, TT_IN);
		if (!in) {
			assert_null(ev);
			assert_memory_equal(s, before, sizeof(*s));
			continue;
		}
		assert_ptr_equal(ev, s);
		assert_string_equal(ev->name, name);
		tt_ev_send(&em, ev);
		/* the level still applies */
		assert_null(tt_ev_begin(&em, name, TT_DEBUG, TT_IN));
	}
	assert_int_equal(sent, 4);
	/* a name outside the registry is never wanted */
	assert_false(tt_evfilter_has(&f, "bogus"));
	assert_false(tt_evfilter_has(&f, ""));
	assert_false(tt_evfilter_has(&f, "summaryx"));
	assert_false(tt_evfilter_has(&f, "zzz"));
	assert_null(tt_ev_begin(&em, "bogus", TT_ERROR, TT_IN));
	/* names are compared by their text, not their address */
	char buf[16];
	strcpy(buf, "alert");
	assert_non_null(tt_ev_begin(&em, buf, TT_WARN, TT_OUT));
	/* no filter: every name; an empty one: none */
	em.events = NULL;
	assert_non_null(tt_ev_begin(&em, "record", TT_INFO, TT_IN));
	assert_non_null(tt_ev_begin(&em, "bogus", TT_INFO, TT_IN));
	tt_evfilter_init(&f);
	em.events = &f;
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		assert_null(
			tt_ev_begin(&em, tt_event_name(i), TT_ERROR, TT_IN));
	/* every name */
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		tt_evfilter_add(&f, (enum tt_event_id)i);
	assert_int_equal(f.n, TT_EVENT_COUNT);
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		assert_non_null(
			tt_ev_begin(&em, tt_event_name(i), TT_ERROR, TT_IN));
	check_guard(s);
	free(before);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_random),
		cmocka_unit_test(test_utf8_cap),
		cmocka_unit_test(test_begin_resets),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_find_first_of_duplicates),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_arena_exhaustion),
		cmocka_unit_test(test_printf_full_arena),
		cmocka_unit_test(test_printf_partial),
		cmocka_unit_test(test_untrusted_exhaustion),
		cmocka_unit_test(test_null_event),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_list_items),
		cmocka_unit_test(test_filter_parse),
		cmocka_unit_test(test_filtered_emitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
