// Worker threads: `perfy run --workers N` generates the load in N threads of one process, each running segment
// w of N (an exact share of every rate, user count and data file; engine/run/segment.ts). The main thread keeps
// what happens once per run — services, setup, teardown — and judges thresholds and shows progress on the merge
// of every thread's metrics, refreshed from the snapshots the workers send once a second. At the end the
// workers' final snapshots merge (histograms and counters add exactly) into the one Result.
//
// Each worker compiles the scenario itself from the same file, environment, --set values and overrides: a
// compiled plan holds functions (templates, expressions) that cannot be sent to a thread, and compiling is
// deterministic, so every thread runs the same plan.

import { Worker } from 'node:worker_threads';
import type { Plan } from '../compile/plan.js';
import type { AggregateQuery, MetricSource } from '../expr/index.js';
import { problem, type Problem } from '../errors.js';
import { mergeResultMetrics, storeFromSnapshot } from '../metrics/store.js';
import type { MetricStore, ResultMetrics } from '../metrics/types.js';
import type { Overrides } from './overrides.js';
import type { WorkloadProgress } from './scheduler.js';
import type { Segment } from '../segment.js';
import type { Saturation } from './self-monitor.js';

/** What a worker needs to compile the same plan as the main thread. */
export interface WorkerSpec {
  count: number;
  /** The scenario file, absolute. */
  file: string;
  /** The environment `${env.NAME}` placeholders read (process.env with --env applied). */
  env: Record<string, string | undefined>;
  /** --set values, in order. */
  sets: string[];
  /** --max-scenario-size (or PERFY_MAX_SCENARIO_SIZE) of the run, so a worker reads the file the main thread read. */
  maxScenarioBytes?: number;
  /** The run's overrides; `segment` (when the run itself is one segment) is divided further among the workers. */
  overrides: Overrides;
  /** Where executors keep the files of the run (as RunOptions.workDir). */
  workDir?: string;
}

export interface WorkerData {
  spec: WorkerSpec;
  segment: Segment;
}

/** Messages from a worker. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; workloads: WorkloadProgress[]; metrics: ResultMetrics }
  | { type: 'done'; workloads: WorkloadProgress[]; metrics: ResultMetrics; saturation: Saturation }
  | { type: 'failed'; problems: Problem[] };

/** Messages to a worker. */
export type ToWorker =
  | { type: 'start'; baseVars: Record<string, unknown> }
  | { type: 'stop'; reason: string };

export interface WorkerPool {
  /** Live view of every thread's metrics merged with the main thread's own (setup, teardown, engine.*). */
  readonly source: MetricSource;
  /** Each workload's progress summed over the workers (their latest report). */
  progress(): WorkloadProgress[];
  /** Starts the load in every worker once all are ready; resolves when all have finished (or one failed). */
  run(baseVars: Record<string, unknown>, signal: AbortSignal): Promise<Problem | undefined>;
  /** The final metrics: the main thread's merged with every worker's last snapshot. */
  merged(): ResultMetrics;
  /** The run's saturation: the main thread's and every worker's; saturated when any thread was. */
  saturation(main: Saturation): Saturation;
  /** Ends any worker still running (after a failure elsewhere); resolves when all threads have exited. */
  terminate(): Promise<void>;
}

/**
 * `--workers auto` (the default) uses one worker per core when the scenario's peak load needs more than one
 * thread, else the main thread alone (a worker costs about 0.3 s of start-up and 40 MB). The bar is set well
 * below what one thread sustains against a fast local server (about 10,000 requests/s, docs/performance.md):
 * real services answer slower, hold more requests in flight, and cost more per request.
 */
export const AUTO_WORKERS_RATE = 5_000;
export const AUTO_WORKERS_USERS = 500;

export function autoWorkers(plan: Plan, cores: number): number {
  let rate = 0;
  let users = 0;
  for (const w of plan.workloads) {
    const t = w.timeline;
    if (t.model === 'closed') {
      users += t.maxUsers;
    } else {
      rate += Math.max(
        0,
        ...t.spans.map((s) => (
          s.kind === 'burst'
            ? (s.endMs > s.startMs ? ((s.iterations ?? 0) * 1000) / (s.endMs - s.startMs) : 0)
            : Math.max(s.from, s.to)
        )),
      );
    }
  }
  return rate >= AUTO_WORKERS_RATE || users >= AUTO_WORKERS_USERS ? Math.max(1, cores) : 1;
}

/** The live merged view is rebuilt at most this often (progress and thresholds each read it once a second). */
const REFRESH_MS = 250;
/** A worker that does not exit this long after it reported its end is terminated. */
const EXIT_GRACE_MS = 2_000;

/** Segment w of the run's workers within the run's own segment (i of M): k ≡ i (mod M), ⌊k/M⌋ ≡ w (mod N). */
export function workerSegment(run: Segment | undefined, worker: number, workers: number): Segment {
  const outer = run ?? { index: 0, count: 1 };
  return { index: outer.index + outer.count * worker, count: outer.count * workers };
}

interface Slot {
  worker: Worker;
  ready: boolean;
  done: boolean;
  exited: Promise<void>;
  workloads: WorkloadProgress[];
  metrics: ResultMetrics | undefined;
  saturation: Saturation | undefined;
}

export function startWorkers(
  spec: WorkerSpec, mainStore: MetricStore, elapsedMs: () => number, warmupMs = 0,
): WorkerPool {
  const slots: Slot[] = [];
  let onChange: () => void = () => {};
  let failure: Problem | undefined;
  let cached: MetricSource | undefined;
  let cachedAt = -Infinity;

  const fail = (p: Problem): void => {
    failure ??= p;
    onChange();
  };

  for (let w = 0; w < spec.count; w++) {
    const data: WorkerData = { spec, segment: workerSegment(spec.overrides.segment, w, spec.count) };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
    const slot: Slot = {
      worker, ready: false, done: false, workloads: [], metrics: undefined, saturation: undefined,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          slot.ready = true;
          break;
        case 'progress':
          slot.workloads = message.workloads;
          slot.metrics = message.metrics;
          cachedAt = -Infinity;
          break;
        case 'done':
          slot.workloads = message.workloads;
          slot.metrics = message.metrics;
          slot.saturation = message.saturation;
          slot.done = true;
          cachedAt = -Infinity;
          break;
        case 'failed':
          slot.done = true;
          fail(message.problems[0] ?? problem('E_INTERNAL', `worker ${w} failed`, 'run again with PERFY_DEBUG=1'));
          return;
      }
      onChange();
    });
    worker.on('error', (error) => {
      slot.done = true;
      fail(
        problem(
          'E_INTERNAL',
          `worker thread ${w} failed: ${error.message}`,
          'this is a bug in perfy: run again with PERFY_DEBUG=1 and report the output',
        ),
      );
    });
    worker.on('exit', () => {
      if (!slot.done) {
        slot.done = true;
        fail(
          problem(
            'E_INTERNAL',
            `worker thread ${w} exited before it finished its share of the load`,
            'this is a bug in perfy: run again with PERFY_DEBUG=1 and report the output',
          ),
        );
      }
    });
    slots.push(slot);
  }

  const merged = (): ResultMetrics =>
    slots.reduce((all, s) => (s.metrics ? mergeResultMetrics(all, s.metrics) : all), mainStore.snapshot());
  const live = (): MetricSource => {
    const now = performance.now();
    // Once every worker is done, what the main thread still records (teardown, the services' own counts) must
    // reach the final thresholds: no cache then.
    if (cached === undefined || now - cachedAt > REFRESH_MS || slots.every((s) => s.done)) {
      cached = storeFromSnapshot(merged(), { elapsedMs: elapsedMs(), warmupMs });
      cachedAt = now;
    }
    return cached;
  };
  const post = (message: ToWorker): void => {
    for (const s of slots) if (!s.done) s.worker.postMessage(message);
  };

  return {
    source: { aggregate: (query: AggregateQuery) => live().aggregate(query) },

    progress() {
      const byName = new Map<string, WorkloadProgress>();
      for (const s of slots) {
        for (const p of s.workloads) {
          const seen = byName.get(p.name);
          byName.set(p.name, seen === undefined ? { ...p } : {
            ...seen,
            elapsedMs: Math.max(seen.elapsedMs, p.elapsedMs),
            durationMs: Math.max(seen.durationMs, p.durationMs),
            target: seen.target + p.target,
            active: seen.active + p.active,
            started: seen.started + p.started,
            dropped: seen.dropped + p.dropped,
          });
        }
      }
      return [...byName.values()];
    },

    async run(baseVars, signal) {
      const settled = (): boolean => failure !== undefined || slots.every((s) => s.done);
      await new Promise<void>((resolve) => {
        onChange = () => {
          if (failure !== undefined || slots.every((s) => s.ready || s.done)) resolve();
        };
        onChange();
      });
      if (failure === undefined) post({ type: 'start', baseVars });
      const onAbort = (): void =>
        post({ type: 'stop', reason: String((signal.reason as Error | undefined)?.message ?? 'stopped') });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      await new Promise<void>((resolve) => {
        onChange = () => {
          if (settled()) resolve();
        };
        onChange();
      });
      signal.removeEventListener('abort', onAbort);
      // A failed worker stops the others; what they measured until then is kept.
      if (failure !== undefined) {
        post({ type: 'stop', reason: failure.message });
        await new Promise<void>((resolve) => {
          onChange = () => {
            if (slots.every((s) => s.done)) resolve();
          };
          onChange();
        });
      }
      onChange = () => {};
      cachedAt = -Infinity;
      return failure;
    },

    merged() {
      const all = merged();
      cached = storeFromSnapshot(all, { elapsedMs: elapsedMs(), warmupMs });
      cachedAt = Infinity; // the final view: no more refreshes
      return all;
    },

    saturation(main) {
      const all = [main, ...slots.flatMap((s) => (s.saturation ? [s.saturation] : []))];
      return {
        saturated: all.some((s) => s.saturated),
        eventLoopLagP99Ms: Math.max(...all.map((s) => s.eventLoopLagP99Ms)),
        // The process's CPU (every thread) as the main thread measured it.
        cpu: main.cpu,
        note: all.find((s) => s.note !== undefined)?.note,
      };
    },

    async terminate() {
      await Promise.all(slots.map(async (s) => {
        let timer: NodeJS.Timeout | undefined;
        const exited = await Promise.race([
          s.exited.then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(resolve, s.done ? EXIT_GRACE_MS : 0, false);
          }),
        ]);
        clearTimeout(timer);
        if (!exited) {
          s.done = true;
          await s.worker.terminate();
        }
      }));
    },
  };
}
