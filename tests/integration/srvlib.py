"""Real servers run from a temp dir for the integration tests: free
loopback ports, a site folder the workers (www-data when run as root) can
read, the environment that traces a server, and Apache httpd (mpm_event,
mod_ssl) and nginx (2 workers), each with one TLS 1.2 and one TLS 1.3
port.  test_servers.py loads them; test_apache.py renegotiates with
Apache; test_attach.py attaches to nginx's workers."""
import glob
import re
import shutil
import socket
import urllib.request
from tlslib import *
from proclib import children, free_port, free_ports, listening, wait_until

NGINX = "/usr/sbin/nginx"
APACHE = "/usr/sbin/apache2"
MODS = "/usr/lib/apache2/modules"
WORKER_USER = "www-data"
ROOT_USER = os.geteuid() == 0


def world_readable(path):
    """Workers run as www-data: the temp dirs on the way must be searchable."""
    os.chmod(path, 0o755)


def site_dir(name):
    d = os.path.join(tmpdir(), name)
    os.makedirs(os.path.join(d, "www"))
    world_readable(d)
    world_readable(os.path.join(d, "www"))
    return d


def write_site(d, big):
    with open(os.path.join(d, "www", "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(d, "www", "small.html"), "wb") as f:
        f.write(b"<html><body>" + b"tlstrace small page\n" * 20 + b"</body></html>\n")
    for n in ("big.bin", "small.html"):
        os.chmod(os.path.join(d, "www", n), 0o644)


def trace_env(logpat):
    env = dict(os.environ)
    env.update(LD_PRELOAD=LIB, TLSTRACE_LOG=logpat, TLSTRACE_FORMAT="json",
               TLSTRACE_LEVEL="info")
    return env


def read_logs(pattern):
    texts = {}
    for path in sorted(glob.glob(pattern)):
        texts[path] = read_log(path)
    return texts


class ServerDir:
    """What nginx and Apache share: their logs in their own folder d, and
    the worker processes under the parent pid."""

    @property
    def error_log(self):
        return os.path.join(self.d, "error.log")

    @property
    def access_log(self):
        return os.path.join(self.d, "access.log")

    def workers(self):
        return children(self.pid)


# ---------------------------------------------------------------- Apache

APACHE_CONF = """
ServerRoot {d}
ServerName localhost
DefaultRuntimeDir {d}/run
PidFile {d}/run/httpd.pid
Mutex file:{d}/run default
ErrorLog {d}/error.log
LogLevel notice ssl:info
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule ssl_module {mods}/mod_ssl.so
{user}
StartServers 2
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 1
MaxSpareThreads 50
GracefulShutdownTimeout 10
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
Listen 127.0.0.1:{p12}
Listen 127.0.0.1:{p13}
Listen 127.0.0.1:{pst}
LogFormat "%{{local}}p %{{remote}}p %k %>s %B" conn
CustomLog {d}/access.log conn
SSLSessionCache none
DocumentRoot {d}/www
<Directory {d}/www>
    Require all granted
</Directory>
{vhosts}# The plain port: only probed to see that the server is up.
<VirtualHost 127.0.0.1:{pst}>
</VirtualHost>
"""

# A TLS port of one protocol version; more: further directives.
APACHE_TLS_VHOST = """<VirtualHost 127.0.0.1:{port}>
    SSLEngine on
    SSLProtocol -all +{proto}
    SSLCertificateFile {certs}/server-chain.pem
    SSLCertificateKeyFile {certs}/server.key
{more}</VirtualHost>
"""


class Apache(ServerDir):
    def __init__(self, name, big, traced_, vhost12=""):
        """vhost12: more directives for the TLS 1.2 virtual host."""
        self.d = site_dir(name)
        write_site(self.d, big)
        run_dir = os.path.join(self.d, "run")
        os.makedirs(run_dir)
        if ROOT_USER:
            shutil.chown(run_dir, WORKER_USER, WORKER_USER)
        self.p12, self.p13, self.pst = free_ports(3)
        self.conf = os.path.join(self.d, "httpd.conf")
        with open(self.conf, "w") as f:
            vhosts = "".join(APACHE_TLS_VHOST.format(port=port, proto=proto, certs=certs(),
                                                     more=more)
                             for port, proto, more in ((self.p12, "TLSv1.2", vhost12 + "\n"),
                                                       (self.p13, "TLSv1.3", "")))
            f.write(APACHE_CONF.format(d=self.d, mods=MODS, p12=self.p12, p13=self.p13,
                                       pst=self.pst, vhosts=vhosts,
                                       user="User %s\nGroup %s" % (WORKER_USER, WORKER_USER)
                                       if ROOT_USER else ""))
        self.logpat = os.path.join(self.d, "httpd-%p.jsonl")
        env = trace_env(self.logpat) if traced_ else None
        # spawn() starts it in a session of its own (setsid): on SIGTERM
        # the parent signals its whole process group.
        self.proc, self.out = spawn([APACHE, "-f", self.conf, "-DFOREGROUND"], env=env)
        self.pid = self.proc.pid
        # Ready once it says so: all its Listen sockets are bound before.
        # No probe connection to the TLS ports, which mod_ssl would count.
        up = wait_until(lambda: (self.proc.poll() is not None)
                        or ("AH00489" in read_log(self.error_log) and listening(self.pst)), 20)
        if self.proc.poll() is not None or not up:
            raise RuntimeError("apache did not start: %s %s" % (read_log(self.out)[-1500:],
                                                                read_log(self.error_log)[-1500:]))
        wait_until(lambda: len(self.workers()) == 2, 10)

    def reload(self):
        os.kill(self.pid, signal.SIGUSR1)  # graceful restart

    def stop(self):
        """SIGWINCH (graceful stop: children finish and exit), then
        SIGTERM and SIGKILL to the process group."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGWINCH)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=5)
                    break
                except subprocess.TimeoutExpired:
                    pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # a straggler child, if any
        except ProcessLookupError:
            pass
        return self.proc.returncode

    def ssl_accepts(self):
        """Connections mod_ssl took on the TLS ports ("AH01964: Connection
        to child N established", logged at ssl:info for each one)."""
        return read_log(self.error_log).count("AH01964")

    def tls_connections(self):
        """Connections to the TLS ports that carried at least one request
        (%k == 0), and the request count, from the access log."""
        conns, reqs, status = 0, 0, {}
        for line in read_log(self.access_log).splitlines():
            f = line.split()
            if int(f[0]) not in (self.p12, self.p13):
                continue
            reqs += 1
            conns += f[2] == "0"
            status[f[3]] = status.get(f[3], 0) + 1
        return conns, reqs, status


NGINX_CONF = """
worker_processes 2;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    log_format conn '$server_port $remote_port $connection $connection_requests '
                    '$status $body_bytes_sent';
    access_log {d}/access.log conn;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    sendfile on;
    ssl_certificate {certs}/server-chain.pem;
    ssl_certificate_key {certs}/server.key;
    server {{
        listen 127.0.0.1:{p12} ssl;
        ssl_protocols TLSv1.2;
        root {d}/www;
    }}
    server {{
        listen 127.0.0.1:{p13} ssl;
        ssl_protocols TLSv1.3;
        root {d}/www;
    }}
    server {{
        listen 127.0.0.1:{pst};
        location = /status {{ stub_status; }}
        location / {{ root {d}/www; }}
    }}
}}
"""


class Nginx(ServerDir):
    def __init__(self, name, big, traced_):
        self.d = site_dir(name)
        write_site(self.d, big)
        os.makedirs(os.path.join(self.d, "tmp"))
        self.p12, self.p13, self.pst = free_ports(3)
        with open(os.path.join(self.d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(d=self.d, certs=certs(), p12=self.p12, p13=self.p13,
                                      pst=self.pst,
                                      user="user %s;" % WORKER_USER if ROOT_USER else ""))
        self.logpat = os.path.join(self.d, "nginx-%p.jsonl")
        env = trace_env(self.logpat) if traced_ else None
        self.plain = 0  # plain-HTTP connections the test made to pst
        self.proc, self.out = spawn([NGINX, "-p", self.d + "/", "-c", self.d + "/nginx.conf",
                                     "-e", self.d + "/error.log", "-g", "daemon off;"], env=env)
        up = wait_until(lambda: (self.proc.poll() is not None)
                        or all(listening(p) for p in (self.p12, self.p13, self.pst)), 15)
        if self.proc.poll() is not None or not up:
            raise RuntimeError("nginx did not start: %s %s" % (read_log(self.out)[-1500:],
                                                               read_log(self.error_log)[-1500:]))
        self.pid = self.proc.pid
        wait_until(lambda: len(self.workers()) == 2, 10)

    def get_plain(self, path):
        self.plain += 1
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.pst, path), timeout=10) as r:
            return r.status, r.read()

    def accepts(self):
        st, body = self.get_plain("/status")
        m = re.search(rb"server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)", body)
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    def reload(self):
        os.kill(self.pid, signal.SIGHUP)

    def stop(self):
        """SIGQUIT (graceful: workers finish and exit()), then by pid."""
        kids = self.workers()
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGQUIT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(self.proc)
        for k in kids:  # a worker left behind, if any (still an nginx)
            try:
                with open("/proc/%d/cmdline" % k, "rb") as f:
                    if f.read().startswith(b"nginx"):
                        os.kill(k, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        return self.proc.returncode
