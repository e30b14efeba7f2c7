"""Shared helpers for the integration tests.

Every test starts real peers on 127.0.0.1 with ephemeral ports, bounds each
in time, and stops every process it started, by pid.  Results are printed
as TAP-like lines ("ok - name", "not ok - name") that scripts/check.sh
counts; a check that cannot be made on this machine (an optional tool
missing) is printed as a TAP skip, "ok - name # SKIP why", which
check.sh counts as skipped, never as passed.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
LIB = os.path.join(BUILD, "libtlstrace.so")
BIN = os.path.join(BUILD, "tlstrace")
CERTS = os.path.join(BUILD, "certs")

K_DOT = "CN=K-Dot Certificate Authority"
ROOTS = "CN=The Roots Authority"
CLIENT_SUBJECT = "CN=tlstrace client,O=Example"

_procs = []
_failed = 0
_tmp = tempfile.mkdtemp(prefix="tlstrace-it-")


# TLSTRACE_DOCCHECK_DIR: every JSON log line a test reads is appended to
# a file there, one per test process, for test_docs.py (which checks that
# the events and fields docs/log-format.md names are produced).
_DOCCHECK = os.environ.get("TLSTRACE_DOCCHECK_DIR")
_doc_seen = set()


def _doccheck(text):
    if not _DOCCHECK or not text:
        return
    new = [l for l in text.splitlines() if l.startswith("{") and l not in _doc_seen]
    if new:
        _doc_seen.update(new)
        os.makedirs(_DOCCHECK, exist_ok=True)
        with open(os.path.join(_DOCCHECK, "%d.jsonl" % os.getpid()), "a") as f:
            f.write("\n".join(new) + "\n")


def tmpdir():
    return _tmp


def _cleanup():
    for p in _procs:
        stop(p)
    subprocess.run(["rm", "-rf", _tmp])


atexit.register(_cleanup)


def ok(name, cond, detail=""):
    global _failed
    if cond:
        print("ok - %s" % name, flush=True)
    else:
        _failed += 1
        print("not ok - %s" % name, flush=True)
        if detail:
            for line in str(detail).splitlines()[:40]:
                print("#   " + line, flush=True)
    return cond


def skip(name, why):
    """Reports the check name as not made here, and why (a TAP skip)."""
    print("ok - %s # SKIP %s" % (name, why), flush=True)


def missing(*tools):
    """The first of tools (commands or paths) that this machine lacks,
    as a reason for skip(), or None when all are there."""
    for t in tools:
        if not (os.access(t, os.X_OK) if os.sep in t else shutil.which(t)):
            return "%s not found (scripts/deps.sh installs it)" % t
    return None


def track(p):
    """Adds a process started by the test itself to those stopped at exit."""
    _procs.append(p)
    return p


def finish():
    sys.exit(1 if _failed else 0)


def certs():
    if not os.path.exists(os.path.join(CERTS, "done")):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "gencerts.sh"), CERTS],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
    return CERTS


def cert(name):
    return os.path.join(certs(), name)


def stop(p, timeout=5):
    """Stops a process we started: SIGTERM, then SIGKILL, by pid."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=timeout)


def spawn(cmd, env=None, stdin=subprocess.DEVNULL, out=None):
    """Starts a background process, tracked for cleanup.  Output goes to
    a file whose path is returned with the process."""
    if out is None:
        fd, out = tempfile.mkstemp(dir=_tmp, suffix=".out")
        os.close(fd)
    f = open(out, "wb")
    p = subprocess.Popen(cmd, stdin=stdin, stdout=f, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    f.close()
    _procs.append(p)
    return p, out


def wait_for(path, pattern, timeout=10, proc=None):
    """Waits until the file at path matches pattern; returns the match."""
    deadline = time.time() + timeout
    rx = re.compile(pattern)
    while time.time() < deadline:
        try:
            with open(path, "rb") as f:
                m = rx.search(f.read().decode("utf-8", "replace"))
            if m:
                return m
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.02)
    return None


def spawn_port(cmd, pattern, what, env=None, stdin=subprocess.DEVNULL):
    """spawn() a server that prints the port it listens on (the first
    group of pattern); returns (proc, port, outfile), or stops it and
    raises when it does not say."""
    p, out = spawn(cmd, env=env, stdin=stdin)
    m = wait_for(out, pattern, proc=p)
    if not m:
        stop(p)
        with open(out, "rb") as f:
            raise RuntimeError("%s did not start: %r" % (what, f.read()[-2000:]))
    return p, int(m.group(1)), out


def s_server(args, env=None, stdin=subprocess.DEVNULL, traced=None):
    """openssl s_server on 127.0.0.1:0; returns (proc, port, outfile).
    traced: a dict of tlstrace options to run it under the launcher."""
    cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0"] + args
    if traced is not None:
        cmd = launcher_cmd(traced) + cmd
    return spawn_port(cmd, r"ACCEPT 127\.0\.0\.1:(\d+)", "s_server", env=env, stdin=stdin)


def fifo_s_server(args):
    """s_server (as s_server()) reading its commands (R, c, Q, data) from
    a FIFO the test writes to; returns (proc, port, outfile, fifo_fd)."""
    fd, path = tempfile.mkstemp(dir=_tmp, suffix=".fifo")
    os.close(fd)
    os.unlink(path)
    os.mkfifo(path)
    fdin = os.open(path, os.O_RDWR)
    p, port, out = s_server(args, stdin=fdin)
    return p, port, out, fdin


def let_exit(p, timeout=10):
    """Gives a process we started time to exit on its own, then stops it
    by pid."""
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    stop(p)


def end_on_eof(p, timeout=10):
    """Closes the stdin of a process started with stdin=PIPE (s_client
    then sends close_notify and exits), then let_exit()."""
    p.stdin.close()
    let_exit(p, timeout)


def end_with_q(cli, srv, fdin, timeout=10):
    """Ends a FIFO-driven s_server session: Q, the client given time to
    finish on its own, then both stopped by pid and the FIFO closed."""
    os.write(fdin, b"Q\n")
    let_exit(cli, timeout)
    stop(srv)
    os.close(fdin)


def serve_once(talk):
    """A one-connection server on 127.0.0.1, in a thread: talk(conn) on
    the connection it accepts (within 20 s, its reads bounded to 10 s),
    which is then closed; a socket error ends it.  Returns (port, thread)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(20)

    def once():
        try:
            c, _ = ls.accept()
            c.settimeout(10)
            talk(c)
            c.close()
        except OSError:
            pass
        ls.close()

    t = threading.Thread(target=once, daemon=True)
    t.start()
    return ls.getsockname()[1], t


def mtls_server_args(ca_names=True, version="-tls1_2", extra=()):
    a = [version, "-Verify", "1", "-cert", cert("server.pem"), "-key", cert("server.key"),
         "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"), "-www"]
    if not ca_names:
        a.append("-no_ca_names")
    return a + list(extra)


def launcher_cmd(opts):
    cmd = [BIN]
    if "log" in opts:
        cmd += ["-o", opts["log"]]
    if opts.get("K"):
        cmd.append("-K")
    if opts.get("no_keylog"):
        cmd.append("--no-keylog")
    if "w" in opts:
        cmd += ["-w", opts["w"]]
    cmd += ["-l", opts.get("level", "info"), "-f", opts.get("format", "json"), "--"]
    return cmd


def new_log(suffix=".log"):
    fd, path = tempfile.mkstemp(dir=_tmp, suffix=suffix)
    os.close(fd)
    os.unlink(path)
    return path


def run(cmd, timeout=30, env=None, input=None):
    """Runs a command to completion (bounded); returns CompletedProcess."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    _procs.append(p)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        out, err = p.communicate()
        return subprocess.CompletedProcess(cmd, -9, out, err)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def traced(cmd, fmt="json", level="info", timeout=30, input=None, env=None, log=None,
           opts=None):
    """Runs cmd under the launcher; returns (CompletedProcess, log text).
    opts: more launcher options (K, no_keylog, w)."""
    log = log or new_log()
    o = {"log": log, "format": fmt, "level": level}
    o.update(opts or {})
    r = run(launcher_cmd(o) + cmd, timeout=timeout, env=env, input=input)
    try:
        with open(log, "rb") as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        text = ""
    _doccheck(text)
    return r, text


TS_RX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
# An address, or "?" when it could not be read (log-format.md, section 2).
ADDR_RX = re.compile(r"^((\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+|\?)$")
EVENT_RX = re.compile(r"^[a-z][a-z0-9_]*$")
COMMON = {"ts": str, "level": str, "pid": int, "tid": int, "conn": int, "fd": int,
          "local": str, "peer": str, "role": str, "dir": str, "event": str}
REQUIRED = {
    "certificate_request": {"version": str, "ca_count": int, "ca_names": list, "sig_algs": list},
    "alert": {"alert_level": str, "alert": str, "alert_code": int},
}


def check_json_line(line):
    """Returns None if the line meets the contract, else why not."""
    try:
        o = json.loads(line)
    except ValueError as e:
        return "not JSON: %s" % e
    if not isinstance(o, dict):
        return "not an object"
    for k, t in COMMON.items():
        if k not in o:
            return "missing %s" % k
        if not isinstance(o[k], t) or (t is int and isinstance(o[k], bool)):
            return "%s is not %s" % (k, t.__name__)
    if not TS_RX.match(o["ts"]):
        return "bad ts %r" % o["ts"]
    if o["level"] not in ("error", "warn", "info", "debug", "trace"):
        return "bad level"
    if o["role"] not in ("client", "server", "unknown"):
        return "bad role"
    if o["dir"] not in ("in", "out"):
        return "bad dir"
    if not EVENT_RX.match(o["event"]):
        return "bad event name"
    for k in ("local", "peer"):
        if not ADDR_RX.match(o[k]):
            return "bad %s %r" % (k, o[k])
    for k, t in REQUIRED.get(o["event"], {}).items():
        if k not in o or not isinstance(o[k], t):
            return "%s lacks %s" % (o["event"], k)
    for k in ("encrypted", "inferred", "decrypted", "truncated"):
        if k in o and o[k] is not True:
            return "%s present but not true" % k
    _doccheck(line)
    return None


def parse_json_log(text, name="json lines"):
    """Parses a JSON Lines log, checking every line against the contract
    (one ok/not ok per log); returns the list of objects."""
    objs, bad = [], []
    for i, line in enumerate(text.splitlines()):
        why = check_json_line(line)
        if why:
            bad.append("line %d: %s: %s" % (i + 1, why, line[:300]))
        else:
            objs.append(json.loads(line))
    ok("%s: every line is contract JSON (%d lines)" % (name, len(objs)), not bad and text != "",
       "\n".join(bad[:10]) or "empty log")
    return objs


def events(objs, name, **match):
    return [o for o in objs if o["event"] == name and all(o.get(k) == v for k, v in match.items())]


def interact(cmd, first_input=b"", timeout=20, env=None):
    """Runs cmd with a stdin that stays open (s_client ends at EOF on its
    stdin), writes first_input, and waits for it to exit on its own;
    returns (returncode, output)."""
    fd, out = tempfile.mkstemp(dir=_tmp, suffix=".out")
    os.close(fd)
    f = open(out, "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    f.close()
    _procs.append(p)
    if first_input:
        p.stdin.write(first_input)
        p.stdin.flush()
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = None
    try:
        p.stdin.close()
    except OSError:
        pass
    stop(p)
    with open(out, "rb") as f:
        return (rc if rc is not None else -9), f.read()


def read_log(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        return ""
    _doccheck(text)
    return text


def order(objs, names):
    """The events among names, in log order, as 'dir event' strings."""
    return ["%s %s" % (o["dir"], o["event"]) for o in objs if o["event"] in names]


def subsequence(seq, want):
    """Whether want appears in seq in order (not necessarily adjacent)."""
    it = iter(seq)
    return all(any(x == w for x in it) for w in want)
