/* Connection tracing: hooks hand bytes here; this file classifies the
 * descriptor, finds or makes its connection (shim/tconn.c), feeds its
 * decoder under the direction's try-lock, and follows descriptors as they
 * are duplicated, replaced and closed.
 */
#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "pcap.h"
#include "real.h"
#include "tconn.h"
#include "version.h"

/* Which tlstrace this library is, for whoever asks its file (strings). */
__attribute__((used)) static const char version[] = "tlstrace " TT_VERSION;

__thread int tt_busy;
/* The descriptor of this thread's last traced TLS call, for
 * tt_trace_keys_here. */
static __thread int here_fd = -1;

static bool tracing;

/* Whether this process is traced: from the start until the end, or from
 * tlstrace -p's attach until its detach. */
static inline bool on(void)
{
	return __atomic_load_n(&tracing, __ATOMIC_RELAXED);
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

/* Settles an UNKNOWN or CANDIDATE fd given its first bytes (moved in
 * dir); returns the connection when the fd is (now) traced: as TLS, or
 * as a cleartext protocol followed until it upgrades to TLS. */
static struct tt_tconn *settle(int fd, struct tt_fdent *e, enum tt_dir dir,
			       const uint8_t *first, size_t n)
{
	uint8_t kind = kind_now(fd, e);
	if (kind == TT_FD_TLS)
		return __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	if (kind != TT_FD_CANDIDATE)
		return NULL;
	struct tt_tconn *c;
	uint8_t mid = __atomic_load_n(&e->mid, __ATOMIC_RELAXED);
	if (mid) {
		/* open before the attach: the decoder finds the records */
		c = tt_tconn_new(fd);
		if (c)
			tt_conn_midstream(&c->dec, (enum tt_role)(mid - 1));
	} else {
		struct tt_first_guess g;
		enum tt_first what = tt_conn_first(first, n, &g);
		if (what == TT_FIRST_NONE) {
			__atomic_store_n(&e->kind, TT_FD_PASS,
					 __ATOMIC_RELEASE);
			return NULL;
		}
		c = tt_tconn_new(fd);
		if (c && what != TT_FIRST_TLS &&
		    !tt_conn_follow(&c->dec, dir, what, &g)) {
			tt_tconn_free(c);
			c = NULL;
		}
	}
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
		tt_tconn_free(c);
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
			tt_tconn_free(c);
		return NULL;
	}
	return c;
}

/* Copies the decoder's verdict that c is not TLS (a followed cleartext
 * protocol that did not upgrade) where hooks see it without mu.  The
 * caller holds mu. */
static bool note_plain(struct tt_tconn *c)
{
	if (!c->dec.plain)
		return false;
	__atomic_store_n(&c->plain, true, __ATOMIC_RELEASE);
	return true;
}

/* c is not TLS: fd leaves it and is passed over from now on, as any
 * socket that is not TLS (one table lookup per call).  Every descriptor
 * naming c does so on its next call; the last one returns c to the pool
 * with nothing written (conn_free_how sees plain).  A close or a reuse
 * of the number that took the entry first has dropped its reference
 * already, and the entry is theirs. */
static void pass_over(int fd, struct tt_fdent *e, struct tt_tconn *c)
{
	struct tt_tconn *expect = c;
	if (!__atomic_compare_exchange_n(&e->conn, &expect, NULL, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	uint8_t kind = TT_FD_TLS;
	__atomic_compare_exchange_n(&e->kind, &kind, TT_FD_PASS, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	tt_tconn_unref(c, fd, false);
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
		if (!code || code >= TT_BY_COUNT)
			continue;
		tt_conn_bypass(&c->dec, (enum tt_dir)d, bypass_name[code], n,
			       bypass_message((enum tt_bypass_call)code), em);
		/* kernel TLS: the records on the wire are the kernel's, of
		 * a length no hook sees */
		if (tt_pcap_on)
			tt_pcap_gap(c, (enum tt_dir)d,
				    code == TT_BY_KTLS ? 0 : n);
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
	tt_tconn_unref(c, fd, false);
}

/* Ends a call's work on c: releases mu (writing the call's lines) and,
 * with dir set (0 or 1), that direction's try-lock; then fd leaves c if
 * its bytes were found to be another stream's (gone), or is passed over
 * if c turned out not to be TLS. */
static void finish_call(struct tt_tconn *c, struct tt_fdent *e, int fd, int dir,
			bool gone)
{
	bool plain = note_plain(c);
	if (dir >= 0)
		tt_tconn_leave(c, (enum tt_dir)dir);
	else
		tt_tconn_unlock(c);
	if (gone)
		detach_if(fd, e, c);
	else if (plain)
		pass_over(fd, e, c);
}

static void feed(struct tt_tconn *c, struct tt_fdent *e, int fd,
		 enum tt_dir dir, const struct iovec *iov, size_t iovcnt,
		 size_t n)
{
	struct tt_scratch *s = tt_scratch();
	if (!s || !tt_tconn_enter(c, e, fd, dir, s, true))
		return;
	here_fd = fd;
	struct tt_emit em;
	tt_tconn_emit(&em, c, s);
	flush_bypass(c, e, &em);
	if (__atomic_load_n(&c->unsynced[dir], __ATOMIC_RELAXED) &&
	    !c->dec.d[dir].dead)
		stop_note(c, dir, &em);
	/* records that waited for keys go first */
	if (tt_conn_waiting(&c->dec)) {
		tt_conn_drain(&c->dec, &em);
		/* with keys only from a key log file, what waited through a
		 * whole call of the program's on this connection gets none
		 * (tt_keys_file_only): reported now, not at its end */
		if (tt_conn_waiting(&c->dec) && tt_keys_file_only())
			tt_conn_keys_gone(&c->dec, &em);
	}
	bool gone = false;
	const size_t moved = n;
	for (size_t i = 0; i < iovcnt && n > 0; i++) {
		size_t take = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (take == 0)
			continue;
		tt_rc rc =
			tt_conn_feed(&c->dec, dir, iov[i].iov_base, take, &em);
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
	/* after the decoder: it knows by now whether these bytes' records
	 * wait for keys, and whose ClientHello it was */
	if (__builtin_expect(tt_pcap_on, 0) && !gone)
		tt_pcap_data(c, dir, iov, iovcnt, moved);
	finish_call(c, e, fd, (int)dir, gone);
}

/* The TLS connection fd names, locked (mu) with tt_busy set, for a call
 * from a TLS library's callback; NULL when there is none or it cannot be
 * taken.  release_traced undoes it. */
static struct tt_tconn *take_traced(int fd, struct tt_scratch **sp)
{
	if (!on() || tt_busy || fd < 0)
		return NULL;
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || tt_fd_kind(e) != TT_FD_TLS)
		return NULL;
	struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	struct tt_scratch *s = tt_scratch();
	if (!c || !s)
		return NULL;
	tt_busy = 1;
	if (!tt_tconn_lock(c, e, fd, s)) {
		tt_busy = 0;
		return NULL;
	}
	*sp = s;
	return c;
}

static void release_traced(struct tt_tconn *c)
{
	tt_tconn_unlock(c);
	tt_busy = 0;
}

void tt_trace_keys(int fd)
{
	int saved = errno;
	struct tt_scratch *s;
	struct tt_tconn *c = take_traced(fd, &s);
	if (c) {
		struct tt_emit em;
		tt_tconn_emit(&em, c, s);
		drain_all(c, &em);
		if (tt_pcap_on)
			tt_pcap_sync(c);
		release_traced(c);
	}
	errno = saved;
}

void tt_trace_keys_here(void)
{
	tt_trace_keys(here_fd);
}

bool tt_trace_here_hello(int lib_fd, uint8_t *client_random, bool *server)
{
	int fd = here_fd;
	if (lib_fd >= 0 && lib_fd != fd)
		return false;
	int saved = errno;
	bool got = false;
	struct tt_scratch *s;
	struct tt_tconn *c = take_traced(fd, &s);
	if (c) {
		enum tt_role r = (enum tt_role)tt_conn_role(&c->dec);
		if (c->dec.ch_seen && r != TT_ROLE_UNKNOWN) {
			memcpy(client_random, c->dec.crandom, 32);
			*server = r == TT_ROLE_SERVER;
			got = true;
		}
		release_traced(c);
	}
	errno = saved;
	return got;
}

void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n)
{
	if (!on() || !e || n == 0)
		return;
	if (tt_busy) {
		/* a signal handler doing I/O while this thread was inside
		 * tlstrace: its bytes cannot be fed now */
		struct tt_tconn *c =
			__atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
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
		if (c && __atomic_load_n(&c->plain, __ATOMIC_ACQUIRE)) {
			pass_over(fd, e, c);
			c = NULL;
		}
	} else {
		/* the first bytes decide: TLS, a cleartext protocol that
		 * may upgrade to it, or neither */
		uint8_t head[TT_STLS_HEAD];
		size_t h = 0;
		for (size_t i = 0; i < iovcnt && h < sizeof(head) && h < n;
		     i++) {
			size_t take = iov[i].iov_len;
			if (take > sizeof(head) - h)
				take = sizeof(head) - h;
			if (take > n - h)
				take = n - h;
			memcpy(head + h, iov[i].iov_base, take);
			h += take;
		}
		c = settle(fd, e, dir, head, h);
	}
	if (c)
		feed(c, e, fd, dir, iov, iovcnt, n);
	tt_busy = 0;
	errno = saved;
}

void tt_trace_bypass(int fd, struct tt_fdent *e, enum tt_dir dir,
		     enum tt_bypass_call call, ssize_t n)
{
	if (!on())
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
	struct tt_scratch *s;
	if (!busy && kind == TT_FD_TLS && c && (s = tt_scratch()) != NULL &&
	    tt_tconn_lock(c, e, fd, s)) {
		struct tt_emit em;
		tt_tconn_emit(&em, c, s);
		flush_bypass(c, e, &em);
		finish_call(c, e, fd, -1, false);
	}
	tt_busy = busy;
	errno = saved;
}

static void detach(int fd, struct tt_fdent *e, bool closing)
{
	struct tt_tconn *c =
		__atomic_exchange_n(&e->conn, NULL, __ATOMIC_ACQ_REL);
	__atomic_store_n(&e->kind, TT_FD_UNKNOWN, __ATOMIC_RELEASE);
	__atomic_store_n(&e->mid, 0, __ATOMIC_RELAXED);
	for (int d = 0; d < 2; d++) {
		__atomic_store_n(&e->pend_call[d], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->pend_bytes[d], 0, __ATOMIC_RELAXED);
	}
	/* Inside tlstrace already (a signal handler that interrupted us):
	 * the locks may be ours, so the connection is abandoned, not freed. */
	if (c && !tt_busy) {
		tt_busy = 1;
		tt_tconn_unref(c, fd, closing);
		tt_busy = 0;
	}
}

static const char *errno_name(int err)
{
	switch (err) {
	case ECONNRESET:
		return "ECONNRESET";
	case EPIPE:
		return "EPIPE";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ECONNABORTED:
		return "ECONNABORTED";
	case ENETRESET:
		return "ENETRESET";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENOTCONN:
		return "ENOTCONN";
	default:
		return NULL;
	}
}

void tt_trace_fail(int fd, struct tt_fdent *e, enum tt_dir dir, ssize_t r,
		   size_t want, int err, const char *call)
{
	if (!on() || tt_busy || tt_fd_kind(e) != TT_FD_TLS)
		return;
	const char *name = r < 0 ? errno_name(err) : NULL;
	bool fin = r == 0 && dir == TT_IN && want > 0;
	if (!fin && !name)
		return; /* EAGAIN, EINTR, a zero-length call... */
	struct tt_tconn *c = __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE);
	struct tt_scratch *s = tt_scratch();
	if (!c || !s) {
		errno = err;
		return;
	}
	tt_busy = 1;
	if (tt_tconn_enter(c, e, fd, dir, s, false)) {
		tt_tconn_end(c, fd, fin ? TT_END_PEER_FIN : TT_END_ERROR, dir,
			     name, call, 0);
		/* a followed protocol ended before upgrading */
		finish_call(c, e, fd, (int)dir, false);
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

void tt_trace_newfd_as(int fd, uint8_t kind)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e)
		return;
	if (!blank(e)) {
		int saved = errno;
		detach(fd, e, false);
		errno = saved;
	}
	if (kind != TT_FD_UNKNOWN)
		__atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
}

void tt_trace_newfd(int fd)
{
	tt_trace_newfd_as(fd, TT_FD_UNKNOWN);
}

uint8_t tt_trace_socket_kind(int domain, int type)
{
	if (domain != AF_INET && domain != AF_INET6)
		return TT_FD_PASS;
	return (type & 0xf) == SOCK_STREAM ? TT_FD_CANDIDATE : TT_FD_PASS;
}

uint8_t tt_trace_accepted_kind(int lfd)
{
	/* an accepted socket is of the listener's family and type; the
	 * peer address the call returned is not looked at (the caller's
	 * buffer may have had no room for it) */
	struct tt_fdent *e = tt_fd_get(lfd);
	uint8_t k = e ? tt_fd_kind(e) : TT_FD_UNKNOWN;
	return k == TT_FD_CANDIDATE || k == TT_FD_PASS ? k : TT_FD_UNKNOWN;
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
		struct tt_tconn *c =
			__atomic_load_n(&eo->conn, __ATOMIC_ACQUIRE);
		if (c) {
			tt_busy = 1; /* a signal handler now passes through */
			tt_fair_lock(&c->mu);
			bool same =
				__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) &&
				__atomic_load_n(&eo->conn, __ATOMIC_ACQUIRE) ==
					c;
			if (same &&
			    __atomic_load_n(&c->plain, __ATOMIC_ACQUIRE)) {
				/* not TLS: the copy is passed over at once */
				__atomic_store_n(&en->kind, TT_FD_PASS,
						 __ATOMIC_RELEASE);
			} else if (same) {
				c->refs++;
				__atomic_store_n(&en->conn, c,
						 __ATOMIC_RELEASE);
				__atomic_store_n(&en->kind, TT_FD_TLS,
						 __ATOMIC_RELEASE);
			}
			tt_tconn_unlock(c);
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
	tt_tconn_fork_child();
	tt_keys_fork_child();
	if (tt_pcap_on)
		tt_pcap_fork_child();
}

static const char *get_env(const char *name)
{
	return getenv(name);
}

/* The library starts tracing, its settings read through get. */
static void start(const char *(*get)(const char *name))
{
	static struct tt_config cfg;
	tt_busy = 1;
	tt_real_bind();
	tt_log_init();
	tt_config_load(&cfg, get, tt_log_stderr);
	tt_tconn_init(&cfg);
	pthread_atfork(NULL, NULL, fork_child);
	bool on = tt_log_open(&cfg);
	if (on)
		tt_pcap_init(&cfg);
	/* no sink, no tracing: no key capture either (it costs the host) */
	if (!on)
		cfg.decrypt = false;
	tt_keys_init(&cfg);
	__atomic_store_n(&tracing, on, __ATOMIC_RELEASE);
	tt_busy = 0;
}

void tt_trace_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	start(get_env);
}

bool tt_trace_attach(const char *(*get)(const char *name))
{
	start(get);
	return __atomic_load_n(&tracing, __ATOMIC_ACQUIRE);
}

void tt_trace_detach(void)
{
	__atomic_store_n(&tracing, false, __ATOMIC_RELEASE);
	tt_keys_stop();
	tt_busy = 1;
	tt_tconn_exit(TT_END_DETACH);
	__atomic_store_n(&tt_pcap_on, false, __ATOMIC_RELEASE);
	tt_log_detach();
	tt_busy = 0;
}

/* Normal exit: a summary for every connection still open. */
__attribute__((destructor)) static void tt_dtor(void)
{
	if (!__atomic_load_n(&tracing, __ATOMIC_ACQUIRE) || tt_busy)
		return;
	tt_busy = 1;
	tt_tconn_exit(TT_END_EXIT);
	tt_busy = 0;
}

void tt_trace_mark_open(int fd, enum tt_role role)
{
	struct tt_fdent *e = tt_fd_get(fd);
	if (!e || !blank(e))
		return;
	/* mid before kind: settle reads kind (acquire), then mid */
	__atomic_store_n(&e->mid, (uint8_t)(1 + role), __ATOMIC_RELAXED);
	uint8_t expect = TT_FD_UNKNOWN;
	if (!__atomic_compare_exchange_n(&e->kind, &expect, TT_FD_CANDIDATE,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		__atomic_store_n(&e->mid, 0, __ATOMIC_RELAXED);
}
