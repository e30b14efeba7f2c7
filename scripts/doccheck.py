#!/usr/bin/env python3
"""Checks docs/log-format.md against the code and against what the test
suite produced, so that the reference cannot drift.

What the code can emit is read from the sources of decoder/ and shim/:
event names are the name arguments of tt_ev_begin(); field keys are the
key arguments of the tt_ev_* field builders, followed through the
helpers that pass a key on (a parameter named like *key) and through the
key tables they index; the shim's format code adds the common fields
(its JSON prefix) and the flags (its flag table).  A name argument that
is not a string literal must come from a tt_name_*() registry lookup,
whose names are read from decoder/base/tables/*.def.  Anything else the
scan cannot resolve is reported, so that a new way of naming events or
keys is not silently skipped.

The registry of event names (decoder/base/tables/event.def, then the
handshake types of handshake.def: what TLSTRACE_EVENTS and -e choose
from) must be exactly the names the code can emit, each documented, and
the doc's list of them (the table under "### Choosing events") must be
the registry.

What the doc names: the events are the `### name` headings of its
section 6 and the first column of every table whose first header cell
is "event"; the fields are the first column of every table whose first
header cell is "field", "key" or "flag".  Every ```json line in it must
be contract JSON (tests/integration/tlslib.py) of a documented event with
documented keys, and every event with a heading needs a JSON and a text
example of itself.

What the tests produced: the JSON lines collected in
$TLSTRACE_DOCCHECK_DIR (one *.jsonl file per test process) by the
integration tests (tests/integration/tlslib.py) and the unit tests
(tests/unit/helpers/evlog.c).

  scripts/doccheck.py [--doc docs/log-format.md] [--logs DIR]

prints one line per finding and exits 1 when there is any.
"""
import argparse
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "log-format.md")
TABLES = os.path.join(ROOT, "decoder", "base", "tables")
# The doc's section listing the names TLSTRACE_EVENTS takes.
FILTER_HEADING = "### Choosing events"

# Documented, emitted by the code, but produced by no test; each with the
# reason.  Keep this short: an entry is a gap in the
# suite, not in the doc.
NOT_PRODUCED = {
    # tt_hs_generic (decoder/msg/misc.c) names every handshake type that
    # has no parser of its own from handshake.def; the suite checks that
    # one code path through server_hello_done, client_key_exchange and
    # handshake (an unknown type).  No peer the suite can run sends these.
    "hello_verify_request": "generic handshake event (DTLS only)",
    "request_connection_id": "generic handshake event (DTLS 1.3 only)",
    "new_connection_id": "generic handshake event (DTLS 1.3 only)",
    "client_certificate_request": "generic handshake event (unassigned in TLS)",
    "certificate_url": "generic handshake event (RFC 6066, no peer sends it)",
    "certificate_status": "generic handshake event (OCSP stapling in TLS 1.2)",
    "supplemental_data": "generic handshake event (RFC 4680, no peer sends it)",
    "compressed_certificate": "generic handshake event (RFC 8879, always encrypted)",
    "ekt_key": "generic handshake event (DTLS-SRTP only)",
    "message_hash": "generic handshake event (never sent, only hashed)",
}

EV_FIELD_FNS = ("tt_ev_str", "tt_ev_int", "tt_ev_bool", "tt_ev_label",
                "tt_ev_hex", "tt_ev_list_begin", "tt_ev_untrusted",
                "tt_ev_strcpy", "tt_ev_printf")
IDENT = re.compile(r"[A-Za-z_]\w*")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ---- C sources ----

def strip_comments(src):
    """src with comments blanked (newlines kept) and strings intact."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_string(src, i):
    q = src[i]
    j = i + 1
    while j < len(src) and src[j] != q:
        j += 2 if src[j] == "\\" else 1
    return j + 1


def split_args(src, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren, and
    the index after its ')'."""
    args, depth, start, i = [], 0, open_paren + 1, open_paren
    while i < len(src):
        c = src[i]
        if c in "\"'":
            i = skip_string(src, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(src[start:i].strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(src[start:i].strip())
            start = i + 1
        i += 1
    return args, i


def literals(text):
    """The string literals of C text (character literals skipped)."""
    out, i = [], 0
    while i < len(text):
        if text[i] in "\"'":
            j = skip_string(text, i)
            if text[i] == '"':
                out.append(text[i + 1:j - 1])
            i = j
        else:
            i += 1
    return out


LITERAL = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
DECL = re.compile(r"^(?:void|(?:const\s+)?(?:(?:struct|enum|union)\s+)?\w+[\s*]+\w+)$")


def branches(expr):
    """The value expressions of expr: itself, or both branches of a ?:
    (recursively)."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")") and split_args(expr, 0)[1] == len(expr):
        expr = expr[1:-1].strip()
    depth, q = 0, None
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'":
            i = skip_string(expr, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and c == "?" and q is None:
            q = i
        elif depth == 0 and c == ":" and q is not None:
            return branches(expr[q + 1:i]) + branches(expr[i + 1:])
        i += 1
    return [expr]


class Source:
    def __init__(self, path):
        self.path = os.path.relpath(path, ROOT)
        with open(path) as f:
            self.text = strip_comments(f.read())
        self.funcs = self._functions()

    def line(self, i):
        return self.text.count("\n", 0, i) + 1

    def _functions(self):
        """Function definitions at file level: name -> (params, start, end)."""
        funcs, depth, i, t = {}, 0, 0, self.text
        while i < len(t):
            c = t[i]
            if c in "\"'":
                i = skip_string(t, i)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif depth == 0 and c == "(":
                m = re.search(r"(\w+)\s*$", t[:i])
                args, after = split_args(t, i)
                body = re.match(r"\s*\{", t[after:])
                if m and body:
                    start = after + body.end() - 1
                    end = self._match_brace(start)
                    params = [IDENT.findall(a)[-1] if IDENT.findall(a) else ""
                              for a in args]
                    funcs[m.group(1)] = (params, start, end)
                    i = end
                    continue
                i = after
                continue
            i += 1
        return funcs

    def _match_brace(self, i):
        depth, t = 0, self.text
        while i < len(t):
            c = t[i]
            if c in "\"'":
                i = skip_string(t, i)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i

    def enclosing(self, pos):
        for name, (params, start, end) in self.funcs.items():
            if start <= pos < end:
                return name, params
        return None, []

    def calls(self, fn):
        """(position, args) of every call of fn."""
        for m in re.finditer(r"(?<![\w.>])%s\s*\(" % re.escape(fn), self.text):
            args, _ = split_args(self.text, m.end() - 1)
            if args and DECL.match(args[0]):
                continue  # a declaration or definition, not a call
            yield m.start(), args


class CodeScan:
    def __init__(self, root=ROOT):
        # event.c builds events, it names none
        paths = sorted(p for p in
                       glob.glob(os.path.join(root, "decoder", "*", "*.[ch]")) +
                       glob.glob(os.path.join(root, "shim", "*.[ch]"))
                       if not p.endswith(os.path.join("base", "event.c")))
        self.srcs = [Source(p) for p in paths]
        self.events = {}   # name -> set of "file:line"
        self.keys = {}
        self.unresolved = []
        self._scan()

    def _add(self, table, names, where):
        for n in names:
            table.setdefault(n, set()).add(where)

    def _registry(self, table):
        path = os.path.join(TABLES, table + ".def")
        with open(path) as f:
            return re.findall(r'^\s*X\(\s*\w+\s*,\s*\w+\s*,\s*"([^"]+)"\)', f.read(), re.M)

    def _scan(self):
        for s in self.srcs:
            for pos, args in s.calls("tt_ev_begin"):
                self._event_name(s, pos, args[1] if len(args) > 1 else "")
            for fn in EV_FIELD_FNS:
                for pos, args in s.calls(fn):
                    self._key(s, pos, args[1] if len(args) > 1 else "", set())
            if s.path == os.path.join("shim", "format.c"):
                where = s.path
                for lit in literals(s.text):
                    # the JSON prefix: "{\"ts\":\"", ",\"pid\":", ...
                    self._add(self.keys, re.findall(r'\\"(\w+)\\":', lit), where)
                self._add(self.keys, re.findall(
                    r'\{\s*TT_EVF_\w+\s*,\s*"(\w+)"\s*\}', s.text), where)

    def _event_name(self, s, pos, expr):
        where = "%s:%d" % (s.path, s.line(pos))
        for b in branches(expr):
            lit = LITERAL.match(b)
            m = re.search(r"\b%s\s*=\s*tt_name_(\w+)\s*\(" % re.escape(b), s.text) \
                if re.fullmatch(r"\w+", b) else None
            if lit:
                self._add(self.events, [lit.group(1)], where)
            elif m:  # a registry's name for a value
                self._add(self.events, self._registry(m.group(1)),
                          "%s (%s.def)" % (where, m.group(1)))
            else:
                self.unresolved.append("%s: event name %r" % (where, expr))

    def _key(self, s, pos, expr, seen):
        where = "%s:%d" % (s.path, s.line(pos))
        parts = branches(expr)
        if len(parts) > 1:
            for b in parts:
                self._key(s, pos, b, seen)
            return
        lit = LITERAL.match(expr)
        if lit:
            self._add(self.keys, [lit.group(1)], where)
            return
        m = re.fullmatch(r"(\w+)\s*\[[^]]*\]\s*(?:\.\s*(\w+))?", expr)
        if m:  # keys[k], f[i].key: the table's initializer
            init = re.search(r"\b%s\s*\[\s*\]\s*=\s*\{" % m.group(1), s.text)
            if init:
                body, _ = split_args(s.text, init.end() - 1)
                found = []
                for item in body:
                    lits = literals(item)
                    if lits:
                        found.append(lits[0] if m.group(2) else lits)
                flat = [x for f in found for x in ([f] if isinstance(f, str) else f)]
                if flat:
                    self._add(self.keys, flat, "%s (%s[])" % (where, m.group(1)))
                    return
        if re.fullmatch(r"\w+", expr):  # a helper's parameter
            fn, params = s.enclosing(pos)
            if fn and expr in params and (fn, expr) not in seen:
                idx = params.index(expr)
                seen = seen | {(fn, expr)}
                n = 0
                for src in self.srcs:
                    for cpos, cargs in src.calls(fn):
                        if len(cargs) > idx:
                            n += 1
                            self._key(src, cpos, cargs[idx], seen)
                if n:
                    return
        self.unresolved.append("%s: field key %r" % (where, expr))


def registry():
    """The event names of the registry, in its order: event.def's, then
    the handshake types'."""
    with open(os.path.join(TABLES, "event.def")) as f:
        names = re.findall(r'^\s*X\(\s*\w+\s*,\s*"([^"]+)"\)', f.read(), re.M)
    with open(os.path.join(TABLES, "handshake.def")) as f:
        names += re.findall(r'^\s*X\(\s*\w+\s*,\s*\w+\s*,\s*"([^"]+)"\)', f.read(), re.M)
    return names


# ---- the doc ----

def table_rows(lines):
    """(header cells, [row cells]) of every Markdown table."""
    tables, cur = [], None
    for line in lines + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = (cells, [])
            elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
                cur[1].append(cells)
        elif cur is not None:
            tables.append(cur)
            cur = None
    return tables


class Doc:
    def __init__(self, path=DOC):
        with open(path) as f:
            self.text = f.read()
        lines = self.text.split("\n")
        self.events, self.fields = set(), set()
        self.headings = []
        section = None
        for line in lines:
            m = re.match(r"^## (\d+)\.", line)
            if m:
                section = int(m.group(1))
            m = re.match(r"^### ([a-z][a-z0-9_]*)(?: \(.*\))?$", line)
            if m and section == 6:
                self.headings.append(m.group(1))
                self.events.add(m.group(1))
        for head, rows in table_rows(lines):
            kind = head[0].strip("`").lower() if head else ""
            for r in rows:
                names = [n for n in re.findall(r"`([^`]+)`", r[0]) if NAME.match(n)]
                if kind == "event":
                    self.events.update(names)
                elif kind in ("field", "key", "flag"):
                    self.fields.update(names)
        self.filter_names = None  # the table under FILTER_HEADING
        for i, line in enumerate(lines):
            if line.strip() == FILTER_HEADING:
                for head, rows in table_rows(lines[i + 1:]):
                    self.filter_names = [n for r in rows for n in
                                         re.findall(r"`([^`]+)`", r[0]) if NAME.match(n)]
                    break
        self.json_examples, self.text_examples = [], []
        fence = None
        for i, line in enumerate(lines):
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
                continue
            if fence == "json":
                self.json_examples.append((i + 1, line))
            elif fence == "" and TEXT_LINE.match(line):
                self.text_examples.append((i + 1, line))


TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT[\d:.]+Z (error|warn |info |debug|trace) pid=\d+ tid=\d+ "
    r"conn=\d+ fd=\d+ (client|server|unknown) (in |out) ([a-z][a-z0-9_]*)(.*)$")


def text_keys(rest):
    """The keys of a text line's fields (after the event name)."""
    keys, i = [], 0
    while i < len(rest):
        m = re.compile(r" ([a-z][a-z0-9_]*)=").match(rest, i)
        if not m:
            return None
        keys.append(m.group(1))
        i = m.end()
        while i < len(rest) and rest[i] != " ":
            if rest[i] == '"':
                j = i + 1
                while j < len(rest) and rest[j] != '"':
                    j += 2 if rest[j] == "\\" else 1
                i = j + 1
            else:
                i += 1
    return keys


# ---- the checks ----

def check_code_vs_doc(code, doc):
    """Findings: what the code can emit that the doc does not name, what
    the doc names that the code cannot emit, and scan gaps."""
    out = {"undocumented events": sorted(set(code.events) - doc.events),
           "undocumented keys": sorted(set(code.keys) - doc.fields),
           "documented events the code cannot emit": sorted(doc.events - set(code.events)),
           "documented fields the code cannot emit": sorted(doc.fields - set(code.keys)),
           "unresolved in the code scan": code.unresolved}
    return out


def check_registry(code, doc, names=None):
    """Findings about the registry of event names: against what the code
    can emit, what the doc documents, and the doc's list of it."""
    names = registry() if names is None else names
    reg = set(names)
    listed = doc.filter_names or []
    return {"duplicate registry names": sorted(n for n in reg if names.count(n) > 1),
            "event names the code uses that are not in the registry":
            sorted(set(code.events) - reg),
            "registry names the code cannot emit": sorted(reg - set(code.events)),
            "registry names not documented": sorted(reg - doc.events),
            "no event name list under %r" % FILTER_HEADING:
            [] if doc.filter_names is not None else ["(missing)"],
            "registry names missing from the doc's list": sorted(reg - set(listed)),
            "names in the doc's list not in the registry": sorted(set(listed) - reg),
            "names listed twice in the doc's list":
            sorted(n for n in set(listed) if listed.count(n) > 1)}


def check_examples(code, doc):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import tlslib
    tlslib._DOCCHECK = None  # the doc's lines are not the suite's
    check_json_line = tlslib.check_json_line
    bad = []
    json_ev, text_ev = set(), set()
    for n, line in doc.json_examples:
        why = check_json_line(line)
        if why:
            bad.append("line %d: JSON example: %s" % (n, why))
            continue
        o = json.loads(line)
        json_ev.add(o["event"])
        if o["event"] not in doc.events:
            bad.append("line %d: JSON example of undocumented event %s" % (n, o["event"]))
        extra = sorted(set(o) - doc.fields)
        if extra:
            bad.append("line %d: JSON example with undocumented keys %s" % (n, extra))
    for n, line in doc.text_examples:
        m = TEXT_LINE.match(line)
        ev = m.group(4)
        text_ev.add(ev)
        keys = text_keys(m.group(5))
        if keys is None:
            bad.append("line %d: text example does not parse" % n)
            continue
        extra = sorted(set(keys) - doc.fields)
        if ev not in doc.events:
            bad.append("line %d: text example of undocumented event %s" % (n, ev))
        if extra:
            bad.append("line %d: text example with undocumented keys %s" % (n, extra))
    for ev in doc.headings:
        if ev not in json_ev:
            bad.append("event %s has no JSON example" % ev)
        if ev not in text_ev:
            bad.append("event %s has no text example" % ev)
    return bad


def produced(logdir):
    """Events and keys of the JSON lines collected in logdir, or None when
    there are none."""
    events, keys, n = set(), set(), 0
    for path in sorted(glob.glob(os.path.join(logdir, "*.jsonl"))):
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if isinstance(o, dict) and isinstance(o.get("event"), str):
                    n += 1
                    events.add(o["event"])
                    keys.update(o)
    return (events, keys, n) if n else None


def check_produced(doc, got):
    events, keys, _ = got
    return {"documented events no test produced":
            sorted(e for e in doc.events - events if e not in NOT_PRODUCED),
            "documented fields no test produced":
            sorted(k for k in doc.fields - keys if k not in NOT_PRODUCED),
            "exceptions that are produced after all (remove them)":
            sorted(n for n in NOT_PRODUCED if n in events or n in keys),
            "exceptions the doc no longer names (remove them)":
            sorted(n for n in NOT_PRODUCED if n not in doc.events | doc.fields)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", default=DOC)
    ap.add_argument("--logs", default=os.environ.get("TLSTRACE_DOCCHECK_DIR"))
    a = ap.parse_args()
    code, doc = CodeScan(), Doc(a.doc)
    findings = check_code_vs_doc(code, doc)
    findings.update(check_registry(code, doc))
    findings["examples"] = check_examples(code, doc)
    print("code: %d events, %d keys; registry: %d events; doc: %d events, %d fields, "
          "%d JSON and %d text examples"
          % (len(code.events), len(code.keys), len(registry()), len(doc.events),
             len(doc.fields), len(doc.json_examples), len(doc.text_examples)))
    if a.logs:
        got = produced(a.logs)
        if got:
            print("produced: %d lines, %d events, %d keys" % (got[2], len(got[0]), len(got[1])))
            findings.update(check_produced(doc, got))
        else:
            print("produced: no collected logs in %s" % a.logs)
    bad = 0
    for what, items in findings.items():
        for item in items:
            print("%s: %s" % (what, item))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
