#include "fdtable.h"

#include <errno.h>
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
		/* mmap, not malloc: hooks may run where malloc is unsafe;
		 * errno is the program's (this runs before its call) */
		int saved = errno;
		void *m = mmap(NULL, TT_FD_CHUNK * sizeof(struct tt_fdent),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errno = saved;
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


static void visit(struct tt_fdent *t, unsigned base, unsigned lo, unsigned hi,
		  void (*fn)(int fd, struct tt_fdent *e))
{
	for (unsigned i = lo; i <= hi; i++) {
		struct tt_fdent *e = &t[i - base];
		if (__atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) !=
			    TT_FD_UNKNOWN ||
		    __atomic_load_n(&e->conn, __ATOMIC_ACQUIRE) ||
		    e->pend_call[0] || e->pend_call[1])
			fn((int)i, e);
	}
}

void tt_fd_foreach(unsigned first, unsigned last,
		   void (*fn)(int fd, struct tt_fdent *e))
{
	const unsigned top = TT_FD_STATIC + TT_FD_CHUNK * TT_FD_CHUNKS - 1;
	if (last > top)
		last = top;
	if (first > last)
		return;
	if (first < TT_FD_STATIC)
		visit(tt_fd_static, 0, first,
		      last < TT_FD_STATIC ? last : TT_FD_STATIC - 1, fn);
	for (size_t i = 0; i < TT_FD_CHUNKS; i++) {
		unsigned base = TT_FD_STATIC + (unsigned)i * TT_FD_CHUNK;
		unsigned end = base + TT_FD_CHUNK - 1;
		struct tt_fdent *c =
			__atomic_load_n(&chunks[i], __ATOMIC_ACQUIRE);
		if (!c || end < first || base > last)
			continue;
		visit(c, base, first > base ? first : base,
		      last < end ? last : end, fn);
	}
}
