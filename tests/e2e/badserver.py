#!/usr/bin/python3
"""A deliberately misbehaving WebSocket service for agentrig's end-to-end tests.

It speaks refagent's native protocol just well enough to start a turn, then
misbehaves according to the user's message, so the tests can prove that one
broken session fails with a clear message while the others and the reports
are unaffected. Written in Python (Debian's python3-websockets) on purpose:
it shares no code with agentrig or refagent.

  message contains   the service then
  "invalid json"     sends a frame that is not JSON, then completes the turn
  "binary"           sends a binary frame, then completes the turn
  "oversize"         sends a 2 MiB text frame, then completes the turn
  "close"            sends two events and closes the connection mid-turn
  "hang"             sends agent_started and then nothing
  "headers"          completes the turn with the handshake's headers and the
                     frame's fields in the response (to check fault directives)
  "ping"             pings the client mid-turn and completes the turn only if
                     the pong comes back within 2 s (else closes with 1011)
  "invalid utf8"     sends a text frame whose byte 17 is not UTF-8, then
                     completes the turn
  "rsv bit"          breaks RFC 6455 on the wire (raw bytes, as no library
  "unknown opcode"   would): a text frame with RSV1 set, a frame with the
  "big ping"         reserved opcode 0x3, or a 200-byte ping (the cap is 125);
                     then completes the turn, which a client must not see
  anything else      completes the turn normally
"""
import asyncio
import json
import sys
import time

import websockets


def ev(kind, thread_id, **fields):
    d = {"type": kind, "thread_id": thread_id, "ts_us": int(time.time() * 1e6)}
    d.update(fields)
    return json.dumps(d)


async def handler(ws, path=None):
    async for raw in ws:
        msg = json.loads(raw)
        text = msg.get("message", "")
        print(f"received {text}", flush=True)  # tests wait for this line
        tid = msg.get("thread_id", "t")
        await ws.send(ev("agent_started", tid, agent="Supervisor", run_id="r1", parent_run_id=None))
        if "invalid json" in text:
            await ws.send('{"type": "agent_thinking", oops')
        elif "binary" in text:
            await ws.send(b"\x00\x01\x02binary\xff")
        elif "oversize" in text:
            await ws.send(ev("agent_thinking", tid, agent="Supervisor", run_id="r1",
                             text="x" * (2 * 1024 * 1024)))
        elif "close" in text:
            await ws.send(ev("agent_thinking", tid, agent="Supervisor", run_id="r1", text="hmm"))
            await ws.close(code=1011, reason="simulated crash")
            return
        elif "hang" in text:
            continue
        elif "invalid utf8" in text:
            # Raw bytes: websockets refuses to send a str that is not UTF-8.
            bad = b'{"type": "bad", "\xff": 1}'
            ws.transport.write(bytes([0x81, len(bad)]) + bad)
        elif "rsv bit" in text:
            ws.transport.write(bytes([0xC1, 2]) + b"{}")
        elif "unknown opcode" in text:
            ws.transport.write(bytes([0x83, 2]) + b"{}")
        elif "big ping" in text:
            ws.transport.write(bytes([0x89, 126, 0, 200]) + b"p" * 200)
        elif "headers" in text:
            hdrs = "; ".join(f"{k}={v}" for k, v in ws.request_headers.raw_items())
            fields = ", ".join(f"{k}={v}" for k, v in msg.items() if k not in ("message", "type"))
            await ws.send(ev("agent_completed", tid, agent="Supervisor", run_id="r1",
                             parent_run_id=None, status="ok",
                             result={"response": f"headers: {hdrs} | fields: {fields}"}))
            continue
        elif "ping" in text:
            try:
                await asyncio.wait_for(await ws.ping(b"are-you-there"), 2)
            except asyncio.TimeoutError:
                await ws.close(code=1011, reason="no pong within 2s")
                return
        await ws.send(ev("agent_completed", tid, agent="Supervisor", run_id="r1",
                         parent_run_id=None, status="ok", result={"response": "done: " + text}))


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening ws://127.0.0.1:{port}/ws", flush=True)
        # Stop by itself: a test server never outlives its test by much.
        await asyncio.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 300)


if __name__ == "__main__":
    asyncio.run(main())
