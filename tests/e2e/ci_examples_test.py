#!/usr/bin/python3
"""docs/ci.md's CI jobs are real: docs/examples/github-actions.yml and
gitlab-ci.yml parse as YAML, publish results/junit.xml (GitHub: an action that
reads JUnit; GitLab: artifacts:reports:junit) and upload results/ even when the
run fails, docs/ci.md shows them verbatim, and every `agentrig run ...` line in
them, run exactly as written (sh -c, AGENT_URL pointing at a refagent), exits 0
and writes a results/junit.xml that check_junit.py accepts.

usage: ci_examples_test.py AGENTRIG REFAGENT"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

AGENTRIG, REFAGENT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "docs", "examples")
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


try:
    import yaml
except ImportError:  # Debian's python3-yaml; without it, a minimal shape check
    yaml = None


def load(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    if yaml is None:
        ok = "\t" not in text and all(
            not ln.strip() or ln.lstrip().startswith("#") or ":" in ln or ln.lstrip()[:2] == "- "
            or ln.startswith(" ") for ln in text.splitlines())
        expect(f"{name}: looks like YAML (python3-yaml not installed)", ok)
        return text, None
    try:
        doc = yaml.safe_load(text)
        expect(f"{name} parses as YAML", isinstance(doc, dict))
        return text, doc
    except yaml.YAMLError as e:
        expect(f"{name} parses as YAML", False, e)
        return text, None


def commands(node):
    """Every shell line of a run:/script: in the document."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("run", "script", "before_script") and isinstance(v, str):
                out += v.splitlines()
            elif k in ("script", "before_script") and isinstance(v, list):
                out += [x for x in v if isinstance(x, str)]
            else:
                out += commands(v)
    elif isinstance(node, list):
        for v in node:
            out += commands(v)
    return [ln.strip() for ln in out if ln.strip()]


gh_text, gh = load("github-actions.yml")
gl_text, gl = load("gitlab-ci.yml")

if gh is not None:
    jobs = gh.get("jobs", {})
    steps = [s for j in jobs.values() for s in j.get("steps", [])]
    junit = [s for s in steps if re.search(r"junit|test-reporter", str(s.get("uses", "")), re.I)]
    expect("github: a step publishes results/junit.xml with a JUnit-reading action, if: always()",
           any("results/junit.xml" in str(s.get("with", {})) and "always()" in str(s.get("if"))
               for s in junit), junit)
    up = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    expect("github: upload-artifact keeps results/, if: always()",
           any(s.get("with", {}).get("path") == "results/" and "always()" in str(s.get("if"))
               for s in up), up)
    expect("github: the workflow runs on push and pull_request",
           set(gh.get(True, gh.get("on", [])) or []) >= {"push", "pull_request"})
if gl is not None:
    job = gl.get("agentrig", {})
    art = job.get("artifacts", {})
    expect("gitlab: artifacts:reports:junit is results/junit.xml",
           art.get("reports", {}).get("junit") == "results/junit.xml", art)
    expect("gitlab: artifacts keep results/ when: always",
           "results/" in art.get("paths", []) and art.get("when") == "always", art)

# docs/ci.md shows both files verbatim.
with open(os.path.join(REPO, "docs", "ci.md")) as f:
    ci_md = f.read()
blocks = re.findall(r"```yaml\n(.*?)```", ci_md, re.S)
expect("docs/ci.md shows github-actions.yml verbatim", gh_text in blocks)
expect("docs/ci.md shows gitlab-ci.yml verbatim", gl_text in blocks)
for needle in ["exit", "130", "artifacts:reports:junit", "upload-artifact"]:
    expect(f"docs/ci.md mentions {needle}", needle in ci_md)

# The agentrig command lines, run exactly as written.
lines = []
for name, doc, text in [("github-actions.yml", gh, gh_text), ("gitlab-ci.yml", gl, gl_text)]:
    cmds = commands(doc) if doc is not None else [
        re.sub(r"^\s*(- |run: )", "", ln) for ln in text.splitlines() if "agentrig run" in ln]
    runs = [c for c in cmds if c.startswith("agentrig run")]
    expect(f"{name}: has an `agentrig run` command line", len(runs) >= 1, cmds)
    builds = [c for c in cmds if "cmake --install" in c or "make install" in c]
    expect(f"{name}: installs agentrig (cmake --install or make install)", builds, cmds)
    lines += [(name, c) for c in runs]

ref = subprocess.Popen([REFAGENT, "--port", "0"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
try:
    url, seen = "", []
    for _ in range(10):
        line = ref.stdout.readline().strip()
        seen.append(line)
        if line.startswith("listening "):
            url = line.split()[1]
            break
    expect("refagent started", url.startswith("ws://"), seen)
    for name, cmd in lines:
        with tempfile.TemporaryDirectory() as work:
            # The repository's scenarios as a service's own would be, less
            # faults/: with --target those need proxy: (docs/faults.md).
            shutil.copytree(os.path.join(REPO, "scenarios"), os.path.join(work, "scenarios"),
                            ignore=shutil.ignore_patterns("faults"))
            env = dict(os.environ, AGENT_URL=url,
                       PATH=os.path.dirname(AGENTRIG) + os.pathsep + os.environ.get("PATH", ""))
            env.pop("AGENTRIG_REFAGENT", None)
            r = subprocess.run(["sh", "-c", cmd], cwd=work, env=env, capture_output=True,
                               text=True, timeout=240)
            expect(f"{name}: `{cmd}` exits 0 against refagent", r.returncode == 0,
                   f"exit {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
            junit = os.path.join(work, "results", "junit.xml")
            c = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "tests/tools/check_junit.py"),
                                junit, "--failures", "0", "--errors", "0", "--schema",
                                os.path.join(REPO, "tests/tools/junit-10.xsd")],
                               capture_output=True, text=True, timeout=60)
            expect(f"{name}: results/junit.xml is there for the publishing step and valid",
                   c.returncode == 0, c.stdout + c.stderr)
finally:
    ref.terminate()
    ref.wait(timeout=10)

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
