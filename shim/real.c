/* Binding of the real libc symbols: dlsym(RTLD_NEXT) once per process. */
#include "real.h"

#include <dlfcn.h>
#include <pthread.h>

#define X(ret, name, params) tt_real_##name##_fn tt_real_##name;
#include "real.def"
#undef X

static pthread_once_t bind_once = PTHREAD_ONCE_INIT;

static void bind_all(void)
{
	/* A pointer is stored only once resolved, so a concurrent REAL()
	 * sees either NULL (and waits in pthread_once) or the function. */
#define X(ret, name, params)                                                   \
	__atomic_store_n(&tt_real_##name,                                      \
			 (tt_real_##name##_fn)dlsym(RTLD_NEXT, #name),         \
			 __ATOMIC_RELEASE);
#include "real.def"
#undef X
}

void tt_real_bind(void)
{
	pthread_once(&bind_once, bind_all);
}
