// Alerts (monitor.alerts, docs/monitoring.md): conditions over the run's metrics, checked after every monitor
// sample, that fire and resolve while the load goes on.
//
// Semantics (Prometheus's `for`, which people running alerts know):
// - Without `for`: an alert fires at the first check where its condition is true, and resolves at the first
//   check where it is false.
// - With `for W`: it fires once the condition has been true at every check for W (from the first check of the
//   current run of true checks), and resolves at the first false check. So `cpu(api) > 90% for 10s` ignores a
//   5-second burst.
// - A condition that reads a metric without samples is false: an alert never fires on what was never measured.
// - The values it reads are those of thresholds: `cpu(api)` and `rss(api)` the last sample, p95() and rate() the
//   run so far.
// Each firing and resolving is one transition, returned by check() once; the run prints, records and notifies it.

import type { PlannedAlert } from '../compile/plan.js';
import { functionLabel, metricLabel, queryOf, type AggregateQuery, type MetricSource } from '../expr/index.js';
import type { AlertOutcome } from '../metrics/result.js';

export interface AlertTransition {
  alert: PlannedAlert;
  index: number;
  state: 'firing' | 'resolved';
  /** The first value the condition reads (null: no samples). */
  value: number | null;
  /** The metric that value belongs to, as written (`cpu(api)`, `p95(http.duration)`). */
  label: string | undefined;
}

export interface AlertEvaluator {
  /** Checks every alert at `elapsedMs` since the run started; returns what fired or resolved, in the plan's order. */
  check(elapsedMs: number): AlertTransition[];
  /** Marks an alert as the one that stopped the run. */
  aborted(index: number): void;
  outcomes(): AlertOutcome[];
}

interface AlertState {
  alert: PlannedAlert;
  windowMs: number | undefined;
  trueSince: number | undefined;
  firing: boolean;
  fired: number;
  firstFiredMs: number | undefined;
  firstValue: number | null | undefined;
  aborted: boolean;
  query: { label: string; query: AggregateQuery } | undefined;
}

const PROCESS_SHORTHANDS: Record<string, string> = {
  'process.cpu': 'cpu', 'process.rss': 'rss', 'process.heap': 'heap',
};

/** The first metric the condition reads, labelled as people write it. */
function firstQuery(alert: PlannedAlert): AlertState['query'] {
  const ref = alert.expression.metrics[0];
  if (ref === undefined) return undefined;
  const query = queryOf(ref);
  const shorthand = PROCESS_SHORTHANDS[ref.metric];
  const processTag = ref.tags['process'];
  const onlyProcess = processTag !== undefined && Object.keys(ref.tags).length === 1;
  if (ref.fn === 'value' && shorthand !== undefined && onlyProcess) {
    return { label: `${shorthand}(${processTag})`, query };
  }
  return { label: `${functionLabel(ref.fn, ref.percentile)}(${metricLabel(ref.metric, ref.tags)})`, query };
}

export function createAlertEvaluator(alerts: readonly PlannedAlert[], source: MetricSource): AlertEvaluator {
  const scope = { vars: {}, metrics: source };
  const states: AlertState[] = alerts.map((alert) => ({
    alert,
    windowMs: alert.expression.sustainMs,
    trueSince: undefined,
    firing: false,
    fired: 0,
    firstFiredMs: undefined,
    firstValue: undefined,
    aborted: false,
    query: firstQuery(alert),
  }));

  const valueOf = (state: AlertState): number | null => {
    if (state.query === undefined) return null;
    const value = source.aggregate(state.query.query);
    return value === undefined || !Number.isFinite(value) ? null : value;
  };

  return {
    check(elapsedMs) {
      const transitions: AlertTransition[] = [];
      states.forEach((state, index) => {
        const holds = state.alert.expression.test(scope);
        if (!holds) {
          state.trueSince = undefined;
          if (state.firing) {
            state.firing = false;
            transitions.push({ alert: state.alert, index, state: 'resolved', value: valueOf(state),
              label: state.query?.label });
          }
          return;
        }
        state.trueSince ??= elapsedMs;
        if (state.firing || elapsedMs - state.trueSince < (state.windowMs ?? 0)) return;
        state.firing = true;
        state.fired++;
        const value = valueOf(state);
        if (state.firstFiredMs === undefined) {
          state.firstFiredMs = Math.round(elapsedMs);
          state.firstValue = value;
        }
        transitions.push({ alert: state.alert, index, state: 'firing', value, label: state.query?.label });
      });
      return transitions;
    },
    aborted(index) {
      const state = states[index];
      if (state !== undefined) state.aborted = true;
    },
    outcomes() {
      return states.map((s) => ({
        source: s.alert.source,
        level: s.alert.level,
        abort: s.alert.abort,
        ...(s.alert.description === undefined ? {} : { description: s.alert.description }),
        fired: s.fired,
        ...(s.firstFiredMs === undefined ? {} : { firstFiredMs: s.firstFiredMs, value: s.firstValue ?? null }),
        firingAtEnd: s.firing,
        aborted: s.aborted,
      }));
    },
  };
}
