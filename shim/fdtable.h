/* The per-fd table: what tlstrace knows of each descriptor.
 *
 * The first 65536 descriptors live in a static array (its pages cost
 * nothing until touched); higher ones in chunks mapped on first use.  A
 * lookup is an index, and for the common case one branch.
 */
#ifndef TT_FDTABLE_H
#define TT_FDTABLE_H

#include <stddef.h>
#include <stdint.h>

enum tt_fdkind {
	TT_FD_UNKNOWN = 0, /* not classified yet */
	TT_FD_PASS,	   /* not a socket, or not TLS: never looked at again */
	TT_FD_CANDIDATE,   /* a TCP socket whose first bytes are awaited */
	TT_FD_TLS,	   /* traced: conn is set (TLS, or a cleartext
			    * protocol followed until it upgrades) */
};

struct tt_tconn;

struct tt_fdent {
	uint8_t kind; /* enum tt_fdkind, atomic */
	/* Per direction: bytes moved past the hooks (splice, sendfile...)
	 * before the descriptor was known to be TLS: the call's code
	 * (tt_bypass_call, 0 = none) and how many bytes, reported when the
	 * connection is recognised. */
	uint8_t pend_call[2];
	/* A socket already open when tlstrace attached to the process
	 * (shim/attach.c): its first bytes are anywhere in the stream.
	 * 0: not one; else 1 + this process's enum tt_role in it. */
	uint8_t mid;
	uint32_t pend_bytes[2];
	struct tt_tconn *conn;
};

#define TT_FD_STATIC 65536
#define TT_FD_CHUNK  65536
#define TT_FD_CHUNKS 64 /* up to 4M descriptors */

extern struct tt_fdent tt_fd_static[TT_FD_STATIC];
struct tt_fdent *tt_fd_slow(int fd);

static inline struct tt_fdent *tt_fd_get(int fd)
{
	if (__builtin_expect((unsigned)fd < TT_FD_STATIC, 1))
		return &tt_fd_static[fd];
	return tt_fd_slow(fd);
}

/* Calls fn for every entry in [first, last] that is not blank (classified
 * or holding a connection); never maps a chunk. */
void tt_fd_foreach(unsigned first, unsigned last,
		   void (*fn)(int fd, struct tt_fdent *e));

static inline uint8_t tt_fd_kind(const struct tt_fdent *e)
{
	return __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE);
}

#endif
