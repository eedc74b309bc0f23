// The contract of the metric store: what executors, the interpreter, the scheduler and monitors record into,
// and what thresholds and reporters read. engine/metrics/store.ts implements it.

import type { AggregateQuery, MetricSource } from '../expr/index.js';

export type Tags = Readonly<Record<string, string>>;
export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

/** One metric with one tag set. Obtain it once (handles are cached by the store) and record on the hot path. */
export interface MetricHandle {
  /** trend: a duration in milliseconds (kept in µs, 3 significant digits); counter: an amount; gauge: a value;
   * rate: 1 or 0 */
  record(value: number): void;
}

export interface MetricStore extends MetricSource {
  /** The handle for `name` with exactly these tags; the same object for the same name, type and tags. */
  handle(name: string, type: MetricType, tags: Tags): MetricHandle;
  /** Aggregate over every tag set of `metric` whose tags include the query's tags (thresholds, alerts, progress). */
  aggregate(query: AggregateQuery): number | undefined;
  /** Plain, JSON-serializable snapshot of everything recorded so far (see ResultMetrics). */
  snapshot(): ResultMetrics;
  /**
   * Keeps an example beside the numbers: the first sample of each kind and tag set is kept (later ones with the
   * same kind and tags are ignored), at most MAX_SAMPLES in all. Not for the hot path: call it once per new key.
   */
  sample(kind: SampleKind, tags: Tags, message: string, detail?: Record<string, unknown>): void;
}

/** `error`: the first failure of a step with one error code; `plan`: a statement's query plan (EXPLAIN). */
export type SampleKind = 'error' | 'plan';

/** An example kept beside the numbers (the message of a step's first error, a query plan). */
export interface ResultSample {
  kind: SampleKind;
  /** workload, step, and what distinguishes it (`code`: a SQLSTATE or an error class) */
  tags: Record<string, string>;
  /** When it was seen, ms since the epoch. */
  at: number;
  message: string;
  /** What the kind adds: a plan's node, cost, indexes, … */
  detail?: Record<string, unknown>;
}

/** Most samples a run keeps (a run with many failing steps keeps the first ones seen). */
export const MAX_SAMPLES = 200;

/** What a Result holds of the metrics: mergeable across shards and workers. */
export interface ResultMetrics {
  /** Start of the first series interval, ms since the epoch. */
  startedAt: number;
  intervalMs: number;
  metrics: ResultMetric[];
  /** Examples beside the numbers, oldest first; absent when there are none. */
  samples?: ResultSample[];
}

export interface ResultMetric {
  name: string;
  type: MetricType;
  tags: Record<string, string>;
  /** trend: samples; counter: sum of amounts; rate: samples; gauge: samples */
  count: number;
  /** trend: sum of values (ms); counter: total; rate: hits (non-zero samples); gauge: last value */
  sum: number;
  min: number;
  max: number;
  /** trend only: the HDR histogram (µs) encoded as base64 (compressed HdrHistogram V2 format) */
  histogram?: string;
  /**
   * per-interval values, index i = [startedAt + i·intervalMs, +intervalMs): trend: [count, p50, p95, p99 ms]
   * (version 1 results: [count, p95]); counter: amount; rate: [hits, total]; gauge: last value
   */
  series: (number | [number, number] | [number, number, number, number] | null)[];
}
