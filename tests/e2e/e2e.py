#!/usr/bin/python3
"""Runs one end-to-end case: a scenario file whose leading comments say what
`agentrig run` must do with it.

Header lines (at the top of the case file, before the YAML):
  # expect-exit: 1                      the exit code
  # expect-output: text                 must appear in stdout+stderr (repeatable)
  # expect-report: text                 must appear in the JSON report (repeatable)
  # expect-junit: tests=N failures=F errors=E skipped=S   checked with junitparser
                                        (and xmllint against tests/tools/junit-10.xsd)
  # expect-transcript: text             must appear in some session transcript (repeatable)
  # expect-junit-case: NAME             a JUnit testcase of this name exists (repeatable)
  # expect-junit-failed-case: NAME      ... and it failed (repeatable); both need expect-junit.
                                        check_junit.py also reads the file the way GitLab
                                        does (unique names, and for `run` an existing
                                        [[ATTACHMENT|transcript]] on every failed testcase)
  # needs: badserver                    start tests/e2e/badserver.py, export BAD_URL
  # needs: refagent                     start refagent by hand, export REF_URL
  # needs: netra                        start tests/peers/netra_peer.py, export NETRA_URL
                                        and NETRA_TOKEN (a valid JWT)
  # needs: netra-beta17                 the same peer on netra beta-17's wire (--wire beta17);
  #                                     also netra-beta17-fail-tools, netra-beta17-fail-supervisor
  # needs: agui                         start tests/peers/agui/server.mjs, export AGUI_URL
  # needs: agui-broken                  the same with --broken (an out-of-order stream)
  # needs: badsse                       start tests/e2e/badsse.py, export BADSSE_URL
  # needs: langgraph                    start tests/peers/langgraph (the LangGraph Agent Server),
  #                                     export LANGGRAPH_URL and LANGGRAPH_ASSISTANT_ID
  # needs: openai-agents                start tests/peers/openai_agents, export OA_URL
  # needs: <peer>-fail-tools            the same peer with every tool failing (--fail-tools;
  #                                     refagent: its tools URL points at a closed port);
  #                                     peers: netra, agui, langgraph, openai-agents, refagent
  # command: chaos                      the agentrig command (default: run)
  # env: NAME=value                     set after the services start (repeatable)
  # args: --jobs 2                      extra arguments before the paths
  # paths: scenarios/                   run these instead of the case file itself
                                        (paths under scenarios/ or tests/ are taken
                                        relative to the repository)

Everything the case needs is started here and stopped at the end, so each
case is independent and can run in parallel with the others.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def start_server(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=env)
    for _ in range(50):
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("listening "):
            return p, line.split(" ", 1)[1].strip()
    p.kill()
    sys.exit(f"FAIL: {cmd[0]} did not report a listening URL")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentrig", required=True)
    ap.add_argument("--refagent", required=True)
    ap.add_argument("--case", required=True)
    a = ap.parse_args()

    exp_exit, outputs, reports, junit, needs, extra = None, [], [], None, [], []
    transcripts = []
    junit_cases, junit_failed = [], []
    command = "run"
    env_over = {}
    paths = [a.case]
    with open(a.case) as f:
        for line in f:
            if not line.startswith("#"):
                break
            key, _, val = line[1:].strip().partition(":")
            val = val.strip()
            if key == "expect-exit":
                exp_exit = int(val)
            elif key == "expect-output":
                outputs.append(val)
            elif key == "expect-report":
                reports.append(val)
            elif key == "expect-junit":
                junit = dict(kv.split("=") for kv in val.split())
            elif key == "expect-transcript":
                transcripts.append(val)
            elif key == "expect-junit-case":
                junit_cases.append(val)
            elif key == "expect-junit-failed-case":
                junit_failed.append(val)
            elif key == "needs":
                needs.append(val)
            elif key == "args":
                extra += shlex.split(val)
            elif key == "env":
                k, _, v2 = val.partition("=")
                env_over[k.strip()] = v2.strip()
            elif key == "command":
                command = val
            elif key == "paths":
                paths = shlex.split(val)
    if exp_exit is None:
        sys.exit(f"FAIL: {a.case} has no '# expect-exit:' line")

    env = dict(os.environ)
    env["AGENTRIG_REFAGENT"] = a.refagent
    env.pop("NO_COLOR", None)
    procs = []
    try:
        if "badserver" in needs:
            p, url = start_server(["/usr/bin/python3", os.path.join(HERE, "badserver.py"), "120"])
            procs.append(p)
            env["BAD_URL"] = url
        fail = lambda peer: ["--fail-tools"] if peer + "-fail-tools" in needs else []
        if "netra" in needs or "netra-fail-tools" in needs:
            secret = "agentrig-e2e-secret"
            penv = dict(env, NETRA_JWT_SECRET=secret)
            p, url = start_server(["/usr/bin/python3", os.path.join(REPO, "tests/peers/netra_peer.py"),
                                   "--port", "0", "--lifetime", "120"] + fail("netra"), penv)
            procs.append(p)
            env["NETRA_URL"] = url
            sys.path.insert(0, os.path.join(REPO, "tests/peers"))
            from mint_jwt import mint
            env["NETRA_TOKEN"] = mint(secret, 600)
        # The netra peer on netra beta-17's wire (--wire beta17): the same token and URL.
        for flavour, flags in (("netra-beta17", []), ("netra-beta17-fail-tools", ["--fail-tools"]),
                               ("netra-beta17-fail-supervisor", ["--fail-supervisor"])):
            if flavour in needs:
                secret = "agentrig-e2e-secret"
                penv = dict(env, NETRA_JWT_SECRET=secret)
                p, url = start_server(["/usr/bin/python3", os.path.join(REPO, "tests/peers/netra_peer.py"),
                                       "--port", "0", "--lifetime", "120", "--wire", "beta17"] + flags, penv)
                procs.append(p)
                env["NETRA_URL"] = url
                sys.path.insert(0, os.path.join(REPO, "tests/peers"))
                from mint_jwt import mint
                env["NETRA_TOKEN"] = mint(secret, 600)
        for flavour in ("agui", "agui-broken", "agui-fail-tools"):
            if flavour in needs:
                cmd = ["node", os.path.join(REPO, "tests/peers/agui/server.mjs"), "--port", "0",
                       "--lifetime", "120"] + (["--broken"] if flavour == "agui-broken" else []) \
                    + fail("agui")
                p, url = start_server(cmd)
                procs.append(p)
                env["AGUI_URL"] = url
        if "langgraph" in needs or "langgraph-fail-tools" in needs:
            p, url = start_server(["node", os.path.join(REPO, "tests/peers/langgraph/server.mjs"),
                                   "--port", "0", "--lifetime", "150"] + fail("langgraph"))
            procs.append(p)
            env["LANGGRAPH_URL"] = url
            env["LANGGRAPH_ASSISTANT_ID"] = "supervisor"
        if "openai-agents" in needs or "openai-agents-fail-tools" in needs:
            p, url = start_server(["node", os.path.join(REPO, "tests/peers/openai_agents/server.mjs"),
                                   "--port", "0", "--lifetime", "120"] + fail("openai-agents"))
            procs.append(p)
            env["OA_URL"] = url
        if "badsse" in needs:
            p, url = start_server(["/usr/bin/python3", os.path.join(HERE, "badsse.py"), "120"])
            procs.append(p)
            env["BADSSE_URL"] = url
        if "refagent" in needs or "refagent-fail-tools" in needs:
            # Every tool failing: refagent's tools URL is a port nothing listens on.
            broken = ["--tools-url", "http://127.0.0.1:9/"] if "refagent-fail-tools" in needs else []
            p, url = start_server([a.refagent, "--port", "0", "--think-ms", "0"] + broken)
            procs.append(p)
            env["REF_URL"] = url
            env["REF_WSS_URL"] = url.replace("ws://", "wss://", 1)
        env.update(env_over)
        with tempfile.TemporaryDirectory(prefix="agentrig-e2e-") as out:
            def resolve(args):
                def expand(x):
                    for k, v in env.items():
                        x = x.replace("${" + k + "}", v)
                    return x
                args = [expand(x) for x in args]
                return [os.path.join(REPO, x) if x.startswith(("scenarios/", "tests/")) else x
                        for x in args]
            cmd = [a.agentrig, command, "-o", out] + (["--no-color"] if command != "bench" else ["-q"])
            if command == "run":
                cmd.append("--refagent-arg=--think-ms=0")
            cmd += resolve(extra) + resolve(paths)
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
            both = r.stdout + r.stderr
            print("$", " ".join(shlex.quote(c) for c in cmd))
            print(both)
            ok = True
            if r.returncode != exp_exit:
                print(f"FAIL: exit {r.returncode}, expected {exp_exit}")
                ok = False
            for s in outputs:
                if s not in both:
                    print(f"FAIL: output lacks: {s}")
                    ok = False
            chaos = command == "chaos"
            bench = command == "bench"
            rep_path = os.path.join(out, "chaos.json" if chaos else "bench.json" if bench else "report.json")
            if reports or exp_exit in (0, 1, 3) and os.path.exists(rep_path):
                try:
                    # Re-serialised, so cases can say '"version": 1' whatever
                    # the writer's whitespace.
                    rep_text = json.dumps(json.load(open(rep_path)))
                except (OSError, ValueError) as e:
                    print(f"FAIL: report.json unreadable: {e}")
                    ok = False
                    rep_text = ""
                for s in reports:
                    if s not in rep_text:
                        print(f"FAIL: report.json lacks: {s}")
                        ok = False
                # One transcript per session, always (chaos keeps only the
                # transcripts of trials that did not recover).
                if rep_text and not chaos and not bench:
                    n_sessions = len(json.loads(rep_text)["sessions"])
                    tdir = os.path.join(out, "transcripts")
                    n_files = len(os.listdir(tdir)) if os.path.isdir(tdir) else 0
                    if n_files != n_sessions:
                        print(f"FAIL: {n_files} transcripts for {n_sessions} sessions")
                        ok = False
            tdir = os.path.join(out, "chaos-transcripts" if chaos else "transcripts")
            ttext = ""
            if os.path.isdir(tdir):
                for name in sorted(os.listdir(tdir)):
                    for line in open(os.path.join(tdir, name), errors="replace"):
                        ttext += json.dumps(json.loads(line)) + "\n"
            for s in transcripts:
                if s not in ttext:
                    print(f"FAIL: no transcript contains: {s}")
                    ok = False
            # A secret of the scenario's profile never reaches a file.
            if any(n.startswith("netra") for n in needs) and env.get("NETRA_TOKEN"):
                for root, _, files in os.walk(out):
                    for name in files:
                        if env["NETRA_TOKEN"] in open(os.path.join(root, name), errors="replace").read():
                            print(f"FAIL: the secret NETRA_TOKEN appears in {name}")
                            ok = False
                if env["NETRA_TOKEN"] in both:
                    print("FAIL: the secret NETRA_TOKEN appears in the output")
                    ok = False
            if junit:
                args = ["/usr/bin/python3", os.path.join(REPO, "tests/tools/check_junit.py"),
                        os.path.join(out, "chaos-junit.xml" if chaos else "bench-junit.xml" if bench else "junit.xml")]
                for k in ("tests", "failures", "errors", "skipped"):
                    if k in junit:
                        args += [f"--{k}", junit[k]]
                xsd = os.path.join(REPO, "tests", "tools", "junit-10.xsd")
                args += ["--schema", xsd]
                for name in junit_cases:
                    args += ["--case", name]
                for name in junit_failed:
                    args += ["--failed-case", name]
                if command == "run":
                    args.append("--attachments")
                j = subprocess.run(args, capture_output=True, text=True)
                print(j.stdout + j.stderr)
                if j.returncode != 0:
                    print("FAIL: junit check")
                    ok = False
            sys.exit(0 if ok else 1)
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
