"""Renegotiation without keys: HelloRequest, the answer (accepted or
refused), resets and closes, the summary, and the diagnoses, against an
IIS-style server (tests/tools/iis_server.c), openssl s_server's `R`
command, curl, and gnutls-cli without secure renegotiation."""
import os
import sys

from tlslib import *

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import doccheck  # noqa: E402  (the registry of event names)

# What is inferred from record sizes and order, with decryption off (a
# peer whose keys cannot be had); test_decrypt.py has the same exchanges
# decrypted.
os.environ["TLSTRACE_DECRYPT"] = "off"

IIS = os.path.join(BUILD, "tools", "iis_server")
RENEG = ("hello_request", "renegotiation", "alert", "connection_reset",
         "connection_closed", "diagnosis", "summary")


def iis_server(traced_log=None, extra=(), cert_key=None):
    crt, key = cert_key or (cert("server.pem"), cert("server.key"))
    cmd = [IIS, "-cert", crt, "-key", key,
           "-chain", cert("inter.pem"), "-CAfile", cert("cas.pem"), "-naccept", "1"] + list(extra)
    if traced_log:
        cmd = launcher_cmd({"log": traced_log, "format": "json"}) + cmd
    p, out = spawn(cmd)
    m = wait_for(out, r"ACCEPT 127\.0\.0\.1:(\d+)", proc=p)
    if not m:
        raise RuntimeError("iis_server did not start: %r" % open(out).read())
    return p, int(m.group(1)), out


def s_client(port, refuse, with_cert=True):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
           "-CAfile", cert("root.pem"), "-servername", "localhost"]
    if refuse:
        cmd.append("-no_renegotiation")
    if with_cert:
        cmd += ["-cert", cert("client.pem"), "-key", cert("client.key")]
    return cmd


GET = b"GET / HTTP/1.0\r\n\r\n"


def summary_of(objs):
    s = events(objs, "summary")
    return s[0] if len(s) == 1 else {}


def diag(objs):
    return [o.get("code") for o in events(objs, "diagnosis")]


# --- 1. IIS-style server, client refuses: traced in the client
srv, port, sout = iis_server()
log = new_log()
rc, out = interact(launcher_cmd({"log": log}) + s_client(port, refuse=True), GET)
stop(srv)
objs = parse_json_log(read_log(log), "iis refuse, client")
seq = order(objs, RENEG)
ok("iis refuse, client: hello_request, refusal alert, reset, IIS diagnosis in order",
   subsequence(seq, ["in hello_request", "out alert", "in connection_reset", "in diagnosis"]), seq)
al = events(objs, "alert", dir="out")
ok("iis refuse, client: the alert is a warning no_renegotiation, inferred",
   len(al) == 1 and al[0]["alert"] == "no_renegotiation" and al[0]["alert_level"] == "warning"
   and al[0].get("inferred") and al[0].get("encrypted") and "evidence" in al[0], al)
rs = events(objs, "connection_reset")
ok("iis refuse, client: reset by peer with ECONNRESET",
   len(rs) == 1 and rs[0]["how"] == "reset_by_peer" and rs[0]["errno"] == "ECONNRESET"
   and isinstance(rs[0].get("since_last_us"), int), rs)
ok("iis refuse, client: IIS-style diagnosis", diag(objs) == ["renegotiation_refused_then_reset"],
   events(objs, "diagnosis"))
sm = summary_of(objs)
ok("iis refuse, client: summary says refused and reset",
   sm.get("renegotiation") == "refused" and sm.get("renegotiations") == 1
   and sm.get("ended", "").startswith("reset (ECONNRESET"), sm)

# --- 1a. the same, traced with -e summary,diagnosis: a fleet that keeps
# only what matters gets exactly those two lines, each the same as in the
# run without the filter (field for field but for the run's own: time,
# ids, ports, duration).  The server signs with an RSA key here: an ECDSA
# signature's length varies from run to run, and bytes_in with it.
RUN_FIELDS = ("ts", "pid", "tid", "local", "peer", "duration_us")
RSA = (os.path.join(tmpdir(), "rsa.pem"), os.path.join(tmpdir(), "rsa.key"))
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", RSA[1],
                "-out", RSA[0], "-subj", "/CN=localhost", "-days", "2"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def iis_refusal_client(launcher_opts=(), env=None):
    """The log of case 1 with the RSA server, the client traced (through
    the launcher, with launcher_opts; or, with env, preloaded by hand), and
    the client's output."""
    srv, port, sout = iis_server(cert_key=RSA)
    log = new_log()
    if env is None:
        cmd = launcher_cmd({"log": log})
        cmd = cmd[:1] + list(launcher_opts) + cmd[1:]
    else:
        env = dict(env, LD_PRELOAD=LIB, TLSTRACE_LOG=log, TLSTRACE_FORMAT="json")
        cmd = []
    rc, out = interact(cmd + s_client(port, refuse=True), GET, env=env)
    stop(srv)
    return read_log(log), out


def same_but_run(a, b):
    """Fields on which two lines of two runs differ, the run's own aside."""
    keys = sorted((set(a) | set(b)) - set(RUN_FIELDS))
    return [k for k in keys if a.get(k) != b.get(k)]


whole = parse_json_log(iis_refusal_client()[0], "iis refuse, client, all events")
kept = [o for o in whole if o["event"] in ("summary", "diagnosis")]
text, out = iis_refusal_client(["-e", "summary,diagnosis"])
got = parse_json_log(text, "iis refuse, client, -e summary,diagnosis")
ok("-e summary,diagnosis: exactly the diagnosis and the summary",
   [o["event"] for o in got] == ["diagnosis", "summary"], [o["event"] for o in got])
ok("-e summary,diagnosis: the unfiltered run has them too, with more around them",
   [o["event"] for o in kept] == ["diagnosis", "summary"] and len(whole) > 6,
   [o["event"] for o in whole])
diffs = [same_but_run(a, b) for a, b in zip(kept, got)]
ok("-e summary,diagnosis: each line as without -e, field by field",
   len(got) == len(kept) and diffs == [[], []], (diffs, kept, got))
ok("-e summary,diagnosis: the IIS-style diagnosis, the summary of a refused renegotiation",
   len(got) == 2 and got[0]["code"] == "renegotiation_refused_then_reset"
   and got[1]["renegotiation"] == "refused" and got[1]["renegotiations"] == 1
   and got[1]["alerts"] == ["out warning no_renegotiation (inferred)"]
   and got[1]["ended"].startswith("reset (ECONNRESET"), got)
ok("-e summary,diagnosis: nothing on stderr from tlstrace",
   b"tlstrace" not in out, out[-2000:])

# TLSTRACE_EVENTS by hand, with a name that is not an event: one stderr
# line names it with the valid names; the valid ones still filter
text, out = iis_refusal_client(env=dict(os.environ, TLSTRACE_EVENTS="summary,bogus, diagnosis"))
got = parse_json_log(text, "TLSTRACE_EVENTS with an unknown name")
said = [l for l in out.decode(errors="replace").splitlines() if l.startswith("tlstrace")]
ok("TLSTRACE_EVENTS with an unknown name: one stderr line naming it and the valid names",
   said == ["tlstrace: TLSTRACE_EVENTS='summary,bogus, diagnosis' has unknown event name "
            "bogus (valid: %s); using the other names" % ", ".join(sorted(doccheck.registry()))],
   said)
ok("TLSTRACE_EVENTS with an unknown name: the valid names still filter",
   [o["event"] for o in got] == ["diagnosis", "summary"], [o["event"] for o in got])
diffs = [same_but_run(a, b) for a, b in zip(kept, got)]
ok("TLSTRACE_EVENTS with an unknown name: each line as without the filter",
   len(got) == len(kept) and diffs == [[], []], (diffs, kept, got))

# --- 2. the same, traced in the server
slog = new_log()
srv, port, sout = iis_server(traced_log=slog)
rc, out = interact(s_client(port, refuse=True), GET)
srv.wait(timeout=10) if srv.poll() is None else None
stop(srv)
objs = parse_json_log(read_log(slog), "iis refuse, server")
seq = order(objs, RENEG)
ok("iis refuse, server: hello_request out, refusal in, local abort, diagnosis, summary",
   seq == ["out hello_request", "out renegotiation", "in alert", "in renegotiation",
           "out connection_reset", "out diagnosis", "out summary"], seq)
rs = events(objs, "connection_reset")
ok("iis refuse, server: local abort (SO_LINGER 0), the unread alert noted",
   len(rs) == 1 and rs[0]["how"] == "local_abort" and rs[0].get("unread_bytes", 0) > 0, rs)
ok("iis refuse, server: IIS-style diagnosis", diag(objs) == ["renegotiation_refused_then_reset"])
sm = summary_of(objs)
ok("iis refuse, server: summary", sm.get("renegotiation") == "refused"
   and sm.get("ended") == "reset by this process (SO_LINGER 0)", sm)

# --- 3. IIS-style server, clients that accept: s_client and curl, both sides
for name, mk in (
        ("s_client", lambda port: s_client(port, refuse=False)),
        ("curl", lambda port: ["curl", "-sS", "--max-time", "10", "--cacert", cert("root.pem"),
                               "--cert", cert("client.pem"), "--key", cert("client.key"),
                               "--resolve", "localhost:%d:127.0.0.1" % port,
                               "https://localhost:%d/" % port])):
    if name == "curl" and missing("curl"):
        skip("iis accept curl, client and server sides", missing("curl"))
        continue
    for side in ("client", "server"):
        clog, slog = new_log(), new_log()
        srv, port, sout = iis_server(traced_log=slog if side == "server" else None)
        cmd = mk(port)
        if side == "client":
            cmd = launcher_cmd({"log": clog}) + cmd
        rc, out = interact(cmd, GET if name == "s_client" else b"")
        srv.wait(timeout=10) if srv.poll() is None else None
        stop(srv)
        objs = parse_json_log(read_log(clog if side == "client" else slog),
                              "iis accept %s, %s" % (name, side))
        ok("iis accept %s, %s: the server saw the client certificate" % (name, side),
           b"RENEGOTIATED client /O=Example/CN=tlstrace client" in open(sout, "rb").read())
        rn = [o["phase"] for o in events(objs, "renegotiation")]
        hr = events(objs, "hello_request")
        ok("iis accept %s, %s: hello_request, renegotiation requested, started, completed"
           % (name, side), len(hr) == 1 and rn == ["requested", "started", "completed"],
           order(objs, RENEG))
        sm = summary_of(objs)
        ok("iis accept %s, %s: summary says completed" % (name, side),
           sm.get("renegotiation") == "completed" and sm.get("renegotiations") == 1, sm)
        ok("iis accept %s, %s: no diagnosis" % (name, side), diag(objs) == [], diag(objs))

# --- 4. openssl s_server's R command (FIFO-driven), traced client accepting / refusing
for refuse in (False, True):
    d = tmpdir()
    srv, port, sout, fdin = fifo_s_server([
        "-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
        "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"),
        "-no_resumption_on_reneg", "-naccept", "1"])
    log = new_log()
    cmd = launcher_cmd({"log": log}) + s_client(port, refuse=refuse)
    fd, cout = tempfile.mkstemp(dir=d)
    cli = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=fd, stderr=subprocess.STDOUT,
                           start_new_session=True)
    track(cli)
    os.close(fd)
    up = wait_for(sout, r"CIPHER is", timeout=10)
    os.write(fdin, b"R\n")
    if not refuse:
        wait_for(log, r'"phase":"completed"', timeout=10)
        os.write(fdin, b"Q\n")
    try:
        cli.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    cli.stdin.close()
    stop(cli)
    stop(srv)
    os.close(fdin)
    name = "s_server R, client %s" % ("refuses" if refuse else "accepts")
    objs = parse_json_log(read_log(log), name)
    rn = [o["phase"] for o in events(objs, "renegotiation")]
    sm = summary_of(objs)
    if refuse:
        ok("%s: requested then refused" % name, rn == ["requested", "refused"], order(objs, RENEG))
        seq = order(objs, RENEG)
        ok("%s: the server's fatal alert, the OpenSSL-style diagnosis at once, then the close" % name,
           subsequence(seq, ["in hello_request", "out alert", "in alert", "in diagnosis",
                             "in connection_closed"]), seq)
        ok("%s: diagnosis is OpenSSL-style, not IIS" % name,
           diag(objs) == ["renegotiation_refused_then_alert"], diag(objs))
        fa = [o for o in events(objs, "alert", dir="in")]
        ok("%s: the server's alert inferred fatal" % name,
           len(fa) == 1 and fa[0]["alert_level"] == "fatal" and fa[0].get("inferred"), fa)
        ok("%s: summary says refused, closed by the peer" % name,
           sm.get("renegotiation") == "refused" and sm.get("ended") == "closed by the peer", sm)
    else:
        ok("%s: requested, started, completed" % name,
           rn == ["requested", "started", "completed"], order(objs, RENEG))
        ok("%s: summary says completed" % name, sm.get("renegotiation") == "completed", sm)
        # s_server's Q command closes the socket without close_notify
        ok("%s: only the truncation diagnosis (s_server Q sends no close_notify)" % name,
           diag(objs) == ["closed_without_close_notify"], diag(objs))

# --- 4a. a client that refuses and exits with the connection still open
# (a second descriptor keeps it open past the socket object's close): the
# diagnosis comes with the server's fatal alert, before the summary
# written at exit.
EXITER = r"""
import os, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options |= ssl.OP_NO_RENEGOTIATION
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
keep = os.dup(t.fileno())
print("up", flush=True)
try:
    while t.recv(100):
        pass
    print("eof", flush=True)
except (ssl.SSLError, OSError) as e:
    print("error", type(e).__name__, flush=True)
sys.exit(0)
"""
d = tmpdir()
script = os.path.join(d, "exiter.py")
with open(script, "w") as f:
    f.write(EXITER)
srv, port, sout, fdin = fifo_s_server([
    "-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
    "-cert_chain", cert("inter.pem"), "-no_resumption_on_reneg", "-naccept", "1"])
log = new_log()
fd, cout = tempfile.mkstemp(dir=d)
cli = subprocess.Popen(launcher_cmd({"log": log}) + [sys.executable, script, str(port)],
                       stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
                       start_new_session=True)
track(cli)
os.close(fd)
wait_for(cout, r"^up", timeout=10)
wait_for(sout, r"CIPHER is", timeout=10)
os.write(fdin, b"R\n")
try:
    rc = cli.wait(timeout=15)
except subprocess.TimeoutExpired:
    rc = None
stop(cli)
stop(srv)
os.close(fdin)
name = "client refusing, exiting with the connection open"
with open(cout) as f:
    said = f.read()
ok("%s: the client saw the server end it and exited 0" % name,
   rc == 0 and "error SSLError" in said, (rc, said))
objs = parse_json_log(read_log(log), name)
seq = order(objs, RENEG + ("summary",))
ok("%s: refusal, the server's fatal alert, the diagnosis, then the summary" % name,
   subsequence(seq, ["in hello_request", "out alert", "in alert", "in diagnosis",
                     "out summary"]) and "in connection_closed" not in seq
   and "out connection_closed" not in seq, seq)
ok("%s: the diagnosis is renegotiation_refused_then_alert" % name,
   diag(objs) == ["renegotiation_refused_then_alert"], diag(objs))
sm = summary_of(objs)
ok("%s: summary says refused, open at process exit" % name,
   sm.get("renegotiation") == "refused" and sm.get("ended") == "open at process exit", sm)

# --- 4b. a NULL cipher: the renegotiation is in the clear, decoded exactly
NULL = ["-cipher", "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"]
for refuse in (True, False):
    srv, port, sout = iis_server(extra=NULL)
    log = new_log()
    rc, out = interact(launcher_cmd({"log": log}) + s_client(port, refuse=refuse) + NULL, GET)
    stop(srv)
    name = "NULL cipher, client %s" % ("refuses" if refuse else "accepts")
    objs = parse_json_log(read_log(log), name)
    hr = events(objs, "hello_request", dir="in")
    ok("%s: hello_request decoded, not inferred" % name,
       len(hr) == 1 and "inferred" not in hr[0] and "encrypted" not in hr[0], hr)
    if refuse:
        al = events(objs, "alert", dir="out")
        ok("%s: the refusal alert decoded exactly" % name,
           len(al) == 1 and al[0]["alert"] == "no_renegotiation"
           and al[0]["alert_level"] == "warning" and "inferred" not in al[0], al)
        ok("%s: IIS-style diagnosis" % name, diag(objs) == ["renegotiation_refused_then_reset"])
    else:
        crs = events(objs, "certificate_request")
        ok("%s: the renegotiation's CertificateRequest with its CA names" % name,
           len(crs) == 1 and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
        ch = events(objs, "client_hello", dir="out")
        ok("%s: two client_hello, the second with renegotiation_info" % name,
           len(ch) == 2 and ch[1]["renegotiation_info"] is True, ch)
        rn = [o["phase"] for o in events(objs, "renegotiation")]
        ok("%s: requested, started, completed" % name,
           rn == ["requested", "started", "completed"], rn)

# --- 5. client certificate requested but not sent
srv, port, _ = s_server(["-tls1_2", "-verify", "1", "-cert", cert("server.pem"),
                         "-key", cert("server.key"), "-cert_chain", cert("inter.pem"),
                         "-CAfile", cert("cas.pem"), "-www", "-naccept", "1"])
r, log = traced(s_client(port, refuse=False, with_cert=False), input=GET)
stop(srv)
objs = parse_json_log(log, "no client cert")
dg = events(objs, "diagnosis")
ok("no client cert: one diagnosis naming both CA names",
   len(dg) == 1 and dg[0]["code"] == "client_certificate_not_sent"
   and '"CN=K-Dot Certificate Authority", "CN=The Roots Authority"' in dg[0]["message"], dg)
sm = summary_of(objs)
ok("no client cert: summary says requested, not sent",
   sm.get("client_auth_requested") is True and sm.get("ca_count") == 2
   and sm.get("client_cert_sent") is False, sm)

# --- 6. a peer without secure renegotiation (gnutls-cli)
why = missing("gnutls-cli")
if why:
    skip("gnutls insecure: no renegotiation_info nor SCSV offered, the warning", why)
else:
    srv, port, _ = s_server(["-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
                             "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
    r, log = traced(["gnutls-cli", "--priority", "NORMAL:%DISABLE_SAFE_RENEGOTIATION",
                     "--x509cafile", cert("root.pem"), "--verify-hostname", "localhost",
                     "-p", str(port), "127.0.0.1"], input=GET, timeout=20)
    stop(srv)
    objs = parse_json_log(log, "gnutls insecure")
    ch = events(objs, "client_hello", dir="out")
    ok("gnutls insecure: the client offered neither renegotiation_info nor the SCSV",
       len(ch) == 1 and ch[0]["renegotiation_info"] is False and ch[0]["scsv"] is False, ch)
    dg = events(objs, "diagnosis")
    ok("gnutls insecure: the insecure-renegotiation warning",
       len(dg) == 1 and dg[0]["code"] == "insecure_renegotiation" and dg[0]["level"] == "warn", dg)
finish()
