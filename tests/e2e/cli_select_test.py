#!/usr/bin/python3
"""What the CLI loads and picks, and what it says while it runs (issue 12):
`validate` and `list`, every configuration error of every file (and as JUnit
on run/chaos/bench), --grep/--tag on every mode, --var/--env-file, and the
live progress of run and chaos on stderr.

    cli_select_test.py AGENTRIG REFAGENT
"""
import json
import os
import pty
import select
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
CHECK_JUNIT = os.path.join(REPO, "tests", "tools", "check_junit.py")
XSD = os.path.join(REPO, "tests", "tools", "junit-10.xsd")
SIMPLE = os.path.join(REPO, "scenarios", "simple_request.yaml")
SCENARIOS = os.path.join(REPO, "scenarios")
FAULTS = os.path.join(REPO, "scenarios", "faults")
ENV = dict(os.environ, AGENTRIG_REFAGENT=REFAGENT)
ENV.pop("NO_COLOR", None)
ENV.pop("WHAT", None)
failures = 0
total = 0


def agentrig(args, env=None):
    return subprocess.run([AGENTRIG] + args, capture_output=True, text=True, timeout=120,
                          env=env or ENV)


def expect(name, ok, detail=""):
    global failures, total
    total += 1
    print(("ok  " if ok else "FAIL") + " " + name)
    if not ok:
        print("     " + detail.replace("\n", "\n     "))
        failures += 1


def check(args, code, *needles, absent=(), env=None):
    r = agentrig(args, env)
    out = r.stdout + r.stderr
    ok = (r.returncode == code and all(n in out for n in needles)
          and not any(a in out for a in absent))
    expect(f"agentrig {' '.join(args)} -> {r.returncode}", ok,
           f"expected exit {code}, {needles!r}, none of {absent!r}; got:\n{out}")
    return r


def junit_counts(path, tests, failures_):
    args = ["/usr/bin/python3", CHECK_JUNIT, path, "--tests", str(tests), "--failures",
            str(failures_), "--errors", "0", "--schema", XSD]
    j = subprocess.run(args, capture_output=True, text=True)
    return j.returncode == 0, j.stdout + j.stderr


tmp = tempfile.mkdtemp(prefix="agentrig-select-")


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


good = write("good.yaml", "name: good one\ntags: [alpha]\nturns:\n  - send: hi\n")
bad1 = write("bad1.yaml", "name: a\nturns:\n  - send: hi\n    expcet: {}\n")
bad2 = write("bad2.yaml", "name: b\nturns:\n  - send: hi\n"
                          "    expect: {response: [{matches: '(unclosed'}]}\n")
bad_thr = write("bad_thr.yaml", "name: t\nthresholds: {recovery: ['rate >>= 2']}\n"
                                "turns:\n  - send: hi\n")
uses_var = write("uses_var.yaml", "name: uses a variable\ntags: [vars]\nturns:\n"
                                  "  - send: 'Check ${WHAT} costs'\n")
err1 = "bad1.yaml:4:5: unknown key 'expcet'"
err2 = "bad2.yaml:4:"

# --- validate -----------------------------------------------------------------
check(["validate", good], 0, "1 files, 1 scenarios: all valid")
check(["validate", good, bad1, bad2], 2, err1, err2, "2 of 3 files have errors")
jv = os.path.join(tmp, "validate.xml")
check(["validate", "--junit", jv, good, bad1, bad2], 2, err1, err2)
ok, why = junit_counts(jv, 3, 2) if os.path.exists(jv) else (False, "no file")
expect("validate --junit: one testcase per file, 2 failed, valid against junit-10.xsd", ok, why)
check(["validate", tmp + "/nope.yaml", good], 2, "nope.yaml: No such file or directory")
check(["validate", bad_thr], 2, "bad_thr.yaml:2:")
check(["validate"], 2, "agentrig validate: no scenario files or directories given")
check(["validate", SCENARIOS], 0, "all valid")
check(["validate", "--help"], 0, "usage: agentrig validate", "--junit FILE")
r = agentrig(["validate", "--junit", "-", good, bad1])
expect("validate --junit - writes the XML to stdout, the summary to stderr",
       r.returncode == 2 and r.stdout.startswith("<?xml") and "1 of 2 files" in r.stderr,
       r.stdout + r.stderr)

# --- every error, and JUnit, on run / chaos / bench ------------------------------
for mode, junit_name in (("run", "junit.xml"), ("chaos", "chaos-junit.xml"),
                         ("bench", "bench-junit.xml")):
    out = tempfile.mkdtemp(dir=tmp)
    paths = [good, bad1, bad2] if mode != "bench" else [bad1]
    args = [mode, "-o", out] + (["--grep", "."] if mode == "bench" else []) + paths
    check(args, 2, *([err1, err2] if mode != "bench" else [err1]))
    path = os.path.join(out, junit_name)
    ok, why = junit_counts(path, 2 if mode != "bench" else 1, 2 if mode != "bench" else 1) \
        if os.path.exists(path) else (False, f"{path} was not written")
    expect(f"{mode} on a configuration error writes {junit_name} of the errors", ok, why)

# --- list ----------------------------------------------------------------------
r = check(["list", SCENARIOS], 0, "simple request", "tags: gate,simple", "turns: 1",
          "faults: tool_failure(cost_db)", "disconnect@turn1")


def json_or_none(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


items = json_or_none(agentrig(["list", "--json", SCENARIOS]).stdout)
expect("list: one line per scenario, as many as --json lists",
       items is not None and len(r.stdout.splitlines()) == len(items) > 5, r.stdout)
r = agentrig(["list", "--json", "--tag", "faults", "--grep", "with retry", SCENARIOS])
items = json_or_none(r.stdout)
expect("list --json --tag faults --grep 'with retry'", r.returncode == 0 and items is not None and
       [i["name"] for i in items] == ["tool failure with retry"] and items[0]["turns"] == 1 and
       items[0]["tags"] == ["faults"] and items[0]["faults"] == [{"type": "tool_failure",
                                                                  "subject": "cost_db"}] and
       items[0]["file"].endswith("tool_failure_retry.yaml"), r.stdout + r.stderr)
check(["list", good, bad1, bad2], 2, err1, err2)
check(["list", "--grep", "(x", SCENARIOS], 2, "--grep: invalid regex '(x'")
check(["list", "--help"], 0, "usage: agentrig list", "--json", "--tag TAG", "--grep REGEX")

# --- --grep and --tag on every mode ----------------------------------------------
for mode in ("run", "chaos", "bench"):
    check([mode, "--help"], 0, "--tag TAG", "--grep REGEX", "--var NAME=VALUE", "--env-file FILE")
    check([mode, "--grep", "(x", SIMPLE], 2, f"agentrig {mode}: --grep: invalid regex '(x'")
out = tempfile.mkdtemp(dir=tmp)
check(["run", "-q", "-o", out, "--refagent-arg=--think-ms=0", "--grep", "^simple", SCENARIOS], 0)
rep = json_or_none(open(os.path.join(out, "report.json")).read()) \
    if os.path.exists(os.path.join(out, "report.json")) else None
names = [s["scenario"] for s in rep["sessions"]] if rep else None
expect("run --grep ^simple runs only 'simple request'", names == ["simple request"], str(names))
check(["run", "--grep", "no such name", SCENARIOS], 2, "no scenario matches the given --grep")
check(["chaos", "--tag", "nothing-has-this", FAULTS], 2,
      "agentrig chaos: no fault scenario matches the given --tag")
out = tempfile.mkdtemp(dir=tmp)
r = check(["chaos", "-o", out, "--trials", "1", "--grep", "with retry", FAULTS], 0)
rep = json_or_none(open(os.path.join(out, "chaos.json")).read()) \
    if os.path.exists(os.path.join(out, "chaos.json")) else None
expect("chaos --grep picks one fault scenario",
       "tool failure with retry" in json.dumps(rep) and "slow reader" not in json.dumps(rep),
       json.dumps(rep)[:400])
check(["bench", "--tag", "nothing-has-this", SIMPLE], 2,
      "agentrig bench: no scenario matches the given --tag")
check(["bench", "--grep", "simple", SCENARIOS], 2, "2 scenarios match the given --grep")
out = tempfile.mkdtemp(dir=tmp)
check(["bench", "-q", "-o", out, "--duration", "1s", "--vus", "1", "--tag", "perf",
       "--grep", "simple", SCENARIOS], 0)
bench = json_or_none(open(os.path.join(out, "bench.json")).read()) \
    if os.path.exists(os.path.join(out, "bench.json")) else None
expect("bench --tag perf --grep simple runs the perf scenario",
       "perf simple request" in json.dumps(bench), json.dumps(bench)[:300])

# --- --var and --env-file ---------------------------------------------------------


def run_var(args, env=None):
    out = tempfile.mkdtemp(dir=tmp)
    r = agentrig(["run", "-q", "-o", out, "--refagent-arg=--think-ms=0"] + args + [uses_var], env)
    text = ""
    tdir = os.path.join(out, "transcripts")
    for name in os.listdir(tdir) if os.path.isdir(tdir) else []:
        text += open(os.path.join(tdir, name)).read()
    if os.path.exists(os.path.join(out, "report.json")):
        text += open(os.path.join(out, "report.json")).read()
    return r, text


r, text = run_var([])
expect("without --var an undefined ${WHAT} fails the turn",
       r.returncode == 1 and "undefined variable 'WHAT'" in text, r.stdout + r.stderr)
r, text = run_var(["--var", "WHAT=gpu"])
expect("--var WHAT=gpu is sent", r.returncode == 0 and "Check gpu costs" in text,
       r.stdout + r.stderr)
r, text = run_var(["--var", "WHAT=cli"], env=dict(ENV, WHAT="env"))
expect("--var wins over the environment", r.returncode == 0 and "Check cli costs" in text,
       r.stdout + r.stderr)
envf = write("vars.env", "# a comment\n\nexport OTHER=1\nWHAT=\"from file\"\n")
r, text = run_var(["--env-file", envf])
expect("--env-file sets a variable (quotes removed, # comments, export)",
       r.returncode == 0 and "Check from file costs" in text, r.stdout + r.stderr)
r, text = run_var(["--var", "WHAT=cli", "--env-file", envf], env=dict(ENV, WHAT="env"))
expect("--var wins over --env-file, which wins over the environment",
       r.returncode == 0 and "Check cli costs" in text, r.stdout + r.stderr)
r, text = run_var(["--env-file", envf], env=dict(ENV, WHAT="env"))
expect("--env-file wins over the environment",
       r.returncode == 0 and "Check from file costs" in text, r.stdout + r.stderr)
check(["run", "--var", "WHAT", SIMPLE], 2, "agentrig run: --var takes NAME=VALUE (got 'WHAT')")
check(["chaos", "--var", "1X=y", FAULTS], 2, "--var: '1X' is not a variable name")
check(["bench", "--env-file", tmp + "/missing.env", SIMPLE], 2,
      "agentrig bench: --env-file: " + tmp + "/missing.env: No such file or directory")
badenv = write("bad.env", "OK=1\n\nthis line is wrong\n")
check(["run", "--env-file", badenv, SIMPLE], 2,
      badenv + ":3: expected NAME=VALUE (got 'this line is wrong')")
badname = write("badname.env", "# x\nBAD-NAME=1\n")
check(["run", "--env-file", badname, SIMPLE], 2, badname + ":2: 'BAD-NAME' is not a variable name")

# --- live progress ------------------------------------------------------------------
out = tempfile.mkdtemp(dir=tmp)
failing = write("failing.yaml", "name: wants a word never said\nturns:\n  - send: hi\n"
                                "    expect: {response: [{matches: 'xyzzy-never'}]}\n")
r = agentrig(["run", "--no-color", "-o", out, "--refagent-arg=--think-ms=0", SIMPLE, failing])
lines = r.stderr.splitlines()
expect("run: a result line per session on stderr (not a TTY: plain lines)",
       r.returncode == 1 and any(l.startswith("PASS  simple request (") for l in lines)
       and any(l.startswith("FAIL  wants a word never said (") and "xyzzy-never" in l
               for l in lines)
       and "\r" not in r.stderr and "\x1b[" not in r.stderr, r.stderr)
expect("run: stdout keeps the final summary alone",
       "2 sessions: 1 passed, 1 failed" in r.stdout and "PASS  simple request (" not in r.stdout,
       r.stdout)
r = agentrig(["run", "-q", "-o", out, "--refagent-arg=--think-ms=0", SIMPLE])
expect("run --quiet: no progress", r.returncode == 0 and "simple request" not in r.stderr
       and "[1/1]" not in r.stderr and r.stdout == "", r.stdout + r.stderr)
out = tempfile.mkdtemp(dir=tmp)
r = agentrig(["chaos", "--no-color", "-o", out, "--trials", "2", "--grep", "with retry", FAULTS])
expect("chaos: a line per trial on stderr",
       r.returncode == 0 and r.stderr.count("RECOVERED     tool_failure tool failure with retry #")
       == 2, r.stderr)
r = agentrig(["chaos", "-q", "-o", out, "--trials", "1", "--grep", "with retry", FAULTS])
expect("chaos --quiet: no progress", r.returncode == 0 and "RECOVERED" not in r.stderr,
       r.stderr)


def on_tty(args):
    """Runs agentrig with stderr on a pseudo-terminal; returns (exit, stderr bytes)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([AGENTRIG] + args, stdout=subprocess.DEVNULL, stderr=slave,
                         env=dict(ENV, TERM="xterm"))
    os.close(slave)
    data = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    return p.wait(timeout=60), data.decode(errors="replace")


out = tempfile.mkdtemp(dir=tmp)
code, err = on_tty(["run", "-o", out, "--refagent-arg=--think-ms=0", SIMPLE, failing])
expect("run on a TTY: a status line redrawn in place, [done/total] failed elapsed",
       code == 1 and "\r\x1b[K[2/2] 1 failed " in err and "PASS  simple request (" in err,
       repr(err))

print(f"{total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
