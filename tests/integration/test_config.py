"""Garbage configuration: one clear line on stderr naming the variable,
the program's output and exit status unchanged."""
import os

from tlslib import *

PROG = ["sh", "-c", "printf 'hello\\n'; printf 'err\\n' >&2; exit 3"]


def preload_env(**kv):
    env = dict(os.environ)
    env["LD_PRELOAD"] = LIB
    for k in list(env):
        if k.startswith("TLSTRACE_"):
            del env[k]
    env.update(kv)
    return env


def check(name, env, var):
    r = run(PROG, env=env)
    err = r.stderr.decode()
    extra = [l for l in err.splitlines() if l != "err"]
    ok("%s: stdout unchanged" % name, r.stdout == b"hello\n", r.stdout)
    ok("%s: exit status unchanged" % name, r.returncode == 3, r.returncode)
    ok("%s: exactly one line on stderr naming %s" % (name, var),
       len(extra) == 1 and var in extra[0] and extra[0].startswith("tlstrace: "), err)
    return extra[0] if extra else ""


line = check("garbage level", preload_env(TLSTRACE_LEVEL="loud"), "TLSTRACE_LEVEL")
ok("garbage level: names the default", "using info" in line, line)
line = check("garbage format", preload_env(TLSTRACE_FORMAT="xml"), "TLSTRACE_FORMAT")
ok("garbage format: names the default", "using text" in line, line)
line = check("control characters", preload_env(TLSTRACE_LEVEL="\x1b[31mred"), "TLSTRACE_LEVEL")
ok("control characters: escaped", "\x1b" not in line and "\\x1b" in line, repr(line))
line = check("unknown event names", preload_env(TLSTRACE_EVENTS="summary,bogus"),
             "TLSTRACE_EVENTS")
ok("unknown event names: names it and the valid names, the others apply",
   line.startswith("tlstrace: TLSTRACE_EVENTS='summary,bogus' has unknown event name bogus "
                   "(valid: alert, certificate, ")
   and line.endswith(", summary, supplemental_data); using the other names"), line)
line = check("no valid event name", preload_env(TLSTRACE_EVENTS="bogus"), "TLSTRACE_EVENTS")
ok("no valid event name: every event is written", line.endswith("; using all events"), line)
r = run(PROG, env=preload_env(TLSTRACE_EVENTS=" summary , diagnosis "))
ok("valid event names: nothing on stderr", r.stderr == b"err\n" and r.returncode == 3, r.stderr)
line = check("unwritable log", preload_env(TLSTRACE_LOG="/nonexistent/dir/tls.log"), "TLSTRACE_LOG")
ok("unwritable log: says why", "No such file or directory" in line, line)

# a symlink at the log path is not followed
d = tmpdir()
target = os.path.join(d, "target")
link = os.path.join(d, "link.log")
os.symlink(target, link)
line = check("symlinked log", preload_env(TLSTRACE_LOG=link), "TLSTRACE_LOG")
ok("symlinked log: target not created", not os.path.exists(target))

# a fresh log file is created 0600, %p expanded
logt = os.path.join(d, "tls-%p.log")
r = run(["sh", "-c", "echo $$"], env=preload_env(TLSTRACE_LOG=logt))
pid = r.stdout.decode().strip()
path = os.path.join(d, "tls-%s.log" % pid)
ok("log path: %p becomes the pid", os.path.exists(path), os.listdir(d))
if os.path.exists(path):
    ok("log file: mode 0600", (os.stat(path).st_mode & 0o777) == 0o600, oct(os.stat(path).st_mode))

# the launcher rejects a bad level before running anything
r = run([BIN, "-l", "loud", "--", "true"])
ok("launcher: bad -l exits 2 with a message", r.returncode == 2 and b"loud" in r.stderr, r.stderr)
r = run([BIN, "-e", "summary,bogus", "--", "true"])
ok("launcher: an unknown -e name exits 2 with a message naming it",
   r.returncode == 2 and b"-e: unknown event name bogus;" in r.stderr, r.stderr)
finish()
