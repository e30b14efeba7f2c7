/* Text and JSON Lines renderings of an event (docs/log-format.md). */
#ifndef TT_FORMAT_H
#define TT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "event.h"

/* What the shim knows about the line beyond the event itself. */
struct tt_line_ctx {
	long pid, tid;
	unsigned long long conn;
	int fd;
	const char *local, *peer; /* "127.0.0.1:443", "[::1]:443" */
	const char *role;	  /* client, server, unknown */
	bool show_addrs;	  /* text: local= and peer= on this line */
};

#define TT_LINE_MIN 512

/* Renders one line, newline included, into buf (cap >= TT_LINE_MIN).
 * Fields above max are left out.  A line that would not fit is cut at a
 * field boundary and marked truncated, so JSON stays valid.  Returns the
 * length. */
size_t tt_format_line(enum tt_format fmt, char *buf, size_t cap,
		      const struct tt_event *ev, const struct tt_line_ctx *ctx,
		      enum tt_level max, const struct timespec *ts);

#endif
