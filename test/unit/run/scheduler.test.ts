// The scheduler against the clock: open-model arrivals (counts, start lag, max_vus drops), closed-model users
// (concurrency, ramps, graceful ramp down), the graceful-stop window and stopping on the run's signal.

import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { Plan } from '../../../engine/compile/plan.js';
import type { StepResult, StepRunner } from '../../../engine/steps/types.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import type { MetricStore } from '../../../engine/metrics/types.js';
import { Interpreter } from '../../../engine/run/interpreter.js';
import { startWorkload } from '../../../engine/run/scheduler.js';
import { tempDir } from '../../helpers.js';
import { compileWithProbe, loadProbe, probeRunners, PROBE, type Probe } from './probe.js';


const files = tempDir({ 'probe.mjs': PROBE });
let probe: Probe;

before(async () => {
  probe = await loadProbe(files.path('probe.mjs'));
});
after(files.cleanup);

function compile(body: string): Plan {
  return compileWithProbe(files.path('scenario.yaml'), 'sched', body);
}

interface Started {
  plan: Plan;
  store: MetricStore;
  /** performance.now() just before the workload started */
  t0: number;
  /** Resolves with the ms from t0 to the end of the workload. */
  done: Promise<number>;
}

/** Compiles a one-workload scenario and starts it with the probe plugin, as runPlan does. */
async function start(
  body: string,
  options: { gracefulStopMs?: number; stopGraceMs?: number; signal?: AbortSignal; runner?: StepRunner } = {},
): Promise<Started> {
  const plan = compile(body);
  const workload = plan.workloads[0]!;
  const store = createMetricStore();
  const runners = await probeRunners(plan, workload, store);
  const replacement = options.runner;
  if (replacement) for (const id of runners.keys()) runners.set(id, replacement);
  const interpreter = new Interpreter({
    plan,
    store,
    workload: workload.name,
    runners,
    feeders: new Map(),
    baseVars: { scenario: plan.name, services: {} },
    correctForLag: workload.timeline.model === 'open',
  });
  // As runPlan does: every closed-model user listens on the run's signal.
  const signal = options.signal ?? new AbortController().signal;
  setMaxListeners(0, signal);
  probe.reset();
  const t0 = performance.now();
  const run = startWorkload({
    workload, workloadIndex: 0, interpreter, store, seed: plan.seed,
    signal,
    gracefulStopMs: options.gracefulStopMs ?? 5_000,
    stopGraceMs: options.stopGraceMs ?? 1_000,
  });
  return { plan, store, t0, done: run.done.then(() => performance.now() - t0) };
}

/** Sum of a metric over its tag sets (counter totals, rate hits). */
function total(store: MetricStore, name: string): number {
  return store.snapshot().metrics.filter((m) => m.name === name).reduce((s, m) => s + m.sum, 0);
}

function percentile(store: MetricStore, metric: string, p: number): number {
  return store.aggregate({ fn: 'percentile', percentile: p, metric, tags: {} }) ?? NaN;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fires `stop` `ms` after now and waits for the workload to end: `abortedAt` is when the signal fired (from t0),
 * `stoppedMs` how long after it the workload ended.
 */
async function stopAfter(
  s: Started,
  stop: AbortController,
  ms: number,
): Promise<{ abortedAt: number; stoppedMs: number }> {
  await wait(ms);
  const abortedAt = performance.now() - s.t0;
  stop.abort();
  const took = await s.done;
  return { abortedAt, stoppedMs: took - abortedAt };
}

describe('scheduler: open model', () => {
  it('starts exactly 200 iterations of a 200/s uniform load for 1 s, each at its intended time', async () => {
    const s = await start('load: [ { rate: 200/s, duration: 1s } ]\nflow: [ { name: hit, use: probe } ]');
    const took = await s.done;
    assert.equal(probe.calls.length, 200);
    assert.equal(total(s.store, 'iterations'), 200);
    assert.equal(total(s.store, 'iterations.dropped'), 0);
    assert.equal(total(s.store, 'iterations.interrupted'), 0);
    assert.ok(took >= 990 && took < 1500, `the workload took ${took.toFixed(0)} ms`);
    // Test files run four at a time on two cores: a p99 of ~20 ms is the machine's noise (seen under Node 24 in
    // CI); a scheduler that batches arrivals or drifts is late by far more.
    const p99 = percentile(s.store, 'iteration.start_lag', 99);
    assert.ok(p99 < 30, `start lag p99 ${p99} ms`);
    probe.calls.forEach((call, k) => {
      const late = call.start - s.t0 - 5 * k;
      assert.ok(late > -1 && late < 50, `arrival ${k} started ${late.toFixed(1)} ms after its intended time`);
    });
  });

  it('drops the arrivals that find max_vus iterations in flight: started + dropped is exactly the plan', async () => {
    const s = await start(`
load: { stages: [ { rate: 100/s, duration: 1s } ], max_vus: 5 }
flow: [ { name: slow, use: probe, with: { delay: 200 } } ]
`);
    await s.done;
    const planned = s.plan.workloads[0]!.timeline.plannedIterations;
    assert.equal(planned, 100);
    const started = probe.calls.length;
    const dropped = total(s.store, 'iterations.dropped');
    assert.equal(started + dropped, 100, `started ${started}, dropped ${dropped}`);
    assert.equal(total(s.store, 'iterations'), started, 'every started iteration completed');
    assert.equal(probe.state.maxActive, 5);
    // Five users busy 200 ms each take one arrival in every 20 or 21 (arrivals are 10 ms apart): 4 or 5 each.
    assert.ok(started >= 20 && started <= 26, `started ${started} of 100`);
    assert.deepEqual(
      [...new Set(probe.calls.map((c) => c.vu))].sort(),
      [1, 2, 3, 4, 5],
      'no more than 5 users were created',
    );
  });

  it('records the start lag of every started iteration', async () => {
    const s = await start('load: [ { burst: { iterations: 30 } } ]\nflow: [ { name: hit, use: probe } ]');
    await s.done;
    assert.equal(probe.calls.length, 30);
    assert.equal(s.store.aggregate({ fn: 'count', metric: 'iteration.start_lag', tags: {} }), 30);
  });
});

describe('scheduler: closed model', () => {
  it('keeps `users: 4` looping concurrently for the hold', async () => {
    const s = await start(
      'load: [ { users: 4, hold: 1s } ]\nflow: [ { name: work, use: probe, with: { delay: 50 } } ]',
    );
    const took = await s.done;
    assert.equal(probe.state.maxActive, 4);
    assert.deepEqual([...new Set(probe.calls.map((c) => c.vu))].sort(), [1, 2, 3, 4]);
    assert.equal(s.store.aggregate({ fn: 'max', metric: 'vus', tags: {} }), 4);
    const iterations = total(s.store, 'iterations');
    assert.equal(iterations, probe.calls.length, 'every iteration ran to its end');
    assert.ok(iterations >= 56 && iterations <= 84, `${iterations} iterations of 50 ms by 4 users in 1 s`);
    assert.equal(total(s.store, 'iterations.interrupted'), 0);
    assert.ok(took >= 1000 && took < 1400, `the workload took ${took.toFixed(0)} ms`);
  });

  it('ramps 0 → 10 users over 1 s, one more every 100 ms, and reaches 10', async () => {
    const s = await start(
      'load: [ { users: 10, ramp_up: 1s, hold: 300ms } ]\nflow: [ { name: work, use: probe, with: { delay: 50 } } ]',
    );
    await s.done;
    assert.equal(probe.state.maxActive, 10);
    assert.equal(s.store.aggregate({ fn: 'max', metric: 'vus', tags: {} }), 10);
    for (let vu = 1; vu <= 10; vu++) {
      const first = probe.calls.find((c) => c.vu === vu);
      assert.ok(first, `user ${vu} ran`);
      const at = first.start - s.t0;
      assert.ok(
        at >= 100 * vu - 2 && at < 100 * vu + 100,
        `user ${vu} started at ${at.toFixed(0)} ms, target reaches ${vu} at ${100 * vu} ms`,
      );
    }
  });

  it('ramps down by letting the users beyond the target finish their iteration, then stopping them', async () => {
    const s = await start(`
load: [ { users: 4, hold: 400ms }, { users: 1, hold: 600ms } ]
flow: [ { name: work, use: probe, with: { delay: 150 } } ]
`);
    await s.done;
    const extra = probe.calls.filter((c) => c.vu !== 1);
    assert.deepEqual([...new Set(extra.map((c) => c.vu))].sort(), [2, 3, 4]);
    for (const call of extra) {
      assert.ok(
        call.start - s.t0 < 400 + 60,
        `user ${call.vu} started an iteration at ${(call.start - s.t0).toFixed(0)} ms, after the ramp down`,
      );
      assert.equal(call.aborted, false, 'its last iteration was not cut short');
    }
    assert.ok(extra.some((c) => c.end - s.t0 > 400), 'an iteration in flight at the ramp down went on past it');
    assert.ok(probe.calls.filter((c) => c.vu === 1 && c.start - s.t0 > 700).length >= 2, 'user 1 kept looping');
    assert.equal(total(s.store, 'iterations.interrupted'), 0);
    assert.equal(total(s.store, 'iterations'), probe.calls.length);
  });
});

describe('scheduler: stopping', () => {
  it('cancels closed-model iterations longer than the graceful-stop window and counts them interrupted', async () => {
    const s = await start(
      'load: [ { users: 2, hold: 300ms } ]\nflow: [ { name: stuck, use: probe, with: { delay: 5000 } } ]',
      { gracefulStopMs: 200 },
    );
    const took = await s.done;
    assert.ok(took >= 480 && took < 900, `done ${took.toFixed(0)} ms after the start (300 ms hold + 200 ms window)`);
    assert.equal(total(s.store, 'iterations.interrupted'), 2);
    assert.equal(total(s.store, 'iterations'), 0);
    assert.deepEqual(probe.calls.map((c) => c.aborted), [true, true]);
  });

  it('cancels open-model iterations still running after the graceful-stop window, and lets ' +
      'shorter ones finish', async () => {
    const s = await start(`
load: [ { burst: { iterations: 4 } } ]
flow: [ { name: mixed, use: probe, with: { delay: "{{vu}}00" } } ]
`, { gracefulStopMs: 250 });
    const took = await s.done;
    // Users 1 and 2 need 100 and 200 ms, users 3 and 4 need 300 and 400 ms: past the 250 ms window.
    assert.ok(took >= 240 && took < 600, `done after ${took.toFixed(0)} ms`);
    assert.deepEqual(probe.calls.map((c) => `${c.vu}:${c.aborted}`).sort(), ['1:false', '2:false', '3:true', '4:true']);
    assert.equal(total(s.store, 'iterations'), 2);
    assert.equal(total(s.store, 'iterations.interrupted'), 2);
  });

  it('starts the open model\'s graceful-stop window when the load ends, not at its last arrival', async () => {
    // Arrivals at 0 and 500 ms; the load ends at 1,000 ms; the window runs to 1,300 ms; the second iteration ends at
    // 1,200 ms.
    const s = await start(
      'load: [ { rate: 2/s, duration: 1s } ]\nflow: [ { name: slow, use: probe, with: { delay: 700 } } ]',
      { gracefulStopMs: 300 },
    );
    await s.done;
    assert.deepEqual(probe.calls.map((c) => c.aborted), [false, false]);
    assert.equal(total(s.store, 'iterations.interrupted'), 0);
  });

  it('stops an open workload within stopGraceMs of the signal, cancelling what is still in flight', async () => {
    const stop = new AbortController();
    const s = await start(
      'load: [ { rate: 50/s, duration: 10s } ]\nflow: [ { name: slow, use: probe, with: { delay: 2000 } } ]',
      { signal: stop.signal, stopGraceMs: 300 },
    );
    const { abortedAt, stoppedMs } = await stopAfter(s, stop, 290);
    assert.ok(
      stoppedMs >= 290 && stoppedMs < 300 + 250,
      `stopped ${stoppedMs.toFixed(0)} ms after the signal (grace 300 ms)`,
    );
    const started = probe.calls.length;
    assert.ok(started >= 14 && started <= 16, `${started} arrivals in the first 290 ms at 50/s`);
    assert.ok(probe.calls.every((c) => c.start - s.t0 <= abortedAt), 'no arrival after the signal');
    assert.equal(total(s.store, 'iterations.interrupted'), started);
  });

  it('stops a closed workload within stopGraceMs of the signal; iterations that finish in time complete', async () => {
    const stop = new AbortController();
    const s = await start(`
load: [ { users: 3, hold: 10s } ]
flow: [ { name: work, use: probe, with: { delay: "{{vu}}50" } } ]
`, { signal: stop.signal, stopGraceMs: 240 });
    const { stoppedMs } = await stopAfter(s, stop, 60);
    // Signal at 60 ms, grace 240 ms: users 1 and 2 (150 and 250 ms iterations) finish, user 3 (350 ms) is cut.
    assert.ok(
      stoppedMs >= 235 && stoppedMs < 240 + 200,
      `stopped ${stoppedMs.toFixed(0)} ms after the signal (grace 240 ms)`,
    );
    assert.deepEqual(probe.calls.map((c) => `${c.vu}:${c.aborted}`).sort(), ['1:false', '2:false', '3:true']);
    assert.equal(total(s.store, 'iterations.interrupted'), 1);
    assert.equal(total(s.store, 'iterations'), 2);
  });
});

/**
 * A runner that fails at once without I/O, as a request to an unparsable URL does. Past `valve` calls with no turn
 * of the event loop between them it notes the starvation and waits a timer, so a starving loop fails the test
 * instead of hanging it.
 */
function instantFailure(valve = 1_000): { runner: StepRunner; state: { calls: number; starved: boolean } } {
  const state = { calls: 0, starved: false };
  const failed: StepResult = { ok: false, error: { class: 'other', message: 'fails at once' }, response: {} };
  let sinceTurn = 0;
  let watching = false;
  const runner: StepRunner = {
    execute: () => {
      state.calls++;
      if (!watching) {
        watching = true;
        setImmediate(() => {
          watching = false;
          sinceTurn = 0;
        });
      }
      if (++sinceTurn <= valve) return Promise.resolve(failed);
      state.starved = true;
      return new Promise((resolve) => setTimeout(() => resolve(failed), 1));
    },
  };
  return { runner, state };
}

describe('scheduler: iterations that never wait for I/O', () => {
  it('ends a closed workload on time when every iteration fails at once, letting the event loop turn', async () => {
    const instant = instantFailure();
    const body = 'load: [ { users: 2, hold: 300ms } ]\nflow: [ { name: fail, use: probe } ]';
    const s = await start(body, { runner: instant.runner });
    const took = await s.done;
    assert.equal(instant.state.starved, false, 'no run of 1,000 iterations without a turn of the event loop');
    assert.ok(took >= 295 && took < 600, `the 300 ms workload took ${took.toFixed(0)} ms`);
    assert.ok(instant.state.calls > 100, `${instant.state.calls} iterations`);
    assert.equal(total(s.store, 'iterations'), instant.state.calls);
    assert.equal(total(s.store, 'step.errors'), instant.state.calls);
  });

  it('stops such a closed workload at once on the run\'s signal', async () => {
    const instant = instantFailure();
    const stop = new AbortController();
    const s = await start('load: [ { users: 2, hold: 10s } ]\nflow: [ { name: fail, use: probe } ]', {
      runner: instant.runner, signal: stop.signal, stopGraceMs: 1_000,
    });
    setTimeout(() => stop.abort(), 100);
    const took = await s.done;
    assert.equal(instant.state.starved, false);
    // Each user ends after its current iteration, which takes no time: long before the 1 s grace.
    assert.ok(took >= 95 && took < 400, `stopped ${took.toFixed(0)} ms after the start, signal at 100 ms`);
    assert.equal(total(s.store, 'iterations.interrupted'), 0);
  });
});
