// How every report writes numbers: durations, shares, sizes, counts, and a threshold's measured value. One place,
// so the console, HTML, Markdown and JUnit reports show the same figure the same way.

import { allMetrics } from '../steps/index.js';
import { formatGrowth, formatSize } from '../units.js';

/** A duration in ms: `850µs`, `12.3ms`, `412ms`, `1.25s`; `-` when there is none. */
export function ms(value: number | undefined | null): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  if (value <= 0.001) return '0';
  if (value < 1) return `${Math.round(value * 1000)}µs`;
  if (value < 100) return `${value.toFixed(1)}ms`;
  if (value < 1000) return `${Math.round(value)}ms`;
  return `${(value / 1000).toFixed(2)}s`;
}

/** A share (0 to 1) as a percentage: `0.3%`; three decimals below 0.1 % so a rare failure does not show as 0. */
export function percent(value: number | undefined | null): string {
  return value === undefined || value === null ? '-' : `${(value * 100).toFixed(value < 0.001 && value > 0 ? 3 : 1)}%`;
}

/** Bytes in decimal units: `512B`, `1.2MB`. */
export const size = formatSize;

/** A whole number with thousands separators. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Metrics of bytes: thresholds on them show a size. */
const BYTE_METRICS = new Set(allMetrics().filter((m) => m.unit === 'bytes').map((m) => m.name));
const GROWTH_METRICS = new Set(allMetrics().filter((m) => m.unit === 'bytes/min').map((m) => m.name));

/** A growth in bytes per minute: `12MB/min`, `-3.1MB/min`. */
export const growth = formatGrowth;

/** Trends are durations in ms: thresholds on them show a unit. */
const TREND_METRICS = new Set(allMetrics().filter((m) => m.type === 'trend').map((m) => m.name));
/** A threshold's measured value in the unit of its function: `412ms`, `0.5%`, `1,024`, `50.0/s`. */
export function formatValue(metric: string, fn: string, value: number): string {
  if (fn === 'rate') return percent(value);
  if (fn === 'count') return count(value);
  if (fn === 'throughput') return `${value.toFixed(1)}/s`;
  // `metric` is as the threshold wrote it, a tag filter included: `jmeter.duration{label: "x"}`.
  if (TREND_METRICS.has(metric.replace(/\{.*$/, ''))) return ms(value);
  if (BYTE_METRICS.has(metric.replace(/\{.*$/, ''))) return size(value);
  if (GROWTH_METRICS.has(metric.replace(/\{.*$/, ''))) return growth(value);
  return String(Math.round(value * 1000) / 1000);
}

/** A message on one line of at most 160 characters. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}
