"""tlstrace -p PID: attaching to processes that are already running, and
detaching from them.

1. openssl s_server -www started untraced; tlstrace -p attached; a TLS 1.3
   mTLS s_client connection: its CertificateRequest decrypted with both
   CA names; detach; another connection: nothing more logged, the server
   still answers.
2. nginx (2 workers) under two ab loads (keep-alive and not), each worker
   attached during the load, then detached during it: every request
   answered 200 with the same length, no worker lost; connections made
   after the attach have full summaries, those open at the attach are
   reported attached.
3. An IIS-style renegotiation (tests/tools/iis_server.c) on a TLS 1.2
   connection established before the attach, both processes attached:
   hello_request, the refusal and the reset are reported (inferred: the
   keys were made before the attach).
4. The transparency program (tests/tools/transparency.c) prints the same
   lines attached, and after a detach, as untraced.
5. Refusals: a second attach, a preloaded process, a static binary,
   another user, a process that does not exist; --detach from another
   tlstrace.
"""
import os
import signal
import socket
import subprocess
import time

from srvlib import *

IIS = os.path.join(BUILD, "tools", "iis_server")
TRANSPARENCY = os.path.join(BUILD, "tools", "transparency")
HOST_SRC = os.path.join(ROOT, "tests", "tools", "inject_host.c")
GET = b"GET / HTTP/1.0\r\n\r\n"


def attach(pids, log=None, extra=(), timeout=20):
    """Starts tlstrace -p for each pid (JSON to log) and waits until it
    has said "attached" for each; returns (proc, its output file, the
    attach lines)."""
    cmd = [BIN]
    for pid in pids:
        cmd += ["-p", str(pid)]
    if log:
        cmd += ["-o", log]
    cmd += ["-f", "json"] + list(extra)
    p, out = spawn(cmd)
    p.args_out = out
    said = []
    for pid in pids:
        m = wait_for(out, r"tlstrace: (attached to %d: .*)\n" % pid, timeout=timeout, proc=p)
        said.append(m.group(1) if m else None)
        if m:
            print("# %s" % m.group(1), flush=True)
    return p, out, said


def detach(p, timeout=20):
    """Interrupts a tlstrace -p (it detaches and exits); its exit code."""
    if p.poll() is None:
        os.kill(p.pid, signal.SIGINT)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        rc = -9
    for line in re.findall(r"tlstrace: (detached from .*)", read_log(p.args_out)):
        print("# %s" % line, flush=True)
    return rc


def mtls_client(port, version="-tls1_3"):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
           "-CAfile", cert("root.pem"), "-servername", "localhost",
           "-cert", cert("client.pem"), "-key", cert("client.key"), "-ign_eof"]
    return run(cmd, input=GET, timeout=20)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


# ---- 1. s_server: attach, a decrypted CertificateRequest, detach ----

def test_s_server():
    srv, port, sout = s_server(mtls_server_args(version="-tls1_3"))
    log = new_log(".jsonl")
    keys = new_log(".keys")
    t, tout, said = attach([srv.pid], log, ["-w", keys])
    ok("s_server: tlstrace -p says it attached", said[0] is not None, read_log(tout))
    r = mtls_client(port)
    ok("s_server: the mTLS client got the page", b"HTTP/1.0 200 ok" in r.stdout,
       r.stdout[-500:])
    time.sleep(0.3)
    objs = parse_json_log(read_log(log), "s_server attached")
    crs = events(objs, "certificate_request")
    ok("s_server attached: the CertificateRequest decrypted, both CA names",
       len(crs) == 1 and crs[0].get("decrypted") is True and crs[0]["ca_names"] == [K_DOT, ROOTS]
       and crs[0]["version"] == "TLS 1.3" and crs[0]["pid"] == srv.pid, crs)
    sm = events(objs, "summary")
    ok("s_server attached: one summary, keys used, not marked attached",
       len(sm) == 1 and sm[0].get("keys") == "used" and "attached" not in sm[0], sm)
    rc = detach(t)
    text = read_log(tout)
    ok("s_server: tlstrace -p detached and exited 0",
       rc == 0 and re.search(r"detached from %d: \d+ GOT entries restored" % srv.pid, text),
       "rc %s: %s" % (rc, text))
    before = read_log(log)
    kbefore = read_log(keys)
    r = mtls_client(port)
    time.sleep(0.3)
    ok("s_server after the detach: still serving", b"HTTP/1.0 200 ok" in r.stdout,
       r.stdout[-500:])
    ok("s_server after the detach: nothing more logged", read_log(log) == before,
       read_log(log)[len(before):][:800])
    ok("s_server: -w got the attached connection's 5 secrets, none after the detach",
       len(kbefore.splitlines()) == 5 and read_log(keys) == kbefore,
       "%d lines, then %d" % (len(kbefore.splitlines()), len(read_log(keys).splitlines())))
    ok("s_server after the detach: alive", srv.poll() is None)
    # attach again to a process detached before: refused, the process untouched
    r = run([BIN, "-p", str(srv.pid), "-f", "json"], timeout=20)
    err = r.stderr.decode()
    ok("s_server: a second attach after a detach is refused with the reason",
       r.returncode == 125 and "attached to it and detached" in err, err)
    r = mtls_client(port)
    ok("s_server: still serving after the refusal", b"HTTP/1.0 200 ok" in r.stdout)
    stop(srv)


# ---- 1b. a library loaded after the attach ----

LATE_CLIENT = r'''
import socket, sys
sys.stdin.readline()  # attached meanwhile
import ssl  # _ssl and libssl are loaded only now, after the attach
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(b"GET / HTTP/1.0\r\n\r\n")
got = b""
while True:
    b = t.recv(65536)
    if not b:
        break
    got += b
print("page", got.split(b"\r\n")[0].decode(), flush=True)
'''


def test_late_library():
    py = "/usr/bin/python3"
    if missing(py):
        skip("a library loaded after the attach", missing(py))
        return
    srv, port, sout = s_server(mtls_server_args(version="-tls1_3"))
    cli, cout = spawn([py, "-c", LATE_CLIENT, str(port), cert("root.pem"), cert("client.pem"),
                       cert("client.key")], stdin=subprocess.PIPE)
    time.sleep(0.5)
    with open("/proc/%d/maps" % cli.pid) as f:
        before = "libssl" in f.read()
    log = new_log(".jsonl")
    t, tout, said = attach([cli.pid], log)
    ok("python: attached before it loads libssl", said[0] is not None and not before,
       "libssl loaded already: %s; %s" % (before, read_log(tout)))
    cli.stdin.write(b"go\n")
    cli.stdin.close()
    let_exit(cli, 20)
    try:
        t.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stop(t)
    ok("python: got the page", "page HTTP/1.0 200 ok" in read_log(cout), read_log(cout)[-500:])
    objs = parse_json_log(read_log(log), "python, libssl loaded after the attach")
    crs = events(objs, "certificate_request")
    ok("python, libssl loaded after the attach: the CertificateRequest decrypted, both CA "
       "names", len(crs) == 1 and crs[0].get("decrypted") is True
       and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
    stop(srv)


# ---- 2. nginx under ab ----

def ab_load(port, n, keepalive):
    cmd = ["ab", "-q", "-n", str(n), "-c", "10", "-s", "20", "-f", "TLS1.2"]
    if keepalive:
        cmd.append("-k")
    return spawn(cmd + ["https://127.0.0.1:%d/small.html" % port])


AB_FIG = {k: re.compile(p) for k, p in {
    "complete": r"Complete requests:\s+(\d+)", "failed": r"Failed requests:\s+(\d+)",
    "non2xx": r"Non-2xx responses:\s+(\d+)", "len": r"Document Length:\s+(\d+)",
    "seconds": r"Time taken for tests:\s+([\d.]+)"}.items()}


def ab_result(p, out, timeout=120):
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        rc = -9
    text = read_log(out)
    f = {k: (rx.search(text).group(1) if rx.search(text) else None) for k, rx in AB_FIG.items()}
    return rc, f, text


def test_nginx():
    big = os.urandom(4096)
    ng = Nginx("nginx-attach", big, False)
    try:
        workers = ng.workers()
        log = new_log(".jsonl")
        ka, kaout = ab_load(ng.p12, 80000, True)
        nk, nkout = ab_load(ng.p12, 8000, False)
        # the load is under way: connections are open in both workers
        wait_until(lambda: count_requests(ng) >= 500, 30)
        t, tout, said = attach(workers, log)
        ok("nginx: both workers attached during the load",
           all(said) and ka.poll() is None and nk.poll() is None,
           "%s; ab running: %s %s" % (read_log(tout), ka.poll(), nk.poll()))
        time.sleep(2.0)
        rc = detach(t)
        # both loads still running once tlstrace has detached and exited
        during = ka.poll() is None and nk.poll() is None
        text = read_log(tout)
        ok("nginx: detached from both workers during the load",
           rc == 0 and during and all("detached from %d:" % w in text for w in workers),
           "rc %s, ab still running %s: %s" % (rc, during, text))
        for name, (p, out), n in (("keep-alive", (ka, kaout), 80000),
                                  ("one request per connection", (nk, nkout), 8000)):
            rc, f, abtext = ab_result(p, out)
            print("# nginx ab %s: rc=%s %s" % (name, rc, f), flush=True)
            ok("nginx ab %s: %d requests, all 200, the same length" % (name, n),
               rc == 0 and f["complete"] == str(n) and f["failed"] == "0" and f["non2xx"] is None
               and f["len"] == str(len(b"<html><body>" + b"tlstrace small page\n" * 20
                                       + b"</body></html>\n")), abtext[-1500:])
        ok("nginx: the same two workers, alive", ng.workers() == workers and ng.proc.poll() is None,
           "%s -> %s" % (workers, ng.workers()))
        err = read_log(ng.error_log)
        ok("nginx: no worker exited on a signal", "exited on signal" not in err, err[-1500:])
        objs = parse_json_log(read_log(log), "nginx attached")
        sums = events(objs, "summary")
        old = [s for s in sums if s.get("attached") is True]
        new = [s for s in sums if "attached" not in s]
        ok("nginx: connections open at the attach reported attached", len(old) >= 1,
           "%d summaries" % len(sums))
        ok("nginx: connections made after the attach have full summaries",
           len(new) >= 1 and all(s.get("version") == "TLS 1.2" and s.get("cipher")
                                 and "out server_hello" in s.get("messages", []) for s in new),
           new[:3])
        at_detach = [x for x in sums if x.get("ended") == "open when tlstrace detached"]
        ok("nginx: the keep-alive connections open at the detach summarised then",
           len(at_detach) >= 2, "%d of %d" % (len(at_detach), len(sums)))
        ok("nginx: summaries from both workers",
           set(s["pid"] for s in sums) == set(workers), set(s["pid"] for s in sums))
        ok("nginx: no decode_error", not events(objs, "decode_error"),
           events(objs, "decode_error")[:3])
        print("# nginx: %d summaries, %d attached, %d new" % (len(sums), len(old), len(new)),
              flush=True)
    finally:
        ng.stop()


def count_requests(ng):
    try:
        with open(os.path.join(ng.d, "access.log"), "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


# ---- 3. IIS-style renegotiation on a connection older than the attach ----

def test_iis():
    p, out = spawn([IIS, "-cert", cert("server.pem"), "-key", cert("server.key"),
                    "-chain", cert("inter.pem"), "-CAfile", cert("cas.pem"), "-naccept", "1"])
    m = wait_for(out, r"ACCEPT 127\.0\.0\.1:(\d+)", proc=p)
    port = int(m.group(1))
    fd, cout = tempfile.mkstemp(dir=tmpdir(), suffix=".out")
    os.close(fd)
    with open(cout, "wb") as f:
        cli = track(subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
             "-CAfile", cert("root.pem"), "-servername", "localhost", "-no_renegotiation",
             "-cert", cert("client.pem"), "-key", cert("client.key")],
            stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT, start_new_session=True))
    ok("iis: the TLS 1.2 handshake done before the attach",
       wait_for(cout, r"Verify return code: 0", proc=cli) is not None, read_log(cout)[-500:])
    log = new_log(".jsonl")
    t, tout, said = attach([cli.pid, p.pid], log)
    ok("iis: client and server attached", all(said), read_log(tout))
    cli.stdin.write(GET)
    cli.stdin.flush()
    let_exit(cli, 15)
    let_exit(p, 15)
    rc = t.wait(timeout=20)
    ok("iis: tlstrace -p saw both end and exited 0",
       rc == 0 and read_log(tout).count("has ended") == 2, read_log(tout))
    objs = parse_json_log(read_log(log), "iis attached")
    names = ("hello_request", "alert", "connection_reset", "diagnosis", "summary")
    c = [o for o in objs if o["pid"] == cli.pid]
    s = [o for o in objs if o["pid"] == p.pid]
    ok("iis, client attached: hello_request in, refusal out, reset, diagnosis, summary",
       order(c, names) == ["in hello_request", "out alert", "in connection_reset",
                           "in diagnosis", "out summary"], order(c, names))
    hr = events(c, "hello_request")
    al = events(c, "alert")
    ok("iis, client attached: both inferred, the refusal a warning no_renegotiation",
       hr and hr[0].get("inferred") is True and al and al[0].get("inferred") is True
       and al[0]["alert"] == "no_renegotiation" and al[0]["alert_level"] == "warning", hr + al)
    ok("iis, client attached: the IIS diagnosis",
       [d["code"] for d in events(c, "diagnosis")] == ["renegotiation_refused_then_reset"],
       events(c, "diagnosis"))
    sm = events(c, "summary")
    ok("iis, client attached: summary attached, renegotiation refused, keys missing",
       sm and sm[0].get("attached") is True and sm[0].get("renegotiation") == "refused"
       and sm[0].get("keys") == "missing", sm)
    ok("iis, server attached: hello_request out, refusal in, diagnosis, summary",
       subsequence(order(s, names), ["out hello_request", "in alert", "out diagnosis",
                                     "out summary"]), order(s, names))
    ok("iis, server attached: the IIS diagnosis",
       [d["code"] for d in events(s, "diagnosis")] == ["renegotiation_refused_then_reset"],
       events(s, "diagnosis"))


# ---- 4. transparency ----

def transparency(mode):
    """The transparency program's output: untraced, attached while it
    runs, or attached and detached before it runs."""
    p, out = spawn([TRANSPARENCY, "--wait"], stdin=subprocess.PIPE)
    t = None
    if mode != "untraced":
        t, tout, said = attach([p.pid], new_log(".jsonl"))
        if not said[0]:
            return None, read_log(tout)
        if mode == "detached":
            detach(t)
    p.stdin.write(b"x")
    p.stdin.close()
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        stop(p)
        rc = -9
    if t is not None:
        try:
            t.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop(t)
    return rc, read_log(out)


def test_transparency():
    ref = transparency("untraced")
    for mode in ("attached", "detached"):
        got = transparency(mode)
        diff = [l for l in difflib.unified_diff(ref[1].splitlines(), (got[1] or "").splitlines(),
                                                lineterm="")][:20]
        ok("transparency %s: the same lines and exit as untraced (%d lines)"
           % (mode, len(ref[1].splitlines())), got == ref, "\n".join(diff))


# ---- 4b. living with the process: interposers, fork, stops, stderr ----

COUNTER = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
static int n;
int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	n++;
	return real(fd, a, l);
}
__attribute__((destructor)) static void done(void)
{
	char b[64];
	int k = snprintf(b, sizeof(b), "interposer: connects=%d\\n", n);
	if (write(2, b, (size_t)k) < 0)
		n = -1;
}
'''

PY_TARGET = r'''
import os, socket, sys
port = int(sys.argv[1])
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "c":
        s = socket.create_connection(("127.0.0.1", port))
        s.close()
    elif cmd == "f":
        pid = os.fork()
        if pid == 0:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"\x16\x03\x01\x00\x05hello")
            s.close()
            fds = []
            for f in os.listdir("/proc/self/fd"):
                try:
                    fds.append(os.readlink("/proc/self/fd/" + f))
                except OSError:
                    pass  # the listing's own descriptor
            print("child fds", " ".join(sorted(f for f in fds if "pipe" in f or f.startswith("/"))),
                  flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    print("done", cmd, flush=True)
'''


def test_living():
    so = os.path.join(tmpdir(), "counter.so")
    with open(so + ".c", "w") as f:
        f.write(COUNTER)
    b = subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", so, so + ".c", "-ldl"],
                       capture_output=True, timeout=60)
    if b.returncode != 0:
        ok("an interposer to test with builds", False, b.stderr.decode()[-500:])
        return
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    port = ls.getsockname()[1]
    env = dict(os.environ, LD_PRELOAD=so)
    py, pout = spawn(["/usr/bin/python3", "-c", PY_TARGET, str(port)], env=env,
                     stdin=subprocess.PIPE)
    # the program's stderr: a file of the test's, which the process must
    # never get from tlstrace
    log = new_log(".jsonl")
    t, tout, said = attach([py.pid], log)
    ok("living: attached to a process with an interposer preloaded", said[0] is not None,
       read_log(tout))
    fds = [os.readlink("/proc/%d/fd/%s" % (py.pid, f)) for f in os.listdir("/proc/%d/fd" % py.pid)]
    ok("living: the process holds neither tlstrace's stderr file nor its terminal",
       tout not in fds and not any(f.startswith("/dev/pts") for f in fds), fds)

    def cmd(c, n):
        py.stdin.write(c.encode() + b"\n")
        py.stdin.flush()
        return wait_until(lambda: read_log(pout).count("done %s" % c) >= n, 10)

    for i in range(3):
        cmd("c", i + 1)
    cmd("f", 1)
    child = re.search(r"child fds (.*)", read_log(pout))
    stdin_pipe = os.readlink("/proc/%d/fd/0" % py.pid)
    ok("living: a child forked after the attach keeps no descriptor of tlstrace's",
       child is not None and log not in child.group(1)
       and [f for f in child.group(1).split() if f.startswith("pipe")] == [stdin_pipe],
       read_log(pout))
    time.sleep(0.3)
    objs = json_lines(read_log(log))
    ok("living: the forked child is not traced (tlstrace -p follows the processes given)",
       not [o for o in objs if o["pid"] != py.pid], [o for o in objs if o["pid"] != py.pid][:3])
    os.kill(py.pid, signal.SIGSTOP)
    wait_until(lambda: proc_state(py.pid) == "T", 10)
    os.kill(t.pid, signal.SIGINT)
    stopped_said = wait_for(tout, r"%d is stopped: detaching once it is continued" % py.pid,
                            timeout=10)
    ok("living: a stopped process is detached once continued, and says so",
       stopped_said is not None and t.poll() is None, read_log(tout))
    os.kill(py.pid, signal.SIGCONT)
    try:
        rc = t.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stop(t)
        rc = -9
    ok("living: detached after SIGCONT, exit 0",
       rc == 0 and "detached from %d" % py.pid in read_log(tout), (rc, read_log(tout)))
    for i in range(2):
        cmd("c", 4 + i)
    py.stdin.close()
    let_exit(py, 10)
    # the same commands, never attached: the interposer's count is the same
    ref, rout = spawn(["/usr/bin/python3", "-c", PY_TARGET, str(port)], env=env,
                      stdin=subprocess.PIPE)
    ref.stdin.write(b"c\nc\nc\nf\nc\nc\n")
    ref.stdin.close()
    let_exit(ref, 10)
    ls.close()
    want = re.findall(r"interposer: connects=\d+", read_log(rout))
    got = re.findall(r"interposer: connects=\d+", read_log(pout))
    ok("living: the preloaded interposer saw every connect, attached or not (%s)"
       % (want[-1:] or "?"), want and got == want, (got, want))

    # LD_PRELOAD with another interposer first: tlstrace still traces
    srv, sport, sout = s_server(mtls_server_args(version="-tls1_3"))
    plog = new_log(".jsonl")
    env = dict(os.environ, LD_PRELOAD="%s %s" % (so, LIB), TLSTRACE_LOG=plog,
               TLSTRACE_FORMAT="json")
    r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % sport, "-tls1_3",
             "-CAfile", cert("root.pem"), "-servername", "localhost", "-cert", cert("client.pem"),
             "-key", cert("client.key"), "-ign_eof"], input=GET, env=env, timeout=20)
    crs = events(parse_json_log(read_log(plog), "preloaded after another interposer"),
                 "certificate_request")
    ok("preloaded after another interposer: traced, the CertificateRequest decrypted",
       len(crs) == 1 and crs[0].get("decrypted") is True, crs)
    stop(srv)


# ---- 5. refusals ----

def refused(pid, why_rx, user=None):
    cmd = [BIN, "-p", str(pid), "-f", "json"]
    if user:
        cmd = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups"] + cmd
    r = run(cmd, timeout=20)
    err = r.stderr.decode()
    return r.returncode == 125 and re.search(why_rx, err) is not None, err


def test_refusals():
    sl = track(subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                start_new_session=True))
    t, tout, said = attach([sl.pid])
    good, err = refused(sl.pid, r"cannot attach to %d: a tlstrace -p is attached to it already"
                        % sl.pid)
    ok("refused: a second attach", good, err)
    r = run([BIN, "--detach", str(sl.pid)], timeout=20)
    ok("--detach from another tlstrace: detached",
       r.returncode == 0 and b"detached from %d" % sl.pid in r.stderr, r.stderr)
    try:
        rc = t.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    ok("the attached tlstrace saw it and exited 0",
       rc == 0 and "was detached by another tlstrace" in read_log(tout), read_log(tout))
    r = run([BIN, "--detach", str(sl.pid)], timeout=20)
    ok("--detach of a process not attached: refused",
       r.returncode == 125 and b"tlstrace is not attached to it" in r.stderr, r.stderr)
    stop(sl)

    pre, pout = spawn(launcher_cmd({"log": new_log()}) + ["sleep", "60"])
    pid = None
    for _ in range(100):
        kids = [k for k in children(pre.pid)]
        if kids:
            pid = kids[0]
            break
        time.sleep(0.05)
    time.sleep(0.2)
    good, err = refused(pid, r"preloaded when it started")
    ok("refused: a process started under tlstrace", good, err)
    stop(pre)

    static = os.path.join(tmpdir(), "inject_host_static")
    b = subprocess.run(["gcc", "-static", "-O2", "-D_GNU_SOURCE", "-o", static, HOST_SRC],
                       capture_output=True, timeout=120)
    if b.returncode == 0:
        st = track(subprocess.Popen([static, "read"], start_new_session=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL))
        time.sleep(0.2)
        good, err = refused(st.pid, r"cannot attach to %d: %d is statically linked"
                            % (st.pid, st.pid))
        ok("refused: a static binary", good, err)
        stop(st)
    else:
        skip("refused: a static binary", "gcc -static: %s" % b.stderr[-200:])

    # a Go program with cgo (dynamically linked, so not refused as static)
    if shutil.which("go"):
        d = os.path.join(tmpdir(), "gosrc")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "go.mod"), "w") as f:
            f.write("module attachtest\n\ngo 1.19\n")
        with open(os.path.join(d, "main.go"), "w") as f:
            f.write('package main\n\nimport (\n\t"net"\n\t"os"\n)\n\n'
                    'func main() {\n\t_, _ = net.LookupPort("tcp", "https")\n'
                    '\tb := make([]byte, 1)\n\tos.Stdin.Read(b)\n}\n')
        gobin = os.path.join(tmpdir(), "goprog")
        env = {k: v for k, v in os.environ.items() if k not in ("GOFLAGS", "GOROOT")}
        env.update(CGO_ENABLED="1", GOPROXY="off", GOTOOLCHAIN="local",
                   GOCACHE=os.path.join(tmpdir(), "gocache"),
                   GOPATH=os.path.join(tmpdir(), "gopath"), HOME=tmpdir())
        b = subprocess.run(["go", "build", "-o", gobin, "."], cwd=d, env=env,
                           capture_output=True, timeout=600)
        if b.returncode == 0:
            g = track(subprocess.Popen([gobin], stdin=subprocess.PIPE, start_new_session=True))
            time.sleep(0.3)
            good, err = refused(g.pid, r"cannot attach to %d: %d is a Go program" % (g.pid, g.pid))
            ok("refused: a Go program (cgo, dynamically linked)", good, err)
            stop(g)
        else:
            ok("refused: a Go program (cgo, dynamically linked)", False,
               b.stderr.decode()[-500:])
    else:
        skip("refused: a Go program (cgo, dynamically linked)", missing("go"))

    # a program on another C library (musl)
    if shutil.which("musl-gcc"):
        mus = os.path.join(tmpdir(), "musl_reader")
        with open(mus + ".c", "w") as f:
            f.write("#include <unistd.h>\nint main(void)\n{\n\tchar b;\n"
                    "\treturn (int)read(0, &b, 1) < 0;\n}\n")
        b = subprocess.run(["musl-gcc", "-O2", "-o", mus, mus + ".c"],
                           capture_output=True, timeout=120)
        if b.returncode == 0:
            m = track(subprocess.Popen([mus], start_new_session=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL))
            time.sleep(0.2)
            good, err = refused(m.pid, r"cannot attach to %d: %d is statically linked, or not "
                                r"on glibc" % (m.pid, m.pid))
            ok("refused: a program on musl, not glibc", good, err)
            stop(m)
        else:
            ok("refused: a program on musl, not glibc", False, b.stderr.decode()[-500:])
    else:
        skip("refused: a program on musl, not glibc", missing("musl-gcc"))

    if os.geteuid() == 0 and shutil.which("setpriv"):
        sl = track(subprocess.Popen(["sleep", "60"], start_new_session=True))
        good, err = refused(sl.pid, r"cannot attach to %d: .*uid 0" % sl.pid, user="65534")
        ok("refused: a process of another user", good, err)
        stop(sl)
    else:
        skip("refused: a process of another user", "not root, or no setpriv")

    sl = track(subprocess.Popen(["sleep", "60"], start_new_session=True))
    stop(sl)
    good, err = refused(sl.pid, r"cannot attach to %d: " % sl.pid)
    ok("refused: a process that does not exist", good, err)

    # a process whose main thread exited (its leader a zombie) still runs:
    # followed, then detached
    lh, lout = spawn([os.path.join(BUILD, "tools", "inject_host"), "leaderless"],
                     stdin=subprocess.PIPE)
    wait_for(lout, r"ready \d+\n", proc=lh)
    t, tout, said = attach([lh.pid])
    time.sleep(1.0)
    still = t.poll() is None and "has ended" not in read_log(tout)
    rc = detach(t)
    ok("a process whose main thread exited: hooked, followed while it runs, detached, exit 0",
       said[0] is not None and re.search(r": [1-9]\d* GOT entries hooked", said[0])
       and still and rc == 0
       and "detached from %d" % lh.pid in read_log(tout), (still, rc, read_log(tout)))
    stop(lh)

    cat = track(subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 start_new_session=True))
    t, tout, said = attach([cat.pid, sl.pid])
    rc = detach(t)
    ok("-p GOOD -p GONE: attached to one, detached, exit 125 for the other",
       said[0] is not None and rc == 125 and "detached from %d" % cat.pid in read_log(tout),
       (rc, read_log(tout)))
    stop(cat)


import difflib
import json

certs()
world_readable(tmpdir())  # nginx's workers run as www-data
test_s_server()
test_late_library()
if missing(NGINX, "ab"):
    skip("nginx attached under ab", missing(NGINX, "ab"))
else:
    test_nginx()
test_iis()
test_transparency()
test_living()
test_refusals()
finish()
