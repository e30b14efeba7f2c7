"""STARTTLS: a cleartext session that upgrades to TLS on the same socket.

Peers: tests/tools/starttls_server.py, which speaks enough of each
protocol to accept (or refuse) the upgrade as a real server does and asks
for a client certificate with the test PKI's two CA names; openssl
s_client -starttls and curl --ssl-reqd as clients; a real PostgreSQL 15
server (run as an unprivileged user in a temp dir) with psql.

For each upgrade: exactly one `starttls` event with the protocol, who
asked, the result and the request and reply as the client sent and the
server answered them, then the handshake as usual (client_hello,
server_hello, the certificate_request with both CA names) and a summary
naming the protocol.  A refused upgrade: that one event, nothing after it
for the socket.  A session that never upgrades: nothing at the default
level, one debug line.
"""
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

from tlslib import *
from srvlib import free_port

SERVER = os.path.join(ROOT, "tests", "tools", "starttls_server.py")
PG_BIN = "/usr/lib/postgresql/15/bin"
XMPP_NS = "urn:ietf:params:xml:ns:xmpp-tls"
LDAP_UNBIND = b"\x30\x05\x02\x01\x02\x42\x00"
MYSQL_QUIT = b"\x01\x00\x00\x00\x01"
PG_TERMINATE = b"X\x00\x00\x00\x04"

# protocol: (s_client -starttls name, extra s_client arguments, what the
# client types once TLS is up (the server then ends the session), request
# and reply of the accepted upgrade, reply of the refused one)
PROTOS = {
    "smtp": ("smtp", [], b"QUIT\r\n", "STARTTLS", "220 2.0.0 Ready to start TLS",
             "454 4.7.0 TLS not available due to local problem"),
    "lmtp": ("lmtp", [], b"QUIT\r\n", "STARTTLS", "220 2.0.0 Ready to start TLS",
             "454 4.7.0 TLS not available due to local problem"),
    "imap": ("imap", [], b"a1 LOGOUT\r\n", ". STARTTLS", ". OK Begin TLS negotiation now.",
             ". BAD TLS support isn't enabled."),
    "pop3": ("pop3", [], b"QUIT\r\n", "STLS", "+OK Begin TLS negotiation now.",
             "-ERR TLS support isn't enabled."),
    "ftp": ("ftp", [], b"QUIT\r\n", "AUTH TLS", "234 AUTH TLS OK.",
            "534 Local policy on server does not allow TLS secure connections."),
    "ldap": ("ldap", [], LDAP_UNBIND, "StartTLS extended request", "0 success",
             "52 unavailable"),
    # MySQL's server does not answer the SSL request packet: no reply; and
    # a server without SSL does not offer it, so there is no refusal
    "mysql": ("mysql", [], MYSQL_QUIT, "SSL request packet", None, None),
    "xmpp": ("xmpp", ["-xmpphost", "localhost"], b"</stream:stream>",
             "<starttls xmlns='%s'/>" % XMPP_NS, "<proceed xmlns='%s'/>" % XMPP_NS,
             "<failure xmlns='%s'/>" % XMPP_NS),
    "nntp": ("nntp", [], b"QUIT\r\n", "STARTTLS", "382 Continue with TLS negotiation",
             "580 Can not initiate TLS negotiation"),
    "sieve": ("sieve", [], b"LOGOUT\r\n", "STARTTLS", 'OK "Begin TLS negotiation now."',
              'NO "TLS support isn\'t enabled."'),
    "postgresql": ("postgres", [], PG_TERMINATE, "SSLRequest", "S", "N"),
}

HANDSHAKE = ("starttls", "client_hello", "server_hello", "certificate_request", "summary")
CLIENT_CERT = "tls %s peer commonName=tlstrace client,organizationName=Example"
CA_NAMES_SEEN = (b"Acceptable client certificate CA names\nCN = K-Dot Certificate Authority\n"
                 b"CN = The Roots Authority\n")
VERSIONS = {"TLS 1.3": "TLSv1.3", "TLS 1.2": "TLSv1.2"}


def start_server(proto, mode=None, tls12=False, traced_log=None):
    """starttls_server.py for one connection, client certificates required;
    traced_log: run it under the launcher, logging there.  Returns
    (proc, port, outfile)."""
    cmd = ["python3", SERVER, "--proto", proto, "--verify-ca", cert("cas.pem"),
           "--count", "1", "--timeout", "20", "--certs", certs()]
    if mode:
        cmd.append("--" + mode)
    if tls12:
        cmd.append("--tls1_2")
    if traced_log:
        cmd = launcher_cmd({"log": traced_log, "format": "json"}) + cmd
    return spawn_port(cmd, r"(?m)^(\d+)$", "starttls_server")


def server_said(p, out):
    """The server's line for its one connection (it exits after it)."""
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    stop(p)
    with open(out, "rb") as f:
        m = re.search(r"(?m)^conn 1: (.*)$", f.read().decode("utf-8", "replace"))
    return m.group(1) if m else "no outcome"


def s_client_cmd(proto, port):
    sproto, extra = PROTOS[proto][0], PROTOS[proto][1]
    return ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-starttls", sproto,
            "-cert", cert("client.pem"), "-key", cert("client.key"),
            "-CAfile", cert("root.pem"), "-nocommands"] + extra


def s_client(proto, port, log=None, typed=True):
    """s_client with a stdin that stays open: it types the protocol's
    quit and exits when the server closes; returns (rc, output)."""
    cmd = s_client_cmd(proto, port)
    if log:
        cmd = launcher_cmd({"log": log, "format": "json"}) + cmd
    return interact(cmd, PROTOS[proto][2] if typed else b"", timeout=15)


def check_upgrade(name, objs, proto, request, reply, side, version, hrr=False):
    """One starttls event (accepted) with these fields, then the handshake
    with the CA names, then the summary naming the protocol; all on one
    connection.  hrr: the server answers the first ClientHello with a
    HelloRetryRequest (PostgreSQL's one group, prime256v1, is not among
    OpenSSL's first key shares), so a second ClientHello follows it."""
    # the direction, as the traced process sees it, of what the client
    # sends (the request, client_hello) and of what the server sends
    c2s, s2c = ("out", "in") if side == "client" else ("in", "out")
    st = events(objs, "starttls")
    ok("%s: one starttls event" % name, len(st) == 1, "\n".join(json.dumps(o) for o in objs[:8]))
    want = {"level": "info", "protocol": proto, "by": "client", "result": "accepted",
            "request": request, "role": side, "dir": c2s}
    if reply is not None:
        want["reply"] = reply
    e = st[0] if st else {}
    ok("%s: starttls protocol %s, by client, accepted, request %r, reply %r"
       % (name, proto, request, reply),
       {k: e.get(k) for k in want} == want and (reply is not None or "reply" not in e)
       and "truncated" not in e, json.dumps(e))
    names = [o["event"] for o in objs if o["event"] in HANDSHAKE + ("hello_retry_request",)]
    want = list(HANDSHAKE)
    if hrr:
        want[2:2] = ["hello_retry_request", "client_hello"]
    ok("%s: %s in order" % (name, ", ".join(want)), names == want, names)
    ch, sh = events(objs, "client_hello"), events(objs, "server_hello")
    ok("%s: %s client_hello (%s), one server_hello (%s, %s)"
       % (name, "two" if hrr else "one", c2s, s2c, version),
       len(ch) == 1 + hrr and len(sh) == 1 and all(o["dir"] == c2s for o in ch)
       and sh[0]["dir"] == s2c and sh[0].get("version") == version,
       [json.dumps(o)[:300] for o in ch + sh])
    cr = events(objs, "certificate_request")
    ok("%s: certificate_request (%s) with both CA names" % (name, version),
       len(cr) == 1 and cr[0]["ca_count"] == 2 and cr[0]["ca_names"] == [K_DOT, ROOTS]
       and cr[0]["version"] == version and cr[0]["dir"] == s2c and cr[0]["role"] == side,
       [json.dumps(o) for o in cr])
    sm = events(objs, "summary")
    ok("%s: summary with starttls %s" % (name, proto),
       len(sm) == 1 and sm[0].get("starttls") == proto and sm[0].get("version") == version
       and sm[0]["role"] == side, [json.dumps(o) for o in sm])
    conns = {(o["pid"], o["conn"]) for o in objs}
    de = events(objs, "decode_error")
    ok("%s: one connection, no decode_error" % name, len(conns) == 1 and not de,
       "%s %s" % (sorted(conns), [json.dumps(o) for o in de[:3]]))


def check_refused(name, objs, proto, request, reply):
    """That one event and nothing else."""
    want = {"level": "info", "event": "starttls", "protocol": proto, "by": "client",
            "result": "refused", "request": request, "reply": reply, "role": "client",
            "dir": "out"}
    got = [{k: o.get(k) for k in want} for o in objs]
    ok("%s: one starttls event, refused, request %r, reply %r, nothing else"
       % (name, request, reply), got == [want] and "truncated" not in objs[0] if objs else False,
       "\n".join(json.dumps(o) for o in objs[:8]))


# ------------------------------------------------------------ s_client

def s_client_upgrade(proto, version="TLS 1.3"):
    name = "s_client %s%s" % (proto, "" if version == "TLS 1.3" else " (TLS 1.2)")
    srv, port, out = start_server(proto, tls12=version == "TLS 1.2")
    log = new_log()
    rc, output = s_client(proto, port, log)
    said = server_said(srv, out)
    ok("%s: handshake with the client certificate, session ended by the server"
       % name, rc == 0 and said == CLIENT_CERT % VERSIONS[version], "rc %d, server: %s\n%s"
       % (rc, said, output[-1500:].decode("utf-8", "replace")))
    ok("%s: s_client saw both CA names" % name, CA_NAMES_SEEN in output, output[-1500:])
    objs = parse_json_log(read_log(log), name)
    check_upgrade(name, objs, proto, PROTOS[proto][3], PROTOS[proto][4], "client", version)


def s_client_refused(proto):
    name = "s_client %s refused" % proto
    srv, port, out = start_server(proto, mode="refuse")
    log = new_log()
    rc, output = s_client(proto, port, log, typed=False)
    said = server_said(srv, out)
    ok("%s: the client gave up, the server refused" % name, rc not in (0, -9) and said == "refused",
       "rc %d, server: %s\n%s" % (rc, said, output[-1000:].decode("utf-8", "replace")))
    objs = parse_json_log(read_log(log), name)
    check_refused(name, objs, proto, PROTOS[proto][3], PROTOS[proto][5])


# ------------------------------------------------------------ curl

CURL = {
    # protocol: (URL path, extra curl arguments, request, reply)
    "smtp": ("/", [], "STARTTLS", "220 2.0.0 Ready to start TLS"),
    "imap": ("/", [], "A002 STARTTLS", "A002 OK Begin TLS negotiation now."),
    "pop3": ("/", [], "STLS", "+OK Begin TLS negotiation now."),
    # curl asks AUTH SSL first (and AUTH TLS only if that is refused);
    # -I: MDTM and SIZE on the control connection, no data connection
    "ftp": ("/file.txt", ["-I"], "AUTH SSL", "234 AUTH SSL OK."),
}


def curl_cmd(proto, port, tls):
    path, extra = CURL[proto][0], CURL[proto][1]
    cmd = ["curl", "-sS", "--max-time", "15"] + extra
    if tls:
        cmd += ["--ssl-reqd", "--cacert", cert("root.pem"), "--cert", cert("client.pem"),
                "--key", cert("client.key")]
    return cmd + ["%s://127.0.0.1:%d%s" % (proto, port, path)]


def curl_upgrade(proto):
    name = "curl %s --ssl-reqd" % proto
    srv, port, out = start_server(proto)
    r, log = traced(curl_cmd(proto, port, True), timeout=20)
    said = server_said(srv, out)
    ok("%s: exit 0, handshake with the client certificate" % name,
       r.returncode == 0 and said == CLIENT_CERT % "TLSv1.3",
       "rc %d, server: %s\n%s" % (r.returncode, said, r.stderr.decode("utf-8", "replace")))
    objs = parse_json_log(log, name)
    check_upgrade(name, objs, proto, CURL[proto][2], CURL[proto][3], "client", "TLS 1.3")


def curl_plain(proto):
    name = "curl %s, no upgrade" % proto
    srv, port, out = start_server(proto, mode="plain")
    r, log = traced(curl_cmd(proto, port, False), timeout=20)
    said = server_said(srv, out)
    ok("%s: exit 0, a whole session in clear" % name, r.returncode == 0 and said == "plain",
       "rc %d, server: %s\n%s" % (r.returncode, said, r.stderr.decode("utf-8", "replace")))
    ok("%s: nothing logged at info" % name, log == "", log[:1000])


def curl_plain_debug(proto):
    name = "curl %s, no upgrade, -l debug" % proto
    srv, port, out = start_server(proto, mode="plain")
    r, log = traced(curl_cmd(proto, port, False), level="debug", timeout=20)
    said = server_said(srv, out)
    ok("%s: exit 0, a whole session in clear" % name, r.returncode == 0 and said == "plain",
       "rc %d, server: %s" % (r.returncode, said))
    objs = parse_json_log(log, name)
    ok("%s: one debug line (following stopped), nothing at info or warn" % name,
       len(objs) == 1 and objs[0]["level"] == "debug", log[:1000])


# ------------------------------------------------------------ traced server

def server_upgrade(proto):
    name = "traced server %s" % proto
    slog = new_log()
    srv, port, out = start_server(proto, traced_log=slog)
    rc, output = s_client(proto, port)
    said = server_said(srv, out)
    ok("%s: handshake with the client certificate, session ended by the server"
       % name, rc == 0 and said == CLIENT_CERT % "TLSv1.3",
       "rc %d, server: %s\n%s" % (rc, said, output[-1500:].decode("utf-8", "replace")))
    ok("%s: s_client saw both CA names" % name, CA_NAMES_SEEN in output, output[-1500:])
    objs = parse_json_log(read_log(slog), name)
    check_upgrade(name, objs, proto, PROTOS[proto][3], PROTOS[proto][4], "server", "TLS 1.3")


# ------------------------------------------------------------ PostgreSQL

class Postgres:
    """A PostgreSQL 15 cluster in a temp dir of its own, run by an
    unprivileged user (postgres refuses root): ssl on with the test PKI's
    server certificate and chain, client certificates verified against
    cas.pem (whose two names its CertificateRequest carries), TCP on
    127.0.0.1 at a free port, its Unix socket in the temp dir.  Each
    start() traces the server (LD_PRELOAD, one log per process) and pins
    one TLS version in postgresql.conf; stop() ends it by pid."""

    def __init__(self):
        self.uid = self.gid = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        # not under tmpdir(): that one is root's alone (0700)
        self.d = tempfile.mkdtemp(prefix="tlstrace-pg-")
        self.own(self.d, 0o755)
        self.data = os.path.join(self.d, "data")
        self.proc = None
        # the library and the keys where the server's user can read them
        self.lib = self.copy(LIB, "libtlstrace.so", 0o644)
        self.copy(cert("server-chain.pem"), "server.crt", 0o600)
        self.copy(cert("server.key"), "server.key", 0o600)
        self.copy(cert("cas.pem"), "cas.pem", 0o600)
        r = subprocess.run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           cwd=self.d, **self.as_user())
        if r.returncode != 0:
            raise RuntimeError("initdb failed: %s" % r.stdout.decode("utf-8", "replace")[-2000:])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# tlstrace test\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "unix_socket_directories = '%s'\n"
                    "ssl = on\n"
                    "ssl_cert_file = '%s/server.crt'\n"
                    "ssl_key_file = '%s/server.key'\n"
                    "ssl_ca_file = '%s/cas.pem'\n"
                    "fsync = off\n"
                    "max_connections = 10\n"
                    "shared_buffers = 16MB\n"
                    "include_if_exists = 'tls_version.conf'\n"
                    % (self.d, self.d, self.d, self.d))

    def as_user(self):
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path, mode):
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)

    def copy(self, src, name, mode):
        dst = os.path.join(self.d, name)
        shutil.copyfile(src, dst)
        self.own(dst, mode)
        return dst

    def start(self, version):
        """version: "TLSv1.3" or "TLSv1.2"; returns the port.  A port
        taken between free_port() and the server's bind: another one."""
        for attempt in range(3):
            try:
                return self.start_on(free_port(), version)
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise

    def start_on(self, port, version):
        self.port = port
        conf = os.path.join(self.data, "tls_version.conf")
        with open(conf, "w") as f:
            f.write("port = %d\nssl_min_protocol_version = '%s'\nssl_max_protocol_version = '%s'\n"
                    % (self.port, version, version))
        self.own(conf, 0o600)
        for old in glob.glob(os.path.join(self.d, "trace-*.jsonl")):
            os.unlink(old)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_PRELOAD": self.lib,
               "TLSTRACE_LOG": os.path.join(self.d, "trace-%p.jsonl"),
               "TLSTRACE_FORMAT": "json", "TLSTRACE_LEVEL": "info"}
        self.out = os.path.join(self.d, "postgres.out")
        with open(self.out, "wb") as f:
            self.proc = subprocess.Popen([os.path.join(PG_BIN, "postgres"), "-D", self.data],
                                         stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.d,
                                         start_new_session=True, **self.as_user())
        track(self.proc)
        if not wait_for(self.out, r"database system is ready to accept connections",
                        timeout=30, proc=self.proc):
            self.stop()
            raise RuntimeError("postgres did not start: %s" % self.tail())
        return self.port

    def tail(self):
        with open(self.out, "rb") as f:
            return f.read().decode("utf-8", "replace")[-2000:]

    def stop(self):
        if self.proc is not None:
            stop(self.proc, timeout=10)
            self.proc = None

    def server_log(self):
        return "".join(read_log(p) for p in sorted(glob.glob(os.path.join(self.d,
                                                                           "trace-*.jsonl"))))

    def remove(self):
        self.stop()
        shutil.rmtree(self.d, ignore_errors=True)


def psql_cmd(port):
    conninfo = ("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=require "
                "sslcert=%s sslkey=%s gssencmode=disable connect_timeout=10"
                % (port, cert("client.pem"), cert("client.key")))
    return ["psql", "-X", "-A", "-t", "-d", conninfo, "-c",
            "select ssl, version, client_dn from pg_stat_ssl where pid = pg_backend_pid()"]


def postgres_tests():
    names = ("psql and postgres, TLS 1.3", "psql and postgres, TLS 1.2")
    why = missing(os.path.join(PG_BIN, "initdb"), os.path.join(PG_BIN, "postgres"), "psql")
    if why:
        for n in names:
            skip(n, why)
        return
    pg = Postgres()
    try:
        for version, name in zip(("TLS 1.3", "TLS 1.2"), names):
            port = pg.start(VERSIONS[version])
            try:
                r, log = traced(psql_cmd(port), timeout=20)
            finally:
                pg.stop()
            # the server's own view of the session
            want = "t|%s|/O=Example/CN=tlstrace client\n" % VERSIONS[version]
            ok("%s: psql's session is TLS (%s) with the client certificate" % (name, version),
               r.returncode == 0 and r.stdout == want.encode(),
               "rc %d %r %r\n%s" % (r.returncode, r.stdout, r.stderr, pg.tail()))
            hrr = version == "TLS 1.3"
            check_upgrade("%s, psql" % name, parse_json_log(log, "%s, psql" % name), "postgresql",
                          "SSLRequest", "S", "client", version, hrr)
            slog = pg.server_log()
            check_upgrade("%s, postgres" % name, parse_json_log(slog, "%s, postgres" % name),
                          "postgresql", "SSLRequest", "S", "server", version, hrr)
    finally:
        pg.remove()


# ------------------------------------------------------------ the runs

def guarded(name, fn, *args):
    """A run whose peer could not be started is one failed check; the
    other runs go on."""
    try:
        fn(*args)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        ok("%s: peers started" % name, False, e)


def runs(tool, items):
    """items: (name, function, args...); all skipped if tool is missing."""
    why = missing(tool)
    for name, fn, *args in items:
        if why:
            skip(name, why)
        else:
            guarded(name, fn, *args)


start = time.time()
runs("openssl",
     [("s_client %s" % p, s_client_upgrade, p) for p in PROTOS]
     + [("s_client %s (TLS 1.2)" % p, s_client_upgrade, p, "TLS 1.2")
        for p in ("smtp", "ldap", "mysql")]
     + [("traced server %s" % p, server_upgrade, p) for p in ("smtp", "imap")]
     + [("s_client %s refused" % p, s_client_refused, p) for p in PROTOS if PROTOS[p][5]])
runs("curl",
     [("curl %s --ssl-reqd" % p, curl_upgrade, p) for p in CURL]
     + [("curl %s, no upgrade" % p, curl_plain, p) for p in CURL]
     + [("curl smtp, no upgrade, -l debug", curl_plain_debug, "smtp")])
guarded("psql and postgres", postgres_tests)
print("# %.1f s" % (time.time() - start), flush=True)
finish()
