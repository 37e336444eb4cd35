#!/usr/bin/python3
"""Install: `cmake --install BUILD --prefix P` (with DESTDIR, as packagers run
it) lays out bin/agentrig, libexec/agentrig/refagent, the docs, the man page
and the completions; the installed agentrig finds its refagent by a path
relative to its own executable (no --refagent, no AGENTRIG_REFAGENT); a copied
agentrig with no refagent near it says so clearly; `make install` runs the
same cmake --install with PREFIX (default /usr/local) and DESTDIR.

usage: install_test.py CMAKE BUILD_DIR SOURCE_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile

CMAKE, BUILD, REPO = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


def clean_env():
    env = dict(os.environ)
    env.pop("AGENTRIG_REFAGENT", None)
    return env


with tempfile.TemporaryDirectory() as tmp:
    stage, prefix = os.path.join(tmp, "stage"), "/opt/agentrig-test"
    r = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True,
                       text=True, timeout=120, env=dict(clean_env(), DESTDIR=stage))
    expect("cmake --install with DESTDIR and --prefix exits 0", r.returncode == 0,
           r.stdout + r.stderr)
    root = stage + prefix
    layout = ["bin/agentrig", "libexec/agentrig/refagent", "share/doc/agentrig/README.md",
              "share/doc/agentrig/scenarios.md", "share/doc/agentrig/ci.md",
              "share/man/man1/agentrig.1",
              "share/bash-completion/completions/agentrig",
              "share/zsh/site-functions/_agentrig"]
    for rel in layout:
        expect(f"installed {rel}", os.path.isfile(os.path.join(root, rel)))
    for rel in ["bin/agentrig", "libexec/agentrig/refagent"]:
        expect(f"{rel} is executable", os.access(os.path.join(root, rel), os.X_OK))

    # The installed agentrig, run from a directory that is neither the
    # source nor the build tree, with no hint where refagent is.
    work = os.path.join(tmp, "work")
    shutil.copytree(os.path.join(REPO, "scenarios"), os.path.join(work, "scenarios"))
    agentrig = os.path.join(root, "bin", "agentrig")
    r = subprocess.run([agentrig, "run", "scenarios/simple_request.yaml"], cwd=work,
                       capture_output=True, text=True, timeout=120, env=clean_env())
    expect("installed agentrig run scenarios/simple_request.yaml (no --refagent) exits 0",
           r.returncode == 0, f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    expect("the installed run wrote results/junit.xml",
           os.path.isfile(os.path.join(work, "results", "junit.xml")))

    # The man page shipped is the one the installed binary generates.
    with open(os.path.join(root, "share/man/man1/agentrig.1")) as f:
        shipped = f.read()
    r = subprocess.run([agentrig, "--man"], capture_output=True, text=True, timeout=60)
    expect("installed agentrig.1 is what agentrig --man prints", r.stdout == shipped)

    # A copied binary with no refagent anywhere near it.
    lone_dir = os.path.join(tmp, "lone", "bin")
    os.makedirs(lone_dir)
    lone = os.path.join(lone_dir, "agentrig")
    shutil.copy2(agentrig, lone)
    r = subprocess.run([lone, "run", "scenarios/simple_request.yaml"], cwd=work,
                       capture_output=True, text=True, timeout=60, env=clean_env())
    expect("a copied agentrig with no refagent fails with the not-found message",
           r.returncode != 0 and "refagent was not found" in r.stderr
           and "--refagent" in r.stderr, f"exit {r.returncode}\n{r.stderr}")

    # make install: the same cmake --install, PREFIX defaulting to /usr/local.
    for args, want in [(["PREFIX=/tmp/p"], "--prefix /tmp/p"), ([], "--prefix /usr/local"),
                       (["DESTDIR=/tmp/d", "PREFIX=/usr"], "DESTDIR=/tmp/d cmake --install")]:
        r = subprocess.run(["make", "-n", "-C", REPO, "install", "BUILD=" + BUILD] + args,
                           capture_output=True, text=True, timeout=60)
        line = [ln for ln in r.stdout.splitlines() if "cmake --install" in ln]
        expect(f"make install {' '.join(args)} runs cmake --install ... {want}",
               r.returncode == 0 and line and want in line[-1] and BUILD in line[-1],
               r.stdout + r.stderr)

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
