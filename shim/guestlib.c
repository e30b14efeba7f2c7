#include "guestlib.h"

#include <dlfcn.h>
#include <link.h>
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

/* name in the loaded object path (and what it depends on), unless the
 * definition found is ours. */
static void *sym_in(const char *path, const char *name)
{
	void *h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return NULL;
	void *f = dlsym(h, name);
	dlclose(h); /* NOLOAD took a reference; the library stays */
	Dl_info mine, theirs;
	if (f && dladdr((void *)tt_guest_sym, &mine) && dladdr(f, &theirs) &&
	    mine.dli_fbase == theirs.dli_fbase)
		return NULL;
	return f;
}

/* The names of the loaded objects, gathered first: nothing is opened
 * while dl_iterate_phdr holds the loader's lock. */
#define WALK_MAX 512
struct walk {
	const char *names[WALK_MAX];
	size_t n;
};

static int walk_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *w = arg;
	(void)size;
	if (info->dlpi_name && info->dlpi_name[0] && w->n < WALK_MAX)
		w->names[w->n++] = info->dlpi_name;
	return 0;
}

void *tt_guest_sym(const char *name, const char *const *libs)
{
	int saved = errno;
	void *f = dlsym(RTLD_NEXT, name);
	for (size_t i = 0; !f && libs[i]; i++)
		f = sym_in(libs[i], name);
	if (!f) {
		/* another soname of the library (a newer version, a copy a
		 * package bundles under its own name): whichever loaded
		 * object defines it */
		static __thread struct walk w;
		w.n = 0;
		dl_iterate_phdr(walk_one, &w);
		for (size_t i = 0; !f && i < w.n; i++)
			f = sym_in(w.names[i], name);
	}
	errno = saved;
	return f;
}
