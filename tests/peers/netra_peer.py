#!/usr/bin/python3
"""A WebSocket agent service in the `netra` shape, for agentrig's end-to-end tests.

agentrig must drive services it did not write. This peer is a second,
independent implementation of the small multi-agent flow that refagent also
serves (Supervisor -> Data (cost_db) / Optimization (pricing) / Compliance
(compliance_check), memory per
thread), written in Python with Debian's python3-websockets and sharing no code
with refagent, so that the same scenario passing against both proves the
harness's `netra` profile rather than a shared bug.

The wire shape deliberately differs from refagent's `native` one: JWT auth as a
WebSocket subprotocol `jwt.<token>` (or an `Authorization: Bearer` header), the
client's message under `payload`, and each event's fields spread over the root,
`payload` and `data`, so the profile has to merge all three. tests/peers/README.md
is the field-by-field reference.

Run with /usr/bin/python3 (the Debian interpreter that has websockets 10.4):

  /usr/bin/python3 tests/peers/netra_peer.py --port 0 [--lifetime 300] [--delay-ms 2] [--fail-tools]

prints `listening ws://127.0.0.1:PORT/ws` once it accepts connections.

--fail-tools (or PEER_FAIL_TOOLS=1): every tool call fails ("cost_db unavailable:
HTTP 503"), the specialists complete with status "error" and the Supervisor still
answers, saying the data is unavailable. See tests/peers/README.md.

--wire beta17 (or NETRA_PEER_WIRE=beta17): the same flow and answers, but every
frame shaped the way netra's backend at tag beta-17 (netra-systems/zen, commit
aebb16f778b51847c4ffdabedd1ccdbcec9de0fc) builds it: one run id per user message,
no parent_run_id, `reasoning`, `data.parameters`, `results.status`, flat
agent_completed with `final_response`, agent_error, connection_established, an
`error_message` frame and close 1008 for a bad token (tests/peers/NETRA_WIRE.md).
--fail-supervisor (beta17 only, or PEER_FAIL_SUPERVISOR=1): the Supervisor fails
after thinking and the turn ends with its agent_error.
The default wire (`--wire legacy`) is unchanged.
"""
import argparse
import asyncio
import base64
import datetime
import hashlib
import hmac
import http
import itertools
import json
import os
import re
import signal
import sys
import time

import websockets
import websockets.legacy.server

DEFAULT_SECRET = "agentrig-test-secret"
CLOSE_INVALID_TOKEN = 4401
CLOSE_POLICY_VIOLATION = 1008  # --wire beta17: netra closes a bad token with 1008
MAX_FRAME_BYTES = 1024 * 1024
# A WebSocket close reason is at most 123 bytes (125-byte control payload minus the code).
MAX_CLOSE_REASON_BYTES = 123

_run_ids = itertools.count(1)
_call_ids = itertools.count(1)
_thread_ids = itertools.count(1)
_conn_ids = itertools.count(1)

# thread id -> {"spend_k": float}: the conversation memory, shared by all connections.
MEMORY = {}


# ---------------------------------------------------------------- JWT (HS256)

def _b64url_decode(part):
    pad = "=" * (-len(part) % 4)
    return base64.urlsafe_b64decode(part + pad)


def verify_token(token, secret, now=None):
    """Return (claims, None) for a valid token, else (None, why)."""
    if not token:
        return None, "missing token"
    parts = token.split(".")
    if len(parts) != 3:
        return None, "malformed token (expected 3 dot-separated parts)"
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        sig = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None, "malformed token (bad base64url or JSON)"
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None, "malformed token (header and claims must be objects)"
    if header.get("alg") != "HS256":
        return None, f"unsupported alg {header.get('alg')!r} (only HS256)"
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        return None, "bad signature"
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None, "missing exp claim"
    if (now if now is not None else time.time()) >= exp:
        return None, "token expired"
    return claims, None


# ---------------------------------------------------------------- the agents

def parse_spend_k(value):
    """'$50K/month' -> 50.0, 50000 -> 50.0, '$50,000/month' -> 50.0; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) / 1000.0 if value > 0 else None
    if not isinstance(value, str):
        return None
    m = re.search(r"\$?\s*(\d[\d,]*(?:\.\d+)?)\s*([kK])?", value)
    if not m:
        return None
    num = float(m.group(1).replace(",", ""))
    k = num if m.group(2) else num / 1000.0
    return k if k > 0 else None


SPEND_IN_MESSAGE = re.compile(r"\$\s*(\d+(?:\.\d+)?)\s*K\s*/\s*month", re.IGNORECASE)


def fmt_k(k):
    """50.0 -> '$50K', 12.5 -> '$12.5K'."""
    r = round(k, 1)
    return f"${int(r)}K" if r == int(r) else f"${r}K"


def route_for(message):
    """(specialists, mode) from the message's keywords."""
    low = message.lower()
    if "complian" in low or "pci" in low:
        return ["Compliance"], "compliance"
    if "optimi" in low or "reduc" in low or "%" in low:
        return ["Data", "Optimization"], "optimize"
    if "cost" in low or "spend" in low:
        return ["Data"], "cost"
    if "migrat" in low or "plan" in low:
        return ["Optimization"], "plan"
    return [], "direct"


def tool_cost_db(spend_k):
    """The Data agent's tool: this month's spend broken down by category (USD)."""
    if spend_k is None:
        return {"spend": None, "monthly_usd": None, "breakdown": None}
    total = int(round(spend_k * 1000))
    compute = int(round(total * 0.62))
    storage = int(round(total * 0.14))
    return {"spend": f"{fmt_k(spend_k)}/month", "monthly_usd": total,
            "breakdown": {"compute": compute, "storage": storage,
                          "network": total - compute - storage}}


def tool_pricing(spend_k):
    """The Optimization agent's tool: what spot instances plus rightsizing would save."""
    out = {"savings_pct": 42, "strategies": ["spot_instances", "rightsizing"]}
    if spend_k is not None:
        total = int(round(spend_k * 1000))
        out["monthly_savings_usd"] = int(round(total * 0.42))
        out["projected_monthly_usd"] = total - out["monthly_savings_usd"]
    return out


COMPLIANCE_FRAMEWORKS = ["PCI-DSS"]


def tool_compliance_check(_spend_k=None):
    """The Compliance agent's tool: the controls the frameworks require (spend-independent)."""
    return {"frameworks": list(COMPLIANCE_FRAMEWORKS),
            "controls": ["network segmentation", "encryption in transit and at rest",
                         "quarterly vulnerability scans", "12-month access logs"]}


def compliance_text(spend_k):
    where = (f"for the {fmt_k(spend_k)}/month baseline" if spend_k is not None
             else "(no spend on record)")
    return (f"PCI-DSS constraints {where}: segment cardholder data, encrypt in transit and at rest, "
            f"scan quarterly, keep access logs for 12 months.")


def data_text(spend_k, cost):
    if spend_k is None:
        return "No spend on record."
    b = cost["breakdown"]
    return (f"Current spend is {fmt_k(spend_k)}/month (cost_db: compute {fmt_k(b['compute'] / 1000)}, "
            f"storage {fmt_k(b['storage'] / 1000)}, network {fmt_k(b['network'] / 1000)}).")


def optimization_text(spend_k, pricing):
    pct = pricing["savings_pct"]
    if spend_k is None:
        return f"Recommended: spot instances and rightsizing for a {pct}% reduction."
    return (f"Recommended: spot instances and rightsizing for a {pct}% reduction "
            f"({fmt_k(pricing['monthly_savings_usd'] / 1000)}/month).")


def plan_text(spend_k, pricing):
    pct = pricing["savings_pct"]
    steps = ("1) move interruptible workloads to spot instances, 2) rightsize over-provisioned "
             "nodes, 3) commit the steady baseline to reserved capacity")
    if spend_k is None:
        return f"Migration plan (3 phases): no spend on record, so no baseline; {steps}; target a {pct}% reduction."
    return (f"Migration plan (3 phases) from the {fmt_k(spend_k)}/month baseline: {steps}; "
            f"target {fmt_k(pricing['projected_monthly_usd'] / 1000)}/month ({pct}% lower).")


DIRECT_TEXT = ("I can report your cloud spend, recommend how to reduce it, or draft a migration "
               "plan. Ask about cost, optimization or migration.")

# --fail-tools: what each tool "depends on", for the error and the apology.
TOOL_DATA = {"cost_db": "cost", "pricing": "pricing", "compliance_check": "compliance"}

# Each specialist: (tool name, tool function, its thought before the call).
SPECIALIST_TOOL = {
    "Data": ("cost_db", tool_cost_db, "Looking up this month's spend in cost_db."),
    "Optimization": ("pricing", tool_pricing, "Pricing spot instances and rightsizing."),
    "Compliance": ("compliance_check", tool_compliance_check, "Checking PCI-DSS controls with compliance_check."),
}


def tool_unavailable(name):
    """The error every tool call gets under --fail-tools."""
    return f"{name} unavailable: HTTP 503"


def unavailable_text(failed):
    """The Supervisor's answer when tools failed: ['cost_db'] ->
    'I could not reach cost_db: the cost data is unavailable right now.'"""
    kinds = [TOOL_DATA[t] for t in failed]
    verb = "is" if len(kinds) == 1 else "are"
    return (f"I could not reach {' or '.join(failed)}: the {' and '.join(kinds)} data {verb} "
            f"unavailable right now.")


# ---------------------------------------------------------------- wire

def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Turn:
    """One user message being answered on one connection: sends its events in order."""

    def __init__(self, ws, thread_id, delay_s, fail_tools=False):
        self.ws = ws
        self.thread_id = thread_id
        self.delay_s = delay_s
        self.fail_tools = fail_tools

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)

    def new_run(self, parent):
        """A run id for the Supervisor (parent None) or a specialist: one per agent here."""
        return f"run-{next(_run_ids)}"

    # The placement of fields differs per event type on purpose (see README.md):
    # agent_started at the root, agent_thinking and tool events under "payload",
    # agent_completed under "data". "type", "thread_id" and "timestamp" are always at the root.
    async def agent_started(self, agent, run_id, parent):
        await self.send({"type": "agent_started", "thread_id": self.thread_id, "timestamp": now_iso(),
                         "agent_name": agent, "run_id": run_id, "parent_run_id": parent})

    async def agent_thinking(self, agent, run_id, parent, thought):
        await self.send({"type": "agent_thinking", "thread_id": self.thread_id, "timestamp": now_iso(),
                         "payload": {"agent_name": agent, "run_id": run_id, "parent_run_id": parent,
                                     "thought": thought}})

    async def tool(self, agent, run_id, parent, name, fn, args):
        """Runs the tool; returns its result, or None when it failed under --fail-tools."""
        call_id = f"call-{next(_call_ids)}"
        await self.send({"type": "tool_executing", "thread_id": self.thread_id, "timestamp": now_iso(),
                         "payload": {"agent_name": agent, "run_id": run_id, "parent_run_id": parent,
                                     "tool_name": name, "tool_call_id": call_id, "args": args}})
        if self.fail_tools:
            # The failure takes the place of the result: status "error" and an "error"
            # message, no "result" key.
            await self.send({"type": "tool_completed", "thread_id": self.thread_id, "timestamp": now_iso(),
                             "payload": {"agent_name": agent, "run_id": run_id, "parent_run_id": parent,
                                         "tool_name": name, "tool_call_id": call_id, "status": "error",
                                         "error": tool_unavailable(name)}})
            return None
        try:
            result, status = fn(args.get("spend_k")), "success"
        except Exception as exc:  # a tool bug must still pair tool_executing with tool_completed
            result, status = {"error": str(exc)}, "error"
        await self.send({"type": "tool_completed", "thread_id": self.thread_id, "timestamp": now_iso(),
                         "payload": {"agent_name": agent, "run_id": run_id, "parent_run_id": parent,
                                     "tool_name": name, "tool_call_id": call_id, "status": status,
                                     "result": result}})
        return result

    async def supervisor_failed(self, run_id, exc):
        raise RuntimeError("--fail-supervisor needs --wire beta17")

    async def agent_completed(self, agent, run_id, parent, status, result):
        await self.send({"type": "agent_completed", "thread_id": self.thread_id, "timestamp": now_iso(),
                         "data": {"agent_name": agent, "run_id": run_id, "parent_run_id": parent,
                                  "status": status, "result": result}})


# ---------------------------------------------------------------- the beta17 wire

def now_iso_netra():
    """netra's timestamps: datetime.now(timezone.utc).isoformat() (microseconds, +00:00)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# What netra's UnifiedWebSocketEmitter adds to every flat frame (agent_websocket_bridge.py).
EMITTER_METADATA = {"coordination_mode": "sequential", "performance_mode": "standard",
                    "emitter_type": "UnifiedWebSocketEmitter"}


class Beta17Turn(Turn):
    """The same turn, in the frames netra beta-17 sends (tests/peers/NETRA_WIRE.md).

    Bridge-direct frames (agent_started, tool_executing, tool_completed,
    agent_error) carry the names at the root and the rest under "data"; flat
    frames (agent_thinking, agent_completed) carry everything at the root.
    Every agent of the turn shares the request's run id; nothing says which
    run is the parent: only the agent name "Supervisor" marks the root."""

    def __init__(self, ws, thread_id, delay_s, fail_tools=False, user_id=None):
        super().__init__(ws, thread_id, delay_s, fail_tools)
        self.user_id = user_id
        self.run_id = None
        self.step = 0

    def new_run(self, parent):
        if self.run_id is None:
            self.run_id = f"run-{next(_run_ids)}"
        return self.run_id

    async def agent_started(self, agent, run_id, parent):
        context = {"status": "starting", "isolated": True} if agent == "Supervisor" else {}
        await self.send({"type": "agent_started", "run_id": run_id, "user_id": self.user_id,
                         "agent_name": agent, "timestamp": now_iso_netra(),
                         "data": {"status": "started", "context": context,
                                  "message": f"{agent} has started processing your request"}})

    async def agent_thinking(self, agent, run_id, parent, thought):
        self.step += 1
        await self.send({"timestamp": now_iso_netra(), "critical": True, "type": "agent_thinking",
                         "reasoning": thought, "user_id": None, "thread_id": self.thread_id,
                         "step_number": self.step, "metadata": dict(EMITTER_METADATA),
                         "agent_name": agent, "run_id": run_id})

    async def tool(self, agent, run_id, parent, name, fn, args):
        """Runs the tool; returns its result, or None when it failed."""
        await self.send({"type": "tool_executing", "run_id": run_id, "user_id": self.user_id,
                         "agent_name": agent, "tool_name": name, "timestamp": now_iso_netra(),
                         "data": {"parameters": args, "status": "executing",
                                  "message": f"{agent} is using {name}"}})
        t0 = time.monotonic()
        out = None
        if self.fail_tools:
            status, err, err_type = "error", tool_unavailable(name), "ConnectionError"
        else:
            try:
                out, status, err = fn(args.get("spend_k")), "success", None
            except Exception as exc:  # still pair tool_executing with tool_completed
                status, err, err_type = "error", str(exc), type(exc).__name__
        ms = round((time.monotonic() - t0) * 1000.0, 3)
        # unified_tool_execution.py _send_tool_completed: output is str(result)[:500].
        res = {"status": status, "duration_ms": ms, "tool_name": name}
        if status == "success":
            res["output"] = str(out)[:500] if out else None
        else:
            res.update({"error": err, "error_type": err_type, "recoverable": True})
        await self.send({"type": "tool_completed", "run_id": run_id, "user_id": self.user_id,
                         "agent_name": agent, "tool_name": name, "timestamp": now_iso_netra(),
                         "results": res,
                         "data": {"result": dict(res), "execution_time_ms": ms, "status": "completed",
                                  "message": f"{agent} completed {name}"}})
        return out if status == "success" else None

    async def agent_completed(self, agent, run_id, parent, status, result):
        if agent == "Supervisor":
            # supervisor_ssot.py: the workflow's result goes under "results".
            result = {"supervisor_result": "completed", "orchestration_successful": True,
                      "user_isolation_verified": True, "results": result}
            extra = {"execution_time_ms": 0}
        elif status == "success":
            result = {"status": "completed", "success": True, **result}
            extra = {}
        else:
            # agent_execution_core.py: a failed sub-agent still "completes".
            result = {"status": "completed", "success": False,
                      "error": result.get("text") or "Agent execution failed"}
            extra = {}
        frame = {"timestamp": now_iso_netra(), "critical": True, "type": "agent_completed",
                 "status": "completed", "final_response": result, "user_id": None,
                 "thread_id": self.thread_id, "result": result}
        frame.update(extra)
        frame.update({"message": f"{agent} has completed processing your request", "agent_name": agent,
                      "metadata": dict(EMITTER_METADATA), "run_id": run_id})
        await self.send(frame)

    async def supervisor_failed(self, run_id, exc):
        """supervisor_ssot.py's except: agent_error, and no Supervisor agent_completed."""
        await self.send({"type": "agent_error", "run_id": run_id, "agent_name": "Supervisor",
                         "timestamp": now_iso_netra(),
                         "data": {"status": "error",
                                  "error_message": f"Supervisor execution failed: {exc}",
                                  "error_context": {"error_type": type(exc).__name__,
                                                    "agent_step": "unknown", "user_facing": True},
                                  "message": "Supervisor encountered an issue processing your request"}})


async def run_turn(ws, content, thread_id, context, delay_s, fail_tools=False, wire="legacy",
                   user_id=None, fail_supervisor=False):
    mem = MEMORY.setdefault(thread_id, {"spend_k": None})
    spend = parse_spend_k(context.get("current_spend")) if context else None
    m = SPEND_IN_MESSAGE.search(content)
    if m:
        spend = float(m.group(1))
    if spend is not None:
        mem["spend_k"] = spend
    spend_k = mem["spend_k"]

    agents, mode = route_for(content)
    if wire == "beta17":
        turn = Beta17Turn(ws, thread_id, delay_s, fail_tools, user_id)
    else:
        turn = Turn(ws, thread_id, delay_s, fail_tools)
    sup = turn.new_run(None)
    await turn.agent_started("Supervisor", sup, None)
    if agents:
        why = {"optimize": "the request asks for a reduction",
               "cost": "the request is about cost",
               "plan": "the request asks for a plan",
               "compliance": "the request asks for compliance constraints"}[mode]
        await turn.agent_thinking("Supervisor", sup, None, f"Routing to {', '.join(agents)}: {why}.")
    else:
        await turn.agent_thinking("Supervisor", sup, None, "No specialist needed: answering directly.")
    if fail_supervisor:
        await turn.supervisor_failed(sup, RuntimeError("orchestration workflow unavailable"))
        return

    parts, tools, result, failed = [], [], {}, []
    for agent in agents:
        run = turn.new_run(sup)
        await turn.agent_started(agent, run, sup)
        spend_text = f"{fmt_k(spend_k)}/month" if spend_k is not None else None
        if agent == "Compliance":
            args = {"frameworks": list(COMPLIANCE_FRAMEWORKS), "spend": spend_text}
        else:
            args = {"spend": spend_text, "spend_k": spend_k}
        if fail_tools:
            name, fn, thought = SPECIALIST_TOOL[agent]
            await turn.agent_thinking(agent, run, sup, thought)
            await turn.tool(agent, run, sup, name, fn, args)
            tools.append(name)
            failed.append(name)
            err = tool_unavailable(name)
            await turn.agent_completed(agent, run, sup, "error", {"text": f"{name} failed: {err}.", "error": err})
            continue
        if agent == "Data":
            await turn.agent_thinking(agent, run, sup, "Looking up this month's spend in cost_db.")
            cost = await turn.tool(agent, run, sup, "cost_db", tool_cost_db, args)
            tools.append("cost_db")
            text = data_text(spend_k, cost)
            await turn.agent_completed(agent, run, sup, "success", {"text": text, "cost_db": cost})
        elif agent == "Compliance":
            await turn.agent_thinking(agent, run, sup, "Checking PCI-DSS controls with compliance_check.")
            checked = await turn.tool(agent, run, sup, "compliance_check", tool_compliance_check, args)
            tools.append("compliance_check")
            text = compliance_text(spend_k)
            await turn.agent_completed(agent, run, sup, "success", {"text": text, "compliance_check": checked})
        else:
            await turn.agent_thinking(agent, run, sup, "Pricing spot instances and rightsizing.")
            pricing = await turn.tool(agent, run, sup, "pricing", tool_pricing, args)
            tools.append("pricing")
            result["savings_pct"] = pricing["savings_pct"]
            text = plan_text(spend_k, pricing) if mode == "plan" else optimization_text(spend_k, pricing)
            await turn.agent_completed(agent, run, sup, "success", {"text": text, "pricing": pricing})
        parts.append(text)

    if failed:
        response = unavailable_text(failed)
    else:
        response = " ".join(parts) if parts else DIRECT_TEXT
    result.update({"response": response, "route": agents, "tools": tools,
                   "memory": {"spend": f"{fmt_k(spend_k)}/month" if spend_k is not None else None}})
    if failed:
        result["failed_tools"] = failed
    if spend_k is not None:
        result["current_spend_usd"] = int(round(spend_k * 1000))
    await turn.agent_completed("Supervisor", sup, None, "success", result)


async def send_error(ws, message, thread_id=None):
    frame = {"type": "error", "timestamp": now_iso(), "payload": {"message": message}}
    if thread_id is not None:
        frame["thread_id"] = thread_id
    await ws.send(json.dumps(frame))


async def send_error_beta17(ws, message):
    """message_handlers.py: {"type": "error", "message": ...}; no run id, no thread id."""
    await ws.send(json.dumps({"type": "error", "message": message}))


def parse_client_frame(raw):
    """Return (content, thread_id, context, None) or (None, None, None, error message)."""
    if isinstance(raw, bytes):
        return None, None, None, "binary frames are not supported: send JSON text frames"
    try:
        frame = json.loads(raw)
    except ValueError as exc:
        return None, None, None, f"invalid JSON: {exc}"
    if not isinstance(frame, dict):
        return None, None, None, "a frame must be a JSON object"
    if frame.get("type") != "user_message":
        return None, None, None, f"unknown frame type {frame.get('type')!r} (expected 'user_message')"
    payload = frame.get("payload")
    if not isinstance(payload, dict):
        return None, None, None, "user_message needs an object 'payload'"
    content = payload.get("content")
    if not isinstance(content, str) or not content.strip():
        return None, None, None, "payload.content must be a non-empty string"
    thread_id = payload.get("thread_id")
    if thread_id is None:
        thread_id = f"thread-{next(_thread_ids)}"
    elif not isinstance(thread_id, str) or not thread_id or len(thread_id) > 128:
        return None, None, None, "payload.thread_id must be a non-empty string of at most 128 bytes"
    context = payload.get("context")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        return None, None, None, "payload.context must be an object"
    return content, thread_id, context, None


# ---------------------------------------------------------------- server

class PeerProtocol(websockets.legacy.server.WebSocketServerProtocol):
    """Accepts whatever subprotocol carries the token, so a rejected client sees our close frame."""

    def select_subprotocol(self, client_subprotocols, server_subprotocols):
        for p in client_subprotocols:
            if p.startswith("jwt."):
                return p
        return client_subprotocols[0] if client_subprotocols else None


def token_of(ws):
    sub = ws.subprotocol
    if sub and sub.startswith("jwt."):
        return sub[len("jwt."):]
    auth = ws.request_headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def make_handler(secret, delay_s, fail_tools=False, wire="legacy", fail_supervisor=False):
    async def handler(ws, path=None):
        claims, why = verify_token(token_of(ws), secret)
        if why is not None:
            reason = f"invalid token: {why}".encode()[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore")
            print(f"rejected connection: {reason}", file=sys.stderr, flush=True)
            if wire == "beta17":
                # websocket_ssot.py:842-843: an error_message frame, then 1008.
                await ws.send(json.dumps({"type": "error_message", "error_code": "AUTH_FAILED",
                                          "error_message": reason, "details": {},
                                          "timestamp": time.time(), "recovery_suggestions": None}))
                await ws.close(code=CLOSE_POLICY_VIOLATION, reason="Authentication failed")
            else:
                await ws.close(code=CLOSE_INVALID_TOKEN, reason=reason)
            return
        user_id = str(claims.get("sub", "unknown"))
        try:
            if wire == "beta17":
                # websocket_ssot.py:974-988: a ServerMessage (float timestamp) right after auth.
                await ws.send(json.dumps({
                    "type": "connection_established",
                    "data": {"mode": "main", "user_id": user_id[:8] + "...",
                             "connection_id": f"conn-{next(_conn_ids)}",
                             "golden_path_events": ["agent_started", "agent_thinking", "tool_executing",
                                                    "tool_completed", "agent_completed"],
                             "features": {}, "timestamp": now_iso_netra()},
                    "timestamp": time.time(), "server_id": None, "correlation_id": None}))
            async for raw in ws:
                content, thread_id, context, err = parse_client_frame(raw)
                if err is not None:
                    if wire == "beta17":
                        await send_error_beta17(ws, err)
                    else:
                        await send_error(ws, err)
                    continue
                if wire == "beta17":
                    await run_turn(ws, content, thread_id, context, delay_s, fail_tools, wire,
                                   user_id, fail_supervisor)
                else:
                    await run_turn(ws, content, thread_id, context, delay_s, fail_tools)
        except websockets.ConnectionClosed:
            pass
    return handler


async def only_ws_path(path, headers):
    if path.split("?", 1)[0] != "/ws":
        return http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"not found: the WebSocket is at /ws\n"
    return None


async def main_async(args):
    secret = os.environ.get("NETRA_JWT_SECRET", DEFAULT_SECRET)
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: stop.done() or stop.set_result(signal.Signals(s).name))
    loop.call_later(args.lifetime, lambda: stop.done() or stop.set_result("lifetime"))

    # subprotocols must be non-empty for select_subprotocol to be consulted at all.
    fail_tools = args.fail_tools or os.environ.get("PEER_FAIL_TOOLS") == "1"
    if fail_tools:
        print("netra_peer: --fail-tools: every tool call fails", file=sys.stderr, flush=True)
    print(f"netra_peer: wire {args.wire}", file=sys.stderr, flush=True)
    handler = make_handler(secret, args.delay_ms / 1000.0, fail_tools, args.wire, args.fail_supervisor)
    server = await websockets.serve(handler, "127.0.0.1", args.port,
                                    create_protocol=PeerProtocol, subprotocols=["jwt"],
                                    process_request=only_ws_path, max_size=MAX_FRAME_BYTES)
    port = server.sockets[0].getsockname()[1]
    print(f"listening ws://127.0.0.1:{port}/ws", flush=True)
    why = await stop
    print(f"netra_peer: stopping ({why})", file=sys.stderr, flush=True)
    server.close()
    await server.wait_closed()


def main():
    ap = argparse.ArgumentParser(description="netra-shaped WebSocket agent peer for agentrig tests")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--lifetime", type=float, default=300.0,
                    help="exit by itself after this many seconds (default 300)")
    ap.add_argument("--delay-ms", type=float, default=2.0,
                    help="pause after each event so the turn really streams (default 2)")
    ap.add_argument("--fail-tools", action="store_true",
                    help="every tool call fails (also PEER_FAIL_TOOLS=1); the turn still ends with an answer")
    ap.add_argument("--wire", choices=["legacy", "beta17"], default=None,
                    help="frame shapes: legacy (default; also NETRA_PEER_WIRE) or beta17 (netra beta-17's)")
    ap.add_argument("--fail-supervisor", action="store_true",
                    help="beta17 only (also PEER_FAIL_SUPERVISOR=1): the Supervisor fails with agent_error")
    args = ap.parse_args()
    if args.lifetime <= 0:
        ap.error("--lifetime must be > 0")
    if args.wire is None:
        args.wire = os.environ.get("NETRA_PEER_WIRE") or "legacy"
    if args.wire not in ("legacy", "beta17"):
        ap.error(f"NETRA_PEER_WIRE must be legacy or beta17, got {args.wire!r}")
    args.fail_supervisor = args.fail_supervisor or os.environ.get("PEER_FAIL_SUPERVISOR") == "1"
    if args.fail_supervisor and args.wire != "beta17":
        ap.error("--fail-supervisor needs --wire beta17 (the legacy wire has no agent_error)")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
