#!/usr/bin/python3
"""The JUnit schema is in the repository, so a plain clone runs the schema
check: tests/tools/junit-10.xsd is a schema xmllint accepts, every test that
validates JUnit uses that copy (none reaches outside the repository), a real
run's junit.xml validates against it, and check_junit.py fails (not skips)
when told to use a schema that does not exist.

usage: junit_schema_test.py AGENTRIG REFAGENT"""
import os
import re
import subprocess
import sys
import tempfile

AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XSD = os.path.join(REPO, "tests", "tools", "junit-10.xsd")
CHECK = os.path.join(REPO, "tests", "tools", "check_junit.py")
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


expect("tests/tools/junit-10.xsd is in the repository", os.path.isfile(XSD))
if os.path.isfile(XSD):
    with open(XSD) as f:
        text = f.read()
    expect("junit-10.xsd is an XML Schema defining testsuites and testsuite",
           "XMLSchema" in text and 'name="testsuites"' in text and 'name="testsuite"' in text)

# Every test that validates JUnit names the in-repo copy, and nothing in
# tests/ reaches for a schema outside the repository.
outside = []
for top, _, files in os.walk(os.path.join(REPO, "tests")):
    if "node_modules" in top:
        continue
    for name in files:
        if not name.endswith((".py", ".c", ".txt", ".sh", ".h")):
            continue
        path = os.path.join(top, name)
        if os.path.abspath(path) == os.path.abspath(__file__):
            continue
        with open(path, errors="replace") as f:
            src = f.read()
        if re.search(r"shared[/\"', ]+schemas", src) or '"..", "shared"' in src:
            outside.append(os.path.relpath(path, REPO))
expect("no test reads a schema from outside the repository", not outside, outside)

with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run([AGENTRIG, "run", "-q", "--refagent", REFAGENT, "-o", tmp,
                        os.path.join(REPO, "scenarios", "simple_request.yaml")],
                       capture_output=True, text=True, timeout=120)
    expect("agentrig run scenarios/simple_request.yaml exits 0", r.returncode == 0,
           r.stdout + r.stderr)
    junit = os.path.join(tmp, "junit.xml")
    r = subprocess.run(["xmllint", "--noout", "--schema", XSD, junit], capture_output=True,
                       text=True)
    expect("its junit.xml validates against tests/tools/junit-10.xsd", r.returncode == 0,
           r.stderr)
    r = subprocess.run(["/usr/bin/python3", CHECK, junit, "--schema", XSD], capture_output=True,
                       text=True)
    expect("check_junit.py --schema tests/tools/junit-10.xsd validates it (no skip)",
           r.returncode == 0 and "validates against" in r.stdout and "skipping" not in r.stdout,
           r.stdout + r.stderr)
    r = subprocess.run(["/usr/bin/python3", CHECK, junit, "--schema",
                        os.path.join(tmp, "missing.xsd")], capture_output=True, text=True)
    expect("check_junit.py fails when the schema is missing", r.returncode == 1,
           r.stdout + r.stderr)

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
