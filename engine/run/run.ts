// A run: services up, setup, workloads side by side, thresholds watched live, teardown, services down, and a
// Result that says how it went. Everything measured so far is kept whatever stops the run.

import { setMaxListeners } from 'node:events';
import { hostname, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Plan } from '../compile/plan.js';
import { PerfyError, problem, type Problem } from '../errors.js';
import { readFdLimits } from './fd-limit.js';
import {
  redactResult, RESULT_VERSION, type Result, type ResultEvent, type ThresholdOutcome,
} from '../metrics/result.js';
import { completeResult } from '../metrics/summary.js';
import { allMetrics } from '../steps/index.js';
import { createMetricStore, measuredFromMs, taggedStore, WARMUP_TAGS } from '../metrics/store.js';
import { createThresholdEvaluator } from '../metrics/thresholds.js';
import type { MetricStore } from '../metrics/types.js';
import type { MetricSource } from '../expr/index.js';
import { perfyVersion } from '../paths.js';
import { startServices, stopServices } from '../services/index.js';
import type { RunningService } from '../services/types.js';
import { createFeeder, type DataFeeder } from './data.js';
import { Interpreter } from './interpreter.js';
import { sleep } from '../sleep.js';
import { RunExecutors, stepRunners, type RunnersFor } from './executors.js';
import { createRandom } from '../random.js';
import { startWorkload, type WorkloadProgress, type WorkloadRun } from './scheduler.js';
import type { Segment } from '../segment.js';
import { startRunMonitor, type RunMonitor } from './monitoring.js';
import { startSelfMonitor } from './self-monitor.js';
import { startWorkers, type WorkerPool, type WorkerSpec } from './workers.js';

export interface RunOptions {
  /** Where services' output goes. */
  logDir: string;
  /** Where executors keep the files of the run (default: logDir). */
  workDir?: string;
  /** Stopped by Ctrl-C / SIGTERM: the run ends within seconds with what it has. */
  signal?: AbortSignal;
  /** Overrides applied to the plan, recorded in the result. */
  overrides?: string[];
  /** Called about once a second with the live state, for progress output. */
  onProgress?: (progress: RunProgress) => void;
  /** Each firing and resolving of a `monitor:` alert or leak, as it happens. */
  onEvent?: (event: ResultEvent) => void;
  /** Divides the graceful-stop window and the built-in GitHub mock's windows along with the scenario's durations. */
  timeScale?: number;
  /** This process runs one segment of the load: its data sources hand out that segment's rows. */
  segment?: Segment;
  /** Generate the load in worker threads (more than one): each runs an exact share, merged live and at the end. */
  workers?: WorkerSpec;
}

export interface RunProgress {
  elapsedMs: number;
  plannedMs: number;
  workloads: WorkloadProgress[];
  /** Everything measured so far (with worker threads: merged from all of them) */
  store: MetricSource;
}

export interface RunOutcome {
  result: Result;
  /**
   * Problems that stopped the run (a service that did not start, a plugin that did not load); exitForRun reads
   * them.
   */
  problems: Problem[];
}

/** k6's default: iterations get 30 s to finish when the load ends or ramps down. */
const GRACEFUL_STOP_MS = 30_000;
/** After Ctrl-C or an abort, in-flight iterations get this long before they are cancelled. */
const STOP_GRACE_MS = 1_000;
/** Teardown after Ctrl-C gets this long, so the whole stop stays within 5 seconds. */
const INTERRUPTED_TEARDOWN_MS = 2_000;

export async function runPlan(plan: Plan, options: RunOptions): Promise<RunOutcome> {
  const warmupMs = measuredFromMs(plan.workloads);
  const store = createMetricStore({ warmupMs });
  const startedAt = Date.now();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  // Written from timers and signal handlers: an object, so TypeScript does not narrow it away.
  const end: { status: Result['status']; reason: string | undefined } = { status: 'completed', reason: undefined };
  const problems: Problem[] = [];
  const onSignal = (): void => {
    if (stop.signal.aborted) return;
    end.status = 'interrupted';
    end.reason = 'stopped by a signal (Ctrl-C or SIGTERM)';
    stop.abort(new Error(end.reason));
  };
  options.signal?.addEventListener('abort', onSignal, { once: true });
  if (options.signal?.aborted) onSignal();

  let services: RunningService[] = [];
  let runMonitor: RunMonitor | undefined;
  const executors = new RunExecutors(plan, options.segment);
  let workers: WorkerPool | undefined;
  const workerCount = options.workers?.count ?? 1;
  // With worker threads, thresholds and progress read the merge of every thread's metrics.
  const source: MetricSource = {
    aggregate: (query) => (workers ? workers.source.aggregate(query) : store.aggregate(query)),
  };
  const monitor = startSelfMonitor(store, { perThread: workerCount > 1 });
  const thresholds = createThresholdEvaluator(plan.thresholds, source);
  const runStart = performance.now();
  let thresholdTimer: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  const runs: WorkloadRun[] = [];
  const plannedMs = Math.max(0, ...plan.workloads.map((w) => w.startAfterMs + w.timeline.durationMs));

  try {
    // Executors and plugins first: a step perfy cannot run fails the run before any service starts.
    await executors.prepare();
    // Worker threads start loading while services start and setup runs; their load waits for `start`.
    if (options.workers !== undefined && workerCount > 1) {
      workers = startWorkers(options.workers, store, () => Date.now() - startedAt, warmupMs);
    }

    services = await startServices(plan.services, {
      scenarioDir: join(plan.file, '..'), logDir: options.logDir, signal: stop.signal, timeScale: options.timeScale,
    });
    runMonitor = startRunMonitor(plan, services, {
      store,
      source,
      runStart,
      onProblem: (p) => problems.push(p),
      onEvent: options.onEvent,
      onAbort: (reason) => {
        if (stop.signal.aborted) return;
        end.status = 'aborted';
        end.reason = reason;
        stop.abort(new Error(reason));
      },
    });
    const baseVars = await baseVariables(plan, services);
    const runnersFor = stepRunners(plan, store, baseVars, executors, options.workDir ?? options.logDir);

    // Setup: once, before any load; its captures join every iteration's variables.
    if (plan.setup.length > 0) {
      // Setup and teardown take no data rows: those belong to the load's iterations.
      const setup = new Interpreter({
        plan,
        store,
        workload: 'setup',
        ...(await runnersFor(plan.setup, 'setup')),
        feeders: new Map(),
        baseVars,
        correctForLag: false,
      });
      const user = setup.createUser(0, createRandom(plan.seed), stop.signal);
      await setup.iteration(user, plan.setup, stop.signal);
      for (const [name, value] of Object.entries(user.vars)) {
        if (!(name in baseVars) && name !== 'vu' && name !== 'iteration' && name !== 'workload') baseVars[name] = value;
      }
    }

    thresholdTimer = setInterval(() => {
      const verdict = thresholds.check(performance.now() - runStart);
      if (verdict.abort && !stop.signal.aborted) {
        end.status = 'aborted';
        end.reason = `threshold failed: ${verdict.abort.threshold.source}`;
        stop.abort(new Error(end.reason));
      }
    }, 1000);
    if (options.onProgress) {
      const report = options.onProgress;
      progressTimer = setInterval(() => report({
        elapsedMs: performance.now() - runStart,
        plannedMs,
        workloads: workers ? workers.progress() : runs.map((r) => r.progress()),
        store: source,
      }), 1000);
    }

    if (workers) {
      const problem = await workers.run(baseVars, stop.signal);
      if (problem !== undefined) throw new PerfyError(problem);
    } else {
      const feeders = new Map<string, DataFeeder>(
        Object.entries(plan.data).map(([name, data]) => [name, createFeeder(data, options.segment)]),
      );
      await driveWorkloads(plan, {
        store,
        runnersFor,
        feeders,
        baseVars,
        signal: stop.signal,
        timeScale: options.timeScale,
        segment: options.segment,
        runs,
      });
    }

    // Teardown: once, even after an abort; briefly after Ctrl-C.
    if (plan.teardown.length > 0) {
      const teardownSignal =
        end.status === 'interrupted' ? AbortSignal.timeout(INTERRUPTED_TEARDOWN_MS) : new AbortController().signal;
      const teardown = new Interpreter({
        plan,
        store,
        workload: 'teardown',
        ...(await runnersFor(plan.teardown, 'teardown')),
        feeders: new Map(),
        baseVars,
        correctForLag: false,
      });
      await teardown.iteration(
        teardown.createUser(0, createRandom(plan.seed), teardownSignal),
        plan.teardown,
        teardownSignal,
      );
    }
  } catch (error) {
    if (!(error instanceof PerfyError)) throw error;
    problems.push(...error.problems);
    if (end.status === 'completed') {
      end.status = 'failed';
      end.reason = error.problems[0]!.message;
    }
  } finally {
    if (thresholdTimer) clearInterval(thresholdTimer);
    if (progressTimer) clearInterval(progressTimer);
    options.signal?.removeEventListener('abort', onSignal);
    await executors.close();
    await workers?.terminate();
    await runMonitor?.stop();
    await collectServiceMetrics(services, store);
    await stopServices(services);
  }

  const metrics = workers ? workers.merged() : store.snapshot();
  const saturation = workers ? workers.saturation(monitor.stop()) : monitor.stop();
  // Connects that failed for want of a file descriptor never reached the target: the load was not what the plan
  // said, so the run fails as a generator problem rather than reporting perfy's limit as the target's errors.
  const outOfFds = metrics.metrics
    .filter((m) => m.type === 'counter' && m.tags['status'] === 'emfile')
    .reduce((n, m) => n + m.sum, 0);
  if (outOfFds > 0) {
    const limits = readFdLimits();
    const hint =
      `raise the open-file limit before running perfy (\`ulimit -n ${Math.max(65536, (limits?.soft ?? 0) * 4)}\`, ` +
        'or LimitNOFILE= for a service), or lower defaults.connections';
    saturation.saturated = true;
    saturation.note =
      `perfy ran out of file descriptors: ${outOfFds.toLocaleString('en-US')} requests failed with EMFILE before ` +
        `reaching the target (open-file limit ${limits?.soft ?? 'unknown'}); ${hint}`;
    problems.push(
      problem(
        'E_FD_LIMIT',
        `${outOfFds.toLocaleString('en-US')} requests could not open a connection: ` +
          `perfy ran out of file descriptors (limit ${limits?.soft ?? 'unknown'})`,
        hint,
      ),
    );
    if (end.status === 'completed') {
      end.status = 'failed';
      end.reason = 'perfy ran out of file descriptors (EMFILE): the load was not what the scenario planned';
    }
  }
  const outcomes: ThresholdOutcome[] = thresholds.final(performance.now() - runStart);
  const monitorOutcome = runMonitor?.outcome();
  if (end.status === 'aborted') {
    for (const o of outcomes) if (end.reason === `threshold failed: ${o.source}`) o.aborted = true;
  }
  const result = completeResult({
    version: RESULT_VERSION,
    scenario: { name: plan.name, description: plan.description, file: plan.file },
    startedAt,
    endedAt: Date.now(),
    status: end.status,
    reason: end.reason,
    environment: {
      perfy: perfyVersion(),
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpus().length,
      hostname: hostname(),
      workers: workerCount,
    },
    overrides: options.overrides ?? [],
    workloads: plan.workloads.map((w) => ({
      name: w.name,
      model: w.timeline.model,
      startAfterMs: w.startAfterMs,
      durationMs: w.timeline.durationMs,
      plannedIterations: w.timeline.plannedIterations,
      ...(w.warmupMs > 0 ? { warmupMs: w.warmupMs } : {}),
      ...(w.timeline.model === 'open' ? { arrivals: w.timeline.arrivals } : {}),
      stages: w.timeline.spans.map(({ kind, startMs, endMs, from, to, iterations }) => {
        const stage = { kind, startMs, endMs, from, to };
        return iterations === undefined ? stage : { ...stage, iterations };
      }),
    })),
    metrics,
    thresholds: outcomes,
    ...(monitorOutcome === undefined ? {} : { monitor: monitorOutcome }),
    saturation,
  }, [...allMetrics(), ...plan.plugins.flatMap((kind) => kind.metrics)]);
  // A segment says so, so that `perfy merge` can tell a whole set from a duplicate or a missing one.
  const segment = options.segment;
  if (segment !== undefined && segment.count > 1) result.segment = { index: segment.index, count: segment.count };
  return { result: redactResult(result, plan.secrets), problems };
}

/** What every iteration starts from: services, scenario name, the rendered target. */
async function baseVariables(plan: Plan, services: RunningService[]): Promise<Record<string, unknown>> {
  const vars: Record<string, unknown> = {
    scenario: plan.name,
    services: Object.fromEntries(services.map((s) => [s.name, { url: s.url, host: s.host, port: s.port }])),
  };
  if (plan.target) vars['target'] = plan.target.render(vars).replace(/\/+$/, '');
  return vars;
}

/**
 * The counts services keep of themselves (the GitHub mock's requests, limits and blocks), read once the load
 * and teardown are over, before thresholds are judged. A service that does not answer adds nothing.
 */
async function collectServiceMetrics(services: RunningService[], store: MetricStore): Promise<void> {
  await Promise.all(services.map(async (service) => {
    if (service.collect === undefined) return;
    const values = await service.collect().catch(() => []);
    for (const v of values) store.handle(v.name, v.type, v.tags).record(v.value);
  }));
}

export interface DriveOptions {
  store: MetricStore;
  runnersFor: RunnersFor;
  feeders: Map<string, DataFeeder>;
  baseVars: Record<string, unknown>;
  signal: AbortSignal;
  timeScale: number | undefined;
  segment: Segment | undefined;
  /** Each workload's run is added here as it starts (progress reads them). */
  runs: WorkloadRun[];
}

/** Runs every workload of the plan side by side (each after its start_after) until all are done. */
export async function driveWorkloads(plan: Plan, options: DriveOptions): Promise<void> {
  const { store, signal } = options;
  const graceful = GRACEFUL_STOP_MS / (options.timeScale ?? 1);
  await Promise.all(plan.workloads.map(async (workload, index) => {
    if (workload.startAfterMs > 0 && !(await sleep(workload.startAfterMs, signal))) return;
    const interpreterFor = async (into: MetricStore): Promise<Interpreter> => new Interpreter({
      plan,
      store: into,
      workload: workload.name,
      ...(await options.runnersFor(workload.flow, workload.name, into)),
      feeders: options.feeders,
      baseVars: options.baseVars,
      correctForLag: workload.timeline.model === 'open',
    });
    // The warm-up's iterations run the same flow through runners of their own that tag every sample `phase: warmup`;
    // connections and pools are the executors', shared, so what warmed up stays warm.
    const warmup = workload.warmupMs > 0
      ? { interpreter: await interpreterFor(taggedStore(store, WARMUP_TAGS)), untilMs: workload.warmupMs }
      : undefined;
    const run = startWorkload({
      workload,
      workloadIndex: index,
      interpreter: await interpreterFor(store),
      warmup,
      store,
      seed: plan.seed + index,
      signal,
      gracefulStopMs: graceful,
      stopGraceMs: STOP_GRACE_MS,
      segment: options.segment,
    });
    options.runs.push(run);
    await run.done;
  }));
}
