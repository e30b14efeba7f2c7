#!/usr/bin/env python3
"""Hooks installed by GOT patching (shim/got.c), as libtlstrace.so does
when it is loaded into a running process (tlstrace -p), where its
exported functions interpose nothing.

build/tools/got_host calls read, write and close on a pipe itself and
through libraries (tests/tools/got/io.c): one bound at load with full
RELRO (its GOT read-only), one bound lazily and not called before the
install (its slots hold their PLT stubs), two dlopen'ed after the
install (one with full RELRO, made writable again as if the loader were
still relocating it), one dlclose'd before the restore.  A hooker
library it dlopens (tests/tools/got/hooker.c, linking the library's own
got.o) installs counting hooks with tt_got_hooks' table.  Checked, with
exact counts: the table (every export but sprintf); every slot patched,
lazy ones too; the late library patched by tt_got_refresh alone; the
one being relocated left until its RELRO is read-only; a slot someone
else changed left alone by the restore; the closed library skipped; the
stubs put back; the calls no longer counted after the restore; a second
install and restore; the permissions of every mapping the same before
and after each install, refresh and restore.  With a hooker whose table
holds 8 slots (libgot_hooker8.so), the install patches 8 and says why
not the rest.  Under strace (when there is one): RELRO pages made
writable page by page and put back, a refresh with nothing new loaded
making no syscall.  Last, the library's dynamic symbols are exports.map's
global list, which tt_got_hooks reads there.

Loaded into a running process, the library's initial-exec TLS comes from
the few hundred bytes glibc keeps for dlopen'ed libraries
(glibc.rtld.optional_static_tls, 512 by default, shared by all of them):
its PT_TLS segment is at most 256 bytes, and a Python host with no
GLIBC_TUNABLES, one thread already running, dlopens it (RTLD_NOW) and
then reads and writes a pipe and a socket pair, in both threads."""
import re

from tlslib import *

HOST = os.path.join(BUILD, "tools", "got_host")
LIBS = os.path.join(BUILD, "tools", "got")
ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LD_BIND_NOW")}

WANT = [
    'hooks: close read write',
    'before: read=0 write=0 close=0 other=0',
    'lazy before: slots=3 stubs=3',
    'maps after install: same',
    'install: patched=12 why=""',
    'installed: read=4 write=4 close=8 other=0',
    'lazy installed: slots=3 stubs=0',
    'late, before refresh: read=5 write=5 close=10 other=0',
    'maps after refresh: same',
    'late, refreshed: read=7 write=7 close=14 other=0',
    'late, refreshed again: read=9 write=9 close=18 other=0',
    'maps after refresh while relocating: same',
    'latenow, relro writable, refreshed: read=10 write=10 close=20 other=0',
    'latenow, relro read-only, refreshed: read=12 write=12 close=24 other=0',
    'meddle: 0',
    'maps after restore: same',
    'restore: restored=14 left_alone=1',
    'lazy restored: slots=3 stubs=2 same=2',
    'restored: read=12 write=12 close=24 other=1',
    'restored, refreshed: read=12 write=12 close=24 other=2',
    'maps after second install: same',
    'second install: patched=15 why=""',
    'installed again: read=17 write=17 close=34 other=2',
    'maps after second restore: same',
    'second restore: restored=15 left_alone=0',
    'restored again: read=17 write=17 close=34 other=3',
]


def lines_of(out):
    # "same (33 ranges)": how many mappings the process has varies
    return [re.sub(r" \(\d+ ranges\)$", "", l) for l in out.decode(errors="replace").splitlines()]


def check_host():
    r = run([HOST, LIBS], env=ENV, timeout=30)
    got = lines_of(r.stdout)
    ok("got: the host ran", r.returncode == 0 and r.stderr == b"",
       (r.returncode, r.stderr[-800:]))

    def step(name, first, last):
        ok("got: " + name, got[first:last] == WANT[first:last],
           "\n".join("want %r\ngot  %r" % (w, g) for w, g in
                     zip(WANT[first:last], got[first:last] + [None] * (last - first)) if w != g))

    step("tt_got_hooks: read, write, close (the hooker's sprintf is no hook)", 0, 1)
    step("nothing counted before the install; the lazy library's 3 slots hold their stubs", 1, 3)
    step("install: 12 slots (the host's, the full-RELRO, lazy and later closed libraries'), "
         "nothing left out", 3, 5)
    step("installed: every call counted, through every library; the lazy stubs replaced", 5, 7)
    step("a library loaded after the install is patched by tt_got_refresh, and only then", 7, 10)
    step("a refresh with nothing new changes nothing", 10, 11)
    step("a library whose RELRO is still writable (being relocated) waits; "
         "once read-only, a refresh patches it", 11, 14)
    step("restore: 14 slots put back, the one someone else changed left alone "
         "and counted apart, the closed library skipped", 14, 17)
    step("restore: the lazy slots hold their stubs again (2 of 3; the other, "
         "someone else's function)", 17, 18)
    step("after the restore no call is counted; a refresh does nothing", 18, 20)
    step("a second install and restore: 15 slots each", 20, 26)
    maps = [g for g in got if g.startswith("maps after")]
    ok("got: the permissions of every mapping the same after each install, refresh, restore",
       len(maps) == 6 and all(m.endswith(": same") for m in maps), maps)
    ok("got: nothing more printed", len(got) == len(WANT), got[len(WANT):])


def check_full():
    r = run([HOST, LIBS, "8"], env=ENV, timeout=30)
    got = lines_of(r.stdout)
    want = ['maps after install: same',
            'install: patched=8 why="4 slots not patched: the table of 8 is full"',
            'install again: patched=0 why=""',
            'maps after restore: same',
            'restore: restored=8 left_alone=0']
    ok("got: a table of 8 slots: 8 of the 12 patched, the install says why not the "
       "4 others, which no later pass takes; the 8 put back",
       r.returncode == 0 and got == want, (r.returncode, got, r.stderr[-500:]))


def check_strace():
    why = missing("strace")
    names = ("got: RELRO pages writable for each store alone, put back read-only",
             "got: a refresh with nothing new loaded makes no syscall")
    if why:
        for n in names:
            skip(n, why)
        return
    trace = new_log(".strace")
    r = run(["strace", "-o", trace, "-e", "trace=openat,mprotect,write", HOST, LIBS],
            env=ENV, timeout=60)
    ok("got: the host ran under strace", r.returncode == 0, r.stderr[-800:])
    with open(trace) as f:
        calls = f.read().splitlines()

    def between(a, b):
        i = next(k for k, c in enumerate(calls) if c.startswith('write(1, "%s' % a))
        j = next(k for k, c in enumerate(calls) if k > i and c.startswith('write(1, "%s' % b))
        return calls[i + 1:j]

    # install: the full-RELRO library's 3 slots share one page, which
    # is made writable and put back once per slot
    mp = [c for c in between("lazy before", "maps after install") if c.startswith("mprotect(")]
    pages = {c.split(",")[0] for c in mp}
    ok(names[0], len(mp) == 6 and len(pages) == 1
       and all(c.endswith(("PROT_READ|PROT_WRITE) = 0", "PROT_READ) = 0")) for c in mp)
       and [("WRITE" in c) for c in mp] == [True, False] * 3, mp)
    # between the two lines, the late library's round (pipe, write,
    # read, close), the refresh, the direct round: only the rounds' writes
    seg = between("late, refreshed: ", "late, refreshed again: ")
    ok(names[1], len(seg) == 2 and all(re.match(r"write\(\d+, \"x\", 1\)\s*= 1$", c) for c in seg),
       seg)


# The host: a thread started first, the library dlopen'ed, then I/O in
# both threads.
DLOPEN_HOST = r"""
import ctypes, os, socket, sys, threading
go, out = threading.Event(), []
def io():
    go.wait()
    r, w = os.pipe()
    out.append((os.write(w, b"thread"), os.read(r, 16)))
t = threading.Thread(target=io)
t.start()
try:
    ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)
    print("dlopen: ok")
except OSError as e:
    print("dlopen: %s" % e)
go.set()
t.join()
a, b = socket.socketpair()
print("socket:", os.write(a.fileno(), b"ping"), os.read(b.fileno(), 16))
r, w = os.pipe()
print("pipe:", os.write(w, b"main"), os.read(r, 16))
print("thread:", *out[0])
"""


def check_tls():
    why = missing("readelf")
    name = "got: the library's static TLS (PT_TLS memsz) is at most 256 bytes"
    if why:
        skip(name, why)
    else:
        r = run(["readelf", "-lW", LIB])
        segs = [l.split() for l in r.stdout.decode().splitlines()
                if l.split()[:1] == ["TLS"]]
        # TLS Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
        size = int(segs[0][5], 16) if len(segs) == 1 else None
        ok(name, size is not None and size <= 256, (size, segs))
    env = {k: v for k, v in ENV.items() if k != "GLIBC_TUNABLES"}
    r = run([sys.executable, "-c", DLOPEN_HOST, LIB], env=env, timeout=30)
    got = r.stdout.decode(errors="replace").splitlines()
    want = ["dlopen: ok", "socket: 4 b'ping'", "pipe: 4 b'main'", "thread: 6 b'thread'"]
    ok("got: a running host with no GLIBC_TUNABLES dlopens the library (RTLD_NOW); "
       "its reads and writes, in a thread started before, work after",
       r.returncode == 0 and got == want, (r.returncode, got, r.stderr[-800:]))


def check_exports():
    why = missing("readelf")
    name = ("got: the library exports exactly exports.map's global list, all functions "
            "but tlstrace_info (the attach state tlstrace -p reads)")
    if why:
        skip(name, why)
        return
    with open(os.path.join(ROOT, "shim", "exports.map")) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    glob = text.split("global:")[1].split("local:")[0]
    listed = {n.strip() for n in glob.split(";") if n.strip()}
    r = run(["readelf", "--dyn-syms", "-W", LIB])
    defined, data = set(), set()
    for line in r.stdout.decode().splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and f[6] != "UND" and f[4] in ("GLOBAL", "WEAK") and f[3] in ("FUNC",
                                                                                  "OBJECT"):
            defined.add(f[7].split("@")[0])
            if f[3] == "OBJECT":
                data.add(f[7].split("@")[0])
    ok(name, listed == defined and len(listed) > 40 and data == {"tlstrace_info"},
       "listed, not exported: %s\nexported, not listed: %s"
       % (sorted(listed - defined), sorted(defined - listed)))


def main():
    check_tls()
    need = [HOST] + [os.path.join(LIBS, "libgot_%s.so" % l)
                     for l in ("now", "lazy", "late", "gone", "hooker", "hooker8")]
    absent = [p for p in need if not os.path.exists(p)]
    ok("got: the host and its libraries are built (make tools)", not absent, absent)
    if absent:
        return
    check_host()
    check_full()
    check_strace()
    check_exports()


if __name__ == "__main__":
    main()
    finish()
