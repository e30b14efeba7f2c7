/* tlstrace: run a command with libtlstrace.so preloaded.
 *
 *   tlstrace [-o FILE] [-l LEVEL] [-f text|json] [-k KEYLOG] [-K] [-w FILE]
 *            [--] COMMAND [ARG...]
 *
 * The launcher only translates options into the environment the library
 * reads (DESIGN.md, "Contract"), then stays around as COMMAND's parent so
 * that whoever started tlstrace sees COMMAND's fate: the same exit status,
 * the same death by signal, the same job-control stops.  It must not
 * change anything else COMMAND inherits: fds, signal mask and
 * dispositions, rlimits, cwd, umask are passed on untouched.
 *
 * Signals (what a wrapper must do so that job control keeps working):
 *
 * - Forwarded to COMMAND: the catchable signals whose default is to
 *   terminate and that someone outside may send (HUP INT QUIT TERM USR1
 *   USR2 ALRM VTALRM PROF PWR and the real-time ones, with their sigqueue
 *   value), plus WINCH, CONT, TSTP, TTIN and TTOU.  Without this a
 *   `kill PID` or a `timeout` aimed at tlstrace would leave COMMAND running
 *   without its parent.  This includes a SIGALRM from a timer armed before
 *   exec'ing tlstrace (timers survive execve, not fork).
 * - Not forwarded, because COMMAND already got its own copy: signals the
 *   terminal (or the kernel, for an orphaned process group) sends to the
 *   whole foreground process group (si_code SI_KERNEL: ^C, ^\, ^Z, window
 *   resize, hangup) while COMMAND is still in our process group; and
 *   signals COMMAND itself sent (kill(0, sig), kill(getppid(), sig)), so
 *   they are not bounced back at it.  A signal another process sends to
 *   the whole group reaches COMMAND twice; for the signals above a second
 *   copy is harmless (standard signals do not queue).
 * - Stops: tlstrace never stops on its own (TSTP, TTIN, TTOU are caught
 *   and forwarded like the others); it stops when COMMAND stops, with the
 *   same signal, so a shell sees the job stopped exactly when COMMAND is,
 *   and a COMMAND that ignores ^Z keeps tlstrace running too.  `fg`/`bg`
 *   continue the whole process group; a SIGCONT sent to tlstrace alone is
 *   forwarded.  SIGSTOP sent to tlstrace alone stops only tlstrace (it
 *   cannot be caught).
 * - Signals ignored when tlstrace starts (nohup, `cmd &` in a script) stay
 *   ignored in tlstrace and in COMMAND.
 * - SIGPIPE, the fault signals (SEGV BUS FPE ILL TRAP SYS ABRT) and
 *   XCPU/XFSZ concern tlstrace's own execution and are left alone.
 *
 * Death by signal: tlstrace re-raises the signal on itself with its
 * default action, so the shell reports the same death (143 for SIGTERM).
 * It first makes itself non-dumpable: a second core file, of the
 * launcher, would overwrite COMMAND's own `core` (so a shell shows no
 * "(core dumped)" for tlstrace, the one difference).
 *
 * Key logs: -k and -w only name files for the library (TLSTRACE_KEYLOG,
 * TLSTRACE_KEYLOG_OUT), made absolute.  -K makes the file: a directory
 * of its own, made with mkdtemp in $TMPDIR (default /tmp), mode 0700, and
 * in it an empty `keylog`, mode 0600, created exclusively and without
 * following links; it is named in both SSLKEYLOGFILE (where TLS libraries
 * write their secrets) and TLSTRACE_KEYLOG (where the library reads
 * them), so -K with -k is a usage error.  Both are removed once COMMAND
 * has ended, before tlstrace exits or re-raises the signal that killed
 * COMMAND, and on any error exit after they were made.  Only these two
 * names are removed: a directory COMMAND filled with other files is
 * left, with one line saying so.
 *
 * Fds: tlstrace keeps its copies of the fds it inherited until COMMAND
 * exits, so a pipe end COMMAND closes early reads as closed only then.
 * Closing them would be worse: it would drop the POSIX locks a
 * chain-loader took before exec'ing tlstrace (fcntl locks belong to the
 * pid, and fork does not pass them on).
 *
 * Exit statuses of tlstrace's own: 2 for a usage error, 125 when it fails
 * (no library, -K cannot make its key log, fork failed), 126 when COMMAND
 * cannot be executed, 127 when it is not found (as env(1) and shells do).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TLSTRACE_VERSION
#define TLSTRACE_VERSION "0.1.0"
#endif

#define LIB_NAME "libtlstrace.so"
/* From bin/ to lib/tlstrace/ in the `make install` layout. */
#define LIB_INSTALLED "/../lib/tlstrace/" LIB_NAME

enum {
	EXIT_USAGE = 2,
	EXIT_FAIL = 125,	/* tlstrace itself failed, as env(1) */
	EXIT_CANNOT_RUN = 126,
	EXIT_NOT_FOUND = 127,
};

/* Pid of COMMAND while it can be signalled; 0 once it is reaped, so a
 * late signal is never sent to a recycled pid. */
static volatile sig_atomic_t child_pid;

/* -K: the private directory and the key log in it; NULL when not made
 * or already removed. */
static char *keys_dir, *keys_file;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
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

#define USAGE_LINE                                                             \
	"usage: tlstrace [-o FILE] [-l LEVEL] [-f text|json] [-k KEYLOG] [-K] [-w FILE]\n" \
	"                [--] COMMAND [ARG...]\n"

static void usage(void)
{
	fputs(USAGE_LINE
	      "\n"
	      "Run COMMAND with libtlstrace.so preloaded and log its TLS handshakes.\n"
	      "\n"
	      "  -o FILE    log to FILE (%p becomes the pid), or to \"stderr\" or \"syslog\"\n"
	      "             (TLSTRACE_LOG; default stderr)\n"
	      "  -l LEVEL   error, warn, info, debug or trace (TLSTRACE_LEVEL; default info)\n"
	      "  -f FORMAT  text, or json for JSON Lines (TLSTRACE_FORMAT; default text)\n"
	      "  -k KEYLOG  read TLS secrets from this NSS key log file (TLSTRACE_KEYLOG;\n"
	      "             default $SSLKEYLOGFILE)\n"
	      "  -K         give COMMAND a private key log (SSLKEYLOGFILE) and read it;\n"
	      "             removed when COMMAND ends\n"
	      "  -w FILE    also write captured secrets to FILE in NSS key log format\n"
	      "             (0600), for Wireshark (TLSTRACE_KEYLOG_OUT)\n"
	      "  -h, --help print this help\n"
	      "  --version  print the version\n"
	      "\n"
	      "TLSTRACE_LIB, if set, is the library to preload.  The exit status is\n"
	      "COMMAND's (a COMMAND killed by a signal kills tlstrace with the same\n"
	      "signal); 2: usage error, 125: tlstrace failed, 126: COMMAND cannot be\n"
	      "run, 127: COMMAND not found.\n",
	      stdout);
}

/* The error above it stays visible: the synopsis only, not the help. */
static _Noreturn void usage_error(void)
{
	fputs(USAGE_LINE "Try 'tlstrace --help' for more information.\n",
	      stderr);
	exit(EXIT_USAGE);
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

/* @path made absolute against the current directory, so that the file
 * the library opens does not depend on where in the process tree (after
 * which chdir) it is loaded.  Nothing else is touched: "%p" stays for the
 * library, and the file need not exist yet. */
static char *absolute(const char *opt, const char *path)
{
	char *cwd, *abs;

	if (*path == '\0') {
		say("-%s: empty file name", opt);
		usage_error();
	}
	if (*path == '/')
		return strdup(path);
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (*path == '/')
			path++;
	}
	cwd = getcwd(NULL, 0);
	if (!cwd) {
		say("-%s %s: cannot resolve against the current directory: %s",
		    opt, path, strerror(errno));
		exit(EXIT_FAIL);
	}
	if (asprintf(&abs, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
		     *path ? path : ".") < 0)
		abs = NULL;
	free(cwd);
	return abs;
}

static void set_env(const char *name, const char *value)
{
	if (!value || setenv(name, value, 1) != 0) {
		say("cannot set %s: %s", name, strerror(errno ? errno : ENOMEM));
		exit(EXIT_FAIL);
	}
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

/* --- -K: a private key log ---------------------------------------------- */

/* Removes the key log and its directory, once (later calls do nothing).
 * Registered with atexit in the launcher; COMMAND's process ends by exec
 * or _exit, which do not run it. */
static void remove_keys(void)
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
static void make_keys(void)
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

/* --- signals ------------------------------------------------------------ */

static const int fwd_std[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
	SIGVTALRM, SIGPROF, SIGPWR, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN,
	SIGTTOU,
};

static void forward_set(sigset_t *set)
{
	size_t i;
	int s;

	sigemptyset(set);
	for (i = 0; i < sizeof(fwd_std) / sizeof(fwd_std[0]); i++)
		sigaddset(set, fwd_std[i]);
	for (s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(set, s);
}

/* Signals a terminal sends to its whole foreground process group. */
static int from_tty(int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGQUIT:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGWINCH:
	case SIGHUP:
	case SIGCONT:
		return 1;
	}
	return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno;
	pid_t pid = child_pid;

	(void)uctx;
	if (pid <= 0)
		goto out;
	/* si_code <= 0: sent by a process.  COMMAND sending to us (or to
	 * the group) must not get its signal back. */
	if (si->si_code <= 0 && si->si_pid == pid)
		goto out;
	/* Sent by the terminal to the foreground group: COMMAND has its
	 * copy unless it moved to a process group of its own. */
	if (si->si_code == SI_KERNEL && from_tty(sig) &&
	    getpgid(pid) == getpgrp())
		goto out;
	if (si->si_code == SI_QUEUE)
		sigqueue(pid, sig, si->si_value);
	else
		kill(pid, sig);
out:
	errno = saved;
}

/* Forward every forwardable signal not ignored on entry; @mask is what
 * the handler blocks (all of them: one forward at a time). */
static void install_forwarding(const sigset_t *mask)
{
	struct sigaction sa, old;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sa.sa_mask = *mask;
	for (s = 1; s < NSIG; s++) {
		if (sigismember(mask, s) != 1)
			continue;
		if (sigaction(s, NULL, &old) != 0)
			continue;
		/* nohup and `cmd &` in scripts ignore signals on purpose;
		 * COMMAND inherits the ignoring, so do we. */
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
			continue;
		sigaction(s, &sa, NULL);
	}
}

/* COMMAND stopped with @sig: stop too, so the shell sees the job stop. */
static void follow_stop(pid_t pid, int sig)
{
	struct sigaction dfl, old;
	sigset_t one;
	siginfo_t si;

	/* Consume the report (a stop is never a reaping event). */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOHANG) < 0 &&
	       errno == EINTR)
		;
	/* If COMMAND already runs again (we were stopped with it, and a
	 * SIGCONT to the group woke us both), this stop is history. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si,
		   WCONTINUED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == pid)
		return;
	if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
		sig = SIGSTOP;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	if (sig != SIGSTOP && sigaction(sig, &dfl, &old) != 0)
		sig = SIGSTOP;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig); /* returns once continued */
	/* cppcheck-suppress unreachableCode ; raise() does return */
	if (sig != SIGSTOP)
		sigaction(sig, &old, NULL);
	/* No SIGCONT to COMMAND here: if the raise was discarded (orphaned
	 * process group) that would undo COMMAND's stop.  A SIGCONT sent to
	 * us reaches COMMAND through on_signal. */
}

/* Leave the way COMMAND left: by the same signal if it was killed. */
static _Noreturn void die_like(int sig)
{
	struct sigaction dfl;
	sigset_t one;

	fflush(NULL);
	/* Our core is worthless and would overwrite COMMAND's. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	/* Not fatal by default (or could not be unblocked): the shell's
	 * convention is the next best thing. */
	exit(128 + sig);
}

static _Noreturn void wait_child(pid_t pid, const sigset_t *fwd)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: COMMAND is reaped only with forwarding blocked
		 * and child_pid cleared, so no handler can signal its pid
		 * once the kernel may hand it out again. */
		if (waitid(P_PID, (id_t)pid, &si,
			   WEXITED | WSTOPPED | WCONTINUED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			say("waitid: %s", strerror(errno));
			exit(EXIT_FAIL);
		}
		switch (si.si_code) {
		case CLD_EXITED:
		case CLD_KILLED:
		case CLD_DUMPED:
			sigprocmask(SIG_BLOCK, fwd, NULL);
			child_pid = 0;
			while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 &&
			       errno == EINTR)
				;
			/* Before die_like(), which leaves without atexit. */
			remove_keys();
			if (si.si_code == CLD_EXITED)
				exit(si.si_status);
			die_like(si.si_status);
		case CLD_STOPPED:
			follow_stop(pid, si.si_status);
			break;
		default:
			/* CLD_CONTINUED (or a trace event): consume it,
			 * without any chance of reaping. */
			while (waitid(P_PID, (id_t)pid, &si,
				      WSTOPPED | WCONTINUED | WNOHANG) < 0 &&
			       errno == EINTR)
				;
			break;
		}
	}
}

/* @private_keys: -K, whose key log is made here, with the forwarded
 * signals blocked, so that none can end tlstrace between its creation
 * and the wait that removes it. */
static _Noreturn void run(char **cmd, int private_keys)
{
	struct sigaction dfl, chld;
	sigset_t fwd, orig;
	pid_t pid;

	forward_set(&fwd);
	/* Signals that arrive before child_pid is known stay pending and
	 * are forwarded once it is. */
	sigprocmask(SIG_BLOCK, &fwd, &orig);
	if (private_keys)
		make_keys();
	/* SIGCHLD ignored by our caller would make the kernel reap COMMAND
	 * behind our back and lose its status.  COMMAND gets the caller's
	 * setting back before exec. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &chld);
	fflush(NULL);

	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		exit(EXIT_FAIL);
	}
	if (pid == 0) {
		int e;

		sigaction(SIGCHLD, &chld, NULL);
		sigprocmask(SIG_SETMASK, &orig, NULL);
		execvp(cmd[0], cmd);
		e = errno;
		say("%s: %s", cmd[0], strerror(e));
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
	}

	child_pid = pid;
	install_forwarding(&fwd);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	wait_child(pid, &fwd);
}

int main(int argc, char **argv)
{
	static const char *const levels[] = {
		"error", "warn", "info", "debug", "trace", NULL,
	};
	static const char *const formats[] = {"text", "json", NULL};
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *log = NULL, *level = NULL, *format = NULL, *keylog = NULL;
	const char *keylog_out = NULL;
	int private_keys = 0;
	char *lib, *v;
	int c;

	/* '+': COMMAND's own options are not ours (`tlstrace curl -v`).
	 * ':': we word the errors ourselves. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:l:f:k:Kw:h", longopts,
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
		case 'k':
			keylog = optarg;
			break;
		case 'K':
			private_keys = 1;
			break;
		case 'w':
			keylog_out = optarg;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("tlstrace " TLSTRACE_VERSION "\n");
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
	if (optind >= argc) {
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
	if (private_keys && keylog) {
		say("-K and -k cannot be used together: "
		    "-K makes the key log to read");
		usage_error();
	}

	lib = find_lib(argv[0]);
	set_preload(lib);
	free(lib);
	if (log) {
		/* The sink names of the contract are not file names. */
		if (strcmp(log, "stderr") == 0 || strcmp(log, "syslog") == 0) {
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
	run(argv + optind, private_keys);
}
