// `perfy merge`: the Results of the segments of one run (the pods of a Kubernetes Indexed Job, each
// `perfy run --segment i/N`) combined into the Result one process would have produced: histograms and counters
// add exactly, series align by time, and the thresholds are judged again on the whole. The set must be whole:
// each segment once, none missing, no whole run among them; segments that did not run together are merged
// with a warning.

import type { PlannedThreshold } from '../compile/plan.js';
import { PerfyError, problem, type Problem } from '../errors.js';
import type { MetricSource } from '../expr/index.js';
import { allMetrics } from '../steps/index.js';
import {
  MAX_EVENTS, redactResult, RESULT_VERSION, segmentOf, type AlertOutcome, type LeakOutcome, type Result,
  type ResultEvent, type ResultMonitor, type ResultSegment, type ResultStage, type ResultWorkload,
  type ThresholdOutcome,
} from '../metrics/result.js';
import { measuredFromMs, mergeResultMetrics, storeFromSnapshot } from '../metrics/store.js';
import { completeResult } from '../metrics/summary.js';
import { redactText } from '../redact.js';
import { createThresholdEvaluator } from '../metrics/thresholds.js';

const STATUS_ORDER: Result['status'][] = ['completed', 'aborted', 'interrupted', 'failed'];

/** A result's segment, with the file it was read from. */
type NamedSegment = ResultSegment & { file: string };

function refuse(message: string, hint: string): PerfyError {
  return new PerfyError(problem('E_MERGE_SEGMENTS', message, hint));
}

export interface MergeOutcome {
  result: Result;
  /** W_ problems: the merge is made, but the user should know (segments that did not run together). */
  warnings: Problem[];
}

/**
 * Merges `results` (read from `files`, named in problems) and judges `thresholds` on the whole. Throws
 * E_USAGE (nothing to merge, different scenarios) or E_MERGE_SEGMENTS (not one whole set of segments).
 * `secrets`: the scenario's (its `${env.NAME}` values). The results hold them redacted, so a threshold's tag
 * filter is redacted the same way before it is matched; the merged Result is redacted like a run's.
 */
export function mergeResults(
  results: Result[], thresholds: PlannedThreshold[], files: string[] = results.map((_, i) => `result ${i + 1}`),
  secrets: readonly string[] = [],
): MergeOutcome {
  const [first, ...rest] = results;
  if (!first) {
    throw new PerfyError(problem('E_USAGE', 'nothing to merge',
      'name the result.json files of the segments: perfy merge a/result.json b/result.json --scenario FILE'));
  }
  const other = rest.find((r) => r.scenario.name !== first.scenario.name);
  if (other) {
    const names = `${first.scenario.name} and ${other.scenario.name}`;
    throw new PerfyError(problem('E_USAGE', `results of different scenarios: ${names}`,
      'merge the segments of one run only'));
  }
  const segments = checkWholeSet(results, files);
  const warnings = overlapWarnings(results, files, segments);

  const metrics = rest.reduce((merged, r) => mergeResultMetrics(merged, r.metrics), first.metrics);
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const status = STATUS_ORDER[Math.max(...results.map((r) => STATUS_ORDER.indexOf(r.status)))]!;
  const workloads = new Map<string, ResultWorkload>();
  for (const w of results.flatMap((r) => r.workloads)) {
    const seen = workloads.get(w.name);
    workloads.set(w.name, seen === undefined ? { ...w } : {
      ...seen,
      durationMs: Math.max(seen.durationMs, w.durationMs),
      plannedIterations: seen.plannedIterations === null || w.plannedIterations === null
        ? null
        : seen.plannedIterations + w.plannedIterations,
      stages: addedStages(seen.stages, w.stages),
    });
  }
  const elapsedMs = endedAt - startedAt;
  const store = storeFromSnapshot(metrics, { elapsedMs, warmupMs: measuredFromMs(first.workloads) });
  const redactedTags = (tags: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(tags).map(([k, v]) => [redactText(k, secrets), redactText(v, secrets)]));
  const source: MetricSource = { aggregate: (query) => store.aggregate({ ...query, tags: redactedTags(query.tags) }) };
  const judged = createThresholdEvaluator(thresholds, source).final(elapsedMs);
  const outcomes = judged.map((o, i) => {
    const threshold = thresholds[i]!;
    if (threshold.expression.sustainMs === undefined) return o;
    return windowedOutcome(o, threshold, i, results, source, segments !== undefined);
  });
  // An older merged result lists this among its overrides; `merged` says it now.
  const overrides = [...new Set(results.flatMap((r) => r.overrides)
    .filter((o) => !o.startsWith('--segment ') && !/^merged from \d+ results$/.test(o)))];
  return {
    result: redactResult(completeResult({
      version: RESULT_VERSION,
      scenario: first.scenario,
      startedAt,
      endedAt,
      status,
      reason: results.find((r) => r.reason !== undefined)?.reason,
      // Threads that generated the load, over all the segments.
      environment: { ...first.environment, workers: results.reduce((n, r) => n + (r.environment.workers ?? 1), 0) },
      overrides,
      workloads: [...workloads.values()],
      metrics,
      thresholds: outcomes,
      ...monitorOf(results, startedAt),
      saturation: {
        saturated: results.some((r) => r.saturation.saturated),
        eventLoopLagP99Ms: Math.max(...results.map((r) => r.saturation.eventLoopLagP99Ms)),
        cpu: Math.max(...results.map((r) => r.saturation.cpu)),
        note: results.find((r) => r.saturation.note !== undefined)?.saturation.note,
      },
      merged: { results: results.length, segments: segments !== undefined },
    }), secrets),
    warnings,
  };
}

/**
 * `monitor:` over several results: each watched the processes of its own machine. An alert's outcome adds up its
 * firings (the earliest first); leak verdicts and events are all kept, times counted from the merged start.
 */
function monitorOf(results: Result[], startedAt: number): { monitor?: ResultMonitor } {
  const parts = results.filter((r) => r.monitor !== undefined);
  if (parts.length === 0) return {};
  const shift = (r: Result, ms: number): number => ms + (r.startedAt - startedAt);
  const alerts = new Map<string, AlertOutcome>();
  const leaks: LeakOutcome[] = [];
  const events: ResultEvent[] = [];
  let eventsDropped = 0;
  for (const r of parts) {
    const m = r.monitor!;
    for (const a of m.alerts) {
      const first = a.firstFiredMs === undefined ? undefined : shift(r, a.firstFiredMs);
      const seen = alerts.get(a.source);
      if (seen === undefined) {
        alerts.set(a.source, { ...a, ...(first === undefined ? {} : { firstFiredMs: first }) });
        continue;
      }
      const earlier = first !== undefined && (seen.firstFiredMs === undefined || first < seen.firstFiredMs);
      alerts.set(a.source, {
        ...seen,
        fired: seen.fired + a.fired,
        firingAtEnd: seen.firingAtEnd || a.firingAtEnd,
        aborted: seen.aborted || a.aborted,
        ...(earlier ? { firstFiredMs: first, value: a.value ?? null } : {}),
      });
    }
    for (const l of m.leaks) {
      leaks.push({ ...l, episodes: l.episodes.map((e) => ({
        ...e,
        sinceMs: shift(r, e.sinceMs),
        detectedMs: shift(r, e.detectedMs),
        ...(e.endMs === undefined ? {} : { endMs: shift(r, e.endMs) }),
      })) });
    }
    for (const e of m.events) events.push({ ...e, elapsedMs: shift(r, e.elapsedMs) });
    eventsDropped += m.eventsDropped ?? 0;
  }
  events.sort((a, b) => a.elapsedMs - b.elapsedMs);
  eventsDropped += Math.max(0, events.length - MAX_EVENTS);
  return {
    monitor: {
      alerts: [...alerts.values()],
      leaks,
      events: events.slice(0, MAX_EVENTS),
      ...(eventsDropped > 0 ? { eventsDropped } : {}),
    },
  };
}

/**
 * The planned load of two results of one workload, stage by stage: segments (and runs side by side) add their
 * rates, users and bursts. Stages that do not line up (results of different plans) leave the stages out.
 */
function addedStages(a: ResultStage[] | undefined, b: ResultStage[] | undefined): ResultStage[] | undefined {
  if (a === undefined || b === undefined || a.length !== b.length) return undefined;
  if (a.some((s, i) => s.kind !== b[i]!.kind || s.startMs !== b[i]!.startMs || s.endMs !== b[i]!.endMs)) {
    return undefined;
  }
  return a.map((s, i) => {
    const t = b[i]!;
    const stage: ResultStage = { ...s, from: s.from + t.from, to: s.to + t.to };
    if (s.iterations !== undefined || t.iterations !== undefined) {
      stage.iterations = (s.iterations ?? 0) + (t.iterations ?? 0);
    }
    return stage;
  });
}

/**
 * The segments of `results`, checked to be one whole set (0/N … N-1/N, each once); undefined when none is a
 * segment (whole runs, merged as they are, but never the same run twice).
 */
function checkWholeSet(results: Result[], files: string[]): NamedSegment[] | undefined {
  const segments = results.map((r, i) => {
    const segment = segmentOf(r);
    return segment === undefined ? undefined : { ...segment, file: files[i]! };
  });
  const given = segments.filter((s) => s !== undefined);
  const hint = 'give the result of each segment of one run once: `perfy run --segment i/N` for every i from 0 to N-1';
  if (given.length === 0) {
    const seen = new Map<string, string>();
    results.forEach((r, i) => {
      const key = `${r.startedAt} ${r.endedAt} ${r.environment.hostname}`;
      const before = seen.get(key);
      if (before !== undefined) {
        throw refuse(`${before} and ${files[i]} are the same run: it would count twice`, 'give each result once');
      }
      seen.set(key, files[i]!);
    });
    return undefined;
  }
  const label = (s: NamedSegment): string => `${s.index}/${s.count} (${s.file})`;
  if (given.length < results.length) {
    const whole = files.filter((_, i) => segments[i] === undefined);
    const wholeRuns = `${whole.join(', ')} ${whole.length === 1 ? 'is a whole run' : 'are whole runs'}`;
    throw refuse(`segments and whole runs mixed: ${given.map(label).join(', ')} are segments, ${wholeRuns}`,
      `a whole run holds the full load; ${hint}`);
  }
  const counts = [...new Set(given.map((s) => s.count))];
  if (counts.length > 1) {
    const splits = counts.map((n) => `of ${n}`).join(', ');
    throw refuse(`segments of different splits (${splits}): ${given.map(label).join(', ')}`, hint);
  }
  const count = counts[0]!;
  const times = (index: number): number => given.filter((s) => s.index === index).length;
  const twice = Array.from({ length: count }, (_, index) => index).filter((index) => times(index) > 1);
  const missing = Array.from({ length: count }, (_, index) => index).filter((index) => times(index) === 0);
  if (twice.length > 0 || missing.length > 0) {
    const names = (indexes: number[]): string => indexes.map((i) => `${i}/${count}`).join(', ');
    const parts = [`given ${[...given].sort((a, b) => a.index - b.index).map(label).join(', ')}`];
    if (twice.length > 0) parts.push(`${names(twice)} more than once (its load would count twice)`);
    if (missing.length > 0) parts.push(`missing ${names(missing)} (its share of the load would be left out)`);
    throw refuse(`not one whole set of ${count} segments: ${parts.join('; ')}`, hint);
  }
  return given;
}

/** W_MERGE_TIME when there is no moment at which every result was running. */
function overlapWarnings(results: Result[], files: string[], segments: NamedSegment[] | undefined): Problem[] {
  if (results.length < 2) return [];
  const name = (i: number): string => {
    const segment = segments?.[i];
    return segment === undefined ? files[i]! : `segment ${segment.index}/${segment.count} (${files[i]})`;
  };
  const lastToStart = results.reduce((best, r, i) => (r.startedAt > results[best]!.startedAt ? i : best), 0);
  const firstToEnd = results.reduce((best, r, i) => (r.endedAt < results[best]!.endedAt ? i : best), 0);
  if (results[lastToStart]!.startedAt < results[firstToEnd]!.endedAt) return [];
  const at = (ms: number): string => new Date(ms).toISOString();
  const ended = `${name(firstToEnd)} ended at ${at(results[firstToEnd]!.endedAt)}`;
  const started = `${name(lastToStart)} started at ${at(results[lastToStart]!.startedAt)}`;
  const apart = `${ended}, before ${started}: they did not run at the same time (the merge is not one run's load)`;
  return [problem('W_MERGE_TIME', apart,
    'start the segments together (a Kubernetes Indexed Job with parallelism equal to completions); '
      + 'merged, throughput() and the per-second series spread over the whole span')];
}

/** Functions whose value for the whole lies between the segments' own values (on trends and rates). */
const BOUNDED_BY_SEGMENTS = new Set(['percentile', 'avg', 'min', 'max', 'rate']);
const METRIC_TYPES = new Map(allMetrics().map((m) => [m.name, m.type]));

/**
 * A `for` window is held or not at the checks made during a run, which a saved result does not keep: on a
 * merge it is judged from the results' own verdicts when every value it reads is a percentile, avg, min, max or
 * rate of a trend or rate metric (the whole's value then lies between the segments', so a threshold that held
 * in every segment held for the whole); anything else (count, throughput, value, a gauge) is a segment's share
 * of the whole and is not judged.
 */
function windowedOutcome(
  outcome: ThresholdOutcome, threshold: PlannedThreshold, index: number,
  results: Result[], source: MetricSource, segmented: boolean,
): ThresholdOutcome {
  const atEnd = threshold.expression.test({ vars: {}, metrics: source });
  const share = threshold.expression.metrics.find((ref) => {
    const type = METRIC_TYPES.get(ref.metric);
    return !BOUNDED_BY_SEGMENTS.has(ref.fn) || (type !== 'trend' && type !== 'rate');
  });
  const why = 'a `for` window needs the checks made during the run';
  if (share !== undefined) {
    const fn = share.fn === 'percentile' ? `p${share.percentile ?? 50}` : share.fn;
    const part = segmented ? 'segment' : 'result';
    const note = `not judged: ${why}, and a ${part}'s ${fn}(${share.metric}) is only its share`;
    return { ...outcome, passed: atEnd, judged: false, note };
  }
  const own = results.map((r) => r.thresholds[index]);
  if (own.some((o) => o === undefined || o.source !== threshold.source || o.judged === false)) {
    return { ...outcome, passed: atEnd, judged: false, note: `not judged: ${why}, and not every result judged it` };
  }
  const held = own.filter((o) => o!.passed).length;
  const whose = segmented ? 'segments' : 'results';
  const note = `judged from the ${whose}' own verdicts: held in ${held} of ${results.length}`;
  return { ...outcome, passed: held === results.length, judged: true, note };
}
