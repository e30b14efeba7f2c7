"""Summaries at process exit: a connection still open at a normal exit
gets one; a process killed by a signal writes none for it."""
import os

from tlslib import *

PY = r"""
import os, signal, socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(b"GET / HTTP/1.0\r\n\r\n")
t.recv(100)
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
# exit(3) straight away: Python's own shutdown would close the socket
import ctypes
sys.stdout.flush()
ctypes.CDLL(None).exit(0)
"""

for how in ("exit", "kill"):
    srv, port, _ = s_server(["-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
                             "-cert_chain", cert("inter.pem"), "-www"])
    try:
        log = new_log()
        env = dict(os.environ, LD_PRELOAD=LIB, TLSTRACE_LOG=log, TLSTRACE_FORMAT="json")
        r = run(["python3", "-c", PY, str(port), cert("root.pem"), how], env=env)
    finally:
        stop(srv)
    objs = parse_json_log(read_log(log), how)
    sm = events(objs, "summary")
    if how == "exit":
        ok("normal exit: one summary, open at process exit",
           r.returncode == 0 and len(sm) == 1 and sm[0]["ended"] == "open at process exit", sm)
    else:
        ok("killed by SIGKILL: no summary", r.returncode == -9 and sm == [], (r.returncode, sm))
        ok("killed by SIGKILL: the handshake was logged", len(events(objs, "server_hello")) == 1)
finish()
