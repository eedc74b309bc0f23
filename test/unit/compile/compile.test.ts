// The compiler: a scenario becomes a Plan with exact graphs, templates, timelines and thresholds.

import type { HttpRequestPlan } from '../../../engine/steps/http/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileScenario } from '../../../engine/compile/index.js';
import type { FlowNode, Plan, StepNode } from '../../../engine/compile/plan.js';
import { renderTree } from '../../../engine/compile/template.js';
import type { Scenario } from '../../../engine/generated/scenario.js';
import { loadScenarioText } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { checkSchema } from '../../../engine/validate/schema.js';

/** Compiles YAML as if it were a file in scenarios/ (so ../fixtures paths resolve). */
function compile(yaml: string): { plan: Plan | undefined; codes: string[] } {
  const document = loadScenarioText(yaml, join(PACKAGE_ROOT, 'scenarios', 'test.yaml'), {});
  const schemaProblems = checkSchema(document);
  assert.deepEqual(schemaProblems, [], 'the test scenario passes the schema');
  const { plan, problems } = compileScenario(document, document.value as Scenario);
  return { plan, codes: problems.map((p) => p.code) };
}

function shape(nodes: FlowNode[]): unknown[] {
  return nodes.map((n) => {
    switch (n.type) {
      case 'step': return `step:${n.kind}:${n.name}`;
      case 'think': return `think:${n.minMs}..${n.maxMs}`;
      case 'loop': return { loop: n.count ?? `while ${n.while?.source} max ${n.max}`, body: shape(n.body) };
      case 'if': return { if: n.condition.source, then: shape(n.then), else: shape(n.else) };
      case 'parallel': return { parallel: shape(n.branches) };
      case 'group': return { group: n.name, body: shape(n.body) };
    }
  });
}

const FLOW = `
name: graph
target: http://127.0.0.1:1
variables: { topic: [a, b], page_size: 20 }
data: { users: { csv: ../fixtures/data/users.csv } }
load: [ { rate: 10/s, duration: 1s } ]
flow:
  - name: login
    http: { post: /login, json: { user: "{{data.users.id}}", size: "{{page_size}}", n: 3, tags: ["{{topic}}", x] } }
    capture: { token: json.token }
  - think: 200ms..1s
  - group: browse
    flow:
      - loop: 2
        flow:
          - http: { get: "/items?page={{loop.index}}", headers: { authorization: "Bearer {{token}}" } }
            expect: [ "status == 200", "duration < 500ms" ]
      - parallel:
          - http: { get: /a.css }
          - http: { get: /b.js }
  - if: "token != null"
    then: [ { name: logout, http: { delete: /session } } ]
    else: [ { think: 1s } ]
  - loop: { while: "json.next != null", max: 5 }
    flow: [ { name: next page, http: { get: "/next" }, retry: { attempts: 2, backoff: 50ms } } ]
thresholds:
  - "p95(http.duration) < 300ms"
  - { expr: "p99(step.duration{step: logout}) < 1s", abort: true, after: 10s }
`;

describe('compiler: execution graph', () => {
  const { plan, codes } = compile(FLOW);
  it('compiles without problems', () => assert.deepEqual(codes, []));
  const flow = plan!.workloads[0]!.flow;

  it('builds step, think, group, loop, parallel and if nodes in flow order', () => {
    assert.deepEqual(shape(flow), [
      'step:http:login',
      'think:200..1000',
      { group: 'browse', body: [
        { loop: 2, body: ['step:http:GET /items?page={{loop.index}}'] },
        { parallel: ['step:http:GET /a.css', 'step:http:GET /b.js'] },
      ] },
      { if: 'token != null', then: ['step:http:logout'], else: ['think:1000..1000'] },
      { loop: 'while json.next != null max 5', body: ['step:http:next page'] },
    ]);
  });

  it('numbers steps in flow order and tags steps inside a group', () => {
    const steps: StepNode[] = [];
    const walk = (nodes: FlowNode[]): void => nodes.forEach((n) => {
      if (n.type === 'step') steps.push(n);
      else if (n.type === 'loop' || n.type === 'group') walk(n.body);
      else if (n.type === 'parallel') walk(n.branches);
      else if (n.type === 'if') { walk(n.then); walk(n.else); }
    });
    walk(flow);
    assert.deepEqual(steps.map((s) => s.id), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(
      steps.map((s) => s.tags['group']),
      [undefined, 'browse', 'browse', 'browse', undefined, undefined],
    );
    assert.deepEqual(steps.map((s) => s.timeoutMs), [30_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    const retry = steps[5]!.retry;
    assert.deepEqual(retry && { attempts: retry.attempts, backoffMs: retry.backoffMs }, { attempts: 2, backoffMs: 50 });
  });

  it('compiles request templates that render without HTML escaping, keeping non-strings as they are', () => {
    const login = flow[0] as StepNode;
    const scope = { data: { users: { id: 'u<1>&' } }, page_size: 20, topic: 'a&b' };
    const request = login.call((compiled) => compiled as HttpRequestPlan);
    assert.equal(request.method, 'POST');
    assert.equal(request.url.render(scope), '/login');
    assert.deepEqual(
      request.body?.kind === 'json' ? renderTree(request.body.tree, scope) : undefined,
      { user: 'u<1>&', size: '20', n: 3, tags: ['a&b', 'x'] },
    );
  });

  it('compiles expects and captures into closures', () => {
    const loop = (flow[2] as Extract<FlowNode, { type: 'group' }>).body[0] as Extract<FlowNode, { type: 'loop' }>;
    const step = loop.body[0] as StepNode;
    assert.deepEqual(step.expects.map((e) => e.test({ vars: { status: 200, duration: 120 } })), [true, true]);
    assert.deepEqual(step.expects.map((e) => e.test({ vars: { status: 500, duration: 800 } })), [false, false]);
    const login = flow[0] as StepNode;
    assert.equal(login.captures[0]!.expression.evaluate({ vars: { json: { token: 'abc' } } }), 'abc');
  });

  it('compiles thresholds with their options', () => {
    assert.deepEqual(plan!.thresholds.map((t) => [t.source, t.abort, t.afterMs]), [
      ['p95(http.duration) < 300ms', false, 0],
      ['p99(step.duration{step: logout}) < 1s', true, 10_000],
    ]);
  });

  it('reads data columns and lists the metrics the scenario produces', () => {
    assert.deepEqual(plan!.data['users']!.columns, ['id', 'name', 'email']);
    assert.ok(plan!.metrics.includes('http.duration'));
    assert.ok(plan!.metrics.includes('group.duration'));
    assert.ok(!plan!.metrics.includes('sql.duration'));
  });
});

describe('compiler: load timelines', () => {
  it('turns open stages into a timeline with exact planned iterations', () => {
    const { plan } = compile(`
name: open
target: http://127.0.0.1:1
load:
  stages:
    - { ramp: { from: 5/s, to: 200/s }, duration: 20s }
    - { rate: 200/s, duration: 30s }
    - { burst: { iterations: 100 } }
    - { pause: 5s }
  max_vus: 300
flow: [ { http: { get: / } } ]
`);
    const t = plan!.workloads[0]!.timeline;
    assert.equal(t.model, 'open');
    if (t.model !== 'open') return;
    assert.equal(t.durationMs, 55_000);
    assert.equal(t.plannedIterations, 2050 + 6000 + 100);
    assert.equal(t.maxVus, 300);
    assert.equal(t.rateAt(10_000), 102.5);
    assert.equal(t.rateAt(52_000), 0);
  });

  it('turns users stages into a closed timeline', () => {
    const { plan } = compile(`
name: closed
target: http://127.0.0.1:1
workloads:
  - name: readers
    start_after: 15s
    load: [ { users: 10, ramp_up: 10s, hold: 20s }, { users: 50, ramp_up: 10s, hold: 10s, ramp_down: 10s } ]
    flow: [ { http: { get: / } } ]
`);
    const w = plan!.workloads[0]!;
    assert.equal(w.name, 'readers');
    assert.equal(w.startAfterMs, 15_000);
    const t = w.timeline;
    assert.equal(t.model, 'closed');
    if (t.model !== 'closed') return;
    assert.equal(t.durationMs, 60_000);
    assert.deepEqual([0, 5_000, 15_000, 35_000, 45_000, 55_000].map((ms) => t.usersAt(ms)), [0, 5, 10, 30, 50, 25]);
    assert.equal(t.maxUsers, 50);
    assert.equal(t.plannedIterations, null);
  });
});

describe('compiler: users stages with duration, and a level to start from', () => {
  const closed = (load: string): ReturnType<typeof compile> => compile(`name: c\ntarget: http://127.0.0.1:1\nload: ${load}\nflow: [ { http: { get: / } } ]\n`);

  it('`duration` is the whole stage, as for open stages: ramp_up + hold + ramp_down', () => {
    const { plan, codes } = closed(
      '[ { users: 50, duration: 8s }, { users: 10, ramp_up: 2s, duration: 10s, ramp_down: 3s } ]',
    );
    assert.deepEqual(codes, []);
    const t = plan!.workloads[0]!.timeline;
    assert.equal(t.durationMs, 18_000);
    if (t.model !== 'closed') return assert.fail('a closed timeline');
    assert.deepEqual(
      [0, 7_999, 8_000, 10_000, 14_999, 15_000, 17_999].map((ms) => t.usersAt(ms)),
      [50, 50, 50, 10, 10, 10, 0],
    );
  });

  it('a first `{ users: 10 }` starts at 10: the next ramp goes from there', () => {
    const { plan, codes } = closed('[ { users: 10 }, { users: 50, ramp_up: 4s, hold: 4s } ]');
    assert.deepEqual(codes, []);
    const t = plan!.workloads[0]!.timeline;
    assert.equal(t.durationMs, 8_000);
    if (t.model !== 'closed') return assert.fail('a closed timeline');
    assert.deepEqual([0, 2_000, 4_000].map((ms) => t.usersAt(ms)), [10, 30, 50]);
  });

  it('refuses hold with duration, a duration shorter than the ramps, and a last stage with no length', () => {
    assert.deepEqual(closed('[ { users: 5, hold: 2s, duration: 3s } ]').codes, ['E_SCHEMA']);
    assert.deepEqual(closed('[ { users: 5, ramp_up: 4s, duration: 3s } ]').codes, ['E_RANGE']);
    assert.deepEqual(closed('[ { users: 5, hold: 2s }, { users: 10 } ]').codes, ['E_DURATION_ZERO']);
  });
});

describe('compiler: problems', () => {
  it('reports all semantic problems at once and returns no plan', () => {
    const { plan, codes } = compile(`
name: broken
load: [ { rate: 1/s, duration: 1s } ]
flow:
  - http: { get: "/x/{{nope}}" }
    expect: "stauts == 200"
thresholds: [ "p95(sql.duration) < 1s" ]
`);
    assert.equal(plan, undefined);
    assert.deepEqual(codes.sort(), ['E_EXPR_UNKNOWN', 'E_TARGET_MISSING', 'E_TEMPLATE_UNKNOWN', 'E_THRESHOLD_METRIC']);
  });
});
