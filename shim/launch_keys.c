/* -K: a private key log for COMMAND.
 *
 * -k and -w only name files for the library (TLSTRACE_KEYLOG,
 * TLSTRACE_KEYLOG_OUT), made absolute (shim/launcher.c).  -K makes the
 * file: a directory of its own, made with mkdtemp in $TMPDIR (default
 * /tmp), mode 0700, and in it an empty `keylog`, mode 0600, created
 * exclusively and without following links; it is named in both
 * SSLKEYLOGFILE (where TLS libraries write their secrets) and
 * TLSTRACE_KEYLOG (where the library reads them), so -K with -k is a usage
 * error.  Both are removed once COMMAND has ended, before tlstrace exits
 * or re-raises the signal that killed COMMAND, and on any error exit after
 * they were made.  Only these two names are removed: a directory COMMAND
 * filled with other files is left, with one line saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

/* -K: the private directory and the key log in it; NULL when not made
 * or already removed. */
static char *keys_dir, *keys_file;

/* Removes the key log and its directory, once (later calls do nothing).
 * Registered with atexit in the launcher; COMMAND's process ends by exec
 * or _exit, which do not run it. */
void remove_keys(void)
{
	if (keys_file) {
		if (unlink(keys_file) != 0 && errno != ENOENT)
			say("-K: %s left behind: %s", keys_file,
			    strerror(errno));
		free(keys_file);
		keys_file = NULL;
	}
	if (keys_dir) {
		if (rmdir(keys_dir) != 0 && errno != ENOENT)
			say("-K: %s left behind: %s", keys_dir,
			    strerror(errno));
		free(keys_dir);
		keys_dir = NULL;
	}
}

/* Makes $TMPDIR/tlstrace-keys.XXXXXX/keylog (0700, 0600, empty) and
 * names it in SSLKEYLOGFILE and TLSTRACE_KEYLOG.  Exits with EXIT_FAIL,
 * having removed whatever it made, when it cannot. */
void make_keys(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char *base;
	size_t len;
	int fd, e;

	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	/* Absolute: COMMAND may chdir before it opens the file. */
	base = absolute("K", tmpdir);
	if (!base)
		goto oom;
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
		say("-K: cannot create a directory in %s: %s", base,
		    strerror(e));
		free(base);
		exit(EXIT_FAIL);
	}
	free(base);
	atexit(remove_keys);
	/* Exact modes, whatever the umask took away. */
	if (chmod(keys_dir, 0700) != 0) {
		say("-K: %s: %s", keys_dir, strerror(errno));
		exit(EXIT_FAIL);
	}
	if (asprintf(&keys_file, "%s/keylog", keys_dir) < 0) {
		keys_file = NULL;
		goto oom;
	}
	fd = open(keys_file,
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		say("-K: cannot create %s: %s", keys_file, strerror(e));
		/* Not ours to unlink. */
		free(keys_file);
		keys_file = NULL;
		exit(EXIT_FAIL);
	}
	if (fchmod(fd, 0600) != 0) {
		say("-K: %s: %s", keys_file, strerror(errno));
		close(fd);
		exit(EXIT_FAIL);
	}
	close(fd);
	set_env("SSLKEYLOGFILE", keys_file);
	set_env("TLSTRACE_KEYLOG", keys_file);
	return;
oom:
	say("-K: out of memory");
	exit(EXIT_FAIL);
}
