#!/usr/bin/python3
"""Check a JUnit XML report the way CI would read it.

Reads FILE with junitparser (Debian's python3-junitparser, hence /usr/bin/python3:
a pyenv python on PATH may not have it), counts testcases by outcome, checks the
counts the suites declare agree with the testcases they hold, and compares the
totals with the ones given on the command line. With --schema XSD it also runs
`xmllint --schema`; when XSD does not exist that check is skipped with a message.

Exit codes: 0 everything matched, 1 a mismatch (or an unreadable/invalid file),
2 usage error.

    check_junit.py results/junit.xml --tests 8 --failures 1 --errors 1 --skipped 3
"""
import argparse
import os
import subprocess
import sys

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
    return p.parse_args(argv)  # exits 2 on a usage error


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
            print(f"skipping xmllint schema check: {args.schema} not found")
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
    for key in total:
        want = getattr(args, key)
        if want is not None and want != total[key]:
            problems.append(f"{key}: expected {want}, found {total[key]}")

    for p in problems:
        print(f"check_junit: {args.file}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
