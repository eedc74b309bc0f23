// Command-line overrides of a compiled plan: exact timelines after --time-scale, --duration, --users, --rate
// and --smoke, the flows and thresholds they touch (and those they leave alone), and the `applied` lines.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileScenario } from '../../../engine/compile/index.js';
import type { FlowNode, Plan, PlannedWorkload } from '../../../engine/compile/plan.js';
import type { Scenario } from '../../../engine/generated/scenario.js';
import { loadScenarioText } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { compileExpression } from '../../../engine/expr/index.js';
import { applyOverrides, notJudgedInSmoke } from '../../../engine/run/overrides.js';
import { checkSchema } from '../../../engine/validate/schema.js';

function compile(yaml: string): Plan {
  const document = loadScenarioText(yaml, join(PACKAGE_ROOT, 'scenarios', 'overrides-test.yaml'), {});
  assert.deepEqual(checkSchema(document), [], 'the test scenario passes the schema');
  const { plan, problems } = compileScenario(document, document.value as Scenario);
  assert.deepEqual(problems.map((p) => `${p.code} ${p.message}`), [], 'the test scenario compiles');
  return plan!;
}

const SCENARIO = `
name: overrides
target: http://127.0.0.1:1
setup:
  - think: 2s
  - { name: login, http: { post: /login } }
teardown: [ { think: 1s } ]
workloads:
  - name: readers
    load:
      - { rate: 10/s, duration: 10s }
      - { ramp: { to: 20/s }, duration: 5s }
      - { spike: { to: 100/s, rise: 1s }, duration: 2s }
      - { burst: { iterations: 50, within: 1s } }
      - { pause: 3s }
    flow:
      - { name: home, http: { get: / }, timeout: 5s, retry: { attempts: 2, backoff: 400ms } }
      - think: 200ms..1s
      - loop: 2
        flow: [ { think: 500ms } ]
      - group: assets
        flow:
          - parallel: [ { think: 100ms }, { name: css, http: { get: /a.css } } ]
      - if: "vu == 1"
        then: [ { think: 3s } ]
        else: [ { think: 4s } ]
  - name: writers
    start_after: 30s
    load: [ { users: 5, ramp_up: 10s, hold: 20s, ramp_down: 10s } ]
    flow: [ { name: write, http: { post: /w } } ]
thresholds:
  - "p95(http.duration) < 1s"
  - { expr: "rate(http.errors) < 1%", after: 10s }
`;

const plan = compile(SCENARIO);
const workload = (p: Plan, name: string): PlannedWorkload => p.workloads.find((w) => w.name === name)!;

/** [kind, startMs, endMs, from, to] of every span. */
function spans(w: PlannedWorkload): [string, number, number, number, number][] {
  return w.timeline.spans.map((s) => [s.kind, s.startMs, s.endMs, s.from, s.to]);
}

/** Every think node of a flow as `min..max`, depth first. */
function thinks(nodes: FlowNode[]): string[] {
  return nodes.flatMap((n): string[] => {
    switch (n.type) {
      case 'think': return [`${n.minMs}..${n.maxMs}`];
      case 'loop': case 'group': case 'transaction': return thinks(n.body);
      case 'parallel': return thinks(n.branches);
      case 'if': return [...thinks(n.then), ...thinks(n.else)];
      case 'step': return [];
    }
  });
}

function firstStep(nodes: FlowNode[]): Extract<FlowNode, { type: 'step' }> {
  const step = nodes.find((n) => n.type === 'step');
  assert.ok(step && step.type === 'step');
  return step;
}

describe('the plan before overrides', () => {
  it('has the timelines the overrides start from', () => {
    const readers = workload(plan, 'readers');
    assert.deepEqual(spans(readers), [
      ['rate', 0, 10_000, 10, 10],
      ['ramp', 10_000, 15_000, 10, 20],
      ['spike', 15_000, 16_000, 20, 100],
      ['spike', 16_000, 17_000, 100, 100],
      ['burst', 17_000, 18_000, 20, 20],
      ['pause', 18_000, 21_000, 0, 0],
    ]);
    // 100 + 75 + 60 + 100 + 20 continuous arrivals, and the burst's 50.
    assert.equal(readers.timeline.plannedIterations, 405);
    const writers = workload(plan, 'writers');
    assert.equal(writers.startAfterMs, 30_000);
    assert.deepEqual(spans(writers), [
      ['users', 0, 10_000, 0, 5],
      ['users', 10_000, 30_000, 5, 5],
      ['users', 30_000, 40_000, 5, 0],
    ]);
    assert.equal(writers.timeline.model === 'closed' && writers.timeline.userSeconds, 140);
  });

  it('with no overrides (or --time-scale 1) the plan is unchanged and nothing is applied', () => {
    for (const overrides of [{}, { timeScale: 1 }]) {
      const { plan: same, applied } = applyOverrides(plan, overrides);
      assert.deepEqual(applied, []);
      assert.deepEqual(same.workloads.map(spans), plan.workloads.map(spans));
      assert.deepEqual(thinks(workload(same, 'readers').flow), thinks(workload(plan, 'readers').flow));
    }
  });
});

describe('--time-scale', () => {
  const { plan: scaled, applied } = applyOverrides(plan, { timeScale: 10 });

  it('divides every stage duration by the factor, keeping rates and users', () => {
    assert.deepEqual(spans(workload(scaled, 'readers')), [
      ['rate', 0, 1_000, 10, 10],
      ['ramp', 1_000, 1_500, 10, 20],
      ['spike', 1_500, 1_600, 20, 100],
      ['spike', 1_600, 1_700, 100, 100],
      ['burst', 1_700, 1_800, 20, 20],
      ['pause', 1_800, 2_100, 0, 0],
    ]);
    // 35.5 continuous arrivals (ceil: 36) and the whole burst of 50.
    assert.equal(workload(scaled, 'readers').timeline.plannedIterations, 86);
    assert.equal(workload(scaled, 'readers').timeline.durationMs, 2_100);
    const writers = workload(scaled, 'writers');
    assert.deepEqual(spans(writers), [
      ['users', 0, 1_000, 0, 5],
      ['users', 1_000, 3_000, 5, 5],
      ['users', 3_000, 4_000, 5, 0],
    ]);
    assert.equal(writers.timeline.model === 'closed' && writers.timeline.userSeconds, 14);
  });

  it('divides start_after', () => {
    assert.deepEqual(scaled.workloads.map((w) => w.startAfterMs), [0, 3_000]);
  });

  it('divides think times everywhere: loops, groups, parallel branches, both branches of an if, setup ' +
      'and teardown', () => {
    assert.deepEqual(thinks(workload(scaled, 'readers').flow), ['20..100', '50..50', '10..10', '300..300', '400..400']);
    assert.deepEqual(thinks(scaled.setup), ['200..200']);
    assert.deepEqual(thinks(scaled.teardown), ['100..100']);
  });

  it('divides threshold delays (`after`) but not step timeouts', () => {
    assert.deepEqual(scaled.thresholds.map((t) => t.afterMs), [0, 1_000]);
    assert.equal(firstStep(workload(scaled, 'readers').flow).timeoutMs, 5_000);
  });

  it('says what it applied, and leaves the original plan alone', () => {
    assert.deepEqual(applied, ['--time-scale 10']);
    assert.equal(workload(plan, 'readers').timeline.durationMs, 21_000);
    assert.equal(workload(plan, 'writers').startAfterMs, 30_000);
    assert.deepEqual(thinks(workload(plan, 'readers').flow), [
      '200..1000', '500..500', '100..100', '3000..3000', '4000..4000',
    ]);
    assert.deepEqual(
      plan.thresholds.map((t) => t.afterMs),
      [0, 10_000],
    );
  });
});

describe('--duration', () => {
  it('stretches each workload\'s stages proportionally to last the given time', () => {
    const { plan: stretched, applied } = applyOverrides(plan, { durationMs: 42_000 });
    assert.deepEqual(applied, ['--duration 42s']);
    // readers last 21 s: every stage twice as long.
    assert.deepEqual(spans(workload(stretched, 'readers')), [
      ['rate', 0, 20_000, 10, 10],
      ['ramp', 20_000, 30_000, 10, 20],
      ['spike', 30_000, 32_000, 20, 100],
      ['spike', 32_000, 34_000, 100, 100],
      ['burst', 34_000, 36_000, 20, 20],
      ['pause', 36_000, 42_000, 0, 0],
    ]);
    assert.equal(workload(stretched, 'readers').timeline.plannedIterations, 760);
    // writers last 40 s: every stage 1.05 times as long.
    const writers = workload(stretched, 'writers');
    assert.deepEqual(spans(writers), [
      ['users', 0, 10_500, 0, 5],
      ['users', 10_500, 31_500, 5, 5],
      ['users', 31_500, 42_000, 5, 0],
    ]);
    assert.equal(writers.timeline.durationMs, 42_000);
    assert.deepEqual(
      thinks(workload(stretched, 'readers').flow),
      thinks(workload(plan, 'readers').flow),
      'flows keep their think times',
    );
  });

  it('shrinks as well as it stretches', () => {
    const { plan: shrunk } = applyOverrides(plan, { durationMs: 2_100 });
    assert.equal(workload(shrunk, 'readers').timeline.durationMs, 2_100);
    assert.equal(workload(shrunk, 'readers').timeline.plannedIterations, 86);
    assert.equal(workload(shrunk, 'writers').timeline.durationMs, 2_100);
  });
});

describe('--users and --rate', () => {
  it('--users N replaces every load by N users for the workload\'s duration', () => {
    const { plan: users, applied } = applyOverrides(plan, { users: 7 });
    assert.deepEqual(applied, ['--users 7']);
    assert.deepEqual(spans(workload(users, 'readers')), [['users', 0, 21_000, 7, 7]]);
    assert.deepEqual(spans(workload(users, 'writers')), [['users', 0, 40_000, 7, 7]]);
    const timeline = workload(users, 'readers').timeline;
    assert.equal(timeline.model, 'closed');
    if (timeline.model !== 'closed') return;
    assert.deepEqual([timeline.usersAt(0), timeline.usersAt(20_999), timeline.usersAt(21_000)], [7, 7, 0]);
    assert.equal(timeline.userSeconds, 147);
    assert.deepEqual(users.workloads.map((w) => w.startAfterMs), [0, 30_000]);
  });

  it('--rate R replaces every load by R arrivals a second for the workload\'s duration', () => {
    const { plan: rated, applied } = applyOverrides(plan, { rate: 50 });
    assert.deepEqual(applied, ['--rate 50/s']);
    assert.deepEqual(spans(workload(rated, 'readers')), [['rate', 0, 21_000, 50, 50]]);
    assert.equal(workload(rated, 'readers').timeline.plannedIterations, 1_050);
    const writers = workload(rated, 'writers').timeline;
    assert.equal(writers.model, 'open', 'a closed workload becomes open');
    if (writers.model !== 'open') return;
    assert.deepEqual(
      [writers.durationMs, writers.plannedIterations, writers.arrivals, writers.maxVus],
      [40_000, 2_000, 'uniform', 1_000],
    );
  });

  it('--rate keeps an open workload\'s arrivals and max_vus', () => {
    const open = compile(`
name: poisson
target: http://127.0.0.1:1
load: { stages: [ { rate: 5/s, duration: 4s } ], arrivals: poisson, max_vus: 20 }
flow: [ { http: { get: / } } ]
`);
    const timeline = applyOverrides(open, { rate: 0.5 }).plan.workloads[0]!.timeline;
    assert.equal(timeline.model, 'open');
    if (timeline.model !== 'open') return;
    assert.deepEqual(
      [timeline.durationMs, timeline.plannedIterations, timeline.arrivals, timeline.maxVus],
      [4_000, 2, 'poisson', 20],
    );
    assert.deepEqual(applyOverrides(open, { rate: 0.5 }).applied, ['--rate 0.5/s']);
  });
});

describe('--smoke', () => {
  const { plan: smoke, applied } = applyOverrides(plan, { smoke: true });

  it('runs each workload\'s flow once with one user, at once', () => {
    for (const w of smoke.workloads) {
      const timeline = w.timeline;
      assert.equal(timeline.model, 'open');
      if (timeline.model !== 'open') continue;
      assert.equal(timeline.plannedIterations, 1, w.name);
      assert.equal(timeline.maxVus, 1, w.name);
      assert.deepEqual([...timeline.arrivalTimes()], [0], w.name);
      assert.equal(w.startAfterMs, 0, w.name);
    }
    assert.deepEqual(
      smoke.workloads.map((w) => w.flow),
      plan.workloads.map((w) => w.flow),
      'the flows are not touched',
    );
  });

  it('is listed, and takes precedence over --users, --rate and --duration', () => {
    assert.equal(applied.length, 1);
    assert.match(applied[0]!, /^--smoke/);
    const combined = applyOverrides(plan, { smoke: true, users: 3, rate: 10, durationMs: 5_000 });
    assert.deepEqual(combined.plan.workloads.map((w) => w.timeline.plannedIterations), [1, 1]);
    assert.deepEqual(combined.applied, applied);
  });

  it('judges only thresholds on rate() without a window; the others are shown, not judged', () => {
    assert.deepEqual(smoke.thresholds.map((t) => [t.source, t.notJudged !== undefined]), [
      ['p95(http.duration) < 1s', true],
      ['rate(http.errors) < 1%', false],
    ]);
    assert.ok(plan.thresholds.every((t) => t.notJudged === undefined), 'a run without --smoke judges them all');
    const judged = (source: string): boolean =>
      notJudgedInSmoke({ ...plan.thresholds[0]!, source, expression: compileExpression(source) }) === undefined;
    const rates = [
      'rate(http.errors) < 1%', 'rate(checks{step: home}) == 100%', 'rate(step.errors) < 1% and rate(checks) > 99%',
    ];
    for (const source of rates) assert.equal(judged(source), true, source);
    for (const source of [
      'throughput(http.reqs) > 20/s', 'count(http.reqs) > 100', 'p95(http.duration) < 300ms', 'avg(http.duration) < 1s',
      'max(http.duration) < 1s', 'value(http.reqs) > 10', 'rate(http.errors) < 1% for 10s',
      'rate(http.errors) < 1% and count(http.reqs) > 1',
    ]) assert.equal(judged(source), false, source);
  });

  it('still divides think times with --time-scale', () => {
    const scaled = applyOverrides(plan, { smoke: true, timeScale: 10 });
    assert.deepEqual(thinks(workload(scaled.plan, 'readers').flow), [
      '20..100', '50..50', '10..10', '300..300', '400..400',
    ]);
    assert.deepEqual(scaled.applied.slice(1), ['--time-scale 10']);
  });
});

describe('overrides and the warm-up', () => {
  const plan = compile(`
name: warm
target: http://127.0.0.1:1
warmup: 4s
workloads:
  - { name: a, load: [ { rate: 10/s, duration: 20s } ], flow: [ { http: { get: / } } ] }
  - { name: b, warmup: 2s, load: [ { users: 2, hold: 10s } ], flow: [ { http: { get: / } } ] }
`);
  it('a workload takes the scenario\'s warm-up unless it has its own', () => {
    assert.deepEqual(plan.workloads.map((w) => w.warmupMs), [4000, 2000]);
  });
  it('--time-scale and --duration scale it with the load; --smoke has none; --users and --rate keep it', () => {
    assert.deepEqual(applyOverrides(plan, { timeScale: 10 }).plan.workloads.map((w) => w.warmupMs), [400, 200]);
    assert.deepEqual(applyOverrides(plan, { durationMs: 5000 }).plan.workloads.map((w) => w.warmupMs), [1000, 1000]);
    assert.deepEqual(applyOverrides(plan, { smoke: true }).plan.workloads.map((w) => w.warmupMs), [0, 0]);
    assert.deepEqual(applyOverrides(plan, { users: 3 }).plan.workloads.map((w) => w.warmupMs), [4000, 2000]);
  });
});
