/* Open addressing with linear probing over TT_PTRMAP_CAP entries, filled
 * to TT_PTRMAP_FULL at most, under the map's mutex (taken only by
 * programs that put something: a lookup in an empty map reads one
 * counter).  A removal moves the entries after it in its run back, so no
 * entry is ever marked removed and probes stay as short as the fill
 * allows however many objects come and go. */
#include "ptrmap.h"

#include <stdint.h>
#include <string.h>

#define MASK (TT_PTRMAP_CAP - 1)

_Static_assert((TT_PTRMAP_CAP & MASK) == 0, "TT_PTRMAP_CAP: a power of two");
_Static_assert(TT_PTRMAP_FULL == TT_PTRMAP_CAP / 4 * 3, "three quarters");

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tt_ptrmap *maps;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* In the child after fork(): only the forking thread survives, and a
 * lock another thread held would never be released. */
static void fork_child(void)
{
	pthread_mutex_init(&list_lock, NULL);
	for (struct tt_ptrmap *m = maps; m; m = m->next)
		pthread_mutex_init(&m->mu, NULL);
}

static void fork_register(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

/* Puts m on the list fork_child walks, once, before its lock is first
 * taken. */
static void list_map(struct tt_ptrmap *m)
{
	pthread_once(&fork_once, fork_register);
	pthread_mutex_lock(&list_lock);
	if (!m->listed) {
		m->next = maps;
		maps = m;
		__atomic_store_n(&m->listed, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&list_lock);
}

/* key's home entry: every bit of the pointer mixed in, its low bits
 * being alignment. */
static unsigned slot_of(const void *key)
{
	uint64_t k = (uint64_t)(uintptr_t)key;
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned)k & MASK;
}

/* key's entry, or the free one that ends its run (found: false); the
 * caller holds mu.  With at most TT_PTRMAP_FULL entries held, a free
 * one is always met. */
static unsigned find(struct tt_ptrmap *m, const void *key, bool *found)
{
	unsigned i = slot_of(key);
	while (m->e[i].key && m->e[i].key != key)
		i = (i + 1) & MASK;
	*found = m->e[i].key != NULL;
	return i;
}

bool tt_ptrmap_put(struct tt_ptrmap *m, const void *key,
		   void *const v[TT_PTRMAP_VALS])
{
	if (!key)
		return false;
	if (!__atomic_load_n(&m->listed, __ATOMIC_ACQUIRE))
		list_map(m);
	bool found, ok = true;
	pthread_mutex_lock(&m->mu);
	unsigned i = find(m, key, &found);
	if (!found && m->n >= TT_PTRMAP_FULL) {
		ok = false;
	} else {
		if (!found) {
			m->e[i].key = key;
			__atomic_store_n(&m->n, m->n + 1, __ATOMIC_RELAXED);
		}
		memcpy(m->e[i].v, v, sizeof(m->e[i].v));
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}

bool tt_ptrmap_get(struct tt_ptrmap *m, const void *key,
		   void *v[TT_PTRMAP_VALS])
{
	if (__atomic_load_n(&m->n, __ATOMIC_RELAXED) == 0 || !key)
		return false;
	bool found;
	pthread_mutex_lock(&m->mu);
	unsigned i = find(m, key, &found);
	if (found)
		memcpy(v, m->e[i].v, sizeof(m->e[i].v));
	pthread_mutex_unlock(&m->mu);
	return found;
}

void tt_ptrmap_del(struct tt_ptrmap *m, const void *key)
{
	if (__atomic_load_n(&m->n, __ATOMIC_RELAXED) == 0 || !key)
		return;
	bool found;
	pthread_mutex_lock(&m->mu);
	unsigned hole = find(m, key, &found);
	if (found) {
		/* each entry after the hole in its run moves back into it
		 * unless its home lies cyclically in (hole, j], so that no
		 * probe stops short of it */
		for (unsigned j = (hole + 1) & MASK; m->e[j].key;
		     j = (j + 1) & MASK) {
			unsigned h = slot_of(m->e[j].key);
			bool stays = hole <= j ? hole < h && h <= j
					       : hole < h || h <= j;
			if (stays)
				continue;
			m->e[hole] = m->e[j];
			hole = j;
		}
		memset(&m->e[hole], 0, sizeof(m->e[hole]));
		__atomic_store_n(&m->n, m->n - 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->mu);
}

void tt_ptrmap_copy(struct tt_ptrmap *m, const void *from, const void *to)
{
	void *v[TT_PTRMAP_VALS];
	if (from && tt_ptrmap_get(m, from, v))
		tt_ptrmap_put(m, to, v);
	else
		tt_ptrmap_del(m, to);
}
