/* Log sinks and tlstrace's own stderr messages.
 *
 * Nothing written here can block, kill or reach the program:
 * - every descriptor is tlstrace's own, moved high and close-on-exec,
 *   identity-checked before each write (of all the lines one hooked call
 *   made); messages go to the copy of fd 2
 *   taken when the library loaded, never to whatever fd 2 is later;
 * - pipes, FIFOs and terminals are written through an open file
 *   description of our own, opened non-blocking (reopening the object
 *   through /proc, so the program's own descriptor keeps its flags);
 *   sockets with MSG_DONTWAIT; regular files do not block;
 * - a write that would block or fails drops the line and counts it;
 * - SIGPIPE raised by our own write is blocked and taken back, so the
 *   program never sees it (one it raised itself is left pending).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "real.h"

enum wmode {
	W_FILE,	 /* regular file: plain write() */
	W_NB,	 /* pipe, FIFO or terminal through our own non-blocking
		  * description */
	W_POLL,	 /* a shared blocking pipe or terminal: written only when
		  * poll() says it will not block */
	W_SOCK,	 /* a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	W_DGRAM, /* syslog's /dev/log, or the socket of syslog:PATH */
};

struct sink {
	int fd; /* -1: none */
	uint8_t mode;
	bool fifo;   /* a pipe or FIFO: lines over PIPE_BUF need room first */
	bool broken; /* a pipe whose reader went away for good, or a file at
		      * its size limit */
	bool named;  /* opened by name (a FIFO may get a reader again) */
	dev_t dev;
	ino_t ino;
};

static struct sink err = {.fd = -1};  /* fd 2 as it was at load */
static struct sink file = {.fd = -1}; /* a log file, FIFO or syslog */
static struct sink *out;	      /* the log: &err or &file */
/* Other descriptors of tlstrace's own (the pcapng file's), by where
 * their number is kept: read and written atomically, -1 when none. */
static int *adopted[TT_LOG_FDS_MAX - 2];
static size_t nadopted;
static enum tt_sink_kind log_kind;
static char log_path[PATH_MAX];
static uint64_t dropped_since, dropped_total;

/* ---- writing ---- */

/* write() with SIGPIPE held back: if this write raises it, it is taken
 * back before the mask is restored, unless one was already pending (the
 * program's own, which it still gets). */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, old, pend;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	bool was_pending = sigismember(&old, SIGPIPE) &&
			   sigpending(&pend) == 0 &&
			   sigismember(&pend, SIGPIPE);
	ssize_t w = REAL(write)(fd, p, n);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

static ssize_t sink_write1(const struct sink *k, const char *p, size_t n)
{
	switch (k->mode) {
	case W_SOCK:
	case W_DGRAM:
		return REAL(send)(k->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	default:
		/* only a pipe or FIFO raises SIGPIPE: a terminal, the null
		 * device or a file is written as it is */
		return k->fifo ? write_nosigpipe(k->fd, p, n)
			       : REAL(write)(k->fd, p, n);
	}
}

/* RLIMIT_FSIZE, read again at most once a second (a clock read without
 * a system call): a write to the log pays nothing for it in the common
 * case of no limit.  Programs seldom change it; one that lowers it is
 * followed within a second. */
static rlim_t fsize_limit(void)
{
	static rlim_t limit = RLIM_INFINITY;
	static long long read_at = -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	long long now = (long long)ts.tv_sec;
	if (__atomic_load_n(&read_at, __ATOMIC_RELAXED) != now) {
		struct rlimit rl;
		rlim_t v = getrlimit(RLIMIT_FSIZE, &rl) == 0 ? rl.rlim_cur
							     : RLIM_INFINITY;
		__atomic_store_n(&limit, v, __ATOMIC_RELAXED);
		__atomic_store_n(&read_at, now, __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&limit, __ATOMIC_RELAXED);
}

bool tt_fsize_room(int fd, size_t n)
{
	rlim_t limit = fsize_limit();
	struct stat st;
	if (limit == RLIM_INFINITY || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return true;
	return (uint64_t)st.st_size + n <= (uint64_t)limit;
}

static bool writable_now(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	return poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT);
}

/* Free room in a pipe: lines longer than PIPE_BUF are not written
 * atomically, so they go only where they fit whole. */
static bool pipe_room(int fd, size_t n)
{
	int size = REAL(fcntl)(fd, F_GETPIPE_SZ);
	int queued = 0;
	if (size <= 0 || ioctl(fd, FIONREAD, &queued) != 0)
		return false;
	return (size_t)size >= (size_t)queued + n;
}

/* The log file at its size limit: said once. */
static void fsize_note(void)
{
	tt_log_stderrf("tlstrace: TLSTRACE_LOG: '%s': the file size limit "
		       "(ulimit -f) is reached: nothing more is written\n",
		       log_path);
}

/* Lines, whole or not at all where that can be known in advance; what a
 * terminal or socket took only part of is finished within a few
 * milliseconds, else cut.  Returns how many bytes went: 0 when nothing
 * did (dropped), n when all did. */
static size_t sink_write(struct sink *k, const char *p, size_t n)
{
	const size_t want = n;
	if (k->broken)
		return 0;
	/* a file at its size limit: the line is dropped, and those after it
	 * (a write there would raise SIGXFSZ) */
	if (k->mode == W_FILE && !tt_fsize_room(k->fd, n)) {
		k->broken = true;
		if (k == &file)
			fsize_note();
		return 0;
	}
	/* a shared blocking pipe takes a line without blocking only when it
	 * has a free slot and the line is atomic */
	if (k->fifo && n > PIPE_BUF &&
	    (k->mode == W_POLL || !pipe_room(k->fd, n)))
		return 0;
	int waits = 0;
	while (n > 0) {
		if (k->mode == W_POLL && !writable_now(k->fd))
			break; /* dropped, or cut short */
		ssize_t w = sink_write1(k, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EPIPE && k->fifo && !k->named)
			k->broken = true; /* a pipe's reader never comes back */
		if (n == want)
			break;
		if (w < 0 && errno == EAGAIN && waits++ < 5) {
			struct pollfd pf = {.fd = k->fd, .events = POLLOUT};
			poll(&pf, 1, 2);
			continue;
		}
		break; /* cut short */
	}
	return want - n;
}

/* Control characters (and DEL) as \xHH, but a final newline. */
static size_t escape_controls(const char *in, size_t n, char *outb, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)in[i];
		if ((ch < 0x20 || ch == 0x7f) && !(ch == '\n' && i == n - 1)) {
			outb[o++] = '\\';
			outb[o++] = 'x';
			outb[o++] = hx[ch >> 4];
			outb[o++] = hx[ch & 15];
		} else {
			outb[o++] = (char)ch;
		}
	}
	if (n && in[n - 1] == '\n' && (o == 0 || outb[o - 1] != '\n'))
		outb[o++] = '\n';
	return o;
}

static bool still_ours(struct sink *k);

void tt_log_stderr(const char *msg, size_t n)
{
	char line[PATH_MAX * 4 + 512];
	size_t m = escape_controls(msg, n, line, sizeof(line));
	if (err.fd >= 0 && still_ours(&err))
		sink_write(&err, line, m);
}

void tt_log_stderrf(const char *fmt, ...)
{
	char msg[PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0)
		tt_log_stderr(msg, (size_t)n < sizeof(msg) ? (size_t)n
							   : sizeof(msg) - 1);
}

/* ---- opening ---- */

/* Moves fd to a high number so that it stays out of the way of programs
 * that assume small descriptors are theirs. */
int tt_fd_move_high(int fd)
{
	struct rlimit rl;
	long base = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		base = (long)rl.rlim_cur > 128 ? (long)rl.rlim_cur - 64 : 3;
	if (base > 4096)
		base = 4096;
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, (int)base);
	if (hi < 0)
		hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

/* Takes fd (ours) as the sink, choosing how to write it. */
static void sink_set(struct sink *k, int fd)
{
	struct stat st;
	k->fd = tt_fd_move_high(fd);
	k->broken = false;
	k->named = k == &file;
	k->fifo = false;
	k->mode = W_FILE;
	if (fstat(k->fd, &st) != 0)
		return;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->fifo = S_ISFIFO(st.st_mode);
	int fl = REAL(fcntl)(k->fd, F_GETFL);
	if (S_ISSOCK(st.st_mode))
		k->mode = W_SOCK;
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		k->mode = W_FILE;
	else if (fl >= 0 && (fl & O_NONBLOCK))
		k->mode = W_NB;
	else
		k->mode = W_POLL;
}

/* fd 2 as it is now, as a sink of our own: for a pipe, FIFO or terminal
 * a new non-blocking open file description of the same object (the
 * program's keeps its flags); otherwise a duplicate. */
static void take_stderr(void)
{
	struct stat st, st2;
	if (fstat(2, &st) != 0)
		return; /* no stderr: nowhere to say anything */
	int fd = -1;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = open("/proc/self/fd/2",
			  O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 &&
		    (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev ||
		     st2.st_ino != st.st_ino)) {
			REAL(close)(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		fd = REAL(fcntl)(2, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		sink_set(&err, fd);
}

void tt_log_init(void)
{
	if (err.fd < 0)
		take_stderr();
}

/* Descriptors handed over by tlstrace -p (shim/attach.c): its stderr
 * stands for the process's, and the log file it opened. */
static int given_log = -1;

void tt_log_given(int err_fd, int log_fd)
{
	if (err_fd >= 0 && err.fd < 0)
		sink_set(&err, err_fd);
	given_log = log_fd;
}

/* Every sink (and adopted descriptor) becomes the null device, at the
 * same number: a line still being written by another thread goes
 * nowhere, never into a file the program opens later at that number,
 * and whoever reads the other end (tlstrace -p's terminal or pipe) is
 * let go. */
void tt_log_detach(void)
{
	/* a line still being written finds the null device and does not
	 * open the log file again */
	__atomic_store_n(&log_kind, TT_SINK_STDERR, __ATOMIC_RELEASE);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0)
		return;
	int fds[TT_LOG_FDS_MAX];
	size_t n = tt_log_fds(fds);
	for (size_t i = 0; i < n; i++)
		REAL(dup3)(null, fds[i], O_CLOEXEC);
	REAL(close)(null);
}

static void fail(const char *what, const char *path, int e, const char *why)
{
	if (why && why[0])
		tt_log_stderrf("tlstrace: TLSTRACE_LOG: refusing '%s': %s; "
			       "tracing disabled\n",
			       path, why);
	else
		tt_log_stderrf("tlstrace: TLSTRACE_LOG: cannot %s '%s': %s; "
			       "tracing disabled\n",
			       what, path, strerror(e));
}

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) > TT_SYSLOG_PATH_MAX,
	       "a syslog:PATH that config.c accepts fits in sun_path");

/* A datagram socket connected to path (/dev/log, or PATH of syslog:PATH):
 * connecting a datagram socket does not wait for the reader, and every
 * line is sent with MSG_DONTWAIT. */
static int open_syslog(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = REAL(socket)(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	strcpy(sa.sun_path, path);
	if (REAL(connect)(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		REAL(close)(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool tt_log_open(const struct tt_config *cfg)
{
	char why[256];
	int fd;
	tt_log_init();
	log_kind = cfg->sink;
	switch (cfg->sink) {
	case TT_SINK_STDERR:
		if (err.fd < 0)
			return false; /* no stderr: nowhere to say so */
		out = &err;
		return true;
	case TT_SINK_FILE:
		strcpy(log_path, cfg->path);
		fd = given_log >= 0 ? given_log
				    : tt_open_private(cfg->path, true, why,
						      sizeof(why));
		if (fd < 0) {
			fail("open", cfg->path, errno, why);
			return false;
		}
		sink_set(&file, fd);
		out = &file;
		return true;
	case TT_SINK_SYSLOG:
		fd = open_syslog(cfg->path);
		if (fd < 0) {
			fail("connect to", cfg->path, errno, NULL);
			return false;
		}
		sink_set(&file, fd);
		file.mode = W_DGRAM;
		out = &file;
		return true;
	}
	return false;
}

bool tt_log_enabled(void)
{
	return out && out->fd >= 0;
}

void tt_log_adopt_fd(int *fdp)
{
	if (nadopted < sizeof(adopted) / sizeof(adopted[0]))
		adopted[nadopted++] = fdp;
}

size_t tt_log_fds(int fds[TT_LOG_FDS_MAX])
{
	size_t n = 0;
	if (err.fd >= 0)
		fds[n++] = err.fd;
	if (file.fd >= 0)
		fds[n++] = file.fd;
	for (size_t i = 0; i < nadopted; i++) {
		int fd = __atomic_load_n(adopted[i], __ATOMIC_ACQUIRE);
		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
}

bool tt_log_owns_fd(int fd)
{
	int fds[TT_LOG_FDS_MAX];
	size_t n = tt_log_fds(fds);
	for (size_t i = 0; fd >= 0 && i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/* A copy of fd at another number (-1 if none can be made). */
static int fd_elsewhere(int fd)
{
	int nfd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, fd + 1);
	if (nfd < 0)
		nfd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
	return nfd;
}

void tt_log_step_aside(int fd)
{
	if (fd < 0)
		return;
	int saved = errno;
	struct sink *k = fd == err.fd ? &err : fd == file.fd ? &file : NULL;
	int nfd;
	if (k && (nfd = fd_elsewhere(fd)) >= 0) {
		REAL(close)(k->fd);
		k->fd = nfd;
	}
	for (size_t i = 0; !k && i < nadopted; i++) {
		int expect = fd;
		if (__atomic_load_n(adopted[i], __ATOMIC_ACQUIRE) != fd ||
		    (nfd = fd_elsewhere(fd)) < 0)
			continue;
		/* the owner may have let the number go meanwhile (found it
		 * was no longer its file): then it is not ours to close */
		if (__atomic_compare_exchange_n(adopted[i], &expect, nfd, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			REAL(close)(fd);
		else
			REAL(close)(nfd);
		break;
	}
	errno = saved;
}

/* The host may have closed our descriptor behind our back (closefrom,
 * close_range by raw syscall) and reused the number: never write into
 * its file.  A log file is opened again. */
static bool still_ours(struct sink *k)
{
	struct stat st;
	if (k->fd < 0)
		return false;
	if (fstat(k->fd, &st) == 0 && st.st_dev == k->dev &&
	    st.st_ino == k->ino)
		return true;
	if (k == &file &&
	    __atomic_load_n(&log_kind, __ATOMIC_ACQUIRE) == TT_SINK_FILE) {
		char why[256];
		int fd = tt_open_private(log_path, true, why, sizeof(why));
		if (fd >= 0) {
			sink_set(&file, fd);
			return true;
		}
	}
	k->fd = -1;
	return false;
}

static int syslog_pri(enum tt_level l)
{
	/* facility user (1) */
	static const int sev[] = {3, 4, 6, 7, 7};
	return 8 + sev[(unsigned)l < 5 ? l : 2];
}

static bool write_syslog(const char *line, size_t n, enum tt_level level)
{
	/* one datagram: the RFC 3164 header, then the line as it is (no
	 * copy, no cut: JSON lines stay whole) */
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr",
					"May", "Jun", "Jul", "Aug",
					"Sep", "Oct", "Nov", "Dec"};
	char head[96];
	/* the clock of the line's "ts": time() reads a coarser one, which
	 * can still show the previous second */
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	/* the month by hand: strftime's %b follows the program's LC_TIME,
	 * and RFC 3164 wants the English abbreviation */
	int h = snprintf(
		head, sizeof(head),
		"<%d>%s %2d %02d:%02d:%02d tlstrace[%ld]: ", syslog_pri(level),
		mon[(unsigned)tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, (long)getpid());
	if (h < 0 || (size_t)h >= sizeof(head))
		return false;
	size_t body = n && line[n - 1] == '\n' ? n - 1 : n;
	struct iovec iov[2] = {{head, (size_t)h}, {(void *)line, body}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	return REAL(sendmsg)(file.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) > 0;
}

bool tt_log_per_line(void)
{
	return out && out->mode == W_DGRAM;
}

/* Lines end at ends[] in buf.  A regular file, a socket or the null
 * device takes them all in one write; a pipe or FIFO, and a blocking
 * terminal, in runs of whole lines of at most PIPE_BUF bytes (each run
 * is atomic, so lines of other writers of the same pipe never land
 * inside one of ours); syslog, one datagram per line. */
size_t tt_log_write_lines(const char *buf, const uint32_t *ends,
			  const uint8_t *levels, size_t nlines, bool checked,
			  uint64_t *lost)
{
	*lost = 0;
	if (nlines == 0)
		return 0;
	if (!out || out->fd < 0 || (!checked && !still_ours(out))) {
		*lost = nlines >= 64 ? ~0ull : (1ull << nlines) - 1;
	} else if (out->mode == W_DGRAM) {
		for (size_t i = 0, start = 0; i < nlines; start = ends[i++])
			if (!write_syslog(buf + start, ends[i] - start,
					  (enum tt_level)levels[i]))
				*lost |= 1ull << i;
	} else if (!out->fifo && out->mode != W_POLL) {
		/* a line the write did not reach is dropped; one it began
		 * is cut, and written */
		size_t w = sink_write(out, buf, ends[nlines - 1]);
		for (size_t i = 0, start = 0; i < nlines; start = ends[i++])
			if (start >= w)
				*lost |= 1ull << i;
	} else {
		/* a pipe, or a blocking terminal that poll() said has room:
		 * runs of whole lines of at most PIPE_BUF bytes (a longer
		 * line alone), the most one write can take at once */
		size_t i = 0, start = 0;
		while (i < nlines) {
			size_t j = i + 1;
			while (j < nlines && ends[j] - start <= PIPE_BUF)
				j++;
			if (!sink_write(out, buf + start, ends[j - 1] - start))
				for (size_t k = i; k < j; k++)
					*lost |= 1ull << k;
			start = ends[j - 1];
			i = j;
		}
	}
	size_t dropped = (size_t)__builtin_popcountll(*lost);
	if (dropped) {
		__atomic_add_fetch(&dropped_since, dropped, __ATOMIC_RELAXED);
		__atomic_add_fetch(&dropped_total, dropped, __ATOMIC_RELAXED);
	}
	return dropped;
}

uint64_t tt_log_dropped_take(void)
{
	if (!__atomic_load_n(&dropped_since, __ATOMIC_RELAXED))
		return 0;
	return __atomic_exchange_n(&dropped_since, 0, __ATOMIC_ACQ_REL);
}

void tt_log_dropped_untake(uint64_t n)
{
	if (n)
		__atomic_add_fetch(&dropped_since, n, __ATOMIC_RELAXED);
}

uint64_t tt_log_dropped_total(void)
{
	return __atomic_load_n(&dropped_total, __ATOMIC_RELAXED);
}
