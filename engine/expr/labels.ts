// How expressions name what they read, in reports and messages: `p95`, `http.duration{step: vote}`, and the query
// the metric store answers for one aggregate. Thresholds, alerts and regression rules share them.

import type { AggregateQuery, MetricRef } from './compile.js';

/** `p95`, `p99.9`, `avg`, …: the function as it reads in reports. */
export function functionLabel(fn: AggregateQuery['fn'], percentile: number | undefined): string {
  return fn === 'percentile' ? `p${percentile ?? 50}` : fn;
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `http.duration{step: vote}`: the metric with its tag filter, as written in expressions. */
export function metricLabel(metric: string, tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  if (entries.length === 0) return metric;
  return `${metric}{${entries.map(([k, v]) => `${k}: ${PLAIN_NAME.test(v) ? v : JSON.stringify(v)}`).join(', ')}}`;
}

/** What the store is asked for one aggregate an expression reads. */
export function queryOf(ref: MetricRef & { fn: AggregateQuery['fn']; percentile?: number }): AggregateQuery {
  return ref.percentile === undefined
    ? { fn: ref.fn, metric: ref.metric, tags: { ...ref.tags } }
    : { fn: ref.fn, percentile: ref.percentile, metric: ref.metric, tags: { ...ref.tags } };
}

