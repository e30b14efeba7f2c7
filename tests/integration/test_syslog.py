"""The syslog sink: one datagram per line, written by tlstrace itself (not
glibc's syslog()), RFC 3164 framed: "<PRI>Mmm dd HH:MM:SS tlstrace[PID]: "
then the line as the file sink writes it, without its newline.

TLSTRACE_LOG=syslog:PATH sends to a datagram socket this test binds in
its own directory and reads as a syslog daemon would, so every datagram
is checked: the framing (priority from the level, tag, pid, UTC time,
English month), and the events, equal to the file sink's lines of the
same exchange.  A reader that does not read, a socket that is not there
and values that are not a socket path show the sink never blocks and
says what is wrong in one line.  TLSTRACE_LOG=syslog (/dev/log, the
machine's own syslog) is checked for an unchanged program: nothing on
stderr when /dev/log takes datagrams, else the one line saying why not.
"""
import calendar
import json
import os
import re
import socket
import subprocess
import threading
import time

from tlslib import *

SEV = {"error": 3, "warn": 4, "info": 6, "debug": 7, "trace": 7}
HEAD_RX = re.compile(r"<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) tlstrace\[(\d+)\]: ")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# what differs between two runs of the same exchange
VARY = ("ts", "pid", "tid", "local", "peer", "duration_us", "since_last_us",
        "bytes_in", "bytes_out")
TEXT_VARY = [(re.compile(p), r) for p, r in (
    (r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ", "TS "),
    (r" (pid|tid)=\d+", r" \1=N"),
    (r" (local|peer)=127\.0\.0\.1:\d+", r" \1=ADDR"),
    (r" (%s)=\d+" % "|".join(VARY[5:]), r" \1=N"))]
GET = b"GET / HTTP/1.0\r\n\r\n"

# a client whose output does not change from run to run
PY_CLIENT = r'''
import locale, socket, ssl, sys
if len(sys.argv) > 5:
    locale.setlocale(locale.LC_ALL, "")
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.load_verify_locations(sys.argv[2])
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        got = b""
        while True:
            d = t.recv(4096)
            if not d:
                break
            got += d
        print("done", t.version(), got.split(b"\r\n")[0].decode())
'''


class Receiver:
    """A datagram socket bound at a path in the test's directory, read by
    a thread as a syslog daemon reads /dev/log (Linux queues only
    net.unix.max_dgram_qlen datagrams, often 10, for a reader: a sender
    that must not block loses the rest).  reading=False: never read
    until close()."""

    def __init__(self, name, reading=True):
        self.path = os.path.join(tmpdir(), name)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.grams = []
        self.done = threading.Event()
        self.thread = None
        if reading:
            self.sock.settimeout(0.05)
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()

    def _loop(self):
        while not self.done.is_set():
            try:
                self.grams.append(self.sock.recv(1 << 20))
            except socket.timeout:
                pass

    def close(self):
        """Every datagram received, in order; the socket closed."""
        self.done.set()
        if self.thread:
            self.thread.join(timeout=10)
        self.sock.setblocking(False)
        while True:
            try:
                self.grams.append(self.sock.recv(1 << 20))
            except BlockingIOError:
                break
        self.sock.close()
        os.unlink(self.path)
        return [g.decode("utf-8") for g in self.grams]


def preload_env(**kv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLSTRACE_")}
    env["LD_PRELOAD"] = LIB
    env.update(kv)
    return env


def run_pid(cmd, env, input=b"", timeout=30):
    """Runs cmd to completion (bounded); returns (pid, rc, stdout, stderr)."""
    p = track(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, start_new_session=True))
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        out, err = p.communicate()
        return p.pid, -9, out, err
    return p.pid, p.returncode, out, err


def s_client_mtls(port, with_cert=True):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
           "-CAfile", cert("root.pem")]
    if with_cert:
        cmd += ["-cert", cert("client.pem"), "-key", cert("client.key")]
    return cmd


def exchange(env, with_cert=True):
    """s_client, traced with env, against an s_server asking for a client
    certificate with both CA names (one connection)."""
    srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"])
    try:
        return run_pid(s_client_mtls(port, with_cert), env)
    finally:
        stop(srv)


def py_exchange(env, locale_too=False):
    """The Python client, traced with env (None: untraced); returns
    (pid, rc, stdout, stderr)."""
    srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"])
    cmd = ["python3", "-c", PY_CLIENT, str(port), cert("root.pem"), cert("client.pem"),
           cert("client.key")] + (["locale"] if locale_too else [])
    try:
        return run_pid(cmd, env if env is not None else preload_env(LD_PRELOAD=""))
    finally:
        stop(srv)


def file_reference(fmt, level="info"):
    """The same exchange written by the file sink: its lines."""
    log = new_log()
    pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG=log, TLSTRACE_FORMAT=fmt,
                                             TLSTRACE_LEVEL=level))
    return rc, read_log(log).splitlines()


def syslog_when(ts, delta):
    """The header's time for a line stamped ts, delta seconds later."""
    t = time.gmtime(calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + delta)
    return "%s %2d %02d:%02d:%02d" % (MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min,
                                      t.tm_sec)


def split(grams):
    """Each datagram as (pri, when, pid, body); None where the header does
    not match."""
    out = []
    for g in grams:
        m = HEAD_RX.match(g)
        out.append((int(m.group(1)), m.group(2), int(m.group(3)), g[m.end():]) if m else None)
    return out


def check_framing(name, grams, pid, level_of, ts_of):
    """Every datagram framed: PRI = user (8) + the severity of its line's
    level, tag tlstrace, the pid of the traced process, the time of its
    line (UTC, same second or the next), one line without a newline."""
    parts = split(grams)
    bad = [g for g, p in zip(grams, parts) if p is None]
    ok("%s: datagrams received, every one with the header <PRI>Mmm dd HH:MM:SS tlstrace[PID]: "
       % name, grams != [] and not bad, bad[:3] or "no datagram")
    parts = [p for p in parts if p is not None]
    wrong = [(p[0], p[3][:120]) for p in parts if p[0] != 8 + SEV.get(level_of(p[3]), -99)]
    ok("%s: PRI is 8 (user) + the severity of the line's level" % name, parts and not wrong,
       wrong[:5])
    others = sorted({p[2] for p in parts} - {pid})
    ok("%s: tag tlstrace[PID], PID the traced process's" % name,
       parts and not others, (pid, others))
    late = [(p[1], p[3][:60]) for p in parts
            if p[1] not in (syslog_when(ts_of(p[3]), 0), syslog_when(ts_of(p[3]), 1))]
    ok("%s: header time is the line's time in UTC (English month, day padded)" % name,
       parts and not late, late[:5])
    nl = [p[3][-80:] for p in parts if "\n" in p[3] or p[3] == ""]
    ok("%s: one line per datagram, no newline" % name, parts and not nl, nl[:3])
    return [p[3] for p in parts]


def masked_json(objs):
    return [{k: v for k, v in o.items() if k not in VARY} for o in objs]


def masked_text(lines):
    out = []
    for line in lines:
        for rx, rep in TEXT_VARY:
            line = rx.sub(rep, line)
        out.append(line)
    return out


def json_level(body):
    try:
        return json.loads(body)["level"]
    except (ValueError, KeyError, TypeError):
        return None


def json_ts(body):
    try:
        return json.loads(body)["ts"]
    except (ValueError, KeyError, TypeError):
        return "1970-01-01T00:00:00"


def text_level(body):
    f = body.split()
    return f[1] if len(f) > 1 else None


certs()
qlen = int(open("/proc/sys/net/unix/max_dgram_qlen").read())

# --- 1. JSON at info: every datagram framed, the lines those of the file sink
ref_rc, ref_lines = file_reference("json")
ref = masked_json([json.loads(line) for line in ref_lines])
ok("reference: the file sink's run succeeded (%d lines)" % len(ref), ref_rc == 0 and len(ref) > 10,
   (ref_rc, ref_lines[:3]))

rx = Receiver("json.sock")
pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path, TLSTRACE_FORMAT="json"))
grams = rx.close()
ok("json: s_client ran as usual, verified, nothing of tlstrace on stderr",
   rc == 0 and b"Verify return code: 0 (ok)" in out and b"tlstrace" not in err
   and b"client_hello" not in err, (rc, err[-400:]))
bodies = check_framing("json", grams, pid, json_level, json_ts)
objs = parse_json_log("\n".join(bodies), "json datagrams")
ok("json: the same events, fields and values as the file sink writes (%d lines; "
   "times, ids, ports and byte counts aside)" % len(objs),
   masked_json(objs) == ref, "\n".join(
       "syslog %s\nfile   %s" % (json.dumps(a)[:300], json.dumps(b)[:300])
       for a, b in zip(masked_json(objs) + [None] * len(ref), ref) if a != b))
ok("json: every line carries the traced process's pid and no lines_dropped",
   objs != [] and all(o["pid"] == pid and "lines_dropped" not in o for o in objs), objs[:2])
ch = events(objs, "client_hello", dir="out")
sh = events(objs, "server_hello", dir="in")
ok("json: client_hello out, server_hello in, TLS 1.2",
   len(ch) == 1 and ch[0]["version"] == "TLS 1.2" and len(sh) == 1
   and sh[0]["version"] == "TLS 1.2" and sh[0]["cipher"] == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
   ch + sh)
cr = events(objs, "certificate_request", dir="in")
ok("json: certificate_request with both CA names",
   len(cr) == 1 and cr[0]["version"] == "TLS 1.2" and cr[0]["ca_count"] == 2
   and cr[0]["ca_names"] == [K_DOT, ROOTS], cr)
al = [(o["dir"], o["alert_level"], o["alert"], o.get("decrypted")) for o in events(objs, "alert")]
ok("json: the client's close_notify alert, decrypted",
   ("out", "warning", "close_notify", True) in al, al)
sm = events(objs, "summary")
ok("json: one summary: client auth requested, 2 CA names, certificate sent, keys used, "
   "nothing dropped",
   len(sm) == 1 and sm[0]["client_auth_requested"] is True and sm[0]["ca_count"] == 2
   and sm[0]["client_cert_sent"] is True and sm[0]["keys"] == "used"
   and "out warning close_notify" in sm[0]["alerts"] and "log_lines_dropped" not in sm[0], sm)

# --- 2. text at info: the lines of the text file sink, whole
ref_rc, ref_lines = file_reference("text")
rx = Receiver("text.sock")
pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path))
grams = rx.close()
ok("text: s_client ran as usual", rc == 0 and b"tlstrace" not in err, (rc, err[-400:]))
bodies = check_framing("text", grams, pid, text_level, lambda b: b.split(" ", 1)[0])
ok("text: the same lines as the text file sink (%d; times, ids, ports and byte counts aside)"
   % len(bodies), ref_rc == 0 and bodies != [] and masked_text(bodies) == masked_text(ref_lines),
   "\n".join("syslog %s\nfile   %s" % (a[:300], b[:300]) for a, b in
             zip(masked_text(bodies) + [""] * len(ref_lines), masked_text(ref_lines)) if a != b))
crl = [b for b in bodies if " certificate_request " in b]
ok("text: the certificate_request line ends with both CA names",
   len(crl) == 1 and crl[0].endswith(' ca_count=2 ca_names="%s","%s"' % (K_DOT, ROOTS)), crl)

# --- 3. levels, each with its own priority: trace lines (the busiest
# level: some may be dropped by a reader that falls behind, each datagram
# is checked all the same), then warn without a client certificate
rx = Receiver("levels.sock")
pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path, TLSTRACE_FORMAT="json",
                                         TLSTRACE_LEVEL="trace"))
grams = rx.close()
check_framing("trace", grams, pid, json_level, json_ts)
pairs = sorted({(p[0], json_level(p[3])) for p in split(grams) if p})
ok("trace: <15> trace and <14> info lines", pairs == [(14, "info"), (15, "trace")], pairs)

rx = Receiver("warn.sock")
pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path, TLSTRACE_FORMAT="json"),
                             with_cert=False)
grams = rx.close()
bodies = check_framing("no client certificate", grams, pid, json_level, json_ts)
nc = [p for p in split(grams) if p and '"code":"client_certificate_not_sent"' in p[3]]
msg = json.loads(nc[0][3])["message"] if len(nc) == 1 else ""
ok("no client certificate: the warn diagnosis client_certificate_not_sent at <12>, "
   "naming both CA names",
   len(nc) == 1 and nc[0][0] == 12 and '"%s", "%s"' % (K_DOT, ROOTS) in msg, (nc, bodies[-3:]))

# --- 4. a reader that never reads: the program is not held up, the
# socket's queue is filled and the rest dropped
rx = Receiver("full.sock", reading=False)
t0 = time.time()
pid, rc, out, err = exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path, TLSTRACE_FORMAT="json"))
took = time.time() - t0
grams = rx.close()
ok("full queue: s_client ran as usual and did not wait (%.1f s)" % took,
   rc == 0 and b"Verify return code: 0 (ok)" in out and b"tlstrace" not in err and took < 10,
   (rc, took, err[-300:]))
kept = masked_json([json.loads(p[3]) for p in split(grams) if p])
ok("full queue: the first %d lines queued (net.unix.max_dgram_qlen %d, plus one), "
   "as the file sink wrote them; the rest dropped" % (qlen + 1, qlen),
   len(ref) > qlen + 1 and kept == ref[:qlen + 1], (len(kept), kept[-1:]))

# --- 5. the launcher's -o syslog:PATH
rx = Receiver("launcher.sock")
srv, port, _ = s_server(mtls_server_args() + ["-naccept", "1"])
r = run(launcher_cmd({"log": "syslog:" + rx.path}) + s_client_mtls(port), input=b"")
stop(srv)
grams = rx.close()
objs = [json.loads(p[3]) for p in split(grams) if p]
ok("launcher -o syslog:PATH: passed on as it is, the events arrive there",
   r.returncode == 0 and [o["event"] for o in objs][:2] == ["client_hello", "server_hello"]
   and len(events(objs, "summary")) == 1, (r.returncode, r.stderr[-300:], len(objs)))

# --- 6. no socket there, and values that are not a socket path: one line,
# the program's output unchanged
_, base_rc, base_out, base_err = py_exchange(None)
ok("python client untraced: its output", base_rc == 0 and base_out == b"done TLSv1.2 HTTP/1.0 200 ok\n"
   and base_err == b"", (base_rc, base_out, base_err))
gone = os.path.join(tmpdir(), "no-such.sock")
plain = os.path.join(tmpdir(), "plain-file")
open(plain, "w").close()
for what, path, why in (("no socket", gone, "No such file or directory"),
                        ("a file, not a socket", plain, "Connection refused")):
    _, rc, out, err = py_exchange(preload_env(TLSTRACE_LOG="syslog:" + path))
    want = "tlstrace: TLSTRACE_LOG: cannot connect to '%s': %s; tracing disabled\n" % (path, why)
    ok("syslog:PATH, %s: exactly the line \"cannot connect to 'PATH': %s\" on stderr, "
       "output unchanged" % (what, why), rc == base_rc and out == base_out and err.decode() == want,
       (rc, out, err, want))
for value, why in (("syslog:", "names no socket (syslog:PATH wants an absolute path)"),
                   ("syslog:log.sock", "is not an absolute socket path (syslog:/PATH)"),
                   ("syslog:/" + "s" * 107, "has a socket path longer than 107 bytes")):
    _, rc, out, err = py_exchange(preload_env(TLSTRACE_LOG=value))
    lines = err.decode().splitlines()
    want = "tlstrace: TLSTRACE_LOG='%s' %s; using stderr" % (value, why)
    ok("TLSTRACE_LOG=%s: one line saying why, then the trace on stderr, output unchanged"
       % (value[:20] + "..." if len(value) > 20 else value),
       rc == base_rc and out == base_out and lines[:1] == [want]
       and any(" client out client_hello " in l for l in lines[1:])
       and not any(l.startswith("tlstrace:") for l in lines[1:]), (rc, out, lines[:3]))

# --- 7. a program that sets a locale of its own: the month stays English
locales = os.path.join(tmpdir(), "locales")
why = missing("localedef")
if not why:
    os.mkdir(locales)
    r = run(["localedef", "-i", "fr_FR", "-f", "UTF-8", os.path.join(locales, "fr_FR.UTF-8")],
            timeout=120)
    if r.returncode not in (0, 1) or not os.path.isdir(os.path.join(locales, "fr_FR.UTF-8")):
        why = "localedef could not build fr_FR.UTF-8: %s" % r.stderr.decode()[-200:].strip()
if why:
    skip("a program in the fr_FR locale: syslog month names in English", why)
else:
    rx = Receiver("locale.sock")
    pid, rc, out, err = py_exchange(preload_env(TLSTRACE_LOG="syslog:" + rx.path,
                                                TLSTRACE_FORMAT="json", LOCPATH=locales,
                                                LC_ALL="fr_FR.UTF-8"), locale_too=True)
    grams = rx.close()
    ok("fr_FR locale: the client ran as usual", rc == 0 and out == base_out and err == b"",
       (rc, out, err[-300:]))
    check_framing("fr_FR locale", grams, pid, json_level, json_ts)

# --- 8. TLSTRACE_LOG=syslog: /dev/log, the machine's own syslog
probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    probe.connect("/dev/log")
    devlog_err = None
except OSError as e:
    devlog_err = os.strerror(e.errno)
finally:
    probe.close()
_, rc, out, err = py_exchange(preload_env(TLSTRACE_LOG="syslog"))
if devlog_err is None:
    ok("syslog (/dev/log takes datagrams): the client's output unchanged, nothing on stderr",
       rc == base_rc and out == base_out and err == b"", (rc, out, err[-300:]))
else:
    want = ("tlstrace: TLSTRACE_LOG: cannot connect to '/dev/log': %s; tracing disabled\n"
            % devlog_err)
    ok("syslog (/dev/log: %s): the client's output unchanged, the one line %r on stderr"
       % (devlog_err, want.strip()), rc == base_rc and out == base_out and err.decode() == want,
       (rc, out, err[-300:]))
finish()
