/* tlstrace -p PID: trace a process that is already running, and
 * tlstrace --detach PID.
 *
 * For each PID: the injector (inject.c) checks that it can be
 * attached (one line saying why not, the process untouched), stops one
 * of its threads for a few milliseconds, loads libtlstrace.so into it
 * and calls tlstrace_attach with the settings (shim/attach.h).  While
 * that call runs, a thread here hands the process the write end of a
 * pipe that stands for this command's stderr, and the log file, over an
 * abstract unix socket: the process may run as a user that could not
 * open them.  Then tlstrace waits, as strace -p does, until it is
 * interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT) or every process has
 * ended, run another program or been detached by someone else (tlstrace
 * --detach), and detaches from those still attached: tlstrace_detach,
 * called the same way, puts the processes' GOT entries back and writes
 * the summaries of what was traced.  A process stopped by job control is
 * detached once it is continued.  The exit status is 0 when every
 * attach and detach succeeded, else EXIT_FAIL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "launch.h"
#include "inject.h"
#include "privfile.h"

static char block[TT_ATTACH_BLOCK_MAX];
static size_t block_len;

static void block_add(const char *name, const char *value)
{
	if (!value)
		return;
	int n = snprintf(block + block_len, sizeof(block) - block_len - 1,
			 "%s=%s", name, value);
	if (n < 0 || (size_t)n >= sizeof(block) - block_len - 1) {
		say("the settings are too long to hand over");
		exit(EXIT_FAIL);
	}
	block_len += (size_t)n + 1;
	block[block_len] = 0;
}

/* The log file for pid (the template's %p is pid's), opened here under
 * the library's own rules (tt_open_private).  -1 with a line said when
 * it cannot be. */
static int open_log(const char *tmpl, pid_t pid, char *path, size_t cap)
{
	if (!tt_expand_path(tmpl, (long)pid, path, cap)) {
		say("-o %s: too long a path", tmpl);
		return -1;
	}
	char why[256];
	int fd = tt_open_private(path, true, why, sizeof(why));
	if (fd < 0 && why[0])
		say("-o %s: refusing it: %s", path, why);
	else if (fd < 0)
		say("-o %s: %s", path, strerror(errno));
	return fd;
}

/* ---- handing the descriptors over ---- */

struct handover {
	int lsock; /* listening, abstract name */
	pid_t pid; /* the only process it answers */
	int fds[2];
	char tags[3];
	size_t n;
	bool done;
};

static void *hand_over(void *arg)
{
	struct handover *h = arg;
	struct pollfd p = {.fd = h->lsock, .events = POLLIN};
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = 6000 - ((t.tv_sec - t0.tv_sec) * 1000 +
				    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0 ||
		    (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return NULL;
		int s = accept4(h->lsock, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0 && errno != EINTR && errno != ECONNABORTED &&
		    errno != EAGAIN)
			return NULL; /* shut down: the attach is over */
		if (s < 0)
			continue;
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		/* anyone may connect to an abstract name: only the process
		 * being attached gets the descriptors */
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 &&
		    cr.pid == h->pid) {
			union {
				struct cmsghdr c;
				char b[CMSG_SPACE(2 * sizeof(int))];
			} u;
			memset(&u, 0, sizeof(u));
			struct iovec iov = {h->tags, h->n};
			struct msghdr m = {.msg_iov = &iov,
					   .msg_iovlen = 1,
					   .msg_control = u.b,
					   .msg_controllen = CMSG_SPACE(
						   h->n * sizeof(int))};
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(h->n * sizeof(int));
			memcpy(CMSG_DATA(c), h->fds, h->n * sizeof(int));
			h->done = sendmsg(s, &m, MSG_NOSIGNAL) > 0;
			close(s);
			return NULL;
		}
		close(s);
	}
}

/* ---- the processes' stderr ----
 *
 * What the library says on stderr (and the log, with no -o) comes to
 * this command's stderr through a pipe of its own: the process gets the
 * pipe's write end (non-blocking: a line that does not fit is dropped and
 * counted, never waited for), never this command's terminal or file
 * itself, which it could read or keep. */

static int relay_w = -1;
static int relay_r = -1;
static pthread_t relay_th;
static bool relaying;

static void *relay(void *arg)
{
	(void)arg;
	char buf[16384];
	ssize_t n;
	while ((n = read(relay_r, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(2, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			o += w;
		}
	}
	return NULL;
}

static void relay_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		say("a pipe: %s", strerror(errno));
		exit(EXIT_FAIL);
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	relay_r = p[0];
	relay_w = p[1];
	if (pthread_create(&relay_th, NULL, relay, NULL) != 0) {
		say("a thread: %s", strerror(errno));
		exit(EXIT_FAIL);
	}
	relaying = true;
}

/* Once the processes let their ends go (the detach, or their end): what
 * is still in the pipe, for at most a second. */
static void relay_finish(void)
{
	if (!relaying)
		return;
	close(relay_w);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(relay_th, NULL, &until) != 0)
		pthread_cancel(relay_th);
}

/* ---- attach and detach ---- */

/* Whether pid still runs (not gone, not a zombie). */
static bool alive(pid_t pid)
{
	char st = inject_state(pid);
	return st && st != 'Z' && st != 'X';
}


struct target {
	pid_t pid;
	bool attached;
};

static const char *state_text(int state)
{
	switch (state) {
	case TT_AS_PRELOADED:
		return "libtlstrace.so was preloaded when it started: it is "
		       "traced already";
	case TT_AS_ATTACHED:
		return "a tlstrace -p is attached to it already";
	case TT_AS_DETACHED:
		return "tlstrace was attached to it and detached: its "
		       "library is still loaded, inert, and is not "
		       "attached twice (restart the process to trace it "
		       "again)";
	default:
		return NULL;
	}
}

static const char *attach_err_text(long rc)
{
	switch (-rc) {
	case TT_AE_PRELOADED:
	case TT_AE_ATTACHED:
	case TT_AE_DETACHED:
		return state_text(rc == -TT_AE_PRELOADED  ? TT_AS_PRELOADED
				  : rc == -TT_AE_ATTACHED ? TT_AS_ATTACHED
							  : TT_AS_DETACHED);
	case TT_AE_BLOCK:
		return "the library did not take the settings";
	case TT_AE_FDS:
		return "the library did not get the log descriptors (is the "
		       "process in another network namespace?)";
	case TT_AE_LOG:
		return "the library could not open the log";
	default:
		return "the library refused";
	}
}

/* The library's state in pid (TT_AS_*), -1 when it cannot be read. */
static int peek_info(pid_t pid, const char *lib, struct tt_attach_info *info)
{
	char why[256];
	if (inject_peek(pid, lib, TT_ATTACH_INFO, info, sizeof(*info), why,
			sizeof(why)) != 0)
		return -1;
	return info->state;
}

static bool attach_one(pid_t pid, const char *lib, const char *log, int flags)
{
	char why[512];
	int chk = inject_check(pid, lib, flags, why, sizeof(why));
	if (chk < 0) {
		say("cannot attach to %ld: %s", (long)pid, why);
		return false;
	}
	struct tt_attach_info info;
	if (chk == 1) {
		/* the library is mapped there already */
		int st = peek_info(pid, lib, &info);
		const char *t = state_text(st);
		if (st == TT_AS_ATTACHED && info.attacher > 0 &&
		    !alive((pid_t)info.attacher)) {
			say("cannot attach to %ld: the tlstrace -p that attached "
			    "to it (pid %ld) is gone, and it is still traced: "
			    "tlstrace --detach %ld first",
			    (long)pid, (long)info.attacher, (long)pid);
			return false;
		}
		if (t || st < 0) {
			say("cannot attach to %ld: %s", (long)pid, t ? t : why);
			return false;
		}
	}
	struct handover h = {.lsock = -1, .pid = pid};
	h.fds[h.n] = relay_w;
	h.tags[h.n++] = 'E';
	char path[4096];
	bool file = log && !sink_name(log);
	if (file) {
		int fd = open_log(log, pid, path, sizeof(path));
		if (fd < 0)
			return false;
		h.fds[h.n] = fd;
		h.tags[h.n++] = 'L';
	}
	/* the socket's name: this tlstrace, and 64 random bits */
	unsigned char rnd[8];
	char name[64];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		say("cannot attach to %ld: getrandom: %s", (long)pid,
		    strerror(errno));
		goto fail;
	}
	int nl = snprintf(name, sizeof(name), "tlstrace-%ld-", (long)getpid());
	for (size_t i = 0; i < sizeof(rnd); i++)
		nl += snprintf(name + nl, sizeof(name) - (size_t)nl, "%02x",
			       rnd[i]);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path + 1, name, (size_t)nl);
	h.lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h.lsock < 0 ||
	    bind(h.lsock, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     (size_t)nl)) != 0 ||
	    listen(h.lsock, 4) != 0) {
		say("cannot attach to %ld: a unix socket: %s", (long)pid,
		    strerror(errno));
		goto fail;
	}
	size_t keep = block_len;
	char who[32];
	snprintf(who, sizeof(who), "%ld", (long)getpid());
	block_add(TT_ATTACH_SOCKET_VAR, name);
	block_add(TT_ATTACHER_VAR, who);
	if (file)
		block_add("TLSTRACE_LOG", path);
	pthread_t th;
	if (pthread_create(&th, NULL, hand_over, &h) != 0) {
		say("cannot attach to %ld: a thread: %s", (long)pid,
		    strerror(errno));
		goto fail;
	}
	long ret = 0, stop_us = 0;
	int r = inject_call(pid, lib, TT_ATTACH_FN, block, block_len + 1,
			    flags | (chk == 1 ? 0 : INJECT_LOAD), &ret,
			    &stop_us, why, sizeof(why));
	/* the thread gives up after its own bound */
	shutdown(h.lsock, SHUT_RDWR);
	pthread_join(th, NULL);
	block_len = keep;
	block[block_len] = 0;
	if (r != 0) {
		say("cannot attach to %ld: %s", (long)pid, why);
		goto fail;
	}
	if (ret != 0) {
		say("cannot attach to %ld: %s", (long)pid,
		    attach_err_text(ret));
		goto fail;
	}
	if (peek_info(pid, lib, &info) < 0)
		memset(&info, 0, sizeof(info));
	say("attached to %ld: %d GOT entries hooked, %d TCP sockets already "
	    "open; the process was stopped for %.3f ms",
	    (long)pid, info.patched, info.sockets, (double)stop_us / 1000.0);
	if (info.patched == 0)
		say("warning: nothing in %ld calls a function tlstrace hooks "
		    "(read, write, SSL_new...): its TLS will not be seen",
		    (long)pid);
	close(h.lsock);
	for (size_t i = 1; i < h.n; i++)
		close(h.fds[i]);
	return true;
fail:
	if (h.lsock >= 0)
		close(h.lsock);
	for (size_t i = 1; i < h.n; i++)
		close(h.fds[i]);
	return false;
}

static bool detach_one(pid_t pid, const char *lib, int flags)
{
	char why[512];
	struct tt_attach_info info;
	int st = peek_info(pid, lib, &info);
	if (st != TT_AS_ATTACHED) {
		say("cannot detach from %ld: %s", (long)pid,
		    st < 0 ? "tlstrace's library is not loaded in it"
			   : "tlstrace is not attached to it");
		return false;
	}
	long ret = 0, stop_us = 0;
	if (inject_call(pid, lib, TT_DETACH_FN, NULL, 0, flags, &ret, &stop_us,
			why, sizeof(why)) != 0) {
		say("cannot detach from %ld: %s", (long)pid, why);
		return false;
	}
	if (ret != 0) {
		say("cannot detach from %ld: %s", (long)pid,
		    attach_err_text(ret));
		return false;
	}
	if (peek_info(pid, lib, &info) < 0)
		memset(&info, 0, sizeof(info));
	if (info.left || info.held)
		say("detached from %ld: %d GOT entries restored, %d left as "
		    "they were (changed by someone else since), %d could not "
		    "be put back (they pass calls on, tracing nothing); the "
		    "process was stopped for %.3f ms",
		    (long)pid, info.restored, info.left, info.held,
		    (double)stop_us / 1000.0);
	else
		say("detached from %ld: %d GOT entries restored; the process "
		    "was stopped for %.3f ms",
		    (long)pid, info.restored, (double)stop_us / 1000.0);
	return true;
}


/* The settings of o as the block tlstrace_attach takes (attach.h). */
static void attach_settings(const struct attach_opts *o)
{
	block_len = 0;
	block[0] = 0;
	block_add("TLSTRACE_LOG", o->log && sink_name(o->log) ? o->log : NULL);
	block_add("TLSTRACE_LEVEL", o->level);
	block_add("TLSTRACE_FORMAT", o->format);
	block_add("TLSTRACE_EVENTS", o->events);
	block_add("TLSTRACE_KEYLOG", o->keylog);
	block_add("TLSTRACE_KEYLOG_OUT", o->keylog_out);
	block_add("TLSTRACE_PCAP", o->pcap);
}

_Noreturn void attach_run(const pid_t *pids, size_t n,
			  const struct attach_opts *o)
{
	int flags = o->seccomp_ok ? INJECT_SECCOMP_OK : 0;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* blocked first: an interrupt during the attach detaches after it */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* a log reader that went away is no reason to die */
	signal(SIGPIPE, SIG_IGN);
	attach_settings(o);
	struct target *t = calloc(n, sizeof(*t));
	if (!t) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	relay_start();
	size_t live = 0;
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		t[i].pid = pids[i];
		t[i].attached = attach_one(pids[i], o->lib, o->log, flags);
		live += t[i].attached;
		failed += !t[i].attached;
	}
	if (!live) {
		relay_finish();
		exit(EXIT_FAIL);
	}
	struct timespec tick = {0, 200 * 1000 * 1000};
	int sig = 0;
	while (live && sig <= 0) {
		sig = sigtimedwait(&set, NULL, &tick);
		for (size_t i = 0; i < n; i++) {
			if (!t[i].attached)
				continue;
			struct tt_attach_info info;
			int st;
			if (!alive(t[i].pid))
				say("%ld has ended", (long)t[i].pid);
			else if ((st = peek_info(t[i].pid, o->lib, &info)) <
					 0 &&
				 inject_mapped(t[i].pid, o->lib) == 0)
				say("%ld runs another program now (exec): "
				    "tlstrace is not in it any more",
				    (long)t[i].pid);
			else if (st < 0)
				continue; /* not readable this time */
			else if (st != TT_AS_ATTACHED ||
				 info.attacher != (int32_t)getpid())
				say("%ld was detached by another tlstrace",
				    (long)t[i].pid);
			else
				continue;
			t[i].attached = false;
			live--;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!t[i].attached)
			continue;
		/* a process stopped by job control runs no injected call:
		 * waited for (a second interrupt gives up) */
		bool said = false;
		while (inject_state(t[i].pid) == 'T') {
			if (!said)
				say("%ld is stopped: detaching once it is "
				    "continued (kill -CONT %ld); interrupt "
				    "again to leave it traced (then: tlstrace "
				    "--detach %ld)",
				    (long)t[i].pid, (long)t[i].pid,
				    (long)t[i].pid);
			said = true;
			if (sigtimedwait(&set, NULL, &tick) > 0)
				break;
		}
		if (inject_state(t[i].pid) == 'T') {
			say("%ld left traced: tlstrace --detach %ld once it "
			    "is continued",
			    (long)t[i].pid, (long)t[i].pid);
			failed++;
		} else if (alive(t[i].pid) &&
			   !detach_one(t[i].pid, o->lib, flags)) {
			failed++;
		}
	}
	free(t);
	relay_finish();
	exit(failed ? EXIT_FAIL : 0);
}

_Noreturn void detach_run(pid_t pid, const struct attach_opts *o)
{
	exit(detach_one(pid, o->lib, o->seccomp_ok ? INJECT_SECCOMP_OK : 0)
		     ? 0
		     : EXIT_FAIL);
}
