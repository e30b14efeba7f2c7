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
 * while dl_iterate_phdr holds the loader's lock.  They are gathered a
 * chunk at a time, on the stack: no thread-local buffer (a library
 * dlopen'ed into a running process has a few hundred bytes of static TLS
 * to share with every other), and no lock of ours held while the loader
 * takes its own (a constructor running under the loader's lock may call
 * a hook that looks a function up). */
#define WALK_CHUNK 32
#define WALK_MAX   512
struct walk {
	const char *names[WALK_CHUNK];
	size_t skip; /* the named objects of the chunks before */
	size_t seen, n;
};

static int walk_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *w = arg;
	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0] || w->seen++ < w->skip)
		return 0;
	w->names[w->n++] = info->dlpi_name;
	return w->n == WALK_CHUNK; /* nonzero ends the walk */
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
		 * object defines it.  An object loaded or closed between two
		 * chunks may shift the rest by one: one is looked at twice,
		 * or not at all. */
		struct walk w;
		w.skip = 0;
		do {
			w.seen = w.n = 0;
			dl_iterate_phdr(walk_one, &w);
			for (size_t i = 0; !f && i < w.n; i++)
				f = sym_in(w.names[i], name);
			w.skip += w.n;
		} while (!f && w.n == WALK_CHUNK && w.skip < WALK_MAX);
	}
	errno = saved;
	return f;
}
