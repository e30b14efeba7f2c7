"""Apache httpd itself renegotiating for a client certificate: mod_ssl
with a per-location `SSLVerifyClient require` on a TLS 1.2 port reads
the request, then asks to renegotiate (an encrypted HelloRequest) and
requests the certificate in the second handshake.  Apache runs traced
server side, its clients run traced too, and everything is decrypted
with the secrets captured inside each process.

- A client that refuses (python with OP_NO_RENEGOTIATION) and exits with
  the connection still open (a second descriptor keeps it): the client's
  log has the HelloRequest, its no_renegotiation warning, Apache's fatal
  handshake_failure, then the diagnosis, then the summary written at
  exit; Apache's log has the same story and the diagnosis.
- A client that accepts, with a certificate: the second CertificateRequest
  decrypted with both CA names, the renegotiation completed, 200.
"""
from srvlib import *

K_DOT = "CN=K-Dot Certificate Authority"
ROOTS = "CN=The Roots Authority"

SECURE = """    SSLCACertificateFile {cas}
    SSLVerifyDepth 3
    <Location /secure>
        SSLVerifyClient require
    </Location>"""

CLIENT = r"""
import os, socket, ssl, sys
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
if mode == "refuse":
    ctx.options |= ssl.OP_NO_RENEGOTIATION
else:
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="localhost")
keep = os.dup(t.fileno())
t.sendall(b"GET /secure/page.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
got = b""
try:
    while True:
        b = t.recv(4096)
        if not b:
            break
        got += b
    print("eof", got.split(b"\r\n", 1)[0].decode(), flush=True)
except (ssl.SSLError, OSError) as e:
    print("error", type(e).__name__, flush=True)
if mode != "refuse":
    t.close()
    os.close(keep)
sys.exit(0)
"""

RENEG = ("hello_request", "renegotiation", "alert", "certificate_request", "finished",
         "connection_reset", "connection_closed", "diagnosis", "summary")


def diag(objs):
    return [o.get("code") for o in events(objs, "diagnosis")]


def one(objs, name, **match):
    e = events(objs, name, **match)
    return e[0] if len(e) == 1 else {}


def run_client(port, mode):
    d = tmpdir()
    script = os.path.join(d, "reneg_client.py")
    with open(script, "w") as f:
        f.write(CLIENT)
    log = new_log()
    cmd = launcher_cmd({"log": log}) + [sys.executable, script, str(port), mode,
                                        cert("client-chain.pem"), cert("client.key")]
    r = run(cmd, timeout=20)
    return r.returncode, r.stdout.decode(errors="replace"), parse_json_log(read_log(log), mode)


if missing(APACHE, "python3"):
    skip("Apache renegotiating for a client certificate", missing(APACHE, "python3"))
    finish()

certs()
world_readable(tmpdir())
results = {}
ap = Apache("apache-reneg", b"", True, vhost12=SECURE.format(cas=cert("cas.pem")))
try:
    os.makedirs(os.path.join(ap.d, "www", "secure"))
    world_readable(os.path.join(ap.d, "www", "secure"))
    page = os.path.join(ap.d, "www", "secure", "page.html")
    with open(page, "w") as f:
        f.write("secure page\n")
    os.chmod(page, 0o644)
    for mode in ("refuse", "accept"):
        results[mode] = run_client(ap.p12, mode)
finally:
    rc = ap.stop()
ok("apache: stopped cleanly", rc == 0, "exit status %s" % rc)
server = parse_json_log("".join(read_logs(os.path.join(ap.d, "httpd-*.jsonl")).values()),
                        "apache")

# --- the client that refuses and exits with the connection open
rc, out, objs = results["refuse"]
name = "refusing client"
ok("%s: Apache ended it with an alert, the client exited 0" % name,
   rc == 0 and out.strip() == "error SSLError", (rc, out))
hr = one(objs, "hello_request", dir="in")
ok("%s: the HelloRequest decrypted" % name,
   hr.get("decrypted") is True and "inferred" not in hr, events(objs, "hello_request"))
al = [(o["dir"], o["alert_level"], o["alert"], o.get("decrypted")) for o in events(objs, "alert")]
ok("%s: its no_renegotiation warning, then Apache's fatal handshake_failure, decrypted" % name,
   al == [("out", "warning", "no_renegotiation", True),
          ("in", "fatal", "handshake_failure", True)], al)
seq = order(objs, RENEG)
ok("%s: the diagnosis comes with Apache's alert, before the summary written at exit" % name,
   subsequence(seq, ["in hello_request", "out alert", "in alert", "in diagnosis",
                     "out summary"]) and seq.index("in diagnosis") == seq.index("in alert") + 1,
   seq)
ok("%s: the diagnosis is renegotiation_refused_then_alert" % name,
   diag(objs) == ["renegotiation_refused_then_alert"], diag(objs))
sm = one(objs, "summary")
ok("%s: summary: refused, keys used, open at process exit" % name,
   sm.get("renegotiation") == "refused" and sm.get("keys") == "used"
   and sm.get("ended") == "open at process exit", sm)

# --- the same connection in Apache's log
port = one(objs, "summary").get("local", ":0").rsplit(":", 1)[1]
mine = [o for o in server if o.get("peer", "").endswith(":" + port)]
seq = order(mine, RENEG)
ok("apache, refusing client: HelloRequest out, the refusal in, its fatal alert out, "
   "the diagnosis at once, then the summary",
   subsequence(seq, ["out hello_request", "in alert", "out alert", "out diagnosis",
                     "out summary"]) and seq.index("out diagnosis") == seq.index("out alert") + 1,
   seq)
ok("apache, refusing client: the diagnosis is renegotiation_refused_then_alert",
   diag(mine) == ["renegotiation_refused_then_alert"], diag(mine))

# --- the client that accepts with a certificate
rc, out, objs = results["accept"]
name = "accepting client"
ok("%s: 200 after the renegotiation" % name,
   rc == 0 and out.strip() == "eof HTTP/1.1 200 OK", (rc, out))
cr = events(objs, "certificate_request", dir="in")
ok("%s: the second handshake's CertificateRequest decrypted with both CA names" % name,
   len(cr) == 1 and cr[0].get("decrypted") is True
   and cr[0].get("ca_names") == [K_DOT, ROOTS], cr)
rn = [o["phase"] for o in events(objs, "renegotiation")]
ok("%s: renegotiation requested, started, completed" % name,
   rn == ["requested", "started", "completed"], rn)
sm = one(objs, "summary")
ok("%s: summary: completed, client certificate sent, keys used, no diagnosis" % name,
   sm.get("renegotiation") == "completed" and sm.get("client_cert_sent") is True
   and sm.get("keys") == "used" and diag(objs) == [], (sm, diag(objs)))
finish()
