/* Running COMMAND as tlstrace's child, and leaving the way it left.
 *
 * Signals (what a wrapper must do so that job control keeps working):
 *
 * - Forwarded to COMMAND: the catchable signals whose default is to
 *   terminate and that someone outside may send (HUP INT QUIT TERM USR1
 *   USR2 ALRM VTALRM PROF PWR and the real-time ones, with their sigqueue
 *   value), plus WINCH, CONT, TSTP, TTIN and TTOU.  Without this a
 *   `kill PID` or a `timeout` aimed at tlstrace would leave COMMAND running
 *   without its parent.  This includes a SIGALRM from a timer armed before
 *   exec'ing tlstrace (timers survive execve, not fork).
 * - Not forwarded, because COMMAND already got its own copy: signals the
 *   terminal (or the kernel, for an orphaned process group) sends to the
 *   whole foreground process group (si_code SI_KERNEL: ^C, ^\, ^Z, window
 *   resize, hangup) while COMMAND is still in our process group; and
 *   signals COMMAND itself sent (kill(0, sig), kill(getppid(), sig)), so
 *   they are not bounced back at it.  A signal another process sends to
 *   the whole group reaches COMMAND twice; for the signals above a second
 *   copy is harmless (standard signals do not queue).
 * - Stops: tlstrace never stops on its own (TSTP, TTIN, TTOU are caught
 *   and forwarded like the others); it stops when COMMAND stops, with the
 *   same signal, so a shell sees the job stopped exactly when COMMAND is,
 *   and a COMMAND that ignores ^Z keeps tlstrace running too.  `fg`/`bg`
 *   continue the whole process group; a SIGCONT sent to tlstrace alone is
 *   forwarded.  SIGSTOP sent to tlstrace alone stops only tlstrace (it
 *   cannot be caught).
 * - Signals ignored when tlstrace starts (nohup, `cmd &` in a script) stay
 *   ignored in tlstrace and in COMMAND.
 * - SIGPIPE, the fault signals (SEGV BUS FPE ILL TRAP SYS ABRT) and
 *   XCPU/XFSZ concern tlstrace's own execution and are left alone.
 *
 * Death by signal: tlstrace re-raises the signal on itself with its
 * default action, so the shell reports the same death (143 for SIGTERM).
 * It first makes itself non-dumpable: a second core file, of the
 * launcher, would overwrite COMMAND's own `core` (so a shell shows no
 * "(core dumped)" for tlstrace, the one difference).
 *
 * Fds: tlstrace keeps its copies of the fds it inherited until COMMAND
 * exits, so a pipe end COMMAND closes early reads as closed only then.
 * Closing them would be worse: it would drop the POSIX locks a
 * chain-loader took before exec'ing tlstrace (fcntl locks belong to the
 * pid, and fork does not pass them on).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"

/* Pid of COMMAND while it can be signalled; 0 once it is reaped, so a
 * late signal is never sent to a recycled pid. */
static volatile sig_atomic_t child_pid;

static const int fwd_std[] = {
	SIGHUP,	  SIGINT,  SIGQUIT,   SIGTERM, SIGUSR1,
	SIGUSR2,  SIGALRM, SIGVTALRM, SIGPROF, SIGPWR,
	SIGWINCH, SIGCONT, SIGTSTP,   SIGTTIN, SIGTTOU,
};

static void forward_set(sigset_t *set)
{
	size_t i;
	int s;

	sigemptyset(set);
	for (i = 0; i < sizeof(fwd_std) / sizeof(fwd_std[0]); i++)
		sigaddset(set, fwd_std[i]);
	for (s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(set, s);
}

/* Signals a terminal sends to its whole foreground process group. */
static int from_tty(int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGQUIT:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGWINCH:
	case SIGHUP:
	case SIGCONT:
		return 1;
	}
	return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno;
	pid_t pid = child_pid;

	(void)uctx;
	if (pid <= 0)
		goto out;
	/* si_code <= 0: sent by a process.  COMMAND sending to us (or to
	 * the group) must not get its signal back. */
	if (si->si_code <= 0 && si->si_pid == pid)
		goto out;
	/* Sent by the terminal to the foreground group: COMMAND has its
	 * copy unless it moved to a process group of its own. */
	if (si->si_code == SI_KERNEL && from_tty(sig) &&
	    getpgid(pid) == getpgrp())
		goto out;
	if (si->si_code == SI_QUEUE)
		sigqueue(pid, sig, si->si_value);
	else
		kill(pid, sig);
out:
	errno = saved;
}

/* Forward every forwardable signal not ignored on entry; @mask is what
 * the handler blocks (all of them: one forward at a time). */
static void install_forwarding(const sigset_t *mask)
{
	struct sigaction sa, old;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sa.sa_mask = *mask;
	for (s = 1; s < NSIG; s++) {
		if (sigismember(mask, s) != 1)
			continue;
		if (sigaction(s, NULL, &old) != 0)
			continue;
		/* nohup and `cmd &` in scripts ignore signals on purpose;
		 * COMMAND inherits the ignoring, so do we. */
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
			continue;
		sigaction(s, &sa, NULL);
	}
}

/* COMMAND stopped with @sig: stop too, so the shell sees the job stop. */
static void follow_stop(pid_t pid, int sig)
{
	struct sigaction dfl, old;
	sigset_t one;
	siginfo_t si;

	/* Consume the report (a stop is never a reaping event). */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOHANG) < 0 &&
	       errno == EINTR)
		;
	/* If COMMAND already runs again (we were stopped with it, and a
	 * SIGCONT to the group woke us both), this stop is history. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WCONTINUED | WNOHANG | WNOWAIT) ==
		    0 &&
	    si.si_pid == pid)
		return;
	if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
		sig = SIGSTOP;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	if (sig != SIGSTOP && sigaction(sig, &dfl, &old) != 0)
		sig = SIGSTOP;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig); /* returns once continued */
	/* cppcheck-suppress unreachableCode ; raise() does return */
	if (sig != SIGSTOP)
		sigaction(sig, &old, NULL);
	/* No SIGCONT to COMMAND here: if the raise was discarded (orphaned
	 * process group) that would undo COMMAND's stop.  A SIGCONT sent to
	 * us reaches COMMAND through on_signal. */
}

/* Leave the way COMMAND left: by the same signal if it was killed. */
static _Noreturn void die_like(int sig)
{
	struct sigaction dfl;
	sigset_t one;

	fflush(NULL);
	/* Our core is worthless and would overwrite COMMAND's. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	/* Not fatal by default (or could not be unblocked): the shell's
	 * convention is the next best thing. */
	exit(128 + sig);
}

static _Noreturn void wait_child(pid_t pid, const sigset_t *fwd)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: COMMAND is reaped only with forwarding blocked
		 * and child_pid cleared, so no handler can signal its pid
		 * once the kernel may hand it out again. */
		if (waitid(P_PID, (id_t)pid, &si,
			   WEXITED | WSTOPPED | WCONTINUED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			say("waitid: %s", strerror(errno));
			exit(EXIT_FAIL);
		}
		switch (si.si_code) {
		case CLD_EXITED:
		case CLD_KILLED:
		case CLD_DUMPED:
			sigprocmask(SIG_BLOCK, fwd, NULL);
			child_pid = 0;
			while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 &&
			       errno == EINTR)
				;
			/* Before die_like(), which leaves without atexit. */
			remove_keys();
			if (si.si_code == CLD_EXITED)
				exit(si.si_status);
			die_like(si.si_status);
		case CLD_STOPPED:
			follow_stop(pid, si.si_status);
			break;
		default:
			/* CLD_CONTINUED (or a trace event): consume it,
			 * without any chance of reaping. */
			while (waitid(P_PID, (id_t)pid, &si,
				      WSTOPPED | WCONTINUED | WNOHANG) < 0 &&
			       errno == EINTR)
				;
			break;
		}
	}
}

/* The private key log (@keys) is made here, with the forwarded signals
 * blocked, so that none can end tlstrace between its creation and the
 * wait that removes it. */
_Noreturn void run(char **cmd, enum keys_mode keys)
{
	struct sigaction dfl, chld;
	sigset_t fwd, orig;
	pid_t pid;

	forward_set(&fwd);
	/* Signals that arrive before child_pid is known stay pending and
	 * are forwarded once it is. */
	sigprocmask(SIG_BLOCK, &fwd, &orig);
	make_keys(keys);
	/* SIGCHLD ignored by our caller would make the kernel reap COMMAND
	 * behind our back and lose its status.  COMMAND gets the caller's
	 * setting back before exec. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &chld);
	fflush(NULL);

	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		exit(EXIT_FAIL);
	}
	if (pid == 0) {
		int e;

		sigaction(SIGCHLD, &chld, NULL);
		sigprocmask(SIG_SETMASK, &orig, NULL);
		execvp(cmd[0], cmd);
		e = errno;
		say("%s: %s", cmd[0], strerror(e));
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
	}

	child_pid = pid;
	watch_keys();
	install_forwarding(&fwd);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	wait_child(pid, &fwd);
}
