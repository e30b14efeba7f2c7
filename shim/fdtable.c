#include "fdtable.h"

#include <stdbool.h>
#include <sys/mman.h>

struct tt_fdent tt_fd_static[TT_FD_STATIC];
static struct tt_fdent *chunks[TT_FD_CHUNKS];

struct tt_fdent *tt_fd_slow(int fd)
{
	if (fd < TT_FD_STATIC)
		return NULL; /* negative */
	size_t i = (size_t)(fd - TT_FD_STATIC) / TT_FD_CHUNK;
	if (i >= TT_FD_CHUNKS)
		return NULL;
	struct tt_fdent *c = __atomic_load_n(&chunks[i], __ATOMIC_ACQUIRE);
	if (!c) {
		/* mmap, not malloc: hooks may run where malloc is unsafe */
		void *m = mmap(NULL, TT_FD_CHUNK * sizeof(struct tt_fdent),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		struct tt_fdent *expect = NULL;
		if (__atomic_compare_exchange_n(&chunks[i], &expect, m, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			c = m;
		} else {
			munmap(m, TT_FD_CHUNK * sizeof(struct tt_fdent));
			c = expect;
		}
	}
	return &c[(size_t)(fd - TT_FD_STATIC) % TT_FD_CHUNK];
}

