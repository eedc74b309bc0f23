// `report: [prometheus]`: the run's final metrics in the Prometheus text exposition format (0.0.4), for
// node_exporter's textfile collector and the Pushgateway: one family per metric, named and labelled by the
// Prometheus conventions (base units, `_total` counters, trends as summaries), plus the verdict and what
// `monitor:` found (alerts fired, leaks) as gauges.

import type { Result, ResultMonitor, ThresholdOutcome } from '../metrics/result.js';
import { storeFromSnapshot } from '../metrics/store.js';
import type { ResultMetric } from '../metrics/types.js';
import { allMetrics } from '../steps/index.js';
import type { Reporter } from './types.js';

export const prometheus: Reporter = {
  format: 'prometheus',
  defaultFile: 'metrics.prom',
  title: 'Prometheus metrics',
  render: (result) => Promise.resolve(prometheusText(result)),
};

/** The quantiles of a trend's summary (label, percentile): those of perfy's own summary. */
const QUANTILES = [['0.5', 50], ['0.9', 90], ['0.95', 95], ['0.99', 99], ['0.999', 99.9]] as const;
/** Longest label value kept: a tag holding a URL or an error message would otherwise make every line enormous. */
export const MAX_LABEL_VALUE = 120;
/** Gauges in bytes, whose name does not say so (counters of bytes say it: `http.bytes_in`, kept as it is). */
const BYTE_GAUGES: ReadonlySet<string> = new Set(['process.rss', 'process.heap']);

interface Sample {
  suffix: string;
  labels: [string, string][];
  value: number;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'summary';
  help: string;
  samples: Sample[];
}

export function prometheusText(result: Result): string {
  const descriptions = new Map(allMetrics().map((m) => [m.name, m.description]));
  const scenario: [string, string] = ['scenario', result.scenario.name];
  const families = new Map<string, Family>();
  const family = (name: string, type: Family['type'], help: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type, help, samples: [] }));
    return f;
  };
  const run = [scenario, ['status', result.status]] satisfies [string, string][];
  family('perfy_run_passed', 'gauge', 'Whether the run passed (1): it completed, every judged critical threshold '
    + 'passed, and monitor: saw no critical alert fire and no critical leak.')
    .samples.push({ suffix: '', labels: run, value: result.passed ? 1 : 0 });
  family('perfy_run_start_timestamp_seconds', 'gauge', 'When the run started, in seconds since the epoch.')
    .samples.push({ suffix: '', labels: [scenario], value: result.startedAt / 1000 });
  family('perfy_run_end_timestamp_seconds', 'gauge', 'When the run ended, in seconds since the epoch.')
    .samples.push({ suffix: '', labels: [scenario], value: result.endedAt / 1000 });
  const thresholds = family('perfy_threshold_passed', 'gauge',
    'Whether a threshold passed (1) or was crossed (0); judged="false": shown, but counted for nothing.');
  for (const t of result.thresholds) thresholds.samples.push(thresholdSample(scenario, t));
  if (result.monitor !== undefined) monitorFamilies(scenario, result.monitor, family);

  for (const metric of result.metrics.metrics) {
    const base = metricName(metric);
    const help = descriptions.get(metric.name) ?? `perfy metric ${metric.name} (${metric.type}).`;
    const labels = labelsOf(scenario, metric.tags, metric.type === 'trend');
    switch (metric.type) {
      case 'trend': {
        // Trends are recorded in ms; Prometheus wants seconds.
        const f = family(`${base}_seconds`, 'summary', help);
        if (metric.count > 0) {
          const one = storeFromSnapshot({ ...result.metrics, metrics: [metric] });
          for (const [quantile, percentile] of QUANTILES) {
            const value = one.aggregate({ fn: 'percentile', percentile, metric: metric.name, tags: metric.tags });
            if (value !== undefined) {
              f.samples.push({ suffix: '', labels: [...labels, ['quantile', quantile]], value: value / 1000 });
            }
          }
        }
        f.samples.push({ suffix: '_sum', labels, value: metric.sum / 1000 });
        f.samples.push({ suffix: '_count', labels, value: metric.count });
        break;
      }
      case 'counter':
        family(`${base}_total`, 'counter', help).samples.push({ suffix: '', labels, value: metric.sum });
        break;
      case 'rate':
        // The share, as thresholds read it, and the samples it is a share of, so that shares add up across
        // labels: sum(perfy_X_ratio * perfy_X_samples_total) / sum(perfy_X_samples_total).
        if (metric.count > 0) {
          family(`${base}_ratio`, 'gauge', help).samples.push({ suffix: '', labels, value: metric.sum / metric.count });
        }
        family(`${base}_samples_total`, 'counter', `Samples of ${metric.name} (what its ratio is a share of).`)
          .samples.push({ suffix: '', labels, value: metric.count });
        break;
      case 'gauge':
        // A gauge's sum is its last value; one never set has none.
        if (metric.count > 0) {
          const unit = BYTE_GAUGES.has(metric.name) ? '_bytes' : '';
          family(`${base}${unit}`, 'gauge', help).samples.push({ suffix: '', labels, value: metric.sum });
        }
        break;
    }
  }
  const lines: string[] = [];
  for (const f of families.values()) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${s.suffix}${labelText(s.labels)} ${number(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function thresholdSample(scenario: [string, string], t: ThresholdOutcome): Sample {
  const labels: [string, string][] = [scenario, ['threshold', bounded(t.source)]];
  if (t.judged === false) labels.push(['judged', 'false']);
  if (t.level === 'warning') labels.push(['level', 'warning']);
  return { suffix: '', labels, value: t.passed ? 1 : 0 };
}

/** `monitor:`'s alerts (times each fired) and leak verdicts (peak growth, and whether it leaked). */
function monitorFamilies(
  scenario: [string, string], monitor: ResultMonitor,
  family: (name: string, type: Family['type'], help: string) => Family,
): void {
  const alerts = family('perfy_alert_fired', 'gauge', 'Times an alert of monitor: fired during the run.');
  for (const a of monitor.alerts) {
    const labels: [string, string][] = [scenario, ['alert', bounded(a.source)], ['level', a.level]];
    alerts.samples.push({ suffix: '', labels, value: a.fired });
  }
  const growth = family('perfy_leak_growth_bytes_per_minute', 'gauge',
    'The highest sustained growth of a process\' memory the leak rule measured, in bytes per minute.');
  const leaked = family('perfy_leak', 'gauge',
    'Whether the leak rule found a process\' memory leaking (1) or not (0).');
  for (const l of monitor.leaks) {
    const process: [string, string] = ['process', bounded(l.process)];
    // No verdict (a run too short for the window, a process never found): no sample says a leak was ruled out.
    if (l.peakGrowthBytesPerMin !== null) {
      growth.samples.push({ suffix: '', labels: [scenario, process], value: l.peakGrowthBytesPerMin });
    }
    if (l.note === undefined) {
      leaked.samples.push({ suffix: '', labels: [scenario, process, ['level', l.level]], value: l.leaked ? 1 : 0 });
    }
  }
}

/** `http.duration` → `perfy_http_duration`: the prefix, and every character a metric name cannot have as `_`. */
function metricName(metric: ResultMetric): string {
  return `perfy_${metric.name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/**
 * The scenario and the metric's tags as labels, each value bounded to MAX_LABEL_VALUE characters. A tag whose name
 * is not a label name is rewritten (`_` for what is not allowed); one Prometheus reserves (`__x`, a summary's
 * `quantile`) is prefixed `tag_`. A tag named `scenario` would hide the run's: it is kept as `tag_scenario`.
 */
function labelsOf(scenario: [string, string], tags: Record<string, string>, summary: boolean): [string, string][] {
  const labels = new Map<string, string>([scenario]);
  for (const key of Object.keys(tags).sort()) {
    let name = key.replace(/[^a-zA-Z0-9_]/g, '_');
    if (/^[0-9]/.test(name)) name = `_${name}`;
    if (name.startsWith('__') || name === 'scenario' || (summary && name === 'quantile')) name = `tag_${name}`;
    while (labels.has(name)) name = `${name}_`;
    labels.set(name, bounded(tags[key]!));
  }
  return [...labels];
}

/**
 * A label value of at most MAX_LABEL_VALUE characters: a longer one is cut, and ends with a hash of the whole so two
 * long values that share their start stay two series.
 */
export function bounded(value: string): string {
  const chars = [...value];
  if (chars.length <= MAX_LABEL_VALUE) return value;
  return `${chars.slice(0, MAX_LABEL_VALUE - 9).join('')}…${fnv1a(value)}`;
}

/** A short, stable hash (FNV-1a, 32 bits) in hex: not for security, only to tell cut values apart. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function labelText(labels: readonly [string, string][]): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** The format's escapes of a label value: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The format's escapes of a HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample value as the format writes it: Go's float syntax, with NaN and ±Inf spelled its way, and 15 significant
 * digits (a float holds them all), so ms turned into seconds reads 0.002945, not 0.0029449999999999997.
 */
function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(Number(value.toPrecision(15)));
}
