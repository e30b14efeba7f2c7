/* Test helpers: checks on the lines of an evlog that fail the cmocka test
 * showing the line.  Include after <cmocka.h>. */
#ifndef EVASSERT_H
#define EVASSERT_H

#include <stdio.h>
#include <string.h>

#include "evlog.h"

/* Fails unless there is a line and it contains what. */
static inline void assert_has(const char *line, const char *what)
{
	if (!line || !strstr(line, what)) {
		fprintf(stderr, "want %s\n in  %s\n", what,
			line ? line : "(no line)");
		fail();
	}
}

/* Fails if there is a line and it contains what. */
static inline void assert_lacks(const char *line, const char *what)
{
	if (line && strstr(line, what)) {
		fprintf(stderr, "do not want %s\n in  %s\n", what, line);
		fail();
	}
}

/* Fails unless the event names of l, in order and space-separated,
 * are want; shows every line when they are not. */
static inline void assert_names(const struct evlog *l, const char *want)
{
	char names[4096];
	evlog_names(l, names, sizeof(names));
	if (strcmp(names, want) != 0) {
		evlog_dump(l);
		assert_string_equal(names, want);
	}
}

#endif
