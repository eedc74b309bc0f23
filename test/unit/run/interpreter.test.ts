// The interpreter's flow semantics, driven through a real plugin executor (a probe module in a temp dir) that
// records what each step saw and answers what the step's `with:` says; numbers are read from the real store.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { FlowNode, Plan } from '../../../engine/compile/plan.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import type { MetricStore, ResultMetric } from '../../../engine/metrics/types.js';
import { createFeeder, type DataFeeder } from '../../../engine/run/data.js';
import { Interpreter, type VirtualUser } from '../../../engine/run/interpreter.js';
import { createRandom } from '../../../engine/random.js';
import { tempDir } from '../../helpers.js';
import { compileWithProbe, loadProbe, probeRunners, PROBE, type Probe } from './probe.js';


const files = tempDir({
  'probe.mjs': PROBE,
  'users.csv': 'id,name\n1,ada\n2,bob\n3,cy\n',
});
let probe: Probe;

before(async () => {
  probe = await loadProbe(files.path('probe.mjs'));
});
after(files.cleanup);

function compile(body: string): Plan {
  return compileWithProbe(files.path('scenario.yaml'), 'interp', body);
}

interface Harness {
  plan: Plan;
  store: MetricStore;
  interpreter: Interpreter;
  flow: FlowNode[];
  user(id: number, seed?: number, signal?: AbortSignal): VirtualUser;
  /** Runs `count` iterations of `user` one after another; their outcomes. */
  run(user: VirtualUser, count?: number, signal?: AbortSignal): Promise<string[]>;
}

/** Compiles a scenario of one workload and builds its interpreter the way runPlan does, with the probe plugin. */
async function harness(body: string): Promise<Harness> {
  const plan = compile(body);
  const workload = plan.workloads[0]!;
  const store = createMetricStore();
  const runners = await probeRunners(plan, workload, store);
  const feeders = new Map<string, DataFeeder>(
    Object.entries(plan.data).map(([name, data]) => [name, createFeeder(data)]),
  );
  const interpreter = new Interpreter({
    plan,
    store,
    workload: workload.name,
    runners,
    feeders,
    baseVars: { scenario: plan.name, services: {} },
    correctForLag: false,
  });
  probe.reset();
  const live = new AbortController().signal;
  return {
    plan,
    store,
    interpreter,
    flow: workload.flow,
    user: (id, seed = 1, signal = live) => interpreter.createUser(id, createRandom(seed), signal),
    run: async (user, count = 1, signal = live) => {
      const outcomes: string[] = [];
      for (let i = 0; i < count; i++) outcomes.push(await interpreter.iteration(user, workload.flow, signal));
      return outcomes;
    },
  };
}

/** The store's metrics named `name` whose tags include `tags` and that have samples. */
function metrics(store: MetricStore, name: string, tags: Record<string, string> = {}): ResultMetric[] {
  return store
    .snapshot()
    .metrics.filter((m) => m.name === name && m.count > 0 && Object.entries(tags).every(([k, v]) => m.tags[k] === v));
}

function only(store: MetricStore, name: string, tags: Record<string, string> = {}): ResultMetric {
  const found = metrics(store, name, tags);
  assert.equal(
    found.length, 1, `one ${name} with ${JSON.stringify(tags)}; found ${JSON.stringify(found.map((m) => m.tags))}`,
  );
  return found[0]!;
}

const stepsCalled = (): string[] => probe.calls.map((c) => c.step);
const argOf = (name: string, arg: string): unknown[] =>
  probe.calls.filter((c) => c.step === name).map((c) => c.args[arg]);

const ONE = 'load: [ { burst: { iterations: 1 } } ]';

describe('interpreter: order and conditions', () => {
  it('runs the steps of a flow in order, each once per iteration', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: a, use: probe }
  - { name: b, use: probe }
  - { name: c, use: probe }
`);
    const user = h.user(1);
    assert.deepEqual(await h.run(user, 2), ['completed', 'completed']);
    assert.deepEqual(stepsCalled(), ['a', 'b', 'c', 'a', 'b', 'c']);
    assert.deepEqual(
      probe.calls.map((c) => c.iteration),
      [0, 0, 0, 1, 1, 1],
    );
    for (let i = 1; i < probe.calls.length; i++)
      assert.ok(probe.calls[i]!.start >= probe.calls[i - 1]!.end, 'a step starts after the previous one ended');
    assert.equal(only(h.store, 'iterations').sum, 2);
    assert.equal(only(h.store, 'iteration.duration').count, 2);
  });

  it('skips a step whose `if:` is false, without recording it', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: always, use: probe }
  - { name: later, use: probe, if: "iteration >= 2" }
  - { name: first-user, use: probe, if: "vu == 1" }
`);
    await h.run(h.user(1), 3);
    await h.run(h.user(2), 3);
    assert.deepEqual(stepsCalled(), [
      'always', 'first-user', 'always', 'first-user', 'always', 'later', 'first-user', 'always', 'always', 'always',
      'later',
    ]);
    assert.equal(only(h.store, 'step.duration', { step: 'later' }).count, 2);
    assert.equal(only(h.store, 'step.errors', { step: 'first-user' }).count, 3);
  });

  it('runs the `then` branch when the condition holds and the `else` branch otherwise', async () => {
    const h = await harness(`
${ONE}
variables: { mode: fast }
flow:
  - if: "vu == 1"
    then: [ { name: one, use: probe }, { name: one-more, use: probe } ]
    else: [ { name: other, use: probe } ]
  - if: "mode == 'slow'"
    then: [ { name: slow, use: probe } ]
  - { name: end, use: probe }
`);
    await h.run(h.user(1));
    await h.run(h.user(2));
    assert.deepEqual(stepsCalled(), ['one', 'one-more', 'end', 'other', 'end']);
  });
});

describe('interpreter: loops', () => {
  it('runs `loop: 3` three times with loop.index 0, 1, 2 and restores the outer loop index afterwards', async () => {
    const h = await harness(`
${ONE}
flow:
  - loop: 2
    flow:
      - loop: 3
        flow: [ { name: inner, use: probe, with: { index: "{{loop.index}}" } } ]
      - { name: outer, use: probe, with: { index: "{{loop.index}}" } }
  - { name: after, use: probe }
`);
    assert.deepEqual(await h.run(h.user(1)), ['completed']);
    assert.deepEqual(probe.calls.map((c) => `${c.step}:${String(c.args['index'])}`), [
      'inner:0', 'inner:1', 'inner:2', 'outer:0',
      'inner:0', 'inner:1', 'inner:2', 'outer:1',
      'after:undefined',
    ]);
    assert.equal(probe.calls.at(-1)!.vars['loop'], undefined, 'no loop variable outside every loop');
  });

  it('stops a `while` loop when its condition turns false, checking it before each round', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: first page, use: probe, with: { response: { json: { next: 2 } } } }
  - loop: { while: "json.next != null", max: 10 }
    flow:
      - name: page
        use: probe
        with:
          index: "{{loop.index}}"
          answers:
            - { response: { json: { next: 3 } } }
            - { response: { json: { next: 4 } } }
            - { response: { json: { next: null } } }
`);
    await h.run(h.user(1));
    assert.deepEqual(argOf('page', 'index'), ['0', '1', '2']);
  });

  it('does not enter a `while` loop whose condition is false at once', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: first page, use: probe, with: { response: { json: { next: null } } } }
  - loop: { while: "json.next != null", max: 10 }
    flow: [ { name: page, use: probe } ]
`);
    await h.run(h.user(1));
    assert.deepEqual(stepsCalled(), ['first page']);
  });

  it('stops a `while` loop after `max` rounds when the condition keeps holding', async () => {
    const h = await harness(`
${ONE}
flow:
  - loop: { while: "iteration == 0", max: 4 }
    flow: [ { name: page, use: probe, with: { index: "{{loop.index}}" } } ]
  - { name: after, use: probe }
`);
    assert.deepEqual(await h.run(h.user(1)), ['completed']);
    assert.deepEqual(argOf('page', 'index'), ['0', '1', '2', '3']);
    assert.deepEqual(stepsCalled().at(-1), 'after');
  });
});

describe('interpreter: parallel branches and groups', () => {
  it('runs parallel branches at the same time and goes on when all have finished', async () => {
    const h = await harness(`
${ONE}
flow:
  - parallel:
      - { name: css, use: probe, with: { delay: 150 } }
      - { name: js, use: probe, with: { delay: 150 } }
      - { name: img, use: probe, with: { delay: 150 } }
  - { name: after, use: probe }
`);
    const started = performance.now();
    await h.run(h.user(1));
    const elapsed = performance.now() - started;
    const [css, js, img, afterCall] = probe.calls;
    assert.deepEqual(stepsCalled(), ['css', 'js', 'img', 'after']);
    assert.equal(probe.state.maxActive, 3, 'three branches in flight at once');
    assert.ok(js!.start < css!.end && img!.start < css!.end, 'branches overlap in time');
    assert.ok(afterCall!.start >= Math.max(css!.end, js!.end, img!.end), 'the next step waits for every branch');
    assert.ok(elapsed < 150 * 2, `three 150 ms branches took ${elapsed.toFixed(0)} ms together`);
  });

  it('gives each loop inside parallel branches its own loop.index', async () => {
    const h = await harness(`
${ONE}
flow:
  - parallel:
      - loop: 2
        flow:
          - { name: slow, use: probe, with: { delay: 60, index: "{{loop.index}}" } }
          - { name: slow-after, use: probe, with: { index: "{{loop.index}}" } }
      - loop: 4
        flow:
          - { name: fast, use: probe, with: { delay: 25, index: "{{loop.index}}" } }
`);
    await h.run(h.user(1));
    assert.deepEqual(argOf('fast', 'index'), ['0', '1', '2', '3']);
    assert.deepEqual(argOf('slow', 'index'), ['0', '1']);
    assert.deepEqual(argOf('slow-after', 'index'), ['0', '1'], 'the step after a pause sees its own loop\'s round');
  });

  it('records group.duration with the group tag, and tags the steps inside with it', async () => {
    const h = await harness(`
${ONE}
flow:
  - group: browse
    flow:
      - { name: list, use: probe, with: { delay: 40 } }
      - { name: show, use: probe, with: { delay: 40 } }
  - { name: outside, use: probe }
`);
    await h.run(h.user(1), 2);
    const group = only(h.store, 'group.duration', { group: 'browse' });
    assert.deepEqual(group.tags, { workload: 'default', group: 'browse' });
    assert.equal(group.count, 2);
    assert.ok(group.min >= 79 && group.max < 400, `group took ${group.min}..${group.max} ms`);
    assert.equal(only(h.store, 'step.duration', { step: 'list' }).tags['group'], 'browse');
    assert.equal(only(h.store, 'step.duration', { step: 'outside' }).tags['group'], undefined);
  });
});

describe('interpreter: variables, captures and data', () => {
  it('shows a capture to later steps and to the next iteration of the same user, never to another user', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: before, use: probe, with: { saw: "{{token}}" } }
  - { name: login, use: probe, with: { response: { echo: "tok-{{vu}}-{{iteration}}" } }, capture: { token: echo } }
  - { name: later, use: probe, with: { saw: "{{token}}" } }
`);
    const one = h.user(1);
    const two = h.user(2);
    await h.run(one, 2);
    await h.run(two, 1);
    assert.deepEqual(
      probe.calls
        .filter((c) => c.step !== 'login')
        .map((c) => `${c.vu}/${c.iteration} ${c.step}: ${String(c.args['saw'])}`),
      [
        '1/0 before: ', '1/0 later: tok-1-0', '1/1 before: tok-1-0', '1/1 later: tok-1-1', '2/0 before: ',
        '2/0 later: tok-2-0',
      ],
    );
    assert.equal(probe.calls[6]!.vars['token'], undefined, "user 2 starts without user 1's capture");
  });

  it('picks list variables per iteration from the user\'s seeded random: same seed, same picks', async () => {
    const topics = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const h = await harness(`
${ONE}
variables: { topic: [${topics.join(', ')}], size: 20 }
flow: [ { name: list, use: probe, with: { topic: "{{topic}}", size: "{{size}}" } } ]
`);
    const picks = async (id: number, seed: number): Promise<unknown[]> => {
      probe.reset();
      await h.run(h.user(id, seed), 12);
      return argOf('list', 'topic');
    };
    const first = await picks(1, 42);
    const reference = createRandom(42);
    assert.deepEqual(
      first,
      Array.from({ length: 12 }, () => reference.pick(topics)),
      "one pick per iteration, from the user's random",
    );
    assert.deepEqual(await picks(2, 42), first, 'the same seed picks alike');
    assert.notDeepEqual(await picks(3, 7), first, 'another seed picks otherwise');
    assert.deepEqual(new Set(argOf('list', 'size')), new Set(['20']), 'a fixed variable stays');
  });

  it('hands out data rows in file order, one per iteration, wrapping around', async () => {
    const h = await harness(`
${ONE}
data: { users: { csv: users.csv } }
flow: [ { name: login, use: probe, with: { id: "{{data.users.id}}", name: "{{data.users.name}}" } } ]
`);
    const one = h.user(1);
    const two = h.user(2);
    await h.run(one, 2);
    await h.run(two, 3);
    assert.deepEqual(
      probe.calls.map((c) => `${c.vu}:${String(c.args['id'])}:${String(c.args['name'])}`),
      ['1:1:ada', '1:2:bob', '2:3:cy', '2:1:ada', '2:2:bob'],
    );
  });

  it("returns 'exhausted' once `order: unique` has used every row, without running a step", async () => {
    const h = await harness(`
${ONE}
data: { users: { csv: users.csv, order: unique } }
flow: [ { name: login, use: probe, with: { id: "{{data.users.id}}" } } ]
`);
    assert.deepEqual(await h.run(h.user(1), 4), ['completed', 'completed', 'completed', 'exhausted']);
    assert.deepEqual(argOf('login', 'id'), ['1', '2', '3']);
    assert.equal(only(h.store, 'iterations').sum, 3);
  });

  it('starts over with `on_exhausted: recycle`', async () => {
    const h = await harness(`
${ONE}
data: { users: { csv: users.csv, order: unique, on_exhausted: recycle } }
flow: [ { name: login, use: probe, with: { id: "{{data.users.id}}" } } ]
`);
    assert.deepEqual(await h.run(h.user(1), 4), ['completed', 'completed', 'completed', 'completed']);
    assert.deepEqual(argOf('login', 'id'), ['1', '2', '3', '1']);
  });
});

describe('interpreter: checks and errors', () => {
  it('counts a failed expect in `checks` and `step.errors` tagged with the step, and goes on with ' +
      'the iteration', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: judged, use: probe, with: { status: 500 }, expect: [ "status == 200", "status < 600" ] }
  - { name: next, use: probe }
`);
    assert.deepEqual(await h.run(h.user(1), 2), ['completed', 'completed']);
    assert.deepEqual(stepsCalled(), ['judged', 'next', 'judged', 'next']);
    const failed = only(h.store, 'checks', { step: 'judged', check: 'status == 200' });
    const passed = only(h.store, 'checks', { step: 'judged', check: 'status < 600' });
    assert.deepEqual([failed.count, failed.sum], [2, 0], 'the failed check: 2 samples, 0 passes');
    assert.deepEqual([passed.count, passed.sum], [2, 2]);
    assert.equal(h.store.aggregate({ fn: 'rate', metric: 'checks', tags: {} }), 0.5);
    const errors = only(h.store, 'step.errors', { step: 'judged' });
    assert.deepEqual(errors.tags, { workload: 'default', step: 'judged' });
    assert.deepEqual([errors.count, errors.sum], [2, 2]);
    assert.deepEqual(
      [only(h.store, 'step.errors', { step: 'next' }).count, only(h.store, 'step.errors', { step: 'next' }).sum],
      [2, 0],
    );
  });

  it('counts a failed request in `step.errors` and goes on', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: broken, use: probe, with: { ok: false, error: reset } }
  - { name: next, use: probe }
`);
    assert.deepEqual(await h.run(h.user(1)), ['completed']);
    assert.deepEqual(stepsCalled(), ['broken', 'next']);
    assert.equal(only(h.store, 'step.errors', { step: 'broken' }).sum, 1);
  });
});

describe('interpreter: retry', () => {
  it('retries a failing step `attempts` times with a doubling backoff, and records one sample', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: flaky, use: probe, with: { ok: false }, retry: { attempts: 3, backoff: 40ms } }
  - { name: next, use: probe }
`);
    await h.run(h.user(1));
    const tries = probe.calls.filter((c) => c.step === 'flaky');
    assert.equal(tries.length, 4, 'the first try and 3 retries');
    const gaps = tries.slice(1).map((t, i) => t.start - tries[i]!.end);
    [40, 80, 160].forEach((backoff, i) => {
      assert.ok(
        gaps[i]! >= backoff - 2 && gaps[i]! < backoff + 60,
        `wait before retry ${i + 1}: ${gaps[i]!.toFixed(1)} ms, expected ~${backoff}`,
      );
    });
    const errors = only(h.store, 'step.errors', { step: 'flaky' });
    assert.deepEqual([errors.count, errors.sum], [1, 1], 'one step sample, failed');
    const duration = only(h.store, 'step.duration', { step: 'flaky' });
    assert.equal(duration.count, 1);
    assert.ok(duration.max >= 278 && duration.max < 600, `the step with its retries took ${duration.max} ms`);
    assert.equal(stepsCalled().at(-1), 'next');
  });

  it('stops retrying at the first success', async () => {
    const h = await harness(`
${ONE}
flow:
  - name: flaky
    use: probe
    with: { answers: [ { ok: false, status: 503 }, { ok: false, status: 503 }, { status: 200 } ] }
    retry: { attempts: 5, backoff: 10ms }
    expect: "status == 200"
`);
    await h.run(h.user(1));
    assert.equal(probe.calls.length, 3);
    assert.deepEqual(
      metrics(h.store, 'step.errors', { step: 'flaky' }).map((m) => [m.count, m.sum]),
      [[1, 0]],
    );
    assert.deepEqual(
      metrics(h.store, 'checks', { step: 'flaky' }).map((m) => [m.count, m.sum]),
      [[1, 1]],
      'only the final answer is checked',
    );
  });

  it('does not retry when `retry.on` is false for the response', async () => {
    const h = await harness(`
${ONE}
flow:
  - name: refused
    use: probe
    with: { ok: false, status: 500 }
    retry: { attempts: 3, backoff: 10ms, on: "status == 503" }
  - name: busy
    use: probe
    with: { answers: [ { ok: false, status: 503 }, { ok: false, status: 500 }, { status: 200 } ] }
    retry: { attempts: 3, backoff: 10ms, on: "status == 503" }
`);
    await h.run(h.user(1));
    assert.equal(argOf('refused', 'status').length, 1, 'a 500 is not retried');
    assert.equal(argOf('busy', 'status').length, 2, 'a 503 is retried, the 500 after it is not');
    assert.equal(only(h.store, 'step.errors', { step: 'busy' }).sum, 1);
  });
});

describe('interpreter: think time and stopping', () => {
  it('pauses for a fixed think time', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: a, use: probe }
  - think: 60ms
  - { name: b, use: probe }
`);
    await h.run(h.user(1));
    const [a, b] = probe.calls;
    const pause = b!.start - a!.end;
    assert.ok(pause >= 58.5 && pause < 110, `paused ${pause.toFixed(1)} ms`);
  });

  it('draws a think range from the user\'s seeded random, within [min, max]', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: a, use: probe }
  - think: 20ms..60ms
  - { name: b, use: probe }
`);
    const user = h.user(1, 5);
    await h.run(user, 8);
    const reference = createRandom(5);
    for (let i = 0; i < 8; i++) {
      const a = probe.calls[2 * i]!;
      const b = probe.calls[2 * i + 1]!;
      const drawn = reference.between(20, 60);
      const pause = b.start - a.end;
      assert.ok(drawn >= 20 && drawn <= 60);
      // Node's timers have whole-millisecond resolution and may fire up to ~1 ms early.
      assert.ok(
        pause >= Math.floor(drawn) - 1.5 && pause < drawn + 40,
        `iteration ${i}: paused ${pause.toFixed(1)} ms, drew ${drawn.toFixed(1)} ms`,
      );
    }
  });

  it('ends a sleeping think at once when the signal fires, and returns interrupted', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: a, use: probe }
  - think: 5s
  - { name: b, use: probe }
`);
    const stop = new AbortController();
    const user = h.user(1, 1, stop.signal);
    const running = h.interpreter.iteration(user, h.flow, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const abortedAt = performance.now();
    stop.abort();
    const outcome = await running;
    const took = performance.now() - abortedAt;
    assert.equal(outcome, 'interrupted');
    assert.ok(took < 50, `the think ended ${took.toFixed(1)} ms after the abort`);
    assert.deepEqual(stepsCalled(), ['a']);
    assert.deepEqual(metrics(h.store, 'iterations'), [], 'an interrupted iteration is not counted as done');
  });

  it('does not record a step cut short by the stop as a sample', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: slow, use: probe, with: { delay: 5000 } }
`);
    const stop = new AbortController();
    const running = h.interpreter.iteration(h.user(1, 1, stop.signal), h.flow, stop.signal);
    setTimeout(() => stop.abort(), 20);
    assert.equal(await running, 'interrupted');
    assert.equal(probe.calls[0]!.aborted, true);
    assert.deepEqual(metrics(h.store, 'step.errors'), []);
    assert.deepEqual(metrics(h.store, 'step.duration'), []);
  });
});

describe('interpreter: rounds without I/O', () => {
  // `max` and `attempts` are large but finite: a loop that never yields fails these tests instead of hanging them.
  it('lets timers run during a `while: "true"` loop over skipped steps, and ends it on the signal', async () => {
    const h = await harness(`
${ONE}
flow:
  - loop: { while: "true", max: 1000000 }
    flow: [ { name: skipped, use: probe, if: "false" } ]
  - { name: after, use: probe }
`);
    const stop = new AbortController();
    const running = h.interpreter.iteration(h.user(1, 1, stop.signal), h.flow, stop.signal);
    const t0 = performance.now();
    let abortedAt = NaN;
    setTimeout(() => {
      abortedAt = performance.now() - t0;
      stop.abort();
    }, 50);
    const outcome = await running;
    const took = performance.now() - t0;
    assert.equal(outcome, 'interrupted');
    assert.ok(abortedAt < 100, `the 50 ms timer fired at ${abortedAt.toFixed(0)} ms`);
    assert.ok(took - abortedAt < 20, `the loop ended ${(took - abortedAt).toFixed(1)} ms after the signal`);
    assert.deepEqual(stepsCalled(), []);
  });

  it('lets the event loop turn between retries without backoff of a failing step, and stops ' +
      'on the signal', async () => {
    const h = await harness(`
${ONE}
flow:
  - { name: flaky, use: probe, with: { ok: false }, retry: { attempts: 1000, backoff: 0ms } }
`);
    const stop = new AbortController();
    const running = h.interpreter.iteration(h.user(1, 1, stop.signal), h.flow, stop.signal);
    let attemptsAtFirstTurn = NaN;
    setImmediate(() => {
      attemptsAtFirstTurn = probe.calls.length;
      stop.abort();
    });
    assert.equal(await running, 'interrupted');
    assert.ok(attemptsAtFirstTurn <= 3, `${attemptsAtFirstTurn} attempts before the event loop turned`);
    assert.equal(probe.calls.length, attemptsAtFirstTurn, 'no attempt after the signal');
  });
});
