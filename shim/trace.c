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
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "format.h"
#include "keys.h"
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
/* When this process was forked: connections it inherited and never used
 * since belong to its parent, which writes their end and summary. */
static long long forked_at_us;

struct scratch {
	long tid;
	int fd; /* the descriptor of the call being traced */
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

static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_event(void *ctx, struct tt_event *ev)
{
	struct tt_tconn *c = ctx;
	c->last_us = mono_us();
	struct scratch *s = tls_scratch;
	struct tt_line_ctx lc = {
		.pid = cached_pid,
		.tid = s->tid,
		.conn = c->id,
		.fd = s->fd,
		.local = c->local,
		.peer = c->peer,
		.role = tt_role_name((enum tt_role)tt_conn_role(&c->dec)),
		.show_addrs = !c->addrs_shown,
	};
	c->addrs_shown = true;
	/* lines the log could not take are counted in the next one */
	uint64_t dropped = tt_log_dropped_take();
	if (dropped)
		tt_ev_int(ev, "lines_dropped", (enum tt_level)ev->level,
			  (long long)dropped);
	uint64_t total = tt_log_dropped_total();
	if (total && strcmp(ev->name, "summary") == 0)
		tt_ev_int(ev, "log_lines_dropped", TT_INFO, (long long)total);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t n = tt_format_line(cfg.format, s->line, sizeof(s->line), ev,
				  &lc, cfg.level, &ts);
	if (!tt_log_write(s->line, n, (enum tt_level)ev->level))
		tt_log_dropped_untake(dropped);
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

/* Waits for a direction's decode step in another thread to finish (it
 * is bounded: one call's bytes). */
static void dirlock_wait(tt_dirlock *l)
{
	while (!tt_dirlock_try(l))
		sched_yield();
}

/* Whether the descriptor of the current call still names c's socket
 * (asked only when its bytes stop parsing). */
static bool same_stream(void *ctx)
{
	struct tt_tconn *c = ctx;
	struct stat st;
	if (!c->have_id)
		return true;
	int fd = tls_scratch ? tls_scratch->fd : c->fd;
	return fstat(fd, &st) == 0 && st.st_dev == c->dev &&
	       st.st_ino == c->ino;
}

static void emit_init(struct tt_emit *em, struct tt_tconn *c,
		      struct scratch *s)
{
	*em = (struct tt_emit){.fn = on_event,
			       .ctx = c,
			       .ev = &s->ev,
			       .level = (uint8_t)cfg.level,
			       .same_stream = same_stream};
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
			tt_dirlock_reset(&c->lock[0]);
			tt_dirlock_reset(&c->lock[1]);
			c->next_all = pool_all;
			pool_all = c;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	if (!c)
		return NULL;
	tt_conn_init(&c->dec);
	c->dec.ks = tt_keys_source();
	c->id = __atomic_add_fetch(&next_conn_id, 1, __ATOMIC_RELAXED);
	c->fd = fd;
	c->refs = 1;
	c->unsynced[0] = c->unsynced[1] = false;
	c->addrs_shown = false;
	c->born_us = c->last_us = mono_us();
	struct stat st;
	c->have_id = fstat(fd, &st) == 0;
	c->dev = c->have_id ? st.st_dev : 0;
	c->ino = c->have_id ? st.st_ino : 0;
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

/* Reports the end of a connection through its decoder.  The caller holds
 * mu. */
static void end_locked(struct tt_tconn *c, int fd, enum tt_end_how how,
		       enum tt_dir dir, const char *errname, const char *call,
		       long long unread)
{
	struct scratch *s = scratch();
	if (!s)
		return;
	s->fd = fd;
	struct tt_emit em;
	emit_init(&em, c, s);
	em.same_stream = NULL;
	long long now = mono_us();
	struct tt_end_info ei = {
		.how = how,
		.dir = dir,
		.errname = errname,
		.call = call,
		.since_last_us = now - c->last_us,
		.duration_us = now - c->born_us,
		.unread = unread,
	};
	tt_conn_end(&c->dec, &ei, &em);
}

/* Bytes the host never read, looked at (not taken) when it closes: the
 * last thing the peer said, such as an alert answering our own last
 * message, is often there.  The caller holds mu. */
static long long peek_unread(struct tt_tconn *c, int fd)
{
	enum { PEEK = 16384 };
	uint8_t *buf = malloc(PEEK);
	if (!buf)
		return 0;
	ssize_t n = REAL(recv)(fd, buf, PEEK, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0) {
		free(buf);
		return 0;
	}
	struct scratch *s = scratch();
	if (s && !c->dec.d[TT_IN].dead) {
		s->fd = fd;
		struct tt_emit em;
		emit_init(&em, c, s);
		em.same_stream = NULL;
		(void)tt_conn_feed(&c->dec, TT_IN, buf, (size_t)n, &em);
	}
	free(buf);
	return n;
}

/* The connection's last descriptor is gone: closing by the host (fd is
 * still open), or its number found reused. */
static void conn_free_how(struct tt_tconn *c, int fd, bool closing)
{
	/* Both locks: no thread is inside this connection's decoder.  The
	 * wait is bounded by one decode step of a thread already in it. */
	dirlock_wait(&c->lock[0]);
	dirlock_wait(&c->lock[1]);
	tt_fair_lock(&c->mu);
	/* A forked child closing what it inherited and never used (tidying
	 * its descriptors): its copy of the decoder stopped at the fork,
	 * while the parent read on, so it says nothing; the parent does. */
	if (c->last_us < forked_at_us)
		__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	if (closing && tracing && __atomic_load_n(&c->live, __ATOMIC_ACQUIRE)) {
		struct linger lg = {0, 0};
		socklen_t ll = sizeof(lg);
		bool abort_ = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &ll) ==
				      0 &&
			      lg.l_onoff && lg.l_linger == 0;
		long long unread = peek_unread(c, fd);
		end_locked(c, fd,
			   abort_ ? TT_END_LOCAL_ABORT : TT_END_LOCAL_CLOSE,
			   TT_OUT, NULL, "close", unread);
	} else if (tracing && __atomic_load_n(&c->live, __ATOMIC_ACQUIRE) &&
		   c->id != 0) {
		/* the number was handed out again: the socket was closed
		 * somewhere the hooks do not see */
		end_locked(c, fd, TT_END_LOCAL_CLOSE, TT_OUT, NULL,
			   "close (not hooked)", 0);
	}
	__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	if (c->dec.ks)
		tt_keys_forget(c->dec.crandom);
	tt_conn_release(&c->dec);
	tt_fair_unlock(&c->mu);
	tt_dirlock_release(&c->lock[1]);
	tt_dirlock_release(&c->lock[0]);
	pthread_mutex_lock(&pool_lock);
	c->next_free = pool_free;
	pool_free = c;
	pthread_mutex_unlock(&pool_lock);
}

static void conn_free(struct tt_tconn *c)
{
	__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	conn_free_how(c, -1, false);
}

/* One descriptor of c went away; the last one ends it. */
static void conn_unref(struct tt_tconn *c, int fd, bool closing)
{
	tt_fair_lock(&c->mu);
	bool last = --c->refs <= 0;
	tt_fair_unlock(&c->mu);
	if (last)
		conn_free_how(c, fd, closing);
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

/* The entry's kind, classifying an UNKNOWN descriptor now. */
static uint8_t kind_now(int fd, struct tt_fdent *e)
{
	uint8_t kind = tt_fd_kind(e);
	if (kind == TT_FD_UNKNOWN) {
		kind = classify(fd);
		uint8_t expect = TT_FD_UNKNOWN;
		if (!__atomic_compare_exchange_n(&e->kind, &expect, kind, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			kind = expect;
	}
	return kind;
}

/* Settles an UNKNOWN or CANDIDATE fd given its first bytes; returns the
 * connection when the fd is (now) traced. */
static struct tt_tconn *settle(int fd, struct tt_fdent *e,
			       const uint8_t *first, size_t n)
{
	uint8_t kind = kind_now(fd, e);
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
	/* Two threads' first calls on a new socket (a reader and a writer)
	 * may both get here: the first to publish its connection wins, and
	 * the other one uses it. */
	struct tt_tconn *won = NULL;
	if (!__atomic_compare_exchange_n(&e->conn, &won, c, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		conn_free(c);
		return won;
	}
	uint8_t expect = TT_FD_CANDIDATE;
	if (!__atomic_compare_exchange_n(&e->kind, &expect, TT_FD_TLS, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* closed meanwhile: c is freed by the close if it took it,
		 * else here */
		struct tt_tconn *mine = c;
		if (__atomic_compare_exchange_n(&e->conn, &mine, NULL, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			conn_free(c);
		return NULL;
	}
	return c;
}

/* Takes mu, if fd still names c (false, unlocked, if not). */
static bool lock_conn(struct tt_tconn *c, struct tt_fdent *e, int fd,
		      struct scratch *s)
{
	tt_fair_lock(&c->mu);
	if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE) != c) {
		tt_fair_unlock(&c->mu);
		return false;
	}
	c->fd = fd;
	s->fd = fd;
	return true;
}

/* Takes c for a call on fd in dir: the direction's try-lock, then mu.
 * False, holding nothing, when another thread is in this direction (with
 * bytes: the direction is marked unsynced, since two calls' bytes cannot
 * be put in order) or fd no longer names c. */
static bool enter(struct tt_tconn *c, struct tt_fdent *e, int fd,
		  enum tt_dir dir, struct scratch *s, bool bytes)
{
	if (!tt_dirlock_try(&c->lock[dir])) {
		if (bytes)
			__atomic_store_n(&c->unsynced[dir], true,
					 __ATOMIC_RELAXED);
		return false;
	}
	if (!lock_conn(c, e, fd, s)) {
		tt_dirlock_release(&c->lock[dir]);
		return false;
	}
	return true;
}

static void leave(struct tt_tconn *c, enum tt_dir dir)
{
	tt_fair_unlock(&c->mu);
	tt_dirlock_release(&c->lock[dir]);
}

static const char *const bypass_name[TT_BY_COUNT] = {
	[TT_BY_SPLICE] = "splice",
	[TT_BY_TEE] = "tee",
	[TT_BY_VMSPLICE] = "vmsplice",
	[TT_BY_SENDFILE] = "sendfile",
	[TT_BY_COPY_FILE_RANGE] = "copy_file_range",
	[TT_BY_RECV] = "recv",
	[TT_BY_RECVFROM] = "recvfrom",
	[TT_BY_RECVMSG] = "recvmsg",
	[TT_BY_RECVMMSG] = "recvmmsg",
	[TT_BY_KTLS] = "ktls",
};

static const char *bypass_message(enum tt_bypass_call call)
{
	switch (call) {
	case TT_BY_RECV:
	case TT_BY_RECVFROM:
	case TT_BY_RECVMSG:
	case TT_BY_RECVMMSG:
		return "MSG_TRUNC made the kernel discard bytes no call "
		       "returned: this direction is no longer decoded";
	case TT_BY_KTLS:
		return "kernel TLS took this direction over: its records are "
		       "made and read in the kernel, no longer decoded here";
	default:
		return "bytes were moved inside the kernel, past every traced "
		       "call: this direction is no longer decoded";
	}
}

/* Reports the bypasses recorded on e (before the connection was known,
 * or while it was busy).  The caller holds mu. */
static void flush_bypass(struct tt_tconn *c, struct tt_fdent *e,
			 const struct tt_emit *em)
{
	for (int d = 0; d < 2; d++) {
		if (!__atomic_load_n(&e->pend_call[d], __ATOMIC_RELAXED))
			continue;
		uint8_t code = __atomic_exchange_n(&e->pend_call[d], 0,
						   __ATOMIC_ACQ_REL);
		uint32_t n = __atomic_exchange_n(&e->pend_bytes[d], 0,
						 __ATOMIC_ACQ_REL);
		if (code && code < TT_BY_COUNT)
			tt_conn_bypass(&c->dec, (enum tt_dir)d,
				       bypass_name[code], n,
				       bypass_message((enum tt_bypass_call)code),
				       em);
	}
}

static void stop_note(struct tt_tconn *c, enum tt_dir dir,
		      const struct tt_emit *em)
{
	tt_conn_stop(&c->dec, dir, "lock contention: bytes went by undecoded",
		     "this direction is no longer decoded", em);
}

/* Decodes what waits for keys in either direction.  The caller holds
 * mu, which is all the decoder needs: a thread about to feed a direction
 * waits for mu and then finds that direction's queue decoded, in order,
 * before its own bytes. */
static void drain_all(struct tt_tconn *c, const struct tt_emit *em)
{
	if (tt_conn_waiting(&c->dec))
		tt_conn_drain(&c->dec, em);
}

/* fd's number was found naming something else than c's socket: it
 * leaves c (whose last descriptor ends it) and is classified afresh. */
static void detach_if(int fd, struct tt_fdent *e, struct tt_tconn *c)
{
	struct tt_tconn *expect = c;
	if (!__atomic_compare_exchange_n(&e->conn, &expect, NULL, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&e->kind, TT_FD_UNKNOWN, __ATOMIC_RELEASE);
	conn_unref(c, fd, false);
}

static void feed(struct tt_tconn *c, struct tt_fdent *e, int fd,
		 enum tt_dir dir, const struct iovec *iov, size_t iovcnt,
		 size_t n)
{
	struct scratch *s = scratch();
	if (!s || !enter(c, e, fd, dir, s, true))
		return;
	struct tt_emit em;
	emit_init(&em, c, s);
	flush_bypass(c, e, &em);
	if (__atomic_load_n(&c->unsynced[dir], __ATOMIC_RELAXED) &&
	    !c->dec.d[dir].dead)
		stop_note(c, dir, &em);
	/* records that waited for keys go first */
	if (tt_conn_waiting(&c->dec))
		tt_conn_drain(&c->dec, &em);
	bool gone = false;
	for (size_t i = 0; i < iovcnt && n > 0; i++) {
		size_t take = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (take == 0)
			continue;
		tt_rc rc = tt_conn_feed(&c->dec, dir, iov[i].iov_base, take,
					&em);
		if (rc == TT_GONE)
			gone = true;
		if (rc != TT_OK)
			break;
		n -= take;
	}
	/* the other direction's waiting records, if its keys came meanwhile
	 * (a client's answer is often the first moment after they did) */
	if (!gone && tt_conn_waiting(&c->dec))
		tt_conn_drain(&c->dec, &em);
	leave(c, dir);
	if (gone)
		detach_if(fd, e, c);
}

void tt_trace_keys(int fd)
{
	if (!tracing || tt_busy || fd < 0)
		return;
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || tt_fd_kind(e) != TT_FD_TLS)
		return;
	struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	struct scratch *s = scratch();
	if (!c || !s)
		return;
	int saved = errno;
	tt_busy = 1;
	if (lock_conn(c, e, fd, s)) {
		struct tt_emit em;
		emit_init(&em, c, s);
		drain_all(c, &em);
		tt_fair_unlock(&c->mu);
	}
	tt_busy = 0;
	errno = saved;
}

void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n)
{
	if (!tracing || !e || n == 0)
		return;
	if (tt_busy) {
		/* a signal handler doing I/O while this thread was inside
		 * tlstrace: its bytes cannot be fed now */
		struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
		if (c && tt_fd_kind(e) == TT_FD_TLS)
			__atomic_store_n(&c->unsynced[dir], true,
					 __ATOMIC_RELAXED);
		return;
	}
	int saved = errno;
	tt_busy = 1;
	struct tt_tconn *c;
	if (tt_fd_kind(e) == TT_FD_TLS) {
		c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	} else {
		/* the first bytes decide */
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
		c = settle(fd, e, head, h);
	}
	if (c)
		feed(c, e, fd, dir, iov, iovcnt, n);
	tt_busy = 0;
	errno = saved;
}

void tt_trace_bypass(int fd, struct tt_fdent *e, enum tt_dir dir,
		     enum tt_bypass_call call, ssize_t n)
{
	if (!tracing)
		return;
	int saved = errno;
	bool busy = tt_busy;
	tt_busy = 1;
	uint8_t kind = busy ? tt_fd_kind(e) : kind_now(fd, e);
	if (kind != TT_FD_PASS) {
		/* recorded on the descriptor; reported now if it is traced,
		 * else when it turns out to be TLS */
		uint8_t none = 0;
		__atomic_compare_exchange_n(&e->pend_call[dir], &none,
					    (uint8_t)call, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		/* kernel TLS moves no bytes when it is switched on */
		uint32_t add = call != TT_BY_KTLS && n > 0 &&
					       (uint64_t)n < UINT32_MAX
				       ? (uint32_t)n
				       : 0;
		__atomic_add_fetch(&e->pend_bytes[dir], add, __ATOMIC_RELAXED);
	}
	struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	struct scratch *s;
	if (!busy && kind == TT_FD_TLS && c && (s = scratch()) != NULL &&
	    lock_conn(c, e, fd, s)) {
		struct tt_emit em;
		emit_init(&em, c, s);
		flush_bypass(c, e, &em);
		tt_fair_unlock(&c->mu);
	}
	tt_busy = busy;
	errno = saved;
}

static void detach(int fd, struct tt_fdent *e, bool closing)
{
	struct tt_tconn *c = __atomic_exchange_n(&e->conn, NULL,
						 __ATOMIC_ACQ_REL);
	__atomic_store_n(&e->kind, TT_FD_UNKNOWN, __ATOMIC_RELEASE);
	for (int d = 0; d < 2; d++) {
		__atomic_store_n(&e->pend_call[d], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->pend_bytes[d], 0, __ATOMIC_RELAXED);
	}
	/* Inside tlstrace already (a signal handler that interrupted us):
	 * the locks may be ours, so the connection is abandoned, not freed. */
	if (c && !tt_busy) {
		tt_busy = 1;
		conn_unref(c, fd, closing);
		tt_busy = 0;
	}
}

static const char *errno_name(int err)
{
	switch (err) {
	case ECONNRESET: return "ECONNRESET";
	case EPIPE: return "EPIPE";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNABORTED: return "ECONNABORTED";
	case ENETRESET: return "ENETRESET";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENOTCONN: return "ENOTCONN";
	default: return NULL;
	}
}

void tt_trace_fail(int fd, struct tt_fdent *e, enum tt_dir dir, ssize_t r,
		   size_t want, int err, const char *call)
{
	if (!tracing || tt_busy || tt_fd_kind(e) != TT_FD_TLS)
		return;
	const char *name = r < 0 ? errno_name(err) : NULL;
	bool fin = r == 0 && dir == TT_IN && want > 0;
	if (!fin && !name)
		return; /* EAGAIN, EINTR, a zero-length call... */
	struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	struct scratch *s = scratch();
	if (!c || !s) {
		errno = err;
		return;
	}
	tt_busy = 1;
	if (enter(c, e, fd, dir, s, false)) {
		end_locked(c, fd, fin ? TT_END_PEER_FIN : TT_END_ERROR, dir,
			   name, call, 0);
		leave(c, dir);
	}
	tt_busy = 0;
	errno = err;
}

static bool blank(const struct tt_fdent *e)
{
	return !__atomic_load_n(&e->conn, __ATOMIC_ACQUIRE) &&
	       tt_fd_kind(e) == TT_FD_UNKNOWN &&
	       !__atomic_load_n(&e->pend_call[0], __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&e->pend_call[1], __ATOMIC_RELAXED);
}

void tt_trace_newfd(int fd)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || blank(e))
		return;
	int saved = errno;
	detach(fd, e, false);
	errno = saved;
}

void tt_trace_close(int fd)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || blank(e))
		return;
	int saved = errno;
	detach(fd, e, true);
	errno = saved;
}

void tt_trace_dup(int oldfd, int newfd)
{
	struct tt_fdent *en = tt_fd_get(newfd);
	if (!en)
		return;
	int saved = errno;
	if (!blank(en))
		detach(newfd, en, false);
	struct tt_fdent *eo = tt_fd_get(oldfd);
	uint8_t kind = eo ? tt_fd_kind(eo) : TT_FD_UNKNOWN;
	if (kind == TT_FD_PASS) {
		__atomic_store_n(&en->kind, TT_FD_PASS, __ATOMIC_RELEASE);
	} else if (kind == TT_FD_TLS && !tt_busy) {
		/* Inside tlstrace already (a signal handler), mu may be this
		 * thread's: the new number is then classified afresh. */
		struct tt_tconn *c = __atomic_load_n(&eo->conn, __ATOMIC_ACQUIRE);
		if (c) {
			tt_busy = 1; /* a signal handler now passes through */
			tt_fair_lock(&c->mu);
			if (__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) &&
			    __atomic_load_n(&eo->conn, __ATOMIC_ACQUIRE) == c) {
				c->refs++;
				__atomic_store_n(&en->conn, c, __ATOMIC_RELEASE);
				__atomic_store_n(&en->kind, TT_FD_TLS,
						 __ATOMIC_RELEASE);
			}
			tt_fair_unlock(&c->mu);
			tt_busy = 0;
		}
	}
	errno = saved;
}

void tt_trace_replace(int oldfd, int newfd)
{
	if (tt_log_owns_fd(newfd))
		tt_log_step_aside(newfd);
	struct tt_fdent *en = tt_fd_get(newfd);
	if (!en || blank(en))
		return;
	int saved = errno;
	/* a call that will fail (oldfd not open) closes nothing */
	if (REAL(fcntl)(oldfd, F_GETFD) >= 0)
		detach(newfd, en, true);
	errno = saved;
}

static void close_one(int fd, struct tt_fdent *e)
{
	(void)e;
	tt_trace_close(fd);
}

void tt_trace_close_range(unsigned first, unsigned last)
{
	tt_fd_foreach(first, last, close_one);
}


static void fork_child(void)
{
	cached_pid = (long)getpid();
	forked_at_us = mono_us();
	pthread_mutex_init(&pool_lock, NULL);
	tt_keys_fork_child();
	/* Only the forking thread survives: locks held by others at fork
	 * time would never be released. */
	for (struct tt_tconn *c = pool_all; c; c = c->next_all) {
		tt_dirlock_reset(&c->lock[0]);
		tt_dirlock_reset(&c->lock[1]);
		tt_fair_reset(&c->mu);
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
	tt_log_init();
	cached_pid = (long)getpid();
	tt_config_load(&cfg, get_env, tt_log_stderr);
	pthread_key_create(&scratch_key, scratch_free);
	pthread_atfork(NULL, NULL, fork_child);
	tracing = tt_log_open(&cfg);
	/* no sink, no tracing: no key capture either (it costs the host) */
	if (!tracing)
		cfg.decrypt = false;
	tt_keys_init(&cfg);
	tt_busy = 0;
}

__attribute__((constructor)) static void tt_ctor(void)
{
	tt_trace_init();
}

/* Normal exit: a summary for every connection still open.  Threads may
 * still run, so a connection busy in another thread is skipped. */
__attribute__((destructor)) static void tt_dtor(void)
{
	if (!tracing || tt_busy)
		return;
	tt_busy = 1;
	pthread_mutex_lock(&pool_lock);
	struct tt_tconn *all = pool_all;
	pthread_mutex_unlock(&pool_lock);
	for (struct tt_tconn *c = all; c; c = c->next_all) {
		if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE))
			continue;
		if (!tt_dirlock_try(&c->lock[0]))
			continue;
		if (tt_dirlock_try(&c->lock[1])) {
			tt_fair_lock(&c->mu);
			if (__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) &&
			    c->last_us >= forked_at_us) {
				end_locked(c, c->fd, TT_END_EXIT, TT_OUT, NULL,
					   NULL, 0);
				/* summarised: a close after this (another
				 * library's destructor) writes nothing more */
				__atomic_store_n(&c->live, false,
						 __ATOMIC_RELEASE);
			}
			tt_fair_unlock(&c->mu);
			tt_dirlock_release(&c->lock[1]);
		}
		tt_dirlock_release(&c->lock[0]);
	}
	tt_busy = 0;
}
