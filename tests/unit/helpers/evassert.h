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

#endif
