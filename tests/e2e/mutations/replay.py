#!/usr/bin/python3
"""Serves a recorded stream, optionally mutated, on 127.0.0.1.

    /usr/bin/python3 replay.py --mode ws|sse --protocol P --stream streams/P.jsonl
                               [--mutation NAME] [--lifetime 60] [--scale 0.05]

ws:  prints `listening ws://127.0.0.1:PORT/ws`; answers the k-th client text
     message with turn k's frames as text frames. k counts over the whole
     process, so a reconnect (a new_thread turn, a client fault) continues
     with the next turn. Any subprotocol the client offers is accepted.
sse: prints `listening http://127.0.0.1:PORT`; answers the k-th POST (any
     path) with 200 text/event-stream, turn k's events written with their
     recorded `event:` and `id:` lines, then ends the chunked body cleanly.

Turns beyond the recording get no answer (ws) or 404 (sse). Each frame waits
its recorded gap times --scale, at most 5 ms: the pacing is kept, shrunk.
The recorded thread ids are replaced by the one in the client's request
(/thread_id, /payload/thread_id, /threadId, or /threads/<id>/ in the URL), as
the service would echo it. Exits by itself after --lifetime seconds.
"""
import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import mutations  # noqa: E402

MAX_GAP_S = 0.005


class Replay:
    def __init__(self, stream, scale):
        self.stream = stream
        self.scale = scale
        self.lock = threading.Lock()
        self.k = 0

    def next_turn(self):
        with self.lock:
            self.k += 1
            return self.k, self.stream.get(self.k)

    def gap(self, fr):
        return min(max(float(fr.get("dt_ms") or 0), 0.0) * self.scale / 1000.0, MAX_GAP_S)

    @staticmethod
    def text(fr, thread):
        d = fr["data"]
        if thread:
            d = d.replace(mutations.THREAD_MAIN, thread).replace(mutations.THREAD_FRESH, thread)
        return d


def client_thread(body, path=""):
    try:
        o = json.loads(body)
    except ValueError:
        o = None
    if isinstance(o, dict):
        for cand in (o.get("thread_id"), (o.get("payload") or {}).get("thread_id")
                     if isinstance(o.get("payload"), dict) else None, o.get("threadId")):
            if isinstance(cand, str) and cand:
                return cand
    m = re.search(r"/threads/([^/?]+)", path or "")
    return m.group(1) if m else None


def serve_ws(rep, lifetime):
    import websockets

    class Proto(websockets.WebSocketServerProtocol):
        def select_subprotocol(self, client_subprotocols, server_subprotocols):
            return client_subprotocols[0] if client_subprotocols else None

    async def handler(ws, path=None):
        try:
            async for msg in ws:
                if not isinstance(msg, str):
                    continue
                k, frames = rep.next_turn()
                if frames is None:
                    continue
                thread = client_thread(msg)
                for fr in frames:
                    await asyncio.sleep(rep.gap(fr))
                    await ws.send(rep.text(fr, thread))
        except websockets.ConnectionClosed:
            pass

    async def main():
        async with websockets.serve(handler, "127.0.0.1", 0, create_protocol=Proto,
                                    max_size=2 ** 21) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"listening ws://127.0.0.1:{port}/ws", flush=True)
            await asyncio.sleep(lifetime)

    asyncio.run(main())


def serve_sse(rep, lifetime):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            k, frames = rep.next_turn()
            if frames is None:
                msg = b'{"error":"no recorded turn"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            thread = client_thread(body, self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for fr in frames:
                    time.sleep(rep.gap(fr))
                    ev = ""
                    if fr.get("event") is not None:
                        ev += f"event: {fr['event']}\n"
                    ev += "".join(f"data: {line}\n" for line in rep.text(fr, thread).split("\n"))
                    if fr.get("id") is not None:
                        ev += f"id: {fr['id']}\n"
                    b = (ev + "\n").encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(f"listening http://127.0.0.1:{srv.server_address[1]}", flush=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    time.sleep(lifetime)
    srv.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["ws", "sse"], required=True)
    ap.add_argument("--protocol", required=True, choices=sorted(mutations.ADAPTORS))
    ap.add_argument("--stream", required=True)
    ap.add_argument("--mutation", default="none", choices=["none"] + mutations.MUTATIONS)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--scale", type=float, default=0.05)
    a = ap.parse_args()
    stream = mutations.load(a.stream)
    try:
        stream = mutations.apply(stream, a.protocol, a.mutation)
    except mutations.NotExpressible as e:
        sys.exit(f"replay: {a.mutation} is not expressible in {a.protocol}: {e}")
    rep = Replay(stream, a.scale)
    # The watchdog: whatever the loop is doing, the process ends on time.
    threading.Timer(a.lifetime + 2, lambda: os._exit(0)).start()
    (serve_ws if a.mode == "ws" else serve_sse)(rep, a.lifetime)
    os._exit(0)


if __name__ == "__main__":
    main()
