/* What the parts of the tlstrace command share (shim/launcher.c and
 * shim/launch_*.c; none of them is in the library). */
#ifndef TT_LAUNCH_H
#define TT_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum {
	EXIT_USAGE = 2,
	EXIT_FAIL = 125, /* tlstrace itself failed, as env(1) */
	EXIT_CANNOT_RUN = 126,
	EXIT_NOT_FOUND = 127,
};

#define USAGE_LINE                                                                         \
	"usage: tlstrace [-o FILE] [-l LEVEL] [-f text|json] [-e EVENTS] [-k KEYLOG]\n"    \
	"                [-K|--no-keylog] [-w FILE] [--pcap FILE] [--] COMMAND [ARG...]\n" \
	"       tlstrace -p PID [-p PID...] [-o FILE] [-l LEVEL] [-f text|json]\n"         \
	"                [-e EVENTS] [-k KEYLOG] [-w FILE] [--pcap FILE] [--seccomp-ok]\n" \
	"       tlstrace --detach PID\n"

/* launch_common.c */
/* One stderr line, "tlstrace: " and the message, in one write(). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The synopsis on stderr, then exit with EXIT_USAGE. */
_Noreturn void usage_error(void);
/* path made absolute against the current directory (NULL: out of
 * memory); an empty one is a usage error of option -opt. */
char *absolute(const char *opt, const char *path);
/* A non-empty path made absolute, or NULL with errno set (no current
 * directory, out of memory). */
char *resolve(const char *path);
/* Sets name for COMMAND, or exits with EXIT_FAIL (value NULL: out of
 * memory). */
void set_env(const char *name, const char *value);
/* Whether -o's argument is one of the contract's sink names (stderr,
 * syslog, syslog:SOCKET) rather than a file. */
bool sink_name(const char *log);

/* launch_keys.c */
/* What becomes of COMMAND's private key log. */
enum keys_mode {
	KEYS_NONE, /* none is made */
	KEYS_TRY,  /* the default: made if it can be, else one line says why */
	KEYS_MUST, /* -K: made, or tlstrace fails */
};
/* Without -K: KEYS_TRY, or KEYS_NONE with --no-keylog (@no_keylog), -k
 * (@keylog), decryption off, or a key log the caller already named (a
 * relative SSLKEYLOGFILE is then named in TLSTRACE_KEYLOG made
 * absolute). */
enum keys_mode default_keys(int no_keylog, const char *keylog);
/* Makes the private key log and names it in SSLKEYLOGFILE and
 * TLSTRACE_KEYLOG; when it cannot, exits with EXIT_FAIL (KEYS_MUST) or
 * says why and leaves the environment as it was (KEYS_TRY). */
void make_keys(enum keys_mode mode);
/* Removes it, once (later calls do nothing). */
void remove_keys(void);
/* Once COMMAND runs: keeps the key log under its size cap (a thread that
 * empties it when it grows past it); nothing when none was made. */
void watch_keys(void);

/* launch_events.c */
/* -e: exits with EXIT_USAGE, saying why, unless list is a comma list of
 * event names. */
void check_events(const char *list);
/* The event names on f, comma-separated, in lines of at most width
 * columns indented by indent. */
void print_event_names(FILE *f, size_t indent, size_t width);

/* launch_elf.c */
/* Programs whose TLS tlstrace cannot see. */
enum unseen { UNSEEN_NO, UNSEEN_STATIC, UNSEEN_GO };
/* One stderr line when COMMAND is a program whose TLS cannot be seen. */
void warn_unseen(const char *name);
/* What the file at @path is (no `#!` script is followed): a statically
 * linked program, a Go program, or neither (also when it does not parse). */
enum unseen elf_unseen(const char *path);
/* Exactly @len bytes at @off of the file @fd of @size bytes (no size read
 * from the file is trusted: a range past its end fails); 0, or -1 when
 * they cannot all be read. */
int pread_exact(int fd, uint64_t size, void *buf, size_t len, uint64_t off);

/* launch_attach.c */
/* What tlstrace -p hands the library (NULL: not given; paths absolute). */
struct attach_opts {
	const char *lib;
	const char *log, *level, *format, *events;
	const char *keylog, *keylog_out, *pcap;
	bool seccomp_ok;
};
/* Attaches to each of pids, waits until interrupted or until none is
 * left, detaches, and exits: 0, or EXIT_FAIL when no process could be
 * attached or one could not be detached. */
_Noreturn void attach_run(const pid_t *pids, size_t n,
			  const struct attach_opts *o);
/* tlstrace --detach PID: exits 0 when detached, else EXIT_FAIL. */
_Noreturn void detach_run(pid_t pid, const struct attach_opts *o);

/* launch_run.c */
/* Runs cmd as tlstrace's child, forwarding signals, and leaves the way it
 * left; makes the private key log first, as @keys says. */
_Noreturn void run(char **cmd, enum keys_mode keys);

#endif
