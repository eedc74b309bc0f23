// perfy against autocannon on the same local server, alternating A/B in one invocation: requests/s, CPU µs per
// request (user + sys of the generator process / requests), peak RSS, and perfy/autocannon ratios, as medians
// over the repeats; then perfy's open model at fixed rates (achieved vs target, dropped, saturation).
// The server is pinned to core 0 and the generators to core 1 where `taskset` exists. Last, the scaling of
// `--workers` from 1 to 2 threads against fast-target.mjs, unpinned (the threads need the cores).
// Usage: npm run bench (from the root), or node bench/compare.mjs. Env: BENCH_SECONDS (10), BENCH_REPEATS (3),
// BENCH_OPEN_SECONDS (30), BENCH_RATES (1000,10000,20000), BENCH_CONNECTIONS (50), BENCH_WORKERS (1,2; empty to skip
// the scaling), BENCH_SCALING_ITEMS (200).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
// The issue's check of the open model: the achieved rate within 1% over 30 s.
const openSeconds = Number(process.env.BENCH_OPEN_SECONDS ?? 30);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rates = (process.env.BENCH_RATES ?? '1000,10000,20000').split(',').filter(Boolean).map(Number);
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2').split(',').filter(Boolean).map(Number);
const pin = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0;
const pinned = (core, command, args) => (pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

function startServer(script = 'target-server.mjs', core = 0, env = {}) {
  return new Promise((resolve, reject) => {
    const [command, args] =
      core === null ? [process.execPath, [join(here, script)]] : pinned(core, process.execPath, [join(here, script)]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    child.stdout
      .setEncoding('utf8')
      .once('data', (line) => resolve({ url: JSON.parse(line).url, stop: () => child.kill('SIGTERM') }));
    child.once('error', reject);
  });
}

/** Runs a measuring script pinned to `core` (null: not pinned) and returns the JSON it prints last. */
function measure(script, args, env = {}, core = 1) {
  const [command, argv] =
    core === null
      ? [process.execPath, [join(here, script), ...args]]
      : pinned(core, process.execPath, [join(here, script), ...args]);
  const run = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const line = run.stdout.trim().split('\n').at(-1);
  if (run.status !== 0 || !line) throw new Error(`${script} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(line);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const server = await startServer();
const runs = { autocannon: [], perfyClosed: [], open: [] };
try {
  const env = { BENCH_URL: server.url, BENCH_DURATION: `${seconds}s`, BENCH_USERS: String(connections) };
  const autocannon = () =>
    runs.autocannon.push(measure('measure-autocannon.mjs', [server.url, String(connections), String(seconds)]));
  const perfy = () =>
    runs.perfyClosed.push(
      measure(
        'measure-perfy.mjs',
        [join(here, 'scenarios', 'closed.yaml'), mkdtempSync(join(tmpdir(), 'perfy-bench-'))],
        env,
      ),
    );
  for (let i = 0; i < repeats; i++) {
    // Alternate which goes first, so neither always gets the warmer server.
    if (i % 2 === 0) { autocannon(); perfy(); } else { perfy(); autocannon(); }
    process.stderr.write(`round ${i + 1}/${repeats} done\n`);
  }
  for (const rate of rates) {
    const r = measure(
      'measure-perfy.mjs',
      [join(here, 'scenarios', 'open.yaml'), mkdtempSync(join(tmpdir(), 'perfy-bench-'))],
      { ...env, BENCH_RATE: `${rate}/s`, BENCH_DURATION: `${openSeconds}s` },
    );
    runs.open.push({ rate, ...r });
    process.stderr.write(`open ${rate}/s done\n`);
  }
} finally {
  server.stop();
}

// Scaling: the closed-model step flat out with 1 and 2 worker threads. The target answers from a pre-built
// buffer, and its list has BENCH_SCALING_ITEMS (200) items, about 7 kB of JSON: the server pays a few µs per
// request, the generator parses the body for the capture, so the generator's threads are what runs out of CPU
// even when the target shares their cores.
const scalingItems = Number(process.env.BENCH_SCALING_ITEMS ?? 200);
const scaling = [];
if (workerCounts.length > 0) {
  const fast = await startServer('fast-target.mjs', null, { BENCH_BODY_ITEMS: String(scalingItems) });
  try {
    const env = { BENCH_URL: fast.url, BENCH_DURATION: `${seconds}s`, BENCH_USERS: String(connections) };
    for (let i = 0; i < repeats; i++) {
      const order = i % 2 === 0 ? workerCounts : [...workerCounts].reverse();
      for (const workers of order) {
        const r = measure(
          'measure-perfy.mjs',
          [
            join(here, 'scenarios', 'closed.yaml'),
            mkdtempSync(join(tmpdir(), 'perfy-bench-')),
            '--workers',
            String(workers),
          ],
          env,
          null,
        );
        scaling.push({ workers, ...r });
      }
      process.stderr.write(`scaling round ${i + 1}/${repeats} done\n`);
    }
  } finally {
    fast.stop();
  }
}

const summarize = (list) => ({
  requestsPerSecond: median(list.map((r) => r.requests / seconds)),
  cpuUsPerRequest: median(list.map((r) => r.cpuUs / r.requests)),
  peakRssMb: median(list.map((r) => r.maxRssKb / 1024)),
  errors: list.reduce((s, r) => s + r.errors, 0),
});
const a = summarize(runs.autocannon);
const p = summarize(runs.perfyClosed);
const fmt = (n, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = [
  ['generator', 'req/s', 'CPU µs/req', 'peak RSS MB', 'errors'],
  [
    `autocannon (${connections} connections)`,
    fmt(a.requestsPerSecond, 0),
    fmt(a.cpuUsPerRequest, 2),
    fmt(a.peakRssMb),
    String(a.errors),
  ],
  [
    `perfy closed (${connections} users, template + expect + capture)`,
    fmt(p.requestsPerSecond, 0),
    fmt(p.cpuUsPerRequest, 2),
    fmt(p.peakRssMb),
    String(p.errors),
  ],
  [
    'perfy / autocannon', `${fmt(p.requestsPerSecond / a.requestsPerSecond, 2)}×`,
    `${fmt(p.cpuUsPerRequest / a.cpuUsPerRequest, 2)}×`, `${fmt(p.peakRssMb / a.peakRssMb, 2)}×`, '',
  ],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(
  `\nperfy vs autocannon — ${seconds} s runs, median of ${repeats}, node ${process.version}, ${cpus().length} cores ` +
    `(${cpus()[0]?.model ?? 'unknown cpu'})` +
    `${pin ? ', server on core 0, generator on core 1' : ', not pinned (no taskset)'}\n`,
);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log(`\nperfy open model, the same step at fixed rates for ${openSeconds} s:`);
for (const r of runs.open) {
  const achieved = r.requests / openSeconds;
  console.log(
    `  target ${fmt(r.rate, 0)}/s: achieved ${fmt(achieved, 0)}/s (${fmt((achieved / r.rate - 1) * 100, 2)}%), ` +
      `dropped ${r.dropped}, CPU ${fmt(r.cpuUs / Math.max(1, r.requests), 2)} µs/req, ` +
      `peak RSS ${fmt(r.maxRssKb / 1024)} MB${r.saturated ? ', generator SATURATED' : ''}`,
  );
}
const sustained = runs.open
  .filter((r) => r.dropped === 0 && Math.abs(r.requests / openSeconds / r.rate - 1) <= 0.01 && !r.saturated)
  .map((r) => r.rate);
console.log(
  `  highest rate sustained within 1% with nothing dropped: ` +
    `${sustained.length ? `${fmt(Math.max(...sustained), 0)}/s` : 'none of those tried'}`,
);

const scalingSummary = workerCounts.map((workers) => ({
  workers,
  ...summarize(scaling.filter((r) => r.workers === workers)),
}));
if (scalingSummary.length > 0) {
  const base = scalingSummary[0];
  console.log(
    `\nperfy --workers, closed model flat out (${connections} users) against fast-target.mjs (${scalingItems} items ` +
      `per body), not pinned:`,
  );
  for (const s of scalingSummary) {
    console.log(
      `  ${String(s.workers).padStart(2)} worker${s.workers === 1 ? ' ' : 's'}: ${fmt(s.requestsPerSecond, 0)} req/s ` +
        `(${fmt(s.requestsPerSecond / base.requestsPerSecond, 2)}×), CPU ${fmt(s.cpuUsPerRequest, 2)} µs/req, ` +
        `peak RSS ${fmt(s.peakRssMb)} MB, errors ${s.errors}`,
    );
  }
}

mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const saved = {
  node: process.version, cpus: cpus().length, pinned: pin, seconds, openSeconds, repeats, connections, scalingItems,
  autocannon: a, perfyClosed: p,
  ratios: {
    cpuPerRequest: p.cpuUsPerRequest / a.cpuUsPerRequest,
    requestsPerSecond: p.requestsPerSecond / a.requestsPerSecond,
  },
  open: runs.open, scaling: scalingSummary, runs: { ...runs, scaling },
};
writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
console.log(`\nresults: ${file}`);
