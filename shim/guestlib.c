#include "guestlib.h"

#include <dlfcn.h>
#include <errno.h>

const void *tt_guestlib_get(struct tt_guestlib *g, void (*load)(void),
			    const char **why)
{
	const void *t = __atomic_load_n(&g->table, __ATOMIC_ACQUIRE);
	if (!t) {
		pthread_once(&g->once, load);
		t = __atomic_load_n(&g->table, __ATOMIC_ACQUIRE);
	}
	/* written inside the once routine, read after it: no race */
	if (!t && why)
		*why = g->why;
	return t;
}

void tt_guestlib_done(struct tt_guestlib *g, const void *table, const char *why)
{
	if (table)
		__atomic_store_n(&g->table, table, __ATOMIC_RELEASE);
	else
		g->why = why;
}

bool tt_guestlib_loaded(struct tt_guestlib *g)
{
	return __atomic_load_n(&g->table, __ATOMIC_ACQUIRE) != NULL;
}

void *tt_guest_sym(const char *name, const char *const *libs)
{
	int saved = errno;
	void *f = dlsym(RTLD_NEXT, name);
	for (size_t i = 0; !f && libs[i]; i++) {
		void *h = dlopen(libs[i], RTLD_NOLOAD | RTLD_LAZY);
		if (!h)
			continue;
		f = dlsym(h, name);
		dlclose(h); /* NOLOAD took a reference; the library stays */
	}
	errno = saved;
	return f;
}
