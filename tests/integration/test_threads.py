"""8 threads each making 20 TLS connections at once through one traced
process, and a forked child making its own: every connection's
certificate_request is logged once, and no line is broken or interleaved."""
from tlslib import *

THREADS, PER_THREAD, CHILD_CONNS = 8, 20, 5

PY = r"""
import os, socket, ssl, sys, threading
# Imported before the threads start: getaddrinfo imports the idna codec
# on first use, and a fork while a thread holds that module's import lock
# leaves the child waiting for it forever (a CPython hazard).
import encodings.idna
port, root, ccert, ckey = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
threads, per, child_conns = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(root)
ctx.load_cert_chain(ccert, ckey)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
errors = []

def one():
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while t.recv(4096):
                pass

def worker():
    for _ in range(per):
        try:
            one()
        except Exception as e:
            errors.append(repr(e))

ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
# A TLS 1.2 ClientHello built by hand, so that the forked child never
# touches libcrypto: OpenSSL's own locks may be held by the parent's
# threads at fork time, and a child using them could hang.
def raw_hello():
    def ext(t, body):
        return t.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body
    groups = b"\x00\x04\x00\x1d\x00\x17"
    sigs = b"\x00\x06\x04\x03\x08\x04\x04\x01"
    exts = (ext(10, groups) + ext(11, b"\x01\x00") + ext(13, sigs)
            + ext(0xff01, b"\x00"))
    suites = b"\xc0\x2b\xc0\x2c"
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + len(suites).to_bytes(2, "big")
            + suites + b"\x01\x00" + len(exts).to_bytes(2, "big") + exts)
    msg = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(msg).to_bytes(2, "big") + msg

def raw_one():
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw_hello())
        got = b""
        while b"\x0e\x00\x00\x00" not in got:   # ServerHelloDone
            d = s.recv(65536)
            if not d:
                break
            got += d
        return b"\x0e\x00\x00\x00" in got

pid = os.fork()
if pid == 0:
    # The child holds copies of the sockets the parent's threads were
    # using: closed here, or the server would wait on them forever.
    # (os.closerange uses close_range(2), which bypasses the close hook:
    # the shim's log descriptor is closed too, and must be reopened.)
    os.closerange(3, 65536)
    ok = 0
    for _ in range(child_conns):
        try:
            ok += raw_one()
        except Exception as e:
            print("child:", repr(e), flush=True)
    os._exit(0 if ok == child_conns else 1)
for t in ts:
    t.join()
_, status = os.waitpid(pid, 0)
print("errors", len(errors), errors[:3], "child", status, "parent", os.getpid(), "childpid", pid)
sys.exit(0 if not errors and status == 0 else 1)
"""

srv, port, _ = s_server(mtls_server_args())
try:
    r, log = traced(["python3", "-c", PY, str(port), cert("root.pem"), cert("client.pem"),
                     cert("client.key"), str(THREADS), str(PER_THREAD), str(CHILD_CONNS)],
                    timeout=180)
finally:
    stop(srv)
ok("threads: all connections completed", r.returncode == 0, r.stdout + r.stderr[-1500:])
objs = parse_json_log(log, "threads")
lines = log.splitlines()
ok("threads: no line broken or interleaved", len(lines) == len(objs) and log.endswith("\n"),
   "%d lines, %d parsed" % (len(lines), len(objs)))
words = r.stdout.decode().split()
parent = int(words[words.index("parent") + 1]) if "parent" in words else -1
child = int(words[words.index("childpid") + 1]) if "childpid" in words else -2
crs = events(objs, "certificate_request")
per_conn = {}
for o in crs:
    per_conn.setdefault((o["pid"], o["conn"]), []).append(o)
ok("threads: each connection's certificate_request logged once",
   all(len(v) == 1 for v in per_conn.values()), [k for k, v in per_conn.items() if len(v) != 1])
ok("threads: %d in the parent" % (THREADS * PER_THREAD),
   sum(1 for o in crs if o["pid"] == parent) == THREADS * PER_THREAD,
   "%d" % sum(1 for o in crs if o["pid"] == parent))
ok("threads: %d in the forked child" % CHILD_CONNS,
   sum(1 for o in crs if o["pid"] == child) == CHILD_CONNS,
   "%d" % sum(1 for o in crs if o["pid"] == child))
ok("threads: every certificate_request has both CA names",
   all(o["ca_names"] == [K_DOT, ROOTS] for o in crs))
tids = {o["tid"] for o in crs if o["pid"] == parent}
ok("threads: events come from %d threads" % THREADS, len(tids) == THREADS, tids)
ok("threads: no decode errors", not events(objs, "decode_error"), events(objs, "decode_error")[:3])
finish()
