// The metric store: executors, the interpreter and monitors record into handles (cheap, allocation-free), and
// thresholds, alerts and reporters read aggregates and plain snapshots. Snapshots merge exactly across shards.
//
// Decisions (docs/thresholds.md has the user's version):
// - Series start at the store's creation time rounded down to a multiple of `intervalMs` since the epoch, so two
//   shards' series line up interval for interval. Throughput is measured from the actual creation time.
// - An interval with no samples is `null` in every series (a counter interval with `record(0)` is `0`).
// - A trend records its value in ms; below 1 µs counts as 1 µs (sum, min and max included); NaN is ignored, and
//   values above 1000 h are recorded as 1000 h. Counters and gauges ignore NaN; a rate counts any truthy
//   value as a hit.
// - aggregate() reads, by metric type (anything else is undefined, so a threshold on it fails):
//     percentile  trend: from the added HDR histograms, in ms, kept within the exact [min, max]
//     avg         trend: exact sum / count (ms); rate: hits / samples; gauge: the mean of its per-interval values
//                 (a time average), summed over the matching tag sets
//     min, max    exact smallest / largest sample (trend ms, counter increments, gauge values, rate 0 or 1)
//     count       trend, rate, gauge: samples; counter: the total
//     rate        rate: hits / samples
//     value       gauge: the last value of each matching tag set, summed (the virtual users of all workloads,
//                 the memory of all matching processes); counter: the total; rate: hits / samples
//     throughput  count (as above) per second since the store was created
// - mergeResultMetrics: per-interval trend p95s of two sources that both have samples in an interval merge to
//   the larger of the two (an upper bound of the true p95: the per-interval histograms are not kept). Every
//   other number merges exactly.

import { PerfyError, problem } from '../errors.js';
import type { AggregateQuery, MetricSource } from '../expr/index.js';
import { HIGHEST_US, Histogram } from './histogram.js';
import {
  MAX_SAMPLES, type MetricHandle, type MetricStore, type MetricType, type ResultMetric, type ResultMetrics,
  type ResultSample, type SampleKind, type Tags,
} from './types.js';

export interface MetricStoreOptions {
  /** Width of one series interval (default 1000 ms). */
  intervalMs?: number;
  /** The warm-up at the start of the run (see measuredFromMs): throughput() of measured samples leaves it out. */
  warmupMs?: number;
  /** The clock, ms since the epoch (default Date.now); tests inject one. */
  now?: () => number;
}

type SeriesEntry = ResultMetric['series'][number];

/** What aggregation needs of one tag set of a metric: a live handle or a loaded ResultMetric. */
interface Stats {
  readonly name: string;
  readonly type: MetricType;
  readonly tags: Tags;
  readonly hasSamples: boolean;
  /** ResultMetric meaning: trend/rate/gauge samples, counter total */
  readonly count: number;
  /** ResultMetric meaning: trend sum (ms), counter total, rate hits, gauge last value */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  histogram(): Histogram | undefined;
  /** gauge: the mean of the per-interval last values */
  seriesMean(): number | undefined;
}

const DEFAULT_INTERVAL_MS = 1000;
const SMALLEST_MS = 0.001;
const LARGEST_MS = HIGHEST_US / 1000;
/** Per-interval trend histograms: 2 significant digits (1 % resolution) keep them small and quick to reset. */
const INTERVAL_DIGITS = 2;
/** How long before an interval's end the store reads the clock for every sample again (see IntervalClock). */
const SAFE_MARGIN_MS = 50;
/** Samples between two readings of the clock while the interval is known. */
const READ_EVERY_SAMPLES = 16;

/**
 * Which series interval the present instant falls in, shared by every handle of one store. Reading the clock for
 * every sample was the largest part of a record (a dozen samples per request), so with the real clock it is read
 * only near an interval's end: after a reading more than SAFE_MARGIN_MS before the end, the interval is taken as
 * known until a timer set SAFE_MARGIN_MS before the end fires, and the clock is read anyway every
 * READ_EVERY_SAMPLES samples, in case that timer is late (an event loop stalled for longer than the margin).
 * Only such a stall, with fewer than READ_EVERY_SAMPLES samples recorded across it, can count a sample in the
 * interval before its own. An injected clock (tests) is read for every sample.
 */
class IntervalClock {
  private known = -1;
  private budget = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly marginMs: number;

  constructor(
    readonly now: () => number,
    readonly startedAt: number,
    readonly intervalMs: number,
    private readonly coarse: boolean,
  ) {
    this.marginMs = Math.min(SAFE_MARGIN_MS, intervalMs / 10);
  }

  /** The index of the interval holding the present instant. */
  index(): number {
    if (this.known >= 0 && --this.budget >= 0) return this.known;
    return this.read();
  }

  private read(): number {
    const t = this.now();
    const index = Math.max(0, Math.floor((t - this.startedAt) / this.intervalMs));
    if (this.coarse) {
      const left = this.startedAt + (index + 1) * this.intervalMs - t;
      if (left > this.marginMs) {
        this.known = index;
        this.budget = READ_EVERY_SAMPLES;
        if (this.timer === undefined) {
          this.timer = setTimeout(forget, left - this.marginMs, this);
          this.timer.unref();
        }
      } else {
        this.known = -1;
      }
    }
    return index;
  }

  /** @internal the end of the known interval is near: read the clock again. */
  forget(): void {
    this.timer = undefined;
    this.known = -1;
  }
}

function forget(clock: IntervalClock): void {
  clock.forget();
}

/** The per-interval bookkeeping every handle shares; subclasses keep the current interval's numbers. */
abstract class LiveSeries implements Stats {
  abstract readonly type: MetricType;
  abstract readonly count: number;
  abstract readonly sum: number;
  min = Infinity;
  max = -Infinity;
  protected currentIndex = -1;
  protected readonly series: SeriesEntry[] = [];

  constructor(readonly name: string, readonly tags: Tags, protected readonly clock: IntervalClock) {}

  get hasSamples(): boolean {
    return this.max >= this.min;
  }

  histogram(): Histogram | undefined {
    return undefined;
  }

  seriesMean(): number | undefined {
    return undefined;
  }

  /** The current interval's entry, or null when it has no samples. */
  protected abstract currentEntry(): SeriesEntry;
  protected abstract resetCurrent(): void;

  /** Closes the current interval (when it has samples) and opens interval `index`. */
  protected roll(index: number): void {
    const entry = this.currentEntry();
    if (entry !== null) {
      this.closeInterval(entry);
      while (this.series.length < this.currentIndex) this.series.push(null);
      this.series.push(entry);
      this.resetCurrent();
    }
    this.currentIndex = index;
  }

  /** Hook for running totals over closed intervals. */
  protected closeInterval(_entry: SeriesEntry): void {}

  /** The series so far, `length` intervals long at least; the open interval is included, not closed. */
  seriesSnapshot(length: number): SeriesEntry[] {
    const out = this.series.slice();
    const entry = this.currentEntry();
    if (entry !== null) {
      while (out.length < this.currentIndex) out.push(null);
      out.push(entry);
    }
    while (out.length < length) out.push(null);
    return out;
  }

  /** Index of the last interval with samples, -1 when none. */
  lastIndex(): number {
    if (this.currentEntry() !== null) return this.currentIndex;
    return this.series.length - 1;
  }

  toResult(length: number): ResultMetric {
    const has = this.hasSamples;
    const metric: ResultMetric = {
      name: this.name,
      type: this.type,
      tags: { ...this.tags },
      count: this.count,
      sum: this.sum,
      min: has ? this.min : 0,
      max: has ? this.max : 0,
      series: this.seriesSnapshot(length),
    };
    const histogram = this.histogram();
    if (histogram !== undefined) metric.histogram = histogram.encode();
    return metric;
  }
}

class TrendHandle extends LiveSeries implements MetricHandle {
  readonly type = 'trend';
  count = 0;
  sum = 0;
  private readonly all = new Histogram();
  private readonly current = new Histogram({ significantDigits: INTERVAL_DIGITS, bucketBits: 32 });
  private currentCount = 0;

  record(value: number): void {
    if (!(value >= SMALLEST_MS)) {
      if (value !== value) return;
      value = SMALLEST_MS;
    } else if (value > LARGEST_MS) value = LARGEST_MS;
    const index = this.clock.index();
    if (index > this.currentIndex) this.roll(index);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const us = value * 1000;
    this.all.record(us);
    this.current.record(us);
    this.currentCount++;
  }

  override histogram(): Histogram {
    return this.all;
  }

  protected currentEntry(): SeriesEntry {
    if (this.currentCount === 0) return null;
    const h = this.current;
    // The percentiles the reports chart over time; once per interval, not per sample.
    return [this.currentCount, h.percentile(50) / 1000, h.percentile(95) / 1000, h.percentile(99) / 1000];
  }

  protected resetCurrent(): void {
    this.current.reset();
    this.currentCount = 0;
  }
}

class CounterHandle extends LiveSeries implements MetricHandle {
  readonly type = 'counter';
  private total = 0;
  private currentAmount = 0;
  private currentHas = false;

  get count(): number {
    return this.total;
  }

  get sum(): number {
    return this.total;
  }

  record(amount: number): void {
    if (amount !== amount) return;
    const index = this.clock.index();
    if (index > this.currentIndex) this.roll(index);
    this.total += amount;
    if (amount < this.min) this.min = amount;
    if (amount > this.max) this.max = amount;
    this.currentAmount += amount;
    this.currentHas = true;
  }

  protected currentEntry(): SeriesEntry {
    return this.currentHas ? this.currentAmount : null;
  }

  protected resetCurrent(): void {
    this.currentAmount = 0;
    this.currentHas = false;
  }
}

class RateHandle extends LiveSeries implements MetricHandle {
  readonly type = 'rate';
  count = 0;
  /** hits */
  sum = 0;
  private currentHits = 0;
  private currentTotal = 0;

  record(value: number): void {
    const index = this.clock.index();
    if (index > this.currentIndex) this.roll(index);
    const hit = value ? 1 : 0;
    this.count++;
    this.sum += hit;
    if (hit < this.min) this.min = hit;
    if (hit > this.max) this.max = hit;
    this.currentHits += hit;
    this.currentTotal++;
  }

  protected currentEntry(): SeriesEntry {
    return this.currentTotal === 0 ? null : [this.currentHits, this.currentTotal];
  }

  protected resetCurrent(): void {
    this.currentHits = 0;
    this.currentTotal = 0;
  }
}

class GaugeHandle extends LiveSeries implements MetricHandle {
  readonly type = 'gauge';
  count = 0;
  /** the last value */
  sum = 0;
  private currentHas = false;
  private closedSum = 0;
  private closedIntervals = 0;

  record(value: number): void {
    if (value !== value) return;
    const index = this.clock.index();
    if (index > this.currentIndex) this.roll(index);
    this.count++;
    this.sum = value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.currentHas = true;
  }

  override seriesMean(): number | undefined {
    const intervals = this.closedIntervals + (this.currentHas ? 1 : 0);
    return intervals === 0 ? undefined : (this.closedSum + (this.currentHas ? this.sum : 0)) / intervals;
  }

  protected override closeInterval(entry: SeriesEntry): void {
    this.closedSum += entry as number;
    this.closedIntervals++;
  }

  protected currentEntry(): SeriesEntry {
    return this.currentHas ? this.sum : null;
  }

  protected resetCurrent(): void {
    this.currentHas = false;
  }
}

type LiveHandle = TrendHandle | CounterHandle | RateHandle | GaugeHandle;

const HANDLE_CLASSES = {
  trend: TrendHandle,
  counter: CounterHandle,
  rate: RateHandle,
  gauge: GaugeHandle,
} as const satisfies Record<MetricType, new (name: string, tags: Tags, clock: IntervalClock) => LiveHandle>;

/** Tags with sorted keys, and a text that identifies them (for keys and ordering). */
function canonicalTags(tags: Tags): { tags: Readonly<Record<string, string>>; key: string } {
  const entries = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { tags: Object.freeze(Object.fromEntries(entries)), key: JSON.stringify(entries) };
}

function tagsMatch(tags: Tags, filter: Readonly<Record<string, string>>): boolean {
  for (const key in filter) {
    if (!Object.hasOwn(tags, key) || tags[key] !== filter[key]) return false;
  }
  return true;
}

/** The tag a workload's warm-up samples carry (see setAside). */
export const WARMUP_TAGS: Tags = Object.freeze({ phase: 'warmup' });

export function isWarmup(tags: Tags): boolean {
  return tags['phase'] === WARMUP_TAGS['phase'];
}

/**
 * The same store seen through extra tags: every handle and sample made through it carries them as well (the
 * warm-up's runners and interpreter record through one with WARMUP_TAGS). Reads go to the whole store.
 */
export function taggedStore(store: MetricStore, extra: Tags): MetricStore {
  return {
    handle: (name, type, tags) => store.handle(name, type, { ...tags, ...extra }),
    aggregate: (query) => store.aggregate(query),
    snapshot: () => store.snapshot(),
    sample: (kind, tags, message, detail) => store.sample(kind, { ...tags, ...extra }, message, detail),
  };
}

/**
 * Samples a query leaves out unless its filter names the tag: a workload's warm-up (`phase: warmup`), and the
 * latencies of unexpected responses (`expected: false`: refused connections, timeouts, 4xx/5xx), which would
 * otherwise make `p95(http.duration)` look fast while the target is down. Thresholds, the summary and every
 * reader go through this one rule; `{phase: warmup}`, `{expected: false}` or a status filter selects them.
 */
export function setAside(type: MetricType, tags: Tags, filter: Readonly<Record<string, string>>): boolean {
  if (isWarmup(tags) && !Object.hasOwn(filter, 'phase')) return true;
  if (type !== 'trend' || tags['expected'] !== 'false') return false;
  // Asking for a status (`{status: "404"}`) asks for those responses, expected or not.
  return (
    !Object.hasOwn(filter, 'expected') && !Object.hasOwn(filter, 'status') && !Object.hasOwn(filter, 'status_class')
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Selected tag sets of one query, cached per query object (queries of compiled expressions are reused). */
class Selection {
  private readonly cache = new WeakMap<AggregateQuery, { version: number; entries: Stats[] }>();

  constructor(private readonly byName: ReadonlyMap<string, readonly Stats[]>) {}

  select(query: AggregateQuery, version: number): Stats[] {
    const cached = this.cache.get(query);
    if (cached !== undefined && cached.version === version) return cached.entries;
    const candidates = this.byName.get(query.metric) ?? [];
    const entries = candidates.filter((s) => tagsMatch(s.tags, query.tags) && !setAside(s.type, s.tags, query.tags));
    this.cache.set(query, { version, entries });
    return entries;
  }
}

/**
 * Combines the selected tag sets of one metric into the value of `query`, in the unit of the expression
 * (ms for trends). undefined when none has samples or the function means nothing for the metric's type.
 */
/**
 * When every workload has a warm-up, the ms from the run's start until the first of them ends: the measured samples
 * span the rest of the run, so throughput() divides by that. 0 when any workload is measured from its start.
 */
export function measuredFromMs(workloads: readonly { startAfterMs: number; warmupMs?: number | undefined }[]): number {
  if (workloads.length === 0 || workloads.some((w) => !(w.warmupMs !== undefined && w.warmupMs > 0))) return 0;
  return Math.min(...workloads.map((w) => w.startAfterMs + (w.warmupMs ?? 0)));
}

/** The span throughput() divides by: the whole run for the warm-up's own samples, the rest for measured ones. */
function spanOf(query: AggregateQuery, elapsedMs: number, warmupMs: number): number {
  return warmupMs > 0 && !Object.hasOwn(query.tags, 'phase') ? Math.max(0, elapsedMs - warmupMs) : elapsedMs;
}

function combine(selected: readonly Stats[], query: AggregateQuery, elapsedMs: number): number | undefined {
  let type: MetricType | undefined;
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let matched = 0;
  let single: Stats | undefined;
  for (const s of selected) {
    if (!s.hasSamples) continue;
    type ??= s.type;
    if (s.type !== type) continue; // one name, one type: only a corrupt merged Result has both
    matched++;
    single = s;
    count += s.count;
    sum += s.sum;
    if (s.min < min) min = s.min;
    if (s.max > max) max = s.max;
  }
  if (type === undefined || single === undefined) return undefined;
  switch (query.fn) {
    case 'count':
      return count;
    case 'throughput':
      return elapsedMs > 0 ? count / (elapsedMs / 1000) : undefined;
    case 'min':
      return min;
    case 'max':
      return max;
    case 'avg':
      if (type === 'trend' || type === 'rate') return sum / count;
      if (type === 'gauge') {
        let total = 0;
        for (const s of selected) if (s.type === type && s.hasSamples) total += s.seriesMean() ?? 0;
        return total;
      }
      return undefined;
    case 'rate':
      return type === 'rate' ? sum / count : undefined;
    case 'value':
      if (type === 'gauge' || type === 'counter') return sum;
      return type === 'rate' ? sum / count : undefined;
    case 'percentile': {
      if (type !== 'trend') return undefined;
      let histogram: Histogram | undefined;
      if (matched === 1) histogram = single.histogram();
      else {
        histogram = new Histogram();
        for (const s of selected) {
          const h = s.type === type && s.hasSamples ? s.histogram() : undefined;
          if (h !== undefined) histogram.add(h);
        }
      }
      if (histogram === undefined || histogram.count === 0) return undefined;
      const ms = histogram.valueAtPercentile(query.percentile ?? 50) / 1000;
      return Math.min(Math.max(ms, min), max);
    }
  }
}

function sortMetrics(metrics: ResultMetric[]): ResultMetric[] {
  const keyed = metrics.map((m) => ({ m, tagKey: canonicalTags(m.tags).key }));
  keyed.sort(
    (x, y) => compareText(x.m.name, y.m.name) || compareText(x.m.type, y.m.type) || compareText(x.tagKey, y.tagKey),
  );
  return keyed.map((k) => k.m);
}

export function createMetricStore(options: MetricStoreOptions = {}): MetricStore {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  const now = options.now ?? Date.now;
  const createdAt = now();
  const clock = new IntervalClock(
    now,
    Math.floor(createdAt / intervalMs) * intervalMs,
    intervalMs,
    options.now === undefined,
  );

  const handles = new Map<string, LiveHandle>();
  const byName = new Map<string, LiveHandle[]>();
  const typeOf = new Map<string, MetricType>();
  const selection = new Selection(byName);
  let version = 0;
  const samples = new Map<string, ResultSample>();

  return {
    handle(name: string, type: MetricType, tags: Tags): MetricHandle {
      const canonical = canonicalTags(tags);
      const key = `${name}\u0000${type}\u0000${canonical.key}`;
      const existing = handles.get(key);
      if (existing !== undefined) return existing;
      const known = typeOf.get(name);
      if (known !== undefined && known !== type) {
        throw new Error(`metric ${name} is a ${known}; it cannot also be recorded as a ${type}`);
      }
      const handle = new HANDLE_CLASSES[type](name, canonical.tags, clock);
      handles.set(key, handle);
      typeOf.set(name, type);
      const list = byName.get(name);
      if (list === undefined) byName.set(name, [handle]);
      else list.push(handle);
      version++;
      return handle;
    },

    aggregate(query: AggregateQuery): number | undefined {
      return combine(selection.select(query, version), query, spanOf(query, now() - createdAt, options.warmupMs ?? 0));
    },

    snapshot(): ResultMetrics {
      let length = Math.max(1, Math.ceil((now() - clock.startedAt) / intervalMs));
      for (const h of handles.values()) length = Math.max(length, h.lastIndex() + 1);
      const metrics = sortMetrics([...handles.values()].map((h) => h.toResult(length)));
      return {
        startedAt: clock.startedAt,
        intervalMs,
        metrics,
        ...(samples.size ? { samples: [...samples.values()] } : {}),
      };
    },

    sample(kind: SampleKind, tags: Tags, message: string, detail?: Record<string, unknown>): void {
      const canonical = canonicalTags(tags);
      const key = `${kind}\u0000${canonical.key}`;
      if (samples.has(key) || samples.size >= MAX_SAMPLES) return;
      samples.set(key, {
        kind,
        tags: { ...canonical.tags },
        at: now(),
        message,
        ...(detail === undefined ? {} : { detail }),
      });
    },
  };
}

// ---- loaded results: merge and aggregate ---------------------------------------------------------------------

function seriesHasSamples(series: readonly SeriesEntry[]): boolean {
  for (const entry of series) if (entry !== null) return true;
  return false;
}

function lastSampleIndex(series: readonly SeriesEntry[]): number {
  for (let i = series.length - 1; i >= 0; i--) if (series[i] !== null) return i;
  return -1;
}

function metricHasSamples(m: ResultMetric): boolean {
  return m.count > 0 || seriesHasSamples(m.series);
}

function decodeHistogram(m: ResultMetric): Histogram {
  return m.histogram === undefined ? new Histogram() : Histogram.decode(m.histogram);
}

function mergeEntry(type: MetricType, a: SeriesEntry, b: SeriesEntry): SeriesEntry {
  if (a === null) return b;
  if (b === null) return a;
  switch (type) {
    case 'counter':
      return (a as number) + (b as number);
    case 'gauge':
      return b;
    case 'rate': {
      const [ah, at] = a as [number, number];
      const [bh, bt] = b as [number, number];
      return [ah + bh, at + bt];
    }
    case 'trend': {
      // Interval percentiles of two parts cannot be added: the higher of the two is an upper bound. Version 1
      // entries ([count, p95]) merge with their kind.
      const ta = a as number[];
      const tb = b as number[];
      if (ta.length !== tb.length) return ta.length > tb.length ? a : b;
      return ta.map((value, i) => (i === 0 ? value + tb[0]! : Math.max(value, tb[i]!))) as SeriesEntry;
    }
  }
}

/** `series` moved `offset` intervals later and padded with nulls to `length`. */
function shifted(series: readonly SeriesEntry[], offset: number, length: number): SeriesEntry[] {
  const out: SeriesEntry[] = new Array<SeriesEntry>(length).fill(null);
  for (let i = 0; i < series.length && offset + i < length; i++) out[offset + i] = series[i] ?? null;
  return out;
}

function mergeMetric(a: ResultMetric, offsetA: number, b: ResultMetric, offsetB: number, length: number): ResultMetric {
  const seriesA = shifted(a.series, offsetA, length);
  const seriesB = shifted(b.series, offsetB, length);
  const hasA = metricHasSamples(a);
  const hasB = metricHasSamples(b);
  let sum = a.sum + b.sum;
  if (a.type === 'gauge') {
    // The later value: the source whose last sample is later (b when both end in the same interval).
    sum = !hasA ? b.sum : !hasB ? a.sum : lastSampleIndex(seriesA) > lastSampleIndex(seriesB) ? a.sum : b.sum;
  }
  const merged: ResultMetric = {
    name: a.name,
    type: a.type,
    tags: { ...a.tags },
    count: a.count + b.count,
    sum,
    min: hasA && hasB ? Math.min(a.min, b.min) : hasA ? a.min : b.min,
    max: hasA && hasB ? Math.max(a.max, b.max) : hasA ? a.max : b.max,
    series: seriesA.map((entry, i) => mergeEntry(a.type, entry, seriesB[i] ?? null)),
  };
  if (a.type === 'trend') {
    if (!hasB && a.histogram !== undefined) merged.histogram = a.histogram;
    else if (!hasA && b.histogram !== undefined) merged.histogram = b.histogram;
    else {
      const histogram = decodeHistogram(a);
      histogram.add(decodeHistogram(b));
      merged.histogram = histogram.encode();
    }
  }
  return merged;
}

function metricKey(m: ResultMetric): string {
  return `${m.name}\u0000${m.type}\u0000${canonicalTags(m.tags).key}`;
}

function seriesLength(m: ResultMetrics): number {
  let length = 0;
  for (const metric of m.metrics) length = Math.max(length, metric.series.length);
  return length;
}

/**
 * The metrics one run would have recorded had it seen the samples of both `a` and `b` (two shards, two worker
 * threads): histograms, counters and rate hits/totals add, gauges take the later value, min/max combine, and
 * series are aligned by timestamp. Both must use the same interval (E_USAGE otherwise).
 */
export function mergeResultMetrics(a: ResultMetrics, b: ResultMetrics): ResultMetrics {
  if (a.intervalMs !== b.intervalMs) {
    throw new PerfyError(
      problem(
        'E_USAGE', `cannot merge results with different series intervals (${a.intervalMs} ms and ${b.intervalMs} ms)`,
        'merge results of runs made by the same version of perfy with the same settings',
      ),
    );
  }
  const intervalMs = a.intervalMs;
  const startedAt = Math.min(a.startedAt, b.startedAt);
  const offsetA = Math.round((a.startedAt - startedAt) / intervalMs);
  const offsetB = Math.round((b.startedAt - startedAt) / intervalMs);
  const length = Math.max(offsetA + seriesLength(a), offsetB + seriesLength(b));

  const fromB = new Map(b.metrics.map((m) => [metricKey(m), m]));
  const metrics: ResultMetric[] = [];
  for (const ma of a.metrics) {
    const key = metricKey(ma);
    const mb = fromB.get(key);
    fromB.delete(key);
    if (mb === undefined) metrics.push({ ...ma, tags: { ...ma.tags }, series: shifted(ma.series, offsetA, length) });
    else metrics.push(mergeMetric(ma, offsetA, mb, offsetB, length));
  }
  for (const mb of fromB.values())
    metrics.push({ ...mb, tags: { ...mb.tags }, series: shifted(mb.series, offsetB, length) });
  const samples = mergeSamples(a.samples ?? [], b.samples ?? []);
  return { startedAt, intervalMs, metrics: sortMetrics(metrics), ...(samples.length ? { samples } : {}) };
}

/** The samples of both, the earlier of two with the same kind and tags, at most MAX_SAMPLES (the earliest), oldest
 * first. */
function mergeSamples(a: readonly ResultSample[], b: readonly ResultSample[]): ResultSample[] {
  const byKey = new Map<string, ResultSample>();
  for (const sample of [...a, ...b].sort((x, y) => x.at - y.at)) {
    const key = `${sample.kind}\u0000${canonicalTags(sample.tags).key}`;
    if (!byKey.has(key)) byKey.set(key, sample);
  }
  return [...byKey.values()].slice(0, MAX_SAMPLES);
}

/** One ResultMetric seen as Stats; its histogram is decoded on first use. */
class LoadedStats implements Stats {
  readonly name: string;
  readonly type: MetricType;
  readonly tags: Tags;
  readonly hasSamples: boolean;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  private decoded: Histogram | undefined;

  constructor(private readonly metric: ResultMetric) {
    this.name = metric.name;
    this.type = metric.type;
    this.tags = metric.tags;
    this.hasSamples = metricHasSamples(metric);
    this.count = metric.count;
    this.sum = metric.sum;
    this.min = metric.min;
    this.max = metric.max;
  }

  histogram(): Histogram | undefined {
    if (this.type !== 'trend') return undefined;
    this.decoded ??= decodeHistogram(this.metric);
    return this.decoded;
  }

  seriesMean(): number | undefined {
    let total = 0;
    let intervals = 0;
    for (const entry of this.metric.series) {
      if (typeof entry === 'number') {
        total += entry;
        intervals++;
      }
    }
    return intervals === 0 ? undefined : total / intervals;
  }
}

export interface SnapshotSourceOptions {
  /**
   * The span throughput() divides by, in ms: pass `result.endedAt - result.startedAt`. By default, the series'
   * length times the interval (which counts the last, partial interval in full).
   */
  elapsedMs?: number;
  /** As MetricStoreOptions.warmupMs: pass measuredFromMs(result.workloads). */
  warmupMs?: number;
}

/** Aggregates over loaded metrics exactly as the live store would have (for `perfy report` and merged shards). */
export function storeFromSnapshot(m: ResultMetrics, options: SnapshotSourceOptions = {}): MetricSource {
  const byName = new Map<string, LoadedStats[]>();
  for (const metric of m.metrics) {
    const stats = new LoadedStats(metric);
    const list = byName.get(metric.name);
    if (list === undefined) byName.set(metric.name, [stats]);
    else list.push(stats);
  }
  const selection = new Selection(byName);
  const elapsedMs = options.elapsedMs ?? seriesLength(m) * m.intervalMs;
  return {
    aggregate: (query: AggregateQuery): number | undefined =>
      combine(selection.select(query, 0), query, spanOf(query, elapsedMs, options.warmupMs ?? 0)),
  };
}
