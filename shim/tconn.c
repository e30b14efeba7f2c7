/* Traced connections: the pool they come from, their locks, the lines
 * their events become, and their end.
 *
 * Connections come from a pool and are never returned to malloc: a hook
 * that read a connection pointer just before another thread closed the
 * descriptor still touches valid memory, and checks after locking that
 * the connection is still the one for its fd.
 *
 * They exist only while tracing (shim/trace.c makes them, once a log
 * sink is open).
 */
#include "tconn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "keys.h"
#include "log.h"
#include "pcap.h"
#include "real.h"

#define LINE_CAP (160 * 1024)
/* The lines of one hooked call wait in the thread's scratch while the
 * connection's lock is held, and leave in one write when it is released
 * (tt_tconn_unlock), before the call returns: nothing decoded is held
 * once the host has its result back.  A batch is written early when it
 * outgrows BATCH_CAP bytes or BATCH_LINES lines, so the next line always
 * has LINE_CAP bytes of room. */
#define BATCH_CAP   (16 * 1024)
#define BATCH_LINES 64

/* A connection at rest costs this struct (from the pool) plus the
 * decoder's blocks of their exact size (tests/unit/test_rest.c); make
 * bench's idle workload holds 10,000 of them and expects under 1 KiB
 * each in all. */
_Static_assert(sizeof(struct tt_tconn) <= 640,
	       "a traced connection at rest stays small");

static enum tt_format format;
static enum tt_level level;
/* TLSTRACE_EVENTS: the events written, when not all (events.n > 0) */
static struct tt_evfilter events;
static long cached_pid;
static uint64_t next_conn_id;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tt_tconn *pool_all, *pool_free;
/* Forks since the library loaded, in this process's line: connections
 * it inherited and never used since (their gen is older) belong to its
 * parent, which writes their end and summary. */
static unsigned fork_gen;

struct tt_scratch {
	long tid;
	int fd; /* the descriptor of the call being traced */
	/* the batch: lines end at ends[], written at levels[]; carried[i]
	 * is the count of earlier drops line i reports */
	size_t used, nlines;
	uint32_t ends[BATCH_LINES];
	uint8_t levels[BATCH_LINES];
	uint64_t carried[BATCH_LINES];
	/* the sink's identity was checked during this hooked call (lines
	 * written one by one, tt_log_per_line) */
	bool checked;
	/* the addresses of the connection last written about (its id, 0
	 * none: ids start at 1), as text: made again only when lines move
	 * to another connection */
	uint64_t addr_id;
	char local[64], peer[64];
	struct tt_event ev;
	char line[BATCH_CAP + LINE_CAP];
};
static __thread struct tt_scratch *tls_scratch;
static pthread_key_t scratch_key;

/* At thread exit; a destructor that runs later (another key's, closing
 * a TLS socket) makes a new one. */
static void scratch_free(void *p)
{
	tls_scratch = NULL;
	free(p);
}

struct tt_scratch *tt_scratch(void)
{
	if (!tls_scratch) {
		tls_scratch = malloc(sizeof(*tls_scratch));
		if (!tls_scratch)
			return NULL;
		tls_scratch->tid = (long)syscall(SYS_gettid);
		tls_scratch->used = tls_scratch->nlines = 0;
		tls_scratch->addr_id = 0;
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

/* fd's address as get (getsockname or getpeername) gives it; family 0
 * when it gives none. */
static void addr_take(int fd, int (*get)(int, struct sockaddr *, socklen_t *),
		      struct tt_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	memset(a, 0, sizeof(*a));
	if (get(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		a->family = AF_INET;
		memcpy(a->ip, &in->sin_addr, 4);
		a->port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		a->family = AF_INET6;
		memcpy(a->ip, &in6->sin6_addr, 16);
		a->port = ntohs(in6->sin6_port);
	}
}

/* "127.0.0.1:443", "[::1]:443" or "?", in out (64 bytes). */
static void addr_text(const struct tt_addr *a, char *out)
{
	char ip[INET6_ADDRSTRLEN];
	if (!a->family ||
	    !inet_ntop(a->family, a->ip, ip, (socklen_t)sizeof(ip))) {
		strcpy(out, "?");
		return;
	}
	char port[8], *p = port + sizeof(port);
	unsigned v = a->port;
	*--p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	size_t n = strlen(ip), m = strlen(p);
	char *o = out;
	if (a->family == AF_INET6)
		*o++ = '[';
	memcpy(o, ip, n);
	o += n;
	if (a->family == AF_INET6)
		*o++ = ']';
	*o++ = ':';
	memcpy(o, p, m + 1);
}

/* Writes the batch.  The drops a dropped line reported are reported
 * again by the next line. */
static void lines_flush(struct tt_scratch *s)
{
	size_t n = s->nlines;
	if (n == 0)
		return;
	uint64_t lost;
	if (tt_log_write_lines(s->line, s->ends, s->levels, n, s->checked,
			       &lost))
		for (size_t i = 0; i < n; i++)
			if (lost >> i & 1)
				tt_log_dropped_untake(s->carried[i]);
	s->used = s->nlines = 0;
	s->checked = tt_log_per_line();
}

static void on_event(void *ctx, struct tt_event *ev)
{
	struct tt_tconn *c = ctx;
	c->last_us = mono_us();
	struct tt_scratch *s = tls_scratch;
	if (s->used > BATCH_CAP || s->nlines == BATCH_LINES)
		lines_flush(s);
	if (s->addr_id != c->id) {
		addr_text(&c->local, s->local);
		addr_text(&c->peer, s->peer);
		s->addr_id = c->id;
	}
	struct tt_line_ctx lc = {
		.pid = cached_pid,
		.tid = s->tid,
		.conn = c->id,
		.fd = s->fd,
		.local = s->local,
		.peer = s->peer,
		.role = tt_role_name((enum tt_role)tt_conn_role(&c->dec)),
		.show_addrs = !c->addrs_shown,
	};
	c->addrs_shown = true;
	/* lines the log could not take are counted in the next one */
	uint64_t dropped = tt_log_dropped_take();
	if (dropped)
		tt_ev_int(ev, "lines_dropped", (enum tt_level)ev->level,
			  (long long)dropped);
	s->carried[s->nlines] = dropped;
	uint64_t total = tt_log_dropped_total();
	if (total && strcmp(ev->name, "summary") == 0)
		tt_ev_int(ev, "log_lines_dropped", TT_INFO, (long long)total);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->used += tt_format_line(format, s->line + s->used,
				  sizeof(s->line) - s->used, ev, &lc, level,
				  &ts);
	s->ends[s->nlines] = (uint32_t)s->used;
	s->levels[s->nlines++] = ev->level;
	if (tt_log_per_line())
		lines_flush(s);
}

void tt_tconn_unlock(struct tt_tconn *c)
{
	struct tt_scratch *s = tls_scratch;
	if (s) {
		if (s->nlines)
			lines_flush(s);
		s->checked = false; /* the next call checks again */
	}
	tt_fair_unlock(&c->mu);
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

void tt_tconn_emit(struct tt_emit *em, struct tt_tconn *c, struct tt_scratch *s)
{
	*em = (struct tt_emit){.fn = on_event,
			       .ctx = c,
			       .ev = &s->ev,
			       .level = (uint8_t)level,
			       .same_stream = same_stream,
			       .events = events.n ? &events : NULL};
}

struct tt_tconn *tt_tconn_new(int fd)
{
	struct stat st;
	bool have_id = fstat(fd, &st) == 0;
	/* a number the hooks took for a socket that was closed and reused
	 * behind their back (a raw system call) */
	if (have_id && !S_ISSOCK(st.st_mode))
		return NULL;
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
	c->plain = false;
	c->unsynced[0] = c->unsynced[1] = false;
	c->addrs_shown = false;
	c->born_us = c->last_us = mono_us();
	c->gen = fork_gen;
	c->have_id = have_id;
	c->dev = have_id ? st.st_dev : 0;
	c->ino = have_id ? st.st_ino : 0;
	addr_take(fd, getsockname, &c->local);
	addr_take(fd, getpeername, &c->peer);
	__atomic_store_n(&c->live, true, __ATOMIC_RELEASE);
	return c;
}

/* Reports the end of a connection through its decoder.  The caller holds
 * mu. */
void tt_tconn_end(struct tt_tconn *c, int fd, enum tt_end_how how,
		  enum tt_dir dir, const char *errname, const char *call,
		  long long unread)
{
	struct tt_scratch *s = tt_scratch();
	if (!s)
		return;
	s->fd = fd;
	struct tt_emit em;
	tt_tconn_emit(&em, c, s);
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
	if (tt_pcap_on)
		tt_pcap_end(c, how, errname);
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
	struct tt_scratch *s = tt_scratch();
	if (s && !c->dec.d[TT_IN].dead) {
		s->fd = fd;
		struct tt_emit em;
		tt_tconn_emit(&em, c, s);
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
	if (c->gen != fork_gen)
		__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	/* not TLS: nothing to peek at or to say */
	if (__atomic_load_n(&c->plain, __ATOMIC_ACQUIRE))
		__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	if (closing && __atomic_load_n(&c->live, __ATOMIC_ACQUIRE)) {
		struct linger lg = {0, 0};
		socklen_t ll = sizeof(lg);
		bool abort_ = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &ll) ==
				      0 &&
			      lg.l_onoff && lg.l_linger == 0;
		long long unread = peek_unread(c, fd);
		tt_tconn_end(c, fd,
			     abort_ ? TT_END_LOCAL_ABORT : TT_END_LOCAL_CLOSE,
			     TT_OUT, NULL, "close", unread);
	} else if (__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) && c->id != 0) {
		/* the number was handed out again: the socket was closed
		 * somewhere the hooks do not see */
		tt_tconn_end(c, fd, TT_END_LOCAL_CLOSE, TT_OUT, NULL,
			     "close (not hooked)", 0);
	}
	__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	if (tt_pcap_on)
		tt_pcap_release(c);
	if (c->dec.ks)
		tt_keys_forget(c->dec.crandom);
	tt_conn_release(&c->dec);
	tt_tconn_unlock(c);
	tt_dirlock_release(&c->lock[1]);
	tt_dirlock_release(&c->lock[0]);
	pthread_mutex_lock(&pool_lock);
	c->next_free = pool_free;
	pool_free = c;
	pthread_mutex_unlock(&pool_lock);
}

void tt_tconn_free(struct tt_tconn *c)
{
	__atomic_store_n(&c->live, false, __ATOMIC_RELEASE);
	conn_free_how(c, -1, false);
}

/* One descriptor of c went away; the last one ends it. */
void tt_tconn_unref(struct tt_tconn *c, int fd, bool closing)
{
	tt_fair_lock(&c->mu);
	bool last = --c->refs <= 0;
	tt_tconn_unlock(c);
	if (last)
		conn_free_how(c, fd, closing);
}

/* Takes mu, if fd still names c (false, unlocked, if not). */
bool tt_tconn_lock(struct tt_tconn *c, struct tt_fdent *e, int fd,
		   struct tt_scratch *s)
{
	tt_fair_lock(&c->mu);
	if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE) != c) {
		tt_tconn_unlock(c);
		return false;
	}
	c->fd = fd;
	c->gen = fork_gen;
	s->fd = fd;
	return true;
}

/* Takes c for a call on fd in dir: the direction's try-lock, then mu.
 * False, holding nothing, when another thread is in this direction (with
 * bytes: the direction is marked unsynced, since two calls' bytes cannot
 * be put in order) or fd no longer names c. */
bool tt_tconn_enter(struct tt_tconn *c, struct tt_fdent *e, int fd,
		    enum tt_dir dir, struct tt_scratch *s, bool bytes)
{
	if (!tt_dirlock_try(&c->lock[dir])) {
		if (bytes)
			__atomic_store_n(&c->unsynced[dir], true,
					 __ATOMIC_RELAXED);
		return false;
	}
	if (!tt_tconn_lock(c, e, fd, s)) {
		tt_dirlock_release(&c->lock[dir]);
		return false;
	}
	return true;
}

void tt_tconn_leave(struct tt_tconn *c, enum tt_dir dir)
{
	tt_tconn_unlock(c);
	tt_dirlock_release(&c->lock[dir]);
}

void tt_tconn_init(const struct tt_config *cfg)
{
	format = cfg->format;
	level = cfg->level;
	events = cfg->events;
	cached_pid = (long)getpid();
	pthread_key_create(&scratch_key, scratch_free);
}

void tt_tconn_fork_child(void)
{
	cached_pid = (long)getpid();
	fork_gen++;
	pthread_mutex_init(&pool_lock, NULL);
	/* Only the forking thread survives: locks held by others at fork
	 * time would never be released. */
	for (struct tt_tconn *c = pool_all; c; c = c->next_all) {
		tt_dirlock_reset(&c->lock[0]);
		tt_dirlock_reset(&c->lock[1]);
		tt_fair_reset(&c->mu);
		if (tt_pcap_on)
			tt_pcap_fork_conn(c);
	}
	if (tls_scratch) {
		tls_scratch->tid = (long)syscall(SYS_gettid);
		/* a fork from a signal handler that interrupted a batch:
		 * those lines are the parent's */
		tls_scratch->used = tls_scratch->nlines = 0;
	}
}

void tt_tconn_exit(enum tt_end_how how)
{
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
			    !__atomic_load_n(&c->plain, __ATOMIC_ACQUIRE) &&
			    c->gen == fork_gen) {
				tt_tconn_end(c, c->fd, how, TT_OUT, NULL, NULL,
					     0);
				/* summarised: a close after this (another
				 * library's destructor) writes nothing more */
				__atomic_store_n(&c->live, false,
						 __ATOMIC_RELEASE);
			}
			tt_tconn_unlock(c);
			tt_dirlock_release(&c->lock[1]);
		}
		tt_dirlock_release(&c->lock[0]);
	}
}
