// perfy merge takes one whole set of segments: each once, none missing, no whole run among them; it warns
// when they did not run together, and judges a `for` window from the segments' own verdicts or not at all.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedThreshold } from '../../../engine/compile/plan.js';
import { PerfyError, type ErrorCode } from '../../../engine/errors.js';
import { compileExpression } from '../../../engine/expr/index.js';
import {
  RESULT_VERSION, segmentOf, thresholdsPassed, type AlertOutcome, type Result, type ResultEvent,
  type ThresholdOutcome,
} from '../../../engine/metrics/result.js';
import { completeResult } from '../../../engine/metrics/summary.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { mergeResults } from '../../../engine/run/merge.js';
import { exitForProblems } from '../../../engine/exit.js';

const T0 = 1_700_000_000_000;

function threshold(source: string): PlannedThreshold {
  const location = { file: 's.yaml', line: 1, col: 1 };
  return { source, expression: compileExpression(source), abort: false, afterMs: 0, description: undefined, location };
}

interface Shape {
  segment?: { index: number; count: number };
  /** older results: the segment only as an override */
  legacySegment?: string;
  startedAt?: number;
  endedAt?: number;
  requests?: number;
  thresholds?: ThresholdOutcome[];
  hostname?: string;
}

function result(shape: Shape): Result {
  const startedAt = shape.startedAt ?? T0;
  let now = startedAt;
  const store = createMetricStore({ now: () => now });
  const reqs = store.handle('http.reqs', 'counter', { workload: 'default' });
  const duration = store.handle('http.duration', 'trend', { workload: 'default' });
  const errors = store.handle('http.errors', 'rate', { workload: 'default' });
  const requests = shape.requests ?? 10;
  for (let i = 0; i < requests; i++) {
    reqs.record(1);
    duration.record(10 + i);
    errors.record(0);
    now += 100;
  }
  const segment = shape.segment;
  const hostname = shape.hostname ?? 'pod';
  const segmentOverride = segment !== undefined ? `--segment ${segment.index}/${segment.count}` : shape.legacySegment;
  return completeResult({
    version: RESULT_VERSION,
    scenario: { name: 'split', description: undefined, file: 's.yaml' },
    startedAt,
    endedAt: shape.endedAt ?? startedAt + 3000,
    status: 'completed',
    reason: undefined,
    environment: { perfy: '0.1.0', node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, hostname, workers: 1 },
    overrides: segmentOverride === undefined ? [] : [segmentOverride],
    workloads: [{ name: 'default', model: 'open', startAfterMs: 0, durationMs: 3000, plannedIterations: requests }],
    metrics: store.snapshot(),
    thresholds: shape.thresholds ?? [],
    saturation: { saturated: false, eventLoopLagP99Ms: 1, cpu: 0.1, note: undefined },
    ...(segment === undefined ? {} : { segment }),
  });
}

const seg = (index: number, count: number, extra: Shape = {}): Result =>
  result({ ...extra, segment: { index, count }, hostname: `pod-${index}` });

function refused(fn: () => unknown): { codes: ErrorCode[]; message: string; exit: number } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PerfyError, String(error));
    return {
      codes: error.problems.map((p) => p.code),
      message: error.problems[0]!.message,
      exit: exitForProblems(error.problems),
    };
  }
  assert.fail('the merge was made');
}

describe('perfy merge: the set of results', () => {
  it('merges a whole set of segments, in any order, and says so', () => {
    const { result: merged, warnings } = mergeResults([seg(1, 3), seg(0, 3), seg(2, 3)], []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(merged.merged, { results: 3, segments: true });
    assert.equal(merged.segment, undefined);
    assert.equal(merged.metrics.metrics.find((m) => m.name === 'http.reqs')!.sum, 30);
    assert.deepEqual(merged.overrides, []);
  });

  it('refuses a segment given twice (its load would count twice), naming the segments given', () => {
    const twice = refused(() => mergeResults([seg(0, 2), seg(0, 2)], [], ['a.json', 'b.json']));
    assert.deepEqual(twice.codes, ['E_MERGE_SEGMENTS']);
    assert.equal(twice.exit, 2);
    for (const named of ['0/2 (a.json)', '0/2 (b.json)', '1/2']) {
      assert.ok(twice.message.includes(named), twice.message);
    }
  });

  it('refuses an incomplete set, naming the missing segments', () => {
    const missing = refused(() => mergeResults([seg(0, 3), seg(2, 3)], [], ['a.json', 'c.json']));
    assert.deepEqual(missing.codes, ['E_MERGE_SEGMENTS']);
    assert.ok(missing.message.includes('missing 1/3'), missing.message);
    assert.deepEqual(refused(() => mergeResults([seg(1, 2)], [])).codes, ['E_MERGE_SEGMENTS'], 'one segment alone');
  });

  it('refuses segments mixed with a whole run, and segments of different splits', () => {
    assert.deepEqual(refused(() => mergeResults([seg(0, 2), seg(1, 2), result({})], [])).codes, ['E_MERGE_SEGMENTS']);
    assert.deepEqual(refused(() => mergeResults([seg(0, 2), seg(1, 2), seg(2, 3)], [])).codes, ['E_MERGE_SEGMENTS']);
  });

  it('reads the segment of older results from their --segment override', () => {
    const older = (index: number, hostname: string): Result =>
      result({ legacySegment: `--segment ${index}/2`, hostname });
    assert.deepEqual(segmentOf(older(0, 'a')), { index: 0, count: 2 });
    assert.deepEqual(refused(() => mergeResults([older(0, 'a'), older(0, 'b')], [])).codes, ['E_MERGE_SEGMENTS']);
    const whole = mergeResults([older(0, 'a'), older(1, 'b')], []);
    assert.deepEqual(whole.result.merged, { results: 2, segments: true });
  });

  it('merges whole runs as before, but never the same run twice', () => {
    const merged = mergeResults([result({}), result({ hostname: 'other' })], []).result;
    assert.deepEqual(merged.merged, { results: 2, segments: false });
    const same = result({});
    assert.deepEqual(refused(() => mergeResults([same, same], [])).codes, ['E_MERGE_SEGMENTS']);
  });

  it('warns (W_MERGE_TIME) when the segments did not run at the same time, and merges them', () => {
    const apart = mergeResults([seg(0, 2), seg(1, 2, { startedAt: T0 + 60_000, endedAt: T0 + 63_000 })], []);
    assert.deepEqual(apart.warnings.map((w) => w.code), ['W_MERGE_TIME']);
    assert.equal(apart.result.endedAt - apart.result.startedAt, 63_000);
    const together = mergeResults([seg(0, 2), seg(1, 2, { startedAt: T0 + 2_000, endedAt: T0 + 5_000 })], []);
    assert.deepEqual(together.warnings, [], 'overlapping windows, even staggered, are one run');
  });
});

describe('perfy merge: thresholds with a `for` window', () => {
  const own = (source: string, passed: boolean): ThresholdOutcome =>
    ({ source, passed, aborted: false, values: [], description: undefined, judged: true });
  const verdicts = (a: boolean, b: boolean, c: boolean): { thresholds: ThresholdOutcome[] } =>
    ({ thresholds: [own(bounded, a), own(share, b), own(plain, c)] });
  const bounded = 'rate(http.errors) < 1% for 1s';
  const share = 'throughput(http.reqs) > 1/s for 1s';
  const plain = 'count(http.reqs) >= 20';
  const thresholds = [threshold(bounded), threshold(share), threshold(plain)];

  it('judges a percentile/avg/min/max/rate window from the segments, and leaves a share-dependent one unjudged', () => {
    const segments = [0, 1].map((i) => seg(i, 2, verdicts(true, false, false)));
    const { result: merged } = mergeResults(segments, thresholds);
    const [fromSegments, notJudged, whole] = merged.thresholds;
    assert.deepEqual([fromSegments!.passed, fromSegments!.judged], [true, true], 'held in both segments');
    assert.ok(fromSegments!.note !== undefined);
    assert.equal(notJudged!.judged, false, 'a segment\'s throughput is a share of the whole\'s');
    assert.deepEqual([whole!.passed, whole!.judged, whole!.note], [true, true, undefined], 'on the merged metrics');
    assert.equal(thresholdsPassed(merged.thresholds), true);
  });

  it('fails a window that one segment did not hold', () => {
    const segments = [seg(0, 2, verdicts(true, true, true)), seg(1, 2, verdicts(false, true, true))];
    const { result: merged } = mergeResults(segments, thresholds);
    assert.deepEqual([merged.thresholds[0]!.passed, merged.thresholds[0]!.judged], [false, true]);
    assert.equal(thresholdsPassed(merged.thresholds), false);
  });
});

describe('perfy merge: monitor:', () => {
  const alertOf = (fired: number, firstFiredMs?: number): AlertOutcome => ({
    source: 'cpu(api) > 90%', level: 'critical', abort: false, fired, firingAtEnd: false, aborted: false,
    ...(firstFiredMs === undefined ? {} : { firstFiredMs, value: 0.95 }),
  });
  const eventAt = (elapsedMs: number, state: 'firing' | 'resolved'): ResultEvent => ({
    time: new Date(T0 + elapsedMs).toISOString(), elapsedMs, level: 'critical', name: 'cpu(api) > 90%', state,
    message: state, process: 'api',
  });
  it('adds up each alert over the segments, keeps every event on the merged clock, and fails on a critical one', () => {
    const a = seg(0, 2);
    a.monitor = { alerts: [alertOf(0)], leaks: [], events: [] };
    // The second segment started 500 ms later: its times move by 500 ms on the merged clock.
    const b = seg(1, 2, { startedAt: T0 + 500 });
    b.monitor = {
      alerts: [alertOf(2, 1000)], leaks: [], events: [eventAt(1000, 'firing'), eventAt(1500, 'resolved')],
    };
    const { result: merged } = mergeResults([b, a], []);
    assert.deepEqual(merged.monitor?.alerts.map((x) => [x.fired, x.firstFiredMs]), [[2, 1500]]);
    assert.deepEqual(merged.monitor?.events.map((e) => [e.elapsedMs, e.state]), [[1500, 'firing'], [2000, 'resolved']]);
    assert.equal(merged.passed, false);
  });
  it('leaves monitor out when no segment had one', () => {
    assert.equal(mergeResults([seg(0, 2), seg(1, 2)], []).result.monitor, undefined);
  });
});
