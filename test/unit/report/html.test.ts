// The HTML report from a Result made by a real metric store: the planned load integrated exactly, achieved and
// planned adding up to the run's iterations, everything from the result escaped, and a 1-hour run under 2 MB.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIZE_LIMIT_BYTES, syntheticResult } from '../../../bench/report-html.bench.js';
import { chartsOf, plannedArrivals } from '../../../engine/report/html-charts.js';
import { renderHtml, scriptJson } from '../../../engine/report/html.js';
import { BUILTIN_STEP_KINDS } from '../../../engine/steps/index.js';

const context = { kinds: BUILTIN_STEP_KINDS };
const sum = (values: readonly (number | null)[]): number => values.reduce<number>((s, v) => s + (v ?? 0), 0);

describe('HTML report', () => {
  it('integrates the planned rate exactly: ramps, holds and bursts', () => {
    const stages = [
      { kind: 'ramp', startMs: 0, endMs: 1000, from: 0, to: 10 },
      { kind: 'rate', startMs: 1000, endMs: 3000, from: 200, to: 200 },
      { kind: 'burst', startMs: 3000, endMs: 3000, from: 0, to: 0, iterations: 50 },
    ];
    assert.equal(plannedArrivals(stages, 0, 1000), 5);
    assert.equal(plannedArrivals(stages, 0, 500), 1.25);
    assert.equal(plannedArrivals(stages, 1000, 2000), 200);
    assert.equal(plannedArrivals(stages, 2500, 3500), 100 + 50);
    assert.equal(plannedArrivals(stages, 3001, 4000), 0);
  });

  it('charts the load as planned and as achieved, each adding up to the run\'s iterations', () => {
    const result = syntheticResult(300, 10);
    const data = chartsOf(result);
    assert.equal(data.points, 300);
    const load = data.charts.find((c) => c.id === 'load')!;
    const series = (label: string) => load.series.find((s) => s.label === label)!.values;
    assert.equal(sum(series('planned/s')), 3000);
    assert.equal(sum(series('iterations/s')), 3000);
    // A chart per step (6 http, 4 sql), with p50 <= p95 <= p99 in every interval.
    const latency = data.charts.filter((c) => c.id.startsWith('latency-'));
    assert.equal(latency.length, 10);
    for (const chart of latency) {
      const [p50, p95, p99] = chart.series.map((s) => s.values);
      p50!.forEach((v, i) => assert.ok(v! <= p95![i]! && p95![i]! <= p99![i]!, `${chart.title} at ${i}`));
    }
    // The failures: http 500 and SQLSTATE 40001, by class.
    const errors = data.charts.find((c) => c.id === 'errors')!;
    assert.deepEqual(errors.series.map((s) => s.label), ['http 500', 'sql 40001', 'steps failed %']);
  });

  it('writes nothing of the result unescaped: a name holding markup stays text', async () => {
    const hostile = '</script><script>alert(1)</script><!--';
    const result = syntheticResult(5, 2);
    result.scenario.description = hostile;
    for (const m of result.metrics.metrics) if (m.tags['step'] === 'http 0') m.tags['step'] = hostile;
    for (const r of result.summary.metrics) if (r.tags['step'] === 'http 0') r.tags['step'] = hostile;
    const html = await renderHtml(result, context);
    assert.equal(html.match(/<script/g)?.length, 3, 'the report\'s own three scripts');
    assert.ok(!html.includes(hostile));
    assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--'));
    assert.equal(scriptJson({ a: hostile }), '{"a":"\\u003c/script>\\u003cscript>alert(1)\\u003c/script>\\u003c!--"}');
    assert.deepEqual(JSON.parse(scriptJson({ a: hostile })), { a: hostile });
  });

  it('keeps a 1-hour run under 2 MB, with its kinds\' sections', async () => {
    const html = await renderHtml(syntheticResult(), context);
    assert.ok(Buffer.byteLength(html) < SIZE_LIMIT_BYTES, `${Buffer.byteLength(html)} bytes`);
    for (const title of ['<h2>HTTP</h2>', '<h2>SQL</h2>', 'Failures by step and SQLSTATE', 'Connection pools']) {
      assert.ok(html.includes(title), title);
    }
  });
});
