// A thin wrapper over hdr-histogram-js (pure JavaScript, no WebAssembly) for latencies in whole microseconds:
// constant memory whatever the run's length, percentiles exact to 3 significant digits, mergeable and encodable.

import hdr from 'hdr-histogram-js';

type HdrHistogram = ReturnType<typeof hdr.build>;

/**
 * The members of hdr-histogram-js's JsHistogram (v3) that the fast path of record() uses. They are public in
 * the JavaScript but absent from its typings, so they are checked at construction; without them (another
 * implementation, a lowest value other than 1) record() goes through recordValue(). A test keeps the two paths
 * byte-identical.
 */
interface HdrInternals {
  readonly unitMagnitude: number;
  readonly subBucketHalfCountMagnitude: number;
  readonly subBucketHalfCount: number;
  readonly countsArrayLength: number;
  incrementCountAtIndex(index: number): void;
  updateMinAndMax(value: number): void;
  incrementTotalCount(): void;
}

function internalsOf(h: HdrHistogram): HdrInternals | undefined {
  const i = h as unknown as Partial<HdrInternals>;
  const usable =
    i.unitMagnitude === 0 &&
    typeof i.subBucketHalfCountMagnitude === 'number' &&
    typeof i.subBucketHalfCount === 'number' &&
    typeof i.countsArrayLength === 'number' &&
    typeof i.incrementCountAtIndex === 'function' &&
    typeof i.updateMinAndMax === 'function' &&
    typeof i.incrementTotalCount === 'function';
  return usable ? (i as HdrInternals) : undefined;
}

/** Below this, a value's bucket comes from Math.clz32 (exact for 32-bit integers). */
const FAST_LIMIT = 2 ** 31;

/** Values are whole microseconds from 1 µs up; anything smaller counts as 1 µs. */
const LOWEST_US = 1;
/** 1000 hours: larger values are recorded as this (a value that big is a bug upstream, not a latency). */
export const HIGHEST_US = 3.6e12;

export interface HistogramOptions {
  /** Significant decimal digits kept (default 3: 0.1 % resolution). */
  significantDigits?: 1 | 2 | 3 | 4 | 5;
  /**
   * Width of each bucket's counter (default 64: a float64 count, exact to 2^53 samples per bucket). 32 halves the
   * memory, for histograms that are reset often (the per-interval ones).
   */
  bucketBits?: 32 | 64;
}

export class Histogram {
  /** Decodes what encode() produced (or any compressed V2 HdrHistogram). Throws on malformed input. */
  static decode(encoded: string): Histogram {
    const decoded = hdr.decodeFromCompressedBase64(encoded, 64, false);
    decoded.autoResize = true;
    return new Histogram({}, decoded);
  }

  private readonly hdr: HdrHistogram;
  private readonly fast: HdrInternals | undefined;

  constructor(options: HistogramOptions = {}, wrapped?: HdrHistogram) {
    this.hdr = wrapped ?? hdr.build({
      bitBucketSize: options.bucketBits ?? 64,
      numberOfSignificantValueDigits: options.significantDigits ?? 3,
      lowestDiscernibleValue: LOWEST_US,
      autoResize: true,
      useWebAssembly: false,
    });
    this.fast = internalsOf(this.hdr);
  }

  /** Records one value in microseconds (rounded to a whole µs, at least 1 µs, at most HIGHEST_US). NaN is ignored. */
  record(us: number): void {
    if (!(us >= LOWEST_US)) {
      if (us !== us) return;
      us = LOWEST_US;
    } else if (us > HIGHEST_US) us = HIGHEST_US;
    else us = Math.round(us);
    const h = this.fast;
    if (h !== undefined && us < FAST_LIMIT) {
      // JsHistogram.countsArrayIndex without Math.log2 and Math.pow (the bulk of its cost), for unitMagnitude 0.
      const magnitude = h.subBucketHalfCountMagnitude;
      let bucket = 31 - Math.clz32(us) - magnitude;
      if (bucket < 0) bucket = 0;
      const index = ((bucket + 1) << magnitude) + (us >>> bucket) - h.subBucketHalfCount;
      if (index < h.countsArrayLength) {
        h.incrementCountAtIndex(index);
        h.updateMinAndMax(us);
        h.incrementTotalCount();
        return;
      }
    }
    this.hdr.recordValue(us); // the general path; also grows the counts array when needed
  }

  /** record() through hdr-histogram-js's own recordValue only: for the test that keeps the two paths identical. */
  recordSlow(us: number): void {
    this.hdr.recordValue(us < LOWEST_US ? LOWEST_US : us > HIGHEST_US ? HIGHEST_US : Math.round(us));
  }

  /**
   * The value (µs) that `p` percent of the samples are at or below, to the histogram's precision, kept within
   * [min, max]; 0 when empty.
   */
  percentile(p: number): number {
    const h = this.hdr;
    if (h.totalCount === 0) return 0;
    return Math.min(Math.max(h.getValueAtPercentile(p), h.minNonZeroValue), h.maxValue);
  }

  /**
   * HDR's own answer: the highest value equivalent to the sample at percentile `p` (the lowest for p = 0), a
   * function of the counts alone, so the same before and after encode/decode; 0 when empty. The store clamps it
   * to the exact min and max it keeps beside the histogram.
   */
  valueAtPercentile(p: number): number {
    return this.hdr.totalCount === 0 ? 0 : this.hdr.getValueAtPercentile(p);
  }

  get count(): number {
    return this.hdr.totalCount;
  }

  /** Smallest sample (µs), 0 when empty. Exact while recording; to the histogram's precision after decode/add. */
  get min(): number {
    return this.hdr.totalCount === 0 ? 0 : this.hdr.minNonZeroValue;
  }

  /** Largest sample (µs), 0 when empty. Exact while recording; to the histogram's precision after decode/add. */
  get max(): number {
    return this.hdr.totalCount === 0 ? 0 : this.hdr.maxValue;
  }

  /** Mean (µs) to the histogram's precision, 0 when empty. Walks the buckets: not for the hot path. */
  get mean(): number {
    return this.hdr.mean;
  }

  /** Adds every sample of `other` to this histogram. */
  add(other: Histogram): void {
    if (other.hdr.totalCount > 0) this.hdr.add(other.hdr);
  }

  /** Forgets every sample, keeping the memory already allocated. */
  reset(): void {
    this.hdr.reset();
  }

  /** A copy with the same samples. */
  clone(): Histogram {
    const copy = new Histogram({ significantDigits: this.hdr.numberOfSignificantValueDigits as 1 | 2 | 3 | 4 | 5 });
    copy.add(this);
    return copy;
  }

  /** The compressed HdrHistogram V2 encoding, as base64: what a Result stores. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.hdr);
  }
}
