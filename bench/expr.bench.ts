// Cost of the expression language on the hot path: evaluating a compiled expect for every response, and a
// threshold against a metric source; compiling is measured too (it happens once per expression, at startup).

import { compileExpression, type AggregateQuery, type EvalScope, type MetricSource } from '../engine/expr/index.js';
import { measure, type BenchResult } from './run.js';

export const name = 'expressions (engine/expr)';

/** The requirement: a compiled simple expect costs well under a microsecond. */
const SIMPLE_EXPECT_LIMIT_NS = 1000;

const response: EvalScope = {
  vars: {
    status: 200,
    duration: 123.4,
    json: { items: [{ id: 'a1' }, { id: 'b2' }] },
    header: { 'content-type': 'application/json; charset=utf-8' },
    // A 2 KB JSON body, for `body matches` (the regex runs over the whole text).
    body: JSON.stringify({
      items: Array.from({ length: 40 }, (_, i) => ({ id: `d-${i}`, title: `debate ${i}`, votes: i * 3 })),
    }),
  },
};

/** A metric source that answers at once, so the measure is the expression's own cost. */
const metrics: MetricSource = {
  aggregate(q: AggregateQuery): number | undefined {
    return q.fn === 'percentile' ? 250 : 0.001;
  },
};
const thresholdScope: EvalScope = { vars: {}, metrics };

export function run(): BenchResult[] {
  const results: BenchResult[] = [];

  // Baseline: the hand-written closure a perfect compiler would produce.
  const handWritten = (s: EvalScope): boolean => s.vars['status'] === 200;
  results.push(measure('baseline: hand-written s.vars.status === 200', () => handWritten(response)));

  const expects: [source: string, limit?: number][] = [
    ['status == 200', SIMPLE_EXPECT_LIMIT_NS],
    ['duration < 500ms', SIMPLE_EXPECT_LIMIT_NS],
    ['json.items.length > 0 and header["content-type"] matches "json"'],
    ['header["content-type"] matches "^application/(json|xml)"'],
    ['body matches "\\"id\\":\\s*\\"d-39\\""'],
  ];
  for (const [source, limit] of expects) {
    const compiled = compileExpression(source);
    if (!compiled.test(response)) throw new Error(`bench expression is false: ${source}`);
    results.push(
      measure(`test: ${source}`, () => compiled.test(response), limit === undefined ? {} : { maxNsPerOp: limit }),
    );
  }

  const threshold = compileExpression('p95(http.duration{step: vote}) < 300ms and rate(http.errors) < 1%');
  if (!threshold.test(thresholdScope)) throw new Error('bench threshold is false');
  results.push(
    measure('test: p95(http.duration{step: vote}) < 300ms and rate(http.errors) < 1%', () =>
      threshold.test(thresholdScope),
    ),
  );

  const capture = compileExpression('json.items[0].id');
  results.push(measure('evaluate (capture): json.items[0].id', () => capture.evaluate(response)));

  const sources = [
    'status == 200',
    'duration < 500ms',
    'json.items.length > 0 and header["content-type"] matches "json"',
    'p(99.9, http.duration{step: vote}) < 1s',
    'cpu(api) > 90% for 10s',
  ];
  for (const source of sources) {
    results.push(measure(`compile: ${source}`, () => compileExpression(source), { roundMs: 50 }));
  }
  return results;
}
