"""The log's own descriptor inside the host: the host closing it (a
close-all loop) or dup2()ing onto its number must neither break the host
nor lose the log, and the log never lands in the host's files."""
import os

from tlslib import *

PY = r"""
import os, socket, ssl, sys
log = sys.argv[3]
mine = [int(f) for f in os.listdir("/proc/self/fd")
        if os.path.realpath("/proc/self/fd/" + f) == os.path.realpath(log)]
assert len(mine) == 1, mine
fd = mine[0]
# a daemon's close-all loop: close() reports success as it would
os.close(fd)
# then the host dup2()s its own file onto that number
own = os.open(sys.argv[4], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(own, fd)
os.write(fd, b"host data\n")
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(4096):
            pass
print("done")
"""

d = tmpdir()
host_file = os.path.join(d, "host.out")
log = new_log()
srv, port, _ = s_server(["-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www"])
try:
    r = run([BIN, "-o", log, "-f", "json", "--", "python3", "-c", PY, str(port),
             cert("root.pem"), log, host_file])
finally:
    stop(srv)
ok("logfd: the host ran as usual", r.returncode == 0 and r.stdout == b"done\n",
   r.stdout + r.stderr[-800:])
with open(host_file, "rb") as f:
    host = f.read()
ok("logfd: the host's file holds only the host's data", host == b"host data\n", host[:300])
objs = parse_json_log(read_log(log), "logfd")
ok("logfd: the TLS connection was still logged",
   len(events(objs, "server_hello")) == 1 and len(events(objs, "summary")) == 1)
finish()
