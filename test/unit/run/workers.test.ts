// The arithmetic of worker threads: a worker's segment within the run's own segment, run-wide user ids, and
// how many workers `--workers auto` picks for a scenario.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileScenario } from '../../../engine/compile/index.js';
import type { Plan } from '../../../engine/compile/plan.js';
import type { Scenario } from '../../../engine/generated/scenario.js';
import { loadScenarioText } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { vuId } from '../../../engine/run/scheduler.js';
import { share } from '../../../engine/segment.js';
import { AUTO_WORKERS_RATE, AUTO_WORKERS_USERS, autoWorkers, workerSegment } from '../../../engine/run/workers.js';
import { checkSchema } from '../../../engine/validate/schema.js';

function compile(yaml: string): Plan {
  const document = loadScenarioText(yaml, join(PACKAGE_ROOT, 'scenarios', 'workers-test.yaml'), {});
  assert.deepEqual(checkSchema(document), []);
  const { plan, problems } = compileScenario(document, document.value as Scenario);
  assert.deepEqual(problems, []);
  return plan!;
}

describe('worker segments', () => {
  it('worker w of N within run segment i of M takes exactly the arrivals segment i then worker w would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.nat(200), (m, n, arrivals) => {
        for (let i = 0; i < m; i++) {
          const inRun = Array.from({ length: arrivals }, (_, k) => k).filter((k) => k % m === i);
          for (let w = 0; w < n; w++) {
            const nested = inRun.filter((_, q) => q % n === w);
            const seg = workerSegment({ index: i, count: m }, w, n);
            assert.deepEqual(
              Array.from({ length: arrivals }, (_, k) => k).filter((k) => k % seg.count === seg.index),
              nested,
            );
            // Users and rows split the same way: the share of a share is the composite share.
            assert.equal(share(share(arrivals, { index: i, count: m }), { index: w, count: n }), share(arrivals, seg));
          }
        }
      }),
    );
  });

  it('without a run segment, worker w of N is segment w/N', () => {
    assert.deepEqual(workerSegment(undefined, 1, 4), { index: 1, count: 4 });
  });

  it('gives every segment\'s users run-wide ids that never repeat', () => {
    const ids = [0, 1, 2].flatMap((index) => [1, 2, 3, 4].map((n) => vuId(n, { index, count: 3 })));
    assert.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(vuId(5, undefined), 5);
  });
});

describe('--workers auto', () => {
  const open = (rate: number): string => `name: w\ntarget: http://127.0.0.1:1\nload: [ { rate: ${rate}/s, duration: 10s } ]\nflow: [ { name: a, http: { get: / } } ]\n`;
  const closed = (users: number): string => `name: w\ntarget: http://127.0.0.1:1\nload: [ { users: ${users}, hold: 10s } ]\nflow: [ { name: a, http: { get: / } } ]\n`;

  it('keeps light loads in the main thread', () => {
    assert.equal(autoWorkers(compile(open(AUTO_WORKERS_RATE - 1)), 8), 1);
    assert.equal(autoWorkers(compile(closed(AUTO_WORKERS_USERS - 1)), 8), 1);
  });

  it('uses one worker per core at the peak rate or user count that needs them', () => {
    assert.equal(autoWorkers(compile(open(AUTO_WORKERS_RATE)), 4), 4);
    assert.equal(autoWorkers(compile(closed(AUTO_WORKERS_USERS)), 2), 2);
    assert.equal(autoWorkers(compile(open(AUTO_WORKERS_RATE)), 1), 1);
  });

  it('counts the peak of a ramp and of a spike, and sums workloads', () => {
    const ramp = 'name: w\ntarget: http://127.0.0.1:1\nload: [ { ramp: { from: 10/s, to: 6000/s }, duration: 10s } ]\nflow: [ { name: a, http: { get: / } } ]\n';
    assert.equal(autoWorkers(compile(ramp), 2), 2);
    const two = `name: w\ntarget: http://127.0.0.1:1\nworkloads:\n  - { name: a, load: [ { rate: 3000/s, duration: 5s } ], flow: [ { name: a, http: { get: / } } ] }\n  - { name: b, load: [ { rate: 3000/s, duration: 5s } ], flow: [ { name: b, http: { get: / } } ] }\n`;
    assert.equal(autoWorkers(compile(two), 2), 2);
  });
});
