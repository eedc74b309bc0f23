// Thresholds during and at the end of a run: check() about once a second (windows and abort: true), final() for
// the pass/fail verdicts and the measured values that reports show. docs/thresholds.md is the user's version.
//
// Semantics:
// - A threshold's condition is `expression.test({ vars: {}, metrics: source })`. Every aggregate it reads covers
//   the run from its start to now (a `for` window does not narrow what p95() or rate() computes).
// - A metric with no samples makes every comparison that reads it false, so such a threshold fails; its
//   outcome value is null.
// - Without `for`: the final verdict is the condition at the end (final() evaluates it once more).
// - With `for W`: the threshold holds at time t when the condition was true at every check of the last W, and
//   the checks cover W: the current run of passing checks started at least W before t. The final verdict is
//   whether it holds at the end (final() counts as one more check), so a run shorter than W cannot pass it.
// - `abort: true`: only checks at or after `after` count. Without `for`, the first such check whose condition
//   is false stops the run; with `for W`, the run stops once the condition has been false at every such check
//   for W (a sustained failure, measured from the first failing check at or after `after`). An aborting
//   threshold is failed and marked aborted; once one has fired, check() keeps returning it.
// - `notJudged` (a load threshold in a --smoke run): never checked, so it never aborts; final() reports it with
//   `judged: false`, its values and what its condition says at the end (which counts for nothing).

import { functionLabel, metricLabel, queryOf, type AggregateQuery, type MetricSource } from '../expr/index.js';
import type { PlannedThreshold } from '../compile/plan.js';
import type { ThresholdOutcome } from './result.js';

export interface ThresholdAbort {
  threshold: PlannedThreshold;
  /** The threshold's position in the plan's list. */
  index: number;
}

export interface ThresholdEvaluator {
  /** Evaluates every threshold at `elapsedMs` since the run started; returns the first that stops the run. */
  check(elapsedMs: number): { abort?: ThresholdAbort };
  /** The verdicts at the end of the run, in the plan's order. */
  final(elapsedMs: number): ThresholdOutcome[];
}

interface ThresholdState {
  threshold: PlannedThreshold;
  windowMs: number | undefined;
  /** Elapsed time of the first check of the current run of passing checks; undefined after a failing check. */
  passingSince: number | undefined;
  /** The same for failing checks at or after `after` (abort thresholds only). */
  failingSince: number | undefined;
  /** Whether the threshold held at the last check. */
  holds: boolean;
  aborted: boolean;
  queries: { label: string; fn: string; query: AggregateQuery }[];
}

function queriesOf(threshold: PlannedThreshold): ThresholdState['queries'] {
  const seen = new Set<string>();
  const queries: ThresholdState['queries'] = [];
  for (const ref of threshold.expression.metrics) {
    const fn = functionLabel(ref.fn, ref.percentile);
    const label = metricLabel(ref.metric, ref.tags);
    const key = `${fn} ${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    queries.push({ label, fn, query: Object.freeze(queryOf(ref)) });
  }
  return queries;
}

export function createThresholdEvaluator(thresholds: PlannedThreshold[], source: MetricSource): ThresholdEvaluator {
  const scope = { vars: {}, metrics: source };
  const states: ThresholdState[] = thresholds.map((threshold) => ({
    threshold,
    windowMs: threshold.expression.sustainMs,
    passingSince: undefined,
    failingSince: undefined,
    holds: false,
    aborted: false,
    queries: queriesOf(threshold),
  }));
  let fired: ThresholdAbort | undefined;

  /** Evaluates one threshold at `elapsedMs`; returns whether it calls for an abort. */
  function evaluate(state: ThresholdState, elapsedMs: number): boolean {
    const { threshold, windowMs } = state;
    const passed = threshold.expression.test(scope);
    if (passed) {
      state.passingSince ??= elapsedMs;
      state.failingSince = undefined;
    } else {
      state.passingSince = undefined;
      if (threshold.abort && elapsedMs >= threshold.afterMs) state.failingSince ??= elapsedMs;
    }
    state.holds = windowMs === undefined
      ? passed
      : state.passingSince !== undefined && elapsedMs - state.passingSince >= windowMs;
    if (!threshold.abort || passed || elapsedMs < threshold.afterMs) return false;
    return windowMs === undefined || (state.failingSince !== undefined && elapsedMs - state.failingSince >= windowMs);
  }

  return {
    check(elapsedMs: number): { abort?: ThresholdAbort } {
      if (fired !== undefined) return { abort: fired };
      states.forEach((state, index) => {
        if (state.threshold.notJudged !== undefined) return;
        const abort = evaluate(state, elapsedMs);
        if (abort && fired === undefined) {
          state.aborted = true;
          fired = { threshold: state.threshold, index };
        }
      });
      return fired === undefined ? {} : { abort: fired };
    },

    final(elapsedMs: number): ThresholdOutcome[] {
      return states.map((state) => {
        const values = state.queries.map(({ label, fn, query }) => {
          const value = source.aggregate(query);
          return { metric: label, fn, value: value === undefined || !Number.isFinite(value) ? null : value };
        });
        const { source: text, description } = state.threshold;
        const level = state.threshold.level === 'warning' ? { level: 'warning' as const } : {};
        const outcome = { source: text, aborted: state.aborted, values, description, ...level };
        const { notJudged } = state.threshold;
        if (notJudged !== undefined) {
          return { ...outcome, passed: state.threshold.expression.test(scope), judged: false, note: notJudged };
        }
        if (!state.aborted) evaluate(state, elapsedMs);
        return { ...outcome, passed: !state.aborted && state.holds, judged: true };
      });
    },
  };
}
