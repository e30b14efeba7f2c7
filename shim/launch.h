/* What the parts of the tlstrace command share (shim/launcher.c and
 * shim/launch_*.c; none of them is in the library). */
#ifndef TT_LAUNCH_H
#define TT_LAUNCH_H

#include <stddef.h>
#include <stdio.h>

enum {
	EXIT_USAGE = 2,
	EXIT_FAIL = 125, /* tlstrace itself failed, as env(1) */
	EXIT_CANNOT_RUN = 126,
	EXIT_NOT_FOUND = 127,
};

#define USAGE_LINE                                                                      \
	"usage: tlstrace [-o FILE] [-l LEVEL] [-f text|json] [-e EVENTS] [-k KEYLOG]\n" \
	"                [-K] [-w FILE] [--] COMMAND [ARG...]\n"

/* launch_common.c */
/* One stderr line, "tlstrace: " and the message, in one write(). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The synopsis on stderr, then exit with EXIT_USAGE. */
_Noreturn void usage_error(void);
/* path made absolute against the current directory (NULL: out of
 * memory); an empty one is a usage error of option -opt. */
char *absolute(const char *opt, const char *path);
/* Sets name for COMMAND, or exits with EXIT_FAIL (value NULL: out of
 * memory). */
void set_env(const char *name, const char *value);

/* launch_keys.c */
/* -K: makes the private key log and names it in SSLKEYLOGFILE and
 * TLSTRACE_KEYLOG, or exits with EXIT_FAIL. */
void make_keys(void);
/* Removes it, once (later calls do nothing). */
void remove_keys(void);

/* launch_events.c */
/* -e: exits with EXIT_USAGE, saying why, unless list is a comma list of
 * event names. */
void check_events(const char *list);
/* The event names on f, comma-separated, in lines of at most width
 * columns indented by indent. */
void print_event_names(FILE *f, size_t indent, size_t width);

/* launch_elf.c */
/* One stderr line when COMMAND is a program whose TLS cannot be seen. */
void warn_unseen(const char *name);

/* launch_run.c */
/* Runs cmd as tlstrace's child, forwarding signals, and leaves the way it
 * left; with private_keys (-K), makes the key log first. */
_Noreturn void run(char **cmd, int private_keys);

#endif
