// Records the openai-agents peer's wire and checks it against the shared flow.
//
//   node tests/peers/openai_agents/record.mjs
//
// Starts server.mjs (a fresh process per recording, so the ids it mints are the same
// every time), plays the scenarios over one WebSocket each, writes every frame the
// server sent, exactly as received, one per line, to recorded/<name>.jsonl, checks the
// answers and the SDK events that carry them, stops the peer with SIGTERM (it must
// exit 0), and ends with `record: N passed, N failed` (exit 1 on any failure).
//
// Recordings:
//   three_turns.jsonl       turns 1-3 of the shared scenario on thread t-1
//   fresh_thread_plan.jsonl turn 3 alone on a new thread (no spend on record)
//   fail_tools.jsonl        turn 1 against the peer started with --fail-tools
//   bad_frames.jsonl        the error frame answering each kind of unusable client frame

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, "recorded");

const T1 = "What does our Kubernetes cluster cost us each month?";
const T2 = "Optimize it for a 40% reduction";
const T3 = "Draft a migration plan";
const CTX = { current_spend: "$50K/month" };

const DATA = "Current spend is $50K/month (cost_db: compute $31K, storage $7K, network $12K).";
const OPT = " Recommended: spot instances and rightsizing for a 42% reduction ($21K/month).";
const STEPS = "1) move interruptible workloads to spot instances, 2) rightsize over-provisioned nodes, " +
    "3) commit the steady baseline to reserved capacity";
const PLAN = `Migration plan (3 phases) from the $50K/month baseline: ${STEPS}; target $29K/month (42% lower).`;
const PLAN_NO_SPEND = `Migration plan (3 phases): no spend on record, so no baseline; ${STEPS}; target a 42% reduction.`;
const ARGS = '{"spend":"$50K/month","spend_k":50}';
const ARGS_NONE = '{"spend":null,"spend_k":null}';
const COST_DB_OUT = '{"spend":"$50K/month","monthly_usd":50000,"breakdown":{"compute":31000,"storage":7000,"network":12000}}';
const PRICING_OUT = '{"savings_pct":42,"strategies":["spot_instances","rightsizing"],"monthly_savings_usd":21000,"projected_monthly_usd":29000}';
const PRICING_OUT_NONE = '{"savings_pct":42,"strategies":["spot_instances","rightsizing"]}';
const SDK_TOOL_ERROR = "An error occurred while running the tool. Please try again.";

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
    if (ok) passed++;
    else {
        failed++;
        process.stderr.write(`FAIL ${name}${detail ? `: ${detail}` : ""}\n`);
    }
}
const eq = (name, got, want) =>
    check(name, JSON.stringify(got) === JSON.stringify(want),
        `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);

// ------------------------------------------------------------------ peer and client

function startPeer(extra = []) {
    return new Promise((resolve, reject) => {
        const proc = spawn(process.execPath, [join(HERE, "server.mjs"), "--port", "0", "--lifetime", "60", ...extra],
            { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        const timer = setTimeout(() => reject(new Error(`peer did not start: ${err}`)), 15000);
        proc.stderr.on("data", (d) => { err += d; });
        proc.stdout.on("data", (d) => {
            out += d;
            const m = /^listening (ws:\/\/127\.0\.0\.1:\d+\/ws)\n/.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve({ proc, url: m[1], stderr: () => err, stdout: () => out });
            }
        });
        proc.on("exit", (code) => reject(new Error(`peer exited early (${code}): ${err}`)));
    });
}

function stopPeer(peer, name) {
    return new Promise((resolve) => {
        peer.proc.removeAllListeners("exit");
        peer.proc.on("exit", (code, signal) => {
            eq(`${name}: peer exits 0 on SIGTERM`, [code, signal], [0, null]);
            eq(`${name}: exactly one line on stdout`, peer.stdout().split("\n").length, 2);
            resolve();
        });
        peer.proc.kill("SIGTERM");
    });
}

// Sends each frame and collects what comes back until the turn ends (run_completed,
// run_error, or an error frame). Returns [{ sent, frames: [raw text] }].
function converse(url, toSend) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const turns = [];
        let i = 0;
        const next = () => {
            if (i === toSend.length) {
                ws.close();
                resolve(turns);
                return;
            }
            const s = toSend[i++];
            turns.push({ sent: s, frames: [] });
            if (s instanceof Buffer) ws.send(s, { binary: true });
            else ws.send(typeof s === "string" ? s : JSON.stringify(s));
        };
        const timer = setTimeout(() => reject(new Error("conversation timed out")), 30000);
        ws.on("open", next);
        ws.on("error", (e) => { clearTimeout(timer); reject(e); });
        ws.on("message", (data, isBinary) => {
            const text = data.toString("utf8");
            turns[turns.length - 1].frames.push(isBinary ? `<binary ${data.length} bytes>` : text);
            const f = JSON.parse(text);
            if (["run_completed", "run_error", "error"].includes(f.type)) {
                if (i === toSend.length) clearTimeout(timer);
                next();
            }
        });
    });
}

function save(name, turns) {
    mkdirSync(OUT, { recursive: true });
    const lines = turns.flatMap((t) => t.frames);
    writeFileSync(join(OUT, `${name}.jsonl`), lines.map((l) => `${l}\n`).join(""));
    process.stdout.write(`recorded ${lines.length} frames to recorded/${name}.jsonl\n`);
}

// ------------------------------------------------------------------ checks on one turn

// What a turn's frames say, read only through the SDK event fields documented in README.md.
function summarize(frames) {
    const evs = frames.map((f) => JSON.parse(f));
    const items = evs.filter((e) => e.type === "run_item_stream_event");
    const byName = (n) => items.filter((e) => e.name === n);
    return {
        evs,
        threadIds: [...new Set(evs.map((e) => e.thread_id))],
        last: evs[evs.length - 1],
        agentsUpdated: evs.filter((e) => e.type === "agent_updated_stream_event").map((e) => e.agent.name),
        handoffs: byName("handoff_occurred").map((e) => [e.item.sourceAgent.name, e.item.targetAgent.name]),
        handoffCalls: byName("handoff_requested").map((e) => [e.item.agent.name, e.item.rawItem.name]),
        toolCalls: byName("tool_called").map((e) => ({
            agent: e.item.agent.name, tool: e.item.rawItem.name,
            callId: e.item.rawItem.callId, args: e.item.rawItem.arguments,
        })),
        toolOutputs: byName("tool_output").map((e) => ({
            agent: e.item.agent.name, tool: e.item.rawItem.name, callId: e.item.rawItem.callId,
            output: e.item.output, rawOutput: e.item.rawItem.output,
            status: e.item.rawItem.status, executionStatus: e.item.executionStatus,
        })),
        reasoningAgents: byName("reasoning_item_created").map((e) => e.item.agent.name),
        messages: byName("message_output_created").map((e) => ({
            agent: e.item.agent.name,
            text: e.item.rawItem.content.filter((c) => c.type === "output_text").map((c) => c.text).join(""),
        })),
        deltas: evs.filter((e) => e.type === "raw_model_stream_event" && e.data.type === "output_text_delta")
            .map((e) => e.data.delta).join(""),
        rawTypes: evs.filter((e) => e.type === "raw_model_stream_event").map((e) => e.data.type),
    };
}

function checkTurn(label, frames, want) {
    const s = summarize(frames);
    eq(`${label}: thread_id on every frame`, s.threadIds, [want.thread]);
    eq(`${label}: ends with run_completed`, s.last.type, "run_completed");
    eq(`${label}: final_output`, s.last.final_output, want.answer);
    eq(`${label}: last_agent`, s.last.last_agent, want.lastAgent);
    eq(`${label}: handoffs (handoff_occurred source -> target)`, s.handoffs, want.handoffs);
    eq(`${label}: handoff_requested by the source agent`, s.handoffCalls.map((h) => h[0]),
        want.handoffs.map((h) => h[0]));
    eq(`${label}: agent_updated_stream_event after each handoff`, s.agentsUpdated, want.handoffs.map((h) => h[1]));
    eq(`${label}: tool calls (agent, tool, arguments)`, s.toolCalls.map((t) => [t.agent, t.tool, t.args]),
        want.tools.map((t) => [t.agent, t.tool, t.args]));
    eq(`${label}: tool outputs (agent, tool, output)`, s.toolOutputs.map((t) => [t.agent, t.tool, t.output]),
        want.tools.map((t) => [t.agent, t.tool, t.output]));
    eq(`${label}: tool outputs pair with their calls by callId`, s.toolOutputs.map((t) => t.callId),
        s.toolCalls.map((t) => t.callId));
    eq(`${label}: rawItem.output of tool_output is {type:text} with the same text`,
        s.toolOutputs.map((t) => t.rawOutput), s.toolOutputs.map((t) => ({ type: "text", text: t.output })));
    eq(`${label}: tool statuses (rawItem.status, executionStatus)`,
        s.toolOutputs.map((t) => [t.status, t.executionStatus]), want.tools.map(() => ["completed", "executed"]));
    eq(`${label}: one message_output_created, by the last agent, with the answer`, s.messages,
        [{ agent: want.lastAgent, text: want.answer }]);
    eq(`${label}: output_text_delta deltas concatenate to the answer`, s.deltas, want.answer);
    const agentsSeen = [...new Set(s.reasoningAgents)];
    eq(`${label}: reasoning items by each agent in route order`, agentsSeen, want.route);
    check(`${label}: every model response is response_started ... response_done`,
        s.rawTypes.filter((t) => t === "response_started").length ===
        s.rawTypes.filter((t) => t === "response_done").length && s.rawTypes[0] === "response_started");
    return s;
}

// ------------------------------------------------------------------ the scenarios

async function main() {
    // 1. The shared 3-turn scenario on one thread, then turn 3 alone on a fresh thread.
    let peer = await startPeer();
    const scenario = await converse(peer.url, [
        { type: "user_message", thread_id: "t-1", message: T1, context: CTX },
        { type: "user_message", thread_id: "t-1", message: T2 },
        { type: "user_message", thread_id: "t-1", message: T3 },
    ]);
    save("three_turns", scenario);
    checkTurn("turn 1", scenario[0].frames, {
        thread: "t-1", answer: DATA, lastAgent: "Data", route: ["Supervisor", "Data"],
        handoffs: [["Supervisor", "Data"]],
        tools: [{ agent: "Data", tool: "cost_db", args: ARGS, output: COST_DB_OUT }],
    });
    checkTurn("turn 2", scenario[1].frames, {
        thread: "t-1", answer: DATA + OPT, lastAgent: "Optimization",
        route: ["Supervisor", "Data", "Optimization"],
        handoffs: [["Supervisor", "Data"], ["Data", "Optimization"]],
        tools: [{ agent: "Data", tool: "cost_db", args: ARGS, output: COST_DB_OUT },
            { agent: "Optimization", tool: "pricing", args: ARGS, output: PRICING_OUT }],
    });
    checkTurn("turn 3 (spend from memory)", scenario[2].frames, {
        thread: "t-1", answer: PLAN, lastAgent: "Optimization", route: ["Supervisor", "Optimization"],
        handoffs: [["Supervisor", "Optimization"]],
        tools: [{ agent: "Optimization", tool: "pricing", args: ARGS, output: PRICING_OUT }],
    });

    const fresh = await converse(peer.url, [{ type: "user_message", thread_id: "t-fresh", message: T3 }]);
    save("fresh_thread_plan", fresh);
    checkTurn("turn 3 on a fresh thread", fresh[0].frames, {
        thread: "t-fresh", answer: PLAN_NO_SPEND, lastAgent: "Optimization", route: ["Supervisor", "Optimization"],
        handoffs: [["Supervisor", "Optimization"]],
        tools: [{ agent: "Optimization", tool: "pricing", args: ARGS_NONE, output: PRICING_OUT_NONE }],
    });

    // Unusable client frames: one error frame each, no turn, the connection stays open.
    const bad = await converse(peer.url, [
        "nope",
        "[1]",
        { type: "hello" },
        { type: "user_message", message: "" },
        { type: "user_message", message: "hi", thread_id: 7 },
        { type: "user_message", message: "hi", context: "x" },
        Buffer.from([1, 2, 3]),
    ]);
    save("bad_frames", bad);
    eq("bad frames: one error frame each", bad.map((t) => JSON.parse(t.frames.join("\n") || "null")), [
        { type: "error", message: "invalid JSON: Unexpected token 'o', \"nope\" is not valid JSON" },
        { type: "error", message: "a frame must be a JSON object" },
        { type: "error", message: "unknown frame type \"hello\" (expected \"user_message\")" },
        { type: "error", message: "message must be a non-empty string" },
        { type: "error", message: "thread_id must be a non-empty string of at most 128 bytes" },
        { type: "error", message: "context must be an object" },
        { type: "error", message: "binary frames are not supported: send JSON text frames" },
    ]);
    await stopPeer(peer, "peer");

    // 2. Turn 1 with every tool failing.
    peer = await startPeer(["--fail-tools"]);
    const ft = await converse(peer.url, [{ type: "user_message", thread_id: "t-fail", message: T1, context: CTX }]);
    save("fail_tools", ft);
    const s = checkTurn("fail-tools turn 1", ft[0].frames, {
        thread: "t-fail", lastAgent: "Data", route: ["Supervisor", "Data"],
        answer: "The cost_db tool was unavailable, so I could not answer with figures this time. Please try again later.",
        handoffs: [["Supervisor", "Data"]],
        tools: [{ agent: "Data", tool: "cost_db", args: ARGS, output: SDK_TOOL_ERROR }],
    });
    check("fail-tools: the thrown message is not on the wire",
        !ft[0].frames.some((f) => f.includes("HTTP 503")));
    check("fail-tools: the thrown message is logged on stderr",
        peer.stderr().includes("tool cost_db throws: cost_db unavailable: HTTP 503"));
    check("fail-tools: no status field says error",
        !s.evs.some((e) => /"status":"(error|failed|incomplete)"/.test(JSON.stringify(e))));
    await stopPeer(peer, "fail-tools peer");

    process.stdout.write(`record: ${passed} passed, ${failed} failed\n`);
    process.exit(failed ? 1 : 0);
}

main().catch((e) => {
    process.stderr.write(`record: ${e?.stack ?? e}\n`);
    process.stdout.write(`record: ${passed} passed, ${failed + 1} failed\n`);
    process.exit(1);
});
