// The HTML report's tables, as sections of formatted cells (the step kinds' sections have the same shape): the
// thresholds, workloads, steps, checks, failures, every metric, service metrics, the scenario and the machine.

import type { Result } from '../metrics/result.js';
import { measuredFromMs } from '../metrics/store.js';
import type { SummaryRow } from '../metrics/summary.js';
import type { SummaryView } from '../steps/types.js';
import { formatDuration } from '../units.js';
import { count, ms, percent, size } from './format.js';
import type { ReportSection, ReportTable } from './types.js';
import { measured, thresholdState, type ThresholdState } from './verdict.js';

/** `step.duration{step: vote}`: a metric and its tags as the console summary writes them. */
export function labelOf(name: string, tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}: ${v}`).join(', ')}}`;
}

const perSecond = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(1)}/s`);

const STATES: Record<ThresholdState, string> = {
  'passed': '✓ passed', 'crossed': '✗ crossed', 'warning': '! warning', 'not judged': 'not judged',
};

export function thresholdTable(result: Result): ReportTable | undefined {
  if (result.thresholds.length === 0) return undefined;
  return {
    columns: ['', 'threshold', 'measured', 'note'],
    rows: result.thresholds.map((t) => [
      STATES[thresholdState(t)],
      t.source,
      measured(t),
      [t.description, t.aborted ? 'stopped the run' : undefined, t.note].filter(Boolean).join(' · '),
    ]),
  };
}

export function workloadTable(result: Result, view: SummaryView): ReportTable {
  // Every iteration, warm-up included, so the line adds up with the plan (as the console's workload line).
  const total = (name: string, workload: string): number => result.metrics.metrics
    .filter((m) => m.name === name && m.tags['workload'] === workload)
    .reduce((s, m) => s + m.sum, 0);
  return {
    columns: ['workload', 'model', 'starts after', 'duration', 'planned', 'completed', 'dropped', 'interrupted'],
    rows: result.workloads.map((w) => [
      w.name,
      w.model + (w.arrivals === 'poisson' ? ' (poisson)' : ''),
      formatDuration(w.startAfterMs),
      formatDuration(w.durationMs) + (w.warmupMs ? ` (warm-up ${formatDuration(w.warmupMs)})` : ''),
      w.plannedIterations === null ? '-' : `${w.arrivals === 'poisson' ? '~' : ''}${count(w.plannedIterations)}`,
      count(total('iterations', w.name)),
      view.style.count(total('iterations.dropped', w.name)),
      count(total('iterations.interrupted', w.name)),
    ]),
  };
}

/** Per step: step.duration's numbers and the share of its runs that failed, from result.summary. */
export function stepTable(result: Result): ReportTable | undefined {
  const rows = result.summary.metrics.filter((r) => r.name === 'step.duration' && r.tags['step'] !== undefined);
  if (rows.length === 0) return undefined;
  const failed = (step: string): SummaryRow | undefined =>
    result.summary.metrics.find((r) => r.name === 'step.errors' && r.tags['step'] === step);
  return {
    columns: ['step', 'count', 'rate', 'min', 'p50', 'p90', 'p95', 'p99', 'max', 'failed'],
    rows: rows.map((r) => {
      const f = failed(r.tags['step']!);
      return [
        r.tags['step']!, count(r.count), perSecond(r.perSecond),
        ms(r.min), ms(r.p50), ms(r.p90), ms(r.p95), ms(r.p99), ms(r.max),
        f?.share === undefined ? '-' : `${percent(f.share)} (${count(f.hits ?? 0)})`,
      ];
    }),
  };
}

/** `checks` by step and check: how many passed and failed. */
export function checkTable(view: SummaryView): ReportTable | undefined {
  const checks = new Map<string, { step: string; check: string; hits: number; total: number }>();
  for (const m of view.metrics.filter((x) => x.name === 'checks')) {
    const key = JSON.stringify([m.tags['step'], m.tags['check']]);
    const entry = checks.get(key) ?? { step: m.tags['step'] ?? '?', check: m.tags['check'] ?? '?', hits: 0, total: 0 };
    entry.hits += m.sum;
    entry.total += m.count;
    checks.set(key, entry);
  }
  if (checks.size === 0) return undefined;
  return {
    columns: ['step', 'check', 'passed', 'failed', 'share passed'],
    rows: [...checks.values()].map((c) => [
      c.step, c.check, count(c.hits), count(c.total - c.hits), percent(c.total > 0 ? c.hits / c.total : undefined),
    ]),
  };
}

/** Failures by step and class (an HTTP status, an error class, a SQLSTATE), and the first message of each. */
export function failureTables(result: Result, view: SummaryView): ReportTable[] {
  const byClass = new Map<string, { kind: string; step: string; status: string; failed: number }>();
  for (const m of view.metrics.filter((x) => x.type === 'rate' && x.name.endsWith('.errors')
    && x.name !== 'step.errors' && x.sum > 0)) {
    const kind = m.name.replace(/\.errors$/, '');
    const status = m.tags['status'] ?? m.tags['code'] ?? '?';
    const step = m.tags['step'] ?? m.tags['label'] ?? '?';
    const key = JSON.stringify([kind, step, status]);
    const entry = byClass.get(key) ?? { kind, step, status, failed: 0 };
    entry.failed += m.sum;
    byClass.set(key, entry);
  }
  const tables: ReportTable[] = [];
  if (byClass.size > 0) {
    tables.push({
      caption: 'Failed requests by step and class',
      columns: ['kind', 'step', 'status or class', 'failed'],
      rows: [...byClass.values()].sort((a, b) => b.failed - a.failed)
        .map((e) => [e.kind, e.step, e.status, count(e.failed)]),
    });
  }
  const errors = view.samples.filter((s) => s.kind === 'error');
  if (errors.length > 0) {
    tables.push({
      caption: 'The first error of each step and code',
      columns: ['at', 'step', 'code', 'message'],
      rows: errors.map((e) => [
        formatDuration(Math.max(0, Math.round((e.at - result.startedAt) / 1000)) * 1000),
        e.tags['step'] ?? '?', e.tags['code'] ?? '?', e.message,
      ]),
    });
  }
  return tables;
}

/** Every metric of result.summary: the trends as a latency table, the others with their totals. */
export function metricTables(result: Result): ReportTable[] {
  const rows = result.summary.metrics.filter((r) => !r.name.startsWith('github_mock.'));
  const trends = rows.filter((r) => r.type === 'trend' && r.count > 0);
  const others = rows.filter((r) => r.type !== 'trend' && Object.keys(r.tags).length === 0);
  return [
    {
      caption: 'Timings (ms)',
      columns: ['metric', 'count', 'rate', 'min', 'avg', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
      rows: trends.map((r) => [
        labelOf(r.name, r.tags), count(r.count), perSecond(r.perSecond),
        ms(r.min), ms(r.avg), ms(r.p50), ms(r.p90), ms(r.p95), ms(r.p99), ms(r.p99_9), ms(r.max),
      ]),
    },
    {
      caption: 'Counters, rates and gauges',
      columns: ['metric', 'type', 'value', 'rate'],
      rows: others.map((r) => [labelOf(r.name, r.tags), r.type, valueOf(r), perSecondOf(r)]),
    },
  ].filter((t) => t.rows.length > 0);
}

const BYTES = /bytes/;

function valueOf(r: SummaryRow): string {
  if (r.type === 'rate') return `${percent(r.share)} (${count(r.hits ?? 0)} of ${count(r.count)})`;
  if (r.type === 'gauge') {
    const range = r.min === undefined || r.max === undefined ? '' : ` (${fmt(r.min)} to ${fmt(r.max)})`;
    return `${fmt(r.value ?? 0)}${range}`;
  }
  return BYTES.test(r.name) ? size(r.count) : count(r.count);
}

function perSecondOf(r: SummaryRow): string {
  if (r.perSecond === undefined) return '';
  return BYTES.test(r.name) ? `${size(r.perSecond)}/s` : perSecond(r.perSecond);
}

const fmt = (n: number): string => String(Math.round(n * 1000) / 1000);

/** The built-in services' own counters (github_mock.*), by service and kind. */
export function serviceSection(view: SummaryView): ReportSection | undefined {
  const service = view.metrics.filter((m) => m.name.startsWith('github_mock.'));
  if (service.length === 0) return undefined;
  return {
    title: 'Service metrics',
    notes: ['What the built-in services counted on their side, collected at the end of the run.'],
    tables: [{
      columns: ['metric', 'total'],
      rows: service.map((m) => [labelOf(m.name, m.tags), count(m.sum)]),
    }],
  };
}

/** The scenario, the overrides, the run and the machine it ran on. */
export function runTable(result: Result): ReportTable {
  const e = result.environment;
  const seconds = (result.endedAt - result.startedAt - measuredFromMs(result.workloads)) / 1000;
  const rows: [string, string][] = [
    ['scenario', result.scenario.name],
    ['description', result.scenario.description ?? ''],
    ['file', result.scenario.file],
    ['status', result.status + (result.reason ? `: ${result.reason}` : '')],
    ['started', new Date(result.startedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')],
    ['measured for', formatDuration(Math.max(0, Math.round(seconds * 1000)))],
    ['overrides', result.overrides.join(', ') || 'none'],
    ['perfy', `${e.perfy} on Node ${e.node}, ${e.workers ?? 1} worker thread${(e.workers ?? 1) === 1 ? '' : 's'}`],
    ['machine', `${e.hostname}: ${e.platform} ${e.arch}, ${e.cpus} CPUs`],
  ];
  if (result.segment !== undefined) rows.push(['segment', `${result.segment.index} of ${result.segment.count}`]);
  if (result.merged !== undefined) {
    rows.push(['merged', `${result.merged.results} results${result.merged.segments ? ' (segments of one run)' : ''}`]);
  }
  return { columns: ['', ''], rows: rows.filter(([, v]) => v !== '') };
}
