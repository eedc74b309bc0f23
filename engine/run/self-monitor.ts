// perfy watches itself: event-loop lag and its own CPU, sampled every second. A saturated generator starts
// iterations late and inflates the latencies it measures, so the result says so instead of hiding it.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { MetricStore } from '../metrics/types.js';

/** Above these, the generator itself is the bottleneck: the run's latencies are suspect. */
const SATURATED_LAG_MS = 50;
const SATURATED_CPU = 0.9;
const MIN_JUDGED_MS = 5000;
/** monitorEventLoopDelay samples with a timer of this period and reports the period too: it is subtracted. */
const RESOLUTION_MS = 10;

export interface Saturation {
  saturated: boolean;
  eventLoopLagP99Ms: number;
  /** CPU of the whole process (1 = one core), averaged over the run */
  cpu: number;
  note: string | undefined;
}

export interface SelfMonitor {
  stop(): Saturation;
}

export interface SelfMonitorOptions {
  intervalMs?: number;
  /**
   * With worker threads, the process's CPU spans several threads, so whether this thread kept up is judged by
   * its own event-loop utilization (the share of time its loop was busy rather than waiting), which for one
   * JavaScript thread is the share of a core it used.
   */
  perThread?: boolean;
}

export function startSelfMonitor(store: MetricStore, options: SelfMonitorOptions = {}): SelfMonitor {
  const intervalMs = options.intervalMs ?? 1000;
  const startElu = performance.eventLoopUtilization();
  const lag = store.handle('engine.lag', 'trend', {});
  const cpuGauge = store.handle('engine.cpu', 'gauge', {});
  const whole = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const interval = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const lagMs = (nanoseconds: number): number => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);
  whole.enable();
  interval.enable();
  const startedAt = performance.now();
  const startCpu = process.cpuUsage();
  let lastWall = startedAt;
  let lastCpu = startCpu;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const used = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    cpuGauge.record(used / (now - lastWall));
    lastWall = now;
    lastCpu = cpu;
    if (interval.count > 0) lag.record(lagMs(interval.percentile(99)));
    interval.reset();
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      whole.disable();
      interval.disable();
      const wall = performance.now() - startedAt;
      const cpuNow = process.cpuUsage(startCpu);
      const cpu = wall > 0 ? (cpuNow.user + cpuNow.system) / 1000 / wall : 0;
      const lagP99 = whole.count > 0 ? lagMs(whole.percentile(99)) : 0;
      const busy = options.perThread ? performance.eventLoopUtilization(startElu).utilization : cpu;
      // A run of a few seconds is mostly start-up work: too short to judge.
      const saturated = wall >= MIN_JUDGED_MS && (lagP99 > SATURATED_LAG_MS || busy > SATURATED_CPU);
      const what = options.perThread
        ? `a worker thread busy ${(busy * 100).toFixed(0)}% of the time`
        : `CPU ${(cpu * 100).toFixed(0)}% of a core`;
      const remedy = options.perThread
        ? 'add workers (--workers) or machines'
        : 'lighten the load per process or add workers (--workers)';
      const note = saturated
        ? `perfy itself was busy (event-loop lag p99 ${lagP99.toFixed(1)} ms, ${what}): iterations started late and ` +
          `latencies are inflated; ${remedy}`
        : undefined;
      return { saturated, eventLoopLagP99Ms: lagP99, cpu, note };
    },
  };
}
