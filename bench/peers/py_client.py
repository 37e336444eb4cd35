#!/usr/bin/python3
"""py_client.py - the benchmark flow written the way a user would by hand with
Python's `websockets` (Debian's python3-websockets 10.4, asyncio client), so
agentrig's cost per session can be compared with it (issue 4, target 4).

Each session: one WebSocket to refagent, three turns (send a user_message,
json.loads every frame until the turn's root agent_completed), close.
--concurrency tasks each run sessions one after another until --sessions have
been started. Prints one JSON line, the same shape as bench/floor's.

Run it with /usr/bin/python3: only Debian's interpreter has `websockets`.
Usage: /usr/bin/python3 bench/peers/py_client.py --url ws://127.0.0.1:PORT/ws
       [--sessions 3000] [--concurrency 100] [--timeout-s 300]
"""
import argparse
import asyncio
import json
import os
import sys
import time

import websockets

MESSAGES = [
    "What does our Kubernetes cluster cost us each month?",
    "Optimize it for a 40% reduction",
    "Draft a migration plan",
]
# compare.sh FLOW=light: three short turns instead (BENCH_MESSAGES="a|b|c")
if os.environ.get("BENCH_MESSAGES"):
    MESSAGES = os.environ["BENCH_MESSAGES"].split("|")


class Stats:
    def __init__(self):
        self.started = 0
        self.completed = 0
        self.frames = 0


async def run_session(url, index, stats):
    """One session; returns True when all three turns completed."""
    thread_id = f"py-{os.getpid()}-{index}"
    turns = 0
    try:
        async with websockets.connect(url) as ws:
            for message in MESSAGES:
                await ws.send(json.dumps(
                    {"type": "user_message", "thread_id": thread_id, "message": message}))
                async for raw in ws:
                    ev = json.loads(raw)
                    stats.frames += 1
                    if ev.get("type") == "agent_completed" and ev.get("parent_run_id") is None:
                        turns += 1
                        break
                else:
                    return False  # the service closed the connection mid-turn
    except (OSError, websockets.WebSocketException):
        return False
    return turns == len(MESSAGES)


async def worker(opts, stats):
    while stats.started < opts.sessions:
        index = stats.started
        stats.started += 1
        if await run_session(opts.url, index, stats):
            stats.completed += 1


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"wants a positive integer, not '{text}'")
    return value


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--sessions", type=positive, default=3000)
    parser.add_argument("--concurrency", type=positive, default=100)
    parser.add_argument("--timeout-s", type=positive, default=300)
    opts = parser.parse_args()
    stats = Stats()
    t0 = time.monotonic()
    workers = [worker(opts, stats) for _ in range(min(opts.concurrency, opts.sessions))]
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(*workers), timeout=opts.timeout_s)
    except asyncio.TimeoutError:
        timed_out = True
    wall_s = time.monotonic() - t0
    print(json.dumps({"client": "python", "sessions": opts.sessions,
                      "completed": stats.completed, "frames": stats.frames,
                      "wall_s": round(wall_s, 3)}), flush=True)
    if timed_out:
        print(f"py_client: stopped after {opts.timeout_s} s", file=sys.stderr)
    return 0 if stats.completed == opts.sessions else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
