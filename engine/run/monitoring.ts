// `monitor:` while the run goes on: every process it names sampled into the metric store (engine/monitor/), as
// gauges tagged `process: NAME` that thresholds read (`rss(api) < 512MB`), plus perfy's own heap. After every
// sample the alerts are checked and the leak rule fed; each firing and resolving becomes one event: printed,
// kept in the result and sent to `notify:`. What cannot be watched, or goes missing, is said once per change of
// state and the run goes on.

import { performance } from 'node:perf_hooks';
import type { Plan, PlannedLeak, PlannedNotify } from '../compile/plan.js';
import { problem, type Problem } from '../errors.js';
import { aggregateKind, patternTest, type MetricSource } from '../expr/index.js';
import {
  MAX_EVENTS, type Level, type LeakOutcome, type ResultEvent, type ResultMonitor,
} from '../metrics/result.js';
import type { MetricHandle, MetricStore } from '../metrics/types.js';
import { createAlertEvaluator, type AlertTransition } from '../monitor/alerts.js';
import { createLeakDetector, type LeakDetector } from '../monitor/leak.js';
import { createNotifier, type Notifier, type NotifierOptions } from '../monitor/notify.js';
import { startSampler, type Sampler, type SampleValues, type SamplerEvent } from '../monitor/sampler.js';
import type { Target } from '../monitor/targets.js';
import type { RunningService } from '../services/types.js';
import { formatDuration, formatGrowth, formatRate, formatSize } from '../units.js';

export interface RunMonitor {
  /**
   * Stops sampling (no sample runs after it resolves: before the services stop, which is no vanishing) and
   * gives notifications in flight a few seconds to arrive.
   */
  stop(): Promise<void>;
  /** What the alerts, the leak rule and the notifier did, for the result (after stop()). */
  outcome(): ResultMonitor | undefined;
}

export interface RunMonitorOptions {
  store: MetricStore;
  /** What alerts read: the run's metrics (with worker threads, the merge of all). */
  source: MetricSource;
  /** performance.now() at the run's start: event times are counted from it. */
  runStart: number;
  onProblem: (p: Problem) => void;
  /** Each firing and resolving, as it happens. */
  onEvent?: (event: ResultEvent) => void;
  /** An alert with `abort: true` fired: the run stops. */
  onAbort: (reason: string) => void;
}

/** close()'s bound on notifications still in flight at the end of the run. */
const NOTIFY_CLOSE_MS = 5000;

/** The processes of `plan.monitor` as the sampler's targets; a service without a process of its own is a problem. */
export function monitorTargets(
  plan: Plan, services: readonly RunningService[],
): { targets: Target[]; problems: Problem[] } {
  const targets: Target[] = [];
  const problems: Problem[] = [];
  for (const { name, watch } of plan.monitor?.processes ?? []) {
    if (watch === 'self') {
      targets.push({ name, watch: 'self' });
    } else if (watch !== 'service') {
      // A process perfy did not start; a command pattern runs with RE2, as `matches` does.
      targets.push({ name, watch: 'command' in watch ? { command: reMatcher(watch.command) } : watch });
    } else {
      const service = services.find((s) => s.name === name);
      if (service?.pid !== undefined) {
        // The service's whole tree: a shell wrapper, PostgreSQL's backends.
        targets.push({ name, watch: { pid: service.pid } });
      } else {
        problems.push(problem('W_MONITOR_TARGET', `service "${name}" has no process of its own to watch`,
          'a `url:` service runs elsewhere and the GitHub mock inside perfy (watch `self`); ' +
            'name the process another way: { name, pid | pidfile | command } (docs/monitoring.md)'));
      }
    }
  }
  return { targets, problems };
}

function reMatcher(pattern: string): { source: string; test(text: string): boolean } {
  const test = patternTest(pattern);
  return { source: pattern, test };
}

function said(event: SamplerEvent): Problem | undefined {
  if (event.kind === 'error') {
    return problem('W_MONITOR_SAMPLE', `a monitor sample failed: ${event.message}`, 'the next sample tries again');
  }
  if (event.kind === 'found') return undefined;
  const what = event.kind === 'gone' ? 'is gone' : 'cannot be found';
  return problem('W_MONITOR_TARGET', `the process "${event.process}" ${what}: ${event.reason}`,
    'its metrics stop here; the run goes on');
}

/** A value read by an alert, in its kind's unit: `97.3%`, `540MB`, `412ms`. */
function shown(value: number | null, metric: string | undefined, fn: string): string {
  if (value === null) return 'no samples';
  if (metric === 'process.rss.growth') return formatGrowth(value);
  switch (metric === undefined ? 'unknown' : aggregateKind(fn as Parameters<typeof aggregateKind>[0], metric)) {
    case 'size': return formatSize(value);
    case 'ratio': return `${(value * 100).toFixed(1)}%`;
    case 'duration': return formatDuration(Math.round(value * 1000) / 1000);
    case 'rate': return formatRate(value);
    default: return String(Math.round(value * 1000) / 1000);
  }
}

function notifierOptions(notify: PlannedNotify, onProblem: (p: Problem) => void): NotifierOptions {
  const options: NotifierOptions = {
    onFailure: (channel, event, reason) => onProblem(problem('W_MONITOR_NOTIFY',
      `the ${channel} did not take the event "${event.name} ${event.state}": ${reason}`,
      'the event is in the result all the same; check the receiver (docs/monitoring.md#notify)')),
  };
  if (notify.webhook !== undefined) {
    const { url, headers, timeoutMs, retries } = notify.webhook;
    options.webhook = {
      url, headers, ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(retries === undefined ? {} : { retries }),
    };
  }
  if (notify.command !== undefined) options.command = notify.command;
  return options;
}

/** One process judged by the leak rule. */
interface LeakWatch {
  process: string;
  detector: LeakDetector;
  growth: MetricHandle;
  leaking: boolean;
  sampled: boolean;
}

export function startRunMonitor(
  plan: Plan, services: readonly RunningService[], options: RunMonitorOptions,
): RunMonitor | undefined {
  const monitor = plan.monitor;
  if (monitor === undefined) return undefined;
  const { store, onProblem } = options;
  const { targets, problems } = monitorTargets(plan, services);
  for (const p of problems) onProblem(p);

  const elapsed = (): number => performance.now() - options.runStart;
  const events: ResultEvent[] = [];
  let eventsDropped = 0;
  const notifier: Notifier | undefined =
    monitor.notify === undefined ? undefined : createNotifier(notifierOptions(monitor.notify, onProblem));
  const emit = (event: Omit<ResultEvent, 'time' | 'elapsedMs'>): void => {
    const full: ResultEvent = { time: new Date().toISOString(), elapsedMs: Math.round(elapsed()), ...event };
    if (events.length < MAX_EVENTS) events.push(full);
    else eventsDropped++;
    options.onEvent?.(full);
    notifier?.send({ ...full, value: full.value ?? undefined });
  };

  const alerts = createAlertEvaluator(monitor.alerts, options.source);
  let aborting = false;
  const onAlert = (t: AlertTransition): void => {
    const ref = t.alert.expression.metrics[0];
    const value = t.label === undefined ? '' : ` (${t.label} = ${shown(t.value, ref?.metric, ref?.fn ?? 'value')})`;
    const verb = t.state === 'firing' ? 'fired' : 'resolved';
    const processName = t.alert.expression.processes[0]?.name;
    emit({
      level: t.alert.level,
      name: t.alert.source,
      state: t.state,
      value: t.value,
      message: `${t.alert.level} alert ${verb}: ${t.alert.source}${value}`,
      ...(processName === undefined ? {} : { process: processName }),
    });
    if (t.state === 'firing' && t.alert.abort && !aborting) {
      aborting = true;
      alerts.aborted(t.index);
      options.onAbort(`alert fired: ${t.alert.source}`);
    }
  };

  const leaks = leakWatches(monitor.leak, targets, store);
  const onLeak = (watch: LeakWatch, rule: PlannedLeak, tMs: number, rss: number): void => {
    watch.sampled = true;
    watch.detector.add(tMs, rss);
    const verdict = watch.detector.verdict();
    if (verdict.growthBytesPerMin !== undefined) watch.growth.record(verdict.growthBytesPerMin);
    if (verdict.leaking === watch.leaking) return;
    watch.leaking = verdict.leaking;
    const rate = formatGrowth(verdict.growthBytesPerMin ?? 0);
    const limit = formatGrowth(rule.maxGrowthBytesPerSecond * 60);
    emit({
      level: rule.level,
      name: `leak(${watch.process})`,
      state: verdict.leaking ? 'firing' : 'resolved',
      value: verdict.growthBytesPerMin ?? null,
      message: verdict.leaking
        ? `${rule.level} leak: the memory of ${watch.process} grows ${rate} (limit ${limit}) since ` +
          `${formatDuration(Math.round((verdict.since ?? tMs) / 1000) * 1000)} into the run`
        : `leak resolved: the memory of ${watch.process} grows ${rate} (under 80% of ${limit})`,
      process: watch.process,
    });
  };

  const onSample = (values: SampleValues): void => {
    const tMs = elapsed();
    if (monitor.leak !== undefined) {
      for (const watch of leaks) {
        const rss = values.processes.find((p) => p.process === watch.process)?.rss;
        if (rss !== undefined) onLeak(watch, monitor.leak, tMs, rss);
      }
    }
    // After the heap reading and the leak's growth: alerts read this sample's values.
    for (const t of alerts.check(tMs)) onAlert(t);
  };

  // The sampler reads processes from outside; perfy's JavaScript heap only perfy can read, just before each sample.
  const heap = targets.some((t) => t.watch === 'self')
    ? store.handle('process.heap', 'gauge', { process: 'self' })
    : undefined;
  heap?.record(process.memoryUsage().heapUsed);
  const sampler: Sampler = startSampler({
    targets,
    store,
    intervalMs: monitor.intervalMs,
    onEvent: (event) => {
      const p = said(event);
      if (p !== undefined) onProblem(p);
    },
    onSample: (values) => {
      heap?.record(process.memoryUsage().heapUsed);
      onSample(values);
    },
  });

  let notified: ResultMonitor['notify'];
  return {
    async stop() {
      await sampler.stop();
      if (notifier !== undefined) {
        const { sent, failed, dropped, channels } = await notifier.close({ deadlineMs: NOTIFY_CLOSE_MS });
        notified = { sent, failed, dropped, errors: Object.values(channels).flatMap((c) => c?.errors ?? []) };
      }
    },
    outcome() {
      if (monitor.alerts.length === 0 && monitor.leak === undefined && monitor.notify === undefined) return undefined;
      return {
        alerts: alerts.outcomes(),
        leaks: monitor.leak === undefined ? [] : leaks.map((w) => leakOutcome(w, monitor.leak!)),
        events,
        ...(eventsDropped > 0 ? { eventsDropped } : {}),
        ...(notified === undefined ? {} : { notify: notified }),
      };
    },
  };
}

function leakWatches(rule: PlannedLeak | undefined, targets: readonly Target[], store: MetricStore): LeakWatch[] {
  if (rule === undefined) return [];
  return rule.processes.filter((name) => targets.some((t) => t.name === name)).map((process) => ({
    process,
    detector: createLeakDetector({
      windowMs: rule.windowMs, maxGrowthBytesPerSec: rule.maxGrowthBytesPerSecond, warmupMs: rule.warmupMs,
    }),
    growth: store.handle('process.rss.growth', 'gauge', { process }),
    leaking: false,
    sampled: false,
  }));
}

function leakOutcome(watch: LeakWatch, rule: PlannedLeak): LeakOutcome {
  const summary = watch.detector.summary();
  const peak = summary.maxGrowthBytesPerMin;
  const level: Level = rule.level;
  const outcome: LeakOutcome = {
    process: watch.process,
    level,
    windowMs: rule.windowMs,
    maxGrowthBytesPerMin: rule.maxGrowthBytesPerSecond * 60,
    peakGrowthBytesPerMin: peak ?? null,
    leaked: summary.episodes.length > 0,
    episodes: summary.episodes.map((e) => ({
      sinceMs: Math.round(e.sinceMs),
      detectedMs: Math.round(e.detectedMs),
      ...(e.endMs === undefined ? {} : { endMs: Math.round(e.endMs) }),
      peakBytesPerMin: e.peakBytesPerMin,
    })),
  };
  if (!watch.sampled) outcome.note = 'no memory sample of this process: not judged';
  else if (peak === undefined) {
    // The first verdict needs warm-up + floor (a quarter of the window) + 0.9 window of samples.
    const needed = rule.warmupMs + rule.windowMs * 1.15;
    outcome.note = `the run was too short to judge: a verdict needs about ${formatDuration(needed)} of samples ` +
      '(warm-up, then 1.15 × the window)';
  }
  return outcome;
}
