/* A bounded map from an object of a TLS library (a session, a socket, a
 * configuration, a context) to what the program set on it that ours
 * replaced (its callbacks and their argument, TT_PTRMAP_VALS pointers).
 * Only programs that set their own callbacks put anything here; when the
 * map is full a put fails and the caller leaves the program's callback
 * in place, so memory never grows.  Safe from any thread, and in the
 * child after fork(). */
#ifndef TT_SHIM_PTRMAP_H
#define TT_SHIM_PTRMAP_H

#include <pthread.h>
#include <stdbool.h>

/* Entries of every map (a power of two), of which TT_PTRMAP_FULL can be
 * held at once: three quarters, so that every probe ends soon at an
 * empty entry. */
#define TT_PTRMAP_CAP  2048
#define TT_PTRMAP_FULL 1536
/* TT_PTRMAP_FULL as a string literal, for the notes that name it. */
#define TT_PTRMAP_TEXT_(n)  #n
#define TT_PTRMAP_TEXT(n)   TT_PTRMAP_TEXT_(n)
#define TT_PTRMAP_FULL_TEXT TT_PTRMAP_TEXT(TT_PTRMAP_FULL)
/* Values per key: mbedTLS's two callbacks and their shared argument;
 * fewer are NULL. */
#define TT_PTRMAP_VALS 3

struct tt_ptrmap {
	pthread_mutex_t mu;
	unsigned n; /* keys held (atomic reads: 0 spares the lock) */
	struct {
		const void *key; /* NULL: free */
		void *v[TT_PTRMAP_VALS];
	} e[TT_PTRMAP_CAP];
	struct tt_ptrmap *next; /* the maps in use, for fork */
	bool listed;
};

#define TT_PTRMAP_INIT                                                         \
	{                                                                      \
		.mu = PTHREAD_MUTEX_INITIALIZER                                \
	}

/* Sets key's values; false (nothing changed) when the map is full. */
bool tt_ptrmap_put(struct tt_ptrmap *m, const void *key,
		   void *const v[TT_PTRMAP_VALS]);
/* key's values, true when it has them (else v is left as it was). */
bool tt_ptrmap_get(struct tt_ptrmap *m, const void *key,
		   void *v[TT_PTRMAP_VALS]);
/* Forgets key (an object that ended, or a new one at a reused address). */
void tt_ptrmap_del(struct tt_ptrmap *m, const void *key);
/* Copies from's values to to, or forgets to when from has none (a
 * library object made from a model inherits what was set on it). */
void tt_ptrmap_copy(struct tt_ptrmap *m, const void *from, const void *to);

#endif
