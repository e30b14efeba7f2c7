"""docs/log-format.md against the code and the test suite
(scripts/doccheck.py): every event and field key the code can emit is
documented, everything documented can be emitted, every example line
parses with documented keys, the registry of event names is the
code's and the doc's, and, when the unit and the other
integration tests ran with TLSTRACE_DOCCHECK_DIR set (scripts/check.sh
runs this test last), every documented event and field was produced by
them."""
import os
import sys

from tlslib import *

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import doccheck  # noqa: E402

code, doc = doccheck.CodeScan(), doccheck.Doc()
found = doccheck.check_code_vs_doc(code, doc)


def show(*keys):
    return "\n".join("%s: %s" % (k, v) for k in keys for v in found[k])


ok("every event the code can emit is documented (%d events)" % len(code.events),
   not found["undocumented events"] and not found["unresolved in the code scan"],
   show("undocumented events", "unresolved in the code scan"))
ok("every field key the code can emit is documented (%d keys)" % len(code.keys),
   not found["undocumented keys"], show("undocumented keys"))
ok("every documented event and field is one the code can emit",
   not found["documented events the code cannot emit"]
   and not found["documented fields the code cannot emit"],
   show("documented events the code cannot emit", "documented fields the code cannot emit"))
reg = doccheck.check_registry(code, doc)
ok("the registry of event names (TLSTRACE_EVENTS, -e) is what the code emits, each "
   "documented and listed under 'Choosing events' (%d names)" % len(doccheck.registry()),
   not any(reg.values()),
   "\n".join("%s: %s" % (k, v) for k, vs in reg.items() for v in vs))
bad = doccheck.check_examples(code, doc)
ok("every event has a JSON and a text example, every example parses with documented keys "
   "(%d JSON, %d text lines)" % (len(doc.json_examples), len(doc.text_examples)),
   not bad, "\n".join(bad))

logs = os.environ.get("TLSTRACE_DOCCHECK_DIR")
got = doccheck.produced(logs) if logs else None
if got is None:
    print("ok - produced in the test suite # SKIP no collected logs", flush=True)
else:
    missing = doccheck.check_produced(doc, got)
    ok("produced in the test suite", not any(missing.values()),
       "%d lines collected\n" % got[2]
       + "\n".join("%s: %s" % (k, ", ".join(v)) for k, v in missing.items() if v))
finish()
