/* Open addressing over TT_PTRMAP_CAP entries, filled to three quarters
 * at most, under the map's mutex (taken only by programs that put
 * something: a lookup in an empty map reads one counter). */
#include "ptrmap.h"

#include <stdint.h>
#include <string.h>

#define GONE ((const void *)1)
#define FULL (TT_PTRMAP_CAP * 3 / 4)

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

static unsigned slot_of(const void *key)
{
	uint64_t k = (uint64_t)(uintptr_t)key;
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned)(k % TT_PTRMAP_CAP);
}

/* key's entry, or -1; the caller holds mu. */
static int find(struct tt_ptrmap *m, const void *key)
{
	unsigned i = slot_of(key);
	for (unsigned n = 0; n < TT_PTRMAP_CAP; n++) {
		if (m->e[i].key == NULL)
			return -1;
		if (m->e[i].key == key)
			return (int)i;
		i = (i + 1) % TT_PTRMAP_CAP;
	}
	return -1;
}

/* Makes the table anew without its removed entries; the caller holds
 * mu. */
static void rebuild(struct tt_ptrmap *m)
{
	static __thread struct {
		const void *key;
		void *v[2];
	} keep[FULL];
	unsigned k = 0;
	for (unsigned i = 0; i < TT_PTRMAP_CAP; i++)
		if (m->e[i].key && m->e[i].key != GONE && k < FULL) {
			keep[k].key = m->e[i].key;
			keep[k].v[0] = m->e[i].v[0];
			keep[k].v[1] = m->e[i].v[1];
			k++;
		}
	memset(m->e, 0, sizeof(m->e));
	m->removed = 0;
	for (unsigned j = 0; j < k; j++) {
		unsigned i = slot_of(keep[j].key);
		while (m->e[i].key)
			i = (i + 1) % TT_PTRMAP_CAP;
		m->e[i].key = keep[j].key;
		m->e[i].v[0] = keep[j].v[0];
		m->e[i].v[1] = keep[j].v[1];
	}
	memset(keep, 0, sizeof(keep[0]) * k);
}

bool tt_ptrmap_put(struct tt_ptrmap *m, const void *key, void *const v[2])
{
	if (!key || key == GONE)
		return false;
	if (!__atomic_load_n(&m->listed, __ATOMIC_ACQUIRE))
		list_map(m);
	bool ok = true;
	pthread_mutex_lock(&m->mu);
	int at = find(m, key);
	if (at < 0) {
		if (m->n >= FULL) {
			ok = false;
			goto out;
		}
		if (m->n + m->removed >= FULL)
			rebuild(m);
		unsigned i = slot_of(key);
		while (m->e[i].key && m->e[i].key != GONE)
			i = (i + 1) % TT_PTRMAP_CAP;
		if (m->e[i].key == GONE)
			m->removed--;
		m->e[i].key = key;
		at = (int)i;
		__atomic_store_n(&m->n, m->n + 1, __ATOMIC_RELAXED);
	}
	m->e[at].v[0] = v[0];
	m->e[at].v[1] = v[1];
out:
	pthread_mutex_unlock(&m->mu);
	return ok;
}

bool tt_ptrmap_get(struct tt_ptrmap *m, const void *key, void *v[2])
{
	if (__atomic_load_n(&m->n, __ATOMIC_RELAXED) == 0 || !key)
		return false;
	pthread_mutex_lock(&m->mu);
	int at = find(m, key);
	if (at >= 0) {
		v[0] = m->e[at].v[0];
		v[1] = m->e[at].v[1];
	}
	pthread_mutex_unlock(&m->mu);
	return at >= 0;
}

void tt_ptrmap_del(struct tt_ptrmap *m, const void *key)
{
	if (__atomic_load_n(&m->n, __ATOMIC_RELAXED) == 0 || !key)
		return;
	pthread_mutex_lock(&m->mu);
	int at = find(m, key);
	if (at >= 0) {
		m->e[at].key = GONE;
		m->e[at].v[0] = m->e[at].v[1] = NULL;
		m->removed++;
		__atomic_store_n(&m->n, m->n - 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->mu);
}

void tt_ptrmap_copy(struct tt_ptrmap *m, const void *from, const void *to)
{
	void *v[2];
	if (from && tt_ptrmap_get(m, from, v))
		tt_ptrmap_put(m, to, v);
	else
		tt_ptrmap_del(m, to);
}
