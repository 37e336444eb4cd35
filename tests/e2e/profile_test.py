#!/usr/bin/python3
"""A custom profile end to end, against a WebSocket server written on raw
sockets so the test sees exactly what agentrig put on the wire: the query
token and header on the upgrade request, the handshake (agentrig waits for
session_ready, captures the session id, sends hello with it), the turn's
frame from the send template, and keepalive pings while the server makes the
turn wait. The server answers with what it saw; the scenario checks that."""
import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
AGENTRIG = sys.argv[1]
TOKEN = "tok-1234567890"
seen = {}


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def read_frame(c):
    h = recv_exact(c, 2)
    op, ln = h[0] & 0x0F, h[1] & 0x7F
    if ln == 126:
        ln = struct.unpack(">H", recv_exact(c, 2))[0]
    elif ln == 127:
        ln = struct.unpack(">Q", recv_exact(c, 8))[0]
    mask = recv_exact(c, 4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(recv_exact(c, ln)))
    return op, data


def send_frame(c, op, data):
    hdr = bytes([0x80 | op])
    hdr += bytes([len(data)]) if len(data) < 126 else bytes([126]) + struct.pack(">H", len(data))
    c.sendall(hdr + data)


def serve(srv):
    c, _ = srv.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        req += c.recv(4096)
    head = req.decode(errors="replace")
    seen["query_token"] = TOKEN in head.split("\r\n")[0]
    seen["header"] = "x-client: agentrig-e2e" in head.lower()
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("sec-websocket-key")][0]
    acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    c.sendall(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {acc}\r\n\r\n".encode())
    send_frame(c, 1, json.dumps({"kind": "session_ready", "body": {"session": "s-42"}}).encode())
    pings = 0
    hello = None
    while True:
        op, data = read_frame(c)
        if op == 9:  # ping: answer it, count it
            pings += 1
            send_frame(c, 10, data)
            continue
        if op == 8:
            return
        msg = json.loads(data)
        if msg.get("kind") == "hello":
            hello = msg.get("session")
            continue
        if msg.get("kind") == "ask":
            send_frame(c, 1, json.dumps({"kind": "begin", "body": {"session": "s-42"}}).encode())
            c.settimeout(0.2)
            waited = 0.0
            while waited < 2.6:  # make the turn wait; pings should come meanwhile
                try:
                    op, data = read_frame(c)
                    if op == 9:
                        pings += 1
                        send_frame(c, 10, data)
                except socket.timeout:
                    waited += 0.2
            c.settimeout(None)
            text = (f"hello={hello} ask.session={msg.get('session')} text={msg.get('text')} "
                    f"query_token={seen['query_token']} header={seen['header']} pings={pings}")
            send_frame(c, 1, json.dumps({"kind": "answer", "body": {"text": text, "session": "s-42"}}).encode())


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
def serve_quietly(srv):
    try:
        serve(srv)
    except (EOFError, OSError):
        pass  # agentrig closed the connection: the test is over


threading.Thread(target=serve_quietly, args=(srv,), daemon=True).start()
with tempfile.TemporaryDirectory() as out:
    scn = os.path.join(out, "s.yaml")
    with open(scn, "w") as f:
        f.write(f"""name: custom profile
protocol: {os.path.join(HERE, 'profiles', 'handshake.yaml')}
target: ws://127.0.0.1:{port}/chat
timeout: 10s
turns:
  - send: "how are you"
    expect:
      response:
        - matches: 'hello=s-42 ask.session=s-42 text=how are you'
        - matches: 'query_token=True header=True'
        - matches: 'pings=[1-9]'
""")
    r = subprocess.run([AGENTRIG, "run", "-o", out, "--no-color", scn],
                       env=dict(os.environ, HS_TOKEN=TOKEN), capture_output=True, text=True,
                       timeout=60)
    print(r.stdout + r.stderr)
    leaked = any(TOKEN in open(os.path.join(root, n), errors="replace").read()
                 for root, _, files in os.walk(out) for n in files if n != "s.yaml")
    ok = r.returncode == 0 and not leaked
    if leaked:
        print("FAIL: the secret HS_TOKEN appears in a report")
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)
