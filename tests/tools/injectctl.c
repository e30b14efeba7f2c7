/* Drives the injector of tlstrace -p (shim/inject.c) for
 * tests/integration/test_inject.py:
 *
 *   injectctl [--seccomp-ok] check PID LIB
 *       "ok", or "loaded: WHY" (LIB is mapped there already; exit 3)
 *   injectctl [--seccomp-ok] load PID LIB BLOCKTEXT
 *       dlopen LIB unless mapped, then tlstrace_attach(BLOCKTEXT)
 *   injectctl [--seccomp-ok] call PID LIB FUNC
 *       FUNC() of a LIB mapped there already
 *       both print "ret N stop_us M"
 *   injectctl peek PID LIB SYM LEN
 *       the LEN bytes of SYM in hex
 *
 * A refusal or failure: "injectctl: WHY" on stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"

static int usage(void)
{
	fputs("usage: injectctl [--seccomp-ok] check PID LIB\n"
	      "       injectctl [--seccomp-ok] load PID LIB BLOCKTEXT\n"
	      "       injectctl [--seccomp-ok] call PID LIB FUNC\n"
	      "       injectctl peek PID LIB SYM LEN\n",
	      stderr);
	return 2;
}

static int refused(const char *why)
{
	fprintf(stderr, "injectctl: %s\n", why);
	return 1;
}

int main(int argc, char **argv)
{
	char why[1024];
	int flags = 0, i = 1, r;
	long ret, stop_us;
	pid_t pid;

	if (i < argc && strcmp(argv[i], "--seccomp-ok") == 0) {
		flags |= INJECT_SECCOMP_OK;
		i++;
	}
	if (argc - i < 3)
		return usage();
	pid = (pid_t)atoi(argv[i + 1]);
	if (strcmp(argv[i], "check") == 0 && argc - i == 3) {
		r = inject_check(pid, argv[i + 2], flags, why, sizeof(why));
		if (r < 0)
			return refused(why);
		if (r == 1) {
			printf("loaded: %s\n", why);
			return 3;
		}
		puts("ok");
		return 0;
	}
	if ((strcmp(argv[i], "load") == 0 || strcmp(argv[i], "call") == 0) &&
	    argc - i == 4) {
		int load = argv[i][0] == 'l';
		const char *text = argv[i + 3];

		r = inject_call(pid, argv[i + 2],
				load ? "tlstrace_attach" : argv[i + 3],
				load ? text : NULL, load ? strlen(text) : 0,
				flags | (load ? INJECT_LOAD : 0), &ret,
				&stop_us, why, sizeof(why));
		if (r != 0)
			return refused(why);
		printf("ret %ld stop_us %ld\n", ret, stop_us);
		return 0;
	}
	if (strcmp(argv[i], "peek") == 0 && argc - i == 5) {
		size_t len = (size_t)atol(argv[i + 4]), k;
		unsigned char *buf = calloc(1, len ? len : 1);

		if (!buf || len > 4096)
			return usage();
		if (inject_peek(pid, argv[i + 2], argv[i + 3], buf, len, why,
				sizeof(why)) != 0) {
			free(buf);
			return refused(why);
		}
		for (k = 0; k < len; k++)
			printf("%02x", buf[k]);
		putchar('\n');
		free(buf);
		return 0;
	}
	return usage();
}
