/* A library brought into the host on first need, never at library load
 * (DESIGN.md, "libcrypto inside someone else's process"): libcrypto for
 * the crypto table (shim/libcrypto.c), zlib for the inflate table
 * (shim/zlib.c).  Each is loaded at most once per process, by the first
 * call that needs it, from whichever thread; the table it gives is
 * published then and never changes, and a failure is final, with its
 * reason kept. */
#ifndef TT_SHIM_GUESTLIB_H
#define TT_SHIM_GUESTLIB_H

#include <pthread.h>
#include <stdbool.h>

struct tt_guestlib {
	pthread_once_t once;
	const void *table; /* NULL until loaded (atomic) */
	const char *why;   /* why not, once a load has failed */
};

#define TT_GUESTLIB_INIT(not_loaded)                                           \
	{                                                                      \
		PTHREAD_ONCE_INIT, NULL, (not_loaded)                          \
	}

/* The table of g, loaded first if no call has tried yet: load runs once
 * per process and ends with tt_guestlib_done.  NULL when the load failed;
 * then *why (unless why is NULL) says why. */
const void *tt_guestlib_get(struct tt_guestlib *g, void (*load)(void),
			    const char **why);

/* What g's load gave: its table, or NULL and why not (a static string). */
void tt_guestlib_done(struct tt_guestlib *g, const void *table,
		      const char *why);

/* Whether g's table has been loaded. */
bool tt_guestlib_loaded(struct tt_guestlib *g);

/* A function of a TLS library the host itself loaded, for the hooks
 * that stand in front of it: the global one (dlsym RTLD_NEXT), else that
 * of the first of libs (sonames, NULL-terminated) already loaded,
 * RTLD_LOCAL included (RTLD_NEXT does not see such a library: Python's
 * libssl, a server module's libmbedtls), else that of any loaded object
 * (another soname: a newer version, a copy a package bundles).  Never
 * loads anything; NULL when no library has it.  errno is kept. */
void *tt_guest_sym(const char *name, const char *const *libs);

#endif
