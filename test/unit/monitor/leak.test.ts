import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLeakDetector, theilSen, type LeakOptions, type LeakVerdict } from '../../../engine/monitor/leak.js';
import { mulberry32 } from '../../../engine/random.js';
import { parseSizeRate } from '../../../engine/units.js';

const MB = 1e6;
const LIMIT = parseSizeRate('10MB/min')!; // the seed's max_growth, bytes per second

interface Series {
  /** RSS at time t (ms), before noise. */
  rss(t: number): number;
  durationMs: number;
  intervalMs: number;
  /** Uniform noise of ± this many bytes. */
  noise: number;
  seed?: number;
}

/** Feeds a synthetic series to a detector; every verdict, with its time. */
function feed(series: Series, options: Partial<LeakOptions> = {}): { t: number; v: LeakVerdict }[] {
  const detector = createLeakDetector({ windowMs: 30_000, maxGrowthBytesPerSec: LIMIT, ...options });
  const random = mulberry32(series.seed ?? 1);
  const verdicts: { t: number; v: LeakVerdict }[] = [];
  for (let t = 0; t <= series.durationMs; t += series.intervalMs) {
    detector.add(t, series.rss(t) + (random() * 2 - 1) * series.noise);
    verdicts.push({ t, v: detector.verdict() });
  }
  return verdicts;
}

/** The largest raw Theil–Sen slope (bytes/min) over the samples of any full window: what a naive rule sees. */
function naiveMaxGrowth(series: Series, windowMs: number): number {
  const random = mulberry32(series.seed ?? 1);
  const points: { t: number; floor: number }[] = [];
  for (let t = 0; t <= series.durationMs; t += series.intervalMs) {
    points.push({ t, floor: series.rss(t) + (random() * 2 - 1) * series.noise });
  }
  let max = -Infinity;
  for (let end = 0; end < points.length; end++) {
    if (points[end]!.t < windowMs) continue;
    const inWindow = points.filter((p) => p.t > points[end]!.t - windowMs && p.t <= points[end]!.t);
    max = Math.max(max, theilSen(inWindow) * 60_000);
  }
  return max;
}

const sawtooth = (amplitude: number, periodMs: number) => (t: number): number =>
  200 * MB + amplitude * ((t % periodMs) / periodMs);

describe('leak detection', () => {
  it('flags linear growth of 2 MB/s with noise within its window, at its rate', () => {
    const linear = (t: number): number => 100 * MB + 2 * MB * (t / 1000);
    const verdicts = feed({ rss: linear, durationMs: 60_000, intervalMs: 250, noise: 5 * MB });
    const first = verdicts.find(({ v }) => v.leaking);
    assert.ok(first, 'never flagged');
    // Ready once the floors (7.5 s of samples each) cover 90 % of the 30 s window; flagged on that verdict.
    assert.ok(first.t <= 34_750, `flagged at ${first.t} ms`);
    assert.equal(verdicts.find(({ v }) => v.ready)!.t, first.t);
    assert.equal(first.v.since, 7500);
    assert.equal(first.v.detectedMs, first.t);
    for (const { v } of verdicts.filter(({ v }) => v.ready)) {
      assert.ok(v.leaking);
      // Within 15 %: the noise (±5 MB) moves the lowest floor of each half by a few MB.
      assert.ok(Math.abs(v.growthBytesPerMin! / (120 * MB) - 1) < 0.15, `growth ${v.growthBytesPerMin! / MB} MB/min`);
      assert.equal(v.since, 7500); // one episode, from the first full floor
    }
  });

  it('does not flag a sawtooth of 200 MB every 5 s without a trend, which a raw slope would', () => {
    for (const seed of [1, 2, 3]) {
      for (const noise of [0, 3 * MB]) {
        const series = { rss: sawtooth(200 * MB, 5000), durationMs: 180_000, intervalMs: 250, noise, seed };
        const verdicts = feed(series).filter(({ v }) => v.ready);
        assert.ok(verdicts.length > 500);
        for (const { t, v } of verdicts) {
          assert.equal(v.leaking, false, `flagged at ${t} ms (seed ${seed}, noise ${noise})`);
          // Below the limit; it may be negative, within the noise of a floor that is the lowest of noisy samples.
          assert.ok(v.growthBytesPerMin! < LIMIT * 60, `growth ${v.growthBytesPerMin! / MB} MB/min`);
        }
        // The test means something: a slope over the raw samples of some window is far above the limit.
        assert.ok(naiveMaxGrowth(series, 30_000) > 10 * LIMIT * 60);
      }
    }
  });

  it('does not flag a sawtooth sampled out of step with it (period 6.1 s, samples every 1.1 s)', () => {
    const series = { rss: sawtooth(200 * MB, 6100), durationMs: 300_000, intervalMs: 1100, noise: 2 * MB };
    const verdicts = feed(series);
    assert.ok(verdicts.some(({ v }) => v.ready));
    assert.ok(verdicts.every(({ v }) => !v.leaking));
    assert.ok(naiveMaxGrowth(series, 30_000) > 10 * LIMIT * 60);
  });

  it('needs a floor longer than the period: a 12 s sawtooth with floorMs 15 s', () => {
    const series = { rss: sawtooth(200 * MB, 12_000), durationMs: 300_000, intervalMs: 1000, noise: 2 * MB };
    const verdicts = feed(series, { windowMs: 60_000, floorMs: 15_000 });
    assert.ok(verdicts.some(({ v }) => v.ready));
    assert.ok(verdicts.every(({ v }) => !v.leaking));
  });

  it('can mistake a sawtooth for growth when the floor is not longer than its period and a sample', () => {
    // The default floor (7.5 s) against a 7.3 s period sampled every 1.1 s: some floors miss the trough. The
    // documented limit, shown so that it stays known; the same series sampled every second is not flagged.
    const series = { rss: sawtooth(200 * MB, 7300), durationMs: 300_000, intervalMs: 1100, noise: 2 * MB };
    assert.ok(feed(series).some(({ v }) => v.leaking));
    assert.ok(feed({ ...series, intervalMs: 1000 }).every(({ v }) => !v.leaking));
  });

  it('sees only its samples: troughs shorter than the interval, aliased, can read as growth in a short window', () => {
    // Teeth of 1.1–1.3 s whose trough lasts 100 ms, sampled every 250 ms: the depth at which each trough is caught
    // drifts with the phase, for seconds at a time. Over an hour: some false verdicts in an 8 s window, none in
    // 30 s. The same teeth resting 300 ms at the trough (longer than the interval): none in either.
    const count = (restMs: number, windowMs: number): number => {
      const random = mulberry32(2);
      const starts: number[] = [];
      for (let t = 0; t < 3_610_000; t += 1100 + restMs - 100 + random() * 200) starts.push(t);
      let tooth = 0;
      const rss = (t: number): number => {
        while (starts[tooth + 1]! <= t) tooth++;
        const phase = t - starts[tooth]!;
        return (phase < restMs ? 44 : Math.min(239, 44 + 39 * Math.ceil((phase - restMs) / 100 + 1e-9))) * MB;
      };
      const detector = createLeakDetector({ windowMs, maxGrowthBytesPerSec: LIMIT });
      let leaking = 0;
      for (let t = 250; t < 3_600_000; t += 250 + (random() - 0.5) * 40) {
        detector.add(t, rss(t));
        if (detector.verdict().leaking) leaking++;
      }
      return leaking;
    };
    assert.ok(count(100, 8000) > 0);
    assert.equal(count(100, 30_000), 0);
    assert.equal(count(300, 8000), 0);
    assert.equal(count(300, 30_000), 0);
  });

  it('flags a sawtooth whose troughs rise (a leak under a collector)', () => {
    const rising = (t: number): number => sawtooth(200 * MB, 5000)(t) + 1 * MB * (t / 1000);
    const series = { rss: rising, durationMs: 300_000, intervalMs: 1000, noise: 2 * MB };
    for (const windowMs of [30_000, 120_000]) {
      const ready = feed(series, { windowMs }).filter(({ v }) => v.ready);
      assert.ok(ready.length > 0 && ready.every(({ v }) => v.leaking));
      // The floor of a rising sawtooth is a staircase, one stair per tooth; with three stairs in a half (a 30 s
      // window) the slope depends on where the stairs fall, 35–68 MB/min here. Twelve stairs: within 10 %.
      const tolerance = windowMs === 30_000 ? 0.45 : 0.1;
      for (const { v } of ready) {
        const growth = v.growthBytesPerMin! / MB;
        assert.ok(Math.abs(growth / 60 - 1) < tolerance, `window ${windowMs}: ${growth} MB/min`);
      }
    }
  });

  it('does not flag steady memory with noise (100 series)', () => {
    let maxGrowth = -Infinity;
    for (let seed = 1; seed <= 100; seed++) {
      const verdicts = feed({ rss: () => 300 * MB, durationMs: 120_000, intervalMs: 1000, noise: 2 * MB, seed });
      for (const { v } of verdicts) {
        assert.equal(v.leaking, false, `seed ${seed}`);
        if (v.ready) maxGrowth = Math.max(maxGrowth, v.growthBytesPerMin!);
      }
    }
    assert.ok(maxGrowth < LIMIT * 60, `max growth ${maxGrowth / MB} MB/min`);
  });

  it('does not flag a step (one 100 MB allocation, then flat), which a raw slope would', () => {
    const series = { rss: (t: number) => 200 * MB + (t >= 60_000 ? 100 * MB : 0), durationMs: 150_000, intervalMs: 500,
      noise: 2 * MB };
    const verdicts = feed(series);
    assert.ok(verdicts.some(({ v }) => v.ready));
    for (const { t, v } of verdicts) assert.equal(v.leaking, false, `flagged at ${t} ms`);
    assert.ok(naiveMaxGrowth(series, 30_000) > 10 * LIMIT * 60);
  });

  it('flags two steps, one in each half of the window (memory that keeps growing)', () => {
    const stairs = (t: number): number => 200 * MB + 50 * MB * Math.floor(t / 15_000);
    const verdicts = feed({ rss: stairs, durationMs: 120_000, intervalMs: 500, noise: 1 * MB });
    assert.ok(verdicts.some(({ v }) => v.leaking));
  });

  it("the seed's rule (10 MB/min over 10 minutes): 9 MB/min is not a leak, 12 MB/min is", () => {
    const options = { windowMs: 600_000 };
    const at = (perMin: number) => (t: number): number => 300 * MB + perMin * MB * (t / 60_000);
    for (let seed = 1; seed <= 5; seed++) {
      const under = feed({ rss: at(9), durationMs: 900_000, intervalMs: 1000, noise: 3 * MB, seed }, options);
      assert.ok(under.some(({ v }) => v.ready) && under.every(({ v }) => !v.leaking), `seed ${seed}`);
      const over = feed({ rss: at(12), durationMs: 900_000, intervalMs: 1000, noise: 3 * MB, seed }, options);
      const ready = over.filter(({ v }) => v.ready);
      assert.ok(ready.length > 0 && ready.every(({ v }) => v.leaking), `seed ${seed}`);
      const growth = ready.at(-1)!.v.growthBytesPerMin! / MB;
      assert.ok(Math.abs(growth - 12) < 0.5, `growth ${growth} MB/min`);
    }
  });

  it('ends the episode when growth stops, and keeps it in the summary', () => {
    const leakThenFlat = (t: number): number => 100 * MB + 2 * MB * (Math.min(t, 60_000) / 1000);
    const detector = createLeakDetector({ windowMs: 30_000, maxGrowthBytesPerSec: LIMIT });
    for (let t = 0; t <= 150_000; t += 1000) detector.add(t, leakThenFlat(t));
    assert.equal(detector.verdict().leaking, false);
    const { episodes, maxGrowthBytesPerMin } = detector.summary();
    assert.equal(episodes.length, 1);
    assert.equal(episodes[0]!.sinceMs, 7500 + 500); // the first full floor (sampled every second)
    assert.equal(episodes[0]!.detectedMs, 35_000);
    // The second half of the window goes flat 15 s after the growth stops (plus the floor's 7.5 s lag).
    assert.ok(episodes[0]!.endMs! > 60_000 && episodes[0]!.endMs! <= 90_000, `ended at ${episodes[0]!.endMs}`);
    assert.ok(Math.abs(episodes[0]!.peakBytesPerMin / (120 * MB) - 1) < 0.01);
    assert.ok(Math.abs(maxGrowthBytesPerMin! / (120 * MB) - 1) < 0.01);
  });

  it('ignores the warm-up, and samples out of order', () => {
    // Start-up: 150 MB in the first 10 s, then flat; judged only after the warm-up.
    const startup = (t: number): number => 50 * MB + 15 * MB * Math.min(t / 1000, 10);
    const detector = createLeakDetector({ windowMs: 30_000, maxGrowthBytesPerSec: LIMIT, warmupMs: 10_000 });
    for (let t = 0; t <= 44_000; t += 1000) detector.add(t, startup(t));
    // Floors from 17.5 s (the warm-up and the floor's 7.5 s): at 44 s they cover 26.5 s, under 90 % of the window.
    assert.equal(detector.verdict().ready, false);
    detector.add(45_000, startup(45_000));
    assert.equal(detector.verdict().ready, true);
    assert.equal(detector.verdict().leaking, false);
    assert.equal(detector.verdict().growthBytesPerMin, 0);
    const samples = detector.verdict().samples;
    detector.add(36_500, 1e12);
    detector.add(Number.NaN, 1e12);
    assert.equal(detector.verdict().samples, samples);
    assert.equal(detector.verdict().growthBytesPerMin, 0);
  });

  it('rejects a window that is not positive', () => {
    assert.throws(() => createLeakDetector({ windowMs: 0, maxGrowthBytesPerSec: LIMIT }), RangeError);
  });
});

describe('Theil–Sen slope', () => {
  /** The exact estimator: every pair, sorted. */
  const exact = (points: { t: number; floor: number }[]): number => {
    const slopes = new Float64Array((points.length * (points.length - 1)) / 2);
    let k = 0;
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        slopes[k++] = (points[j]!.floor - points[i]!.floor) / (points[j]!.t - points[i]!.t);
      }
    }
    slopes.sort(); // numeric, for a typed array
    const n = slopes.length;
    return n % 2 ? slopes[n >> 1]! : (slopes[n / 2 - 1]! + slopes[n / 2]!) / 2;
  };
  const noisyLine = (n: number, seed: number, outliers = 0): { t: number; floor: number }[] => {
    const random = mulberry32(seed);
    return Array.from({ length: n }, (_, i) => ({
      t: i * 250,
      floor: 3 * i + (random() - 0.5) * 40 + (random() < outliers ? 1e6 : 0),
    }));
  };

  it('is exact up to 91 points', () => {
    for (const n of [2, 3, 10, 50, 91]) {
      const points = noisyLine(n, n);
      assert.equal(theilSen(points), exact(points), `n = ${n}`);
    }
  });

  it('subsampled, stays within 2 % of the exact estimate, and ignores 20 % outliers', () => {
    for (const n of [92, 500, 2000]) {
      for (const outliers of [0, 0.2]) {
        const points = noisyLine(n, n, outliers);
        const sampled = theilSen(points);
        const full = exact(points);
        assert.ok(Math.abs(sampled / full - 1) < 0.02, `n ${n}: ${sampled} vs ${full}`);
        assert.ok(Math.abs(sampled / (3 / 250) - 1) < 0.1, `n ${n}: ${sampled}`);
      }
    }
  });

  it('costs little: a 10-minute window sampled every 250 ms', () => {
    const detector = createLeakDetector({ windowMs: 600_000, maxGrowthBytesPerSec: LIMIT });
    const random = mulberry32(7);
    for (let t = 0; t < 800_000; t += 250) detector.add(t, 300 * MB + random() * 5 * MB);
    const rounds = 400;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) detector.add(800_000 + i * 250, 300 * MB + random() * 5 * MB);
    const perAddMs = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
    console.log(`# leak detector: ${perAddMs.toFixed(3)} ms per sample (2,400-sample window)`);
    assert.equal(detector.verdict().samples, 2401);
    assert.ok(perAddMs < 5, `${perAddMs} ms per sample`);
  });
});
