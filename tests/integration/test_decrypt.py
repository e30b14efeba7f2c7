"""Decryption with secrets captured inside the traced process: TLS 1.3 mTLS
(client and server side), curl through the SSL_new hook, gnutls-cli and
python through their own key logs (tlstrace -K), the IIS-style
renegotiation with AES-GCM and ChaCha20-Poly1305, s_server's R, TLS 1.3
KeyUpdate, NewSessionTicket and post-handshake authentication, a key log
exported with -w that tshark uses, SSL_get_error() of a non-blocking
client unchanged, and no libcrypto in a process that never speaks TLS."""
import os

from tlslib import *

IIS = os.path.join(BUILD, "tools", "iis_server")
NBCLIENT = os.path.join(BUILD, "tools", "nbclient")
GET = b"GET / HTTP/1.0\r\n\r\n"
HS13 = ("encrypted_extensions", "certificate_request", "certificate",
        "certificate_verify", "finished")


def s_client13(port, extra=()):
    return ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
            "-CAfile", cert("root.pem"), "-servername", "localhost",
            "-cert", cert("client.pem"), "-key", cert("client.key")] + list(extra)


def gnutls13(port):
    return ["gnutls-cli", "--x509cafile", cert("root.pem"), "--verify-hostname", "localhost",
            "--x509certfile", cert("client.pem"), "--x509keyfile", cert("client.key"),
            "-p", str(port), "127.0.0.1"]


def traced_vs_mtls13(client, **kw):
    """Runs client(port) traced against an s_server asking for a client
    certificate in TLS 1.3 (one connection), which is stopped after;
    returns what traced() does."""
    srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
    try:
        return traced(client(port), **kw)
    finally:
        stop(srv)


def all_decrypted(objs, names):
    evs = [o for o in objs if o["event"] in names]
    return bool(evs) and all(o.get("decrypted") is True for o in evs), evs


def check_tls13(objs, name, s2c, c2s, ca_names=True):
    crs = events(objs, "certificate_request", dir=s2c)
    want = [K_DOT, ROOTS] if ca_names else []
    ok("%s: certificate_request decrypted, ca_count %d, the DN strings" % (name, len(want)),
       len(crs) == 1 and crs[0]["ca_count"] == len(want) and crs[0]["ca_names"] == want
       and crs[0].get("decrypted") is True and crs[0]["version"] == "TLS 1.3", crs)
    ok("%s: encrypted_extensions" % name, len(events(objs, "encrypted_extensions", dir=s2c)) == 1,
       order(objs, HS13))
    sc = events(objs, "certificate", dir=s2c)
    cc = events(objs, "certificate", dir=c2s)
    ok("%s: server and client certificate subjects" % name,
       len(sc) == 1 and sc[0].get("subject") == "CN=localhost"
       and len(cc) == 1 and cc[0].get("subject") == CLIENT_SUBJECT, sc + cc)
    seq = order(objs, HS13)
    ok("%s: the encrypted handshake in order" % name, seq == [
        s2c + " encrypted_extensions", s2c + " certificate_request", s2c + " certificate",
        s2c + " certificate_verify", s2c + " finished", c2s + " certificate",
        c2s + " certificate_verify", c2s + " finished"], seq)
    good, evs = all_decrypted(objs, HS13)
    ok("%s: every one of them \"decrypted\": true" % name, good, evs)
    ok("%s: no decode_error" % name, events(objs, "decode_error") == [], events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s: summary keys used" % name, len(sm) == 1 and sm[0].get("keys") == "used", sm)


# --- 1. TLS 1.3 mTLS, s_server -Verify 1 and s_client, no key file given
for ca_names in (True, False):
    tag = "ca names" if ca_names else "-no_ca_names"
    srv, port, _ = s_server(mtls_server_args(ca_names=ca_names, version="-tls1_3")
                            + ["-naccept", "1"])
    r, log = traced(s_client13(port), input=GET)
    stop(srv)
    check_tls13(parse_json_log(log, "1.3 client " + tag), "1.3 mTLS client, " + tag,
                "in", "out", ca_names)

slog = new_log()
srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"],
                        traced={"log": slog})
rc, out = interact(s_client13(port), GET)
srv.wait(timeout=10) if srv.poll() is None else None
stop(srv)
check_tls13(parse_json_log(read_log(slog), "1.3 server"), "1.3 mTLS server", "out", "in")

# --- 2. curl through the SSL_new hook; its own SSLKEYLOGFILE still written
why = missing("curl")
if why:
    skip("curl (SSL_new hook): TLS 1.3 mTLS decrypted; its own key log still written", why)
else:
    own = os.path.join(tmpdir(), "curl-own.keys")
    env = dict(os.environ, SSLKEYLOGFILE=own)
    r, log = traced_vs_mtls13(
        lambda port: ["curl", "-sS", "--max-time", "10", "--cacert", cert("root.pem"),
                      "--cert", cert("client.pem"), "--key", cert("client.key"),
                      "--resolve", "localhost:%d:127.0.0.1" % port, "https://localhost:%d/" % port],
        env=env)
    objs = parse_json_log(log, "curl")
    check_tls13(objs, "curl (SSL_new hook)", "in", "out")
    try:
        own_text = open(own).read()
    except FileNotFoundError:
        own_text = ""
    ok("curl: its own key log still written (callback chained)",
       "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in own_text and "SERVER_TRAFFIC_SECRET_0" in own_text,
       own_text[:300])

# --- 2b. gnutls-cli and python3 through their own key logs (-K)
NO_GNUTLS = missing("gnutls-cli")
if NO_GNUTLS:
    skip("gnutls-cli -K: TLS 1.3 mTLS decrypted through its own key log", NO_GNUTLS)
else:
    r, log = traced_vs_mtls13(gnutls13, input=GET, timeout=20, opts={"K": True})
    check_tls13(parse_json_log(log, "gnutls"), "gnutls-cli -K", "in", "out")
    # A library that hands its secrets out only through SSLKEYLOGFILE
    # (tools/gnutls_keylog -r: its key-log function set out of the
    # interposer's sight, writing the file itself): the launcher's
    # private key log, made with no option, carries them; --no-keylog
    # leaves it without keys.
    no_env = {k: v for k, v in os.environ.items()
              if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG")}
    unhooked_cmd = lambda port: [os.path.join(BUILD, "tools", "gnutls_keylog"), "-r", str(port),
                                 cert("client.pem"), cert("client.key")]
    r, log = traced_vs_mtls13(unhooked_cmd, timeout=20, env=no_env)
    check_tls13(parse_json_log(log, "keylog-only"),
                "SSLKEYLOGFILE-only client, no option (the launcher's private key log)", "in", "out")
    r, log = traced_vs_mtls13(unhooked_cmd, timeout=20, env=no_env, opts={"no_keylog": True})
    objs = parse_json_log(log, "keylog-only --no-keylog")
    summ = events(objs, "summary")
    # (keys "missing": its GnuTLS sessions were hooked, so secrets were
    # waited for)
    ok("SSLKEYLOGFILE-only client, --no-keylog: nothing decrypted, keys missing",
       r.returncode == 0 and len(summ) == 1 and summ[0].get("keys") == "missing"
       and not [o for o in objs if o.get("decrypted")]
       and not events(objs, "certificate_request"), summ)

PY = r'''
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(4096):
            pass
'''
r, log = traced_vs_mtls13(lambda port: ["python3", "-c", PY, str(port), cert("root.pem"),
                                         cert("client.pem"), cert("client.key")],
                         timeout=20, opts={"K": True})
check_tls13(parse_json_log(log, "python"), "python3 ssl -K", "in", "out")

# python3 without a key log (a plain SSLContext writes none): the SSL_new
# hook reaches its libssl, loaded RTLD_LOCAL, through dlopen(RTLD_NOLOAD)
PY_PLAIN = PY.replace("ssl.create_default_context(cafile=sys.argv[2])",
                      "ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.load_verify_locations(sys.argv[2])")
env = {k: v for k, v in os.environ.items() if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG")}
r, log = traced_vs_mtls13(lambda port: ["python3", "-c", PY_PLAIN, str(port), cert("root.pem"),
                                         cert("client.pem"), cert("client.key")],
                         timeout=20, env=env)
check_tls13(parse_json_log(log, "python hook"), "python3 ssl, SSL_new hook", "in", "out")


# --- 3. IIS-style server: refusal and acceptance decoded exactly, GCM and ChaCha20
def iis_server(extra=()):
    cmd = [IIS, "-cert", cert("server.pem"), "-key", cert("server.key"),
           "-chain", cert("inter.pem"), "-CAfile", cert("cas.pem"), "-naccept", "1"] + list(extra)
    p, out = spawn(cmd)
    m = wait_for(out, r"ACCEPT 127\.0\.0\.1:(\d+)", proc=p)
    if not m:
        raise RuntimeError("iis_server did not start")
    return p, int(m.group(1)), out


for cipher in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
    short = "GCM" if "GCM" in cipher else "ChaCha20"
    srv, port, sout = iis_server()
    log = new_log()
    rc, out = interact(launcher_cmd({"log": log}) + [
        "openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2", "-cipher", cipher,
        "-CAfile", cert("root.pem"), "-servername", "localhost", "-no_renegotiation",
        "-cert", cert("client.pem"), "-key", cert("client.key")], GET)
    stop(srv)
    objs = parse_json_log(read_log(log), "iis refuse " + short)
    hr = events(objs, "hello_request", dir="in")
    ok("iis refuse %s: hello_request decrypted, not inferred" % short,
       len(hr) == 1 and hr[0].get("decrypted") is True and "inferred" not in hr[0], hr)
    al = events(objs, "alert", dir="out")
    ok("iis refuse %s: the warning no_renegotiation decrypted, not inferred" % short,
       len(al) == 1 and al[0]["alert"] == "no_renegotiation" and al[0]["alert_level"] == "warning"
       and al[0].get("decrypted") is True and "inferred" not in al[0], al)
    dg = [o["code"] for o in events(objs, "diagnosis")]
    ok("iis refuse %s: the IIS diagnosis" % short, dg == ["renegotiation_refused_then_reset"], dg)
    sm = events(objs, "summary")
    ok("iis refuse %s: summary cipher and keys used" % short,
       len(sm) == 1 and sm[0]["keys"] == "used" and sm[0]["alerts"] == [
           "out warning no_renegotiation"], sm)

    for client in ("s_client", "curl"):
        if client == "curl" and missing("curl"):
            skip("iis accept curl %s: the renegotiation decrypted" % short, missing("curl"))
            continue
        srv, port, sout = iis_server()
        log = new_log()
        if client == "s_client":
            cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
                   "-cipher", cipher, "-CAfile", cert("root.pem"), "-servername", "localhost",
                   "-cert", cert("client.pem"), "-key", cert("client.key")]
            inp = GET
        else:
            cmd = ["curl", "-sS", "--max-time", "10", "--tlsv1.2", "--tls-max", "1.2",
                   "--ciphers", cipher, "--cacert", cert("root.pem"),
                   "--cert", cert("client.pem"), "--key", cert("client.key"),
                   "--resolve", "localhost:%d:127.0.0.1" % port, "https://localhost:%d/" % port]
            inp = b""
        rc, out = interact(launcher_cmd({"log": log}) + cmd, inp)
        srv.wait(timeout=10) if srv.poll() is None else None
        stop(srv)
        name = "iis accept %s %s" % (client, short)
        objs = parse_json_log(read_log(log), name)
        crs = events(objs, "certificate_request", dir="in")
        # like IIS, the server asks for a certificate only in the renegotiation
        ok("%s: the renegotiation's certificate_request, decrypted, with both CA names" % name,
           len(crs) == 1 and crs[0]["ca_names"] == [K_DOT, ROOTS] and crs[0].get("decrypted") is True,
           crs)
        hr = events(objs, "hello_request", dir="in")
        ok("%s: hello_request decrypted" % name, len(hr) == 1 and hr[0].get("decrypted") is True, hr)
        rn = [o["phase"] for o in events(objs, "renegotiation")]
        ok("%s: requested, started, completed" % name, rn == ["requested", "started", "completed"], rn)
        ok("%s: no decode_error" % name, events(objs, "decode_error") == [], events(objs, "decode_error"))

# --- 3b. s_server's R (FIFO-driven), client accepting: second CertificateRequest
d = tmpdir()
srv, port, sout, fdin = fifo_s_server([
    "-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
    "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"),
    "-no_resumption_on_reneg", "-naccept", "1"])
log = new_log()
cli, cout = spawn(launcher_cmd({"log": log}) + [
    "openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
    "-CAfile", cert("root.pem"), "-servername", "localhost",
    "-cert", cert("client.pem"), "-key", cert("client.key")], stdin=subprocess.PIPE)
wait_for(sout, r"CIPHER is", timeout=10)
os.write(fdin, b"R\n")
wait_for(log, r'"phase":"completed"', timeout=10)
end_with_q(cli, srv, fdin, timeout=15)
objs = parse_json_log(read_log(log), "s_server R")
crs = events(objs, "certificate_request", dir="in")
ok("s_server R: the renegotiation's certificate_request, decrypted, with its CA names",
   len(crs) == 1 and crs[0]["ca_names"] == [K_DOT, ROOTS] and crs[0].get("decrypted") is True, crs)
ok("s_server R: hello_request decrypted",
   [o.get("decrypted") for o in events(objs, "hello_request")] == [True], events(objs, "hello_request"))

# --- 4. TLS 1.3 after the handshake: KeyUpdate k and K, NewSessionTicket, PHA
srv, port, sout, fdin = fifo_s_server([
    "-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
    "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"), "-naccept", "1"])
log = new_log()
cli, cout = spawn(launcher_cmd({"log": log}) + s_client13(port, ["-enable_pha"]),
                  stdin=subprocess.PIPE)
wait_for(sout, r"CIPHER is", timeout=10)
wait_for(log, r'"event":"new_session_ticket"', timeout=10)
# post-handshake authentication first: the server's c
os.write(fdin, b"c\n")
wait_for(log, r'"dir":"out","event":"certificate_verify"', timeout=10)
time.sleep(0.1)
# then KeyUpdate k, and K, whose answer the server owes before its next
# write: the client's line after K shows the server has read the K
cli.stdin.write(b"k\n")
cli.stdin.flush()
wait_for(log, r'"update_not_requested"', timeout=5)
cli.stdin.write(b"K\n")
cli.stdin.flush()
wait_for(log, r'"update_requested"', timeout=5)
cli.stdin.write(b"ping after K\n")
cli.stdin.flush()
wait_for(sout, r"ping after K", timeout=5)
os.write(fdin, b"hello after K\n")
wait_for(log, r'"dir":"in","event":"key_update"', timeout=5)
time.sleep(0.2)
end_with_q(cli, srv, fdin)
objs = parse_json_log(read_log(log), "1.3 post-handshake")
ku = [(o["dir"], o["request_update"]) for o in events(objs, "key_update")]
ok("1.3 post: KeyUpdate k (not requested) and K (requested), and the server's answer",
   ("out", "update_not_requested") in ku and ("out", "update_requested") in ku
   and ("in", "update_not_requested") in ku, ku)
nst = events(objs, "new_session_ticket", dir="in")
ok("1.3 post: NewSessionTickets decrypted",
   len(nst) >= 1 and all(o.get("decrypted") is True for o in nst), nst)
crs = events(objs, "certificate_request", dir="in")
ok("1.3 post: post-handshake certificate_request with both CA names",
   len(crs) == 1 and crs[0]["ca_names"] == [K_DOT, ROOTS] and crs[0].get("decrypted") is True, crs)
cc = events(objs, "certificate", dir="out")
ok("1.3 post: the client's certificate after the handshake",
   len(cc) == 1 and cc[0].get("subject") == CLIENT_SUBJECT and cc[0].get("decrypted") is True, cc)
ok("1.3 post: no decode_error (keys followed across the updates)",
   events(objs, "decode_error") == [], events(objs, "decode_error"))
sm = events(objs, "summary")
ok("1.3 post: summary counts the key updates",
   len(sm) == 1 and sm[0].get("key_updates_out") == 2 and sm[0].get("key_updates_in", 0) >= 1, sm)

# --- 5. -w: tshark decrypts a capture of the same run with the exported key log
NO_TSHARK = missing("tshark") or (None if os.geteuid() == 0 else "capturing on lo needs root")
if not NO_TSHARK:
    srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
    pcap = os.path.join(d, "cap.pcapng")
    keys = os.path.join(d, "exported.keys")
    ts, tout = spawn(["tshark", "-i", "lo", "-f", "tcp port %d" % port, "-w", pcap])
    up = wait_for(tout, r"Capturing on", timeout=15, proc=ts)
    time.sleep(0.5)
    r, log = traced(s_client13(port), input=GET, opts={"w": keys})
    time.sleep(1.0)
    stop(ts)
    stop(srv)
    st = os.stat(keys) if os.path.exists(keys) else None
    ok("-w: key log written 0600", st is not None and (st.st_mode & 0o777) == 0o600,
       st and oct(st.st_mode))
    kt = open(keys).read() if st else ""
    ok("-w: NSS key log lines", all(l.split()[0] in (
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET")
        for l in kt.splitlines()) and len(kt.splitlines()) == 5, kt)
    dec = run(["tshark", "-r", pcap, "-o", "tls.keylog_file:" + keys,
               "-Y", "tls.handshake.type == 13", "-V"], timeout=60)
    nodec = run(["tshark", "-r", pcap, "-Y", "tls.handshake.type == 13"], timeout=60)
    out = dec.stdout.decode("utf-8", "replace")
    ok("-w: tshark decrypts the CertificateRequest with the exported keys (CA names shown)",
       dec.returncode == 0 and "Certificate Request" in out
       and "K-Dot Certificate Authority" in out and "The Roots Authority" in out
       and nodec.stdout.strip() == b"",
       (out[-1500:], dec.stderr[-500:], nodec.stdout[:300]))
else:
    skip("-w: tshark decrypts a capture with the exported key log", NO_TSHARK)

# --- 7. the host's view of libcrypto: SSL_get_error() unchanged, no libcrypto without TLS
results = []
for traced_run in (False, True):
    srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
    cmd = [NBCLIENT, str(port), cert("root.pem"), cert("client.pem"), cert("client.key")]
    if traced_run:
        r, log = traced(cmd)
    else:
        r = run(cmd)
        log = ""
    stop(srv)
    results.append((r.returncode, r.stdout.decode()))
    if traced_run:
        objs = parse_json_log(log, "nbclient")
        ok("nbclient traced: decrypted the certificate_request",
           [o.get("decrypted") for o in events(objs, "certificate_request")] == [True], log[-500:])


def nb_phases(text):
    """Per phase: the SSL_get_error() values other than WANT_READ/WANT_WRITE
    (how often a non-blocking call has to wait depends on timing), the
    last value, and whether the error queue stayed clean."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\w+): seen=([\d,]+) last=(\d+) queue_clean=(\d)", line)
        if m:
            seen = [int(x) for x in m.group(2).split(",") if int(x) not in (2, 3)]
            out[m.group(1)] = (seen, int(m.group(3)), m.group(4) == "1")
    return out


a, b = nb_phases(results[0][1]), nb_phases(results[1][1])
ok("nbclient: same SSL_get_error() results traced and untraced (besides how often to wait)",
   results[0][0] == results[1][0] == 0 and a == b and set(a) == {"connect", "write", "read"},
   results)
ok("nbclient: never SSL_ERROR_SSL, error queue clean after every call, traced",
   bool(b) and all(1 not in v[0] and v[2] for v in b.values()), results[1])

MAPS = r'''
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
while s.recv(4096):
    pass
print("libcrypto" in open("/proc/self/maps").read())
'''
http = subprocess.Popen(["python3", "-m", "http.server", "--bind", "127.0.0.1", "0"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
track(http)
line = http.stdout.readline().decode()
hport = int(re.search(r"port (\d+)", line).group(1))
plain = run(["python3", "-c", MAPS, str(hport)]).stdout.strip()
r, log = traced(["python3", "-c", MAPS, str(hport)])
stop(http)
ok("no TLS: untraced python has no libcrypto mapped (baseline)", plain == b"False", plain)
ok("no TLS: traced python has no libcrypto mapped either", r.stdout.strip() == b"False", r.stdout)

# --- 8. key sources that misbehave: the host is undisturbed, tlstrace says so.
# The client is tools/gnutls_keylog -r: a GnuTLS client that sets its own
# key-log function (writing $SSLKEYLOGFILE) through libgnutls's own entry
# point, out of the interposer's sight, so that its secrets reach
# tlstrace only through the key log file.
GNUTLS_KEYLOG = os.path.join(BUILD, "tools", "gnutls_keylog")


def unhooked(port):
    return [GNUTLS_KEYLOG, "-r", str(port), cert("client.pem"), cert("client.key")]


if NO_GNUTLS:
    skip("gnutls-cli with a big, a FIFO and a garbage key log: the host undisturbed", NO_GNUTLS)
else:
    # a big key log (2 MiB of comments first) written by the client itself
    big = os.path.join(d, "big.keys")
    with open(big, "w") as f:
        f.write(("# " + "x" * 1000 + "\n") * 2048)
    env = dict(os.environ, SSLKEYLOGFILE=big, TLSTRACE_KEYLOG=big)
    r, log = traced_vs_mtls13(unhooked, timeout=20, env=env)
    objs = parse_json_log(log, "gnutls big key log")
    crs = events(objs, "certificate_request")
    ok("big key log: read from its tail, the CertificateRequest decrypted",
       len(crs) == 1 and crs[0].get("decrypted") is True and crs[0]["ca_count"] == 2, crs)

    # a FIFO as the key log, garbage in it: no hang, the connection traced without keys
    fifo_kl = os.path.join(d, "kl-fifo")
    os.mkfifo(fifo_kl)
    env = dict(os.environ, TLSTRACE_KEYLOG=fifo_kl, TLSTRACE_DECRYPT="on")
    t0 = time.time()
    r, log = traced_vs_mtls13(unhooked, timeout=20, env=env)
    objs = parse_json_log(log, "fifo key log")
    sm = events(objs, "summary")
    ok("FIFO key log: the GnuTLS client finished as usual, no decryption, keys missing in the summary",
       r.returncode == 0 and time.time() - t0 < 15 and events(objs, "certificate_request") == []
       and len(sm) == 1 and sm[0].get("keys") == "missing", (r.returncode, sm))

    garbage = os.path.join(d, "garbage.keys")
    with open(garbage, "wb") as f:
        f.write(b"CLIENT_RANDOM zz 00\n\xff\xfe\x00garbage\nSERVER_HANDSHAKE_TRAFFIC_SECRET "
                + b"00" * 32 + b" " + b"11" * 7 + b"\n" + b"A" * 100000 + b"\n")
    env = dict(os.environ, TLSTRACE_KEYLOG=garbage)
    r, log = traced_vs_mtls13(unhooked, timeout=20, env=env)
    objs = parse_json_log(log, "garbage key log")
    sm = events(objs, "summary")
    ok("garbage key log: the GnuTLS client unaffected, traced without keys",
       r.returncode == 0 and len(sm) == 1 and sm[0].get("keys") == "missing"
       and events(objs, "decode_error") == [], (r.returncode, sm, events(objs, "decode_error")))

# an export path that cannot be created: one line on stderr, s_client unaffected
bad = os.path.join(d, "no-such-dir", "k.log")
env = dict(os.environ, TLSTRACE_KEYLOG_OUT=bad)
r, log = traced_vs_mtls13(s_client13, input=GET, env=env)
err = r.stderr.decode("utf-8", "replace")
ok("bad TLSTRACE_KEYLOG_OUT: one stderr line naming it, the trace still decrypted",
   err.count("tlstrace: TLSTRACE_KEYLOG_OUT=") == 1 and "secrets are not exported" in err
   and b"Verify return code: 0" in r.stdout
   and [o.get("decrypted") for o in events(parse_json_log(log, "bad out"), "certificate_request")] == [True],
   err[-600:])

# decryption off: what the earlier issues showed, nothing decrypted
env = dict(os.environ, TLSTRACE_DECRYPT="off")
r, log = traced_vs_mtls13(s_client13, input=GET, env=env)
objs = parse_json_log(log, "decrypt off")
ok("TLSTRACE_DECRYPT=off: no decrypted event, no keys field",
   [o for o in objs if o.get("decrypted")] == [] and events(objs, "certificate_request") == []
   and "keys" not in events(objs, "summary")[0], events(objs, "summary"))


finish()
