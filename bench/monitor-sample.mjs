// The resource monitor's own cost: perfy's CPU time (process.cpuUsage()) while it samples 10 processes every
// second, against the same time idle. It fails (exit 1) when sampling costs more than 1 % of one core. It also
// times single samples (wall ms and CPU ms each).
// Usage: npm run build, then node bench/monitor-sample.mjs (it takes about 8 × MONITOR_BENCH_SECONDS).
// Env: MONITOR_BENCH_SECONDS (10, per phase), MONITOR_BENCH_PROCESSES (10), MONITOR_BENCH_LIMIT (0.01, a share
// of one core).
//
// The watched processes are idle children (fixtures/monitor/child.mjs idle), each its own `{ pid }` target (a
// tree: the whole process table is scanned once per sample), with the host figures on. A second run watches
// the same children as `{ command }` targets (a marker in their argv), which adds the command-line matching. A
// third adds what a run does after each sample: the leak rule on every process (a 10-minute window, filled
// beforehand with 600 samples so each verdict works on a full window) and four alerts.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { startSampler } = await import(join(root, 'dist', 'engine', 'monitor', 'sampler.js'));
const { createMetricStore } = await import(join(root, 'dist', 'engine', 'metrics', 'store.js'));
const { createLeakDetector } = await import(join(root, 'dist', 'engine', 'monitor', 'leak.js'));
const { createAlertEvaluator } = await import(join(root, 'dist', 'engine', 'monitor', 'alerts.js'));
const { compileExpression } = await import(join(root, 'dist', 'engine', 'expr', 'index.js'));

const seconds = Number(process.env.MONITOR_BENCH_SECONDS ?? 10);
const count = Number(process.env.MONITOR_BENCH_PROCESSES ?? 10);
const limit = Number(process.env.MONITOR_BENCH_LIMIT ?? 0.01);
if (!(seconds >= 1) || !(count >= 1) || !(limit > 0)) {
  console.error('MONITOR_BENCH_SECONDS and MONITOR_BENCH_PROCESSES must be ≥ 1, MONITOR_BENCH_LIMIT > 0');
  process.exit(2);
}

function startChild(marker) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'fixtures', 'monitor', 'child.mjs'), 'idle', marker], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.once('data', () => resolve(child));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU ms this process spends over `seconds` while `during` runs (or idle). */
async function phase(start) {
  const stop = start?.();
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = cpuMs() - cpu0;
  const wall = performance.now() - t0;
  const stats = stop ? await stop() : undefined;
  return { cpu, wall, stats };
}

/** The leak rule and four alerts fed by every sample, as a run wires them (engine/run/monitoring.ts). */
function judging(targets) {
  const store = createMetricStore();
  const windowMs = 600_000;
  const detectors = new Map(targets.map((t) => {
    const d = createLeakDetector({ windowMs, maxGrowthBytesPerSec: 10e6 / 60 });
    for (let i = 0; i < 600; i++) d.add(i * 1000 - windowMs, 50e6 + (i % 7) * 1e5);
    return [t.name, d];
  }));
  const alerts = ['rss(p0) > 512MB', 'rss(p0) > 1GB', 'cpu(p0) > 70%', 'cpu(p0) > 90% for 10s'].map((source) => ({
    source, expression: compileExpression(source), level: 'warning', abort: false, description: undefined,
  }));
  const evaluator = createAlertEvaluator(alerts, store);
  const t0 = performance.now();
  return {
    store,
    onSample(values) {
      const t = performance.now() - t0;
      for (const p of values.processes) if (p.rss !== undefined) detectors.get(p.process)?.add(t, p.rss);
      for (const d of detectors.values()) d.verdict();
      evaluator.check(t);
    },
  };
}

async function measure(label, targets, judge = false) {
  const idle = await phase();
  let sampler;
  const sampling = await phase(() => {
    const extra = judge ? judging(targets) : { store: createMetricStore() };
    sampler = startSampler({ targets, store: extra.store, intervalMs: 1000, onSample: extra.onSample });
    return async () => {
      await sampler.stop();
      return { ...sampler.stats };
    };
  });
  const share = (sampling.cpu - idle.cpu) / sampling.wall;
  // Single samples, one at a time: the wall time each takes and this process's CPU for it.
  const timing = startSampler({ targets, store: createMetricStore(), intervalMs: 3_600_000 });
  const walls = [];
  const cpus = [];
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const c0 = cpuMs();
    const v = await timing.sampleNow();
    cpus.push(cpuMs() - c0);
    walls.push(v.durationMs);
  }
  await timing.stop();
  const row = {
    label,
    idleCpuMs: +idle.cpu.toFixed(1),
    samplingCpuMs: +sampling.cpu.toFixed(1),
    samples: sampling.stats.samples,
    skipped: sampling.stats.skipped,
    share: +(share * 100).toFixed(3),
    cpuMsPerSample: +((sampling.cpu - idle.cpu) / sampling.stats.samples).toFixed(2),
    sampleWallMsMedian: +median(walls).toFixed(2),
    sampleWallMsMax: +Math.max(...walls).toFixed(2),
    sampleCpuMsMedian: +median(cpus).toFixed(2),
  };
  console.log(
    `${label}: ${row.share} % of one core (${row.samplingCpuMs} ms CPU sampling vs ${row.idleCpuMs} ms idle over ` +
      `${seconds} s, ${row.samples} samples, ${row.skipped} skipped); one sample: ${row.sampleWallMsMedian} ms wall ` +
      `(max ${row.sampleWallMsMax}), ${row.sampleCpuMsMedian} ms CPU`,
  );
  return row;
}

const marker = `perfy-monitor-bench-${process.pid}`;
const children = await Promise.all(Array.from({ length: count }, (_, i) => startChild(`${marker}-${i}-`)));
// A first idle phase, not counted: V8 still collects and compacts what start-up left (about 25 ms of CPU in the
// next 10 s here), which would be charged to the idle phase and flatter the sampling.
await phase();
const processes = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
console.log(`${count} idle children; ${processes} processes on this machine (each sample reads every one's stat)`);
let failed = false;
try {
  const byPid = await measure(
    `${count} { pid } targets`,
    children.map((c, i) => ({ name: `p${i}`, watch: { pid: c.pid } })),
  );
  const byCommand = await measure(
    `${count} { command } targets`,
    children.map((_, i) => ({ name: `c${i}`, watch: { command: `${marker}-${i}-` } })),
  );
  const judged = await measure(
    `${count} { pid } targets, leak rule and 4 alerts`,
    children.map((c, i) => ({ name: `p${i}`, watch: { pid: c.pid } })),
    true,
  );
  for (const row of [byPid, byCommand, judged]) {
    if (row.share / 100 > limit) {
      console.error(`FAIL ${row.label}: ${row.share} % of one core is above the limit of ${limit * 100} %`);
      failed = true;
    }
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
}
process.exit(failed ? 1 : 0);
