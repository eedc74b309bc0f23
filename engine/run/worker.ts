// One worker thread of `perfy run --workers N` (engine/run/workers.ts has the whole picture): compiles the
// scenario, prepares its executors, waits for `start` with the run's variables (services, setup's captures),
// runs its segment of every workload, reports progress and a metrics snapshot once a second, and the final
// snapshot with its own saturation at the end.

import { tmpdir } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { internalProblem, PerfyError } from '../errors.js';
import { createMetricStore } from '../metrics/store.js';
import type { ResultMetrics } from '../metrics/types.js';
import { compileScenarioFile } from '../compile/file.js';
import { createFeeder, type DataFeeder } from './data.js';
import { applyOverrides } from './overrides.js';
import { driveWorkloads } from './run.js';
import { RunExecutors, stepRunners } from './executors.js';
import type { WorkloadRun } from './scheduler.js';
import { startSelfMonitor } from './self-monitor.js';
import type { FromWorker, ToWorker, WorkerData } from './workers.js';

const port = parentPort!;
const data = workerData as WorkerData;
const send = (message: FromWorker): void => port.postMessage(message);

async function work(): Promise<void> {
  const { spec, segment } = data;
  const outcome = await compileScenarioFile(spec.file, spec.env, spec.sets, { maxBytes: spec.maxScenarioBytes });
  if (!outcome.plan) throw new PerfyError(outcome.problems);
  const { plan } = applyOverrides(outcome.plan, { ...spec.overrides, segment });
  const store = createMetricStore();
  const monitor = startSelfMonitor(store, { perThread: true });
  const stop = new AbortController();
  let start!: (baseVars: Record<string, unknown>) => void;
  const started = new Promise<Record<string, unknown>>((resolve) => (start = resolve));
  port.on('message', (message: ToWorker) => {
    if (message.type === 'start') start(message.baseVars);
    else if (message.type === 'stop' && !stop.signal.aborted) stop.abort(new Error(message.reason));
  });

  const executors = new RunExecutors(plan, segment);
  await executors.prepare();
  send({ type: 'ready' });
  const baseVars = await Promise.race([
    started,
    new Promise<undefined>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
    ),
  ]);
  const runs: WorkloadRun[] = [];
  const progress = (): FromWorker & { type: 'progress' } => ({
    type: 'progress',
    workloads: runs.map((r) => r.progress()),
    metrics: liveMetrics(store.snapshot()),
  });
  const timer = setInterval(() => send(progress()), 1000);
  try {
    if (baseVars !== undefined) {
      const feeders = new Map<string, DataFeeder>(
        Object.entries(plan.data).map(([name, d]) => [name, createFeeder(d, segment)]),
      );
      const runnersFor = stepRunners(plan, store, baseVars, executors, spec.workDir ?? tmpdir());
      await driveWorkloads(plan, {
        store,
        runnersFor,
        feeders,
        baseVars,
        signal: stop.signal,
        timeScale: spec.overrides.timeScale,
        segment,
        runs,
      });
    }
  } finally {
    clearInterval(timer);
    await executors.close();
  }
  send({
    type: 'done',
    workloads: runs.map((r) => r.progress()),
    metrics: store.snapshot(),
    saturation: monitor.stop(),
  });
  port.close();
}

/**
 * What the main thread needs once a second for thresholds and progress: every total and histogram, but per-second
 * series only of gauges (avg() of a gauge reads them). The series grow with the run; sending them every second
 * would make a long run's updates grow too. The final snapshot carries everything.
 */
function liveMetrics(snapshot: ResultMetrics): ResultMetrics {
  return { ...snapshot, metrics: snapshot.metrics.map((m) => (m.type === 'gauge' ? m : { ...m, series: [] })) };
}

work().catch((error: unknown) => {
  send({ type: 'failed', problems: error instanceof PerfyError ? error.problems : [internalProblem(error)] });
  port.close();
});
