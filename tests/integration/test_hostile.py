"""A hostile server answering a real client (openssl s_client, traced)
with bytes built to mislead a decoder: each gives one clear decode_error
line (or, for a length over the cap, the message's event marked
truncated), and the client behaves exactly as it does untraced."""
import os
import socket

from tlslib import *

CASES = [
    # name, bytes the server sends after reading the ClientHello, expected error
    # a length over the cap is passed over, not an error: the message's
    # event with its length, marked truncated, and no decode_error
    ("lying handshake length", bytes([22, 3, 3, 0, 8, 2, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
     ("server_hello", {"length": 16777215, "truncated": True})),
    ("plain text reply", b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a TLS record header"),
    ("oversized record", bytes([22, 3, 3, 0x48, 0x01]) + bytes(64), "not a TLS record header"),
    ("certificate with a lying inner length",
     bytes([22, 3, 3, 0, 11, 11, 0, 0, 7, 0xff, 0xff, 0xff, 0, 0, 1, 0x30]),
     "malformed handshake message"),
]


def serve(payload):
    """One-connection server in a thread: payload after the ClientHello;
    returns (port, thread)."""
    def talk(c):
        c.recv(4096)
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        try:
            c.recv(4096)
        except OSError:
            pass

    return serve_once(talk)


def client(port):
    return ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
            "-servername", "localhost"]


for name, payload, expect in CASES:
    port, t = serve(payload)
    plain = run(client(port), input=b"", timeout=20)
    t.join(20)
    port, t = serve(payload)
    r, log = traced(client(port), input=b"", timeout=20)
    t.join(20)
    ok("%s: client exit status unchanged (%d)" % (name, plain.returncode),
       r.returncode == plain.returncode, (plain.returncode, r.returncode, r.stderr[-300:]))
    objs = parse_json_log(log, name)
    errs = events(objs, "decode_error", dir="in")
    if isinstance(expect, tuple):
        ev, fields = expect
        got = events(objs, ev, dir="in")
        ok("%s: one %s with %s, no decode_error" % (name, ev, fields),
           len(got) == 1 and all(got[0].get(k) == v for k, v in fields.items())
           and not errs, got or log)
    else:
        ok("%s: one decode_error: %s" % (name, expect),
           len(errs) == 1 and errs[0].get("error", "").startswith(expect.split(":")[0])
           and (expect in errs[0].get("error", "") + " " + errs[0].get("detail", "")),
           errs or log)
    ok("%s: the client_hello before it was decoded" % name,
       len(events(objs, "client_hello", dir="out")) == 1)
finish()
