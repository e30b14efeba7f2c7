"""TLS 1.2 mTLS: the CertificateRequest CA names, seen from the client
process and, separately, from the server process, in JSON and in text."""
import re

from tlslib import *

CLIENT = ["openssl", "s_client", "-tls1_2", "-cert", None, "-key", None,
          "-CAfile", None, "-servername", "localhost", "-connect", None]


def client_cmd(port, with_cert=True):
    cmd = ["openssl", "s_client", "-tls1_2", "-CAfile", cert("root.pem"),
           "-servername", "localhost", "-connect", "127.0.0.1:%d" % port]
    if with_cert:
        cmd += ["-cert", cert("client.pem"), "-key", cert("client.key")]
    return cmd


def traced_client(ca_names, fmt):
    srv, port, _ = s_server(mtls_server_args(ca_names=ca_names) + ["-naccept", "1"])
    try:
        r, log = traced(client_cmd(port), fmt=fmt, input=b"GET / HTTP/1.0\r\n\r\n")
    finally:
        stop(srv)
    return r, log


# --- client process, JSON
r, log = traced_client(True, "json")
ok("client json: s_client completed the handshake", b"Verify return code: 0" in r.stdout, r.stdout[-800:])
objs = parse_json_log(log, "client json")
crs = events(objs, "certificate_request")
ok("client json: one certificate_request", len(crs) == 1, log)
if crs:
    cr = crs[0]
    ok("client json: ca_count 2", cr["ca_count"] == 2, cr)
    ok("client json: ca_names in the order sent", cr["ca_names"] == [K_DOT, ROOTS], cr)
    ok("client json: version TLS 1.2, dir in, role client",
       cr["version"] == "TLS 1.2" and cr["dir"] == "in" and cr["role"] == "client", cr)
    ok("client json: sig_algs named", "ecdsa_secp256r1_sha256" in cr["sig_algs"], cr)
certs_out = events(objs, "certificate", dir="out")
ok("client json: outgoing certificate shows the client subject",
   len(certs_out) == 1 and certs_out[0].get("subject") == CLIENT_SUBJECT, certs_out)
certs_in = events(objs, "certificate", dir="in")
ok("client json: server certificate subject and issuer",
   len(certs_in) == 1 and certs_in[0].get("subject") == "CN=localhost"
   and certs_in[0].get("issuer") == K_DOT, certs_in)
order = [o["event"] for o in objs if o["event"] in
         ("client_hello", "server_hello", "certificate", "server_key_exchange",
          "certificate_request", "server_hello_done", "client_key_exchange",
          "certificate_verify", "change_cipher_spec", "finished")]
ok("client json: handshake in order", order == [
    "client_hello", "server_hello", "certificate", "server_key_exchange",
    "certificate_request", "server_hello_done", "certificate", "client_key_exchange",
    "certificate_verify", "change_cipher_spec", "finished", "change_cipher_spec",
    "finished"], order)

# --- client process, text
r, log = traced_client(True, "text")
lines = [l for l in log.splitlines() if " certificate_request " in l]
ok("client text: one certificate_request line", len(lines) == 1, log)
if lines:
    ok("client text: CA names as the contract shows them",
       'ca_count=2 ca_names="CN=K-Dot Certificate Authority","CN=The Roots Authority"' in lines[0],
       lines[0])
    ok("client text: line layout", re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info  pid=\d+ tid=\d+ conn=\d+ fd=\d+ client in  certificate_request ",
        lines[0]) is not None, lines[0])

# --- -no_ca_names
r, log = traced_client(False, "json")
objs = parse_json_log(log, "no_ca_names json")
crs = events(objs, "certificate_request")
ok("no_ca_names: ca_count 0 and []", len(crs) == 1 and crs[0]["ca_count"] == 0
   and crs[0]["ca_names"] == [], crs)
r, log = traced_client(False, "text")
ok("no_ca_names text: says none", "ca_count=0 ca_names=none" in log, log)

# --- server process
slog = new_log()
srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"],
                        traced={"log": slog, "format": "json"})
try:
    r = run(client_cmd(port), input=b"GET / HTTP/1.0\r\n\r\n", timeout=20)
    srv.wait(timeout=10)
finally:
    stop(srv)
with open(slog) as f:
    log = f.read()
objs = parse_json_log(log, "server json")
crs = events(objs, "certificate_request")
ok("server: one certificate_request, sent by the server",
   len(crs) == 1 and crs[0]["dir"] == "out" and crs[0]["role"] == "server", crs)
if crs:
    ok("server: ca_names", crs[0]["ca_count"] == 2 and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
cin = events(objs, "certificate", dir="in")
ok("server: incoming client certificate subject",
   len(cin) == 1 and cin[0].get("subject") == CLIENT_SUBJECT, cin)
finish()
