#!/usr/bin/env python3
"""A server that speaks just enough of a cleartext protocol to upgrade to
TLS the way a real server of that protocol does, for the STARTTLS tests.

    starttls_server.py --proto P [--refuse | --plain] [--verify-ca FILE]
                       [--tls1_2] [--count N] [--timeout S] [--certs DIR]

P is one of smtp, lmtp, imap, pop3, ftp, ldap, mysql, xmpp, nntp, sieve,
postgresql.  The server listens on 127.0.0.1, port 0, and prints the port
on its first stdout line; it serves N connections one after the other,
then exits (at the latest after S seconds, exit status 3).  For each
connection it prints one line: "conn I: tls VERSION peer SUBJECT",
"conn I: refused", "conn I: plain" or "conn I: error WHY".

- default: greets, advertises the upgrade, accepts it with the reply a
  real server gives, does the TLS handshake (python's ssl, the test PKI's
  server certificate and chain from DIR, build/certs by default), then
  serves a short exchange over TLS (the protocol's quit: QUIT/221,
  LOGOUT, an LDAP unbind, a MySQL COM_QUIT, a PostgreSQL Terminate,
  </stream:stream>) and closes with a close_notify.
- --refuse: offers the upgrade but answers the request no, as a server
  whose TLS cannot be set up does (Postfix's 454, slapd's unavailable);
  whatever comes next (a client that starts TLS all the same) ends the
  connection.  MySQL has no refusal: its greeting does not offer SSL.
- --plain: a session that never upgrades (nothing offered; greeting, a
  command or two, quit).
- --verify-ca FILE: the client must send a certificate (CERT_REQUIRED)
  verified against FILE, and the CertificateRequest names FILE's
  certificates as acceptable CAs, in the file's order.
- --tls1_2: TLS 1.2 at most (TLS 1.3 is negotiated otherwise).

Python's ssl module does not set a client CA list (the CA names of a
CertificateRequest); that one call is made through ctypes on the
SSL_CTX behind the SSLContext, in the libssl that _ssl uses.
"""
import argparse
import ctypes
import os
import signal
import socket
import ssl
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTOS = ("smtp", "lmtp", "imap", "pop3", "ftp", "ldap", "mysql", "xmpp", "nntp", "sieve",
          "postgresql")
CONN_TIMEOUT = 10
LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
XMPP_TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


class Closed(Exception):
    """The peer closed (or sent what ends the session)."""


class Peer:
    """One connection: the socket (plain, then TLS) with a read buffer.
    Nothing is read past a complete request, so no TLS byte is taken
    before the upgrade."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def fill(self, n=16384):
        d = self.s.recv(n)
        if not d:
            raise Closed("eof")
        self.buf += d

    def line(self, limit=4096):
        while b"\n" not in self.buf:
            if len(self.buf) > limit or (self.buf and self.buf[:1] == b"\x16"):
                raise Closed("not a command line: %r" % self.buf[:16])
            self.fill()
        i = self.buf.index(b"\n") + 1
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln.rstrip(b"\r\n").decode("latin-1")

    def exact(self, n):
        while len(self.buf) < n:
            # no more than asked for: a MySQL client sends its ClientHello
            # right behind the SSL request packet, without an answer
            self.fill(n - len(self.buf))
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def until(self, token):
        while token not in self.buf:
            if len(self.buf) > 65536:
                raise Closed("no %r" % token)
            self.fill()
        i = self.buf.index(token) + len(token)
        d, self.buf = self.buf[:i], self.buf[i:]
        return d

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def upgrade(self, ctx):
        if self.buf:
            raise Closed("bytes before the handshake")
        self.s = ctx.wrap_socket(self.s, server_side=True)
        cert = self.s.getpeercert()
        subject = ",".join("%s=%s" % kv for rdn in reversed((cert or {}).get("subject", ()))
                           for kv in rdn) or "none"
        return "tls %s peer %s" % (self.s.version(), subject)

    def after_refusal(self):
        """What a server without TLS does with a client that starts TLS
        anyway: the bytes are no command; the connection ends."""
        try:
            self.s.settimeout(2)
            self.fill()
        except (OSError, Closed):
            pass


def set_client_ca_list(ctx, cafile):
    """SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(cafile))
    on the SSL_CTX of an ssl.SSLContext (its first field after the object
    header), checked through the verify mode python has set on it."""
    path = None
    with open("/proc/self/maps") as f:
        for ln in f:
            if "/libssl.so" in ln:
                path = ln.split()[-1]
                break
    if path is None:
        raise RuntimeError("libssl is not mapped")
    lib = ctypes.CDLL(path)
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    lib.SSL_load_client_CA_file.argtypes = [ctypes.c_char_p]
    lib.SSL_load_client_CA_file.restype = ctypes.c_void_p
    lib.SSL_CTX_set_client_CA_list.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.SSL_CTX_set_client_CA_list.restype = None
    sslctx = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    # SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, as CERT_REQUIRED sets
    if not sslctx or lib.SSL_CTX_get_verify_mode(sslctx) != 3:
        raise RuntimeError("SSL_CTX not found behind the SSLContext")
    names = lib.SSL_load_client_CA_file(cafile.encode())
    if not names:
        raise RuntimeError("no CA names in %s" % cafile)
    lib.SSL_CTX_set_client_CA_list(sslctx, names)


def make_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.certs, "server-chain.pem"),
                        os.path.join(args.certs, "server.key"))
    if args.tls1_2:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.verify_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.verify_ca)
        set_client_ca_list(ctx, args.verify_ca)
    return ctx


# ------------------------------------------------------------ line protocols
# Each session function returns the connection's outcome line; it raises
# Closed when the peer goes away.

def smtp(p, ctx, mode, lmtp=False):
    name = "LMTP" if lmtp else "ESMTP"
    p.send("220 localhost %s tlstrace test server\r\n" % name)
    hello = "LHLO" if lmtp else "EHLO"
    outcome = "plain"
    while True:
        ln = p.line()
        cmd = ln.split(" ", 1)[0].upper()
        tls = outcome != "plain"
        if cmd == hello or (cmd == "HELO" and not lmtp):
            caps = ["PIPELINING", "SIZE 10240000", "8BITMIME"]
            if mode != "plain" and not tls:
                caps.insert(1, "STARTTLS")
            lines = ["localhost"] + caps
            p.send("".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l)
                           for i, l in enumerate(lines)))
        elif cmd == "STARTTLS" and not tls:
            if mode != "tls":
                p.send("454 4.7.0 TLS not available due to local problem\r\n")
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send("220 2.0.0 Ready to start TLS\r\n")
            outcome = p.upgrade(ctx)
        elif cmd == "QUIT":
            p.send("221 2.0.0 Bye\r\n")
            return outcome
        elif cmd in ("NOOP", "RSET"):
            p.send("250 2.0.0 Ok\r\n")
        elif cmd == "HELP":
            p.send("214 2.0.0 See RFC 5321\r\n")
        elif cmd == "VRFY":
            p.send("252 2.0.0 Cannot VRFY user\r\n")
        elif cmd in ("MAIL", "RCPT"):
            p.send("250 2.1.0 Ok\r\n")
        else:
            p.send("502 5.5.2 Error: command not recognized\r\n")


def imap(p, ctx, mode):
    p.send("* OK tlstrace test IMAP server ready.\r\n")
    outcome = "plain"
    while True:
        ln = p.line()
        parts = ln.split(" ", 2)
        tag = parts[0]
        cmd = parts[1].upper() if len(parts) > 1 else ""
        tls = outcome != "plain"
        if cmd == "CAPABILITY":
            caps = "IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN"
            if mode != "plain" and not tls:
                caps = "IMAP4rev1 LITERAL+ SASL-IR STARTTLS LOGINDISABLED"
            p.send("* CAPABILITY %s\r\n%s OK Pre-login capabilities listed, post-login "
                   "capabilities have more.\r\n" % (caps, tag))
        elif cmd == "STARTTLS" and not tls:
            if mode != "tls":
                p.send("%s BAD TLS support isn't enabled.\r\n" % tag)
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send("%s OK Begin TLS negotiation now.\r\n" % tag)
            outcome = p.upgrade(ctx)
        elif cmd == "LOGOUT":
            p.send("* BYE Logging out\r\n%s OK Logout completed.\r\n" % tag)
            return outcome
        elif cmd in ("LOGIN", "AUTHENTICATE"):
            p.send("%s OK Logged in\r\n" % tag)
        elif cmd == "LIST":
            p.send('* LIST (\\HasNoChildren) "/" INBOX\r\n%s OK List completed.\r\n' % tag)
        elif cmd in ("SELECT", "EXAMINE"):
            p.send("* FLAGS (\\Seen)\r\n* 0 EXISTS\r\n%s OK [READ-WRITE] Select completed.\r\n"
                   % tag)
        elif cmd == "NOOP":
            p.send("%s OK NOOP completed.\r\n" % tag)
        else:
            p.send("%s BAD Error in IMAP command received by server.\r\n" % tag)


def pop3(p, ctx, mode):
    p.send("+OK tlstrace test POP3 server ready.\r\n")
    outcome = "plain"
    while True:
        ln = p.line()
        cmd = ln.split(" ", 1)[0].upper()
        tls = outcome != "plain"
        if cmd == "CAPA":
            caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "USER"]
            if mode != "plain" and not tls:
                caps.append("STLS")
            p.send("+OK\r\n" + "".join(c + "\r\n" for c in caps) + ".\r\n")
        elif cmd == "STLS" and not tls:
            if mode != "tls":
                p.send("-ERR TLS support isn't enabled.\r\n")
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send("+OK Begin TLS negotiation now.\r\n")
            outcome = p.upgrade(ctx)
        elif cmd == "QUIT":
            p.send("+OK Logging out.\r\n")
            return outcome
        elif cmd in ("USER", "PASS", "NOOP", "RSET"):
            p.send("+OK\r\n")
        elif cmd == "STAT":
            p.send("+OK 0 0\r\n")
        elif cmd in ("LIST", "UIDL"):
            p.send("+OK 0 messages:\r\n.\r\n")
        else:
            p.send("-ERR Unknown command.\r\n")


def ftp(p, ctx, mode):
    p.send("220 tlstrace test FTP server ready.\r\n")
    outcome = "plain"
    while True:
        ln = p.line()
        cmd = ln.split(" ", 1)[0].upper()
        arg = ln.split(" ", 1)[1] if " " in ln else ""
        tls = outcome != "plain"
        if cmd == "AUTH" and not tls:
            if mode != "tls":
                p.send("534 Local policy on server does not allow TLS secure connections.\r\n")
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send("234 AUTH %s OK.\r\n" % arg.upper())
            outcome = p.upgrade(ctx)
        elif cmd == "FEAT":
            feats = ["EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "UTF8"]
            if mode != "plain":
                feats += ["AUTH TLS", "PBSZ", "PROT"]
            p.send("211-Features:\r\n" + "".join(" %s\r\n" % f for f in sorted(feats))
                   + "211 End\r\n")
        elif cmd == "USER":
            p.send("331 Please specify the password.\r\n")
        elif cmd == "PASS":
            p.send("230 Login successful.\r\n")
        elif cmd == "PBSZ":
            p.send("200 PBSZ=0\r\n")
        elif cmd == "PROT":
            p.send("200 Protection level set to %s\r\n" % arg.upper())
        elif cmd == "PWD":
            p.send('257 "/" is the current directory\r\n')
        elif cmd == "CWD":
            p.send("250 Directory successfully changed.\r\n")
        elif cmd == "TYPE":
            p.send("200 Switching to %s mode.\r\n" % ("ASCII" if arg.upper() == "A" else "Binary"))
        elif cmd == "SYST":
            p.send("215 UNIX Type: L8\r\n")
        elif cmd == "MDTM":
            p.send("213 20260101000000\r\n")
        elif cmd == "SIZE":
            p.send("213 12\r\n")
        elif cmd == "REST":
            p.send("350 Restart position accepted (%s).\r\n" % arg)
        elif cmd == "NOOP":
            p.send("200 NOOP ok.\r\n")
        elif cmd == "QUIT":
            p.send("221 Goodbye.\r\n")
            return outcome
        else:
            p.send("502 Command not implemented.\r\n")


def nntp(p, ctx, mode):
    p.send("200 tlstrace test NNTP server ready (posting ok)\r\n")
    outcome = "plain"
    while True:
        ln = p.line()
        cmd = ln.split(" ", 1)[0].upper()
        tls = outcome != "plain"
        if cmd == "CAPABILITIES":
            caps = ["VERSION 2", "READER", "LIST ACTIVE NEWSGROUPS"]
            if mode != "plain" and not tls:
                caps.append("STARTTLS")
            p.send("101 Capability list:\r\n" + "".join(c + "\r\n" for c in caps) + ".\r\n")
        elif cmd == "STARTTLS" and not tls:
            if mode != "tls":
                p.send("580 Can not initiate TLS negotiation\r\n")
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send("382 Continue with TLS negotiation\r\n")
            outcome = p.upgrade(ctx)
        elif cmd == "DATE":
            p.send("111 20260101000000\r\n")
        elif cmd == "MODE":
            p.send("200 Posting allowed\r\n")
        elif cmd == "QUIT":
            p.send("205 Connection closing\r\n")
            return outcome
        else:
            p.send("500 Unknown command\r\n")


def sieve_caps(starttls):
    caps = ['"IMPLEMENTATION" "tlstrace test ManageSieve"', '"SIEVE" "fileinto reject envelope"',
            '"NOTIFY" "mailto"', '"SASL" "PLAIN"']
    if starttls:
        caps.append('"STARTTLS"')
    caps.append('"VERSION" "1.0"')
    return "".join(c + "\r\n" for c in caps)


def sieve(p, ctx, mode):
    p.send(sieve_caps(mode != "plain") + 'OK "ManageSieve server ready."\r\n')
    outcome = "plain"
    while True:
        ln = p.line()
        cmd = ln.split(" ", 1)[0].upper()
        tls = outcome != "plain"
        if cmd == "CAPABILITY":
            p.send(sieve_caps(mode != "plain" and not tls) + 'OK "Capability completed."\r\n')
        elif cmd == "STARTTLS" and not tls:
            if mode != "tls":
                p.send('NO "TLS support isn\'t enabled."\r\n')
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send('OK "Begin TLS negotiation now."\r\n')
            outcome = p.upgrade(ctx)
            # RFC 5804 2.2: the capabilities again, at once, over TLS
            p.send(sieve_caps(False) + 'OK "TLS negotiation successful."\r\n')
        elif cmd == "NOOP":
            p.send('OK "NOOP completed."\r\n')
        elif cmd == "LOGOUT":
            p.send('OK "Logout completed."\r\n')
            return outcome
        else:
            p.send('NO "Unknown command."\r\n')


# ------------------------------------------------------------ XMPP

def xmpp(p, ctx, mode):
    def header(features):
        return ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                "xmlns:stream='http://etherx.jabber.org/streams' id='tlstrace-%d' "
                "from='localhost' version='1.0' xml:lang='en'><stream:features>%s"
                "</stream:features>" % (os.getpid(), features))

    if p.until(b">").lstrip().startswith(b"<?xml"):
        p.until(b">")  # the client's stream header, after its XML declaration
    mechs = ("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
             "<mechanism>PLAIN</mechanism></mechanisms>")
    if mode != "plain":
        p.send(header("<starttls xmlns='%s'><required/></starttls>" % XMPP_TLS_NS))
    else:
        p.send(header(mechs))
    outcome = "plain"
    while True:
        p.fill()
        data = p.buf.decode("latin-1")
        if "<starttls" in data and outcome == "plain":
            if not (data.rstrip().endswith("/>") or "</starttls>" in data):
                continue
            p.buf = b""
            if mode != "tls":
                # the failure, then (once the client has had it) the end
                # of the stream, as Prosody and ejabberd close
                p.send("<failure xmlns='%s'/>" % XMPP_TLS_NS)
                if mode == "refuse":
                    p.after_refusal()
                    try:
                        p.send("</stream:stream>")
                    except OSError:
                        pass
                    return "refused"
                p.send("</stream:stream>")
                return "plain"
            p.send("<proceed xmlns='%s'/>" % XMPP_TLS_NS)
            outcome = p.upgrade(ctx)
        elif "</stream:stream>" in data:
            p.send("</stream:stream>")
            return outcome
        elif "<stream:stream" in data and data.rstrip().endswith(">"):
            p.buf = b""
            p.send(header(mechs))  # the restarted stream, over TLS


# ------------------------------------------------------------ LDAP (BER)

def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def ber(tag, content):
    return bytes([tag]) + ber_len(len(content)) + content


def ldap_read(p):
    """One LDAPMessage: (messageID, protocolOp tag, op content)."""
    hdr = p.exact(2)
    if hdr[0] != 0x30:
        raise Closed("not an LDAPMessage")
    n = hdr[1]
    if n & 0x80:
        k = n & 0x7F
        if not 1 <= k <= 3:
            raise Closed("bad length")
        n = int.from_bytes(p.exact(k), "big")
    body = p.exact(n)
    if body[0] != 0x02:
        raise Closed("no messageID")
    idlen = body[1]
    msgid = int.from_bytes(body[2:2 + idlen], "big")
    rest = body[2 + idlen:]
    op, oplen, i = rest[0], rest[1], 2
    if oplen & 0x80:
        k = oplen & 0x7F
        oplen, i = int.from_bytes(rest[2:2 + k], "big"), 2 + k
    return msgid, op, rest[i:i + oplen]


def ldap_result(msgid, op, code, diag=b"", extra=b""):
    result = ber(0x0A, bytes([code])) + ber(0x04, b"") + ber(0x04, diag) + extra
    return ber(0x30, ber(0x02, bytes([msgid])) + ber(op, result))


def ldap(p, ctx, mode):
    outcome = "plain"
    while True:
        msgid, op, content = ldap_read(p)
        if op == 0x77 and outcome == "plain":  # ExtendedRequest
            if LDAP_STARTTLS_OID not in content:
                p.send(ldap_result(msgid, 0x78, 2, b"unsupported extended operation"))
                continue
            if mode != "tls":
                # unavailable (52), as slapd answers without TLS configured
                p.send(ldap_result(msgid, 0x78, 52, b"Could not initialize TLS",
                                   ber(0x8A, LDAP_STARTTLS_OID)))
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send(ldap_result(msgid, 0x78, 0, b"", ber(0x8A, LDAP_STARTTLS_OID)))
            outcome = p.upgrade(ctx)
        elif op == 0x60:  # BindRequest
            p.send(ldap_result(msgid, 0x61, 0))
        elif op == 0x63:  # SearchRequest: no entries
            p.send(ldap_result(msgid, 0x65, 0))
        elif op == 0x42:  # UnbindRequest: the session ends, no answer
            return outcome
        else:
            p.send(ldap_result(msgid, 0x78, 2, b"unsupported operation"))


# ------------------------------------------------------------ MySQL

CLIENT_SSL = 0x0800


def mysql(p, ctx, mode):
    caps = 0x0001 | 0x0004 | 0x0008 | 0x0200 | 0x2000 | 0x8000 | 0x00080000 | 0x00200000
    if mode == "tls":
        caps |= CLIENT_SSL
    salt = b"tlstrace-salt-2026..."[:20]
    payload = (b"\x0a" + b"8.0.36-tlstrace\x00" + struct.pack("<I", 7) + salt[:8] + b"\x00"
               + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
               + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10
               + salt[8:] + b"\x00" + b"mysql_native_password\x00")
    p.send(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
    outcome = "plain"
    while True:
        hdr = p.exact(4)
        n = int.from_bytes(hdr[:3], "little")
        body = p.exact(n)
        if outcome == "plain" and n == 32 and struct.unpack("<I", body[:4])[0] & CLIENT_SSL:
            if mode != "tls":
                raise Closed("SSL request packet, SSL not offered")
            outcome = p.upgrade(ctx)
        elif body[:1] == b"\x01":  # COM_QUIT
            return outcome
        else:  # a handshake response or a command: OK packet
            p.send(struct.pack("<I", 7)[:3] + bytes([(hdr[3] + 1) & 0xFF])
                   + b"\x00\x00\x00\x02\x00\x00\x00")


# ------------------------------------------------------------ PostgreSQL

def postgresql(p, ctx, mode):
    outcome = "plain"
    while True:
        n = struct.unpack("!I", p.exact(4))[0]
        body = p.exact(n - 4)
        code = struct.unpack("!I", body[:4])[0] if len(body) >= 4 else 0
        if n == 8 and code == 80877104:  # GSSENCRequest
            p.send(b"N")
        elif n == 8 and code == 80877103 and outcome == "plain":  # SSLRequest
            if mode != "tls":
                p.send(b"N")
                if mode == "refuse":
                    p.after_refusal()
                    return "refused"
                continue
            p.send(b"S")
            outcome = p.upgrade(ctx)
            # After TLS the messages are typed: 'X' (Terminate) ends it.
            while True:
                t = p.exact(1)
                m = p.exact(struct.unpack("!I", p.exact(4))[0] - 4)
                if t == b"X":
                    return outcome
                del m
        elif code == 196608:  # StartupMessage: AuthenticationOk, ReadyForQuery
            p.send(b"R\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I")
            while p.exact(1) != b"X":
                p.exact(struct.unpack("!I", p.exact(4))[0] - 4)
            return outcome
        else:
            raise Closed("unknown startup packet")


SESSIONS = {
    "smtp": smtp, "lmtp": lambda p, c, m: smtp(p, c, m, lmtp=True), "imap": imap,
    "pop3": pop3, "ftp": ftp, "ldap": ldap, "mysql": mysql, "xmpp": xmpp, "nntp": nntp,
    "sieve": sieve, "postgresql": postgresql,
}


def close(p):
    """A TLS session ends with a close_notify (what s_client waits for to
    exit 0); then the socket is closed."""
    try:
        if isinstance(p.s, ssl.SSLSocket):
            p.s.settimeout(2)
            p.s = p.s.unwrap()
    except (OSError, ValueError):
        pass
    try:
        p.s.close()
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--proto", required=True, choices=PROTOS)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--refuse", action="store_true")
    g.add_argument("--plain", action="store_true")
    ap.add_argument("--verify-ca")
    ap.add_argument("--tls1_2", action="store_true")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--certs", default=os.path.join(ROOT, "build", "certs"))
    args = ap.parse_args()

    def expire(signum, frame):
        print("timeout after %g s" % args.timeout, flush=True)
        os._exit(3)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    mode = "refuse" if args.refuse else "plain" if args.plain else "tls"
    ctx = make_context(args)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    print(ls.getsockname()[1], flush=True)
    for i in range(1, args.count + 1):
        c, _ = ls.accept()
        c.settimeout(CONN_TIMEOUT)
        p = Peer(c)
        try:
            outcome = SESSIONS[args.proto](p, ctx, mode)
        except Closed as e:
            outcome = "refused" if mode == "refuse" else "error %s" % e
        except (OSError, ssl.SSLError) as e:
            outcome = "error %s" % e
        close(p)
        print("conn %d: %s" % (i, outcome), flush=True)
    ls.close()


if __name__ == "__main__":
    main()
