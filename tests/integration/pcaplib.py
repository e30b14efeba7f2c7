"""What the pcapng tests share: the launcher command with --pcap, tshark
over a file, its TCP conversations, and the file's block types read
directly."""
import struct

from tlslib import *

BT_SHB, BT_IDB, BT_EPB, BT_DSB = 0x0A0D0D0A, 1, 6, 10


def pcap_cmd(pcap, log, extra=()):
    """The launcher with --pcap PCAP, logging JSON to LOG at info."""
    cmd = launcher_cmd({"log": log, "format": "json", "level": "info"})
    return cmd[:1] + ["--pcap", pcap] + list(extra) + cmd[1:]


def tshark(*args):
    """tshark -r ARGS: (status, stdout, stderr)."""
    r = run(["tshark", "-r"] + list(args), timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def conversations(pcap):
    """tshark's TCP conversations of the file, each line split."""
    rc, out, _ = tshark(pcap, "-q", "-z", "conv,tcp")
    return rc, [l.split() for l in out.splitlines() if "<->" in l]


def block_types(pcap):
    """The pcapng file's block types in order, or None if a block is cut
    or its two lengths differ."""
    with open(pcap, "rb") as f:
        data = f.read()
    kinds, at = [], 0
    while at < len(data):
        if at + 12 > len(data):
            return None
        kind, n = struct.unpack_from("<II", data, at)
        if n < 12 or at + n > len(data) or struct.unpack_from("<I", data, at + n - 4)[0] != n:
            return None
        kinds.append(kind)
        at += n
    return kinds
