"""Key capture inside an mbedTLS 2.28 program (shim/mbedtls.c): a TLS 1.2
mTLS client with export-keys callbacks of its own, against s_server, with
no key log anywhere.  Its callbacks are called as without tlstrace (same
count, same argument, same order), and the handshake's Finished messages
and the alerts are decrypted with the master secret captured from
mbedTLS.  The same with only the ext callback set, and with none."""
import os

from tlslib import *

CLIENT = os.path.join(BUILD, "tools", "mbedtls_client")
SAME = b"export_keys calls=1 export_keys_ext calls=1 arg=intact order=ok response=yes\n"
# what each mode prints, traced or not
PRINTS = {"both": SAME,
          "ext": b"export_keys calls=0 export_keys_ext calls=1 arg=intact order=ok response=yes\n",
          "none": b"export_keys calls=0 export_keys_ext calls=0 arg=intact order=ok response=yes\n"}


def no_keylog_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG", "TLSTRACE_KEYLOG_OUT")}
    env.update(extra)
    return env


def one_run(traced_fmt=None, env=None, mode="both", level="info"):
    """The client against an s_server asking for a client certificate (one
    connection), traced at level; returns (CompletedProcess, log text or
    None)."""
    srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"])
    cmd = [CLIENT, str(port), cert("client.pem"), cert("client.key"), mode]
    try:
        if traced_fmt:
            return traced(cmd, fmt=traced_fmt, env=env, level=level)
        return run(cmd, env=env), None
    finally:
        stop(srv)


# --- untraced: what the program's own callbacks see
r, _ = one_run(env=no_keylog_env())
ok("untraced: the exchange went through, each callback once, argument intact",
   r.returncode == 0 and r.stdout == SAME, (r.returncode, r.stdout, r.stderr[-400:]))

# --- traced, no key flag, no key log
r, log = one_run("json", env=no_keylog_env())
ok("traced: the program's callbacks called as untraced (once each, its argument, in order)",
   r.returncode == 0 and r.stdout == SAME, (r.returncode, r.stdout, r.stderr[-400:]))
objs = parse_json_log(log, "mbedtls json")
fins = [(o["dir"], o.get("decrypted"), o.get("inferred")) for o in events(objs, "finished")]
ok("traced: both Finished decrypted, not inferred",
   fins == [("out", True, None), ("in", True, None)], fins)
als = [(o["dir"], o["alert_level"], o["alert"], o["alert_code"], o.get("decrypted"))
       for o in events(objs, "alert")]
ok("traced: both close_notify alerts decrypted",
   als == [("in", "warning", "close_notify", 0, True),
           ("out", "warning", "close_notify", 0, True)], als)
crs = events(objs, "certificate_request", dir="in")
ok("traced: the certificate_request with its CA names",
   len(crs) == 1 and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
cc = events(objs, "certificate", dir="out")
ok("traced: the client certificate sent", len(cc) == 1 and cc[0].get("subject") == CLIENT_SUBJECT, cc)
ok("traced: no decode_error", events(objs, "decode_error") == [], events(objs, "decode_error"))
sm = events(objs, "summary")
ok("traced: summary keys used, both alerts",
   len(sm) == 1 and sm[0].get("keys") == "used" and sm[0]["version"] == "TLS 1.2"
   and sm[0]["alerts"] == ["in warning close_notify", "out warning close_notify"], sm)

# --- traced at debug: keys used, so no keys_note, and nothing of
# tlstrace's on stderr
r, log = one_run("json", env=no_keylog_env(), level="debug")
ok("debug: the program's callbacks called as untraced, no line of tlstrace's on stderr",
   r.returncode == 0 and r.stdout == SAME and b"tlstrace" not in r.stderr,
   (r.returncode, r.stdout, r.stderr[-400:]))
sm = events(parse_json_log(log, "mbedtls json, debug"), "summary")
ok("debug: summary keys used, no keys_note",
   len(sm) == 1 and sm[0].get("keys") == "used" and "keys_note" not in sm[0], sm)

# --- traced, decryption off: nothing of ours is put, the callbacks as ever
r, log = one_run("json", env=no_keylog_env(TLSTRACE_DECRYPT="off"))
ok("decryption off: the program's callbacks called as untraced",
   r.returncode == 0 and r.stdout == SAME, (r.returncode, r.stdout, r.stderr[-400:]))
objs = parse_json_log(log, "mbedtls json, decryption off")
fins = [(o["dir"], o.get("encrypted"), o.get("inferred")) for o in events(objs, "finished")]
ok("decryption off: both Finished inferred from the encrypted records",
   fins == [("out", True, True), ("in", True, True)], fins)

# --- the other ways a program sets them: the ext callback alone, none
for mode in ("ext", "none"):
    r, _ = one_run(env=no_keylog_env(), mode=mode)
    ok("%s, untraced: what the program prints" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout))
    r, log = one_run("json", env=no_keylog_env(), mode=mode)
    ok("%s, traced: the same" % mode,
       r.returncode == 0 and r.stdout == PRINTS[mode], (r.returncode, r.stdout))
    objs = parse_json_log(log, "mbedtls json, " + mode)
    dec = [(o["event"], o["dir"], o.get("decrypted")) for o in objs
           if o["event"] in ("finished", "alert")]
    sm = events(objs, "summary")
    ok("%s, traced: Finished and alerts decrypted, keys used" % mode,
       dec == [("finished", "out", True), ("finished", "in", True),
               ("alert", "in", True), ("alert", "out", True)]
       and len(sm) == 1 and sm[0].get("keys") == "used", (dec, sm))
finish()
