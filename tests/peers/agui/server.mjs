// An AG-UI agent service for agentrig's end-to-end tests.
//
// agentrig's `ag-ui` profile has to be proved against the protocol as its
// authors ship it, not against our reading of it, so this peer builds every
// event with the official @ag-ui/core types, validates input and output with
// @ag-ui/core's own zod schemas and encodes with @ag-ui/encoder. It serves the
// same small multi-agent flow as refagent and tests/peers/netra_peer.py
// (Supervisor -> Data (cost_db) / Optimization (pricing) / Compliance
// (compliance_check), memory per thread)
// but shares no code with either, so one scenario passing against all three
// exercises the harness rather than a common bug.
//
// AG-UI is stateless per request: the client POSTs a RunAgentInput with the
// whole conversation each turn, under the same threadId, and reads the answer
// as Server-Sent Events. The spend is still remembered per threadId, like a
// real service's thread store, so a turn that does not repeat it still knows it.
//
// --broken (or AGUI_BROKEN=1) breaks AG-UI's ordering rules on purpose so the
// harness's invariant validator has something to catch; see README.md.
//
// --fail-tools (or PEER_FAIL_TOOLS=1) makes every tool call fail ("cost_db
// unavailable: HTTP 503"): the result is the error, each specialist ends with
// SUBAGENT_ERROR, and the run still finishes with an answer saying so.
//
//   node tests/peers/agui/server.mjs --port 0 [--lifetime 300] [--delay-ms 5] [--broken] [--fail-tools]
//
// prints `listening http://127.0.0.1:PORT/agent` once it accepts requests.

import http from "node:http";
import { EventType } from "@ag-ui/core";
import { EventSchema, RunAgentInputSchema } from "@ag-ui/core/schemas";
import { EventEncoder } from "@ag-ui/encoder";

const MAX_BODY_BYTES = 1024 * 1024;

const USAGE = "usage: node server.mjs [--port N] [--lifetime SECONDS] [--delay-ms MS] [--broken] [--fail-tools]\n";

function usage(msg) {
    process.stderr.write(`agui peer: ${msg}\n${USAGE}`);
    process.exit(2);
}

function parseArgs(argv) {
    const opts = {
        port: 0, lifetimeS: 300, delayMs: 5, broken: process.env.AGUI_BROKEN === "1",
        failTools: process.env.PEER_FAIL_TOOLS === "1",
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
        else if (a === "--broken") opts.broken = true;
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

// ------------------------------------------------------------------ the agents

// threadId -> { spendK: number|null }
const memory = new Map();
// Ids the server mints carry "srv-" so they never collide with the client's own message ids
// (agentrig's history uses msg-1, msg-2, ...), which come back in the next turn's messages.
let idCounter = 0;
const newId = (prefix) => `srv-${prefix}-${++idCounter}`;

// "$50K/month" -> 50, 50000 -> 50, "$50,000/month" -> 50; null when unreadable.
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
function fmtK(k) {
    const r = Math.round(k * 10) / 10;
    return `$${r}K`;
}

function routeFor(message) {
    const low = message.toLowerCase();
    if (low.includes("complian") || low.includes("pci")) return { agents: ["Compliance"], mode: "compliance" };
    if (low.includes("optimi") || low.includes("reduc") || low.includes("%"))
        return { agents: ["Data", "Optimization"], mode: "optimize" };
    if (low.includes("cost") || low.includes("spend")) return { agents: ["Data"], mode: "cost" };
    if (low.includes("migrat") || low.includes("plan")) return { agents: ["Optimization"], mode: "plan" };
    return { agents: [], mode: "direct" };
}

// The Data agent's tool: this month's spend broken down by category (USD).
function costDb(args) {
    if (args.spend_k == null) return { spend: null, monthly_usd: null, breakdown: null };
    const total = Math.round(args.spend_k * 1000);
    const compute = Math.round(total * 0.62);
    const storage = Math.round(total * 0.14);
    return {
        spend: `${fmtK(args.spend_k)}/month`, monthly_usd: total,
        breakdown: { compute, storage, network: total - compute - storage },
    };
}

// The Optimization agent's tool: what spot instances plus rightsizing would save.
function pricing(args) {
    const out = { savings_pct: 42, strategies: ["spot_instances", "rightsizing"] };
    if (args.spend_k != null) {
        const total = Math.round(args.spend_k * 1000);
        out.monthly_savings_usd = Math.round(total * 0.42);
        out.projected_monthly_usd = total - out.monthly_savings_usd;
    }
    return out;
}

// The Compliance agent's tool: the controls the frameworks require (spend-independent).
const COMPLIANCE_FRAMEWORKS = ["PCI-DSS"];
function complianceCheck(_args) {
    return {
        frameworks: [...COMPLIANCE_FRAMEWORKS],
        controls: ["network segmentation", "encryption in transit and at rest",
            "quarterly vulnerability scans", "12-month access logs"],
    };
}

function complianceText(spendK) {
    const where = spendK != null ? `for the ${fmtK(spendK)}/month baseline` : "(no spend on record)";
    return `PCI-DSS constraints ${where}: segment cardholder data, encrypt in transit and at rest, ` +
        "scan quarterly, keep access logs for 12 months.";
}

function dataText(spendK, cost) {
    if (spendK == null) return "No spend on record.";
    const b = cost.breakdown;
    return `Current spend is ${fmtK(spendK)}/month (cost_db: compute ${fmtK(b.compute / 1000)}, ` +
        `storage ${fmtK(b.storage / 1000)}, network ${fmtK(b.network / 1000)}).`;
}

function optimizationText(spendK, p) {
    if (spendK == null) return `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction.`;
    return `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction ` +
        `(${fmtK(p.monthly_savings_usd / 1000)}/month).`;
}

function planText(spendK, p) {
    const steps = "1) move interruptible workloads to spot instances, 2) rightsize over-provisioned " +
        "nodes, 3) commit the steady baseline to reserved capacity";
    if (spendK == null)
        return `Migration plan (3 phases): no spend on record, so no baseline; ${steps}; ` +
            `target a ${p.savings_pct}% reduction.`;
    return `Migration plan (3 phases) from the ${fmtK(spendK)}/month baseline: ${steps}; ` +
        `target ${fmtK(p.projected_monthly_usd / 1000)}/month (${p.savings_pct}% lower).`;
}

const DIRECT_TEXT = "I can report your cloud spend, recommend how to reduce it, or draft a migration " +
    "plan. Ask about cost, optimization or migration.";

// --fail-tools: the error every tool call gets, and the Supervisor's answer naming the failed
// tools, e.g. "I could not reach cost_db: the cost data is unavailable right now."
const TOOL_DATA = { cost_db: "cost", pricing: "pricing", compliance_check: "compliance" };

// Each specialist: its tool, the tool's function, SUBAGENT_STARTED's description and its thought.
const SPECIALISTS = {
    Data: { tool: "cost_db", fn: costDb, description: "reads spend from cost_db",
        thought: "Looking up this month's spend in cost_db." },
    Optimization: { tool: "pricing", fn: pricing, description: "prices savings with pricing",
        thought: "Pricing spot instances and rightsizing." },
    Compliance: { tool: "compliance_check", fn: complianceCheck,
        description: "checks compliance controls with compliance_check",
        thought: "Checking PCI-DSS controls with compliance_check." },
};
const toolUnavailable = (name) => `${name} unavailable: HTTP 503`;
function unavailableText(failed) {
    const kinds = failed.map((t) => TOOL_DATA[t]);
    return `I could not reach ${failed.join(" or ")}: the ${kinds.join(" and ")} data ` +
        `${kinds.length === 1 ? "is" : "are"} unavailable right now.`;
}

// The spend for this turn, from (later wins) the context entries, state, forwardedProps and the
// message itself; AG-UI's context is an array of {description, value} strings.
function spendFromInput(input, message) {
    let k = null;
    for (const c of input.context ?? []) {
        if (/spend/i.test(c.description)) k = parseSpendK(c.value) ?? k;
    }
    const st = input.state;
    if (st && typeof st === "object" && !Array.isArray(st)) k = parseSpendK(st.current_spend) ?? k;
    const fp = input.forwardedProps;
    if (fp && typeof fp === "object") {
        k = parseSpendK(fp.current_spend) ?? k;
        if (fp.context && typeof fp.context === "object") k = parseSpendK(fp.context.current_spend) ?? k;
    }
    const m = SPEND_IN_MESSAGE.exec(message);
    if (m) k = Number(m[1]);
    return k;
}

function messageText(content) {
    if (typeof content === "string") return content;
    if (Array.isArray(content))
        return content.filter((p) => p.type === "text").map((p) => p.text).join(" ");
    return "";
}

// Splits text into n roughly equal non-empty pieces (fewer when the text is shorter).
function chunks(text, n) {
    const size = Math.max(1, Math.ceil(text.length / n));
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
}

// ------------------------------------------------------------------ the stream

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Stream {
    constructor(res, opts) {
        this.res = res;
        this.opts = opts;
        this.encoder = new EventEncoder();
        this.closed = false;
        res.on("close", () => { this.closed = true; });
    }

    // Writes one event as its own SSE frame, then pauses, so a client sees the turn arrive
    // event by event rather than in one write at the end.
    async emit(event) {
        if (this.closed) return;
        const ev = { ...event, timestamp: Date.now() };
        if (!this.opts.broken) {
            const check = EventSchema.safeParse(ev);
            if (!check.success)
                throw new Error(`peer bug: ${ev.type} fails @ag-ui/core's EventSchema: ${check.error.message}`);
        }
        this.res.write(this.encoder.encode(ev));
        if (this.opts.delayMs > 0) await sleep(this.opts.delayMs);
    }

    async reasoning(agent, subagentRunId, text) {
        const id = newId("reasoning");
        const attr = { ...(subagentRunId ? { subagentRunId } : {}), metadata: { agentName: agent } };
        await this.emit({ type: EventType.REASONING_START, messageId: id, ...attr });
        await this.emit({ type: EventType.REASONING_MESSAGE_START, messageId: id, role: "reasoning", ...attr });
        for (const d of chunks(text, 2))
            await this.emit({ type: EventType.REASONING_MESSAGE_CONTENT, messageId: id, delta: d, ...attr });
        await this.emit({ type: EventType.REASONING_MESSAGE_END, messageId: id, ...attr });
        await this.emit({ type: EventType.REASONING_END, messageId: id, ...attr });
    }

    // A real function call, streamed as START, ARGS (the JSON in pieces), END, RESULT.
    async tool(agent, subagentRunId, name, fn, args) {
        const toolCallId = newId("call");
        // metadata.toolName repeats the name on every tool event (TOOL_CALL_RESULT has no
        // toolCallName in AG-UI), so a stateless decoder can still name the tool.
        const attr = { subagentRunId, metadata: { agentName: agent, toolName: name } };
        await this.emit({
            type: EventType.TOOL_CALL_START, toolCallId, toolCallName: name,
            parentMessageId: newId("msg"), ...attr,
        });
        for (const d of chunks(JSON.stringify(args), 3))
            await this.emit({ type: EventType.TOOL_CALL_ARGS, toolCallId, delta: d, ...attr });
        await this.emit({ type: EventType.TOOL_CALL_END, toolCallId, ...attr });
        if (this.opts.failTools) {
            // AG-UI has no tool status: the result's content is the error.
            await this.emit({
                type: EventType.TOOL_CALL_RESULT, messageId: newId("msg"), toolCallId,
                content: JSON.stringify({ error: toolUnavailable(name) }), role: "tool", ...attr,
            });
            return null;
        }
        const result = fn(args);
        await this.emit({
            type: EventType.TOOL_CALL_RESULT, messageId: newId("msg"), toolCallId,
            content: JSON.stringify(result), role: "tool", ...attr,
        });
        return result;
    }
}

async function runTurn(input, res, opts) {
    const s = new Stream(res, opts);
    const { threadId, runId } = input;
    const sup = { metadata: { agentName: "Supervisor" } };
    await s.emit({ type: EventType.RUN_STARTED, threadId, runId, ...sup });

    const lastUser = [...input.messages].reverse().find((m) => m.role === "user");
    const message = lastUser ? messageText(lastUser.content).trim() : "";
    if (!message) {
        await s.emit({
            type: EventType.RUN_ERROR, code: "NO_USER_MESSAGE",
            message: "no user message with text in messages: nothing to answer",
        });
        return;
    }

    const mem = memory.get(threadId) ?? { spendK: null };
    memory.set(threadId, mem);
    const spend = spendFromInput(input, message);
    if (spend != null) mem.spendK = spend;
    const spendK = mem.spendK;

    const { agents, mode } = routeFor(message);
    const why = { optimize: "the request asks for a reduction", cost: "the request is about cost",
        plan: "the request asks for a plan", compliance: "the request asks for compliance constraints" }[mode];
    await s.reasoning("Supervisor", null, agents.length
        ? `Routing to ${agents.join(", ")}: ${why}.` : "No specialist needed: answering directly.");

    const parts = [];
    const tools = [];
    const failed = [];
    const result = {};
    const spendText = spendK != null ? `${fmtK(spendK)}/month` : null;
    for (const agent of agents) {
        const spec = SPECIALISTS[agent];
        const args = agent === "Compliance"
            ? { frameworks: [...COMPLIANCE_FRAMEWORKS], spend: spendText }
            : { spend: spendText, spend_k: spendK };
        const subagentRunId = newId("subrun");
        await s.emit({
            type: EventType.SUBAGENT_STARTED, subagentRunId, name: agent,
            description: spec.description,
            metadata: { agentName: agent },
        });
        let text;
        if (opts.failTools) {
            // SUBAGENT_FINISHED's outcome is only success or suspended in @ag-ui/core 1.0.0;
            // a failed invocation is closed by SUBAGENT_ERROR instead.
            const name = spec.tool;
            await s.reasoning(agent, subagentRunId, spec.thought);
            await s.tool(agent, subagentRunId, name, spec.fn, args);
            tools.push(name);
            failed.push(name);
            await s.emit({
                type: EventType.SUBAGENT_ERROR, subagentRunId, message: `${name} failed: ${toolUnavailable(name)}.`,
                code: "TOOL_UNAVAILABLE", metadata: { agentName: agent },
            });
            continue;
        }
        if (agent === "Data") {
            await s.reasoning(agent, subagentRunId, "Looking up this month's spend in cost_db.");
            const cost = await s.tool(agent, subagentRunId, "cost_db", costDb, args);
            tools.push("cost_db");
            text = dataText(spendK, cost);
        } else if (agent === "Compliance") {
            await s.reasoning(agent, subagentRunId, spec.thought);
            await s.tool(agent, subagentRunId, "compliance_check", complianceCheck, args);
            tools.push("compliance_check");
            text = complianceText(spendK);
        } else {
            await s.reasoning(agent, subagentRunId, "Pricing spot instances and rightsizing.");
            const p = await s.tool(agent, subagentRunId, "pricing", pricing, args);
            tools.push("pricing");
            result.savings_pct = p.savings_pct;
            text = mode === "plan" ? planText(spendK, p) : optimizationText(spendK, p);
        }
        await s.emit({
            type: EventType.SUBAGENT_FINISHED, subagentRunId, result: { text },
            outcome: { type: "success" }, metadata: { agentName: agent },
        });
        parts.push(text);
    }

    const response = failed.length ? unavailableText(failed) : parts.length ? parts.join(" ") : DIRECT_TEXT;
    const messageId = newId("msg");
    const pieces = chunks(response, 4);
    if (opts.broken) {
        // Rule broken: content for a message id before its TEXT_MESSAGE_START.
        await s.emit({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: pieces.shift(), ...sup });
    }
    await s.emit({ type: EventType.TEXT_MESSAGE_START, messageId, role: "assistant", ...sup });
    for (const d of pieces) await s.emit({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: d, ...sup });
    await s.emit({ type: EventType.TEXT_MESSAGE_END, messageId, ...sup });
    if (opts.broken) {
        // Rule broken: TOOL_CALL_END for a tool call that was never started.
        await s.emit({ type: EventType.TOOL_CALL_END, toolCallId: "call-never-started", ...sup });
    }

    Object.assign(result, {
        response, route: agents, tools,
        memory: { spend: spendK != null ? `${fmtK(spendK)}/month` : null },
    });
    if (failed.length) result.failed_tools = failed;
    if (spendK != null) result.current_spend_usd = Math.round(spendK * 1000);
    await s.emit({ type: EventType.RUN_FINISHED, threadId, runId, result, outcome: { type: "success" }, ...sup });
    if (opts.broken) {
        // Rule broken: an event after RUN_FINISHED.
        await s.emit({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: " (late)", ...sup });
    }
}

// ------------------------------------------------------------------ HTTP

function sendJson(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        const parts = [];
        let size = 0;
        const tooBig = () => Object.assign(new Error(`request body over ${MAX_BODY_BYTES} bytes`), { status: 413 });
        if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) {
            req.resume();
            reject(tooBig());
            return;
        }
        req.on("data", (c) => {
            size += c.length;
            // Keep draining but stop storing, so the 413 reaches the client.
            if (size > MAX_BODY_BYTES) reject(tooBig());
            else parts.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        req.on("error", reject);
    });
}

async function handle(req, res, opts) {
    const path = new URL(req.url, "http://localhost").pathname;
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { ok: true });
    if (path !== "/agent" && path !== "/") return sendJson(res, 404, { error: `no such path ${path}: POST /agent` });
    if (req.method !== "POST") {
        res.setHeader("Allow", "POST");
        return sendJson(res, 405, { error: `method ${req.method} not allowed: POST a RunAgentInput` });
    }
    let body;
    try {
        body = JSON.parse(await readBody(req));
    } catch (err) {
        if (err.status === 413) res.setHeader("Connection", "close");
        return sendJson(res, err.status ?? 400, { error: err.status ? err.message : `invalid JSON: ${err.message}` });
    }
    const parsed = RunAgentInputSchema.safeParse(body);
    if (!parsed.success) {
        return sendJson(res, 400, {
            error: "invalid RunAgentInput",
            issues: parsed.error.issues.map((i) => ({ path: i.path.join("/"), message: i.message })),
        });
    }
    req.socket.setNoDelay(true);
    res.writeHead(200, {
        "Content-Type": new EventEncoder().getContentType(),
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
    });
    res.flushHeaders();
    try {
        await runTurn(parsed.data, res, opts);
    } catch (err) {
        process.stderr.write(`agui peer: ${err.stack}\n`);
        if (!res.destroyed) res.write(new EventEncoder().encode({ type: EventType.RUN_ERROR, message: String(err.message) }));
    }
    res.end();
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const server = http.createServer((req, res) => {
        handle(req, res, opts).catch((err) => {
            process.stderr.write(`agui peer: ${err.stack}\n`);
            if (!res.headersSent) sendJson(res, 500, { error: String(err.message) });
            else res.destroy();
        });
    });
    let stopping = false;
    const stop = (why) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`agui peer: stopping (${why})\n`);
        server.close(() => process.exit(0));
        server.closeAllConnections();
        setTimeout(() => process.exit(0), 2000).unref();
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    setTimeout(() => stop("lifetime"), opts.lifetimeS * 1000).unref();
    server.listen(opts.port, "127.0.0.1", () => {
        const { port } = server.address();
        process.stdout.write(`listening http://127.0.0.1:${port}/agent\n`);
        if (opts.broken) process.stderr.write("agui peer: --broken: streams break AG-UI's ordering rules\n");
        if (opts.failTools) process.stderr.write("agui peer: --fail-tools: every tool call fails\n");
    });
}

main();
