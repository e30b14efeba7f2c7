"""Transparency: build/tools/transparency (tests/tools/transparency.c) runs
every hooked I/O call with the arguments programs get wrong or rely on
(NULL and bad pointers, NULL msghdr, huge iovec counts, MSG_TRUNC with a
NULL buffer, MSG_PEEK, zero lengths, EAGAIN, EINTR, EBADF, EPIPE, SIGPIPE)
and the descriptor calls around them (dup, dup2, dup3, F_DUPFD,
close_range, splice, sendfile), on TCP (plain, and primed with a TLS
hello so that it is traced), AF_UNIX, pipes and files, printing one line
per step.  Traced (JSON log, at info and at trace level) it must print the
same lines, exit the same way, and leave a log of contract JSON.

The whole program runs once untraced (the reference) and once traced per
level; then each group of cases (KIND/CALL) runs alone, traced, so that
one crash does not hide the rest.  A group that fails is run case by case
to name every case that crashes or differs."""
import difflib
import json
import os
import signal

from tlslib import *

TOOL = os.path.join(BUILD, "tools", "transparency")
LEVELS = ("info", "trace")


def status(rc):
    if rc == -9:
        return "killed by SIGKILL (or timed out)"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit %d" % rc


def tool(args=(), level=None, timeout=120):
    """Runs the program, traced at level (or not); returns (rc, stdout
    lines, stderr text, log text)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    log = None
    if level:
        log = new_log(".jsonl")
        env.update(LD_PRELOAD=LIB, TLSTRACE_LOG=log, TLSTRACE_FORMAT="json",
                   TLSTRACE_LEVEL=level)
    r = run([TOOL] + list(args), timeout=timeout, env=env)
    out = r.stdout.decode("utf-8", "replace").splitlines()
    err = r.stderr.decode("utf-8", "replace")
    return r.returncode, out, err, read_log(log) if log else ""


def bad_log_lines(text):
    bad = []
    for i, line in enumerate(text.splitlines()):
        why = check_json_line(line)
        if why:
            bad.append("log line %d: %s: %s" % (i + 1, why, line[:200]))
    return bad


def crash_note(want, rc, got):
    last = got[-1] if got else "(nothing)"
    nxt = want[len(got)] if len(got) < len(want) else "(end)"
    return "%s; last line printed: %s; next expected: %s" % (status(rc), last, nxt)


def stdout_diff(want, got):
    diff = list(difflib.unified_diff(want, got, "untraced", "traced", n=0, lineterm=""))[2:]
    if len(got) < len(want) and all(d[0] in "-@" for d in diff) and want[:len(got)] == got:
        return ["the %d lines from '%s' on are missing" % (len(want) - len(got), want[len(got)])]
    return diff


def compare(want, rc, got, err, log):
    """Why a traced run is not the untraced one: a list of lines, empty
    when it is."""
    why = []
    if rc != 0:
        why.append(crash_note(want, rc, got))
    if got != want:
        why += stdout_diff(want, got)
    if err:
        why.append("stderr: %s" % err[:500])
    return why + bad_log_lines(log)[:5]


ref_rc, ref, ref_err, _ = tool()
if not ok("untraced: runs to the end (%d lines)" % len(ref), ref_rc == 0 and ref and not ref_err,
          "%s\n%s" % (status(ref_rc), ref_err)):
    finish()

for level in LEVELS:
    rc, out, err, log = tool(level=level)
    name = "traced (json, %s)" % level
    ok("%s: exit status as untraced" % name, rc == ref_rc, crash_note(ref, rc, out))
    ok("%s: stdout identical line by line (%d lines)" % (name, len(ref)), out == ref,
       "\n".join(stdout_diff(ref, out)))
    ok("%s: nothing on stderr" % name, err == "", err[:2000])
    bad = bad_log_lines(log)
    ok("%s: every log line is contract JSON (%d lines)" % (name, len(log.splitlines())),
       not bad, "\n".join(bad[:10]))

# The primed TCP connection is traced, from both ends, and parsed whole.
rc, out, err, log = tool(["tcp-tls/read/basic"], level="info")
objs = [json.loads(l) for l in log.splitlines() if not check_json_line(l)]
sums = events(objs, "summary")
cli = [o for o in sums if o["role"] == "client"]
srv = [o for o in sums if o["role"] == "server"]
ok("tcp-tls: both ends traced (client_hello, server_hello, one summary each, no decode_error)",
   rc == 0 and len(events(objs, "client_hello")) == 2 and len(events(objs, "server_hello")) == 2
   and len(cli) == 1 and len(srv) == 1 and not events(objs, "decode_error")
   and cli[0].get("sni") == "localhost" and cli[0]["bytes_out"] == srv[0]["bytes_in"]
   and cli[0]["bytes_in"] == srv[0]["bytes_out"], "%s\n%s" % (status(rc), log[:3000]))

# Each group alone, then case by case where a group fails.
cases = tool(["--list"])[1]
groups = []
for c in cases:
    g = c.rsplit("/", 1)[0]
    if g not in groups:
        groups.append(g)


def expected(prefix):
    return [l for l in ref if l.startswith(prefix + " ") or l.startswith(prefix + ":")]


for g in groups:
    members = [c for c in cases if c.startswith(g + "/")]
    want = [l for c in members for l in expected(c)]
    failures = []
    for level in LEVELS:
        group_why = compare(want, *tool([g + "/"], level=level, timeout=60))
        if not group_why:
            continue
        alone = []
        for c in members:
            why = compare(expected(c), *tool([c], level=level, timeout=60))
            if why:
                alone.append("%s (%s): %s" % (c, level, why[0]))
                alone += ["    " + w for w in why[1:6]]
        # a failure that needs the cases in sequence is shown as such
        failures += alone or ["%s/ (%s), only in sequence: %s" % (g, level, group_why[0])] + \
            ["    " + w for w in group_why[1:6]]
    ok("%s: traced output identical, exit 0, log parses (%d cases, %s)"
       % (g, len(members), ", ".join(LEVELS)), not failures, "\n".join(failures))
finish()
