"""The shim answers sprintf("%02x", byte) itself (shim/hexfmt.c: libssl
writes every secret of its key log that way, one call per byte): both
entry points, sprintf and the fortified __sprintf_chk, must give exactly
what glibc gives, for every byte, for values that are not bytes and for
the formats next to it (build/tools/hexfmt prints them all)."""
import os

from tlslib import *

TOOL = os.path.join(BUILD, "tools", "hexfmt")
bare = run([TOOL], env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
ok("hexfmt: the tool ran untraced", bare.returncode == 0, bare.stderr[-500:])
lines = bare.stdout.decode().splitlines()
ok("hexfmt: glibc's own answers are the expected ones",
   "s 0 r=2 [00]" in lines and "c 171 r=2 [ab]" in lines and "s 255 r=2 [ff]" in lines
   and "s big r=3 [100]" in lines and "c big r=8 [ffffffff]" in lines
   and "s 2 r=4 [01fe]" in lines and "c 3 r=2 [3c]" in lines,
   lines[:4])
env = dict(os.environ, LD_PRELOAD=LIB, TLSTRACE_LOG="/dev/null")
shim = run([TOOL], env=env)
ok("hexfmt: the same output with the shim loaded",
   shim.returncode == 0 and shim.stdout == bare.stdout,
   [(a, b) for a, b in zip(bare.stdout.decode().splitlines(),
                           shim.stdout.decode().splitlines()) if a != b][:5])
finish()
