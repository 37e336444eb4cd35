// node_client.mjs - the benchmark flow written the way a user would by hand
// with Node's `ws` package, so agentrig's cost per session can be compared
// with what a team would otherwise write (issue 4, performance target 4).
//
// Each session: one WebSocket to refagent, three turns (send a user_message,
// JSON.parse every frame until the turn's root agent_completed), close.
// --concurrency workers each run sessions one after another until --sessions
// have been started. Prints one JSON line, the same shape as bench/floor's.
//
// Setup once: npm ci --prefix bench/peers
// Usage: node bench/peers/node_client.mjs --url ws://127.0.0.1:PORT/ws
//        [--sessions 3000] [--concurrency 100] [--timeout-s 300]
import WebSocket from 'ws';

// compare.sh FLOW=light: three short turns instead (BENCH_MESSAGES="a|b|c")
const MESSAGES = process.env.BENCH_MESSAGES
  ? process.env.BENCH_MESSAGES.split('|')
  : [
      'What does our Kubernetes cluster cost us each month?',
      'Optimize it for a 40% reduction',
      'Draft a migration plan',
    ];

function parseArgs(argv) {
  const opts = { url: null, sessions: 3000, concurrency: 100, timeoutS: 300 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log('usage: node node_client.mjs --url URL [--sessions S] [--concurrency C] [--timeout-s T]');
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) usageError(`'${a}' needs a value or is unknown`);
    if (a === '--url') {
      opts.url = v;
      continue;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usageError(`${a} wants a positive integer, not '${v}'`);
    if (a === '--sessions') opts.sessions = n;
    else if (a === '--concurrency') opts.concurrency = n;
    else if (a === '--timeout-s') opts.timeoutS = n;
    else usageError(`unknown option '${a}'`);
  }
  if (!opts.url) usageError('--url is required');
  return opts;
}

function usageError(msg) {
  console.error(`node_client: ${msg}`);
  process.exit(2);
}

const stats = { started: 0, completed: 0, frames: 0 };

// One session; resolves true when all three turns completed.
function runSession(url, index) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const threadId = `node-${process.pid}-${index}`;
    let turn = 0;
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      resolve(ok);
    };
    const send = () =>
      ws.send(JSON.stringify({ type: 'user_message', thread_id: threadId, message: MESSAGES[turn] }));
    ws.on('open', send);
    ws.on('message', (data) => {
      const ev = JSON.parse(data);
      stats.frames++;
      if (ev.type === 'agent_completed' && ev.parent_run_id === null) {
        turn++;
        if (turn < MESSAGES.length) send();
        else ws.close();
      }
    });
    ws.on('close', () => finish(turn === MESSAGES.length));
    ws.on('error', () => finish(false));
  });
}

async function worker(opts) {
  while (stats.started < opts.sessions) {
    const index = stats.started++;
    if (await runSession(opts.url, index)) stats.completed++;
  }
}

const opts = parseArgs(process.argv.slice(2));
const t0 = process.hrtime.bigint();
const report = () => {
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    JSON.stringify({
      client: 'node',
      sessions: opts.sessions,
      completed: stats.completed,
      frames: stats.frames,
      wall_s: Number(wallS.toFixed(3)),
    }),
  );
};
const timer = setTimeout(() => {
  report();
  console.error(`node_client: stopped after ${opts.timeoutS} s`);
  process.exit(1);
}, opts.timeoutS * 1000);
const workers = [];
for (let i = 0; i < Math.min(opts.concurrency, opts.sessions); i++) workers.push(worker(opts));
await Promise.all(workers);
clearTimeout(timer);
report();
process.exit(stats.completed === opts.sessions ? 0 : 1);
