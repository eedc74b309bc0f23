// The HTML report's charts as data: per-interval series made from the Result's metric series (achieved and planned
// load, latency percentiles per step, failures by class, the generator, monitored processes). No markup here.

import type { Result, ResultStage, ResultWorkload } from '../metrics/result.js';
import type { ResultMetric } from '../metrics/types.js';

export interface ChartSeries {
  label: string;
  /** 0: the left axis, 1: the right one. */
  axis: 0 | 1;
  values: (number | null)[];
  /** A plan rather than a measurement: drawn dashed. */
  planned?: boolean;
}

/** A moment marked across a chart: a `monitor:` event, at seconds from the start of the run. */
export interface ChartMark {
  s: number;
  /** Its colour: a critical or warning firing, or a resolving. */
  kind: 'critical' | 'warning' | 'resolved';
}

export interface Chart {
  id: string;
  title: string;
  /** A sentence under the title: what the lines are. */
  note: string;
  /** The left axis' unit and, when a series uses it, the right axis'. */
  units: [string, string?];
  series: ChartSeries[];
  marks?: ChartMark[];
}

/** What the charts' script reads: the time axis (seconds from the start of the run) and every chart's series. */
export interface ChartData {
  startS: number;
  stepS: number;
  points: number;
  charts: Chart[];
}

/** Latency charts beyond this many steps would make the file large and the page long: the table has them all. */
const MAX_STEP_CHARTS = 24;

/** Three significant digits: what a chart can show, and a third of the bytes of a full double. */
function compact(value: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return value === 0 ? 0 : Number(value.toPrecision(3));
}

export function chartsOf(result: Result): ChartData {
  const { metrics: all, intervalMs, startedAt } = result.metrics;
  const points = Math.max(0, ...all.map((m) => m.series.length));
  const stepS = intervalMs / 1000;
  const series = new SeriesReader(all, points, stepS);
  const charts: Chart[] = [
    loadChart(result, series, points),
    ...latencyCharts(all, points),
    errorChart(all, series),
    generatorChart(series),
    processChart(result, series),
  ].filter((c): c is Chart => c !== undefined && c.series.length > 0);
  return { startS: (startedAt - result.startedAt) / 1000, stepS, points, charts };
}

/** Sums of a metric's series over the tag sets a filter picks, interval by interval. */
class SeriesReader {
  constructor(
    private readonly all: readonly ResultMetric[], private readonly points: number, private readonly stepS: number,
  ) {}

  private pick(name: string, tags: Record<string, string>): ResultMetric[] {
    return this.all.filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v));
  }

  /** A counter per second (nothing recorded in an interval is 0 of it). */
  perSecond(name: string, tags: Record<string, string> = {}): number[] {
    const sums = new Array<number>(this.points).fill(0);
    for (const m of this.pick(name, tags)) {
      m.series.forEach((v, i) => {
        if (typeof v === 'number') sums[i]! += v;
      });
    }
    return sums.map((v) => compact(v / this.stepS)!);
  }

  /** A rate's hits per second, or its share of hits in percent (null where it had no samples). */
  rate(name: string, tags: Record<string, string>, as: 'hits' | 'percent'): (number | null)[] {
    const hits = new Array<number>(this.points).fill(0);
    const totals = new Array<number>(this.points).fill(0);
    for (const m of this.pick(name, tags)) {
      m.series.forEach((v, i) => {
        if (Array.isArray(v)) {
          hits[i]! += v[0];
          totals[i]! += v[1];
        }
      });
    }
    if (as === 'hits') return hits.map((h) => compact(h / this.stepS));
    return hits.map((h, i) => (totals[i]! > 0 ? compact((100 * h) / totals[i]!) : null));
  }

  /** A gauge's last value in each interval, summed over tag sets, times `scale`. */
  gauge(name: string, tags: Record<string, string>, scale = 1): (number | null)[] {
    const sums = new Array<number | null>(this.points).fill(null);
    for (const m of this.pick(name, tags)) {
      m.series.forEach((v, i) => {
        if (typeof v === 'number') sums[i] = (sums[i] ?? 0) + v;
      });
    }
    return sums.map((v) => (v === null ? null : compact(v * scale)));
  }

  /** A trend's percentile (index 1: p50, 2: p95, 3: p99) where a single tag set holds it. */
  percentile(name: string, tags: Record<string, string>, index: 1 | 2 | 3): (number | null)[] {
    return mergedTrend(this.pick(name, tags), this.points).map((e) => (e === null ? null : compact(e[index] ?? null)));
  }
}

/**
 * One step's trend entries over its tag sets: they differ only by phase (a warm-up comes first), so an interval
 * holds the entry of the set that measured the most in it. Percentiles of different sets cannot be added up.
 */
function mergedTrend(metrics: readonly ResultMetric[], points: number): (number[] | null)[] {
  const merged = new Array<number[] | null>(points).fill(null);
  for (const m of metrics) {
    m.series.forEach((v, i) => {
      if (Array.isArray(v) && v[0] > 0 && (merged[i] === null || merged[i]![0]! < v[0])) merged[i] = v;
    });
  }
  return merged;
}

function distinct(all: readonly ResultMetric[], name: string, tag: string): string[] {
  const values = all.filter((m) => m.name === name && m.tags[tag] !== undefined).map((m) => m.tags[tag]!);
  return [...new Set(values)];
}

/** Achieved iterations per second against the plan, and the virtual users, per workload. */
function loadChart(result: Result, series: SeriesReader, points: number): Chart {
  const chart: Chart = {
    id: 'load',
    title: 'Load: achieved and planned',
    note: 'Iterations completed per second (solid) and planned (dashed), virtual users in flight on the right axis.',
    units: ['/s', 'VUs'],
    series: [],
  };
  const many = result.workloads.length > 1;
  const name = (what: string, w: ResultWorkload): string => (many ? `${what} (${w.name})` : what);
  // The plan counts from the workload's start; the series from the first interval of the run.
  const offsetMs = result.metrics.startedAt - result.startedAt;
  for (const w of result.workloads) {
    const tags = { workload: w.name };
    chart.series.push({ label: name('iterations/s', w), axis: 0, values: series.perSecond('iterations', tags) });
    const from = (i: number): number => offsetMs + i * result.metrics.intervalMs - w.startAfterMs;
    if (w.stages !== undefined && w.model === 'open') {
      const planned = Array.from({ length: points }, (_, i) =>
        compact(plannedArrivals(w.stages!, from(i), from(i + 1)) / (result.metrics.intervalMs / 1000)));
      chart.series.push({ label: name('planned/s', w), axis: 0, values: planned, planned: true });
    }
    const dropped = series.perSecond('iterations.dropped', tags);
    if (dropped.some((v) => v > 0)) chart.series.push({ label: name('dropped/s', w), axis: 0, values: dropped });
    chart.series.push({ label: name('VUs', w), axis: 1, values: series.gauge('vus', tags) });
    if (w.stages !== undefined && w.model === 'closed') {
      const users = Array.from({ length: points }, (_, i) => plannedUsers(w.stages!, (from(i) + from(i + 1)) / 2));
      chart.series.push({ label: name('planned VUs', w), axis: 1, values: users, planned: true });
    }
  }
  return chart;
}

/** Open model: the arrivals the plan puts in [aMs, bMs) of the workload's time (linear rates integrated exactly). */
export function plannedArrivals(stages: readonly ResultStage[], aMs: number, bMs: number): number {
  let arrivals = 0;
  for (const s of stages) {
    if (s.kind === 'burst' && s.iterations !== undefined) {
      // A burst's arrivals are spread evenly over its span (released at once when it has none).
      if (s.endMs === s.startMs) arrivals += s.startMs >= aMs && s.startMs < bMs ? s.iterations : 0;
      else {
        const overlap = Math.max(0, Math.min(bMs, s.endMs) - Math.max(aMs, s.startMs));
        arrivals += (s.iterations * overlap) / (s.endMs - s.startMs);
      }
      continue;
    }
    const x = Math.max(aMs, s.startMs);
    const y = Math.min(bMs, s.endMs);
    if (y <= x) continue;
    const at = (t: number): number => s.from + ((s.to - s.from) * (t - s.startMs)) / (s.endMs - s.startMs);
    arrivals += ((at(x) + at(y)) / 2) * ((y - x) / 1000);
  }
  return arrivals;
}

/** Closed model: the users the plan wants at `tMs` of the workload's time (the floor of the linear target). */
export function plannedUsers(stages: readonly ResultStage[], tMs: number): number {
  const s = stages.find((x) => tMs >= x.startMs && tMs < x.endMs);
  if (s === undefined) return 0;
  return Math.floor(s.from + ((s.to - s.from) * (tMs - s.startMs)) / (s.endMs - s.startMs));
}

/** step.duration's p50, p95 and p99 per step (and workload, when there are several). */
function latencyCharts(all: readonly ResultMetric[], points: number): Chart[] {
  const pairs = new Map<string, { workload: string; step: string }>();
  for (const m of all.filter((x) => x.name === 'step.duration' && x.count > 0)) {
    const key = JSON.stringify([m.tags['workload'], m.tags['step']]);
    if (!pairs.has(key)) pairs.set(key, { workload: m.tags['workload'] ?? '', step: m.tags['step'] ?? '' });
  }
  const many = new Set([...pairs.values()].map((p) => p.workload)).size > 1;
  return [...pairs.values()].slice(0, MAX_STEP_CHARTS).map(({ workload, step }, index) => {
    const entries = mergedTrend(all.filter((m) => m.name === 'step.duration'
      && m.tags['workload'] === workload && m.tags['step'] === step), points);
    const column = (i: 1 | 2 | 3): (number | null)[] => entries.map((e) => (e === null ? null : compact(e[i] ?? null)));
    return {
      id: `latency-${index}`,
      title: `Latency: ${step}${many ? ` (${workload})` : ''}`,
      note: 'step.duration each second: the median, the 95th and the 99th percentile.',
      units: ['ms'],
      series: [
        { label: 'p50', axis: 0, values: column(1) },
        { label: 'p95', axis: 0, values: column(2) },
        { label: 'p99', axis: 0, values: column(3) },
      ],
    } satisfies Chart;
  });
}

/** The `*.errors` rates' failures per second by class (status or code), and the share of steps that failed. */
function errorChart(all: readonly ResultMetric[], series: SeriesReader): Chart | undefined {
  const failing = all.filter((m) => m.type === 'rate' && m.name.endsWith('.errors') && m.name !== 'step.errors'
    && m.sum > 0);
  const stepFailures = all.filter((m) => m.name === 'step.errors').reduce((s, m) => s + m.sum, 0);
  if (failing.length === 0 && stepFailures === 0) return undefined;
  const kinds = new Set(failing.map((m) => m.name));
  const classes = new Map<string, { name: string; tags: Record<string, string> }>();
  for (const m of failing) {
    const tag = m.tags['status'] !== undefined ? 'status' : 'code';
    const value = m.tags[tag] ?? '?';
    const label = `${kinds.size > 1 ? `${m.name.replace(/\.errors$/, '')} ` : ''}${value}`;
    classes.set(label, { name: m.name, tags: { [tag]: value } });
  }
  return {
    id: 'errors',
    title: 'Failures over time',
    note: 'Failed requests per second by status or error class; the share of steps that failed on the right axis.',
    units: ['/s', '%'],
    series: [
      ...[...classes].map(([label, { name, tags }]) =>
        ({ label, axis: 0 as const, values: series.rate(name, tags, 'hits') })),
      { label: 'steps failed %', axis: 1, values: series.rate('step.errors', {}, 'percent') },
    ],
  };
}

/** perfy's own event-loop lag and CPU: a saturated generator inflates every latency it measures. */
function generatorChart(series: SeriesReader): Chart {
  const lag = series.percentile('engine.lag', {}, 3);
  const cpu = series.gauge('engine.cpu', {}, 100);
  return {
    id: 'generator',
    title: 'Load generator: event-loop lag and CPU',
    note: 'engine.lag (p99 each second, left) and engine.cpu (percent of one core, right): perfy itself, '
      + 'not the target.',
    units: ['ms', '%'],
    series: [
      ...(lag.some((v) => v !== null) ? [{ label: 'engine lag p99', axis: 0 as const, values: lag }] : []),
      ...(cpu.some((v) => v !== null) ? [{ label: 'engine CPU', axis: 1 as const, values: cpu }] : []),
    ],
  };
}

/** `monitor:`'s processes: resident memory and CPU, with its events marked where they happened. */
function processChart(result: Result, series: SeriesReader): Chart | undefined {
  const processes = distinct(result.metrics.metrics, 'process.rss', 'process');
  if (processes.length === 0) return undefined;
  const marks: ChartMark[] = (result.monitor?.events ?? []).map((e) => ({
    s: e.elapsedMs / 1000,
    kind: e.state === 'resolved' ? 'resolved' : e.level,
  }));
  const marked = marks.length === 0 ? '' : ' Vertical lines: `monitor:`\'s events (red: critical, amber: warning, '
    + 'green: resolved).';
  return {
    id: 'processes',
    title: 'Monitored processes',
    note: 'process.rss in MB (left) and process.cpu in percent of one core (right), as `monitor:` sampled them.'
      + marked,
    units: ['MB', '%'],
    series: processes.flatMap((p) => [
      { label: `${p} RSS`, axis: 0 as const, values: series.gauge('process.rss', { process: p }, 1e-6) },
      { label: `${p} CPU`, axis: 1 as const, values: series.gauge('process.cpu', { process: p }, 100) },
    ]),
    ...(marks.length === 0 ? {} : { marks }),
  };
}
