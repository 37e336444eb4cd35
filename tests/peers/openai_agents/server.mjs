// A WebSocket agent service built on the OpenAI Agents SDK for JS, for agentrig's
// end-to-end tests.
//
// agentrig's `openai-agents` profile has to be proved against what the SDK itself
// emits, not against our reading of it. So this peer runs real SDK Agents (real
// handoffs, real `tool()` function tools, the SDK's run loop and tool error
// handling) and forwards every event of the SDK's streamed run to the client as
// the SDK serializes it (`JSON.stringify(event)`, which calls the SDK's own
// `toJSON()` on run items and agents), with `thread_id` added at the root. Only
// the LLM is replaced: a scripted `Model` (the SDK's Model interface) that reads
// the request's input items and decides, deterministically and offline, which
// function call, handoff or final text to emit, and streams it as model stream
// events so `raw_model_stream_event` frames appear as with a real model.
//
// It serves the same small flow as refagent and the other peers in tests/peers
// (Supervisor -> Data (cost_db) [-> Optimization (pricing)], Optimization alone
// for a migration plan, or Compliance (compliance_check) for PCI/compliance; the
// monthly spend remembered per thread) but shares no
// code with them. See README.md for the wire format.
//
//   node tests/peers/openai_agents/server.mjs [--port 0] [--lifetime 300] [--fail-tools] [--delay-ms N]
//
// prints `listening ws://127.0.0.1:PORT/ws` once it accepts connections.

// No network: tracing would export to OpenAI. Set before the SDK is loaded, and
// again with setTracingDisabled() below.
process.env.OPENAI_AGENTS_DISABLE_TRACING = "1";

import http from "node:http";

const MAX_FRAME_BYTES = 1024 * 1024;
const USAGE = "usage: node server.mjs [--port N] [--lifetime SECONDS] [--fail-tools] [--delay-ms MS]\n";

function usage(msg) {
    process.stderr.write(`openai-agents peer: ${msg}\n${USAGE}`);
    process.exit(2);
}

function parseArgs(argv) {
    const opts = {
        port: 0, lifetimeS: 300, delayMs: 2,
        failTools: process.env.OA_PEER_FAIL_TOOLS === "1",
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const num = () => {
            const v = Number(argv[++i]);
            if (argv[i] === undefined || !Number.isFinite(v) || v < 0) usage(`${a} needs a number >= 0`);
            return v;
        };
        if (a === "--port") opts.port = num();
        else if (a === "--lifetime") opts.lifetimeS = num();
        else if (a === "--delay-ms") opts.delayMs = num();
        else if (a === "--fail-tools") opts.failTools = true;
        else if (a === "--help" || a === "-h") {
            process.stdout.write(USAGE);
            process.exit(0);
        }
        else usage(`unknown argument ${a}`);
    }
    if (!Number.isInteger(opts.port) || opts.port > 65535) usage("--port must be an integer 0..65535");
    if (opts.lifetimeS <= 0) usage("--lifetime must be > 0");
    return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (msg) => process.stderr.write(`openai-agents peer: ${msg}\n`);

// Stopping. Installed before the packages are loaded (the SDK takes a moment), so a SIGTERM that comes
// early still exits 0. Open connections are closed with 1001.
let httpServer = null;
let wss = null;
function shutdown(why, code = 0) {
    log(`stopping: ${why}`);
    if (!httpServer?.listening) process.exit(code);
    for (const ws of wss.clients) ws.close(1001, "server shutting down");
    httpServer.close();
    setTimeout(() => process.exit(code), 50).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
setTimeout(() => shutdown(`lifetime of ${opts.lifetimeS}s over`), opts.lifetimeS * 1000).unref();

const { Agent, run, tool, setTracingDisabled, user } = await import("@openai/agents-core");
const { z } = await import("zod");
const { WebSocketServer } = await import("ws");
setTracingDisabled(true);

// ------------------------------------------------------------------ the flow (pure functions)

// "$50K/month" -> 50, "$50,000/month" -> 50, 50000 -> 50; null when unreadable.
function parseSpendK(value) {
    if (typeof value === "number") return value > 0 ? value / 1000 : null;
    if (typeof value !== "string") return null;
    const m = /\$?\s*(\d[\d,]*(?:\.\d+)?)\s*([kK])?/.exec(value);
    if (!m) return null;
    const num = Number(m[1].replace(/,/g, ""));
    const k = m[2] ? num : num / 1000;
    return k > 0 ? k : null;
}

const SPEND_IN_MESSAGE = /\$\s*(\d+(?:\.\d+)?)\s*K\s*\/\s*month/i;

// 50 -> "$50K", 12.5 -> "$12.5K"
const fmtK = (k) => `$${Math.round(k * 10) / 10}K`;

// Route from the user's message, case-insensitive, first match wins.
function routeFor(message) {
    const low = message.toLowerCase();
    if (low.includes("complian") || low.includes("pci")) return "compliance";
    if (low.includes("optimi") || low.includes("reduc") || low.includes("%")) return "optimize";
    if (low.includes("cost") || low.includes("spend")) return "cost";
    if (low.includes("migrat") || low.includes("plan")) return "plan";
    return "direct";
}

function costDbResult(spendK) {
    if (spendK == null) return { spend: null, monthly_usd: null, breakdown: null };
    const total = Math.round(spendK * 1000);
    const compute = Math.round(total * 0.62);
    const storage = Math.round(total * 0.14);
    return {
        spend: `${fmtK(spendK)}/month`, monthly_usd: total,
        breakdown: { compute, storage, network: total - compute - storage },
    };
}

function pricingResult(spendK) {
    const out = { savings_pct: 42, strategies: ["spot_instances", "rightsizing"] };
    if (spendK != null) {
        const total = Math.round(spendK * 1000);
        out.monthly_savings_usd = Math.round(total * 0.42);
        out.projected_monthly_usd = total - out.monthly_savings_usd;
    }
    return out;
}

function dataText(cost) {
    if (!cost || cost.monthly_usd == null) return "No spend on record.";
    const b = cost.breakdown;
    return `Current spend is ${cost.spend} (cost_db: compute ${fmtK(b.compute / 1000)}, ` +
        `storage ${fmtK(b.storage / 1000)}, network ${fmtK(b.network / 1000)}).`;
}

function optimizationText(p) {
    if (p.monthly_savings_usd == null)
        return `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction.`;
    return `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction ` +
        `(${fmtK(p.monthly_savings_usd / 1000)}/month).`;
}

function planText(spend, p) {
    const steps = "1) move interruptible workloads to spot instances, 2) rightsize over-provisioned " +
        "nodes, 3) commit the steady baseline to reserved capacity";
    if (spend == null || p.projected_monthly_usd == null)
        return `Migration plan (3 phases): no spend on record, so no baseline; ${steps}; ` +
            `target a ${p.savings_pct}% reduction.`;
    return `Migration plan (3 phases) from the ${spend} baseline: ${steps}; ` +
        `target ${fmtK(p.projected_monthly_usd / 1000)}/month (${p.savings_pct}% lower).`;
}

const COMPLIANCE_FRAMEWORKS = ["PCI-DSS"];

function complianceCheckResult() {
    return {
        frameworks: [...COMPLIANCE_FRAMEWORKS],
        controls: ["network segmentation", "encryption in transit and at rest",
            "quarterly vulnerability scans", "12-month access logs"],
    };
}

function complianceText(spend) {
    const steps = "segment cardholder data, encrypt in transit and at rest, scan quarterly, " +
        "keep access logs for 12 months.";
    if (spend == null) return `PCI-DSS constraints (no spend on record): ${steps}`;
    return `PCI-DSS constraints for the ${spend} baseline: ${steps}`;
}

const DIRECT_TEXT = "I can report your cloud spend, recommend how to reduce it, or draft a migration " +
    "plan. Ask about cost, optimization or migration.";

function unavailableText(failed) {
    return `The ${failed.join(" and ")} tool${failed.length > 1 ? "s were" : " was"} unavailable, ` +
        "so I could not answer with figures this time. Please try again later.";
}

// ------------------------------------------------------------------ the SDK agents and tools

// The tools' arguments, as the model sends them: the spend as text and in $K (null: none known).
// Strict JSON schema (the SDK's default), so both keys are always present.
const SpendArgs = z.object({
    spend: z.string().nullable().describe('the monthly spend, e.g. "$50K/month"; null when unknown'),
    spend_k: z.number().nullable().describe("the monthly spend in thousands of USD; null when unknown"),
});

// compliance_check's arguments: the frameworks to check and the spend as text (null: none known).
const ComplianceArgs = z.object({
    frameworks: z.array(z.string()).describe('the compliance frameworks to check, e.g. ["PCI-DSS"]'),
    spend: z.string().nullable().describe('the monthly spend, e.g. "$50K/month"; null when unknown'),
});

// --fail-tools: every tool throws, as a tool whose backend is down would.
function failTool(name) {
    const err = new Error(`${name} unavailable: HTTP 503`);
    log(`tool ${name} throws: ${err.message}`);
    throw err;
}

// No errorFunction: a throwing tool goes through the SDK's default tool error handling,
// which turns the exception into the tool's output for the model.
const costDb = tool({
    name: "cost_db",
    description: "This month's cloud spend, broken down by category (USD).",
    parameters: SpendArgs,
    execute: async (args) => {
        if (opts.failTools) failTool("cost_db");
        return costDbResult(args.spend_k);
    },
});

const pricing = tool({
    name: "pricing",
    description: "What spot instances plus rightsizing would save on the monthly spend.",
    parameters: SpendArgs,
    execute: async (args) => {
        if (opts.failTools) failTool("pricing");
        return pricingResult(args.spend_k);
    },
});

const complianceCheck = tool({
    name: "compliance_check",
    description: "The controls a compliance framework (e.g. PCI-DSS) requires.",
    parameters: ComplianceArgs,
    execute: async () => {
        if (opts.failTools) failTool("compliance_check");
        return complianceCheckResult();
    },
});

// The run context (RunContext.context) is { thread_id, current_spend } where current_spend is
// the spend the thread store holds for this turn; the instructions show it to the model the
// way a real service shows app state to an LLM.
const withContext = (text) => (runContext) =>
    `${text}\nMonthly spend on record: ${runContext.context?.current_spend ?? "none"}.`;

// ------------------------------------------------------------------ the scripted model

let seq = 0;
const nextId = (prefix) => `${prefix}_${String(++seq).padStart(4, "0")}`;

function textOf(content) {
    if (typeof content === "string") return content;
    if (!Array.isArray(content)) return "";
    return content.filter((p) => p && typeof p.text === "string").map((p) => p.text).join("");
}

// A tool output item's text (the SDK stores it as a string, or as {type:'text', text} in history).
function outputText(output) {
    if (typeof output === "string") return output;
    if (output && typeof output === "object" && typeof output.text === "string") return output.text;
    if (Array.isArray(output)) return textOf(output);
    return "";
}

function parseJsonObject(s) {
    try {
        const v = JSON.parse(s);
        return v && typeof v === "object" && !Array.isArray(v) ? v : null;
    } catch {
        return null;
    }
}

// Reads what this turn is about from the request the SDK sends the model: the last user
// message, and the tool results that came after it (this turn's, across handoffs).
function readTurn(request) {
    const items = typeof request.input === "string"
        ? [{ type: "message", role: "user", content: request.input }]
        : request.input;
    let start = 0;
    for (let i = items.length - 1; i >= 0; i--) {
        const it = items[i];
        if ((it.type === "message" || it.type === undefined) && it.role === "user") {
            start = i;
            break;
        }
    }
    const message = textOf(items[start]?.content);
    const results = {}; // tool name -> parsed result, or null when the tool failed
    const failed = [];
    for (const it of items.slice(start + 1)) {
        if (it.type !== "function_call_result") continue;
        if (it.name !== "cost_db" && it.name !== "pricing" && it.name !== "compliance_check") continue;
        const parsed = parseJsonObject(outputText(it.output));
        results[it.name] = parsed;
        if (!parsed) failed.push(it.name);
    }
    // The spend: "$NK/month" in the message wins over the one on record (instructions).
    let spend = null;
    const m = SPEND_IN_MESSAGE.exec(message);
    if (m) spend = `${fmtK(Number(m[1]))}/month`;
    else {
        const r = /Monthly spend on record: (\$[^\s]+\/month)\./.exec(request.systemInstructions ?? "");
        if (r) spend = r[1];
    }
    return { message, route: routeFor(message), results, failed, spend };
}

const spendArgs = (spend) => JSON.stringify({ spend, spend_k: spend == null ? null : parseSpendK(spend) });

const reasoning = (text) => ({
    type: "reasoning", id: nextId("rs"), content: [{ type: "input_text", text }],
});
const functionCall = (name, args) => ({
    type: "function_call", id: nextId("fc"), callId: nextId("call"), name, arguments: args,
    status: "completed",
});
const assistantMessage = (text) => ({
    type: "message", id: nextId("msg"), role: "assistant", status: "completed",
    content: [{ type: "output_text", text }],
});

// What each agent's "LLM" answers. Handoffs are the SDK's handoff tools
// (the SDK names them transfer_to_Data, transfer_to_Optimization, transfer_to_Compliance),
// called like any function.
function decide(agentName, request) {
    const t = readTurn(request);
    const handoffTool = (agent) => {
        const want = `transfer_to_${agent}`.toLowerCase();
        const h = request.handoffs.find((x) => x.toolName.toLowerCase() === want);
        if (!h) throw new Error(`${agentName} has no handoff to ${agent}`);
        return h.toolName;
    };
    if (agentName === "Supervisor") {
        if (t.route === "compliance")
            return [reasoning("Routing to Compliance: the request asks for compliance constraints."),
                functionCall(handoffTool("Compliance"), "{}")];
        if (t.route === "optimize")
            return [reasoning("Routing to Data, then Optimization: the request asks for a reduction."),
                functionCall(handoffTool("Data"), "{}")];
        if (t.route === "cost")
            return [reasoning("Routing to Data: the request asks about spend."),
                functionCall(handoffTool("Data"), "{}")];
        if (t.route === "plan")
            return [reasoning("Routing to Optimization: the request asks for a migration plan."),
                functionCall(handoffTool("Optimization"), "{}")];
        return [reasoning("No specialist needed: answering directly."), assistantMessage(DIRECT_TEXT)];
    }
    if (agentName === "Data") {
        if (!("cost_db" in t.results))
            return [reasoning("Looking up this month's spend in cost_db."),
                functionCall("cost_db", spendArgs(t.spend))];
        if (t.route === "optimize")
            return [reasoning("Handing off to Optimization for the reduction."),
                functionCall(handoffTool("Optimization"), "{}")];
        if (t.failed.length) return [assistantMessage(unavailableText(t.failed))];
        return [assistantMessage(dataText(t.results.cost_db))];
    }
    if (agentName === "Optimization") {
        if (!("pricing" in t.results))
            return [reasoning(t.route === "plan" ? "Pricing the migration plan's savings."
                : "Pricing spot instances and rightsizing."),
                functionCall("pricing", spendArgs(t.spend))];
        if (t.failed.length) return [assistantMessage(unavailableText(t.failed))];
        if (t.route === "plan") return [assistantMessage(planText(t.spend, t.results.pricing))];
        return [assistantMessage(`${dataText(t.results.cost_db)} ${optimizationText(t.results.pricing)}`)];
    }
    if (agentName === "Compliance") {
        if (!("compliance_check" in t.results))
            return [reasoning("Checking the PCI-DSS controls with compliance_check."),
                functionCall("compliance_check",
                    JSON.stringify({ frameworks: [...COMPLIANCE_FRAMEWORKS], spend: t.spend }))];
        if (t.failed.length) return [assistantMessage(unavailableText(t.failed))];
        return [assistantMessage(complianceText(t.spend))];
    }
    throw new Error(`no script for agent ${agentName}`);
}

// Splits text into n roughly equal non-empty pieces (fewer when the text is shorter).
function chunks(text, n) {
    const size = Math.max(1, Math.ceil(text.length / n));
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
}

const ZERO_USAGE = { requests: 1, inputTokens: 0, outputTokens: 0, totalTokens: 0 };

// The SDK's Model interface, scripted. One instance per agent.
class ScriptedModel {
    constructor(agentName) {
        this.agentName = agentName;
    }

    async getResponse(request) {
        return {
            usage: { ...ZERO_USAGE },
            output: decide(this.agentName, request),
            responseId: nextId("resp"),
        };
    }

    // Streams like a Responses model seen through the SDK: response_started, the text as
    // output_text_delta chunks, then response_done carrying the whole output.
    async *getStreamedResponse(request) {
        const output = decide(this.agentName, request);
        const responseId = nextId("resp");
        yield { type: "response_started" };
        for (const item of output) {
            if (item.type !== "message") continue;
            for (const delta of chunks(textOf(item.content), 4))
                yield { type: "output_text_delta", itemId: item.id, delta };
        }
        yield { type: "response_done", response: { id: responseId, usage: { ...ZERO_USAGE }, output } };
    }
}

const optimizationAgent = new Agent({
    name: "Optimization",
    handoffDescription: "Prices savings (tool pricing) and drafts migration plans.",
    instructions: withContext("You are Optimization. Price savings with the pricing tool and " +
        "recommend reductions or draft a migration plan."),
    model: new ScriptedModel("Optimization"),
    tools: [pricing],
});

const dataAgent = new Agent({
    name: "Data",
    handoffDescription: "Reads the monthly cloud spend from cost_db.",
    instructions: withContext("You are Data. Read the spend with the cost_db tool; hand off to " +
        "Optimization when the user wants a reduction."),
    model: new ScriptedModel("Data"),
    tools: [costDb],
    handoffs: [optimizationAgent],
});

const complianceAgent = new Agent({
    name: "Compliance",
    handoffDescription: "Lists the controls a compliance framework such as PCI-DSS requires (tool compliance_check).",
    instructions: withContext("You are Compliance. Check the framework's controls with the " +
        "compliance_check tool and state the constraints."),
    model: new ScriptedModel("Compliance"),
    tools: [complianceCheck],
});

const supervisorAgent = new Agent({
    name: "Supervisor",
    instructions: withContext("You are Supervisor, the triage agent. Hand off cost questions to " +
        "Data, reductions to Data (then Optimization), migration plans to Optimization, " +
        "compliance (PCI) questions to Compliance; " +
        "otherwise answer yourself."),
    model: new ScriptedModel("Supervisor"),
    handoffs: [dataAgent, optimizationAgent, complianceAgent],
});

// ------------------------------------------------------------------ threads

// thread_id -> { history: AgentInputItem[], spendK: number|null, busy: Promise }
const threads = new Map();
let threadCounter = 0;

function threadFor(id) {
    let t = threads.get(id);
    if (!t) {
        t = { history: [], spendK: null, busy: Promise.resolve() };
        threads.set(id, t);
    }
    return t;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs one turn and streams it. Turns of one thread run one at a time (shared by all connections).
function runTurn(ws, frame) {
    const threadId = frame.thread_id ?? `thread-${++threadCounter}`;
    const thread = threadFor(threadId);
    const turn = thread.busy.then(() => streamTurn(ws, threadId, thread, frame));
    thread.busy = turn.catch(() => {});
    return turn;
}

async function streamTurn(ws, threadId, thread, frame) {
    const send = async (obj) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(obj));
        if (opts.delayMs > 0) await sleep(opts.delayMs);
    };
    // Memory: the message's "$NK/month" wins over the context's current_spend; kept per thread.
    const m = SPEND_IN_MESSAGE.exec(frame.message);
    const ctxK = parseSpendK(frame.context?.current_spend);
    if (m) thread.spendK = Number(m[1]);
    else if (ctxK != null) thread.spendK = ctxK;
    const context = {
        ...(frame.context ?? {}),
        thread_id: threadId,
        current_spend: thread.spendK == null ? null : `${fmtK(thread.spendK)}/month`,
    };
    try {
        const input = [...thread.history, user(frame.message)];
        const result = await run(supervisorAgent, input, { stream: true, context, maxTurns: 10 });
        for await (const event of result) {
            // The SDK's own serialization (toJSON of items and agents), thread_id added at the root.
            await send({ ...event, thread_id: threadId });
        }
        await result.completed;
        if (result.error) throw result.error;
        thread.history = result.history;
        await send({
            type: "run_completed", thread_id: threadId,
            final_output: result.finalOutput ?? null,
            last_agent: result.lastAgent?.name ?? null,
        });
    } catch (err) {
        log(`run failed on thread ${threadId}: ${err?.stack ?? err}`);
        await send({ type: "run_error", thread_id: threadId, message: String(err?.message ?? err) });
    }
}

// ------------------------------------------------------------------ the WebSocket server

// Validates one client frame; returns { frame } or { error }.
function parseFrame(data, isBinary) {
    if (isBinary) return { error: "binary frames are not supported: send JSON text frames" };
    let frame;
    try {
        frame = JSON.parse(data.toString("utf8"));
    } catch (e) {
        return { error: `invalid JSON: ${e.message}` };
    }
    if (!frame || typeof frame !== "object" || Array.isArray(frame))
        return { error: "a frame must be a JSON object" };
    if (frame.type !== "user_message")
        return { error: `unknown frame type ${JSON.stringify(frame.type ?? null)} (expected "user_message")` };
    if (typeof frame.message !== "string" || frame.message.trim() === "")
        return { error: "message must be a non-empty string" };
    if (frame.thread_id != null &&
        (typeof frame.thread_id !== "string" || frame.thread_id === "" ||
            Buffer.byteLength(frame.thread_id) > 128))
        return { error: "thread_id must be a non-empty string of at most 128 bytes" };
    if (frame.context != null && (typeof frame.context !== "object" || Array.isArray(frame.context)))
        return { error: "context must be an object" };
    return { frame };
}

httpServer = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const [status, body] = path === "/ws"
        ? [426, { error: "upgrade required: open a WebSocket on /ws" }]
        : [404, { error: `no such path ${path}: the WebSocket is at /ws` }];
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
});

wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

httpServer.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/ws") {
        socket.end("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
            JSON.stringify({ error: `no such path ${path}: the WebSocket is at /ws` }));
        return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});

wss.on("connection", (ws) => {
    // A connection answers its messages one at a time, in order.
    let queue = Promise.resolve();
    ws.on("message", (data, isBinary) => {
        const { frame, error } = parseFrame(data, isBinary);
        if (error) {
            ws.send(JSON.stringify({ type: "error", message: error }));
            return;
        }
        queue = queue.then(() => runTurn(ws, frame)).catch((e) => log(`turn failed: ${e?.stack ?? e}`));
    });
    ws.on("error", (e) => log(`connection error: ${e.message}`));
});

httpServer.listen(opts.port, "127.0.0.1", () => {
    const { port } = httpServer.address();
    process.stdout.write(`listening ws://127.0.0.1:${port}/ws\n`);
    log(`fail-tools ${opts.failTools ? "on" : "off"}, delay ${opts.delayMs} ms, lifetime ${opts.lifetimeS} s`);
});
