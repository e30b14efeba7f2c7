#!/usr/bin/env python3
"""Cuts the committed seed corpora of the fuzz targets from real exchanges.

    python3 tests/fuzz/mkseeds.py [--keep] [TARGET...]

builds build/tools/mksteps (tests/fuzz/mksteps.c: mkcorpus plus the order
of every write and the key logs), runs it into a temporary folder, and
rewrites tests/fuzz/corpus/fuzz_{record,handshake,client_hello,
certificate,certificate_request,decrypt,starttls,midstream}/ from what
it wrote
(fuzz_starttls: cleartext sessions, then a real exchange; fuzz_dn,
fuzz_keylog and fuzz_cbc, whose seeds are operations rather than
exchanges, are left alone), or only the corpora of the targets named.
Each file is what the target reads (see the comment at the top of each
tests/fuzz/fuzz_*.c): control bytes where the target takes them, then
bytes from OpenSSL exchanges.  A few seeds are real messages recombined
(a TLS 1.3 server flight, a CertificateRequest without its signature
algorithms, one carrying the names of the fuzz_dn corpus) or records
altered (a flipped ciphertext byte, a key log without some secrets) to
reach paths OpenSSL's defaults do not take.  Randoms and signatures
differ from run to run, so regenerating changes bytes, not coverage.
With --keep, the corpora are not emptied first and existing seed files
are left as they are: only seeds missing from them are written.

Old and odd handshakes no test peer makes come from real captures
(Zeek's testing/btest/Traces/tls/, their bytes below): SSL 2.0's own
hellos, TLS 1.3 draft 14, 16 and 19 hellos; the SSLv2-compatible
ClientHello starts a real exchange with an OpenSSL server (mksteps).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
MAX_SEED = 8 * 1024
# fuzz_decrypt's seeds are whole exchanges with their key log
MAX_DECRYPT_SEED = 32 * 1024

SCENARIOS = [
    "tls12_mtls_ca", "tls12_mtls_noca", "tls12_mtls_nocert", "tls12_cbc",
    "tls13_mtls_ca", "tls13_mtls_noca", "tls13_mtls_nocert", "tls13_hrr",
    "tls13_chacha", "tls12_reneg", "tls12_reneg_refused",
    "tls12_reneg_reset",
]


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def seed_of(name):
    """A split-pattern seed that is stable for a given file name."""
    return zlib.crc32(name.encode()) or 1


def u8(n):
    return struct.pack(">B", n)


def u16(n):
    return struct.pack(">H", n)


def u24(n):
    return struct.pack(">I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def vec24(b):
    return u24(len(b)) + b


KEEP = False  # --keep: add missing seeds, leave existing ones


class Out:
    def __init__(self, target, max_seed=MAX_SEED):
        self.dir = os.path.join(CORPUS, target)
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0
        self.size = 0
        self.max_seed = max_seed

    def put(self, name, data):
        if len(data) > self.max_seed:
            sys.exit("mkseeds: %s/%s is %d bytes" % (self.dir, name,
                                                     len(data)))
        path = os.path.join(self.dir, name)
        if KEEP and os.path.exists(path):
            return
        with open(path, "wb") as f:
            f.write(data)
        self.n += 1
        self.size += len(data)


# ---- message surgery (bodies, no 4-byte header) ----

def ch_without_extensions(body):
    """A ClientHello cut before its extensions: the pre-TLS 1.2 form."""
    off = 2 + 32
    off += 1 + body[off]
    off += 2 + struct.unpack(">H", body[off:off + 2])[0]
    off += 1 + body[off]
    return body[:off]


def cr12_without_sigalgs(body):
    """A TLS 1.2 CertificateRequest in the TLS 1.0/1.1 form."""
    types_end = 1 + body[0]
    sig_len = struct.unpack(">H", body[types_end:types_end + 2])[0]
    return body[:types_end] + body[types_end + 2 + sig_len:]


def cr12_with_names(body, names):
    types_end = 1 + body[0]
    sig_len = struct.unpack(">H", body[types_end:types_end + 2])[0]
    head = body[:types_end + 2 + sig_len]
    return head + vec16(b"".join(vec16(n) for n in names))


def cr13_exts(body):
    ctx_end = 1 + body[0]
    exts = body[ctx_end + 2:]
    out = []
    while exts:
        t, n = struct.unpack(">HH", exts[:4])
        out.append((t, exts[4:4 + n]))
        exts = exts[4 + n:]
    return body[:ctx_end], out


def cr13_build(ctx, exts):
    return ctx + vec16(b"".join(u16(t) + vec16(v) for t, v in exts))


def cr13_without_cas(body):
    """TLS 1.3 CertificateRequest with no certificate_authorities."""
    ctx, exts = cr13_exts(body)
    return cr13_build(ctx, [(t, v) for t, v in exts if t != 47])


def cr13_with_names(body, names):
    ctx, exts = cr13_exts(body)
    cas = vec16(b"".join(vec16(n) for n in names))
    return cr13_build(ctx, [(t, cas if t == 47 else v) for t, v in exts])


def cert12(ders):
    return vec24(b"".join(vec24(d) for d in ders))


def cert13(ders):
    return vec8(b"") + vec24(b"".join(vec24(d) + vec16(b"") for d in ders))


def msg(typ, body):
    return u8(typ) + vec24(body)


def dec_layers():
    """The decoder's layers, from the Makefile's DEC_LAYERS."""
    with open(os.path.join(TOP, "Makefile")) as f:
        for line in f:
            if line.startswith("DEC_LAYERS"):
                return line.split(":=", 1)[1].split()
    sys.exit("mkseeds: no DEC_LAYERS in the Makefile")


def build_mksteps():
    """mksteps.c linked with the archives of the plain unit tests (the
    decoder, the unit-tested shim modules, the test helpers)."""
    exe = os.path.join(TOP, "build", "tools", "mksteps")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    archives = [os.path.join("build", a) for a in
                ("libtt_helpers.a", "libtt_shim_unit.a", "libtt_decoder.a")]
    subprocess.run(["make", "--no-print-directory", "-s"] + archives,
                   cwd=TOP, check=True)
    incs = ["-Idecoder/" + l for l in dec_layers()]
    subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11",
                    "-D_GNU_SOURCE", "-O2"] + incs +
                   ["-Ishim", "-Itests/unit/helpers", "-o", exe,
                    os.path.join("tests", "fuzz", "mksteps.c")] + archives +
                   ["-lssl", "-lcrypto", "-lz", "-ldl", "-lpthread"],
                   cwd=TOP, check=True)
    return exe


TARGETS = ["fuzz_record", "fuzz_handshake", "fuzz_client_hello",
           "fuzz_certificate", "fuzz_certificate_request", "fuzz_decrypt",
           "fuzz_inflate", "fuzz_starttls", "fuzz_midstream"]


def main():
    global KEEP
    args = sys.argv[1:]
    if args[:1] == ["--keep"]:
        KEEP = True
        args = args[1:]
    targets = args or TARGETS
    for t in targets:
        if t not in TARGETS:
            sys.exit("usage: mkseeds.py [--keep] [TARGET...] (of %s)" %
                     " ".join(TARGETS))
    tmp = tempfile.mkdtemp(prefix="tlstrace-seeds.")
    try:
        subprocess.run([build_mksteps(), tmp], check=True)
        make_seeds(tmp, targets)
    finally:
        shutil.rmtree(tmp)


def seeds_record(src):
    # fuzz_record: flags, seed, then the writes as segments
    out = Out("fuzz_record")
    for i, scen in enumerate(SCENARIOS):
        steps = read(src, "steps", scen)
        # alternate the point of view: client (c2s goes out) or server
        view = "client" if i % 2 == 0 else "server"
        name = "%s.%s" % (scen, view)
        flags = 1 if view == "client" else 0
        out.put(name, u8(flags) + struct.pack(">I", seed_of(name)) + steps)
    # one direction alone: what a trace of a half-seen exchange gets
    for scen, side in (("tls12_reneg_reset", 1), ("tls13_hrr", 1),
                       ("tls12_mtls_ca", 0)):
        steps = read(src, "steps", scen)
        segs, off = [], 0
        while off < len(steps):
            n = struct.unpack(">H", steps[off + 1:off + 3])[0]
            if steps[off] & 1 == side:
                segs.append(steps[off:off + 3 + n])
            off += 3 + n
        name = "%s.%s_only" % (scen, "s2c" if side else "c2s")
        out.put(name, u8(1) + struct.pack(">I", seed_of(name)) +
                b"".join(segs))
    # an SSLv2-compatible ClientHello, then TLS 1.2 (an OpenSSL server)
    steps = read(src, "steps", "sslv2_compat")
    for view, flags in (("client", 1), ("server", 0)):
        name = "sslv2_compat.%s" % view
        out.put(name, u8(flags) + struct.pack(">I", seed_of(name)) + steps)
    for name, flags, segs in oldhello_segments():
        out.put(name, u8(flags) + struct.pack(">I", seed_of(name)) +
                join(segs))
    print("fuzz_record: %d seeds" % out.n)


def stream_records(steps, from_server):
    """One direction's records as (type, offset in that direction's
    stream, body length)."""
    data, off = b"", 0
    while off < len(steps):
        n = struct.unpack(">H", steps[off + 1:off + 3])[0]
        if steps[off] & 1 == from_server:
            data += steps[off + 3:off + 3 + n]
        off += 3 + n
    out, i = [], 0
    while i + 5 <= len(data):
        n = data[i + 3] << 8 | data[i + 4]
        out.append((data[i], i, n))
        i += 5 + n
    return out


def seeds_midstream(src):
    # fuzz_midstream: flags, seed, the bytes of each direction that went
    # by before the attach, then the writes as segments.  Real exchanges
    # joined at their start (a new connection), after their handshake
    # (at the first application-data record of each direction) and
    # inside a record (the middle of the largest record before it); and
    # cleartext that is not TLS.
    out = Out("fuzz_midstream")

    def put(name, flags, before, segs_or_steps):
        out.put(name, u8(flags) + struct.pack(">I", seed_of(name)) +
                u16(before[0]) + u16(before[1]) + segs_or_steps)

    for i, scen in enumerate(("tls12_reneg_refused", "tls12_reneg_reset",
                              "tls12_mtls_ca", "tls13_mtls_ca",
                              "tls12_reneg")):
        steps = read(src, "steps", scen)
        recs = [stream_records(steps, fs) for fs in (0, 1)]
        appdata = [next((o for t, o, n in r if t == 23), 0) for r in recs]
        middle = []
        for fs in (0, 1):
            before = [(n, o) for t, o, n in recs[fs]
                      if o < appdata[fs] and n > 8]
            n, o = max(before) if before else (0, 0)
            middle.append(o + 5 + n // 2)
        for j, (where, before) in enumerate((("start", (0, 0)),
                                             ("established", appdata),
                                             ("mid_record", middle))):
            view = "client" if (i + j) % 2 == 0 else "server"
            flags = (1 if view == "client" else 0) | (2 if j != 1 else 0)
            put("%s.%s.%s" % (scen, where, view), flags, before, steps)
    http = [(0, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            (1, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]
    put("http.client", 3, (0, 0), join(http))
    x, noise = 0x2545f491, bytearray()
    for _ in range(6000):
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        noise.append(x >> 11 & 0xff)
    put("noise.server", 2, (0, 0), join([(0, bytes(noise[:3000])),
                                         (1, bytes(noise[3000:]))]))
    # the end of a record, a clear alert (2-byte body) and its successor:
    # the alert must decode wherever the bytes are cut
    put("short_body.client", 3, (0, 0),
        join([(1, b"\xee" * 5 + bytes([0x15, 3, 3, 0, 2, 2, 40]) +
               bytes([0x17, 3, 3, 0, 20]) + bytes(range(0x80, 0x94)))]))
    print("fuzz_midstream: %d seeds" % out.n)


def seeds_handshake(src):
    # fuzz_handshake: seed, then one direction's plaintext handshake bytes.
    out = Out("fuzz_handshake")
    hs = sorted(os.listdir(os.path.join(src, "handshake")))
    for scen in SCENARIOS:
        if scen in ("tls12_reneg_refused", "tls12_reneg_reset"):
            continue  # the same plaintext as tls12_reneg
        for d in ("c2s", "s2c"):
            parts = [f for f in hs if f.startswith("%s.%s." % (scen, d))]
            if not parts:
                continue
            name = "%s.%s" % (scen, d)
            data = b"".join(read(src, "handshake", f) for f in parts)
            out.put(name, struct.pack(">I", seed_of(name)) + data)
    # TLS 1.3 and renegotiation messages travel encrypted: recombine the
    # plaintext ones into the flights a decrypting tracer would see.
    flights = {
        "tls13_mtls_ca.s2c_flight": [
            ("handshake", "tls13_mtls_ca.s2c.00"),
            ("certificate_request", "tls13_mtls_ca.00"),
            ("certificate", "tls13_mtls_ca.s2c.00")],
        "tls13_mtls_noca.s2c_flight": [
            ("handshake", "tls13_mtls_noca.s2c.00"),
            ("certificate_request", "tls13_mtls_noca.00"),
            ("certificate", "tls13_mtls_noca.s2c.00")],
        "tls13_mtls_ca.c2s_flight": [
            ("client_hello", "tls13_mtls_ca.00"),
            ("certificate", "tls13_mtls_ca.c2s.01")],
        "tls13_mtls_nocert.c2s_flight": [
            ("client_hello", "tls13_mtls_nocert.00"),
            ("certificate", "tls13_mtls_nocert.c2s.01")],
        "tls12_reneg.c2s_second": [
            ("client_hello", "tls12_reneg.01"),
            ("certificate", "tls12_reneg.c2s.02")],
    }
    for name, parts in sorted(flights.items()):
        data = b"".join(read(src, d, f) for d, f in parts)
        out.put(name, struct.pack(">I", seed_of(name)) + data)
    for name, data in sorted(level_seeds().items()):
        out.put(name, data)
    # the ServerHellos of TLS 1.3 drafts, in the drafts' own layout
    for name, s2c in (("tls13_draft14.s2c", DRAFT14_S2C),
                      ("tls13_draft16.s2c", DRAFT16_S2C),
                      ("tls13_draft19.s2c", DRAFT19_S2C)):
        n = struct.unpack(">H", s2c[3:5])[0]
        out.put(name, struct.pack(">I", seed_of(name)) + s2c[5:5 + n])
    print("fuzz_handshake: %d seeds" % out.n)


def alpn_ext(trailing):
    """ALPN naming "h2", with one byte after its list when trailing."""
    return u16(16) + vec16(vec16(vec8(b"h2")) + (b"\0" if trailing else b""))


def server_hello(cipher, exts):
    return (u16(0x0303) + bytes(range(0x40, 0x60)) + vec8(b"") +
            u16(cipher) + u8(0) + vec16(exts))


def level_seeds():
    """Messages refused at one log level and accepted at another before
    every parser checked its whole body first (tests/fuzz/common.h,
    fz_same_state): an ALPN extension with a byte after its list in a
    TLS 1.3 ServerHello, a HelloRetryRequest and EncryptedExtensions, and
    a cut TLS 1.2 ServerKeyExchange."""
    hrr_random = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891"
                               "c2a211167abb8c5e079e09e2c8a8339c")
    v13 = u16(43) + vec16(u16(0x0304))
    share = u16(51) + vec16(u16(0x001d) + vec16(bytes(32)))
    sh13_bad = server_hello(0x1301, v13 + share + alpn_ext(True))
    sh13_good = server_hello(0x1301, v13 + share + alpn_ext(False))
    hrr = (u16(0x0303) + hrr_random + vec8(b"") + u16(0x1301) + u8(0) +
           vec16(v13 + u16(51) + vec16(u16(0x001d)) + alpn_ext(True)))
    ee_bad = vec16(u16(0) + vec16(b"") + alpn_ext(True))
    sh12 = server_hello(0xc02f,
                        u16(0xff01) + vec16(vec8(b"")) + u16(23) + vec16(b""))
    ske_cut = bytes([3, 0x00])  # named_curve, the group cut
    seeds = {
        "level_server_hello_alpn": [msg(2, sh13_bad)],
        "level_hello_retry_request_alpn": [msg(2, hrr)],
        "level_encrypted_extensions_alpn": [msg(2, sh13_good),
                                            msg(8, ee_bad)],
        "level_server_key_exchange_cut": [msg(2, sh12), msg(12, ske_cut),
                                           msg(14, b"")],
    }
    return {name: struct.pack(">I", seed_of(name)) + b"".join(parts)
            for name, parts in seeds.items()}


# ---- old and odd handshakes, from real captures ----
# Zeek testing/btest/Traces/tls/: ssl-v2.pcap (SSL 2.0's CLIENT-HELLO and
# SERVER-HELLO, whole records); tls13draft16-chrome55.0.2879.0-canary.pcap
# (draft 14), tls13draft16-ff52.a01.pcap (draft 16) and
# tls-13draft19-early-data.pcap (draft 19): each server's ServerHello
# record and the encrypted record after it, and draft 19's ClientHello.
SSL2_CLIENT_HELLO = bytes.fromhex(
    "802e0100020015000000100700c0050080030080010080060040040080020080"
    "1c30e2b12f4c04525476f280c07abee5"
)
SSL2_SERVER_HELLO = bytes.fromhex(
    "83b40400010002038700120010308203833082026b02044eb6f269300d06092a"
    "864886f70d0101050500308185310b30090603550406130255533111300f0603"
    "550408130856697267696e69613110300e060355040713074865726e646f6e31"
    "123010060355040a1309506172616c6c656c73310e300c060355040b1305506c"
    "65736b310e300c06035504031305706c65736b311d301b06092a864886f70d01"
    "0901160e696e666f40706c65736b2e636f6d301e170d31313131303632303437"
    "33375a170d3132313130353230343733375a308185310b300906035504061302"
    "55533111300f0603550408130856697267696e69613110300e06035504071307"
    "4865726e646f6e31123010060355040a1309506172616c6c656c73310e300c06"
    "0355040b1305506c65736b310e300c06035504031305706c65736b311d301b06"
    "092a864886f70d010901160e696e666f40706c65736b2e636f6d30820122300d"
    "06092a864886f70d01010105000382010f003082010a0282010100a3a1ce479c"
    "b1b47d77a605f052c6e8f4776734e0400d5d7f92dc8f6377fe7264d7e561d93e"
    "9d726a13931f4e623bfb71849f19daba218c1a9427998f1927dfcc8b27461f75"
    "659705d3ed0e4c1978d910328ba63542e84f6d74e7645cf0be5317012f5f69cb"
    "3cc897f6bfce0d864bb06ac08169eab79559246ab8bda0eb4a135212741a6679"
    "c4d482f2b3e2d6f9b41ffd26a44b89ad41a3d8950b0063030b6bf66aa05df0fc"
    "7f19c9c4571d2aac768709236333a4b740da6ccda771126b8f81d46ca30d5462"
    "d2022706b0ae1fd8d7aa27c896c8c95cfba2647594cc0869a8f360ee7332a221"
    "db4d6a3f29abbd16cf631a95f722df024aaff4bb7da89aa2b5c9f10203010001"
    "300d06092a864886f70d0101050500038201010038dfc76790eba15676bae451"
    "752a7f2f2734297d231cf9b5db2bc3882c621aeef34f05210127abb61a431277"
    "34527fbdad15b2b95785942f9ff9b13a67f0399b8f1aab043838c8e121bc1afb"
    "68de357f0788951eb5d8996c9aa79a153bfa5cba82246abf10e755a56a3b2162"
    "6efa84f4169547520e1bf56022b15cf1c90379220ccea86d75bef27913852aac"
    "d51d0e67d341d80e9c04becf9d0679816703117469dc6e993f2b8b35050a76b9"
    "ba7a66047cde633aae47eba0a34bb712bdb297bc52eb0bf35e3ecd3261ce288f"
    "d4804d254d72e9203cf4470eec20f892cbef3c69d1436daa670975527b161833"
    "381d0d2039ff4c7d41159e1c392c58afbb533ffd0700c0030080010080060040"
    "040080020080b01a19a135e793cebecd5204d9e0c699"
)
DRAFT14_S2C = bytes.fromhex(
    "16030100520200004e7f0e69227472e1cf935045d8d2044a450625a053f795ba"
    "8328905628727a06778e8ecca9002800280024001d00204f13c5d0745e883bc2"
    "7f7d2195de1f45a1aea163641d85c9aac224992c73bb11170301002071eb5cd8"
    "fac0ea7c457445c447ae174d33995f1a4982982028eb1f96cb0acc7e"
)
DRAFT16_S2C = bytes.fromhex(
    "1603010097020000937f108e013ef70bc663d9dc306362b2f7914bf28dfe4bdc"
    "7be5bf9820f6965e34cfd11303006d000d00000028006500180061047b6fc2de"
    "e05cacee615b2803abc86f0204128502c388627fc1e9f940373356c55fabeb31"
    "513a6c96ceb6dead60e55375503f64e429f07b48ee0ed5680417c9515537c232"
    "46e925cdb1d62db3671a9bef64d8335a2d06c9e57d1cb448ef9c4e0217030100"
    "20f35873d0bf33803b7146c5bff2c16cae9fa3a318fad284f8c97521b4b57628"
    "69"
)
DRAFT19_C2S = bytes.fromhex(
    "16030100ef010000eb030335f44fd879837f55e42da6d51c87dca35d607bec9f"
    "89077dba90e27399c3f28200003ec02cc030009fcca9cca8ccaac02bc02f009e"
    "c024c028006bc023c0270067c00ac0140039c009c0130033009d009c13021303"
    "1301003d003c0035002f00ff01000084000b000403000102000a000a0008001d"
    "00170019001800230000000d0020001e04030503060308040805080604010501"
    "06010203020102020402050206020016000000170000002b0009087f13030303"
    "020301002d0003020100002800260024001d0020f5fcc694b7f6bd64bcc98869"
    "945ffc67960d04bb9c094dd9a364cc4a843d6c40"
)
DRAFT19_S2C = bytes.fromhex(
    "16030100520200004e7f13780283812cb9d2f1f8e094718c01257de0f1d76ecf"
    "09705789f461da86cad38b1302002800280024001d00202d84982f1fd075f670"
    "fe1a38c8cba26d144f7aae9fa765362a8c731745099a751703010017e62148d5"
    "762d2f71dbcf1361572a4170c774553f3e9fb5"
)


def oldhello_segments():
    """fuzz_record seeds (name, flags, segments) of the captures above:
    an SSL 2.0 connection and the start of three draft connections, seen
    from the client; the SSL 2.0 one also from its server, the bytes
    that follow each hello (encrypted, or SSL 2.0 messages) stood in for
    by a few of the capture's."""
    master_key_start = bytes.fromhex("81120207")  # CLIENT-MASTER-KEY hdr
    return [
        ("ssl2.client", 1, [(0, SSL2_CLIENT_HELLO), (1, SSL2_SERVER_HELLO),
                            (0, master_key_start)]),
        ("ssl2.server", 0, [(0, SSL2_CLIENT_HELLO), (1, SSL2_SERVER_HELLO),
                            (0, master_key_start)]),
        ("tls13_draft14.s2c_only", 1, [(1, DRAFT14_S2C)]),
        ("tls13_draft16.s2c_only", 1, [(1, DRAFT16_S2C)]),
        ("tls13_draft19.client", 1, [(0, DRAFT19_C2S), (1, DRAFT19_S2C)]),
    ]


# Parsers: bodies without the 4-byte header.
def body(src, d, f):
    return read(src, d, f)[4:]


def seeds_client_hello(src):
    out = Out("fuzz_client_hello")
    for f in ("tls12_cbc.00", "tls12_mtls_ca.00", "tls12_mtls_noca.00",
              "tls12_reneg.01", "tls13_chacha.00", "tls13_hrr.00",
              "tls13_hrr.01", "tls13_mtls_ca.00", "tls13_mtls_noca.00",
              "tls13_mtls_nocert.00"):
        out.put(f, body(src, "client_hello", f))
    out.put("tls12_cbc.no_extensions",
            ch_without_extensions(body(src, "client_hello",
                                       "tls12_cbc.00")))
    print("fuzz_client_hello: %d seeds" % out.n)


def seeds_certificate(src):
    dn_dir = os.path.join(CORPUS, "fuzz_dn")
    out = Out("fuzz_certificate")
    for f in ("tls12_mtls_ca.s2c.00", "tls12_mtls_ca.c2s.01",
              "tls12_mtls_nocert.c2s.01", "tls12_reneg.s2c.01",
              "tls13_mtls_ca.s2c.00", "tls13_mtls_ca.c2s.01",
              "tls13_mtls_nocert.c2s.01"):
        out.put(f, body(src, "certificate", f))
    # other real leaves (fuzz_dn corpus), and a chain of three
    ders = {f: read(dn_dir, f) for f in sorted(os.listdir(dn_dir))
            if f.startswith("cert_")}
    for f, der in ders.items():
        stem = f[:-len(".der")]
        out.put(stem + ".tls12", cert12([der]))
        out.put(stem + ".tls13", cert13([der]))

    def cert_der(f, tls13):
        b = body(src, "certificate", f)
        b = b[1 + b[0]:] if tls13 else b
        return b[6:6 + struct.unpack(">I", b"\0" + b[3:6])[0]]
    chain = [cert_der("tls12_mtls_ca.s2c.00", False),
             cert_der("tls12_mtls_ca.c2s.01", False)] + list(ders.values())
    out.put("chain.tls12", cert12(chain))
    out.put("chain.tls13", cert13(chain))
    print("fuzz_certificate: %d seeds" % out.n)


def seeds_certificate_request(src):
    dn_dir = os.path.join(CORPUS, "fuzz_dn")
    out = Out("fuzz_certificate_request")
    for f in ("tls12_mtls_ca.00", "tls12_mtls_noca.00", "tls12_reneg.00",
              "tls13_mtls_ca.00", "tls13_mtls_noca.00"):
        out.put(f, body(src, "certificate_request", f))
    cr12 = body(src, "certificate_request", "tls12_mtls_ca.00")
    cr13 = body(src, "certificate_request", "tls13_mtls_ca.00")
    names = [read(dn_dir, f) for f in sorted(os.listdir(dn_dir))
             if f.startswith("name_")]
    out.put("tls10_form", cr12_without_sigalgs(cr12))
    out.put("tls12_many_names", cr12_with_names(cr12, names))
    out.put("tls13_no_ca_extension", cr13_without_cas(cr13))
    out.put("tls13_many_names", cr13_with_names(cr13, names))
    print("fuzz_certificate_request: %d seeds" % out.n)




# ---- fuzz_decrypt ----

def segments(steps):
    """The (from_server, bytes) writes of a steps file."""
    segs, off = [], 0
    while off < len(steps):
        n = struct.unpack(">H", steps[off + 1:off + 3])[0]
        segs.append((steps[off] & 1, steps[off + 3:off + 3 + n]))
        off += 3 + n
    return segs


def join(segs):
    return b"".join(u8(fs) + vec16(b) for fs, b in segs)


def records(steps, from_server):
    """One direction's records: (type, offset of the header in the steps
    file, body length), a record split across writes included."""
    pos, off = [], 0
    while off < len(steps):
        n = struct.unpack(">H", steps[off + 1:off + 3])[0]
        if steps[off] & 1 == from_server:
            pos.extend(range(off + 3, off + 3 + n))
        off += 3 + n
    out, i = [], 0
    while i + 5 <= len(pos):
        n = steps[pos[i + 3]] << 8 | steps[pos[i + 4]]
        out.append((steps[pos[i]], pos, i, n))
        i += 5 + n
    return [(t, p[i], n, p[i + 5:i + 5 + n]) for t, p, i, n in out]


def flip(steps, from_server, pick):
    """steps with one byte flipped in the middle of the body of the record
    pick chooses from the direction's (type, header offset, length)."""
    recs = records(steps, from_server)
    t, hdr, n, body_pos = recs[pick([(r[0], r[1], r[2]) for r in recs])]
    b = bytearray(steps)
    b[body_pos[n // 2]] ^= 0x20
    return bytes(b)


def fz_pieces(seed, lengths):
    """The piece sizes tests/fuzz/common.h's fz_piece cuts writes of these
    lengths into, one list a write, from a split-pattern seed."""
    s, out = seed, []
    for left in lengths:
        pieces = []
        while True:
            x = s or 0x9e3779b9
            x ^= (x << 13) & 0xffffffff
            x ^= x >> 17
            x ^= (x << 5) & 0xffffffff
            s = x
            n = (1 + (x >> 2) % 5, 1 + (x >> 2) % 64, 1 + (x >> 2) % 2048,
                 left)[x & 3]
            pieces.append(min(n, left))
            left -= pieces[-1]
            if left == 0:
                break
        out.append(pieces)
    return out


def seed_cutting(name, segs, i, lo):
    """The first split-pattern seed from seed_of(name) on that cuts write i
    somewhere at or after byte lo."""
    seed = seed_of(name)
    while True:
        cuts, off = [], 0
        for n in fz_pieces(seed, [len(b) for _, b in segs])[i][:-1]:
            off += n
            cuts.append(off)
        if any(c >= lo for c in cuts):
            return seed
        seed += 1


def decrypt_seed(flags, name, keylog, steps, seed=None):
    seed = seed or seed_of(name)
    head = u8(flags) + struct.pack(">I", seed) + vec16(keylog)
    segs = segments(steps)
    # the last writes go when the whole exchange does not fit
    while segs and len(head) + len(join(segs)) > MAX_DECRYPT_SEED:
        segs.pop()
    return head + join(segs) if segs else None


def seeds_decrypt(src):
    # fuzz_decrypt: flags, seed, the key log, then the writes as segments,
    # from both sides, with keys from the start or from halfway
    out = Out("fuzz_decrypt", MAX_DECRYPT_SEED)
    scens = sorted(f for f in os.listdir(os.path.join(src, "keylog"))
                   if os.path.getsize(os.path.join(src, "keylog", f)))
    for scen in scens:
        keylog = read(src, "keylog", scen)
        steps = read(src, "steps", scen)
        for view, side in (("client", 1), ("server", 0)):
            for half in (0, 2):
                name = "%s.%s%s" % (scen, view, ".halfway" if half else "")
                data = decrypt_seed(side | half, name, keylog, steps)
                if data is None:
                    print("fuzz_decrypt: %s does not fit" % name)
                    continue
                out.put(name, data)

    def first(want):
        return lambda recs: next(i for i, r in enumerate(recs) if want(r))

    def after_ccs(recs):
        ccs = next(i for i, r in enumerate(recs) if r[0] == 20)
        return ccs + 1

    # A ciphertext byte flipped: the server's EncryptedExtensions does not
    # open (its direction stops decrypting); the client's first handshake
    # record does not either (taken for early data and passed over); the
    # first TLS 1.2 record under the server's new keys (its Finished).
    alters = [
        ("tls13_mtls_ca.flip_s2c", "tls13_mtls_ca", 1,
         lambda s: flip(s, 1, first(lambda r: r[0] == 23))),
        ("tls13_mtls_ca.flip_c2s", "tls13_mtls_ca", 0,
         lambda s: flip(s, 0, first(lambda r: r[0] == 23))),
        ("tls12_reneg.flip_s2c", "tls12_reneg", 1,
         lambda s: flip(s, 1, after_ccs)),
    ]
    for name, scen, side, alter in alters:
        keylog = read(src, "keylog", scen)
        out.put(name, decrypt_seed(side, name, keylog,
                                   alter(read(src, "steps", scen))))
    # Handshake secrets only: the application records wait for keys that
    # never come, and are given up at the close.
    keylog = b"".join(line for line in
                      read(src, "keylog", "tls13_mtls_ca").splitlines(True)
                      if b"TRAFFIC_SECRET_0" not in line)
    name = "tls13_mtls_ca.no_app_secrets"
    out.put(name, decrypt_seed(1, name, keylog,
                               read(src, "steps", "tls13_mtls_ca")))

    # A first ClientHello whose random has no secrets in the key log: the
    # server's handshake records wait for them, and the real ClientHello
    # comes in the same write as the client's next records, which the
    # split pattern cuts after that ClientHello.
    segs = segments(read(src, "steps", "tls13_mtls_ca"))
    ch = bytearray(segs[0][1])
    ch[5 + 4 + 2] ^= 1  # the first byte of the random
    name = "tls13_mtls_ca.second_client_hello"
    alt = [(0, bytes(ch)), segs[1], (0, segs[0][1] + segs[2][1])] + segs[3:]
    out.put(name, decrypt_seed(1, name, read(src, "keylog", "tls13_mtls_ca"),
                               join(alt),
                               seed_cutting(name, alt, 2, len(ch))))

    # Without the server's handshake secret its records wait; behind them
    # in its first flight a TLS 1.2 ServerHello, a ChangeCipherSpec and an
    # encrypted handshake record, which start another wait (for a
    # CLIENT_RANDOM the key log lacks) while the first is given up.
    keylog = b"".join(line for line in
                      read(src, "keylog", "tls13_mtls_ca").splitlines(True)
                      if not line.startswith(b"SERVER_HANDSHAKE"))
    sh12 = segments(read(src, "steps", "tls12_mtls_ca"))[1][1]
    sh12 = sh12[:5 + struct.unpack(">H", sh12[3:5])[0]]
    fake = bytes([22, 3, 3, 0, 40]) + bytes(range(40))
    name = "tls13_mtls_ca.tls12_behind_wait"
    out.put(name, decrypt_seed(1, name, keylog,
                               join([segs[0], (1, segs[1][1] + sh12 +
                                               bytes([20, 3, 3, 0, 1, 1]) +
                                               fake)] + segs[2:])))

    # Bytes that are no TLS record behind the server's first flight: in
    # the run with keys held back its records wait when its direction
    # stops decoding.
    name = "tls13_mtls_ca.garbage_behind_wait"
    out.put(name, decrypt_seed(1, name, read(src, "keylog", "tls13_mtls_ca"),
                               join([segs[0], (1, segs[1][1] + b"garbage")] +
                                    segs[2:])))

    # Secrets of 48 bytes for a suite whose hash makes 32.
    keylog = b"".join(line.rstrip(b"\n") + b"00" * 16 + b"\n" for line in
                      read(src, "keylog", "tls13_chacha").splitlines(True))
    name = "tls13_chacha.long_secrets"
    out.put(name, decrypt_seed(1, name, keylog,
                               read(src, "steps", "tls13_chacha")))
    print("fuzz_decrypt: %d seeds, %d bytes" % (out.n, out.size))


# ---- fuzz_inflate ----

class Deflating:
    """One side's records after the preamble of fuzz_inflate (the NULL
    suite: plaintext and a 32-byte MAC), compressed as OpenSSL's zlib
    method does: one zlib stream per epoch, Z_SYNC_FLUSH per record."""
    MAC = b"\xaa" * 32

    def __init__(self):
        self.z, self.comp = zlib.compressobj(), True

    def fragment(self, data):
        if not self.comp:
            return data
        return self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)

    def rec(self, typ, data, mac=True):
        f = self.fragment(data) + (self.MAC if mac else b"")
        return bytes([typ, 3, 3]) + vec16(f)

    def ccs(self, comp=True):
        r = self.rec(20, b"\x01")
        self.z, self.comp = zlib.compressobj(), comp
        return r


def ch_with_deflate(m):
    """A whole ClientHello message offering DEFLATE, then null."""
    b = m[4:]
    q = 34 + 1 + b[34]
    q += 2 + struct.unpack(">H", b[q:q + 2])[0]
    return msg(1, b[:q] + b"\x02\x01\x00" + b[q + 1 + b[q]:])


def sh_null_suite(m, comp):
    """A whole ServerHello message choosing TLS_RSA_WITH_NULL_SHA256 and
    compression method comp."""
    b = bytearray(m[4:])
    q = 34 + 1 + b[34]
    b[q:q + 3] = b"\x00\x3b" + u8(comp)
    return msg(2, bytes(b))


def seeds_inflate(src):
    # fuzz_inflate: flags, seed, then the writes after its preamble
    out = Out("fuzz_inflate")
    hs = os.path.join(src, "handshake")

    def m(f):
        return read(hs, f)

    def put(name, flags, segs):
        out.put(name, u8(flags) + struct.pack(">I", seed_of(name)) +
                join(segs))

    def finished():
        return msg(20, bytes(range(12)))

    def opening(c, s):
        return [(0, c.rec(22, finished())),
                (1, s.rec(22, m("tls12_mtls_ca.s2c.05")) +
                 s.rec(22, finished())),
                (0, c.rec(23, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")),
                (1, s.rec(23, b"HTTP/1.1 200 OK\r\n" + b"hello, " * 40)),
                (1, s.rec(23, b"hello, " * 40 + b"world"))]

    def closing(c, s):
        return [(0, c.rec(21, b"\x01\x00")), (1, s.rec(21, b"\x01\x00"))]

    def reneg(c, s, comp):
        # a HelloRequest, then a full handshake with a CertificateRequest
        # of CA names; its epochs compressed with comp (a new stream)
        segs = [(1, s.rec(22, msg(0, b""))),
                (0, c.rec(22, ch_with_deflate(
                    read(src, "client_hello", "tls12_reneg.01")))),
                (1, s.rec(22, sh_null_suite(m("tls12_mtls_ca.s2c.00"), comp)) +
                 s.rec(22, m("tls12_mtls_ca.s2c.01")) +
                 s.rec(22, m("tls12_mtls_ca.s2c.03")) +
                 s.rec(22, m("tls12_mtls_ca.s2c.04"))),
                (0, c.rec(22, m("tls12_mtls_ca.c2s.01")) +
                 c.rec(22, m("tls12_mtls_ca.c2s.02")) +
                 c.rec(22, m("tls12_mtls_ca.c2s.03")) + c.ccs(comp) +
                 c.rec(22, finished())),
                (1, s.ccs(comp) + s.rec(22, finished()))]
        return segs

    for view, flags in (("client", 1), ("server", 0)):
        c, s = Deflating(), Deflating()
        put("basic." + view, flags, opening(c, s) + closing(c, s))
        c, s = Deflating(), Deflating()
        put("reneg." + view, flags,
            opening(c, s) + reneg(c, s, 1) +
            [(0, c.rec(23, b"GET /again HTTP/1.1\r\n\r\n"))] + closing(c, s))
    c, s = Deflating(), Deflating()
    put("reneg_null.client", 1,
        opening(c, s) + reneg(c, s, 0) + closing(c, s))
    c, s = Deflating(), Deflating()
    put("reneg.no_table", 3, opening(c, s) + reneg(c, s, 1) + closing(c, s))

    # a Certificate cut across two compressed records, an empty one
    c, s = Deflating(), Deflating()
    cert = m("tls12_mtls_ca.s2c.01")
    put("split_message.client", 1,
        [(0, c.rec(22, finished())),
         (1, s.rec(22, cert[:300]) + s.rec(22, cert[300:]) +
          s.rec(23, b"") + s.rec(22, finished()))] + closing(c, s))

    # 2^14 + 1 bytes inflated from one record; then a corrupt one (block
    # type 3) after a good one; a record shorter than its MAC
    c, s = Deflating(), Deflating()
    put("too_big.client", 1,
        [(0, c.rec(22, finished())),
         (1, s.rec(23, b"\0" * 16385))])
    c, s = Deflating(), Deflating()
    bad = bytearray(s.rec(22, finished()))
    put("corrupt.server", 0,
        [(0, c.rec(22, finished())),
         (1, s.rec(23, b"hello" * 10) + bad[:5] + b"\xff" + bad[6:]),
         (0, c.rec(21, b"\x01\x00", mac=False))])
    print("fuzz_inflate: %d seeds" % out.n)


# ---- fuzz_starttls ----

LDAP_OID = b"1.3.6.1.4.1.1466.20037"
PG_SSL = bytes.fromhex("0000000804d2162f")
PG_GSSENC = bytes.fromhex("0000000804d21630")
MYSQL_GREETING = (bytes.fromhex("4a000000") + b"\x0a8.0.36\0" +
                  bytes.fromhex("0b000000 1c432f6d0e3a5106 00 ffff ff 0200"
                                " ffdf 15 00000000000000000000"
                                " 325c791f2e466a421362053c00") +
                  b"caching_sha2_password\0")
MYSQL_SSL = bytes.fromhex("20000001 05aeff01 00000001 ff") + bytes(23)

# Sessions as the servers and clients named in tests/unit/test_starttls.c
# speak them: (name, [(from_server, bytes)...], upgrades).  An upgraded
# session is followed by a real TLS exchange.
STARTTLS_SESSIONS = [
    ("smtp", [(1, b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"),
              (0, b"EHLO client.example.org\r\n"),
              (1, b"250-mx.example.com\r\n250-PIPELINING\r\n"
                  b"250-STARTTLS\r\n250 CHUNKING\r\n"),
              (0, b"STARTTLS\r\n"),
              (1, b"220 2.0.0 Ready to start TLS\r\n")], True),
    ("smtp_refused", [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO c\r\n"),
                      (1, b"250 mx\r\n"), (0, b"STARTTLS\r\n"),
                      (1, b"454 4.7.0 TLS not available\r\n")], False),
    ("smtp_plain", [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO c\r\n"),
                    (1, b"250 mx\r\n"), (0, b"MAIL FROM:<a@b>\r\n"),
                    (1, b"250 2.1.0 Ok\r\n")], False),
    ("smtp_injection", [(1, b"220 mx ESMTP\r\n"),
                        (0, b"STARTTLS\r\nRSET\r\n"),
                        (1, b"220 Ready\r\n")], False),
    ("lmtp", [(1, b"220 mail.example.com Dovecot ready.\r\n"),
              (0, b"LHLO c\r\n"),
              (1, b"250-mail.example.com\r\n250 STARTTLS\r\n"),
              (0, b"STARTTLS\r\n"), (1, b"220 2.0.0 Begin TLS.\r\n")],
     True),
    ("imap", [(1, b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] "
                  b"Dovecot (Debian) ready.\r\n"),
              (0, b". CAPABILITY\r\n"),
              (1, b"* CAPABILITY IMAP4rev1 STARTTLS\r\n. OK Pre-login "
                  b"capabilities listed.\r\n"),
              (0, b". STARTTLS\r\n"),
              (1, b". OK Begin TLS negotiation now.\r\n")], True),
    ("imap_refused", [(1, b"* OK ready\r\n"), (0, b"a1 STARTTLS\r\n"),
                      (1, b"a1 BAD TLS support isn't enabled.\r\n")],
     False),
    ("pop3", [(1, b"+OK Dovecot (Debian) ready.\r\n"), (0, b"CAPA\r\n"),
              (1, b"+OK\r\nCAPA\r\nTOP\r\nSTLS\r\nUSER\r\n.\r\n"),
              (0, b"STLS\r\n"), (1, b"+OK Begin TLS negotiation now.\r\n")],
     True),
    ("ftp", [(1, b"220 (vsFTPd 3.0.3)\r\n"), (0, b"AUTH TLS\r\n"),
             (1, b"234 Proceed with negotiation.\r\n")], True),
    ("ftp_filezilla", [(1, b"220-FileZilla Server 1.7.0\r\n220 \r\n"),
                       (0, b"FEAT\r\n"),
                       (1, b"211-Features:\r\n AUTH SSL\r\n AUTH TLS\r\n"
                           b"211 End\r\n"),
                       (0, b"AUTH SSL\r\n"),
                       (1, b"334 Using authentication type SSL\r\n")], True),
    ("nntp", [(1, b"200 news.example.com InterNetNews server INN 2.7.1 "
                  b"ready (posting ok)\r\n"),
              (0, b"CAPABILITIES\r\n"),
              (1, b"101 Capability list:\r\nVERSION 2\r\nSTARTTLS\r\n"
                  b".\r\n"),
              (0, b"STARTTLS\r\n"), (1, b"382 Begin TLS negotiation now\r\n")],
     True),
    ("sieve", [(1, b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n"SIEVE" '
                   b'"fileinto reject"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\n'
                   b'OK "Dovecot ready."\r\n'),
               (0, b"STARTTLS\r\n"),
               (1, b'OK "Begin TLS negotiation now."\r\n')], True),
    ("xmpp", [(0, b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' "
                  b"to='example.com' version='1.0'>"),
              (1, b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' "
                  b"id='5e4a1b7c' from='example.com' version='1.0'>"
                  b"<stream:features><starttls xmlns='urn:ietf:params:xml:"
                  b"ns:xmpp-tls'><required/></starttls></stream:features>"),
              (0, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
              (1, b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")],
     True),
    ("xmpp_failure", [(0, b"<stream:stream to='example.com'>"),
                      (1, b"<stream:stream><stream:features/>"),
                      (0, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                          b"</starttls>"),
                      (1, b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                          b"</stream:stream>")], False),
    ("ldap", [(0, bytes.fromhex("301d02010177188016") + LDAP_OID),
              (1, bytes.fromhex("302402010178 1f0a0100040004008a16") +
               LDAP_OID)], True),
    ("ldap_refused", [(0, bytes.fromhex("301d02010177188016") + LDAP_OID),
                      (1, bytes.fromhex("302a0201017825 0a0102 0400 041e") +
                       b"unsupported extended operation")], False),
    ("postgresql", [(0, PG_SSL), (1, b"S")], True),
    ("postgresql_gssenc", [(0, PG_GSSENC), (1, b"N"), (0, PG_SSL),
                           (1, b"S")], True),
    ("postgresql_refused", [(0, PG_SSL), (1, b"N")], False),
    ("mysql", [(1, MYSQL_GREETING), (0, MYSQL_SSL)], True),
]


def seeds_starttls(src):
    # fuzz_starttls: flags, seed, then the writes as segments: a
    # cleartext session, then (upgraded) a real exchange's writes
    out = Out("fuzz_starttls")
    tls = ["tls12_mtls_nocert", "tls13_chacha", "tls12_cbc"]
    for i, (name, session, upgraded) in enumerate(STARTTLS_SESSIONS):
        clear = b"".join(u8(fs) + vec16(b) for fs, b in session)
        after = read(src, "steps", tls[i % len(tls)]) if upgraded else b""
        for view, flags in (("client", 1), ("server", 0)):
            seed = "%s.%s" % (name, view)
            out.put(seed, u8(flags) + struct.pack(">I", seed_of(seed)) +
                    clear + after)
    # the first bytes few: a read of two bytes of a greeting
    name = "smtp_short_first_read.client"
    session = STARTTLS_SESSIONS[0][1]
    clear = (u8(1) + vec16(session[0][1][:2]) + u8(1) +
             vec16(session[0][1][2:]) +
             b"".join(u8(fs) + vec16(b) for fs, b in session[1:]))
    out.put(name, u8(1) + struct.pack(">I", seed_of(name)) + clear +
            read(src, "steps", "tls12_mtls_nocert"))
    print("fuzz_starttls: %d seeds, %d bytes" % (out.n, out.size))


def make_seeds(src, targets):
    make = {
        "fuzz_record": seeds_record,
        "fuzz_handshake": seeds_handshake,
        "fuzz_client_hello": seeds_client_hello,
        "fuzz_certificate": seeds_certificate,
        "fuzz_certificate_request": seeds_certificate_request,
        "fuzz_decrypt": seeds_decrypt,
        "fuzz_inflate": seeds_inflate,
        "fuzz_starttls": seeds_starttls,
        "fuzz_midstream": seeds_midstream,
    }
    for t in targets:
        make[t](src)

if __name__ == "__main__":
    main()
