"""Decryption of the MAC-protected suites with real peers: openssl
s_client traced against s_server (and s_server traced) in TLS 1.2 with
AES128-SHA and ECDHE-RSA-AES256-SHA384, each with encrypt_then_mac and
with -no_etm; TLS 1.1 and 1.0 (the IV chained from record to record)
with DEFAULT:@SECLEVEL=0; and a CBC renegotiation in which the server
asks for a client certificate (s_server's R): the Finished messages,
the alerts and the second CertificateRequest's CA names decrypted, the
summary saying keys used.  Last, a proxy flips one bit of the server's
encrypted Finished on its way to a traced client: one decode_error, keys
failed."""
import os
import socket
import threading

from tlslib import *

GET = b"GET / HTTP/1.0\r\n\r\n"


def rsa_server_cert():
    """A server certificate with an RSA key (RSA key exchange needs one),
    CN=localhost by the test PKI's intermediate, made once."""
    d = tmpdir()
    crt, key = os.path.join(d, "server-rsa.pem"), os.path.join(d, "server-rsa.key")
    if not os.path.exists(crt):
        r = run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", key, "-out", crt, "-subj", "/CN=localhost", "-days", "3650",
                 "-CA", cert("inter.pem"), "-CAkey", cert("inter.key"),
                 "-addext", "basicConstraints=critical,CA:FALSE",
                 "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
                 "-addext", "extendedKeyUsage=serverAuth",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], timeout=60)
        if r.returncode != 0:
            raise RuntimeError("cannot make the RSA server certificate: %r" % r.stdout[-2000:])
    return crt, key


def server_args(version, cipher, rsa):
    crt, key = rsa_server_cert() if rsa else (cert("server.pem"), cert("server.key"))
    return [version, "-cipher", cipher, "-cert", crt, "-key", key,
            "-cert_chain", cert("inter.pem"), "-www", "-naccept", "1"]


def client_cmd(port, version, cipher, no_etm):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
           "-cipher", cipher, "-CAfile", cert("root.pem"), "-servername", "localhost"]
    if no_etm:
        cmd.append("-no_etm")
    return cmd


def check(objs, name, version, cipher, s2c):
    """The Finished of each side decrypted, every alert decrypted (a
    close_notify among them), the suite and version, no decode_error,
    keys used.  Whether encrypt_then_mac was agreed is told by the
    decryption itself: the MAC is only found where the agreement puts
    it."""
    sh = events(objs, "server_hello", dir=s2c)
    ok("%s: %s, %s" % (name, version, cipher),
       len(sh) == 1 and sh[0]["version"] == version and sh[0]["cipher"] == cipher, sh)
    sm = events(objs, "summary")
    fins = events(objs, "finished")
    ok("%s: both Finished decrypted" % name,
       sorted(o["dir"] for o in fins) == ["in", "out"]
       and all(o.get("decrypted") is True and "inferred" not in o for o in fins), fins)
    al = events(objs, "alert")
    ok("%s: the alerts decrypted, close_notify among them" % name,
       al != [] and all(o.get("decrypted") is True and "inferred" not in o for o in al)
       and any(o["alert"] == "close_notify" and o["alert_level"] == "warning" for o in al), al)
    ok("%s: no decode_error" % name, events(objs, "decode_error") == [],
       events(objs, "decode_error"))
    ok("%s: summary keys used" % name,
       len(sm) == 1 and sm[0].get("keys") == "used" and sm[0]["cipher"] == cipher, sm)


# --- 1. TLS 1.2, AES128-SHA and ECDHE-RSA-AES256-SHA384, with and
# without encrypt_then_mac, traced in the client and in the server
for cipher, iana in (("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"),
                     ("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384")):
    for no_etm in (False, True):
        tag = "%s%s" % (cipher, " -no_etm" if no_etm else "")
        srv, port, _ = s_server(server_args("-tls1_2", cipher, True))
        r, log = traced(client_cmd(port, "-tls1_2", cipher, no_etm), input=GET,
                        level="debug")
        stop(srv)
        objs = parse_json_log(log, "client " + tag)
        check(objs, "TLS 1.2 client " + tag, "TLS 1.2", iana, "in")
        # the extension list is at debug level
        sh = events(objs, "server_hello")
        ok("TLS 1.2 client %s: encrypt_then_mac %s" % (tag, "off" if no_etm else "agreed"),
           len(sh) == 1 and ("encrypt_then_mac" in sh[0].get("extensions", [])) == (not no_etm), sh)

        slog = new_log()
        srv, port, _ = s_server(server_args("-tls1_2", cipher, True),
                                traced={"log": slog, "format": "json"})
        rc, out = interact(client_cmd(port, "-tls1_2", cipher, no_etm), GET)
        srv.wait(timeout=10) if srv.poll() is None else None
        stop(srv)
        check(parse_json_log(read_log(slog), "server " + tag), "TLS 1.2 server " + tag,
              "TLS 1.2", iana, "out")

# --- 2. TLS 1.1 and TLS 1.0 (implicit IV), DEFAULT:@SECLEVEL=0
for version, label in (("-tls1_1", "TLS 1.1"), ("-tls1", "TLS 1.0")):
    for no_etm in (False, True):
        tag = "%s%s" % (label, " -no_etm" if no_etm else "")
        srv, port, _ = s_server(server_args(version, "DEFAULT:@SECLEVEL=0", False))
        r, log = traced(client_cmd(port, version, "DEFAULT:@SECLEVEL=0", no_etm), input=GET,
                        level="debug")
        stop(srv)
        objs = parse_json_log(log, tag)
        sh = events(objs, "server_hello")
        cipher = sh[0]["cipher"] if len(sh) == 1 else "?"
        ok("%s: a CBC suite negotiated (%s)" % (tag, cipher), "_CBC_" in cipher, sh)
        check(objs, tag, label, cipher, "in")
        ok("%s: encrypt_then_mac %s" % (tag, "off" if no_etm else "agreed"),
           len(sh) == 1 and ("encrypt_then_mac" in sh[0].get("extensions", [])) == (not no_etm),
           sh)

# --- 3. CBC renegotiation with a certificate request (s_server R)
srv, port, sout, fdin = fifo_s_server([
    "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-cert", cert("server.pem"),
    "-key", cert("server.key"), "-cert_chain", cert("inter.pem"), "-CAfile", cert("cas.pem"),
    "-no_resumption_on_reneg", "-naccept", "1"])
log = new_log()
cli, cout = spawn(launcher_cmd({"log": log}) + [
    "openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
    "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-CAfile", cert("root.pem"),
    "-servername", "localhost", "-cert", cert("client.pem"), "-key", cert("client.key")],
    stdin=subprocess.PIPE)
wait_for(sout, r"CIPHER is", timeout=10)
os.write(fdin, b"R\n")
wait_for(log, r'"phase":"completed"', timeout=10)
end_with_q(cli, srv, fdin, timeout=15)
name = "CBC renegotiation"
objs = parse_json_log(read_log(log), name)
sh = events(objs, "server_hello", dir="in")
ok("%s: both handshakes ECDHE-ECDSA-AES128-SHA256" % name,
   len(sh) == 2 and all(o["cipher"] == "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" for o in sh), sh)
hr = events(objs, "hello_request", dir="in")
ok("%s: hello_request decrypted" % name,
   len(hr) == 1 and hr[0].get("decrypted") is True and "inferred" not in hr[0], hr)
crs = events(objs, "certificate_request", dir="in")
ok("%s: the second handshake's certificate_request, decrypted, with both CA names" % name,
   len(crs) == 1 and crs[0]["ca_count"] == 2 and crs[0]["ca_names"] == [K_DOT, ROOTS]
   and crs[0].get("decrypted") is True, crs)
cc = events(objs, "certificate", dir="out")
ok("%s: the client's certificate, decrypted" % name,
   len(cc) == 1 and cc[0].get("subject") == CLIENT_SUBJECT and cc[0].get("decrypted") is True, cc)
fins = events(objs, "finished")
ok("%s: four Finished, all decrypted" % name,
   sorted(o["dir"] for o in fins) == ["in", "in", "out", "out"]
   and all(o.get("decrypted") is True for o in fins), fins)
rn = [o["phase"] for o in events(objs, "renegotiation")]
ok("%s: requested, started, completed" % name, rn == ["requested", "started", "completed"], rn)
al = events(objs, "alert")
ok("%s: the alerts decrypted" % name,
   all(o.get("decrypted") is True and "inferred" not in o for o in al), al)
ok("%s: no decode_error" % name, events(objs, "decode_error") == [], events(objs, "decode_error"))
sm = events(objs, "summary")
ok("%s: summary keys used, one renegotiation" % name,
   len(sm) == 1 and sm[0].get("keys") == "used" and sm[0].get("renegotiations") == 1, sm)


# --- 4. a record tampered with on the wire: a proxy between s_client
# (traced) and s_server flips one bit in the last byte of the server's
# first record after its ChangeCipherSpec (its encrypted Finished: with
# encrypt_then_mac, the MAC)
def tamper_proxy(upstream):
    """Listens on a free port; relays one connection to upstream, the
    server's bytes record by record, with the flip.  Returns the port."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)

    def pump(src, dst, edit):
        buf, after_ccs, done = b"", False, False
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if not edit:
                    dst.sendall(d)
                    continue
                buf += d
                while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
                    n = 5 + int.from_bytes(buf[3:5], "big")
                    rec, buf = bytearray(buf[:n]), buf[n:]
                    if after_ccs and not done:
                        rec[-1] ^= 0x01
                        done = True
                    after_ccs = after_ccs or rec[0] == 20
                    dst.sendall(bytes(rec))
        except OSError:
            pass
        for s_ in (src, dst):
            try:
                s_.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve():
        try:
            c, _ = ls.accept()
        except OSError:
            return
        u = socket.create_connection(("127.0.0.1", upstream), timeout=10)
        t = threading.Thread(target=pump, args=(c, u, False), daemon=True)
        t.start()
        pump(u, c, True)
        t.join(5)
        c.close()
        u.close()
        ls.close()

    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1]


CIPHER = "AES128-SHA"
srv, port, _ = s_server(server_args("-tls1_2", CIPHER, True))
log = new_log()
rc, out = interact(launcher_cmd({"log": log}) + client_cmd(tamper_proxy(port), "-tls1_2",
                                                              CIPHER, False), GET)
stop(srv)
name = "CBC record tampered with"
objs = parse_json_log(read_log(log), name)
ok("%s: s_client refused it (bad_record_mac)" % name,
   rc != 0 and b"bad record mac" in out.lower(), (rc, out[-400:]))
de = events(objs, "decode_error")
ok("%s: exactly one decode_error, on the server's record" % name,
   len(de) == 1 and de[0]["dir"] == "in"
   and de[0]["error"] == "record did not decrypt with the logged secret", de)
al = [(o["dir"], o["alert_level"], o["alert"], o.get("decrypted")) for o in events(objs, "alert")]
ok("%s: the client's fatal bad_record_mac, decrypted with its own keys" % name,
   al == [("out", "fatal", "bad_record_mac", True)], al)
sm = events(objs, "summary")
ok("%s: summary keys failed" % name, len(sm) == 1 and sm[0].get("keys") == "failed", sm)

finish()
