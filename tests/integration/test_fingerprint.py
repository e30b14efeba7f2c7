"""TLS fingerprints of real clients: ja4 and ja3 on client_hello, ja3s on
server_hello (docs/log-format.md, section 6).

curl, openssl s_client, python3 ssl and gnutls-cli, each with pinned
options, connect to an openssl s_server through a small socket proxy
here that keeps the bytes each side sent.  For each client the traced
fingerprints must equal:
- the same fingerprints computed in this file, independently of the
  decoder, from the ClientHello and ServerHello bytes the proxy saw
  (every run);
- for ja4, the value FoxIO's reference implementation (python/ja4.py of
  github.com/FoxIO-LLC/ja4, run with tshark 4.0.17) computed for a
  capture of the same client on the test machine (REFERENCE below);
  for ja3 and ja3s, the values tshark's own JA3 dissector fields gave
  for those captures.
JA4 and JA3 have no random part: they change only with a client's build
or configuration, which the options below pin.  To record them again,
run this test as root with TLSTRACE_FP_CAPTURE=DIR: each client's
connection is also captured on lo to DIR/<client>.pcapng; then
`python3 ja4.py DIR/<client>.pcapng -J` prints its "JA4.1", and
`tshark -r DIR/<client>.pcapng -T fields -e tls.handshake.ja3
-e tls.handshake.ja3s` its JA3 and JA3S.
"""
import hashlib
import os
import socket
import subprocess
import threading
import time

from tlslib import *

# Recorded on Debian 12 (OpenSSL 3.0.19, curl 7.88.1, Python 3.11,
# GnuTLS 3.7.9): ja4 from FoxIO's python/ja4.py (JA4.1 of the stream),
# ja3 and ja3s from tshark 4.0.17 (tls.handshake.ja3, tls.handshake.ja3s),
# each over a capture of the client's connection.
REFERENCE = {
    "curl": {"ja4": "t13d3112h1_e8f1e7e78f70_b26ce05bbdd6",
             "ja3": "0149f47eabf9a20d0893e2a44e5a6323",
             "ja3s": "15af977ce25de452b96affa2addb1036"},
    "openssl s_client": {"ja4": "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4",
                         "ja3": "5a1edc7f170af1014fc65c994878e63c",
                         "ja3s": "15af977ce25de452b96affa2addb1036"},
    "python3": {"ja4": "t13d1812h2_85036bcba153_d41ae481755e",
                "ja3": "304734bb1c086c3453b387400cf83f11",
                "ja3s": "15af977ce25de452b96affa2addb1036"},
    "gnutls-cli": {"ja4": "t13i291200_723694b0fccc_2cc26d266019",
                   "ja3": "24fdb1f10384c4be81a72d6f020c6c73",
                   "ja3s": "15af977ce25de452b96affa2addb1036"},
}

# The builds those values were recorded with: what each client's hello
# depends on.  On another build the recorded values may no longer hold
# (a release may change the suites or extensions offered); the check
# against this file's own computation still runs.
RECORDED_WITH = {"openssl": "OpenSSL 3.0.19", "curl": "curl 7.88.1",
                 "python3": "Python 3.11", "gnutls-cli": "gnutls-cli 3.7.9"}


def build_of(tool):
    """The first line of the tool's version, as RECORDED_WITH spells it."""
    cmd = {"openssl": ["openssl", "version"], "curl": ["curl", "--version"],
           "python3": ["python3", "--version"],
           "gnutls-cli": ["gnutls-cli", "--version"]}[tool]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.splitlines()[0] if out else ""


def same_builds(tool):
    """Whether the builds that make this client's hello are those the
    reference values were recorded with: (bool, what differs)."""
    deps = {"curl": ["curl", "openssl"], "openssl": ["openssl"],
            "python3": ["python3", "openssl"], "gnutls-cli": ["gnutls-cli"]}[tool]
    for d in deps:
        b = build_of(d)
        if not b.startswith(RECORDED_WITH[d]):
            return False, "recorded with %s, this machine has %s" % (RECORDED_WITH[d], b)
    return True, ""


# ---- an independent reading of the hellos ----

def grease(v):
    """RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return v & 0x0f0f == 0x0a0a and v >> 8 == v & 0xff


def u16s(b):
    return [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b) - 1, 2)]


def first_message(stream, msg_type):
    """The first handshake message of a direction's bytes (records of
    type 22 joined), as (type, body)."""
    hs, p = bytearray(), 0
    while p + 5 <= len(stream):
        n = int.from_bytes(stream[p + 3:p + 5], "big")
        if stream[p] == 22:
            hs += stream[p + 5:p + 5 + n]
        p += 5 + n
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            break
    if len(hs) < 4 or hs[0] != msg_type:
        return None
    return bytes(hs[4:4 + int.from_bytes(hs[1:4], "big")])


def hello_fields(body, server):
    """legacy_version, cipher suites, and the extensions as (type, data)
    in order, of a ClientHello or ServerHello body."""
    p = 34
    p += 1 + body[p]  # session id
    if server:
        suites = [int.from_bytes(body[p:p + 2], "big")]
        p += 3  # and the compression method
    else:
        n = int.from_bytes(body[p:p + 2], "big")
        suites = u16s(body[p + 2:p + 2 + n])
        p += 2 + n
        p += 1 + body[p]  # compression methods
    exts = []
    if p < len(body):
        end = p + 2 + int.from_bytes(body[p:p + 2], "big")
        p += 2
        while p < end:
            t = int.from_bytes(body[p:p + 2], "big")
            n = int.from_bytes(body[p + 2:p + 4], "big")
            exts.append((t, body[p + 4:p + 4 + n]))
            p += 4 + n
    return int.from_bytes(body[0:2], "big"), suites, exts


def ja3(body):
    legacy, suites, exts = hello_fields(body, False)
    d = dict(exts)
    groups = u16s(d[10][2:]) if 10 in d else []
    formats = list(d[11][1:1 + d[11][0]]) if 11 in d else []
    text = ",".join([str(legacy),
                     "-".join(str(c) for c in suites if not grease(c)),
                     "-".join(str(t) for t, _ in exts if not grease(t)),
                     "-".join(str(g) for g in groups if not grease(g)),
                     "-".join(str(f) for f in formats)])
    return hashlib.md5(text.encode()).hexdigest()


def ja3s(body):
    legacy, suites, exts = hello_fields(body, True)
    text = "%d,%d,%s" % (legacy, suites[0],
                         "-".join(str(t) for t, _ in exts if not grease(t)))
    return hashlib.md5(text.encode()).hexdigest()


JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10",
                0x0300: "s3", 0x0002: "s2"}


def ja4(body):
    legacy, suites, exts = hello_fields(body, False)
    d = dict(exts)
    version = legacy
    if 43 in d:
        offered = [v for v in u16s(d[43][1:]) if not grease(v)]
        version = max(offered) if offered else legacy
    ciphers = sorted(c for c in suites if not grease(c))
    types = [t for t, _ in exts if not grease(t)]
    alpn = "00"
    if 16 in d:
        name = d[16][3:3 + d[16][2]]
        first, last = chr(name[0]), chr(name[-1])
        if all(c.isascii() and c.isalnum() for c in (first, last)):
            alpn = first + last
        else:
            alpn = name.hex()[0] + name.hex()[-1]
    a = "t%s%s%02d%02d%s" % (JA4_VERSIONS.get(version, "00"), "d" if 0 in d else "i",
                             min(len(ciphers), 99), min(len(types), 99), alpn)
    sigs = [s for s in u16s(d[13][2:]) if not grease(s)] if 13 in d else []
    listed = sorted(t for t in types if t not in (0, 16))
    c_text = ",".join("%04x" % t for t in listed)
    if sigs:
        c_text += "_" + ",".join("%04x" % s for s in sigs)

    def h12(text, nonempty):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if nonempty else "0" * 12

    return "%s_%s_%s" % (a, h12(",".join("%04x" % c for c in ciphers), ciphers),
                         h12(c_text, listed))


# ---- the exchanges ----

def proxy(dst_port):
    """A one-connection proxy to 127.0.0.1:dst_port; returns its port, the
    bytes each side sent ("c2s", "s2c", as far as 64 KiB), and its
    thread."""
    seen = {"c2s": bytearray(), "s2c": bytearray()}

    def pipe(a, b, key):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if len(seen[key]) < 65536:
                    seen[key] += d
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def talk(c):
        s = socket.create_connection(("127.0.0.1", dst_port), timeout=10)
        t = threading.Thread(target=pipe, args=(c, s, "c2s"), daemon=True)
        t.start()
        pipe(s, c, "s2c")
        t.join(10)
        s.close()

    port, t = serve_once(talk)
    return port, seen, t


PY = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["h2", "http/1.1"])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(4096):
            pass
"""

# Each client, pinned: its command for a proxy port, and what its
# ClientHello holds in the trace (SNI, ALPN).
CLIENTS = [
    ("curl", "curl", lambda p: [
        "curl", "-sS", "--max-time", "10", "--http1.1", "--cacert", cert("root.pem"),
        "--resolve", "localhost:%d:127.0.0.1" % p, "https://localhost:%d/" % p],
     "localhost", ["http/1.1"]),
    ("openssl s_client", "openssl", lambda p: [
        "openssl", "s_client", "-connect", "127.0.0.1:%d" % p, "-servername", "localhost",
        "-CAfile", cert("root.pem"), "-alpn", "h2,http/1.1"],
     "localhost", ["h2", "http/1.1"]),
    ("python3", "python3", lambda p: ["python3", "-c", PY, str(p), cert("root.pem")],
     "localhost", ["h2", "http/1.1"]),
    ("gnutls-cli", "gnutls-cli", lambda p: [
        "gnutls-cli", "--x509cafile", cert("root.pem"), "--verify-hostname", "localhost",
        "-p", str(p), "127.0.0.1"],
     None, None),
]

CAPTURE = os.environ.get("TLSTRACE_FP_CAPTURE")


def exchange(name, argv):
    """One traced connection of a client through the proxy to s_server;
    returns (CompletedProcess, log objects, proxy bytes)."""
    srv, port, _ = s_server(["-cert", cert("server.pem"), "-key", cert("server.key"),
                             "-cert_chain", cert("inter.pem"), "-www"])
    cap = None
    try:
        pport, seen, t = proxy(port)
        if CAPTURE:
            os.makedirs(CAPTURE, exist_ok=True)
            path = os.path.join(CAPTURE, name.split()[0] + ".pcapng")
            cap, out = spawn(["dumpcap", "-q", "-i", "lo", "-f", "tcp port %d" % pport,
                              "-w", path])
            if not wait_for(out, "Capturing on", proc=cap):
                time.sleep(1)
        r, log = traced(argv(pport), input=b"", timeout=30)
        t.join(15)
    finally:
        if cap is not None:
            time.sleep(0.5)
            stop(cap)
        stop(srv)
    return r, parse_json_log(log, name), seen


for name, tool, argv, sni, alpn in CLIENTS:
    if missing(tool):
        skip("%s: ja4, ja3, ja3s" % name, missing(tool))
        continue
    r, objs, seen = exchange(name, argv)
    ok("%s: connected" % name, r.returncode == 0, r.stderr[-600:])
    ch = events(objs, "client_hello", dir="out")
    sh = events(objs, "server_hello", dir="in")
    ok("%s: one client_hello, one server_hello" % name, len(ch) == 1 and len(sh) == 1,
       [o.get("event") for o in objs])
    if len(ch) != 1 or len(sh) != 1:
        continue
    ch, sh = ch[0], sh[0]
    ok("%s: the pinned hello (sni %s, alpn %s)" % (name, sni, alpn),
       ch.get("sni") == sni and ch.get("alpn") == alpn, ch)
    chb = first_message(bytes(seen["c2s"]), 1)
    shb = first_message(bytes(seen["s2c"]), 2)
    ok("%s: the proxy saw the ClientHello and the ServerHello" % name,
       chb is not None and shb is not None, (len(seen["c2s"]), len(seen["s2c"])))
    if chb is None or shb is None:
        continue
    want = {"ja4": ja4(chb), "ja3": ja3(chb), "ja3s": ja3s(shb)}
    got = {"ja4": ch.get("ja4"), "ja3": ch.get("ja3"), "ja3s": sh.get("ja3s")}
    ok("%s: ja4 %s, ja3 %s, ja3s %s as computed here from the bytes on the wire"
       % (name, want["ja4"], want["ja3"], want["ja3s"]), got == want, (got, want))
    ref = REFERENCE.get(name)
    if ref is None:
        skip("%s: ja4 as FoxIO's reference computes it" % name, "no recorded value")
        continue
    same, why = same_builds(tool)
    if not same:
        skip("%s: ja4, ja3, ja3s as FoxIO's reference and tshark computed them" % name, why)
        continue
    ok("%s: ja4 %s as FoxIO's reference computed it" % (name, ref["ja4"]),
       got["ja4"] == ref["ja4"], got)
    ok("%s: ja3 %s, ja3s %s as tshark's JA3 computed them" % (name, ref["ja3"], ref["ja3s"]),
       got["ja3"] == ref["ja3"] and got["ja3s"] == ref["ja3s"], got)
finish()
