#!/usr/bin/env python3
"""make bench: what tracing costs with tlstrace, side by side with what a
user would run instead to see the same traffic.

Each workload runs, in the same invocation and in alternating rounds, on
every side that applies:

  untraced   the bare command (LD_PRELOAD removed from its environment)
  tlstrace   LD_PRELOAD=build/libtlstrace.so, log at info to /dev/null
             unless the row says otherwise (other levels, decryption off)
  strace     strace -f -e trace=network,read,write -s 0 -o /dev/null CMD
  strace -x  the same with the bytes shown: -s 65536 -x
  dumpcap    dumpcap -i lo -q -w FILE running during the workload (started
             before, stopped by pid after; FILE in a temp dir, removed);
             only where the machine allows a capture on lo

Workloads: small non-TLS I/O (bench_io pipe, tcp); TLS 1.3 and 1.2 bulk
(bench_tls bulk); TLS 1.3 and 1.2 mTLS handshakes (bench_tls -m hs);
openssl s_server -www driven by openssl s_time; nginx (2 workers) driven
by ab over TLS 1.2 and 1.3; the memory of 10,000 idle TLS connections
held by a server (bench_tls idle); the volume of the log per connection at
each level and format.

Each figure is the median of a side's rounds, with its min..max.  Round r
runs the sides in one order, round r+1 in the reverse order, so a slow
drift of the machine (another tenant, thermal) does not favour a side.
On a shared VM the pinned CPU runs 20-30% slower for stretches of 10 ms
to over a second: the spread shows how much of that a figure caught, and
a ratio whose sides spread wider than its distance from the goal says
nothing either way.  Ratios are always tlstrace (or strace, dumpcap)
over untraced: of a cost (time per operation; goal an upper bound) or of
a rate (operations per second; goal a lower bound); each row says which.

CPUs: a workload whose two ends run in one process tree (bench_io,
bench_tls) runs on CPU 1, so that migrations and frequency differences
between cores do not swamp a 3% effect (CPU 1 rather than 0: CPU 0
usually takes most interrupts).  A server and its load generator run on
CPU 1 and CPU 0.  strace runs on the CPU of what it traces; dumpcap is
not pinned.  On a machine with one CPU nothing is pinned.

Environment:
  BENCH_ROUNDS     rounds per workload (default 3)
  BENCH_N          pairs per bench_io run (default 200000)
  BENCH_TLS_MB     MiB per bench_tls bulk run (default 512)
  BENCH_TLS_HS     handshakes per bench_tls hs run (default 500)
  BENCH_STIME_S    seconds per s_time run (default 3)
  BENCH_AB_N       requests per ab run (default 2000; 20 at a time)
  BENCH_IDLE_N     idle connections (default 10000)
  BENCH_IDLE_ROUNDS  rounds of the idle workload (default 2, or
                   BENCH_ROUNDS if lower: its figures repeat to within a
                   few bytes, and each round handshakes 2 x 10,000
                   connections, the longest part of the run)
  BENCH_LOG_HS     handshakes per log-volume run (default 200)
  BENCH_SLOW_DIV   the strace sides run 1/DIV of the work of bench_io and
                   bench_tls (default 8; the figures are per operation,
                   so they stay comparable)
  BENCH_ONLY       comma list of workloads to run (io,bulk,hs,stime,nginx,
                   idle,log); default all
  BENCH_VERBOSE    1 = print every sample
  TLSTRACE_LIB     library to preload (default build/libtlstrace.so)

Writes build/bench/results.md and prints it.  Exits 1 when a workload
could not run (its row says why); a missed goal is marked, not a failure.
"""
import datetime
import glob
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from proclib import children, free_ports, listening, wait_until  # noqa: E402
BENCH_IO = os.path.join(BUILD, "bench", "bench_io")
BENCH_TLS = os.path.join(BUILD, "bench", "bench_tls")
CERTS = os.path.join(BUILD, "certs")
NGINX = "/usr/sbin/nginx"
RESULTS = os.path.join(BUILD, "bench", "results.md")

STRACE = ["strace", "-f", "-e", "trace=network,read,write"]
STRACE_0 = STRACE + ["-s", "0", "-o", "/dev/null"]
STRACE_X = STRACE + ["-s", "65536", "-x", "-o", "/dev/null"]
LEVELS = ["error", "warn", "info", "debug", "trace"]
# Variables that would change what the library does besides level,
# destination and decryption: cleared on every side.
TT_CLEAR = ["TLSTRACE_KEYLOG", "SSLKEYLOGFILE", "TLSTRACE_KEYLOG_OUT", "TLSTRACE_FORMAT",
            "TLSTRACE_EVENTS", "TLSTRACE_PCAP", "TLSTRACE_LOG", "TLSTRACE_LEVEL",
            "TLSTRACE_DECRYPT", "LD_PRELOAD", "BENCH_TLS_KEYLOG_NOOP"]


class BenchError(Exception):
    """A workload that cannot run: its rows say why, make bench fails."""


def env_int(name, default):
    v = os.environ.get(name, str(default))
    if not re.fullmatch(r"[1-9][0-9]*", v):
        sys.exit("bench: %s must be a positive integer, not %r" % (name, v))
    return int(v)


ROUNDS = env_int("BENCH_ROUNDS", 3)
IO_N = env_int("BENCH_N", 200000)
TLS_MB = env_int("BENCH_TLS_MB", 512)
TLS_HS = env_int("BENCH_TLS_HS", 500)
STIME_S = env_int("BENCH_STIME_S", 3)
AB_N = env_int("BENCH_AB_N", 2000)
AB_C = 20
IDLE_N = env_int("BENCH_IDLE_N", 10000)
IDLE_ROUNDS = env_int("BENCH_IDLE_ROUNDS", min(ROUNDS, 2))
LOG_HS = env_int("BENCH_LOG_HS", 200)
SLOW_DIV = env_int("BENCH_SLOW_DIV", 8)
VERBOSE = os.environ.get("BENCH_VERBOSE") == "1"
WORKLOADS = ["io", "bulk", "hs", "stime", "nginx", "idle", "log"]
ONLY = [w for w in os.environ.get("BENCH_ONLY", ",".join(WORKLOADS)).split(",") if w]
for w in ONLY:
    if w not in WORKLOADS:
        sys.exit("bench: BENCH_ONLY: unknown workload %r (known: %s)" % (w, ",".join(WORKLOADS)))
LIB = os.path.abspath(os.environ.get("TLSTRACE_LIB", os.path.join(BUILD, "libtlstrace.so")))

TMP = tempfile.mkdtemp(prefix="tlstrace-bench-")
# Servers' workers run as www-data when we are root: their folder must be
# searchable.
os.chmod(TMP, 0o755)


# What runs in the background now (servers, captures): stopped at exit
# if a workload is cut short (an error, ^C, SIGTERM).
LIVE = []


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------ processes

def cpus():
    """(CPU for the traced program, CPU for its load generator), or
    (None, None) where taskset or a second CPU is missing."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        ok = subprocess.run(["taskset", "-c", "1", "true"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        if ok:
            return "1", "0"
    return None, None


CPU_MAIN, CPU_LOAD = cpus()


def pin(cpu):
    return ["taskset", "-c", cpu] if cpu else []


def base_env():
    env = dict(os.environ)
    for k in TT_CLEAR:
        env.pop(k, None)
    return env


def traced_env(level="info", decrypt="on", log_to="/dev/null", fmt=None):
    env = base_env()
    env.update(LD_PRELOAD=LIB, TLSTRACE_LEVEL=level, TLSTRACE_DECRYPT=decrypt,
               TLSTRACE_LOG=log_to)
    if fmt:
        env["TLSTRACE_FORMAT"] = fmt
    return env


def tail(text, n=600):
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return " ".join(text[-n:].split())


def run(cmd, env, timeout=300):
    """Runs cmd to its end; its stdout, or BenchError with its stderr."""
    try:
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("timed out after %d s: %s" % (timeout, " ".join(cmd)))
    if r.returncode != 0:
        raise BenchError("%s exited %d: %s" % (" ".join(cmd), r.returncode, tail(r.stderr)))
    return r.stdout.decode("utf-8", "replace")


def field(out, key):
    m = re.search(r"(?:^|\s)%s=(\S+)" % re.escape(key), out)
    if not m:
        raise BenchError("no %s= in %r" % (key, out[-300:]))
    return float(m.group(1))


def stop_pid(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Stops a process we started, by pid: sig, then SIGKILL."""
    if p.poll() is None:
        stop_pid(p.pid, sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_pid(p.pid, signal.SIGKILL)
            p.wait(timeout=timeout)


class Spawned:
    """A background process whose output goes to a file in TMP."""

    def __init__(self, cmd, env, name):
        fd, self.out = tempfile.mkstemp(dir=TMP, prefix=name + "-", suffix=".out")
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=fd,
                                  stderr=subprocess.STDOUT)
        os.close(fd)

    def text(self):
        with open(self.out, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        stop(self.p)
        os.unlink(self.out)


# ------------------------------------------------------------ capture

def capture_check():
    """None when dumpcap can capture on lo here, else why not."""
    if not shutil.which("dumpcap"):
        return "n/a: dumpcap not installed"
    r = subprocess.run(["dumpcap", "-D"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listed = re.search(rb"^\d+\. lo\b", r.stdout, re.M) is not None
    if not listed:
        return "n/a: dumpcap -D does not list lo"
    if os.geteuid() != 0:
        caps = subprocess.run(["getcap", shutil.which("dumpcap")], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout if shutil.which("getcap") else b""
        if b"cap_net_raw" not in caps:
            return "n/a: not root, and dumpcap has no cap_net_raw"
    return None


CAPTURE_NA = capture_check()


class Capture:
    """dumpcap -i lo -q -w FILE for the time of a with block."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(dir=TMP, prefix="capture-")
        self.file = os.path.join(self.dir, "lo.pcapng")
        self.err = os.path.join(self.dir, "dumpcap.err")
        with open(self.err, "wb") as e:
            self.p = subprocess.Popen(["dumpcap", "-i", "lo", "-q", "-w", self.file],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=e)
        LIVE.append(self)
        # Capturing once its file has the section and interface blocks.
        up = wait_until(lambda: self.p.poll() is not None or
                        (os.path.exists(self.file) and os.path.getsize(self.file) > 0), 10)
        if self.p.poll() is not None or not up:
            why = open(self.err, "rb").read()
            self.__exit__()
            raise BenchError("dumpcap did not start: %s" % tail(why))
        return self

    def stop(self):
        self.__exit__()

    def __exit__(self, *exc):
        if self in LIVE:
            LIVE.remove(self)
        stop(self.p)
        self.size = os.path.getsize(self.file) if os.path.exists(self.file) else 0
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


# ------------------------------------------------------------ sides and rounds

class Side:
    """One way of running a workload.  sample(scale) runs it once and
    returns {metric: value}; scale divides the work (the slow sides)."""

    def __init__(self, key, sample, slow=False):
        self.key, self.sample, self.slow = key, sample, slow


def rounds(label, sides, n=ROUNDS):
    """Runs every side n times, alternating the order, and returns
    {side key: {metric: [values]}}."""
    got = {s.key: {} for s in sides}
    t0 = time.monotonic()
    for r in range(n):
        order = sides if r % 2 == 0 else sides[::-1]
        line = []
        for s in order:
            vals = s.sample()
            for m, v in vals.items():
                got[s.key].setdefault(m, []).append(v)
            line.append("%s %s" % (s.key, " ".join("%s=%.6g" % kv for kv in vals.items())))
        if VERBOSE:
            log("%s round %d/%d: %s" % (label, r + 1, n, "; ".join(line)))
    log("%s: %d rounds done in %.0f s" % (label, n, time.monotonic() - t0))
    return got


def cmd_sides(cmd, key, scaled_cmd=None, tt_variants=None, extra=None):
    """Sides for a command that runs on its own and prints KEY=VALUE:
    cmd(scale) is the command without wrapper, pinned to CPU_MAIN.
    tt_variants: {side key: env} of the tlstrace sides (default: info,
    decryption on)."""
    tt_variants = tt_variants or {"tlstrace": traced_env()}
    pinned = pin(CPU_MAIN)

    def plain(env, wrap=(), scale=1):
        return lambda: {key: field(run(pinned + list(wrap) + cmd(scale), env), key)}

    sides = [Side("untraced", plain(base_env()))]
    for k, env in tt_variants.items():
        sides.append(Side(k, plain(env)))
    for k, env in (extra or {}).items():
        sides.append(Side(k, plain(env)))
    sides.append(Side("strace", plain(base_env(), STRACE_0, SLOW_DIV), slow=True))
    sides.append(Side("strace-x", plain(base_env(), STRACE_X, SLOW_DIV), slow=True))
    if CAPTURE_NA is None:
        def captured():
            with Capture():
                return {key: field(run(pinned + cmd(1), base_env()), key)}
        sides.append(Side("dumpcap", captured))
    return sides


# ------------------------------------------------------------ table

COLS = ["untraced", "tlstrace", "ratio", "strace", "strace-x", "dumpcap"]


def fmt_num(v):
    if v >= 1000:
        return "%.0f" % v
    if v >= 100:
        return "%.1f" % v
    return "%.2f" % v


def figure(vals, unit=""):
    med = statistics.median(vals)
    s = fmt_num(med) + (" " + unit if unit else "")
    if len(vals) > 1:
        s += " (%s..%s)" % (fmt_num(min(vals)), fmt_num(max(vals)))
    return s, med


class Row:
    """One line of the table: a workload on one tlstrace side."""

    def __init__(self, name):
        self.name = name
        self.cells = {c: "" for c in COLS}


ROWS = []
FAILED = []
NOTES = []


def fail_rows(names, err):
    for n in names:
        r = Row(n)
        r.cells["untraced"] = "FAILED: %s" % err
        ROWS.append(r)
    FAILED.append("%s: %s" % (", ".join(names), err))
    log("FAILED %s: %s" % (", ".join(names), err))


def half_spread(vals):
    """(max - min) / 2 as a percentage of the median."""
    return (max(vals) - min(vals)) / 2 / statistics.median(vals) * 100


def verdict(ratio, goal, kind):
    """'time 1.012 (goal <= 1.03)', with **missed** when it is not met."""
    word = "time" if kind == "cost" else "rate"
    if goal is None:
        return "%s %.3f (no goal)" % (word, ratio)
    met = ratio <= goal if kind == "cost" else ratio >= goal
    return "%s %.3f (goal %s %g)%s" % (word, ratio, "<=" if kind == "cost" else ">=", goal,
                                       "" if met else " **missed**")


def add_rows(got, metric, unit, kind, specs, scale=None, first_only=True):
    """specs: [(row name, tlstrace side key, goal)].  kind: cost or rate.
    scale: converts a stored value for display (e.g. ns/MiB -> MiB/s
    keeps the ratio in cost terms)."""
    conv = scale or (lambda v: v)

    def med(key):
        return statistics.median(got[key][metric])

    for i, (name, tt, goal) in enumerate(specs):
        r = Row(name)
        shared = i == 0 or not first_only
        vals = {k: [conv(v) for v in got[k][metric]] for k in got if metric in got[k]}
        if shared:
            r.cells["untraced"] = figure(vals["untraced"], unit)[0]
        else:
            r.cells["untraced"] = "as above"
        r.cells["tlstrace"] = figure(vals[tt], unit)[0]
        ratio = med(tt) / med("untraced")
        r.cells["ratio"] = verdict(ratio, goal, kind)
        if ROUNDS > 1:
            r.cells["ratio"] += ", spread ±%.0f%%" % max(half_spread(vals["untraced"]),
                                                         half_spread(vals[tt]))
        for k in ("strace", "strace-x", "dumpcap"):
            if not shared:
                r.cells[k] = "as above"
            elif k in got:
                r.cells[k] = "%s; %s %.3f" % (figure(vals[k], unit)[0],
                                              "time" if kind == "cost" else "rate",
                                              med(k) / med("untraced"))
            elif k == "dumpcap":
                r.cells[k] = CAPTURE_NA or "n/a"
        ROWS.append(r)


# ------------------------------------------------------------ workloads

def w_io():
    for mode in ("pipe", "tcp"):
        name = "%s: 64-byte write + read (bench_io %s)" % (
            "pipe" if mode == "pipe" else "TCP on lo", mode)
        try:
            sides = cmd_sides(lambda s, m=mode: [BENCH_IO, m, str(max(IO_N // (s * 2), 200))
                                                 if s > 1 else str(IO_N)], "ns_per_pair")
            if mode == "pipe":
                # Nothing of a pipe goes through lo.
                sides = [s for s in sides if s.key != "dumpcap"]
            got = rounds("io-" + mode, sides)
        except BenchError as e:
            fail_rows([name], e)
            continue
        add_rows(got, "ns_per_pair", "ns/pair", "cost",
                 [(name, "tlstrace", 1.03)])
        if mode == "pipe":
            ROWS[-1].cells["dumpcap"] = "n/a: a pipe does not go through lo"
    NOTES.append("bench_io: %d pairs per run, %d under strace (1/%d); the figure is the "
                 "10th percentile of 200-pair chunk means (bench_io.c says why)."
                 % (IO_N, max(IO_N // (SLOW_DIV * 2), 200), SLOW_DIV * 2))


def w_bulk():
    for ver in ("1.3", "1.2"):
        suite = "AES-128-GCM" if ver == "1.3" else "ECDHE-ECDSA-AES128-GCM-SHA256"
        base = "TLS %s bulk, %s, 16 KiB writes" % (ver, suite)
        names = [base + "; tlstrace at info", base + "; tlstrace at trace"]
        try:
            sides = cmd_sides(lambda s, v=ver: [BENCH_TLS, "-v", v, "bulk",
                                                str(max(TLS_MB // s, 16))], "ns_per_mib",
                              tt_variants={"tlstrace": traced_env("info"),
                                           "tlstrace-trace": traced_env("trace")})
            got = rounds("bulk-" + ver, sides)
        except BenchError as e:
            fail_rows(names, e)
            continue
        add_rows(got, "ns_per_mib", "MiB/s", "cost",
                 [(names[0], "tlstrace", 1.02), (names[1], "tlstrace-trace", None)],
                 scale=lambda ns: 1e9 / ns)
    NOTES.append("bench_tls bulk: %d MiB per run, %d MiB under strace; figures in "
                 "MiB/s, ratios of time (untraced MiB/s / traced MiB/s)."
                 % (TLS_MB, max(TLS_MB // SLOW_DIV, 16)))


def w_hs():
    for ver in ("1.3", "1.2"):
        base = "TLS %s mTLS handshakes" % ver
        names = [base + "; tlstrace decryption off", base + "; tlstrace decryption on",
                 base + "; reference: OpenSSL alone with a no-op key-log callback"]
        try:
            noop = base_env()
            noop["BENCH_TLS_KEYLOG_NOOP"] = "1"
            sides = cmd_sides(lambda s, v=ver: [BENCH_TLS, "-v", v, "-m", "hs",
                                                str(max(TLS_HS // s, 20))], "ns_per_handshake",
                              tt_variants={"tlstrace-off": traced_env(decrypt="off"),
                                           "tlstrace": traced_env(decrypt="on")},
                              extra={"keylog-noop": noop})
            got = rounds("hs-" + ver, sides)
        except BenchError as e:
            fail_rows(names, e)
            continue
        # Stored as ns per handshake: shown and compared as a rate.
        for k in got:
            got[k]["hs_per_s"] = [1e9 / v for v in got[k]["ns_per_handshake"]]
        add_rows(got, "hs_per_s", "hs/s", "rate",
                 [(names[0], "tlstrace-off", 0.97), (names[1], "tlstrace", 0.95),
                  (names[2], "keylog-noop", None)])
    NOTES.append("bench_tls -m hs: the server asks for a client certificate naming 2 CAs, "
                 "the client sends one; %d handshakes per run after %d untimed, %d under "
                 "strace; both ends traced (the server is a fork of the client)."
                 % (TLS_HS, max(TLS_HS // 10, 1), max(TLS_HS // SLOW_DIV, 20)))


def server_sides(start, drive):
    """Sides for a server started by start(wrap, env) -> (proc, pids to
    stop it by, port info) and driven by drive(info) -> {metric: value};
    stop is start's returned callable."""
    def side(env, wrap=(), capture=False):
        def sample():
            srv = start(list(wrap), env)
            try:
                if capture:
                    with Capture():
                        return drive(srv)
                return drive(srv)
            finally:
                srv.stop()
        return sample

    sides = [Side("untraced", side(base_env())), Side("tlstrace", side(traced_env())),
             Side("strace", side(base_env(), STRACE_0), slow=True),
             Side("strace-x", side(base_env(), STRACE_X), slow=True)]
    if CAPTURE_NA is None:
        sides.append(Side("dumpcap", side(base_env(), capture=True), slow=True))
    return sides


class TracedServer:
    """A server started as pin + wrap + cmd; its own pid (under strace,
    the child of strace) is what we stop."""

    def __init__(self, cmd, wrap, env, name):
        self.sp = Spawned(pin(CPU_MAIN) + wrap + cmd, env, name)
        self.wrapped = bool(wrap)

    def pid(self):
        """The server's pid: strace's child when wrapped."""
        if not self.wrapped:
            return self.sp.p.pid
        kids = wait_until(lambda: children(self.sp.p.pid), 10)
        if not kids:
            raise BenchError("no child of %s" % " ".join(self.sp.cmd))
        return min(kids)


def w_stime():
    name = "openssl s_server -www, TLS 1.3, driven by s_time -new -time %d" % STIME_S
    srv_cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-www", "-tls1_3",
               "-cert", os.path.join(CERTS, "server-chain.pem"),
               "-key", os.path.join(CERTS, "server.key")]

    def start(wrap, env):
        t = TracedServer(srv_cmd, wrap, env, "s_server")
        m = wait_until(lambda: t.sp.p.poll() is not None or
                       re.search(r"ACCEPT 127\.0\.0\.1:(\d+)", t.sp.text()), 10)
        if not hasattr(m, "group"):
            text = t.sp.text()
            t.sp.close()
            raise BenchError("s_server did not start: %s" % tail(text))
        t.port = int(m.group(1))

        def stop_it():
            if t.wrapped:
                stop_pid(t.pid())
                try:
                    t.sp.p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            t.sp.close()
            LIVE.remove(t)
        t.stop = stop_it
        LIVE.append(t)
        return t

    def drive(t):
        t0 = time.monotonic()
        out = run(pin(CPU_LOAD) + ["openssl", "s_time", "-new", "-connect",
                                   "127.0.0.1:%d" % t.port, "-time", str(STIME_S)],
                  base_env(), timeout=STIME_S + 60)
        wall = time.monotonic() - t0
        m = re.search(r"(\d+) connections in [\d.]+ real seconds", out)
        if not m or int(m.group(1)) == 0:
            raise BenchError("s_time: no connections: %s" % tail(out))
        return {"conn_per_s": int(m.group(1)) / wall}

    try:
        got = rounds("s_time", server_sides(start, drive))
    except BenchError as e:
        fail_rows([name], e)
        return
    add_rows(got, "conn_per_s", "conn/s", "rate",
             [(name, "tlstrace", 0.95)])
    NOTES.append("s_time: connections counted by s_time over the wall time of the s_time "
                 "process (its own \"real seconds\" are whole seconds); s_server on CPU %s, "
                 "s_time (untraced) on CPU %s; every side runs the full %d s."
                 % (CPU_MAIN, CPU_LOAD, STIME_S))


NGINX_CONF = """worker_processes 2;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log error;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {d}/tmp;
    proxy_temp_path {d}/tmp;
    fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp;
    scgi_temp_path {d}/tmp;
    ssl_certificate {certs}/server-chain.pem;
    ssl_certificate_key {certs}/server.key;
    ssl_session_cache off;
    ssl_session_tickets off;
    server {{
        listen 127.0.0.1:{p12} ssl;
        ssl_protocols TLSv1.2;
        root {d}/www;
    }}
    server {{
        listen 127.0.0.1:{p13} ssl;
        ssl_protocols TLSv1.3;
        root {d}/www;
    }}
}}
"""


def nginx_site():
    d = tempfile.mkdtemp(dir=TMP, prefix="nginx-")
    os.chmod(d, 0o755)
    for sub in ("www", "tmp"):
        os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, sub), 0o755)
    page = os.path.join(d, "www", "small.html")
    with open(page, "wb") as f:
        f.write(b"<html><body>" + b"tlstrace small page\n" * 20 + b"</body></html>\n")
    os.chmod(page, 0o644)
    return d


def w_nginx():
    names = ["nginx, 2 workers, TLS %s, driven by ab -n %d -c %d" % (v, AB_N, AB_C)
             for v in ("1.2", "1.3")]
    if not os.access(NGINX, os.X_OK) or not shutil.which("ab"):
        fail_rows(names, "%s or ab not found (scripts/deps.sh installs them)" % NGINX)
        return
    d = nginx_site()

    def start(wrap, env):
        p12, p13 = free_ports(2)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(d=d, certs=CERTS, p12=p12, p13=p13,
                                      user="user www-data;" if os.geteuid() == 0 else ""))
        pidfile = os.path.join(d, "nginx.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        t = TracedServer([NGINX, "-p", d + "/", "-c", conf, "-e", d + "/error.log",
                          "-g", "daemon off;"], wrap, env, "nginx")
        t.ports = {"1.2": p12, "1.3": p13}

        def master():
            try:
                with open(pidfile) as f:
                    return int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                return None

        def stop_it():
            # SIGQUIT: graceful, workers finish and exit; by the master's
            # pid (nginx's own, strace's child when wrapped).
            pid = master() or (t.pid() if t.wrapped else t.sp.p.pid)
            kids = children(pid)
            stop_pid(pid, signal.SIGQUIT)
            try:
                t.sp.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                stop_pid(pid, signal.SIGKILL)
            for k in kids:  # a worker left behind, if any
                try:
                    with open("/proc/%d/cmdline" % k, "rb") as f:
                        if f.read().startswith(b"nginx"):
                            stop_pid(k, signal.SIGKILL)
                except OSError:
                    pass
            t.sp.close()
            LIVE.remove(t)
        t.stop = stop_it
        LIVE.append(t)
        up = wait_until(lambda: t.sp.p.poll() is not None or
                        (master() and len(children(master())) >= 2 and
                         listening(p12) and listening(p13)), 20)
        if t.sp.p.poll() is not None or not up:
            text = t.sp.text()
            try:
                text += open(os.path.join(d, "error.log")).read()
            except OSError:
                pass
            stop_it()
            raise BenchError("nginx did not start: %s" % tail(text))
        return t

    def drive(t):
        res = {}
        for v in ("1.2", "1.3"):
            out = run(pin(CPU_LOAD) + ["ab", "-q", "-n", str(AB_N), "-c", str(AB_C), "-s", "20",
                                       "-f", "TLS" + v,
                                       "https://127.0.0.1:%d/small.html" % t.ports[v]],
                      base_env(), timeout=300)
            complete = re.search(r"Complete requests:\s+(\d+)", out)
            failed = re.search(r"Failed requests:\s+(\d+)", out)
            rps = re.search(r"Requests per second:\s+([\d.]+)", out)
            if not (complete and failed and rps) or int(complete.group(1)) != AB_N or \
                    failed.group(1) != "0" or "Non-2xx" in out:
                raise BenchError("ab TLS %s: %s" % (v, tail(out)))
            res["rps" + v] = float(rps.group(1))
        return res

    try:
        got = rounds("nginx", server_sides(start, drive))
    except BenchError as e:
        fail_rows(names, e)
        return
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for v, name in zip(("1.2", "1.3"), names):
        add_rows(got, "rps" + v, "req/s", "rate",
                 [(name, "tlstrace", 0.93)])
    NOTES.append("nginx: tlstrace and strace on the master (the workers inherit them); one "
                 "server per side and round serves both ab runs (TLS 1.2 port, then TLS 1.3 "
                 "port), ab (untraced) without keep-alive; master and workers on CPU %s, ab "
                 "on CPU %s; access log off, session cache and tickets off."
                 % (CPU_MAIN, CPU_LOAD))


def w_idle():
    name = "%d idle TLS 1.3 connections held by a server (bench_tls idle)" % IDLE_N

    def side(env):
        def sample():
            out = run([BENCH_TLS, "idle", str(IDLE_N)], env, timeout=600)
            note = ("idle: RLIMIT_NOFILE could not be raised; %d connections held, "
                    "not %d." % (field(out, "held"), IDLE_N))
            if field(out, "limited") and note not in NOTES:
                NOTES.append(note)
            return {"priv": field(out, "priv_per_conn"), "rss": field(out, "rss_per_conn")}
        return sample

    try:
        got = rounds("idle", [Side("untraced", side(base_env())),
                              Side("tlstrace", side(traced_env(decrypt="on")))],
                     IDLE_ROUNDS)
    except BenchError as e:
        fail_rows([name], e)
        return
    for metric, what in (("priv", "Private"), ("rss", "Rss")):
        r = Row("%s: server %s per connection; tlstrace decryption on" % (name, what))
        u, um = figure(got["untraced"][metric], "B")
        t, tm = figure(got["tlstrace"][metric], "B")
        r.cells["untraced"], r.cells["tlstrace"] = u, t
        extra = tm - um
        if metric == "priv":
            r.cells["ratio"] = "+%.0f B/conn (goal <= 1024)%s" % (
                extra, "" if extra <= 1024 else " **missed**")
        else:
            r.cells["ratio"] = "+%.0f B/conn (no goal)" % extra
        for k in ("strace", "strace-x", "dumpcap"):
            r.cells[k] = "n/a (memory)"
        ROWS.append(r)
    NOTES.append("idle: per connection = (server memory with N held - with none held) / N, "
                 "from the server's /proc/self/smaps_rollup (Private = Private_Clean + "
                 "Private_Dirty); none held = after 16 connections were made and closed; "
                 "the client is a separate exec'd process without LD_PRELOAD; "
                 "SSL_MODE_RELEASE_BUFFERS on both ends; not pinned; %d rounds; the extra is "
                 "tlstrace's median minus untraced's." % IDLE_ROUNDS)


PID_RX = re.compile(rb'(?:\bpid=|"pid":\s*)(\d+)')


def w_log():
    """Log bytes per connection, per level and format, server and client
    ends apart."""
    table = {}
    t0 = time.monotonic()
    for ver in ("1.3", "1.2"):
        for fmt in ("text", "json"):
            for level in LEVELS:
                d = tempfile.mkdtemp(dir=TMP, prefix="log-")
                try:
                    env = traced_env(level, "on", os.path.join(d, "log-%p"), fmt)
                    p = subprocess.Popen(pin(CPU_MAIN) + [BENCH_TLS, "-v", ver, "-m", "hs",
                                                          str(LOG_HS)],
                                         env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                    out, err = p.communicate(timeout=300)
                    if p.returncode != 0:
                        raise BenchError("bench_tls -v %s -m hs exited %d: %s"
                                         % (ver, p.returncode, tail(err)))
                    conns = field(out.decode(), "connections")
                    # The forked server writes into the file its parent
                    # opened: the ends are told apart by the pid of each
                    # line.
                    ends = [0, 0]
                    for path in glob.glob(os.path.join(d, "log-*")):
                        with open(path, "rb") as f:
                            for line in f:
                                m = PID_RX.search(line)
                                if not m:
                                    raise BenchError("a log line without pid: %r" % line[:200])
                                ends[int(m.group(1)) == p.pid] += len(line)
                    table[(ver, fmt, level)] = (ends[0] / conns, ends[1] / conns)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
    log("log volume: done in %.0f s" % (time.monotonic() - t0))
    return table


# ------------------------------------------------------------ report

def sh(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              cwd=ROOT).stdout.decode().strip()
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def report(started, wall, load0, logvol, log_err):
    out = []
    out.append("# tlstrace: what tracing costs, side by side")
    out.append("")
    out.append("- date: %s" % started.strftime("%Y-%m-%d %H:%M:%S UTC"))
    out.append("- kernel: %s; CPU: %s; nproc: %d" % (platform.release(), cpu_model(),
                                                      os.cpu_count() or 0))
    out.append("- tlstrace: %s, commit %s" % (
        sh([os.path.join(BUILD, "tlstrace"), "--version"]) or "?",
        sh(["git", "describe", "--always", "--dirty", "--abbrev=12"]) or "?"))
    out.append("- tools: %s; %s; %s" % (
        sh(["strace", "-V"]).splitlines()[0] if shutil.which("strace") else "strace missing",
        sh(["dumpcap", "-v"]).splitlines()[0] if shutil.which("dumpcap") else "dumpcap missing",
        sh(["openssl", "version"])))
    out.append("- %d rounds per workload (idle: %d), order of sides reversed every other "
               "round; each figure the median of its rounds, (min..max) after it"
               % (ROUNDS, IDLE_ROUNDS))
    out.append("- pinning: %s" % ("traced programs on CPU %s, load generators on CPU %s"
                                  % (CPU_MAIN, CPU_LOAD) if CPU_MAIN else "none (one CPU or "
                                  "no taskset)"))
    out.append("- load average (1 min) at start %s, at end %s; wall time %.0f s"
               % (load0, loadavg(), wall))
    out.append("")
    out.append("Sides: **tlstrace** = LD_PRELOAD=build/libtlstrace.so, TLSTRACE_LOG=/dev/null, "
               "level info, decryption on unless the row says otherwise; **strace** = "
               "`strace -f -e trace=network,read,write -s 0 -o /dev/null CMD`; **strace -x** = "
               "the same with `-s 65536 -x` (every byte shown, hex-escaped); **dumpcap** = "
               "`dumpcap -i lo -q -w FILE` running during the workload (everything on lo, "
               "other users' traffic included). Ratios are side / untraced: **time** ratios of a "
               "cost (time per operation; goal an upper bound), **rate** ratios of "
               "operations per second (goal a lower bound). strace and dumpcap have no goal. "
               "**missed**: the ratio of the medians is on the wrong side of the goal; the spread "
               "after it, (max - min) / 2 over the median of the noisier of the two sides, "
               "says whether that is more than noise.")
    out.append("")
    heads = ["workload", "untraced", "tlstrace", "tlstrace ratio (goal)", "strace -s 0",
             "strace -s 65536 -x", "dumpcap -i lo"]
    out.append("| " + " | ".join(heads) + " |")
    out.append("|" + "---|" * len(heads))
    for r in ROWS:
        out.append("| " + " | ".join([r.name] + [r.cells[c] or "" for c in COLS]) + " |")
    out.append("")
    if "log" in ONLY:
        out.append("## Log volume")
        out.append("")
        if log_err:
            out.append("FAILED: %s" % log_err)
        else:
            out.append("Bytes of log per connection, `bench_tls -m hs %d` (mTLS, decryption on), "
                       "both ends traced: server / client (lines told apart by their pid)."
                       % LOG_HS)
            out.append("")
            vf = [(v, f) for v in ("1.3", "1.2") for f in ("text", "json")]
            out.append("| level | " + " | ".join("TLS %s %s" % vf_ for vf_ in vf) + " |")
            out.append("|" + "---|" * (len(vf) + 1))
            for level in LEVELS:
                out.append("| %s | %s |" % (level, " | ".join(
                    "%.0f / %.0f" % logvol[(v, f, level)] for v, f in vf)))
        out.append("")
    if NOTES:
        out.append("Notes:")
        out.append("")
        for n in NOTES:
            out.append("- " + n)
        out.append("")
    if FAILED:
        out.append("Could not run:")
        out.append("")
        for f in FAILED:
            out.append("- " + f)
        out.append("")
    return "\n".join(out)


def main():
    for path, what in ((LIB, "TLSTRACE_LIB"), (BENCH_IO, "make bench"),
                       (BENCH_TLS, "make bench")):
        if not os.path.exists(path):
            sys.exit("bench: %s does not exist (run %s)" % (path, what))
    missing = [t for t in ("strace", "openssl") if not shutil.which(t)]
    if missing:
        sys.exit("bench: %s not found (scripts/deps.sh installs it)" % ", ".join(missing))
    if not os.path.exists(os.path.join(CERTS, "done")):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "gencerts.sh"), CERTS],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    load0 = loadavg()
    log("%d rounds, workloads %s, capture: %s" % (ROUNDS, ",".join(ONLY),
                                                  CAPTURE_NA or "dumpcap on lo"))
    logvol, log_err = None, None
    for w in WORKLOADS:
        if w not in ONLY:
            continue
        if w == "log":
            try:
                logvol = w_log()
            except BenchError as e:
                log_err = str(e)
                FAILED.append("log volume: %s" % e)
            continue
        globals()["w_" + w]()
    text = report(started, time.monotonic() - t0, load0, logvol, log_err)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        f.write(text)
    print(text)
    log("written to %s" % os.path.relpath(RESULTS, ROOT))
    return 1 if FAILED else 0


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    rc = 1
    try:
        rc = main()
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        for what in LIVE[::-1]:
            try:
                what.stop()
            except Exception as e:  # still stop the others, remove TMP
                log("stopping %r: %s" % (what, e))
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
