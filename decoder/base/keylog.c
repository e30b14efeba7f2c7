/* NSS key log line parser (see keylog.h).
 *
 * NSS Key Log Format (and Wireshark's reader):
 *   line    = comment / blank / entry
 *   comment = "#" *any
 *   entry   = label SP client_random SP secret
 *   client_random = 64 HEXDIG          ; ClientHello.random
 *   secret  = 96 HEXDIG                 ; CLIENT_RANDOM: master secret
 *           / 64 HEXDIG / 96 HEXDIG     ; TLS 1.3: Hash.length bytes
 */
#include <stdbool.h>
#include <string.h>

#include "crypto.h"
#include "keylog.h"

static const char *const label_names[TT_KL_COUNT] = {
	[TT_KL_NONE] = "",
#define TT_KL_NAME_(name) [TT_KL_##name] = #name,
	TT_KEYLOG_LABELS(TT_KL_NAME_)
#undef TT_KL_NAME_
};

const char *tt_keylog_label_name(enum tt_keylog_label l)
{
	if ((unsigned)l >= TT_KL_COUNT)
		return "";
	return label_names[l];
}

/* The value of a hex digit, or -1: one table lookup per character (key
 * log lines arrive for every secret of every connection). */
static const int8_t hex_digit[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int hexval(uint8_t c)
{
	return hex_digit[c] - 1; /* stored + 1, so that 0 means none */
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The bytes up to the next space (or the end) as a child cursor; the
 * space itself is left in c. */
TT_MUST_USE static tt_rc field(struct tt_cur *c, struct tt_cur *f)
{
	size_t left = tt_cur_left(c);
	const uint8_t *sp = left ? memchr(c->p, ' ', left) : NULL;
	return tt_sub(c, sp ? (size_t)(sp - c->p) : left, f);
}

TT_MUST_USE static tt_rc space(struct tt_cur *c)
{
	uint8_t b;
	TRY(tt_u8(c, &b));
	ENSURE(b == ' ', TT_DECODE);
	return TT_OK;
}

/* Whether f is non-empty, even-length hex of at most max digits. */
static bool hex_ok(struct tt_cur f, size_t max)
{
	size_t n = tt_cur_left(&f);

	if (n == 0 || n % 2 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!hex_digit[f.p[i]])
			return false;
	return true;
}

/* Decodes hex field f into out, which must be exactly n bytes. */
TT_MUST_USE static tt_rc unhex(struct tt_cur f, uint8_t *out, size_t n)
{
	ENSURE(tt_cur_left(&f) == 2 * n, TT_DECODE);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(f.p[2 * i]), lo = hexval(f.p[2 * i + 1]);
		bad |= hi | lo; /* negative for a non-digit */
		out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
	}
	ENSURE(bad >= 0, TT_DECODE);
	return TT_OK;
}

enum tt_keylog_label tt_keylog_label_find(const char *p, size_t n)
{
	for (int l = TT_KL_NONE + 1; l < TT_KL_COUNT; l++)
		if (strlen(label_names[l]) == n &&
		    memcmp(label_names[l], p, n) == 0)
			return (enum tt_keylog_label)l;
	return TT_KL_NONE;
}

static enum tt_keylog_label find_label(struct tt_cur f)
{
	return tt_keylog_label_find((const char *)f.p, tt_cur_left(&f));
}

static bool label_chars_ok(struct tt_cur f)
{
	size_t n = tt_cur_left(&f);

	if (n == 0 || n > TT_KEYLOG_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = f.p[i];
		if (!((b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
		      b == '_'))
			return false;
	}
	return true;
}

TT_MUST_USE static tt_rc parse(struct tt_cur c, struct tt_keylog_entry *e)
{
	struct tt_cur lab, rnd, sec;
	enum tt_keylog_label l;
	uint8_t first;

	if (tt_cur_left(&c) == 0)
		return TT_OK; /* blank */
	ENSURE(memchr(c.p, '\n', tt_cur_left(&c)) == NULL, TT_DECODE);
	{
		struct tt_cur peek = c;
		TRY(tt_u8(&peek, &first));
		if (first == '#')
			return TT_OK; /* comment */
	}
	TRY(field(&c, &lab));
	TRY(space(&c));
	TRY(field(&c, &rnd));
	TRY(space(&c));
	TRY(field(&c, &sec));
	TRY(tt_expect_empty(&c));
	ENSURE(label_chars_ok(lab), TT_DECODE);

	l = find_label(lab);
	if (l == TT_KL_NONE) {
		ENSURE(hex_ok(rnd, TT_KEYLOG_HEX_MAX) &&
			       hex_ok(sec, TT_KEYLOG_HEX_MAX),
		       TT_DECODE);
		return TT_UNSUPPORTED;
	}
	TRY(unhex(rnd, e->client_random, TT_KEYLOG_RANDOM_LEN));
	switch (tt_cur_left(&sec)) {
	case 2 * 32:
		/* a TLS 1.2 master secret is always 48 bytes */
		ENSURE(l != TT_KL_CLIENT_RANDOM, TT_DECODE);
		e->secret_len = 32;
		break;
	case 2 * 48:
		e->secret_len = 48;
		break;
	default:
		return TT_DECODE;
	}
	TRY(unhex(sec, e->secret, e->secret_len));
	e->label = l;
	return TT_OK;
}

tt_rc tt_keylog_parse_line(const char *p, size_t n, struct tt_keylog_entry *e)
{
	const uint8_t *u = (const uint8_t *)p;
	tt_rc rc;

	memset(e, 0, sizeof(*e));
	if (n > 0 && u[n - 1] == '\n')
		n--;
	while (n > 0 && is_space(u[n - 1]))
		n--;
	rc = parse(tt_cur_make(u, n), e);
	if (rc != TT_OK) {
		tt_wipe(e, sizeof(*e));
		e->label = TT_KL_NONE;
	}
	return rc;
}

tt_rc tt_keylog_next(const char *p, size_t n, size_t *used,
		     struct tt_keylog_entry *e)
{
	const char *nl;

	*used = 0;
	if (n == 0) {
		memset(e, 0, sizeof(*e));
		return TT_NEED_MORE;
	}
	nl = memchr(p, '\n', n);
	*used = nl ? (size_t)(nl - p) + 1 : n;
	return tt_keylog_parse_line(p, *used, e);
}
