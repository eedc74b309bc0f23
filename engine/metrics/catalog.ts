// The metrics perfy produces, by where they come from. The validator uses this to reject thresholds and
// alerts on metrics that no step or monitor of a scenario produces; docs/metrics.md is the user's copy.

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

export interface MetricInfo {
  name: string;
  type: MetricType;
  description: string;
}

/** A catalog entry. */
export const m = (name: string, type: MetricType, description: string): MetricInfo => ({ name, type, description });

/** Produced by every run that has at least one step. */
export const CORE_METRICS: MetricInfo[] = [
  m('iterations', 'counter', 'Iterations completed.'),
  m('iteration.duration', 'trend', 'Time of one whole iteration of a flow.'),
  m('iterations.dropped', 'counter',
    'Open model: arrivals that could not start because `max_vus` iterations were in flight.'),
  m('iterations.interrupted', 'counter',
    'Iterations cancelled when a ramp down or the end of the run outlasted the graceful-stop window, or the run ' +
      'was stopped.'),
  m('iteration.start_lag', 'trend',
    'Open model: how late iterations started after their intended start (a busy generator shows here).'),
  m('vus', 'gauge', 'Virtual users (iterations in flight).'),
  m('checks', 'rate', 'Share of `expect` checks that passed.'),
  m('step.duration', 'trend', 'Time of one step, whatever its kind (tag `step`).'),
  m('step.errors', 'rate', 'Share of steps that failed (error or failed check).'),
  m('captures.missing', 'counter',
    'Captures that found nothing (undefined or null), tagged `step` and `capture`: the variable is empty for the ' +
      'steps after it.'),
  m('engine.lag', 'trend', 'Event-loop lag of perfy itself: high values mean the load generator is saturated.'),
  m('engine.cpu', 'gauge', 'CPU used by perfy itself.'),
];

export const GROUP_METRICS: MetricInfo[] = [
  m('group.duration', 'trend', 'Time of one pass through a `group` (tag `group`).'),
];



/** Produced by built-in services (collected from them at the end of the run, tag `service`). */
export const SERVICE_METRICS = {
  'github-mock': [
    m('github_mock.requests', 'counter', 'API requests the GitHub mock answered.'),
    m('github_mock.limited', 'counter',
      'Requests the GitHub mock answered as rate-limited, tagged `kind`: primary or secondary.'),
    m('github_mock.blocked', 'counter', 'Requests the GitHub mock refused because their client was blocked for abuse.'),
    m('github_mock.not_modified', 'counter',
      'Conditional requests the GitHub mock answered 304 Not Modified (free of the primary limit).'),
  ],
} as const satisfies Record<string, MetricInfo[]>;

/** Produced by `monitor:` for each watched process (tag `process`). */
export const PROCESS_METRICS: MetricInfo[] = [
  m('process.cpu', 'gauge', 'CPU share of the process (1 = one core).'),
  m('process.rss', 'gauge', 'Resident memory of the process.'),
  m('process.heap', 'gauge', 'JavaScript heap used (perfy itself only).'),
];

/** Every metric perfy itself produces but those of step kinds (each kind declares its own: engine/steps/). */
export function coreMetrics(): MetricInfo[] {
  return [...CORE_METRICS, ...GROUP_METRICS, ...PROCESS_METRICS, ...Object.values(SERVICE_METRICS).flat()];
}
