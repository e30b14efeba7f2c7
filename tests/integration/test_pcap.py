"""--pcap: the pcapng file made inside the traced process.  tshark reads
it in one pass with no key file: a TLS 1.3 mTLS client's CertificateRequest
(its secrets come in the key-log callback after the read that brought the
server's encrypted flight) with both CA names, TLS 1.2's Finished and the
request decrypted; one TCP conversation with the real ports, the
handshake from the client, right checksums, the first packet's comment
naming the pid and the connection; the file 0600; %p; curl; a client
killed with SIGKILL mid-transfer leaves a file that still reads; a record
sent with sendfile() (past the hooks) leaves a gap of its size in the
client's sequence numbers; a TLS socket written and closed by a
thread-specific destructor after tlstrace's own ran at the thread's exit;
a program that closes every descriptor it did not open and dup2()s onto
the file's number: one section, the connection whole, the program's file
its own; under a file size limit (ulimit -f) the program lives on and the
file ends at its last whole block."""
import os
import re
import signal
import stat
import struct
import time

from tlslib import *
from pcaplib import *

GET = b"GET / HTTP/1.0\r\n\r\n"
NO_TSHARK = missing("tshark")
NO_CAPINFOS = missing("capinfos")


def s_client(port, version):
    return ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
            "-CAfile", cert("root.pem"), "-servername", "localhost",
            "-cert", cert("client.pem"), "-key", cert("client.key")]


def traced_client(version, pcap):
    """s_client (version) traced with --pcap against an mTLS s_server;
    returns (CompletedProcess, JSON log objects, server port)."""
    srv, port, _ = s_server(mtls_server_args(version=version) + ["-naccept", "1"])
    log = new_log()
    r = run(pcap_cmd(pcap, log) + s_client(port, version), input=GET)
    stop(srv)
    return r, parse_json_log(read_log(log), "pcap " + version), port


def check_stream(name, pcap, objs, port):
    """The checks every traced s_client run passes."""
    st = os.stat(pcap) if os.path.exists(pcap) else None
    ok("%s: the file is mode 0600" % name,
       st is not None and stat.S_IMODE(st.st_mode) == 0o600, st and oct(st.st_mode))
    hello = events(objs, "client_hello")
    cport = int(hello[0]["local"].rsplit(":", 1)[1]) if hello else None
    pid = hello[0]["pid"] if hello else None
    rc, convs = conversations(pcap)
    ok("%s: conv,tcp: exactly one conversation, 127.0.0.1:%s <-> 127.0.0.1:%d" % (name, cport, port),
       rc == 0 and len(convs) == 1 and sorted(convs[0][0:3:2]) == sorted(
           ["127.0.0.1:%s" % cport, "127.0.0.1:%d" % port]), convs)
    rc, out, err = tshark(pcap, "-c", "3", "-T", "fields", "-e", "frame.comment",
                          "-e", "tcp.srcport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack")
    rows = [l.split("\t") for l in out.splitlines()]
    want_comment = "tlstrace pid=%s comm=openssl conn=1" % pid
    ok("%s: the first packet's comment names the pid and conn 1" % name,
       rc == 0 and rows and rows[0][0] == want_comment, (want_comment, rows, err[-300:]))
    ok("%s: SYN from the client, SYN-ACK, ACK" % name,
       [r[1:] for r in rows] == [[str(cport), "1", "0"], [str(port), "1", "1"], [str(cport), "0", "1"]],
       rows)
    rc, out, _ = tshark(pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                        "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status")
    ok("%s: every IP and TCP checksum is right" % name,
       rc == 0 and out.strip() and set(out.split()) == {"1"}, out[:300])
    rc, out, _ = tshark(pcap, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update")
    ok("%s: tshark's TCP analysis finds nothing amiss (no lost or repeated segment)" % name,
       rc == 0 and out.strip() == "", out[:500])
    if NO_CAPINFOS:
        skip("%s: capinfos reads the file" % name, NO_CAPINFOS)
    else:
        r = run(["capinfos", pcap])
        out = r.stdout.decode("utf-8", "replace")
        ok("%s: capinfos reads the file (Raw IP, decryption secrets)" % name,
           r.returncode == 0 and "Raw IP" in out and "Number of decryption secrets in file:" in out,
           out[-800:] + r.stderr.decode("utf-8", "replace")[-300:])


if NO_TSHARK:
    skip("--pcap: tshark reads the file", NO_TSHARK)
    finish()

d = tmpdir()

# --- 1. TLS 1.3 mTLS client: the CertificateRequest decrypted by tshark alone
pcap = os.path.join(d, "c13.pcapng")
r, objs, port = traced_client("-tls1_3", pcap)
ok("1.3: s_client done", r.returncode == 0, r.stderr[-300:])
crs = events(objs, "certificate_request")
ok("1.3: the log decrypted the certificate_request too",
   [o.get("decrypted") for o in crs] == [True], crs)
rc, out, err = tshark(pcap, "-Y", "tls.handshake.type == 13", "-V")
ok("1.3: tshark -Y 'tls.handshake.type == 13' -V, no key file: the CertificateRequest "
   "with both CA names",
   rc == 0 and "Handshake Type: Certificate Request (13)" in out
   and "id-at-commonName=K-Dot Certificate Authority" in out
   and "id-at-commonName=The Roots Authority" in out, (out[-1500:], err[-300:]))
rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type == 20")
ok("1.3: both Finished messages decrypted", rc == 0 and len(out.splitlines()) == 2, out)
rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"')
ok("1.3: the request decrypted (application traffic secrets)",
   rc == 0 and len(out.splitlines()) == 1, out)
check_stream("1.3", pcap, objs, port)

# --- 2. TLS 1.2 mTLS client
pcap = os.path.join(d, "c12.pcapng")
r, objs, port = traced_client("-tls1_2", pcap)
ok("1.2: s_client done", r.returncode == 0, r.stderr[-300:])
rc, out, err = tshark(pcap, "-Y", "tls.handshake.type == 13", "-V")
ok("1.2: the CertificateRequest with both CA names",
   rc == 0 and "id-at-commonName=K-Dot Certificate Authority" in out
   and "id-at-commonName=The Roots Authority" in out, (out[-1500:], err[-300:]))
rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type == 20")
ok("1.2: both (encrypted) Finished messages decrypted", rc == 0 and len(out.splitlines()) == 2, out)
rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"')
ok("1.2: the request decrypted", rc == 0 and len(out.splitlines()) == 1, out)
check_stream("1.2", pcap, objs, port)

# --- 3. %p in the name, as for the log
srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
log = new_log()
r = run(pcap_cmd(os.path.join(d, "p-%p.pcapng"), log) + s_client(port, "-tls1_3"), input=GET)
stop(srv)
objs = parse_json_log(read_log(log), "pcap %p")
pids = sorted({o["pid"] for o in objs})
names = sorted(f for f in os.listdir(d) if f.startswith("p-"))
ok("%p: the file is named by the traced process's pid",
   len(pids) == 1 and names == ["p-%d.pcapng" % pids[0]], (pids, names))

# --- 3b. --pcap with a relative name: made absolute by the launcher, as -o is
srv, port, _ = s_server(mtls_server_args(version="-tls1_3") + ["-naccept", "1"])
log = new_log()
inner = " ".join(s_client(port, "-tls1_3"))
r = run(["env", "-C", d] + pcap_cmd("rel.pcapng", log)
        + ["sh", "-c", "cd / && exec " + inner + " </dev/null"])
stop(srv)
rel = os.path.join(d, "rel.pcapng")
rc, out, _ = tshark(rel, "-Y", "tls.handshake.type == 13") if os.path.exists(rel) else (1, "", "")
ok("--pcap rel.pcapng: written in the launcher's directory after COMMAND's cd, decrypted",
   os.path.exists(rel) and not os.path.exists("/rel.pcapng") and rc == 0
   and len(out.splitlines()) == 1, (r.stderr[-300:], out))

# --- 3c. a traced process with no TLS: the file holds only its section header
pcap = os.path.join(d, "none.pcapng")
r = run(pcap_cmd(pcap, new_log()) + ["true"])
rc, out, _ = tshark(pcap)
ok("no TLS: the file reads, no packet", r.returncode == 0 and rc == 0 and out.strip() == "",
   out[:300])

# --- 4. curl
if missing("curl"):
    skip("curl: the request decrypted", missing("curl"))
else:
    srv, port, _ = s_server(["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
                             "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
    pcap = os.path.join(d, "curl.pcapng")
    log = new_log()
    r = run(pcap_cmd(pcap, log) + ["curl", "-sS", "-o", "/dev/null", "--cacert", cert("root.pem"),
                                    "--resolve", "localhost:%d:127.0.0.1" % port,
                                    "https://localhost:%d/" % port])
    stop(srv)
    rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"', "-T", "fields",
                        "-e", "http.request.uri", "-e", "tcp.dstport")
    ok("curl: its request decrypted, to the server's port",
       r.returncode == 0 and rc == 0 and out.split() == ["/", str(port)],
       (r.stderr[-300:], out))
    rc, convs = conversations(pcap)
    ok("curl: one conversation", rc == 0 and len(convs) == 1, convs)

# --- 5. SIGKILL mid-transfer: the file still reads, up to its last block
srv, port, _, fdin = fifo_s_server(["-tls1_3", "-Verify", "1", "-cert", cert("server.pem"),
                                    "-key", cert("server.key"), "-cert_chain", cert("inter.pem"),
                                    "-CAfile", cert("cas.pem"), "-naccept", "1"])
pcap = os.path.join(d, "killed.pcapng")
log = new_log()
p = track(subprocess.Popen(pcap_cmd(pcap, log) + s_client(port, "-tls1_3"),
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True))
m = wait_for(log, r'"pid":(\d+),[^\n]*"event":"new_session_ticket"', timeout=15)
if m:
    # the server sends while the client is killed
    for _ in range(4):
        os.write(fdin, b"x" * 16000 + b"\n")
    time.sleep(0.02)
    os.kill(int(m.group(1)), signal.SIGKILL)
p.wait(timeout=10)
stop(srv)
os.close(fdin)
rc, out, err = tshark(pcap, "-Y", "tls.handshake.type == 13", "-V")
ok("SIGKILL: tshark reads the file (exit 0), the CertificateRequest decrypted",
   m is not None and rc == 0 and "id-at-commonName=The Roots Authority" in out,
   (bool(m), rc, err[-300:]))
rc, out, err = tshark(pcap, "-Y", "tls.app_data", "-T", "fields", "-e", "tcp.srcport")
ok("SIGKILL: the server's data up to the kill, decrypted",
   rc == 0 and str(port) in out.split(), (out[-300:], err[-300:]))
if not NO_CAPINFOS:
    r = run(["capinfos", pcap])
    ok("SIGKILL: capinfos exits 0", r.returncode == 0, r.stderr[-300:])

# --- 6. a record sent with sendfile(): the client's next segment comes its
# size later, where tshark sees a segment not captured
GAP = r"""
import os, socket, ssl, sys, tempfile
ctx = ssl.create_default_context(cafile=sys.argv[2])
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def pump():
    d = out.read()
    if d:
        s.sendall(d)
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        pump()
        d = s.recv(65536)
        if not d:
            sys.exit("eof")
        inc.write(d)
pump()
obj.write(b"GET / HTTP/1.0\r\n")
with tempfile.TemporaryFile() as f:
    f.write(out.read())
    f.flush()
    n = os.sendfile(s.fileno(), f.fileno(), 0, f.tell())
obj.write(b"\r\n")
pump()
while s.recv(65536):
    pass
print(n)
"""
srv, port, _ = s_server(["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
pcap = os.path.join(d, "gap.pcapng")
r = run(pcap_cmd(pcap, new_log()) + ["python3", "-c", GAP, str(port), cert("root.pem")])
stop(srv)
sent = int(r.stdout) if r.returncode == 0 and r.stdout.strip().isdigit() else None
rc, out, _ = tshark(pcap, "-Y", "tcp.dstport == %d && tcp.len > 0" % port, "-T", "fields",
                    "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.analysis.lost_segment")
rows = [l.split("\t") for l in out.splitlines()]
# ClientHello, Finished, then the request's end after the sendfile()d record
ok("sendfile: the client's segment after it is %s bytes on, flagged as after a segment "
   "not captured" % sent,
   sent and rc == 0 and len(rows) == 3 and rows[2][2] == "1" and rows[1][2] == ""
   and int(rows[2][0]) == int(rows[1][0]) + int(rows[1][1]) + sent, (r.stderr[-300:], rows))
rc, out, _ = tshark(pcap, "-Y", "tls.handshake.type == 4", "-T", "fields",
                    "-e", "tls.handshake.type")
ok("sendfile: the server's side still decrypted (both session tickets, one packet)",
   rc == 0 and out.split() == ["4,4"], out)

# --- 7. a thread's TLS socket written and closed by a thread-specific
# destructor at its exit, after tlstrace's own destructors ran (their keys
# were made first): they freed the thread's buffers, and the last calls
# make new ones
TEXIT = r"""/* A thread's TLS socket closed by a thread-specific destructor at the
 * thread's exit, after tlstrace's own destructors ran (their keys were
 * made first). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_key_t key;
static int port;

static void at_exit(void *p)
{
	int fd = (int)(intptr_t)p;
	/* a close_notify alert record, in the clear, then the close */
	static const unsigned char alert[] = {0x15, 3, 3, 0, 2, 1, 0};
	if (write(fd, alert, sizeof(alert)) != (ssize_t)sizeof(alert))
		exit(3);
	close(fd);
}

static void *run(void *arg)
{
	(void)arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ctx || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		exit(2);
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "localhost");
	if (SSL_connect(s) != 1 || SSL_write(s, "GET / HTTP/1.0\r\n\r\n", 18) != 18)
		exit(2);
	char buf[256];
	if (SSL_read(s, buf, sizeof(buf)) <= 0)
		exit(2);
	pthread_setspecific(key, (void *)(intptr_t)fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 1;
	port = atoi(argv[1]);
	pthread_key_create(&key, at_exit);
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 1;
	puts("done");
	return 0;
}
"""
if missing("cc"):
    skip("thread exit: the destructor's alert and FIN written", missing("cc"))
else:
    with open(os.path.join(d, "texit.c"), "w") as f:
        f.write(TEXIT)
    texit = os.path.join(d, "texit")
    b = subprocess.run(["cc", "-o", texit, os.path.join(d, "texit.c"), "-lssl", "-lcrypto",
                        "-lpthread"], capture_output=True, timeout=60)
    ok("thread exit: the program built", b.returncode == 0, b.stderr[-500:])
    srv, port, _ = s_server(["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
                             "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
    pcap = os.path.join(d, "texit.pcapng")
    r = run(pcap_cmd(pcap, new_log()) + [texit, str(port)])
    stop(srv)
    ok("thread exit: the program ran to its end", r.returncode == 0 and r.stdout == b"done\n",
       (r.returncode, r.stdout, r.stderr[-300:]))
    rc, out, _ = tshark(pcap, "-T", "fields", "-e", "tcp.dstport", "-e", "tls.alert_message.desc",
                        "-e", "tcp.flags.fin")
    rows = [l.split("\t") for l in out.splitlines()]
    ok("thread exit: the destructor's close_notify and FIN are the file's last packets",
       rc == 0 and rows[-2:] == [[str(port), "0", "0"], [str(port), "", "1"]], rows[-3:])

# --- 8. a daemon's close-all (close_range, then a close() loop) and dup2()
# onto the numbers of the pcapng file and the log: the file stays open (one
# section), the connection after it whole, the program's file its own
CLOSER = r"""
import ctypes, os, socket, ssl, sys
def number(path):
    return [int(f) for f in os.listdir("/proc/self/fd")
            if os.path.realpath("/proc/self/fd/" + f) == os.path.realpath(path)]
mine = number(sys.argv[3]) + number(sys.argv[4])
assert len(mine) == 2, mine
libc = ctypes.CDLL(None, use_errno=True)
assert libc.close_range(3, ctypes.c_uint(~0 & 0xffffffff), 0) == 0
for fd in range(3, 4096):
    try:
        os.close(fd)
    except OSError:
        pass
own = os.open(sys.argv[5], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
for fd in mine:
    os.dup2(own, fd)
    os.write(fd, b"host data\n")
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(4096):
            pass
print("done")
"""


srv, port, _ = s_server(["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
pcap = os.path.join(d, "closer.pcapng")
log = new_log()
host_file = os.path.join(d, "closer.host")
r = run(pcap_cmd(pcap, log) + ["python3", "-c", CLOSER, str(port), cert("root.pem"), pcap, log,
                               host_file])
stop(srv)
ok("close-all: the program ran as usual", r.returncode == 0 and r.stdout == b"done\n",
   r.stdout + r.stderr[-800:])
with open(host_file, "rb") as f:
    host = f.read()
ok("close-all: the program's file holds only its data", host == b"host data\n" * 2, host[:300])
types = block_types(pcap)
ok("close-all: the file whole, one section (never closed, never reopened)",
   types is not None and types.count(0x0A0D0D0A) == 1 and types[:2] == [0x0A0D0D0A, 1],
   types)
rc, out, _ = tshark(pcap, "-Y", 'http.request.method == "GET"')
ok("close-all: the request decrypted", rc == 0 and len(out.splitlines()) == 1, out)
rc, out, _ = tshark(pcap, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update")
ok("close-all: tshark's TCP analysis finds nothing amiss", rc == 0 and out.strip() == "", out[:500])
rc, out, _ = tshark(pcap, "-Y", "tcp.flags.fin == 1")
ok("close-all: the connection's FIN", rc == 0 and len(out.splitlines()) == 1, out)

# --- 9. a file size limit (ulimit -f 4: 4096 bytes) both files reach: a write
# there would raise SIGXFSZ, which kills; each stops at its last whole block
srv, port, _ = s_server(["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
                         "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"])
pcap = os.path.join(d, "fsize.pcapng")
log = new_log()
cmd = launcher_cmd({"log": log, "format": "json", "level": "debug"})
cmd = cmd[:1] + ["--pcap", pcap] + cmd[1:]
client = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", cert("root.pem"),
          "-servername", "localhost"]
r = run(["bash", "-c", 'ulimit -f 4 && exec "$@"', "bash"] + cmd + client, input=GET)
stop(srv)
said = sorted(l for l in r.stderr.decode("utf-8", "replace").splitlines()
              if l.startswith("tlstrace:"))
ok("ulimit -f: the client exits 0, one stderr line for each file",
   r.returncode == 0 and said == [
       "tlstrace: TLSTRACE_LOG: '%s': the file size limit (ulimit -f) is reached: "
       "nothing more is written" % log,
       "tlstrace: TLSTRACE_PCAP: '%s': the file size limit (ulimit -f) is reached: "
       "nothing more is written" % pcap], (r.returncode, said))
types = block_types(pcap)
rc, out, _ = tshark(pcap)
ok("ulimit -f: the pcapng file within the limit, whole blocks, read by tshark",
   os.path.getsize(pcap) <= 4096 and types is not None and types[:2] == [0x0A0D0D0A, 1]
   and rc == 0 and out.strip(), (os.path.getsize(pcap), types, out[-300:]))
with open(log, "rb") as f:
    text = f.read()
ok("ulimit -f: the log within the limit, whole lines",
   0 < len(text) <= 4096 and text.endswith(b"\n")
   and len(parse_json_log(text.decode(), "ulimit -f")) > 0, len(text))

finish()
