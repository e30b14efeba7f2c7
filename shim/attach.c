/* The library in a process that is already running: tlstrace -p PID.
 *
 * tlstrace -p (shim/launch_attach.c, shim/inject.c) stops one
 * thread of the process with ptrace and makes it call dlopen of this
 * library, then tlstrace_attach(block) with its settings; it then puts
 * the thread back as it was.  Loaded by dlopen, the library interposes
 * nothing by itself (the program and its libraries are bound to libc's
 * functions already), so tlstrace_attach:
 *
 *   1. takes tlstrace -p's stderr and log file over a unix socket (the
 *      process may run as a user that cannot open the log's path);
 *   2. starts tracing with the block's settings, as the constructor does
 *      from the environment when the library is preloaded;
 *   3. marks every TCP socket already open: its bytes are decoded from
 *      wherever they are in the stream (the decoder finds the records),
 *      this process's role guessed from the listening sockets;
 *   4. points the GOT entries of every loaded object at the hooks
 *      (shim/got.c); objects loaded later are patched when they come.
 *
 * tlstrace_detach puts every GOT entry back, writes the summaries of
 * what was traced and lets the log go.  The library stays mapped (code
 * of it may still be on a thread's stack, a TLS library may still hold
 * one of its callbacks), inert: it traces nothing more.
 */
#include "attach.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "got.h"
#include "log.h"
#include "real.h"
#include "trace.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT struct tt_attach_info tlstrace_info;

/* The block tlstrace_attach was given, kept for the settings' getter. */
static char block_copy[TT_ATTACH_BLOCK_MAX];

static const char *block_get(const char *name)
{
	size_t n = strlen(name);
	for (const char *p = block_copy; *p; p += strlen(p) + 1)
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return p + n + 1;
	return NULL;
}

/* Copies block, checking that it ends (two NULs) within the bound. */
static bool block_take(const char *block)
{
	size_t i = 0;
	while (i + 1 < sizeof(block_copy)) {
		block_copy[i] = block[i];
		if (!block[i] && (i == 0 || !block[i - 1]))
			return true;
		i++;
	}
	return false;
}

/* The descriptors tlstrace -p hands over (see TT_ATTACH_SOCKET_VAR).
 * System calls of its own, not the program's functions (which an
 * interposer of the program's would count). */
static bool take_fds(const char *name, int *err_fd, int *log_fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n + 1 > sizeof(a.sun_path))
		return false;
	memcpy(a.sun_path + 1, name, n);
	int s = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
			     0);
	if (s < 0)
		return false;
	struct timeval tv = {3, 0};
	syscall(SYS_setsockopt, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char tags[4] = {0};
	struct iovec iov = {tags, sizeof(tags) - 1};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.b,
			   .msg_controllen = sizeof(u.b)};
	ssize_t r = -1;
	if (syscall(SYS_connect, s, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				n)) == 0)
		r = syscall(SYS_recvmsg, s, &m, MSG_CMSG_CLOEXEC);
	syscall(SYS_close, s);
	if (r <= 0)
		return false;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			char t = i < (size_t)r ? tags[i] : 0;
			if (t == 'E' && *err_fd < 0)
				*err_fd = fd;
			else if (t == 'L' && *log_fd < 0)
				*log_fd = fd;
			else
				syscall(SYS_close, fd);
		}
	}
	return *err_fd >= 0;
}

/* ---- sockets already open ---- */

#define OPEN_MAX_FDS 16384 /* sockets marked; the rest start afresh */

static struct open_sock {
	int fd;
	uint16_t port; /* local */
} open_socks[OPEN_MAX_FDS];

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* fd's local port if it is a TCP socket over IPv4 or IPv6 (0 if not);
 * *listening says whether it listens, *connected whether it has a
 * peer. */
static uint16_t tcp_port(int fd, bool *listening, bool *connected)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		return 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return 0;
	len = sizeof(acc);
	*listening = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) ==
			     0 &&
		     acc;
	struct sockaddr_storage ps;
	socklen_t pl = sizeof(ps);
	*connected = !*listening &&
		     getpeername(fd, (struct sockaddr *)&ps, &pl) == 0;
	return port_of(&ss);
}

/* The ports listened on: by this process's sockets, and by any of this
 * network namespace's, from the kernel's tables (a listener this process
 * does not hold: a master process accepted and passed the socket on).
 * One bit per port, filled once per attach. */
static uint8_t listened[65536 / 8];

static void listen_add(unsigned long port)
{
	if (port < 65536)
		listened[port / 8] |= (uint8_t)(1u << (port % 8));
}

static void read_listeners(void)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	for (size_t t = 0; t < 2; t++) {
		int fd = open(tables[t], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[8192];
		size_t have = 0;
		for (;;) {
			ssize_t r = REAL(read)(fd, buf + have,
					       sizeof(buf) - 1 - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			buf[have] = 0;
			/* whole lines only; the rest waits for more */
			char *line = buf, *nl;
			while ((nl = strchr(line, '\n'))) {
				*nl = 0;
				/* "  N: ADDR:PORT ADDR:PORT ST ..." */
				char *colon = strchr(line, ':');
				char *lp = colon ? strchr(colon + 1, ':')
						 : NULL;
				if (lp) {
					char *end;
					unsigned long p =
						strtoul(lp + 1, &end, 16);
					char *st = strchr(end, ':');
					st = st ? strchr(st, ' ') : NULL;
					if (st && strncmp(st, " 0A", 3) == 0)
						listen_add(p);
				}
				line = nl + 1;
			}
			have = (size_t)(buf + have - line);
			memmove(buf, line, have);
			if (have == sizeof(buf) - 1)
				have = 0; /* a line that long is no entry */
		}
		REAL(close)(fd);
	}
}

/* Marks the process's connected TCP sockets (see tt_trace_mark_open);
 * returns how many. */
static int mark_open_sockets(void)
{
	/* this thread's view (see got.c: the leader may have exited) */
	int dfd = open("/proc/thread-self/fd",
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	size_t nfds = 0;
	memset(listened, 0, sizeof(listened));
	char buf[4096];
	long r;
	while ((r = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < r;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			char *end;
			long fd = strtol(d->d_name, &end, 10);
			if (*end || end == d->d_name || fd == dfd ||
			    tt_log_owns_fd((int)fd))
				continue;
			bool lis = false, conn = false;
			uint16_t port = tcp_port((int)fd, &lis, &conn);
			if (port && lis)
				listen_add(port);
			else if (port && conn && nfds < OPEN_MAX_FDS)
				open_socks[nfds++] =
					(struct open_sock){(int)fd, port};
		}
	}
	REAL(close)(dfd);
	if (nfds)
		read_listeners();
	for (size_t i = 0; i < nfds; i++) {
		uint16_t port = open_socks[i].port;
		bool server = listened[port / 8] & (1u << (port % 8));
		tt_trace_mark_open(open_socks[i].fd,
				   server ? TT_ROLE_SERVER : TT_ROLE_CLIENT);
	}
	return (int)nfds;
}

/* ---- entry points ---- */

static void fork_child(void);

EXPORT int tlstrace_attach(const char *block)
{
	int saved = errno;
	int state = __atomic_load_n(&tlstrace_info.state, __ATOMIC_ACQUIRE);
	int rc = 0;
	if (state == TT_AS_PRELOADED)
		rc = -TT_AE_PRELOADED;
	else if (state == TT_AS_ATTACHED)
		rc = -TT_AE_ATTACHED;
	else if (state == TT_AS_DETACHED)
		rc = -TT_AE_DETACHED;
	else if (!block || !block_take(block))
		rc = -TT_AE_BLOCK;
	if (rc) {
		errno = saved;
		return rc;
	}
	tt_real_bind_program();
	int err_fd = -1, log_fd = -1;
	if (!take_fds(block_get(TT_ATTACH_SOCKET_VAR), &err_fd, &log_fd)) {
		if (err_fd >= 0)
			REAL(close)(err_fd);
		if (log_fd >= 0)
			REAL(close)(log_fd);
		errno = saved;
		return -TT_AE_FDS;
	}
	tt_log_given(err_fd, log_fd);
	if (!tt_trace_attach(block_get)) {
		errno = saved;
		return -TT_AE_LOG;
	}
	tlstrace_info.sockets = mark_open_sockets();
	struct tt_got_fn fns[TT_GOT_FNS];
	size_t nfn = tt_got_hooks(fns, TT_GOT_FNS);
	char why[256] = "";
	size_t patched = tt_got_install(fns, nfn, why, sizeof(why));
	tlstrace_info.patched = (int32_t)patched;
	const char *who = block_get(TT_ATTACHER_VAR);
	tlstrace_info.attacher = who ? atoi(who) : 0;
	/* after got.c's own handler, which frees its lock in the child */
	pthread_atfork(NULL, NULL, fork_child);
	__atomic_store_n(&tlstrace_info.state, TT_AS_ATTACHED,
			 __ATOMIC_RELEASE);
	if (why[0])
		tt_log_stderrf("tlstrace: %s\n", why);
	errno = saved;
	return 0;
}

/* Puts the GOT entries back, again while objects being loaded or
 * unloaded meanwhile make a pass give up (bounded: a slot left holds a
 * hook that, tracing off, only passes the call on). */
static void restore_all(void)
{
	size_t restored = 0, left = 0;
	for (int i = 0; i < 50; i++) {
		size_t l = 0;
		restored += tt_got_restore(&l);
		left += l;
		if (!tt_got_held())
			break;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	tlstrace_info.restored = (int32_t)restored;
	tlstrace_info.left = (int32_t)left;
	tlstrace_info.held = (int32_t)tt_got_held();
}

static void detach_now(void)
{
	restore_all();
	tt_trace_detach();
	__atomic_store_n(&tlstrace_info.state, TT_AS_DETACHED,
			 __ATOMIC_RELEASE);
}

EXPORT int tlstrace_detach(void)
{
	int saved = errno;
	if (__atomic_load_n(&tlstrace_info.state, __ATOMIC_ACQUIRE) !=
	    TT_AS_ATTACHED)
		return -TT_AE_NOT_ATTACHED;
	detach_now();
	errno = saved;
	return 0;
}

/* A process forked after the attach is not traced: tlstrace -p follows
 * the processes it was given, and would never detach from this one.
 * Only what is safe in a child of a multithreaded process is done here:
 * tracing off (the hooks left in its GOT then pass every call on: a
 * restore would walk the loader's list, whose lock another thread may
 * have held at the fork), its connections are its parent's (no summary
 * here), its copies of the log's descriptors become the null device. */
static void fork_child(void)
{
	if (__atomic_load_n(&tlstrace_info.state, __ATOMIC_ACQUIRE) ==
	    TT_AS_ATTACHED) {
		int saved = errno;
		tt_trace_detach();
		__atomic_store_n(&tlstrace_info.state, TT_AS_DETACHED,
				 __ATOMIC_RELEASE);
		errno = saved;
	}
}

/* Whether this library is in the global scope (preloaded, linked in):
 * then its definitions interpose, whatever comes before it.  Loaded by
 * tlstrace -p's dlopen (RTLD_LOCAL), the main program's scope does not
 * have it. */
static bool interposing(void)
{
	void *main = dlopen(NULL, RTLD_LAZY);
	bool global = main && dlsym(main, TT_ATTACH_INFO) == &tlstrace_info;
	if (main)
		dlclose(main);
	return global;
}

__attribute__((constructor)) static void tt_ctor(void)
{
	if (!interposing())
		return; /* loaded by tlstrace -p: tlstrace_attach starts it */
	__atomic_store_n(&tlstrace_info.state, TT_AS_PRELOADED,
			 __ATOMIC_RELEASE);
	tt_trace_init();
}
