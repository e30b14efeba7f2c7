/* Test helper: collects decoder events as JSON lines (rendered by the
 * real formatter, with a fixed context and timestamp) so tests can
 * compare runs and look for fields. */
#ifndef EVLOG_H
#define EVLOG_H

#include <stddef.h>

#include "handshake.h"
#include "msg.h"
#include "record.h"
#include "event.h"
#include "tlsgen.h"

struct evlog {
	char **lines;
	size_t n, cap;
	struct tt_event *scratch;
	struct tt_emit em;
	enum tt_level level;
};

void evlog_init(struct evlog *l, enum tt_level level);
void evlog_clear(struct evlog *l);
void evlog_free(struct evlog *l);
/* Lines whose "event" is name (optionally also with "dir":dir). */
size_t evlog_count(const struct evlog *l, const char *name, const char *dir);
/* The first line of that event, or NULL. */
const char *evlog_find(const struct evlog *l, const char *name,
		       const char *dir);
/* The line of the n-th (from 0) event of that name (and direction), or
 * NULL. */
const char *evlog_nth(const struct evlog *l, const char *name, const char *dir,
		      size_t n);
/* Whether two logs hold the same lines in the same order; on a
 * difference prints both and returns 0. */
int evlog_same(const struct evlog *a, const struct evlog *b);
/* Whether the line's own part, from "dir" on (all that the decoder
 * chose; the context before it is evlog's), equals tail; when not,
 * prints both and returns 0. */
int evlog_is(const char *line, const char *tail);
/* The event names in order, space-separated, into out (as many whole
 * names as fit). */
void evlog_names(const struct evlog *l, char *out, size_t cap);
/* The same for the events of one direction ("in" or "out"; NULL: all). */
void evlog_names_dir(const struct evlog *l, const char *dir, char *out,
		     size_t cap);
/* Every event as "dir name", comma-separated, in the order written. */
void evlog_names_all(const struct evlog *l, char *out, size_t cap);
/* Every line to stderr, for a test that fails. */
void evlog_dump(const struct evlog *l);

/* Replays a captured exchange into c in the real order, as the client
 * (c2s = out) or as the server, each write cut into pieces of piece
 * bytes ((size_t)-1: whole). */
void evlog_replay(const struct tlsgen_result *r, int as_server,
		  struct tt_conn *c, struct evlog *l, size_t piece);
/* Ends c (tt_conn_end) as the shim would, 5 us after the last call and
 * 100 us after the connection began: how, in dir, with the error's name
 * and the call that saw it (either may be NULL). */
void evlog_end(struct tt_conn *c, struct evlog *l, enum tt_end_how how,
	       enum tt_dir dir, const char *err, const char *call);
/* The usual endings: a close() by this process; the peer's FIN read,
 * then a close; a reset read, then a close; a close with a zero linger
 * (an abort); the process exiting with the connection open. */
void evlog_close(struct tt_conn *c, struct evlog *l);
void evlog_fin_then_close(struct tt_conn *c, struct evlog *l);
void evlog_reset_then_close(struct tt_conn *c, struct evlog *l);
void evlog_abort(struct tt_conn *c, struct evlog *l);
void evlog_exit_open(struct tt_conn *c, struct evlog *l);
/* evlog_replay() into a new connection with key source ks (NULL: none),
 * which is then ended by end (one of the endings above) and released. */
void evlog_replay_ended(const struct tlsgen_result *r, int as_server,
			const struct tt_keysrc *ks, struct evlog *l,
			size_t piece,
			void (*end)(struct tt_conn *, struct evlog *));
/* The same, closed (evlog_close). */
void evlog_replay_closed(const struct tlsgen_result *r, int as_server,
			 const struct tt_keysrc *ks, struct evlog *l,
			 size_t piece);
/* tlsgen_run(), printing its error; returns its result. */
int evlog_tlsgen(const struct tlsgen_opts *o, struct tlsgen_result *r);

#endif
