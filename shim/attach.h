/* What tlstrace -p (shim/launch_attach.c) and the library it loads into a
 * running process (shim/attach.c) share: the entry points' names, the
 * block of settings, the state the launcher reads, the answers. */
#ifndef TT_ATTACH_H
#define TT_ATTACH_H

#include <stdint.h>

/* int tlstrace_attach(const char *block): block is NAME=VALUE strings,
 * each ended by a NUL, the last followed by a second NUL, at most
 * TT_ATTACH_BLOCK_MAX bytes in all.  The names are the TLSTRACE_*
 * variables of the contract, and these two: */
#define TT_ATTACH_FN	    "tlstrace_attach"
#define TT_DETACH_FN	    "tlstrace_detach"
#define TT_ATTACH_INFO	    "tlstrace_info"
#define TT_ATTACH_BLOCK_MAX 16384
/* the abstract unix socket (its name without the leading NUL) that hands
 * over tlstrace -p's stderr and log file: one message, a tag byte per
 * descriptor ('E' stderr, 'L' the log file) and the descriptors */
#define TT_ATTACH_SOCKET_VAR "TLSTRACE_ATTACH_SOCKET"
/* the pid of the tlstrace -p that attached */
#define TT_ATTACHER_VAR "TLSTRACE_ATTACHER"

enum tt_attach_state {
	TT_AS_LOADED = 0,    /* loaded by tlstrace -p, not attached */
	TT_AS_PRELOADED = 1, /* loaded at start (LD_PRELOAD): tracing */
	TT_AS_ATTACHED = 2,  /* attached by tlstrace -p: tracing */
	TT_AS_DETACHED = 3,  /* was attached: inert */
};

/* The library's exported tlstrace_info, read by tlstrace -p. */
struct tt_attach_info {
	int32_t state;	  /* enum tt_attach_state */
	int32_t attacher; /* pid of the tlstrace -p that attached */
	int32_t patched;  /* GOT entries pointed at the hooks */
	int32_t sockets;  /* TCP sockets open at the attach */
	int32_t restored; /* GOT entries put back at the detach */
	int32_t left;	  /* changed by someone else meanwhile: left as
			   * they were */
	int32_t held;	  /* could not be put back (still pass through
			   * the hooks, which do nothing more) */
};

/* What tlstrace_attach and tlstrace_detach return: 0, or one of these
 * negated. */
enum tt_attach_err {
	TT_AE_PRELOADED = 1, /* tracing since the start already */
	TT_AE_ATTACHED,	     /* attached already */
	TT_AE_DETACHED,	     /* attached and detached before */
	TT_AE_BLOCK,	     /* the block is not well formed */
	TT_AE_FDS,	     /* the descriptors did not come */
	TT_AE_LOG,	     /* the log could not be opened */
	TT_AE_NOT_ATTACHED,  /* detach: not attached */
};

#endif
