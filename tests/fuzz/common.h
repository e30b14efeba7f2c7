/* Shared by the decoder fuzz targets: an event sink that checks every
 * event against the contract in event.h and DESIGN.md and renders it
 * through the real formatter (shim/format.c), whose output must be one
 * line of valid UTF-8; JSON lines must parse as one JSON object without
 * duplicate keys.  Anything else aborts, naming what was wrong.
 *
 * The sink also folds each event into a hash, so a target can compare
 * the events of two runs that must agree (the same bytes fed whole and in
 * pieces).  The one field allowed to differ is the detail of "not a TLS
 * record header": it lists the header bytes received so far, which
 * depends on where the stream was cut.
 *
 * The log level decides what events are built, never what the decoder
 * concludes: every target that feeds a connection runs its input at
 * level warn and at trace and compares the return codes (folded into the
 * sink by fz_rc), the warn events (decode errors among them) and the
 * connection's decoded state (fz_sink_state, a text fingerprint of
 * struct tt_conn); fz_same_state aborts on a difference.
 *
 * Build with -DFZ_PRINT to see the events a reproducer produces.
 *
 * Header-only: the Makefile builds each fuzz_X.c as one unit.
 */
#ifndef TT_FUZZ_COMMON_H
#define TT_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handshake.h"
#include "msg.h"
#include "record.h"
#include "utf8check.h"
#include "event.h"
#include "format.h"

/* What libFuzzer calls with each input; every target defines it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_UNUSED __attribute__((unused))
/* The harness's own code is left out of coverage: libFuzzer should be
 * rewarded for new paths in the decoder and formatter, not in the JSON
 * checker (and the checks run faster uninstrumented). */
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

__attribute__((noreturn, format(printf, 1, 2))) FZ_UNUSED static void
fz_fail(const char *fmt, ...);

FZ_NOCOV static void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz invariant: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- small deterministic PRNG for split patterns ---- */

FZ_NOCOV static inline uint32_t fz_rand(uint32_t *s)
{
	/* xorshift32; a zero seed would stay zero */
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

FZ_NOCOV static inline uint32_t fz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Next piece size, at most left (> 0): runs of tiny pieces cut headers
 * and length prefixes, mid-size ones cut bodies, big ones and "all the
 * rest" keep the zero-copy paths busy. */
FZ_NOCOV static inline size_t fz_piece(uint32_t *s, size_t left)
{
	uint32_t r = fz_rand(s);
	size_t n;
	switch (r & 3) {
	case 0:
		n = 1 + (r >> 2) % 5;
		break;
	case 1:
		n = 1 + (r >> 2) % 64;
		break;
	case 2:
		n = 1 + (r >> 2) % 2048;
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

/* ---- UTF-8, JSON and text line checks ---- */

/* Strict UTF-8 (no overlongs, surrogates or NULs). */
FZ_NOCOV static inline int fz_utf8_ok(const char *s, size_t n)
{
	return utf8_strict_ok(s, n);
}

struct fz_json {
	const char *p, *end;
	int depth;
	/* top-level keys, for the duplicate check */
	const char *key[TT_EV_MAX_FIELDS + 24];
	size_t klen[TT_EV_MAX_FIELDS + 24];
	size_t nkeys;
};

static int fz_j_value(struct fz_json *j);

FZ_NOCOV static inline void fz_j_ws(struct fz_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

FZ_NOCOV static inline int fz_j_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

FZ_NOCOV static int fz_j_string(struct fz_json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return 0;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c != '\\') {
			j->p++;
			continue;
		}
		if (++j->p >= j->end)
			return 0;
		switch (*j->p) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			j->p++;
			break;
		case 'u':
			if (j->end - j->p < 5)
				return 0;
			for (int k = 1; k <= 4; k++)
				if (!fz_j_hex(j->p[k]))
					return 0;
			j->p += 5;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

FZ_NOCOV static int fz_j_digits(struct fz_json *j)
{
	const char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

FZ_NOCOV static int fz_j_number(struct fz_json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!fz_j_digits(j))
		return 0;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!fz_j_digits(j))
			return 0;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!fz_j_digits(j))
			return 0;
	}
	return 1;
}

FZ_NOCOV static int fz_j_lit(struct fz_json *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return 0;
	j->p += n;
	return 1;
}

FZ_NOCOV static int fz_j_container(struct fz_json *j, char open)
{
	char close = open == '{' ? '}' : ']';
	int top = j->depth == 0;
	if (++j->depth > 32)
		return 0;
	j->p++;
	fz_j_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		fz_j_ws(j);
		if (open == '{') {
			const char *k = j->p;
			if (!fz_j_string(j))
				return 0;
			if (top) {
				size_t kl = (size_t)(j->p - k);
				for (size_t i = 0; i < j->nkeys; i++)
					if (j->klen[i] == kl &&
					    memcmp(j->key[i], k, kl) == 0)
						fz_fail("duplicate JSON key %.*s",
							(int)kl, k);
				if (j->nkeys <
				    sizeof(j->key) / sizeof(j->key[0])) {
					j->key[j->nkeys] = k;
					j->klen[j->nkeys++] = kl;
				}
			}
			fz_j_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return 0;
			j->p++;
			fz_j_ws(j);
		}
		if (!fz_j_value(j))
			return 0;
		fz_j_ws(j);
		if (j->p >= j->end)
			return 0;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p != close)
			return 0;
		j->p++;
		j->depth--;
		return 1;
	}
}

FZ_NOCOV static int fz_j_value(struct fz_json *j)
{
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{':
	case '[':
		return fz_j_container(j, *j->p);
	case '"':
		return fz_j_string(j);
	case 't':
		return fz_j_lit(j, "true");
	case 'f':
		return fz_j_lit(j, "false");
	case 'n':
		return fz_j_lit(j, "null");
	default:
		return fz_j_number(j);
	}
}

/* Common to both formats: one line, newline-terminated, valid UTF-8,
 * shorter than the buffer. */
FZ_NOCOV static void fz_line_basic(const char *what, const char *buf,
				   size_t len, size_t cap)
{
	if (len == 0 || len > cap)
		fz_fail("%s: length %zu for a %zu-byte buffer", what, len, cap);
	if (buf[len - 1] != '\n')
		fz_fail("%s: line does not end with a newline", what);
	if (memchr(buf, '\n', len - 1))
		fz_fail("%s: newline inside the line", what);
	if (!fz_utf8_ok(buf, len - 1))
		fz_fail("%s: line is not valid UTF-8: %.*s", what,
			(int)(len < 400 ? len : 400), buf);
}

FZ_NOCOV static void fz_check_json(const char *buf, size_t len, size_t cap)
{
	fz_line_basic("json", buf, len, cap);
	if (buf[0] != '{')
		fz_fail("json: line does not start with '{'");
	static struct fz_json j;
	j.p = buf;
	j.end = buf + len - 1;
	j.depth = 0;
	j.nkeys = 0;
	if (!fz_j_value(&j) || j.p != j.end)
		fz_fail("json: not one JSON object (bad at offset %zu): %.*s",
			(size_t)(j.p - buf), (int)(len < 400 ? len : 400), buf);
}

/* Text: no control characters; quoted values escape '"' and '\'. */
FZ_NOCOV static void fz_check_text(const char *buf, size_t len, size_t cap)
{
	fz_line_basic("text", buf, len, cap);
	int inq = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c == 0x7f)
			fz_fail("text: control byte 0x%02x at %zu", c, i);
		if (!inq) {
			if (c == '"')
				inq = 1;
			continue;
		}
		if (c == '\\') {
			if (i + 2 >= len)
				fz_fail("text: dangling backslash");
			i++;
		} else if (c == '"') {
			inq = 0;
		}
	}
	if (inq)
		fz_fail("text: unbalanced quotes: %.*s",
			(int)(len < 400 ? len : 400), buf);
}

/* ---- event checks ---- */

FZ_NOCOV static int fz_hex_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* What event.h promises of any event. */
FZ_NOCOV static void fz_check_fields(const struct tt_event *ev)
{
	if (!ev->name || !fz_utf8_ok(ev->name, strlen(ev->name)))
		fz_fail("event without a valid name");
	if (ev->nf > TT_EV_MAX_FIELDS || ev->used > TT_EV_ARENA ||
	    ev->list_open >= 0 || ev->level > TT_TRACE || ev->dir > TT_OUT)
		fz_fail("%s: bad event header", ev->name);
	for (size_t i = 0; i < ev->nf; i++) {
		const struct tt_field *f = &ev->f[i];
		if (!f->key || !*f->key || f->level > TT_TRACE)
			fz_fail("%s: field %zu without key or level", ev->name,
				i);
		switch (f->type) {
		case TT_FT_INT:
		case TT_FT_BOOL:
			break;
		case TT_FT_STR:
			if (!f->v.s || !fz_utf8_ok(f->v.s, strlen(f->v.s)))
				fz_fail("%s.%s: not UTF-8", ev->name, f->key);
			break;
		case TT_FT_HEX:
			if (!f->v.s || !fz_hex_ok(f->v.s))
				fz_fail("%s.%s: not hex", ev->name, f->key);
			break;
		case TT_FT_LIST: {
			const char *s = f->v.s;
			for (uint32_t k = 0; k < f->n; k++) {
				size_t n = strlen(s);
				if (!fz_utf8_ok(s, n))
					fz_fail("%s.%s[%u]: not UTF-8",
						ev->name, f->key, k);
				s += n + 1;
			}
			break;
		}
		default:
			fz_fail("%s.%s: field type %u", ev->name, f->key,
				f->type);
		}
	}
}

FZ_NOCOV static const struct tt_field *fz_need(const struct tt_event *ev,
					       const char *key, uint8_t type)
{
	const struct tt_field *f = tt_ev_find(ev, key);
	if (!f || f->type != type)
		fz_fail("%s: required field %s missing or of type %u", ev->name,
			key, f ? f->type : 255);
	return f;
}

/* Required fields (DESIGN.md, "Required event fields"), unless the event
 * says it was cut. */
FZ_NOCOV static void fz_check_contract(const struct tt_event *ev)
{
	if (ev->flags & TT_EVF_TRUNCATED)
		return;
	if (strcmp(ev->name, "certificate_request") == 0) {
		fz_need(ev, "version", TT_FT_STR);
		fz_need(ev, "sig_algs", TT_FT_LIST);
		const struct tt_field *cnt = fz_need(ev, "ca_count", TT_FT_INT);
		const struct tt_field *names =
			fz_need(ev, "ca_names", TT_FT_LIST);
		if (cnt->v.i != (long long)names->n)
			fz_fail("certificate_request: ca_count %lld, %u "
				"ca_names",
				cnt->v.i, names->n);
	} else if (strcmp(ev->name, "alert") == 0) {
		fz_need(ev, "alert_level", TT_FT_STR);
		fz_need(ev, "alert", TT_FT_STR);
		fz_need(ev, "alert_code", TT_FT_INT);
	}
}

/* ---- the sink ---- */

#define FZ_FULL (256 * 1024)

/* Room for a connection's fingerprint: its scalars, SNI, ALPN, the
 * message and alert logs, and the CA names text. */
#define FZ_STATE_MAX (TT_CA_TEXT + 4 * TT_SNI_MAX + 6 * TT_MSG_LOG + 2048)

struct fz_sink {
	struct tt_emit em;
	const struct tt_conn *conn; /* for the role on the line, or NULL */
	int format;		    /* render through the formatter */
	unsigned long events;
	unsigned long decode_errors;
	uint64_t hash;
	/* what the decoder concluded, for runs at different levels: the
	 * events any level at or above warn shows (decode errors, fatal
	 * alerts, diagnoses), with their fields at warn */
	unsigned long warn_events;
	uint64_t warn_hash;
	unsigned long calls; /* return codes folded into rcs */
	uint64_t rcs;
	size_t state_len; /* 0: no fingerprint taken */
	char state[FZ_STATE_MAX];
};

FZ_NOCOV static inline void fz_mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ull;
	}
}

FZ_NOCOV static inline void fz_mix_str(uint64_t *h, const char *s)
{
	fz_mix(h, s, strlen(s) + 1);
}

/* Folds the event's fields of level max or coarser into *h (with its
 * flags, but for TT_EVF_TRUNCATED below trace: finer fields may be what
 * filled the event). */
FZ_NOCOV static void fz_hash_fields(uint64_t *h, const struct tt_event *ev,
				    enum tt_level max)
{
	int header_err = 0;
	if (strcmp(ev->name, "decode_error") == 0) {
		const struct tt_field *e = tt_ev_find(ev, "error");
		header_err = e && e->type == TT_FT_STR &&
			     strcmp(e->v.s, "not a TLS record header") == 0;
	}
	fz_mix_str(h, ev->name);
	fz_mix(h, &ev->level, 1);
	fz_mix(h, &ev->dir, 1);
	uint16_t flags = ev->flags;
	if (max < TT_TRACE)
		flags &= (uint16_t)~TT_EVF_TRUNCATED;
	fz_mix(h, &flags, sizeof(flags));
	for (size_t i = 0; i < ev->nf; i++) {
		const struct tt_field *f = &ev->f[i];
		if (header_err && strcmp(f->key, "detail") == 0)
			continue;
		if (f->level > max)
			continue;
		fz_mix_str(h, f->key);
		fz_mix(h, &f->type, 1);
		fz_mix(h, &f->level, 1);
		switch (f->type) {
		case TT_FT_INT:
		case TT_FT_BOOL:
			fz_mix(h, &f->v.i, sizeof(f->v.i));
			break;
		case TT_FT_LIST: {
			const char *s = f->v.s;
			fz_mix(h, &f->n, sizeof(f->n));
			for (uint32_t k = 0; k < f->n; k++) {
				fz_mix_str(h, s);
				s += strlen(s) + 1;
			}
			break;
		}
		default:
			fz_mix_str(h, f->v.s);
		}
	}
}

FZ_NOCOV static void fz_hash_event(uint64_t *h, const struct tt_event *ev)
{
	fz_hash_fields(h, ev, TT_TRACE);
}

FZ_NOCOV static void fz_render(const struct fz_sink *k,
			       const struct tt_event *ev)
{
	/* Globals, so ASan's redzones catch a write past cap. */
	static char full[FZ_FULL], small[TT_LINE_MIN], mid[4096];
	static const struct timespec ts = {1795428000, 123456789};
	struct tt_line_ctx ctx = {
		.pid = 4242,
		.tid = 4243,
		.conn = 7,
		.fd = 5,
		.local = "127.0.0.1:443",
		.peer = "[::1]:50000",
		.role = k->conn ? tt_role_name(
					  (enum tt_role)tt_conn_role(k->conn))
				: "unknown",
		.show_addrs = (k->events & 1) != 0,
	};
	size_t n;

	n = tt_format_line(TT_FMT_JSON, full, sizeof(full), ev, &ctx, TT_TRACE,
			   &ts);
	fz_check_json(full, n, sizeof(full));
	n = tt_format_line(TT_FMT_TEXT, full, sizeof(full), ev, &ctx, TT_TRACE,
			   &ts);
	fz_check_text(full, n, sizeof(full));

	/* Small buffers and coarser levels: fields are dropped whole. */
	enum tt_level max = (enum tt_level)(TT_WARN + k->events % 4);
	if (k->events & 2) {
		n = tt_format_line(TT_FMT_JSON, small, sizeof(small), ev, &ctx,
				   max, &ts);
		fz_check_json(small, n, sizeof(small));
		n = tt_format_line(TT_FMT_TEXT, mid, sizeof(mid), ev, &ctx, max,
				   &ts);
		fz_check_text(mid, n, sizeof(mid));
	} else {
		n = tt_format_line(TT_FMT_JSON, mid, sizeof(mid), ev, &ctx, max,
				   &ts);
		fz_check_json(mid, n, sizeof(mid));
		n = tt_format_line(TT_FMT_TEXT, small, sizeof(small), ev, &ctx,
				   max, &ts);
		fz_check_text(small, n, sizeof(small));
	}
}

FZ_NOCOV static void fz_on_event(void *ctx, struct tt_event *ev)
{
	struct fz_sink *k = ctx;
	fz_check_fields(ev);
	fz_check_contract(ev);
	if (strcmp(ev->name, "decode_error") == 0)
		k->decode_errors++;
	fz_hash_event(&k->hash, ev);
	if (ev->level <= TT_WARN) {
		fz_hash_fields(&k->warn_hash, ev, TT_WARN);
		k->warn_events++;
	}
	if (k->format)
		fz_render(k, ev);
#ifdef FZ_PRINT
	/* cc -DFZ_PRINT ... to see what a reproducer emits, sink by sink */
	{
		static char line[FZ_FULL];
		static const struct timespec ts0 = {0, 0};
		struct tt_line_ctx lc = {.role = "-", .local = "", .peer = ""};
		size_t n = tt_format_line(TT_FMT_TEXT, line, sizeof(line), ev,
					  &lc, TT_INFO, &ts0);
		fprintf(stderr, "[sink %p] %.*s", (void *)k, (int)n, line);
	}
#endif
	k->events++;
}

/* One scratch event for every sink: events are consumed in the callback. */
FZ_NOCOV FZ_UNUSED static void
fz_sink_init(struct fz_sink *k, const struct tt_conn *conn, int format)
{
	static struct tt_event scratch;
	memset(k, 0, sizeof(*k));
	k->em.fn = fz_on_event;
	k->em.ctx = k;
	k->em.ev = &scratch;
	k->em.level = TT_TRACE;
	k->conn = conn;
	k->format = format;
	k->hash = 0xcbf29ce484222325ull;
	k->warn_hash = 0xcbf29ce484222325ull;
	k->rcs = 0xcbf29ce484222325ull;
}

/* Two runs that must have produced the same events. */
FZ_NOCOV FZ_UNUSED static void
fz_same(const char *what, const struct fz_sink *a, const struct fz_sink *b)
{
	if (a->decode_errors != b->decode_errors)
		fz_fail("%s: %lu decode_error events against %lu", what,
			a->decode_errors, b->decode_errors);
	if (a->events != b->events || a->hash != b->hash)
		fz_fail("%s: %lu events (hash %016llx) against %lu (%016llx)",
			what, a->events, (unsigned long long)a->hash, b->events,
			(unsigned long long)b->hash);
}

/* ---- level invariance ---- */

/* A return code of the decoder, in the order of the calls. */
FZ_NOCOV FZ_UNUSED static void fz_rc(struct fz_sink *k, tt_rc rc)
{
	int v = (int)rc;
	fz_mix(&k->rcs, &v, sizeof(v));
	k->calls++;
}

struct fz_text {
	char *p;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3))) FZ_NOCOV static void
fz_put(struct fz_text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= t->cap - t->n)
		fz_fail("connection fingerprint over %zu bytes", t->cap);
	t->n += (size_t)w;
}

/* Bytes the decoder keeps as text (SNI, ALPN, CA names), up to their
 * NUL, as hex: what follows the NUL is not state. */
FZ_NOCOV static void fz_put_str(struct fz_text *t, const char *key,
				const char *s, size_t cap)
{
	fz_put(t, " %s=", key);
	if (!s) {
		fz_put(t, "-");
		return;
	}
	for (size_t i = 0; i < cap && s[i]; i++)
		fz_put(t, "%02x", (unsigned char)s[i]);
}

FZ_NOCOV static void fz_put_bytes(struct fz_text *t, const char *key,
				  const uint8_t *b, size_t n)
{
	fz_put(t, " %s=", key);
	for (size_t i = 0; i < n; i++)
		fz_put(t, "%02x", b[i]);
}

/* The fingerprint of what a connection decoded (struct tt_conn in
 * decoder/conn/conn.h): its facts, logs and per-direction counters and
 * states, as one line of text; heap pointers are left out (the CA names
 * text is taken by its contents). */
FZ_NOCOV FZ_UNUSED static size_t fz_fingerprint(const struct tt_conn *c,
						char *out, size_t cap)
{
	struct fz_text t = {out, 0, cap};
	fz_put(&t, "role=%u version=%04x cipher=%04x hrr=%d sni_len=%u",
	       c->role, c->version, c->cipher, c->hrr, c->sni_len);
	fz_put_str(&t, "sni", c->sni, TT_SNI_MAX + 1);
	fz_put_str(&t, "alpn", c->alpn, sizeof(c->alpn));
	fz_put_bytes(&t, "crandom", c->crandom, sizeof(c->crandom));
	fz_put_bytes(&t, "srandom", c->srandom, sizeof(c->srandom));
	fz_put(&t,
	       " phase=%u fin=%d%d reneg=%u reneg_initiator=%u "
	       "reneg_attempts=%u",
	       c->phase, c->fin[0], c->fin[1], c->reneg, c->reneg_initiator,
	       c->reneg_attempts);
	fz_put(&t,
	       " ch=%d/%d/%d sh=%d/%d cr=%d cr_ca_count=%d "
	       "client_cert=%d",
	       c->ch_seen, c->ch_ri, c->ch_scsv, c->sh_seen, c->sh_ri,
	       c->cr_seen, c->cr_ca_count, c->client_cert);
	fz_put_str(&t, "ca_text", c->ca_text, TT_CA_TEXT);
	fz_put(&t, " msgs=");
	for (size_t i = 0; i < c->nmsg && i < TT_MSG_LOG; i++)
		fz_put(&t, "%s%x", i ? "," : "", tt_conn_msg(c, (unsigned)i));
	fz_put(&t, " alerts=");
	for (size_t i = 0; i < c->nalerts && i < TT_ALERT_LOG; i++) {
		const struct tt_alert_note *a = &c->alerts[i];
		fz_put(&t, "%s%u/%u/%u/%d", i ? "," : "", a->dir, a->level,
		       a->desc, a->inferred);
	}
	fz_put(&t,
	       " fatal=%d%d close_notify=%d%d enc_alert=%d%d "
	       "appdata=%d%d key_updates=%u/%u",
	       c->fatal[0], c->fatal[1], c->close_notify[0], c->close_notify[1],
	       c->enc_alert[0], c->enc_alert[1], c->appdata[0], c->appdata[1],
	       c->key_updates[0], c->key_updates[1]);
	fz_put(&t,
	       " dec_records=%u keys_missing=%d dec_failed=%d "
	       "dec_unsupported=%d dec_nocrypto=%d",
	       c->dec_records, c->keys_missing, c->dec_failed,
	       c->dec_unsupported, c->dec_nocrypto);
	fz_put(&t, " comp=%u ch_comp=%u comp_used=%u infl=%u sh_count=%u",
	       c->comp, c->ch_comp, c->comp_used, c->infl, c->sh_count);
	fz_put(&t, " starttls=%u plain=%d following=%d%d attach=%u",
	       c->starttls, c->plain, tt_stls_following(c, TT_IN),
	       tt_stls_following(c, TT_OUT), c->attach);
	for (int d = 0; d < 2; d++) {
		const struct tt_dirstate *s = &c->d[d];
		fz_put(&t,
		       " | %s: dead=%d records=%llu decoded=%llu "
		       "bytes=%llu hs_msgs=%u ccs=%d null_mac=%u kstate=%u "
		       "enc_hs_after_ccs=%u seek=%d skipped=%u pre13=%d",
		       tt_dir_name((enum tt_dir)d), s->dead,
		       (unsigned long long)s->records,
		       (unsigned long long)s->decoded,
		       (unsigned long long)s->bytes, s->hs_msgs, s->ccs,
		       s->null_mac, s->kstate, s->enc_hs_after_ccs, s->seek,
		       s->skipped, s->pre13_seen);
	}
	return t.n;
}

/* Takes the fingerprint of c into k (before c is released). */
FZ_NOCOV FZ_UNUSED static void fz_sink_state(struct fz_sink *k,
					     const struct tt_conn *c)
{
	k->state_len = fz_fingerprint(c, k->state, sizeof(k->state));
}

/* Two runs of the same input at different log levels (warn or finer):
 * the same return codes, the same warn events (a decode_error is how the
 * handshake layer reports a parser's TT_DECODE) and the same decoded
 * state. */
FZ_NOCOV FZ_UNUSED static void fz_same_state(const char *what,
					     const struct fz_sink *a,
					     const struct fz_sink *b)
{
	if (a->calls != b->calls || a->rcs != b->rcs)
		fz_fail("%s: return codes depend on the log level (%lu calls, "
			"%016llx against %lu, %016llx)",
			what, a->calls, (unsigned long long)a->rcs, b->calls,
			(unsigned long long)b->rcs);
	if (a->warn_events != b->warn_events || a->warn_hash != b->warn_hash)
		fz_fail("%s: warn events depend on the log level (%lu, "
			"%016llx against %lu, %016llx)",
			what, a->warn_events, (unsigned long long)a->warn_hash,
			b->warn_events, (unsigned long long)b->warn_hash);
	if (!a->state_len || a->state_len != b->state_len ||
	    memcmp(a->state, b->state, a->state_len) != 0)
		fz_fail("%s: connection state depends on the log level:\n"
			"  level %u: %.*s\n  level %u: %.*s",
			what, a->em.level, (int)a->state_len, a->state,
			b->em.level, (int)b->state_len, b->state);
}

/* ---- message parser targets ---- */

typedef void (*fz_conn_check)(const struct tt_conn *c);

/* One parser call on a fresh connection with the given preset. */
FZ_NOCOV static tt_rc fz_parse_once(tt_hs_parser fn, uint16_t version,
				    enum tt_role role, enum tt_dir dir,
				    const uint8_t *body, size_t len,
				    struct tt_conn *c, struct fz_sink *k,
				    enum tt_level level)
{
	tt_conn_init(c);
	c->version = version;
	c->role = (uint8_t)role;
	fz_sink_init(k, c, level == TT_TRACE);
	k->em.level = (uint8_t)level;
	tt_rc rc = fn(c, dir, body, len, &k->em);
	fz_rc(k, rc);
	fz_sink_state(k, c);
	tt_conn_release(c);
	return rc;
}

/* Runs a message parser on the input (a body without its 4-byte header)
 * for every version preset, direction and known-or-not role, and checks
 * its promises (msg.h): TT_OK with exactly its one event, or TT_DECODE
 * with none; and that the log level changes what is built, never the
 * result or the connection state (run at warn and at trace). */
FZ_NOCOV FZ_UNUSED static void fz_parser(tt_hs_parser fn, const char *evname,
					 const uint8_t *body, size_t len,
					 fz_conn_check check)
{
	static const uint16_t versions[] = {0, TT_V_TLS10, TT_V_TLS12,
					    TT_V_TLS13};
	static struct tt_conn c, quiet_c;
	/* An exact-size copy: ASan then sees any read past the body. */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, body, len);
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		for (int d = 0; d < 2; d++) {
			enum tt_role role = (enum tt_role)((v + (size_t)d) % 3);
			static struct fz_sink k, quiet;
			tt_rc rc = fz_parse_once(fn, versions[v], role,
						 (enum tt_dir)d, copy, len, &c,
						 &k, TT_TRACE);
			if (rc != TT_OK && rc != TT_DECODE)
				fz_fail("%s: returned %d", evname, rc);
			if (rc == TT_OK && k.events != 1)
				fz_fail("%s: TT_OK with %lu events", evname,
					k.events);
			if (rc != TT_OK && k.events != 0)
				fz_fail("%s: rc %d with %lu events", evname, rc,
					k.events);
			if (rc == TT_OK && strcmp(k.em.ev->name, evname) != 0)
				fz_fail("%s: emitted %s", evname,
					k.em.ev->name);
			tt_rc qrc = fz_parse_once(fn, versions[v], role,
						  (enum tt_dir)d, copy, len,
						  &quiet_c, &quiet, TT_WARN);
			if (qrc != rc || quiet.events != 0)
				fz_fail("%s: at level warn rc %d and %lu "
					"events, at trace rc %d",
					evname, qrc, quiet.events, rc);
			fz_same_state(evname, &k, &quiet);
			if (check) {
				check(&c);
				check(&quiet_c);
			}
		}
	}
	free(copy);
}

/* ---- segments: the writes of a whole exchange, in order ---- */

/* Each write one side made: u8 tag (bit 0: sent by the server), u16
 * length (big-endian), that many bytes (the last one may be cut). */
#define FZ_MAX_SEGS 4096

struct fz_seg {
	const uint8_t *p;
	size_t n;
	int from_server;
};

/* Reads the segments of data[off..size) into seg (at most FZ_MAX_SEGS;
 * empty ones are skipped) and returns how many. */
FZ_NOCOV static inline size_t fz_segments(const uint8_t *data, size_t size,
					  size_t off, struct fz_seg *seg)
{
	size_t nseg = 0;
	while (off + 3 <= size && nseg < FZ_MAX_SEGS) {
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		struct fz_seg *s = &seg[nseg];
		s->from_server = data[off] & 1;
		off += 3;
		if (n > size - off)
			n = size - off;
		s->p = data + off;
		s->n = n;
		off += n;
		if (n)
			nseg++;
	}
	return nseg;
}


/* ---- whole connections: the writes of both sides fed in order ---- */

/* dir_of[from_server]: the direction of each side's writes, as seen by
 * this process (the client when client is set, else the server). */
FZ_NOCOV FZ_UNUSED static void fz_dir_of(enum tt_dir dir_of[2], int client)
{
	dir_of[0] = client ? TT_OUT : TT_IN;
	dir_of[1] = client ? TT_IN : TT_OUT;
}

/* A sink at level warn that renders nothing: the run compared with one
 * at trace by fz_same_state. */
FZ_NOCOV FZ_UNUSED static void fz_sink_quiet(struct fz_sink *k)
{
	fz_sink_init(k, NULL, 0);
	k->em.level = TT_WARN;
}

/* The input of a whole-connection target: byte 0 bit 0 set when this
 * process is the client, bytes 1-4 the seed of the split pattern
 * (big-endian), more of the target's own up to hdr, then the segments. */
struct fz_exchange {
	struct fz_seg seg[FZ_MAX_SEGS];
	size_t nseg;
	enum tt_dir dir_of[2]; /* [from_server] */
	uint32_t seed;
};

/* Reads data into x; 0 when it is shorter than hdr (at least 5). */
FZ_NOCOV FZ_UNUSED static int fz_exchange_read(struct fz_exchange *x,
					       const uint8_t *data, size_t size,
					       size_t hdr)
{
	if (size < hdr)
		return 0;
	fz_dir_of(x->dir_of, data[0] & 1);
	x->seed = fz_be32(data + 1);
	x->nseg = fz_segments(data, size, hdr, x->seg);
	return 1;
}

/* A whole-connection target's run of its input in into k, each write cut
 * into pieces by the input's seed when pieces is set, else whole. */
typedef void (*fz_run_fn)(const void *in, int pieces, struct fz_sink *k);

/* The runs such a target compares: in pieces and whole, the same events;
 * whole at trace and at warn, the same return codes, warn events and
 * state. */
FZ_NOCOV FZ_UNUSED static void fz_compare_runs(const void *in, fz_run_fn run)
{
	static struct fz_sink k1, k2, quiet;
	fz_sink_init(&k1, NULL, 1);
	run(in, 1, &k1);
	fz_sink_init(&k2, NULL, 0);
	run(in, 0, &k2);
	fz_same("in pieces vs whole writes", &k1, &k2);
	fz_sink_quiet(&quiet);
	run(in, 0, &quiet);
	fz_same_state("whole, at trace vs at warn", &k2, &quiet);
}

/* fz_on_event, but for the hash that runs cut differently compare: it
 * leaves out the summary's bytes_in or bytes_out (and skipped_in or
 * skipped_out) of a direction that stopped decoding (they count up to
 * the end of the call that stopped it, so they depend on the cuts).  The
 * sink's conn must be set. */
FZ_NOCOV FZ_UNUSED static void fz_on_event_cut(void *ctx, struct tt_event *ev)
{
	struct fz_sink *k = ctx;
	uint64_t h = k->hash;
	fz_on_event(ctx, ev);
	if (!k->conn || strcmp(ev->name, "summary") != 0)
		return;
	long long saved[TT_EV_MAX_FIELDS];
	int masked = 0;
	for (size_t i = 0; i < ev->nf; i++) {
		struct tt_field *f = &ev->f[i];
		saved[i] = f->v.i;
		int d = strcmp(f->key, "bytes_in") == 0	     ? TT_IN
			: strcmp(f->key, "bytes_out") == 0   ? TT_OUT
			: strcmp(f->key, "skipped_in") == 0  ? TT_IN
			: strcmp(f->key, "skipped_out") == 0 ? TT_OUT
							     : -1;
		if (d >= 0 && f->type == TT_FT_INT && k->conn->d[d].dead) {
			f->v.i = -1;
			masked = 1;
		}
	}
	if (!masked)
		return;
	k->hash = h;
	fz_hash_event(&k->hash, ev);
	for (size_t i = 0; i < ev->nf; i++)
		if (ev->f[i].type == TT_FT_INT)
			ev->f[i].v.i = saved[i];
}

/* One call's bytes into a direction. */
typedef void (*fz_feed_fn)(struct tt_conn *c, enum tt_dir d, const uint8_t *p,
			   size_t n, struct fz_sink *k);

/* Records waiting for keys in either direction, decoded if their keys
 * have come, as the shim does around its calls. */
FZ_NOCOV FZ_UNUSED static void fz_drain(struct tt_conn *c, struct fz_sink *k)
{
	if (tt_conn_waiting(c))
		tt_conn_drain(c, &k->em);
}

/* Feeds as the shim does: waiting records drained first (fz_drain), then
 * the call's bytes, from an exact-size copy (ASan then sees any read
 * past them); returns tt_conn_feed's result, recorded in k. */
FZ_NOCOV FZ_UNUSED static tt_rc fz_feed_copy(struct tt_conn *c, enum tt_dir d,
					     const uint8_t *p, size_t n,
					     struct fz_sink *k)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	fz_drain(c, k);
	tt_rc rc = tt_conn_feed(c, d, copy, n, &k->em);
	free(copy);
	fz_rc(k, rc);
	return rc;
}

/* fz_feed_copy, for a connection whose only results are TT_OK and
 * TT_DECODE. */
FZ_NOCOV FZ_UNUSED static void fz_feed_drain(struct tt_conn *c, enum tt_dir d,
					     const uint8_t *p, size_t n,
					     struct fz_sink *k)
{
	tt_rc rc = fz_feed_copy(c, d, p, n, k);
	if (rc != TT_OK && rc != TT_DECODE)
		fz_fail("tt_conn_feed returned %d", rc);
}

/* Feeds n bytes with feed, cut into pieces by the seed (whole when seed
 * is NULL). */
FZ_NOCOV FZ_UNUSED static void fz_feed_pieces(struct tt_conn *c, enum tt_dir d,
					      const uint8_t *p, size_t n,
					      uint32_t *seed, fz_feed_fn feed,
					      struct fz_sink *k)
{
	size_t off = 0;
	do {
		size_t piece = seed ? fz_piece(seed, n - off) : n - off;
		feed(c, d, p + off, piece, k);
		off += piece;
	} while (off < n);
}

/* Ends c with a local close, after which no record may still wait in
 * either direction; takes its fingerprint into k and releases it. */
FZ_NOCOV FZ_UNUSED static void fz_close(struct tt_conn *c, struct fz_sink *k,
					const char *what)
{
	struct tt_end_info ei = {.how = TT_END_LOCAL_CLOSE,
				 .dir = TT_OUT,
				 .call = "close",
				 .since_last_us = 5,
				 .duration_us = 100};
	tt_conn_end(c, &ei, &k->em);
	if (tt_conn_waiting(c))
		fz_fail("%s: records still wait after the connection closed",
			what);
	fz_sink_state(k, c);
	tt_conn_release(c);
}

#endif
