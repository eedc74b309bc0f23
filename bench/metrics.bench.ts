// Cost of recording a sample, the hot path of every step: record() on a trend handle (two HDR histograms, the
// interval check, exact sum/min/max) and on a counter handle, against storing a number into a Float64Array,
// reading the clock, and hdr-histogram-js's own recordValue.

import hdr from 'hdr-histogram-js';
import { Histogram } from '../engine/metrics/histogram.js';
import { createMetricStore } from '../engine/metrics/store.js';
import { measure, type BenchResult } from './run.js';

export const name = 'metrics (engine/metrics)';

/** The requirement: recording a latency costs well under a microsecond. */
const TREND_RECORD_LIMIT_NS = 500;
const COUNTER_RECORD_LIMIT_NS = 200;

/** Latencies between 0.2 ms and ~400 ms, spread over many HDR buckets like real ones. */
const SAMPLES = 4096;
const latencies = new Float64Array(SAMPLES);
for (let i = 0; i < SAMPLES; i++) latencies[i] = 0.2 * Math.exp((i * 7919 % SAMPLES) / SAMPLES * 7.6);

export function run(): BenchResult[] {
  const results: BenchResult[] = [];
  let i = 0;
  const next = (): number => latencies[(i = (i + 1) & (SAMPLES - 1))]!;

  const baseline = new Float64Array(1 << 20);
  let at = 0;
  results.push(measure('baseline: Float64Array[i] = sample', () => {
    baseline[at] = next();
    at = (at + 1) & ((1 << 20) - 1);
  }));

  // What every record() pays to find its interval: one clock read.
  results.push(measure('baseline: Date.now()', () => Date.now()));

  const library = hdr.build({
    bitBucketSize: 64, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true,
  });
  results.push(
    measure('baseline: hdr-histogram-js recordValue (µs)', () => library.recordValue(Math.round(next() * 1000))),
  );

  const histogram = new Histogram();
  results.push(measure('Histogram.record (µs), clz32 fast path', () => histogram.record(next() * 1000)));

  const store = createMetricStore();
  const trend = store.handle('http.duration', 'trend', {
    workload: 'default',
    step: 'vote',
    status: '201',
    method: 'POST',
  });
  results.push(measure('trend handle.record (ms)', () => trend.record(next()), { maxNsPerOp: TREND_RECORD_LIMIT_NS }));

  const counter = store.handle('http.reqs', 'counter', { workload: 'default', step: 'vote' });
  results.push(measure('counter handle.record(1)', () => counter.record(1), { maxNsPerOp: COUNTER_RECORD_LIMIT_NS }));

  const rate = store.handle('http.errors', 'rate', { workload: 'default', step: 'vote' });
  results.push(measure('rate handle.record(0|1)', () => rate.record(next() > 100 ? 1 : 0)));

  const query = Object.freeze({
    fn: 'percentile',
    percentile: 95,
    metric: 'http.duration',
    tags: Object.freeze({ step: 'vote' }),
  } as const);
  results.push(
    measure('store.aggregate p95 (once a second per threshold)', () => store.aggregate(query), { roundMs: 50 }),
  );
  return results;
}
