/* Binding of the real libc symbols: dlsym(RTLD_NEXT) once per process. */
#include "real.h"

#include <dlfcn.h>
#include <pthread.h>

#define X(ret, name, params) tt_real_##name##_fn tt_real_##name;
#include "real.def"
#undef X

static pthread_once_t bind_once = PTHREAD_ONCE_INIT;

/* Where the real functions are looked up: after this library in the
 * lookup order (RTLD_NEXT: preloaded, the next interposer or libc), or,
 * loaded by tlstrace -p, what the program itself is bound to (the main
 * program's scope: an interposer preloaded at its start, else libc). */
static void *scope = RTLD_NEXT;

static void bind_all(void)
{
	/* A pointer is stored only once resolved, so a concurrent REAL()
	 * sees either NULL (and waits in pthread_once) or the function. */
#define X(ret, name, params)                                                   \
	__atomic_store_n(&tt_real_##name,                                      \
			 (tt_real_##name##_fn)dlsym(scope, #name),             \
			 __ATOMIC_RELEASE);
#include "real.def"
#undef X
}

void tt_real_bind(void)
{
	pthread_once(&bind_once, bind_all);
}

void tt_real_bind_program(void)
{
	void *main = dlopen(NULL, RTLD_LAZY);
	if (!main)
		return; /* RTLD_NEXT's: libc's */
	scope = main;
	tt_real_bind();
	bind_all(); /* again, should a call have bound them before */
	scope = RTLD_NEXT;
	dlclose(main);
}
