"""A log that cannot keep up never slows the program: lines that do not
fit are dropped and counted, the next line written says how many, and
the summary carries the process's total.

The log goes to the program's stderr, a pipe shrunk to one page that the
test does not read while the program makes its first connection; the
test then widens and drains it and reads on while the program makes a
second one.
"""
import fcntl
import os
import sys
import threading
import time

from tlslib import *

F_SETPIPE_SZ = 1031

CLIENT = r"""
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
for i in range(2):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while t.recv(65536):
                pass
    print("conn", i, "done", time.monotonic(), flush=True)
    if i == 0:
        time.sleep(1.5)
"""

certs()
srv, port, _ = s_server(["-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www"])


def case(events=None):
    """One run; with events, TLSTRACE_EVENTS is set: the lines the filter
    leaves out are not drops, those it keeps are dropped and counted as
    ever."""
    tag = "" if events is None else " (TLSTRACE_EVENTS=%s)" % events
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TLSTRACE_"):
            del env[k]
    env.update(LD_PRELOAD=LIB, TLSTRACE_FORMAT="json", TLSTRACE_LEVEL="trace")
    if events is not None:
        env["TLSTRACE_EVENTS"] = events

    rd, wr = os.pipe()
    fcntl.fcntl(wr, F_SETPIPE_SZ, 4096)
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", CLIENT, str(port), cert("root.pem")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=wr,
                         env=env, start_new_session=True)
    track(p)
    os.close(wr)
    # bounded: a program stuck on its own stderr is stopped, and fails below
    watchdog = threading.Timer(30, stop, [p])
    watchdog.start()

    # not a byte read until the first connection is done
    first = p.stdout.readline()
    t_first = time.monotonic() - t0
    # from now on the pipe has room for everything the second connection says
    fcntl.fcntl(rd, F_SETPIPE_SZ, 256 * 1024)
    chunks = []

    def drain():
        while True:
            b = os.read(rd, 65536)
            if not b:
                return
            chunks.append(b)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    rest = p.stdout.read()
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    reader.join(timeout=10)
    watchdog.cancel()
    os.close(rd)

    ok("program finished on its own, exit 0" + tag, rc == 0, rc)
    ok("first connection not held up by the full log pipe (%.2f s)%s" % (t_first, tag),
       first.startswith(b"conn 0 done") and t_first < 10, first)
    ok("second connection done" + tag, rest.startswith(b"conn 1 done"), rest)

    text = b"".join(chunks).decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if l.strip()]
    objs = []
    bad = []
    for l in lines:
        why = check_json_line(l)
        if why:
            bad.append((why, l[:200]))
        else:
            objs.append(json.loads(l))
    ok("every line that reached the pipe is whole and valid" + tag, not bad, bad[:5])
    if events is not None:
        names = sorted(set(o["event"] for o in objs))
        ok("only the events asked for" + tag, names == sorted(events.split(",")), names)
    marked = [o for o in objs if "lines_dropped" in o]
    ok("a line after the drops says how many were dropped" + tag,
       len(marked) >= 1 and all(isinstance(o["lines_dropped"], int) and o["lines_dropped"] > 0
                                for o in marked), [(o["event"], o.get("lines_dropped")) for o in marked])
    sums = [o for o in objs if o["event"] == "summary"]
    last = [o for o in sums if o["conn"] == 2]
    ok("the second connection's summary was written" + tag, len(last) == 1,
       [(o["conn"], o["event"]) for o in objs][-10:])
    if last:
        total = last[0].get("log_lines_dropped")
        announced = sum(o["lines_dropped"] for o in marked)
        ok("its summary carries the process total (%s), the sum of what lines announced (%s)%s"
           % (total, announced, tag), isinstance(total, int) and total > 0 and total == announced,
           last[0])


case()
# handshake_bytes lines carry each message's hex: the first connection's
# alone overflow the page-sized pipe
case("handshake_bytes,summary")
stop(srv)
finish()
