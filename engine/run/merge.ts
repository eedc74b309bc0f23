// `perfy merge`: the Results of the segments of one run (worker threads, or the pods of a Kubernetes Indexed
// Job, each `perfy run --segment i/N`) combined into the Result one process would have produced: histograms and
// counters add exactly, series align by time, and the thresholds are judged again on the whole.

import type { PlannedThreshold } from '../compile/plan.js';
import { PerfyError, problem } from '../errors.js';
import { redactResult, RESULT_VERSION, type Result, type ResultWorkload } from '../metrics/result.js';
import { redactText } from '../redact.js';
import { mergeResultMetrics, storeFromSnapshot } from '../metrics/store.js';
import { createThresholdEvaluator } from '../metrics/thresholds.js';

const STATUS_ORDER: Result['status'][] = ['completed', 'aborted', 'interrupted', 'failed'];

/**
 * `secrets`: those of the scenario (its `${env.NAME}` values). The results hold them redacted, so a threshold's
 * tag filter is redacted the same way before it is matched; the merged Result is redacted like a run's.
 */
export function mergeResults(
  results: Result[], thresholds: PlannedThreshold[], secrets: readonly string[] = [],
): Result {
  const [first, ...rest] = results;
  if (!first) throw new PerfyError(problem('E_USAGE', 'nothing to merge', 'name the result.json files of the segments: perfy merge a/result.json b/result.json --scenario FILE'));
  const other = rest.find((r) => r.scenario.name !== first.scenario.name);
  if (other) throw new PerfyError(problem('E_USAGE', `results of different scenarios: ${first.scenario.name} and ${other.scenario.name}`, 'merge the segments of one run only'));
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
      plannedIterations: seen.plannedIterations === null || w.plannedIterations === null ? null : seen.plannedIterations + w.plannedIterations,
    });
  }
  const elapsedMs = endedAt - startedAt;
  const store = storeFromSnapshot(metrics, { elapsedMs });
  const redactedTags = (tags: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(tags).map(([k, v]) => [redactText(k, secrets), redactText(v, secrets)]));
  const evaluator = createThresholdEvaluator(thresholds, {
    aggregate: (query) => store.aggregate({ ...query, tags: redactedTags(query.tags) }),
  });
  const overrides = [...new Set(results.flatMap((r) => r.overrides).filter((o) => !o.startsWith('--segment ')))];
  return redactResult({
    version: RESULT_VERSION,
    scenario: first.scenario,
    startedAt,
    endedAt,
    status,
    reason: results.find((r) => r.reason !== undefined)?.reason,
    // Threads that generated the load, over all the segments.
    environment: { ...first.environment, workers: results.reduce((n, r) => n + (r.environment.workers ?? 1), 0) },
    overrides: [...overrides, `merged from ${results.length} results`],
    workloads: [...workloads.values()],
    metrics,
    thresholds: evaluator.final(elapsedMs),
    saturation: {
      saturated: results.some((r) => r.saturation.saturated),
      eventLoopLagP99Ms: Math.max(...results.map((r) => r.saturation.eventLoopLagP99Ms)),
      cpu: Math.max(...results.map((r) => r.saturation.cpu)),
      note: results.find((r) => r.saturation.note !== undefined)?.saturation.note,
    },
  }, secrets);
}
