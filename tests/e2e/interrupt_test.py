#!/usr/bin/python3
"""Interrupts that tell the truth, and runs that own their output.

SIGINT mid-run against a slow refagent (--think-ms=2000):
- run: the sessions that never started are `skipped` in the terminal summary
  ("not run (interrupted)"), report.json ("outcome": "skipped", totals), JUnit
  (<skipped message="not run: interrupted"/>) and their transcripts (header
  and end line say not run); none of them is a PASS.
- chaos: trials the interrupt cut off are listed as interrupted and left out
  of the recovery rates (not counted as failed recoveries); the table never
  says "all recovered"; chaos.json and chaos-junit.xml say interrupted.
- bench: bench-junit.xml carries the interrupted marker.
Then: a second run into the same results directory leaves nothing of the
first (transcripts, junit.xml, refagent.log), while a user's own files and
explicit paths outside the results directory are untouched."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
env = dict(os.environ, AGENTRIG_REFAGENT=REFAGENT)
failures = 0
total = 0


def expect(ok, what, detail=""):
    global failures, total
    total += 1
    print(("ok  " if ok else "FAIL") + " " + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail)[:3000].replace("\n", "\n     "))


def scenario(d, name, timeout="60s", extra=""):
    path = os.path.join(d, name.replace(" ", "_") + ".yaml")
    with open(path, "w") as f:
        f.write(f"name: {name}\ntimeout: {timeout}\nturns:\n"
                f"  - send: 'How can we reduce our GPU spend?'\n{extra}")
    return path


def interrupt_when(args, marker, delay):
    """Starts agentrig, sends SIGINT `delay` s after `marker` shows on
    stderr, and returns (exit code, stdout, stderr)."""
    p = subprocess.Popen([AGENTRIG] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    err_lines = []
    seen = threading.Event()

    def pump():
        for line in p.stderr:
            err_lines.append(line)
            if marker in line:
                seen.set()

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    if not seen.wait(60):
        p.kill()
        return None, p.stdout.read(), "".join(err_lines)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    out = p.stdout.read()
    p.wait(timeout=60)
    t.join(10)
    return p.returncode, out, "".join(err_lines)


def junit_cases(path):
    root = ET.parse(path).getroot()
    cases = []
    for suite in root.iter("testsuite"):
        props = {pr.get("name"): pr.get("value") for pr in suite.iter("property")}
        for tc in suite.iter("testcase"):
            sk = tc.find("skipped")
            cases.append((suite.get("name"), props, tc.get("name"),
                          sk.get("message") if sk is not None else None))
    return root, cases


def test_run(d):
    scns = os.path.join(d, "scn")
    os.makedirs(scns)
    names = ["alpha", "bravo", "charlie", "delta"]
    for n in names:
        scenario(scns, n)
    out = os.path.join(d, "out")
    # -j 1: the first session is in flight when the signal comes, the other
    # three never start.
    rc, stdout, stderr = interrupt_when(
        ["run", "-j", "1", "-o", out, "--refagent", REFAGENT, "--refagent-arg=--think-ms=2000",
         scns], "embedded refagent listening", 1.5)
    expect(rc == 130, f"run: SIGINT mid-run -> exit {rc}", stdout + stderr)
    expect("PASS" not in stdout, "run: no session is shown as PASS", stdout)
    skip_lines = [l for l in stdout.splitlines()
                  if l.startswith("SKIP") and "not run (interrupted)" in l]
    expect(len(skip_lines) == 3, f"run: summary shows 3 sessions not run ({len(skip_lines)})",
           stdout)
    expect("3 sessions not run (interrupted)" in stdout, "run: the totals count them", stdout)

    rep = json.load(open(os.path.join(out, "report.json")))
    outcomes = [s["outcome"] for s in rep["sessions"]]
    expect(rep["interrupted"] is True, "run: report.json interrupted")
    expect(len(outcomes) == 4 and outcomes.count("skipped") == 3 and "pass" not in outcomes,
           f"run: report.json outcomes {outcomes}")
    expect(rep["totals"].get("skipped") == 3 and rep["totals"]["passed"] == 0,
           f"run: report.json totals {rep['totals']}")
    skipped = [s for s in rep["sessions"] if s["outcome"] == "skipped"]
    expect(all(not t["ran"] for s in skipped for t in s["turns"]),
           "run: skipped sessions have no turn that ran")

    root, cases = junit_cases(os.path.join(out, "junit.xml"))
    not_run = [c for c in cases if c[3] == "not run: interrupted"]
    expect(len(not_run) == 3, f"run: junit has 3 <skipped message=\"not run: interrupted\"/> "
           f"({len(not_run)})", open(os.path.join(out, "junit.xml")).read())
    expect(all(c[1].get("interrupted") == "true" for c in cases),
           "run: every junit suite has interrupted=true")

    tdir = os.path.join(out, "transcripts")
    for s in skipped:
        lines = [json.loads(l) for l in open(s["transcript"])]
        head, end = lines[0], lines[-1]
        expect(head.get("not_run") == "interrupted" and end.get("end") is True
               and end.get("outcome") == "skipped" and end.get("not_run") == "interrupted",
               f"run: transcript {os.path.basename(s['transcript'])} says not run", lines)
    expect(len(os.listdir(tdir)) == 4, "run: one transcript per session")


def test_chaos(d):
    scns = os.path.join(d, "chaos")
    os.makedirs(scns)
    scenario(scns, "always failing pricing",
             extra="faults:\n  - tool_failure: {tool: pricing, probability: 1.0}\n")
    out = os.path.join(d, "chaos-out")
    # A trial takes about 10 s at --think-ms=2000 and the fault fires near 8 s,
    # so at 9 s the first trial has seen its fault and not yet answered: cut
    # off, it must not count as a failed recovery.
    rc, stdout, stderr = interrupt_when(
        ["chaos", "-j", "1", "--trials", "6", "-o", out, "--refagent", REFAGENT,
         "--refagent-arg=--think-ms=2000", scns], "agentrig chaos:", 9.0)
    expect(rc == 130, f"chaos: SIGINT mid-run -> exit {rc}", stdout + stderr)
    expect("all recovered" not in stdout, "chaos: the table does not say all recovered", stdout)
    expect("interrupted" in stdout, "chaos: the table says interrupted", stdout)
    rep = json.load(open(os.path.join(out, "chaos.json")))
    t = rep["fault_types"][0]
    expect(rep["interrupted"] is True, "chaos: chaos.json interrupted")
    expect(t.get("interrupted", 0) >= 1 and len(t.get("interrupted_trials", [])) == t["interrupted"],
           f"chaos: cut-off trials listed as interrupted ({t.get('interrupted')}, "
           f"{t.get('interrupted_trials')})", t)
    expect(t["trials"] + t.get("interrupted", 0) + t.get("not_run", 0) == 6,
           "chaos: every trial is counted, interrupted or not run", t)
    expect(len(t["failed_trials"]) == 0 and t["trials"] - t["recovered"] - t["inconclusive"] == 0,
           "chaos: no cut-off trial counts as a failed recovery", t)
    root, cases = junit_cases(os.path.join(out, "chaos-junit.xml"))
    expect(all(c[1].get("interrupted") == "true" for c in cases),
           "chaos: junit suites have interrupted=true")
    expect(any(c[2] == "run interrupted" and c[3] and c[3].startswith("not run: interrupted")
               for c in cases), "chaos: junit has a skipped 'run interrupted' testcase",
           open(os.path.join(out, "chaos-junit.xml")).read())


def test_bench(d):
    scn = scenario(d, "bench me", timeout="10s")
    out = os.path.join(d, "bench-out")
    p = subprocess.Popen([AGENTRIG, "bench", "-q", "-o", out, "--vus", "2", "--duration", "30s",
                          "--refagent", REFAGENT, scn], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    expect(p.returncode == 130, f"bench: SIGINT -> exit {p.returncode}")
    path = os.path.join(out, "bench-junit.xml")
    root, cases = junit_cases(path)
    expect(all(c[1].get("interrupted") == "true" for c in cases) and
           any(c[2] == "run interrupted" and c[3] for c in cases),
           "bench: junit says interrupted", open(path).read())


def test_own_output(d):
    scns = os.path.join(d, "own")
    first, second = os.path.join(scns, "first"), os.path.join(scns, "second")
    os.makedirs(first)
    os.makedirs(second)
    scenario(first, "first one")
    scenario(first, "first two")
    scenario(second, "second only")
    out = os.path.join(d, "own-out")
    mine = os.path.join(out, "notes.txt")
    elsewhere = os.path.join(d, "elsewhere")
    os.makedirs(elsewhere)
    stale_elsewhere = os.path.join(elsewhere, "007-kept.jsonl")
    base = [AGENTRIG, "run", "-q", "-o", out, "--refagent", REFAGENT]
    r = subprocess.run(base + [first], env=env, capture_output=True, text=True, timeout=120)
    expect(r.returncode == 0, f"own: first run -> {r.returncode}", r.stdout + r.stderr)
    for p in (mine, os.path.join(out, "transcripts", "README.md"), stale_elsewhere):
        with open(p, "w") as f:
            f.write("the user's\n")
    with open(os.path.join(out, "refagent.log"), "a") as f:
        f.write("STALE FROM THE FIRST RUN\n")
    r = subprocess.run(base + [second], env=env, capture_output=True, text=True, timeout=120)
    expect(r.returncode == 0, f"own: second run -> {r.returncode}", r.stdout + r.stderr)
    jsonl = sorted(f for f in os.listdir(os.path.join(out, "transcripts")) if f.endswith(".jsonl"))
    expect(jsonl == ["001-second-only.jsonl"], f"own: only the second run's transcripts ({jsonl})")
    junit = open(os.path.join(out, "junit.xml")).read()
    expect("first one" not in junit and "second only" in junit, "own: junit.xml is this run's")
    expect("STALE" not in open(os.path.join(out, "refagent.log")).read(),
           "own: refagent.log is this run's")
    expect(os.path.exists(mine) and os.path.exists(os.path.join(out, "transcripts", "README.md")),
           "own: the user's files in the results directory stay")
    # An explicit --transcripts outside the results directory is the user's.
    r = subprocess.run(base + ["--transcripts", elsewhere, second], env=env, capture_output=True,
                       text=True, timeout=120)
    expect(r.returncode == 0 and os.path.exists(stale_elsewhere),
           "own: an explicit --transcripts directory is never cleaned", r.stdout + r.stderr)
    # chaos: the same for its own outputs.
    cscn = os.path.join(d, "own-chaos")
    os.makedirs(cscn)
    scenario(cscn, "flaky", extra="faults:\n  - tool_failure: {tool: pricing, probability: 1.0}\n")
    stale = os.path.join(out, "chaos-transcripts", "099-old-trial.jsonl")
    os.makedirs(os.path.dirname(stale), exist_ok=True)
    with open(stale, "w") as f:
        f.write("{}\n")
    r = subprocess.run([AGENTRIG, "chaos", "-q", "-o", out, "--trials", "1", "--refagent", REFAGENT,
                        cscn],
                       env=env, capture_output=True, text=True, timeout=120)
    expect(r.returncode in (0, 1) and not os.path.exists(stale),
           f"own: chaos removes an earlier chaos run's transcripts ({r.returncode})",
           r.stdout + r.stderr)


with tempfile.TemporaryDirectory() as d:
    test_run(d)
    test_chaos(d)
    test_bench(d)
    test_own_output(d)
print(f"{total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
