#!/usr/bin/env python3
"""Keys from every TLS library lighttpd 1.4 is packaged with, and no flag.

One server, five libraries: lighttpd with mod_openssl, mod_gnutls,
mod_nss, mod_mbedtls and mod_wolfssl in turn, client certificates
requested (the CA file holds the intermediate and the root), traced
server side by the launcher with no option but the log, and driven by an
untraced curl with a client certificate: one connection as the two sides
negotiate it (TLS 1.3, but TLS 1.2 with mbedTLS 2.28), one with
--tls-max 1.2.  For each library the log must show what its secrets
decrypt, with exact values:

- TLS 1.3: the CertificateRequest decrypted with the CA names an
  untraced s_client reads from the same server (both, in the file's
  order, from mod_openssl; none from mod_gnutls and mod_wolfssl), the
  server's and the client's certificates and both Finished decrypted,
  keys "used".  mod_nss cannot load a CA file here (NSS has no
  database, ssl.ca-file fails to import), so it serves without asking for
  a certificate: its EncryptedExtensions and certificate decrypted.
- TLS 1.2: both Finished and every alert decrypted, keys "used".

Where a library gives no secrets (NSS for TLS 1.2), the summary says
keys "missing" and, at debug level, keys_note names the library and
why."""
import signal
import tempfile
from tlslib import *
from proclib import free_port, wait_until

LIGHTTPD = "/usr/sbin/lighttpd"
MODULES = ("openssl", "gnutls", "nss", "mbedtls", "wolfssl")

CONF = """server.document-root = "{d}"
server.port = {port}
server.bind = "127.0.0.1"
server.errorlog = "{d}/error.log"
server.modules += ("mod_{mod}")
ssl.engine = "enable"
ssl.pemfile = "{certs}/server-chain.pem"
ssl.privkey = "{certs}/server.key"
{verify}"""
VERIFY = """ssl.ca-file = "{certs}/cas.pem"
ssl.verifyclient.activate = "enable"
ssl.verifyclient.enforce = "enable"
"""


def serve(mod, traced=True):
    """lighttpd with mod_MOD, under the launcher unless traced is false:
    (process, port, log)."""
    d = tempfile.mkdtemp(prefix="lighttpd-%s-" % mod, dir=tmpdir())
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("tlstrace lighttpd page\n")
    port = free_port()
    conf = os.path.join(d, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(d=d, port=port, mod=mod, certs=certs(),
                            verify="" if mod == "nss" else VERIFY.format(certs=certs())))
    log = os.path.join(d, "trace.jsonl")
    env = dict(os.environ)
    for v in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG", "LD_PRELOAD"):
        env.pop(v, None)
    launcher = [BIN, "-o", log, "-f", "json", "-l", "debug", "--"] if traced else []
    p, out = spawn(launcher + [LIGHTTPD, "-D", "-f", conf], env=env)
    # ready when it says so (a probe connection would be traced too)
    errlog = os.path.join(d, "error.log")
    if not wait_until(lambda: p.poll() is not None or "server started" in read_log(errlog),
                      15) or p.poll() is not None:
        raise RuntimeError("lighttpd %s did not start: %s %s" % (
            mod, read_log(out)[-800:], read_log(errlog)[-800:]))
    return p, port, log


def fetch(port, tls12):
    cmd = ["curl", "-sk", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
           "--resolve", "localhost:%d:127.0.0.1" % port,
           "--cert", cert("client.pem"), "--key", cert("client.key"),
           "https://localhost:%d/index.html" % port]
    if tls12:
        cmd[1:1] = ["--tls-max", "1.2"]
    r = run(cmd, timeout=20)
    return r.stdout.decode()


def sent_ca_names(mod, tls12):
    """The CA names the module's CertificateRequest carries, as an
    untraced openssl s_client reads them ("Acceptable client certificate
    CA names", one "CN = ..." line each), in this log's spelling."""
    p, port, _ = serve(mod, traced=False)
    try:
        r = run(["openssl", "s_client", "-tls1_2" if tls12 else "-tls1_3",
                 "-connect", "127.0.0.1:%d" % port, "-cert", cert("client.pem"),
                 "-key", cert("client.key")], timeout=15, input=b"")
    finally:
        stop(p, timeout=10)
    lines = r.stdout.decode(errors="replace").splitlines()
    if "No client certificate CA names sent" in lines:
        return []
    if "Acceptable client certificate CA names" not in lines:
        return None
    names = []
    for line in lines[lines.index("Acceptable client certificate CA names") + 1:]:
        if " = " not in line:
            break
        names.append(line.replace(" = ", "=").replace(", ", ","))
    return names


def conns(objs):
    """The log's connections in order: {conn: [events]}."""
    by = {}
    for o in objs:
        by.setdefault(o["conn"], []).append(o)
    return [by[k] for k in sorted(by)]


def ev(c, name, **match):
    return [o for o in c if o["event"] == name and all(o.get(k) == v for k, v in match.items())]


def check13(mod, c, names):
    s = ev(c, "summary")
    ok("%s: the default connection is TLS 1.3" % mod, s and s[0]["version"] == "TLS 1.3", s)
    ee = ev(c, "encrypted_extensions")
    ok("%s TLS 1.3: encrypted_extensions decrypted" % mod,
       len(ee) == 1 and ee[0].get("decrypted") is True, ee)
    certs_ = ev(c, "certificate", dir="out")
    ok("%s TLS 1.3: the server's certificate decrypted (CN=localhost, chain of 2)" % mod,
       len(certs_) == 1 and certs_[0].get("decrypted") is True
       and certs_[0].get("subject") == "CN=localhost" and certs_[0].get("cert_count") == 2,
       certs_)
    if names is not None:
        cr = ev(c, "certificate_request")
        ok("%s TLS 1.3: certificate_request decrypted, its CA names %s as s_client "
           "reads them" % (mod, names), names is not None and len(cr) == 1
           and cr[0].get("decrypted") is True and cr[0]["ca_names"] == names, cr)
        cc = ev(c, "certificate", dir="in")
        ok("%s TLS 1.3: the client's certificate decrypted" % mod,
           len(cc) == 1 and cc[0].get("decrypted") is True
           and cc[0].get("subject") == CLIENT_SUBJECT, cc)
    fin = ev(c, "finished")
    ok("%s TLS 1.3: both Finished decrypted" % mod,
       sorted(f["dir"] for f in fin if f.get("decrypted")) == ["in", "out"], fin)
    ok("%s TLS 1.3: keys used" % mod, s and s[0].get("keys") == "used", s)


def check12(mod, c, names):
    s = ev(c, "summary")
    ok("%s: the connection is TLS 1.2" % mod, s and s[0]["version"] == "TLS 1.2", s)
    cr = ev(c, "certificate_request")
    ok("%s TLS 1.2: certificate_request with its CA names %s as s_client reads them"
       % (mod, names), names is not None and len(cr) == 1 and cr[0]["ca_names"] == names, cr)
    fin = ev(c, "finished")
    ok("%s TLS 1.2: both Finished decrypted" % mod,
       sorted(f["dir"] for f in fin if f.get("decrypted")) == ["in", "out"], fin)
    alerts = ev(c, "alert")
    enc = [o for o in ev(c, "encrypted_record") if o.get("record_type") == "alert"]
    ok("%s TLS 1.2: every alert decrypted (close_notify)" % mod,
       alerts and all(a.get("decrypted") is True for a in alerts) and not enc
       and "close_notify" in [a["alert"] for a in alerts], (alerts, enc))
    ok("%s TLS 1.2: keys used" % mod, s and s[0].get("keys") == "used", s)


def check_missing(mod, c, version, why):
    s = ev(c, "summary")
    ok("%s %s: keys missing, keys_note says why" % (mod, version),
       s and s[0]["version"] == version and s[0].get("keys") == "missing"
       and why in s[0].get("keys_note", ""), s)


def connection(mod, tls12):
    """One server, one connection: (HTTP status, the connection's events).
    A server per connection, since lighttpd 1.4.69's mod_gnutls crashes
    on its second connection when ssl.ca-dn-file is set."""
    p, port, log = serve(mod)
    try:
        code = fetch(port, tls12)
        wait_until(lambda: '"event":"summary"' in read_log(log), 10)
    finally:
        p.send_signal(signal.SIGTERM)
        stop(p, timeout=10)
    cs = [c for c in conns(parse_json_log(read_log(log), mod)) if ev(c, "client_hello")]
    what = "%s %s" % (mod, "--tls-max 1.2" if tls12 else "default")
    ok("%s: served (200), one TLS connection traced and summarised" % what,
       code == "200" and len(cs) == 1 and len(ev(cs[0], "summary")) == 1,
       (code, [len(c) for c in cs]))
    return cs[0] if len(cs) == 1 else []


# The CA names each module sends, as s_client reads them: mod_openssl and
# mod_mbedtls send ssl.ca-file's two; lighttpd 1.4.69's mod_gnutls and
# mod_wolfssl send none (mod_gnutls crashes on ssl.ca-dn-file, which would
# set them); mod_nss asks for no certificate here.
SENDS_NAMES = {"openssl": True, "mbedtls": True, "gnutls": False, "wolfssl": False}


def one(mod):
    first = connection(mod, False)
    second = connection(mod, True)
    if mod == "nss":
        check13(mod, first, None)
        check_missing(mod, second, "TLS 1.2", "NSS")
        return
    # mbedTLS 2.28 speaks TLS 1.2 only
    names = [sent_ca_names(mod, tls12=mod == "mbedtls"), sent_ca_names(mod, tls12=True)]
    want = [K_DOT, ROOTS] if SENDS_NAMES[mod] else []
    ok("%s: s_client reads the CA names %s in its CertificateRequests" % (mod, want),
       names == [want, want], names)
    if mod == "mbedtls":
        check12(mod, first, names[0])
    else:
        check13(mod, first, names[0])
    check12(mod, second, names[1])


def main():
    if missing("lighttpd", "curl"):
        return
    for mod in MODULES:
        if not os.path.exists("/usr/lib/lighttpd/mod_%s.so" % mod):
            skip("lighttpd mod_%s" % mod, "lighttpd-mod-%s not installed" % mod)
            continue
        one(mod)


if __name__ == "__main__":
    main()
    finish()
