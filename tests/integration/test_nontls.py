"""Non-TLS traffic under the shim: plain HTTP over TCP, a pipe, a regular
file (even one whose bytes look like a TLS record) and a Unix socket give
no TLS events, and the program's stdout is byte-identical."""
import os

from tlslib import *

d = tmpdir()
tlsish = os.path.join(d, "tlsish.bin")
with open(tlsish, "wb") as f:
    # a TLS ClientHello record header, then filler
    f.write(bytes([22, 3, 1, 0, 200, 1, 0, 0, 196]) + bytes(range(256)) * 64)

www = os.path.join(d, "www")
os.mkdir(www)
with open(os.path.join(www, "index.html"), "wb") as f:
    f.write(b"<html>plain http body</html>\n" * 100)


def same_output(name, cmd, env=None):
    plain = run(cmd, env=env)
    r, log = traced(cmd, env=env)
    ok("%s: stdout byte-identical" % name, plain.stdout == r.stdout and len(r.stdout) > 0,
       "%d vs %d bytes" % (len(plain.stdout), len(r.stdout)))
    ok("%s: exit status unchanged" % name, plain.returncode == r.returncode,
       (plain.returncode, r.returncode))
    ok("%s: no TLS events" % name, log == "", log[:500])


http, out = spawn(["python3", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", www])
m = wait_for(out, r"port (\d+)", proc=http)
try:
    port = int(m.group(1))
    if missing("curl"):
        skip("plain http (curl): output, exit status, no TLS events", missing("curl"))
    else:
        same_output("plain http (curl)", ["curl", "-sS", "--max-time", "10",
                                          "http://127.0.0.1:%d/index.html" % port])
    same_output("plain http (python)", ["python3", "-c",
        "import urllib.request,sys; sys.stdout.buffer.write(urllib.request.urlopen("
        "'http://127.0.0.1:%d/index.html', timeout=10).read())" % port])
finally:
    stop(http)

same_output("pipe", ["sh", "-c", "cat '%s' | cat" % tlsish])
same_output("regular file with TLS-looking bytes", ["cat", tlsish])
same_output("unix socketpair with TLS-looking bytes", ["python3", "-c",
    "import socket,sys\n"
    "a,b=socket.socketpair()\n"
    "data=open(sys.argv[1],'rb').read()[:4000]\n"
    "a.sendall(data); got=b''\n"
    "while len(got)<len(data): got+=b.recv(65536)\n"
    "sys.stdout.buffer.write(got)", tlsish])
finish()
