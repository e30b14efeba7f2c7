/* Loading a library into a running process and calling one of its
 * functions there (tlstrace -p PID): the launcher's side, none of it in
 * libtlstrace.so.
 *
 * The injector attaches to one thread of PID with ptrace (the same user,
 * or CAP_SYS_PTRACE, as strace -p): the leader, or another thread when
 * only that one waits in a system call or the leader has exited.  It
 * makes that thread call dlopen(LIB, RTLD_NOW) unless LIB is already
 * mapped there, then a function of LIB with a copy of a block of bytes,
 * and puts the thread back exactly as it found it (general registers,
 * the whole extended FP state, the stack bytes it wrote) before
 * detaching.  Other threads run on meanwhile.
 *
 * What the stopped thread sees afterwards is what it sees after `strace
 * -p PID` attaches and detaches: the kernel decides, the same way.
 * Stopped outside a system call, or at the entry of one, it notices
 * nothing.  Stopped inside a blocking call, that call was interrupted
 * (the attach makes a signal look pending) and, once its registers are
 * put back, the kernel's restart logic runs as for any stop:
 *   - restarted, invisibly: read, readv, recvfrom, recvmsg, recvmmsg and
 *     accept without a receive timeout, wait4, waitid, pause,
 *     rt_sigsuspend (ERESTARTSYS, ERESTARTNOHAND); poll, ppoll, select,
 *     pselect6, nanosleep, clock_nanosleep go on with the time that was
 *     left (ERESTART_RESTARTBLOCK, or the timeout the kernel updated);
 *   - failed with EINTR, as signal(7) lists under "Interruption of
 *     system calls and library functions by stop signals": epoll_wait,
 *     epoll_pwait, epoll_pwait2, rt_sigtimedwait (sigwaitinfo,
 *     sigtimedwait), semop, semtimedop, and the socket calls above when
 *     the socket has a timeout (SO_RCVTIMEO, SO_SNDTIMEO).  A program
 *     that cannot bear a spurious EINTR there breaks under strace -p too.
 * Signals that arrive for the thread while the call runs are held back
 * and delivered when it is done (the first exactly, with its siginfo).
 */
#ifndef TT_INJECT_H
#define TT_INJECT_H

#include <stddef.h>
#include <sys/types.h>

enum {
	/* dlopen LIB first unless it is mapped in the process already
	 * (without it, LIB must be mapped) */
	INJECT_LOAD = 1,
	/* go on in a process under a seccomp filter (Seccomp: 2), which
	 * may forbid or kill what dlopen does */
	INJECT_SECCOMP_OK = 2,
};

/* The most bytes inject_call copies into the process for the function. */
#define INJECT_BLOB_MAX 65536

/* Whether LIB can be injected into PID, from /proc only (PID is not
 * stopped): 0 yes; 1 yes, but a LIB (its path, or any file named
 * libtlstrace.so) is mapped there already, @why saying which path; -1
 * no, @why saying why.  @why: one line, no "tlstrace:" prefix and no
 * newline, @cap bytes at most. */
int inject_check(pid_t pid, const char *lib, int flags, char *why, size_t cap);

/* inject_check first (a refusal is returned as is), then: stops one
 * thread of PID at a safe point, dlopens LIB there unless it is mapped
 * (INJECT_LOAD), calls the function @fn of LIB (an exported symbol) with
 * a pointer to a copy of the @len bytes at @blob followed by a NUL byte
 * (NULL when @blob is NULL), puts the thread back and detaches.  0 with
 * @fn's int result in *@ret and the time the thread was held in *@stop_us
 * (microseconds, from the interrupt, or from the system call entry it
 * was caught at, to the detach); -1 with the reason in @why (the process
 * is left as it was, unless @why says otherwise: a call that crashed or
 * never returned, or a process that died). */
int inject_call(pid_t pid, const char *lib, const char *fn, const void *blob,
		size_t len, int flags, long *ret, long *stop_us, char *why,
		size_t cap);

/* Reads @len bytes of the data symbol @sym of LIB as it is mapped in PID,
 * without stopping it: 0, or -1 with the reason in @why. */
int inject_peek(pid_t pid, const char *lib, const char *sym, void *out,
		size_t len, char *why, size_t cap);

/* Whether LIB is mapped in PID (gone after an exec): 1, 0, or -1 when
 * its memory map cannot be read. */
int inject_mapped(pid_t pid, const char *lib);

/* PID's state letter as /proc/PID/status gives it (R, S, D, T, t, Z...),
 * of a thread that lives when the leader has exited; 'Z' when none
 * lives, 0 when PID is gone. */
char inject_state(pid_t pid);

#endif
