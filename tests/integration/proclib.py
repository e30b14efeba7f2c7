"""Processes and ports on this machine, for the integration tests and
for make bench (scripts/bench.py): nothing here starts, writes or
registers anything when imported."""
import glob
import socket
import time


def children(pid):
    """Pids whose parent is pid (a scan of /proc, bounded by its size)."""
    kids = set()
    for st in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(st) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.add(int(st.split("/")[2]))
    return kids


def wait_until(cond, timeout, step=0.02):
    """cond()'s first true value within timeout seconds, else its last."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def listening(port):
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def free_ports(n):
    """n distinct free ports on 127.0.0.1, bound together then released
    (for servers that must be told a number)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def free_port():
    return free_ports(1)[0]
