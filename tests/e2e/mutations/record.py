#!/usr/bin/python3
"""Records, per turn, exactly the frames a client receives from each peer for
the shared flow (tests/peers/README.md, "The flow"), plus a control turn on a
fresh thread, into streams/<protocol>.jsonl.

    /usr/bin/python3 tests/e2e/mutations/record.py --refagent build/refagent/refagent [PROTOCOL...]

One line per frame: {"turn": N, "data": "<raw frame text>", "event": <sse event
name or null>, "id": <sse id or null>, "dt_ms": <ms since the previous frame
of the turn (or since the request), as recorded>}.

Turns 1-3 are the flow on one thread (one WebSocket connection / one thread
for SSE); turn 4 is turn 3's message ("Draft a migration plan") on a fresh
thread, the control turn of the new_thread scenarios. Thread ids are fixed
UUIDs (THREAD_MAIN, THREAD_FRESH) so that replay.py can find them in the
frames and put the client's thread id in their place.

Needs: Debian's /usr/bin/python3 (python3-websockets 10.4), node, and the npm
installs of the Node peers (npm ci --prefix tests/peers/<peer>). Only needed
to refresh the recordings; the suite replays the committed files.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
STREAMS = os.path.join(HERE, "streams")

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from mutations import THREAD_MAIN, THREAD_FRESH  # noqa: E402

TURNS = [  # (message, context, thread)
    ("What does our Kubernetes cluster cost us each month?", {"current_spend": "$50K/month"},
     THREAD_MAIN),
    ("Optimize it for a 40% reduction", None, THREAD_MAIN),
    ("Draft a migration plan", None, THREAD_MAIN),
    ("Draft a migration plan", None, THREAD_FRESH),
]

SECRET = "agentrig-mutations-secret"


def start(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=env)
    for _ in range(50):
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("listening "):
            return p, line.split(" ", 1)[1].strip()
    p.kill()
    sys.exit(f"record: {cmd[0]} did not report a listening URL")


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# WebSocket peers: what ends a turn, and the frame each sends.

def native_terminal(f):
    return (f.get("type") == "agent_completed" and "parent_run_id" in f
            and f["parent_run_id"] is None) or (f.get("type") == "error" and "run_id" not in f)


def netra_terminal(f):
    d = f.get("data") or {}
    return (f.get("type") == "agent_completed" and d.get("parent_run_id", 0) is None) or \
        (f.get("type") == "error" and "run_id" not in (f.get("payload") or {}))


def oa_terminal(f):
    return f.get("type") in ("run_completed", "run_error", "error")


def native_send(msg, ctx, thread):
    d = {"type": "user_message", "thread_id": thread, "message": msg}
    if ctx:
        d["context"] = ctx
    return d


def netra_send(msg, ctx, thread):
    p = {"content": msg, "thread_id": thread}
    if ctx:
        p["context"] = ctx
    return {"type": "user_message", "payload": p}


async def record_ws(url, send, terminal, subprotocols=None):
    """Turns 1-3 on one connection, turn 4 on a second one."""
    out = []
    ws = None
    thread = None
    try:
        for n, (msg, ctx, th) in enumerate(TURNS, 1):
            if th != thread:
                if ws:
                    await ws.close()
                ws = await websockets.connect(url, subprotocols=subprotocols, max_size=2 ** 21)
                thread = th
            await ws.send(json.dumps(send(msg, ctx, th)))
            last = time.monotonic()
            while True:
                raw = await asyncio.wait_for(ws.recv(), 30)
                now = time.monotonic()
                out.append({"turn": n, "data": raw, "event": None, "id": None,
                            "dt_ms": round((now - last) * 1000, 2)})
                last = now
                if terminal(json.loads(raw)):
                    break
            # Anything after the terminal frame would be recorded too.
            try:
                while True:
                    raw = await asyncio.wait_for(ws.recv(), 0.3)
                    out.append({"turn": n, "data": raw, "event": None, "id": None, "dt_ms": 0})
            except asyncio.TimeoutError:
                pass
    finally:
        if ws:
            await ws.close()
    return out


# SSE peers: one POST per turn, the body read to its end.

def parse_sse(resp, n):
    out, ev, data, eid = [], None, [], None
    last = time.monotonic()
    for raw in resp:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                now = time.monotonic()
                out.append({"turn": n, "data": "\n".join(data), "event": ev, "id": eid,
                            "dt_ms": round((now - last) * 1000, 2)})
                last = now
            ev, data, eid = None, [], None
            continue
        if line.startswith(":"):
            continue
        field, _, val = line.partition(":")
        val = val[1:] if val.startswith(" ") else val
        if field == "data":
            data.append(val)
        elif field == "event":
            ev = val
        elif field == "id":
            eid = val
    return out


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=60)


def record_agui(base):
    out, history = [], {}
    for n, (msg, ctx, th) in enumerate(TURNS, 1):
        msgs = history.setdefault(th, [])
        msgs.append({"id": f"msg-{len(msgs) + 1}", "role": "user", "content": msg})
        body = {"threadId": th, "runId": f"{th}-run-{n}", "state": ctx or {}, "messages": msgs,
                "tools": [], "context": [], "forwardedProps": {}}
        with post(base, body) as r:
            frames = parse_sse(r, n)
        out += frames
        answer = "".join(json.loads(f["data"]).get("delta", "") for f in frames
                         if json.loads(f["data"]).get("type") == "TEXT_MESSAGE_CONTENT")
        msgs.append({"id": f"msg-{len(msgs) + 1}", "role": "assistant", "content": answer})
    return out


def record_langgraph(base):
    out = []
    for n, (msg, ctx, th) in enumerate(TURNS, 1):
        # What the built-in profile sends (harness/protocol/builtin/langgraph.yaml),
        # with LANGGRAPH_ASSISTANT_ID=supervisor: the stream agentrig gets.
        body = {"assistant_id": "supervisor",
                "input": {"messages": [{"role": "user", "content": msg}]},
                "stream_mode": ["updates"], "stream_subgraphs": True,
                "if_not_exists": "create"}
        if ctx:
            body["context"] = ctx
        with post(f"{base}/threads/{th}/runs/stream", body) as r:
            out += parse_sse(r, n)
    return out


def oa_send(msg, ctx, thread):
    d = {"type": "user_message", "thread_id": thread, "message": msg}
    if ctx:
        d["context"] = ctx
    return d


def node_peer(name):
    return os.path.isfile(os.path.join(REPO, "tests/peers", name, "server.mjs")) and \
        os.path.isdir(os.path.join(REPO, "tests/peers", name, "node_modules"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refagent", default=os.path.join(REPO, "build/refagent/refagent"))
    ap.add_argument("protocols", nargs="*",
                    default=["native", "netra", "ag-ui", "langgraph", "openai-agents"])
    a = ap.parse_args()
    os.makedirs(STREAMS, exist_ok=True)
    for proto in a.protocols:
        env = dict(os.environ)
        if proto == "native":
            p, url = start([a.refagent, "--port", "0", "--think-ms", "0"])
            rec = lambda: asyncio.run(record_ws(url, native_send, native_terminal))
        elif proto == "netra":
            env["NETRA_JWT_SECRET"] = SECRET
            p, url = start(["/usr/bin/python3", os.path.join(REPO, "tests/peers/netra_peer.py"),
                            "--port", "0", "--lifetime", "120"], env)
            sys.path.insert(0, os.path.join(REPO, "tests/peers"))
            from mint_jwt import mint
            token = mint(SECRET, 600)
            rec = lambda: asyncio.run(record_ws(url, netra_send, netra_terminal,
                                                ["jwt." + token]))
        elif proto == "ag-ui":
            p, url = start(["node", os.path.join(REPO, "tests/peers/agui/server.mjs"), "--port",
                            "0", "--lifetime", "120"])
            rec = lambda: record_agui(url)
        elif proto == "langgraph":
            if not node_peer("langgraph"):
                print("record: langgraph: peer not installed, skipped")
                continue
            p, url = start(["node", os.path.join(REPO, "tests/peers/langgraph/server.mjs"),
                            "--port", "0", "--lifetime", "120"])
            rec = lambda: record_langgraph(url)
        elif proto == "openai-agents":
            if not node_peer("openai_agents"):
                print("record: openai-agents: peer not installed, skipped")
                continue
            p, url = start(["node", os.path.join(REPO, "tests/peers/openai_agents/server.mjs"),
                            "--port", "0", "--lifetime", "120"])
            rec = lambda: asyncio.run(record_ws(url, oa_send, lambda f: oa_terminal(f)))
        else:
            sys.exit(f"record: unknown protocol {proto}")
        try:
            frames = rec()
        finally:
            stop(p)
        path = os.path.join(STREAMS, f"{proto}.jsonl")
        with open(path + ".tmp", "w") as f:
            for fr in frames:
                f.write(json.dumps(fr, ensure_ascii=False) + "\n")
        os.replace(path + ".tmp", path)
        per = [sum(1 for fr in frames if fr["turn"] == n) for n in range(1, len(TURNS) + 1)]
        print(f"record: {proto}: {len(frames)} frames (per turn {per}) -> {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
