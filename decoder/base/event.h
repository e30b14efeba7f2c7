/* Typed events, the decoder's only output.
 *
 * An event is a name, a level, a direction, flags and a list of typed
 * fields.  Its strings live in the event's own arena (or are static), so
 * an event is valid until the next one is built in the same scratch.
 * Every string in an event is valid UTF-8: bytes from a peer are
 * sanitised on the way in (tt_ev_untrusted), invalid sequences becoming
 * the text \xHH.  Formatters only have to escape for their syntax.
 *
 * Each field has its own level: a debug field on an info event is shown
 * only when the log level is debug or finer.
 */
#ifndef TT_EVENT_H
#define TT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tables/event.def"
#include "tables/handshake.def"

enum tt_level { TT_ERROR = 0, TT_WARN, TT_INFO, TT_DEBUG, TT_TRACE };

/* in = received by this process, out = sent by it. */
enum tt_dir { TT_IN = 0, TT_OUT = 1 };

enum tt_role { TT_ROLE_UNKNOWN = 0, TT_ROLE_CLIENT, TT_ROLE_SERVER };

enum tt_ftype {
	TT_FT_STR,  /* v.s */
	TT_FT_INT,  /* v.i */
	TT_FT_BOOL, /* v.i != 0 */
	TT_FT_LIST, /* n NUL-terminated strings packed from v.s */
	TT_FT_HEX,  /* v.s holds lower-case hex text */
};

enum tt_evflag {
	TT_EVF_ENCRYPTED = 1 << 0,
	TT_EVF_INFERRED = 1 << 1,
	TT_EVF_DECRYPTED = 1 << 2,
	TT_EVF_TRUNCATED = 1 << 3,
};

struct tt_field {
	const char *key;
	uint8_t type;
	uint8_t level;
	uint32_t n; /* list: item count */
	union {
		const char *s;
		long long i;
	} v;
};

#define TT_EV_MAX_FIELDS 48
#define TT_EV_ARENA	 (64 * 1024)

struct tt_event {
	const char *name;
	uint8_t level;
	uint8_t dir;
	uint16_t flags;
	uint8_t max; /* most verbose field level kept (the emitter's) */
	size_t nf;
	struct tt_field f[TT_EV_MAX_FIELDS];
	size_t used;
	int list_open; /* index of the list being appended to, or -1 */
	char arena[TT_EV_ARENA];
};

/* ---- Event names ----
 *
 * The registry: every name tt_ev_begin() is given, those of
 * tables/event.def then the handshake types of tables/handshake.def.
 * TT_EVN_<ID> is a name's index. */
#define TT_EVN_(id, name)	TT_EVN_##id,
#define TT_EVN_HS_(v, id, name) TT_EVN_##id,
enum tt_event_id {
	TT_EVENT_NAMES(TT_EVN_) TT_HANDSHAKE_TYPES(TT_EVN_HS_) TT_EVENT_COUNT
};
#undef TT_EVN_
#undef TT_EVN_HS_

#define TT_EVENT_WORDS ((TT_EVENT_COUNT + 63) / 64)

/* The registry spelling of id, or NULL when id is out of range. */
const char *tt_event_name(unsigned id);
/* The index of the n-byte name s (exact spelling), or -1. */
int tt_event_lookup(const char *s, size_t n);

/* Which events are written: a bit per registry index, set from a list of
 * names when the configuration is read, and the registry's indices in
 * the order of their names, so that tt_ev_begin() finds a name's bit by
 * a binary search (a few comparisons, most decided by a name's first
 * bytes).  Plain data, read-only once made: every thread may share one. */
struct tt_evfilter {
	uint64_t want[TT_EVENT_WORDS];
	uint8_t by_name[TT_EVENT_COUNT];
	uint8_t n; /* names wanted */
};

/* An empty filter (it lets nothing through; an emitter with none lets
 * everything through). */
void tt_evfilter_init(struct tt_evfilter *f);
void tt_evfilter_add(struct tt_evfilter *f, enum tt_event_id id);
/* Whether the event named name is wanted (a name not in the registry
 * never is). */
bool tt_evfilter_has(const struct tt_evfilter *f, const char *name);
/* Adds the names of a comma list to f (see tt_list_next): each that is
 * not in the registry is passed to unknown (when not NULL) instead.
 * Returns how many items were registry names.  Reads list in place: its
 * length costs no memory. */
size_t tt_evfilter_parse(struct tt_evfilter *f, const char *list,
			 void (*unknown)(void *ctx, const char *s, size_t n),
			 void *ctx);

/* Comma lists of names (TLSTRACE_EVENTS, -e).  Inline for the launcher,
 * which checks -e's names against the same tables without the decoder. */
static inline bool tt_list_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* The next item of the comma list at *p, without the blanks around it
 * (empty items are skipped): its start, its length in *n, and *p moved
 * past it; NULL at the end of the list. */
static inline const char *tt_list_next(const char **p, size_t *n)
{
	const char *s = *p;
	while (*s == ',' || tt_list_blank(*s))
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	/* s is the first byte of a non-empty item */
	const char *e = s;
	while (*e && *e != ',')
		e++;
	*p = e;
	while (tt_list_blank(e[-1]))
		e--;
	*n = (size_t)(e - s);
	return s;
}

/* Where events go.  fn is called once per event that passes the level
 * check (and the filter, when there is one); ev is the caller's scratch,
 * reused for every event. */
struct tt_emit {
	void (*fn)(void *ctx, struct tt_event *ev);
	void *ctx;
	struct tt_event *ev;
	uint8_t level;	/* most verbose level wanted */
	uint16_t flags; /* enum tt_evflag set on every event (decrypted) */
	/* Optional: asked before bytes that do not parse stop a direction.
	 * False means they were not this connection's at all (its descriptor
	 * was closed and reused where the caller could not see it): they are
	 * then dropped silently and the feed returns TT_GONE. */
	bool (*same_stream)(void *ctx);
	/* Optional: only the events it wants are built (NULL: all). */
	const struct tt_evfilter *events;
};

static inline bool tt_emit_on(const struct tt_emit *em, enum tt_level l)
{
	return em && em->fn && em->ev && (uint8_t)l <= em->level;
}

/* Starts a new event in em->ev and returns it, or NULL when the level is
 * not enabled or em's filter does not want name (callers then skip
 * building it: what they decode and remember is the same either way). */
struct tt_event *tt_ev_begin(const struct tt_emit *em, const char *name,
			     enum tt_level level, enum tt_dir dir);
void tt_ev_send(const struct tt_emit *em, struct tt_event *ev);

/* Field builders.  All are no-ops on a NULL event; on arena or field
 * exhaustion they drop the value and set TT_EVF_TRUNCATED. */
void tt_ev_str(struct tt_event *ev, const char *key, enum tt_level l,
	       const char *s); /* s static or outliving the event */
void tt_ev_strcpy(struct tt_event *ev, const char *key, enum tt_level l,
		  const char *s, size_t n); /* copied; must be UTF-8 text */
/* A NUL-terminated string copied in: for labels that may live in the
 * caller's buffer (tt_label_* results). */
void tt_ev_label(struct tt_event *ev, const char *key, enum tt_level l,
		 const char *s);
void tt_ev_untrusted(struct tt_event *ev, const char *key, enum tt_level l,
		     const uint8_t *b, size_t n);
void tt_ev_int(struct tt_event *ev, const char *key, enum tt_level l,
	       long long i);
void tt_ev_bool(struct tt_event *ev, const char *key, enum tt_level l, bool b);
void tt_ev_hex(struct tt_event *ev, const char *key, enum tt_level l,
	       const uint8_t *b, size_t n);
__attribute__((format(printf, 4, 5))) void tt_ev_printf(struct tt_event *ev,
							const char *key,
							enum tt_level l,
							const char *fmt, ...);

/* A list: begin, then add items (nothing else in between), then end. */
void tt_ev_list_begin(struct tt_event *ev, const char *key, enum tt_level l);
void tt_ev_list_add(struct tt_event *ev, const char *s);
void tt_ev_list_add_untrusted(struct tt_event *ev, const uint8_t *b, size_t n);
/* Reserves room for one item of up to cap bytes and returns a pointer to
 * write it to (then tt_ev_list_commit with its length), or NULL. */
char *tt_ev_list_reserve(struct tt_event *ev, size_t cap);
void tt_ev_list_commit(struct tt_event *ev, size_t len);
void tt_ev_list_end(struct tt_event *ev);

const struct tt_field *tt_ev_find(const struct tt_event *ev, const char *key);

/* Appends b as UTF-8 text to out (cap bytes, NUL-terminated), each byte
 * of an invalid sequence as \xHH.  Returns the length written, or
 * (size_t)-1 when it did not fit. */
size_t tt_utf8_sanitize(const uint8_t *b, size_t n, char *out, size_t cap);

const char *tt_level_name(enum tt_level l);
const char *tt_role_name(enum tt_role r);
const char *tt_dir_name(enum tt_dir d);

#endif
