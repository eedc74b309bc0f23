// The scheduler: turns a workload's timeline into iterations. Open model: each arrival starts an iteration at
// its intended time (one timer at a time, releasing every arrival that is due, so tens of thousands per second
// need no timer each); arrivals beyond max_vus are counted as dropped. Closed model: a controller keeps the
// number of looping virtual users at the timeline's target, ramping down gracefully.

import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { PlannedWorkload } from '../compile/plan.js';
import type { ClosedTimeline, OpenTimeline } from '../compile/timeline.js';
import type { MetricHandle, MetricStore } from '../metrics/types.js';
import type { Interpreter, VirtualUser } from './interpreter.js';
import { taggedStore, WARMUP_TAGS } from '../metrics/store.js';
import { createRandom, deriveSeed } from '../random.js';
import { macrotaskEpoch, nextMacrotask } from './macrotask.js';
import type { Segment } from '../segment.js';

export interface WorkloadProgress {
  name: string;
  model: 'open' | 'closed';
  /** ms since the workload started (negative before its start_after) */
  elapsedMs: number;
  durationMs: number;
  /** target arrival rate (/s) or target users now */
  target: number;
  active: number;
  started: number;
  dropped: number;
}

export interface WorkloadRun {
  done: Promise<void>;
  progress(): WorkloadProgress;
}

export interface SchedulerOptions {
  workload: PlannedWorkload;
  workloadIndex: number;
  interpreter: Interpreter;
  /**
   * Iterations that start before `untilMs` into the workload run through this interpreter (its samples: phase
   * warmup).
   */
  warmup?: { interpreter: Interpreter; untilMs: number };
  store: MetricStore;
  seed: number;
  /** Stops starting iterations and, after `stopGraceMs`, cancels those in flight. */
  signal: AbortSignal;
  /** How long running iterations may take to finish when the load ends or ramps down (default 30 s). */
  gracefulStopMs: number;
  /** How long running iterations may take to finish after `signal` fires (Ctrl-C, abort). */
  stopGraceMs: number;
  /** This process or worker runs one segment: its virtual users get the ids they have in the whole run. */
  segment?: Segment;
}

/**
 * The run-wide id of a segment's n-th user (1-based): segment i of N numbers its users i+1, i+1+N, … so ids
 * (and the random streams seeded from them) never repeat across segments, and one segment alone keeps 1, 2, 3.
 */
export function vuId(n: number, segment: Segment | undefined): number {
  return segment === undefined ? n : (n - 1) * segment.count + segment.index + 1;
}

export function startWorkload(options: SchedulerOptions): WorkloadRun {
  return options.workload.timeline.model === 'open'
    ? runOpen(options, options.workload.timeline)
    : runClosed(options, options.workload.timeline);
}

/** What the scheduler records about iterations, in one phase (the measured load, or its warm-up). */
class PhaseHandles {
  readonly interrupted: MetricHandle;
  readonly dropped: MetricHandle;
  readonly startLag: MetricHandle;
  constructor(store: MetricStore, workload: string) {
    const tags = { workload };
    this.interrupted = store.handle('iterations.interrupted', 'counter', tags);
    this.dropped = store.handle('iterations.dropped', 'counter', tags);
    this.startLag = store.handle('iteration.start_lag', 'trend', tags);
    // Zero samples make `count(iterations.dropped) == 0` a measured 0, not "no samples".
    this.interrupted.record(0);
    this.dropped.record(0);
  }
}

interface Phase {
  interpreter: Interpreter;
  handles: PhaseHandles;
}

/** Counters shared by both models, and the phases an iteration can start in (made once: read per iteration). */
class Tally {
  active = 0;
  started = 0;
  dropped = 0;
  readonly vus: MetricHandle;
  private readonly measured: Phase;
  private readonly warmup: (Phase & { untilMs: number }) | undefined;
  constructor(options: SchedulerOptions) {
    const { store, workload } = options;
    this.vus = store.handle('vus', 'gauge', { workload: workload.name });
    this.measured = { interpreter: options.interpreter, handles: new PhaseHandles(store, workload.name) };
    const warmup = options.warmup;
    this.warmup = warmup === undefined ? undefined : {
      interpreter: warmup.interpreter,
      handles: new PhaseHandles(taggedStore(store, WARMUP_TAGS), workload.name),
      untilMs: warmup.untilMs,
    };
  }

  /** The phase of an iteration that starts `atMs` into the workload. */
  phaseAt(atMs: number): Phase {
    return this.warmup !== undefined && atMs < this.warmup.untilMs ? this.warmup : this.measured;
  }
}

/** An AbortController that also fires when `parent` does, after a grace period. */
function childController(parent: AbortSignal, graceMs: number): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  // Every sleeping or requesting virtual user listens on this signal: hundreds of listeners are expected.
  setMaxListeners(0, controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const onParent = (): void => {
    timer = setTimeout(() => controller.abort(parent.reason), graceMs);
  };
  if (parent.aborted) onParent();
  else parent.addEventListener('abort', onParent, { once: true });
  return {
    controller,
    release: () => {
      parent.removeEventListener('abort', onParent);
      if (timer) clearTimeout(timer);
    },
  };
}

function runOpen(options: SchedulerOptions, timeline: OpenTimeline): WorkloadRun {
  const { workload, interpreter, signal } = options;
  const tally = new Tally(options);
  const flow = workload.flow;
  // Iterations in flight are cancelled `stopGraceMs` after the run is stopped, or `gracefulStopMs` after the load ends.
  const inflight = childController(signal, options.stopGraceMs);
  const free: VirtualUser[] = [];
  let created = 0;
  let exhausted = false;
  const arrivals = timeline.arrivalTimes(options.seed);
  let next = arrivals.next();
  const start = performance.now();
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let arrivalsOver = false;
  let endTimer: NodeJS.Timeout | undefined;

  const finishIfIdle = (): void => {
    if (arrivalsOver && tally.active === 0) {
      if (endTimer) clearTimeout(endTimer);
      inflight.release();
      tally.vus.record(0);
      resolveDone();
    }
  };

  const launch = (user: VirtualUser, intendedMs: number, lagMs: number): void => {
    tally.active++;
    tally.started++;
    const phase = tally.phaseAt(intendedMs);
    phase.handles.startLag.record(lagMs);
    phase.interpreter.iteration(user, flow, inflight.controller.signal, lagMs).then(
      (outcome) => {
        if (outcome === 'interrupted') phase.handles.interrupted.record(1);
        if (outcome === 'exhausted') exhausted = true;
      },
      (error: unknown) => {
        phase.handles.interrupted.record(1);
        process.emitWarning(`iteration failed: ${(error as Error).message}`);
      },
    ).finally(() => {
      tally.active--;
      free.push(user);
      finishIfIdle();
    });
  };

  const endArrivals = (): void => {
    if (arrivalsOver) return;
    arrivalsOver = true;
    // In-flight iterations get the graceful-stop window from the end of the load (not from the last arrival),
    // then are cancelled. After a stop signal, the parent signal's own grace applies instead.
    const untilLoadEnds = signal.aborted ? 0 : Math.max(0, timeline.durationMs - (performance.now() - start));
    endTimer = setTimeout(
      () => inflight.controller.abort(new Error('graceful stop window over')),
      untilLoadEnds + options.gracefulStopMs,
    );
    finishIfIdle();
  };

  const pump = (): void => {
    if (signal.aborted || exhausted) return endArrivals();
    const now = performance.now() - start;
    while (!next.done && next.value <= now) {
      const intended = next.value;
      next = arrivals.next();
      let user = free.pop();
      if (!user && created < timeline.maxVus) {
        created++;
        const id = vuId(created, options.segment);
        user = interpreter.createUser(
          id,
          createRandom(deriveSeed(options.seed, options.workloadIndex, id)),
          inflight.controller.signal,
        );
      }
      if (!user) {
        tally.dropped++;
        tally.phaseAt(intended).handles.dropped.record(1);
        continue;
      }
      launch(user, intended, now - intended);
    }
    tally.vus.record(tally.active);
    if (next.done) return endArrivals();
    setTimeout(pump, Math.max(0, next.value - (performance.now() - start)));
  };
  signal.addEventListener('abort', () => endArrivals(), { once: true });
  pump();

  return {
    done,
    progress: () => ({
      name: workload.name,
      model: 'open',
      elapsedMs: performance.now() - start,
      durationMs: timeline.durationMs,
      target: timeline.rateAt(performance.now() - start),
      active: tally.active,
      started: tally.started,
      dropped: tally.dropped,
    }),
  };
}

/** How often the closed-model controller compares active users with the target. */
const CONTROL_INTERVAL_MS = 50;

function runClosed(options: SchedulerOptions, timeline: ClosedTimeline): WorkloadRun {
  const { workload, interpreter, signal } = options;
  const tally = new Tally(options);
  const start = performance.now();
  interface Looping {
    user: VirtualUser;
    stopping: boolean;
    controller: AbortController;
    release(): void;
    stopTimer?: NodeJS.Timeout;
    finished: Promise<void>;
  }
  const looping: Looping[] = [];
  let nextId = 0;
  let exhausted = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let over = false;

  const startUser = (): void => {
    nextId++;
    const { controller, release } = childController(signal, options.stopGraceMs);
    const id = vuId(nextId, options.segment);
    const user = interpreter.createUser(
      id,
      createRandom(deriveSeed(options.seed, options.workloadIndex, id)),
      controller.signal,
    );
    const entry: Looping = { user, stopping: false, controller, release, finished: Promise.resolve() };
    entry.finished = (async () => {
      let seen = macrotaskEpoch();
      while (!entry.stopping && !controller.signal.aborted && !exhausted) {
        tally.started++;
        tally.active++;
        const phase = tally.phaseAt(performance.now() - start);
        try {
          const outcome = await phase.interpreter.iteration(user, workload.flow, controller.signal);
          if (outcome === 'interrupted') phase.handles.interrupted.record(1);
          if (outcome === 'exhausted') exhausted = true;
        } catch (error) {
          phase.handles.interrupted.record(1);
          process.emitWarning(`iteration failed: ${(error as Error).message}`);
        } finally {
          tally.active--;
        }
        // An iteration that failed or was skipped without I/O would otherwise loop on microtasks forever: the
        // controller's end check and Ctrl-C would never run.
        const now = macrotaskEpoch();
        seen = now !== seen ? now : await nextMacrotask();
      }
      release();
      if (entry.stopTimer) clearTimeout(entry.stopTimer);
      const index = looping.indexOf(entry);
      if (index !== -1) looping.splice(index, 1);
    })();
    looping.push(entry);
  };

  /** Asks a user to stop after its current iteration; cancels it if that takes longer than the grace window. */
  const stopUser = (entry: Looping, graceMs: number): void => {
    if (entry.stopping) return;
    entry.stopping = true;
    entry.stopTimer = setTimeout(() => entry.controller.abort(new Error('graceful stop window over')), graceMs);
  };

  const control = (): void => {
    if (over) return;
    const elapsed = performance.now() - start;
    const running = looping.filter((l) => !l.stopping);
    if (signal.aborted || exhausted || elapsed >= timeline.durationMs) {
      over = true;
      for (const entry of running) stopUser(entry, signal.aborted ? options.stopGraceMs : options.gracefulStopMs);
      void Promise.all(looping.map((l) => l.finished)).then(() => {
        tally.vus.record(0);
        resolveDone();
      });
      return;
    }
    const target = timeline.usersAt(elapsed);
    for (let n = running.length; n < target; n++) startUser();
    // Ramp down: the most recently started users stop first.
    for (let n = running.length - 1; n >= target; n--) stopUser(running[n]!, options.gracefulStopMs);
    tally.vus.record(looping.filter((l) => !l.stopping).length);
    setTimeout(control, Math.max(1, Math.min(CONTROL_INTERVAL_MS, timeline.durationMs - elapsed)));
  };
  signal.addEventListener('abort', control, { once: true });
  control();

  return {
    done,
    progress: () => {
      const elapsed = performance.now() - start;
      return {
        name: workload.name,
        model: 'closed',
        elapsedMs: elapsed,
        durationMs: timeline.durationMs,
        target: timeline.usersAt(elapsed),
        active: tally.active,
        started: tally.started,
        dropped: 0,
      };
    },
  };
}
