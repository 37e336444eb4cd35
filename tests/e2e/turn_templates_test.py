#!/usr/bin/python3
"""Per-turn templates and new threads, end to end.

A stateless SSE service addressed by thread in its URL records every request
it gets. A 3-turn scenario whose second turn starts a new thread must send:
turn 1 to /threads/T1 with one message; turn 2 to a different /threads/T2
with ONE message (a new thread is a new conversation: before this was fixed,
${messages} still carried turn 1 and the URL was expanded once per session,
so the "new" thread was the old one); turn 3 to T2 again with turn 2's
exchange plus its own message. The transcript must show what was sent."""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
AGENTRIG = sys.argv[1]
seen = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen.append({"path": self.path, "turn": self.headers.get("X-Turn"),
                     "messages": body["messages"]})
        n = len(body["messages"])
        ev = json.dumps({"type": "done", "text": f"saw {n} message(s)"})
        out = f"data: {ev}\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_address[1]}"

failures = passes = 0


def check(ok, what):
    global failures, passes
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1
    passes += 1 if ok else 0


with tempfile.TemporaryDirectory() as d:
    scn = os.path.join(d, "s.yaml")
    with open(scn, "w") as f:
        f.write(f"""name: new thread is a new conversation
protocol: {HERE}/profiles/thread_url.yaml
target: {url}
timeout: 5s
turns:
  - send: "first thread, first message"
    expect: {{response: [{{matches: 'saw 1 message'}}]}}
  - send: {{message: "second thread", new_thread: true}}
    expect: {{response: [{{matches: 'saw 1 message'}}]}}
  - send: "second thread again"
    expect: {{response: [{{matches: 'saw 3 message'}}]}}
""")
    p = subprocess.run([AGENTRIG, "run", "-q", "-o", d, scn], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"exit 0 (got {p.returncode}: {p.stderr.strip()[-300:]})")
    check(len(seen) == 3, f"3 requests (got {len(seen)})")
    if len(seen) == 3:
        t1, t2, t3 = (s["path"] for s in seen)
        check(t1 != t2, f"turn 2 went to a new thread URL ({t1} -> {t2})")
        check(t2 == t3, f"turn 3 stayed on turn 2's thread ({t3})")
        check([len(s["messages"]) for s in seen] == [1, 1, 3],
              f"history 1, 1, 3 messages (got {[len(s['messages']) for s in seen]})")
        check([s["turn"] for s in seen] == ["1", "2", "3"], "headers expanded per turn")
        check("first thread" not in json.dumps(seen[1]["messages"]),
              "the new thread's request does not carry the old thread's messages")
    tdir = os.path.join(d, "transcripts")
    lines = [json.loads(x) for f in os.listdir(tdir) for x in open(os.path.join(tdir, f))]
    sent = [x for x in lines if x.get("kind") == "sent"]
    check(len(sent) == 3 and all(x.get("type") == "request" for x in sent),
          f"3 'sent' request records in the transcript (got {len(sent)})")
    if sent:
        req = json.loads(sent[1]["raw"])
        check(req["method"] == "POST" and req["url"].endswith(seen[1]["path"]) and
              req["headers"].get("X-Turn") == "2" and len(req["body"]["messages"]) == 1,
              "the sent record says method, URL, headers and body of turn 2")
srv.shutdown()
print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
