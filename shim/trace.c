/* Connection tracing: hooks hand bytes here; this file finds or makes
 * the connection, feeds its decoder under the direction's try-lock, and
 * turns events into log lines.
 *
 * Connections come from a pool and are never returned to malloc: a hook
 * that read a connection pointer just before another thread closed the
 * descriptor still touches valid memory, and checks after locking that
 * the connection is still the one for its fd.
 */
#include "trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "real.h"

#define LINE_CAP (160 * 1024)

__thread int tt_busy;

static struct tt_config cfg;
static bool tracing;
static long cached_pid;
static uint64_t next_conn_id;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tt_tconn *pool_all, *pool_free;

struct scratch {
	long tid;
	struct tt_event ev;
	char line[LINE_CAP];
};
static __thread struct scratch *tls_scratch;
static pthread_key_t scratch_key;

static void scratch_free(void *p)
{
	free(p);
}

static struct scratch *scratch(void)
{
	if (!tls_scratch) {
		tls_scratch = malloc(sizeof(*tls_scratch));
		if (!tls_scratch)
			return NULL;
		tls_scratch->tid = (long)syscall(SYS_gettid);
		pthread_setspecific(scratch_key, tls_scratch);
	}
	return tls_scratch;
}

static void on_event(void *ctx, struct tt_event *ev)
{
	struct tt_tconn *c = ctx;
	struct scratch *s = tls_scratch;
	struct tt_line_ctx lc = {
		.pid = cached_pid,
		.tid = s->tid,
		.conn = c->id,
		.fd = c->fd,
		.local = c->local,
		.peer = c->peer,
		.role = tt_role_name((enum tt_role)tt_conn_role(&c->dec)),
		.show_addrs = !c->addrs_shown,
	};
	c->addrs_shown = true;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t n = tt_format_line(cfg.format, s->line, sizeof(s->line), ev,
				  &lc, cfg.level, &ts);
	tt_log_write(s->line, n, (enum tt_level)ev->level);
}

static void addr_text(const struct sockaddr_storage *ss, char *out,
		      size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

static struct tt_tconn *conn_new(int fd)
{
	pthread_mutex_lock(&pool_lock);
	struct tt_tconn *c = pool_free;
	if (c) {
		pool_free = c->next_free;
	} else {
		c = calloc(1, sizeof(*c));
		if (c) {
			pthread_mutex_init(&c->lock[0], NULL);
			pthread_mutex_init(&c->lock[1], NULL);
			c->next_all = pool_all;
			pool_all = c;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	if (!c)
		return NULL;
	tt_conn_init(&c->dec);
	c->id = __atomic_add_fetch(&next_conn_id, 1, __ATOMIC_RELAXED);
	c->fd = fd;
	c->unsynced[0] = c->unsynced[1] = false;
	c->addrs_shown = false;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_text(&ss, c->local, sizeof(c->local));
	else
		strcpy(c->local, "?");
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_text(&ss, c->peer, sizeof(c->peer));
	else
		strcpy(c->peer, "?");
	__atomic_store_n(&c->live, true, __ATOMIC_RELEASE);
	return c;
}

static void conn_free(struct tt_tconn *c)
{
	/* Both locks: no thread is inside this connection's decoder.  The
	 * wait is bounded by one decode step of a thread already in it. */
	pthread_mutex_lock(&c->lock[0]);
	pthread_mutex_lock(&c->lock[1]);
	__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	tt_conn_release(&c->dec);
	pthread_mutex_unlock(&c->lock[1]);
	pthread_mutex_unlock(&c->lock[0]);
	pthread_mutex_lock(&pool_lock);
	c->next_free = pool_free;
	pool_free = c;
	pthread_mutex_unlock(&pool_lock);
}

static uint8_t classify(int fd)
{
	int type;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		return TT_FD_PASS;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return TT_FD_PASS;
	return TT_FD_CANDIDATE;
}

/* Settles an UNKNOWN or CANDIDATE fd given its first bytes; returns the
 * connection when the fd is (now) traced. */
static struct tt_tconn *settle(int fd, struct tt_fdent *e,
			       const uint8_t *first, size_t n)
{
	uint8_t kind = tt_fd_kind(e);
	if (kind == TT_FD_UNKNOWN) {
		kind = classify(fd);
		__atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
	}
	if (kind == TT_FD_TLS)
		return __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	if (kind != TT_FD_CANDIDATE)
		return NULL;
	if (!tt_looks_like_tls(first, n < 5 ? n : 5)) {
		__atomic_store_n(&e->kind, TT_FD_PASS, __ATOMIC_RELEASE);
		return NULL;
	}
	struct tt_tconn *c = conn_new(fd);
	if (!c) {
		__atomic_store_n(&e->kind, TT_FD_PASS, __ATOMIC_RELEASE);
		return NULL;
	}
	uint8_t expect = TT_FD_CANDIDATE;
	__atomic_store_n(&e->conn, c, __ATOMIC_RELEASE);
	if (!__atomic_compare_exchange_n(&e->kind, &expect, TT_FD_TLS, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* another thread settled it first */
		conn_free(c);
		return expect == TT_FD_TLS
			       ? __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE)
			       : NULL;
	}
	return c;
}

static void stop_note(struct tt_tconn *c, enum tt_dir dir,
		      const struct tt_emit *em)
{
	tt_emit_decode_error(em, dir,
			     "lock contention: bytes went by undecoded",
			     "this direction is no longer decoded");
	c->dec.d[dir].dead = true;
}

static void feed(struct tt_tconn *c, int fd, enum tt_dir dir,
		 const struct iovec *iov, size_t iovcnt, size_t n)
{
	if (pthread_mutex_trylock(&c->lock[dir]) != 0) {
		__atomic_store_n(&c->unsynced[dir], true, __ATOMIC_RELAXED);
		return;
	}
	struct scratch *s = scratch();
	if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) || c->fd != fd ||
	    !s) {
		pthread_mutex_unlock(&c->lock[dir]);
		return;
	}
	struct tt_emit em = {on_event, c, &s->ev, (uint8_t)cfg.level};
	if (__atomic_load_n(&c->unsynced[dir], __ATOMIC_RELAXED) &&
	    !c->dec.d[dir].dead)
		stop_note(c, dir, &em);
	for (size_t i = 0; i < iovcnt && n > 0; i++) {
		size_t take = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (take == 0)
			continue;
		if (tt_conn_feed(&c->dec, dir, iov[i].iov_base, take, &em) !=
		    TT_OK)
			break;
		n -= take;
	}
	pthread_mutex_unlock(&c->lock[dir]);
}

void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n)
{
	if (!tracing || tt_busy || !e || n == 0)
		return;
	int saved = errno;
	tt_busy = 1;
	uint8_t head[5];
	size_t h = 0;
	for (size_t i = 0; i < iovcnt && h < 5 && h < n; i++) {
		size_t take = iov[i].iov_len;
		if (take > 5 - h)
			take = 5 - h;
		if (take > n - h)
			take = n - h;
		memcpy(head + h, iov[i].iov_base, take);
		h += take;
	}
	struct tt_tconn *c = tt_fd_kind(e) == TT_FD_TLS
				     ? __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE)
				     : settle(fd, e, head, h);
	if (c)
		feed(c, fd, dir, iov, iovcnt, n);
	tt_busy = 0;
	errno = saved;
}

void tt_trace_bytes(int fd, struct tt_fdent *e, enum tt_dir dir,
		    const void *buf, size_t n)
{
	struct iovec iov = {(void *)buf, n};
	tt_trace_iov(fd, e, dir, &iov, 1, n);
}

static void detach(int fd, struct tt_fdent *e)
{
	struct tt_tconn *c = __atomic_exchange_n(&e->conn, NULL,
						 __ATOMIC_ACQ_REL);
	__atomic_store_n(&e->kind, TT_FD_UNKNOWN, __ATOMIC_RELEASE);
	(void)fd;
	/* Inside tlstrace already (a signal handler that interrupted us):
	 * the locks may be ours, so the connection is abandoned, not freed. */
	if (c && !tt_busy)
		conn_free(c);
}

void tt_trace_newfd(int fd, enum tt_role hint)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e)
		return;
	int saved = errno;
	if (e->conn || tt_fd_kind(e) != TT_FD_UNKNOWN)
		detach(fd, e);
	e->hint_role = (uint8_t)hint;
	errno = saved;
}

void tt_trace_close(int fd)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || tt_fd_kind(e) == TT_FD_UNKNOWN)
		return;
	int saved = errno;
	detach(fd, e);
	errno = saved;
}

static void fork_child(void)
{
	cached_pid = (long)getpid();
	pthread_mutex_init(&pool_lock, NULL);
	/* Only the forking thread survives: locks held by others at fork
	 * time would never be released. */
	for (struct tt_tconn *c = pool_all; c; c = c->next_all) {
		pthread_mutex_init(&c->lock[0], NULL);
		pthread_mutex_init(&c->lock[1], NULL);
	}
	if (tls_scratch)
		tls_scratch->tid = (long)syscall(SYS_gettid);
}

static const char *get_env(const char *name)
{
	return getenv(name);
}

void tt_trace_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	tt_busy = 1;
	tt_real_bind();
	cached_pid = (long)getpid();
	tt_config_load(&cfg, get_env, tt_log_stderr);
	pthread_key_create(&scratch_key, scratch_free);
	pthread_atfork(NULL, NULL, fork_child);
	tracing = tt_log_open(&cfg);
	tt_busy = 0;
}

__attribute__((constructor)) static void tt_ctor(void)
{
	tt_trace_init();
}
