#!/usr/bin/python3
"""Check a JUnit XML report the way CI would read it.

Reads FILE with junitparser (Debian's python3-junitparser, hence /usr/bin/python3:
a pyenv python on PATH may not have it), counts testcases by outcome, checks the
counts the suites declare agree with the testcases they hold, and compares the
totals with the ones given on the command line. With --schema XSD it also runs
`xmllint --schema` (the repository's copy is tests/tools/junit-10.xsd); an XSD
that does not exist is a failure.

Exit codes: 0 everything matched, 1 a mismatch (or an unreadable/invalid file),
2 usage error.

    check_junit.py results/junit.xml --tests 8 --failures 1 --errors 1 --skipped 3

It also reads the file the way GitLab's JUnit parser does
(lib/gitlab/ci/parsers/test/junit.rb): every testcase of the file is filed under
"<suite name>_<classname>_<name>" and one is kept per key, so a repeated name
hides a testcase (a failing one behind a passing one is a false PASS in the
merge request); two <system-out> elements in one testcase make GitLab reject the
whole report; a failed or errored testcase's attachment is the first
[[ATTACHMENT|path]] in its <system-out>. Names must also be unique within each
suite (other readers key by suite and name). --attachments requires every failed
or errored testcase to carry an attachment whose file exists (relative paths
from the current directory); --case NAME / --failed-case NAME require a testcase
of that name (that failed).
"""
import argparse
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

try:
    from junitparser import JUnitXml, TestSuite, Failure, Error, Skipped
except ImportError:  # pragma: no cover - depends on the machine
    print("check_junit: junitparser is not installed (apt install python3-junitparser)",
          file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Assert testcase counts in a JUnit XML report.")
    p.add_argument("file")
    p.add_argument("--tests", type=int)
    p.add_argument("--failures", type=int)
    p.add_argument("--errors", type=int)
    p.add_argument("--skipped", type=int)
    p.add_argument("--schema", metavar="XSD", help="also validate with xmllint --schema XSD")
    p.add_argument("--attachments", action="store_true",
                   help="every failed/errored testcase has a GitLab attachment that exists")
    p.add_argument("--case", action="append", default=[], metavar="NAME",
                   help="a testcase with this name exists (repeatable)")
    p.add_argument("--failed-case", action="append", default=[], metavar="NAME",
                   help="a testcase with this name exists and failed (repeatable)")
    return p.parse_args(argv)  # exits 2 on a usage error


# GitLab's own pattern: the path excludes '[', ']' and '|'.
ATTACHMENT = re.compile(r"\[\[ATTACHMENT\|(?P<path>[^\[\]\|]+?)\]\]")


def gitlab_cases(path):
    """The testcases as GitLab's parser sees them: dicts with suite, classname,
    name, status, the number of <system-out> elements and the attachment."""
    root = ET.parse(path).getroot()
    cases = []

    def walk(suite):
        for child in suite:
            if child.tag == "testsuite":
                walk(child)
            elif child.tag == "testcase":
                tags = [c.tag for c in child]
                outs = [c.text or "" for c in child if c.tag == "system-out"]
                status = ("failed" if "failure" in tags else "error" if "error" in tags
                          else "skipped" if "skipped" in tags else "success")
                m = ATTACHMENT.search(outs[0]) if outs and status in ("failed", "error") else None
                cases.append({"suite": suite.get("name"), "classname": child.get("classname"),
                              "name": child.get("name"), "status": status,
                              "system_out": len(outs), "attachment": m and m.group("path")})

    # GitLab requires a testsuites or testsuite root and reads nested suites.
    for suite in ([root] if root.tag == "testsuite" else
                  [c for c in root if c.tag == "testsuite"]):
        walk(suite)
    return cases


def gitlab_problems(path, args):
    problems = []
    try:
        cases = gitlab_cases(path)
    except (OSError, ET.ParseError) as e:
        return [f"GitLab-style read failed: {e}"]
    keys, per_suite = {}, {}
    for c in cases:
        key = f"{c['suite']}_{c['classname']}_{c['name']}"
        keys.setdefault(key, []).append(c["status"])
        per_suite.setdefault((c["suite"], c["name"]), 0)
        per_suite[(c["suite"], c["name"])] += 1
        if c["system_out"] > 1:
            problems.append(f"testcase {c['name']!r} has {c['system_out']} <system-out> "
                            "(GitLab rejects the report)")
    for key, statuses in keys.items():
        if len(statuses) > 1:
            problems.append(f"GitLab key {key!r} repeats ({', '.join(statuses)}): "
                            "GitLab keeps one of them")
    for (suite, name), n in per_suite.items():
        if n > 1:
            problems.append(f"suite {suite!r}: testcase name {name!r} appears {n} times")
    attached = [c for c in cases if c["attachment"]]
    if args.attachments:
        for c in cases:
            if c["status"] not in ("failed", "error"):
                continue
            if not c["attachment"]:
                problems.append(f"{c['status']} testcase {c['name']!r} has no [[ATTACHMENT|...]]")
            elif not os.path.exists(c["attachment"]):
                problems.append(f"testcase {c['name']!r}: attachment {c['attachment']} "
                                "does not exist")
    names = {c["name"]: c["status"] for c in cases}
    for name in args.case:
        if name not in names:
            problems.append(f"no testcase named {name!r}")
    for name in args.failed_case:
        if names.get(name) != "failed":
            problems.append(f"testcase {name!r} did not fail (status: {names.get(name)})")
    print(f"gitlab: {len(cases)} testcases, {len(keys)} distinct keys, "
          f"{len(attached)} attachments")
    return problems


def count_suite(suite):
    c = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for case in suite:
        c["tests"] += 1
        kinds = {type(res) for res in case.result}
        if Error in kinds:
            c["errors"] += 1
        elif Failure in kinds:
            c["failures"] += 1
        elif Skipped in kinds:
            c["skipped"] += 1
    return c


def main(argv):
    args = parse_args(argv)
    problems = []

    if args.schema:
        if not os.path.exists(args.schema):
            # The schema is in the repository (tests/tools/junit-10.xsd): a
            # missing one is a broken checkout, not a check to skip.
            problems.append(f"schema {args.schema} not found")
        else:
            r = subprocess.run(["xmllint", "--noout", "--schema", args.schema, args.file],
                               capture_output=True, text=True)
            if r.returncode != 0:
                problems.append("xmllint: " + (r.stderr.strip() or f"exit {r.returncode}"))
            else:
                print(f"xmllint: {args.file} validates against {args.schema}")

    try:
        xml = JUnitXml.fromfile(args.file)
    except Exception as e:  # junitparser raises lxml/ElementTree errors
        print(f"check_junit: {args.file}: cannot read: {e}", file=sys.stderr)
        return 1
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)

    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        c = count_suite(suite)
        print(f"suite {suite.name!r}: tests={c['tests']} failures={c['failures']} "
              f"errors={c['errors']} skipped={c['skipped']}")
        for key in total:
            total[key] += c[key]
            declared = suite._elem.get(key)
            if declared is not None and int(declared) != c[key]:
                problems.append(f"suite {suite.name!r} declares {key}={declared} "
                                f"but holds {c[key]}")
    root = xml._elem
    if root.tag == "testsuites":
        for key in ("tests", "failures", "errors"):
            declared = root.get(key)
            if declared is not None and int(declared) != total[key]:
                problems.append(f"testsuites declares {key}={declared} but holds {total[key]}")

    print(f"found: tests={total['tests']} failures={total['failures']} "
          f"errors={total['errors']} skipped={total['skipped']}")
    problems += gitlab_problems(args.file, args)
    for key in total:
        want = getattr(args, key)
        if want is not None and want != total[key]:
            problems.append(f"{key}: expected {want}, found {total[key]}")

    for p in problems:
        print(f"check_junit: {args.file}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
