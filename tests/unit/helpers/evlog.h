/* Test helper: collects decoder events as JSON lines (rendered by the
 * real formatter, with a fixed context and timestamp) so tests can
 * compare runs and look for fields. */
#ifndef EVLOG_H
#define EVLOG_H

#include <stddef.h>

#include "conn.h"
#include "event.h"

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
/* Whether two logs hold the same lines in the same order; on a
 * difference prints both and returns 0. */
int evlog_same(const struct evlog *a, const struct evlog *b);
/* The event names in order, space-separated, into out. */
void evlog_names(const struct evlog *l, char *out, size_t cap);

#endif
