#!/usr/bin/env python3
"""Key capture inside an NSS client (shim/nss.c): NSS hands its TLS 1.3
secrets to the secret callback SSL_ImportFD's hook sets, and the labels
depend on this side's role, here the client's.  tools/nss_client (no
database, no client certificate) against s_server asking for a
certificate it does not require (-verify 1, the CA file with the
intermediate and the root), traced with --no-keylog, so that the keys can
only come from the callback:

- TLS 1.3: the CertificateRequest decrypted with both CA names in the
  file's order, the EncryptedExtensions, the server's certificate, both
  Finished, the client's empty Certificate and both close_notify
  decrypted, keys "used";
- with a secret callback of the program's own (-own): it is called as
  without tlstrace (same count, same epochs, same argument), and the
  trace is decrypted as above;
- TLS 1.2, whose master secret NSS gives to nothing: keys "missing", and
  at level debug the summary's keys_note says so."""
import os

from tlslib import *

CLIENT = os.path.join(BUILD, "tools", "nss_client")
OWN_LINE = b"own secret callback: calls=4 epochs=2r,2w,3r,3w arg=intact\n"
NOTE = ("NSS gives its TLS 1.3 secrets to a callback, its TLS 1.2 master secret "
        "to none (and only an NSS built with it writes SSLKEYLOGFILE)")
HS13 = ("encrypted_extensions", "certificate_request", "certificate",
        "certificate_verify", "finished")


def no_keylog_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG", "TLSTRACE_KEYLOG_OUT")}


def server_args(version):
    """s_server asking for a client certificate without requiring one."""
    a = mtls_server_args(version=version)
    a[a.index("-Verify")] = "-verify"
    return a + ["-naccept", "1"]


def one_run(version, own, level=None):
    """nss_client against a one-connection s_server, traced at level
    (with --no-keylog) or untraced: (CompletedProcess, log text)."""
    srv, port, _ = s_server(server_args(version))
    cmd = [CLIENT, str(port)] + (["-own"] if own else [])
    try:
        if level:
            return traced(cmd, level=level, env=no_keylog_env(), timeout=20,
                          opts={"no_keylog": True})
        return run(cmd, timeout=20, env=no_keylog_env()), None
    finally:
        stop(srv)


def check_tls13(objs, name):
    ok("%s: every event on the client's side" % name,
       objs and all(o["role"] == "client" for o in objs),
       sorted(set(o["role"] for o in objs)))
    crs = events(objs, "certificate_request", dir="in")
    ok("%s: certificate_request decrypted, its CA names [K-Dot, Roots]" % name,
       len(crs) == 1 and crs[0]["ca_count"] == 2 and crs[0]["ca_names"] == [K_DOT, ROOTS]
       and crs[0].get("decrypted") is True and crs[0]["version"] == "TLS 1.3", crs)
    ee = events(objs, "encrypted_extensions", dir="in")
    ok("%s: encrypted_extensions decrypted" % name,
       len(ee) == 1 and ee[0].get("decrypted") is True, ee)
    sc = events(objs, "certificate", dir="in")
    ok("%s: the server's certificate decrypted (CN=localhost, chain of 2)" % name,
       len(sc) == 1 and sc[0].get("decrypted") is True and sc[0].get("subject") == "CN=localhost"
       and sc[0]["cert_count"] == 2, sc)
    cc = events(objs, "certificate", dir="out")
    ok("%s: the client's empty certificate decrypted" % name,
       len(cc) == 1 and cc[0].get("decrypted") is True and cc[0]["cert_count"] == 0
       and cc[0]["sender"] == "client", cc)
    fin = events(objs, "finished")
    ok("%s: both Finished decrypted" % name,
       [(f["dir"], f.get("decrypted")) for f in fin] == [("in", True), ("out", True)], fin)
    seq = order(objs, HS13)
    ok("%s: the encrypted handshake in order" % name, seq == [
        "in encrypted_extensions", "in certificate_request", "in certificate",
        "in certificate_verify", "in finished", "out certificate", "out finished"], seq)
    hs = [o for o in objs if o["event"] in HS13]
    ok("%s: every one of them \"decrypted\": true" % name,
       hs and all(o.get("decrypted") is True for o in hs), hs)
    al = [(o["dir"], o["alert"], o.get("decrypted")) for o in events(objs, "alert")]
    ok("%s: both close_notify decrypted" % name,
       al == [("in", "close_notify", True), ("out", "close_notify", True)], al)
    ok("%s: no encrypted_record left, no decode_error" % name,
       events(objs, "encrypted_record") == [] and events(objs, "decode_error") == [],
       events(objs, "encrypted_record") + events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s: summary TLS 1.3, no certificate sent, keys used" % name,
       len(sm) == 1 and sm[0]["version"] == "TLS 1.3" and sm[0]["client_auth_requested"] is True
       and sm[0]["ca_count"] == 2 and sm[0]["client_cert_sent"] is False
       and sm[0].get("keys") == "used" and "keys_note" not in sm[0], sm)


def main():
    why = missing(CLIENT)
    if why:
        skip("NSS client: TLS 1.3 decrypted from its secret callback", why)
        return
    # what the program does without tlstrace
    for own in (False, True):
        r, _ = one_run("-tls1_3", own)
        want = OWN_LINE if own else b""
        ok("TLS 1.3%s, untraced: exit 0, prints %r" % (" -own" if own else "", want),
           r.returncode == 0 and r.stdout == want and r.stderr == b"",
           (r.returncode, r.stdout, r.stderr[-400:]))

    # a. b. traced client side, keys from the secret callback only
    for own in (False, True):
        name = "TLS 1.3%s, traced --no-keylog" % (" -own" if own else "")
        r, log = one_run("-tls1_3", own, "info")
        ok("%s: exit 0, prints as untraced, nothing on stderr" % name,
           r.returncode == 0 and r.stdout == (OWN_LINE if own else b"") and r.stderr == b"",
           (r.returncode, r.stdout, r.stderr[-400:]))
        check_tls13(parse_json_log(log, "nss " + name), name)

    # c. TLS 1.2: no secrets from NSS; the note says so at debug only
    for level in ("debug", "info"):
        name = "TLS 1.2, traced --no-keylog at %s" % level
        r, log = one_run("-tls1_2", False, level)
        ok("%s: exit 0, nothing printed" % name,
           r.returncode == 0 and r.stdout == b"" and r.stderr == b"",
           (r.returncode, r.stdout, r.stderr[-400:]))
        sm = events(parse_json_log(log, "nss " + name), "summary")
        want = NOTE if level == "debug" else None
        ok("%s: summary TLS 1.2, keys missing, keys_note %s"
           % (name, "the NSS note" if want else "absent"),
           len(sm) == 1 and sm[0]["version"] == "TLS 1.2" and sm[0]["role"] == "client"
           and sm[0].get("keys") == "missing" and sm[0].get("keys_note") == want, sm)


if __name__ == "__main__":
    main()
    finish()
