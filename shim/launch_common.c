/* What every part of the tlstrace command uses: its messages, the
 * usage error, file names made absolute, the environment set for
 * COMMAND. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch.h"

void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	/* One write(), so that the line is not split by COMMAND's output
	 * (the exec failure is reported from the child). */
	n = snprintf(line, sizeof(line), "tlstrace: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to complain. */
	}
}

/* The error above it stays visible: the synopsis only, not the help. */
_Noreturn void usage_error(void)
{
	fputs(USAGE_LINE "Try 'tlstrace --help' for more information.\n",
	      stderr);
	exit(EXIT_USAGE);
}

/* @path made absolute against the current directory, so that the file
 * the library opens does not depend on where in the process tree (after
 * which chdir) it is loaded.  Nothing else is touched: "%p" stays for the
 * library, and the file need not exist yet. */
char *resolve(const char *path)
{
	char *cwd, *abs;

	if (*path == '/')
		return strdup(path);
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (*path == '/')
			path++;
	}
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&abs, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
		     *path ? path : ".") < 0) {
		abs = NULL;
		errno = ENOMEM;
	}
	free(cwd);
	return abs;
}

char *absolute(const char *opt, const char *path)
{
	char *abs;

	if (*path == '\0') {
		say("-%s: empty file name", opt);
		usage_error();
	}
	errno = 0;
	abs = resolve(path);
	if (!abs && errno != ENOMEM) {
		say("-%s %s: cannot resolve against the current directory: %s",
		    opt, path, strerror(errno));
		exit(EXIT_FAIL);
	}
	return abs;
}

void set_env(const char *name, const char *value)
{
	if (!value || setenv(name, value, 1) != 0) {
		say("cannot set %s: %s", name,
		    strerror(errno ? errno : ENOMEM));
		exit(EXIT_FAIL);
	}
}

bool sink_name(const char *log)
{
	return strcmp(log, "stderr") == 0 || strcmp(log, "syslog") == 0 ||
	       strncmp(log, "syslog:", 7) == 0;
}
