/* Rendering of events as text or JSON Lines.
 *
 * Strings in events are already valid UTF-8 (the decoder sanitises peer
 * bytes), so JSON needs only its own escapes.  Output goes through a
 * bounded writer; a field that does not fit is rolled back whole and the
 * line marked truncated, keeping every line parseable.
 */
#include "format.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct w {
	char *buf;
	size_t cap; /* usable bytes, room for the line's tail excluded */
	size_t len;
	bool over;
};

static void put(struct w *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void puts_(struct w *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putc_(struct w *w, char c)
{
	put(w, &c, 1);
}

/* Decimal digits of v into out (at least 20 bytes); returns how many.
 * Every line has several numbers: cheaper than snprintf. */
static size_t u64_text(char *out, unsigned long long v)
{
	char t[20];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	return n;
}

static void put_uint(struct w *w, unsigned long long v)
{
	char b[20];
	put(w, b, u64_text(b, v));
}

static void put_int(struct w *w, long long v)
{
	if (v < 0) {
		putc_(w, '-');
		put_uint(w, 0ULL - (unsigned long long)v);
	} else {
		put_uint(w, (unsigned long long)v);
	}
}

/* v as exactly width digits, zero-padded (v < 10^width). */
static void digits(char *out, unsigned long v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

static void json_str(struct w *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	putc_(w, '"');
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(w, run, (size_t)(p - run));
		run = p + 1;
		char e[7] = {'\\', 0, 0, 0, 0, 0, 0};
		size_t n = 2;
		switch (c) {
		case '"':
			e[1] = '"';
			break;
		case '\\':
			e[1] = '\\';
			break;
		case '\n':
			e[1] = 'n';
			break;
		case '\r':
			e[1] = 'r';
			break;
		case '\t':
			e[1] = 't';
			break;
		case '\b':
			e[1] = 'b';
			break;
		case '\f':
			e[1] = 'f';
			break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			n = 6;
		}
		put(w, e, n);
	}
	put(w, run, strlen(run));
	putc_(w, '"');
}

/* Text values are bare when they hold only "safe" characters. */
static bool text_bare(const char *s)
{
	if (!*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p == '"' || *p == '\\' || *p == '=' ||
		    *p == ',' || *p == 0x7f)
			return false;
	}
	return true;
}

static void text_str(struct w *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (text_bare(s)) {
		puts_(w, s);
		return;
	}
	putc_(w, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			putc_(w, '\\');
			putc_(w, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			char e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
			put(w, e, 4);
		} else {
			putc_(w, (char)*p);
		}
	}
	putc_(w, '"');
}

/* RFC 3339 UTC with microseconds, 27 bytes and a NUL.  The date and
 * time of day are converted once per second and thread. */
static void timestamp(char *out, size_t cap, const struct timespec *ts)
{
	static __thread time_t last_sec = -1;
	static __thread char last[20]; /* YYYY-MM-DDTHH:MM:SS */
	if (cap < 28)
		return;
	if (ts->tv_sec != last_sec) {
		struct tm tm;
		gmtime_r(&ts->tv_sec, &tm);
		unsigned long y = (unsigned long)(tm.tm_year + 1900) % 10000;
		digits(last, y, 4);
		last[4] = '-';
		digits(last + 5, (unsigned long)tm.tm_mon + 1, 2);
		last[7] = '-';
		digits(last + 8, (unsigned long)tm.tm_mday, 2);
		last[10] = 'T';
		digits(last + 11, (unsigned long)tm.tm_hour, 2);
		last[13] = ':';
		digits(last + 14, (unsigned long)tm.tm_min, 2);
		last[16] = ':';
		digits(last + 17, (unsigned long)tm.tm_sec, 2);
		last[19] = 0;
		last_sec = ts->tv_sec;
	}
	memcpy(out, last, 19);
	out[19] = '.';
	digits(out + 20, (unsigned long)ts->tv_nsec % 1000000000UL / 1000, 6);
	out[26] = 'Z';
	out[27] = 0;
}

static void value(struct w *w, const struct tt_field *f, bool json)
{
	switch (f->type) {
	case TT_FT_INT:
		put_int(w, f->v.i);
		break;
	case TT_FT_BOOL:
		puts_(w, f->v.i ? "true" : "false");
		break;
	case TT_FT_LIST: {
		const char *s = f->v.s;
		if (json)
			putc_(w, '[');
		else if (f->n == 0)
			puts_(w, "none");
		for (uint32_t i = 0; i < f->n; i++) {
			if (i)
				putc_(w, ',');
			if (json)
				json_str(w, s);
			else
				text_str(w, s);
			s += strlen(s) + 1;
		}
		if (json)
			putc_(w, ']');
		break;
	}
	default:
		if (json)
			json_str(w, f->v.s);
		else
			text_str(w, f->v.s);
	}
}

static const struct {
	uint16_t flag;
	const char *key;
} flag_keys[] = {
	{TT_EVF_ENCRYPTED, "encrypted"},
	{TT_EVF_INFERRED, "inferred"},
	{TT_EVF_DECRYPTED, "decrypted"},
	{TT_EVF_TRUNCATED, "truncated"},
};

size_t tt_format_line(enum tt_format fmt, char *buf, size_t cap,
		      const struct tt_event *ev, const struct tt_line_ctx *ctx,
		      enum tt_level max, const struct timespec *ts)
{
	bool json = fmt == TT_FMT_JSON;
	/* room kept for the tail: every flag, the closing brace, newline */
	struct w w = {buf, cap - 96, 0, false};
	char tsb[96];
	timestamp(tsb, sizeof(tsb), ts);
	const char *lvl = tt_level_name((enum tt_level)ev->level);
	const char *dir = tt_dir_name((enum tt_dir)ev->dir);
	if (json) {
		puts_(&w, "{\"ts\":\"");
		puts_(&w, tsb);
		puts_(&w, "\",\"level\":\"");
		puts_(&w, lvl);
		puts_(&w, "\",\"pid\":");
		put_int(&w, ctx->pid);
		puts_(&w, ",\"tid\":");
		put_int(&w, ctx->tid);
		puts_(&w, ",\"conn\":");
		put_uint(&w, ctx->conn);
		puts_(&w, ",\"fd\":");
		put_int(&w, ctx->fd);
		puts_(&w, ",\"local\":");
		json_str(&w, ctx->local ? ctx->local : "");
		puts_(&w, ",\"peer\":");
		json_str(&w, ctx->peer ? ctx->peer : "");
		puts_(&w, ",\"role\":\"");
		puts_(&w, ctx->role);
		puts_(&w, "\",\"dir\":\"");
		puts_(&w, dir);
		puts_(&w, "\",\"event\":");
		json_str(&w, ev->name);
	} else {
		/* "%s %-5s pid=%ld tid=%ld conn=%llu fd=%d %s %-3s " */
		puts_(&w, tsb);
		putc_(&w, ' ');
		puts_(&w, lvl);
		for (size_t k = strlen(lvl); k < 5; k++)
			putc_(&w, ' ');
		puts_(&w, " pid=");
		put_int(&w, ctx->pid);
		puts_(&w, " tid=");
		put_int(&w, ctx->tid);
		puts_(&w, " conn=");
		put_uint(&w, ctx->conn);
		puts_(&w, " fd=");
		put_int(&w, ctx->fd);
		putc_(&w, ' ');
		puts_(&w, ctx->role);
		putc_(&w, ' ');
		puts_(&w, dir);
		for (size_t k = strlen(dir); k < 3; k++)
			putc_(&w, ' ');
		putc_(&w, ' ');
		puts_(&w, ev->name);
		if (ctx->show_addrs) {
			puts_(&w, " local=");
			text_str(&w, ctx->local ? ctx->local : "");
			puts_(&w, " peer=");
			text_str(&w, ctx->peer ? ctx->peer : "");
		}
	}
	bool truncated = (ev->flags & TT_EVF_TRUNCATED) != 0;
	for (size_t i = 0; i < ev->nf && !w.over; i++) {
		const struct tt_field *f = &ev->f[i];
		if (f->level > max)
			continue;
		size_t mark = w.len;
		if (json) {
			puts_(&w, ",\"");
			puts_(&w, f->key);
			puts_(&w, "\":");
		} else {
			putc_(&w, ' ');
			puts_(&w, f->key);
			putc_(&w, '=');
		}
		value(&w, f, json);
		if (w.over) {
			w.len = mark;
			truncated = true;
		}
	}
	w.over = false;
	w.cap = cap - 1; /* the tail has its room now */
	for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
		uint16_t fl = flag_keys[i].flag;
		bool on = fl == TT_EVF_TRUNCATED ? truncated
						 : (ev->flags & fl) != 0;
		if (!on)
			continue;
		if (json) {
			puts_(&w, ",\"");
			puts_(&w, flag_keys[i].key);
			puts_(&w, "\":true");
		} else {
			putc_(&w, ' ');
			puts_(&w, flag_keys[i].key);
			puts_(&w, "=true");
		}
	}
	if (json)
		putc_(&w, '}');
	buf[w.len++] = '\n';
	return w.len;
}
