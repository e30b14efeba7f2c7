"""Key capture inside a wolfSSL 5.5.4 program (shim/wolfssl.c): Debian's
build has no key-log callback, so TLS 1.2 secrets are read through its
session-key callback, which hands the key derivation back to wolfSSL.  A
TLS 1.2 mTLS client against s_server, with no key log anywhere: its
Finished messages and alerts are decrypted; a session-key callback of the
program's own is called as without tlstrace (same count, same argument);
nothing of tlstrace's on stderr.  A TLS 1.3 connection, whose secrets
this wolfSSL gives to nothing: keys missing, and at level debug the
summary's keys_note says which way this wolfSSL's keys come."""
import os

from tlslib import *

CLIENT = os.path.join(BUILD, "tools", "wolfssl_client")
PRINTS = {"none": b"session_key calls=0 arg=intact response=yes\n",
          "own": b"session_key calls=1 arg=intact response=yes\n",
          "tls13": b"session_key calls=0 arg=intact response=yes\n"}
NOTE = ("wolfSSL: this build has no key-log callback; TLS 1.2 secrets are read "
        "through its session-key callback, TLS 1.3 connections are decrypted only "
        "from a key log file")


def no_keylog_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG", "TLSTRACE_KEYLOG_OUT")}


def one_run(mode, traced_level=None):
    version = "-tls1_3" if mode == "tls13" else "-tls1_2"
    srv, port, _ = s_server(mtls_server_args(version=version) + ["-naccept", "1"])
    cmd = [CLIENT, str(port), cert("client.pem"), cert("client.key"), mode]
    try:
        if traced_level:
            return traced(cmd, level=traced_level, env=no_keylog_env())
        return run(cmd, env=no_keylog_env()), None
    finally:
        stop(srv)


for mode in ("none", "own"):
    r, _ = one_run(mode)
    ok("%s, untraced: what the program prints" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout, r.stderr[-400:]))
    r, log = one_run(mode, "debug")
    ok("%s, traced: the same" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout, r.stderr[-400:]))
    ok("%s, traced at debug: nothing on stderr" % mode, r.stderr == b"", r.stderr)
    objs = parse_json_log(log, "wolfssl json, " + mode)
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

# TLS 1.3: no secrets from this wolfSSL, and the note says so at debug
for level in ("debug", "info"):
    r, log = one_run("tls13", level)
    ok("tls13, traced at %s: what the program prints, nothing on stderr" % level,
       r.returncode == 0 and r.stdout == PRINTS["tls13"] and r.stderr == b"",
       (r.returncode, r.stdout, r.stderr[-400:]))
    sm = events(parse_json_log(log, "wolfssl json, tls13 " + level), "summary")
    want = NOTE if level == "debug" else None
    ok("tls13, traced at %s: summary TLS 1.3, keys missing, keys_note %s"
       % (level, "says which way this wolfSSL's keys come" if want else "absent"),
       len(sm) == 1 and sm[0]["version"] == "TLS 1.3" and sm[0].get("keys") == "missing"
       and sm[0].get("keys_note") == want, sm)

# at the default level nothing is written on stderr either
r, log = one_run("none", "info")
ok("info: no line about this wolfSSL", r.returncode == 0 and r.stderr == b"", r.stderr)
finish()
