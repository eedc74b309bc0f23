// Rendering the HTML report of a 1-hour run: a result made by a real metric store over a fake clock (3600
// one-second intervals, 10 steps of http and sql, errors, pools, the generator's own metrics) must render in under
// 2 s (median of 5) into a file under 2 MB. The unit tests read the same synthesized result.

import { RESULT_VERSION, type Result } from '../engine/metrics/result.js';
import { createMetricStore } from '../engine/metrics/store.js';
import { completeResult } from '../engine/metrics/summary.js';
import { mulberry32 } from '../engine/random.js';
import { renderHtml } from '../engine/report/html.js';
import { BUILTIN_STEP_KINDS } from '../engine/steps/index.js';
import type { BenchResult } from './run.js';

export const name = 'HTML report (engine/report/html.ts)';

const RENDER_LIMIT_MS = 2000;
export const SIZE_LIMIT_BYTES = 2_000_000;

const T0 = 1_700_000_000_000;

/**
 * The result of a run of `seconds` at 50 iterations/s: 6 http steps and 4 sql steps per iteration, 1 % of one
 * step's requests answered 500, a SQLSTATE now and then, the pool, VUs, the engine's lag and CPU, each second.
 */
export function syntheticResult(seconds = 3600, perSecond = 50): Result {
  let now = T0;
  const store = createMetricStore({ now: () => now });
  const random = mulberry32(16);
  const workload = 'default';
  const latency = (base: number): number => base * (0.5 + random()) * (random() < 0.01 ? 8 : 1);
  const http = (step: number, status: string) => {
    const tags = { workload, step: `http ${step}`, method: step % 2 ? 'POST' : 'GET', status,
      status_class: `${status[0]}xx`, expected: String(status < '400') };
    return {
      duration: store.handle('http.duration', 'trend', tags),
      ttfb: store.handle('http.ttfb', 'trend', tags),
      connect: store.handle('http.connect', 'trend', tags),
      reqs: store.handle('http.reqs', 'counter', tags),
      errors: store.handle('http.errors', 'rate', tags),
      bytesIn: store.handle('http.bytes_in', 'counter', tags),
      bytesOut: store.handle('http.bytes_out', 'counter', tags),
    };
  };
  const sql = (step: number, status: string) => {
    const tags = { workload, step: `sql ${step}`, status, status_class: status === 'ok' ? 'ok' : status.slice(0, 2) };
    return {
      duration: store.handle('sql.duration', 'trend', tags),
      queries: store.handle('sql.queries', 'counter', tags),
      errors: store.handle('sql.errors', 'rate', tags),
      rows: store.handle('sql.rows', 'counter', tags),
    };
  };
  const stepOf = (step: string) => ({
    duration: store.handle('step.duration', 'trend', { workload, step }),
    errors: store.handle('step.errors', 'rate', { workload, step }),
    check: store.handle('checks', 'rate', { workload, step, check: 'status == 200' }),
  });
  const httpSteps = [0, 1, 2, 3, 4, 5]
    .map((i) => ({ ok: http(i, '200'), failed: http(i, '500'), step: stepOf(`http ${i}`) }));
  const sqlSteps = [0, 1, 2, 3].map((i) => ({ ok: sql(i, 'ok'), failed: sql(i, '40001'), step: stepOf(`sql ${i}`) }));
  const iterations = store.handle('iterations', 'counter', { workload });
  const iterationTime = store.handle('iteration.duration', 'trend', { workload });
  const vus = store.handle('vus', 'gauge', { workload });
  const lag = store.handle('engine.lag', 'trend', {});
  const cpu = store.handle('engine.cpu', 'gauge', {});
  const pool = store.handle('sql.pool.size', 'gauge', { db: 'main' });
  const waiting = store.handle('sql.pool.waiting', 'gauge', { db: 'main' });
  for (let s = 0; s < seconds; s++) {
    for (let n = 0; n < perSecond; n++) {
      now = T0 + s * 1000 + (n * 1000) / perSecond;
      httpSteps.forEach(({ ok, failed, step }, i) => {
        const fails = i === 3 && random() < 0.01;
        const h = fails ? failed : ok;
        const ms = latency(4 + i * 3);
        for (const m of [h.duration, h.ttfb, step.duration]) m.record(ms);
        h.connect.record(random() < 0.02 ? 1.5 : 0);
        h.reqs.record(1);
        h.errors.record(fails ? 1 : 0);
        h.bytesIn.record(900);
        h.bytesOut.record(180);
        step.errors.record(fails ? 1 : 0);
        step.check.record(fails ? 0 : 1);
      });
      sqlSteps.forEach(({ ok, failed, step }, i) => {
        const fails = random() < 0.001;
        const q = fails ? failed : ok;
        const ms = latency(1 + i);
        q.duration.record(ms);
        step.duration.record(ms);
        q.queries.record(1);
        q.errors.record(fails ? 1 : 0);
        q.rows.record(fails ? 0 : 10);
        step.errors.record(fails ? 1 : 0);
      });
      iterations.record(1);
      iterationTime.record(latency(60));
    }
    vus.record(10 + Math.round(random() * 5));
    lag.record(1 + random() * 3);
    cpu.record(0.2 + random() * 0.1);
    pool.record(10);
    waiting.record(Math.round(random() * 2));
  }
  now = T0 + seconds * 1000;
  return completeResult({
    version: RESULT_VERSION,
    scenario: { name: 'hour', description: 'A synthesized hour of http and sql', file: 'hour.yaml' },
    startedAt: T0,
    endedAt: now,
    status: 'completed',
    reason: undefined,
    environment: {
      perfy: '0', node: process.version, platform: 'linux', arch: 'x64', cpus: 2, hostname: 'h', workers: 1,
    },
    overrides: [],
    workloads: [{
      name: workload, model: 'open', startAfterMs: 0, durationMs: seconds * 1000,
      plannedIterations: seconds * perSecond, arrivals: 'uniform',
      stages: [{ kind: 'rate', startMs: 0, endMs: seconds * 1000, from: perSecond, to: perSecond }],
    }],
    metrics: store.snapshot(),
    thresholds: [],
    saturation: { saturated: false, eventLoopLagP99Ms: 4, cpu: 0.25, note: undefined },
  });
}

export async function run(): Promise<BenchResult[]> {
  const result = syntheticResult();
  const context = { kinds: BUILTIN_STEP_KINDS };
  await renderHtml(result, context);
  const rounds: number[] = [];
  let bytes = 0;
  for (let r = 0; r < 5; r++) {
    const started = process.hrtime.bigint();
    bytes = Buffer.byteLength(await renderHtml(result, context));
    rounds.push(Number(process.hrtime.bigint() - started));
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[2]!;
  console.log(`  1-hour HTML report: ${(median / 1e6).toFixed(0)} ms median of 5, ${(bytes / 1e6).toFixed(2)} MB`);
  // Over the size limit is a failure as much as over the time limit.
  if (bytes > SIZE_LIMIT_BYTES) throw new Error(`the 1-hour HTML report is ${bytes} bytes, over ${SIZE_LIMIT_BYTES}`);
  return [{ name: 'render the HTML of a 1-hour result', nsPerOp: median, rounds, iterations: 1,
    maxNsPerOp: RENDER_LIMIT_MS * 1e6 }];
}
