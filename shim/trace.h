/* Connection tracing: the glue between hooks, decoder and log. */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conn.h"
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

struct tt_tconn {
	struct tt_conn dec;
	tt_dirlock lock[2]; /* per direction: readers and writers apart */
	uint64_t id;
	int fd;
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
void tt_trace_bytes(int fd, struct tt_fdent *e, enum tt_dir dir,
		    const void *buf, size_t n);
void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n);
/* A call on a traced fd moved no bytes: r == 0 from a read of want > 0
 * bytes is the peer's FIN; r < 0 with err a connection error is a reset.
 * call names the libc function. */
void tt_trace_fail(int fd, struct tt_fdent *e, enum tt_dir dir, ssize_t r,
		   size_t want, int err, const char *call);
/* A call handed out fd (socket, accept, connect, dup2): forget the old
 * state of that number. */
void tt_trace_newfd(int fd);
/* Secrets for the connection on fd arrived: decode what waited for
 * them, if no other thread is in it. */
void tt_trace_keys(int fd);
/* Before the real close(). */
void tt_trace_close(int fd);

#endif
