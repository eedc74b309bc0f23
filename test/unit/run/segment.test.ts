// Segments add up to the whole: arrivals, planned iterations, users and max_vus, exactly, for any N.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildTimeline, type OpenStage, type Timeline } from '../../../engine/compile/timeline.js';
import { createFeeder } from '../../../engine/run/data.js';
import { parseSegment, share, type Segment } from '../../../engine/segment.js';
import { segmentTimeline } from '../../../engine/run/segment.js';
import { createRandom } from '../../../engine/random.js';

const segments = (count: number): Segment[] => Array.from({ length: count }, (_, index) => ({ index, count }));

describe('segments', () => {
  it('parses i/N with 0 ≤ i < N', () => {
    assert.deepEqual(parseSegment('2/4'), { index: 2, count: 4 });
    assert.deepEqual(parseSegment('0/1'), { index: 0, count: 1 });
    for (const bad of ['4/4', '1/0', '-1/3', 'a/b', '1', '']) assert.equal(parseSegment(bad), undefined, bad);
  });

  it('shares round-robin, adding up exactly', () => {
    assert.deepEqual(segments(3).map((s) => share(10, s)), [4, 3, 3]);
    assert.deepEqual(segments(4).map((s) => share(2, s)), [1, 1, 0, 0]);
  });

  it('splits uniform and poisson arrivals exactly: the union of the segments is the whole, in order', () => {
    for (const arrivals of ['uniform', 'poisson'] as const) {
      const whole = buildTimeline({
        model: 'open',
        stages: [
          { kind: 'ramp', from: 5, to: 200, durationMs: 20_000 },
          { kind: 'burst', iterations: 7, withinMs: 0 },
        ],
        arrivals,
        maxVus: 10,
      });
      assert.equal(whole.model, 'open');
      if (whole.model !== 'open') return;
      const all = [...whole.arrivalTimes(3)];
      for (const count of [1, 2, 3, 4]) {
        const parts: Timeline[] = segments(count).map((s) => segmentTimeline(whole, s));
        const merged: number[] = parts
          .flatMap((p) => (p.model === 'open' ? [...p.arrivalTimes(3)] : []))
          .sort((a, b) => a - b);
        assert.deepEqual(
          merged,
          [...all].sort((a, b) => a - b),
          `${arrivals} in ${count}`,
        );
        assert.equal(
          parts.reduce((n, p) => n + (p.model === 'open' ? p.plannedIterations : 0), 0),
          whole.plannedIterations,
        );
        assert.equal(
          parts.reduce((n, p) => n + (p.model === 'open' ? p.maxVus : 0), 0),
          whole.maxVus,
        );
      }
    }
  });

  it('splits user counts so the segments together run exactly the target at every moment', () => {
    const whole = buildTimeline({
      model: 'closed',
      stages: [{ kind: 'users', users: 7, rampUpMs: 10_000, holdMs: 5_000, rampDownMs: 5_000 }],
    });
    for (const count of [2, 3, 5]) {
      const parts = segments(count).map((s) => segmentTimeline(whole, s));
      for (let ms = 0; ms < 20_000; ms += 250) {
        const sum = parts.reduce((n, p) => n + (p.model === 'closed' ? p.usersAt(ms) : 0), 0);
        assert.equal(sum, whole.model === 'closed' ? whole.usersAt(ms) : -1, `t=${ms} in ${count}`);
      }
    }
  });

  it('property: any open stages, any N — planned iterations and arrivals add up', () => {
    const stage = fc.oneof(
      fc.record({
        kind: fc.constant('rate' as const),
        rate: fc.integer({ min: 0, max: 300 }),
        durationMs: fc.integer({ min: 1, max: 3000 }),
      }),
      fc.record({
        kind: fc.constant('ramp' as const),
        to: fc.integer({ min: 0, max: 300 }),
        durationMs: fc.integer({ min: 1, max: 3000 }),
      }),
      fc.record({
        kind: fc.constant('burst' as const),
        iterations: fc.integer({ min: 1, max: 50 }),
        withinMs: fc.integer({ min: 0, max: 500 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(stage, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 5 }), (stages, count) => {
        const whole = buildTimeline({ model: 'open', stages: stages as OpenStage[], arrivals: 'uniform', maxVus: 100 });
        if (whole.model !== 'open') return false;
        const parts = segments(count).map((s) => segmentTimeline(whole, s));
        const arrivals = parts.reduce((n, p) => n + (p.model === 'open' ? [...p.arrivalTimes()].length : 0), 0);
        const planned = parts.reduce((n, p) => n + (p.model === 'open' ? p.plannedIterations : 0), 0);
        return arrivals === [...whole.arrivalTimes()].length && planned === whole.plannedIterations;
      }),
      { seed: 4, numRuns: 200 },
    );
  });

  it('gives each segment its own rows, so `order: unique` uses every row once across all segments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfy-segment-'));
    try {
      const path = join(dir, 'users.csv');
      writeFileSync(path, 'id\n1\n2\n3\n4\n5\n');
      const data = {
        format: 'csv' as const,
        path,
        order: 'unique' as const,
        onExhausted: 'stop' as const,
        delimiter: ',',
        columns: ['id'],
      };
      const random = createRandom(1);
      const taken = segments(2).map((s) => {
        const feeder = createFeeder(data, s);
        const ids: unknown[] = [];
        for (let row = feeder.next(random); row !== undefined; row = feeder.next(random)) ids.push(row['id']);
        return ids;
      });
      assert.deepEqual(taken, [['1', '3', '5'], ['2', '4']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
