/* Traced connections: the pool they come from, their locks, the lines
 * their events become, and their end (shim/tconn.c).  shim/trace.c finds
 * and feeds them. */
#ifndef TT_TCONN_H
#define TT_TCONN_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "fdtable.h"
#include "record.h"

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
	for (int spins = 0; __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != t;
	     spins++) {
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

/* A socket address as lines show it: IPv4 or IPv6 and a port (family 0:
 * unknown, shown as "?").  20 bytes where its text takes up to 48. */
struct tt_addr {
	uint8_t family; /* AF_INET, AF_INET6 or 0 */
	uint8_t ip[16];
	uint16_t port; /* host order */
};

struct tt_tconn {
	struct tt_conn dec;
	tt_dirlock lock[2];
	tt_fairlock mu;
	uint64_t id;
	int fd;	   /* the descriptor of the latest call (under mu) */
	int refs;  /* descriptors naming this connection (under mu) */
	dev_t dev; /* the socket's identity, to tell a reused number */
	ino_t ino;
	long long born_us,
		last_us; /* CLOCK_MONOTONIC: first seen, last event */
	struct tt_addr local, peer; /* formatted per line, see tconn.c */
	/* the fork generation of the process that last used it (under mu):
	 * a child closing a connection it never used says nothing */
	unsigned gen;
	/* its entry in the pcapng writer's table (shim/pcap.c), given
	 * once, the first time the pool's struct carries a connection
	 * written there, and kept through reuse; 0: none */
	uint32_t pcap_slot;
	bool have_id;
	bool live;
	/* Never TLS after all (atomic): the cleartext protocol it was
	 * followed for did not upgrade (dec.plain, copied here under mu so
	 * that hooks see it without the lock).  Each descriptor naming it
	 * leaves it on its next call and passes over, and nothing is
	 * written at its end. */
	bool plain;
	bool unsynced[2];
	bool addrs_shown;
	struct tt_tconn *next_all, *next_free;
};

/* This thread's event and line buffer, made on first use; NULL when it
 * cannot be made.  The fd of the call being traced is kept in it. */
struct tt_scratch;
struct tt_scratch *tt_scratch(void);

/* The format and level of the lines, and what each needs made once. */
void tt_tconn_init(const struct tt_config *cfg);
/* In the child after fork(): the locks as new, the new pid. */
void tt_tconn_fork_child(void);
/* Normal exit (how TT_END_EXIT), or tlstrace -p detaching
 * (TT_END_DETACH): an end and a summary for every connection still open.
 * Threads may still run, so a connection busy in another thread is
 * skipped. */
void tt_tconn_exit(enum tt_end_how how);

/* A connection for fd, live, holding one reference (NULL when none can
 * be made). */
struct tt_tconn *tt_tconn_new(int fd);
/* Gives back a connection no descriptor names (never published). */
void tt_tconn_free(struct tt_tconn *c);
/* One descriptor of c went away (closing: by the host's close, fd still
 * open); the last one ends it. */
void tt_tconn_unref(struct tt_tconn *c, int fd, bool closing);

/* The emitter that turns c's events into lines, from this thread's
 * scratch s. */
void tt_tconn_emit(struct tt_emit *em, struct tt_tconn *c,
		   struct tt_scratch *s);
/* Reports the end of c through its decoder.  The caller holds mu. */
void tt_tconn_end(struct tt_tconn *c, int fd, enum tt_end_how how,
		  enum tt_dir dir, const char *errname, const char *call,
		  long long unread);

/* Releases mu, first writing the lines this thread's events on c made
 * while it held it (every release of mu goes through here). */
void tt_tconn_unlock(struct tt_tconn *c);
/* Takes mu, if fd (entry e) still names c (false, unlocked, if not). */
bool tt_tconn_lock(struct tt_tconn *c, struct tt_fdent *e, int fd,
		   struct tt_scratch *s);
/* Takes c for a call on fd in dir: the direction's try-lock, then mu.
 * False, holding nothing, when another thread is in this direction (with
 * bytes: the direction is marked unsynced, since two calls' bytes cannot
 * be put in order) or fd no longer names c. */
bool tt_tconn_enter(struct tt_tconn *c, struct tt_fdent *e, int fd,
		    enum tt_dir dir, struct tt_scratch *s, bool bytes);
void tt_tconn_leave(struct tt_tconn *c, enum tt_dir dir);

#endif
