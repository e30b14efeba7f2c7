/* Event building: fields and an arena local to the event scratch. */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void mark_truncated(struct tt_event *ev)
{
	ev->flags |= TT_EVF_TRUNCATED;
}

/* ---- The registry of event names ---- */

#define EVN_(id, name)	     name,
#define EVN_HS_(v, id, name) name,
static const char *const event_names[TT_EVENT_COUNT] = {
	TT_EVENT_NAMES(EVN_) TT_HANDSHAKE_TYPES(EVN_HS_)};
#undef EVN_
#undef EVN_HS_

_Static_assert(TT_EVENT_COUNT <= 255, "by_name holds indices in a byte");

const char *tt_event_name(unsigned id)
{
	return id < TT_EVENT_COUNT ? event_names[id] : NULL;
}

int tt_event_lookup(const char *s, size_t n)
{
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		if (strncmp(event_names[i], s, n) == 0 &&
		    event_names[i][n] == 0)
			return (int)i;
	return -1;
}

void tt_evfilter_init(struct tt_evfilter *f)
{
	memset(f, 0, sizeof(*f));
	/* insertion sort, once per configuration: the registry is small */
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++) {
		unsigned k = i;
		while (k > 0 && strcmp(event_names[f->by_name[k - 1]],
				       event_names[i]) > 0) {
			f->by_name[k] = f->by_name[k - 1];
			k--;
		}
		f->by_name[k] = (uint8_t)i;
	}
}

void tt_evfilter_add(struct tt_evfilter *f, enum tt_event_id id)
{
	if ((unsigned)id >= TT_EVENT_COUNT)
		return;
	uint64_t bit = 1ULL << (id % 64);
	if (!(f->want[id / 64] & bit))
		f->n++;
	f->want[id / 64] |= bit;
}

bool tt_evfilter_has(const struct tt_evfilter *f, const char *name)
{
	size_t lo = 0, hi = TT_EVENT_COUNT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		unsigned id = f->by_name[mid];
		int c = strcmp(name, event_names[id]);
		if (c == 0)
			return f->want[id / 64] >> (id % 64) & 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t tt_evfilter_parse(struct tt_evfilter *f, const char *list,
			 void (*unknown)(void *ctx, const char *s, size_t n),
			 void *ctx)
{
	size_t known = 0, n;
	for (const char *s; (s = tt_list_next(&list, &n));) {
		int id = tt_event_lookup(s, n);
		if (id >= 0) {
			tt_evfilter_add(f, (enum tt_event_id)id);
			known++;
		} else if (unknown) {
			unknown(ctx, s, n);
		}
	}
	return known;
}

/* ---- Events ---- */

struct tt_event *tt_ev_begin(const struct tt_emit *em, const char *name,
			     enum tt_level level, enum tt_dir dir)
{
	if (!tt_emit_on(em, level))
		return NULL;
	if (em->events && !tt_evfilter_has(em->events, name))
		return NULL;
	struct tt_event *ev = em->ev;
	ev->name = name;
	ev->level = (uint8_t)level;
	ev->dir = (uint8_t)dir;
	ev->flags = em->flags;
	ev->max = em->level;
	ev->nf = 0;
	ev->used = 0;
	ev->list_open = -1;
	return ev;
}

void tt_ev_send(const struct tt_emit *em, struct tt_event *ev)
{
	if (!ev)
		return;
	if (ev->list_open >= 0)
		tt_ev_list_end(ev);
	em->fn(em->ctx, ev);
}

static struct tt_field *add_field(struct tt_event *ev, const char *key,
				  enum tt_level l, enum tt_ftype t)
{
	if (!ev)
		return NULL;
	if (ev->list_open >= 0)
		tt_ev_list_end(ev);
	if ((uint8_t)l > ev->max)
		return NULL; /* not shown at this level: not built */
	if (ev->nf >= TT_EV_MAX_FIELDS) {
		mark_truncated(ev);
		return NULL;
	}
	struct tt_field *f = &ev->f[ev->nf++];
	f->key = key;
	f->type = (uint8_t)t;
	f->level = (uint8_t)l;
	f->n = 0;
	f->v.s = "";
	return f;
}

/* Room for n bytes plus a NUL in the arena, or NULL. */
static char *arena_take(struct tt_event *ev, size_t n)
{
	if (n + 1 > TT_EV_ARENA - ev->used) {
		mark_truncated(ev);
		return NULL;
	}
	char *p = ev->arena + ev->used;
	ev->used += n + 1;
	return p;
}

void tt_ev_str(struct tt_event *ev, const char *key, enum tt_level l,
	       const char *s)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_STR);
	if (f)
		f->v.s = s ? s : "";
}

void tt_ev_strcpy(struct tt_event *ev, const char *key, enum tt_level l,
		  const char *s, size_t n)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_STR);
	if (!f)
		return;
	char *p = arena_take(ev, n);
	if (!p) {
		ev->nf--; /* no value, no field */
		return;
	}
	memcpy(p, s, n);
	p[n] = 0;
	f->v.s = p;
}

void tt_ev_label(struct tt_event *ev, const char *key, enum tt_level l,
		 const char *s)
{
	if (ev)
		tt_ev_strcpy(ev, key, l, s, strlen(s));
}

size_t tt_utf8_sanitize(const uint8_t *b, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;
	while (i < n) {
		uint8_t c = b[i];
		size_t len = 0;
		uint32_t cp = 0;
		if (c < 0x80) {
			len = 1;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		}
		int ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			if ((b[i + k] & 0xc0) != 0x80)
				ok = 0;
			else
				cp = cp << 6 | (b[i + k] & 0x3f);
		}
		/* overlong, surrogate and out-of-range forms are invalid */
		if (ok && len == 3 &&
		    (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
			ok = 0;
		if (ok && len == 4 && (cp < 0x10000 || cp > 0x10ffff))
			ok = 0;
		if (ok && c != 0) {
			if (o + len + 1 > cap)
				return (size_t)-1;
			memcpy(out + o, b + i, len);
			o += len;
			i += len;
		} else {
			if (o + 4 + 1 > cap)
				return (size_t)-1;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
			i += 1;
		}
	}
	if (o + 1 > cap)
		return (size_t)-1;
	out[o] = 0;
	return o;
}

void tt_ev_untrusted(struct tt_event *ev, const char *key, enum tt_level l,
		     const uint8_t *b, size_t n)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_STR);
	if (!f)
		return;
	size_t room = TT_EV_ARENA - ev->used;
	size_t w = tt_utf8_sanitize(b, n, ev->arena + ev->used, room);
	if (w == (size_t)-1) {
		mark_truncated(ev);
		ev->nf--;
		return;
	}
	f->v.s = ev->arena + ev->used;
	ev->used += w + 1;
}

void tt_ev_int(struct tt_event *ev, const char *key, enum tt_level l,
	       long long i)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_INT);
	if (f)
		f->v.i = i;
}

void tt_ev_bool(struct tt_event *ev, const char *key, enum tt_level l, bool b)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_BOOL);
	if (f)
		f->v.i = b;
}

void tt_ev_hex(struct tt_event *ev, const char *key, enum tt_level l,
	       const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct tt_field *f = add_field(ev, key, l, TT_FT_HEX);
	if (!f)
		return;
	char *p = arena_take(ev, 2 * n);
	if (!p) {
		ev->nf--;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		p[2 * i] = hex[b[i] >> 4];
		p[2 * i + 1] = hex[b[i] & 15];
	}
	p[2 * n] = 0;
	f->v.s = p;
}

void tt_ev_printf(struct tt_event *ev, const char *key, enum tt_level l,
		  const char *fmt, ...)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_STR);
	if (!f)
		return;
	size_t room = TT_EV_ARENA - ev->used;
	if (room == 0) {
		mark_truncated(ev);
		ev->nf--;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(ev->arena + ev->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		mark_truncated(ev);
		if (n < 0)
			ev->arena[ev->used] = 0;
		n = n < 0 ? 0 : (int)room - 1;
	}
	f->v.s = ev->arena + ev->used;
	ev->used += (size_t)n + 1;
}

void tt_ev_list_begin(struct tt_event *ev, const char *key, enum tt_level l)
{
	struct tt_field *f = add_field(ev, key, l, TT_FT_LIST);
	if (!f)
		return;
	f->v.s = ev->arena + ev->used;
	ev->list_open = (int)(ev->nf - 1);
}

char *tt_ev_list_reserve(struct tt_event *ev, size_t cap)
{
	if (!ev || ev->list_open < 0)
		return NULL;
	if (cap >= TT_EV_ARENA || cap + 1 > TT_EV_ARENA - ev->used) {
		mark_truncated(ev);
		return NULL;
	}
	return ev->arena + ev->used;
}

void tt_ev_list_commit(struct tt_event *ev, size_t len)
{
	if (!ev || ev->list_open < 0)
		return;
	ev->arena[ev->used + len] = 0;
	ev->used += len + 1;
	ev->f[ev->list_open].n++;
}

void tt_ev_list_add(struct tt_event *ev, const char *s)
{
	size_t n = strlen(s);
	char *p = tt_ev_list_reserve(ev, n);
	if (!p)
		return;
	memcpy(p, s, n);
	tt_ev_list_commit(ev, n);
}

void tt_ev_list_add_untrusted(struct tt_event *ev, const uint8_t *b, size_t n)
{
	if (!ev || ev->list_open < 0)
		return;
	size_t room = TT_EV_ARENA - ev->used;
	size_t w = tt_utf8_sanitize(b, n, ev->arena + ev->used, room);
	if (w == (size_t)-1) {
		mark_truncated(ev);
		return;
	}
	tt_ev_list_commit(ev, w);
}

void tt_ev_list_end(struct tt_event *ev)
{
	if (ev)
		ev->list_open = -1;
}

const struct tt_field *tt_ev_find(const struct tt_event *ev, const char *key)
{
	for (size_t i = 0; i < ev->nf; i++)
		if (strcmp(ev->f[i].key, key) == 0)
			return &ev->f[i];
	return NULL;
}

const char *tt_level_name(enum tt_level l)
{
	static const char *const n[] = {"error", "warn", "info", "debug",
					"trace"};
	return (unsigned)l < 5 ? n[l] : "info";
}

const char *tt_role_name(enum tt_role r)
{
	return r == TT_ROLE_CLIENT   ? "client"
	       : r == TT_ROLE_SERVER ? "server"
				     : "unknown";
}

const char *tt_dir_name(enum tt_dir d)
{
	return d == TT_OUT ? "out" : "in";
}
