/* Connection tracing: the glue between hooks, decoder and log. */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "record.h"
#include "fdtable.h"

/* Set while tlstrace itself runs in this thread: its own I/O and
 * anything it calls are not traced. */
extern __thread int tt_busy;

/* Starts tracing with the settings of the environment (TLSTRACE_*), at
 * load when preloaded. */
void tt_trace_init(void);
/* Starts tracing in a process tlstrace -p attached to, the settings read
 * through get; whether it traces (a sink could be opened). */
bool tt_trace_attach(const char *(*get)(const char *name));
/* tlstrace -p detaches: tracing stops, every connection still open gets
 * its end and summary, and the log's descriptors are let go. */
void tt_trace_detach(void);
/* The socket fd was open when tlstrace attached: its bytes are decoded
 * from wherever they are in the stream (role: this process's side, or
 * TT_ROLE_UNKNOWN when unknown). */
void tt_trace_mark_open(int fd, enum tt_role role);

/* Bytes moved by a successful call (n > 0). */
void tt_trace_iov(int fd, struct tt_fdent *e, enum tt_dir dir,
		  const struct iovec *iov, size_t iovcnt, size_t n);
/* Where bytes went past the hooks (the io_bypass event's call). */
enum tt_bypass_call {
	TT_BY_NONE = 0,
	TT_BY_SPLICE,
	TT_BY_TEE,
	TT_BY_VMSPLICE,
	TT_BY_SENDFILE,
	TT_BY_COPY_FILE_RANGE,
	TT_BY_RECV, /* MSG_TRUNC on a stream: bytes discarded */
	TT_BY_RECVFROM,
	TT_BY_RECVMSG,
	TT_BY_RECVMMSG,
	TT_BY_KTLS,
	TT_BY_COUNT
};

/* A call moved n bytes (0: unknown) of fd in dir where no hook saw them:
 * that direction is no longer decoded, and the log says so (at once, or
 * when the descriptor turns out to be TLS). */
void tt_trace_bypass(int fd, struct tt_fdent *e, enum tt_dir dir,
		     enum tt_bypass_call call, ssize_t n);

/* A call on a traced fd moved no bytes: r == 0 from a read of want > 0
 * bytes is the peer's FIN; r < 0 with err a connection error is a reset.
 * call names the libc function. */
void tt_trace_fail(int fd, struct tt_fdent *e, enum tt_dir dir, ssize_t r,
		   size_t want, int err, const char *call);
/* A call handed out fd (socket, accept, connect, pipe...): forget the
 * old state of that number. */
void tt_trace_newfd(int fd);
/* The same, for a descriptor whose kind the call that made it tells
 * (enum tt_fdkind; UNKNOWN: classified on its first I/O as usual), which
 * spares the classifying system calls. */
void tt_trace_newfd_as(int fd, uint8_t kind);
/* The kind of a socket(domain, type) descriptor: a TCP candidate for an
 * IPv4 or IPv6 stream socket, else never looked at. */
uint8_t tt_trace_socket_kind(int domain, int type);
/* The kind of a descriptor accept() made on lfd: the listening socket's,
 * when socket() told it (else UNKNOWN). */
uint8_t tt_trace_accepted_kind(int lfd);
/* newfd is now a duplicate of oldfd (dup, dup2, dup3, F_DUPFD): it names
 * the same connection, which ends when its last descriptor closes. */
void tt_trace_dup(int oldfd, int newfd);
/* Before dup2/dup3 onto newfd: if oldfd is valid, newfd is about to be
 * closed by the call. */
void tt_trace_replace(int oldfd, int newfd);
/* Before close_range/closefrom: every traced number in [first, last]. */
void tt_trace_close_range(unsigned first, unsigned last);
/* Secrets for the connection on fd arrived: decode what waited for
 * them, if no other thread is in it. */
void tt_trace_keys(int fd);
/* The same for a callback that does not name its connection: the one
 * this thread last moved TLS bytes on (a library makes a connection's
 * secrets in the call that reads or writes its handshake). */
void tt_trace_keys_here(void);
/* For a secret callback that names neither client random nor role: the
 * client random of the connection this thread last moved TLS bytes on,
 * and whether this process is its server.  fd: the descriptor the
 * library says its connection uses, or -1 when it cannot say.  False
 * when that connection's ClientHello was not seen, or fd is another. */
bool tt_trace_here_hello(int fd, uint8_t *client_random, bool *server);
/* Before the real close(). */
void tt_trace_close(int fd);

#endif
