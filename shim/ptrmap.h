/* A bounded map from an object of a TLS library (a session, a socket, a
 * configuration) to what the program set on it that ours replaced (its
 * callback and that callback's argument).  Only programs that set their
 * own callbacks put anything here; when the map is full a put fails and
 * the caller leaves the program's callback in place, so memory never
 * grows.  Safe from any thread, and in the child after fork(). */
#ifndef TT_SHIM_PTRMAP_H
#define TT_SHIM_PTRMAP_H

#include <pthread.h>
#include <stdbool.h>

#define TT_PTRMAP_CAP 1024

struct tt_ptrmap {
	pthread_mutex_t mu;
	unsigned n;	  /* keys held (atomic reads: 0 spares the lock) */
	unsigned removed; /* entries marked removed, which lengthen probes */
	struct {
		const void *key; /* NULL never used; TT_PTRMAP_GONE removed */
		void *v[2];
	} e[TT_PTRMAP_CAP];
	struct tt_ptrmap *next; /* the maps in use, for fork */
	bool listed;
};

#define TT_PTRMAP_INIT                                                         \
	{                                                                      \
		.mu = PTHREAD_MUTEX_INITIALIZER                                \
	}

/* Sets key's two values; false (nothing changed) when the map is full. */
bool tt_ptrmap_put(struct tt_ptrmap *m, const void *key, void *const v[2]);
/* key's values, true when it has them. */
bool tt_ptrmap_get(struct tt_ptrmap *m, const void *key, void *v[2]);
/* Forgets key (an object that ended, or a new one at a reused address). */
void tt_ptrmap_del(struct tt_ptrmap *m, const void *key);
/* Copies from's values to to, or forgets to when from has none (a
 * library object made from a model inherits what was set on it). */
void tt_ptrmap_copy(struct tt_ptrmap *m, const void *from, const void *to);

#endif
