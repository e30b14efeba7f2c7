"""Real servers under load, traced server side: nginx (2 workers) and
Apache httpd (mpm_event, mod_ssl), each with one TLS 1.2 and one TLS 1.3
port, driven by ab with and without keep-alive and reloaded during a
load; then traced clients (curl --parallel, a 16-thread python client)
against the traced nginx.

Every request must be answered 200, the 1 MiB file must come through
byte for byte, every TLS connection must give exactly one `summary`, no
`decode_error`, and no worker or child may die.

Counting connections, independently of tlstrace:
- nginx: stub_status `accepts` (shared memory, kept across a reload),
  read on a plain-HTTP port before and after, minus the plain
  connections the test itself made to that port in between.
- Apache: mod_ssl's "AH01964: Connection to child N established" lines
  (LogLevel ssl:info), one per connection taken on a TLS port; the
  server is waited for without probing those ports.  The access log
  (%k == 0: first request on a connection) and ab's figures do not
  suffice: with -k, ab ends by resetting a dozen or more connections it
  opened but never sent a request on (some mid-handshake), and its
  "Keep-Alive requests" (responses after which it reused the connection)
  only tells how many connections the server closed (requests minus
  keep-alive requests), not how many ab closed itself.  Both are
  printed as a cross-check.
- curl: the sum over transfers of -w %{num_connects}.
- python: the client counts its own connect() calls.

Servers run from a temp dir with their own config, on free loopback
ports; nginx is stopped by its master pid, Apache (started in its own
session) by signalling its process group.
"""
import hashlib
import urllib.request
from srvlib import *

N, C = 2000, 20
BIG = 1 << 20


def curl_get(port, path, ver, env=None, timeout=30):
    """One HTTPS GET with certificate check; returns (rc, body, stderr)."""
    cmd = ["curl", "-sS", "--max-time", "20", "--cacert", cert("root.pem"),
           "--tlsv1.2" if ver == "1.2" else "--tlsv1.3",
           "--tls-max", ver,
           "--resolve", "localhost:%d:127.0.0.1" % port,
           "https://localhost:%d%s" % (port, path)]
    r = run(cmd, timeout=timeout, env=env)
    return r.returncode, r.stdout, r.stderr


AB_RX = {k: re.compile(p) for k, p in {
    "complete": r"Complete requests:\s+(\d+)",
    "failed": r"Failed requests:\s+(\d+)",
    "non2xx": r"Non-2xx responses:\s+(\d+)",
    "ka": r"Keep-Alive requests:\s+(\d+)",
    "rps": r"Requests per second:\s+([\d.]+)",
    "proto": r"SSL/TLS Protocol:\s+(\S+)",
    "time": r"Time taken for tests:\s+([\d.]+)",
}.items()}


def ab_cmd(port, ver, keepalive):
    cmd = ["ab", "-q", "-n", str(N), "-c", str(C), "-s", "20", "-f", "TLS" + ver]
    if keepalive:
        cmd.append("-k")
    return cmd + ["https://127.0.0.1:%d/small.html" % port]


def ab_figures(out):
    f = {}
    for k, rx in AB_RX.items():
        m = rx.search(out)
        f[k] = m.group(1) if m else None
    return f


def ab_check(name, text, rc, ver):
    f = ab_figures(text)
    print("# %s: rc=%s complete=%s failed=%s non2xx=%s keepalive=%s proto=%s time=%ss rps=%s"
          % (name, rc, f["complete"], f["failed"], f["non2xx"], f["ka"], f["proto"],
             f["time"], f["rps"]), flush=True)
    good = (rc == 0 and f["complete"] == str(N) and f["failed"] == "0"
            and f["non2xx"] is None and (f["proto"] or "").split(",")[0] == "TLSv" + ver)
    ok("%s: %d requests, all 200" % (name, N), good, text[-1500:])
    return f


def run_ab(name, port, ver, keepalive):
    r = run(ab_cmd(port, ver, keepalive), timeout=120)
    return ab_check(name, r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace"),
                    r.returncode, ver)


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def ab_with_reload(name, port, ver, access_log, reload):
    """ab in the background; reload() once the server has logged 300 of
    its requests; then ab to its end (bounded)."""
    before = count_lines(access_log)
    p, out = spawn(ab_cmd(port, ver, False))
    seen = wait_until(lambda: count_lines(access_log) - before >= 300 or p.poll() is not None, 60)
    during = p.poll() is None
    reload()
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        stop(p)
        rc = -9
    ok("%s: the reload came during the load" % name, seen and during,
       "ab had already ended" if not during else "")
    with open(out, "rb") as f:
        return ab_check(name, f.read().decode("utf-8", "replace"), rc, ver)


def log_checks(name, texts, expected_conns, side):
    """Every line is contract JSON, one summary per connection (by
    pid+conn as well as in total), no decode_error."""
    text = "".join(texts.values())
    objs = parse_json_log(text, "%s: %d log files" % (name, len(texts)))
    sums = events(objs, "summary")
    byconn = {}
    for o in sums:
        byconn.setdefault((o["pid"], o["conn"]), []).append(o)
    dup = {k: len(v) for k, v in byconn.items() if len(v) > 1}
    by_pid = {}
    for o in sums:
        by_pid[o["pid"]] = by_pid.get(o["pid"], 0) + 1
    print("# %s: %d summaries (per pid %s), %d connections expected"
          % (name, len(sums), sorted(by_pid.items()), expected_conns), flush=True)
    ok("%s: one summary per TLS connection (%d expected, %d written)"
       % (name, expected_conns, len(sums)), len(sums) == expected_conns and not dup,
       "duplicates (pid, conn): %s" % list(dup.items())[:10] if dup else "")
    ok("%s: every summary is %s side" % (name, side),
       all(o["role"] == side for o in sums),
       [o for o in sums if o["role"] != side][:3])
    # A handshake that got to the peer's Finished had its secrets made:
    # keys used.  ab resets a few connections mid-handshake when it ends
    # (nothing encrypted yet: no keys field).
    done = [o for o in sums if any(m.startswith("in finished") for m in o["messages"])]
    keys = {}
    for o in done:
        keys[o.get("keys")] = keys.get(o.get("keys"), 0) + 1
    print("# %s: %d summaries of a completed handshake, keys %s; %d of a cut handshake"
          % (name, len(done), sorted(keys.items(), key=str), len(sums) - len(done)), flush=True)
    ok("%s: every completed handshake's summary says keys used" % name,
       set(keys) == {"used"}, "%s\n%s" % (sorted(keys.items(), key=str), "\n".join(
           json.dumps(o)[:1500] for o in done if o.get("keys") != "used")))
    dropped = [o for o in objs if "lines_dropped" in o or "log_lines_dropped" in o]
    ok("%s: no log line dropped" % name, not dropped, [json.dumps(o)[:300] for o in dropped[:3]])
    de = events(objs, "decode_error")
    ok("%s: no decode_error" % name, not de, "%d decode_error, first: %s" % (
        len(de), "\n".join(json.dumps(o)[:400] for o in de[:5])))
    other = {}
    for o in objs:
        if o["level"] in ("warn", "error"):
            other[o["event"]] = other.get(o["event"], 0) + 1
    if other:
        print("# %s: warn/error events by name: %s" % (name, sorted(other.items())), flush=True)
    ended = {}
    for o in sums:
        ended[o.get("ended")] = ended.get(o.get("ended"), 0) + 1
    print("# %s: summary 'ended' values: %s"
          % (name, sorted(ended.items(), key=lambda x: -x[1])[:8]), flush=True)
    return objs, sums


def big_fetch(name, sums, ports):
    """The traced server's one 1 MiB response per TLS port: its summary
    counts at least the file's bytes out (records add their framing)."""
    for port in ports:
        big = [o for o in sums if o["local"].endswith(":%d" % port) and o["bytes_out"] >= BIG]
        ok("%s: one summary on port %d with the 1 MiB response in bytes_out" % (name, port),
           len(big) == 1 and big[0]["bytes_out"] < BIG + BIG // 50,
           [(o["conn"], o["bytes_out"]) for o in big][:5])


# ---------------------------------------------------------------- nginx

def untraced_reference(server_class, name, big):
    """The reference: the 1 MiB file as the same server serves it
    untraced, over TLS 1.2 and 1.3."""
    ref = server_class(name + "-untraced", big, False)
    try:
        untraced = {v: curl_get(ref.p12 if v == "1.2" else ref.p13, "/big.bin", v)
                    for v in ("1.2", "1.3")}
    finally:
        ref.stop()
    for v, (rc, body, err) in untraced.items():
        ok("%s untraced TLS %s: 1 MiB file fetched intact" % (name, v),
           rc == 0 and body == big, "rc %s, %d bytes, %s" % (rc, len(body), err[-300:]))
    return untraced


def nginx_tests(big):
    untraced = untraced_reference(Nginx, "nginx", big)

    ng = Nginx("nginx", big, True)
    try:
        w0 = ng.workers()
        a0 = ng.accepts()[0]
        plain0 = ng.plain
        print("# nginx master %d, workers %s, accepts at start %d" % (ng.pid, sorted(w0), a0),
              flush=True)
        ok("nginx: 2 workers", len(w0) == 2, w0)

        for v in ("1.2", "1.3"):
            port = ng.p12 if v == "1.2" else ng.p13
            rc, body, err = curl_get(port, "/big.bin", v)
            ok("nginx traced TLS %s: 1 MiB fetched byte-identical to the file and to the "
               "untraced fetch" % v, rc == 0 and body == big and body == untraced[v][1],
               "rc %s, %d bytes, sha256 %s vs %s; %s" % (
                   rc, len(body), hashlib.sha256(body).hexdigest()[:16],
                   hashlib.sha256(big).hexdigest()[:16], err[-300:]))
        st, body = ng.get_plain("/big.bin")
        ok("nginx plain HTTP (sendfile): 1 MiB fetched intact", st == 200 and body == big,
           "status %s, %d bytes" % (st, len(body)))

        for v, ka in (("1.2", False), ("1.2", True), ("1.3", True)):
            port = ng.p12 if v == "1.2" else ng.p13
            run_ab("nginx ab TLS %s%s" % (v, " -k" if ka else ""), port, v, ka)
        ok("nginx: same workers after three loads", ng.workers() == w0,
           "%s -> %s" % (sorted(w0), sorted(ng.workers())))
        ab_with_reload(
            "nginx ab TLS 1.3 with a reload (SIGHUP)", ng.p13, "1.3", ng.access_log, ng.reload)
        w1 = wait_until(lambda: (lambda w: w if len(w) == 2 and not (w & w0) else None)(
            ng.workers()), 30)
        ok("nginx: the reload replaced both workers, old ones exited",
           w1 is not None, "workers now %s, before %s" % (sorted(ng.workers()), sorted(w0)))
        w1 = w1 or ng.workers()
        print("# nginx workers after the reload %s" % sorted(w1), flush=True)

        client_tests(ng)

        a1 = ng.accepts()[0]
        mine = ng.plain - plain0
        tls_accepts = a1 - a0 - mine
        print("# nginx stub_status accepts %d -> %d, %d plain connections of the test: "
              "%d TLS connections" % (a0, a1, mine, tls_accepts), flush=True)
        ok("nginx: master alive, workers unchanged since the reload",
           ng.proc.poll() is None and ng.workers() == w1,
           "%s -> %s" % (sorted(w1), sorted(ng.workers())))
    finally:
        rc = ng.stop()
    ok("nginx: stopped cleanly", rc == 0, "exit status %s" % rc)
    conns, statuses, reqs = {}, {}, 0
    for line in read_log(ng.access_log).splitlines():
        f = line.split()  # server_port remote_port connection requests status bytes
        if int(f[0]) in (ng.p12, ng.p13):
            reqs += 1
            conns.setdefault(f[0], set()).add(f[2])
            statuses[f[4]] = statuses.get(f[4], 0) + 1
    print("# nginx access log, TLS ports: %d requests, distinct connections with a request "
          "per port %s, statuses %s" % (reqs, sorted((k, len(v)) for k, v in conns.items()),
                                        sorted(statuses.items())), flush=True)
    want = 2 + 4 * N + 200 + 320
    ok("nginx: access log has every TLS request (2 curl + %d ab + 200 curl + 320 python), "
       "all 200" % (4 * N), reqs == want and statuses == {"200": reqs}, (reqs, statuses))
    err = read_log(ng.error_log)
    sig = [l for l in err.splitlines()
           if "exited on signal" in l or re.search(r"exited with (fatal )?code [1-9]", l)]
    ok("nginx: no worker exited on a signal or with an error", not sig, "\n".join(sig[:10]))
    texts = read_logs(os.path.join(ng.d, "nginx-*.jsonl"))
    print("# nginx log files %s" % [(os.path.basename(k), v.count("\n")) for k, v in texts.items()],
          flush=True)
    objs, sums = log_checks("nginx server side", texts, tls_accepts, "server")
    byp = events(objs, "io_bypass")
    print("# nginx io_bypass events: %d %s" % (len(byp), [json.dumps(o)[:300] for o in byp[:3]]),
          flush=True)
    ports = {}
    for o in sums:
        lp = int(o["local"].rsplit(":", 1)[1])
        ports[lp] = ports.get(lp, 0) + 1
    ok("nginx: summaries only for the TLS ports",
       set(ports) <= {ng.p12, ng.p13}, ports)
    plain = [o for o in objs if o["local"].endswith(":%d" % ng.pst)]
    ok("nginx: nothing logged for the plain-HTTP port (stub_status, sendfile)", not plain,
       [json.dumps(o)[:300] for o in plain[:3]])
    pids = {o["pid"] for o in sums}
    ok("nginx: summaries written by the workers of both generations only",
       pids <= (w0 | w1), "pids %s, workers %s and %s" % (sorted(pids), sorted(w0), sorted(w1)))
    big_fetch(name="nginx", sums=sums, ports=(ng.p12, ng.p13))
    vers = {(int(o["local"].rsplit(":", 1)[1]), o.get("version")) for o in sums}
    ok("nginx: TLS 1.2 port summaries say TLS 1.2, TLS 1.3 port TLS 1.3",
       vers <= {(ng.p12, "TLS 1.2"), (ng.p13, "TLS 1.3")}, vers)


# ---------------------------------------------------------------- clients

PY_CLIENT = r"""
import http.client, ssl, sys, threading
port, root, threads, per, every = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                   int(sys.argv[4]), int(sys.argv[5]))
ctx = ssl.create_default_context(cafile=root)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
lock = threading.Lock()
stats = {"connects": 0, "ok": 0, "bad": 0, "errors": []}

class Counted(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        with lock:
            stats["connects"] += 1

def worker():
    conn = None
    for i in range(per):
        if conn is None or i % every == 0:
            if conn is not None:
                conn.close()
            conn = Counted("localhost", port, context=ctx, timeout=20)
        try:
            conn.request("GET", "/small.html")
            r = conn.getresponse()
            body = r.read()
            with lock:
                stats["ok" if r.status == 200 and body.startswith(b"<html>") else "bad"] += 1
        except Exception as e:
            with lock:
                stats["errors"].append(repr(e))
            conn.close()
            conn = None
    if conn is not None:
        conn.close()

ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("connects %d ok %d bad %d errors %d %s" % (stats["connects"], stats["ok"], stats["bad"],
                                                 len(stats["errors"]), stats["errors"][:3]))
"""


def client_tests(ng):
    # curl --parallel: 200 transfers, at most 20 at once, traced client side.
    cfg = os.path.join(tmpdir(), "curl-parallel.cfg")
    with open(cfg, "w") as f:
        for i in range(200):
            f.write('url = "https://localhost:%d/small.html?%d"\noutput = "/dev/null"\n'
                    % (ng.p13, i))
    log = new_log(".jsonl")
    r, text = traced(["curl", "-sS", "--parallel", "--parallel-max", "20", "--max-time", "30",
                      "--cacert", cert("root.pem"),
                      "--resolve", "localhost:%d:127.0.0.1" % ng.p13,
                      "-w", "%{http_code} %{num_connects}\n", "-K", cfg], timeout=90, log=log)
    rows = [l.split() for l in r.stdout.decode().splitlines() if l.strip()]
    codes = [x[0] for x in rows]
    conns = sum(int(x[1]) for x in rows if len(x) > 1 and x[1].isdigit())
    print("# curl --parallel: rc %d, %d transfers, %d x 200, %d connections"
          % (r.returncode, len(rows), codes.count("200"), conns), flush=True)
    ok("curl --parallel: 200 transfers, all 200", r.returncode == 0 and len(rows) == 200
       and codes.count("200") == 200, r.stderr[-800:])
    log_checks("curl --parallel client side", {log: text}, conns, "client")

    # python3, 16 threads x 20 requests, a new connection every 5 requests.
    log = new_log(".jsonl")
    r, text = traced(["python3", "-c", PY_CLIENT, str(ng.p13), cert("root.pem"),
                      "16", "20", "5"], timeout=120, log=log)
    out = r.stdout.decode()
    print("# python client: rc %d: %s" % (r.returncode, out.strip()), flush=True)
    m = re.search(r"connects (\d+) ok (\d+) bad (\d+) errors (\d+)", out)
    ok("python 16 threads: 320 requests, all 200", r.returncode == 0 and m is not None
       and m.group(2) == "320" and m.group(3) == "0" and m.group(4) == "0",
       out + r.stderr.decode()[-800:])
    log_checks("python 16 threads client side", {log: text}, int(m.group(1)) if m else -1, "client")


def apache_tests(big):
    untraced = untraced_reference(Apache, "apache", big)

    ap = Apache("apache", big, True)
    try:
        w0 = ap.workers()
        print("# apache parent %d, children %s" % (ap.pid, sorted(w0)), flush=True)
        ok("apache: 2 children", len(w0) == 2, w0)
        for v in ("1.2", "1.3"):
            rc, body, err = curl_get(ap.p12 if v == "1.2" else ap.p13, "/big.bin", v)
            ok("apache traced TLS %s: 1 MiB fetched byte-identical to the file and to the "
               "untraced fetch" % v, rc == 0 and body == big and body == untraced[v][1],
               "rc %s, %d bytes; %s" % (rc, len(body), err[-300:]))
        ab = {}
        for v, ka in (("1.2", False), ("1.2", True), ("1.3", True)):
            name = "apache ab TLS %s%s" % (v, " -k" if ka else "")
            ab[name] = run_ab(name, ap.p12 if v == "1.2" else ap.p13, v, ka)
        ok("apache: same children after three loads", ap.workers() == w0,
           "%s -> %s" % (sorted(w0), sorted(ap.workers())))
        ab["reload"] = ab_with_reload("apache ab TLS 1.3 with a graceful restart (SIGUSR1)",
                                      ap.p13, "1.3", ap.access_log, ap.reload)
        w1 = wait_until(lambda: (lambda w: w if len(w) == 2 and not (w & w0) else None)(
            ap.workers()), 30)
        ok("apache: the graceful restart replaced both children, old ones exited",
           w1 is not None, "children now %s, before %s" % (sorted(ap.workers()), sorted(w0)))
        time.sleep(0.5)
        ok("apache: parent alive, children unchanged since the restart",
           ap.proc.poll() is None and w1 is not None and ap.workers() == w1,
           "%s -> %s" % (sorted(w1 or []), sorted(ap.workers())))
        for name, f in ab.items():
            if f.get("ka"):
                srv_closed = N - int(f["ka"])
                print("# %s: Keep-Alive requests %s: %d connections closed by the server "
                      "after a response, at most %d more closed by ab" % (name, f["ka"],
                                                                       srv_closed, C),
                      flush=True)
    finally:
        rc = ap.stop()
    ok("apache: stopped cleanly", rc == 0, "exit status %s" % rc)
    conns, reqs, status = ap.tls_connections()
    accepted = ap.ssl_accepts()
    print("# apache access log, TLS ports: %d requests, %d connections with a request "
          "(%%k == 0), statuses %s; mod_ssl: %d connections accepted (AH01964)"
          % (reqs, conns, sorted(status.items()), accepted), flush=True)
    ok("apache: access log has every request (2 curl + %d ab), all 200" % (4 * N),
       reqs == 2 + 4 * N and status == {"200": reqs}, (reqs, status))
    err = read_log(ap.error_log)
    sig = [l for l in err.splitlines() if "exit signal" in l or "Segmentation" in l]
    ok("apache: no child exited on a signal", not sig, "\n".join(sig[:10]))
    texts = read_logs(os.path.join(ap.d, "httpd-*.jsonl"))
    print("# apache log files %s" % [(os.path.basename(k), v.count("\n"))
                                    for k, v in texts.items()], flush=True)
    objs, sums = log_checks("apache server side", texts, accepted, "server")
    pids = {o["pid"] for o in sums}
    ok("apache: summaries written by the children of both generations only",
       pids <= (w0 | (w1 or set())), "pids %s, children %s and %s" % (
           sorted(pids), sorted(w0), sorted(w1 or [])))
    big_fetch(name="apache", sums=sums, ports=(ap.p12, ap.p13))
    vers = {(int(o["local"].rsplit(":", 1)[1]), o.get("version")) for o in sums}
    ok("apache: TLS 1.2 port summaries say TLS 1.2, TLS 1.3 port TLS 1.3",
       vers <= {(ap.p12, "TLS 1.2"), (ap.p13, "TLS 1.3")}, vers)


certs()
world_readable(tmpdir())
BIG_DATA = os.urandom(BIG)
for part, tools in ((nginx_tests, (NGINX, "ab", "curl")), (apache_tests, (APACHE, "ab", "curl"))):
    if missing(*tools):
        skip("%s: the server traced under load" % part.__name__, missing(*tools))
        continue
    t0 = time.time()
    try:
        part(BIG_DATA)
    except Exception:  # one server failing to start does not stop the other
        import traceback
        ok("%s ran to its end" % part.__name__, False, traceback.format_exc())
    print("# %s took %.1f s" % (part.__name__, time.time() - t0), flush=True)
finish()
