"""Keys from a key log file only: tools/static_client links OpenSSL in
statically, so the SSL_new hook never sees its sessions, while its socket
calls go through libc and are traced.  With a key log of its own (-k,
written to the launcher's private key log, made with no option) the TLS
1.3 mTLS handshake is decrypted: each secret is in the file before the
connection's next call.  Without one (a library that writes none), what
waits for keys is reported at the connection's next call, not held until
it ends: the server's TLS 1.2 Finished and its TLS 1.3 encrypted flight
come out while the client still sleeps, long before the summary.  With
--no-keylog nothing is decrypted and the summary has no keys field."""
import calendar
import os
import re
import time

from tlslib import *

SC = os.path.join(BUILD, "tools", "static_client")
HS13 = ("encrypted_extensions", "certificate_request", "certificate",
        "certificate_verify", "finished")
# the key log the client gets is the launcher's alone
ENV = {k: v for k, v in os.environ.items() if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG")}


def when(o):
    """An event's ts in seconds since the epoch, microseconds kept."""
    t = time.strptime(o["ts"][:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) + int(o["ts"][20:26]) / 1e6


def run_client(version, args, opts=None, level="info"):
    """static_client with args, traced (opts: launcher options), against
    an s_server asking for a client certificate (one connection), which
    is stopped after; returns (CompletedProcess, log objects)."""
    srv, port, _ = s_server(mtls_server_args(version=version) + ["-naccept", "1"])
    try:
        r, log = traced([SC, str(port), cert("client.pem"), cert("client.key")] + args,
                        level=level, timeout=20, env=ENV, opts=opts)
    finally:
        stop(srv)
    name = "static_client TLS 1.%s %s%s" % (version[-1], " ".join(args),
                                          " --no-keylog" if (opts or {}).get("no_keylog") else "")
    return r, parse_json_log(log, name), name


def check_tls13(objs, name):
    crs = events(objs, "certificate_request", dir="in")
    ok("%s: certificate_request decrypted, ca_count 2, the DN strings" % name,
       len(crs) == 1 and crs[0]["ca_count"] == 2 and crs[0]["ca_names"] == [K_DOT, ROOTS]
       and crs[0].get("decrypted") is True and crs[0]["version"] == "TLS 1.3", crs)
    sc = events(objs, "certificate", dir="in")
    cc = events(objs, "certificate", dir="out")
    ok("%s: server and client certificate subjects" % name,
       len(sc) == 1 and sc[0].get("subject") == "CN=localhost"
       and len(cc) == 1 and cc[0].get("subject") == CLIENT_SUBJECT, sc + cc)
    seq = order(objs, HS13)
    ok("%s: the encrypted handshake in order, both Finished" % name, seq == [
        "in encrypted_extensions", "in certificate_request", "in certificate",
        "in certificate_verify", "in finished", "out certificate",
        "out certificate_verify", "out finished"], seq)
    evs = [o for o in objs if o["event"] in HS13]
    ok("%s: every one of them \"decrypted\": true" % name,
       bool(evs) and all(o.get("decrypted") is True for o in evs), evs)
    ok("%s: no decode_error" % name, events(objs, "decode_error") == [], events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s: summary keys used" % name, len(sm) == 1 and sm[0].get("keys") == "used", sm)


def nothing_decrypted(objs):
    return not [o for o in objs if o.get("decrypted")] and not events(objs, "decode_error")


# --- a. TLS 1.3, the client's own key log in the launcher's private one
r, objs, name = run_client("-tls1_3", ["-k"])
out = r.stdout.decode()
ok("%s: handshake ok TLSv1.3, 5 key log lines written" % name,
   r.returncode == 0 and "handshake ok TLSv1.3\n" in out and "keylog lines 5\n" in out, out)
check_tls13(objs, name)

# --- b. no key log written: what waits is reported at the next call
for version, args, level in (("-tls1_2", ["-tls12", "-sleep", "1500"], "info"),
                             ("-tls1_3", ["-sleep", "1500"], "trace")):
    r, objs, name = run_client(version, args, level=level)
    out = r.stdout.decode()
    ok("%s: handshake ok, the response read" % name,
       r.returncode == 0 and re.search(r"^handshake ok TLSv1\.[23]\nresponse [1-9]\d*\n$", out),
       out)
    sm = events(objs, "summary")
    ok("%s: summary keys missing, nothing decrypted, no decode_error" % name,
       len(sm) == 1 and sm[0].get("keys") == "missing" and nothing_decrypted(objs),
       (sm, events(objs, "decode_error")))
    if not sm:
        continue
    end = when(sm[0])
    first = [o for o in objs if o["event"] in ("finished", "encrypted_record") and o["dir"] == "in"]
    if first:
        print("# %s: %s %.6f s before the summary" % (name, first[0]["event"], end - when(first[0])))
    if version == "-tls1_2":
        fin = events(objs, "finished", dir="in")
        ok("%s: the server's finished, inferred, 1.0 s or more before the summary" % name,
           len(fin) == 1 and fin[0].get("inferred") is True and fin[0].get("encrypted") is True
           and end - when(fin[0]) >= 1.0,
           (fin, ["%.6f" % (end - when(o)) for o in fin]))
    else:
        # the server's flight: EncryptedExtensions, CertificateRequest,
        # Certificate, CertificateVerify, Finished, one record each
        enc = [o for o in objs if o["event"] == "encrypted_record"]
        flight = []
        for o in enc:
            if o["dir"] != "in":
                break
            flight.append(o)
        ok("%s: the server's encrypted flight, 5 records, 1.0 s or more before the summary"
           % name,
           len(flight) == 5 and all(o["record_type"] == "application_data" for o in flight)
           and all(end - when(o) >= 1.0 for o in flight),
           (enc[:6], ["%.6f" % (end - when(o)) for o in enc[:6]]))

# --- c. --no-keylog: the same client, no key log to write to
r, objs, name = run_client("-tls1_3", ["-k"], opts={"no_keylog": True})
out = r.stdout.decode()
ok("%s: handshake ok TLSv1.3, no key log lines" % name,
   r.returncode == 0 and "handshake ok TLSv1.3\n" in out and "keylog lines 0\n" in out, out)
sm = events(objs, "summary")
ok("%s: no keys field in the summary, nothing decrypted" % name,
   len(sm) == 1 and "keys" not in sm[0] and sm[0]["messages"] == ["out client_hello", "in server_hello"]
   and nothing_decrypted(objs) and not events(objs, "certificate_request"), sm)
finish()
