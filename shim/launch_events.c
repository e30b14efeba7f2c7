/* -e EVENTS: the launcher checks the list itself, as it does -l and -f,
 * so that a misspelt name is a usage error before COMMAND runs rather
 * than a line on stderr from every process it starts.  The names come
 * from the tables the library's own check reads (decoder/base/tables/
 * event.def and handshake.def) and the list is split as the library
 * splits it (tt_list_next), so both accept the same lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "launch.h"

#define NAME_(id, name)	      name,
#define HS_NAME_(v, id, name) name,
static const char *names[] = {TT_EVENT_NAMES(NAME_)
				      TT_HANDSHAKE_TYPES(HS_NAME_)};
#undef NAME_
#undef HS_NAME_
#define NNAMES (sizeof(names) / sizeof(names[0]))

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in the order they are shown. */
static void sort_names(void)
{
	static int sorted;

	if (!sorted)
		qsort(names, NNAMES, sizeof(names[0]), by_name);
	sorted = 1;
}

static int known(const char *s, size_t n)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strncmp(names[i], s, n) == 0 && names[i][n] == '\0')
			return 1;
	return 0;
}

void print_event_names(FILE *f, size_t indent, size_t width)
{
	size_t col = 0;

	sort_names();
	for (size_t i = 0; i < NNAMES; i++) {
		int last = i + 1 == NNAMES;
		size_t len = strlen(names[i]) + (last ? 0 : 1);

		if (col == 0 || col + 1 + len > width) {
			fprintf(f, "%s%*s", col ? "\n" : "", (int)indent, "");
			col = indent;
		} else {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%s%s", names[i], last ? "" : ",");
		col += len;
	}
	fputc('\n', f);
}

void check_events(const char *list)
{
	char bad[160], all[NNAMES * 32];
	size_t o = 0, n, nbad = 0, ngood = 0;
	int cut = 0;
	const char *p = list;

	bad[0] = '\0';
	for (const char *s; (s = tt_list_next(&p, &n));) {
		if (known(s, n)) {
			ngood++;
			continue;
		}
		/* each shown up to 40 bytes, as many as fit */
		if (!cut && o + 2 + 43 + 5 < sizeof(bad))
			o += (size_t)snprintf(bad + o, sizeof(bad) - o,
					      "%s%.*s%s", nbad ? ", " : "",
					      (int)(n < 40 ? n : 40), s,
					      n > 40 ? "..." : "");
		else if (!cut++)
			o += (size_t)snprintf(bad + o, sizeof(bad) - o,
					      ", ...");
		nbad++;
	}
	if (nbad) {
		sort_names();
		o = 0;
		for (size_t i = 0; i < NNAMES; i++)
			o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s",
					      i ? ", " : "", names[i]);
		say("-e: unknown event name%s %s; EVENTS is a comma list of: %s",
		    nbad > 1 ? "s" : "", bad, all);
		usage_error();
	}
	if (!ngood) {
		say("-e '%s': EVENTS names no event", list);
		usage_error();
	}
}
