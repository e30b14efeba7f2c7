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
 * Programs it cannot see into: before running COMMAND, tlstrace finds the
 * file execvp will run (a $PATH search for a name without a slash) and
 * reads its ELF headers.  A statically linked program (no PT_INTERP: no
 * dynamic loader, so LD_PRELOAD does nothing) or a Go program (Go's
 * build id note or section, or its build information; cgo or not, Go
 * does its socket I/O with raw system calls) gets one stderr line
 * `tlstrace: warning: ...` and runs all the same.  A `#!` script is
 * judged by its interpreter, one level down.  A file that does not parse
 * gets no warning.
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
#include <stdint.h>
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
	      "             or \"syslog:SOCKET\" (TLSTRACE_LOG; default stderr)\n"
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

/* --- programs whose TLS tlstrace cannot see --------------------------------
 *
 * LD_PRELOAD reaches nothing in a statically linked program (no dynamic
 * loader runs), and a Go program does its TLS in Go (crypto/tls) over raw
 * system calls, even when cgo links it dynamically.  Such a COMMAND still
 * runs, after one warning.  The file is only read (a few bounded preads
 * of its headers, never mapped); anything that does not parse is no ELF
 * as far as this is concerned: no warning, and execvp decides.
 */

enum unseen { UNSEEN_NO, UNSEEN_STATIC, UNSEEN_GO };

#define ET_EXEC_ 2
#define ET_DYN_ 3
#define PT_LOAD_ 1
#define PT_DYNAMIC_ 2
#define PT_INTERP_ 3
#define PT_NOTE_ 4
#define PF_X_ 1u
#define PF_W_ 2u
#define DT_SONAME_ 14
#define SHN_XINDEX_ 0xffffu

/* Bounds of what is read: the kernel's own limit on the program header
 * table, then caps on notes, the dynamic section and the section table
 * that no real executable comes near. */
#define PHDRS_MAX 65536u
#define CHUNK_MAX 65536u
#define SHDRS_MAX (4u << 20)
#define SHSTR_MAX (1u << 20)

/* Go's build information starts with this, 16-byte aligned. */
static const char go_magic[] = "\xff Go buildinf:";
#define GO_MAGIC_LEN (sizeof(go_magic) - 1)

struct elf {
	int fd;
	uint64_t size;
	int is64, big;
};

/* Exactly @len bytes at @off, all inside the file; -1 otherwise. */
static int read_at(const struct elf *e, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > e->size || len > e->size - off)
		return -1;
	while (done < len) {
		ssize_t n = pread(e->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Up to @cap bytes of [@off, @off + @len) in a fresh buffer, its length
 * in *@got; NULL when they cannot be read. */
static unsigned char *read_part(const struct elf *e, uint64_t off, uint64_t len,
				size_t cap, size_t *got)
{
	unsigned char *buf;
	size_t n = len < cap ? (size_t)len : cap;

	buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	if (read_at(e, buf, n, off) != 0) {
		free(buf);
		return NULL;
	}
	*got = n;
	return buf;
}

/* An unsigned field of @width bytes in the file's byte order. */
static uint64_t get(const struct elf *e, const unsigned char *p, unsigned width)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < width; i++)
		v |= (uint64_t)p[e->big ? width - 1 - i : i] << (8 * i);
	return v;
}

/* Addresses, offsets and sizes: 8 bytes in ELF64, 4 in ELF32. */
static uint64_t word(const struct elf *e, const unsigned char *p)
{
	return get(e, p, e->is64 ? 8 : 4);
}

/* A note named "Go" (the linker's build id note) in a PT_NOTE segment. */
static int go_note(const struct elf *e, uint64_t off, uint64_t len,
		   uint64_t align)
{
	unsigned char *buf;
	size_t n, pos = 0, a = align == 8 ? 8 : 4;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	while (!found && n >= 12 && pos <= n - 12) {
		uint64_t namesz = get(e, buf + pos, 4);
		uint64_t descsz = get(e, buf + pos + 4, 4);

		pos += 12;
		if (namesz > n - pos)
			break;
		found = (namesz == 3 || namesz == 4) &&
			memcmp(buf + pos, "Go\0", namesz) == 0;
		pos += (size_t)namesz;
		pos = (pos + a - 1) & ~(a - 1);
		if (pos > n || descsz > n - pos)
			break;
		pos += (size_t)descsz;
		pos = (pos + a - 1) & ~(a - 1);
	}
	free(buf);
	return found;
}

/* Go's build information at the start of a segment (what Go's own
 * debug/buildinfo reads when there are no section headers). */
static int go_buildinfo_in(const struct elf *e, uint64_t off, uint64_t len)
{
	unsigned char *buf;
	size_t n, i;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	for (i = 0; !found && n >= GO_MAGIC_LEN && i <= n - GO_MAGIC_LEN;
	     i += 16)
		found = memcmp(buf + i, go_magic, GO_MAGIC_LEN) == 0;
	free(buf);
	return found;
}

/* A DT_SONAME in the dynamic section: a shared object run directly,
 * such as the dynamic loader (`ld.so PROGRAM`), which honours
 * LD_PRELOAD; a static-pie has a dynamic section but no soname. */
static int has_soname(const struct elf *e, uint64_t off, uint64_t len)
{
	unsigned char *buf;
	size_t n, i, ent = e->is64 ? 16 : 8;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	for (i = 0; i + ent <= n; i += ent) {
		uint64_t tag = word(e, buf + i);

		if (tag == 0)
			break;
		if (tag == DT_SONAME_) {
			found = 1;
			break;
		}
	}
	free(buf);
	return found;
}

/* By section: `.note.go.buildid`, or `.go.buildinfo` starting with Go's
 * magic.  1: Go; 0: not Go; -1: no usable section headers. */
static int go_sections(const struct elf *e, const unsigned char *h)
{
	uint64_t shoff, stroff, strsz, name, off;
	unsigned shentsize, shnum, shstrndx, i;
	unsigned char *tab = NULL, *str = NULL, magic[GO_MAGIC_LEN];
	const unsigned char *sh;
	size_t n, len, min = e->is64 ? 64 : 40;
	const char *s;
	int ret = -1;

	shoff = e->is64 ? get(e, h + 40, 8) : get(e, h + 32, 4);
	shentsize = (unsigned)get(e, h + (e->is64 ? 58 : 46), 2);
	shnum = (unsigned)get(e, h + (e->is64 ? 60 : 48), 2);
	shstrndx = (unsigned)get(e, h + (e->is64 ? 62 : 50), 2);
	if (shoff == 0 || shnum == 0 || shentsize < min ||
	    (uint64_t)shnum * shentsize > SHDRS_MAX)
		return -1;
	tab = read_part(e, shoff, (uint64_t)shnum * shentsize, SHDRS_MAX, &n);
	if (!tab)
		return -1;
	if (shstrndx == SHN_XINDEX_) /* the real index is in sh_link of 0 */
		shstrndx = (unsigned)get(e, tab + (e->is64 ? 40 : 24), 4);
	if (shstrndx >= shnum)
		goto out;
	sh = tab + (size_t)shstrndx * shentsize;
	stroff = word(e, sh + (e->is64 ? 24 : 16));
	strsz = word(e, sh + (e->is64 ? 32 : 20));
	str = read_part(e, stroff, strsz, SHSTR_MAX, &n);
	if (!str)
		goto out;
	ret = 0;
	for (i = 0; i < shnum && ret == 0; i++) {
		sh = tab + (size_t)i * shentsize;
		name = get(e, sh, 4);
		if (name >= n)
			continue;
		s = (const char *)str + name;
		len = strnlen(s, n - (size_t)name);
		if (len == n - (size_t)name)
			continue; /* not terminated within what was read */
		if (strcmp(s, ".note.go.buildid") == 0) {
			ret = 1;
		} else if (strcmp(s, ".go.buildinfo") == 0) {
			off = word(e, sh + (e->is64 ? 24 : 16));
			if (read_at(e, magic, sizeof(magic), off) == 0 &&
			    memcmp(magic, go_magic, GO_MAGIC_LEN) == 0)
				ret = 1;
		}
	}
out:
	free(str);
	free(tab);
	return ret;
}

/* What the ELF file open as @fd is, as far as tracing goes. */
static enum unseen inspect_elf(int fd, uint64_t size)
{
	struct elf e = {.fd = fd, .size = size};
	unsigned char h[64], *ph = NULL;
	uint64_t phoff, type;
	uint64_t dyn_off = 0, dyn_len = 0, data_off = 0, data_len = 0;
	unsigned phentsize, phnum, i;
	size_t n;
	int interp = 0, dynamic = 0, data = 0, go = 0;
	enum unseen ret = UNSEEN_NO;

	if (read_at(&e, h, 16, 0) != 0 || memcmp(h, "\x7f" "ELF", 4) != 0)
		return UNSEEN_NO;
	if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2))
		return UNSEEN_NO;
	e.is64 = h[4] == 2;
	e.big = h[5] == 2;
	if (read_at(&e, h, e.is64 ? 64 : 52, 0) != 0)
		return UNSEEN_NO;
	type = get(&e, h + 16, 2);
	if (type != ET_EXEC_ && type != ET_DYN_)
		return UNSEEN_NO;
	phoff = e.is64 ? get(&e, h + 32, 8) : get(&e, h + 28, 4);
	phentsize = (unsigned)get(&e, h + (e.is64 ? 54 : 42), 2);
	phnum = (unsigned)get(&e, h + (e.is64 ? 56 : 44), 2);
	/* What the kernel refuses to run is not ours to judge. */
	if (phnum == 0 || phentsize < (e.is64 ? 56u : 32u) ||
	    (uint64_t)phnum * phentsize > PHDRS_MAX)
		return UNSEEN_NO;
	ph = read_part(&e, phoff, (uint64_t)phnum * phentsize, PHDRS_MAX, &n);
	if (!ph)
		return UNSEEN_NO;
	for (i = 0; i < phnum; i++) {
		const unsigned char *p = ph + (size_t)i * phentsize;
		uint64_t flags = get(&e, p + (e.is64 ? 4 : 24), 4);
		uint64_t off = word(&e, p + (e.is64 ? 8 : 4));
		uint64_t filesz = word(&e, p + (e.is64 ? 32 : 16));

		switch (get(&e, p, 4)) {
		case PT_INTERP_:
			interp = 1;
			break;
		case PT_DYNAMIC_:
			if (!dynamic) {
				dynamic = 1;
				dyn_off = off;
				dyn_len = filesz;
			}
			break;
		case PT_NOTE_:
			if (!go)
				go = go_note(&e, off, filesz,
					     word(&e, p + (e.is64 ? 48 : 28)));
			break;
		case PT_LOAD_:
			if (!data && (flags & (PF_X_ | PF_W_)) == PF_W_) {
				data = 1;
				data_off = off;
				data_len = filesz;
			}
			break;
		}
	}
	if (!go) {
		int by_sections = go_sections(&e, h);

		if (by_sections > 0)
			go = 1;
		else if (by_sections < 0 && data)
			go = go_buildinfo_in(&e, data_off, data_len);
	}
	if (go)
		ret = UNSEEN_GO;
	else if (!interp && !(dynamic && type == ET_DYN_ &&
			      has_soname(&e, dyn_off, dyn_len)))
		ret = UNSEEN_STATIC;
	free(ph);
	return ret;
}

/* What @path is; for a `#!` script (when @via is not NULL), what its
 * interpreter is, one level down, its path then in *@via. */
static enum unseen inspect(const char *path, char **via)
{
	/* The kernel reads this much of the `#!` line. */
	char head[256], *interp, *end;
	struct elf e = {.fd = -1};
	struct stat st;
	size_t n;
	enum unseen ret = UNSEEN_NO;

	/* Regular files only: opening a FIFO or a device may block or do
	 * something.  O_NONBLOCK in case it was swapped since. */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return UNSEEN_NO;
	e.fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (e.fd < 0)
		return UNSEEN_NO;
	if (fstat(e.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4)
		goto out;
	e.size = (uint64_t)st.st_size;
	n = e.size < sizeof(head) - 1 ? (size_t)e.size : sizeof(head) - 1;
	if (read_at(&e, head, n, 0) != 0)
		goto out;
	head[n] = '\0';
	if (head[0] == '#' && head[1] == '!') {
		if (!via)
			goto out;
		interp = head + 2 + strspn(head + 2, " \t");
		end = interp + strcspn(interp, " \t\n");
		/* A name cut off by the kernel's limit is not run either. */
		if (end == interp || *end == '\0')
			goto out;
		*end = '\0';
		ret = inspect(interp, NULL);
		if (ret != UNSEEN_NO) {
			*via = strdup(interp);
			if (!*via)
				ret = UNSEEN_NO;
		}
		goto out;
	}
	ret = inspect_elf(e.fd, e.size);
out:
	close(e.fd);
	return ret;
}

/* The file execvp will run for @name: @name itself when it holds a
 * slash, else the first executable regular file of that name in $PATH
 * (glibc's "/bin:/usr/bin" when PATH is unset; an empty entry is the
 * current directory).  NULL when there is none: execvp will say so. */
static char *resolve_command(const char *name)
{
	const char *path, *p, *end;
	char *cand;
	struct stat st;

	if (!*name)
		return NULL;
	if (strchr(name, '/'))
		return strdup(name);
	path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen > PATH_MAX || asprintf(&cand, "%.*s%s%s", (int)dlen, p,
						dlen ? "/" : "", name) < 0)
			cand = NULL;
		if (cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    eaccess(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!*end)
			return NULL;
	}
}

/* @s for a message: control characters as \xHH, so a name cannot break
 * the line or talk to the terminal. */
static char *shown(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 1), *o = out;
	const unsigned char *c;

	if (!out)
		return NULL;
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			o += sprintf(o, "\\x%02x", *c);
		else
			*o++ = (char)*c;
	}
	*o = '\0';
	return out;
}

/* One stderr line when COMMAND is a program whose TLS tlstrace cannot
 * see; COMMAND runs all the same. */
static void warn_unseen(const char *name)
{
	static const char *const why[] = {
		[UNSEEN_STATIC] = "statically linked: tlstrace cannot be "
				  "loaded into it, its TLS will not be seen",
		[UNSEEN_GO] = "a Go program: its TLS (Go's crypto/tls, raw "
			      "syscalls) will not be seen",
	};
	char *path = resolve_command(name), *via = NULL;
	enum unseen kind;

	if (!path)
		return;
	kind = inspect(path, &via);
	if (kind != UNSEEN_NO) {
		char *p = shown(path), *v = via ? shown(via) : NULL;

		if (p && via && v)
			say("warning: %s is run by %s, which is %s", p, v,
			    why[kind]);
		else if (p && !via)
			say("warning: %s is %s", p, why[kind]);
		free(v);
		free(p);
	}
	free(via);
	free(path);
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
		if (strcmp(log, "stderr") == 0 || strcmp(log, "syslog") == 0 ||
		    strncmp(log, "syslog:", 7) == 0) {
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
	warn_unseen(argv[optind]);
	run(argv + optind, private_keys);
}
