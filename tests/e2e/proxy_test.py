#!/usr/bin/python3
"""`agentrig proxy` on its own, driven with the real curl binary: an injected
status reaches the client, an uninjected request is forwarded byte for byte
(status and body), a delay rule delays, a dead upstream is a 502 that says
why, every request is logged as a JSON line, and a bad rules file is exit 2
with file:line:col."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
failures = total = 0


def check(name, ok, detail=""):
    global failures, total
    total += 1
    print(("ok  " if ok else "FAIL") + " " + name + ("" if ok else f"\n     {detail}"))
    if not ok:
        failures += 1


def start(cmd, prefix):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith(prefix):
        p.kill()
        sys.exit(f"FAIL: {cmd[0]} printed {line!r}, expected {prefix!r}...")
    return p, line.split()[1 if prefix == "deps" else 2]


def curl(url, body='{"scope": "all"}'):
    with tempfile.NamedTemporaryFile() as out:
        t0 = time.monotonic()
        r = subprocess.run(["curl", "-s", "-o", out.name, "-w", "%{http_code}", "-X", "POST",
                            "-H", "Content-Type: application/json", "--data-binary", body,
                            "--max-time", "10", url], capture_output=True, text=True)
        took = time.monotonic() - t0
        return int(r.stdout or 0), open(out.name, "rb").read(), took


deps, deps_url = start([REFAGENT, "--deps-only", "--port", "0"], "deps")
with tempfile.TemporaryDirectory() as tmp:
    rules = os.path.join(tmp, "faults.yaml")
    with open(rules, "w") as f:
        f.write("faults:\n"
                "  - tool_failure: {tool: cost_db, status: 503}\n"
                "rules:\n"
                "  - name: slow_pricing\n"
                "    match: {method: POST, path: '^/tools/pricing'}\n"
                "    delay: 300ms\n")
    px, px_url = start([AGENTRIG, "proxy", "--upstream", deps_url, "--rules", rules],
                       "proxy listening")
    try:
        st, body, _ = curl(px_url + "/tools/cost_db")
        check("injected status reaches the client", st == 503 and b"injected by agentrig" in body,
              f"status {st}, body {body!r}")
        d_st, d_body, _ = curl(deps_url + "/tools/gpu_inventory",
                               '{"gpu_instances": 20, "spend_usd": 50000}')
        p_st, p_body, _ = curl(px_url + "/tools/gpu_inventory",
                               '{"gpu_instances": 20, "spend_usd": 50000}')
        check("uninjected request forwarded byte for byte",
              d_st == p_st == 200 and d_body == p_body and len(d_body) > 20,
              f"direct {d_st} {d_body!r} vs proxied {p_st} {p_body!r}")
        st, _, took = curl(px_url + "/tools/pricing", '{"gpu_instances": 20}')
        check("delay rule delays, then forwards", st == 200 and took >= 0.28,
              f"status {st} after {took:.3f}s")
    finally:
        px.send_signal(signal.SIGINT)
        out, err = px.communicate(timeout=10)
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check("each request logged as a JSON line",
          any(l.get("action") == "respond" and l.get("status") == 503 for l in lines)
          and any(l.get("action") == "forward" and l["path"] == "/tools/gpu_inventory"
                  for l in lines), out)
    check("SIGINT stops it with exit 0 and a per-rule summary",
          px.returncode == 0 and "rule 0 (slow_pricing): fired 1 times" in err
          and "rule 1 (tool_failure): fired 1 times" in err, f"exit {px.returncode}: {err}")

    # Upstream down: 502 with the reason, promptly.
    px, px_url = start([AGENTRIG, "proxy", "--upstream", "http://127.0.0.1:1", "-q"],
                       "proxy listening")
    st, body, took = curl(px_url + "/tools/cost_db")
    px.send_signal(signal.SIGINT)
    px.communicate(timeout=10)
    check("dead upstream is a 502 saying why", st == 502 and b"refused" in body.lower()
          and took < 5, f"status {st} after {took:.2f}s: {body!r}")

    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("rules:\n  - match: {path: '^/x'}\n    probability: 2\n    status: 500\n")
    r = subprocess.run([AGENTRIG, "proxy", "--upstream", deps_url, "--rules", bad],
                       capture_output=True, text=True, timeout=10)
    check("bad rules file is exit 2 with file:line:col",
          r.returncode == 2 and f"{bad}:2:5: probability must be between 0 and 1 (got 2)" in r.stderr,
          f"exit {r.returncode}: {r.stderr}")
    r = subprocess.run([AGENTRIG, "proxy", "--rules", rules], capture_output=True, text=True)
    check("missing --upstream is a usage error", r.returncode == 2
          and "--upstream URL is required" in r.stderr, r.stderr)
deps.kill()
print(f"{total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
