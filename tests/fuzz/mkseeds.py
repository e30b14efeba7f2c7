#!/usr/bin/env python3
"""Cuts the committed seed corpora of the fuzz targets from real exchanges.

    python3 tests/fuzz/mkseeds.py

builds build/tools/mksteps (tests/fuzz/mksteps.c: mkcorpus plus the order
of every write), runs it into a temporary folder, and rewrites
tests/fuzz/corpus/fuzz_{record,handshake,client_hello,certificate,
certificate_request}/ from what it wrote (fuzz_dn is left alone).  Each
file is what the target reads (see the comment at the top of each
tests/fuzz/fuzz_*.c): control bytes where the target takes them, then
bytes from OpenSSL exchanges.  A few seeds are real messages recombined
(a TLS 1.3 server flight, a CertificateRequest without its signature
algorithms, one carrying the names of the fuzz_dn corpus) to reach paths
OpenSSL's defaults do not take.  Randoms and signatures differ from run
to run, so regenerating changes bytes, not coverage.
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


class Out:
    def __init__(self, target):
        self.dir = os.path.join(CORPUS, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.n = 0

    def put(self, name, data):
        if len(data) > MAX_SEED:
            sys.exit("mkseeds: %s/%s is %d bytes" % (self.dir, name,
                                                     len(data)))
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.n += 1


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


def build_mksteps():
    exe = os.path.join(TOP, "build", "tools", "mksteps")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    srcs = [os.path.join("tests", "fuzz", "mksteps.c")]
    for d in ("decoder", os.path.join("tests", "unit", "helpers")):
        srcs += sorted(os.path.join(d, f) for f in
                       os.listdir(os.path.join(TOP, d)) if f.endswith(".c"))
    srcs.append(os.path.join("shim", "format.c"))
    subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11",
                    "-D_GNU_SOURCE", "-O2", "-Idecoder", "-Ishim",
                    "-Itests/unit/helpers", "-o", exe] + srcs +
                   ["-lssl", "-lcrypto", "-lpthread"], cwd=TOP, check=True)
    return exe


def main():
    if len(sys.argv) != 1:
        sys.exit("usage: mkseeds.py")
    tmp = tempfile.mkdtemp(prefix="tlstrace-seeds.")
    try:
        subprocess.run([build_mksteps(), tmp], check=True)
        make_seeds(tmp)
    finally:
        shutil.rmtree(tmp)


def make_seeds(src):
    dn_dir = os.path.join(CORPUS, "fuzz_dn")

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
    print("fuzz_record: %d seeds" % out.n)

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
    print("fuzz_handshake: %d seeds" % out.n)

    # Parsers: bodies without the 4-byte header.
    def body(d, f):
        return read(src, d, f)[4:]

    out = Out("fuzz_client_hello")
    for f in ("tls12_cbc.00", "tls12_mtls_ca.00", "tls12_mtls_noca.00",
              "tls12_reneg.01", "tls13_chacha.00", "tls13_hrr.00",
              "tls13_hrr.01", "tls13_mtls_ca.00", "tls13_mtls_noca.00",
              "tls13_mtls_nocert.00"):
        out.put(f, body("client_hello", f))
    out.put("tls12_cbc.no_extensions",
            ch_without_extensions(body("client_hello", "tls12_cbc.00")))
    print("fuzz_client_hello: %d seeds" % out.n)

    out = Out("fuzz_certificate")
    for f in ("tls12_mtls_ca.s2c.00", "tls12_mtls_ca.c2s.01",
              "tls12_mtls_nocert.c2s.01", "tls12_reneg.s2c.01",
              "tls13_mtls_ca.s2c.00", "tls13_mtls_ca.c2s.01",
              "tls13_mtls_nocert.c2s.01"):
        out.put(f, body("certificate", f))
    # other real leaves (fuzz_dn corpus), and a chain of three
    ders = {f: read(dn_dir, f) for f in sorted(os.listdir(dn_dir))
            if f.startswith("cert_")}
    for f, der in ders.items():
        stem = f[:-len(".der")]
        out.put(stem + ".tls12", cert12([der]))
        out.put(stem + ".tls13", cert13([der]))

    def cert_der(f, tls13):
        b = body("certificate", f)
        b = b[1 + b[0]:] if tls13 else b
        return b[6:6 + struct.unpack(">I", b"\0" + b[3:6])[0]]
    chain = [cert_der("tls12_mtls_ca.s2c.00", False),
             cert_der("tls12_mtls_ca.c2s.01", False)] + list(ders.values())
    out.put("chain.tls12", cert12(chain))
    out.put("chain.tls13", cert13(chain))
    print("fuzz_certificate: %d seeds" % out.n)

    out = Out("fuzz_certificate_request")
    for f in ("tls12_mtls_ca.00", "tls12_mtls_noca.00", "tls12_reneg.00",
              "tls13_mtls_ca.00", "tls13_mtls_noca.00"):
        out.put(f, body("certificate_request", f))
    cr12 = body("certificate_request", "tls12_mtls_ca.00")
    cr13 = body("certificate_request", "tls13_mtls_ca.00")
    names = [read(dn_dir, f) for f in sorted(os.listdir(dn_dir))
             if f.startswith("name_")]
    out.put("tls10_form", cr12_without_sigalgs(cr12))
    out.put("tls12_many_names", cr12_with_names(cr12, names))
    out.put("tls13_no_ca_extension", cr13_without_cas(cr13))
    out.put("tls13_many_names", cr13_with_names(cr13, names))
    print("fuzz_certificate_request: %d seeds" % out.n)


if __name__ == "__main__":
    main()
