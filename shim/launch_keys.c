/* COMMAND's private key log: made by default, with -K, not with
 * --no-keylog.
 *
 * TLS libraries other than OpenSSL (GnuTLS, NSS, rustls, and curl or
 * python over them) hand their secrets out only by writing the file named
 * in SSLKEYLOGFILE; the library reads that file (TLSTRACE_KEYLOG, default
 * $SSLKEYLOGFILE) as it grows.  So by default COMMAND gets a file of its
 * own: a directory made with mkdtemp in $TMPDIR (default /tmp), mode 0700,
 * and in it an empty `keylog`, mode 0600, created exclusively and without
 * following links, named in both SSLKEYLOGFILE and TLSTRACE_KEYLOG.  Both
 * are removed once COMMAND has ended, before tlstrace exits or re-raises
 * the signal that killed COMMAND, and on any error exit after they were
 * made.  Only these two names are removed: a directory COMMAND filled
 * with other files is left, with one line saying so.
 *
 * The default makes none when the library would not read it or reads
 * another file: --no-keylog, -k (the file named, made absolute in
 * shim/launcher.c), TLSTRACE_KEYLOG or a non-empty SSLKEYLOGFILE already
 * in the environment (left as they are: the library reads them), and
 * TLSTRACE_DECRYPT off.  When it cannot be made, one line says why and
 * COMMAND runs without it.  -K asks for it whatever the environment
 * says, so -K with -k or --no-keylog is a usage error, and when it cannot
 * be made tlstrace fails (EXIT_FAIL) without running COMMAND.
 *
 * The file is kept small while COMMAND runs: a server writes a few
 * hundred bytes of secrets per connection for as long as it lives, and
 * $TMPDIR may be memory (tmpfs).  A thread of tlstrace's looks at its
 * size every second and empties it past KEYS_CAP.  The library reads the
 * file when a record waits for a secret, within moments of the line
 * being written, and reads it again from the start when it finds it
 * shorter than where it left off; only a line written just before the
 * file is emptied and not yet read is lost, and with it the keys of one
 * handshake.  The secrets go off the disk with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

/* The private directory and the key log in it; NULL when not made or
 * already removed. */
static char *keys_dir, *keys_file;
/* The key log, open for emptying it (it stays valid once unlinked); -1
 * when none was made. */
static int keys_fd = -1;

/* Past this size the key log is emptied (the library reads at most the
 * last MiB of a key log it opens afresh). */
#define KEYS_CAP (8L * 1024 * 1024)

static void *trim_keys(void *arg)
{
	struct stat st;

	(void)arg;
	for (;;) {
		sleep(1);
		if (fstat(keys_fd, &st) == 0 && st.st_size > KEYS_CAP &&
		    ftruncate(keys_fd, 0) != 0)
			return NULL;
	}
}

void watch_keys(void)
{
	sigset_t all, old;
	pthread_t t;

	if (keys_fd < 0)
		return;
	/* Every signal is for the main thread (forwarding, stops). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, trim_keys, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* @name is in the environment, not empty. */
static int set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* TLSTRACE_DECRYPT's spellings of off (shim/config.c, parse_switch): the
 * library then takes no secrets, so a key log would only leave them on
 * disk for nothing. */
static int decrypt_off(void)
{
	static const char *const off[] = {"off", "0", "no", "false"};
	const char *v = getenv("TLSTRACE_DECRYPT");
	size_t i;

	for (i = 0; v && i < sizeof(off) / sizeof(off[0]); i++)
		if (strcmp(v, off[i]) == 0)
			return 1;
	return 0;
}

enum keys_mode default_keys(int no_keylog, const char *keylog)
{
	const char *own = getenv("SSLKEYLOGFILE");

	if (no_keylog || keylog || decrypt_off() || set("TLSTRACE_KEYLOG"))
		return KEYS_NONE;
	if (!own || !*own)
		return KEYS_TRY;
	/* The caller's own key log, left as it is: its TLS libraries write
	 * there, and the library reads it (TLSTRACE_KEYLOG's default).  A
	 * relative one is named made absolute, as -k's is, since the
	 * library reopens it later, perhaps after COMMAND's chdir; if the
	 * current directory is gone, the library resolves it alone. */
	if (*own != '/') {
		char *abs = resolve(own);

		if (abs)
			set_env("TLSTRACE_KEYLOG", abs);
		free(abs);
	}
	return KEYS_NONE;
}

/* Removes the key log and its directory, once (later calls do nothing).
 * Registered with atexit in the launcher; COMMAND's process ends by exec
 * or _exit, which do not run it. */
void remove_keys(void)
{
	if (keys_file) {
		if (unlink(keys_file) != 0 && errno != ENOENT)
			say("key log %s left behind: %s", keys_file,
			    strerror(errno));
		free(keys_file);
		keys_file = NULL;
	}
	if (keys_dir) {
		if (rmdir(keys_dir) != 0 && errno != ENOENT)
			say("key log directory %s left behind: %s", keys_dir,
			    strerror(errno));
		free(keys_dir);
		keys_dir = NULL;
	}
}

/* The key log cannot be made, for the reason @fmt says.  -K: exit, the
 * atexit handler removing what was made.  The default: remove it now,
 * say so in one line, and let COMMAND run without it. */
static void give_up(enum keys_mode mode, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void give_up(enum keys_mode mode, const char *fmt, ...)
{
	char why[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (mode == KEYS_MUST) {
		say("-K: %s", why);
		exit(EXIT_FAIL);
	}
	remove_keys();
	say("no private key log: %s; COMMAND runs without one", why);
}

/* Makes $TMPDIR/tlstrace-keys.XXXXXX/keylog (0700, 0600, empty) and
 * names it in SSLKEYLOGFILE and TLSTRACE_KEYLOG. */
void make_keys(enum keys_mode mode)
{
	const char *tmpdir = getenv("TMPDIR");
	char *base;
	size_t len;
	int fd, e;

	if (mode == KEYS_NONE)
		return;
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	/* Absolute: COMMAND may chdir before it opens the file. */
	errno = 0;
	base = resolve(tmpdir);
	if (!base) {
		give_up(mode, "TMPDIR %s: %s", tmpdir,
			strerror(errno ? errno : ENOMEM));
		return;
	}
	len = strlen(base);
	while (len > 1 && base[len - 1] == '/')
		base[--len] = '\0';
	if (asprintf(&keys_dir, "%s%stlstrace-keys.XXXXXX", base,
		     len > 1 ? "/" : "") < 0) {
		keys_dir = NULL;
		free(base);
		goto oom;
	}
	if (!mkdtemp(keys_dir)) {
		e = errno;
		free(keys_dir);
		keys_dir = NULL;
		give_up(mode, "cannot create a directory in %s: %s", base,
			strerror(e));
		free(base);
		return;
	}
	free(base);
	atexit(remove_keys);
	/* Exact modes, whatever the umask took away. */
	if (chmod(keys_dir, 0700) != 0) {
		give_up(mode, "%s: %s", keys_dir, strerror(errno));
		return;
	}
	if (asprintf(&keys_file, "%s/keylog", keys_dir) < 0) {
		keys_file = NULL;
		goto oom;
	}
	fd = open(keys_file,
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		/* Not ours to unlink. */
		free(keys_file);
		keys_file = NULL;
		give_up(mode, "cannot create %s/keylog: %s", keys_dir,
			strerror(e));
		return;
	}
	if (fchmod(fd, 0600) != 0) {
		e = errno;
		close(fd);
		give_up(mode, "%s: %s", keys_file, strerror(e));
		return;
	}
	keys_fd = fd; /* close-on-exec: COMMAND does not inherit it */
	/* Without -K neither variable names a file (default_keys): with
	 * both unset the library reads no key log, as it would have. */
	if (setenv("SSLKEYLOGFILE", keys_file, 1) != 0 ||
	    setenv("TLSTRACE_KEYLOG", keys_file, 1) != 0) {
		e = errno;
		unsetenv("SSLKEYLOGFILE");
		unsetenv("TLSTRACE_KEYLOG");
		give_up(mode,
			"cannot set SSLKEYLOGFILE and TLSTRACE_KEYLOG: %s",
			strerror(e));
	}
	return;
oom:
	give_up(mode, "out of memory");
}
