// The metrics perfy produces, by where they come from. The validator uses this to reject thresholds and
// alerts on metrics that no step or monitor of a scenario produces; docs/metrics.md is the user's copy.

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

export interface MetricInfo {
  name: string;
  type: MetricType;
  description: string;
}

const m = (name: string, type: MetricType, description: string): MetricInfo => ({ name, type, description });

/** Produced by every run that has at least one step. */
export const CORE_METRICS: MetricInfo[] = [
  m('iterations', 'counter', 'Iterations completed.'),
  m('iteration.duration', 'trend', 'Time of one whole iteration of a flow.'),
  m('iterations.dropped', 'counter', 'Open model: arrivals that could not start because `max_vus` iterations were in flight.'),
  m('iterations.interrupted', 'counter', 'Iterations cancelled when a ramp down or the end of the run outlasted the graceful-stop window, or the run was stopped.'),
  m('iteration.start_lag', 'trend', 'Open model: how late iterations started after their intended start (a busy generator shows here).'),
  m('vus', 'gauge', 'Virtual users (iterations in flight).'),
  m('checks', 'rate', 'Share of `expect` checks that passed.'),
  m('step.duration', 'trend', 'Time of one step, whatever its kind (tag `step`).'),
  m('step.errors', 'rate', 'Share of steps that failed (error or failed check).'),
  m('captures.missing', 'counter', 'Captures that found nothing (undefined or null), tagged `step` and `capture`: the variable is empty for the steps after it.'),
  m('engine.lag', 'trend', 'Event-loop lag of perfy itself: high values mean the load generator is saturated.'),
  m('engine.cpu', 'gauge', 'CPU used by perfy itself.'),
];

export const GROUP_METRICS: MetricInfo[] = [m('group.duration', 'trend', 'Time of one pass through a `group` (tag `group`).')];

/** Produced by steps of each kind. */
export const STEP_METRICS = {
  http: [
    m('http.duration', 'trend', 'Total time of an HTTP request from the moment it is sent, body included.'),
    m('http.duration_corrected', 'trend', 'Open model: HTTP time from when the virtual user meant to send (iteration start lag and waiting for a free connection included): corrected for coordinated omission.'),
    m('http.connect', 'trend', 'Time to open the TCP connection (0 on a reused connection).'),
    m('http.ttfb', 'trend', 'Time to the first byte of the response.'),
    m('http.reqs', 'counter', 'HTTP requests sent: written to a connection, whatever came back (a request sent again after a reset counts twice, as the server may have seen it twice).'),
    m('http.unsent', 'counter', 'HTTP requests that failed before a byte of them was sent, tagged `status` with the error class: refused, dns, tls, timeout (no connection in time), emfile.'),
    m('http.retries', 'counter', 'HTTP requests sent again on a new connection after their kept-alive connection closed before any byte of the response (`defaults.resend_on_reset`), tagged `status` with how it closed (reset).'),
    m('http.errors', 'rate', 'Share of HTTP requests that failed (network error, timeout or status >= 400), those never sent included.'),
    m('http.bytes_in', 'counter', 'Bytes received.'),
    m('http.bytes_out', 'counter', 'Bytes sent.'),
  ],
  sql: [
    m('sql.duration', 'trend', 'Time of one SQL statement, from sending it to its last row (the wait for a connection excluded).'),
    m('sql.pool_wait', 'trend', 'Time waiting for a connection from the pool (connecting included when the pool opens one).'),
    m('sql.queries', 'counter', 'Statements run.'),
    m('sql.errors', 'rate', 'Share of statements that failed.'),
    m('sql.rows', 'counter', 'Rows returned or affected.'),
    m('sql.transactions', 'counter', 'Transactions ended, tagged `status`: committed or failed (after any retries).'),
    m('sql.transaction.duration', 'trend', 'From the first BEGIN to the COMMIT of a committed transaction, retries included.'),
    m('sql.retries', 'counter', 'Transactions run again after a deadlock or serialization failure.'),
    m('sql.deadlocks', 'counter', 'Transaction attempts the server failed to break a deadlock (SQLSTATE 40P01).'),
    m('sql.pool.size', 'gauge', 'Connections a pool holds open (tag `db`: the service name, or HOST:PORT/DB of a URL).'),
    m('sql.pool.idle', 'gauge', 'Connections of a pool not in use.'),
    m('sql.pool.waiting', 'gauge', 'Steps and transactions waiting for a connection of a pool.'),
    m('sql.plan.cost', 'gauge', 'An explained step (`explain:`): the planner\'s total cost of its statement.'),
    m('sql.plan.index', 'gauge', 'An explained step: 1 when its plan uses an index, 0 when it does not.'),
    m('sql.plan.time', 'trend', 'A step explained with `analyze`: the statement\'s execution time in the server.'),
  ],
  github: [
    m('github.requests', 'counter', 'GitHub API requests sent, tagged `status` (retries after a rate limit included). Their timings are the http.* metrics of the step.'),
    m('github.rate_limited', 'counter', 'Answers that were a rate limit, tagged `kind`: `primary` (the hourly quota) or `secondary` (concurrency, points, content creation, abuse).'),
    m('github.wait', 'trend', 'Time one github step spent waiting for the rate limits: a reset, a `retry-after`, a free slot, the spacing of writes (0 when it did not wait).'),
    m('github.remaining', 'gauge', 'Requests left in the current window, as the last answer said (tag `resource`: core, search, …).'),
  ],
  jmeter: [
    m('jmeter.duration', 'trend', 'Elapsed time of one JMeter sample (JMeter\'s `elapsed`), tagged `label` (the sampler\'s name) and `code` (the response code, or an error class for a non-HTTP one).'),
    m('jmeter.latency', 'trend', 'Time to the first byte of one JMeter sample (JMeter\'s `Latency`).'),
    m('jmeter.connect', 'trend', 'Time to connect of one JMeter sample (JMeter\'s `Connect`).'),
    m('jmeter.samples', 'counter', 'JMeter samples, tagged `label` and `code`.'),
    m('jmeter.errors', 'rate', 'Share of JMeter samples that failed (JMeter\'s `success` false: an error status, a connection error or a failed assertion).'),
    m('jmeter.bytes_in', 'counter', 'Bytes JMeter received.'),
    m('jmeter.bytes_out', 'counter', 'Bytes JMeter sent (JMeter 5 and newer).'),
  ],
} as const satisfies Record<string, MetricInfo[]>;

export type StepKind = keyof typeof STEP_METRICS | 'plugin';

/** Produced by built-in services (collected from them at the end of the run, tag `service`). */
export const SERVICE_METRICS = {
  'github-mock': [
    m('github_mock.requests', 'counter', 'API requests the GitHub mock answered.'),
    m('github_mock.limited', 'counter', 'Requests the GitHub mock answered as rate-limited, tagged `kind`: primary or secondary.'),
    m('github_mock.blocked', 'counter', 'Requests the GitHub mock refused because their client was blocked for abuse.'),
    m('github_mock.not_modified', 'counter', 'Conditional requests the GitHub mock answered 304 Not Modified (free of the primary limit).'),
  ],
} as const satisfies Record<string, MetricInfo[]>;

/** Produced by `monitor:` for each watched process (tag `process`). */
export const PROCESS_METRICS: MetricInfo[] = [
  m('process.cpu', 'gauge', 'CPU share of the process (1 = one core).'),
  m('process.rss', 'gauge', 'Resident memory of the process.'),
  m('process.heap', 'gauge', 'JavaScript heap used (perfy itself only).'),
];

/** Every metric perfy itself produces. */
export function allMetrics(): MetricInfo[] {
  return [...CORE_METRICS, ...GROUP_METRICS, ...PROCESS_METRICS, ...Object.values(STEP_METRICS).flat(), ...Object.values(SERVICE_METRICS).flat()];
}
