"""Other real clients against s_server: curl and python3 ssl by host
name (SNI), and a HelloRetryRequest forced by group choice."""
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
finish()
