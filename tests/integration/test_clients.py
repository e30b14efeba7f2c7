"""Other real clients against s_server: curl and python3 ssl by host
name (SNI), and a HelloRetryRequest forced by group choice; then client
options and server settings whose fields show nowhere else, each checked
at its exact value and against what the peers themselves report:
TLS_FALLBACK_SCSV, a maximum fragment length and an acknowledged SNI, a
resumption with 0-RTT data, a DHE suite, renegotiation_info in a first
and in a renegotiating ClientHello (gnutls-cli), and a record size limit
(gnutls-serv)."""
import os
import socket
import subprocess
import time

from tlslib import *

SRV = ["-cert", None, "-key", None, "-cert_chain", None, "-www"]


def server_args(extra=()):
    return ["-cert", cert("server.pem"), "-key", cert("server.key"),
            "-cert_chain", cert("inter.pem"), "-www"] + list(extra)


def hello_checks(name, objs, sni, version, cipher):
    ch = events(objs, "client_hello", dir="out")
    ok("%s: one client_hello with SNI %s" % (name, sni),
       len(ch) == 1 and ch[0].get("sni") == sni and ch[0]["role"] == "client", ch)
    sh = events(objs, "server_hello", dir="in")
    ok("%s: server_hello with %s and %s" % (name, version, cipher),
       len(sh) == 1 and sh[0].get("version") == version and sh[0].get("cipher") == cipher, sh)


# curl, TLS 1.3 (default) and TLS 1.2
for ver, tls, cipher in (("TLS 1.3", [], "TLS_AES_256_GCM_SHA384"),
                         ("TLS 1.2", ["-tls1_2"], "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")):
    if missing("curl"):
        skip("curl %s: request served, its hellos and ALPN" % ver, missing("curl"))
        continue
    srv, port, _ = s_server(server_args(tls))
    try:
        r, log = traced(["curl", "-sS", "--max-time", "10", "--cacert", cert("root.pem"),
                         "--resolve", "localhost:%d:127.0.0.1" % port,
                         "https://localhost:%d/" % port])
    finally:
        stop(srv)
    ok("curl %s: request served" % ver, r.returncode == 0 and b"s_server" in r.stdout,
       r.stderr[-500:])
    objs = parse_json_log(log, "curl %s" % ver)
    hello_checks("curl %s" % ver, objs, "localhost", ver, cipher)
    ch = events(objs, "client_hello")
    ok("curl %s: ALPN offered" % ver, ch and "http/1.1" in ch[0].get("alpn", []), ch)

# python3 ssl client
PY = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["h2", "http/1.1"])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        version = t.version()
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = t.recv(4096)
            if not d:
                break
            data += d
print(version, len(data) > 0)
"""
srv, port, _ = s_server(server_args(["-tls1_2"]))
try:
    r, log = traced(["python3", "-c", PY, str(port), cert("root.pem")])
finally:
    stop(srv)
ok("python: request served", r.returncode == 0 and b"TLSv1.2 True" in r.stdout, r.stderr[-800:])
objs = parse_json_log(log, "python")
hello_checks("python", objs, "localhost", "TLS 1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
ch = events(objs, "client_hello")
ok("python: ALPN list as offered", ch and ch[0].get("alpn") == ["h2", "http/1.1"], ch)

# HelloRetryRequest
srv, port, _ = s_server(server_args(["-groups", "P-256"]))
try:
    r, log = traced(["openssl", "s_client", "-groups", "X25519:P-256", "-CAfile", cert("root.pem"),
                     "-servername", "localhost", "-connect", "127.0.0.1:%d" % port],
                    input=b"Q\n")
finally:
    stop(srv)
objs = parse_json_log(log, "hrr")
seq = [o["event"] for o in objs if o["event"] in ("client_hello", "hello_retry_request", "server_hello")]
ok("hrr: client_hello, hello_retry_request, client_hello, server_hello",
   seq == ["client_hello", "hello_retry_request", "client_hello", "server_hello"], seq)
hrr = events(objs, "hello_retry_request")
ok("hrr: selected_group secp256r1", hrr and hrr[0].get("selected_group") == "secp256r1", hrr)
chs = events(objs, "client_hello")
ok("hrr: second client_hello offers a secp256r1 key share",
   len(chs) == 2 and chs[1].get("key_shares", ["secp256r1"]) == ["secp256r1"], chs)


def one(objs, event, direction):
    """The only event of that name and direction, or None."""
    got = events(objs, event, dir=direction)
    return got[0] if len(got) == 1 else None


def s_client(port, *args):
    return ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
            "-CAfile", cert("root.pem")] + list(args)


# TLS_FALLBACK_SCSV (RFC 7507): a client that retries with TLS 1.2 and
# says so is refused by a server that can do TLS 1.3
srv, port, _ = s_server(server_args())
try:
    r, log = traced(s_client(port, "-tls1_2", "-fallback_scsv"), level="debug", input=b"")
finally:
    stop(srv)
objs = parse_json_log(log, "fallback_scsv")
ch = one(objs, "client_hello", "out")
ok("fallback_scsv: client_hello with fallback_scsv true, TLS_FALLBACK_SCSV the last suite",
   ch is not None and ch.get("fallback_scsv") is True
   and ch["cipher_suites"][-1] == "TLS_FALLBACK_SCSV", ch)
al = one(objs, "alert", "in")
ok("fallback_scsv: the server's fatal inappropriate_fallback (86), s_client failed",
   al is not None and (al["alert_level"], al["alert"], al["alert_code"])
   == ("fatal", "inappropriate_fallback", 86) and r.returncode != 0, (al, r.returncode))

# A maximum fragment length (RFC 6066 4) and the SNI, both acknowledged in
# the TLS 1.3 EncryptedExtensions, decrypted; s_server acknowledges an SNI
# it has a context for (-servername with -cert2, which sends no chain)
srv, port, _ = s_server(server_args(["-servername", "localhost", "-cert2", cert("server.pem"),
                                     "-key2", cert("server.key")]))
try:
    r, log = traced(s_client(port, "-maxfraglen", "1024", "-servername", "localhost"),
                    level="debug", input=b"")
finally:
    stop(srv)
objs = parse_json_log(log, "maxfraglen")
ok("maxfraglen: s_client completed a TLS 1.3 handshake",
   r.returncode == 0 and b"New, TLSv1.3" in r.stdout, r.stdout[-800:])
ch = one(objs, "client_hello", "out")
ok("maxfraglen: client_hello offers max_fragment_length",
   ch is not None and "max_fragment_length" in ch["extensions"], ch)
ee = one(objs, "encrypted_extensions", "in")
ok("maxfraglen: encrypted_extensions (decrypted) with max_fragment_length 1024 and "
   "sni_acknowledged true",
   ee is not None and ee.get("decrypted") is True
   and sorted(ee["extensions"]) == ["max_fragment_length", "server_name"]
   and ee.get("max_fragment_length") == 1024 and ee.get("sni_acknowledged") is True, ee)

# A resumption with 0-RTT data (RFC 8446 2.3): a first connection stores
# its session once the ticket came (s_client -sess_out), the traced second
# one offers it (pre_shared_key) with early data, and s_server accepts
# both.  s_server reads stdin when it may get early data: a FIFO.
sess = os.path.join(tmpdir(), "session.pem")
early = os.path.join(tmpdir(), "early.txt")
with open(early, "wb") as f:
    f.write(b"GET / HTTP/1.0\r\n\r\n")
srv, port, sout, fdin = fifo_s_server(["-cert", cert("server.pem"), "-key", cert("server.key"),
                                       "-cert_chain", cert("inter.pem"), "-early_data"])
try:
    first = track(subprocess.Popen(s_client(port, "-sess_out", sess), stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True))
    deadline = time.time() + 15
    stored = False
    while not stored and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
        try:
            with open(sess) as f:
                stored = "-----END SSL SESSION PARAMETERS-----" in f.read()
        except FileNotFoundError:
            pass
    # EOF on stdin: s_client sends close_notify and exits; a client
    # killed first would leave the server a session it no longer resumes
    end_on_eof(first)
    ok("0-RTT: the first connection stored a session", stored)
    r, log = traced(s_client(port, "-sess_in", sess, "-early_data", early), level="debug",
                    input=b"")
    got_early = wait_for(sout, r"Early data received:", timeout=5)
finally:
    stop(srv)
    os.close(fdin)
with open(sout, "rb") as f:
    served = f.read()
ok("0-RTT: s_client reused the session and its early data was accepted",
   b"Reused, TLSv1.3" in r.stdout and b"Early data was accepted" in r.stdout, r.stdout[-800:])
ok("0-RTT: s_server received the early data",
   got_early is not None and b"GET / HTTP/1.0" in served, served[-800:])
objs = parse_json_log(log, "0-RTT")
ch = one(objs, "client_hello", "out")
ok("0-RTT: client_hello with psk true and early_data true, pre_shared_key last",
   ch is not None and ch.get("psk") is True and ch.get("early_data") is True
   and ch["extensions"][-2:] == ["early_data", "pre_shared_key"], ch)
sh = one(objs, "server_hello", "in")
ok("0-RTT: server_hello with psk true", sh is not None and sh.get("psk") is True, sh)
ee = one(objs, "encrypted_extensions", "in")
ok("0-RTT: encrypted_extensions (decrypted) with early_data_accepted true",
   ee is not None and ee.get("decrypted") is True and ee["extensions"] == ["early_data"]
   and ee.get("early_data_accepted") is True, ee)
ok("0-RTT: no certificate in a resumption", events(objs, "certificate") == [],
   events(objs, "certificate"))

# A DHE suite (TLS 1.2): the size of the server's DH prime, as s_client
# reports it; the RFC 7919 ffdhe3072 group and an RSA certificate, both
# made here
rsa_key, rsa_cert, dh = (os.path.join(tmpdir(), n) for n in ("rsa.key", "rsa.pem", "dh.pem"))
g1 = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", rsa_key,
          "-out", rsa_cert, "-subj", "/CN=localhost", "-days", "2"], timeout=120)
g2 = run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe3072",
          "-out", dh], timeout=60)
ok("dhe: an RSA certificate and ffdhe3072 parameters made", g1.returncode == 0 and g2.returncode == 0,
   g1.stderr[-500:] + g2.stderr[-500:])
srv, port, _ = s_server(["-tls1_2", "-cert", rsa_cert, "-key", rsa_key, "-dhparam", dh,
                         "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-www"])
try:
    r, log = traced(s_client(port, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"),
                    level="debug", input=b"")
finally:
    stop(srv)
ok("dhe: s_client says the server's key is DH, 3072 bits",
   b"Server Temp Key: DH, 3072 bits" in r.stdout, r.stdout[-800:])
objs = parse_json_log(log, "dhe")
sh = one(objs, "server_hello", "in")
ok("dhe: server_hello with TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
   sh is not None and sh["cipher"] == "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", sh)
ske = one(objs, "server_key_exchange", "in")
ok("dhe: server_key_exchange with dh_bits 3072 and no group",
   ske is not None and ske.get("dh_bits") == 3072 and "group" not in ske, ske)

# renegotiation_info (RFC 5746): gnutls-cli sends the extension, not the
# SCSV; empty in its first ClientHello, and in the renegotiating one
# (--rehandshake, decrypted with its key log) its own verify_data from
# the first handshake's Finished: 12 bytes
srv, port, _ = s_server(server_args(["-tls1_2", "-client_renegotiation"]))
try:
    r, log = traced(["gnutls-cli", "--rehandshake", "--x509cafile", cert("root.pem"),
                     "--verify-hostname", "localhost", "-p", str(port), "127.0.0.1"],
                    level="debug", input=b"", opts={"K": True})
finally:
    stop(srv)
ok("gnutls rehandshake: gnutls-cli renegotiated",
   r.returncode == 0 and b"ReHandshake was completed" in r.stdout, r.stdout[-800:])
objs = parse_json_log(log, "gnutls rehandshake")
chs = events(objs, "client_hello", dir="out")
ok("gnutls rehandshake: renegotiation_info_length 0, then 12 (decrypted)",
   [c.get("renegotiation_info_length") for c in chs] == [0, 12]
   and [c.get("decrypted") for c in chs] == [None, True]
   and all(c["renegotiation_info"] is True and c["scsv"] is False for c in chs), chs)
ok("gnutls rehandshake: renegotiation started and completed",
   [o["phase"] for o in events(objs, "renegotiation")] == ["started", "completed"],
   events(objs, "renegotiation"))

# record_size_limit (RFC 8449): gnutls-serv --recordsize 4096 answers
# gnutls-cli's offer in its EncryptedExtensions; in TLS 1.3 the limit
# counts the inner content type too, so 4097 goes on the wire
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


gs = None
for attempt in range(3):
    port = free_port()
    gs, gout = spawn(["gnutls-serv", "--x509certfile", cert("server-chain.pem"),
                      "--x509keyfile", cert("server.key"), "--echo", "--recordsize", "4096",
                      "-p", str(port)])
    if wait_for(gout, r"IPv4 \S+ port %d\.\.\.done" % port, timeout=10, proc=gs):
        break
    stop(gs)
    gs = None
ok("record_size_limit: gnutls-serv listening", gs is not None)
if gs is not None:
    try:
        r, log = traced(["gnutls-cli", "--x509cafile", cert("root.pem"), "--verify-hostname",
                         "localhost", "-p", str(port), "127.0.0.1"],
                        level="debug", input=b"ping\n", opts={"K": True})
    finally:
        stop(gs)
    ok("record_size_limit: gnutls-cli connected", r.returncode == 0, r.stderr[-800:])
    objs = parse_json_log(log, "record_size_limit")
    ch = one(objs, "client_hello", "out")
    ok("record_size_limit: client_hello offers record_size_limit",
       ch is not None and "record_size_limit" in ch["extensions"], ch)
    ee = one(objs, "encrypted_extensions", "in")
    ok("record_size_limit: encrypted_extensions (decrypted) with record_size_limit 4097",
       ee is not None and ee.get("decrypted") is True
       and ee["extensions"] == ["record_size_limit"] and ee.get("record_size_limit") == 4097, ee)
finish()
