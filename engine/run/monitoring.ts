// `monitor:` while the run goes on: every process it names sampled into the metric store (engine/monitor/), as
// gauges tagged `process: NAME` that thresholds read (`rss(api) < 512MB`), plus perfy's own heap. What cannot be
// watched, or goes missing, is said once per change of state and the run goes on.

import type { Plan } from '../compile/plan.js';
import { problem, type Problem } from '../errors.js';
import type { MetricStore } from '../metrics/types.js';
import { startSampler, type Sampler, type SamplerEvent } from '../monitor/sampler.js';
import type { Target } from '../monitor/targets.js';
import type { RunningService } from '../services/types.js';

export interface RunMonitor {
  /** Stops sampling: no sample runs after it resolves (before the services stop, which is no vanishing). */
  stop(): Promise<void>;
}

/** The processes of `plan.monitor` as the sampler's targets; a service without a process of its own is a problem. */
export function monitorTargets(
  plan: Plan, services: readonly RunningService[],
): { targets: Target[]; problems: Problem[] } {
  const targets: Target[] = [];
  const problems: Problem[] = [];
  for (const name of plan.monitor?.processes ?? []) {
    if (name === 'self') {
      targets.push({ name, watch: 'self' });
      continue;
    }
    const service = services.find((s) => s.name === name);
    if (service?.pid !== undefined) {
      // The service's whole tree: a shell wrapper, PostgreSQL's backends.
      targets.push({ name, watch: { pid: service.pid } });
    } else {
      problems.push(problem('W_MONITOR_TARGET', `service "${name}" has no process of its own to watch`,
        'a `url:` service runs elsewhere and the GitHub mock inside perfy (watch `self`); ' +
          'give perfy the process to watch another way (docs/monitoring.md)'));
    }
  }
  return { targets, problems };
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

export function startRunMonitor(
  plan: Plan, services: readonly RunningService[], store: MetricStore, onProblem: (p: Problem) => void,
): RunMonitor | undefined {
  const monitor = plan.monitor;
  if (monitor === undefined) return undefined;
  const { targets, problems } = monitorTargets(plan, services);
  for (const p of problems) onProblem(p);
  const sampler: Sampler = startSampler({
    targets,
    store,
    intervalMs: monitor.intervalMs,
    onEvent: (event) => {
      const p = said(event);
      if (p !== undefined) onProblem(p);
    },
  });
  // The sampler reads processes from outside; perfy's JavaScript heap only perfy can read.
  const heap = targets.some((t) => t.watch === 'self')
    ? store.handle('process.heap', 'gauge', { process: 'self' })
    : undefined;
  const heapTimer = heap === undefined
    ? undefined
    : setInterval(() => heap.record(process.memoryUsage().heapUsed), monitor.intervalMs).unref();
  heap?.record(process.memoryUsage().heapUsed);
  return {
    async stop() {
      if (heapTimer !== undefined) clearInterval(heapTimer);
      await sampler.stop();
    },
  };
}
