"""Old hellos against real peers.

1. A traced openssl s_server -tls1_2 answers an SSLv2-compatible
   ClientHello (RFC 5246 E.2) from a scripted client here that completes
   the TLS 1.2 handshake (RSA key exchange, AES-128-GCM: no client on
   this machine sends that hello any more, so it is written out with
   python3-cryptography).  The server's log shows the hello in its SSLv2
   form, then every message of both sides, the client's Finished and
   close_notify decrypted with the keys captured from s_server (the
   client random is the challenge left-padded to 32 bytes).
2. A traced client sends SSL 2.0's own CLIENT-HELLO (0x0002, from a real
   capture) to a scripted server that answers with the captured
   SERVER-HELLO: one event each, each direction then stops, the summary
   says SSL 2.0, and the client's bytes and exit are unchanged.
3. The same with the ClientHello and ServerHello of a TLS 1.3 draft 19
   connection (a real capture): the draft's own ServerHello layout is
   read, the version named, and nothing is a decode_error.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys

from tlslib import *

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(os.path.dirname(HERE))


def rsa_identity():
    """An RSA key and self-signed CN=localhost certificate: with no
    supported_groups (this hello has no extensions) OpenSSL picks no
    ECDHE suite, so the suite is RSA key exchange."""
    d = tmpdir()
    crt, key = os.path.join(d, "rsa.pem"), os.path.join(d, "rsa.key")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", crt, "-subj", "/CN=localhost",
             "-days", "3650"], timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode()[-500:])
    return crt, key


def prf(secret, label, seed, n):
    """TLS 1.2 PRF with SHA-256 (RFC 5246 5)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]


def record(typ, body):
    return struct.pack(">BHH", typ, 0x0303, len(body)) + body


def handshake(typ, body):
    return bytes([typ]) + len(body).to_bytes(3, "big") + body


SPECS = bytes.fromhex(
    "00009c"  # TLS_RSA_WITH_AES_128_GCM_SHA256
    "010080"  # SSL_CK_RC4_128_WITH_MD5
    "0700c0"  # SSL_CK_DES_192_EDE3_CBC_WITH_MD5
    "0000ff")  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV


def v2_hello(challenge):
    """The SSLv2-compatible ClientHello: (record bytes, message bytes)."""
    msg = (bytes([1, 3, 3]) + struct.pack(">HHH", len(SPECS), 0, len(challenge)) +
           SPECS + challenge)
    return bytes([0x80 | len(msg) >> 8, len(msg) & 0xff]) + msg, msg


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def record(self):
        while True:
            if len(self.buf) >= 5:
                n = struct.unpack(">H", self.buf[3:5])[0]
                if len(self.buf) >= 5 + n:
                    typ, body = self.buf[0], self.buf[5:5 + n]
                    self.buf = self.buf[5 + n:]
                    return typ, body
            more = self.s.recv(65536)
            if not more:
                raise EOFError("server closed")
            self.buf += more


def v2_client(port, full):
    """The scripted client: the hello, and with full the rest of the
    handshake and a close_notify.  Returns the challenge."""
    challenge = os.urandom(16)
    rec, msg = v2_hello(challenge)
    c = Conn(port)
    c.s.sendall(rec)
    transcript, hs, msgs = msg, b"", []
    while not msgs or msgs[-1][0] != 14:  # up to ServerHelloDone
        typ, body = c.record()
        if typ != 22:
            raise RuntimeError("record type %d from the server" % typ)
        hs += body
        while len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            n = int.from_bytes(hs[1:4], "big")
            msgs.append((hs[0], hs[4:4 + n]))
            transcript += hs[:4 + n]
            hs = hs[4 + n:]
    if not full:
        c.s.close()
        return challenge
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    sh = dict(msgs)[2]
    srandom = sh[2:34]
    crandom = bytes(16) + challenge
    certs = dict(msgs)[11]
    leaf = certs[6:6 + int.from_bytes(certs[3:6], "big")]
    key = x509.load_der_x509_certificate(leaf).public_key()
    pms = b"\x03\x03" + os.urandom(46)
    enc = key.encrypt(pms, padding.PKCS1v15())
    ms = prf(pms, b"master secret", crandom + srandom, 48)
    kb = prf(ms, b"key expansion", srandom + crandom, 40)
    ckey, civ = kb[0:16], kb[32:36]
    cke = handshake(16, struct.pack(">H", len(enc)) + enc)
    transcript += cke
    fin = handshake(20, prf(ms, b"client finished",
                            hashlib.sha256(transcript).digest(), 12))

    def seal(typ, seq, data):
        explicit = struct.pack(">Q", seq)
        aad = explicit + struct.pack(">BHH", typ, 0x0303, len(data))
        return record(typ, explicit + AESGCM(ckey).encrypt(civ + explicit, data, aad))

    c.s.sendall(record(22, cke) + record(20, b"\x01") + seal(22, 0, fin))
    got = [c.record()[0], c.record()[0]]  # the server's CCS and Finished
    if got != [20, 22]:
        raise RuntimeError("server answered %r" % got)
    c.s.sendall(seal(21, 1, b"\x01\x00"))  # close_notify
    try:
        c.record()  # the server's close_notify
    except (EOFError, OSError):
        pass
    c.s.close()
    return challenge


def server_log_for(full):
    crt, key = rsa_identity_cached()
    log = new_log()
    srv, port, out = s_server(["-tls1_2", "-cert", crt, "-key", key, "-naccept", "1", "-www",
                               "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"],
                              traced={"log": log, "level": "debug"})
    try:
        challenge = v2_client(port, full)
        err = None
    except Exception as e:  # reported as a failed check below
        challenge, err = None, e
    try:
        srv.wait(timeout=10)
    except Exception:
        pass
    stop(srv)
    return challenge, err, parse_json_log(read_log(log), "s_server log"), out


_identity = []


def rsa_identity_cached():
    if not _identity:
        _identity.append(rsa_identity())
    return _identity[0]


def check_hello(objs, challenge, name):
    ch = events(objs, "client_hello", dir="in")
    ok("%s: one client_hello in its SSLv2 form" % name,
       len(ch) == 1 and ch[0].get("format") == "sslv2_compatible"
       and ch[0].get("version") == "TLS 1.2" and ch[0].get("cipher_count") == 4
       and ch[0].get("cipher_suites") == [
           "TLS_RSA_WITH_AES_128_GCM_SHA256", "SSL_CK_RC4_128_WITH_MD5",
           "SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"]
       and ch[0].get("challenge_length") == 16
       and ch[0].get("scsv") is True and ch[0].get("renegotiation_info") is False,
       ch)
    ok("%s: its random is the challenge left-padded to 32 bytes" % name,
       len(ch) == 1 and ch[0].get("random") == (bytes(16) + challenge).hex(), ch)
    sh = events(objs, "server_hello", dir="out")
    ok("%s: the server's server_hello" % name,
       len(sh) == 1 and sh[0].get("cipher") == "TLS_RSA_WITH_AES_128_GCM_SHA256"
       and sh[0].get("version") == "TLS 1.2", sh)
    ce = events(objs, "certificate", dir="out")
    ok("%s: the server's certificate" % name,
       len(ce) == 1 and ce[0].get("subject") == "CN=localhost", ce)
    ok("%s: no decode_error" % name, not events(objs, "decode_error"),
       events(objs, "decode_error"))


why = missing("openssl")
if why:
    skip("old hellos", why)
    finish()

# 1a. the hello alone: s_server answers it
challenge, err, objs, out = server_log_for(full=False)
ok("hello only: the scripted client got the server's first flight", err is None, err)
if challenge is not None:
    check_hello(objs, challenge, "hello only")
    ok("hello only: server_hello_done",
       len(events(objs, "server_hello_done", dir="out")) == 1)

# 1b. the whole exchange
try:
    import cryptography  # noqa: F401
    have_crypto = True
except ImportError:
    have_crypto = False
if not have_crypto:
    skip("full SSLv2-compatible exchange", "python3-cryptography not installed")
else:
    challenge, err, objs, out = server_log_for(full=True)
    with open(out, "rb") as f:
        sout = f.read().decode("utf-8", "replace")
    ok("full: s_server completed the handshake",
       err is None and "1 server accepts that finished" in sout,
       (err, sout[-600:]))
    if challenge is not None:
        check_hello(objs, challenge, "full")
        names = [(o.get("dir"), o.get("event")) for o in objs
                 if o.get("event") in ("client_hello", "server_hello", "certificate",
                                       "server_hello_done", "client_key_exchange",
                                       "change_cipher_spec", "finished", "alert")]
        ok("full: every message of both sides, in order",
           names == [("in", "client_hello"), ("out", "server_hello"),
                     ("out", "certificate"), ("out", "server_hello_done"),
                     ("in", "client_key_exchange"), ("in", "change_cipher_spec"),
                     ("in", "finished"), ("out", "change_cipher_spec"),
                     ("out", "finished"), ("in", "alert"), ("out", "alert")],
           names)
        fin = events(objs, "finished", dir="in")
        al = events(objs, "alert", dir="in")
        ok("full: the client's Finished and close_notify decrypted",
           len(fin) == 1 and fin[0].get("decrypted") is True
           and len(al) == 1 and al[0].get("alert") == "close_notify"
           and al[0].get("decrypted") is True, (fin, al))
        sm = events(objs, "summary")
        ok("full: summary TLS 1.2, keys used",
           len(sm) == 1 and sm[0].get("version") == "TLS 1.2"
           and sm[0].get("keys") == "used"
           and sm[0].get("messages", [])[:1] == ["in client_hello"], sm)

def capture(name):
    """The writes of a fuzz_record seed cut from a real capture
    (tests/fuzz/mkseeds.py: Zeek's testing/btest/Traces/tls/)."""
    with open(os.path.join(ROOT_DIR, "tests", "fuzz", "corpus", "fuzz_record",
                           name), "rb") as f:
        seed = f.read()
    segs, off = [], 5
    while off < len(seed):
        n = struct.unpack(">H", seed[off + 1:off + 3])[0]
        segs.append(seed[off + 3:off + 3 + n])
        off += 3 + n
    return segs


# 2. SSL 2.0's own hellos, from ssl-v2.pcap
ch2, sh2, after = capture("ssl2.client")


def scripted_server(ch2, sh2):
    """One connection: reads len(ch2) bytes, answers sh2, reads to EOF;
    returns (port, thread, [bytes read first, bytes read after])."""
    got = []

    def talk(c):
        data = b""
        while len(data) < len(ch2):
            more = c.recv(4096)
            if not more:
                break
            data += more
        got.append(data)
        c.sendall(sh2)
        rest = b""
        while True:
            more = c.recv(4096)
            if not more:
                break
            rest += more
        got.append(rest)

    port, t = serve_once(talk)
    return port, t, got


CLIENT = r"""
import socket, sys
ch, after, n = bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
# a client writing its hello, reading the answer, then writing after
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(ch)
got = b""
while len(got) < n:
    more = s.recv(4096)
    if not more:
        break
    got += more
if after:
    s.sendall(after)
s.close()
sys.exit(0 if len(got) == n else 3)
"""

port, t, got = scripted_server(ch2, sh2)
r, text = traced([sys.executable, "-c", CLIENT, str(port), ch2.hex(), after.hex(),
                  str(len(sh2))], level="debug", timeout=30)
t.join(20)
objs = parse_json_log(text, "ssl2 client log")
ok("ssl2: the client ran as untraced (exit 0, the server got its bytes)",
   r.returncode == 0 and got == [ch2, after], (r.returncode, r.stderr[-300:]))
evs = [(o.get("dir"), o.get("event")) for o in objs if o.get("event") != "record"]
ok("ssl2: one event per hello, each direction then stops, then the end",
   evs == [("out", "ssl2_client_hello"), ("out", "decoding_stopped"),
           ("in", "ssl2_server_hello"), ("in", "decoding_stopped"),
           ("out", "connection_closed"), ("out", "summary")], evs)
c2 = events(objs, "ssl2_client_hello")
ok("ssl2: the client hello: SSL 2.0, 7 cipher kinds named",
   len(c2) == 1 and c2[0].get("version") == "SSL 2.0" and c2[0].get("cipher_count") == 7
   and c2[0].get("cipher_specs", [None])[0] == "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"
   and c2[0].get("role") == "client", c2)
s2 = events(objs, "ssl2_server_hello")
ok("ssl2: the server hello: its certificate's subject, 6 kinds, 16-byte connection id",
   len(s2) == 1 and s2[0].get("subject", "").startswith("emailAddress=info@plesk.com,CN=plesk")
   and s2[0].get("cipher_count") == 6 and s2[0].get("connection_id_length") == 16, s2)
sm = events(objs, "summary")
ok("ssl2: summary version SSL 2.0, no cipher, both hellos listed",
   len(sm) == 1 and sm[0].get("version") == "SSL 2.0" and "cipher" not in sm[0]
   and sm[0].get("messages") == ["out client_hello", "in server_hello"], sm)

# 3. TLS 1.3 draft 19, from tls-13draft19-early-data.pcap
ch19, sh19 = capture("tls13_draft19.client")
port, t, got = scripted_server(ch19, sh19)
r, text = traced([sys.executable, "-c", CLIENT, str(port), ch19.hex(), "",
                  str(len(sh19))], level="debug", timeout=30)
t.join(20)
objs = parse_json_log(text, "draft 19 client log")
ok("draft 19: the client ran as untraced", r.returncode == 0 and got[:1] == [ch19],
   (r.returncode, r.stderr[-300:]))
ch = events(objs, "client_hello", dir="out")
ok("draft 19: the client offers TLS 1.3 draft 19",
   len(ch) == 1 and ch[0].get("supported_versions", [None])[0] == "TLS 1.3 draft 19", ch)
sh = events(objs, "server_hello", dir="in")
ok("draft 19: the ServerHello in the draft's layout: version, suite, group",
   len(sh) == 1 and sh[0].get("version") == "TLS 1.3 draft 19"
   and sh[0].get("cipher") == "TLS_AES_256_GCM_SHA384" and sh[0].get("group") == "x25519"
   and "session_id" not in sh[0] and "compression" not in sh[0], sh)
ok("draft 19: no decode_error", not events(objs, "decode_error"), events(objs, "decode_error"))
sm = events(objs, "summary")
ok("draft 19: summary names the draft",
   len(sm) == 1 and sm[0].get("version") == "TLS 1.3 draft 19", sm)
finish()
