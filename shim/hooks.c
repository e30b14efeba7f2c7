/* The interposed libc entry points.
 *
 * Each hook is the real call plus, for descriptors that may carry TLS, a
 * hand-off of the bytes it moved.  A descriptor known not to be TLS costs
 * one table lookup.  Return values and errno are the real call's: the
 * tracing side saves and restores errno itself.
 *
 * A hook reads caller memory only after the real call succeeded, and
 * only what the kernel filled or read: the return value says how many
 * bytes, the buffers are the ones the kernel just validated.  A failed
 * call's arguments are never looked at (they may be NULL or wild).
 *
 * Loaded into a running process by tlstrace -p, the hooks are reached
 * through GOT entries (shim/got.c) rather than by symbol lookup; the
 * calls that make a socket then also patch the objects loaded since
 * (tt_got_refresh: a flag test when the library was preloaded).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdtable.h"
#include "got.h"
#include "log.h"
#include "real.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TLS_TX
#define TLS_TX 1
#define TLS_RX 2
#endif

static inline struct tt_fdent *watched(int fd)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (__builtin_expect(e != NULL && tt_fd_kind(e) == TT_FD_PASS, 1))
		return NULL;
	return e;
}

/* Receives that take nothing from the stream: bytes only peeked (they
 * are seen when read), the error queue (timestamps, ICMP), the urgent
 * byte. */
#define NOT_STREAM (MSG_PEEK | MSG_ERRQUEUE | MSG_OOB)

/* Bytes an iovec array asked for; only called on an array the kernel
 * has just accepted (cnt within IOV_MAX). */
static size_t iov_bytes(const struct iovec *iov, size_t cnt)
{
	size_t t = 0;
	for (size_t i = 0; i < cnt && i < IOV_MAX; i++)
		t += iov[i].iov_len;
	return t;
}

/* Every receive ends here: r bytes now in the iov array the kernel
 * accepted (r >= 0), or the call failed with err (r < 0: iov may be
 * anything and is not read).  MSG_TRUNC on a stream socket discards the
 * bytes it counts, unseen.  errno is left as err. */
static void after_recv(int fd, struct tt_fdent *e, const struct iovec *iov,
		       size_t iovcnt, ssize_t r, int flags, int err,
		       const char *call, enum tt_bypass_call code)
{
	if (flags & NOT_STREAM)
		;
	else if (r > 0 && (flags & MSG_TRUNC))
		tt_trace_bypass(fd, e, TT_IN, code, r);
	else if (r > 0)
		tt_trace_iov(fd, e, TT_IN, iov, iovcnt, (size_t)r);
	else
		tt_trace_fail(fd, e, TT_IN, r,
			      r == 0 ? iov_bytes(iov, iovcnt) : 0, err, call);
	errno = err;
}

/* Every send ends here: r bytes taken from iov (r > 0), or a failure. */
static void after_send(int fd, struct tt_fdent *e, const struct iovec *iov,
		       size_t iovcnt, ssize_t r, int err, const char *call)
{
	if (r > 0)
		tt_trace_iov(fd, e, TT_OUT, iov, iovcnt, (size_t)r);
	else
		tt_trace_fail(fd, e, TT_OUT, r, 1, err, call);
	errno = err;
}

/* One buffer as the (iovec array, count) arguments of after_recv and
 * after_send. */
#define ONE(buf, n) (&(struct iovec){(void *)(buf), (n)}), 1

HOOK ssize_t read(int fd, void *buf, size_t n)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(read)(fd, buf, n);
	ssize_t r = REAL(read)(fd, buf, n);
	after_recv(fd, e, ONE(buf, n), r, 0, errno, "read", TT_BY_NONE);
	return r;
}

HOOK ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__read_chk)(fd, buf, n, buflen);
	ssize_t r = REAL(__read_chk)(fd, buf, n, buflen);
	after_recv(fd, e, ONE(buf, n), r, 0, errno, "__read_chk", TT_BY_NONE);
	return r;
}

HOOK ssize_t write(int fd, const void *buf, size_t n)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(write)(fd, buf, n);
	ssize_t r = REAL(write)(fd, buf, n);
	after_send(fd, e, ONE(buf, n), r, errno, "write");
	return r;
}

HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recv)(fd, buf, n, flags);
	ssize_t r = REAL(recv)(fd, buf, n, flags);
	after_recv(fd, e, ONE(buf, n), r, flags, errno, "recv", TT_BY_RECV);
	return r;
}

HOOK ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__recv_chk)(fd, buf, n, buflen, flags);
	ssize_t r = REAL(__recv_chk)(fd, buf, n, buflen, flags);
	after_recv(fd, e, ONE(buf, n), r, flags, errno, "__recv_chk",
		   TT_BY_RECV);
	return r;
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
		      struct sockaddr *addr, socklen_t *alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	after_recv(fd, e, ONE(buf, n), r, flags, errno, "recvfrom",
		   TT_BY_RECVFROM);
	return r;
}

HOOK ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			    int flags, struct sockaddr *addr, socklen_t *alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr,
					    alen);
	ssize_t r = REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
	after_recv(fd, e, ONE(buf, n), r, flags, errno, "__recvfrom_chk",
		   TT_BY_RECVFROM);
	return r;
}

HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(send)(fd, buf, n, flags);
	ssize_t r = REAL(send)(fd, buf, n, flags);
	after_send(fd, e, ONE(buf, n), r, errno, "send");
	return r;
}

HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		    const struct sockaddr *addr, socklen_t alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	ssize_t r = REAL(sendto)(fd, buf, n, flags, addr, alen);
	after_send(fd, e, ONE(buf, n), r, errno, "sendto");
	return r;
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(readv)(fd, iov, iovcnt);
	ssize_t r = REAL(readv)(fd, iov, iovcnt);
	after_recv(fd, e, iov, (size_t)iovcnt, r, 0, errno, "readv",
		   TT_BY_NONE);
	return r;
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(writev)(fd, iov, iovcnt);
	ssize_t r = REAL(writev)(fd, iov, iovcnt);
	after_send(fd, e, iov, (size_t)iovcnt, r, errno, "writev");
	return r;
}

HOOK ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recvmsg)(fd, msg, flags);
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	/* msg is read only when the kernel accepted it */
	after_recv(fd, e, r >= 0 ? msg->msg_iov : NULL,
		   r >= 0 ? msg->msg_iovlen : 0, r, flags, errno, "recvmsg",
		   TT_BY_RECVMSG);
	return r;
}

HOOK ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(sendmsg)(fd, msg, flags);
	ssize_t r = REAL(sendmsg)(fd, msg, flags);
	after_send(fd, e, r > 0 ? msg->msg_iov : NULL,
		   r > 0 ? msg->msg_iovlen : 0, r, errno, "sendmsg");
	return r;
}

/* recvmmsg/sendmmsg: the first r messages were transferred, each of
 * msg_len bytes. */
HOOK int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		  struct timespec *timeout)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	int r = REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	int err = errno;
	for (int i = 0; i < r; i++)
		after_recv(fd, e, vec[i].msg_hdr.msg_iov,
			   vec[i].msg_hdr.msg_iovlen, vec[i].msg_len, flags,
			   err, "recvmmsg", TT_BY_RECVMMSG);
	if (r < 0)
		after_recv(fd, e, NULL, 0, r, flags, err, "recvmmsg",
			   TT_BY_RECVMMSG);
	return r;
}

HOOK int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	int r = REAL(sendmmsg)(fd, vec, vlen, flags);
	int err = errno;
	for (int i = 0; i < r; i++)
		after_send(fd, e, vec[i].msg_hdr.msg_iov,
			   vec[i].msg_hdr.msg_iovlen, vec[i].msg_len, err,
			   "sendmmsg");
	if (r < 0)
		after_send(fd, e, NULL, 0, r, err, "sendmmsg");
	return r;
}

/* ---- bytes moved where no hook sees them ---- */

/* A call that moved r bytes from fd_in to fd_out inside the kernel
 * (either may be -1: not a descriptor of the call). */
static void moved(int fd_in, int fd_out, enum tt_bypass_call code, ssize_t r)
{
	if (r <= 0)
		return;
	int err = errno;
	struct tt_fdent *e;
	if (fd_in >= 0 && (e = watched(fd_in)) != NULL)
		tt_trace_bypass(fd_in, e, TT_IN, code, r);
	if (fd_out >= 0 && (e = watched(fd_out)) != NULL)
		tt_trace_bypass(fd_out, e, TT_OUT, code, r);
	errno = err;
}

HOOK ssize_t splice(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out,
		    size_t len, unsigned int flags)
{
	ssize_t r = REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	moved(fd_in, fd_out, TT_BY_SPLICE, r);
	return r;
}

HOOK ssize_t tee(int fd_in, int fd_out, size_t len, unsigned int flags)
{
	ssize_t r = REAL(tee)(fd_in, fd_out, len, flags);
	moved(-1, fd_out, TT_BY_TEE, r); /* tee takes nothing from fd_in */
	return r;
}

HOOK ssize_t vmsplice(int fd, const struct iovec *iov, size_t nr_segs,
		      unsigned int flags)
{
	ssize_t r = REAL(vmsplice)(fd, iov, nr_segs, flags);
	moved(-1, fd, TT_BY_VMSPLICE, r);
	return r;
}

HOOK ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ssize_t r = REAL(sendfile)(out_fd, in_fd, offset, count);
	moved(in_fd, out_fd, TT_BY_SENDFILE, r);
	return r;
}

HOOK ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	ssize_t r = REAL(sendfile64)(out_fd, in_fd, offset, count);
	moved(in_fd, out_fd, TT_BY_SENDFILE, r);
	return r;
}

HOOK ssize_t copy_file_range(int fd_in, off64_t *off_in, int fd_out,
			     off64_t *off_out, size_t len, unsigned int flags)
{
	ssize_t r = REAL(copy_file_range)(fd_in, off_in, fd_out, off_out, len,
					  flags);
	moved(fd_in, fd_out, TT_BY_COPY_FILE_RANGE, r);
	return r;
}

/* Kernel TLS: once a direction's keys are in the kernel, the program
 * reads and writes plaintext there and the records never reach libc. */
HOOK int setsockopt(int fd, int level, int optname, const void *optval,
		    socklen_t optlen)
{
	int r = REAL(setsockopt)(fd, level, optname, optval, optlen);
	if (r == 0 && level == SOL_TLS && optname == TLS_TX)
		moved(-1, fd, TT_BY_KTLS, 1);
	else if (r == 0 && level == SOL_TLS && optname == TLS_RX)
		moved(fd, -1, TT_BY_KTLS, 1);
	return r;
}

/* ---- descriptors ---- */

HOOK int close(int fd)
{
	/* tlstrace's own descriptors (the log's, the pcapng file's) stay
	 * open (closefrom-style loops in daemons); the host sees the
	 * success it would have seen. */
	if (__builtin_expect(tt_log_owns_fd(fd), 0) && !tt_busy)
		return 0;
	tt_trace_close(fd);
	return REAL(close)(fd);
}

/* Closes [first, last] around tlstrace's own descriptors, which stay
 * open as with close(). */
static int close_span(unsigned first, unsigned last, int flags)
{
	int own[TT_LOG_FDS_MAX];
	size_t n = tt_log_fds(own);
	for (size_t i = 0; i < n; i++) {
		unsigned o = (unsigned)own[i];
		if (o < first || o > last)
			continue;
		int r = 0;
		if (o > first)
			r = close_span(first, o - 1, flags);
		if (r == 0 && o < last)
			r = close_span(o + 1, last, flags);
		return r;
	}
	return REAL(close_range)(first, last, flags);
}

HOOK int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!REAL(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	/* Nothing is closed for this process: an invalid call, close-on-exec
	 * marks (CLOSE_RANGE_CLOEXEC), or a close in a private copy of the
	 * table (CLOSE_RANGE_UNSHARE: other threads keep the descriptors) */
	if (first > last || flags != 0)
		return REAL(close_range)(first, last, flags);
	tt_trace_close_range(first, last);
	return close_span(first, last, flags);
}

HOOK void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	tt_trace_close_range((unsigned)lowfd, ~0U);
	if (REAL(close_range) && close_span((unsigned)lowfd, ~0U, 0) == 0)
		return;
	if (REAL(closefrom))
		REAL(closefrom)(lowfd);
}

HOOK int dup(int oldfd)
{
	int r = REAL(dup)(oldfd);
	if (r >= 0)
		tt_trace_dup(oldfd, r);
	return r;
}

HOOK int dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		tt_trace_replace(oldfd, newfd);
	int r = REAL(dup2)(oldfd, newfd);
	if (r >= 0 && oldfd != newfd)
		tt_trace_dup(oldfd, r);
	return r;
}

HOOK int dup3(int oldfd, int newfd, int flags)
{
	/* a call that will fail (EINVAL) closes nothing */
	if (oldfd != newfd && !(flags & ~O_CLOEXEC))
		tt_trace_replace(oldfd, newfd);
	int r = REAL(dup3)(oldfd, newfd, flags);
	if (r >= 0)
		tt_trace_dup(oldfd, r);
	return r;
}

/* fcntl's third argument is passed on as glibc itself reads it. */
static int fcntl_common(tt_real_fcntl_fn real, int fd, int cmd, void *arg)
{
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	int r = real(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		tt_trace_dup(fd, r);
	return r;
}

HOOK int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

HOOK int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common((tt_real_fcntl_fn)REAL(fcntl64), fd, cmd, arg);
}

HOOK int socket(int domain, int type, int protocol)
{
	tt_got_refresh();
	int r = REAL(socket)(domain, type, protocol);
	if (r >= 0)
		tt_trace_newfd_as(r, tt_trace_socket_kind(domain, type));
	return r;
}

HOOK int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = REAL(socketpair)(domain, type, protocol, sv);
	if (r == 0) {
		/* AF_UNIX: never TLS over TCP */
		tt_trace_newfd_as(sv[0], TT_FD_PASS);
		tt_trace_newfd_as(sv[1], TT_FD_PASS);
	}
	return r;
}

HOOK int pipe(int fds[2])
{
	int r = REAL(pipe)(fds);
	if (r == 0) {
		tt_trace_newfd_as(fds[0], TT_FD_PASS);
		tt_trace_newfd_as(fds[1], TT_FD_PASS);
	}
	return r;
}

HOOK int pipe2(int fds[2], int flags)
{
	int r = REAL(pipe2)(fds, flags);
	if (r == 0) {
		tt_trace_newfd_as(fds[0], TT_FD_PASS);
		tt_trace_newfd_as(fds[1], TT_FD_PASS);
	}
	return r;
}

HOOK int connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	tt_got_refresh();
	int r = REAL(connect)(fd, addr, alen);
	/* a failed connect (EISCONN, EALREADY...) leaves the socket as it
	 * was; only a new connection starts a new stream */
	if (r == 0 || errno == EINPROGRESS) {
		int saved = errno;
		/* still the TCP socket socket() made, if it was one */
		struct tt_fdent *e = tt_fd_get(fd);
		bool tcp = e && tt_fd_kind(e) == TT_FD_CANDIDATE;
		tt_trace_newfd_as(fd, tcp ? TT_FD_CANDIDATE : TT_FD_UNKNOWN);
		errno = saved;
	}
	return r;
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	tt_got_refresh();
	int r = REAL(accept)(fd, addr, alen);
	if (r >= 0)
		tt_trace_newfd_as(r, tt_trace_accepted_kind(fd));
	return r;
}

HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	tt_got_refresh();
	int r = REAL(accept4)(fd, addr, alen, flags);
	if (r >= 0)
		tt_trace_newfd_as(r, tt_trace_accepted_kind(fd));
	return r;
}
