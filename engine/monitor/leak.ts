// Memory-leak detection over the resident-memory samples of one process (monitor.leak, docs/monitoring.md).
//
// The question is not "did RSS grow?" but "is there a sustained trend?". A garbage-collected process draws a
// sawtooth: memory climbs by hundreds of MB, a collection frees it, again and again. A slope fitted to the raw
// samples of a window that ends on a tooth's crest says "hundreds of MB per minute"; one that ends in a trough
// says the opposite. The rule here looks at what a sawtooth cannot move and a leak must:
//
// 1. The floor. Each sample's floor is the lowest RSS of the `floorMs` before it (a rolling minimum, the lower
//    envelope). Once `floorMs` is longer than the collector's period every floor contains a trough, so a sawtooth
//    without a trend has a flat floor whatever its amplitude; a leak lifts the troughs and with them the floor,
//    at the leak's rate (the floor of a ramp is the same ramp, `floorMs` later).
// 2. A robust slope. The trend of the floor is its Theil–Sen slope: the median of the slopes between pairs of
//    points. A few odd samples (a one-off spike, a missed trough) cannot move a median; a least-squares fit
//    follows them.
// 3. Sustained: in both halves. The window is split in two halves by time and each half gets its own slope; and
//    the lowest floor of the second half must sit above the lowest of the first (their difference over the
//    distance between the halves is a third slope). The growth is the smallest of the three. A one-time
//    allocation (RSS steps up 100 MB and stays) is a step in one half and flat in the other, so its growth is
//    about zero: a step is not a leak. A leak grows in both halves, and lifts the whole second half. Memory that
//    grows ever more slowly (caches filling) is judged by its later, slower half. The third slope stops floors
//    that wobble (troughs caught at varying depths) from reading as growth when each half happens to end high.
//
// The process leaks while that growth is above max_growth. Once leaking, it stops leaking only when the growth
// falls under 80 % of max_growth (hysteresis), so a leak near the limit is one episode, not a flapping alert.
//
// Cost: the Theil–Sen slope of n points has n(n-1)/2 pairs. Up to 91 points (4,095 pairs) every pair is used;
// beyond that a deterministic stratified subsample: the pairs (i, i + d) for every i, for m = ceil(4·log2 n)
// offsets d evenly spaced over 1..n-1. Each chosen offset keeps all of its n-d pairs, so offsets weigh as in the
// full estimator; about m·n/2 pairs in all, O(n log n), and the median is found by quickselect in linear time.
// A 10-minute window sampled every 250 ms (1,200 points a half) takes about 25,000 pairs a half: 0.5 ms a sample
// on this machine's cores (test/unit/monitor/leak.test.ts prints it).
//
// Timing: the first verdict comes warmupMs + floorMs + 0.9 × windowMs after the first sample (each floor must
// span floorMs of samples, and the floors must cover most of the window); a 2 MB/s leak is flagged on it.
//
// Limits: the detector knows only its samples. The floor cannot flatten a sawtooth whose period is longer than
// `floorMs` (default a quarter of the window). A trough shorter than the sampling interval is caught at a depth
// that depends on the phase, and when the period is near a multiple of the interval that depth drifts for
// seconds (aliasing), like growth: a window of a few teeth can then be fooled, one of twenty or more is not
// (test: an hour of 1.2 s teeth with 100 ms troughs sampled every 250 ms, false verdicts in an 8 s window, none
// in 30 s). Growth below the RSS noise over half a window is not measurable: choose the window so that
// max_growth × window / 2 is well above the noise (10 MB/min over 10 minutes is 50 MB a half).
//
// Interface for the run (one detector per watched process):
//   const leak = createLeakDetector({ windowMs, maxGrowthBytesPerSec: parseSizeRate(max_growth), warmupMs });
//   every sample:  leak.add(tMs, rssBytes); const v = leak.verdict();
//                  if (v.growthBytesPerMin !== undefined) record process.rss.growth (MB/min in reports)
//                  v.leaking and v.since say whether and since when
//   at the end:    leak.summary() → the peak growth and the leak episodes for the result.
// Times are any monotonic milliseconds (the run's clock); samples must come in time order (others are ignored).

export interface LeakOptions {
  /** The sliding window the trend is judged over (monitor.leak.window). */
  windowMs: number;
  /** Growth above which the process leaks, bytes per second (`parseSizeRate('10MB/min')`). */
  maxGrowthBytesPerSec: number;
  /** Samples in the first `warmupMs` after the first sample are ignored (start-up, caches filling). Default 0. */
  warmupMs?: number;
  /** The span of the rolling minimum; must exceed the collector's period. Default a quarter of the window. */
  floorMs?: number;
}

export interface LeakVerdict {
  /**
   * Whether the floors cover the window (90 % of it, for sampling jitter): from the first sample after the warm-up
   * plus floorMs, so the first verdict comes warmupMs + floorMs + 0.9 × windowMs after the first sample.
   */
  ready: boolean;
  /** The sustained growth of the floor, bytes per minute (negative when shrinking); undefined until ready. */
  growthBytesPerMin: number | undefined;
  leaking: boolean;
  /** While leaking: the start of the window in which the leak was first seen (memory has grown since). */
  since?: number;
  /** While leaking: the sample time at which it was first seen. */
  detectedMs?: number;
  /** Samples in the window. */
  samples: number;
}

export interface LeakEpisode {
  sinceMs: number;
  detectedMs: number;
  /** The first sample time at which it no longer leaked; absent while it still leaks. */
  endMs?: number;
  /** The highest growth seen during the episode, bytes per minute. */
  peakBytesPerMin: number;
}

export interface LeakSummary {
  /** The highest growth of any ready verdict, bytes per minute; undefined if never ready. */
  maxGrowthBytesPerMin: number | undefined;
  /** The last ready verdict's growth. */
  lastGrowthBytesPerMin: number | undefined;
  /** Leak episodes in time order (the first 100: a flapping process must not grow the detector's memory). */
  episodes: LeakEpisode[];
}

export interface LeakDetector {
  add(tMs: number, bytes: number): void;
  verdict(): LeakVerdict;
  summary(): LeakSummary;
}

/** The share of the window the samples must cover before a verdict (the rest absorbs sampling jitter). */
const READY_COVERAGE = 0.9;
/** A half needs this many points for a slope. */
const MIN_HALF_POINTS = 3;
/** Once leaking, growth must fall under this share of the limit to stop (hysteresis). */
const RESOLVE_SHARE = 0.8;
const MAX_EPISODES = 100;
/** Up to this many pairs (91 points) the Theil–Sen slope uses every pair. */
const EXACT_PAIRS = 4096;

/** A sample time and its floor (the rolling minimum of RSS up to it). */
export interface FloorPoint {
  t: number;
  floor: number;
}

export function createLeakDetector(options: LeakOptions): LeakDetector {
  const { windowMs, maxGrowthBytesPerSec } = options;
  if (!(windowMs > 0) || !Number.isFinite(maxGrowthBytesPerSec)) {
    throw new RangeError('a leak detector needs a positive window and a finite max growth');
  }
  const warmupMs = options.warmupMs ?? 0;
  const floorMs = options.floorMs ?? windowMs / 4;
  const maxPerMs = maxGrowthBytesPerSec / 1000;

  let firstMs: number | undefined; // the first sample seen (warm-up starts there)
  let startMs: number | undefined; // the first sample after the warm-up
  let lastMs = -Infinity;
  // The window's samples: window[head..] (the head moves on; the array is compacted now and then).
  let window: FloorPoint[] = [];
  let head = 0;
  // The rolling minimum: a deque of samples with increasing bytes, the oldest (lowest) first.
  const minT: number[] = [];
  const minBytes: number[] = [];
  let minHead = 0;

  let current: LeakVerdict = { ready: false, growthBytesPerMin: undefined, leaking: false, samples: 0 };
  let maxGrowth: number | undefined;
  const episodes: LeakEpisode[] = [];

  function floorOf(t: number, bytes: number): number {
    while (minBytes.length > minHead && minBytes[minBytes.length - 1]! >= bytes) {
      minBytes.pop();
      minT.pop();
    }
    minBytes.push(bytes);
    minT.push(t);
    while (minT[minHead]! < t - floorMs) minHead++;
    if (minHead > 1024 && minHead * 2 > minT.length) {
      minT.splice(0, minHead);
      minBytes.splice(0, minHead);
      minHead = 0;
    }
    return minBytes[minHead]!;
  }

  function judge(): LeakVerdict {
    const samples = window.length - head;
    const ready = startMs !== undefined && lastMs - (startMs + floorMs) >= READY_COVERAGE * windowMs;
    const previous = current;
    if (!ready) return { ready, growthBytesPerMin: undefined, leaking: false, samples };
    const first = window[head]!.t;
    const middle = (first + lastMs) / 2;
    let split = head;
    while (window[split]!.t < middle) split++;
    // The sample at the middle (if any) belongs to both halves.
    const firstHalf = window.slice(head, window[split]!.t === middle ? split + 1 : split);
    const secondHalf = window.slice(split);
    if (firstHalf.length < MIN_HALF_POINTS || secondHalf.length < MIN_HALF_POINTS) {
      return { ready: false, growthBytesPerMin: undefined, leaking: false, samples };
    }
    // The rise of the lowest floor from the first half to the second, per ms between the halves' starts.
    const rise = (lowest(secondHalf) - lowest(firstHalf)) / (secondHalf[0]!.t - firstHalf[0]!.t);
    const perMs = Math.min(theilSen(firstHalf), theilSen(secondHalf), rise);
    const growthBytesPerMin = perMs * 60_000;
    const leaking = previous.leaking ? perMs > maxPerMs * RESOLVE_SHARE : perMs > maxPerMs;
    maxGrowth = maxGrowth === undefined ? growthBytesPerMin : Math.max(maxGrowth, growthBytesPerMin);
    const open = episodes.length > 0 && episodes[episodes.length - 1]!.endMs === undefined
      ? episodes[episodes.length - 1]
      : undefined;
    if (leaking && !previous.leaking) {
      const episode = { sinceMs: first, detectedMs: lastMs, peakBytesPerMin: growthBytesPerMin };
      if (episodes.length < MAX_EPISODES) episodes.push(episode);
      return { ready, growthBytesPerMin, leaking, since: first, detectedMs: lastMs, samples };
    }
    if (leaking) {
      if (open) open.peakBytesPerMin = Math.max(open.peakBytesPerMin, growthBytesPerMin);
      return { ready, growthBytesPerMin, leaking, since: previous.since!, detectedMs: previous.detectedMs!, samples };
    }
    if (previous.leaking && open) open.endMs = lastMs;
    return { ready, growthBytesPerMin, leaking, samples };
  }

  return {
    add(tMs, bytes) {
      if (!Number.isFinite(tMs) || !Number.isFinite(bytes) || tMs <= lastMs) return;
      firstMs ??= tMs;
      lastMs = tMs;
      if (tMs < firstMs + warmupMs) return;
      startMs ??= tMs;
      const floor = floorOf(tMs, bytes);
      // A floor is judged once it spans floorMs of samples: before that it is the minimum of fewer, and the floor
      // of a ramp would start flat, halving the first verdicts' growth.
      if (tMs < startMs + floorMs) return;
      window.push({ t: tMs, floor });
      while (window[head]!.t < tMs - windowMs) head++;
      if (head > 1024 && head * 2 > window.length) {
        window = window.slice(head);
        head = 0;
      }
      current = judge();
    },
    verdict: () => ({ ...current }),
    summary: () => ({
      maxGrowthBytesPerMin: maxGrowth,
      lastGrowthBytesPerMin: current.growthBytesPerMin,
      episodes: episodes.map((e) => ({ ...e })),
    }),
  };
}

/**
 * The Theil–Sen slope of `floor` over `t` (per ms): the median of pairwise slopes, over every pair up to 91
 * points, else over the pairs of m = ceil(4·log2 n) evenly spaced offsets (the file's head says why).
 */
export function theilSen(points: readonly FloorPoint[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let offsets: number[];
  if ((n * (n - 1)) / 2 <= EXACT_PAIRS) {
    offsets = Array.from({ length: n - 1 }, (_, i) => i + 1);
  } else {
    const m = Math.ceil(4 * Math.log2(n));
    const chosen = new Set<number>();
    for (let k = 0; k < m; k++) chosen.add(1 + Math.round((k * (n - 2)) / (m - 1)));
    offsets = [...chosen];
  }
  let count = 0;
  for (const d of offsets) count += n - d;
  const slopes = new Float64Array(count);
  let k = 0;
  for (const d of offsets) {
    for (let i = 0; i + d < n; i++) {
      const a = points[i]!;
      const b = points[i + d]!;
      slopes[k++] = (b.floor - a.floor) / (b.t - a.t);
    }
  }
  return median(slopes);
}

function lowest(points: readonly FloorPoint[]): number {
  let low = Infinity;
  for (const p of points) if (p.floor < low) low = p.floor;
  return low;
}

/** The median of `values` (reordered in place): quickselect, linear on average. */
function median(values: Float64Array): number {
  const n = values.length;
  const upper = select(values, n >> 1);
  if (n % 2 === 1) return upper;
  // After selecting the upper middle, the lower middle is the largest value left of it.
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (values[i]! > lower) lower = values[i]!;
  return (lower + upper) / 2;
}

/** The k-th smallest of `values` (0-based), partially ordering them in place (Hoare's selection). */
function select(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    // The median of three as pivot: a sorted or constant run (a flat floor) does not make it quadratic.
    const mid = (left + right) >> 1;
    const pivot = medianOf3(values[left]!, values[mid]!, values[right]!);
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return values[k]!;
  }
  return values[k]!;
}

function medianOf3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
