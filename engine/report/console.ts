// The console: live progress while a run goes on, and the end-of-run summary (like k6's), both read-only over
// the metric store or the Result. Colours only on a terminal, never with NO_COLOR.

import { Chalk, type ChalkInstance } from 'chalk';
import type { AlertOutcome, LeakOutcome, Result, ResultEvent, ThresholdOutcome } from '../metrics/result.js';
import { isWarmup, measuredFromMs, storeFromSnapshot } from '../metrics/store.js';
import type { MetricSource } from '../expr/index.js';
import { coreMetrics, type MetricInfo } from '../metrics/catalog.js';
import { BUILTIN_STEP_KINDS, stepMetrics } from '../steps/index.js';
import type { StepKind, StepSummary, SummaryStyle } from '../steps/types.js';
import type { ResultMetric } from '../metrics/types.js';
import type { RunProgress } from '../run/run.js';
import { formatDuration } from '../units.js';
import { count, growth, ms, oneLine, percent, size } from './format.js';
import { alertStatus, failsRun, leakEpisodes, leakJudged, leakStatus, notifyLine, runTime } from './monitor.js';
import type { Reporter } from './types.js';
import { measured, thresholdState, verdictOf } from './verdict.js';
import { summaryViewOf } from './view.js';

/** The summary lines of the built-in step kinds, loaded with this module. */
export const BUILTIN_SUMMARIES = await loadSummaries(BUILTIN_STEP_KINDS);

/** `report: [{ format: console, path }]`: the summary as printed, without colours. */
export const consoleReporter: Reporter = {
  format: 'console',
  defaultFile: 'summary.txt',
  title: 'summary',
  render: async (result, context) => formatSummary(result, colorsFor(undefined), await loadSummaries(context.kinds)),
};

/** The summary lines of step kinds (a plan's, plugins included), in their order. */
export async function loadSummaries(kinds: readonly StepKind[]): Promise<StepSummary[]> {
  const loaded = await Promise.all(kinds.map(async (kind) => kind.summary?.()));
  return loaded.filter((summary) => summary !== undefined);
}

function summaryStyle(c: ChalkInstance): SummaryStyle {
  return { bold: c.bold, dim: c.dim, red: c.red, green: c.green, yellow: c.yellow, count, ms, line: oneLine };
}

/** Where progress goes: standard error, or what stands for it (the CLI's redacting writer). */
export interface TextSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Colours for a stream; none for a file (`undefined`). */
export function colorsFor(stream: Pick<TextSink, 'isTTY'> | undefined): ChalkInstance {
  const enabled = Boolean(stream?.isTTY) && process.env['NO_COLOR'] === undefined && process.env['TERM'] !== 'dumb';
  return new Chalk({ level: enabled ? 1 : 0 });
}

/** Live progress: one rewritten line on a terminal, a plain line every `plainEveryMs` otherwise. */
export function createProgressPrinter(
  stream: TextSink, plainEveryMs = 10_000,
): { update(p: RunProgress): void; event(e: ResultEvent): void; done(): void } {
  const c = colorsFor(stream);
  const tty = Boolean(stream.isTTY);
  let lastPlain = 0;
  let wrote = false;
  let lastLine = '';
  return {
    // An alert's line stays above the progress line, which is drawn again under it.
    event(e) {
      stream.write(`${tty && wrote ? '\r\x1b[2K' : ''}${eventLine(e, c)}\n${tty && wrote ? lastLine : ''}`);
    },
    update(p) {
      const line = progressLine(p, c);
      lastLine = line;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        wrote = true;
      } else if (p.elapsedMs - lastPlain >= plainEveryMs) {
        lastPlain = p.elapsedMs;
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (tty && wrote) stream.write('\r\x1b[2K');
    },
  };
}

/** `! 12s  critical alert fired: cpu(api) > 90% for 5s (cpu(api) = 97.0%)`: one line per firing or resolving. */
export function eventLine(e: ResultEvent, c: ChalkInstance): string {
  const paint = e.state === 'resolved' ? c.green : e.level === 'critical' ? c.red : c.yellow;
  return `${paint(e.state === 'resolved' ? '✓' : '!')} ${runTime(e.elapsedMs).padStart(5)}  ${paint(e.message)}`;
}

export function progressLine(p: RunProgress, c: ChalkInstance): string {
  const width = 20;
  const share = p.plannedMs > 0 ? Math.min(1, p.elapsedMs / p.plannedMs) : 1;
  const bar = `${'█'.repeat(Math.round(share * width))}${'░'.repeat(width - Math.round(share * width))}`;
  const workloads = p.workloads.map((w) => {
    // Closed model: the users looping now, and where the ramp is taking them (a stopping user finishes its
    // iteration first, so the two differ while ramping down).
    const load = w.model === 'open'
      ? `${w.target.toFixed(0)}/s · ${w.active} active`
      : `${w.active} users${w.active !== w.target ? ` → ${w.target}` : ''}`;
    return `${w.name} ${load}${w.dropped ? c.yellow(` · ${count(w.dropped)} dropped`) : ''}`;
  });
  const p95 = p.store.aggregate({ fn: 'percentile', percentile: 95, metric: 'http.duration', tags: {} });
  const errors = p.store.aggregate({ fn: 'rate', metric: 'http.errors', tags: {} });
  const checks = p.store.aggregate({ fn: 'rate', metric: 'checks', tags: {} });
  const parts = [
    `${runTime(p.elapsedMs)}/${runTime(p.plannedMs)} ${c.cyan(bar)}`,
    ...workloads,
    p95 === undefined ? '' : `p95 ${ms(p95)}`,
    errors === undefined ? '' : `errors ${errors > 0 ? c.red(percent(errors)) : percent(errors)}`,
    checks === undefined ? '' : `checks ${percent(checks)}`,
  ].filter(Boolean);
  return parts.join('  ');
}

/** The summary's order and what each metric asks of it: the kinds' metrics (the requests) first, then the core's. */
const SHOWN: ReadonlyMap<string, { rank: number; info: MetricInfo }> =
  new Map([...stepMetrics(), ...coreMetrics()].map((info, rank) => [info.name, { rank, info }]));

/** The end-of-run summary, from the Result alone. */
export function formatSummary(
  result: Result, c: ChalkInstance, summaries: readonly StepSummary[] = BUILTIN_SUMMARIES,
): string {
  // Rates per second over the measured part of the run (after the warm-up, when every workload has one).
  const warmupMs = measuredFromMs(result.workloads);
  const source = storeFromSnapshot(result.metrics, { elapsedMs: result.endedAt - result.startedAt, warmupMs });
  const seconds = Math.max(0.001, (result.endedAt - result.startedAt - warmupMs) / 1000);
  const lines: string[] = [];
  // Green only for a run that passed: a completed run whose thresholds failed is not good news.
  const statusText = result.passed ? c.green(result.status) : result.status === 'completed'
    ? c.yellow(result.status)
    : c.red(result.status);
  const reason = result.reason ? ` — ${result.reason}` : '';
  const took = formatDuration(Math.round(seconds * 1000));
  lines.push(`${c.bold(`scenario ${result.scenario.name}`)}: ${statusText} in ${took}${reason}`);
  if (result.overrides.length) lines.push(c.dim(`  overrides: ${result.overrides.join(', ')}`));
  const origin = loadOrigin(result);
  if (origin !== undefined) lines.push(c.dim(`  ${origin}`));
  // Everything below reads the measured load: a warm-up's samples are only counted on its own line.
  const all = result.metrics.metrics;
  const view = summaryViewOf(result, summaryStyle(c));
  const { metrics, sum } = view;
  const sumOf = (list: ResultMetric[], name: string, tags: Record<string, string> = {}): number =>
    list
      .filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v))
      .reduce((s, m) => s + m.sum, 0);
  for (const w of result.workloads) {
    // Poisson arrivals are random: the plan's count is the expected one.
    const planned = w.plannedIterations === null
      ? ''
      : `${w.arrivals === 'poisson' ? '~' : ''}${count(w.plannedIterations)} planned · `;
    // The workload's line counts every iteration, warm-up included, so it adds up with the plan.
    const started = sumOf(all, 'iterations', { workload: w.name });
    const dropped = sumOf(all, 'iterations.dropped', { workload: w.name });
    const interrupted = sumOf(all, 'iterations.interrupted', { workload: w.name });
    const droppedText = dropped ? c.yellow(`${count(dropped)} dropped`) : '0 dropped';
    lines.push(`  workload ${w.name} (${w.model}): ${planned}${count(started)} completed · ${droppedText} · `
      + `${count(interrupted)} interrupted`);
    if (w.warmupMs !== undefined && w.warmupMs > 0) {
      const warm = sumOf(all.filter((m) => isWarmup(m.tags)), 'iterations', { workload: w.name });
      lines.push(c.dim(`    warm-up ${formatDuration(w.warmupMs)}: ${count(warm)} of them, kept apart (phase: warmup) `
        + 'and left out of the numbers and thresholds below'));
    }
  }

  const trendRows = trendSeries(metrics);
  if (trendRows.length > 0) {
    const headings = ['count', 'rate', 'min', 'p50', 'p90', 'p95', 'p99', 'max'].map((h) => h.padStart(9)).join(' ');
    lines.push('', c.bold(`  ${'metric'.padEnd(44)}${headings}`));
  }
  // Each row's cells as shown: a row equal to another (MetricSummary.sameAs) or all zero (zeroMeans) says nothing
  // the table does not, and is left out with a line saying why.
  const cellsOf = new Map<string, string[]>();
  const leftOut = new Map<string, string>();
  for (const row of trendRows) {
    // Through the store, as thresholds read them: warm-up and unexpected responses' latencies are set aside.
    const q = (percentile: number): number | undefined =>
      source.aggregate({ fn: 'percentile', percentile, metric: row.name, tags: row.filter });
    const of = (fn: 'count' | 'min' | 'max'): number | undefined =>
      source.aggregate({ fn, metric: row.name, tags: row.filter });
    const n = of('count') ?? 0;
    if (n === 0) continue;
    const cells = [
      count(n), `${(n / seconds).toFixed(1)}/s`,
      ms(of('min')), ms(q(50)), ms(q(90)), ms(q(95)), ms(q(99)), ms(of('max')),
    ];
    cellsOf.set(row.label, cells);
    const why = leftOutBecause(row, cells, cellsOf);
    if (why !== undefined) {
      leftOut.set(row.name, why);
      continue;
    }
    lines.push(`  ${row.label.padEnd(44)}${cells.map((x) => x.padStart(9)).join(' ')}`);
  }

  // The rows whose names do not say what they mean explained under the table, and those left out said.
  const shownNames = new Set(trendRows.map((r) => r.name));
  for (const name of shownNames) {
    const note = leftOut.get(name) ?? SHOWN.get(name)?.info.summary?.note;
    if (note !== undefined) lines.push(c.dim(`  ${name}: ${note}`));
  }

  // Counters that ask for a total (MetricSummary.total): counts first, then bytes, each in catalog order.
  const isBytes = (info: MetricInfo): number => Number(info.summary?.total === 'bytes');
  const counters = [...SHOWN.values()]
    .filter(({ info }) => info.summary?.total !== undefined && metrics.some((m) => m.name === info.name))
    .sort((a, b) => isBytes(a.info) - isBytes(b.info) || a.rank - b.rank)
    .map(({ info }) => info);
  if (counters.length) {
    lines.push('');
    for (const { name, summary } of counters) {
      const total = sum(name);
      const bytes = summary?.total === 'bytes';
      const cells = bytes
        ? [size(total), `${size(total / seconds)}/s`]
        : [count(total), `${(total / seconds).toFixed(1)}/s`];
      lines.push(`  ${name.padEnd(44)}${cells.map((x) => x.padStart(9)).join(' ')}`);
    }
  }

  lines.push(...processLines(metrics, source, c));
  lines.push(...monitorLines(result, c));

  // Each step kind's own lines (engine/steps/*/summary.ts), in the order of the kinds.
  for (const kindSummary of summaries) lines.push(...kindSummary(view));
  if (metrics.some((m) => m.name === 'github_mock.requests')) {
    const blocked = sum('github_mock.blocked');
    const limited = (kind: string): string => count(sum('github_mock.limited', { kind }));
    lines.push(`  ${c.bold('github mock')}  ${count(sum('github_mock.requests'))} requests · `
      + `limited: ${limited('primary')} primary, ${limited('secondary')} secondary · `
      + `${blocked ? c.yellow(`${count(blocked)} blocked for abuse`) : '0 blocked'} · `
      + `${count(sum('github_mock.not_modified'))} not modified`);
  }

  // The first message of each failing step and code: what the server or the network said.
  const samples = result.metrics.samples ?? [];
  const errors = samples.filter((x) => x.kind === 'error');
  if (errors.length) {
    lines.push('', `  ${c.bold('first errors')}`);
    for (const e of errors.slice(0, MAX_ERROR_LINES)) {
      lines.push(`    ${e.tags['step'] ?? '?'} (${e.tags['code'] ?? '?'}): ${oneLine(e.message)}`);
    }
    if (errors.length > MAX_ERROR_LINES) {
      lines.push(c.dim(`    … ${errors.length - MAX_ERROR_LINES} more in the result's samples`));
    }
  }

  // Captures that found nothing: the steps after them ran with an empty variable.
  const missing = metrics.filter((m) => m.name === 'captures.missing' && m.sum > 0);
  if (missing.length) {
    const each = missing.map((m) => `${m.tags['step'] ?? '?'}: ${m.tags['capture'] ?? '?'} × ${count(m.sum)}`);
    lines.push('', `  ${c.bold('captures missing')}  ${each.join(' · ')}`);
  }

  const checks = metrics.filter((m) => m.name === 'checks');
  if (checks.length) {
    const hits = checks.reduce((s, m) => s + m.sum, 0);
    const total = checks.reduce((s, m) => s + m.count, 0);
    const share = percent(total ? hits / total : undefined);
    lines.push('', `  ${c.bold('checks')}  ${share} (${count(hits)} of ${count(total)})`);
    for (const m of checks) {
      if (m.sum === m.count) continue;
      const passed = percent(m.count ? m.sum / m.count : 0);
      const failed = count(m.count - m.sum);
      lines.push(`    ${c.red('✗')} ${m.tags['step']}: ${m.tags['check']}  ${passed} passed (${failed} failed)`);
    }
  }

  if (result.thresholds.length) {
    lines.push('', `  ${c.bold('thresholds')}`);
    for (const t of result.thresholds) lines.push(`    ${thresholdLine(t, c)}`);
  }
  if (result.saturation.note) lines.push('', c.yellow(`  ! ${result.saturation.note}`));
  // Last, where everyone looks: the verdict.
  const verdict = verdictOf(result);
  lines.push('', c.bold(verdict.passed ? c.green(verdict.line) : c.red(verdict.line)));
  return `${lines.join('\n')}\n`;
}


/** Error samples shown in the summary; the result keeps them all. */
const MAX_ERROR_LINES = 10;


/** What generated the load when more than one thread or process did (workers, merged segments); else undefined. */
function loadOrigin(result: Result): string | undefined {
  const workers = result.environment.workers ?? 1;
  const merged = result.merged;
  if (merged !== undefined) {
    const threads = workers > merged.results ? `, ${workers} worker threads in all` : '';
    const n = merged.results;
    return merged.segments
      ? `load generated by ${n} segments of one run (perfy run --segment i/${n}${threads}), merged`
      : `merged from ${n} whole runs${threads}: their loads add up`;
  }
  // An older merged result says so only in its overrides, which the summary lists.
  if (result.overrides.some((o) => /^merged from \d+ results$/.test(o))) return undefined;
  const segment = result.segment === undefined ? '' : ` for segment ${result.segment.index}/${result.segment.count}`;
  return workers > 1 ? `load generated by ${workers} worker threads${segment}, results merged` : undefined;
}

function thresholdLine(t: ThresholdOutcome, c: ChalkInstance): string {
  const state = thresholdState(t);
  const mark = state === 'not judged' ? c.dim('–') : state === 'passed' ? c.green('✓')
    : state === 'warning' ? c.yellow('!') : c.red('✗');
  const values = measured(t);
  const warning = state === 'warning' ? c.yellow(' (warning)') : '';
  const note = t.note === undefined ? '' : c.dim(`  — ${t.note}`);
  const aborted = t.aborted ? c.red('  — aborted the run') : '';
  return `${mark} ${t.source}${warning}${values ? c.dim(`  (${values})`) : ''}${aborted}${note}`;
}


/** Trend rows: each trend metric overall, then per step / group where there are several. */
interface TrendRow {
  label: string;
  name: string;
  filter: Record<string, string>;
}

function trendSeries(metrics: readonly ResultMetric[]): TrendRow[] {
  const rows: TrendRow[] = [];
  const names = [...new Set(metrics.filter((m) => m.type === 'trend' && m.count > 0).map((m) => m.name))]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) {
    const series = metrics.filter((m) => m.name === name && m.count > 0);
    // Steps and groups by name; a JMeter plan's samples by their label, beside the native steps.
    const shown = SHOWN.get(name)?.info.summary;
    const by = shown?.by;
    if (shown?.overall !== false) rows.push({ label: name, name, filter: {} });
    // The latencies the row above leaves out, on a line of their own: refused connections, timeouts, error statuses.
    if (series.some((m) => m.tags['expected'] === 'false')) {
      rows.push({ label: `${name}{expected: false}`, name, filter: { expected: 'false' } });
    }
    if (by === undefined) continue;
    for (const value of [...new Set(series.map((m) => m.tags[by]).filter((v): v is string => v !== undefined))]) {
      rows.push({ label: `${name}{${by}: ${value}}`, name, filter: { [by]: value } });
    }
  }
  return rows;
}

/** `monitor:`'s processes, one line each: CPU (average and peak, share of one core), peak memory, I/O, descriptors. */
function processLines(metrics: readonly ResultMetric[], source: MetricSource, c: ChalkInstance): string[] {
  const names = [...new Set(metrics.filter((m) => m.name === 'process.rss').map((m) => m.tags['process'] ?? '?'))];
  if (names.length === 0) return [];
  const lines = ['', `  ${c.bold('processes')}`];
  for (const name of names) {
    const of = (fn: 'avg' | 'max', metric: string): number | undefined =>
      source.aggregate({ fn, metric, tags: { process: name } });
    const parts = [`cpu ${percent(of('avg', 'process.cpu'))} avg, ${percent(of('max', 'process.cpu'))} max`];
    const rss = of('max', 'process.rss');
    if (rss !== undefined) parts.push(`rss ${size(rss)} max`);
    const read = of('avg', 'process.io_read');
    const write = of('avg', 'process.io_write');
    if (read !== undefined && write !== undefined) parts.push(`io ${size(read)}/s in, ${size(write)}/s out`);
    const fds = of('max', 'process.fds');
    if (fds !== undefined) parts.push(`${count(fds)} fds max`);
    const grew = of('max', 'process.rss.growth');
    if (grew !== undefined) parts.push(`growth ${growth(grew)} max`);
    lines.push(`    ${name.padEnd(12)} ${parts.join(' · ')}`);
  }
  return lines;
}

/** `monitor:`'s alerts and leak verdicts, one line each (a leak's episodes under it), and what notify delivered. */
function monitorLines(result: Result, c: ChalkInstance): string[] {
  const monitor = result.monitor;
  if (monitor === undefined) return [];
  const lines: string[] = [];
  const level = (x: AlertOutcome | LeakOutcome): string => x.level.padEnd(8);
  const mark = (x: AlertOutcome | LeakOutcome, hit: boolean): string =>
    !hit ? c.green('✓') : failsRun(x) ? c.red('✗') : c.yellow('!');
  if (monitor.alerts.length > 0) {
    lines.push('', `  ${c.bold('alerts')}`);
    for (const a of monitor.alerts) {
      const about = a.description === undefined ? '' : c.dim(`  — ${a.description}`);
      lines.push(`    ${mark(a, a.fired > 0)} ${level(a)} ${a.source}  ${alertStatus(a)}${about}`);
    }
  }
  if (monitor.leaks.length > 0) {
    lines.push('', `  ${c.bold('leaks')}`);
    for (const l of monitor.leaks) {
      const shown = leakJudged(l) ? mark(l, l.leaked) : c.dim('–');
      lines.push(`    ${shown} ${level(l)} ${l.process.padEnd(12)} ${leakStatus(l)}`);
      for (const episode of leakEpisodes(l)) lines.push(c.dim(`        ${episode}`));
    }
  }
  const notified = notifyLine(monitor);
  if (notified !== undefined) {
    const failed = (monitor.notify?.failed ?? 0) + (monitor.notify?.dropped ?? 0) > 0;
    lines.push('', `  ${c.bold('notify')}  ${failed ? c.yellow(notified) : notified}`);
    for (const error of monitor.notify?.errors ?? []) lines.push(c.dim(`    ${oneLine(error)}`));
  }
  if (monitor.eventsDropped) {
    lines.push(c.dim(`  ${count(monitor.eventsDropped)} events past the first ${count(monitor.events.length)} `
      + 'were not kept in the result'));
  }
  return lines;
}

/** Why a trend row says nothing the table does not (MetricSummary.sameAs, zeroMeans); undefined: it is shown. */
function leftOutBecause(row: TrendRow, cells: string[], shownRows: ReadonlyMap<string, string[]>): string | undefined {
  const shown = SHOWN.get(row.name)?.info.summary;
  if (shown?.sameAs !== undefined) {
    const twin = shownRows.get(row.label.replace(row.name, shown.sameAs));
    const means = shown.sameAsMeans === undefined ? '' : ` (${shown.sameAsMeans})`;
    if (twin !== undefined && twin.join() === cells.join()) return `left out: the same as ${shown.sameAs}${means}`;
  }
  // As shown: the store keeps a recorded 0 as its smallest value, which prints as 0.
  const zero = cells.slice(2).every((cell) => cell === '0');
  if (shown?.zeroMeans !== undefined && zero) return `left out: 0 throughout (${shown.zeroMeans})`;
  return undefined;
}

function rank(name: string): number {
  return SHOWN.get(name)?.rank ?? SHOWN.size;
}
