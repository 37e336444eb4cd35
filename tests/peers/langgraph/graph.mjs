// The peer's graph: a LangGraph JS supervisor (Supervisor) with three ReAct
// workers (Data with the tool cost_db, Optimization with the tool pricing,
// Compliance with the tool compliance_check),
// built with @langchain/langgraph-supervisor's createSupervisor and
// @langchain/langgraph's createReactAgent, driven by a scripted chat model
// (a real BaseChatModel subclass that decides deterministically from the
// conversation; no network, no API key).
//
// The LangGraph Agent Server (@langchain/langgraph-api) loads this module by
// path and serves the exported `graph` (see server.mjs). The thread's state,
// including the remembered monthly spend (`current_spend`), lives in the
// server's checkpointer.

import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, SystemMessage } from "@langchain/core/messages";
import { ChatGenerationChunk } from "@langchain/core/outputs";
import { tool } from "@langchain/core/tools";
import { Annotation } from "@langchain/langgraph";
import { createReactAgent, createReactAgentAnnotation } from "@langchain/langgraph/prebuilt";
import { createSupervisor } from "@langchain/langgraph-supervisor";
import { z } from "zod";

// ------------------------------------------------------------------ the flow

const failTools = () => process.env.LANGGRAPH_PEER_FAIL_TOOLS === "1";
const delayMs = () => Math.max(0, Number(process.env.LANGGRAPH_PEER_DELAY_MS ?? 0) || 0);
const sleep = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** '$50K/month' -> 50, '$50,000/month' -> 50, 50000 -> 50; null when unreadable. */
export function parseSpendK(value) {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value / 1000 : null;
  if (typeof value !== "string") return null;
  const m = /\$?\s*(\d[\d,]*(?:\.\d+)?)\s*([kK])?/.exec(value);
  if (!m) return null;
  const num = Number(m[1].replace(/,/g, ""));
  const k = m[2] ? num : num / 1000;
  return k > 0 ? k : null;
}

const SPEND_IN_MESSAGE = /\$\s*(\d+(?:\.\d+)?)\s*K\s*\/\s*month/i;

/** 50 -> '$50K', 12.5 -> '$12.5K'. */
export function fmtK(k) {
  const r = Math.round(k * 10) / 10;
  return Number.isInteger(r) ? `$${r}K` : `$${r.toFixed(1)}K`;
}

const spendString = (k) => (k == null ? null : `${fmtK(k)}/month`);

/** The specialists a user message needs, in order, and the mode. */
export function routeFor(text) {
  const low = String(text ?? "").toLowerCase();
  if (low.includes("complian") || low.includes("pci")) return { agents: ["Compliance"], mode: "compliance" };
  if (low.includes("optimi") || low.includes("reduc") || low.includes("%")) return { agents: ["Data", "Optimization"], mode: "optimize" };
  if (low.includes("cost") || low.includes("spend")) return { agents: ["Data"], mode: "cost" };
  if (low.includes("migrat") || low.includes("plan")) return { agents: ["Optimization"], mode: "plan" };
  return { agents: [], mode: "direct" };
}

function costDb(spendK) {
  if (spendK == null) return { spend: null, monthly_usd: null, breakdown: null };
  const total = Math.round(spendK * 1000);
  const compute = Math.round(total * 0.62);
  const storage = Math.round(total * 0.14);
  return { spend: spendString(spendK), monthly_usd: total, breakdown: { compute, storage, network: total - compute - storage } };
}

function pricing(spendK) {
  const out = { savings_pct: 42, strategies: ["spot_instances", "rightsizing"] };
  if (spendK != null) {
    const total = Math.round(spendK * 1000);
    out.monthly_savings_usd = Math.round(total * 0.42);
    out.projected_monthly_usd = total - out.monthly_savings_usd;
  }
  return out;
}

const dataText = (spendK, cost) =>
  spendK == null || cost?.breakdown == null
    ? "No spend on record."
    : `Current spend is ${fmtK(spendK)}/month (cost_db: compute ${fmtK(cost.breakdown.compute / 1000)}, ` +
      `storage ${fmtK(cost.breakdown.storage / 1000)}, network ${fmtK(cost.breakdown.network / 1000)}).`;

const optimizationText = (spendK, p) =>
  spendK == null || p.monthly_savings_usd == null
    ? `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction.`
    : `Recommended: spot instances and rightsizing for a ${p.savings_pct}% reduction (${fmtK(p.monthly_savings_usd / 1000)}/month).`;

const PLAN_STEPS =
  "1) move interruptible workloads to spot instances, 2) rightsize over-provisioned nodes, " +
  "3) commit the steady baseline to reserved capacity";

const planText = (spendK, p) =>
  spendK == null || p.projected_monthly_usd == null
    ? `Migration plan (3 phases): no spend on record, so no baseline; ${PLAN_STEPS}; target a ${p.savings_pct}% reduction.`
    : `Migration plan (3 phases) from the ${fmtK(spendK)}/month baseline: ${PLAN_STEPS}; ` +
      `target ${fmtK(p.projected_monthly_usd / 1000)}/month (${p.savings_pct}% lower).`;

export const COMPLIANCE_FRAMEWORKS = ["PCI-DSS"];

function complianceCheck() {
  return {
    frameworks: [...COMPLIANCE_FRAMEWORKS],
    controls: ["network segmentation", "encryption in transit and at rest", "quarterly vulnerability scans", "12-month access logs"],
  };
}

const COMPLIANCE_STEPS = "segment cardholder data, encrypt in transit and at rest, scan quarterly, keep access logs for 12 months.";

const complianceText = (spendK) =>
  spendK == null
    ? `PCI-DSS constraints (no spend on record): ${COMPLIANCE_STEPS}`
    : `PCI-DSS constraints for the ${fmtK(spendK)}/month baseline: ${COMPLIANCE_STEPS}`;

export const DIRECT_TEXT =
  "I can report your cloud spend, recommend how to reduce it, or draft a migration plan. " +
  "Ask about cost, optimization or migration.";

// ------------------------------------------------------------------ tools (real LangChain tools)

const spendArgs = z.object({
  spend: z.string().nullable().describe('The monthly spend, e.g. "$50K/month"; null when none is on record'),
  spend_k: z.number().nullable().describe("The monthly spend in thousands of USD, e.g. 50"),
});

export const costDbTool = tool(
  async ({ spend_k }) => {
    if (failTools()) throw new Error("cost_db unavailable: HTTP 503");
    return JSON.stringify(costDb(spend_k));
  },
  { name: "cost_db", description: "This month's cloud spend broken down by category (USD).", schema: spendArgs },
);

export const pricingTool = tool(
  async ({ spend_k }) => {
    if (failTools()) throw new Error("pricing unavailable: HTTP 503");
    return JSON.stringify(pricing(spend_k));
  },
  { name: "pricing", description: "What spot instances plus rightsizing would save per month.", schema: spendArgs },
);

const complianceArgs = z.object({
  frameworks: z.array(z.string()).describe('The compliance frameworks to check, e.g. ["PCI-DSS"]'),
  spend: z.string().nullable().describe('The monthly spend, e.g. "$50K/month"; null when none is on record'),
});

export const complianceCheckTool = tool(
  async () => {
    if (failTools()) throw new Error("compliance_check unavailable: HTTP 503");
    return JSON.stringify(complianceCheck());
  },
  { name: "compliance_check", description: "The controls a compliance framework requires (e.g. PCI-DSS).", schema: complianceArgs },
);

// ------------------------------------------------------------------ the scripted chat model

const typeOf = (m) => (typeof m?.getType === "function" ? m.getType() : typeof m?._getType === "function" ? m._getType() : m?.type);

const textOf = (m) => {
  const c = m?.content;
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (typeof p === "string" ? p : p?.text ?? "")).join("");
  return "";
};

/** Messages of the current turn: those after the last human message (and that message's text). */
function currentTurn(messages) {
  let i = messages.length - 1;
  while (i >= 0 && typeOf(messages[i]) !== "human") i -= 1;
  return { human: i >= 0 ? textOf(messages[i]) : "", after: messages.slice(i + 1) };
}

/** The spend on record, as the system prompt states it ("... on record for this thread: $50K/month."). */
function spendFromPrompt(messages) {
  for (const m of messages) {
    if (typeOf(m) !== "system") continue;
    const hit = /spend on record for this thread: (\S+)/.exec(textOf(m));
    if (hit) return hit[1] === "none." ? null : parseSpendK(hit[1]);
  }
  return null;
}

let toolCallCounter = 0;
const newToolCallId = () => `call_${process.pid}_${++toolCallCounter}`;

/**
 * A chat model that plays one agent's part deterministically. It is a genuine
 * BaseChatModel: bindTools() binds tool definitions the way provider models do
 * (withConfig({tools})), it streams (so the server's `messages` stream mode sees
 * token chunks) and it emits real tool calls.
 */
export class ScriptedChatModel extends BaseChatModel {
  static lc_name() {
    return "ScriptedChatModel";
  }

  constructor(fields = {}) {
    super(fields);
    this.agent = fields.agent;
  }

  _llmType() {
    return "scripted";
  }

  bindTools(tools, kwargs) {
    return this.withConfig({ tools, ...kwargs });
  }

  /** -> {content, toolCalls: [{name, args}]} */
  decide(messages, options) {
    const bound = new Set((options?.tools ?? []).map((t) => t?.name ?? t?.function?.name).filter(Boolean));
    const call = (name, args) => {
      if (!bound.has(name)) throw new Error(`${this.agent}: tool ${name} is not bound (bound: ${[...bound].join(", ")})`);
      return { content: "", toolCalls: [{ name, args }] };
    };
    const { human, after } = currentTurn(messages);
    const spendK = spendFromPrompt(messages);
    const args = { spend: spendString(spendK), spend_k: spendK };
    const toolResult = (name) => after.find((m) => typeOf(m) === "tool" && m.name === name);
    const parse = (m) => {
      try {
        return JSON.parse(textOf(m));
      } catch {
        return null;
      }
    };
    const toolError = (m) => textOf(m).split("\n")[0].replace(/^Error:\s*/, "");
    const failed = (m) => m.status === "error" || parse(m) == null;

    if (this.agent === "Supervisor") {
      const { agents } = routeFor(human);
      if (agents.length === 0) return { content: DIRECT_TEXT, toolCalls: [] };
      const answers = {};
      for (const m of after) {
        if (typeOf(m) === "ai" && agents.includes(m.name) && !(m.tool_calls?.length) && textOf(m)) answers[m.name] = textOf(m);
      }
      const next = agents.find((a) => answers[a] == null);
      if (next) return call(`transfer_to_${next.toLowerCase()}`, {});
      return { content: agents.map((a) => answers[a]).join(" "), toolCalls: [] };
    }
    if (this.agent === "Data") {
      const res = toolResult("cost_db");
      if (!res) return call("cost_db", args);
      if (failed(res)) return { content: `The cost_db tool was unavailable (${toolError(res)}), so the current spend could not be retrieved.`, toolCalls: [] };
      return { content: dataText(spendK, parse(res)), toolCalls: [] };
    }
    if (this.agent === "Optimization") {
      const res = toolResult("pricing");
      if (!res) return call("pricing", args);
      if (failed(res)) return { content: `The pricing tool was unavailable (${toolError(res)}), so no reduction could be priced.`, toolCalls: [] };
      const p = parse(res);
      return { content: routeFor(human).mode === "plan" ? planText(spendK, p) : optimizationText(spendK, p), toolCalls: [] };
    }
    if (this.agent === "Compliance") {
      const res = toolResult("compliance_check");
      if (!res) return call("compliance_check", { frameworks: [...COMPLIANCE_FRAMEWORKS], spend: spendString(spendK) });
      if (failed(res)) return { content: `The compliance_check tool was unavailable (${toolError(res)}), so no compliance constraints could be listed.`, toolCalls: [] };
      return { content: complianceText(spendK), toolCalls: [] };
    }
    throw new Error(`ScriptedChatModel: unknown agent ${this.agent}`);
  }

  async _generate(messages, options) {
    const { content, toolCalls } = this.decide(messages, options);
    await sleep(delayMs());
    const message = new AIMessage({
      content,
      tool_calls: toolCalls.map((tc) => ({ ...tc, id: newToolCallId(), type: "tool_call" })),
    });
    return { generations: [{ text: content, message }] };
  }

  async *_streamResponseChunks(messages, options, runManager) {
    const { content, toolCalls } = this.decide(messages, options);
    // A pause before every chunk (--delay-ms) so that a turn really streams.
    // Text in pieces of up to 24 characters, as a provider would stream tokens.
    for (let i = 0; i < content.length; i += 24) {
      const piece = content.slice(i, i + 24);
      await sleep(delayMs());
      const chunk = new ChatGenerationChunk({ text: piece, message: new AIMessageChunk({ content: piece }) });
      yield chunk;
      await runManager?.handleLLMNewToken(piece, undefined, undefined, undefined, undefined, { chunk });
    }
    if (toolCalls.length > 0) {
      await sleep(delayMs());
      const chunk = new ChatGenerationChunk({
        text: "",
        message: new AIMessageChunk({
          content: "",
          tool_call_chunks: toolCalls.map((tc, index) => ({
            type: "tool_call_chunk",
            name: tc.name,
            args: JSON.stringify(tc.args),
            id: newToolCallId(),
            index,
          })),
        }),
      });
      yield chunk;
      await runManager?.handleLLMNewToken("", undefined, undefined, undefined, undefined, { chunk });
    }
  }
}

// ------------------------------------------------------------------ state and memory

/**
 * The supervisor's state: the messages plus `current_spend`, the thread's
 * remembered monthly spend ("$50K/month" or null). A client may also set it
 * directly in the run input ({"input": {"messages": [...], "current_spend": "$50K/month"}}).
 */
export const CostState = Annotation.Root({
  ...createReactAgentAnnotation().spec,
  current_spend: Annotation({ reducer: (_old, next) => next, default: () => null }),
});

/**
 * Every agent's pre-model hook (node `pre_model_hook` inside Supervisor, Data,
 * Optimization and Compliance): settles the turn's spend and writes it to the state, which
 * flows back to the supervisor graph and so into the thread's checkpoint. (The
 * Supervisor's own write is dropped when it hands off with a Command to the
 * parent graph, hence the hook on the workers too.) Precedence: `$NK/month` in the
 * user message, then the run's context `current_spend`
 * ({"context": {"current_spend": "$50K/month" | "$50,000/month" | 50000}}), then
 * `config.configurable.current_spend`, then what the state already holds (the
 * input's `current_spend` or the remembered value).
 */
function rememberSpend(state, config) {
  const { human } = currentTurn(state.messages ?? []);
  const inMessage = SPEND_IN_MESSAGE.exec(human);
  const k =
    (inMessage ? Number(inMessage[1]) : null) ??
    parseSpendK(config?.context?.current_spend) ??
    parseSpendK(config?.configurable?.current_spend) ??
    parseSpendK(state.current_spend);
  return { current_spend: spendString(k) };
}

const promptFor = (agent, role) => (state) => [
  new SystemMessage(`You are the ${agent} agent: ${role} Monthly spend on record for this thread: ${state.current_spend ?? "none"}.`),
  ...state.messages,
];

// ------------------------------------------------------------------ the graph

const data = createReactAgent({
  name: "Data",
  llm: new ScriptedChatModel({ agent: "Data" }),
  tools: [costDbTool],
  stateSchema: CostState,
  preModelHook: rememberSpend,
  prompt: promptFor("Data", "you look up the cloud spend with cost_db."),
});

const optimization = createReactAgent({
  name: "Optimization",
  llm: new ScriptedChatModel({ agent: "Optimization" }),
  tools: [pricingTool],
  stateSchema: CostState,
  preModelHook: rememberSpend,
  prompt: promptFor("Optimization", "you price reductions and draft migration plans with pricing."),
});

const compliance = createReactAgent({
  name: "Compliance",
  llm: new ScriptedChatModel({ agent: "Compliance" }),
  tools: [complianceCheckTool],
  stateSchema: CostState,
  preModelHook: rememberSpend,
  prompt: promptFor("Compliance", "you list compliance constraints (e.g. PCI-DSS) with compliance_check."),
});

export const graph = createSupervisor({
  agents: [data, optimization, compliance],
  llm: new ScriptedChatModel({ agent: "Supervisor" }),
  supervisorName: "Supervisor",
  stateSchema: CostState,
  outputMode: "last_message",
  preModelHook: rememberSpend,
  prompt: promptFor("Supervisor", "you route compliance questions to Compliance, cost questions to Data and reductions or plans to Optimization."),
}).compile({ name: "Supervisor" });
