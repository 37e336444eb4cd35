#!/usr/bin/python3
"""A deliberately broken AG-UI-style SSE service for agentrig's tests. The
path says how it breaks (POST with any body):

  /garbage      sends a line that is no SSE field, then a normal run
  /oversize     sends one event of 2 MiB, then a normal run
  /noterminal   sends RUN_STARTED and a text message, then ends the stream
  /error500     answers 500 with a JSON body, no stream
  /html         answers 200 with text/html
  /ok           a normal, tiny run
  /login        {"user": "demo", "password": "s3cret"} -> 200 {"token": <a netra JWT>},
                anything else -> 401 (for http: steps; the JWT is signed with the
                secret tests/e2e/e2e.py gives the netra peer)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from mint_jwt import mint  # noqa: E402


def ev(**kw):
    return ("data: " + json.dumps(kw) + "\n\n").encode()


def run(thread, text):
    yield ev(type="RUN_STARTED", threadId=thread, runId="r1")
    yield ev(type="TEXT_MESSAGE_START", messageId="m1", role="assistant")
    yield ev(type="TEXT_MESSAGE_CONTENT", messageId="m1", delta=text)
    yield ev(type="TEXT_MESSAGE_END", messageId="m1")
    yield ev(type="RUN_FINISHED", threadId=thread, runId="r1")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        thread = body.get("threadId", "t")
        path = self.path
        if path == "/login":
            good = body.get("user") == "demo" and body.get("password") == "s3cret"
            b = json.dumps({"token": mint("agentrig-e2e-secret", 600)} if good
                           else {"error": "bad credentials"}).encode()
            self.send_response(200 if good else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        if path == "/error500":
            b = b'{"error": "internal failure in the agent"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        if path == "/html":
            b = b"<html>not a stream</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if path == "/garbage":
            self.wfile.write(b"this line is garbage\n\n")
        elif path == "/oversize":
            self.wfile.write(ev(type="TEXT_MESSAGE_CONTENT", messageId="x", delta="x" * (2 << 20)))
        if path == "/noterminal":
            self.wfile.write(ev(type="RUN_STARTED", threadId=thread, runId="r1"))
            self.wfile.write(ev(type="TEXT_MESSAGE_START", messageId="m1", role="assistant"))
            self.wfile.flush()
            time.sleep(0.05)
            self.close_connection = True
            return
        for chunk in run(thread, "all done"):
            self.wfile.write(chunk)
            self.wfile.flush()
        self.close_connection = True


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(f"listening http://127.0.0.1:{srv.server_address[1]}", flush=True)
    threading.Timer(float(sys.argv[1]) if len(sys.argv) > 1 else 300, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
