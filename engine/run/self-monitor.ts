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

export interface SelfMonitor {
  stop(): { saturated: boolean; eventLoopLagP99Ms: number; cpu: number; note: string | undefined };
}

export function startSelfMonitor(store: MetricStore, intervalMs = 1000): SelfMonitor {
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
      // A run of a few seconds is mostly start-up work: too short to judge.
      const saturated = wall >= MIN_JUDGED_MS && (lagP99 > SATURATED_LAG_MS || cpu > SATURATED_CPU);
      const note = saturated
        ? `perfy itself was busy (event-loop lag p99 ${lagP99.toFixed(1)} ms, CPU ${(cpu * 100).toFixed(0)}% of a core): iterations started late and latencies are inflated; lighten the load per process`
        : undefined;
      return { saturated, eventLoopLagP99Ms: lagP99, cpu, note };
    },
  };
}
