/* Transparency: the I/O calls tlstrace hooks, and the descriptor calls
 * around them, with the arguments programs get wrong or rely on.  Each
 * step prints one line: case, step, return value, errno name and, when
 * bytes came back, an FNV-1a hash of the receive buffer.  A traced run
 * must print exactly what an untraced run prints.
 *
 *   transparency [--wait] [--list] [CASE | PREFIX/ ...]
 *
 * --wait: read one byte of stdin first (a tracer attaches meanwhile).
 * Cases are named KIND/CALL/VARIANT; with arguments, only the cases named
 * and those whose name starts with a PREFIX/ run (--list: their names).
 * Every case makes its own descriptors, of one kind:
 *
 *   tcp-plain     a connection over 127.0.0.1 (connect and accept here)
 *   tcp-tls       the same after a TLS 1.3 ClientHello and ServerHello,
 *                 so that both ends are traced before the case runs
 *   unix          an AF_UNIX stream socketpair
 *   pipe          a pipe
 *   file          a regular file (unlinked), written through one
 *                 descriptor and read through another
 *   ebadf-neg, ebadf-high, ebadf-closed
 *                 no descriptor: -1, a number above RLIMIT_NOFILE, the
 *                 numbers of a traced connection just closed
 *
 * An edge case is one call: before it, records may wait on the reading
 * side; after it, one more record is written, the writer ends the stream
 * and the reader reads it to its end, so that a call which took or left
 * bytes it should not shows.  Payloads are whole application_data
 * records, so that a traced stream stays parseable.  Nothing printed
 * depends on pids, ports, descriptor numbers or timing.  SIGPIPE is
 * ignored, except in the forked children that show it is delivered.
 * Exit status 0 when every case ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define REC 21 /* an application_data record: 5-byte header, 16 bytes */

/* K_BAD: no descriptor; every edge case runs, with nothing around it */
enum { K_TCP = 1, K_TLS = 2, K_UNIX = 4, K_PIPE = 8, K_FILE = 16, K_BAD = 32 };
#define SOCK	(K_TCP | K_TLS | K_UNIX)
#define STREAM	(SOCK | K_PIPE)
#define ANY	(STREAM | K_FILE)
#define NOTSOCK (K_PIPE | K_FILE)

struct fx {
	int wr, rd; /* bytes written to wr are read from rd */
};

static const char *cur; /* the running case's name */
/* volatile: the compiler must not see (and warn about) what is passed */
static void *volatile nullp;
static void *volatile badp = (void *)16;
static volatile int neg = -1, huge = 1 << 30;

static void die(const char *what)
{
	fprintf(stderr, "transparency: %s: %s: %s\n", cur, what,
		strerror(errno));
	exit(2);
}

static const char *ename(int e)
{
	static char num[16];
	const char *n = e ? strerrorname_np(e) : "0";
	if (n)
		return n;
	snprintf(num, sizeof(num), "%d", e);
	return num;
}

static uint32_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

/* buf, n: what to hash when r > 0 */
static void show(const char *step, long r, int e, const void *buf, size_t n)
{
	printf("%s%s%s: ret=%ld errno=%s", cur, *step ? " " : "", step, r,
	       ename(e));
	if (buf && r > 0)
		printf(" data=%08x", fnv(buf, n));
	putchar('\n');
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s ", cur);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* One step; errno is cleared first, so that a success that changed it
 * shows too.  buf: received bytes (r of them). */
#define T(step, buf, expr)                                                     \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		int e_ = errno;                                                \
		show(step, r_, e_, buf, r_ > 0 ? (size_t)r_ : 0);              \
	} while (0)

/* A call that returns a descriptor: its number depends on what else is
 * open (a preloaded library's log, for one), so only whether it is what
 * was asked for (ok) is printed. */
#define TFD(step, var, expr, ok)                                               \
	do {                                                                   \
		errno = 0;                                                     \
		var = (expr);                                                  \
		int e_ = errno;                                                \
		if (var >= 0 && (ok))                                          \
			printf("%s %s: ret=fd errno=%s\n", cur, step,          \
			       ename(e_));                                     \
		else                                                           \
			show(step, var, e_, NULL, 0);                          \
	} while (0)

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM every 20 ms, installed without SA_RESTART: a blocking call
 * returns EINTR.  It repeats until disarmed, so it cannot come too early. */
static void arm(int on)
{
	struct itimerval it = {{0, on ? 20000 : 0}, {0, on ? 20000 : 0}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- bytes ---- */

static void rec(uint8_t *b, int seed)
{
	memcpy(b, "\x17\x03\x03\x00\x10", 5);
	for (int i = 5; i < REC; i++)
		b[i] = (uint8_t)(seed * 31 + i);
}

static void xwrite(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		die("write");
}

static void xread(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			die("read");
		got += (size_t)r;
	}
}

static void put(int fd, int seed)
{
	uint8_t b[REC];
	rec(b, seed);
	xwrite(fd, b, REC);
}

/* What the reader gets next, when at most one write is on its way
 * (bounded: a missing byte prints, not hangs). */
static void after(const char *step, int fd)
{
	uint8_t b[256];
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, 5000) != 1) {
		note("%s: nothing to read after 5 s", step);
		return;
	}
	T(step, b, read(fd, b, sizeof(b)));
}

/* Waits until n bytes are there to read: loopback delivery can lag. */
static void ready(int fd, int n)
{
	int q = 0;
	for (int i = 0; i < 5000; i++) {
		if (ioctl(fd, FIONREAD, &q) < 0 || q >= n)
			return;
		usleep(1000);
	}
}

/* Ends the stream from the writing side and reads it to its end: all the
 * reader still gets, however the delivery was timed. */
static void drain(struct fx *f, const char *step)
{
	uint8_t b[4096];
	size_t got = 0;
	long r;
	if (shutdown(f->wr, SHUT_WR) < 0) { /* a pipe or a file */
		close(f->wr);
		f->wr = -1;
	}
	do {
		struct pollfd p = {f->rd, POLLIN, 0};
		if (poll(&p, 1, 5000) != 1) {
			note("%s: no end after 5 s", step);
			return;
		}
		errno = 0;
		r = read(f->rd, b + got, sizeof(b) - got);
		got += r > 0 ? (size_t)r : 0;
	} while (r > 0 && got < sizeof(b));
	printf("%s %s: bytes=%zu data=%08x end=%ld errno=%s\n", cur, step, got,
	       fnv(b, got), r, ename(r < 0 ? errno : 0));
}

static uint8_t *be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		*p++ = (uint8_t)(seed + 13 * i);
	return p;
}

/* A TLS 1.3 ClientHello (server 0) or ServerHello (server 1) record, with
 * fixed randoms and X25519 key shares. */
static size_t hello(uint8_t *out, int server)
{
	uint8_t *p = be16(out + 9, 0x0303);
	p = fill(p, 32, server ? 0x51 : 0x11); /* random */
	*p++ = 32;
	p = fill(p, 32, 0x77); /* legacy_session_id */
	if (server) {
		p = be16(p, 0x1301);
		*p++ = 0;
	} else {
		p = be16(be16(be16(be16(p, 6), 0x1301), 0x1302), 0x1303);
		*p++ = 1;
		*p++ = 0;
	}
	uint8_t *ext = p;
	p += 2;
	if (!server) {
		p = be16(be16(be16(p, 0x0000), 14), 12); /* server_name */
		*p++ = 0;
		p = be16(p, 9);
		memcpy(p, "localhost", 9);
		p += 9;
		p = be16(be16(be16(be16(p, 0x000a), 4), 2), 0x001d);
		p = be16(be16(be16(be16(p, 0x000d), 4), 2), 0x0403);
		p = be16(be16(p, 0x002b), 3);
		*p++ = 2;
		p = be16(p, 0x0304);
		p = be16(be16(be16(p, 0x0033), 38), 36);
	} else {
		p = be16(be16(be16(p, 0x002b), 2), 0x0304);
		p = be16(be16(p, 0x0033), 36);
	}
	p = be16(be16(p, 0x001d), 32);
	p = fill(p, 32, server ? 0x99 : 0x33);
	be16(ext, (unsigned)(p - ext - 2));
	unsigned hs = (unsigned)(p - out) - 9;
	out[0] = 22;
	be16(be16(out + 1, server ? 0x0303 : 0x0301), hs + 4);
	out[5] = server ? 2 : 1;
	out[6] = 0;
	be16(out + 7, hs);
	return (size_t)(p - out);
}

/* ---- fixtures ---- */

static int lfd = -1;
static struct sockaddr_in laddr;

static void tcp_open(struct fx *f)
{
	int one = 1;
	socklen_t sl = sizeof(laddr);
	if (lfd < 0) {
		laddr.sin_family = AF_INET;
		laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 ||
		    bind(lfd, (struct sockaddr *)&laddr, sizeof(laddr)) < 0 ||
		    listen(lfd, 8) < 0 ||
		    getsockname(lfd, (struct sockaddr *)&laddr, &sl) < 0)
			die("listen");
	}
	f->wr = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->wr < 0 ||
	    connect(f->wr, (struct sockaddr *)&laddr, sizeof(laddr)) < 0)
		die("connect");
	f->rd = accept(lfd, NULL, NULL);
	if (f->rd < 0)
		die("accept");
	/* each write one segment, sent at once */
	setsockopt(f->wr, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(f->rd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void tls_open(struct fx *f)
{
	uint8_t ch[256], sh[256], got[256];
	size_t n = hello(ch, 0), m = hello(sh, 1);
	tcp_open(f);
	xwrite(f->wr, ch, n);
	xread(f->rd, got, n);
	xwrite(f->rd, sh, m);
	xread(f->wr, got, m);
}

static void unix_open(struct fx *f)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	f->wr = sv[0];
	f->rd = sv[1];
}

static void pipe_open(struct fx *f)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	f->wr = p[1];
	f->rd = p[0];
}

/* An unlinked regular file; with rd, a second descriptor that reads it
 * from the start. */
static int tmpfd(int *rd)
{
	char path[] = "/tmp/transparency-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || (rd && (*rd = open(path, O_RDONLY | O_CLOEXEC)) < 0))
		die("mkstemp");
	unlink(path);
	return fd;
}

static void file_open(struct fx *f)
{
	f->wr = tmpfd(&f->rd);
}

static void closed_open(struct fx *f)
{
	tls_open(f);
	close(f->wr);
	close(f->rd);
}

/* ---- edge cases: one call each ---- */

struct ctx {
	uint8_t b[64];	     /* two records, then zeros; reads land here too */
	struct iovec iov[2]; /* b split at 7: 42 bytes */
	struct iovec one[2]; /* b as two records, one per mmsghdr */
	struct iovec nb;     /* a NULL base, REC long */
	struct msghdr m;
	struct mmsghdr mm[2];
	struct sockaddr_storage ss;
	socklen_t sl;
};

enum { M_OK, M_NOIOV, M_HUGE, M_NULLIOV, M_BADIOV, M_NULLBASE, M_BADNAME };

/* A msghdr over the context's buffer, spoilt one way. */
static struct msghdr *mh(struct ctx *c, int how)
{
	struct msghdr *m = &c->m;
	memset(m, 0, sizeof(*m));
	m->msg_iov = c->iov;
	m->msg_iovlen = 2;
	if (how == M_NOIOV)
		m->msg_iovlen = 0;
	if (how == M_HUGE)
		m->msg_iovlen = 1 << 30;
	if (how == M_NULLIOV || how == M_BADIOV)
		m->msg_iov = how == M_NULLIOV ? nullp : badp;
	if (how == M_NULLBASE) {
		m->msg_iov = &c->nb;
		m->msg_iovlen = 1;
	}
	if (how == M_BADNAME) {
		m->msg_name = badp;
		m->msg_namelen = sizeof(struct sockaddr_in);
	}
	return m;
}

/* Two mmsghdrs of one record each; the first spoilt as mh() does. */
static struct mmsghdr *mmh(struct ctx *c, int how)
{
	c->mm[0].msg_hdr = *mh(c, how);
	if (how == M_OK) {
		c->mm[0].msg_hdr.msg_iov = &c->one[0];
		c->mm[0].msg_hdr.msg_iovlen = 1;
	}
	c->mm[1].msg_hdr = c->mm[0].msg_hdr;
	c->mm[1].msg_hdr.msg_iov = &c->one[1];
	c->mm[0].msg_len = c->mm[1].msg_len = 0;
	return c->mm;
}

/* What _FORTIFY_SOURCE builds call; tlstrace hooks them too. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);

#define NB(fd) (fcntl(fd, F_SETFL, O_NONBLOCK), fd)
#define TRUNC  (MSG_TRUNC | MSG_WAITALL)

/* X(call, variant, kinds, records waiting before the call (-1: none,
 *   and SIGALRM until it returns), the call) */
#define EDGES(X)                                                               \
	X(read, basic, ANY, 1, read(f->rd, c->b, 64))                          \
	X(read, len0, ANY, 1, read(f->rd, c->b, 0))                            \
	X(read, null, ANY, 1, read(f->rd, nullp, REC))                         \
	X(read, bad, ANY, 1, read(f->rd, badp, REC))                           \
	X(read, eagain, STREAM, 0, read(NB(f->rd), c->b, 64))                  \
	X(read, eintr, STREAM, -1, read(f->rd, c->b, 64))                      \
	X(write, basic, ANY, 0, write(f->wr, c->b, REC))                       \
	X(write, len0, ANY, 0, write(f->wr, c->b, 0))                          \
	X(write, null_len0, ANY, 0, write(f->wr, nullp, 0))                    \
	X(write, null, ANY, 0, write(f->wr, nullp, REC))                       \
	X(write, bad, ANY, 0, write(f->wr, badp, REC))                         \
	X(readv, basic, ANY, 1, readv(f->rd, c->iov, 2))                       \
	X(readv, cnt0, ANY, 1, readv(f->rd, c->iov, 0))                        \
	X(readv, cnt_neg, ANY, 1, readv(f->rd, c->iov, neg))                   \
	X(readv, cnt_huge, ANY, 1, readv(f->rd, c->iov, huge))                 \
	X(readv, null_iov, ANY, 1, readv(f->rd, nullp, 1))                     \
	X(readv, bad_iov, ANY, 1, readv(f->rd, badp, 2))                       \
	X(readv, null_base, ANY, 1, readv(f->rd, &c->nb, 1))                   \
	X(readv, eagain, STREAM, 0, readv(NB(f->rd), c->iov, 2))               \
	X(readv, eintr, STREAM, -1, readv(f->rd, c->iov, 2))                   \
	X(writev, basic, ANY, 0, writev(f->wr, c->iov, 2))                     \
	X(writev, cnt0, ANY, 0, writev(f->wr, c->iov, 0))                      \
	X(writev, cnt_neg, ANY, 0, writev(f->wr, c->iov, neg))                 \
	X(writev, cnt_huge, ANY, 0, writev(f->wr, c->iov, huge))               \
	X(writev, null_iov, ANY, 0, writev(f->wr, nullp, 1))                   \
	X(writev, bad_iov, ANY, 0, writev(f->wr, badp, 1))                     \
	X(writev, null_base, ANY, 0, writev(f->wr, &c->nb, 1))                 \
	X(recv, basic, SOCK, 1, recv(f->rd, c->b, 64, 0))                      \
	X(recv, len0, SOCK, 1, recv(f->rd, c->b, 0, 0))                        \
	X(recv, null, SOCK, 1, recv(f->rd, nullp, REC, 0))                     \
	X(recv, bad, SOCK, 1, recv(f->rd, badp, REC, 0))                       \
	X(recv, waitall, SOCK, 2, recv(f->rd, c->b, 2 * REC, MSG_WAITALL))     \
	X(recv, trunc_null, SOCK, 2, recv(f->rd, nullp, REC, TRUNC))           \
	X(recv, peek, SOCK, 1, recv(f->rd, c->b, 64, MSG_PEEK))                \
	X(recv, dontwait, SOCK, 0, recv(f->rd, c->b, 64, MSG_DONTWAIT))        \
	X(recv, eagain, SOCK, 0, recv(NB(f->rd), c->b, 64, 0))                 \
	X(recv, eintr, SOCK, -1, recv(f->rd, c->b, 64, 0))                     \
	X(send, basic, SOCK, 0, send(f->wr, c->b, REC, 0))                     \
	X(send, len0, SOCK, 0, send(f->wr, c->b, 0, 0))                        \
	X(send, null, SOCK, 0, send(f->wr, nullp, REC, 0))                     \
	X(send, bad, SOCK, 0, send(f->wr, badp, REC, 0))                       \
	X(send, dontwait, SOCK, 0, send(f->wr, c->b, REC, MSG_DONTWAIT))       \
	X(recvfrom, basic, SOCK, 1, recvfrom(f->rd, c->b, 64, 0, NULL, NULL))  \
	X(recvfrom, addr, SOCK, 1,                                             \
	  recvfrom(f->rd, c->b, 64, 0, (void *)&c->ss, &c->sl))                \
	X(recvfrom, null, SOCK, 1, recvfrom(f->rd, nullp, REC, 0, NULL, NULL)) \
	X(recvfrom, bad_addrlen, SOCK, 1,                                      \
	  recvfrom(f->rd, c->b, 64, 0, (void *)&c->ss, badp))                  \
	X(recvfrom, trunc_null, SOCK, 2,                                       \
	  recvfrom(f->rd, nullp, REC, TRUNC, NULL, NULL))                      \
	X(recvfrom, eagain, SOCK, 0,                                           \
	  recvfrom(f->rd, c->b, 64, MSG_DONTWAIT, NULL, NULL))                 \
	X(recvfrom, eintr, SOCK, -1, recvfrom(f->rd, c->b, 64, 0, NULL, NULL)) \
	X(sendto, basic, SOCK, 0, sendto(f->wr, c->b, REC, 0, NULL, 0))        \
	X(sendto, len0, SOCK, 0, sendto(f->wr, c->b, 0, 0, NULL, 0))           \
	X(sendto, null, SOCK, 0, sendto(f->wr, nullp, REC, 0, NULL, 0))        \
	X(recvmsg, basic, SOCK, 1, recvmsg(f->rd, mh(c, M_OK), 0))             \
	X(recvmsg, iovlen0, SOCK, 1, recvmsg(f->rd, mh(c, M_NOIOV), 0))        \
	X(recvmsg, null_msghdr, SOCK, 1, recvmsg(f->rd, nullp, 0))             \
	X(recvmsg, bad_msghdr, SOCK, 1, recvmsg(f->rd, badp, 0))               \
	X(recvmsg, iovlen_huge, SOCK, 1, recvmsg(f->rd, mh(c, M_HUGE), 0))     \
	X(recvmsg, null_iov, SOCK, 1, recvmsg(f->rd, mh(c, M_NULLIOV), 0))     \
	X(recvmsg, bad_iov, SOCK, 1, recvmsg(f->rd, mh(c, M_BADIOV), 0))       \
	X(recvmsg, null_base, SOCK, 1, recvmsg(f->rd, mh(c, M_NULLBASE), 0))   \
	X(recvmsg, trunc_null, SOCK, 2,                                        \
	  recvmsg(f->rd, mh(c, M_NULLBASE), TRUNC))                            \
	X(recvmsg, peek, SOCK, 1, recvmsg(f->rd, mh(c, M_OK), MSG_PEEK))       \
	X(recvmsg, eagain, SOCK, 0, recvmsg(f->rd, mh(c, M_OK), MSG_DONTWAIT)) \
	X(recvmsg, eintr, SOCK, -1, recvmsg(f->rd, mh(c, M_OK), 0))            \
	X(sendmsg, basic, SOCK, 0, sendmsg(f->wr, mh(c, M_OK), 0))             \
	X(sendmsg, iovlen0, SOCK, 0, sendmsg(f->wr, mh(c, M_NOIOV), 0))        \
	X(sendmsg, null_msghdr, SOCK, 0, sendmsg(f->wr, nullp, 0))             \
	X(sendmsg, bad_msghdr, SOCK, 0, sendmsg(f->wr, badp, 0))               \
	X(sendmsg, iovlen_huge, SOCK, 0, sendmsg(f->wr, mh(c, M_HUGE), 0))     \
	X(sendmsg, null_iov, SOCK, 0, sendmsg(f->wr, mh(c, M_NULLIOV), 0))     \
	X(sendmsg, bad_iov, SOCK, 0, sendmsg(f->wr, mh(c, M_BADIOV), 0))       \
	X(sendmsg, null_base, SOCK, 0, sendmsg(f->wr, mh(c, M_NULLBASE), 0))   \
	X(sendmsg, bad_name, SOCK, 0, sendmsg(f->wr, mh(c, M_BADNAME), 0))     \
	X(recvmmsg, basic, SOCK, 2,                                            \
	  recvmmsg(f->rd, mmh(c, M_OK), 2, MSG_WAITFORONE, NULL))              \
	X(recvmmsg, vlen0, SOCK, 1, recvmmsg(f->rd, mmh(c, M_OK), 0, 0, NULL)) \
	X(recvmmsg, null_vec, SOCK, 1, recvmmsg(f->rd, nullp, 1, 0, NULL))     \
	X(recvmmsg, iovlen_huge, SOCK, 1,                                      \
	  recvmmsg(f->rd, mmh(c, M_HUGE), 1, 0, NULL))                         \
	X(recvmmsg, null_base, SOCK, 1,                                        \
	  recvmmsg(f->rd, mmh(c, M_NULLBASE), 1, 0, NULL))                     \
	X(recvmmsg, trunc_null, SOCK, 2,                                       \
	  recvmmsg(f->rd, mmh(c, M_NULLBASE), 1, TRUNC, NULL))                 \
	X(recvmmsg, eagain, SOCK, 0,                                           \
	  recvmmsg(f->rd, mmh(c, M_OK), 2, MSG_DONTWAIT, NULL))                \
	X(recvmmsg, eintr, SOCK, -1,                                           \
	  recvmmsg(f->rd, mmh(c, M_OK), 2, 0, NULL))                           \
	X(sendmmsg, basic, SOCK, 0, sendmmsg(f->wr, mmh(c, M_OK), 2, 0))       \
	X(sendmmsg, vlen0, SOCK, 0, sendmmsg(f->wr, mmh(c, M_OK), 0, 0))       \
	X(sendmmsg, null_vec, SOCK, 0, sendmmsg(f->wr, nullp, 1, 0))           \
	X(sendmmsg, iovlen_huge, SOCK, 0,                                      \
	  sendmmsg(f->wr, mmh(c, M_HUGE), 1, 0))                               \
	X(sendmmsg, null_base, SOCK, 0,                                        \
	  sendmmsg(f->wr, mmh(c, M_NULLBASE), 1, 0))                           \
	X(recv, notsock, NOTSOCK, 1, recv(f->rd, c->b, 64, 0))                 \
	X(recv, notsock_trunc_null, NOTSOCK, 1,                                \
	  recv(f->rd, nullp, REC, TRUNC))                                      \
	X(send, notsock, NOTSOCK, 0, send(f->wr, c->b, REC, 0))                \
	X(recvfrom, notsock, NOTSOCK, 1,                                       \
	  recvfrom(f->rd, c->b, 64, 0, NULL, NULL))                            \
	X(sendto, notsock, NOTSOCK, 0, sendto(f->wr, c->b, REC, 0, NULL, 0))   \
	X(recvmsg, notsock, NOTSOCK, 1, recvmsg(f->rd, mh(c, M_OK), 0))        \
	X(recvmsg, notsock_null, NOTSOCK, 1, recvmsg(f->rd, nullp, 0))         \
	X(sendmsg, notsock_null, NOTSOCK, 0, sendmsg(f->wr, nullp, 0))         \
	X(recvmmsg, notsock, NOTSOCK, 1,                                       \
	  recvmmsg(f->rd, mmh(c, M_OK), 2, 0, NULL))                           \
	X(sendmmsg, notsock, NOTSOCK, 0, sendmmsg(f->wr, mmh(c, M_OK), 2, 0))  \
	X(__read_chk, basic, ANY, 1, __read_chk(f->rd, c->b, 64, 64))          \
	X(__read_chk, null, ANY, 1, __read_chk(f->rd, nullp, REC, REC))        \
	X(__recv_chk, trunc_null, SOCK, 2,                                     \
	  __recv_chk(f->rd, nullp, REC, REC, TRUNC))                           \
	X(__recvfrom_chk, trunc_null, SOCK, 2,                                 \
	  __recvfrom_chk(f->rd, nullp, REC, REC, TRUNC, NULL, NULL))           \
	X(dup, ebadf, 0, 0, dup(f->wr))                                        \
	X(dup2, ebadf, 0, 0, dup2(f->wr, 203))                                 \
	X(dup3, ebadf, 0, 0, dup3(f->wr, 203, O_CLOEXEC))                      \
	X(fcntl, dupfd_ebadf, 0, 0, fcntl(f->wr, F_DUPFD, 100))                \
	X(fcntl, dupfd_cloexec_ebadf, 0, 0,                                    \
	  fcntl(f->wr, F_DUPFD_CLOEXEC, 100))                                  \
	X(splice, ebadf, 0, 0, splice(f->rd, NULL, f->wr, NULL, REC, 0))       \
	X(sendfile, ebadf, 0, 0, sendfile(f->wr, f->rd, NULL, REC))            \
	X(close, ebadf, 0, 0, close(f->wr))

#define X(call, var, kinds, pre, expr)                                         \
	static long e_##call##_##var(struct fx *f, struct ctx *c)              \
	{                                                                      \
		(void)f;                                                       \
		(void)c;                                                       \
		return (long)(expr);                                           \
	}
EDGES(X)
#undef X

/* Runs one edge case; bad: no descriptor, so nothing around the call. */
static void edge(long (*fn)(struct fx *, struct ctx *), int pre, struct fx *f,
		 int bad)
{
	struct ctx c;
	memset(&c, 0, sizeof(c));
	rec(c.b, 50);
	rec(c.b + REC, 51);
	c.iov[0] = (struct iovec){c.b, 7};
	c.iov[1] = (struct iovec){c.b + 7, 2 * REC - 7};
	c.one[0] = (struct iovec){c.b, REC};
	c.one[1] = (struct iovec){c.b + REC, REC};
	c.nb = (struct iovec){nullp, REC};
	c.sl = sizeof(c.ss);
	for (int i = 0; !bad && i < pre; i++)
		put(f->wr, 52 + i);
	if (!bad && pre > 0)
		ready(f->rd, pre * REC);
	if (pre < 0)
		arm(1);
	errno = 0;
	long r = fn(f, &c);
	int e = errno;
	arm(0);
	show("", r, e, pre ? c.b : NULL, sizeof(c.b)); /* pre: a read */
	if (bad)
		return;
	put(f->wr, 55);
	drain(f, "then");
}

/* ---- cases of several steps ---- */

static void c_peek_then_read(struct fx *f)
{
	uint8_t b[64];
	put(f->wr, 1);
	T("peek5", b, recv(f->rd, b, 5, MSG_PEEK));
	T("peek", b, recv(f->rd, b, sizeof(b), MSG_PEEK));
	T("read", b, read(f->rd, b, sizeof(b)));
}

static void c_read_eof(struct fx *f)
{
	uint8_t b[64];
	put(f->wr, 2);
	close(f->wr);
	f->wr = -1;
	T("read", b, read(f->rd, b, sizeof(b)));
	T("eof", b, read(f->rd, b, sizeof(b)));
}

/* Writes until one fails: a TCP peer answers the first with a RST, which
 * may take a moment to arrive. */
static void write_till_fail(int fd, int flags, long *r, int *e)
{
	uint8_t b[REC];
	rec(b, 3);
	for (int i = 0; i < 2000; i++) {
		errno = 0;
		*r = flags < 0 ? write(fd, b, REC) : send(fd, b, REC, flags);
		*e = errno;
		if (*r < 0)
			return;
		if (i > 0)
			usleep(1000);
	}
}

static void c_write_epipe(struct fx *f)
{
	long r;
	int e;
	close(f->rd);
	f->rd = -1;
	write_till_fail(f->wr, -1, &r, &e);
	show("write", r, e, NULL, 0);
}

/* The peer closed; a child with SIGPIPE at its default writes (with
 * write(), flags -1, or send()): how the child ended. */
static void child_writes(struct fx *f, int flags)
{
	close(f->rd);
	f->rd = -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long r;
		int e;
		signal(SIGPIPE, SIG_DFL);
		write_till_fail(f->wr, flags, &r, &e);
		_exit(r < 0 ? e : 0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(st))
		note("child: killed by SIG%s", sigabbrev_np(WTERMSIG(st)));
	else
		note("child: exit errno=%s", ename(WEXITSTATUS(st)));
}

static void c_write_sigpipe(struct fx *f)
{
	child_writes(f, -1);
}

static void c_send_nosignal(struct fx *f)
{
	child_writes(f, MSG_NOSIGNAL);
}

static void c_send_shutdown(struct fx *f)
{
	uint8_t b[REC];
	rec(b, 4);
	shutdown(f->wr, SHUT_WR);
	T("send", NULL, send(f->wr, b, REC, 0));
	T("write", NULL, write(f->wr, b, REC));
	after("peer", f->rd);
}

/* Fills the send buffer with 4 KiB records until EAGAIN. */
static void c_send_full(struct fx *f)
{
	static uint8_t b[4096];
	memcpy(b, "\x17\x03\x03\x0f\xfb", 5);
	long r = 0;
	int e = 0;
	for (int i = 0; i < 100000 && r >= 0; i++) {
		errno = 0;
		r = send(f->wr, b, sizeof(b), MSG_DONTWAIT);
		e = errno;
	}
	show("send", r, e, NULL, 0);
}

static void c_splice(struct fx *f)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	put(p[1], 5);
	T("pipe-to-wr", NULL, splice(p[0], NULL, f->wr, NULL, REC, 0));
	after("then", f->rd);
	put(f->wr, 6);
	T("rd-to-pipe", NULL, splice(f->rd, NULL, p[1], NULL, REC, 0));
	after("pipe", p[0]);
	T("len0", NULL, splice(p[0], NULL, f->wr, NULL, 0, 0));
	T("empty-nonblock", NULL,
	  splice(p[0], NULL, f->wr, NULL, REC, SPLICE_F_NONBLOCK));
	put(f->wr, 7);
	after("then", f->rd);
	close(p[0]);
	close(p[1]);
}

static void c_sendfile(struct fx *f)
{
	int src = tmpfd(NULL);
	off_t off = 0;
	put(src, 8);
	put(src, 9);
	T("sendfile", NULL, sendfile(f->wr, src, &off, REC));
	note("sendfile: offset=%ld", (long)off);
	after("then", f->rd);
	T("len0", NULL, sendfile(f->wr, src, &off, 0));
	T("bad-offset", NULL, sendfile(f->wr, src, badp, REC));
	T("sendfile", NULL, sendfile(f->wr, src, &off, REC));
	after("then", f->rd);
	put(f->wr, 10);
	after("then", f->rd);
	close(src);
}

/* ---- descriptors: a copy carries the stream; the last close ends it */

static void through(int fd, int rd, const char *step, int seed)
{
	uint8_t b[REC];
	rec(b, seed);
	T(step, NULL, write(fd, b, REC));
	after("read", rd);
}

static void last_close(struct fx *f, int d, int seed)
{
	through(d, f->rd, "via-copy", seed);
	close(f->wr);
	f->wr = -1;
	through(d, f->rd, "copy-after-close", seed + 1);
	close(d);
	after("after-last-close", f->rd);
}

static void c_dup(struct fx *f)
{
	int d;
	TFD("dup", d, dup(f->wr), 1);
	last_close(f, d, 11);
}

static void c_dup2(struct fx *f)
{
	int d;
	TFD("dup2-self", d, dup2(f->wr, f->wr), d == f->wr);
	TFD("dup2", d, dup2(f->wr, 200), d == 200);
	last_close(f, 200, 13);
}

static void c_dup2_over(struct fx *f)
{
	int p[2], d;
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	put(f->wr, 15);
	TFD("dup2-pipe-over-wr", d, dup2(p[1], f->wr), d == f->wr);
	after("old-stream", f->rd);
	after("old-stream-end", f->rd);
	through(f->wr, p[0], "write-now-pipe", 16);
	close(p[0]);
	close(p[1]);
}

static void c_dup3(struct fx *f)
{
	int d;
	TFD("dup3-self", d, dup3(f->wr, f->wr, 0), 0);
	TFD("bad-flags", d, dup3(f->wr, 202, 0x4), 0);
	TFD("dup3", d, dup3(f->wr, 202, O_CLOEXEC), d == 202);
	note("dup3: cloexec=%d", fcntl(202, F_GETFD) & FD_CLOEXEC);
	last_close(f, 202, 17);
}

static void c_fcntl(struct fx *f)
{
	int d, d2;
	TFD("dupfd-neg", d, fcntl(f->wr, F_DUPFD, -1), 0);
	TFD("dupfd-cloexec", d2, fcntl(f->wr, F_DUPFD_CLOEXEC, 100), d2 >= 100);
	note("dupfd-cloexec: cloexec=%d", fcntl(d2, F_GETFD) & FD_CLOEXEC);
	through(d2, f->rd, "via-cloexec-copy", 19);
	close(d2);
	TFD("dupfd", d, fcntl(f->wr, F_DUPFD, 100), d >= 100);
	last_close(f, d, 20);
}

static void c_close_range(struct fx *f)
{
	dup2(f->wr, 300);
	dup2(f->wr, 301);
	T("einval", NULL, close_range(301, 300, 0));
	T("einval-flags", NULL, close_range(300, 301, 0x80));
	T("cloexec", NULL, close_range(300, 300, CLOSE_RANGE_CLOEXEC));
	note("cloexec: fd300-cloexec=%d", fcntl(300, F_GETFD) & FD_CLOEXEC);
	T("close_range", NULL, close_range(300, 301, 0));
	T("write-closed", NULL, write(300, "x", 1));
	through(f->wr, f->rd, "write-original", 22);
	dup2(f->wr, 300);
	close(f->wr);
	f->wr = -1;
	T("last", NULL, close_range(300, ~0U, 0));
	after("after-last-close", f->rd);
}

/* ---- the table ---- */

/* Laid out by hand: clang-format cannot with a macro in the table. */
/* clang-format off */

static const struct tcase {
	const char *call, *variant;
	int kinds, pre;
	long (*edge)(struct fx *, struct ctx *);
	void (*steps)(struct fx *);
} cases[] = {
#define X(call, var, kinds, pre, expr)                                         \
	{#call, #var, kinds, pre, e_##call##_##var, NULL},
	EDGES(X)
#undef X
	{"recv", "peek_then_read", SOCK, 0, NULL, c_peek_then_read},
	{"read", "eof", ANY, 0, NULL, c_read_eof},
	{"write", "epipe", STREAM, 0, NULL, c_write_epipe},
	{"write", "sigpipe_default", STREAM, 0, NULL, c_write_sigpipe},
	{"send", "epipe_shutdown", SOCK, 0, NULL, c_send_shutdown},
	{"send", "nosignal_child", SOCK, 0, NULL, c_send_nosignal},
	{"send", "eagain_full", SOCK, 0, NULL, c_send_full},
	{"splice", "all", ANY, 0, NULL, c_splice},
	{"sendfile", "all", ANY, 0, NULL, c_sendfile},
	{"dup", "last_close", ANY, 0, NULL, c_dup},
	{"dup2", "last_close", ANY, 0, NULL, c_dup2},
	{"dup2", "over_open_fd", ANY, 0, NULL, c_dup2_over},
	{"dup3", "last_close", ANY, 0, NULL, c_dup3},
	{"fcntl", "dupfd", ANY, 0, NULL, c_fcntl},
	{"close_range", "all", ANY, 0, NULL, c_close_range},
};

static const struct kind {
	const char *name;
	int bit;
	void (*open)(struct fx *); /* NULL: both ends are badfd */
	int badfd;
} kinds[] = {
	{"tcp-plain", K_TCP, tcp_open, 0},
	{"tcp-tls", K_TLS, tls_open, 0},
	{"unix", K_UNIX, unix_open, 0},
	{"pipe", K_PIPE, pipe_open, 0},
	{"file", K_FILE, file_open, 0},
	{"ebadf-neg", K_BAD, NULL, -1},
	{"ebadf-high", K_BAD, NULL, 1 << 20}, /* above RLIMIT_NOFILE */
	{"ebadf-closed", K_BAD, closed_open, 0},
};

/* clang-format on */

/* A case runs if named, or if an argument ending in '/' starts its name. */

static int selected(const char *name, char **arg, int n)
{
	for (int i = 0; i < n; i++) {
		size_t l = strlen(arg[i]);
		if (strcmp(name, arg[i]) == 0 ||
		    (l && arg[i][l - 1] == '/' &&
		     strncmp(name, arg[i], l) == 0))
			return 1;
	}
	return n == 0;
}

int main(int argc, char **argv)
{
	/* --wait: start once a byte (or EOF) comes on stdin, for a tracer
	 * that attaches to the running process first */
	if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
		char b;
		ssize_t r = read(0, &b, 1);
		(void)r;
		argv++;
		argc--;
	}
	int list = argc > 1 && strcmp(argv[1], "--list") == 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0); /* a crash keeps what was printed */
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *kd = &kinds[k];
		int bad = kd->bit == K_BAD;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct tcase *tc = &cases[i];
			char name[96];
			if (!(tc->kinds & kd->bit) && !(bad && tc->edge))
				continue;
			snprintf(name, sizeof(name), "%s/%s/%s", kd->name,
				 tc->call, tc->variant);
			if (!selected(name, argv + 1 + list, argc - 1 - list))
				continue;
			if (list) {
				puts(name);
				continue;
			}
			struct fx f = {kd->badfd, kd->badfd};
			cur = name;
			if (kd->open)
				kd->open(&f);
			if (tc->edge)
				edge(tc->edge, tc->pre, &f, bad);
			else
				tc->steps(&f);
			if (!bad && f.wr >= 0)
				close(f.wr);
			if (!bad && f.rd >= 0 && f.rd != f.wr)
				close(f.rd);
		}
	}
	if (lfd >= 0)
		close(lfd);
	return 0;
}
