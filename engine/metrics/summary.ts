// The plain numbers of a result: per metric, overall and per step (group, JMeter label), what the console's table
// shows, read through the same rule as thresholds (warm-up and unexpected responses' latencies set aside), so a
// `jq` user never decodes a histogram and every report shows the same figures.

import { allMetrics } from '../steps/index.js';
import type { MetricInfo, MetricType } from './catalog.js';
import { verdictOf, type Result } from './result.js';
import type { AggregateQuery, MetricSource } from '../expr/index.js';
import { measuredFromMs, storeFromSnapshot } from './store.js';
import type { ResultMetric, ResultMetrics } from './types.js';

/** result.json's `summary`: the measured part of the run (after any warm-up), metric by metric. */
export interface ResultSummary {
  /** The measured span in seconds: what `perSecond` divides by. */
  seconds: number;
  metrics: SummaryRow[];
}

/**
 * One metric overall (`tags: {}`) or one of its steps (`{ step }`; `{ group }` for group.duration, `{ label }`
 * for jmeter.duration). Trends: milliseconds; `p99_9` is the 99.9th percentile.
 */
export interface SummaryRow {
  name: string;
  type: MetricType;
  tags: Record<string, string>;
  /** trend, rate, gauge: samples; counter: the total. */
  count: number;
  /** trend and counter: count per second of the measured span. */
  perSecond?: number;
  /** rate: the share of samples that were hits (0 to 1), and their number. */
  share?: number;
  hits?: number;
  /** gauge: the last value. */
  value?: number;
  min?: number;
  avg?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  p99_9?: number;
  max?: number;
}

/** What a result holds that the summary is made from. */
export interface SummarySource {
  startedAt: number;
  endedAt: number;
  workloads: readonly { startAfterMs: number; warmupMs?: number | undefined }[];
  metrics: ResultMetrics;
}

/** A result made complete: its verdict and summary, from the rest of it (a run's, a merge's, a version 1 file's). */
export function completeResult(result: Omit<Result, 'passed' | 'summary'>, metrics?: readonly MetricInfo[]): Result {
  return { ...result, passed: verdictOf(result), summary: summarizeResult(result, metrics) };
}

const PERCENTILES = [['p50', 50], ['p90', 90], ['p95', 95], ['p99', 99], ['p99_9', 99.9]] as const;

/** The tag a metric's rows are split by besides the overall row: step, unless its catalog entry says otherwise. */
function splitTag(name: string, catalog: ReadonlyMap<string, MetricInfo>): string {
  return catalog.get(name)?.summary?.by ?? 'step';
}

/**
 * The summary of a result. `metrics`: the catalog entries that say how a metric is split (by default the core's and
 * the built-in kinds'); a metric they do not list (a plugin's) is split by step.
 */
export function summarizeResult(result: SummarySource, metrics: readonly MetricInfo[] = allMetrics()): ResultSummary {
  const warmupMs = measuredFromMs(result.workloads);
  const elapsedMs = result.endedAt - result.startedAt;
  const source = storeFromSnapshot(result.metrics, { elapsedMs, warmupMs });
  const catalog = new Map(metrics.map((m) => [m.name, m]));
  const rows: SummaryRow[] = [];
  // Each name's tag sets, gathered in one pass (a long run has many).
  const byName = new Map<string, ResultMetric[]>();
  for (const m of result.metrics.metrics) {
    const list = byName.get(m.name);
    if (list === undefined) byName.set(m.name, [m]);
    else list.push(m);
  }
  for (const name of [...byName.keys()].sort()) {
    const series = byName.get(name)!;
    const type = series[0]!.type;
    const by = splitTag(name, catalog);
    const filters: Record<string, string>[] = [{}];
    const values = [...new Set(series.map((m) => m.tags[by]).filter((v): v is string => v !== undefined))].sort();
    for (const value of values) filters.push({ [by]: value });
    for (const tags of filters) {
      const row = summaryRow(source, name, type, tags);
      if (row !== undefined) rows.push(row);
    }
  }
  return { seconds: Math.max(0, elapsedMs - warmupMs) / 1000, metrics: rows };
}

function summaryRow(source: MetricSource, name: string, type: MetricType, tags: Record<string, string>):
  SummaryRow | undefined {
  const of = (fn: AggregateQuery['fn'], percentile?: number) =>
    source.aggregate({ fn, metric: name, tags, ...(percentile === undefined ? {} : { percentile }) });
  const count = of('count');
  if (count === undefined) return undefined;
  const row: SummaryRow = { name, type, tags, count };
  switch (type) {
    case 'trend': {
      row.perSecond = of('throughput');
      row.min = of('min');
      row.avg = of('avg');
      for (const [key, percentile] of PERCENTILES) row[key] = of('percentile', percentile);
      row.max = of('max');
      break;
    }
    case 'counter':
      row.perSecond = of('throughput');
      break;
    case 'rate':
      row.share = of('rate');
      row.hits = Math.round((row.share ?? 0) * count);
      break;
    case 'gauge':
      row.value = of('value');
      row.min = of('min');
      row.max = of('max');
      break;
  }
  // Absent, not undefined: the result is JSON.
  for (const key of Object.keys(row) as (keyof SummaryRow)[]) if (row[key] === undefined) delete row[key];
  return row;
}
