"""The injector of tlstrace -p (shim/inject.c), driven by
build/tools/injectctl against build/tools/inject_host: a library
(build/tools/inject_lib.so) loaded into a running process and a function
of it called there; the process put back as it was found (its registers,
its interrupted system call as after strace -p, a signal that came
meanwhile); and the refusals, each one line, the process untouched."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from tlslib import *
from proclib import wait_until

TOOLS = os.path.join(BUILD, "tools")
HOST = os.path.join(TOOLS, "inject_host")
CTL = os.path.join(TOOLS, "injectctl")
ILIB = os.path.join(TOOLS, "inject_lib.so")
NOBODY = 65534
NR_READ, NR_EPOLL_WAIT, NR_EPOLL_PWAIT = 0, 232, 281
EINTR_LINE = "epoll_wait -1 errno EINTR"
stops = []


def host(mode, prefix=(), path=HOST):
    """inject_host MODE, started (under prefix, a command that execs it),
    once it said it is ready: (process, output file)."""
    p, out = spawn(list(prefix) + [path, mode], stdin=subprocess.PIPE)
    if not wait_for(out, r"ready (\d+)\n", proc=p):
        stop(p)
        raise RuntimeError("inject_host %s did not start: %r" % (mode, lines(out)))
    return p, out


def lines(out):
    with open(out) as f:
        return f.read().splitlines()


def new_lines(out, before, want=1, settle=0.3, timeout=5):
    """The lines the host printed after the first `before`, once at least
    want are there and no more came for settle seconds."""
    wait_until(lambda: len(lines(out)) >= before + want, timeout)
    n = -1
    while n != len(lines(out)):
        n = len(lines(out))
        time.sleep(settle)
    return lines(out)[before:]


def feed(p, data):
    p.stdin.write(data)
    p.stdin.flush()


def in_call(pid, nrs, timeout=5):
    """Waits until pid is blocked in one of the system calls nrs."""
    def cond():
        try:
            with open("/proc/%d/syscall" % pid) as f:
                first = f.read().split()[0]
        except (OSError, IndexError):
            return False
        return first.isdigit() and int(first) in nrs
    return wait_until(cond, timeout)


def tracer(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^TracerPid:\s*(\d+)", f.read(), re.M).group(1))


def ctl(*args, user=None, path=CTL):
    cmd = [path] + [str(a) for a in args]
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    r = run(cmd, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def result(r, what):
    """fn's result from `injectctl load|call`, its stop printed; None when
    it failed."""
    m = re.fullmatch(r"ret (-?\d+) stop_us (\d+)\n", r[1])
    if r[0] != 0 or not m:
        return None
    stops.append(int(m.group(2)))
    print("# %s: the thread was stopped %s us" % (what, m.group(2)), flush=True)
    return int(m.group(1))


def refused(r, line):
    return r == (1, "", "injectctl: %s\n" % line)


def strace_cycle(pid, pattern):
    """strace -p pid until it printed pattern, then stopped (by pid):
    the attach and detach of a tracer.  strace's output."""
    s, sout = spawn(["strace", "-p", str(pid)])
    m = wait_for(sout, pattern, proc=s)
    stop(s)
    wait_until(lambda: tracer(pid) == 0, 5)
    with open(sout) as f:
        return m, f.read()


def block_for(path, *extra):
    return "\n".join((path,) + extra) + "\n"


missing_tool = missing(HOST, CTL, ILIB)
if missing_tool:
    ok("the injector's test tools are built (make tools)", False, missing_tool)
    finish()

tmp = tmpdir()

# --- load, call, peek; the thread goes on as if nothing happened ---
p, out = host("read")
pid = p.pid
in_call(pid, {NR_READ})
blk = os.path.join(tmp, "block-read.txt")
block = block_for(blk, "hello block")
r = ctl("load", pid, ILIB, block)
ok("load: tlstrace_attach, called with the block in the process, returns 42",
   result(r, "load into a thread blocked in read") == 42, r)
ok("load: the library wrote the block it was given",
   os.path.exists(blk) and open(blk).read() == block)
ok("load: the process is detached", tracer(pid) == 0)
n = len(lines(out))
feed(p, b"data\n")
got = new_lines(out, n)
ok("load: the interrupted read restarts and gets its bytes, every register "
   "(r8-r10, MXCSR, the vector registers) as it was, no EINTR",
   got == ["read 5: data (registers intact)"], got)
r = ctl("peek", pid, ILIB, "tlstrace_state", 4)
ok("peek: tlstrace_state is 1 after the attach, read without stopping the process",
   r == (0, "01000000\n", ""), r)
r = ctl("call", pid, ILIB, "tlstrace_detach")
ok("call without load: tlstrace_detach of the library loaded before returns 0",
   result(r, "call of tlstrace_detach") == 0, r)
r2 = ctl("peek", pid, ILIB, "tlstrace_state", 4)
ok("peek: tlstrace_state is 2 after the detach", r2 == (0, "02000000\n", ""), r2)
r = ctl("call", pid, ILIB, "tlstrace_detach")
ok("call again: tlstrace_detach returns -1 (the library saw the first one)",
   result(r, "second call of tlstrace_detach") == -1, r)
r = ctl("check", pid, ILIB)
ok("check: the library already loaded is a result of its own, naming it",
   r == (3, "loaded: %s is already loaded in %d\n" % (ILIB, pid), ""), r)
r = ctl("call", pid, ILIB, "no_such_function")
ok("call of a function the library lacks: refused before the process is stopped",
   refused(r, "%s has no function no_such_function" % ILIB), r)
r = ctl("peek", pid, ILIB, "tlstrace_state", 8)
ok("peek of more bytes than the symbol has: refused",
   refused(r, "tlstrace_state is 4 bytes in %s, not 8" % ILIB), r)
n = len(lines(out))
feed(p, b"more\n")
got = new_lines(out, n)
ok("the process reads on after every call, registers intact",
   got == ["read 5: more (registers intact)"], got)
stop(p)

# --- a signal that comes during the call is delivered afterwards ---
p, out = host("read")
pid = p.pid
in_call(pid, {NR_READ})
r = ctl("call", pid, ILIB, "tlstrace_attach")
ok("call before any load: refused, the library is not there",
   refused(r, "%s is not loaded in %d" % (ILIB, pid)), r)
n = len(lines(out))
blk = os.path.join(tmp, "block-raise.txt")
r = ctl("load", pid, ILIB, block_for(blk, "raise"))
ok("load: the library sends its own process SIGUSR1 during the call; 42 all the same",
   result(r, "load with a signal during the call") == 42, r)
got = new_lines(out, n, want=2)
ok("the held signal is delivered after the call with its own siginfo (SI_USER from "
   "the process itself), and interrupts the read as a signal without SA_RESTART does",
   got == ["signal 10 code 0 pid %d" % pid, "read -1 errno EINTR"], got)
n = len(lines(out))
feed(p, b"after\n")
got = new_lines(out, n)
ok("after the signal the process reads on, registers intact",
   got == ["read 6: after (registers intact)"], got)
stop(p)

# --- a call that never returns, a call that crashes: the thread put back ---
p, out = host("read")
pid = p.pid
in_call(pid, {NR_READ})
t0 = time.monotonic()
r = ctl("load", pid, ILIB, block_for(os.path.join(tmp, "block-hang.txt"), "hang"))
secs = time.monotonic() - t0
ok("a call that never returns: given up after 5 s, saying so",
   refused(r, "the injected tlstrace_attach in %d did not return within 5 s; %d was put back, "
           "but may be left holding a lock" % (pid, pid)) and 5 <= secs < 9, (r, secs))
r = ctl("load", pid, ILIB, block_for(os.path.join(tmp, "block-crash.txt"), "crash"))
ok("a call that crashes: its SIGSEGV is not delivered, the failure says where",
   r[0] == 1 and r[1] == "" and re.fullmatch(
       r"injectctl: the injected tlstrace_attach crashed in %d \(Segmentation fault at \(nil\), "
       r"rip 0x[0-9a-f]+\); %d was put back, but may be left inconsistent\n" % (pid, pid), r[2]),
   r)
n = len(lines(out))
feed(p, b"data\n")
got = new_lines(out, n)
ok("after both the process reads on, registers intact, not traced",
   got == ["read 5: data (registers intact)"] and tracer(pid) == 0, got)
stop(p)

# --- which thread: one in a waiting call; one that lives on ---
for mode, what in (("threads", "the main thread in pthread_join (a futex), a second one in read"),
                   ("leaderless", "the main thread exited (a zombie), a second one in read")):
    p, out = host(mode)
    pid = p.pid
    in_call(pid, {NR_READ}) if mode == "threads" else time.sleep(0.2)
    blk = os.path.join(tmp, "block-%s.txt" % mode)
    t0 = time.monotonic()
    r = ctl("load", pid, ILIB, block_for(blk))
    secs = time.monotonic() - t0
    # the main thread would never have come to a safe point (a refusal after 2 s)
    ok("%s: loads at once, through the thread waiting in read" % what,
       result(r, "load into %s" % mode) == 42 and secs < 1.5 and os.path.exists(blk), (r, secs))
    n = len(lines(out))
    feed(p, b"data\n")
    got = new_lines(out, n)
    ok("%s: the reading thread reads on, registers intact" % what,
       got == ["read 5: data (registers intact)"], got)
    stop(p)

# --- the interrupted call: what strace -p does to it, the injection does ---
why = missing("strace")
if why:
    skip("read: after strace -p the process reads on, no error, as after the injection", why)
    skip("epoll_wait: the injection interrupts it as strace -p does", why)
else:
    p, out = host("read")
    pid = p.pid
    in_call(pid, {NR_READ})
    m, text = strace_cycle(pid, r"read\(0, ")
    n = len(lines(out))
    feed(p, b"data\n")
    got = new_lines(out, n)
    ok("read: after strace -p attached and detached the process reads on, no error, "
       "as after the injection", m is not None and got == ["read 5: data (registers intact)"],
       (got, text))
    stop(p)

    p, out = host("epoll")
    pid = p.pid
    in_call(pid, {NR_EPOLL_WAIT, NR_EPOLL_PWAIT})
    n = len(lines(out))
    m, text = strace_cycle(pid, r"epoll_wait\(3, ")
    by_strace = new_lines(out, n)
    in_call(pid, {NR_EPOLL_WAIT, NR_EPOLL_PWAIT})
    n = len(lines(out))
    r = ctl("load", pid, ILIB, block_for(os.path.join(tmp, "block-epoll.txt")))
    by_inject = new_lines(out, n)
    print("# epoll_wait after strace -p: %r; after the injection: %r" % (by_strace, by_inject),
          flush=True)
    # strace interrupts it twice (its attach, then its detach of the call
    # made again), the injection once; each time the same result
    ok("epoll_wait: the injection interrupts it as strace -p does (-1 EINTR, its "
       "documented behaviour after a stop)",
       m is not None and result(r, "load into a thread blocked in epoll_wait") == 42
       and by_strace and set(by_strace) == {EINTR_LINE} and by_inject == [EINTR_LINE],
       (r, by_strace, by_inject, text))
    n = len(lines(out))
    feed(p, b"x\n")
    got = new_lines(out, n, want=2)
    ok("epoll_wait: called again, it returns the ready pipe", got == ["epoll_wait 1", "read 2: x"],
       got)
    stop(p)

# --- a thread that never waits: refused at the bound ---
p, out = host("busy")
pid = p.pid
t0 = time.monotonic()
r = ctl("load", pid, ILIB, block_for(os.path.join(tmp, "block-busy.txt")))
secs = time.monotonic() - t0
ok("busy (getpid, malloc/free, never a waiting call): refused after the 2 s bound",
   refused(r, "no safe point: %d made no waiting system call in 2 s" % pid) and 2 <= secs < 6,
   (r, secs))
n = len(lines(out))
got = new_lines(out, n, want=2, settle=0.05)
ok("busy: detached, and it goes on ticking",
   tracer(pid) == 0 and len(got) >= 2 and all(re.fullmatch(r"tick \d+", l) for l in got), got)
ok("busy: the library was not loaded", ctl("check", pid, ILIB) == (0, "ok\n", ""))
stop(p)

# --- seccomp ---
p, out = host("seccomp")
pid = p.pid
in_call(pid, {NR_READ})
r = ctl("check", pid, ILIB)
ok("seccomp filter: refused", refused(
    r, "%d runs under a seccomp filter; the injected dlopen (openat, mmap, mprotect) could be "
    "killed by it; --seccomp-ok to try anyway" % pid), r)
r = ctl("--seccomp-ok", "load", pid, ILIB, block_for(os.path.join(tmp, "block-seccomp.txt")))
ok("seccomp filter, --seccomp-ok: dlopen fails, and dlerror's text says why",
   refused(r, "dlopen in %d failed: %s: cannot open shared object file: Operation not permitted"
           % (pid, ILIB)), r)
n = len(lines(out))
feed(p, b"data\n")
got = new_lines(out, n)
ok("seccomp filter: after the failed dlopen the process reads on, registers intact",
   got == ["read 5: data (registers intact)"], got)
stop(p)

# --- a process traced already ---
why = missing("strace")
if why:
    skip("traced by strace: refused, naming it", why)
else:
    p, out = host("read")
    pid = p.pid
    in_call(pid, {NR_READ})
    s, sout = spawn(["strace", "-p", str(pid)])
    wait_for(sout, r"read\(0, ", proc=s)
    r = ctl("check", pid, ILIB)
    r2 = ctl("load", pid, ILIB, block_for(os.path.join(tmp, "block-traced.txt")))
    line = "%d is already traced by PID %d (strace)" % (pid, s.pid)
    ok("traced by strace: refused, naming it (check and load)",
       refused(r, line) and refused(r2, line), (r, r2))
    stop(s)
    stop(p)

# --- another user, and the same user without privileges ---
if os.geteuid() != 0 or missing("setpriv"):
    why = "needs root and setpriv to run injectctl as nobody"
    skip("another uid: refused", why)
    skip("nobody into a process of nobody: loads", why)
else:
    # nobody's copies of the tools, in a directory it can read
    nb = tempfile.mkdtemp(prefix="tlstrace-inject-")
    try:
        os.chmod(nb, 0o755)
        for f in (HOST, CTL, ILIB):
            shutil.copy(f, nb)
        nb_ctl, nb_host, nb_lib = (os.path.join(nb, os.path.basename(f)) for f in (CTL, HOST, ILIB))
        outdir = os.path.join(nb, "out")
        os.mkdir(outdir)
        os.chown(outdir, NOBODY, NOBODY)

        p, out = host("read")
        pid = p.pid
        in_call(pid, {NR_READ})
        n = len(lines(out))
        r = ctl("check", pid, nb_lib, user=NOBODY, path=nb_ctl)
        r2 = ctl("load", pid, nb_lib, block_for(os.path.join(outdir, "b.txt")), user=NOBODY,
                 path=nb_ctl)
        line = "%d runs as uid 0, you are uid %d" % (pid, NOBODY)
        ok("another uid (nobody against root): refused, check and load",
           refused(r, line) and refused(r2, line), (r, r2))
        ok("another uid: the process was not touched",
           tracer(pid) == 0 and lines(out)[n:] == []
           and ctl("check", pid, nb_lib) == (0, "ok\n", ""))
        stop(p)

        drop = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
        p, out = host("read", prefix=drop, path=nb_host)
        pid = p.pid
        in_call(pid, {NR_READ})
        blk = os.path.join(outdir, "block-nobody.txt")
        block = block_for(blk, "from nobody")
        r = ctl("load", pid, nb_lib, block, user=NOBODY, path=nb_ctl)
        ok("nobody into a process of nobody: loads, tlstrace_attach returns 42, block written",
           result(r, "load as nobody") == 42 and os.path.exists(blk)
           and open(blk).read() == block and os.stat(blk).st_uid == NOBODY, r)
        n = len(lines(out))
        feed(p, b"data\n")
        got = new_lines(out, n)
        ok("nobody: the process reads on, registers intact",
           got == ["read 5: data (registers intact)"], got)
        stop(p)
    finally:
        shutil.rmtree(nb, ignore_errors=True)

# --- statically linked ---
static = os.path.join(tmp, "inject_host_static")
b = subprocess.run(["gcc", "-static", "-O2", "-D_GNU_SOURCE", "-o", static,
                    os.path.join(ROOT, "tests", "tools", "inject_host.c")],
                   capture_output=True, timeout=120) if shutil.which("gcc") else None
if not b or b.returncode != 0:
    skip("statically linked: refused", "cannot link a static program here (gcc -static: %s)"
         % (b.stderr.decode().strip().splitlines()[-1:] if b else "no gcc"))
else:
    p, out = host("read", path=static)
    pid = p.pid
    in_call(pid, {NR_READ})
    r = ctl("check", pid, ILIB)
    ok("statically linked: refused",
       refused(r, "%d is statically linked (%s): tlstrace cannot be loaded into it" % (pid, static)),
       r)
    stop(p)

# --- a process that exited, not yet reaped ---
z = subprocess.Popen(["true"])
wait_until(lambda: open("/proc/%d/stat" % z.pid).read().rsplit(")", 1)[1].split()[0] == "Z", 5)
r = ctl("check", z.pid, ILIB)
ok("a zombie: refused", refused(r, "%d has exited" % z.pid), r)
z.wait()

# --- no such process ---
with open("/proc/sys/kernel/pid_max") as f:
    gone = int(f.read()) + 1
r = ctl("check", gone, ILIB)
r2 = ctl("load", gone, ILIB, "x\n")
ok("no such process: refused (check and load)",
   refused(r, "no such process %d" % gone) and refused(r2, "no such process %d" % gone), (r, r2))

if stops:
    print("# stops: %s us (min %d, max %d)" % (", ".join(map(str, stops)), min(stops), max(stops)),
          flush=True)
finish()
