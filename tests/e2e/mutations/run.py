#!/usr/bin/python3
"""The no-false-PASS mutation suite: every check must be shown to FAIL on a
realistic wrong stream, not only to pass on a right one.

    /usr/bin/python3 tests/e2e/mutations/run.py --agentrig BIN [-j 3] [--only PROTOCOL]
    /usr/bin/python3 tests/e2e/mutations/run.py --markdown      # prints docs/mutations.md

For each protocol in cases.yaml: replay.py serves streams/<protocol>.jsonl
unmutated and `agentrig run --target URL scenarios/<protocol>.yaml` must exit
0 with every check passed (but the `known:` ones, listed with their reason);
then once per mutation, and agentrig must exit 1 with the named check(s) failed
(in any turn). A case marked `n/a: why` is checked to be really inexpressible
(mutations.py refuses it); `pending: why` is a visible SKIP. Prints a table;
exits 1 if any case is not caught, any baseline fails, or docs/mutations.md
differs from --markdown.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
DOC = os.path.join(REPO, "docs", "mutations.md")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import mutations  # noqa: E402


# cases.yaml is a two-level mapping of scalars (no YAML library needed):
#   protocol:
#     key: value        # '#' starts a comment; values may be quoted
def load_cases(path):
    cases, proto = {}, None
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^([A-Za-z0-9_-]+):\s*$", line)
            if m:
                proto = m.group(1)
                cases[proto] = {}
                continue
            m = re.match(r"^  ([a-z_]+):\s*(.+?)\s*$", line)
            if not m or proto is None:
                sys.exit(f"{path}:{lineno}: expected 'protocol:' or '  key: value'")
            val = m.group(2)
            if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
                val = val[1:-1]
            cases[proto][m.group(1)] = val
    for proto, c in cases.items():
        if c.get("mode") not in ("ws", "sse"):
            sys.exit(f"{path}: {proto}: 'mode' must be ws or sse")
        for k in c:
            if k not in mutations.MUTATIONS and k not in ("mode", "known", "pending"):
                sys.exit(f"{path}: {proto}: unknown key '{k}'")
        for mu in mutations.MUTATIONS:
            if mu not in c and "pending" not in c:
                sys.exit(f"{path}: {proto}: no entry for mutation '{mu}'")
    return cases


def kind(val):
    """('catch', [check, ...], scenario, note) | ('na', why) | ('pending', why).
    'a, b' names two checks: each of them must fail on the mutation."""
    if val.startswith("n/a:"):
        return ("na", val[4:].strip())
    if val.startswith("pending:"):
        return ("pending", val[8:].strip())
    m = re.match(r"^([a-z_.]+(?:\s*,\s*[a-z_.]+)*)(?:\s+in\s+(\S+))?(?:\s+--\s+(.*))?$", val)
    if not m:
        sys.exit(f"cases.yaml: cannot read '{val}'")
    return ("catch", [c.strip() for c in m.group(1).split(",")], m.group(2), m.group(3))


# One run: replay.py with the mutation, agentrig against it.

def run_case(agentrig, proto, mode, mutation, scenario):
    stream = os.path.join(HERE, "streams", f"{proto}.jsonl")
    rep = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "replay.py"), "--mode", mode,
                            "--protocol", proto, "--stream", stream, "--mutation", mutation,
                            "--lifetime", "90"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = rep.stdout.readline()
        if not line.startswith("listening "):
            rep.wait(5)
            return {"error": f"replay.py did not start: {rep.stderr.read().strip()}"}
        url = line.split(" ", 1)[1].strip()
        env = dict(os.environ, MUT_URL=url, NETRA_TOKEN="mutation-suite-token")
        env.pop("NO_COLOR", None)
        with tempfile.TemporaryDirectory(prefix="agentrig-mut-") as out:
            t0 = time.monotonic()
            r = subprocess.run([agentrig, "run", "--no-color", "-o", out, scenario], env=env,
                               capture_output=True, text=True, timeout=120)
            took = time.monotonic() - t0
            res = {"exit": r.returncode, "output": r.stdout + r.stderr, "took": took,
                   "failed": [], "passed": []}
            try:
                rep_json = json.load(open(os.path.join(out, "report.json")))
            except (OSError, ValueError) as e:
                res["error"] = f"no report.json ({e}); agentrig said: {res['output'][-400:]}"
                return res
            for s in rep_json["sessions"]:
                for t in s["turns"]:
                    for c in t["checks"]:
                        (res["passed"] if c["passed"] else res["failed"]).append(
                            (t["index"], c["name"], c["message"]))
            return res
    finally:
        if rep.poll() is None:
            rep.terminate()
            try:
                rep.wait(5)
            except subprocess.TimeoutExpired:
                rep.kill()
                rep.wait()


def scenario_path(proto, override=None):
    return os.path.join(HERE, "scenarios", override or f"{proto}.yaml")


def markdown(cases):
    protos = list(cases)
    out = ["# Which check catches which mutation",
           "",
           "<!-- Generated by `tests/e2e/mutations/run.py --markdown` from",
           "     tests/e2e/mutations/cases.yaml; ctest e2e.mutations fails when this file",
           "     differs from that output. Edit cases.yaml, then regenerate. -->",
           "",
           "agentrig's principle is **no false PASS**: a check counts only once it has been",
           "seen to FAIL on a realistic wrong stream. `tests/e2e/mutations/` proves it per",
           "protocol: `record.py` recorded what a client receives from each peer for the",
           "shared three-turn flow (plus a control turn on a fresh thread) into",
           "`streams/<protocol>.jsonl`; `replay.py` serves a recording again, after one",
           "named mutation; `run.py` runs `agentrig run` on `scenarios/<protocol>.yaml`",
           "against it and requires exit 0 with every check passed on the recording, and",
           "exit 1 with the check named below failed on each mutation (ctest",
           "`e2e.mutations`). A check that is not in a cell has not been shown to",
           "catch anything on that protocol.",
           "",
           "The replay answers like the service would: the recorded thread ids are",
           "replaced by the one agentrig sends, so only a mutation changes what agentrig",
           "sees. Every mutation writes what the protocol's own service writes when the",
           "thing really happens (a failed tool's status and text are the peers'",
           "`--fail-tools` wire); `n/a` means the protocol has no way to say it, and",
           "`mutations.py` refuses to build it (run.py checks the two agree).",
           "Refresh the recordings with `record.py` (needs the peers); the suite itself",
           "needs only `agentrig` and `/usr/bin/python3`.",
           "",
           "| mutation | what the wrong stream does (turn) | " + " | ".join(f"`{p}`" for p in protos)
           + " |",
           "|---|---|" + "---|" * len(protos)]
    what = {
        "drop_tool_result": "a tool's result never comes (2)",
        "tool_status_error": "a tool fails; the wire says so the protocol's way (2)",
        "terminal_early": "the terminal frame comes before the tool frames (2)",
        "event_after_terminal": "a copy of a tool result after the terminal frame (2)",
        "empty_answer": "the final answer is empty (2)",
        "late_previous_run": "turn 2 starts with a frame of turn 1's run (2)",
        "thread_changed": "turn 2's frames carry another thread id (2)",
        "history_resent_on_new_thread": "the fresh-thread control turn is answered with the "
                                        "old thread's figures (4)",
        "args_lost": "the `pricing` call no longer carries the spend of turn 1 (3)",
    }
    notes = []
    for mu in mutations.MUTATIONS:
        cells = []
        for p in protos:
            val = cases[p].get(mu) or "pending: " + cases[p].get("pending", "")
            k = kind(val)
            if k[0] == "catch":
                cell = ", ".join(f"`{c}`" for c in k[1])
                if k[2] or k[3]:
                    notes.append(f"{p}, {mu}: " + (f"run on `scenarios/{k[2]}`" if k[2] else "")
                                 + ("; " if k[2] and k[3] else "") + (k[3] or ""))
                    cell += f" [{len(notes)}]"
            elif k[0] == "na":
                notes.append(f"{p}, {mu}: not expressible: {k[1]}")
                cell = f"n/a [{len(notes)}]"
            else:
                cell = "pending"
            cells.append(cell)
        out.append(f"| `{mu}` | {what[mu]} | " + " | ".join(cells) + " |")
    out.append("")
    for i, n in enumerate(notes, 1):
        out.append(f"[{i}] {n}")
        out.append("")
    pend = [(p, c["pending"]) for p, c in cases.items() if "pending" in c]
    known = [(p, c["known"]) for p, c in cases.items() if "known" in c]
    if pend:
        out.append("**pending**: " + "; ".join(f"`{p}`: {w}" for p, w in pend) + ". The "
                   "recordings and mutations are in place; run.py prints SKIP for these cases "
                   "(and says when the profile starts to load) until the table names their "
                   "checks.")
        out.append("")
    if known:
        out.append("**Known baseline failures** (checks that fail on the right stream, so they "
                   "cannot catch anything yet; run.py shows them as PASS+known and fails when one "
                   "starts passing, so the list stays true):")
        out.append("")
        for p, w in known:
            names, _, why = w.partition("--")
            out.append(f"* `{p}`: " + ", ".join(f"`{x.strip()}`" for x in names.split(","))
                       + f": {why.strip()}")
        out.append("")
    return "\n".join(out)


def known_checks(c):
    """The check names of a protocol's `known:` entry ('a, b -- why')."""
    k = c.get("known")
    if not k:
        return set()
    names = k.split("--", 1)[0]
    return {n.strip() for n in names.split(",") if n.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentrig")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", action="append")
    ap.add_argument("-j", "--jobs", type=int, default=3)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    cases = load_cases(os.path.join(HERE, "cases.yaml"))
    if a.markdown:
        print(markdown(cases))
        return 0
    if not a.agentrig:
        ap.error("--agentrig is required")
    t_start = time.monotonic()
    problems = []

    # The doc is the table.
    doc = markdown(cases) + "\n"
    try:
        on_disk = open(DOC).read()
    except OSError:
        on_disk = ""
    if on_disk != doc:
        problems.append("docs/mutations.md differs from `run.py --markdown` (regenerate it)")

    jobs = []  # (proto, mutation, expectation)
    for proto, c in cases.items():
        if a.only and proto not in a.only:
            continue
        if "pending" in c:
            jobs.append((proto, "none", ("pending", c["pending"])))
            for mu in mutations.MUTATIONS:
                jobs.append((proto, mu, ("pending", c["pending"])))
            continue
        jobs.append((proto, "none", ("baseline",)))
        for mu in mutations.MUTATIONS:
            jobs.append((proto, mu, kind(c[mu])))

    stream_cache = {}

    def expressible(proto, mu):
        if proto not in stream_cache:
            stream_cache[proto] = mutations.load(os.path.join(HERE, "streams", f"{proto}.jsonl"))
        try:
            mutations.apply(stream_cache[proto], proto, mu)
            return None
        except mutations.NotExpressible as e:
            return str(e)

    def do(job):
        proto, mu, exp = job
        c = cases[proto]
        if exp[0] == "pending":
            if mu != "none":
                return job, {"na_check": expressible(proto, mu)}
            # Does the profile load yet? (Then the table should name checks.)
            r = run_case(a.agentrig, proto, c["mode"], "none", scenario_path(proto))
            return job, r
        if exp[0] == "na":
            return job, {"na_check": expressible(proto, mu)}
        if mu != "none" and expressible(proto, mu) is not None:
            return job, {"error": f"mutations.py cannot express it: {expressible(proto, mu)}"}
        override = exp[2] if exp[0] == "catch" else None
        return job, run_case(a.agentrig, proto, c["mode"], mu, scenario_path(proto, override))

    rows = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = list(ex.map(do, jobs))
    for (proto, mu, exp), res in results:
        c = cases[proto]
        if exp[0] == "pending":
            if mu == "none":
                loads = not res.get("error") and res["exit"] != 2
                state = (f"its profile loads now (exit {res['exit']}): name the checks in "
                         "cases.yaml" if loads else "agentrig refuses the scenario (exit 2)")
            else:
                na = res["na_check"]
                state = f"mutation not expressible: {na}" if na else "mutated stream ready"
            rows.append((proto, mu, "SKIP", f"pending: {exp[1]}; {state}"))
            continue
        if exp[0] == "na":
            if res["na_check"] is None:
                rows.append((proto, mu, "BAD", f"cases.yaml says n/a ({exp[1]}) but mutations.py "
                                                "expresses it: name the check that catches it"))
            else:
                rows.append((proto, mu, "n/a", exp[1]))
            continue
        if res.get("error"):
            rows.append((proto, mu, "ERROR", res["error"]))
            continue
        failed = {name for _, name, _ in res["failed"]}
        known = known_checks(c)
        if exp[0] == "baseline":
            unexpected = [f for f in res["failed"] if f[1] not in known]
            fixed = sorted(k for k in known if k not in failed)
            if res["exit"] in (0, 1) and not unexpected and not fixed and \
                    (res["exit"] == 0) == (not failed):
                msg = f"exit {res['exit']}, {len(res['passed'])} checks passed"
                if failed:
                    msg += f", known failing: {', '.join(sorted(failed))}"
                rows.append((proto, "(none)", "PASS" if not failed else "PASS+known", msg))
            else:
                why = "; ".join(f"turn {t}: {m}" for t, _, m in unexpected[:4])
                if fixed:
                    why += f" now passes: {', '.join(fixed)} (remove from known:)"
                rows.append((proto, "(none)", "FAIL",
                             f"baseline: exit {res['exit']}: {why or res['output'][-300:]}"))
            continue
        checks = exp[1]
        hits = {c: [(t, m) for t, n, m in res["failed"] if n == c] for c in checks}
        missed = [c for c in checks if not hits[c]]
        stale = [c for c in checks if c in known]
        if stale and not override_scenario(exp):
            rows.append((proto, mu, "BAD", f"{', '.join(stale)} fails on the right stream too "
                                           "(known:), so it proves nothing here"))
        elif res["exit"] == 1 and not missed:
            rows.append((proto, mu, "caught", "; ".join(
                f"turn {hits[c][0][0]}: {hits[c][0][1]}" for c in checks)))
        else:
            others = sorted(failed - known - set(checks))
            rows.append((proto, mu, "NOT CAUGHT",
                         f"exit {res['exit']}; {', '.join(missed)} did not fail"
                         + (f" (failed instead: {', '.join(others)})" if others else
                            "" if len(missed) < len(checks) else
                            " (no check failed: a false PASS)")))
        if a.verbose:
            for t, n, m in res["failed"]:
                print(f"    {proto} {mu}: turn {t}: {m}")

    w = max(len(r[0]) for r in rows) if rows else 5
    wm = max(len(r[1]) for r in rows) if rows else 8
    print(f"{'protocol':<{w}}  {'mutation':<{wm}}  {'verdict':<10}  detail")
    for proto, mu, verdict, detail in rows:
        detail = detail.replace("\n", " ")
        if len(detail) > 220 and not a.verbose:
            detail = detail[:217] + "..."
        print(f"{proto:<{w}}  {mu:<{wm}}  {verdict:<10}  {detail}")
    bad = [r for r in rows if r[2] in ("FAIL", "NOT CAUGHT", "ERROR", "BAD")]
    for p in problems:
        print(f"FAIL: {p}")
    n = {v: sum(1 for r in rows if r[2] == v) for v in
         ("PASS", "PASS+known", "caught", "n/a", "SKIP", "NOT CAUGHT", "FAIL", "ERROR", "BAD")}
    print(f"mutations: {n['caught']} caught, {n['NOT CAUGHT']} not caught, {n['n/a']} n/a, "
          f"{n['SKIP']} skipped (pending), baselines {n['PASS'] + n['PASS+known']} passed / {n['FAIL']} failed, "
          f"{n['ERROR'] + n['BAD']} errors; {time.monotonic() - t_start:.1f}s")
    return 1 if bad or problems else 0


def override_scenario(exp):
    return exp[0] == "catch" and bool(exp[2])


if __name__ == "__main__":
    sys.exit(main())
