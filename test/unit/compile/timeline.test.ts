// Tests of the pure load timeline: exact rates, counts, arrival times, spans and plan lines for known load
// shapes, plus fast-check properties of the arrival schedule for random open stage lists. No clock, no timers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildTimeline,
  describeTimeline,
  type ClosedStage,
  type ClosedTimeline,
  type OpenStage,
  type OpenTimeline,
  type StageSpan,
} from '../../../engine/compile/timeline.js';

function open(stages: OpenStage[], arrivals: 'uniform' | 'poisson' = 'uniform'): OpenTimeline {
  const timeline = buildTimeline({ model: 'open', stages, arrivals, maxVus: 100 });
  assert.equal(timeline.model, 'open');
  return timeline as OpenTimeline;
}

function closed(stages: ClosedStage[]): ClosedTimeline {
  const timeline = buildTimeline({ model: 'closed', stages });
  assert.equal(timeline.model, 'closed');
  return timeline as ClosedTimeline;
}

function span(
  index: number, kind: string, startMs: number, endMs: number, from: number, to: number, iterations?: number,
): StageSpan {
  return iterations === undefined
    ? { index, kind, startMs, endMs, from, to }
    : { index, kind, startMs, endMs, from, to, iterations };
}

/** Irrational arrival times (square roots) are compared to 1e-9 ms; every other value is compared exactly. */
function assertTimes(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length, `${actual.length} times, expected ${expected.length}`);
  actual.forEach((t, i) => {
    const want = expected[i]!;
    assert.ok(Math.abs(t - want) <= 1e-9, `arrival ${i}: ${t} !== ${want}`);
  });
}

const sqrt = Math.sqrt;

interface OpenCase {
  name: string;
  stages: OpenStage[];
  durationMs: number;
  plannedIterations: number;
  rateAt: [number, number][];
  expectedIterations: [number, number][];
  first: number[];
  last: number[];
  spans: StageSpan[];
  lines: string[];
}

const MORNING_PEAK: OpenStage[] = [
  { kind: 'ramp', durationMs: 20_000, from: 5, to: 200 },
  { kind: 'rate', durationMs: 30_000, rate: 200 },
  { kind: 'spike', durationMs: 5_000, to: 800, riseMs: 1_000 },
  { kind: 'ramp', durationMs: 10_000, to: 5 }, // from the pre-spike baseline 200/s
];

const OPEN_CASES: OpenCase[] = [
  {
    name: 'constant 10/s for 1 s',
    stages: [{ kind: 'rate', durationMs: 1000, rate: 10 }],
    durationMs: 1000,
    plannedIterations: 10,
    rateAt: [[-1, 0], [0, 10], [999.9, 10], [1000, 0]],
    expectedIterations: [[-5, 0], [0, 0], [50, 0.5], [500, 5], [1000, 10], [2000, 10]],
    first: [0, 100, 200],
    last: [700, 800, 900],
    spans: [span(0, 'rate', 0, 1000, 10, 10, 10)],
    lines: ['0s–1s  rate  10/s  (10 iterations)'],
  },
  {
    name: 'ramp 0→10/s over 1 s',
    stages: [{ kind: 'ramp', durationMs: 1000, from: 0, to: 10 }],
    durationMs: 1000,
    plannedIterations: 5,
    rateAt: [[0, 0], [250, 2.5], [500, 5], [999, 9.99]],
    expectedIterations: [[500, 1.25], [1000, 5]],
    first: [0, sqrt(200_000), sqrt(400_000)], // t_k = √(200000·k) ms
    last: [sqrt(600_000), sqrt(800_000)],
    spans: [span(0, 'ramp', 0, 1000, 0, 10, 5)],
    lines: ['0s–1s  ramp  0/s → 10/s  (5 iterations)'],
  },
  {
    name: 'ramp down 200→5/s over 20 s',
    stages: [{ kind: 'ramp', durationMs: 20_000, from: 200, to: 5 }],
    durationMs: 20_000,
    plannedIterations: 2050,
    rateAt: [[0, 200], [10_000, 102.5], [19_000, 14.75]],
    expectedIterations: [[10_000, 1512.5], [20_000, 2050]],
    // t_k = 2000k / (200 + √(40000 − 19.5k))
    first: [0, 2000 / (200 + sqrt(40_000 - 19.5)), 4000 / (200 + sqrt(40_000 - 39))],
    last: [2049 * 2000 / (200 + sqrt(40_000 - 19.5 * 2049))],
    spans: [span(0, 'ramp', 0, 20_000, 200, 5, 2050)],
    lines: ['0s–20s  ramp  200/s → 5/s  (2,050 iterations)'],
  },
  {
    name: 'morning peak: ramp, rate, spike with rise, ramp down from the pre-spike level',
    stages: MORNING_PEAK,
    durationMs: 65_000,
    plannedIterations: 12_775, // 2050 + 6000 + 500 + 3200 + 1025
    rateAt: [
      [0, 5], [10_000, 102.5], [20_000, 200], [50_000, 200], [50_500, 500],
      [51_000, 800], [54_999, 800], [55_000, 200], [60_000, 102.5], [65_000, 0],
    ],
    expectedIterations: [
      [20_000, 2050], [50_000, 8050], [50_500, 8225], [51_000, 8550], [55_000, 11_750], [65_000, 12_775],
    ],
    // ramp 5→200/s: t_k = 2000k / (5 + √(25 + 19.5k)); k = 2 gives 4000/13 exactly
    first: [0, 2000 / (5 + sqrt(44.5)), 4000 / 13],
    // last ramp 200→5/s from count 11750: t = 55000 + 2000a / (200 + √(40000 − 39a)); a = 1024 gives √64
    last: [
      55_000 + 2044_000 / (200 + sqrt(40_000 - 39 * 1022)),
      55_000 + 2046_000 / (200 + sqrt(40_000 - 39 * 1023)),
      55_000 + 2048_000 / 208,
    ],
    spans: [
      span(0, 'ramp', 0, 20_000, 5, 200, 2050),
      span(1, 'rate', 20_000, 50_000, 200, 200, 6000),
      span(2, 'spike', 50_000, 51_000, 200, 800, 500),
      span(2, 'spike', 51_000, 55_000, 800, 800, 3200),
      span(3, 'ramp', 55_000, 65_000, 200, 5, 1025),
    ],
    lines: [
      '0s–20s  ramp  5/s → 200/s  (2,050 iterations)',
      '20s–50s  rate  200/s  (6,000 iterations)',
      '50s–51s  spike  200/s → 800/s  (500 iterations)',
      '51s–55s  spike  800/s  (3,200 iterations)',
      '55s–1m5s  ramp  200/s → 5/s  (1,025 iterations)',
    ],
  },
  {
    name: 'instant spike, then a ramp without `from` continues from the pre-spike baseline',
    stages: [
      { kind: 'rate', durationMs: 1000, rate: 100 },
      { kind: 'spike', durationMs: 1000, to: 500, riseMs: 0 },
      { kind: 'ramp', durationMs: 1000, to: 300 },
    ],
    durationMs: 3000,
    plannedIterations: 800,
    rateAt: [[999, 100], [1000, 500], [1999, 500], [2000, 100], [2500, 200]],
    expectedIterations: [[1000, 100], [1500, 350], [2000, 600], [2500, 675], [3000, 800]],
    first: [0, 10, 20],
    last: [2000 + 398_000 / (100 + sqrt(10_000 + 400 * 199))],
    spans: [
      span(0, 'rate', 0, 1000, 100, 100, 100),
      span(1, 'spike', 1000, 2000, 500, 500, 500),
      span(2, 'ramp', 2000, 3000, 100, 300, 200),
    ],
    lines: [
      '0s–1s  rate  100/s  (100 iterations)',
      '1s–2s  spike  500/s  (500 iterations)',
      '2s–3s  ramp  100/s → 300/s  (200 iterations)',
    ],
  },
  {
    name: 'spike whose rise is longer than the stage is cut where the stage ends',
    stages: [{ kind: 'spike', durationMs: 1000, to: 1000, riseMs: 2000 }],
    durationMs: 1000,
    plannedIterations: 250,
    rateAt: [[500, 250], [999, 499.5]],
    expectedIterations: [[1000, 250]],
    first: [0, sqrt(4000)], // rises at 0.5/s per ms: t_k = √(4000k)
    last: [sqrt(4000 * 249)],
    spans: [span(0, 'spike', 0, 1000, 0, 500, 250)],
    lines: ['0s–1s  spike  0/s → 500/s  (250 iterations)'],
  },
  {
    name: 'pause and a 0/s stage hold no arrivals; the first is at the start of the next stage',
    stages: [
      { kind: 'pause', durationMs: 1000 },
      { kind: 'rate', durationMs: 1000, rate: 0 },
      { kind: 'rate', durationMs: 1000, rate: 10 },
      { kind: 'pause', durationMs: 500 },
    ],
    durationMs: 3500,
    plannedIterations: 10,
    rateAt: [[0, 0], [1500, 0], [2000, 10], [3200, 0]],
    expectedIterations: [[1999, 0], [2050, 0.5], [3000, 10], [3500, 10]],
    first: [2000, 2100],
    last: [2900],
    spans: [
      span(0, 'pause', 0, 1000, 0, 0, 0),
      span(1, 'rate', 1000, 2000, 0, 0, 0),
      span(2, 'rate', 2000, 3000, 10, 10, 10),
      span(3, 'pause', 3000, 3500, 0, 0, 0),
    ],
    lines: [
      '0s–1s  pause  0/s  (0 iterations)',
      '1s–2s  rate  0/s  (0 iterations)',
      '2s–3s  rate  10/s  (10 iterations)',
      '3s–3.5s  pause  0/s  (0 iterations)',
    ],
  },
  {
    name: 'ramp to 0 then a pause: the count reaches 5 at the ramp end, no arrival in the pause',
    stages: [
      { kind: 'ramp', durationMs: 1000, from: 10, to: 0 },
      { kind: 'pause', durationMs: 1000 },
    ],
    durationMs: 2000,
    plannedIterations: 5,
    rateAt: [[500, 5], [1000, 0]],
    expectedIterations: [[500, 3.75], [1000, 5], [1500, 5]],
    first: [0, 2000 / (10 + sqrt(80))],
    last: [8000 / (10 + sqrt(20))],
    spans: [span(0, 'ramp', 0, 1000, 10, 0, 5), span(1, 'pause', 1000, 2000, 0, 0, 0)],
    lines: ['0s–1s  ramp  10/s → 0/s  (5 iterations)', '1s–2s  pause  0/s  (0 iterations)'],
  },
  {
    name: 'bursts at the start (instant) and at the end (spread), merged with the baseline',
    stages: [
      { kind: 'burst', iterations: 5, withinMs: 0 },
      { kind: 'rate', durationMs: 1000, rate: 10 },
      { kind: 'burst', iterations: 4, withinMs: 1000 },
    ],
    durationMs: 2000,
    plannedIterations: 29, // 5 + 10 + 10 baseline during the last burst + 4
    rateAt: [[0, 10], [1500, 10], [2000, 0]],
    // [0, t): nothing before 0; the instant burst is released just after; at 1500 the burst has released i = 0, 1
    expectedIterations: [[0, 0], [0.5, 5.005], [1000, 15], [1000.5, 16.005], [1500, 22], [1500.5, 23.005], [2000, 29]],
    first: [0, 0, 0, 0, 0, 0, 100],
    last: [1500, 1600, 1700, 1750, 1800, 1900],
    spans: [
      span(0, 'burst', 0, 0, 0, 0, 5),
      span(1, 'rate', 0, 1000, 10, 10, 10),
      span(2, 'burst', 1000, 2000, 10, 10, 14),
    ],
    lines: [
      '0s–0s  burst  +5 at once  (5 iterations)',
      '0s–1s  rate  10/s  (10 iterations)',
      '1s–2s  burst  +4 over 1s on 10/s  (14 iterations)',
    ],
  },
  {
    name: 'an instant burst that ends the run starts at exactly durationMs',
    stages: [
      { kind: 'rate', durationMs: 1000, rate: 10 },
      { kind: 'burst', iterations: 3, withinMs: 0 },
    ],
    durationMs: 1000,
    plannedIterations: 13,
    rateAt: [[999, 10], [1000, 0]],
    expectedIterations: [[1000, 10], [1000.001, 13]],
    first: [0, 100],
    last: [900, 1000, 1000, 1000],
    spans: [span(0, 'rate', 0, 1000, 10, 10, 10), span(1, 'burst', 1000, 1000, 10, 10, 3)],
    lines: ['0s–1s  rate  10/s  (10 iterations)', '1s–1s  burst  +3 at once on 10/s  (3 iterations)'],
  },
  {
    name: 'stages of duration 0 take no time and no span but still set the baseline',
    stages: [
      { kind: 'rate', durationMs: 0, rate: 50 },
      { kind: 'ramp', durationMs: 0, to: 40 },
      { kind: 'spike', durationMs: 0, to: 900, riseMs: 0 },
      { kind: 'ramp', durationMs: 1000, to: 0 }, // from the baseline 40/s left by the 0 s ramp
      { kind: 'pause', durationMs: 0 },
      { kind: 'burst', iterations: 0, withinMs: 0 },
    ],
    durationMs: 1000,
    plannedIterations: 20,
    rateAt: [[0, 40], [500, 20]],
    expectedIterations: [[500, 15], [1000, 20]],
    first: [0, 2000 / (40 + sqrt(1600 - 80))],
    last: [38_000 / (40 + sqrt(1600 - 80 * 19))],
    spans: [span(3, 'ramp', 0, 1000, 40, 0, 20)],
    lines: ['0s–1s  ramp  40/s → 0/s  (20 iterations)'],
  },
  {
    name: 'a fractional rate: 100/m for 1 m is exactly 100 arrivals, and the next stage starts on time',
    stages: [
      { kind: 'rate', durationMs: 60_000, rate: 100 / 60 },
      { kind: 'rate', durationMs: 1000, rate: 2 },
    ],
    durationMs: 61_000,
    plannedIterations: 102,
    rateAt: [[30_000, 100 / 60], [60_000, 2]],
    expectedIterations: [[60_000, 100], [61_000, 102]],
    first: [0, 600, 1200],
    last: [59_400, 60_000, 60_500],
    spans: [span(0, 'rate', 0, 60_000, 100 / 60, 100 / 60, 100), span(1, 'rate', 60_000, 61_000, 2, 2, 2)],
    lines: ['0s–1m  rate  1.667/s  (100 iterations)', '1m–1m1s  rate  2/s  (2 iterations)'],
  },
];

describe('buildTimeline: open model', () => {
  for (const c of OPEN_CASES) {
    it(c.name, () => {
      const t = open(c.stages);
      assert.equal(t.durationMs, c.durationMs);
      assert.equal(t.arrivals, 'uniform');
      assert.equal(t.maxVus, 100);
      assert.equal(t.plannedIterations, c.plannedIterations);
      for (const [at, rate] of c.rateAt) assert.equal(t.rateAt(at), rate, `rateAt(${at})`);
      for (const [at, count] of c.expectedIterations) {
        assert.ok(
          Math.abs(t.expectedIterations(at) - count) < 1e-9,
          `expectedIterations(${at}) = ${t.expectedIterations(at)}, expected ${count}`,
        );
      }
      const times = [...t.arrivalTimes()];
      assert.equal(times.length, c.plannedIterations);
      assertTimes(times.slice(0, c.first.length), c.first);
      assertTimes(times.slice(times.length - c.last.length), c.last);
      assert.deepEqual(t.spans, c.spans);
      assert.deepEqual(describeTimeline(t), c.lines);
    });
  }

  it('counts at stage boundaries are exact integers, not float neighbours', () => {
    const t = open(MORNING_PEAK);
    for (const [at, count] of [[20_000, 2050], [50_000, 8050], [55_000, 11_750], [65_000, 12_775]] as const) {
      assert.equal(t.expectedIterations(at), count);
    }
  });

  it('1 h at 10k/s: 36,000,000 iterations, planned in O(stages) and generated lazily', () => {
    const started = performance.now();
    const t = open([{ kind: 'rate', durationMs: 3_600_000, rate: 10_000 }]);
    assert.equal(t.plannedIterations, 36_000_000);
    assert.equal(t.expectedIterations(1_800_000), 18_000_000);
    assert.equal(t.rateAt(3_599_999), 10_000);
    assert.deepEqual(describeTimeline(t), ['0s–1h  rate  10000/s  (36,000,000 iterations)']);
    const arrivals = t.arrivalTimes();
    assert.deepEqual([arrivals.next().value, arrivals.next().value, arrivals.next().value], [0, 0.1, 0.2]);
    assert.ok(performance.now() - started < 100, 'planning must not walk the arrivals');
  });

  it('an empty stage list is an empty plan', () => {
    const t = open([]);
    assert.equal(t.durationMs, 0);
    assert.equal(t.plannedIterations, 0);
    assert.equal(t.rateAt(0), 0);
    assert.equal(t.expectedIterations(100), 0);
    assert.deepEqual([...t.arrivalTimes()], []);
    assert.deepEqual(t.spans, []);
  });
});

describe('buildTimeline: poisson arrivals', () => {
  const stages: OpenStage[] = [
    { kind: 'ramp', durationMs: 2000, from: 0, to: 1000 },
    { kind: 'rate', durationMs: 8000, rate: 1000 },
    { kind: 'burst', iterations: 7, withinMs: 0 },
    { kind: 'rate', durationMs: 1000, rate: 0 },
  ];

  it('plans the expected count, rounded, and the same rates as uniform arrivals', () => {
    const t = open(stages, 'poisson');
    assert.equal(t.arrivals, 'poisson');
    assert.equal(t.plannedIterations, 9007);
    assert.equal(t.expectedIterations(11_000), 9007);
    assert.equal(t.rateAt(1000), 500);
    assert.deepEqual(describeTimeline(t), [
      '0s–2s  ramp  0/s → 1000/s  (~1,000 iterations)',
      '2s–10s  rate  1000/s  (~8,000 iterations)',
      '10s–10s  burst  +7 at once on 1000/s  (~7 iterations)',
      '10s–11s  rate  0/s  (~0 iterations)',
    ]);
  });

  it('is reproducible per seed, ascending, in the run, and close to the expected count', () => {
    const t = open(stages, 'poisson');
    const first = [...t.arrivalTimes()];
    assert.deepEqual([...t.arrivalTimes(1)], first, 'default seed is 1');
    const other = [...t.arrivalTimes(42)];
    assert.notDeepEqual(other, first);
    for (const times of [first, other]) {
      // 9000 continuous arrivals expected, σ ≈ 95: ±6σ never fails by chance.
      assert.ok(Math.abs(times.length - 9007) < 600, `${times.length} arrivals`);
      assert.ok(times[0]! > 0, 'the first arrival comes after the first draw');
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!);
      assert.ok(times.every((x) => x <= 10_000), 'no arrival in the 0/s stage');
      assert.equal(times.filter((x) => x === 10_000).length, 7, 'the burst');
      // Time rescaling: the ramp holds C(2s) = 1000 of the 9000 continuous arrivals on average.
      const inRamp = times.filter((x) => x < 2000).length;
      assert.ok(Math.abs(inRamp - 1000) < 200, `${inRamp} arrivals in the ramp`);
    }
  });
});

describe('buildTimeline: closed model', () => {
  interface ClosedCase {
    name: string;
    stages: ClosedStage[];
    durationMs: number;
    usersAt: [number, number][];
    maxUsers: number;
    userSeconds: number;
    spans: StageSpan[];
    lines: string[];
  }
  const CASES: ClosedCase[] = [
    {
      name: 'ramp up, hold, ramp down (floor of the linear target)',
      stages: [{ kind: 'users', users: 50, rampUpMs: 10_000, holdMs: 60_000, rampDownMs: 10_000 }],
      durationMs: 80_000,
      usersAt: [
        [-1, 0], [0, 0], [199, 0], [200, 1], [1000, 5], [1999, 9], [2000, 10], [9999, 49],
        [10_000, 50], [69_999, 50], [70_000, 50], [70_001, 49], [75_000, 25], [79_999, 0], [80_000, 0],
      ],
      maxUsers: 50,
      userSeconds: 3490, // 10 s × (0+…+49)/50 + 60 s × 50 + 10 s × (49+…+0)/50 = 245 + 3000 + 245
      spans: [
        span(0, 'users', 0, 10_000, 0, 50),
        span(0, 'users', 10_000, 70_000, 50, 50),
        span(0, 'users', 70_000, 80_000, 50, 0),
      ],
      lines: ['0s–10s  users  0 → 50 users', '10s–1m10s  users  50 users', '1m10s–1m20s  users  50 → 0 users'],
    },
    {
      name: 'two chained users stages: the second ramps from 10',
      stages: [
        { kind: 'users', users: 10, rampUpMs: 5000, holdMs: 10_000, rampDownMs: 0 },
        { kind: 'users', users: 50, rampUpMs: 10_000, holdMs: 10_000, rampDownMs: 0 },
      ],
      durationMs: 35_000,
      usersAt: [
        [2500, 5], [14_999, 10], [15_000, 10], [20_000, 30], [24_999, 49], [25_000, 50], [34_999, 50], [35_000, 0],
      ],
      maxUsers: 50,
      userSeconds: 917.5, // 5 × 9/2 + 10 × 10 + 10 × (10+…+49)/40 + 10 × 50 = 22.5 + 100 + 295 + 500
      spans: [
        span(0, 'users', 0, 5000, 0, 10),
        span(0, 'users', 5000, 15_000, 10, 10),
        span(1, 'users', 15_000, 25_000, 10, 50),
        span(1, 'users', 25_000, 35_000, 50, 50),
      ],
      lines: [
        '0s–5s  users  0 → 10 users',
        '5s–15s  users  10 users',
        '15s–25s  users  10 → 50 users',
        '25s–35s  users  50 users',
      ],
    },
    {
      name: 'a pause drops to 0 and the next stage ramps from 0; an instant ramp up jumps',
      stages: [
        { kind: 'users', users: 20, rampUpMs: 0, holdMs: 10_000, rampDownMs: 0 },
        { kind: 'pause', durationMs: 5000 },
        { kind: 'users', users: 20, rampUpMs: 10_000, holdMs: 0, rampDownMs: 0 },
      ],
      durationMs: 25_000,
      usersAt: [[0, 20], [9999, 20], [10_000, 0], [14_999, 0], [15_000, 0], [20_000, 10], [24_999, 19]],
      maxUsers: 20,
      userSeconds: 295, // 200 + 0 + 10 × 19/2
      spans: [
        span(0, 'users', 0, 10_000, 20, 20),
        span(1, 'pause', 10_000, 15_000, 0, 0),
        span(2, 'users', 15_000, 25_000, 0, 20),
      ],
      lines: ['0s–10s  users  20 users', '10s–15s  pause  0 users', '15s–25s  users  0 → 20 users'],
    },
    {
      name: 'a run that ends on a ramp up never reaches its target (half-open spans)',
      stages: [{ kind: 'users', users: 20, rampUpMs: 10_000, holdMs: 0, rampDownMs: 0 }],
      durationMs: 10_000,
      usersAt: [[9999, 19], [10_000, 0]],
      maxUsers: 19,
      userSeconds: 95,
      spans: [span(0, 'users', 0, 10_000, 0, 20)],
      lines: ['0s–10s  users  0 → 20 users'],
    },
    {
      name: 'zero durations are skipped without dividing by zero',
      stages: [
        { kind: 'users', users: 30, rampUpMs: 0, holdMs: 0, rampDownMs: 0 },
        { kind: 'pause', durationMs: 0 },
        { kind: 'users', users: 10, rampUpMs: 1000, holdMs: 0, rampDownMs: 1000 },
      ],
      durationMs: 2000,
      usersAt: [[0, 0], [500, 5], [1000, 10], [1500, 5], [1999, 0]],
      maxUsers: 10,
      userSeconds: 9, // 1 s × 9/2 twice
      spans: [span(2, 'users', 0, 1000, 0, 10), span(2, 'users', 1000, 2000, 10, 0)],
      lines: ['0s–1s  users  0 → 10 users', '1s–2s  users  10 → 0 users'],
    },
  ];

  for (const c of CASES) {
    it(c.name, () => {
      const t = closed(c.stages);
      assert.equal(t.durationMs, c.durationMs);
      assert.equal(t.plannedIterations, null);
      for (const [at, users] of c.usersAt) assert.equal(t.usersAt(at), users, `usersAt(${at})`);
      assert.equal(t.maxUsers, c.maxUsers);
      assert.equal(t.userSeconds, c.userSeconds);
      assert.deepEqual(t.spans, c.spans);
      assert.deepEqual(describeTimeline(t), c.lines);
    });
  }

  it('userSeconds is the integral of usersAt (checked by a 1 ms Riemann sum, exact for a step function on ms)', () => {
    const t = closed([
      { kind: 'users', users: 7, rampUpMs: 3000, holdMs: 1000, rampDownMs: 0 },
      { kind: 'users', users: 3, rampUpMs: 2000, holdMs: 500, rampDownMs: 1500 },
    ]);
    let userMs = 0;
    for (let ms = 0; ms < t.durationMs; ms++) userMs += t.usersAt(ms);
    assert.equal(t.userSeconds, 28); // 9 + 7 + 9 + 1.5 + 1.5
    // Inside ramps the steps fall between whole milliseconds: at most one user·ms off per step.
    assert.ok(Math.abs(userMs / 1000 - t.userSeconds) < 0.02, `${userMs / 1000} vs ${t.userSeconds}`);
  });
});

describe('buildTimeline: properties of random open stage lists', () => {
  const rate = fc.oneof(fc.integer({ min: 0, max: 150 }), fc.double({ min: 0, max: 150, noNaN: true }));
  const duration = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 4000 }),
    fc.double({ min: 0.5, max: 4000, noNaN: true }),
  );
  const stage: fc.Arbitrary<OpenStage> = fc.oneof(
    fc.record({ kind: fc.constant('rate' as const), durationMs: duration, rate }),
    fc.record({ kind: fc.constant('ramp' as const), durationMs: duration, from: rate, to: rate }),
    fc.record({ kind: fc.constant('ramp' as const), durationMs: duration, to: rate }),
    fc.record({
      kind: fc.constant('spike' as const), durationMs: duration, to: rate, riseMs: fc.oneof(fc.constant(0), duration),
    }),
    fc.record({
      kind: fc.constant('burst' as const),
      iterations: fc.integer({ min: 0, max: 40 }),
      withinMs: fc.oneof(fc.constant(0), duration),
    }),
    fc.record({ kind: fc.constant('pause' as const), durationMs: duration }),
  );
  const stages = fc.array(stage, { minLength: 1, maxLength: 6 });
  /** The one documented exception to arrivals in [0, durationMs): an instant burst that ends the run. */
  const instantBurstAtEnd = (t: OpenTimeline): boolean =>
    t.spans.some((s) => s.kind === 'burst' && s.startMs === s.endMs && s.startMs === t.durationMs);

  it('uniform: ascending, within the run, exactly plannedIterations, consistent with expectedIterations and ' +
      'spans', () => {
    const probeTimes = fc.array(fc.double({ min: -100, max: 30_000, noNaN: true }), { maxLength: 20 });
    fc.assert(
      fc.property(stages, probeTimes, (list, probes) => {
        const t = open(list);
        const times = [...t.arrivalTimes()];
        assert.equal(times.length, t.plannedIterations);
        const endsOnInstantBurst = instantBurstAtEnd(t);
        let previous = -Infinity;
        for (const time of times) {
          assert.ok(time >= previous, 'ascending');
          assert.ok(time >= 0, 'not before the start');
          assert.ok(
            time < t.durationMs || (endsOnInstantBurst && time === t.durationMs),
            `${time} in [0, ${t.durationMs})`,
          );
          previous = time;
        }
        assert.equal(t.spans.reduce((sum, s) => sum + (s.iterations ?? 0), 0), t.plannedIterations, 'spans add up');
        const atArrivals = times.filter((_, i) => i % 7 === 0);
        let previousCount = -Infinity;
        for (const probe of [...probes, ...atArrivals].sort((a, b) => a - b)) {
          const expected = t.expectedIterations(probe);
          assert.ok(expected >= previousCount, 'expectedIterations is non-decreasing');
          previousCount = expected;
          // The arrivals before t are ceil(expectedIterations(t)), except where the 1e-9 snap rounded C(t) down
          // to the count k of an arrival that has just started (tiny rates make that window wide).
          let before = 0;
          while (before < times.length && times[before]! < probe) before++;
          const snappedJustAfterArrival = Number.isInteger(expected) && before === expected + 1;
          assert.ok(
            before === Math.ceil(expected) || snappedJustAfterArrival,
            `${before} arrivals before ${probe}, expected ${expected}`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('poisson: ascending and within the run', () => {
    fc.assert(
      fc.property(stages, fc.integer(), (list, seed) => {
        const t = open(list, 'poisson');
        let previous = -Infinity;
        const endsOnInstantBurst = instantBurstAtEnd(t);
        for (const time of t.arrivalTimes(seed)) {
          assert.ok(time >= previous && time >= 0);
          assert.ok(time < t.durationMs || (endsOnInstantBurst && time === t.durationMs));
          previous = time;
        }
      }),
      { numRuns: 60 },
    );
  });
});
