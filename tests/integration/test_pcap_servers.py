"""--pcap with more peers and shapes than test_pcap.py: each file read by
tshark in one pass with no key file.

- gnutls-cli (TLS 1.3 mTLS, its secrets from the GnuTLS hook, the
  application ones logged after its Finished is written): the
  CertificateRequest with both CA names, the request decrypted;
- a TLS 1.2 renegotiation asked by openssl s_server (`R`), the client
  traced: the HelloRequest decrypted, then the second handshake's
  CertificateRequest with both CA names;
- IPv6 ([::1]): one IPv6 conversation, the CertificateRequest decrypted;
- STARTTLS (SMTP): the stream from its first byte, the cleartext
  greeting and STARTTLS command, then the TLS handshake;
- nginx (TLS 1.3, ssl_verify_client optional) traced server side, its
  workers forked from the master and running as www-data when run as
  root: three connections, three conversations with their ports, each
  CertificateRequest decrypted.

In every file, the handshake messages tshark decodes (direction and
type, in order) are those of the log's summary for the same connection.
"""
import glob
import pwd
import shutil
import socket
import struct

from srvlib import *
from pcaplib import *
from proclib import children, free_ports, listening, wait_until

NGINX = "/usr/sbin/nginx"
STARTTLS_SERVER = os.path.join(ROOT, "tests", "tools", "starttls_server.py")
GET = b"GET / HTTP/1.0\r\n\r\n"
NO_TSHARK = missing("tshark")
# tls.handshake.type -> the log's message names
HS_NAMES = {0: "hello_request", 1: "client_hello", 2: "server_hello", 4: "new_session_ticket",
            8: "encrypted_extensions", 11: "certificate", 12: "server_key_exchange",
            13: "certificate_request", 14: "server_hello_done", 15: "certificate_verify",
            16: "client_key_exchange", 20: "finished", 24: "key_update"}
CA_CNS = ["K-Dot Certificate Authority", "The Roots Authority"]
DN_RX = re.compile(r"^\s*Distinguished Name: \(id-at-commonName=([^)]*)\)$", re.M)


def cert_requests(pcap):
    """The CA common names of each CertificateRequest tshark decodes, per
    frame, in order."""
    rc, out, err = tshark(pcap, "-Y", "tls.handshake.type == 13", "-V")
    frames = re.split(r"(?m)^Frame \d+:", out)[1:]
    return rc, [DN_RX.findall(f) for f in frames], err


def hs_messages(pcap, port):
    """The handshake messages tshark decodes, as the log's summary names
    them ("out client_hello"), for the side on port; by the other side's
    port."""
    rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tcp.srcport",
                        "-e", "tcp.dstport", "-e", "tls.handshake.type")
    streams = {}
    for line in out.splitlines():
        src, dst, types = line.split("\t")
        out_ = int(src) == port
        for t in types.split(","):
            name = HS_NAMES.get(int(t), "type%s" % t)
            streams.setdefault(int(dst) if out_ else int(src), []).append(
                "%s %s" % ("out" if out_ else "in", name))
    return rc, streams


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def check_messages(name, pcap, sm):
    """tshark decodes the summary's handshake messages, in order, in the
    stream of sm's connection."""
    rc, streams = hs_messages(pcap, port_of(sm["local"]))
    got = list(streams.values())
    ok("%s: tshark decodes the %d handshake messages of the summary, in order"
       % (name, len(sm["messages"])), rc == 0 and got == [sm["messages"]],
       (got, sm["messages"]))


def check_clean(name, pcap):
    rc, out, _ = tshark(pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                        "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status")
    ok("%s: every checksum is right" % name,
       rc == 0 and out.strip() and set(out.split()) == {"1"}, out[:300])
    rc, out, _ = tshark(pcap, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update")
    ok("%s: tshark's TCP analysis finds nothing amiss" % name, rc == 0 and out.strip() == "",
       out[:500])


def one_summary(name, log):
    objs = parse_json_log(read_log(log), name)
    sm = events(objs, "summary")
    ok("%s: one summary, keys used" % name, len(sm) == 1 and sm[0].get("keys") == "used",
       [json.dumps(o)[:800] for o in sm])
    return objs, sm[0] if sm else {"messages": [], "local": "?:0"}


# The cleartext part of the SMTP session as follow,tcp,ascii shows it:
# (side, length, first line)
PREAMBLE = [("server", 42, "220 localhost ESMTP tlstrace test server"),
            ("client", 23, "EHLO mail.example.com"),
            ("server", 78, "250-localhost"),
            ("client", 10, "STARTTLS"),
            ("server", 30, "220 2.0.0 Ready to start TLS")]

# The same session as tshark's SMTP dissector shows it (Info, and the
# content type of the TLS record it came in)
SMTP_SESSION = [["S: 220 localhost ESMTP tlstrace test server", ""],
                ["C: EHLO mail.example.com", ""],
                ["S: 250-localhost | PIPELINING | STARTTLS | SIZE 10240000 | 8BITMIME", ""],
                ["C: STARTTLS", ""],
                ["S: 220 2.0.0 Ready to start TLS", ""],
                ["C: QUIT", "23"],
                ["S: 221 2.0.0 Bye", "23"]]


def follow_segments(text, server_port):
    """follow,tcp,ascii output as (side, length, first line, text) per
    segment: a header line with its length (tab-indented for node 1),
    then its bytes, non-printable ones as dots."""
    m = re.search(r"(?m)^Node 1: .*:(\d+)$", text)
    node1 = "server" if m and int(m.group(1)) == server_port else "client"
    node0 = "client" if node1 == "server" else "server"
    segs = []
    for line in text.split("\n"):
        h = re.match(r"^(\t?)(\d+)$", line)
        if h:
            segs.append([node1 if h.group(1) else node0, int(h.group(2)), None, ""])
        elif segs and not line.startswith("====="):
            segs[-1][3] += line + "\n"
    for s in segs:
        s[2] = s[3].split("\n")[0].rstrip("\r")
    return [tuple(s) for s in segs]


def mtls_client(port, host="127.0.0.1", version="-tls1_3", extra=()):
    return ["openssl", "s_client", "-connect", "%s:%d" % (host, port), version,
            "-CAfile", cert("root.pem"), "-servername", "localhost",
            "-cert", cert("client.pem"), "-key", cert("client.key")] + list(extra)


if NO_TSHARK:
    skip("--pcap with more peers: tshark reads the files", NO_TSHARK)
    finish()

d = tmpdir()

# --- 1. gnutls-cli: the GnuTLS hook's secrets.  Its client logs its
# exporter secret, then, after writing its Finished, both application
# traffic secrets: the packets from the ServerHello on wait for those,
# not only for the next secret.
if missing("gnutls-cli"):
    skip("gnutls-cli: the CertificateRequest decrypted", missing("gnutls-cli"))
else:
    srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
    pcap, log = os.path.join(d, "gnutls.pcapng"), new_log()
    r = run(pcap_cmd(pcap, log) + [
        "gnutls-cli", "--x509cafile", cert("root.pem"), "--verify-hostname", "localhost",
        "--x509certfile", cert("client.pem"), "--x509keyfile", cert("client.key"),
        "-p", str(port), "127.0.0.1"], input=GET, timeout=20)
    stop(srv)
    ok("gnutls-cli: done", r.returncode == 0, r.stderr[-300:])
    objs, sm = one_summary("gnutls-cli", log)
    rc, crs, err = cert_requests(pcap)
    ok("gnutls-cli: one CertificateRequest decrypted, CA names %s" % CA_CNS,
       rc == 0 and crs == [CA_CNS], (crs, err[-300:]))
    rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"', "-T", "fields",
                        "-e", "tcp.dstport")
    ok("gnutls-cli: the request decrypted (application traffic secret)",
       rc == 0 and out.split() == [str(port)], out)
    check_messages("gnutls-cli", pcap, sm)
    check_clean("gnutls-cli", pcap)

# --- 2. TLS 1.2 renegotiation asked by s_server (R), the client traced
srv, port, sout, fdin = fifo_s_server([
    "-tls1_2", "-cert", cert("server.pem"), "-key", cert("server.key"),
    "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"),
    "-no_resumption_on_reneg", "-naccept", "1"])
pcap, log = os.path.join(d, "reneg.pcapng"), new_log()
cli = track(subprocess.Popen(pcap_cmd(pcap, log) + mtls_client(port, version="-tls1_2"),
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True))
up = wait_for(sout, r"CIPHER is", timeout=10)
os.write(fdin, b"R\n")
done = wait_for(log, r'"phase":"completed"', timeout=10)
os.write(fdin, b"Q\n")
let_exit(cli)
cli.stdin.close()
stop(srv)
os.close(fdin)
ok("renegotiation: the handshake, R, the renegotiation completed", up and done,
   read_log(sout)[-500:])
objs, sm = one_summary("renegotiation", log)
ok("renegotiation: the summary says completed, once",
   sm.get("renegotiation") == "completed" and sm.get("renegotiations") == 1, sm)
rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type == 0", "-T", "fields", "-e", "tcp.srcport",
                    "-e", "tls.handshake.length")
ok("renegotiation: one HelloRequest decrypted, from the server, length 0",
   rc == 0 and out.split() == [str(port), "0"], out)
rc, crs, err = cert_requests(pcap)
ok("renegotiation: one CertificateRequest (the second handshake's) decrypted, CA names %s"
   % CA_CNS, rc == 0 and crs == [CA_CNS], (crs, err[-300:]))
check_messages("renegotiation", pcap, sm)
check_clean("renegotiation", pcap)


# --- 3. IPv6: s_server on [::1]
def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


if not have_ipv6_loopback():
    skip("IPv6: the connection over [::1] written as IPv6", "no IPv6 loopback (::1) here")
else:
    srv, port, _ = spawn_port(["openssl", "s_server", "-accept", "[::1]:0"]
                              + mtls_server_args(version="-tls1_3") + ["-naccept", "1"],
                              r"ACCEPT \[::1\]:(\d+)", "s_server on [::1]")
    pcap, log = os.path.join(d, "v6.pcapng"), new_log()
    r = run(pcap_cmd(pcap, log) + mtls_client(port, host="[::1]"), input=GET)
    stop(srv)
    ok("IPv6: s_client done", r.returncode == 0, r.stderr[-300:])
    objs, sm = one_summary("IPv6", log)
    cport = port_of(sm["local"])
    rc, convs = conversations(pcap)
    ok("IPv6: conv,tcp: one conversation, ::1:%d <-> ::1:%d" % (cport, port),
       rc == 0 and len(convs) == 1
       and sorted(convs[0][0:3:2]) == sorted(["::1:%d" % cport, "::1:%d" % port]), convs)
    rc, out, _ = tshark(pcap, "-T", "fields", "-e", "ip.version")
    ok("IPv6: every packet is IPv6", rc == 0 and set(out.split()) == {"6"}, out[:200])
    rc, crs, err = cert_requests(pcap)
    ok("IPv6: the CertificateRequest decrypted, CA names %s" % CA_CNS,
       rc == 0 and crs == [CA_CNS], (crs, err[-300:]))
    check_messages("IPv6", pcap, sm)
    check_clean("IPv6", pcap)

# --- 4. STARTTLS (SMTP): the stream from its first byte
srv, port, sout = spawn_port(["python3", STARTTLS_SERVER, "--proto", "smtp", "--verify-ca",
                              cert("cas.pem"), "--count", "1", "--timeout", "20",
                              "--certs", certs()], r"(?m)^(\d+)$", "starttls_server")
pcap, log = os.path.join(d, "starttls.pcapng"), new_log()
rc, out = interact(pcap_cmd(pcap, log) + [
    "openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-starttls", "smtp",
    "-cert", cert("client.pem"), "-key", cert("client.key"), "-CAfile", cert("root.pem"),
    "-nocommands"], b"QUIT\r\n", timeout=15)
let_exit(srv)
ok("STARTTLS: s_client done", rc == 0, out[-500:])
objs, sm = one_summary("STARTTLS", log)
ok("STARTTLS: the summary names smtp", sm.get("starttls") == "smtp", sm)
rc, text, _ = tshark(pcap, "-q", "-z", "follow,tcp,ascii,0")
segs = follow_segments(text, port)
ok("STARTTLS: follow,tcp,ascii,0 from the first byte: the greeting, EHLO, its reply, "
   "STARTTLS, the go-ahead, then the client's TLS bytes",
   rc == 0 and [s[:3] for s in segs[:5]] == PREAMBLE and segs[5][0] == "client"
   and segs[5][3].startswith("...."), (segs[:7], text[:1500]))
# SMTP decoded on the server's port: the cleartext session, then (tshark
# hands the stream to TLS after the 220 that answers STARTTLS) the QUIT
# and its reply decrypted in TLS records
rc, out, _ = tshark(pcap, "-d", "tcp.port==%d,smtp" % port, "-Y", "smtp.req || smtp.response",
                    "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info",
                    "-e", "tls.record.content_type")
rows = [l.split("\t") for l in out.splitlines()]
ok("STARTTLS: tshark decodes the SMTP session, the last two commands inside TLS",
   rc == 0 and [r[1:] for r in rows] == SMTP_SESSION, rows)
rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "frame.number")
go = int(rows[4][0]) if len(rows) > 4 else None
ok("STARTTLS: the ClientHello is the frame after the 220 that answers STARTTLS",
   rc == 0 and go is not None and out.split() == [str(go + 1)], (go, out))
rc, crs, err = cert_requests(pcap)
ok("STARTTLS: the CertificateRequest decrypted, CA names %s" % CA_CNS,
   rc == 0 and crs == [CA_CNS], (crs, err[-300:]))
check_messages("STARTTLS", pcap, sm)
check_clean("STARTTLS", pcap)

# --- 5. nginx, traced server side: the master opens the file (its pid in
# the name), its workers (forked, then www-data when run as root) write
# their connections to it through the descriptor they inherit
NGINX_CONF = """
worker_processes 2;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    ssl_certificate {certs}/server-chain.pem;
    ssl_certificate_key {certs}/server.key;
    server {{
        listen 127.0.0.1:{p13} ssl;
        ssl_protocols TLSv1.3;
        ssl_verify_client optional;
        ssl_client_certificate {certs}/cas.pem;
        root {d}/www;
    }}
    server {{
        listen 127.0.0.1:{pst};
        location / {{ return 204; }}
    }}
}}
"""


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"(?m)^Uid:\s+(\d+)", f.read()).group(1))


def nginx_case():
    sd = site_dir("nginx-pcap")
    write_site(sd, b"")
    os.makedirs(os.path.join(sd, "tmp"))
    # the files' folder: writable by the workers' user, as a log folder
    out_dir = os.path.join(sd, "out")
    os.makedirs(out_dir)
    if ROOT_USER:
        shutil.chown(out_dir, WORKER_USER, WORKER_USER)
    p13, pst = free_ports(2)
    conf = os.path.join(sd, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=sd, certs=certs(), p13=p13, pst=pst,
                                  user="user %s;" % WORKER_USER if ROOT_USER else ""))
    env = trace_env(os.path.join(out_dir, "nginx-%p.jsonl"))
    env["TLSTRACE_PCAP"] = os.path.join(out_dir, "nginx-%p.pcapng")
    proc, out = spawn([NGINX, "-p", sd + "/", "-c", conf, "-e", sd + "/error.log",
                       "-g", "daemon off;"], env=env)
    # ready once the plain port answers (all listening sockets are bound
    # before the workers start); no probe reaches the TLS port
    up = wait_until(lambda: proc.poll() is not None or listening(pst), 15)
    workers = wait_until(lambda: (lambda w: w if len(w) == 2 else None)(children(proc.pid)), 10)
    try:
        ok("nginx: started, 2 workers", up and proc.poll() is None and workers,
           read_log(out)[-1000:] + read_log(os.path.join(sd, "error.log"))[-1000:])
        if ROOT_USER:
            # (a worker just forked may not have changed user yet)
            want = [pwd.getpwnam(WORKER_USER).pw_uid] * 2
            uids = wait_until(lambda: (lambda u: u if u == want else None)(
                sorted(proc_uid(w) for w in workers or ())), 10) or sorted(
                    proc_uid(w) for w in workers or ())
            ok("nginx: the workers run as %s (uid %d)" % (WORKER_USER, want[0]), uids == want,
               uids)
        cports = []
        for i in range(3):
            r = run(["curl", "-sS", "--max-time", "10", "--tlsv1.3", "--cacert", cert("root.pem"),
                     "--cert", cert("client.pem"), "--key", cert("client.key"),
                     "-o", "/dev/null", "-w", "%{http_code} %{local_port}",
                     "--resolve", "localhost:%d:127.0.0.1" % p13,
                     "https://localhost:%d/small.html" % p13], timeout=20)
            said = r.stdout.decode().split()
            ok("nginx: request %d answered 200" % (i + 1),
               r.returncode == 0 and said[:1] == ["200"], (said, r.stderr[-300:]))
            cports.append(int(said[1]) if len(said) == 2 else None)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGQUIT)  # graceful: the workers exit()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(proc)
        for w in workers or ():
            try:
                os.kill(w, signal.SIGKILL)  # one left behind, if any
            except ProcessLookupError:
                pass
    files = sorted(glob.glob(os.path.join(out_dir, "*.pcapng")))
    ok("nginx: one pcapng file, named by the master's pid",
       [os.path.basename(f) for f in files] == ["nginx-%d.pcapng" % proc.pid], files)
    if not files:
        return
    pcap = files[0]
    kinds = block_types(pcap)
    ok("nginx: one section header and one interface, then packets and secrets, every "
       "block whole", kinds is not None and kinds[:2] == [BT_SHB, BT_IDB]
       and set(kinds[2:]) == {BT_EPB, BT_DSB}, kinds and kinds[:10])
    texts = read_logs(os.path.join(out_dir, "nginx-*.jsonl"))
    objs = parse_json_log("".join(texts.values()), "nginx: the log")
    sums = {port_of(o["peer"]): o for o in events(objs, "summary")}
    ok("nginx: three summaries, server side, keys used, one per curl connection",
       sorted(sums) == sorted(cports) and all(
           o["role"] == "server" and o.get("keys") == "used" for o in sums.values()),
       [json.dumps(o)[:600] for o in sums.values()])
    rc, convs = conversations(pcap)
    want = sorted(sorted(["127.0.0.1:%s" % c, "127.0.0.1:%d" % p13]) for c in cports)
    ok("nginx: conv,tcp: exactly the 3 conversations, curl's ports <-> %d" % p13,
       rc == 0 and sorted(sorted(c[0:3:2]) for c in convs) == want, (convs, want))
    rc, out, _ = tshark(pcap, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                        "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.comment")
    rows = sorted(l.split("\t") for l in out.splitlines())
    want = sorted([str(c), str(p13), "tlstrace pid=%d comm=nginx conn=%d"
                   % (sums[c]["pid"], sums[c]["conn"])] for c in cports if c in sums)
    ok("nginx: each stream opens with the client's SYN, its comment naming the worker "
       "(a worker's pid, as in the log) and the connection",
       rc == 0 and rows == want and all(o["pid"] in (workers or ()) for o in sums.values()),
       (rows, want, workers))
    rc, crs, err = cert_requests(pcap)
    ok("nginx: three CertificateRequests decrypted, each with CA names %s" % CA_CNS,
       rc == 0 and crs == [CA_CNS] * 3, (crs, err[-300:]))
    rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"', "-T", "fields",
                        "-e", "tcp.srcport", "-e", "http.request.uri")
    ok("nginx: the three requests decrypted",
       rc == 0 and sorted(out.split("\n")[:-1]) == sorted("%s\t/small.html" % c for c in cports),
       out)
    rc, streams = hs_messages(pcap, p13)
    ok("nginx: per connection, tshark decodes the handshake messages of its summary",
       rc == 0 and streams == {c: o["messages"] for c, o in sums.items()},
       (streams, {c: o["messages"] for c, o in sums.items()}))
    check_clean("nginx", pcap)


if missing(NGINX, "curl"):
    skip("nginx: three connections, each decrypted", missing(NGINX, "curl"))
else:
    world_readable(tmpdir())
    nginx_case()

finish()
