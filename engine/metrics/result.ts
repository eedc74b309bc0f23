// The Result of a run: plain data, JSON-serializable, mergeable across workers and shards; reporters read
// only this. schema/result.schema.json describes it; `--out DIR` writes it as DIR/result.json.

import { redactValues } from '../redact.js';
import type { ResultSummary } from './summary.js';
import type { ResultMetrics } from './types.js';

/**
 * 2: `passed`, `summary`, the workloads' `stages`, and trend series of [count, p50, p95, p99] (1: [count, p95]).
 * perfy reads both (readResult completes a version 1 result) and writes 2.
 */
export const RESULT_VERSION = 2;

export interface Result {
  version: typeof RESULT_VERSION;
  scenario: { name: string; description: string | undefined; file: string };
  /** ms since the epoch */
  startedAt: number;
  endedAt: number;
  /** How the run ended: `completed`, stopped by an abort threshold or alert, interrupted by a signal, or failed. */
  status: 'completed' | 'aborted' | 'interrupted' | 'failed';
  /** Why it did not complete (the failing threshold, the signal, the error), when status is not `completed`. */
  reason: string | undefined;
  /** `workers`: threads that generated the load (absent in results of older versions: one). */
  environment: {
    perfy: string;
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    hostname: string;
    workers?: number;
  };
  /** Command-line overrides that changed the scenario (`--time-scale 0.1`, `--rate 50/s`, …), for honest reports. */
  overrides: string[];
  workloads: ResultWorkload[];
  metrics: ResultMetrics;
  thresholds: ThresholdOutcome[];
  /**
   * The verdict: the run completed, every judged critical threshold passed, no critical alert fired and no
   * critical leak was found (`perfy run` exits 0).
   */
  passed: boolean;
  /** Plain numbers per metric, overall and per step, as every report shows them (engine/metrics/summary.ts). */
  summary: ResultSummary;
  /** `monitor:`'s alerts, leak verdicts and events (absent in a run without alerts, leak rule or notify). */
  monitor?: ResultMonitor;
  /** Whether perfy itself was the bottleneck (event-loop lag or CPU), which would inflate the latencies. */
  saturation: { saturated: boolean; eventLoopLagP99Ms: number; cpu: number; note: string | undefined };
  /**
   * `perfy run --segment i/N` with N > 1: this result is segment `index` (0-based) of `count`. Older results
   * say it only in `overrides` (read it with segmentOf).
   */
  segment?: ResultSegment;
  /** A result of `perfy merge`: how many results it combines, and whether they were the segments of one run. */
  merged?: { results: number; segments: boolean };
}

export interface ResultSegment {
  index: number;
  count: number;
}

export interface ResultWorkload {
  name: string;
  model: 'open' | 'closed';
  startAfterMs: number;
  durationMs: number;
  /** Open model: iterations the timeline planned (after overrides). */
  plannedIterations: number | null;
  /** Open model: how arrivals were spaced; with `poisson` the planned count is the expected one. */
  arrivals?: 'uniform' | 'poisson';
  /** The first part of the load whose samples carry `phase: warmup` (absent: no warm-up). */
  warmupMs?: number;
  /**
   * The load as planned, stage by stage (ms from the workload's start): `from` and `to` are arrivals per second
   * (open model) or users (closed); a burst releases `iterations` at once. Absent in version 1 results.
   */
  stages?: ResultStage[];
}

export interface ResultStage {
  kind: string;
  startMs: number;
  endMs: number;
  from: number;
  to: number;
  iterations?: number;
}

export interface ThresholdOutcome {
  source: string;
  passed: boolean;
  /** The threshold stopped the run (abort: true). */
  aborted: boolean;
  /** The measured value of each metric the threshold reads, in the unit of the expression (ms, fraction, /s). */
  values: { metric: string; fn: string; value: number | null }[];
  description: string | undefined;
  /**
   * false: shown but not judged (a load threshold in a --smoke run, a `for` window perfy merge cannot judge):
   * `passed` is then what the condition said at the end, and it counts for nothing. Absent in older results.
   */
  judged?: boolean;
  /** Why the threshold was not judged, or how its verdict was reached when not by the usual rule. */
  note?: string;
  /** `warning`: reported, fails nothing. Absent: critical. */
  level?: 'warning';
}

export type Level = 'warning' | 'critical';

export interface ResultMonitor {
  /** Every alert of the scenario, in its order. */
  alerts: AlertOutcome[];
  /** One per process judged by `monitor.leak`. */
  leaks: LeakOutcome[];
  /** Each firing and resolving of an alert or leak, in time order (the first MAX_EVENTS). */
  events: ResultEvent[];
  /** Events left out past the first MAX_EVENTS. */
  eventsDropped?: number;
  /** What `notify:` delivered: events sent, given up on, dropped from a full queue. */
  notify?: { sent: number; failed: number; dropped: number; errors: string[] };
}

export interface AlertOutcome {
  source: string;
  level: Level;
  abort: boolean;
  description?: string;
  /** How many times it fired. */
  fired: number;
  /** ms since the run started of its first firing. */
  firstFiredMs?: number;
  /** Still firing when the run ended. */
  firingAtEnd: boolean;
  /** It stopped the run. */
  aborted: boolean;
  /** The first value the condition reads (`cpu(api)`), at its first firing; null without samples. */
  value?: number | null;
}

export interface LeakOutcome {
  process: string;
  level: Level;
  windowMs: number;
  /** The limit, bytes per minute. */
  maxGrowthBytesPerMin: number;
  /** The highest sustained growth measured, bytes per minute; null when the run never filled the window. */
  peakGrowthBytesPerMin: number | null;
  /** Whether it leaked at any time. */
  leaked: boolean;
  /** Leak episodes, ms since the run started: memory grew from `sinceMs`, seen at `detectedMs`. */
  episodes: { sinceMs: number; detectedMs: number; endMs?: number; peakBytesPerMin: number }[];
  /** Why no verdict came (the run was shorter than warm-up and window, the process was never found). */
  note?: string;
}

export interface ResultEvent {
  /** ISO 8601. */
  time: string;
  /** ms since the run started. */
  elapsedMs: number;
  level: Level;
  /** The alert's condition, or `leak(NAME)`. */
  name: string;
  state: 'firing' | 'resolved';
  value?: number | null;
  message: string;
  process?: string;
}

/** Events kept in a result; a flapping alert must not grow it without bound. */
export const MAX_EVENTS = 1000;

/**
 * The verdict of a run (`passed` in the result; exit code 0): it completed, every judged critical threshold passed,
 * and `monitor:` saw no critical alert fire and no critical leak.
 */
export function verdictOf(result: Pick<Result, 'status' | 'thresholds' | 'monitor'>): boolean {
  return result.status === 'completed' && thresholdsPassed(result.thresholds) && monitorPassed(result.monitor);
}

/** Whether every judged critical threshold passed (those not judged, and warnings, count for nothing). */
export function thresholdsPassed(outcomes: readonly ThresholdOutcome[]): boolean {
  return outcomes.every((o) => o.judged === false || o.passed || o.level === 'warning');
}

/** No critical alert fired and no critical leak was found. */
export function monitorPassed(monitor: ResultMonitor | undefined): boolean {
  if (monitor === undefined) return true;
  return monitor.alerts.every((a) => a.level !== 'critical' || a.fired === 0)
    && monitor.leaks.every((l) => l.level !== 'critical' || !l.leaked);
}

const SEGMENT_OVERRIDE = /^--segment (\d+)\/(\d+)$/;

/** The segment a result is, from its `segment` field or, in older results, its `--segment i/N` override. */
export function segmentOf(result: Result): ResultSegment | undefined {
  if (result.segment !== undefined) return result.segment;
  for (const override of result.overrides) {
    const m = SEGMENT_OVERRIDE.exec(override);
    if (m !== null && Number(m[2]) > 1) return { index: Number(m[1]), count: Number(m[2]) };
  }
  return undefined;
}

/** Encoded data inside a Result: never text a secret could be shown in, and corrupted if it were rewritten. */
const ENCODED_KEYS: ReadonlySet<string> = new Set(['histogram']);

/**
 * The Result with every secret and every password written into a URL replaced by `***`: description, step and
 * tag names, threshold sources, error samples, reasons, overrides. A Result is redacted where it is made (a run,
 * a merge), so every reporter and writer (console, result.json, `report:` paths) only ever sees this copy.
 */
export function redactResult(result: Result, secrets: readonly string[]): Result {
  return redactValues(result, secrets, ENCODED_KEYS);
}
