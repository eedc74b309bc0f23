// perfy compare on results made from real metric stores: rules as written (and refused), a slowdown past its
// margin found with confidence, the same slowdown in too few samples left as noise, failure shares and request
// rates tested, thresholds that flipped, new error classes, and results that cannot be compared.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareResults, normalCdf } from '../../../engine/compare/compare.js';
import { formatComparison } from '../../../engine/compare/output.js';
import { parseRule, type Rule } from '../../../engine/compare/rules.js';
import { PerfyError, type ErrorCode } from '../../../engine/errors.js';
import { RESULT_VERSION, type Result, type ThresholdOutcome } from '../../../engine/metrics/result.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { completeResult } from '../../../engine/metrics/summary.js';
import { createRandom } from '../../../engine/random.js';

const T0 = 1_700_000_000_000;

interface Shape {
  name?: string;
  requests?: number;
  /** Each latency is drawn uniformly from this range, ms. */
  latency?: [number, number];
  /** Every n-th request fails with this status. */
  failEvery?: [number, string];
  seconds?: number;
  thresholds?: ThresholdOutcome[];
  seed?: number;
}

function result(shape: Shape = {}): Result {
  let now = T0;
  const store = createMetricStore({ now: () => now });
  const random = createRandom(shape.seed ?? 1);
  const [lo, hi] = shape.latency ?? [10, 20];
  const requests = shape.requests ?? 2000;
  const seconds = shape.seconds ?? 10;
  for (let i = 0; i < requests; i++) {
    const failing = shape.failEvery !== undefined && i % shape.failEvery[0] === 0;
    const status = failing ? shape.failEvery![1] : '200';
    const tags = { step: 'vote', status };
    store.handle('http.duration', 'trend', tags).record(lo + random.next() * (hi - lo));
    store.handle('http.reqs', 'counter', tags).record(1);
    store.handle('http.errors', 'rate', tags).record(failing ? 1 : 0);
    now = T0 + ((i + 1) / requests) * seconds * 1000;
  }
  return completeResult({
    version: RESULT_VERSION,
    scenario: { name: shape.name ?? 'vote', description: undefined, file: 'vote.yaml' },
    startedAt: T0,
    endedAt: T0 + seconds * 1000,
    status: 'completed',
    reason: undefined,
    environment: { perfy: '0.1.0', node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, hostname: 'h', workers: 1 },
    overrides: [],
    workloads: [
      { name: 'default', model: 'open', startAfterMs: 0, durationMs: seconds * 1000, plannedIterations: null },
    ],
    metrics: store.snapshot(),
    thresholds: shape.thresholds ?? [],
    saturation: { saturated: false, eventLoopLagP99Ms: 1, cpu: 0.1, note: undefined },
  });
}

function refused(fn: () => unknown): { codes: ErrorCode[]; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PerfyError, String(error));
    return { codes: error.problems.map((p) => p.code), message: error.problems.map((p) => p.message).join('\n') };
  }
  assert.fail('not refused');
}

describe('regression rules', () => {
  it('read an aggregate as thresholds do and a signed change in %, pp, ms or s', () => {
    const p95 = parseRule('p95(http.duration{step: vote}) > +10%') as Rule;
    assert.deepEqual([p95.label, p95.direction, p95.amount, p95.unit, p95.query.percentile],
      ['p95(http.duration{step: vote})', '>', 0.1, 'relative', 95]);
    const errors = parseRule('rate(http.errors) > +1pp') as Rule;
    assert.deepEqual([errors.fn, errors.amount, errors.unit], ['rate', 0.01, 'points']);
    const slow = parseRule('p(99.9, sql.duration) > +0.5s') as Rule;
    assert.deepEqual([slow.label, slow.amount, slow.unit], ['p99.9(sql.duration)', 500, 'absolute']);
    const fewer = parseRule('throughput(http.reqs) < -5%') as Rule;
    assert.deepEqual([fewer.direction, fewer.amount], ['<', -0.05]);
  });

  it('refuse what is not a rule, with the reason', () => {
    const reasons = [
      'p95(http.duration) > 10%', 'p95(http.duration) > -10%', 'p95(http.duration) > +1pp',
      'p95(http.duration) - p50(http.duration) > +1ms', 'p95(htp.duration', 'p999(http.duration) > +1%',
    ].map((source) => {
      const p = parseRule(source);
      assert.ok('code' in p, source);
      return p.code === 'E_COMPARE_RULE' ? p.message : `${p.code}`;
    });
    assert.match(reasons[0]!, /is not a regression rule/);
    assert.match(reasons[1]!, /> with \+, < with -/);
    assert.match(reasons[2]!, /percentage points \(pp\) are for rate\(\)/);
    assert.match(reasons[3]!, /one aggregate over one metric/);
    assert.match(reasons[5]!, /p999/);
  });
});

describe('perfy compare', () => {
  it('calls a 30 % slower p95 a regression, sure of it, and gives its numbers', () => {
    const comparison = compareResults(result({ latency: [10, 20] }), result({ latency: [13, 26], seed: 2 }), {
      rules: ['p95(http.duration) > +10%'],
    });
    const [rule] = comparison.rules;
    assert.ok(rule!.regression && comparison.regressed);
    assert.ok(Math.abs(rule!.relative! - 0.3) < 0.03, String(rule!.relative));
    assert.ok(rule!.confidence! >= 0.99, String(rule!.confidence));
    assert.match(formatComparison(comparison, 'console'), /REGRESSED · p95\(http.duration\) > \+10%\n$/);
  });

  it('leaves a slowdown seen in 10 widely spread samples as noise: past the margin, not confirmed', () => {
    const comparison = compareResults(
      result({ latency: [1, 100], requests: 10 }), result({ latency: [1, 130], requests: 10, seed: 2 }),
      { rules: ['p95(http.duration) > +10%'] },
    );
    const [rule] = comparison.rules;
    assert.ok(rule!.beyondMargin, 'past the margin');
    assert.ok(rule!.confidence! < 0.95 && !rule!.regression, String(rule!.confidence));
    assert.match(formatComparison(comparison, 'console'), /within the noise: p95/);
  });

  it('finds nothing between two runs of the same thing with the default rules', () => {
    const comparison = compareResults(result(), result({ seed: 7 }), { kindDurations: ['http.duration'] });
    assert.deepEqual(comparison.rules.map((r) => r.rule), [
      'p95(http.duration) > +10%', 'rate(http.errors) > +1pp', 'throughput(http.reqs) < -5%',
    ]);
    assert.equal(comparison.regressed, false, formatComparison(comparison, 'console'));
  });

  it('tests failure shares and request rates: a rise of 2 points and a 20 % fall in rate are real', () => {
    const comparison = compareResults(
      result({ failEvery: [100, '500'] }), result({ failEvery: [33, '500'], requests: 1600 }),
      { rules: ['rate(http.errors) > +1pp', 'throughput(http.reqs) < -5%'] },
    );
    const [errors, rate] = comparison.rules;
    assert.ok(errors!.regression && errors!.confidence! > 0.99, JSON.stringify(errors));
    assert.ok(Math.abs(errors!.delta - (1 / 33 - 1 / 100)) < 0.002, String(errors!.delta));
    assert.ok(rate!.regression && Math.abs(rate!.relative! + 0.2) < 0.001, JSON.stringify(rate));
    // The same class of error as before: nothing new.
    assert.deepEqual(comparison.newErrors, []);
  });

  it('flags a class of error the baseline never had, and a threshold that passed and now fails', () => {
    const held = (passed: boolean): ThresholdOutcome[] =>
      [{ source: 'p95(http.duration) < 1s', passed, aborted: false, values: [], description: undefined }];
    const comparison = compareResults(
      result({ failEvery: [500, '500'], thresholds: held(true) }),
      result({ failEvery: [500, 'timeout'], thresholds: held(false) }),
      { rules: [] },
    );
    assert.deepEqual(comparison.newErrors, [{ metric: 'http.errors', status: 'timeout', step: 'vote', count: 4 }]);
    assert.deepEqual(comparison.thresholds, [{ source: 'p95(http.duration) < 1s', baseline: true, current: false }]);
    assert.ok(comparison.regressed);
    assert.match(formatComparison(comparison, 'markdown'), /\*\*REGRESSED · threshold p95\(http.duration\) < 1s now fails; new error timeout in http.errors \(vote\)\*\*/);
  });

  it('refuses results of different scenarios and rules on metrics a result did not measure (exit 2)', () => {
    const other = refused(() => compareResults(result(), result({ name: 'browse' })));
    assert.deepEqual(other.codes, ['E_COMPARE_INPUT']);
    assert.match(other.message, /"vote" and .*"browse"/);
    const missing = refused(() => compareResults(result(), result(), { rules: ['p95(sql.duration) > +10%'] }));
    assert.deepEqual(missing.codes, ['E_COMPARE_INPUT']);
    assert.match(missing.message, /p95\(sql.duration\) has no samples in either result/);
    const rule = refused(() => compareResults(result(), result(), { rules: ['p95 > 1'] }));
    assert.deepEqual(rule.codes, ['E_COMPARE_RULE']);
  });

  it('computes the normal distribution function it tests with', () => {
    for (const [z, p] of [[0, 0.5], [1.96, 0.975], [-1.6449, 0.05], [3.2905, 0.9995]] as const) {
      assert.ok(Math.abs(normalCdf(z) - p) < 1e-4, `${z}: ${normalCdf(z)}`);
    }
  });
});
