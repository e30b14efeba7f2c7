"""TLSTRACE_LOG=syslog: lines go to /dev/log as datagrams written by
tlstrace itself (not glibc's syslog()), one per event, with a priority
that follows the level.  Needs a /dev/log this test can own: on a machine
with a running syslog daemon it only checks that tracing works."""
import os
import re
import socket

from tlslib import *

PATH = "/dev/log"
own = not os.path.exists(PATH) and os.access("/dev", os.W_OK)
if not own:
    print("# /dev/log exists or /dev is read-only: datagram checks skipped")
    finish()

rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind(PATH)
rx.settimeout(2)
try:
    srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"])
    try:
        env = dict(os.environ, LD_PRELOAD=LIB, TLSTRACE_LOG="syslog")
        r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
                 "-cert", cert("client.pem"), "-key", cert("client.key"),
                 "-CAfile", cert("root.pem")], input=b"", env=env)
    finally:
        stop(srv)
    grams = []
    while True:
        try:
            grams.append(rx.recv(65536).decode())
        except socket.timeout:
            break
finally:
    rx.close()
    os.unlink(PATH)

ok("syslog: the client ran as usual", r.returncode == 0, r.stderr[-300:])
ok("syslog: nothing written to stderr", b"certificate_request" not in r.stderr)
crs = [g for g in grams if " certificate_request " in g]
ok("syslog: one certificate_request datagram", len(crs) == 1, grams)
if crs:
    ok("syslog: RFC 3164 header, user.info", re.match(
        r"^<14>[A-Z][a-z][a-z] [ \d]\d \d\d:\d\d:\d\d tlstrace\[\d+\]: \d{4}-", crs[0]) is not None,
       crs[0])
    ok("syslog: CA names in the line",
       'ca_names="CN=K-Dot Certificate Authority","CN=The Roots Authority"' in crs[0], crs[0])
    ok("syslog: no trailing newline", not crs[0].endswith("\n"))
finish()
