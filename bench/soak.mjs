// The endurance check of perfy's memory: the open model at 5,000/s for 10 minutes against the local target
// server, sampling the generator's resident memory every 5 s. It fails (exit 1) when RSS grows by 20 MB or more
// between the end of a 60 s warm-up and the end of the load. Not in CI: it takes the 10 minutes.
// Usage: npm run bench:soak (builds first), or node bench/soak.mjs. Env: SOAK_SECONDS (600), SOAK_RATE (5000),
// SOAK_WARMUP_SECONDS (60; at most half the run), SOAK_LIMIT_MB (20). Writes bench/results/soak-<time>.json.
//
// RSS is read from outside, from /proc/PID/status (VmRSS), or `ps` where there is no /proc: nothing is added to
// the process measured, and a sample is on time even when the generator is too busy to report (the child sending
// process.memoryUsage() would need its event loop free). RSS counts everything a leak could hide in: V8's heap,
// buffers outside it, native memory.
// RSS also moves with how much heap V8 chooses to keep between collections, so the generator runs with
// --trace-gc and the heap left after each full collection (what is really retained) is reported beside it:
// a leak raises that line; V8 sizing its heap only raises RSS.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const rate = Number(String(process.env.SOAK_RATE ?? 5000).replace(/\/s$/, ''));
const limitMb = Number(process.env.SOAK_LIMIT_MB ?? 20);
const SAMPLE_MS = 5000;
// A short check run still gets a warm-up: half of it at most, so there is something after it to compare.
const warmupSeconds = Math.min(Number(process.env.SOAK_WARMUP_SECONDS ?? 60), Math.floor(seconds / 2));
if (!(seconds > 0) || !(rate > 0) || !(limitMb > 0) || !(warmupSeconds >= 0)) {
  console.error(
    'SOAK_SECONDS, SOAK_RATE and SOAK_LIMIT_MB must be positive numbers (e.g. SOAK_SECONDS=60 SOAK_RATE=1000)',
  );
  process.exit(2);
}

// As in compare.mjs: the server on core 0, the generator on core 1, where taskset exists.
const pin = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0;
const pinned = (core, command, args) => (pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

function startServer() {
  return new Promise((resolve, reject) => {
    const [command, args] = pinned(0, process.execPath, [join(here, 'target-server.mjs')]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout
      .setEncoding('utf8')
      .once('data', (line) => resolve({ url: JSON.parse(line).url, stop: () => child.kill('SIGTERM') }));
    child.once('error', reject);
  });
}

/** V8's line for a full collection: `[pid:0x…]  55919 ms: Mark-Compact 54.4 (73.5) -> 39.1 (84.8) MB, …`. */
const FULL_GC =
  /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

/** Resident memory of `pid` in KiB, or undefined once the process is gone. */
function rssKb(pid) {
  const status = `/proc/${pid}/status`;
  if (existsSync('/proc/self/status')) {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(status, 'utf8'));
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined;
    }
  }
  const ps = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  const kb = Number(ps.stdout.trim());
  return ps.status === 0 && kb > 0 ? kb : undefined;
}

/** Runs measure-perfy.mjs (one `perfy run` in its own process) while sampling its RSS; resolves with both. */
function soak(url) {
  return new Promise((resolve, reject) => {
    const out = mkdtempSync(join(tmpdir(), 'perfy-soak-'));
    // taskset execs the command, so the child's pid is the generator's own.
    const [command, args] = pinned(1, process.execPath, [
      '--trace-gc',
      join(here, 'measure-perfy.mjs'),
      join(here, 'scenarios', 'open.yaml'),
      out,
    ]);
    const env = { ...process.env, BENCH_URL: url, BENCH_RATE: `${rate}/s`, BENCH_DURATION: `${seconds}s` };
    const started = Date.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    // stdout: V8's GC trace, then measure-perfy's JSON as the last line.
    let pending = '';
    let lastLine = '';
    const fullGcs = [];
    const onLine = (line) => {
      const gc = FULL_GC.exec(line);
      if (gc) fullGcs.push({ seconds: Number(gc[1]) / 1000, liveMb: Number(gc[2]), heapMb: Number(gc[3]) });
      else if (line.trim() !== '' && !line.startsWith('[')) lastLine = line;
    };
    child.stdout.setEncoding('utf8').on('data', (text) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop();
      lines.forEach(onLine);
    });
    const samples = [];
    const sample = () => {
      const kb = rssKb(child.pid);
      if (kb !== undefined) samples.push({ seconds: Math.round((Date.now() - started) / 100) / 10, rssKb: kb });
    };
    const timer = setInterval(() => {
      sample();
      const last = samples.at(-1);
      if (last && Math.round(last.seconds) % 60 === 0)
        process.stderr.write(`${last.seconds.toFixed(0)} s: RSS ${(last.rssKb / 1024).toFixed(1)} MB\n`);
    }, SAMPLE_MS);
    sample();
    child.once('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearInterval(timer);
      onLine(pending);
      if (code !== 0 || !lastLine) reject(new Error(`measure-perfy.mjs exited with ${code}`));
      else resolve({ samples, fullGcs, run: JSON.parse(lastLine) });
    });
  });
}

process.stderr.write(
  `soak: ${rate}/s for ${seconds} s, RSS sampled every ${SAMPLE_MS / 1000} ` +
    `s${pin ? ', server on core 0, generator on core 1' : ''}\n`,
);
const server = await startServer();
let measured;
try {
  measured = await soak(server.url);
} finally {
  server.stop();
}
const { samples, fullGcs, run } = measured;

const mb = (kb) => kb / 1024;
// During the load only: after it, perfy builds and writes its result, which is not what this check is about.
const duringLoad = samples.filter((s) => s.seconds <= seconds);
const warmup = duringLoad.find((s) => s.seconds >= warmupSeconds);
const end = duringLoad.at(-1);
if (warmup === undefined || end === undefined) {
  console.error('soak: no RSS sample after the warm-up (is the run long enough?)');
  process.exit(2);
}
const growthMb = mb(end.rssKb - warmup.rssKb);
const maxRssMb = mb(Math.max(...duringLoad.map((s) => s.rssKb)));
// One sample is at the mercy of when the garbage collector last ran; the slope over every sample after the
// warm-up (least squares) says whether the baseline rises. Reported beside the growth, not judged.
const settled = duringLoad.filter((s) => s.seconds >= warmup.seconds);
const slopeMbPerMin = slope(settled.map((s) => [s.seconds / 60, mb(s.rssKb)]));
// The heap retained after each full collection between the warm-up and the end of the load.
const gcs = fullGcs.filter((g) => g.seconds >= warmup.seconds && g.seconds <= end.seconds);
const live = gcs.length === 0 ? undefined : {
  collections: gcs.length,
  firstMb: gcs[0].liveMb,
  lastMb: gcs.at(-1).liveMb,
  maxMb: Math.max(...gcs.map((g) => g.liveMb)),
  slopeMbPerMin: slope(gcs.map((g) => [g.seconds / 60, g.liveMb])),
  heapAfterLastMb: gcs.at(-1).heapMb,
};
const achieved = run.requests / seconds;
const passed = growthMb < limitMb;

const fmt = (n, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const print = (rows) => {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
};
console.log(
  `\nperfy soak — open model at ${fmt(rate, 0)}/s for ${seconds} s, node ${process.version}, ${cpus().length} ` +
    `cores${pin ? ', server on core 0, generator on core 1' : ', not pinned (no taskset)'}\n`,
);
// Every 30 s, so ten minutes fit on a screen; the JSON file has every sample.
const step = Math.max(1, Math.round(30_000 / SAMPLE_MS));
const shown = samples.filter((s, i) => i % step === 0 || s === warmup || s === end);
print([
  ['time', 'RSS MB', 'vs warm-up'],
  ...shown.map((s) => [
    `${fmt(s.seconds, 0)} s`,
    fmt(mb(s.rssKb)),
    s.seconds >= warmup.seconds ? `${growthSign(mb(s.rssKb - warmup.rssKb))}` : '',
  ]),
]);
console.log('');
print([
  ['', 'value'],
  [`RSS after the ${warmupSeconds} s warm-up (at ${fmt(warmup.seconds, 0)} s)`, `${fmt(mb(warmup.rssKb))} MB`],
  [`RSS at the end of the load (at ${fmt(end.seconds, 0)} s)`, `${fmt(mb(end.rssKb))} MB`],
  ['growth', `${growthSign(growthMb)} MB (limit < ${limitMb} MB)`],
  ['trend after the warm-up', slopeMbPerMin === undefined ? 'n/a' : `${growthSign(slopeMbPerMin, 2)} MB/min`],
  ['max RSS sampled during the load', `${fmt(maxRssMb)} MB`],
  [
    'heap retained after full GCs, first → last',
    live ? `${fmt(live.firstMb)} → ${fmt(live.lastMb)} MB (${live.collections} GCs)` : 'n/a',
  ],
  [
    '  its trend and max',
    live
      ? `${live.slopeMbPerMin === undefined ? 'n/a' : `${growthSign(live.slopeMbPerMin, 2)} MB/min`}, max ` +
        `${fmt(live.maxMb)} MB`
      : 'n/a',
  ],
  ['  heap V8 kept after the last one', live ? `${fmt(live.heapAfterLastMb)} MB` : 'n/a'],
  ['peak RSS of the process (getrusage, result writing included)', `${fmt(run.maxRssKb / 1024)} MB`],
  ['requests', fmt(run.requests, 0)],
  ['planned arrivals', run.planned === null ? 'n/a' : fmt(run.planned, 0)],
  ['achieved rate', `${fmt(achieved, 0)}/s (${growthSign((achieved / rate - 1) * 100, 2)}%)`],
  ['dropped', fmt(run.dropped, 0)],
  ['errors', fmt(run.errors, 0)],
  ['CPU per request', `${fmt(run.cpuUs / Math.max(1, run.requests), 2)} µs`],
  ['generator saturated', run.saturated ? 'yes' : 'no'],
]);

function slope(points) {
  if (points.length < 2) return undefined;
  const meanX = points.reduce((a, [x]) => a + x, 0) / points.length;
  const meanY = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const sxx = points.reduce((a, [x]) => a + (x - meanX) ** 2, 0);
  return sxx === 0 ? undefined : points.reduce((a, [x, y]) => a + (x - meanX) * (y - meanY), 0) / sxx;
}

function growthSign(n, digits = 1) {
  return `${n >= 0 ? '+' : ''}${fmt(n, digits)}`;
}

mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      node: process.version,
      cpus: cpus().length,
      pinned: pin,
      rate,
      seconds,
      warmupSeconds,
      sampleMs: SAMPLE_MS,
      limitMb,
      warmupRssMb: mb(warmup.rssKb),
      endRssMb: mb(end.rssKb),
      growthMb,
      slopeMbPerMin,
      maxRssMb,
      peakRssMb: run.maxRssKb / 1024,
      requests: run.requests,
      planned: run.planned,
      achievedRate: achieved,
      dropped: run.dropped,
      errors: run.errors,
      cpuUsPerRequest: run.cpuUs / Math.max(1, run.requests),
      saturated: run.saturated,
      passed,
      live,
      samples,
      fullGcs,
      run,
    },
    null,
    2,
  )}\n`,
);
console.log(
  `\n${passed ? 'PASSED' : 'FAILED'}: RSS grew ${growthSign(growthMb)} MB after the warm-up (limit < ${limitMb} ` +
    `MB)\nresults: ${file}`,
);
process.exitCode = passed ? 0 : 1;
