#!/usr/bin/python3
"""Same seed, same decisions: `agentrig chaos` on a probabilistic fault gives
identical counts when run twice with one seed, whatever -j is; a different
seed is allowed to differ. The fault fires with probability 0.3 per call, so
whether a trial's fault fires at all (inconclusive or not) is decided by the
seeded PRNG alone."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
SCN = os.path.join(HERE, "chaos", "coin_flip.yaml")
env = dict(os.environ, AGENTRIG_REFAGENT=REFAGENT)


def counts(seed, jobs):
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([AGENTRIG, "chaos", "-q", "-o", out, "--trials", "20", "--seed",
                            str(seed), "-j", str(jobs), SCN], env=env, capture_output=True,
                           text=True, timeout=240)
        if r.returncode not in (0, 1):
            sys.exit(f"FAIL: agentrig chaos exited {r.returncode}: {r.stderr}")
        rep = json.load(open(os.path.join(out, "chaos.json")))
        return [(t["type"], t["trials"], t["recovered"], t["inconclusive"])
                for t in rep["fault_types"]]


a = counts(7, 1)
b = counts(7, 2)
c = counts(7, 2)
print("seed 7, -j 1:", a)
print("seed 7, -j 2:", b)
print("seed 7, -j 2:", c)
failures = 0
if not (a == b == c):
    print("FAIL: the same seed gave different counts")
    failures += 1
inconclusive = a[0][3]
if not (0 < inconclusive < 20):
    print(f"FAIL: with p=0.3 some but not all trials should fire (inconclusive={inconclusive})")
    failures += 1
print(f"{2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
