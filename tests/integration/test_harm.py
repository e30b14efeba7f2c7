"""Do no harm (issue 13): whatever the program does with its descriptors,
its stderr or its SSL_CTX, tracing changes nothing it sees, and the trace
stays right.

a. a FIFO with no reader as TLSTRACE_LOG: no hang, one stderr line;
b. stderr a pipe whose reader went away: tlstrace's own writes never kill
   the program with SIGPIPE; the program's own SIGPIPE still does;
c. pre-existing log and key-export files that are not ours alone (0644,
   0666, another user's) are refused, untouched; a fresh one is made 0600,
   our own 0600 one appended to;
d. tlstrace's stderr messages go to the fd 2 of load time, escaped;
e. a connection moved to another descriptor (dup2/dup3/fcntl/dup, then
   the old one closed) mid-transfer stays one connection;
f. a socket closed behind tlstrace's back (close_range, raw syscalls),
   its number reused by a file: the file's bytes are not decoded;
g. TLS bytes moved with splice/sendfile: one io_bypass, no garbage;
h. 1000 SSL_CTX with the program's own key-log callback: none lost.

Peers: openssl s_client and curl ignore SIGPIPE themselves (SigIgn has bit
13 set; python3 too), so b uses a python3 client that restores SIG_DFL.
"""
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time

from tlslib import *

D = tmpdir()
MANYCTX = os.path.join(BUILD, "tools", "manyctx")
DUPCLIENT = os.path.join(BUILD, "tools", "dupclient")
# The interpreter running this test, not a wrapper script (pyenv's shim
# would exec three processes, each loading the library and each saying
# its one line on stderr).
PY = sys.executable


def preload_env(**kv):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TLSTRACE_") or k == "SSLKEYLOGFILE":
            del env[k]
    env["LD_PRELOAD"] = LIB
    env.update(kv)
    return env


def plain_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TLSTRACE_") or k == "SSLKEYLOGFILE" or k == "LD_PRELOAD":
            del env[k]
    return env


def err_lines(r):
    """stderr as physical lines (split on \\n only: an ESC or other
    control byte does not end a line)."""
    return [l for l in r.stderr.split(b"\n") if l != b""]


def readline_bounded(f, timeout):
    """Reads one line (up to \\n) from a pipe, byte by byte so that
    nothing past it is consumed; b"" if nothing came in time."""
    fd = f.fileno()
    got = b""
    deadline = time.time() + timeout
    while not got.endswith(b"\n"):
        left = deadline - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        c = os.read(fd, 1)
        if not c:
            break
        got += c
    return got


def wait_bounded(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        return "timeout"


def file_state(path):
    st = os.lstat(path)
    with open(path, "rb") as f:
        return {"content": f.read(), "mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def show_state(s):
    c = s["content"]
    return "%d bytes %r%s, mode %s, uid %s, gid %s" % (
        len(c), c[:160], "..." if len(c) > 160 else "", s["mode"], s["uid"], s["gid"])


def one(objs, name, **kw):
    return events(objs, name, **kw)


def brief(objs, keep=("event", "dir", "fd", "conn", "call", "bytes", "error", "detail")):
    return "\n".join(json.dumps({k: o[k] for k in keep if k in o}) for o in objs)


srv, PORT, _ = s_server(["-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www"])
ROOT_PEM = cert("root.pem")

# A plain HTTPS client that says nothing on stderr.
PYCLIENT = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(65536):
            pass
print("done")
"""
CLIENT = [PY, "-c", PYCLIENT, str(PORT), ROOT_PEM]

# ---------------------------------------------------------------- a. FIFO
fifo = os.path.join(D, "log.fifo")
os.mkfifo(fifo, 0o600)
os.chmod(fifo, 0o600)
SHPROG = ["sh", "-c", "printf 'hello\\n'; exit 3"]
for prog, pname in ((SHPROG, "sh"), (CLIENT, "tls client")):
    base = run(prog, env=plain_env(), timeout=20)
    for how, cmd, env in (("LD_PRELOAD", prog, preload_env(TLSTRACE_LOG=fifo)),
                          ("launcher", [BIN, "-o", fifo, "--"] + prog, plain_env())):
        name = "fifo without reader, %s, %s" % (pname, how)
        t0 = time.time()
        r = run(cmd, env=env, timeout=10)
        el = time.time() - t0
        ok("%s: finishes within 5 s" % name, r.returncode != -9 and el < 5,
           "took %.1f s (killed at 10 s: %s)" % (el, r.returncode == -9))
        ok("%s: stdout as untraced" % name, r.stdout == base.stdout, (r.stdout, base.stdout))
        ok("%s: exit status as untraced (%d)" % (name, base.returncode),
           r.returncode == base.returncode, r.returncode)
        lines = err_lines(r)
        ok("%s: stderr is exactly one line starting 'tlstrace: TLSTRACE_LOG'" % name,
           len(lines) == 1 and lines[0].startswith(b"tlstrace: TLSTRACE_LOG"),
           "stderr: %r" % r.stderr)
        ok("%s: still a FIFO, mode 0600" % name,
           oct(os.lstat(fifo).st_mode) == oct(0o10600), oct(os.lstat(fifo).st_mode))

# positive control: a FIFO with a reader gets the trace
rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
r = run(CLIENT, env=preload_env(TLSTRACE_LOG=fifo, TLSTRACE_FORMAT="json"), timeout=20)
got = b""
while True:
    try:
        c = os.read(rfd, 65536)
    except BlockingIOError:
        break
    if not c:
        break
    got += c
os.close(rfd)
ok("fifo with a reader: the client ran as usual, nothing on stderr",
   r.returncode == 0 and r.stdout == b"done\n" and r.stderr == b"", (r.returncode, r.stdout, r.stderr))
objs = parse_json_log(got.decode("utf-8", "replace"), "fifo with a reader")
ok("fifo with a reader: server_hello and one summary in the FIFO",
   len(one(objs, "server_hello")) == 1 and len(one(objs, "summary")) == 1, got[-600:])

# ---------------------------------------------------- b. broken stderr pipe
PYPIPE = r"""
import signal, socket, ssl, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # as a C program has it
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = ctx.wrap_socket(s, server_hostname="localhost")
print("handshaken", flush=True)
sys.stdin.readline()
t.sendall(b"GET / HTTP/1.0\r\n\r\n")
while t.recv(65536):
    pass
t.close()
print("done", flush=True)
"""


def broken_stderr(cmd, env):
    """The client handshakes (tlstrace writes its first lines to stderr),
    the reader of its stderr pipe reads one line and closes, then the
    client finishes (tlstrace writes more lines: EPIPE)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, start_new_session=True)
    track(p)
    first = readline_bounded(p.stdout, 15)
    line = readline_bounded(p.stderr, 1.5)
    p.stderr.close()
    try:
        p.stdin.write(b"go\n")
        p.stdin.close()
    except BrokenPipeError:
        pass
    rc = wait_bounded(p, 15)
    rest = p.stdout.read() if rc != "timeout" else b""
    p.stdout.close()
    return rc, first + rest, line


pcmd = [PY, "-c", PYPIPE, str(PORT), ROOT_PEM]
rc0, out0, line0 = broken_stderr(pcmd, plain_env())
ok("broken stderr: untraced run exits 0 and finishes", rc0 == 0 and out0 == b"handshaken\ndone\n",
   (rc0, out0, line0))
for how, cmd, env in (("LD_PRELOAD", pcmd, preload_env(TLSTRACE_FORMAT="json")),
                      ("launcher", [BIN, "-f", "json", "--"] + pcmd, plain_env())):
    rc, out, line = broken_stderr(cmd, env)
    ok("broken stderr, %s: the reader got a tlstrace line (setup)" % how,
       line.startswith(b'{"ts"'), line)
    ok("broken stderr, %s: exit status as untraced (%r), not SIGPIPE" % (how, rc0),
       rc == rc0, "exit status %r (-13 = killed by SIGPIPE)" % (rc,))
    ok("broken stderr, %s: stdout as untraced" % how, out == out0, out)


def yes_run(cmd, env):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, start_new_session=True)
    track(p)
    line = readline_bounded(p.stdout, 5)
    p.stdout.close()
    rc = wait_bounded(p, 10)
    err = p.stderr.read() if rc != "timeout" else b""
    p.stderr.close()
    return rc, line, err


rc0, line0, err0 = yes_run(["yes"], plain_env())
ok("yes | one line: untraced dies of SIGPIPE", rc0 == -signal.SIGPIPE and line0 == b"y\n",
   (rc0, line0, err0))
for how, cmd, env in (("LD_PRELOAD", ["yes"], preload_env()),
                      ("LD_PRELOAD, log to a file", ["yes"],
                       preload_env(TLSTRACE_LOG=new_log(), TLSTRACE_FORMAT="json")),
                      ("launcher", [BIN, "--", "yes"], plain_env())):
    rc, line, err = yes_run(cmd, env)
    ok("yes | one line, %s: dies of SIGPIPE as untraced (%r)" % (how, rc0),
       rc == rc0 and line == line0 and err == err0, (rc, line, err))

# ------------------------------------------------ c. pre-existing files
PREV = b"previous content, not tlstrace's\n"


def make_file(name, mode, uid):
    path = os.path.join(D, name)
    with open(path, "wb") as f:
        f.write(PREV)
    os.chmod(path, mode)
    os.chown(path, uid, uid)
    return path


CASES = (("0644", 0o644, 0), ("0666", 0o666, 0), ("owned by uid 65534", 0o600, 65534))
base = run(CLIENT, env=plain_env())
ok("files: untraced client prints done, exit 0", base.returncode == 0 and base.stdout == b"done\n",
   (base.returncode, base.stdout, base.stderr))


def refused(name, r, path, before, var, tail):
    lines = err_lines(r)
    want = ("tlstrace: %s: refusing '%s': " % (var, path)).encode()
    ok("%s: exactly one stderr line '%s' ... '%s'" % (name, want.decode(), tail),
       len(lines) == 1 and lines[0].startswith(want) and lines[0].endswith(tail.encode()),
       "stderr: %r" % r.stderr)
    after = file_state(path)
    ok("%s: content, mode and owner unchanged" % name, after == before,
       "before: %s\nafter:  %s" % (show_state(before), show_state(after)))
    ok("%s: exit status and stdout unchanged" % name,
       r.returncode == base.returncode and r.stdout == base.stdout, (r.returncode, r.stdout))


for tag, mode, uid in CASES:
    # the log
    for how in ("LD_PRELOAD", "launcher"):
        path = make_file("log-%s-%s" % (how, tag.replace(" ", "_")), mode, uid)
        before = file_state(path)
        if how == "LD_PRELOAD":
            r = run(CLIENT, env=preload_env(TLSTRACE_LOG=path, TLSTRACE_FORMAT="json"))
        else:
            r = run([BIN, "-o", path, "-f", "json", "--"] + CLIENT, env=plain_env())
        refused("existing log %s, %s" % (tag, how), r, path, before, "TLSTRACE_LOG",
                "; tracing disabled")
    # the key export
    for how in ("TLSTRACE_KEYLOG_OUT", "-w"):
        path = make_file("keys-%s-%s" % (how, tag.replace(" ", "_")), mode, uid)
        before = file_state(path)
        log = new_log()
        if how == "-w":
            r = run([BIN, "-o", log, "-f", "json", "-w", path, "--"] + CLIENT, env=plain_env())
        else:
            r = run(CLIENT, env=preload_env(TLSTRACE_LOG=log, TLSTRACE_FORMAT="json",
                                            TLSTRACE_KEYLOG_OUT=path))
        name = "existing key export %s, %s" % (tag, how)
        refused(name, r, path, before, "TLSTRACE_KEYLOG_OUT", "; secrets are not exported")
        objs = [json.loads(l) for l in read_log(log).splitlines() if l.startswith("{")]
        sm = one(objs, "summary")
        ok("%s: the connection was traced with its secrets (keys used)" % name,
           len(sm) == 1 and sm[0].get("keys") == "used", sm)

# positive controls: a fresh path, and our own 0600 file
for how in ("log", "keys"):
    fresh = os.path.join(D, "fresh-" + how)
    own = make_file("own-" + how, 0o600, 0)
    for path, what in ((fresh, "fresh"), (own, "own 0600")):
        if how == "log":
            env = preload_env(TLSTRACE_LOG=path, TLSTRACE_FORMAT="json")
        else:
            env = preload_env(TLSTRACE_LOG=new_log(), TLSTRACE_FORMAT="json",
                              TLSTRACE_KEYLOG_OUT=path)
        r = run(CLIENT, env=env)
        name = "%s %s" % (what, how)
        ok("%s: client as untraced, nothing on stderr" % name,
           r.returncode == 0 and r.stdout == b"done\n" and r.stderr == b"",
           (r.returncode, r.stdout, r.stderr))
        try:
            st = file_state(path)
        except FileNotFoundError:
            st = {"content": b"", "mode": "missing", "uid": None, "gid": None}
        body = st["content"]
        if what == "own 0600":
            ok("%s: appended to (previous content first)" % name, body.startswith(PREV), body[:200])
            body = body[len(PREV):]
        if how == "log":
            good = b'"event":"server_hello"' in body and b'"event":"summary"' in body
        else:
            good = b"CLIENT_HANDSHAKE_TRAFFIC_SECRET " in body and b"SERVER_TRAFFIC_SECRET_0 " in body
        ok("%s: written (%s)" % (name, "server_hello and summary" if how == "log" else "secrets"),
           good, body[:300])
        ok("%s: mode 0600, owned by us" % name,
           st["mode"] == oct(0o100600) and st["uid"] == os.geteuid(), (st["mode"], st["uid"]))

# ------------------------------------------------------- d. late message
# The plain client, after putting its own data file on fd 2.
PYLATE = r"""
import os, sys
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(fd, 2)
os.close(fd)
os.write(2, b"data\n")
""" + PYCLIENT
data = os.path.join(D, "late.data")
missing = os.path.join(D, "no-such-dir", "keys")
log = new_log()
r = run([PY, "-c", PYLATE, str(PORT), ROOT_PEM, data],
        env=preload_env(TLSTRACE_LOG=log, TLSTRACE_FORMAT="json", TLSTRACE_KEYLOG_OUT=missing))
ok("late message: the program ran as usual", r.returncode == 0 and r.stdout == b"done\n",
   (r.returncode, r.stdout))
with open(data, "rb") as f:
    got = f.read()
ok("late message: the program's data file holds exactly its data", got == b"data\n",
   "data file: %r" % got)
lines = err_lines(r)
ok("late message: one line on the original stderr, 'tlstrace: TLSTRACE_KEYLOG_OUT' naming the path",
   len(lines) == 1 and lines[0].startswith(b"tlstrace: TLSTRACE_KEYLOG_OUT")
   and missing.encode() in lines[0], "captured stderr: %r" % r.stderr)
sm = one([json.loads(l) for l in read_log(log).splitlines() if l.startswith("{")], "summary")
ok("late message: the connection was traced with its secrets (the export was tried)",
   len(sm) == 1 and sm[0].get("keys") == "used", sm)


def escaped(p):
    return p.replace("\n", "\\x0a").replace("\x1b", "\\x1b").encode()


odd = os.path.join(D, "no\nsuch\x1b[31mdir")
for var, env in (("TLSTRACE_KEYLOG_OUT",
                  preload_env(TLSTRACE_LOG=new_log(), TLSTRACE_FORMAT="json",
                              TLSTRACE_KEYLOG_OUT=os.path.join(odd, "keys"))),
                 ("TLSTRACE_LOG", preload_env(TLSTRACE_LOG=os.path.join(odd, "log")))):
    r = run(CLIENT, env=env)
    path = os.path.join(odd, "keys" if var == "TLSTRACE_KEYLOG_OUT" else "log")
    lines = err_lines(r)
    name = "%s path with a newline and an ESC" % var
    ok("%s: the program ran as usual" % name, r.returncode == 0 and r.stdout == b"done\n",
       (r.returncode, r.stdout))
    ok("%s: one physical line on stderr, no raw control byte" % name,
       len(lines) == 1 and r.stderr.endswith(b"\n") and b"\x1b" not in r.stderr
       and lines[0].startswith(("tlstrace: %s" % var).encode()), repr(r.stderr))
    ok("%s: the path shown as %s" % (name, escaped(path).decode()),
       len(lines) == 1 and escaped(path) in lines[0], repr(r.stderr))

# ------------------------------------------- e. dup2, then close, mid-transfer
www = os.path.join(D, "www")
os.mkdir(www)
MIB = 1 << 20
with open(os.path.join(www, "file"), "wb") as f:
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n"
    f.write((line * (MIB // len(line) + 1))[:MIB])
cwd = os.getcwd()
os.chdir(www)   # s_server -WWW serves files from its working directory
try:
    wsrv, wport, _ = s_server(["-cert", cert("server.pem"), "-key", cert("server.key"), "-WWW"])
finally:
    os.chdir(cwd)

for mode in ("none", "dup2", "dup3", "fcntl", "dup"):
    name = "moved fd (%s)" % mode if mode != "none" else "fd not moved (control)"
    r, text = traced([DUPCLIENT, str(wport), "file", mode], level="trace")
    out = r.stdout.decode()
    kv = dict(x.split("=", 1) for x in out.split() if "=" in x)
    ok("%s: the client read the whole file and the close_notify" % name,
       r.returncode == 0 and int(kv.get("total", 0)) > MIB, out + r.stderr.decode()[-500:])
    oldfd, newfd = int(kv.get("oldfd", -1)), int(kv.get("newfd", -1))
    objs = parse_json_log(text, name)
    sm = one(objs, "summary")
    ok("%s: exactly one summary, one conn" % name,
       len(sm) == 1 and len({o["conn"] for o in objs}) == 1,
       brief(sm) + "\nconns %s" % sorted({o["conn"] for o in objs}))
    ok("%s: summary bytes_in >= 1 MiB" % name, len(sm) == 1 and sm[0]["bytes_in"] >= MIB,
       [s.get("bytes_in") for s in sm])
    ok("%s: close_notify_received seen" % name,
       len(sm) == 1 and sm[0]["close_notify_received"] == "seen",
       [s.get("close_notify_received") for s in sm])
    ok("%s: no decode_error" % name, one(objs, "decode_error") == [], brief(one(objs, "decode_error")))
    recs = [o for o in objs if o["event"] == "record"]
    fds = [o["fd"] for o in recs]
    first_new = fds.index(newfd) if newfd in fds else len(fds)
    ok("%s: record events in log order: fd %d, then fd %d from the move on" % (name, oldfd, newfd),
       set(fds) == {oldfd, newfd} and all(f == oldfd for f in fds[:first_new])
       and all(f == newfd for f in fds[first_new:]),
       "record fds (fd, run length): %s" % [(f, sum(1 for _ in g)) for f, g in
                                           itertools.groupby(fds)])
    after = sum(o["record_length"] for o in recs[first_new:] if o["dir"] == "in")
    want_after = MIB - 65536 - 16384 if mode != "none" else MIB
    ok("%s: >= %d bytes of records read on fd %d" % (name, want_after, newfd),
       after >= want_after, after)
    last = [o for o in objs if o["event"] in ("connection_closed", "summary")
            or (o["event"] == "alert" and o.get("alert") == "close_notify")]
    ok("%s: close_notify alerts, connection_closed and summary carry fd %d" % (name, newfd),
       len(last) >= 3 and all(o["fd"] == newfd for o in last), brief(last))
stop(wsrv)

# ----------------------------- f. socket closed behind our back, fd reused
PYREUSE = r"""
import ctypes, os, socket, ssl, sys
port, ca, how, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(b"GET / HTTP/1.0\r\n\r\n")
while t.recv(65536):
    pass
fd = t.detach()
del t
libc = ctypes.CDLL(None, use_errno=True)
if how == "close":
    os.close(fd)
elif how == "closerange":
    os.closerange(fd, fd + 1)          # close_range(2) through glibc
elif how == "sys_close_range":
    assert libc.syscall(436, fd, fd, 0) == 0, ctypes.get_errno()
elif how == "sys_close":
    assert libc.syscall(3, fd) == 0, ctypes.get_errno()
new = -1
if how != "close":
    new = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(new, b"text that lands in a file, not in a TLS connection\n" * 4)
    os.write(new, b"GET / HTTP/1.0\r\n\r\n")
    os.close(new)
print("fd", fd, "new", new)
"""
TEXT = b"text that lands in a file, not in a TLS connection\n" * 4 + b"GET / HTTP/1.0\r\n\r\n"


def reuse(how):
    path = os.path.join(D, "reuse-" + how)
    r, text = traced([PY, "-c", PYREUSE, str(PORT), ROOT_PEM, how, path])
    objs = parse_json_log(text, "reuse " + how)
    return r, objs, path


r, objs, _ = reuse("close")
csm = one(objs, "summary")
ok("reuse control (plain close): one summary, no decode_error",
   r.returncode == 0 and len(csm) == 1 and one(objs, "decode_error") == [],
   (r.returncode, r.stderr[-300:], brief(csm)))
ctl_out = csm[0]["bytes_out"] if csm else None
ctl_in = csm[0]["bytes_in"] if csm else None
for how in ("closerange", "sys_close_range", "sys_close"):
    name = "socket closed by %s, fd reused by a file" % how
    r, objs, path = reuse(how)
    words = r.stdout.decode().split()
    ok("%s: the program ran, the file got the same number" % name,
       r.returncode == 0 and len(words) == 4 and words[1] == words[3],
       (r.returncode, r.stdout, r.stderr[-500:]))
    try:
        with open(path, "rb") as f:
            body = f.read()
    except FileNotFoundError:
        body = None
    ok("%s: the file holds the text" % name, body == TEXT, body)
    ok("%s: no decode_error" % name, one(objs, "decode_error") == [], brief(one(objs, "decode_error")))
    sm = one(objs, "summary")
    ok("%s: exactly one summary" % name, len(sm) == 1, brief(sm))
    ok("%s: bytes_out as without the file (%s)" % (name, ctl_out),
       len(sm) == 1 and sm[0]["bytes_out"] == ctl_out,
       "bytes_out %s (bytes_in %s; control %s/%s)" % ([s["bytes_out"] for s in sm],
                                                     [s["bytes_in"] for s in sm], ctl_out, ctl_in))

# --------------------------------------------------- g. splice and sendfile
PYBIO = r"""
import os, signal, socket, ssl, sys, tempfile
port, ca, out_how, in_how = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
signal.alarm(20)
ctx = ssl.create_default_context(cafile=ca)
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.settimeout(None)                     # blocking: splice() needs it
fd = s.fileno()
pr, pw = os.pipe()
tf = tempfile.TemporaryFile()
moved = []

def flush():
    data = outg.read()
    if not data:
        return
    if out_how == "splice":
        os.write(pw, data)
        n = 0
        while n < len(data):
            k = os.splice(pr, fd, len(data) - n)
            moved.append(k)
            n += k
    elif out_how == "sendfile":
        tf.seek(0)
        tf.truncate()
        tf.write(data)
        tf.flush()
        off = 0
        while off < len(data):
            k = os.sendfile(fd, tf.fileno(), off, len(data) - off)
            moved.append(k)
            off += k
    else:
        s.sendall(data)

def fill(after_handshake):
    if in_how == "splice" and after_handshake:
        k = os.splice(fd, pw, 65536)
        moved.append(k)
        data = os.read(pr, k) if k else b""
    else:
        data = s.recv(65536)
    if not data:
        inc.write_eof()
        return False
    inc.write(data)
    return True

while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        if not fill(False):
            raise SystemExit("eof in handshake")
flush()
obj.write(b"GET / HTTP/1.0\r\n\r\n")
flush()
resp = b""
while True:
    try:
        d = obj.read(65536)
        if not d:
            break
        resp += d
    except ssl.SSLWantReadError:
        flush()
        if not fill(True):
            break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
flush()
s.close()
print(resp.split(b"\r\n", 1)[0].decode(), "first", moved[0] if moved else 0, "calls", len(moved))
"""

for out_how, in_how in (("send", "recv"), ("splice", "recv"), ("sendfile", "recv"),
                        ("send", "splice")):
    name = "out by %s, in by %s" % (out_how, in_how)
    r, text = traced([PY, "-c", PYBIO, str(PORT), ROOT_PEM, out_how, in_how])
    words = r.stdout.decode().split()
    ok("%s: the client got its answer" % name,
       r.returncode == 0 and words[:3] == ["HTTP/1.0", "200", "ok"],
       (r.returncode, r.stdout, r.stderr[-600:]))
    first = int(words[words.index("first") + 1]) if "first" in words else None
    objs = parse_json_log(text, name)
    ok("%s: server_hello decoded (in)" % name, len(one(objs, "server_hello", dir="in")) == 1,
       brief(objs))
    ok("%s: no decode_error" % name, one(objs, "decode_error") == [], brief(one(objs, "decode_error")))
    byp = one(objs, "io_bypass")
    sm = one(objs, "summary")
    if out_how == "send" and in_how == "recv":
        ok("%s (control): no io_bypass, one summary without bypass fields" % name,
           byp == [] and len(sm) == 1 and "bypass_in" not in sm[0] and "bypass_out" not in sm[0],
           brief(byp + sm))
        continue
    call, d = (out_how, "out") if out_how != "send" else (in_how, "in")
    ok("%s: exactly one io_bypass, call %s, dir %s, level warn" % (name, call, d),
       len(byp) == 1 and byp[0].get("call") == call and byp[0]["dir"] == d
       and byp[0]["level"] == "warn" and isinstance(byp[0].get("message"), str),
       brief(byp, keep=("event", "level", "dir", "fd", "call", "bytes", "message")))
    if d == "out":
        ok("%s: io_bypass bytes = what the first %s moved (%s)" % (name, call, first),
           len(byp) == 1 and byp[0].get("bytes") == first, brief(byp))
    else:
        ok("%s: io_bypass bytes > 0" % name,
           len(byp) == 1 and isinstance(byp[0].get("bytes"), int) and byp[0]["bytes"] > 0,
           brief(byp))
    other = "bypass_in" if d == "out" else "bypass_out"
    ok("%s: summary bypass_%s = %s, no %s" % (name, d, call, other),
       len(sm) == 1 and sm[0].get("bypass_" + d) == call and other not in sm[0], sm)

# ------------------------------------------------------------ h. 1000 SSL_CTX
want = b"callbacks 1000/1000 getter 1000/1000 lines 5000 stray 0 handshakes 1000/1000\n"
mc = [MANYCTX, cert("server-chain.pem"), cert("server.key"), "1000"]
t0 = time.time()
r0 = run(mc, env=plain_env(), timeout=60)
el0 = time.time() - t0
ok("manyctx untraced: every callback ran, every getter right",
   r0.returncode == 0 and r0.stdout == want, (r0.returncode, r0.stdout, r0.stderr[-300:]))
ok("manyctx untraced: the setter is libssl's", r0.stderr == b"keylog setter in libssl.so.3\n",
   r0.stderr[-300:])
for how, cmd, env in (("LD_PRELOAD", mc, preload_env(TLSTRACE_LOG=new_log(), TLSTRACE_FORMAT="json")),
                      ("launcher", [BIN, "-o", new_log(), "-f", "json", "--"] + mc, plain_env())):
    t0 = time.time()
    r = run(cmd, env=env, timeout=60)
    el = time.time() - t0
    ok("manyctx traced (%s): output identical to untraced" % how,
       r.returncode == r0.returncode and r.stdout == r0.stdout,
       "traced:   %r rc %s\nuntraced: %r rc %s" % (r.stdout, r.returncode, r0.stdout, r0.returncode))
    ok("manyctx traced (%s): the setter is tlstrace's (setup)" % how,
       r.stderr == b"keylog setter in libtlstrace.so\n", r.stderr[-300:])
    ok("manyctx traced (%s): under 10 s" % how, el < 10, "%.1f s (untraced %.1f s)" % (el, el0))

stop(srv)
finish()
