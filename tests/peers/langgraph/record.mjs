#!/usr/bin/env node
// Records the LangGraph peer's wire format and checks the flow (smoke test).
//
//   node tests/peers/langgraph/record.mjs [--no-save]
//
// Starts server.mjs twice (normal, then --fail-tools), runs the 3-turn scenario on
// one thread, "Draft a migration plan" on a fresh thread, turn 1 with the tools
// failing, plus a few documentation-only requests (messages-tuple, a graph error,
// a second run on a busy thread, an unknown thread without if_not_exists). Raw
// response bodies go to recorded/<name>.sse (status line and headers to
// recorded/<name>.headers). Ends with "N passed, N failed" and exit status 0 only
// when nothing failed. Node >= 20, no dependencies beyond the peer's own.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, "recorded");
const SAVE = !process.argv.includes("--no-save");
const ASSISTANT = "supervisor";
// The combination recommended for agentrig's profile (see README.md); ALL_MODES is
// the heavier one a LangGraph UI client typically asks for.
const MODES = ["updates", "messages-tuple"];
const ALL_MODES = ["updates", "messages", "values"];

const A_DATA = "Current spend is $50K/month (cost_db: compute $31K, storage $7K, network $12K).";
const A_OPT = "Recommended: spot instances and rightsizing for a 42% reduction ($21K/month).";
const STEPS = "1) move interruptible workloads to spot instances, 2) rightsize over-provisioned nodes, 3) commit the steady baseline to reserved capacity";
const A_PLAN = `Migration plan (3 phases) from the $50K/month baseline: ${STEPS}; target $29K/month (42% lower).`;
const A_PLAN_NONE = `Migration plan (3 phases): no spend on record, so no baseline; ${STEPS}; target a 42% reduction.`;
const A_FAIL_DATA = "The cost_db tool was unavailable (cost_db unavailable: HTTP 503), so the current spend could not be retrieved.";
const ARGS_50K = { spend: "$50K/month", spend_k: 50 };

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ` -- ${detail}`}`);
}
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---------------------------------------------------------------- the peer

function startPeer(extra = []) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(HERE, "server.mjs"), "--port", "0", "--lifetime", "120", ...extra], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) resolve({ child, url: m[1], startMs: performance.now() - t0, stdout: () => out, stderr: () => err });
    });
    child.on("exit", (code) => reject(new Error(`peer exited early (${code}): ${err}`)));
  });
}

function stopPeer(peer) {
  return new Promise((resolve) => {
    peer.child.removeAllListeners("exit");
    peer.child.on("exit", (code, signal) => resolve({ code, signal }));
    peer.child.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------- HTTP + SSE

function save(name, res, body) {
  if (!SAVE) return;
  fs.mkdirSync(OUT, { recursive: true });
  const head = [`HTTP/1.1 ${res.status} ${res.statusText}`, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)].join("\n");
  fs.writeFileSync(path.join(OUT, `${name}.headers`), `${head}\n`);
  fs.writeFileSync(path.join(OUT, `${name}.sse`), body);
}

/** Parses an SSE body into [{event, id, data}] (data JSON-decoded). */
export function parseSse(text) {
  const events = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    const ev = { event: "message", id: null, data: [] };
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) ev.event = line.slice(7);
      else if (line.startsWith("id: ")) ev.id = line.slice(4);
      else if (line.startsWith("data: ")) ev.data.push(line.slice(6));
      else if (line.startsWith("data:")) ev.data.push(line.slice(5));
    }
    const raw = ev.data.join("\n");
    try {
      ev.data = JSON.parse(raw);
    } catch {
      ev.data = raw;
    }
    events.push(ev);
  }
  return events;
}

async function runStream(url, name, threadId, message, { context, streamMode = MODES, extra = {} } = {}) {
  const body = {
    assistant_id: ASSISTANT,
    input: { messages: [{ role: "user", content: message }] },
    stream_mode: streamMode,
    stream_subgraphs: true,
    if_not_exists: "create",
    ...(context ? { context } : {}),
    ...extra,
  };
  const res = await fetch(`${url}/threads/${threadId}/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  save(name, res, buf);
  return { res, text: buf.toString("utf8"), events: parseSse(buf.toString("utf8")) };
}

/** What a profile would extract from a turn recorded with updates + stream_subgraphs. */
export function summarize(events) {
  const out = { runId: null, agents: [], toolCalls: [], toolResults: [], answer: null, errors: [] };
  const addAgent = (a) => {
    if (a && !out.agents.includes(a)) out.agents.push(a);
  };
  for (const { event, data } of events) {
    if (event === "metadata") out.runId = data.run_id;
    if (event === "error") out.errors.push(data);
    const [mode, ...ns] = event.split("|");
    if (mode !== "updates") continue;
    if (ns.length === 0) {
      // top level: {"<node>": <update>} with node Supervisor | Data | Optimization
      for (const [node, update] of Object.entries(data)) {
        addAgent(node);
        if (node === "Supervisor") {
          const last = update?.messages?.at(-1);
          if (last?.type === "ai" && !last.tool_calls?.length) out.answer = last.content;
        }
      }
      continue;
    }
    const agent = ns[0].split(":")[0]; // "Data:<uuid>" -> "Data"
    addAgent(agent);
    for (const [node, update] of Object.entries(data)) {
      for (const m of update?.messages ?? []) {
        if (node === "agent" && m.type === "ai") {
          for (const tc of m.tool_calls ?? []) out.toolCalls.push({ agent, name: tc.name, id: tc.id, args: tc.args });
        }
        if (node === "tools" && m.type === "tool") {
          out.toolResults.push({ agent, name: m.name, id: m.tool_call_id, status: m.status, content: m.content });
        }
      }
    }
  }
  return out;
}

/** The final answer as streamed by messages-tuple: the deltas of the Supervisor's last AI message. */
export function streamedAnswer(events) {
  const parts = new Map();
  let lastId = null;
  for (const { event, data } of events) {
    const [mode, ...ns] = event.split("|");
    if (mode !== "messages" || !ns.length || !ns[0].startsWith("Supervisor:")) continue;
    const [chunk] = data;
    if (chunk?.type !== "ai" && chunk?.type !== "AIMessageChunk") continue;
    if (!parts.has(chunk.id)) parts.set(chunk.id, "");
    parts.set(chunk.id, parts.get(chunk.id) + (typeof chunk.content === "string" ? chunk.content : ""));
    lastId = chunk.id;
  }
  return lastId == null ? null : parts.get(lastId);
}

const realTools = (s) => s.toolCalls.filter((t) => !t.name.startsWith("transfer_"));
const realResults = (s) => s.toolResults.filter((t) => !t.name.startsWith("transfer_"));

function checkTurn(label, s, { agents, tools, args, answer }) {
  check(`${label}: run id`, /^[0-9a-f-]{36}$/.test(s.runId ?? ""), s.runId);
  check(`${label}: agents ${agents.join(", ")}`, eq(s.agents, agents), JSON.stringify(s.agents));
  check(`${label}: tools ${tools.join(", ")}`, eq(realTools(s).map((t) => t.name), tools), JSON.stringify(s.toolCalls));
  if (args) check(`${label}: tool args`, realTools(s).every((t) => eq(t.args, args)), JSON.stringify(realTools(s)));
  const results = realResults(s);
  check(
    `${label}: tool results paired and successful`,
    results.length === tools.length && results.every((r, i) => r.id === realTools(s)[i].id && r.status === "success"),
    JSON.stringify(results),
  );
  check(`${label}: answer`, s.answer === answer, JSON.stringify(s.answer));
  check(`${label}: no error event`, s.errors.length === 0, JSON.stringify(s.errors));
}

// ---------------------------------------------------------------- the scenario

async function main() {
  if (SAVE) fs.rmSync(OUT, { recursive: true, force: true });

  const peer = await startPeer();
  console.log(`# peer ready in ${peer.startMs.toFixed(0)} ms at ${peer.url}`);
  check("stdout is exactly one readiness line", /^listening http:\/\/127\.0\.0\.1:\d+\n$/.test(peer.stdout()), peer.stdout());
  const url = peer.url;

  const info = await fetch(`${url}/ok`);
  check("GET /ok answers 200", info.status === 200, String(info.status));

  const t1 = randomUUID();
  const turn1 = await runStream(url, "turn1", t1, "What does our Kubernetes cluster cost us each month?", {
    context: { current_spend: "$50K/month" },
  });
  check("turn 1: HTTP 200 text/event-stream", turn1.res.status === 200 && /text\/event-stream/.test(turn1.res.headers.get("content-type")));
  check(
    "turn 1: content-location names the thread and run",
    turn1.res.headers.get("content-location") === `/threads/${t1}/runs/${summarize(turn1.events).runId}`,
    turn1.res.headers.get("content-location"),
  );
  check("turn 1: first event is metadata", turn1.events[0]?.event === "metadata");
  checkTurn("turn 1", summarize(turn1.events), { agents: ["Supervisor", "Data"], tools: ["cost_db"], args: ARGS_50K, answer: A_DATA });
  check("turn 1: streamed answer (messages-tuple deltas)", streamedAnswer(turn1.events) === A_DATA, streamedAnswer(turn1.events));

  const turn2 = await runStream(url, "turn2", t1, "Optimize it for a 40% reduction");
  checkTurn("turn 2", summarize(turn2.events), {
    agents: ["Supervisor", "Data", "Optimization"],
    tools: ["cost_db", "pricing"],
    args: ARGS_50K,
    answer: `${A_DATA} ${A_OPT}`,
  });
  check("turn 2: streamed answer (messages-tuple deltas)", streamedAnswer(turn2.events) === `${A_DATA} ${A_OPT}`, streamedAnswer(turn2.events));

  const turn3 = await runStream(url, "turn3", t1, "Draft a migration plan");
  checkTurn("turn 3", summarize(turn3.events), { agents: ["Supervisor", "Optimization"], tools: ["pricing"], args: ARGS_50K, answer: A_PLAN });

  const state = await (await fetch(`${url}/threads/${t1}/state`)).json();
  check("thread state remembers current_spend", state?.values?.current_spend === "$50K/month", JSON.stringify(state?.values?.current_spend));

  const fresh = await runStream(url, "fresh_plan", randomUUID(), "Draft a migration plan");
  checkTurn("fresh thread plan", summarize(fresh.events), {
    agents: ["Supervisor", "Optimization"],
    tools: ["pricing"],
    args: { spend: null, spend_k: null },
    answer: A_PLAN_NONE,
  });

  // ---- documentation-only recordings (checked lightly)
  // Turns 1 and 2 again on another thread, with stream_mode ["updates", "messages", "values"].
  const tAll = randomUUID();
  const all1 = await runStream(url, "allmodes_turn1", tAll, "What does our Kubernetes cluster cost us each month?", {
    context: { current_spend: "$50K/month" },
    streamMode: ALL_MODES,
  });
  checkTurn("all modes turn 1", summarize(all1.events), { agents: ["Supervisor", "Data"], tools: ["cost_db"], args: ARGS_50K, answer: A_DATA });
  const all2 = await runStream(url, "allmodes_turn2", tAll, "Optimize it for a 40% reduction", { streamMode: ALL_MODES });
  checkTurn("all modes turn 2", summarize(all2.events), {
    agents: ["Supervisor", "Data", "Optimization"],
    tools: ["cost_db", "pricing"],
    args: ARGS_50K,
    answer: `${A_DATA} ${A_OPT}`,
  });
  const lastValues = all2.events.filter((e) => e.event === "values").at(-1);
  check("all modes turn 2: last top-level values ends with the answer", lastValues?.data?.messages?.at(-1)?.content === `${A_DATA} ${A_OPT}`);
  check("all modes: unrequested checkpoints events come along", all2.events.some((e) => e.event.startsWith("checkpoints")));

  const direct = await runStream(url, "direct", randomUUID(), "Hello there", { streamMode: ["updates"] });
  check("direct: Supervisor answers alone", eq(summarize(direct.events).agents, ["Supervisor"]) && /^I can report your cloud spend/.test(summarize(direct.events).answer ?? ""));

  const spendInMsg = await runStream(url, "spend_in_message", randomUUID(), "We spend $80K/month, what does it cost?", {
    context: { current_spend: 50000 },
    streamMode: ["updates"],
  });
  check("spend in message wins over context", summarize(spendInMsg.events).answer?.startsWith("Current spend is $80K/month"), summarize(spendInMsg.events).answer);

  const inputSpend = await runStream(url, "input_current_spend", randomUUID(), "What do we spend?", {
    streamMode: ["updates"],
    extra: { input: { messages: [{ role: "user", content: "What do we spend?" }], current_spend: "$50,000/month" } },
  });
  check("input.current_spend is accepted", summarize(inputSpend.events).answer === A_DATA, summarize(inputSpend.events).answer);

  const err = await runStream(url, "error_recursion_limit", randomUUID(), "Optimize it for a 40% reduction", {
    streamMode: ["updates"],
    extra: { config: { recursion_limit: 3 } },
  });
  const errEv = err.events.find((e) => e.event === "error");
  check("graph error: an error event, last", errEv != null && err.events.at(-1).event === "error", JSON.stringify(err.events.at(-1)));

  // A second run on a thread that is still running (default multitask_strategy "reject").
  const busyThread = randomUUID();
  const first = fetch(`${url}/threads/${busyThread}/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: ASSISTANT, input: { messages: [{ role: "user", content: "Optimize it for a 40% reduction" }] }, stream_mode: ["updates"], if_not_exists: "create" }),
  });
  const firstRes = await first; // headers arrive once the run is queued
  const second = await fetch(`${url}/threads/${busyThread}/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: ASSISTANT, input: { messages: [{ role: "user", content: "Draft a migration plan" }] }, stream_mode: ["updates"] }),
  });
  const secondBody = Buffer.from(await second.arrayBuffer());
  save("busy_thread_second_run", second, secondBody);
  await firstRes.arrayBuffer();
  check("second run on a busy thread: 422", second.status === 422, `${second.status} ${secondBody}`);

  // An unknown thread without if_not_exists.
  const nt = await fetch(`${url}/threads/${randomUUID()}/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: ASSISTANT, input: { messages: [{ role: "user", content: "hi" }] } }),
  });
  const ntBody = Buffer.from(await nt.arrayBuffer());
  save("unknown_thread_no_if_not_exists", nt, ntBody);
  // The JS server answers 422 with the *busy* message here (ops.runs.put returns no run
  // for a missing thread and the handler takes that for an in-flight conflict).
  check("unknown thread without if_not_exists: 422 (misleading busy message)", nt.status === 422 && /already running/.test(ntBody), `${nt.status} ${ntBody}`);

  // A thread created first with POST /threads.
  const created = await (await fetch(`${url}/threads`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json();
  const onCreated = await fetch(`${url}/threads/${created.thread_id}/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: ASSISTANT, input: { messages: [{ role: "user", content: "Hello" }] }, stream_mode: "updates" }),
  });
  const onCreatedEvents = parseSse(await onCreated.text());
  check("POST /threads then a run without if_not_exists", onCreated.status === 200 && summarize(onCreatedEvents).answer?.startsWith("I can report"));

  const bad = await fetch(`${url}/threads/not-a-uuid/runs/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: ASSISTANT, input: null, if_not_exists: "create" }),
  });
  const badBody = Buffer.from(await bad.arrayBuffer());
  save("thread_id_not_uuid", bad, badBody);
  check("thread id must be a UUID: 400 ZodError", bad.status === 400 && /Invalid uuid/.test(badBody), `${bad.status} ${badBody}`);

  const stopped = await stopPeer(peer);
  check("SIGTERM: exit status 0", stopped.code === 0, JSON.stringify(stopped));

  // ---- the tools failing
  const failPeer = await startPeer(["--fail-tools"]);
  const fail = await runStream(failPeer.url, "fail_tools_turn1", randomUUID(), "What does our Kubernetes cluster cost us each month?", {
    context: { current_spend: "$50K/month" },
  });
  const fs1 = summarize(fail.events);
  check("fail-tools: agents Supervisor, Data", eq(fs1.agents, ["Supervisor", "Data"]), JSON.stringify(fs1.agents));
  check("fail-tools: cost_db called", eq(realTools(fs1).map((t) => t.name), ["cost_db"]));
  const fr = realResults(fs1)[0];
  check("fail-tools: ToolMessage status error", fr?.status === "error" && fr?.id === realTools(fs1)[0]?.id, JSON.stringify(fr));
  check("fail-tools: ToolMessage content carries the exception", /cost_db unavailable: HTTP 503/.test(fr?.content ?? ""), fr?.content);
  check("fail-tools: the turn still ends with an answer", fs1.answer === A_FAIL_DATA, JSON.stringify(fs1.answer));
  check("fail-tools: no error event", fs1.errors.length === 0);
  check("fail-tools: streamed answer", streamedAnswer(fail.events) === A_FAIL_DATA, streamedAnswer(fail.events));
  const stopped2 = await stopPeer(failPeer);
  check("SIGTERM (fail-tools peer): exit status 0", stopped2.code === 0);

  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
