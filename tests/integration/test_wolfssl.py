"""Key capture inside a wolfSSL 5.5.4 program (shim/wolfssl.c): Debian's
build has no key-log callback, so TLS 1.2 secrets are read through its
session-key callback, which hands the key derivation back to wolfSSL,
and TLS 1.3 secrets through its HKDF-Expand-Label callback, which hands
the expansion back to wolfSSL.  An mTLS client against s_server, with no
key log anywhere, in TLS 1.2: its Finished messages and alerts are
decrypted; a session-key callback of the program's own is called as
without tlstrace (same count, same argument).  In TLS 1.3: its
CertificateRequest with both CA names, both certificates, both Finished
and the alerts are decrypted; an HKDF-Expand-Label callback of the
program's own is called as often as without tlstrace.  Keys "used", no
keys_note, nothing of tlstrace's on stderr."""
import os

from tlslib import *

CLIENT = os.path.join(BUILD, "tools", "wolfssl_client")
# tls13own: wolfSSL 5.5.4's TLS 1.3 client expands 18 labels here: "derived"
# twice, the four traffic secrets, a key and an IV for each of them, two
# Finished keys, "res master" and "exp master"
PRINTS = {"none": b"session_key calls=0 hkdf calls=0 arg=intact response=yes\n",
          "own": b"session_key calls=1 hkdf calls=0 arg=intact response=yes\n",
          "tls13": b"session_key calls=0 hkdf calls=0 arg=intact response=yes\n",
          "tls13own": b"session_key calls=0 hkdf calls=18 arg=intact response=yes\n"}


def no_keylog_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG", "TLSTRACE_KEYLOG_OUT")}


def one_run(mode, traced_level=None):
    version = "-tls1_3" if mode.startswith("tls13") else "-tls1_2"
    srv, port, _ = s_server(mtls_server_args(version=version) + ["-naccept", "1"])
    cmd = [CLIENT, str(port), cert("client.pem"), cert("client.key"), mode]
    try:
        if traced_level:
            return traced(cmd, level=traced_level, env=no_keylog_env())
        return run(cmd, env=no_keylog_env()), None
    finally:
        stop(srv)


def traced_as_untraced(mode):
    """Runs the client in mode untraced, then traced at debug: it prints
    the same, and nothing of tlstrace's goes to stderr.  The trace."""
    r, _ = one_run(mode)
    ok("%s, untraced: what the program prints" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout, r.stderr[-400:]))
    r, log = one_run(mode, "debug")
    ok("%s, traced: the same" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout, r.stderr[-400:]))
    ok("%s, traced at debug: nothing on stderr" % mode, r.stderr == b"", r.stderr)
    return parse_json_log(log, "wolfssl json, " + mode)


for mode in ("none", "own"):
    objs = traced_as_untraced(mode)
    dec = [(o["event"], o["dir"], o.get("decrypted"), o.get("alert")) for o in objs
           if o["event"] in ("finished", "alert")]
    ok("%s, traced: both Finished and both close_notify decrypted" % mode,
       dec == [("finished", "out", True, None), ("finished", "in", True, None),
               ("alert", "in", True, "close_notify"), ("alert", "out", True, "close_notify")],
       dec)
    ok("%s, traced: no decode_error" % mode, events(objs, "decode_error") == [],
       events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s, traced: summary keys used, no keys_note" % mode,
       len(sm) == 1 and sm[0].get("keys") == "used" and sm[0]["version"] == "TLS 1.2"
       and "keys_note" not in sm[0], sm)

# TLS 1.3: the secrets through the HKDF-Expand-Label callback, with the
# program's own or without
for mode in ("tls13", "tls13own"):
    objs = traced_as_untraced(mode)
    cr = events(objs, "certificate_request")
    ok("%s, traced: certificate_request decrypted, CA names %s" % (mode, [K_DOT, ROOTS]),
       len(cr) == 1 and cr[0].get("decrypted") is True and cr[0]["ca_names"] == [K_DOT, ROOTS],
       cr)
    cin = events(objs, "certificate", dir="in")
    ok("%s, traced: the server's certificate decrypted (CN=localhost, chain of 2)" % mode,
       len(cin) == 1 and cin[0].get("decrypted") is True
       and cin[0].get("subject") == "CN=localhost" and cin[0].get("cert_count") == 2, cin)
    cout = events(objs, "certificate", dir="out")
    ok("%s, traced: the client's certificate decrypted" % mode,
       len(cout) == 1 and cout[0].get("decrypted") is True
       and cout[0].get("subject") == CLIENT_SUBJECT, cout)
    dec = [(o["event"], o["dir"], o.get("decrypted"), o.get("alert")) for o in objs
           if o["event"] in ("finished", "alert")]
    ok("%s, traced: both Finished and both close_notify decrypted" % mode,
       dec == [("finished", "in", True, None), ("finished", "out", True, None),
               ("alert", "in", True, "close_notify"), ("alert", "out", True, "close_notify")],
       dec)
    ok("%s, traced: no decode_error, no encrypted_record" % mode,
       events(objs, "decode_error") == [] and events(objs, "encrypted_record") == [],
       events(objs, "decode_error") + events(objs, "encrypted_record"))
    sm = events(objs, "summary")
    ok("%s, traced: summary TLS 1.3, keys used, no keys_note" % mode,
       len(sm) == 1 and sm[0]["version"] == "TLS 1.3" and sm[0].get("keys") == "used"
       and "keys_note" not in sm[0], sm)

# at the default level nothing is written on stderr either
r, log = one_run("none", "info")
ok("info: no line about this wolfSSL", r.returncode == 0 and r.stderr == b"", r.stderr)
finish()
