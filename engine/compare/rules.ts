// Regression rules of `perfy compare` (docs/compare.md): an aggregate over a metric, written as in thresholds,
// and the change that counts as a regression: `p95(http.duration) > +10%`, `rate(http.errors) > +1pp`,
// `throughput(http.reqs) < -5%`, `p99(sql.duration{step: vote}) > +20ms`.
//
// The left side goes through the expression language's own parser and checker (the same functions, units and tag
// filters as thresholds); the right side is a signed change: a share of the baseline (`%`), percentage points
// (`pp`, for rate()), or an absolute amount in the metric's unit (`ms`, `s`, `/s`, or a plain number).

import { problem, type Problem } from '../errors.js';
import {
  compileExpression, functionLabel, metricLabel, queryOf, type AggregateFn, type AggregateQuery,
} from '../expr/index.js';

export interface Rule {
  /** The rule as written. */
  source: string;
  /** `p95(http.duration)`: the aggregate, as written in reports. */
  label: string;
  query: AggregateQuery;
  fn: AggregateFn;
  metric: string;
  /** `>`: worse when it grows (latency, errors); `<`: worse when it shrinks (throughput, checks). */
  direction: '>' | '<';
  /** The change that counts, signed as written: 0.1 for `+10%`, 0.01 for `+1pp`, 20 for `+20ms`. */
  amount: number;
  unit: 'relative' | 'points' | 'absolute';
}

const RULE = /^(.+?)\s*([<>])\s*([+-])\s*(\d+(?:\.\d+)?)\s*(%|pp|ms|s|\/s)?\s*$/;

/** A rule from its text, or the problem with it (exit code 2: the comparison cannot be made as asked). */
export function parseRule(source: string): Rule | Problem {
  const m = RULE.exec(source.trim());
  const hint = 'write AGGREGATE > +CHANGE or < -CHANGE: `p95(http.duration) > +10%`, `rate(http.errors) > +1pp`, ' +
    '`throughput(http.reqs) < -5%` (docs/compare.md)';
  if (m === null) return problem('E_COMPARE_RULE', `"${source}" is not a regression rule`, hint);
  const [, left = '', op, sign, digits = '0', suffix] = m;
  let expression;
  try {
    // Compiled as a comparison, the aggregate is checked like a threshold's: known functions, tag syntax, p(N).
    expression = compileExpression(`${left} > 0`);
  } catch (error) {
    const said = (error as { problems?: Problem[] }).problems?.[0]?.message ?? String(error);
    return problem('E_COMPARE_RULE', `"${source}": ${said}`, hint);
  }
  const ref = expression.metrics[0];
  if (ref === undefined || expression.metrics.length !== 1 || !/^\s*[A-Za-z_][\w.]*\s*\(/.test(left)) {
    return problem('E_COMPARE_RULE', `"${source}": the left side must be one aggregate over one metric`, hint);
  }
  const direction = op as '>' | '<';
  if ((direction === '>') !== (sign === '+')) {
    return problem('E_COMPARE_RULE', `"${source}": a rule says how much worse counts: > with +, < with -`, hint);
  }
  const value = Number(digits);
  const unit = suffix === '%' ? 'relative' : suffix === 'pp' ? 'points' : 'absolute';
  const amount = (sign === '-' ? -1 : 1) * (unit === 'relative' || unit === 'points' ? value / 100 : suffix === 's'
    ? value * 1000
    : value);
  if (unit === 'points' && ref.fn !== 'rate') {
    return problem('E_COMPARE_RULE', `"${source}": percentage points (pp) are for rate(), a share`,
      'for other values give a share of the baseline: +10%');
  }
  return {
    source,
    label: `${functionLabel(ref.fn, ref.percentile)}(${metricLabel(ref.metric, ref.tags)})`,
    query: queryOf(ref),
    fn: ref.fn,
    metric: ref.metric,
    direction,
    amount,
    unit,
  };
}

/** Rules for what both results measured, when none is given: what teams usually gate on. */
export function defaultRules(metrics: ReadonlySet<string>, kindDurations: readonly string[]): string[] {
  const rules: string[] = [];
  for (const name of kindDurations) if (metrics.has(name)) rules.push(`p95(${name}) > +10%`);
  for (const name of [...metrics].filter((n) => n.endsWith('.errors')).sort()) rules.push(`rate(${name}) > +1pp`);
  for (const name of [...metrics].filter((n) => n.endsWith('.reqs')).sort()) rules.push(`throughput(${name}) < -5%`);
  if (metrics.has('checks')) rules.push('rate(checks) < -1pp');
  return rules;
}
