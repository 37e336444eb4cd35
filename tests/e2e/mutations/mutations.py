"""The mutations: realistic wrong streams, made from a right one.

A stream is {turn: [frame, ...]} where a frame is the dict of one line of
streams/<protocol>.jsonl ({"turn", "data", "event", "id", "dt_ms"}). Each
mutation takes a stream and a protocol adaptor and returns a new stream; it
raises NotExpressible(why) when the protocol cannot carry that wrong (the
table in cases.yaml then says `n/a: why`, and run.py checks the two agree).

Field locations differ per protocol, so each protocol has an adaptor (below)
that knows where its tool results, terminal frame, run ids, thread ids and
answer text are. Everything a mutation writes is what that protocol's own
service writes when the thing really happens (a failed tool's status and error
text are the peers' --fail-tools wire, tests/peers/README.md).
"""
import copy
import json

MUTATIONS = ["drop_tool_result", "tool_status_error", "terminal_early", "event_after_terminal",
             "empty_answer", "late_previous_run", "thread_changed",
             "history_resent_on_new_thread", "args_lost"]

# The turn each mutation spoils: turn 2 has two tools and follows a turn
# whose run ids and thread id are known; turn 3's pricing call carries turn
# 1's spend; turn 4 is the new_thread control turn.
TARGET_TURN = {m: 2 for m in MUTATIONS}
TARGET_TURN["history_resent_on_new_thread"] = 4
TARGET_TURN["args_lost"] = 3

# The recorded thread ids (record.py): turns 1-3, and the control turn 4.
THREAD_MAIN = "5f0c2a4e-7b1d-4c3a-9e2f-000000000001"
THREAD_FRESH = "5f0c2a4e-7b1d-4c3a-9e2f-000000000002"

# Another conversation's thread id, for thread_changed (not one of the
# recorded ids, so replay.py leaves it alone).
OTHER_THREAD = "5f0c2a4e-7b1d-4c3a-9e2f-0000000000ff"

REAL_TOOLS = {"cost_db", "gpu_inventory", "pricing", "migration_planner", "compliance_check"}


class NotExpressible(Exception):
    pass


def j(fr):
    return json.loads(fr["data"])


def put(fr, obj):
    """A copy of frame fr carrying obj, serialised compactly."""
    out = dict(fr)
    out["data"] = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return out


class Adaptor:
    """Where things are on one protocol's wire. Methods take the parsed frame
    (and the raw frame when the SSE event name matters)."""
    name = "?"
    has_status = True
    has_run_id = True
    has_thread_id = True
    # Why the frames carry no run id / thread id (when has_* is False); the
    # mutations check it against the recording.
    no_run_id = "its frames carry no run id"
    no_thread_id = "its frames carry no thread id"
    # How the service writes a tool argument it does not know (as its own
    # control turn 4 does): "remove" the key, or send it as "null".
    lost_arg = "null"

    def decoded(self, fr):
        """Whether the built-in profile reads this frame at all (an ignored
        frame's ids are invisible to agentrig)."""
        return True

    def is_tool_call(self, o, fr):
        raise NotImplementedError

    def is_tool_result(self, o, fr):
        raise NotImplementedError

    def is_terminal(self, o, fr):
        raise NotImplementedError

    def fail_tool(self, o, fr):
        """The tool result o as the service sends it when the tool failed."""
        raise NotImplementedError

    def run_id(self, o, fr):
        return None

    def empty_answer(self, frames):
        raise NotImplementedError


def tool_name_from(o, *paths):
    for p in paths:
        cur = o
        for k in p:
            if isinstance(cur, dict) and k in cur:
                cur = cur[k]
            elif isinstance(cur, list) and isinstance(k, int) and k < len(cur):
                cur = cur[k]
            else:
                cur = None
                break
        if isinstance(cur, str):
            return cur
    return None


class Native(Adaptor):
    name = "native"
    lost_arg = "remove"  # refagent's fresh-thread pricing call has args {}

    def is_tool_call(self, o, fr):
        return o.get("type") == "tool_executing"

    def is_tool_result(self, o, fr):
        return o.get("type") == "tool_completed"

    def is_terminal(self, o, fr):
        return o.get("type") == "agent_completed" and "parent_run_id" in o and \
            o["parent_run_id"] is None

    def fail_tool(self, o, fr):
        o = dict(o)
        o.update(status="error", result=None, error="HTTP 503 after 2 attempts", attempts=2)
        return o

    def run_id(self, o, fr):
        return o.get("run_id")

    def empty_answer(self, frames):
        out = []
        for fr in frames:
            o = j(fr)
            if self.is_terminal(o, fr):
                o["result"]["response"] = ""
                fr = put(fr, o)
            out.append(fr)
        return out


class Netra(Adaptor):
    name = "netra"

    def is_tool_call(self, o, fr):
        return o.get("type") == "tool_executing"

    def is_tool_result(self, o, fr):
        return o.get("type") == "tool_completed"

    def is_terminal(self, o, fr):
        return o.get("type") == "agent_completed" and (o.get("data") or {}).get(
            "parent_run_id", 0) is None

    def fail_tool(self, o, fr):
        o = copy.deepcopy(o)
        p = o["payload"]
        p.pop("result", None)
        p["status"] = "error"
        p["error"] = f"{p.get('tool_name')} unavailable: HTTP 503"
        return o

    def run_id(self, o, fr):
        for where in (o, o.get("payload") or {}, o.get("data") or {}):
            if isinstance(where, dict) and where.get("run_id"):
                return where["run_id"]
        return None

    def empty_answer(self, frames):
        out = []
        for fr in frames:
            o = j(fr)
            if self.is_terminal(o, fr):
                o["data"]["result"]["response"] = ""
                fr = put(fr, o)
            out.append(fr)
        return out


class AgUi(Adaptor):
    name = "ag-ui"
    has_status = False  # TOOL_CALL_RESULT has content, role, ids: no status field

    def is_tool_call(self, o, fr):
        return o.get("type") == "TOOL_CALL_START"

    def is_tool_result(self, o, fr):
        return o.get("type") == "TOOL_CALL_RESULT"

    def is_terminal(self, o, fr):
        return o.get("type") in ("RUN_FINISHED", "RUN_ERROR")

    def fail_tool(self, o, fr):
        # What the AG-UI peer sends with --fail-tools: the error only in the content.
        o = dict(o)
        tool = (o.get("metadata") or {}).get("toolName", "tool")
        o["content"] = json.dumps({"error": f"{tool} unavailable: HTTP 503"})
        return o

    def run_id(self, o, fr):
        return o.get("runId")

    def empty_answer(self, frames):
        # The answer is the TEXT_MESSAGE_CONTENT deltas (a delta must be
        # non-empty in AG-UI, so an empty answer is a message with none).
        out = []
        for fr in frames:
            o = j(fr)
            if o.get("type") == "TEXT_MESSAGE_CONTENT":
                continue
            if o.get("type") == "RUN_FINISHED" and isinstance(o.get("result"), dict):
                o["result"]["response"] = ""
                fr = put(fr, o)
            out.append(fr)
        return out


class OpenAIAgents(Adaptor):
    name = "openai-agents"
    has_status = False  # a failed call is status "completed", "executed": only the text tells
    has_run_id = False  # SDK stream events carry no run id (response ids only)
    no_run_id = "its frames carry no run id (the SDK's stream events have response and item ids only)"

    def _item(self, o):
        return o.get("type") == "run_item_stream_event" and o.get("name")

    def is_tool_call(self, o, fr):
        return self._item(o) == "tool_called"

    def is_tool_result(self, o, fr):
        return self._item(o) == "tool_output"

    def is_terminal(self, o, fr):
        return o.get("type") in ("run_completed", "run_error")

    def fail_tool(self, o, fr):
        o = copy.deepcopy(o)
        text = "An error occurred while running the tool. Please try again."
        o["item"]["output"] = text
        o["item"]["rawItem"]["output"] = {"type": "text", "text": text}
        return o

    def empty_answer(self, frames):
        out = []
        for fr in frames:
            o = j(fr)
            d = o.get("data") or {}
            if o.get("type") == "raw_model_stream_event" and d.get("type") == "output_text_delta":
                continue
            s = json.dumps(o)
            if o.get("type") == "run_completed":
                o["final_output"] = ""
            elif '"output_text"' in s:
                def blank(x):
                    if isinstance(x, dict):
                        if x.get("type") == "output_text":
                            x["text"] = ""
                        for v in x.values():
                            blank(v)
                    elif isinstance(x, list):
                        for v in x:
                            blank(v)
                blank(o)
            out.append(put(fr, o))
        return out


class LangGraph(Adaptor):
    """LangGraph Agent Server, stream_mode [updates] with subgraphs, as the
    built-in profile asks (tests/peers/langgraph/README.md). The run ends with
    the body; its last frame is the root `updates` {"Supervisor": ...}, the
    turn's last agent_completed. (The messages* branches serve recordings made
    with messages-tuple too; the profile ignores those frames.)"""
    name = "langgraph"
    # The run id is only in the `metadata` event, which the profile ignores;
    # the thread id is only in the URL (the `updates` frames carry neither:
    # late_previous_run and thread_changed check it on the recording).
    has_run_id = False
    has_thread_id = False
    no_run_id = "no frame agentrig reads carries a run id (only the `metadata` event has one, and the profile ignores it)"
    no_thread_id = "its frames carry no thread id (it is only in the URL)"
    IGNORED = ("metadata", "messages", "values", "checkpoints", "debug", "custom", "end")

    def decoded(self, fr):
        ev = (fr.get("event") or "").split("|", 1)[0]
        return ev not in self.IGNORED

    def _agent_ns(self, fr):
        ev = fr.get("event") or ""
        return ev.split("|", 1)[1] if "|" in ev else None

    def is_tool_call(self, o, fr):
        ev = fr.get("event") or ""
        if ev.startswith("messages|") and isinstance(o, list) and o:
            return any(c.get("name") in REAL_TOOLS for c in o[0].get("tool_call_chunks") or [])
        if ev.startswith("updates|") and isinstance(o, dict) and "agent" in o:
            m = (o["agent"].get("messages") or [{}])[0]
            return any(c.get("name") in REAL_TOOLS for c in
                       (m.get("tool_calls") or []) + (m.get("tool_call_chunks") or []))
        return False

    def is_tool_result(self, o, fr):
        ev = fr.get("event") or ""
        if ev.startswith("messages|") and isinstance(o, list) and o:
            return o[0].get("type") == "tool" and o[0].get("name") in REAL_TOOLS
        if ev.startswith("updates|") and isinstance(o, dict) and "tools" in o:
            return True
        return False

    def is_terminal(self, o, fr):
        return fr.get("event") == "updates" and isinstance(o, dict) and "Supervisor" in o and \
            fr is self._last

    def prepare(self, frames):
        self._last = frames[-1] if frames else None

    def fail_tool(self, o, fr):
        o = copy.deepcopy(o)
        msgs = [o[0]] if isinstance(o, list) else o["tools"]["messages"]
        for m in msgs:
            m["status"] = "error"
            m["content"] = f"Error: {m.get('name')} unavailable: HTTP 503\n Please fix your mistakes."
            m.pop("metadata", None)  # a failed ToolMessage has none (the peer's README)
        return o

    def run_id(self, o, fr):
        if fr.get("event") == "metadata":
            return o.get("run_id")
        if isinstance(o, list) and len(o) > 1 and isinstance(o[1], dict):
            return o[1].get("run_id")
        return None

    def empty_answer(self, frames):
        # The Supervisor's last invocation streams the answer and ends with it.
        sup = [fr for fr in frames if (fr.get("event") or "").startswith("updates|Supervisor:")]
        last_ns = sup[-1]["event"].split("|", 1)[1] if sup else None
        out = []
        for fr in frames:
            o = j(fr)
            ev = fr.get("event") or ""
            if last_ns and ev == "messages|" + last_ns:
                continue
            if last_ns and ev == "updates|" + last_ns and "agent" in o:
                o["agent"]["messages"][0]["content"] = ""
                fr = put(fr, o)
            elif fr is frames[-1] and ev == "updates" and "Supervisor" in o:
                o["Supervisor"]["messages"][-1]["content"] = ""
                fr = put(fr, o)
            out.append(fr)
        return out


ADAPTORS = {a.name: a for a in (Native(), Netra(), AgUi(), OpenAIAgents(), LangGraph())}


# The mutations. Each gets the whole stream and returns a new one.

def _turn(stream, n, a):
    frames = [dict(f) for f in stream[n]]
    if hasattr(a, "prepare"):
        a.prepare(frames)
    return frames


def drop_tool_result(stream, a):
    n = TARGET_TURN["drop_tool_result"]
    frames = _turn(stream, n, a)
    kept = [fr for fr in frames if not a.is_tool_result(j(fr), fr)]
    if len(kept) == len(frames):
        raise NotExpressible("the turn has no tool result frame")
    return {**stream, n: kept}


def tool_status_error(stream, a):
    """The first tool of the turn failed. On protocols with a status that is
    the status; on the others the service's failure text in the result (the
    status-less wire), which only a check that refuses to call an unknown
    status ok can catch."""
    n = TARGET_TURN["tool_status_error"]
    frames = _turn(stream, n, a)
    first_tool = None
    out = []
    for fr in frames:
        o = j(fr)
        if a.is_tool_result(o, fr):
            name = tool_name_from(o, ("tool",), ("payload", "tool_name"), ("metadata", "toolName"),
                                  ("item", "rawItem", "name"), (0, "name"),
                                  ("tools", "messages", 0, "name"))
            first_tool = first_tool or name
            if name == first_tool:
                fr = put(fr, a.fail_tool(o, fr))
        out.append(fr)
    if first_tool is None:
        raise NotExpressible("the turn has no tool result frame")
    return {**stream, n: out}


def terminal_early(stream, a):
    n = TARGET_TURN["terminal_early"]
    frames = _turn(stream, n, a)
    term = [i for i, fr in enumerate(frames) if a.is_terminal(j(fr), fr)]
    calls = [i for i, fr in enumerate(frames) if a.is_tool_call(j(fr), fr)]
    if not term or not calls:
        raise NotExpressible("no terminal frame or no tool call in the turn")
    t = frames.pop(term[-1])
    frames.insert(calls[0], t)
    return {**stream, n: frames}


def event_after_terminal(stream, a):
    """A copy of the turn's last tool result after its terminal frame."""
    n = TARGET_TURN["event_after_terminal"]
    frames = _turn(stream, n, a)
    res = [fr for fr in frames if a.is_tool_result(j(fr), fr)]
    term = [i for i, fr in enumerate(frames) if a.is_terminal(j(fr), fr)]
    if not res or not term:
        raise NotExpressible("no tool result or no terminal frame in the turn")
    late = dict(res[-1])
    late["dt_ms"] = 5
    if late.get("id") is not None and frames[-1].get("id") is not None:
        try:
            late["id"] = str(int(frames[-1]["id"]) + 1)
        except ValueError:
            pass
    frames.insert(term[-1] + 1, late)
    return {**stream, n: frames}


def empty_answer(stream, a):
    n = TARGET_TURN["empty_answer"]
    return {**stream, n: a.empty_answer(_turn(stream, n, a))}


def late_previous_run(stream, a):
    """Turn 2 starts with a frame of turn 1's run: the last frame of turn 1
    that carries a run id (a non-terminal one when there is one)."""
    n = TARGET_TURN["late_previous_run"]
    prev = _turn(stream, n - 1, a)
    with_id = [fr for fr in prev if a.decoded(fr) and a.run_id(j(fr), fr)]
    if not a.has_run_id:
        if with_id:
            raise AssertionError(f"{a.name}: the adaptor says '{a.no_run_id}', but the "
                                 f"recording's frame {with_id[0]['data'][:80]!r} has one")
        raise NotExpressible(a.no_run_id)
    if not with_id:
        raise NotExpressible("no frame of turn 1 carries a run id")
    non_term = [fr for fr in with_id if not a.is_terminal(j(fr), fr)]
    late = dict((non_term or with_id)[-1])
    late["turn"] = n
    late["dt_ms"] = 1
    return {**stream, n: [late] + _turn(stream, n, a)}


def thread_changed(stream, a):
    n = TARGET_TURN["thread_changed"]
    main = _main_thread(stream)
    frames = _turn(stream, n, a)
    if not a.has_thread_id:
        carrying = [fr for fr in frames if a.decoded(fr) and main in fr["data"]]
        if carrying:
            raise AssertionError(f"{a.name}: the adaptor says '{a.no_thread_id}', but the "
                                 f"recording's frame {carrying[0]['data'][:80]!r} has one")
        raise NotExpressible(a.no_thread_id)
    out = []
    changed = False
    for fr in frames:
        if main in fr["data"]:
            fr = dict(fr)
            fr["data"] = fr["data"].replace(main, OTHER_THREAD)
            changed = True
        out.append(fr)
    if not changed:
        raise NotExpressible("no frame of the turn carries the thread id")
    return {**stream, n: out}


# Keys whose values identify a run, call, message or item: a new turn has
# new ones, so a resent answer gets the control turn's own.
ID_KEYS = {"run_id", "parent_run_id", "call_id", "tool_call_id", "runId", "toolCallId",
           "messageId", "parentMessageId", "subagentRunId", "id", "callId", "itemId"}


def _ids(frames):
    seen = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ID_KEYS and isinstance(v, str) and v not in seen:
                    seen.append(v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    for fr in frames:
        ev = fr.get("event") or ""
        for seg in ev.split("|")[1:]:  # LangGraph namespaces: <node>:<task id>
            task = seg.split(":", 1)[-1]
            if task not in seen:
                seen.append(task)
        walk(j(fr))
    return seen


def history_resent_on_new_thread(stream, a):
    """The fresh-thread control turn answered with the main thread's turn 3
    (its figures): turn 3's frames, with the control turn's own run, call and
    message ids (matched in order of appearance: both turns take the same
    route) and, by replay.py, the client's new thread id."""
    n = TARGET_TURN["history_resent_on_new_thread"]
    old, new = stream[3], stream[n]
    remap = {o: w for o, w in zip(_ids(old), _ids(new)) if o != w}

    def walk(x):
        if isinstance(x, dict):
            return {k: (remap.get(v, v) if k in ID_KEYS and isinstance(v, str) else walk(v))
                    for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x
    frames = []
    for fr in old:
        fr = put(dict(fr, turn=n), walk(j(fr)))
        if fr.get("event"):
            ev = fr["event"]
            for o, w in remap.items():
                ev = ev.replace(o, w)
            fr["event"] = ev
        frames.append(fr)
    return {**stream, n: frames}


def _main_thread(stream):
    return THREAD_MAIN


# args_lost: the tool whose argument carries turn 1's figure, and the argument.
ARG_TOOL = "pricing"
ARG_KEY = "spend"


def _lose(args, how):
    """args without the spend: the key (and its spend_* siblings, which say
    the same figure) removed or null, the service's way. Returns (new, changed)."""
    if isinstance(args, str):
        try:
            parsed = json.loads(args)
        except ValueError:
            return args, False
        new, changed = _lose(parsed, how)
        return (json.dumps(new, ensure_ascii=False, separators=(",", ":")), changed) \
            if changed else (args, False)
    if not isinstance(args, dict) or args.get(ARG_KEY) is None:
        return args, False
    keys = [k for k in args if k == ARG_KEY or k.startswith(ARG_KEY + "_")]
    if how == "remove":
        return {k: v for k, v in args.items() if k not in keys}, True
    return {k: (None if k in keys else v) for k, v in args.items()}, True


def _lose_in(x, how):
    """Every call of ARG_TOOL in x (a parsed frame) loses the argument."""
    changed = False
    if isinstance(x, dict):
        is_call = ARG_TOOL in (x.get("name"), x.get("tool"), x.get("tool_name"))
        out = {}
        for k, v in x.items():
            if is_call and k in ("args", "arguments"):
                v, c = _lose(v, how)
            else:
                v, c = _lose_in(v, how)
            changed |= c
            out[k] = v
        return out, changed
    if isinstance(x, list):
        out = []
        for v in x:
            v, c = _lose_in(v, how)
            changed |= c
            out.append(v)
        return out, changed
    return x, False


def _lose_in_deltas(frames, how):
    """AG-UI: the arguments are the TOOL_CALL_ARGS deltas of the call; they are
    joined, the argument lost, and cut again the way the service cuts them."""
    ids = {j(fr).get("toolCallId") for fr in frames
           if j(fr).get("type") == "TOOL_CALL_START" and j(fr).get("toolCallName") == ARG_TOOL}
    idx = [i for i, fr in enumerate(frames)
           if j(fr).get("type") == "TOOL_CALL_ARGS" and j(fr).get("toolCallId") in ids]
    if not idx:
        return frames, False
    whole = "".join(j(frames[i]).get("delta", "") for i in idx)
    new, changed = _lose(whole, how)
    if not changed:
        return frames, False
    size = max(1, len(j(frames[idx[0]]).get("delta", "")))
    pieces = [new[k:k + size] for k in range(0, len(new), size)]
    templ = [frames[i] for i in idx]
    while len(templ) < len(pieces):
        templ.append(templ[-1])
    made = []
    for fr, piece in zip(templ, pieces):
        o = j(fr)
        o["delta"] = piece
        made.append(put(fr, o))
    out = [fr for i, fr in enumerate(frames) if i not in idx]
    for k, fr in enumerate(made):
        out.insert(idx[0] + k, fr)
    return out, True


def args_lost(stream, a):
    """Turn 3's pricing call no longer carries the spend turn 1 gave: the
    argument is removed or null, as the service sends it when it does not know
    it (its own fresh-thread turn 4)."""
    n = TARGET_TURN["args_lost"]
    frames = _turn(stream, n, a)
    if isinstance(a, AgUi):
        out, changed = _lose_in_deltas(frames, a.lost_arg)
    else:
        out, changed = [], False
        for fr in frames:
            o, c = _lose_in(j(fr), a.lost_arg)
            if c:
                fr = put(fr, o)
                changed = True
            out.append(fr)
    if not changed:
        raise NotExpressible(f"no {ARG_TOOL} call of turn {n} carries a {ARG_KEY} argument")
    return {**stream, n: out}


FUNCS = {f.__name__: f for f in (drop_tool_result, tool_status_error, terminal_early,
                                  event_after_terminal, empty_answer, late_previous_run,
                                  thread_changed, history_resent_on_new_thread, args_lost)}
assert list(FUNCS) == MUTATIONS


def load(path):
    stream = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                fr = json.loads(line)
                stream.setdefault(fr["turn"], []).append(fr)
    return stream


def apply(stream, protocol, mutation):
    if not mutation or mutation == "none":
        return stream
    return FUNCS[mutation](stream, ADAPTORS[protocol])
