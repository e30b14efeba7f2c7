/* tlstrace: run a command with libtlstrace.so preloaded.
 *
 *   tlstrace [-o FILE] [-l LEVEL] [-f text|json] [-e EVENTS] [-k KEYLOG]
 *            [-K|--no-keylog] [-w FILE] [--pcap FILE] [--] COMMAND [ARG...]
 *
 * The launcher only translates options into the environment the library
 * reads (DESIGN.md, "Contract"), gives COMMAND a private key log by
 * default (SSLKEYLOGFILE, for the TLS libraries that hand out their
 * secrets only that way; -K insists on it, --no-keylog turns it off),
 * then stays around as COMMAND's parent so that whoever started tlstrace
 * sees COMMAND's fate: the same exit status, the same death by signal,
 * the same job-control stops.  It must not change anything else COMMAND
 * inherits: fds, signal mask and dispositions, rlimits, cwd, umask are
 * passed on untouched.
 *
 * Its parts: this file reads the options and sets the environment;
 * launch_run.c runs COMMAND and follows its signals, stops and death;
 * launch_keys.c decides on, makes and removes the private key log;
 * launch_events.c checks -e's event names; launch_elf.c warns about a
 * COMMAND whose TLS cannot be seen; launch_common.c has what they all
 * use.
 *
 * With -p PID it runs nothing: launch_attach.c attaches to PID, a
 * process that is already running, and detaches when interrupted.
 *
 * Exit statuses of tlstrace's own: 2 for a usage error, 125 when it fails
 * (no library, -K cannot make its key log, fork failed), 126 when COMMAND
 * cannot be executed, 127 when it is not found (as env(1) and shells do).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "version.h"

#define LIB_NAME "libtlstrace.so"
/* From bin/ to lib/tlstrace/ in the `make install` layout. */
#define LIB_INSTALLED "/../lib/tlstrace/" LIB_NAME

static void usage(void)
{
	fputs(USAGE_LINE
	      "\n"
	      "Run COMMAND with libtlstrace.so preloaded and log its TLS handshakes.\n"
	      "\n"
	      "  -o FILE    log to FILE (%p becomes the pid), or to \"stderr\" or \"syslog\"\n"
	      "             or \"syslog:SOCKET\" (TLSTRACE_LOG; default stderr)\n"
	      "  -l LEVEL   error, warn, info, debug or trace (TLSTRACE_LEVEL; default info)\n"
	      "  -f FORMAT  text, or json for JSON Lines (TLSTRACE_FORMAT; default text)\n"
	      "  -e EVENTS  write only these events, a comma list of their names such as\n"
	      "             summary,diagnosis,certificate_request,alert (TLSTRACE_EVENTS;\n"
	      "             default all); the others are still decoded.  The names:\n",
	      stdout);
	print_event_names(stdout, 13, 78);
	fputs("  -k KEYLOG  read TLS secrets from this NSS key log file (TLSTRACE_KEYLOG;\n"
	      "             default $SSLKEYLOGFILE)\n"
	      "  -K         give COMMAND a private key log (SSLKEYLOGFILE) and read it;\n"
	      "             removed when COMMAND ends.  The default, unless -k is given,\n"
	      "             SSLKEYLOGFILE or TLSTRACE_KEYLOG is set (that file is read),\n"
	      "             or TLSTRACE_DECRYPT is off; if the default one cannot be\n"
	      "             made, COMMAND runs without it (with -K, tlstrace fails)\n"
	      "  --no-keylog\n"
	      "             no private key log; an SSLKEYLOGFILE already set is passed on\n"
	      "  -w FILE    also write captured secrets to FILE in NSS key log format\n"
	      "             (0600), for Wireshark (TLSTRACE_KEYLOG_OUT)\n"
	      "  --pcap FILE\n"
	      "             write each TLS connection's bytes to FILE (%p becomes the\n"
	      "             pid) as a pcapng capture that carries its own secrets:\n"
	      "             Wireshark and tshark decrypt it with no key file\n"
	      "             (TLSTRACE_PCAP)\n"
	      "  -p PID     attach to the running process PID instead (repeat for\n"
	      "             several) and trace it until interrupted, then detach;\n"
	      "             the -o file is opened by tlstrace, the -k, -w and --pcap\n"
	      "             files by that process\n"
	      "  --detach PID\n"
	      "             detach the tlstrace attached to PID (from elsewhere)\n"
	      "  --seccomp-ok\n"
	      "             attach to a process that runs under a seccomp filter\n"
	      "  -h, --help print this help\n"
	      "  --version  print the version\n"
	      "\n"
	      "TLSTRACE_LIB, if set, is the library to preload.  The exit status is\n"
	      "COMMAND's (a COMMAND killed by a signal kills tlstrace with the same\n"
	      "signal); 2: usage error, 125: tlstrace failed, 126: COMMAND cannot be\n"
	      "run, 127: COMMAND not found.\n",
	      stdout);
}

static int one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Canonical path of @path if it names a regular file, else NULL.  The
 * result goes into LD_PRELOAD, which must not depend on the cwd of
 * whatever process in the tree loads it. */
static char *lib_at(const char *path)
{
	char *abs = realpath(path, NULL);

	if (abs && !is_regular(abs)) {
		free(abs);
		abs = NULL;
	}
	return abs;
}

/* Directory of the running executable, without the trailing slash. */
static char *exe_dir(const char *argv0)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *dir, *slash;

	if (n > 0) {
		buf[n] = '\0';
		dir = strdup(buf);
	} else if (strchr(argv0, '/')) {
		/* No /proc: argv[0] is the next best witness. */
		dir = realpath(argv0, NULL);
	} else {
		return NULL;
	}
	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		return NULL;
	}
	*slash = '\0';
	return dir;
}

static char *find_lib(const char *argv0)
{
	const char *env = getenv("TLSTRACE_LIB");
	char *dir, *lib, *cand;

	if (env && *env) {
		/* An explicit choice is never silently replaced by another. */
		lib = realpath(env, NULL);
		if (!lib) {
			say("TLSTRACE_LIB=%s: %s", env, strerror(errno));
			exit(EXIT_FAIL);
		}
		if (!is_regular(lib)) {
			say("TLSTRACE_LIB=%s: not a regular file", env);
			exit(EXIT_FAIL);
		}
		return lib;
	}

	dir = exe_dir(argv0);
	if (!dir) {
		say("cannot tell where the tlstrace executable is (no /proc?); "
		    "set TLSTRACE_LIB to the path of " LIB_NAME);
		exit(EXIT_FAIL);
	}
	/* Next to the executable: build/.  Then the installed layout. */
	if (asprintf(&cand, "%s/" LIB_NAME, dir) < 0)
		goto oom;
	lib = lib_at(cand);
	free(cand);
	if (!lib) {
		if (asprintf(&cand, "%s" LIB_INSTALLED, dir) < 0)
			goto oom;
		lib = lib_at(cand);
		free(cand);
	}
	if (!lib) {
		say("cannot find " LIB_NAME " in %s/ or %s/../lib/tlstrace/; "
		    "set TLSTRACE_LIB to its path",
		    dir, dir);
		exit(EXIT_FAIL);
	}
	free(dir);
	return lib;
oom:
	say("out of memory");
	exit(EXIT_FAIL);
}

static void set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;

	/* ld.so splits LD_PRELOAD on spaces and colons: such a path cannot
	 * be carried at all, and would preload something else. */
	if (strpbrk(lib, " :")) {
		say("%s: a path holding ' ' or ':' cannot go into LD_PRELOAD; "
		    "move the library or set TLSTRACE_LIB to a link to it",
		    lib);
		exit(EXIT_FAIL);
	}
	/* First, so our hooks sit in front of any other preloaded library;
	 * the old list is kept verbatim, whatever its separators. */
	if (old && *old) {
		if (asprintf(&val, "%s:%s", lib, old) < 0)
			val = NULL;
	} else {
		val = strdup(lib);
	}
	set_env("LD_PRELOAD", val);
	free(val);
}

/* A process id given to option opt, or a usage error. */
static pid_t pid_arg(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX) {
		say("%s %s: PID is a process id", opt, s);
		usage_error();
	}
	return (pid_t)v;
}

int main(int argc, char **argv)
{
	static const char *const levels[] = {
		"error", "warn", "info", "debug", "trace", NULL,
	};
	static const char *const formats[] = {"text", "json", NULL};
	enum { OPT_NO_KEYLOG = 256, OPT_PCAP, OPT_DETACH, OPT_SECCOMP_OK };
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"no-keylog", no_argument, NULL, OPT_NO_KEYLOG},
		{"pcap", required_argument, NULL, OPT_PCAP},
		{"detach", required_argument, NULL, OPT_DETACH},
		{"seccomp-ok", no_argument, NULL, OPT_SECCOMP_OK},
		{NULL, 0, NULL, 0},
	};
	pid_t *pids = NULL, detach_pid = 0;
	size_t npids = 0;
	int seccomp_ok = 0;
	const char *log = NULL, *level = NULL, *format = NULL, *keylog = NULL;
	const char *keylog_out = NULL, *events = NULL, *pcap = NULL;
	int private_keys = 0, no_keylog = 0;
	enum keys_mode keys;
	char *lib, *v;
	int c;

	/* '+': COMMAND's own options are not ours (`tlstrace curl -v`).
	 * ':': we word the errors ourselves. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:l:f:e:k:Kw:p:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'o':
			log = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'e':
			events = optarg;
			break;
		case 'k':
			keylog = optarg;
			break;
		case 'K':
			private_keys = 1;
			break;
		case OPT_NO_KEYLOG:
			no_keylog = 1;
			break;
		case 'w':
			keylog_out = optarg;
			break;
		case OPT_PCAP:
			pcap = optarg;
			break;
		case 'p':
			pids = realloc(pids, (npids + 1) * sizeof(*pids));
			if (!pids) {
				say("out of memory");
				exit(EXIT_FAIL);
			}
			pids[npids++] = pid_arg("-p", optarg);
			break;
		case OPT_DETACH:
			detach_pid = pid_arg("--detach", optarg);
			break;
		case OPT_SECCOMP_OK:
			seccomp_ok = 1;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("tlstrace " TT_VERSION "\n");
			return 0;
		case ':':
			say("option %s needs an argument", argv[optind - 1]);
			usage_error();
		default:
			if (optopt)
				say("unknown option -%c", optopt);
			else
				say("unknown option %s", argv[optind - 1]);
			usage_error();
		}
	}
	if ((npids || detach_pid) && optind < argc) {
		say("-p and --detach take no COMMAND: they trace a process "
		    "that is running");
		usage_error();
	}
	if (npids && detach_pid) {
		say("-p and --detach cannot be used together");
		usage_error();
	}
	if ((npids || detach_pid) && (private_keys || no_keylog)) {
		say("-K and --no-keylog are for a COMMAND tlstrace starts: a "
		    "running process's environment cannot be changed");
		usage_error();
	}
	if (seccomp_ok && !npids && !detach_pid) {
		say("--seccomp-ok goes with -p or --detach");
		usage_error();
	}
	if (optind >= argc && !npids && !detach_pid) {
		say("no COMMAND given");
		usage_error();
	}
	if (level && !one_of(level, levels)) {
		say("-l %s: LEVEL is one of error, warn, info, debug, trace",
		    level);
		usage_error();
	}
	if (format && !one_of(format, formats)) {
		say("-f %s: FORMAT is text or json", format);
		usage_error();
	}
	if (events)
		check_events(events);
	if (private_keys && keylog) {
		say("-K and -k cannot be used together: "
		    "-K makes the key log to read");
		usage_error();
	}
	if (private_keys && no_keylog) {
		say("-K and --no-keylog cannot be used together: "
		    "one asks for the key log, the other turns it off");
		usage_error();
	}

	lib = find_lib(argv[0]);
	if (npids || detach_pid) {
		struct attach_opts ao = {
			.lib = lib,
			.level = level,
			.format = format,
			.events = events,
			.seccomp_ok = seccomp_ok,
		};
		/* paths are opened by the process, whatever its directory */
		if (log)
			ao.log = sink_name(log) ? log : absolute("o", log);
		if (keylog)
			ao.keylog = absolute("k", keylog);
		if (keylog_out)
			ao.keylog_out = absolute("w", keylog_out);
		if (pcap)
			ao.pcap = absolute("-pcap", pcap);
		if (detach_pid)
			detach_run(detach_pid, &ao);
		attach_run(pids, npids, &ao);
	}
	set_preload(lib);
	free(lib);
	if (log) {
		/* The sink names of the contract are not file names. */
		if (sink_name(log)) {
			set_env("TLSTRACE_LOG", log);
		} else {
			v = absolute("o", log);
			set_env("TLSTRACE_LOG", v);
			free(v);
		}
	}
	if (level)
		set_env("TLSTRACE_LEVEL", level);
	if (format)
		set_env("TLSTRACE_FORMAT", format);
	if (events)
		set_env("TLSTRACE_EVENTS", events);
	if (keylog) {
		v = absolute("k", keylog);
		set_env("TLSTRACE_KEYLOG", v);
		free(v);
	}
	if (keylog_out) {
		v = absolute("w", keylog_out);
		set_env("TLSTRACE_KEYLOG_OUT", v);
		free(v);
	}
	if (pcap) {
		v = absolute("-pcap", pcap);
		set_env("TLSTRACE_PCAP", v);
		free(v);
	}
	keys = private_keys ? KEYS_MUST : default_keys(no_keylog, keylog);
	warn_unseen(argv[optind]);
	run(argv + optind, keys);
}
