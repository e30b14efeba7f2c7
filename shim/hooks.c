/* The interposed libc entry points.
 *
 * Each hook is the real call plus, for descriptors that may carry TLS, a
 * hand-off of the bytes it moved.  A descriptor known not to be TLS costs
 * one table lookup.  Return values and errno are the real call's: the
 * tracing side saves and restores errno itself.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

static inline struct tt_fdent *watched(int fd)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (__builtin_expect(e != NULL && tt_fd_kind(e) == TT_FD_PASS, 1))
		return NULL;
	return e;
}

#define AFTER(fd, e, dir, buf, r, want, call)                                  \
	do {                                                                   \
		if ((r) > 0)                                                   \
			tt_trace_bytes((fd), (e), (dir), (buf), (size_t)(r));  \
		else                                                           \
			tt_trace_fail((fd), (e), (dir), (r), (want), errno,    \
				      (call));                                 \
	} while (0)

HOOK ssize_t read(int fd, void *buf, size_t n)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(read)(fd, buf, n);
	ssize_t r = REAL(read)(fd, buf, n);
	AFTER(fd, e, TT_IN, buf, r, n, "read");
	return r;
}

HOOK ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__read_chk)(fd, buf, n, buflen);
	ssize_t r = REAL(__read_chk)(fd, buf, n, buflen);
	AFTER(fd, e, TT_IN, buf, r, n, "__read_chk");
	return r;
}

HOOK ssize_t write(int fd, const void *buf, size_t n)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(write)(fd, buf, n);
	ssize_t r = REAL(write)(fd, buf, n);
	AFTER(fd, e, TT_OUT, buf, r, n, "write");
	return r;
}

static size_t iov_bytes(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* MSG_PEEK leaves the bytes in the socket: they are seen when read. */
HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recv)(fd, buf, n, flags);
	ssize_t r = REAL(recv)(fd, buf, n, flags);
	if (!(flags & MSG_PEEK))
		AFTER(fd, e, TT_IN, buf, r, n, "recv");
	return r;
}

HOOK ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__recv_chk)(fd, buf, n, buflen, flags);
	ssize_t r = REAL(__recv_chk)(fd, buf, n, buflen, flags);
	if (!(flags & MSG_PEEK))
		AFTER(fd, e, TT_IN, buf, r, n, "__recv_chk");
	return r;
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
		      struct sockaddr *addr, socklen_t *alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	if (!(flags & MSG_PEEK))
		AFTER(fd, e, TT_IN, buf, r, n, "recvfrom");
	return r;
}

HOOK ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			    int flags, struct sockaddr *addr, socklen_t *alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
	ssize_t r = REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
	if (!(flags & MSG_PEEK))
		AFTER(fd, e, TT_IN, buf, r, n, "__recvfrom_chk");
	return r;
}

HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(send)(fd, buf, n, flags);
	ssize_t r = REAL(send)(fd, buf, n, flags);
	AFTER(fd, e, TT_OUT, buf, r, n, "send");
	return r;
}

HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		    const struct sockaddr *addr, socklen_t alen)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	ssize_t r = REAL(sendto)(fd, buf, n, flags, addr, alen);
	AFTER(fd, e, TT_OUT, buf, r, n, "sendto");
	return r;
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(readv)(fd, iov, iovcnt);
	ssize_t r = REAL(readv)(fd, iov, iovcnt);
	if (r > 0)
		tt_trace_iov(fd, e, TT_IN, iov, (size_t)iovcnt, (size_t)r);
	else
		tt_trace_fail(fd, e, TT_IN, r, iov_bytes(iov, iovcnt), errno,
			      "readv");
	return r;
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(writev)(fd, iov, iovcnt);
	ssize_t r = REAL(writev)(fd, iov, iovcnt);
	if (r > 0)
		tt_trace_iov(fd, e, TT_OUT, iov, (size_t)iovcnt, (size_t)r);
	else
		tt_trace_fail(fd, e, TT_OUT, r, 1, errno, "writev");
	return r;
}

HOOK ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(recvmsg)(fd, msg, flags);
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	if (r > 0 && !(flags & MSG_PEEK))
		tt_trace_iov(fd, e, TT_IN, msg->msg_iov, msg->msg_iovlen,
			     (size_t)r);
	else if (r <= 0)
		tt_trace_fail(fd, e, TT_IN, r,
			      iov_bytes(msg->msg_iov, (int)msg->msg_iovlen),
			      errno, "recvmsg");
	return r;
}

HOOK ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct tt_fdent *e = watched(fd);
	if (__builtin_expect(e == NULL, 1))
		return REAL(sendmsg)(fd, msg, flags);
	ssize_t r = REAL(sendmsg)(fd, msg, flags);
	if (r > 0)
		tt_trace_iov(fd, e, TT_OUT, msg->msg_iov, msg->msg_iovlen,
			     (size_t)r);
	else
		tt_trace_fail(fd, e, TT_OUT, r, 1, errno, "sendmsg");
	return r;
}

HOOK int close(int fd)
{
	/* The log's own descriptor stays open (closefrom-style loops in
	 * daemons); the host sees the success it would have seen. */
	if (__builtin_expect(tt_log_owns_fd(fd), 0) && !tt_busy)
		return 0;
	tt_trace_close(fd);
	return REAL(close)(fd);
}

HOOK int dup2(int oldfd, int newfd)
{
	if (__builtin_expect(tt_log_owns_fd(newfd), 0) && oldfd != newfd)
		tt_log_step_aside();
	int r = REAL(dup2)(oldfd, newfd);
	if (r >= 0 && oldfd != newfd)
		tt_trace_newfd(r);
	return r;
}

HOOK int dup3(int oldfd, int newfd, int flags)
{
	if (__builtin_expect(tt_log_owns_fd(newfd), 0) && oldfd != newfd)
		tt_log_step_aside();
	int r = REAL(dup3)(oldfd, newfd, flags);
	if (r >= 0)
		tt_trace_newfd(r);
	return r;
}

HOOK int socket(int domain, int type, int protocol)
{
	int r = REAL(socket)(domain, type, protocol);
	if (r >= 0)
		tt_trace_newfd(r);
	return r;
}

HOOK int connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	int r = REAL(connect)(fd, addr, alen);
	/* a failed connect (EISCONN, EALREADY...) leaves the socket as it
	 * was; only a new connection starts a new stream */
	if (r == 0 || errno == EINPROGRESS) {
		int saved = errno;
		tt_trace_newfd(fd);
		errno = saved;
	}
	return r;
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	int r = REAL(accept)(fd, addr, alen);
	if (r >= 0)
		tt_trace_newfd(r);
	return r;
}

HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	int r = REAL(accept4)(fd, addr, alen, flags);
	if (r >= 0)
		tt_trace_newfd(r);
	return r;
}
