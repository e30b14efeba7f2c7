#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "real.h"

static int log_fd = -1;
static enum tt_sink_kind log_kind;
static dev_t log_dev;
static ino_t log_ino;
static char log_path[PATH_MAX];

/* One write() per line; a short write on a pipe is finished off. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = REAL(write)(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void tt_log_stderr(const char *msg, size_t n)
{
	write_all(2, msg, n);
}

/* Moves fd to a high number so that it stays out of the way of programs
 * that assume small descriptors are theirs. */
static int move_high(int fd)
{
	struct rlimit rl;
	long base = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		base = (long)rl.rlim_cur > 128 ? (long)rl.rlim_cur - 64 : 3;
	if (base > 4096)
		base = 4096;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
	if (hi < 0)
		hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

static void remember(int fd)
{
	struct stat st;
	if (fstat(fd, &st) == 0) {
		log_dev = st.st_dev;
		log_ino = st.st_ino;
	}
}

static void fail(const char *what, const char *path, int err)
{
	char line[PATH_MAX + 200];
	int n = snprintf(line, sizeof(line),
			 "tlstrace: TLSTRACE_LOG: cannot %s '%s': %s; tracing "
			 "disabled\n",
			 what, path, strerror(err));
	if (n > 0)
		tt_log_stderr(line, (size_t)n < sizeof(line)
					    ? (size_t)n
					    : sizeof(line) - 1);
}

static int open_file(const char *path)
{
	return open(path,
		    O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
			    O_NOCTTY,
		    0600);
}

static int open_syslog(void)
{
	int fd = REAL(socket)(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, "/dev/log");
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
	int fd = -1;
	log_kind = cfg->sink;
	switch (cfg->sink) {
	case TT_SINK_STDERR:
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return false; /* no stderr: nowhere to say so */
		break;
	case TT_SINK_FILE:
		strcpy(log_path, cfg->path);
		fd = open_file(cfg->path);
		if (fd < 0) {
			fail("open", cfg->path, errno);
			return false;
		}
		break;
	case TT_SINK_SYSLOG:
		fd = open_syslog();
		if (fd < 0) {
			fail("connect to", "/dev/log", errno);
			return false;
		}
		break;
	}
	fd = move_high(fd);
	remember(fd);
	log_fd = fd;
	return true;
}

bool tt_log_enabled(void)
{
	return log_fd >= 0;
}

bool tt_log_owns_fd(int fd)
{
	return fd >= 0 && fd == log_fd;
}

void tt_log_step_aside(void)
{
	if (log_fd < 0)
		return;
	int saved = errno;
	int fd = fcntl(log_fd, F_DUPFD_CLOEXEC, log_fd + 1);
	if (fd < 0)
		fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0) {
		REAL(close)(log_fd);
		log_fd = fd;
	}
	errno = saved;
}

/* The host may have closed our descriptor behind our back (closefrom,
 * close_range) and reused the number: never write into its file. */
static bool still_ours(void)
{
	struct stat st;
	if (fstat(log_fd, &st) == 0 && st.st_dev == log_dev &&
	    st.st_ino == log_ino)
		return true;
	if (log_kind == TT_SINK_FILE) {
		int fd = open_file(log_path);
		if (fd >= 0) {
			log_fd = move_high(fd);
			remember(log_fd);
			return true;
		}
	}
	log_fd = -1;
	return false;
}

static int syslog_pri(enum tt_level l)
{
	/* facility user (1) */
	static const int sev[] = {3, 4, 6, 7, 7};
	return 8 + sev[(unsigned)l < 5 ? l : 2];
}

void tt_log_write(const char *line, size_t n, enum tt_level level)
{
	if (log_fd < 0 || !still_ours())
		return;
	if (log_kind == TT_SINK_SYSLOG) {
		/* one datagram: the RFC 3164 header, then the line as it is
		 * (no copy, no cut: JSON lines stay whole) */
		char head[96], when[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
		int h = snprintf(head, sizeof(head), "<%d>%s tlstrace[%ld]: ",
				 syslog_pri(level), when, (long)getpid());
		if (h < 0 || (size_t)h >= sizeof(head))
			return;
		size_t body = n && line[n - 1] == '\n' ? n - 1 : n;
		struct iovec iov[2] = {{head, (size_t)h},
				       {(void *)line, body}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		REAL(sendmsg)(log_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		return;
	}
	write_all(log_fd, line, n);
}
