"""Secrets captured inside GnuTLS programs through their sessions' key-log
function, with no key log anywhere (--no-keylog, no SSLKEYLOGFILE, no
TLSTRACE_KEYLOG): gnutls-cli and wget against s_server asking for a
client certificate, TLS 1.3 (the encrypted CertificateRequest and server
Certificate decrypted) and TLS 1.2 (the Finished messages decrypted);
gnutls-cli's own SSLKEYLOGFILE still written, line for line what tlstrace
captured; a client that sets a key-log function of its own (it is still
called for every secret, and the getter returns it); and the bound on
how many sessions with such a function are followed at once."""
import os

from tlslib import *

KEYLOG_TOOL = os.path.join(BUILD, "tools", "gnutls_keylog")
GET = b"GET / HTTP/1.0\r\n\r\n"
# No key log for tlstrace to read: secrets can only come from the hook.
ENV = {k: v for k, v in os.environ.items() if k not in ("SSLKEYLOGFILE", "TLSTRACE_KEYLOG")}
# What GnuTLS 3.7.9 hands a session's key-log function in one full
# handshake (established untraced below, then asserted traced).
LABELS13 = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET": 1, "SERVER_HANDSHAKE_TRAFFIC_SECRET": 1,
            "CLIENT_TRAFFIC_SECRET_0": 1, "SERVER_TRAFFIC_SECRET_0": 1, "EXPORTER_SECRET": 1}
LABELS12 = {"CLIENT_RANDOM": 1}
# The sessions with a function of the program's own followed at once
# (TT_PTRMAP_FULL in shim/ptrmap.h), and the summary's keys_note past it.
KEPT_MAX = 1536
FULL_NOTE = ("GnuTLS: more than 1536 sessions at once with a key-log function "
             "of the program's own; the secrets of those past the limit are not captured")


def gnutls_cli(port):
    return ["gnutls-cli", "--no-ca-verification", "--x509certfile", cert("client.pem"),
            "--x509keyfile", cert("client.key"), "-p", str(port), "127.0.0.1"]


def wget(port):
    return ["wget", "--no-config", "--no-hsts", "-q", "-O", "-", "--inet4-only", "--tries=1",
            "--timeout=10", "--no-check-certificate", "--certificate=" + cert("client.pem"),
            "--private-key=" + cert("client.key"), "https://localhost:%d/" % port]


def keylog_tool(port, extra=()):
    return [KEYLOG_TOOL] + list(extra) + [str(port), cert("client.pem"), cert("client.key")]


def against_mtls(client, version, traced_run=True, **kw):
    """client(port) against s_server -Verify 1 (one connection, -www),
    traced unless traced_run is false, with no key log from the launcher
    (GnuTLS's default function and gnutls_keylog's write SSLKEYLOGFILE);
    the server is stopped after.  Returns (CompletedProcess, log text)."""
    srv, port, _ = s_server(mtls_server_args(version=version) + ["-naccept", "1"])
    try:
        kw.setdefault("env", ENV)
        kw.setdefault("opts", {"no_keylog": True})
        if traced_run:
            return traced(client(port), timeout=20, **kw)
        return run(client(port), timeout=20, env=kw["env"]), ""
    finally:
        stop(srv)


def own_lines(err):
    return [l for l in err.decode("utf-8", "replace").splitlines() if l.startswith("tlstrace:")]


def check13(objs, name):
    crs = events(objs, "certificate_request", dir="in")
    ok("%s: certificate_request decrypted, TLS 1.3, both CA names" % name,
       len(crs) == 1 and crs[0].get("decrypted") is True and crs[0]["version"] == "TLS 1.3"
       and crs[0]["ca_count"] == 2 and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
    sc = events(objs, "certificate", dir="in")
    ok("%s: the server's certificate decrypted, CN=localhost issued by K-Dot" % name,
       len(sc) == 1 and sc[0].get("decrypted") is True and sc[0].get("subject") == "CN=localhost"
       and sc[0].get("issuer") == K_DOT, sc)
    cc = events(objs, "certificate", dir="out")
    ok("%s: the client's certificate decrypted" % name,
       len(cc) == 1 and cc[0].get("decrypted") is True and cc[0].get("subject") == CLIENT_SUBJECT,
       cc)
    ok("%s: no decode_error" % name, events(objs, "decode_error") == [],
       events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s: summary keys used" % name, len(sm) == 1 and sm[0].get("keys") == "used", sm)


def check12(objs, name):
    crs = events(objs, "certificate_request", dir="in")
    ok("%s: certificate_request (in the clear), both CA names" % name,
       len(crs) == 1 and crs[0]["version"] == "TLS 1.2" and "decrypted" not in crs[0]
       and crs[0]["ca_names"] == [K_DOT, ROOTS], crs)
    fin = [o for o in events(objs, "finished")]
    ok("%s: both Finished decrypted, not inferred" % name,
       sorted(o["dir"] for o in fin) == ["in", "out"]
       and all(o.get("decrypted") is True and "inferred" not in o for o in fin), fin)
    ok("%s: no decode_error" % name, events(objs, "decode_error") == [],
       events(objs, "decode_error"))
    sm = events(objs, "summary")
    ok("%s: summary keys used, TLS 1.2" % name,
       len(sm) == 1 and sm[0].get("keys") == "used" and sm[0].get("version") == "TLS 1.2", sm)


def tool_calls(out):
    """The tool's output: (getter line, {label: count}, handshake line)."""
    lines = out.decode("utf-8", "replace").splitlines()
    calls = {}
    for l in lines:
        f = l.split()
        if len(f) == 3 and f[0] == "called":
            calls[f[1]] = int(f[2])
    getter = [l for l in lines if l.startswith("getter ")]
    hs = [l for l in lines if l.startswith("handshake ")]
    return getter, calls, hs


# --- a, b, c: gnutls-cli and wget, TLS 1.3 and 1.2, keys only from the hook
clients = [("gnutls-cli", gnutls_cli, {"input": GET}), ("wget", wget, {})]
for cname, client, kw in clients:
    why = missing(cname.split()[0])
    for version, check in (("-tls1_3", check13), ("-tls1_2", check12)):
        name = "%s %s" % (cname, "TLS 1.3" if version == "-tls1_3" else "TLS 1.2")
        if why:
            skip("%s: decrypted with secrets from the key-log hook" % name, why)
            continue
        r, log = against_mtls(client, version, **kw)
        ok("%s: exit status 0" % name, r.returncode == 0, r.stderr[-800:])
        ok("%s: no line of tlstrace's on stderr" % name, own_lines(r.stderr) == [],
           r.stderr[-800:])
        if cname == "wget":
            ok("%s: the page served" % name, b"s_server" in r.stdout, r.stdout[-400:])
        check(parse_json_log(log, name), name)

# --- d: gnutls-cli's own SSLKEYLOGFILE still written (GnuTLS's default
# function chained), line for line what the hook captured (exported with
# -w)
if missing("gnutls-cli"):
    skip("gnutls-cli SSLKEYLOGFILE: still written, as captured", missing("gnutls-cli"))
else:
    own = os.path.join(tmpdir(), "gnutls-own.keys")
    out = os.path.join(tmpdir(), "gnutls-captured.keys")
    r, log = against_mtls(gnutls_cli, "-tls1_3", input=GET, level="debug",
                          env=dict(ENV, SSLKEYLOGFILE=own), opts={"w": out})
    objs = parse_json_log(log, "gnutls-cli SSLKEYLOGFILE")
    check13(objs, "gnutls-cli SSLKEYLOGFILE")
    ch = events(objs, "client_hello", dir="out")
    rnd = ch[0].get("random") if len(ch) == 1 else None
    try:
        own_text = open(own).read()
    except FileNotFoundError:
        own_text = ""
    own_lines_ = sorted(own_text.splitlines())
    labels = sorted(l.split()[0] for l in own_lines_)
    ok("gnutls-cli SSLKEYLOGFILE: its file written, one line per TLS 1.3 secret",
       labels == sorted(LABELS13), own_text[:600])
    ok("gnutls-cli SSLKEYLOGFILE: every line names the client_hello's random",
       rnd is not None and len(rnd) == 64
       and all(l.split()[1] == rnd for l in own_lines_), (rnd, own_text[:600]))
    try:
        captured = sorted(open(out).read().splitlines())
    except FileNotFoundError:
        captured = []
    ok("gnutls-cli SSLKEYLOGFILE: tlstrace captured the same five lines",
       len(captured) == 5 and captured == own_lines_,
       "captured %d lines, file %d" % (len(captured), len(own_lines_)))

# --- e: a program's own key-log function, kept and called for every secret
for version, want, check in (("-tls1_3", LABELS13, check13), ("-tls1_2", LABELS12, check12)):
    tag = "TLS 1.3" if version == "-tls1_3" else "TLS 1.2"
    r, _ = against_mtls(keylog_tool, version, traced_run=False)
    getter, base, hs = tool_calls(r.stdout)
    ok("gnutls_keylog %s untraced: GnuTLS 3.7.9 calls the function once per secret %s"
       % (tag, sorted(want)), r.returncode == 0 and base == want, r.stdout)
    r, log = against_mtls(keylog_tool, version)
    getter, calls, hs = tool_calls(r.stdout)
    ok("gnutls_keylog %s traced: handshake ok" % tag,
       r.returncode == 0 and hs == ["handshake ok TLS%s" % tag[4:]], r.stdout)
    ok("gnutls_keylog %s traced: the getter returned its own function" % tag,
       getter == ["getter own"], r.stdout)
    ok("gnutls_keylog %s traced: its function called as untraced %s" % (tag, want),
       calls == base == want, (calls, base))
    ok("gnutls_keylog %s traced: no line of tlstrace's on stderr" % tag,
       own_lines(r.stderr) == [], r.stderr[-800:])
    check(parse_json_log(log, "gnutls_keylog " + tag), "gnutls_keylog " + tag)

# --- the bound: with KEPT_MAX - 1 other sessions holding the program's
# function the connection's session is the last one followed; with
# KEPT_MAX it is past the limit (its function alone, no keys, and at
# level debug the summary's keys_note says why, no stderr line); with them
# deinitialized first, followed again (gnutls_deinit forgot them)
for fill, drop, followed in ((KEPT_MAX - 1, False, True), (KEPT_MAX, False, False),
                             (KEPT_MAX, True, True)):
    name = "gnutls_keylog -f %d%s" % (fill, " -d" if drop else "")
    extra = ["-f", str(fill)] + (["-d"] if drop else [])
    r, log = against_mtls(lambda port: keylog_tool(port, extra), "-tls1_3", level="debug")
    getter, calls, hs = tool_calls(r.stdout)
    ok("%s: every session's getter returned the program's function" % name,
       ("fill %d getter_own %d" % (fill, fill)) in r.stdout.decode()
       and getter == ["getter own"], r.stdout)
    ok("%s: its function called once per secret" % name,
       r.returncode == 0 and calls == LABELS13, r.stdout)
    objs = parse_json_log(log, name)
    ok("%s: no line of tlstrace's on stderr" % name, own_lines(r.stderr) == [],
       r.stderr[-800:])
    if followed:
        check13(objs, name)
    else:
        sm = events(objs, "summary")
        ok("%s: keys_note says secrets past the limit are not captured" % name,
           len(sm) == 1 and sm[0].get("keys_note") == FULL_NOTE, sm)
        ok("%s: nothing decrypted, summary keys missing" % name,
           events(objs, "certificate_request") == []
           and not any(o.get("decrypted") for o in objs)
           and len(sm) == 1 and sm[0].get("keys") == "missing", objs)

# --- libgnutls loaded RTLD_LOCAL through a handle (Python's ctypes): the
# program's calls reach libgnutls's own gnutls_init, whose call to the
# setter reaches tlstrace's, which tells GnuTLS's default function by its
# address (never kept as the program's: 2000 sessions at once, no
# stderr line) and puts tlstrace's function on each session; its real
# functions are found through dlopen(RTLD_NOLOAD)
CTYPES = r'''
import ctypes
g = ctypes.CDLL("libgnutls.so.30")
g.gnutls_session_get_keylog_function.restype = ctypes.c_void_p
sess = [ctypes.c_void_p() for _ in range(2000)]
for s in sess:
    assert g.gnutls_init(ctypes.byref(s), 1) == 0
fns = {g.gnutls_session_get_keylog_function(s) for s in sess}
where = set()
for line in open("/proc/self/maps"):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    for fn in fns:
        if lo <= fn < hi and len(f) > 5:
            where.add(f[5].rsplit("/", 1)[-1])
print(len(fns), sorted(where))
for s in sess:
    g.gnutls_deinit(s)
'''
plain = run(["python3", "-c", CTYPES], env=ENV)
ok("ctypes untraced: GnuTLS's default function on every session (baseline)",
   plain.returncode == 0 and plain.stdout.decode().split("\n")[0].startswith("1 ['libgnutls.so.30"),
   plain.stdout + plain.stderr)
r, log = traced(["python3", "-c", CTYPES], env=ENV)
ok("ctypes traced: tlstrace's function on every session",
   r.returncode == 0 and r.stdout.decode() == "1 ['libtlstrace.so']\n", r.stdout + r.stderr)
ok("ctypes traced: 2000 sessions at once, the default never kept as the program's (no "
   "stderr line)", own_lines(r.stderr) == [], r.stderr[-800:])

finish()
