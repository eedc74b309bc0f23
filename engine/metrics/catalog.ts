// The metrics perfy produces, by where they come from. The validator uses this to reject thresholds and
// alerts on metrics that no step or monitor of a scenario produces; docs/metrics.md is the user's copy.

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

export interface MetricInfo {
  name: string;
  type: MetricType;
  description: string;
  /** How the end-of-run summary shows it, beyond its place in the catalog (its rank in the latency table). */
  summary?: MetricSummary;
  /**
   * A gauge or counter of bytes (per second for io_*): reports show it as a size; `bytes/min` as a size per minute
   * (memory growth). Trends are milliseconds.
   */
  unit?: 'bytes' | 'bytes/min';
}

/**
 * The end-of-run summary shows every trend in its latency table, the step kinds' first, each in catalog order;
 * what else a metric needs is said here, by the kind or the core that produces it, not by the console.
 */
export interface MetricSummary {
  /** A trend's rows split by this tag, one row per value (step.duration by step, jmeter.duration by label). */
  by?: string;
  /** false: only the split rows (a step.duration over every kind of step would say nothing). */
  overall?: boolean;
  /** A counter shown under the table as a total and a rate per second, as a count or as bytes. */
  total?: 'count' | 'bytes';
  /** A line under the table for a row whose name does not say what it means. */
  note?: string;
  /** A trend whose rows equal this metric's rows (every cell as shown) says nothing new: they are left out. */
  sameAs?: string;
  /** Why they are equal, said when they are left out. */
  sameAsMeans?: string;
  /** A trend that is 0 throughout is left out, and this says what that means. */
  zeroMeans?: string;
}

/** A catalog entry. */
export const m = (name: string, type: MetricType, description: string, summary?: MetricSummary): MetricInfo =>
  (summary === undefined ? { name, type, description } : { name, type, description, summary });

/** Produced by every run that has at least one step. */
export const CORE_METRICS: MetricInfo[] = [
  m('iterations', 'counter', 'Iterations completed.', { total: 'count' }),
  m('iteration.duration', 'trend', 'Time of one whole iteration of a flow.'),
  m('iterations.dropped', 'counter',
    'Open model: arrivals that could not start because `max_vus` iterations were in flight.'),
  m('iterations.interrupted', 'counter',
    'Iterations cancelled when a ramp down or the end of the run outlasted the graceful-stop window, or the run ' +
      'was stopped.'),
  m('iteration.start_lag', 'trend',
    'Open model: how late iterations started after their intended start (a busy generator shows here).', {
      note: 'how late iterations started after their planned time (a busy generator, or max_vus reached)',
    }),
  m('vus', 'gauge', 'Virtual users (iterations in flight).'),
  m('checks', 'rate', 'Share of `expect` checks that passed.'),
  m('step.duration', 'trend', 'Time of one step, whatever its kind (tag `step`).', { by: 'step', overall: false }),
  m('step.errors', 'rate', 'Share of steps that failed (error or failed check).'),
  m('captures.missing', 'counter',
    'Captures that found nothing (undefined or null), tagged `step` and `capture`: the variable is empty for the ' +
      'steps after it.'),
  m('engine.lag', 'trend', 'Event-loop lag of perfy itself: high values mean the load generator is saturated.', {
    note: 'perfy\'s own event-loop delay: high values mean the generator, not the target, was slow',
  }),
  m('engine.cpu', 'gauge', 'CPU used by perfy itself.'),
];

export const GROUP_METRICS: MetricInfo[] = [
  m('group.duration', 'trend', 'Time of one pass through a `group` (tag `group`).', { by: 'group', overall: false }),
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
  m('process.cpu', 'gauge', 'CPU share of the process and its children since the previous sample (1 = one core).'),
  { ...m('process.rss', 'gauge', 'Resident memory of the process and its children, in bytes.'), unit: 'bytes' },
  { ...m('process.heap', 'gauge', 'JavaScript heap used, in bytes (perfy itself only).'), unit: 'bytes' },
  {
    ...m('process.io_read', 'gauge',
      'Bytes per second the process and its children read (files, pipes, sockets: Linux).'),
    unit: 'bytes',
  },
  { ...m('process.io_write', 'gauge', 'Bytes per second the process and its children wrote (Linux).'), unit: 'bytes' },
  {
    ...m('process.rss.growth', 'gauge',
      'Sustained growth of resident memory over `monitor.leak.window`, in bytes per minute (processes it judges).'),
    unit: 'bytes/min',
  },
  m('process.fds', 'gauge', 'Open file descriptors of the process and its children (Linux).'),
  m('process.threads', 'gauge', 'Threads of the process and its children (Linux).'),
];

/** Produced by `monitor:` for the machine perfy runs on, untagged. */
export const HOST_METRICS: MetricInfo[] = [
  m('host.cpu', 'gauge', 'Busy share of all the machine\'s cores since the previous sample (0 to 1).'),
  { ...m('host.memory', 'gauge', 'Memory in use on the machine, in bytes (total less available).'), unit: 'bytes' },
  m('host.load', 'gauge', 'The machine\'s 1-minute load average (Linux and macOS).'),
];

/** Every metric perfy itself produces but those of step kinds (each kind declares its own: engine/steps/). */
export function coreMetrics(): MetricInfo[] {
  return [
    ...CORE_METRICS, ...GROUP_METRICS, ...PROCESS_METRICS, ...HOST_METRICS, ...Object.values(SERVICE_METRICS).flat(),
  ];
}
