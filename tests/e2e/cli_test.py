#!/usr/bin/python3
"""The CLI's own contract: usage errors are exit 2 with a message that says
what is wrong, --help is exit 0, and SIGINT mid-run is exit 130 with every
report still written and marked interrupted."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENTRIG, REFAGENT = sys.argv[1], sys.argv[2]
failures = 0
total = 0


def check(args, code, *needles, env=None):
    global failures, total
    total += 1
    r = subprocess.run([AGENTRIG] + args, capture_output=True, text=True, timeout=60, env=env)
    out = r.stdout + r.stderr
    ok = r.returncode == code and all(n in out for n in needles)
    print(("ok  " if ok else "FAIL") + f" agentrig {' '.join(args)} -> {r.returncode}")
    if not ok:
        print(f"     expected exit {code} and {needles!r}; got:\n{out}")
        failures += 1


simple = os.path.join(HERE, "..", "..", "scenarios", "simple_request.yaml")
check([], 2, "usage: agentrig <command>")
check(["frobnicate"], 2, "unknown command 'frobnicate'")
check(["bench", "x.yaml"], 2, "x.yaml: No such file or directory")
check(["bench", "--rate", "0", simple], 2, "--rate must be arrivals per second above 0")
check(["bench", "--duration", "-1s", simple], 2, "--duration must be a positive duration")
check(["bench", "--threshold", "turn_durration=p(95)<1s", simple], 2,
      "unknown metric 'turn_durration' (valid: session_duration,")
check(["version"], 0, "agentrig 0.")
check(["help"], 0, "run PATH...")
check(["run", "--help"], 0, "usage: agentrig run [options] PATH...", "--target URL", "--jobs N")
check(["run"], 2, "agentrig run: no scenario files or directories given")
check(["run", "--jobs", "0", simple], 2, "--jobs must be a whole number from 1 to 256 (got '0')")
check(["run", "--jobs", "many", simple], 2, "--jobs must be a whole number")
check(["run", "--bogus", simple], 2, "unknown option '--bogus'")
check(["run", simple, "--target"], 2, "option '--target' needs a value")
check(["run", "/no/such/dir"], 2, "/no/such/dir: No such file or directory")
check(["run", "--tag", "nothing-has-this", simple], 2, "no scenario matches the given --tag")
check(["run", "--target", "http://127.0.0.1:1/ws", simple], 2,
      "'http://127.0.0.1:1/ws' is not a WebSocket URL")
env = dict(os.environ, AGENTRIG_REFAGENT="/no/such/refagent")
with tempfile.TemporaryDirectory() as out:
    check(["run", "-o", out, simple], 3, "could not start the embedded refagent", env=env)

# SIGINT in the middle of a turn that never ends: exit 130, reports written.
bs = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "badserver.py"), "60"],
                      stdout=subprocess.PIPE, text=True)
url = bs.stdout.readline().split(" ", 1)[1].strip()
try:
    with tempfile.TemporaryDirectory() as out:
        scn = os.path.join(out, "hang.yaml")
        with open(scn, "w") as f:
            f.write(f"name: hangs\ntarget: {url}\ntimeout: 60s\nturns:\n  - send: please hang\n")
        p = subprocess.Popen([AGENTRIG, "run", "-o", out, scn], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        # Interrupt only once the service has the turn, so the test does not
        # depend on how fast agentrig starts (sanitizer builds are slow).
        line = bs.stdout.readline()
        assert line.startswith("received"), line
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=20)
        rep_path = os.path.join(out, "report.json")
        if not os.path.exists(rep_path):
            print(f"agentrig exited {p.returncode} without a report:\n{stdout}{stderr}")
        rep = json.load(open(rep_path))
        ok = (p.returncode == 130 and rep["interrupted"] is True
              and os.path.exists(os.path.join(out, "junit.xml"))
              and "completed: interrupted" in stdout)
        total += 1
        print(("ok  " if ok else "FAIL") + f" SIGINT mid-turn -> {p.returncode}, interrupted={rep['interrupted']}")
        if not ok:
            print(stdout + stderr)
            failures += 1
finally:
    bs.kill()

# More VUs than the open-file limit allows: exit 2 saying how to raise it.
total += 1
r = subprocess.run(["bash", "-c", f"ulimit -Sn 300; ulimit -Hn 300; exec {AGENTRIG} bench --vus 1000 {simple}"],
                   capture_output=True, text=True, timeout=30)
ok = r.returncode == 2 and "raise it first, e.g. `ulimit -n 1064`" in r.stderr
print(("ok  " if ok else "FAIL") + f" bench --vus over the open-file limit -> {r.returncode}")
if not ok:
    print(r.stderr)
failures += not ok

# bench: SIGINT stops starting sessions, drains, writes the report (130); a
# target that dies mid-run fails sessions as "disconnected"/"connect" and the
# run goes on to write its report.
three = os.path.join(out_dir := tempfile.mkdtemp(), "b.yaml")
with open(three, "w") as f:
    f.write("name: b\ntimeout: 5s\nturns:\n  - send: hello\n  - send: 'What does it cost?'\n")
p = subprocess.Popen([AGENTRIG, "bench", "-q", "-o", out_dir, "--vus", "4", "--duration", "30s",
                      "--refagent", REFAGENT, three], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True)
time.sleep(1.5)
p.send_signal(signal.SIGINT)
p.communicate(timeout=20)
rep = json.load(open(os.path.join(out_dir, "bench.json")))
total += 1
ok = p.returncode == 130 and rep["interrupted"] is True and rep["counters"]["sessions_completed"] > 0
print(("ok  " if ok else "FAIL") + f" bench SIGINT -> {p.returncode}, interrupted={rep['interrupted']}")
failures += not ok

ref = subprocess.Popen([REFAGENT, "--port", "0", "--think-ms", "0"], stdout=subprocess.PIPE, text=True)
url = next(l for l in ref.stdout if l.startswith("listening ")).split(" ", 1)[1].strip()
p = subprocess.Popen([AGENTRIG, "bench", "-q", "-o", out_dir, "--vus", "4", "--duration", "3s",
                      "--target", url, three], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
ref.kill()
p.communicate(timeout=30)
rep = json.load(open(os.path.join(out_dir, "bench.json")))
fb = rep["counters"]["failed_by"]
total += 1
ok = (p.returncode == 0 and rep["counters"]["sessions_completed"] > 0
      and fb["disconnected"] + fb["connect"] > 0)
print(("ok  " if ok else "FAIL") + f" bench target dies mid-run -> {p.returncode}, failed_by={fb}")
failures += not ok

# agentrig killed outright (SIGKILL: a CI timeout, the OOM killer) cannot stop
# its embedded refagent; the refagent must not outlive it holding a port.
def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


p = subprocess.Popen([AGENTRIG, "bench", "-q", "-o", out_dir, "--vus", "2", "--duration", "30s",
                      "--refagent", REFAGENT, three], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
kids = []
for _ in range(100):
    time.sleep(0.05)
    kids = children(p.pid)
    if kids:
        break
p.kill()
p.wait(timeout=10)
for _ in range(100):
    if not any(alive(k) for k in kids):
        break
    time.sleep(0.05)
total += 1
ok = bool(kids) and not any(alive(k) for k in kids)
print(("ok  " if ok else "FAIL") + f" SIGKILLed agentrig leaves no refagent behind (children {kids})")
failures += not ok
for k in kids:
    try:
        os.kill(k, signal.SIGKILL)
    except OSError:
        pass

# No --target and no refagent to be found: exit 3 and how to point at one;
# an explicit --refagent that does not exist: exit 3 naming it.
faults_dir = os.path.join(HERE, "..", "..", "scenarios", "faults")
lone = os.path.join(tempfile.mkdtemp(), "agentrig")
with open(AGENTRIG, "rb") as src, open(lone, "wb") as dst:
    dst.write(src.read())
os.chmod(lone, 0o755)
no_ref_env = {k: v for k, v in os.environ.items() if k != "AGENTRIG_REFAGENT"}
for mode, path in (("run", simple), ("bench", simple), ("chaos", faults_dir)):
    out = tempfile.mkdtemp()
    total += 1
    r = subprocess.run([lone, mode, "-q", "-o", out, path], capture_output=True, text=True,
                       timeout=60, env=no_ref_env)
    want = (f"agentrig {mode}: the embedded refagent was not found beside agentrig "
            "(set --refagent or AGENTRIG_REFAGENT, or give --target)")
    ok = r.returncode == 3 and want in r.stderr
    print(("ok  " if ok else "FAIL") + f" {mode} with no refagent -> {r.returncode}")
    if not ok:
        print(f"     expected exit 3 and {want!r}; got:\n{r.stderr}")
    failures += not ok
    check([mode, "-q", "-o", out, "--refagent", "/nonexistent/refagent", path], 3,
          "could not run refagent (/nonexistent/refagent): No such file or directory")

# bench passes every --refagent-arg through, however many, and the last wins:
# 70 x --think-ms=0 then --think-ms=50 makes sessions slow enough that two
# VUs cannot take 400 arrivals a second.
out = tempfile.mkdtemp()
many = ["--refagent-arg=--think-ms=0"] * 70 + ["--refagent-arg=--think-ms=50"]
r = subprocess.run([AGENTRIG, "bench", "-q", "-o", out, "--rate", "400/s", "--duration", "1s",
                    "--max-vus", "2", "--refagent", REFAGENT] + many + [three],
                   capture_output=True, text=True, timeout=60)
rep = json.load(open(os.path.join(out, "bench.json")))
total += 1
ok = r.returncode == 0 and rep["counters"]["dropped"] > 300
print(("ok  " if ok else "FAIL") + f" bench with 71 --refagent-arg -> {r.returncode},"
      f" dropped={rep['counters']['dropped']}")
failures += not ok

# "-" means standard output for every report, and stdout then holds the report
# alone: the summary goes to stderr. A FIFO, or a symlink to one (what
# /dev/stdout is when stdout is a pipe), is written in place, never renamed
# over: `--report /dev/stdout` as root used to replace the /dev/stdout link
# with a regular file. Run in a temp dir; the real /dev/stdout is not touched.
import stat
import threading

AGENTRIG, REFAGENT = os.path.abspath(AGENTRIG), os.path.abspath(REFAGENT)  # some run in out/
env = dict(os.environ, AGENTRIG_REFAGENT=REFAGENT)
ref_args = ["--refagent-arg=--think-ms=0"]


def ok_line(ok, what, detail=""):
    global failures, total
    total += 1
    print(("ok  " if ok else "FAIL") + " " + what)
    if not ok:
        print(detail)
        failures += 1


for mode, opt, extra in (("run", "--report", []), ("bench", "--json", ["--vus", "1", "--duration", "1s"]),
                         ("chaos", "--report", ["--trials", "1", "--seed", "1"])):
    path = simple if mode != "chaos" else os.path.join(HERE, "..", "..", "scenarios", "faults",
                                                       "tool_failure_retry.yaml")
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([AGENTRIG, mode, "-o", out, "--no-color", opt, "-"] + extra
                           + (ref_args if mode != "bench" else ["--refagent", REFAGENT]) + [path],
                           capture_output=True, text=True, timeout=120, env=env, cwd=out)
        try:
            doc = json.loads(r.stdout)
            parsed = doc.get("mode") == mode
        except ValueError as e:
            parsed = False
        ok_line(r.returncode == 0 and parsed and not os.path.exists(os.path.join(out, "-")),
                f"{mode} {opt} - -> {r.returncode}, stdout is one JSON document",
                f"stdout:\n{r.stdout[:2000]}\nstderr:\n{r.stderr[-2000:]}")
        # The summary was not dropped, only moved.
        want = {"run": "1 session: 1 passed", "bench": "sessions:", "chaos": "trials each"}[mode]
        ok_line(want in r.stderr, f"{mode} {opt} -: the summary is on stderr", r.stderr[-2000:])

with tempfile.TemporaryDirectory() as out:
    r = subprocess.run([AGENTRIG, "run", "-o", out, "--no-color", "--junit", "-"] + ref_args
                       + [simple], capture_output=True, text=True, timeout=60, env=env)
    ok_line(r.returncode == 0 and r.stdout.startswith("<?xml") and
            r.stdout.rstrip().endswith("</testsuites>"),
            f"run --junit - -> {r.returncode}, stdout is the JUnit file", r.stdout + r.stderr)


def read_fifo_while(cmd, fifo, link=None):
    """Runs cmd while a thread reads fifo to EOF. The test holds the FIFO open
    read-write meanwhile, so a writer that renamed a file over the FIFO
    instead of writing into it makes this return nothing rather than hang."""
    keep = os.open(fifo, os.O_RDWR)
    rfd = os.open(fifo, os.O_RDONLY)
    got = []

    def reader():
        chunks = []
        while True:
            b = os.read(rfd, 65536)
            if not b:
                break
            chunks.append(b)
        got.append(b"".join(chunks).decode("utf-8", "replace"))

    t = threading.Thread(target=reader)
    t.start()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    os.close(keep)
    t.join(10)
    os.close(rfd)
    return r, got[0] if got else ""


with tempfile.TemporaryDirectory() as out:
    fifo = os.path.join(out, "junit.fifo")
    os.mkfifo(fifo)
    link = os.path.join(out, "stdout")  # like /dev/stdout -> /proc/self/fd/1 -> pipe
    os.symlink(fifo, link)
    for target, what in ((fifo, "a FIFO"), (link, "a symlink to a FIFO")):
        r, text = read_fifo_while([AGENTRIG, "run", "-o", out, "-q", "--junit", target] + ref_args
                                  + [simple], fifo)
        still = stat.S_ISFIFO(os.lstat(fifo).st_mode) and (
            target != link or stat.S_ISLNK(os.lstat(link).st_mode))
        ok_line(r.returncode == 0 and still and "</testsuites>" in text
                and not os.path.exists(target + ".tmp"),
                f"run --junit {what} -> {r.returncode}: written in place, still {what}",
                f"read {len(text)} bytes; stderr:\n{r.stderr}")
    r, text = read_fifo_while([AGENTRIG, "bench", "-q", "-o", out, "--vus", "1", "--duration", "1s",
                               "--refagent", REFAGENT, "--json", fifo, simple], fifo)
    ok_line(r.returncode == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
            and json.loads(text or "null") is not None,
            f"bench --json FIFO -> {r.returncode}: written in place", r.stderr)

print(f"{total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
