// A Result for the report tests, made by a real metric store: `record` fills it during a run of `durationMs` that
// starts at T0; `fields` sets the rest (thresholds, monitor:, the workload's plan).

import { RESULT_VERSION, type Result, type ResultWorkload } from '../../../engine/metrics/result.js';
import { completeResult } from '../../../engine/metrics/summary.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import type { MetricStore } from '../../../engine/metrics/types.js';

export const T0 = 1_700_000_000_000;

export interface ResultFields {
  durationMs?: number;
  workload?: Partial<ResultWorkload>;
  thresholds?: Result['thresholds'];
  monitor?: Result['monitor'];
}

/** `record` gets the store and a clock to move (ms since T0). */
export function resultOf(
  record: (store: MetricStore, at: (ms: number) => void) => void, fields: ResultFields = {},
): Result {
  const durationMs = fields.durationMs ?? 10_000;
  let now = T0;
  const store = createMetricStore({ now: () => now, intervalMs: 1000 });
  record(store, (ms) => (now = T0 + ms));
  now = T0 + durationMs;
  return completeResult({
    version: RESULT_VERSION,
    scenario: { name: 's', description: undefined, file: 's.yaml' },
    startedAt: T0,
    endedAt: T0 + durationMs,
    status: 'completed',
    reason: undefined,
    environment: { perfy: '0', node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, hostname: 'h', workers: 1 },
    overrides: [],
    workloads: [{
      name: 'default', model: 'open', startAfterMs: 0, durationMs, plannedIterations: durationMs / 100,
      ...fields.workload,
    }],
    metrics: store.snapshot(),
    thresholds: fields.thresholds ?? [],
    ...(fields.monitor === undefined ? {} : { monitor: fields.monitor }),
    saturation: { saturated: false, eventLoopLagP99Ms: 1, cpu: 0.1, note: undefined },
  });
}
