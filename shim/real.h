/* The real libc functions behind the hooks, bound once from real.def. */
#ifndef TT_REAL_H
#define TT_REAL_H

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/types.h>
#include <sys/uio.h>

#define X(ret, name, params)                                                   \
	typedef ret(*tt_real_##name##_fn) params;                              \
	extern tt_real_##name##_fn tt_real_##name;
#include "real.def"
#undef X

/* Binds every pointer (idempotent, thread-safe). */
void tt_real_bind(void);
/* Binds them to what the program is bound to (its own scope's
 * definitions): for the library loaded into a running process by
 * tlstrace -p, where RTLD_NEXT would skip an interposer preloaded at the
 * program's start. */
void tt_real_bind_program(void);

/* The real function, bound on first use if a hook runs before the
 * library's constructor (another library's constructor doing I/O). */
#define REAL(name)                                                             \
	(__builtin_expect(tt_real_##name != NULL, 1)                           \
		 ? tt_real_##name                                              \
		 : (tt_real_bind(), tt_real_##name))

#endif
