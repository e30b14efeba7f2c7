"""The lines one hooked call produces leave in one write, whole, and the
log descriptor's identity is checked once per write, not once per line.

A traced TLS 1.3 mTLS s_client runs under strace, which records every
write and fstat of the process: the client's second flight (Certificate,
CertificateVerify, Finished, written by one call) must be logged by one
write of three lines, in order; its end and summary by one write; and
the writes together must be the log file, byte for byte."""
import json
import os
import re

from tlslib import *

WRITE_RX = re.compile(r'^\d+\s+write\((\d+), "(.*)", (\d+)\) = (-?\d+)')
FSTAT_RX = re.compile(r'^\d+\s+(?:newfstatat|fstat)\((\d+), ')


def unescape(s):
    """strace's quoting of a string (\\n, \\", \\\\, octal) back to bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        n = s[i + 1]
        simple = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "\\": b"\\",
                  "v": b"\v", "f": b"\f"}
        if n in simple:
            out += simple[n]
            i += 2
        elif n == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8))
            i += 1 + len(m.group(0))
    return bytes(out)


if missing("strace"):
    finish()

STRACE = ["strace", "-f", "-qq", "-e", "signal=none", "-s", "1000000",
          "-e", "trace=write,fstat,newfstatat", "-o"]


def names(batch):
    return [(o["event"], o["dir"]) for o in map(json.loads, batch.splitlines())]


def check(side, trace, log):
    """The log writes of a traced run: whole lines, together the file,
    fewer than the lines and each checked once.  Returns the event
    names and directions of each write."""
    writes, fstats = [], []
    with open(trace, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = WRITE_RX.match(line)
            if m:
                writes.append((int(m.group(1)), unescape(m.group(2))))
                continue
            m = FSTAT_RX.match(line)
            if m:
                fstats.append(int(m.group(1)))
    log_fds = {fd for fd, data in writes if data.startswith(b'{"ts":')}
    ok("batch %s: one log descriptor wrote the lines" % side, len(log_fds) == 1, log_fds)
    log_fd = log_fds.pop() if log_fds else -1
    batches = [data for fd, data in writes if fd == log_fd]
    with open(log, "rb") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    ok("batch %s: the log writes together are the log file, byte for byte" % side,
       b"".join(batches) == text, "%d writes, %d bytes" % (len(batches), len(text)))
    ok("batch %s: every write holds whole lines" % side,
       all(b.endswith(b"\n") for b in batches),
       [b[-40:] for b in batches if not b.endswith(b"\n")])
    ok("batch %s: fewer writes than lines" % side, 0 < len(batches) < len(lines),
       "%d writes for %d lines" % (len(batches), len(lines)))
    checks = fstats.count(log_fd)
    ok("batch %s: the log descriptor is checked once per write, not once per line" % side,
       checks <= len(batches) + 1 and checks < len(lines),
       "%d checks, %d writes, %d lines" % (checks, len(batches), len(lines)))
    return [names(b) for b in batches]


# The client traced: its second flight is one write() of three messages.
srv, port, _ = s_server(mtls_server_args(version="-tls1_3"))
log, trace = new_log(), new_log(".strace")
try:
    r = run(STRACE + [trace] + launcher_cmd({"log": log})
            + ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
               "-cert", cert("client.pem"), "-key", cert("client.key"),
               "-CAfile", cert("root.pem"), "-quiet"],
            input=b"GET / HTTP/1.0\r\n\r\n", timeout=60)
finally:
    stop(srv)
ok("batch client: the traced client ran", r.returncode == 0, r.stderr[-800:])
named = check("client", trace, log)
ok("batch client: its second flight, one write call, is one log write of three lines",
   [("certificate", "out"), ("certificate_verify", "out"), ("finished", "out")] in named,
   named)

# The server traced: its first flight (ServerHello to Finished) is one
# write() of six messages, decrypted at once with the secrets OpenSSL
# handed over just before.
log, trace = new_log(), new_log(".strace")
srv, port, out = spawn_port(
    STRACE + [trace] + launcher_cmd({"log": log})
    + ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1"]
    + mtls_server_args(version="-tls1_3"),
    r"ACCEPT 127\.0\.0\.1:(\d+)", "s_server")
try:
    r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
             "-cert", cert("client.pem"), "-key", cert("client.key"),
             "-CAfile", cert("root.pem"), "-quiet"],
            input=b"GET / HTTP/1.0\r\n\r\n", timeout=30)
    let_exit(srv, 20)
finally:
    stop(srv)
ok("batch server: the client got its answer", r.returncode == 0 and b"HTTP/1.0 200" in r.stdout,
   r.stdout[-300:] + r.stderr[-500:])
named = check("server", trace, log)
ok("batch server: its first flight, one write call, is one log write of six lines",
   [("server_hello", "out"), ("encrypted_extensions", "out"),
    ("certificate_request", "out"), ("certificate", "out"),
    ("certificate_verify", "out"), ("finished", "out")] in named, named)
finish()
