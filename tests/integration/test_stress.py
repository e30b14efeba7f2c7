"""build/tools/stress traced in both of its processes: a TLS server and a
TLS client (fork, no exec) over 127.0.0.1, 8 client threads x 200
connections, every 8th one TLS 1.2, each connection full duplex (one
thread writes the socket while another reads it) through a random mix of
read/recv/recvfrom/readv/recvmsg and write/send/sendto/writev/sendmsg,
with SIGALRM every millisecond to a handler (no SA_RESTART) that writes
to a traced socket.  The program must run as it does untraced (every
echoed byte verified on both sides), and the log must hold every
handshake decoded: per process, the exact count of each handshake
message, one summary per connection with keys "used" and close_notify
seen both ways, bytes counted alike on both ends, no decode_error, and
every line contract JSON."""
import collections
import glob
from tlslib import *

STRESS = os.path.join(BUILD, "tools", "stress")
THREADS, CONNS, EVERY12 = 8, 200, 8
N = THREADS * CONNS
N12 = sum(1 for i in range(N) if i % EVERY12 == EVERY12 - 1)
N13 = N - N12

FINAL_RX = re.compile(r"^stress: (\d+) connections, (\d+) verified, bytes=(\d+), errors=(\d+)$",
                      re.M)
SIDE_RX = re.compile(r"^stress: (client|server): (.*)$", re.M)


def sides(out):
    """The tool's two per-process lines, as {role: {field: value}}."""
    res = {}
    for role, rest in SIDE_RX.findall(out):
        f = {}
        for part in rest.split(", "):
            if " " in part:  # "1600 connections", "1600 verified"
                v, k = part.split(" ", 1)
                f[k] = int(v)
            elif part.startswith("calls="):
                f["calls"] = {c: int(n) for c, n in
                              (x.split(":") for x in part[6:].split(","))}
            elif "=" in part:
                k, v = part.split("=", 1)
                f[k] = float(v) if "." in v else int(v) if v.isdigit() else v
        res[role] = f
    return res


def check_run(name, r):
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    detail = "exit %s\n%s\n%s" % (r.returncode, out[-3000:], err[-3000:])
    ok("%s: exit 0" % name, r.returncode == 0, detail)
    m = FINAL_RX.search(out)
    ok("%s: %d connections, %d verified, errors=0" % (name, N, N),
       m is not None and (int(m.group(1)), int(m.group(2)), int(m.group(4))) == (N, N, 0),
       detail)
    s = sides(out)
    both = all(role in s for role in ("client", "server"))
    ok("%s: each side %d connections verified, %d TLS 1.3 and %d TLS 1.2" % (name, N, N13, N12),
       both and all((s[x].get("connections"), s[x].get("verified"), s[x].get("tls1.3"),
                     s[x].get("tls1.2")) == (N, N, N13, N12) for x in s), detail)
    ok("%s: every read and write call used on both sides" % name,
       both and all(len(s[x]["calls"]) == 10 and min(s[x]["calls"].values()) > 0 for x in s),
       detail)
    ok("%s: signals came and interrupted calls (EINTR) on both sides" % name,
       both and all(s[x]["ticks"] > 0 and s[x]["eintr"] > 0 for x in s), detail)
    return s, m


# -- the same run untraced, as a baseline --------------------------------
base, _ = check_run("stress untraced", run([STRESS], timeout=600))

# -- traced --------------------------------------------------------------
logdir = os.path.join(tmpdir(), "stress-logs")
os.mkdir(logdir)
env = dict(os.environ, LD_PRELOAD=LIB, TLSTRACE_FORMAT="json", TLSTRACE_LEVEL="info",
           TLSTRACE_LOG=os.path.join(logdir, "stress-%p.jsonl"))
r = run([STRESS], timeout=600, env=env)
s, m = check_run("stress traced", r)
if "client" in s and "seconds" in s["client"] and "client" in base:
    print("# untraced %.1f s, traced %.1f s; plaintext bytes %s" %
          (base["client"].get("seconds", 0), s["client"]["seconds"], m.group(3) if m else "?"))

text = "".join(read_log(f) for f in sorted(glob.glob(os.path.join(logdir, "*.jsonl"))))
objs = parse_json_log(text, "stress traced logs")
lines = text.splitlines()
ok("stress traced: no line broken or interleaved", len(lines) == len(objs) and text.endswith("\n"),
   "%d lines, %d parsed" % (len(lines), len(objs)))

pid = {role: s.get(role, {}).get("pid", -1) for role in ("client", "server")}
by_pid = collections.defaultdict(list)
for o in objs:
    by_pid[o["pid"]].append(o)
ok("stress traced: lines come from the two processes only",
   set(by_pid) <= set(pid.values()) and all(by_pid[p] for p in pid.values()),
   "pids in the log %s, tool's %s" % (sorted(by_pid), pid))

# What each process must have decoded, message by message: OpenSSL 3
# servers send two NewSessionTickets in TLS 1.3 and one in TLS 1.2 (the
# client offers the session_ticket extension); each side sends and
# receives close_notify.
HS = {
    "client_hello": N, "server_hello": N, "encrypted_extensions": N13, "certificate": N,
    "certificate_verify": N13, "server_key_exchange": N12, "server_hello_done": N12,
    "client_key_exchange": N12, "change_cipher_spec": 2 * N12, "finished": 2 * N,
    "new_session_ticket": 2 * N13 + N12, "alert": 2 * N,
}
DIRS = {  # the direction each message has in the client; the server's is the other
    "client_hello": "out", "server_hello": "in", "encrypted_extensions": "in",
    "certificate": "in", "certificate_verify": "in", "server_key_exchange": "in",
    "server_hello_done": "in", "client_key_exchange": "out", "new_session_ticket": "in",
}
for role in ("client", "server"):
    mine = by_pid.get(pid[role], [])
    got = collections.Counter(o["event"] for o in mine)
    ok("stress traced: %s: %d server_hello events, one per connection" % (role, N),
       got["server_hello"] == N, "%d" % got["server_hello"])
    wrong = {e: (got[e], n) for e, n in HS.items() if got[e] != n}
    ok("stress traced: %s: every handshake message decoded (exact counts)" % role, not wrong,
       "event: (logged, expected) %s" % wrong)
    flip = {"in": "out", "out": "in"}
    bad_dir = [(o["conn"], o["event"], o["dir"]) for o in mine if o["event"] in DIRS and
               o["dir"] != (DIRS[o["event"]] if role == "client" else flip[DIRS[o["event"]]])]
    ok("stress traced: %s: every message in its direction, role %s" % (role, role),
       not bad_dir and all(o["role"] == role for o in mine if o["event"] in HS),
       bad_dir[:10])
    notes = [o for o in mine if o["event"] == "alert" and
             (o.get("alert"), o.get("alert_level")) != ("close_notify", "warning")]
    ok("stress traced: %s: the only alerts are close_notify" % role, not notes,
       [json.dumps(o) for o in notes[:5]])
    derr = [o for o in mine if o["event"] == "decode_error"]
    ok("stress traced: %s: no decode_error" % role, not derr,
       "%d decode_error events, e.g.\n%s" % (len(derr), "\n".join(json.dumps(o) for o in derr[:8])))

    sums = [o for o in mine if o["event"] == "summary"]
    per_conn = collections.Counter(o["conn"] for o in sums)
    ok("stress traced: %s: %d summary events, one per connection" % (role, N),
       len(sums) == N and all(v == 1 for v in per_conn.values()),
       "%d summaries, %d connections" % (len(sums), len(per_conn)))
    vers = collections.Counter(o.get("version") for o in sums)
    ok("stress traced: %s: %d TLS 1.3 and %d TLS 1.2 summaries" % (role, N13, N12),
       vers == {"TLS 1.3": N13, "TLS 1.2": N12}, dict(vers))
    for v in ("TLS 1.3", "TLS 1.2"):
        notused = [o for o in sums if o.get("version") == v and o.get("keys") != "used"]
        ok("stress traced: %s: every %s summary says keys used" % (role, v), not notused,
           "%d not: %s\ne.g.\n%s" % (len(notused),
                                     dict(collections.Counter(o.get("keys") for o in notused)),
                                     "\n".join(json.dumps(o) for o in notused[:3])))
    cn = [o for o in sums if (o.get("close_notify_received"), o.get("close_notify_sent"))
          != ("seen", "seen")]
    ok("stress traced: %s: close_notify seen both ways in every summary" % role, not cn,
       "%d not: %s" % (len(cn), dict(collections.Counter(
           (o.get("close_notify_received"), o.get("close_notify_sent")) for o in cn))))
    open_ = [o for o in sums if o.get("ended") not in ("closed by the peer",
                                                       "closed by this process")]
    ok("stress traced: %s: every summary written at the connection's close" % role, not open_,
       "\n".join(json.dumps(o) for o in open_[:5]))

# Bytes one side sent are the bytes the other received, in total.
tot = {role: (sum(o["bytes_in"] for o in by_pid.get(pid[role], []) if o["event"] == "summary"),
              sum(o["bytes_out"] for o in by_pid.get(pid[role], []) if o["event"] == "summary"))
       for role in ("client", "server")}
ok("stress traced: bytes_out of one side = bytes_in of the other (totals)",
   tot["client"][1] == tot["server"][0] and tot["server"][1] == tot["client"][0]
   and tot["client"][0] > 0, "client in/out %s, server in/out %s" % (tot["client"], tot["server"]))
finish()
