/* Connection tracing: the glue between hooks, decoder and log. */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "record.h"
#include "fdtable.h"

/* A one-word try-lock per direction.  Hooks only ever try it (and skip
 * on contention); the close and exit paths wait for it, yielding, while a
 * decode step in another thread finishes.  Cheaper than a mutex on the
 * path every traced read and write takes, and reset by a store after
 * fork. */
typedef struct {
	int v;
} tt_dirlock;

static inline bool tt_dirlock_try(tt_dirlock *l)
{
	return !__atomic_load_n(&l->v, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE);
}

static inline void tt_dirlock_release(tt_dirlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

static inline void tt_dirlock_reset(tt_dirlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELAXED);
}

/* One traced connection.  Every use of its decoder happens under mu;
 * a hook first takes the try-lock of its direction (two threads feeding
 * the same direction at once cannot be put in order: the second one
 * marks the direction unsynced instead), then mu, which a thread busy in
 * the other direction holds only for one bounded decode step and never
 * across the host's own I/O. */
/* The connection lock: a ticket lock, so that a thread waiting for it is
 * served in turn.  A reader thread that calls read() in a tight loop
 * takes and drops it between its calls; with a mutex, the writer thread
 * of the same socket could wait through many of those, its bytes fed
 * long after the reader's.  Held only for one bounded decode step, so
 * waiters spin a little, then yield.  Reset by a store after fork. */
typedef struct {
	unsigned next, serving;
} tt_fairlock;

static inline void tt_fair_lock(tt_fairlock *l)
{
	unsigned t = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	for (int spins = 0;
	     __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != t; spins++) {
		if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
		}
	}
}

static inline void tt_fair_unlock(tt_fairlock *l)
{
	unsigned s = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	__atomic_store_n(&l->serving, s + 1, __ATOMIC_RELEASE);
}

static inline void tt_fair_reset(tt_fairlock *l)
{
	__atomic_store_n(&l->serving,
			 __atomic_load_n(&l->next, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

struct tt_tconn {
	struct tt_conn dec;
	tt_dirlock lock[2];
	tt_fairlock mu;
	uint64_t id;
	int fd;	  /* the descriptor of the latest call (under mu) */
	int refs; /* descriptors naming this connection (under mu) */
	bool have_id;
	dev_t dev; /* the socket's identity, to tell a reused number */
	ino_t ino;
	bool live;
	bool unsynced[2];
	bool addrs_shown;
	long long born_us, last_us; /* CLOCK_MONOTONIC: first seen, last event */
	char local[64], peer[64];
	struct tt_tconn *next_all, *next_free;
};

/* Set while tlstrace itself runs in this thread: its own I/O and
 * anything it calls are not traced. */
extern __thread int tt_busy;

void tt_trace_init(void);

/* Bytes moved by a successful call (n > 0). */
void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n);
/* Where bytes went past the hooks (the io_bypass event's call). */
enum tt_bypass_call {
	TT_BY_NONE = 0,
	TT_BY_SPLICE,
	TT_BY_TEE,
	TT_BY_VMSPLICE,
	TT_BY_SENDFILE,
	TT_BY_COPY_FILE_RANGE,
	TT_BY_RECV,	/* MSG_TRUNC on a stream: bytes discarded */
	TT_BY_RECVFROM,
	TT_BY_RECVMSG,
	TT_BY_RECVMMSG,
	TT_BY_KTLS,
	TT_BY_COUNT
};

/* A call moved n bytes (0: unknown) of fd in dir where no hook saw them:
 * that direction is no longer decoded, and the log says so (at once, or
 * when the descriptor turns out to be TLS). */
void tt_trace_bypass(int fd, struct tt_fdent *e, enum tt_dir dir,
		     enum tt_bypass_call call, ssize_t n);

/* A call on a traced fd moved no bytes: r == 0 from a read of want > 0
 * bytes is the peer's FIN; r < 0 with err a connection error is a reset.
 * call names the libc function. */
void tt_trace_fail(int fd, struct tt_fdent *e, enum tt_dir dir, ssize_t r,
		   size_t want, int err, const char *call);
/* A call handed out fd (socket, accept, connect, pipe...): forget the
 * old state of that number. */
void tt_trace_newfd(int fd);
/* newfd is now a duplicate of oldfd (dup, dup2, dup3, F_DUPFD): it names
 * the same connection, which ends when its last descriptor closes. */
void tt_trace_dup(int oldfd, int newfd);
/* Before dup2/dup3 onto newfd: if oldfd is valid, newfd is about to be
 * closed by the call. */
void tt_trace_replace(int oldfd, int newfd);
/* Before close_range/closefrom: every traced number in [first, last]. */
void tt_trace_close_range(unsigned first, unsigned last);
/* Secrets for the connection on fd arrived: decode what waited for
 * them, if no other thread is in it. */
void tt_trace_keys(int fd);
/* Before the real close(). */
void tt_trace_close(int fd);

#endif
