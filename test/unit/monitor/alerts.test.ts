// Alerts over a real metric store, checked sample by sample: firing and resolving once each, `for` windows that
// ignore a shorter burst, metrics without samples, and the outcomes the result keeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Level, PlannedAlert } from '../../../engine/compile/plan.js';
import { compileExpression } from '../../../engine/expr/index.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { createAlertEvaluator } from '../../../engine/monitor/alerts.js';

function alert(source: string, options: { level?: Level; abort?: boolean } = {}): PlannedAlert {
  return {
    source,
    expression: compileExpression(source),
    level: options.level ?? 'warning',
    abort: options.abort ?? false,
    description: undefined,
    location: { file: 'test.yaml', line: 1, col: 1 },
  };
}

const MB = 1e6;

/** Records each value as the process's RSS and checks at 0, 1000, 2000 … ms; returns the transitions per check. */
function drive(alerts: PlannedAlert[], rss: (number | undefined)[]) {
  const store = createMetricStore();
  const gauge = store.handle('process.rss', 'gauge', { process: 'api' });
  const evaluator = createAlertEvaluator(alerts, store);
  const seen = rss.map((value, i) => {
    if (value !== undefined) gauge.record(value);
    return evaluator.check(i * 1000).map((t) => `${t.index} ${t.state} ${t.label} ${t.value}`);
  });
  return { seen, evaluator };
}

describe('alerts without a window', () => {
  it('fire at the first true check and resolve at the first false one, each said once', () => {
    const { seen, evaluator } = drive([alert('rss(api) > 512MB')], [100 * MB, 600 * MB, 700 * MB, 300 * MB, 800 * MB]);
    assert.deepEqual(seen, [
      [],
      [`0 firing rss(api) ${600 * MB}`],
      [],
      [`0 resolved rss(api) ${300 * MB}`],
      [`0 firing rss(api) ${800 * MB}`],
    ]);
    const [outcome] = evaluator.outcomes();
    assert.deepEqual(outcome, {
      source: 'rss(api) > 512MB', level: 'warning', abort: false, fired: 2, firstFiredMs: 1000, value: 600 * MB,
      firingAtEnd: true, aborted: false,
    });
  });

  it('never fire on a metric without samples, whatever the comparison', () => {
    const { seen, evaluator } = drive([alert('rss(api) < 1GB'), alert('rss(api) != 0')], [undefined, undefined]);
    assert.deepEqual(seen, [[], []]);
    assert.deepEqual(evaluator.outcomes().map((o) => [o.fired, o.firingAtEnd, o.value]), [
      [0, false, undefined], [0, false, undefined],
    ]);
  });
});

describe('alerts with `for`', () => {
  it('ignore a burst shorter than the window and fire once the condition has held for all of it', () => {
    const high = 900 * MB;
    const low = 100 * MB;
    // True for 3 s (0..2), false, then true from 4 s: fires at 9 s, 5 s after the run of true checks began.
    const { seen } = drive([alert('rss(api) > 512MB for 5s', { level: 'critical' })],
      [high, high, high, low, high, high, high, high, high, high, low]);
    assert.deepEqual(seen.map((s, i) => (s.length ? `${i}: ${s.join('; ')}` : '')).filter(Boolean), [
      `9: 0 firing rss(api) ${high}`,
      `10: 0 resolved rss(api) ${low}`,
    ]);
  });

  it('keep their own clocks: two alerts on one metric fire at their own times, in the plan\'s order', () => {
    const { seen, evaluator } = drive(
      [alert('rss(api) > 512MB for 2s'), alert('rss(api) > 512MB', { level: 'critical', abort: true })],
      [600 * MB, 600 * MB, 600 * MB],
    );
    assert.deepEqual(seen, [[`1 firing rss(api) ${600 * MB}`], [], [`0 firing rss(api) ${600 * MB}`]]);
    evaluator.aborted(1);
    assert.deepEqual(evaluator.outcomes().map((o) => [o.level, o.firstFiredMs, o.aborted]), [
      ['warning', 2000, false], ['critical', 0, true],
    ]);
  });
});

describe('alert labels', () => {
  it('name the value read as written: shorthands for process gauges, fn(metric{tags}) otherwise', () => {
    const store = createMetricStore();
    store.handle('process.cpu', 'gauge', { process: 'api' }).record(0.95);
    store.handle('http.duration', 'trend', { step: 'vote' }).record(412);
    const evaluator = createAlertEvaluator(
      [alert('cpu(api) > 90%'), alert('p95(http.duration{step: vote}) > 300ms')], store,
    );
    const transitions = evaluator.check(0);
    assert.deepEqual(transitions.map((t) => t.label), ['cpu(api)', 'p95(http.duration{step: vote})']);
    assert.equal(transitions[0]!.value, 0.95);
    assert.ok(Math.abs(transitions[1]!.value! - 412) < 1, String(transitions[1]!.value));
  });
});
