/* A TLS echo load, client and server in two processes, for running traced
 * (LD_PRELOAD=libtlstrace.so) and under ThreadSanitizer.
 *
 *   stress [-t THREADS] [-n CONNS] [-b MAXBYTES] [-2 EVERY] [-w SECONDS]
 *          [-s SEED]
 *
 * The process listens on 127.0.0.1 (ephemeral port) and forks: the child
 * is the server, the parent the client.  The client runs THREADS threads
 * (default 8), each making CONNS connections one after the other (default
 * 200); every EVERY-th connection (default 8) is TLS 1.2, the others TLS
 * 1.3, with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 in turn.  The
 * server runs one thread per accepted connection.
 *
 * Each connection: the client sends an 8-byte length L (1..MAXBYTES,
 * default 262144), L bytes of a seeded pseudo-random stream in SSL_write
 * calls of 1 B..64 KiB, then the FNV-1a 64 checksum of those bytes.  The
 * server echoes the data as it reads it, checks the checksum and answers
 * one byte, 'V' (verified) or 'X'.  The client compares every echoed byte
 * with the stream and the checksum, and wants 'V'.  Then each side sends
 * close_notify, shuts its write side down, reads the peer's close_notify
 * and EOF, and closes.
 *
 * Full duplex: OpenSSL reads and writes through a BIO of ours
 * (BIO_meth_new).  Its write method moves the bytes with a random choice
 * of write/send/sendto/writev/sendmsg (random cuts, iovecs with empty
 * pieces) from the thread driving the SSL object; a second thread per
 * connection reads the socket all the time with a random choice of
 * read/recv/recvfrom/readv/recvmsg (random sizes, 1 byte up) into a queue
 * the BIO's read method takes from.  So one descriptor is read by one
 * thread while another writes it, and OpenSSL's object is only ever used
 * by one thread.  Half the connections get 32 KiB socket buffers, and
 * there one call in 8 is made with MSG_DONTWAIT (EAGAIN, short counts).
 *
 * Signals: in each process SIGALRM comes every millisecond (setitimer),
 * to a handler installed without SA_RESTART that write()s one byte to a
 * plain TCP connection read by a drain thread.  The I/O threads take the
 * signals (the other threads block SIGALRM), so blocking calls return
 * EINTR or short counts; every call is retried.
 *
 * A watchdog in each process ends it (exit 3) with a "deadlock" line when
 * nothing moved for SECONDS (default 120).
 *
 * Output, on stdout: one line per side, then the final one:
 *   stress: server: 1600 connections, 1600 verified, tls1.3=1400,
 *     tls1.2=200, bytes_in=..., bytes_out=..., eintr=..., eagain=...,
 *     short_io=..., ticks=..., ticks_dropped=...,
 *     calls=read:N,recv:N,..., errors=0, pid=...
 *   stress: client: (the same fields), seconds=12.3
 *   stress: 1600 connections, 1600 verified, bytes=..., errors=0
 * bytes_in/bytes_out count plaintext; bytes= is what the client sent plus
 * what it got back.  Exit status 0 when every connection was verified on
 * both sides and nothing failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define CHUNK_MAX	 65536 /* largest SSL_write and socket read */
#define MAXIOV		 4
#define MAX_ERRORS_SHOWN 20

enum call {
	C_READ,
	C_RECV,
	C_RECVFROM,
	C_READV,
	C_RECVMSG,
	C_WRITE,
	C_SEND,
	C_SENDTO,
	C_WRITEV,
	C_SENDMSG,
	NCALLS
};
static const char *const call_name[NCALLS] = {
	"read",	 "recv", "recvfrom", "readv",  "recvmsg",
	"write", "send", "sendto",   "writev", "sendmsg",
};

/* One side's figures; the server's live in memory shared with the
 * client, which reads them after the server exited. */
struct stats {
	long conns, verified, errors, tls12, tls13;
	long long bytes_in, bytes_out;
	long eintr, eagain, short_io, ticks, ticks_dropped;
	long calls[NCALLS];
};

static struct {
	int threads, conns, every12, watchdog_s;
	long maxbytes;
	uint64_t seed;
} cfg = {8, 200, 8, 120, 262144, 0x5eed};

static const char *role = "client";
static struct stats *st; /* this process's */
static long progress;	 /* bumped by every call that moved bytes */
static pid_t peer_pid;	 /* the server, seen from the client */
static volatile int tick_fd = -1;

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define GET(field)    __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* --- small things ------------------------------------------------------ */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return splitmix(*s);
}

/* Byte i of connection stream `seed`, for any range: the client makes
 * what it sends and what it expects back from the same function. */
static void stream_bytes(uint64_t seed, uint64_t off, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++, off++) {
		uint64_t w = splitmix(seed ^ (off >> 3) * 0x100000001b3ULL);
		p[i] = (uint8_t)(w >> (8 * (off & 7)));
	}
}

#define FNV_INIT 0xcbf29ce484222325ULL
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 2, 3))) static void fail(int conn,
						       const char *fmt, ...)
{
	long n = ADD(st->errors, 1);
	if (n > MAX_ERRORS_SHOWN)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stress: %s: connection %d: %s\n", role, conn, msg);
}

/* The first OpenSSL error of this thread, as text. */
static const char *ssl_err(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (!e)
		snprintf(buf, cap, "(no OpenSSL error; errno %d)", errno);
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

static void set_alarm_blocked(bool blocked)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* --- signals ----------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	char c = 'a'; /* not a TLS record type: the socket is not TLS */
	if (write(tick_fd, &c, 1) == 1)
		ADD(st->ticks, 1);
	else
		ADD(st->ticks_dropped, 1);
	errno = saved;
}

static void *drain_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
	return NULL;
}

static int tcp_listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("stress: listen");
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* connect() interrupted by a signal goes on in the background: wait for
 * it rather than calling connect() again. */
static int tcp_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (errno != EINTR) {
		close(fd);
		return -1;
	}
	ADD(st->eintr, 1);
	struct pollfd p = {fd, POLLOUT, 0};
	int r;
	while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR)
		ADD(st->eintr, 1);
	int err = 0;
	socklen_t el = sizeof(err);
	if (r != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
	    err != 0) {
		close(fd);
		errno = err ? err : errno;
		return -1;
	}
	return fd;
}

static int accept_retry(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 || errno != EINTR)
			return fd;
		ADD(st->eintr, 1);
	}
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	long last = -1;
	int still = 0;
	for (;;) {
		sleep_ms(1000);
		long p = GET(progress);
		if (p != last) {
			last = p;
			still = 0;
			continue;
		}
		if (++still >= cfg.watchdog_s) {
			dprintf(2,
				"stress: %s: deadlock: no progress for %d s "
				"(%ld connections done, %ld verified)\n",
				role, cfg.watchdog_s, GET(st->conns),
				GET(st->verified));
			if (peer_pid > 0)
				kill(peer_pid, SIGKILL);
			_exit(3);
		}
	}
	return NULL;
}

/* The process's helpers: watchdog, tick connection and its drain, the
 * 1 ms timer.  The calling (main) thread keeps SIGALRM blocked, like the
 * helpers, so that the I/O threads are interrupted. */
static void process_start(void)
{
	set_alarm_blocked(true);
	pthread_t t;
	if (pthread_create(&t, NULL, watchdog_main, NULL) != 0) {
		perror("stress: watchdog");
		exit(2);
	}
	pthread_detach(t);

	uint16_t port;
	int lfd = tcp_listener(&port);
	int wfd = tcp_connect(port);
	int rfd = accept_retry(lfd);
	close(lfd);
	if (wfd < 0 || rfd < 0) {
		perror("stress: tick connection");
		exit(2);
	}
	fcntl(wfd, F_SETFL, O_NONBLOCK);
	tick_fd = wfd;
	if (pthread_create(&t, NULL, drain_main, (void *)(intptr_t)rfd) != 0) {
		perror("stress: drain");
		exit(2);
	}
	pthread_detach(t);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: calls return EINTR */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void process_stop(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* --- the socket BIO ---------------------------------------------------- */

struct link {
	int fd, id;
	uint64_t rng;	 /* choices of the thread driving the SSL object */
	uint64_t rx_rng; /* choices of the reader thread */
	pthread_t rx;
	bool rx_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *in; /* bytes read, not yet taken by OpenSSL */
	size_t in_off, in_len, in_cap;
	bool eof;
	int rx_err;
	bool small; /* small socket buffers, MSG_DONTWAIT now and then */
};

/* Cuts n bytes at p into 1..MAXIOV pieces, some possibly empty. */
static int split(uint64_t *r, uint8_t *p, size_t n, struct iovec *iov)
{
	int k = 1 + (int)(rnd(r) % MAXIOV);
	size_t left = n;
	for (int i = 0; i < k; i++) {
		size_t take = i == k - 1 ? left : rnd(r) % (left + 1);
		iov[i].iov_base = p;
		iov[i].iov_len = take;
		p += take;
		left -= take;
	}
	return k;
}

/* MSG_DONTWAIT for one call in 8 on links with small buffers. */
static int dontwait(struct link *l, uint64_t *r)
{
	return l->small && rnd(r) % 8 == 0 ? MSG_DONTWAIT : 0;
}

/* After EAGAIN: waits until the descriptor is ready. */
static void wait_fd(int fd, short ev)
{
	ADD(st->eagain, 1);
	struct pollfd p = {fd, ev, 0};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		ADD(st->eintr, 1);
}

static ssize_t recv_some(struct link *l, uint8_t *buf, size_t n)
{
	enum call c = (enum call)(rnd(&l->rx_rng) % 5);
	int fl = dontwait(l, &l->rx_rng);
	struct iovec iov[MAXIOV];
	struct msghdr mh;
	ssize_t r;
	switch (c) {
	case C_READ:
		r = read(l->fd, buf, n);
		break;
	case C_RECV:
		r = recv(l->fd, buf, n, fl);
		break;
	case C_RECVFROM:
		r = recvfrom(l->fd, buf, n, fl, NULL, NULL);
		break;
	case C_READV:
		r = readv(l->fd, iov, split(&l->rx_rng, buf, n, iov));
		break;
	default:
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)split(&l->rx_rng, buf, n, iov);
		r = recvmsg(l->fd, &mh, fl);
		c = C_RECVMSG;
		break;
	}
	if (r >= 0)
		ADD(st->calls[c], 1);
	return r;
}

static ssize_t send_some(struct link *l, const uint8_t *buf, size_t n)
{
	enum call c = (enum call)(C_WRITE + rnd(&l->rng) % 5);
	int fl = MSG_NOSIGNAL | dontwait(l, &l->rng);
	struct iovec iov[MAXIOV];
	struct msghdr mh;
	ssize_t r;
	switch (c) {
	case C_WRITE:
		r = write(l->fd, buf, n);
		break;
	case C_SEND:
		r = send(l->fd, buf, n, fl);
		break;
	case C_SENDTO:
		r = sendto(l->fd, buf, n, fl, NULL, 0);
		break;
	case C_WRITEV:
		r = writev(l->fd, iov, split(&l->rng, (uint8_t *)buf, n, iov));
		break;
	default:
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)split(&l->rng, (uint8_t *)buf, n, iov);
		r = sendmsg(l->fd, &mh, fl);
		c = C_SENDMSG;
		break;
	}
	if (r >= 0)
		ADD(st->calls[c], 1);
	return r;
}

/* How much one call asks for: now and then a few bytes (a record header
 * in pieces), often up to 1 KiB, mostly up to 64 KiB. */
static size_t pick_size(uint64_t *r, size_t max)
{
	unsigned x = (unsigned)(rnd(r) % 16);
	size_t n;
	if (x == 0)
		n = 1 + rnd(r) % 5;
	else if (x < 4)
		n = 1 + rnd(r) % 1024;
	else
		n = 1 + rnd(r) % CHUNK_MAX;
	return n < max ? n : max;
}

static int send_all(struct link *l, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		size_t want = pick_size(&l->rng, n);
		ssize_t r = send_some(l, buf, want);
		if (r < 0) {
			if (errno == EINTR) {
				ADD(st->eintr, 1);
				continue;
			}
			if (errno == EAGAIN) {
				wait_fd(l->fd, POLLOUT);
				continue;
			}
			return -1;
		}
		if ((size_t)r < want)
			ADD(st->short_io, 1);
		ADD(progress, 1);
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *rx_main(void *arg)
{
	struct link *l = arg;
	set_alarm_blocked(false);
	uint8_t *buf = malloc(CHUNK_MAX);
	int err = buf ? 0 : ENOMEM;
	while (buf) {
		size_t want = pick_size(&l->rx_rng, CHUNK_MAX);
		ssize_t r = recv_some(l, buf, want);
		if (r < 0 && errno == EINTR) {
			ADD(st->eintr, 1);
			continue;
		}
		if (r < 0 && errno == EAGAIN) {
			wait_fd(l->fd, POLLIN);
			continue;
		}
		if (r < 0)
			err = errno;
		if (r <= 0)
			break;
		ADD(progress, 1);
		pthread_mutex_lock(&l->mu);
		if (l->in_off > 0 &&
		    l->in_off + l->in_len + (size_t)r > l->in_cap) {
			memmove(l->in, l->in + l->in_off, l->in_len);
			l->in_off = 0;
		}
		if (l->in_len + (size_t)r > l->in_cap) {
			size_t cap = (l->in_len + (size_t)r) * 2;
			uint8_t *p = realloc(l->in, cap);
			if (!p) {
				pthread_mutex_unlock(&l->mu);
				err = ENOMEM;
				break;
			}
			l->in = p;
			l->in_cap = cap;
		}
		memcpy(l->in + l->in_off + l->in_len, buf, (size_t)r);
		l->in_len += (size_t)r;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	free(buf);
	pthread_mutex_lock(&l->mu);
	l->eof = true;
	l->rx_err = err;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Waits until the reader thread has bytes for OpenSSL, or ended. */
static void wait_in(struct link *l)
{
	pthread_mutex_lock(&l->mu);
	while (l->in_len == 0 && !l->eof)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

static int b_write(BIO *b, const char *buf, int len)
{
	struct link *l = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	return send_all(l, (const uint8_t *)buf, (size_t)len) == 0 ? len : -1;
}

static int b_read(BIO *b, char *buf, int len)
{
	struct link *l = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	pthread_mutex_lock(&l->mu);
	size_t n = l->in_len < (size_t)len ? l->in_len : (size_t)len;
	memcpy(buf, l->in + l->in_off, n);
	l->in_off += n;
	l->in_len -= n;
	if (l->in_len == 0)
		l->in_off = 0;
	bool eof = l->eof;
	pthread_mutex_unlock(&l->mu);
	if (n > 0)
		return (int)n;
	if (eof)
		return 0;
	BIO_set_retry_read(b);
	return -1;
}

static long b_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	struct link *l = BIO_get_data(b);
	long r;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		pthread_mutex_lock(&l->mu);
		r = (long)l->in_len;
		pthread_mutex_unlock(&l->mu);
		return r;
	default:
		return 0;
	}
}

static int b_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *sock_method;

static void make_method(void)
{
	sock_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				   "stress socket");
	if (!sock_method || !BIO_meth_set_write(sock_method, b_write) ||
	    !BIO_meth_set_read(sock_method, b_read) ||
	    !BIO_meth_set_ctrl(sock_method, b_ctrl) ||
	    !BIO_meth_set_create(sock_method, b_create)) {
		fprintf(stderr, "stress: BIO_meth_new failed\n");
		exit(2);
	}
}

static void link_init(struct link *l, int fd, int id, uint64_t seed)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->id = id;
	l->rng = splitmix(seed ^ 0x11);
	l->rx_rng = splitmix(seed ^ 0x22);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	/* Small socket buffers on half the connections: writes block (a
	 * signal then cuts them short), and some calls there are made
	 * with MSG_DONTWAIT (EAGAIN, short counts). */
	if (rnd(&l->rng) % 2) {
		int sz = 32768;
		l->small = true;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
}

/* An SSL object on the link, its reader thread started. */
static SSL *link_ssl(struct link *l, SSL_CTX *ctx)
{
	SSL *s = SSL_new(ctx);
	BIO *b = s ? BIO_new(sock_method) : NULL;
	if (!b) {
		SSL_free(s);
		return NULL;
	}
	BIO_set_data(b, l);
	SSL_set_bio(s, b, b);
	if (pthread_create(&l->rx, NULL, rx_main, l) != 0) {
		SSL_free(s);
		return NULL;
	}
	l->rx_started = true;
	return s;
}

/* Ends the link: the reader thread (which stops at the peer's EOF, or
 * now if the socket is shut down), then the descriptor. */
static void link_end(struct link *l, SSL *s, bool abort_)
{
	if (abort_)
		shutdown(l->fd, SHUT_RDWR);
	if (l->rx_started)
		pthread_join(l->rx, NULL);
	SSL_free(s);
	close(l->fd);
	free(l->in);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
}

/* --- TLS steps --------------------------------------------------------- */

static int handshake(struct link *l, SSL *s)
{
	char eb[256];
	for (;;) {
		ERR_clear_error();
		int r = SSL_do_handshake(s);
		if (r == 1)
			return 0;
		int e = SSL_get_error(s, r);
		if (e != SSL_ERROR_WANT_READ) {
			fail(l->id, "handshake: SSL error %d: %s", e,
			     ssl_err(eb, sizeof(eb)));
			return -1;
		}
		wait_in(l);
	}
}

static int write_all(struct link *l, SSL *s, const uint8_t *p, size_t n)
{
	char eb[256];
	while (n > 0) {
		ERR_clear_error();
		int r = SSL_write(s, p, (int)n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		int e = SSL_get_error(s, r);
		if (e != SSL_ERROR_WANT_READ) {
			fail(l->id, "SSL_write: SSL error %d: %s", e,
			     ssl_err(eb, sizeof(eb)));
			return -1;
		}
		wait_in(l);
	}
	return 0;
}

/* One SSL_read: > 0 bytes, 0 when OpenSSL wants more bytes, -1 at the
 * peer's close_notify, -2 on an error (reported). */
static int read_some(struct link *l, SSL *s, uint8_t *buf, int cap)
{
	char eb[256];
	ERR_clear_error();
	int r = SSL_read(s, buf, cap);
	if (r > 0)
		return r;
	int e = SSL_get_error(s, r);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN)
		return -1;
	fail(l->id, "SSL_read: SSL error %d: %s (reader: %s)", e,
	     ssl_err(eb, sizeof(eb)),
	     l->rx_err ? strerror(l->rx_err) : "no error");
	return -2;
}

/* close_notify out, write side shut, the peer's close_notify and EOF in. */
static int finish(struct link *l, SSL *s)
{
	uint8_t buf[256];
	ERR_clear_error();
	if (SSL_shutdown(s) < 0) {
		char eb[256];
		fail(l->id, "SSL_shutdown: %s", ssl_err(eb, sizeof(eb)));
		return -1;
	}
	shutdown(l->fd, SHUT_WR);
	for (;;) {
		int r = read_some(l, s, buf, sizeof(buf));
		if (r == -1)
			return 0;
		if (r < 0)
			return -1;
		if (r > 0) {
			fail(l->id, "%d unexpected bytes after the exchange",
			     r);
			return -1;
		}
		wait_in(l);
	}
}

static void count_version(SSL *s)
{
	if (SSL_version(s) == TLS1_3_VERSION)
		ADD(st->tls13, 1);
	else if (SSL_version(s) == TLS1_2_VERSION)
		ADD(st->tls12, 1);
}

/* --- server ------------------------------------------------------------ */

static SSL_CTX *server_ctx;

struct sconn {
	int fd, id;
};

/* Connection threads are joined, not detached: what OpenSSL does at a
 * thread's exit is then ordered before its cleanup at process exit. */
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t active_cv = PTHREAD_COND_INITIALIZER;
static int active;
static pthread_t *ended; /* threads that finished, to join */
static size_t n_ended, cap_ended;

static void thread_ended(void)
{
	pthread_mutex_lock(&active_mu);
	if (n_ended == cap_ended) {
		size_t cap = cap_ended ? cap_ended * 2 : 64;
		pthread_t *p = realloc(ended, cap * sizeof(*p));
		if (!p) {
			perror("stress: server");
			exit(2);
		}
		ended = p;
		cap_ended = cap;
	}
	ended[n_ended++] = pthread_self();
	active--;
	pthread_cond_signal(&active_cv);
	pthread_mutex_unlock(&active_mu);
}

/* Joins the threads that ended; with all, waits for every one. */
static void reap(bool all)
{
	pthread_mutex_lock(&active_mu);
	while (all && active > 0)
		pthread_cond_wait(&active_cv, &active_mu);
	pthread_t *t = ended;
	size_t n = n_ended;
	ended = NULL;
	n_ended = cap_ended = 0;
	pthread_mutex_unlock(&active_mu);
	for (size_t i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
}

static bool serve(struct link *l, SSL *s)
{
	if (handshake(l, s) != 0)
		return false;
	count_version(s);
	uint8_t *buf = malloc(CHUNK_MAX);
	uint8_t hdr[8], trl[8];
	size_t hdr_got = 0, trl_got = 0;
	uint64_t len = 0, got = 0, sum = FNV_INIT;
	bool ok = false;
	while (buf) {
		int r = read_some(l, s, buf, CHUNK_MAX);
		if (r == 0) {
			wait_in(l);
			continue;
		}
		if (r == -1)
			fail(l->id, "close_notify before the end of the data");
		if (r < 0)
			break;
		uint8_t *p = buf;
		size_t n = (size_t)r;
		while (n > 0 && hdr_got < 8) {
			hdr[hdr_got++] = *p++;
			n--;
			if (hdr_got == 8)
				len = get64(hdr);
		}
		size_t take = len - got < n ? (size_t)(len - got) : n;
		if (take > 0) {
			sum = fnv(sum, p, take);
			if (write_all(l, s, p, take) != 0)
				break;
			ADD(st->bytes_in, (long long)take);
			ADD(st->bytes_out, (long long)take);
			got += take;
			p += take;
			n -= take;
		}
		while (n > 0 && trl_got < 8) {
			trl[trl_got++] = *p++;
			n--;
		}
		if (n > 0) {
			fail(l->id, "%zu bytes after the checksum", n);
			break;
		}
		if (trl_got == 8) {
			ok = get64(trl) == sum;
			if (!ok)
				fail(l->id,
				     "checksum: client says %016llx, "
				     "server read %016llx",
				     (unsigned long long)get64(trl),
				     (unsigned long long)sum);
			uint8_t verdict = ok ? 'V' : 'X';
			if (write_all(l, s, &verdict, 1) != 0)
				ok = false;
			break;
		}
	}
	if (!buf)
		fail(l->id, "out of memory");
	free(buf);
	if (ok && finish(l, s) != 0)
		ok = false;
	return ok;
}

static void *server_conn(void *arg)
{
	struct sconn sc = *(struct sconn *)arg;
	free(arg);
	set_alarm_blocked(false);
	struct link l;
	link_init(&l, sc.fd, sc.id, cfg.seed ^ (uint64_t)sc.id << 32);
	SSL *s = link_ssl(&l, server_ctx);
	bool ok = false;
	if (!s) {
		fail(sc.id, "SSL_new or thread failed");
	} else {
		SSL_set_accept_state(s);
		ok = serve(&l, s);
	}
	link_end(&l, s, !ok);
	ADD(st->conns, 1);
	if (ok)
		ADD(st->verified, 1);
	ADD(progress, 1);
	thread_ended();
	return NULL;
}

/* Accepts until the client closes the control pipe, then waits for every
 * connection's thread. */
static int run_server(int lfd, int ctl)
{
	process_start();
	int id = 0;
	for (;;) {
		struct pollfd p[2] = {{lfd, POLLIN, 0}, {ctl, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("stress: server: poll");
			break;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept_retry(lfd);
			if (fd < 0) {
				perror("stress: server: accept");
				ADD(st->errors, 1);
				break;
			}
			struct sconn *sc = malloc(sizeof(*sc));
			pthread_t t;
			sc->fd = fd;
			sc->id = ++id;
			pthread_mutex_lock(&active_mu);
			active++;
			pthread_mutex_unlock(&active_mu);
			if (pthread_create(&t, NULL, server_conn, sc) != 0) {
				perror("stress: server: thread");
				exit(2);
			}
			reap(false);
			continue;
		}
		if (p[1].revents)
			break;
	}
	reap(true);
	process_stop();
	return 0;
}

/* --- client ------------------------------------------------------------ */

static SSL_CTX *client_ctx;
static uint16_t server_port;

static const char *const suites13[] = {
	"TLS_AES_128_GCM_SHA256",
	"TLS_AES_256_GCM_SHA384",
	"TLS_CHACHA20_POLY1305_SHA256",
};
static const char *const suites12[] = {
	"ECDHE-ECDSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305",
};

/* Sends the framed stream and checks the echo as it comes. */
static bool exchange(struct link *l, SSL *s, uint64_t seed)
{
	uint64_t len = 1 + rnd(&l->rng) % (uint64_t)cfg.maxbytes;
	uint8_t *out = malloc(CHUNK_MAX), *in = malloc(CHUNK_MAX),
		*want = malloc(CHUNK_MAX);
	uint64_t sent = 0, got = 0, sum_out = FNV_INIT, sum_in = FNV_INIT;
	bool trailer = false, ok = false;
	int verdict = -1;
	uint8_t hdr[8];
	put64(hdr, len);
	if (!out || !in || !want) {
		fail(l->id, "out of memory");
		goto out;
	}
	if (write_all(l, s, hdr, 8) != 0)
		goto out;
	while (verdict < 0) {
		if (sent < len) {
			size_t n = 1 + rnd(&l->rng) % CHUNK_MAX;
			if (n > len - sent)
				n = (size_t)(len - sent);
			stream_bytes(seed, sent, out, n);
			sum_out = fnv(sum_out, out, n);
			if (write_all(l, s, out, n) != 0)
				goto out;
			sent += n;
			ADD(st->bytes_out, (long long)n);
		} else if (!trailer) {
			uint8_t t[8];
			put64(t, sum_out);
			if (write_all(l, s, t, 8) != 0)
				goto out;
			trailer = true;
		}
		/* whatever came back meanwhile */
		for (;;) {
			int r = read_some(l, s, in, CHUNK_MAX);
			if (r == -1)
				fail(l->id, "close_notify before the verdict");
			if (r < 0)
				goto out;
			if (r == 0)
				break;
			size_t n = (size_t)r, echo = n;
			if (echo > len - got)
				echo = (size_t)(len - got);
			stream_bytes(seed, got, want, echo);
			if (memcmp(in, want, echo) != 0) {
				size_t i = 0;
				while (in[i] == want[i])
					i++;
				fail(l->id, "echo differs at byte %llu",
				     (unsigned long long)(got + i));
				goto out;
			}
			sum_in = fnv(sum_in, in, echo);
			got += echo;
			ADD(st->bytes_in, (long long)echo);
			if (n > echo + 1) {
				fail(l->id, "bytes after the verdict");
				goto out;
			}
			if (n == echo + 1) {
				verdict = in[echo];
				break; /* close_notify is finish()'s */
			}
		}
		if (trailer && verdict < 0)
			wait_in(l);
	}
	if (got != len || sum_in != sum_out)
		fail(l->id,
		     "echo: %llu of %llu bytes, checksum %016llx vs "
		     "%016llx",
		     (unsigned long long)got, (unsigned long long)len,
		     (unsigned long long)sum_in, (unsigned long long)sum_out);
	else if (verdict != 'V')
		fail(l->id, "server verdict '%c'", verdict);
	else
		ok = true;
out:
	free(out);
	free(in);
	free(want);
	return ok;
}

static bool client_conn(int id)
{
	uint64_t seed = splitmix(cfg.seed ^ (uint64_t)id * 0x9e37);
	int fd = tcp_connect(server_port);
	if (fd < 0) {
		fail(id, "connect: %s", strerror(errno));
		return false;
	}
	struct link l;
	link_init(&l, fd, id, seed);
	SSL *s = link_ssl(&l, client_ctx);
	bool ok = false;
	if (!s) {
		fail(id, "SSL_new or thread failed");
		goto out;
	}
	if (cfg.every12 > 0 && id % cfg.every12 == cfg.every12 - 1) {
		SSL_set_max_proto_version(s, TLS1_2_VERSION);
		SSL_set_cipher_list(s, suites12[(id / cfg.every12) % 3]);
	} else {
		SSL_set_ciphersuites(s, suites13[id % 3]);
	}
	SSL_set_tlsext_host_name(s, "localhost");
	SSL_set1_host(s, "localhost");
	SSL_set_connect_state(s);
	if (handshake(&l, s) != 0)
		goto out;
	count_version(s);
	ok = exchange(&l, s, seed) && finish(&l, s) == 0;
out:
	link_end(&l, s, !ok);
	ADD(st->conns, 1);
	if (ok)
		ADD(st->verified, 1);
	ADD(progress, 1);
	return ok;
}

static void *client_worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	set_alarm_blocked(false);
	for (int i = 0; i < cfg.conns; i++)
		client_conn(w * cfg.conns + i);
	return NULL;
}

/* --- setup ------------------------------------------------------------- */

/* A self-signed P-256 certificate for "localhost". */
static void make_cert(EVP_PKEY **key, X509 **crt)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!k || !x) {
		fprintf(stderr, "stress: key generation failed\n");
		exit(2);
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1,
				   0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, k);
	if (!X509_sign(x, k, EVP_sha256())) {
		fprintf(stderr, "stress: certificate signing failed\n");
		exit(2);
	}
	*key = k;
	*crt = x;
}

static void make_contexts(void)
{
	EVP_PKEY *key;
	X509 *crt;
	make_cert(&key, &crt);
	server_ctx = SSL_CTX_new(TLS_server_method());
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (!server_ctx || !client_ctx ||
	    SSL_CTX_use_certificate(server_ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey(server_ctx, key) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx), crt) != 1) {
		fprintf(stderr, "stress: SSL_CTX setup failed\n");
		exit(2);
	}
	SSL_CTX_set_min_proto_version(server_ctx, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	EVP_PKEY_free(key);
	X509_free(crt);
}

static void print_stats(const char *who, struct stats *sp)
{
	const struct stats *s = sp;
	printf("stress: %s: %ld connections, %ld verified, tls1.3=%ld, "
	       "tls1.2=%ld, bytes_in=%lld, bytes_out=%lld, eintr=%ld, "
	       "eagain=%ld, short_io=%ld, ticks=%ld, ticks_dropped=%ld, "
	       "calls=",
	       who, s->conns, s->verified, s->tls13, s->tls12, s->bytes_in,
	       s->bytes_out, s->eintr, s->eagain, s->short_io,
	       /* a signal may still come (the handler counts ticks) */
	       GET(sp->ticks), GET(sp->ticks_dropped));
	for (int i = 0; i < NCALLS; i++)
		printf("%s%s:%ld", i ? "," : "", call_name[i], s->calls[i]);
	printf(", errors=%ld, pid=%ld", s->errors, (long)getpid());
}

static int usage(void)
{
	fprintf(stderr, "usage: stress [-t THREADS] [-n CONNS] [-b MAXBYTES] "
			"[-2 EVERY] [-w SECONDS] [-s SEED]\n");
	return 2;
}

static long arg_num(const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 0);
	if (*s == '\0' || *end != '\0' || v < min)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	int o;
	long v;
	while ((o = getopt(argc, argv, "t:n:b:2:w:s:")) != -1) {
		const long min = o == '2' ? 0 : 1;
		if (!optarg || (v = arg_num(optarg, min)) < 0)
			return usage();
		switch (o) {
		case 't':
			cfg.threads = (int)v;
			break;
		case 'n':
			cfg.conns = (int)v;
			break;
		case 'b':
			cfg.maxbytes = v;
			break;
		case '2':
			cfg.every12 = (int)v;
			break;
		case 'w':
			cfg.watchdog_s = (int)v;
			break;
		case 's':
			cfg.seed = (uint64_t)v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	make_method();
	make_contexts();

	struct stats *shared = mmap(NULL, 2 * sizeof(struct stats),
				    PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ctl[2];
	if (shared == MAP_FAILED || pipe2(ctl, O_CLOEXEC) != 0) {
		perror("stress: setup");
		return 2;
	}
	memset(shared, 0, 2 * sizeof(struct stats));
	int lfd = tcp_listener(&server_port);
	double t0 = now_s();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("stress: fork");
		return 2;
	}
	if (pid == 0) {
		role = "server";
		st = &shared[1];
		close(ctl[1]);
		run_server(lfd, ctl[0]);
		print_stats("server", st);
		printf("\n");
		fflush(stdout);
		exit(st->errors || st->verified != st->conns ? 1 : 0);
	}
	peer_pid = pid;
	st = &shared[0];
	close(ctl[0]);
	close(lfd);
	process_start();
	pthread_t *ts = calloc((size_t)cfg.threads, sizeof(*ts));
	for (int i = 0; ts && i < cfg.threads; i++) {
		if (pthread_create(&ts[i], NULL, client_worker,
				   (void *)(intptr_t)i) != 0) {
			perror("stress: client thread");
			kill(pid, SIGKILL);
			return 2;
		}
	}
	for (int i = 0; ts && i < cfg.threads; i++)
		pthread_join(ts[i], NULL);
	free(ts);
	close(ctl[1]); /* the server stops accepting and finishes */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	process_stop();
	double secs = now_s() - t0;
	struct stats *sv = &shared[1];
	print_stats("client", st);
	printf(", seconds=%.1f\n", secs);

	long expected = (long)cfg.threads * cfg.conns;
	long errors = st->errors + sv->errors;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "stress: server ended with %s %d\n",
			WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status)
					  : WTERMSIG(status));
		errors++;
	}
	if (st->conns != expected || st->verified != expected ||
	    sv->conns != expected || sv->verified != expected) {
		fprintf(stderr,
			"stress: expected %ld connections verified on both "
			"sides: client %ld/%ld, server %ld/%ld\n",
			expected, st->verified, st->conns, sv->verified,
			sv->conns);
		errors++;
	}
	long verified = st->verified < sv->verified ? st->verified
						    : sv->verified;
	printf("stress: %ld connections, %ld verified, bytes=%lld, "
	       "errors=%ld\n",
	       st->conns, verified, st->bytes_out + st->bytes_in, errors);
	fflush(stdout);
	return errors ? 1 : 0;
}
