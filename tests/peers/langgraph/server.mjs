#!/usr/bin/env node
// LangGraph peer for agentrig's end-to-end tests: the real LangGraph JS Agent
// Server (@langchain/langgraph-api's startServer, the function that
// `langgraphjs dev` runs in its child process) serving graph.mjs.
//
//   node tests/peers/langgraph/server.mjs [--port 0] [--lifetime 300] [--delay-ms 5] [--fail-tools]
//
// 127.0.0.1 only. When ready, prints exactly one line on stdout:
//   listening http://127.0.0.1:PORT
// Everything else (the server's own logs) goes to stderr. Exits by itself after
// --lifetime seconds; SIGTERM/SIGINT exit 0. No network: LangSmith tracing is
// forced off and no browser/Studio is opened. Thread state lives in a temporary
// directory that is removed on exit (memory is per process, like the other peers).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node server.mjs [--port 0] [--lifetime 300] [--delay-ms 5] [--fail-tools]\n`);
  process.exit(2);
}

const opts = { port: 0, lifetime: 300, delayMs: 5, failTools: process.env.LANGGRAPH_PEER_FAIL_TOOLS === "1" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
  const value = () => {
    const v = inline ?? argv[++i];
    if (v == null) usage(`${flag} needs a value`);
    return v;
  };
  if (flag === "--port") {
    opts.port = Number(value());
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("--port must be 0..65535");
  } else if (flag === "--lifetime") {
    opts.lifetime = Number(value());
    if (!Number.isFinite(opts.lifetime) || opts.lifetime <= 0) usage("--lifetime must be a positive number of seconds");
  } else if (flag === "--delay-ms") {
    opts.delayMs = Number(value());
    if (!Number.isFinite(opts.delayMs) || opts.delayMs < 0) usage("--delay-ms must be >= 0");
  } else if (flag === "--fail-tools") {
    opts.failTools = true;
  } else if (flag === "-h" || flag === "--help") {
    usage("LangGraph peer for agentrig");
  } else {
    usage(`unknown argument: ${a}`);
  }
}

// --- environment: before the server's modules are loaded (some read it at import time)
const env = process.env;
for (const k of ["LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING", "LANGCHAIN_TRACING_V2"]) env[k] = "false";
for (const k of ["LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT"]) delete env[k];
env.LANGCHAIN_CALLBACKS_BACKGROUND ??= "false";
env.LOG_LEVEL ??= "info"; // the server's own default is "debug"
env.LOG_JSON ??= "true"; // one JSON object per log line on stderr, no colour codes
delete env.LANGGRAPH_CONFIG; // no per-graph config injected from outside
env.LANGGRAPH_PEER_DELAY_MS = String(opts.delayMs);
if (opts.failTools) env.LANGGRAPH_PEER_FAIL_TOOLS = "1";
else delete env.LANGGRAPH_PEER_FAIL_TOOLS;

// --- stdout carries only the readiness line: the server logs (winston Console transport) go to stderr
const stdoutWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

const t0 = process.hrtime.bigint();
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "agentrig-langgraph-peer-"));
const removeStorage = () => {
  try {
    fs.rmSync(storageDir, { recursive: true, force: true });
  } catch {
    // best effort
  }
};

let cleanup = null;
let exiting = false;
async function shutdown(why, code = 0) {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`langgraph peer: ${why}, exiting\n`);
  const hard = setTimeout(() => {
    removeStorage();
    process.exit(code);
  }, 3000);
  hard.unref();
  try {
    await cleanup?.();
  } catch (err) {
    process.stderr.write(`langgraph peer: cleanup failed: ${err?.stack ?? err}\n`);
  }
  removeStorage();
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
setTimeout(() => void shutdown(`lifetime of ${opts.lifetime} s over`), opts.lifetime * 1000);

try {
  // langgraphjs dev runs the server under tsx (its default node_loader); do the
  // same in-process. Besides TypeScript graphs, tsx lets the server's version
  // check import the packages' package.json (plain Node 20 refuses a JSON import
  // without an import attribute, and the runs' metadata would then say
  // langgraph_version "0.0.0").
  const { register } = await import("tsx/esm/api");
  register();
  const { startServer } = await import("@langchain/langgraph-api/server");
  const started = await startServer({
    port: opts.port,
    nWorkers: 10, // langgraphjs dev's default (--n-jobs-per-worker 10)
    host: "127.0.0.1",
    cwd: storageDir, // the server keeps .langgraph_api/ (threads, runs, checkpoints) under cwd
    graphs: { supervisor: `${path.join(HERE, "graph.mjs")}:graph` },
  });
  cleanup = started.cleanup;
  const port = Number(started.host.split(":").at(-1));
  const url = `http://127.0.0.1:${port}`;
  env.LANGGRAPH_API_URL = url; // as langgraphjs dev sets it (shows in run metadata)
  env.PORT = String(port);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stderr.write(`langgraph peer: ready in ${ms.toFixed(0)} ms (fail-tools ${opts.failTools ? "on" : "off"}, delay ${opts.delayMs} ms, storage ${storageDir})\n`);
  stdoutWrite(`listening ${url}\n`);
} catch (err) {
  process.stderr.write(`langgraph peer: failed to start: ${err?.stack ?? err}\n`);
  await shutdown("start-up failed", 1);
}
