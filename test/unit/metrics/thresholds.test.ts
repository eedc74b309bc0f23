// Threshold evaluation over a fake metric source driven check by check: final verdicts with and without `for`
// windows, abort with and without windows and `after`, metrics without samples, and the values of outcomes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedThreshold } from '../../../engine/compile/plan.js';
import { compileExpression, type AggregateQuery, type MetricSource } from '../../../engine/expr/index.js';
import { createThresholdEvaluator } from '../../../engine/metrics/thresholds.js';

/** A source whose answers the test sets between checks: key `fn percentile metric {tags}`. */
function fakeSource(): MetricSource & { set(key: string, value: number | undefined): void; asked: string[] } {
  const values = new Map<string, number | undefined>();
  const asked: string[] = [];
  return {
    asked,
    set: (key, value) => void values.set(key, value),
    aggregate(query: AggregateQuery): number | undefined {
      const key = `${query.fn === 'percentile' ? `p${query.percentile}` : query.fn} ` +
        `${query.metric}${Object.keys(query.tags).length ? ` ${JSON.stringify(query.tags)}` : ''}`;
      asked.push(key);
      return values.get(key);
    },
  };
}

function threshold(
  source: string,
  options: { abort?: boolean; afterMs?: number; description?: string } = {},
): PlannedThreshold {
  return {
    source,
    expression: compileExpression(source),
    abort: options.abort ?? false,
    afterMs: options.afterMs ?? 0,
    description: options.description,
    location: { file: 'test.yaml', line: 1, col: 1 },
  };
}

const P95 = 'p95 http.duration';

/** Runs checks at 0, 1000, 2000 … ms, setting the p95 to each value in turn before its check. */
function runChecks(
  evaluator: ReturnType<typeof createThresholdEvaluator>,
  source: ReturnType<typeof fakeSource>,
  p95s: (number | undefined)[],
): (number | undefined)[] {
  return p95s.map((value, i) => {
    source.set(P95, value);
    return evaluator.check(i * 1000).abort?.index;
  });
}

describe('thresholds without a window', () => {
  it('pass or fail on the condition at the end, whatever happened before', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([threshold('p95(http.duration) < 300ms')], source);
    runChecks(evaluator, source, [100, 900, 900]);
    source.set(P95, 250);
    const [outcome] = evaluator.final(3000);
    assert.deepEqual(outcome, {
      source: 'p95(http.duration) < 300ms',
      passed: true,
      aborted: false,
      values: [{ metric: 'http.duration', fn: 'p95', value: 250 }],
      description: undefined,
      judged: true,
    });
    source.set(P95, 301);
    assert.equal(evaluator.final(3000)[0]!.passed, false);
  });

  it('fail on a metric without samples, with a null value', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([
      threshold('p95(http.duration) < 300ms'),
      threshold('rate(http.errors) != 0', { description: 'never holds without samples' }),
    ], source);
    const outcomes = evaluator.final(1000);
    assert.equal(outcomes[0]!.passed, false);
    assert.deepEqual(outcomes[0]!.values, [{ metric: 'http.duration', fn: 'p95', value: null }]);
    assert.equal(outcomes[1]!.passed, false);
    assert.equal(outcomes[1]!.description, 'never holds without samples');
  });

  it('report every metric read, once, with tag filters and percentile labels as written', () => {
    const source = fakeSource();
    source.set('p99.9 http.duration {"step":"list debates"}', 800);
    source.set('p50 http.duration {"step":"list debates"}', 100);
    source.set('rate http.errors', 0.002);
    source.set('value process.cpu {"process":"api"}', 0.5);
    const evaluator = createThresholdEvaluator(
      [
        threshold(
          'p(99.9, http.duration{step: "list debates"}) < 10 * p50(http.duration{step: "list debates"}) and ' +
            'rate(http.errors) < 1% and rate(http.errors) >= 0',
        ),
        threshold('cpu(api) < 90%'),
      ],
      source,
    );
    const [first, second] = evaluator.final(5000);
    assert.equal(first!.passed, true);
    assert.deepEqual(first!.values, [
      { metric: 'http.duration{step: "list debates"}', fn: 'p99.9', value: 800 },
      { metric: 'http.duration{step: "list debates"}', fn: 'p50', value: 100 },
      { metric: 'http.errors', fn: 'rate', value: 0.002 },
    ]);
    assert.deepEqual(second!.values, [{ metric: 'process.cpu{process: api}', fn: 'value', value: 0.5 }]);
    assert.equal(second!.passed, true);
  });

  it('evaluate against the source with no variables', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([threshold('count(iterations) > 0')], source);
    evaluator.check(0);
    assert.deepEqual(source.asked, ['count iterations']);
  });
});

describe('thresholds with a `for` window', () => {
  const windowed = (): PlannedThreshold => threshold('p95(http.duration) < 300ms for 3s');

  it('pass when every check of the last window passed and the checks cover it', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([windowed()], source);
    runChecks(evaluator, source, [100, 100, 100, 100]); // 0 .. 3000
    assert.equal(evaluator.final(3000)[0]!.passed, true);
  });

  it('fail when a check inside the window failed', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([windowed()], source);
    runChecks(evaluator, source, [100, 100, 100, 900, 100, 100]); // fails at 3000, passes 4000, 5000
    assert.equal(evaluator.final(5000)[0]!.passed, false, 'passing only since 4000: 1 s of 3');
    assert.equal(evaluator.final(7000)[0]!.passed, true, 'the final check at 7000 extends the run of passes to 3 s');
  });

  it('fail when the run is shorter than the window', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([windowed()], source);
    runChecks(evaluator, source, [100, 100]);
    assert.equal(evaluator.final(2000)[0]!.passed, false);
  });

  it('fail when the condition is false at the end, even after a long good run', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([windowed()], source);
    runChecks(evaluator, source, [100, 100, 100, 100, 100]);
    source.set(P95, 500);
    assert.equal(evaluator.final(5000)[0]!.passed, false);
  });

  it('a check without samples breaks the run of passes', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([windowed()], source);
    runChecks(evaluator, source, [100, undefined, 100, 100, 100]);
    source.set(P95, 100);
    assert.equal(evaluator.final(4000)[0]!.passed, false);
    assert.equal(evaluator.final(5000)[0]!.passed, true);
  });
});

describe('abort', () => {
  it('without a window: the first failing check at or after `after` stops the run', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator(
      [threshold('p95(http.duration) < 300ms', { abort: true, afterMs: 3000 })],
      source,
    );
    const fired = runChecks(evaluator, source, [900, 900, 100, 100, 900, 100]);
    assert.deepEqual(
      fired,
      [undefined, undefined, undefined, undefined, 0, 0],
      'failures before `after` do not count; once fired it stays fired',
    );
    source.set(P95, 100);
    const [outcome] = evaluator.final(6000);
    assert.equal(outcome!.aborted, true);
    assert.equal(outcome!.passed, false, 'an aborting threshold failed, whatever the value at the end');
    assert.equal(outcome!.values[0]!.value, 100);
  });

  it('without `after`: the first failing check', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([threshold('p95(http.duration) < 300ms', { abort: true })], source);
    assert.deepEqual(runChecks(evaluator, source, [900]), [0]);
  });

  it('a metric without samples counts as failing', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator(
      [threshold('p95(http.duration) < 300ms', { abort: true, afterMs: 1000 })],
      source,
    );
    assert.deepEqual(runChecks(evaluator, source, [undefined, undefined]), [undefined, 0]);
  });

  it('with a window: only a failure sustained for the whole window stops the run', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator(
      [threshold('p95(http.duration) < 300ms for 2s', { abort: true })],
      source,
    );
    //                                             0    1    2    3    4    5    6
    const fired = runChecks(evaluator, source, [900, 900, 100, 900, 900, 900, 100]);
    assert.deepEqual(
      fired,
      [undefined, undefined, undefined, undefined, undefined, 0, 0],
      'failing since 3000: sustained 2 s at 5000',
    );
  });

  it('with a window and `after`: the window counts from the first failing check at or after `after`', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator(
      [threshold('p95(http.duration) < 300ms for 2s', { abort: true, afterMs: 3000 })],
      source,
    );
    const fired = runChecks(evaluator, source, [900, 900, 900, 900, 900, 900]);
    assert.deepEqual(fired, [undefined, undefined, undefined, undefined, undefined, 0]);
  });

  it('thresholds without abort never stop the run', () => {
    const source = fakeSource();
    const evaluator = createThresholdEvaluator([threshold('p95(http.duration) < 300ms')], source);
    assert.deepEqual(runChecks(evaluator, source, [900, 900, 900]), [undefined, undefined, undefined]);
    assert.equal(evaluator.final(3000)[0]!.aborted, false);
  });

  it('returns the first threshold, in the plan’s order, that fires; only it is marked aborted', () => {
    const source = fakeSource();
    source.set('rate http.errors', 0.5);
    const evaluator = createThresholdEvaluator([
      threshold('p95(http.duration) < 300ms'),
      threshold('rate(http.errors) < 1%', { abort: true }),
      threshold('p95(http.duration) < 300ms', { abort: true }),
    ], source);
    source.set(P95, 900);
    const { abort } = evaluator.check(1000);
    assert.equal(abort?.index, 1);
    assert.equal(abort?.threshold.source, 'rate(http.errors) < 1%');
    assert.deepEqual(
      evaluator.final(1000).map((o) => [o.passed, o.aborted]),
      [
        [false, false],
        [false, true],
        [false, false],
      ],
    );
  });
});

describe('thresholds that are not judged (a load threshold in a --smoke run)', () => {
  it('are never checked, so they never abort; final() shows them with judged: false and what they said', () => {
    const source = fakeSource();
    source.set(P95, 900);
    const note = 'not judged in a --smoke run';
    const shown = { ...threshold('p95(http.duration) < 300ms', { abort: true }), notJudged: note };
    const evaluator = createThresholdEvaluator([shown, threshold('rate(http.errors) < 1%')], source);
    source.set('rate http.errors', 0);
    assert.deepEqual([evaluator.check(1000).abort, evaluator.check(2000).abort], [undefined, undefined]);
    const [notJudged, judged] = evaluator.final(2000);
    const { judged: shownJudged, passed, aborted, note: shownNote } = notJudged!;
    assert.deepEqual([shownJudged, passed, aborted, shownNote], [false, false, false, note]);
    assert.deepEqual(notJudged!.values, [{ metric: 'http.duration', fn: 'p95', value: 900 }]);
    assert.deepEqual([judged!.judged, judged!.passed], [true, true]);
  });
});
