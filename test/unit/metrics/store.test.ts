// The metric store with an injected clock: handle caching, exact aggregates by metric type, tag-subset selection,
// per-interval series, snapshots, aggregation over a loaded snapshot, and merging (two stores merged equal one
// store fed both sample sets).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PerfyError } from '../../../engine/errors.js';
import type { AggregateQuery, MetricSource } from '../../../engine/expr/index.js';
import { Histogram } from '../../../engine/metrics/histogram.js';
import { createMetricStore, mergeResultMetrics, storeFromSnapshot } from '../../../engine/metrics/store.js';
import {
  MAX_SAMPLES, type MetricStore, type MetricType, type ResultMetric, type ResultMetrics, type Tags,
} from '../../../engine/metrics/types.js';

const SEED = 20_240_613;
/** A multiple of 1000, like a real start rounded to the interval. */
const T0 = 1_700_000_000_000;

function fakeClock(start = T0): { now: () => number; set(t: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (v) => { t = v; }, advance: (ms) => { t += ms; } };
}

const q = (
  fn: AggregateQuery['fn'],
  metric: string,
  tags: Record<string, string> = {},
  percentile?: number,
): AggregateQuery => (percentile === undefined ? { fn, metric, tags } : { fn, metric, tags, percentile });

const p = (percentile: number, metric: string, tags: Record<string, string> = {}): AggregateQuery =>
  q('percentile', metric, tags, percentile);

/** Within the precision of the histograms: 3 significant digits (0.1 %), or 2 for per-interval p95s (1 %). */
function assertNear(actual: number | undefined, expected: number, digits: 2 | 3 = 3, message = ''): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= expected * 10 ** -digits,
    `${message} ${actual} is not within ${10 ** -digits * 100}% of ${expected}`,
  );
}

function find(snapshot: ResultMetrics, name: string, tags: Tags = {}): ResultMetric {
  const found = snapshot.metrics.find(
    (m) =>
      m.name === name && JSON.stringify(Object.entries(m.tags).sort()) === JSON.stringify(Object.entries(tags).sort()),
  );
  assert.ok(found, `no ${name} ${JSON.stringify(tags)} in the snapshot`);
  return found;
}

describe('handles', () => {
  it('are cached by name, type and tags, whatever the order of the tags', () => {
    const store = createMetricStore({ now: fakeClock().now });
    const a = store.handle('http.duration', 'trend', { step: 'vote', method: 'POST' });
    assert.equal(store.handle('http.duration', 'trend', { method: 'POST', step: 'vote' }), a);
    assert.notEqual(store.handle('http.duration', 'trend', { step: 'vote' }), a);
    assert.notEqual(store.handle('http.duration', 'trend', { step: 'vote', method: 'GET' }), a);
  });

  it('refuse a second type for one metric name', () => {
    const store = createMetricStore({ now: fakeClock().now });
    store.handle('http.reqs', 'counter', {});
    assert.throws(() => store.handle('http.reqs', 'trend', { step: 'x' }), /counter/);
  });

  it('rejects an interval that is not positive', () => {
    assert.throws(() => createMetricStore({ intervalMs: 0 }), RangeError);
  });
});

describe('aggregate: trends', () => {
  const clock = fakeClock();
  const store = createMetricStore({ now: clock.now });
  const h = store.handle('http.duration', 'trend', {});
  for (let ms = 1; ms <= 100; ms++) h.record(ms);

  it('percentiles in ms, to 3 significant digits, within the exact min and max', () => {
    assertNear(store.aggregate(p(50, 'http.duration')), 50);
    assertNear(store.aggregate(p(95, 'http.duration')), 95);
    assertNear(store.aggregate(p(99, 'http.duration')), 99);
    assert.equal(store.aggregate(p(100, 'http.duration')), 100);
    assert.equal(store.aggregate(p(0, 'http.duration')), 1);
    assert.ok(
      store.aggregate(p(95, 'http.duration'))! >= 95,
      'HDR reports the top of the bucket: never below the true value',
    );
  });

  it('percentiles exact to the µs below 2.048 ms (single-µs resolution)', () => {
    const s = createMetricStore({ now: fakeClock().now });
    const t = s.handle('http.ttfb', 'trend', {});
    for (let us = 10; us <= 1000; us += 10) t.record(us / 1000);
    assert.equal(s.aggregate(p(50, 'http.ttfb')), 0.5);
    assert.equal(s.aggregate(p(95, 'http.ttfb')), 0.95);
    assert.equal(s.aggregate(p(99.9, 'http.ttfb')), 1);
    assert.equal(s.aggregate(p(0, 'http.ttfb')), 0.01);
  });

  it('avg, min, max and count exact', () => {
    assert.equal(store.aggregate(q('avg', 'http.duration')), 50.5);
    assert.equal(store.aggregate(q('min', 'http.duration')), 1);
    assert.equal(store.aggregate(q('max', 'http.duration')), 100);
    assert.equal(store.aggregate(q('count', 'http.duration')), 100);
  });

  it('sub-millisecond values keep their µs; below 1 µs counts as 1 µs; NaN is ignored', () => {
    const s = createMetricStore({ now: fakeClock().now });
    const t = s.handle('http.connect', 'trend', {});
    for (const v of [0, 0.25, 0.5, Number.NaN, -3]) t.record(v);
    assert.equal(s.aggregate(q('count', 'http.connect')), 4);
    assert.equal(s.aggregate(q('min', 'http.connect')), 0.001);
    assert.equal(s.aggregate(q('max', 'http.connect')), 0.5);
    assert.equal(s.aggregate(p(50, 'http.connect')), 0.001);
    assert.equal(s.aggregate(p(75, 'http.connect')), 0.25);
    assert.equal(s.aggregate(p(100, 'http.connect')), 0.5);
  });

  it('large values within HDR precision, never above the exact max', () => {
    const s = createMetricStore({ now: fakeClock().now });
    const t = s.handle('sql.duration', 'trend', {});
    for (let i = 1; i <= 1000; i++) t.record(i * 10); // 10 ms .. 10 s
    const p90 = s.aggregate(p(90, 'sql.duration'))!;
    assert.ok(Math.abs(p90 - 9000) <= 9, `p90 ${p90}`);
    assert.equal(s.aggregate(p(100, 'sql.duration')), 10_000);
    assert.equal(s.aggregate(q('max', 'sql.duration')), 10_000);
  });

  it('rate and value mean nothing for a trend: undefined', () => {
    assert.equal(store.aggregate(q('rate', 'http.duration')), undefined);
    assert.equal(store.aggregate(q('value', 'http.duration')), undefined);
  });
});

describe('aggregate: tag subsets', () => {
  const store = createMetricStore({ now: fakeClock().now });
  store.handle('http.duration', 'trend', { step: 'list', status: '200' }).record(10);
  store.handle('http.duration', 'trend', { step: 'list', status: '500' }).record(1000);
  store.handle('http.duration', 'trend', { step: 'vote', status: '200' }).record(20);
  const vote200 = store.handle('http.duration', 'trend', { step: 'vote', status: '200' });
  vote200.record(30);

  it('a filter selects every tag set that includes its tags, and combines them', () => {
    assert.equal(store.aggregate(q('count', 'http.duration')), 4);
    assert.equal(store.aggregate(q('count', 'http.duration', { step: 'list' })), 2);
    assert.equal(store.aggregate(q('max', 'http.duration', { step: 'list' })), 1000);
    assert.equal(store.aggregate(q('avg', 'http.duration', { status: '200' })), 20);
    assertNear(store.aggregate(p(50, 'http.duration', { status: '200' })), 20);
    assert.equal(store.aggregate(p(100, 'http.duration', {})), 1000);
    assert.equal(store.aggregate(q('min', 'http.duration', { step: 'vote', status: '200' })), 20);
  });

  it('compares tag values as strings, and a filter on an absent tag matches nothing', () => {
    assert.equal(store.aggregate(q('count', 'http.duration', { step: 'nope' })), undefined);
    assert.equal(store.aggregate(q('count', 'http.duration', { method: 'GET' })), undefined);
    assert.equal(store.aggregate(q('count', 'nosuch.metric')), undefined);
  });

  it('sees handles created after a query was first answered', () => {
    const query = Object.freeze(q('count', 'http.duration', { step: 'new' }));
    assert.equal(store.aggregate(query), undefined);
    store.handle('http.duration', 'trend', { step: 'new' }).record(5);
    assert.equal(store.aggregate(query), 1);
  });
});

describe('aggregate: samples set aside unless asked for', () => {
  const build = (store: MetricStore): void => {
    store.handle('http.duration', 'trend', { step: 's', status: '200', expected: 'true' }).record(10);
    store.handle('http.duration', 'trend', { step: 's', status: 'refused', expected: 'false' }).record(1);
    store.handle('http.duration', 'trend', { step: 's', status: '503', expected: 'false' }).record(2);
    store.handle('http.reqs', 'counter', { step: 's', status: 'refused', expected: 'false' }).record(1);
    store.handle('http.reqs', 'counter', { step: 's', status: '200', expected: 'true' }).record(1);
    store.handle('http.reqs', 'counter', { step: 's', status: '200', expected: 'true', phase: 'warmup' }).record(5);
    store.handle('http.duration', 'trend', { step: 's', status: '200', expected: 'true', phase: 'warmup' }).record(500);
  };
  const live = createMetricStore({ now: fakeClock().now });
  build(live);
  const loaded = storeFromSnapshot(live.snapshot(), { elapsedMs: 1000 });

  for (const [name, store] of [['a live store', live], ['a loaded result', loaded]] as const) {
    it(`${name}: latencies of unexpected responses only when the filter names expected, status or status_class`, () => {
      assert.equal(store.aggregate(q('count', 'http.duration')), 1);
      assert.equal(store.aggregate(q('max', 'http.duration')), 10);
      assert.equal(store.aggregate(q('count', 'http.duration', { expected: 'false' })), 2);
      assert.equal(store.aggregate(q('count', 'http.duration', { status: '503' })), 1);
      assert.equal(store.aggregate(q('min', 'http.duration', { step: 's', status: 'refused' })), 1);
    });

    it(`${name}: counts and rates cover every request; the warm-up is left out of everything unless asked for`, () => {
      assert.equal(store.aggregate(q('count', 'http.reqs')), 2);
      assert.equal(store.aggregate(q('count', 'http.reqs', { phase: 'warmup' })), 5);
      assert.equal(store.aggregate(q('max', 'http.duration', { phase: 'warmup' })), 500);
    });
  }
});

describe('aggregate: counters, rates, gauges', () => {
  const clock = fakeClock(T0 + 250);
  const store = createMetricStore({ now: clock.now });
  const reqs = store.handle('http.reqs', 'counter', { step: 'a' });
  const bytes = store.handle('http.bytes_in', 'counter', {});
  const errors = store.handle('http.errors', 'rate', { step: 'a' });
  const errorsB = store.handle('http.errors', 'rate', { step: 'b' });
  const vusA = store.handle('vus', 'gauge', { workload: 'a' });
  const vusB = store.handle('vus', 'gauge', { workload: 'b' });
  for (let i = 0; i < 50; i++) {
    reqs.record(1);
    errors.record(i % 10 === 0 ? 1 : 0);
    bytes.record(100);
  }
  errorsB.record(true as unknown as number);
  errorsB.record(0);
  vusA.record(3);
  clock.advance(1000);
  vusA.record(5);
  vusB.record(7);
  clock.set(T0 + 250 + 10_000);

  it('count of a counter is its total; throughput is per second since the store started', () => {
    assert.equal(store.aggregate(q('count', 'http.reqs')), 50);
    assert.equal(store.aggregate(q('throughput', 'http.reqs')), 5);
    assert.equal(store.aggregate(q('value', 'http.reqs')), 50);
    assert.equal(store.aggregate(q('count', 'http.bytes_in')), 5000);
    assert.equal(store.aggregate(q('min', 'http.bytes_in')), 100);
    assert.equal(store.aggregate(q('percentile', 'http.reqs', {}, 95)), undefined);
    assert.equal(store.aggregate(q('avg', 'http.reqs')), undefined);
  });

  it('rate is hits / samples across the selected tag sets', () => {
    assert.equal(store.aggregate(q('rate', 'http.errors', { step: 'a' })), 0.1);
    assert.equal(store.aggregate(q('rate', 'http.errors')), 6 / 52);
    assert.equal(store.aggregate(q('count', 'http.errors')), 52);
    assert.equal(store.aggregate(q('max', 'http.errors')), 1);
    assert.equal(store.aggregate(q('min', 'http.errors', { step: 'b' })), 0);
  });

  it('value of a gauge is its last value, summed over the matching tag sets', () => {
    assert.equal(store.aggregate(q('value', 'vus', { workload: 'a' })), 5);
    assert.equal(store.aggregate(q('value', 'vus')), 12);
    assert.equal(store.aggregate(q('min', 'vus')), 3);
    assert.equal(store.aggregate(q('max', 'vus')), 7);
    assert.equal(store.aggregate(q('count', 'vus')), 3);
  });

  it('avg of a gauge is the mean of its per-interval values (a time average)', () => {
    assert.equal(store.aggregate(q('avg', 'vus', { workload: 'a' })), 4);
    assert.equal(store.aggregate(q('avg', 'vus')), 11);
  });

  it('a counter that recorded only 0 has samples: its count is 0, not undefined', () => {
    const s = createMetricStore({ now: fakeClock().now });
    s.handle('dropped_iterations', 'counter', {}).record(0);
    assert.equal(s.aggregate(q('count', 'dropped_iterations')), 0);
  });

  it('no samples: every function is undefined, even with a handle', () => {
    const s = createMetricStore({ now: fakeClock().now });
    s.handle('http.duration', 'trend', {});
    s.handle('http.reqs', 'counter', {});
    s.handle('vus', 'gauge', {});
    s.handle('checks', 'rate', {});
    for (const metric of ['http.duration', 'http.reqs', 'vus', 'checks', 'never.created']) {
      for (const fn of ['percentile', 'avg', 'min', 'max', 'count', 'rate', 'value', 'throughput'] as const) {
        assert.equal(
          s.aggregate(q(fn, metric, {}, fn === 'percentile' ? 95 : undefined)),
          undefined,
          `${fn}(${metric})`,
        );
      }
    }
  });

  it('throughput is undefined at the instant the store starts', () => {
    const s = createMetricStore({ now: fakeClock().now });
    s.handle('iterations', 'counter', {}).record(1);
    assert.equal(s.aggregate(q('throughput', 'iterations')), undefined);
  });
});

describe('series', () => {
  it('one entry per interval from the start rounded down to the interval, null where nothing was recorded', () => {
    const clock = fakeClock(T0 + 400);
    const store = createMetricStore({ now: clock.now, intervalMs: 1000 });
    const duration = store.handle('http.duration', 'trend', {});
    const reqs = store.handle('http.reqs', 'counter', {});
    const errors = store.handle('http.errors', 'rate', {});
    const vus = store.handle('vus', 'gauge', {});
    // interval 0: [T0, T0+1000)
    for (let ms = 1; ms <= 100; ms++) duration.record(ms);
    reqs.record(1);
    reqs.record(2);
    errors.record(1);
    errors.record(0);
    vus.record(4);
    vus.record(6);
    // interval 2
    clock.set(T0 + 2999);
    duration.record(500);
    reqs.record(0);
    // interval 3: only the gauge; the snapshot is taken inside interval 3
    clock.set(T0 + 3000);
    vus.record(1);
    clock.set(T0 + 3500);
    const snapshot = store.snapshot();
    assert.equal(snapshot.startedAt, T0);
    assert.equal(snapshot.intervalMs, 1000);
    const [first, ...rest] = find(snapshot, 'http.duration').series;
    const [count, p50, p95, p99] = first as [number, number, number, number];
    assert.equal(count, 100);
    assertNear(p50, 50, 2, 'interval p50');
    assertNear(p95, 95, 2, 'interval p95');
    assertNear(p99, 99, 2, 'interval p99');
    assert.deepEqual(rest, [null, [1, 500, 500, 500], null]);
    assert.deepEqual(find(snapshot, 'http.reqs').series, [3, null, 0, null]);
    assert.deepEqual(find(snapshot, 'http.errors').series, [[1, 2], null, null, null]);
    assert.deepEqual(find(snapshot, 'vus').series, [6, null, null, 1]);
  });

  it('a snapshot leaves the open interval open', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now });
    const reqs = store.handle('http.reqs', 'counter', {});
    reqs.record(1);
    assert.deepEqual(find(store.snapshot(), 'http.reqs').series, [1]);
    reqs.record(1);
    clock.advance(1500);
    reqs.record(5);
    assert.deepEqual(find(store.snapshot(), 'http.reqs').series, [2, 5]);
  });

  it('grows by one entry per interval, however many samples', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now, intervalMs: 100 });
    const h = store.handle('step.duration', 'trend', {});
    for (let i = 0; i < 50_000; i++) {
      h.record(1 + (i % 300));
      clock.advance(1);
    }
    const series = find(store.snapshot(), 'step.duration').series;
    assert.equal(series.length, 500);
    for (const entry of series) assert.equal((entry as [number, number, number, number])[0], 100);
    assertNear((series[3] as [number, number, number, number])[2], 95, 2); // samples 1..100 ms
    assertNear((series[2] as [number, number, number, number])[2], 295, 2); // samples 201..300 ms
    assertNear((series[2] as [number, number, number, number])[1], 250, 2); // their median
  });

  it('per-interval percentiles keep 2 significant digits', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now });
    const h = store.handle('http.duration', 'trend', {});
    for (let i = 1; i <= 1000; i++) h.record(i); // 1..1000 ms: p95 = 950 ms
    const entry = find(store.snapshot(), 'http.duration').series[0];
    const [count, p50, p95, p99] = entry as [number, number, number, number];
    assert.equal(count, 1000);
    assert.ok(Math.abs(p50 - 500) <= 500 / 100, `interval p50 ${p50}`);
    assert.ok(Math.abs(p95 - 950) <= 950 / 100, `interval p95 ${p95}`);
    assert.ok(Math.abs(p99 - 990) <= 990 / 100, `interval p99 ${p99}`);
  });
});

describe('snapshot', () => {
  it('is plain JSON, ordered by name then tags, with exact totals', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now });
    store.handle('http.reqs', 'counter', { step: 'b' }).record(2);
    store.handle('http.duration', 'trend', { step: 'b' }).record(12.5);
    store.handle('http.duration', 'trend', { step: 'a', method: 'GET' }).record(7.25);
    store.handle('http.duration', 'trend', { step: 'a' }).record(3);
    store.handle('checks', 'rate', {}).record(1);
    store.handle('unused', 'gauge', {});
    const snapshot = store.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    assert.deepEqual(snapshot.metrics.map((m) => `${m.name} ${JSON.stringify(m.tags)}`), [
      'checks {}',
      'http.duration {"method":"GET","step":"a"}',
      'http.duration {"step":"a"}',
      'http.duration {"step":"b"}',
      'http.reqs {"step":"b"}',
      'unused {}',
    ]);
    const duration = find(snapshot, 'http.duration', { step: 'a', method: 'GET' });
    assert.equal(duration.type, 'trend');
    assert.equal(duration.count, 1);
    assert.equal(duration.sum, 7.25);
    assert.equal(duration.min, 7.25);
    assert.equal(duration.max, 7.25);
    assertNear(Histogram.decode(duration.histogram!).percentile(50), 7250);
    const unused = find(snapshot, 'unused');
    assert.deepEqual(
      { count: unused.count, sum: unused.sum, min: unused.min, max: unused.max, series: unused.series },
      { count: 0, sum: 0, min: 0, max: 0, series: [null] },
    );
    assert.equal(find(snapshot, 'http.reqs', { step: 'b' }).histogram, undefined);
  });
});

/** Every query worth asking of the metrics these tests record. */
function queriesFor(snapshot: ResultMetrics): AggregateQuery[] {
  const queries: AggregateQuery[] = [];
  const fns = ['avg', 'min', 'max', 'count', 'rate', 'value', 'throughput'] as const;
  for (const m of snapshot.metrics) {
    for (const tags of [{}, m.tags]) {
      for (const fn of fns) queries.push(q(fn, m.name, tags));
      for (const pct of [0, 50, 95, 99, 99.9, 100]) queries.push(p(pct, m.name, tags));
    }
  }
  return queries;
}

function assertSameAnswers(
  a: MetricSource,
  b: MetricSource,
  queries: AggregateQuery[],
  skip: (query: AggregateQuery) => boolean = () => false,
): void {
  for (const query of queries) {
    if (skip(query)) continue;
    const x = a.aggregate(query);
    const y = b.aggregate(query);
    const label = `${query.fn}${query.percentile ?? ''}(${query.metric}${JSON.stringify(query.tags)})`;
    if (x === undefined || y === undefined) assert.equal(x, y, label);
    else assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)), `${label}: ${x} != ${y}`);
  }
}

describe('storeFromSnapshot', () => {
  it('answers every query as the live store did, after a JSON roundtrip', () => {
    const clock = fakeClock(T0);
    const store = createMetricStore({ now: clock.now });
    const durations = [
      store.handle('http.duration', 'trend', { step: 'a' }),
      store.handle('http.duration', 'trend', { step: 'b' }),
    ];
    const reqs = store.handle('http.reqs', 'counter', { step: 'a' });
    const errors = store.handle('http.errors', 'rate', {});
    const rss = [
      store.handle('process.rss', 'gauge', { process: 'api' }),
      store.handle('process.rss', 'gauge', { process: 'self' }),
    ];
    for (let i = 0; i < 3000; i++) {
      durations[i % 2]!.record(((i * 7919) % 5000) / 7 + 0.3);
      reqs.record(1);
      errors.record(i % 13 === 0 ? 1 : 0);
      if (i % 100 === 0) rss[i % 3 === 0 ? 0 : 1]!.record(1e8 + i * 1000);
      clock.advance(3);
    }
    const elapsedMs = clock.now() - T0;
    const loaded = storeFromSnapshot(JSON.parse(JSON.stringify(store.snapshot())) as ResultMetrics, { elapsedMs });
    assertSameAnswers(store, loaded, queriesFor(store.snapshot()));
  });

  it('divides throughput by the series span by default', () => {
    const clock = fakeClock(T0);
    const store = createMetricStore({ now: clock.now });
    store.handle('iterations', 'counter', {}).record(40);
    clock.set(T0 + 3500);
    const loaded = storeFromSnapshot(store.snapshot());
    assert.equal(loaded.aggregate(q('throughput', 'iterations')), 10);
  });
});

// ---- merging -------------------------------------------------------------------------------------------------

interface Sample {
  at: number;
  metric: 0 | 1 | 2 | 3 | 4;
  value: number;
}

const METRICS: [name: string, type: MetricType, tags: Tags][] = [
  ['http.duration', 'trend', { step: 'list' }],
  ['http.duration', 'trend', { step: 'vote' }],
  ['http.reqs', 'counter', { step: 'vote' }],
  ['http.errors', 'rate', {}],
  ['iteration.duration', 'trend', {}],
];

function feed(store: MetricStore, clock: ReturnType<typeof fakeClock>, samples: readonly Sample[]): void {
  for (const s of samples) {
    clock.set(s.at);
    const [name, type, tags] = METRICS[s.metric]!;
    store
      .handle(name, type, tags)
      .record(type === 'rate' ? s.value % 2 : type === 'counter' ? s.value % 5 : s.value / 1000);
  }
}

describe('mergeResultMetrics', () => {
  it('of two stores equals one store fed both sample sets (histograms, totals, min/max, series)', () => {
    const sample = (start: number): fc.Arbitrary<Sample> => fc.record({
      at: fc.integer({ min: start, max: start + 6000 }),
      metric: fc.constantFrom<Sample['metric']>(0, 1, 2, 3, 4),
      value: fc.integer({ min: 1, max: 3_000_000 }), // µs
    });
    const arbitrary = fc.integer({ min: 0, max: 4 }).chain((shift) => {
      const startB = T0 + shift * 1000 + (shift % 2) * 250; // B may start later, not on an interval boundary
      return fc.tuple(
        fc.constant(startB),
        fc.array(sample(T0), { maxLength: 120 }),
        fc.array(sample(startB), { maxLength: 120 }),
      );
    });
    fc.assert(
      fc.property(arbitrary, ([startB, samplesA, samplesB]) => {
        const byTime = (x: Sample, y: Sample): number => x.at - y.at;
        samplesA.sort(byTime);
        samplesB.sort(byTime);
        const end = T0 + 12_000;
        const clockA = fakeClock(T0);
        const clockB = fakeClock(startB);
        const clockAll = fakeClock(T0);
        const a = createMetricStore({ now: clockA.now });
        const b = createMetricStore({ now: clockB.now });
        const all = createMetricStore({ now: clockAll.now });
        feed(a, clockA, samplesA);
        feed(b, clockB, samplesB);
        feed(all, clockAll, [...samplesA, ...samplesB].sort(byTime));
        for (const c of [clockA, clockB, clockAll]) c.set(end);

        const merged = mergeResultMetrics(a.snapshot(), b.snapshot());
        const expected = all.snapshot();
        assert.equal(merged.startedAt, expected.startedAt);
        assert.equal(merged.intervalMs, expected.intervalMs);
        assert.deepEqual(merged.metrics.map((m) => [m.name, m.tags]), expected.metrics.map((m) => [m.name, m.tags]));
        merged.metrics.forEach((m, i) => {
          const e = expected.metrics[i]!;
          assert.equal(m.type, e.type);
          assert.equal(m.count, e.count);
          assert.ok(Math.abs(m.sum - e.sum) <= 1e-9 * Math.max(1, e.sum), `${m.name} sum ${m.sum} != ${e.sum}`);
          assert.equal(m.min, e.min);
          assert.equal(m.max, e.max);
          assert.equal(m.series.length, e.series.length);
          if (m.type === 'trend') {
            const hm = Histogram.decode(m.histogram!);
            const he = Histogram.decode(e.histogram!);
            assert.equal(hm.count, he.count);
            for (const pct of [0, 50, 90, 99, 100]) assert.equal(hm.percentile(pct), he.percentile(pct));
            m.series.forEach((entry, k) => {
              const want = e.series[k] as [number, number, number, number] | null;
              if (want === null) return assert.equal(entry, null);
              const [count, ...percentiles] = entry as [number, number, number, number];
              assert.equal(count, want[0]);
              // where both shards had samples, a merged percentile is the larger one: an upper bound of the true one,
              // to the interval histograms' resolution (2 significant digits: a part's value may be exact where the
              // whole reports its bucket's upper end)
              percentiles.forEach((p, j) => {
                const truth = want[j + 1]!;
                assert.ok(p >= truth * 0.99 - 1e-9, `interval ${k}, percentile ${j}: ${p} < ${truth}`);
              });
            });
          } else {
            assert.deepEqual(m.series, e.series);
          }
        });
        // and every aggregate a threshold can read agrees
        assertSameAnswers(
          storeFromSnapshot(merged, { elapsedMs: end - T0 }),
          storeFromSnapshot(expected, { elapsedMs: end - T0 }),
          queriesFor(expected),
        );
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('aligns series by timestamp and keeps interval percentiles where only one side has samples', () => {
    const clockA = fakeClock(T0);
    const clockB = fakeClock(T0 + 2000);
    const a = createMetricStore({ now: clockA.now });
    const b = createMetricStore({ now: clockB.now });
    a.handle('http.duration', 'trend', {}).record(10);
    b.handle('http.duration', 'trend', {}).record(20);
    clockA.set(T0 + 2100);
    a.handle('http.duration', 'trend', {}).record(30);
    b.handle('http.duration', 'trend', {}).record(40);
    clockB.set(T0 + 2100);
    const merged = mergeResultMetrics(b.snapshot(), a.snapshot());
    assert.equal(merged.startedAt, T0);
    // interval 2: a's 30 and b's 20 and 40; merged percentiles are the higher of the two sides'
    assert.deepEqual(merged.metrics[0]!.series, [[1, 10, 10, 10], null, [3, 30, 40, 40]]);
    assert.equal(merged.metrics[0]!.count, 4);
    assert.equal(merged.metrics[0]!.sum, 100);
  });

  it('gauges take the later value; metrics of one side only are kept', () => {
    const clockA = fakeClock(T0);
    const clockB = fakeClock(T0);
    const a = createMetricStore({ now: clockA.now });
    const b = createMetricStore({ now: clockB.now });
    a.handle('vus', 'gauge', {}).record(5);
    b.handle('vus', 'gauge', {}).record(9);
    clockA.set(T0 + 1500);
    a.handle('vus', 'gauge', {}).record(2);
    b.handle('only.b', 'counter', {}).record(3);
    clockB.set(T0 + 1500);
    const merged = mergeResultMetrics(a.snapshot(), b.snapshot());
    const vus = find(merged, 'vus');
    assert.equal(vus.sum, 2, 'a recorded last');
    assert.deepEqual(vus.series, [9, 2]);
    assert.equal(vus.count, 3);
    assert.equal(vus.min, 2);
    assert.equal(vus.max, 9);
    assert.deepEqual(find(merged, 'only.b').series, [3, null]);
    assert.equal(find(mergeResultMetrics(b.snapshot(), a.snapshot()), 'vus').sum, 2, 'whatever the order');
  });

  it('refuses results with different intervals (E_USAGE)', () => {
    const a = createMetricStore({ now: fakeClock().now, intervalMs: 1000 }).snapshot();
    const b = createMetricStore({ now: fakeClock().now, intervalMs: 500 }).snapshot();
    assert.throws(
      () => mergeResultMetrics(a, b),
      (error: unknown) => error instanceof PerfyError && error.code === 'E_USAGE',
    );
  });

  it('merging with an empty result changes nothing', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now });
    store.handle('http.duration', 'trend', { step: 'x' }).record(12);
    store.handle('checks', 'rate', {}).record(1);
    const snapshot = store.snapshot();
    const empty: ResultMetrics = { startedAt: T0, intervalMs: 1000, metrics: [] };
    assert.deepEqual(mergeResultMetrics(snapshot, empty), snapshot);
    assert.deepEqual(mergeResultMetrics(empty, snapshot), snapshot);
  });
});

describe('samples', () => {
  it('keep the first of each kind and tag set, whatever the order of the tags; the snapshot has them ' +
      'oldest first', () => {
    const clock = fakeClock();
    const store = createMetricStore({ now: clock.now });
    assert.equal(store.snapshot().samples, undefined, 'no samples, no field');
    store.sample('error', { step: 'a', code: '42P01' }, 'relation "x" does not exist');
    clock.advance(10);
    store.sample('error', { code: '42P01', step: 'a' }, 'a later message of the same step and code');
    store.sample('error', { step: 'a', code: '42601' }, 'syntax error');
    store.sample('plan', { step: 'a', code: '42P01' }, 'Seq Scan', { cost: 3 });
    const samples = store.snapshot().samples!;
    assert.deepEqual(samples.map((s) => [s.kind, s.message, s.at]), [
      ['error', 'relation "x" does not exist', T0],
      ['error', 'syntax error', T0 + 10],
      ['plan', 'Seq Scan', T0 + 10],
    ]);
    assert.deepEqual(samples[2]!.detail, { cost: 3 });
  });

  it('are at most MAX_SAMPLES', () => {
    const store = createMetricStore();
    for (let i = 0; i < MAX_SAMPLES + 50; i++) store.sample('error', { step: `s${i}` }, 'boom');
    assert.equal(store.snapshot().samples!.length, MAX_SAMPLES);
    assert.equal(store.snapshot().samples![0]!.tags['step'], 's0');
  });

  it('merge: the earlier of two with the same kind and tags, the others of both, oldest first', () => {
    const clockA = fakeClock();
    const clockB = fakeClock();
    const a = createMetricStore({ now: clockA.now });
    const b = createMetricStore({ now: clockB.now });
    clockA.advance(20);
    a.sample('error', { step: 'x', code: 'refused' }, 'from a, later');
    a.sample('error', { step: 'only-a', code: 'timeout' }, 'only in a');
    clockB.advance(5);
    b.sample('error', { code: 'refused', step: 'x' }, 'from b, earlier');
    const merged = mergeResultMetrics(a.snapshot(), b.snapshot());
    assert.deepEqual(merged.samples!.map((s) => s.message), ['from b, earlier', 'only in a']);
    assert.equal(mergeResultMetrics(createMetricStore().snapshot(), createMetricStore().snapshot()).samples, undefined);
  });
});
