// `report: [markdown]`: a short summary in GitHub-flavoured Markdown, for $GITHUB_STEP_SUMMARY and pull-request
// comments: the verdict as a heading, the thresholds, what `monitor:` found, the steps' latencies, failed checks,
// first errors and the step kinds' own sections. Every text from the result is escaped: a name cannot break a table.

import { coreMetrics } from '../metrics/catalog.js';
import type { Result, ThresholdOutcome } from '../metrics/result.js';
import type { SummaryRow } from '../metrics/summary.js';
import { stepMetrics } from '../steps/index.js';
import { formatDuration } from '../units.js';
import { count, ms, oneLine, percent } from './format.js';
import type { ReportSection, Reporter } from './types.js';
import { monitorSection } from './monitor.js';
import {
  checkFailures, checkOutcomes, measured, notJudged, thresholdState, verdictOf, type ThresholdState,
} from './verdict.js';
import { loadSections, summaryViewOf } from './view.js';

export const markdown: Reporter = {
  format: 'markdown',
  defaultFile: 'summary.md',
  title: 'Markdown summary',
  render: async (result, context) => {
    const view = summaryViewOf(result);
    const sections = (await loadSections(context.kinds)).flatMap((sectionsOf) => sectionsOf(view));
    return markdownSummary(result, sections);
  },
};

const ORDER = [...stepMetrics(), ...coreMetrics()];
const CATALOG = new Map(ORDER.map((m) => [m.name, m]));
/** A metric's place in the catalog; one it does not list (a plugin's) after those it does. */
const rank = (name: string): number => {
  const i = ORDER.findIndex((m) => m.name === name);
  return i < 0 ? ORDER.length : i;
};

/** First errors listed; the rest are counted. */
const MAX_ERRORS = 10;
/** `monitor:`'s events listed: a flapping alert must not fill a pull-request comment. */
const MAX_EVENTS = 50;

export function markdownSummary(result: Result, sections: readonly ReportSection[]): string {
  const verdict = verdictOf(result);
  const out: string[] = [`## ${inline(verdict.line)}`, '', aboutLine(result), ''];
  if (result.thresholds.length > 0) {
    out.push('### Thresholds', '', ...table(
      ['', 'threshold', 'measured', 'note'],
      result.thresholds.map((t) => [mark(t), t.source, measured(t), noteOf(t)]),
    ), '');
  }
  const monitor = monitorSection(result.monitor, MAX_EVENTS);
  if (monitor !== undefined) out.push(...sectionLines(monitor));
  const rows = result.summary.metrics;
  // The console's order (the kinds' metrics first), without the overall rows that say nothing (step.duration).
  const trends = rows
    .filter((r) => r.type === 'trend' && Object.keys(r.tags).length === 0)
    .filter((r) => CATALOG.get(r.name)?.summary?.overall !== false)
    .sort((a, b) => rank(a.name) - rank(b.name));
  if (trends.length > 0) {
    out.push('### Latency', '', ...table(
      ['metric', 'count', 'rate', 'p50', 'p95', 'p99', 'max'],
      trends.map((r) => [r.name, count(r.count), rate(r), ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max)]),
      [false, true, true, true, true, true, true],
    ), '');
  }
  const steps = rows.filter((r) => r.name === 'step.duration' && r.tags['step'] !== undefined);
  if (steps.length > 0) {
    const errors = new Map(rows.filter((r) => r.name === 'step.errors').map((r) => [r.tags['step'], r.share]));
    out.push('### Steps', '', ...table(
      ['step', 'count', 'rate', 'p50', 'p95', 'p99', 'max', 'errors'],
      steps.map((r) => [
        r.tags['step']!, count(r.count), rate(r), ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max),
        percent(errors.get(r.tags['step'])),
      ]),
      [false, true, true, true, true, true, true, true],
    ), '');
  }
  const checks = checkOutcomes(result);
  const failed = checks.filter((c) => c.passed < c.total);
  if (failed.length > 0) {
    out.push('### Failed checks', '', ...table(
      ['step', 'check', 'failed'], failed.map((c) => [c.step, c.check, checkFailures(c)]),
    ), '');
  } else if (checks.length > 0) {
    const evaluations = checks.reduce((sum, c) => sum + c.total, 0);
    out.push(`All ${checks.length} checks passed (${count(evaluations)} evaluations).`, '');
  }
  const errors = (result.metrics.samples ?? []).filter((s) => s.kind === 'error');
  if (errors.length > 0) {
    out.push('### First errors', '', ...table(
      ['at', 'step', 'code', 'message'],
      errors.slice(0, MAX_ERRORS).map((s) => [
        `+${formatDuration(Math.max(0, s.at - result.startedAt))}`, s.tags['step'] ?? '', s.tags['code'] ?? '',
        oneLine(s.message),
      ]),
    ), '');
    if (errors.length > MAX_ERRORS) out.push(`…and ${errors.length - MAX_ERRORS} more.`, '');
  }
  for (const section of sections) out.push(...sectionLines(section));
  return `${out.join('\n').trimEnd()}\n`;
}

/** A section (a step kind's, `monitor:`'s) as a heading, its notes as paragraphs, its tables with their captions. */
function sectionLines(section: ReportSection): string[] {
  const out = [`### ${inline(section.title)}`, ''];
  for (const note of section.notes ?? []) out.push(paragraph(note), '');
  for (const t of section.tables) {
    if (t.caption !== undefined) out.push(`**${inline(t.caption)}**`, '');
    out.push(...table(t.columns, t.rows), '');
  }
  return out;
}

/** Scenario, how it ended, overrides and environment, in one line. */
function aboutLine(result: Result): string {
  const e = result.environment;
  const parts = [
    `**${inline(result.scenario.name)}** (${inline(result.scenario.file)})`,
    `${result.status} in ${formatDuration(result.endedAt - result.startedAt)}` +
      `${result.reason ? `: ${result.reason}` : ''}`,
    `started ${new Date(result.startedAt).toISOString().replace(/\.\d+Z$/, 'Z')}`,
    result.overrides.length > 0 ? `overrides: ${result.overrides.join(' ')}` : 'no overrides',
    `perfy ${e.perfy}, Node ${e.node}, ${e.platform} ${e.arch}, ${e.cpus} CPUs` +
      `${e.workers === undefined ? '' : `, ${e.workers} worker${e.workers === 1 ? '' : 's'}`} on ${e.hostname}`,
  ];
  return parts.map((p, i) => (i === 0 ? p : inline(p))).join(' · ');
}

const MARKS: Record<ThresholdState, string> = { 'passed': '✓', 'crossed': '✗', 'warning': '!', 'not judged': '–' };
const mark = (t: ThresholdOutcome): string => MARKS[thresholdState(t)];

function noteOf(t: ThresholdOutcome): string {
  const warning = thresholdState(t) === 'warning' ? 'warning: fails nothing' : undefined;
  const parts = [warning, t.judged === false ? notJudged(t) : t.note, t.description];
  if (t.aborted) parts.push('stopped the run');
  return parts.filter(Boolean).join('; ');
}

const rate = (r: SummaryRow): string => (r.perSecond === undefined ? '-' : `${r.perSecond.toFixed(1)}/s`);

/** A GitHub table; `right` aligns the columns of numbers. */
function table(columns: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[] = []):
  string[] {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [
    line(columns),
    `| ${columns.map((_c, i) => (right[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => line(columns.map((_c, i) => r[i] ?? ''))),
  ];
}

/**
 * Text from the result as plain Markdown text: characters that would start emphasis, code, a link, HTML or an
 * entity are backslash-escaped (an underscore inside a word is left: it cannot), and line ends become spaces.
 */
export function inline(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`);
}

/** A paragraph of text from the result: inline text that cannot start a heading, a list, a rule or a quote. */
function paragraph(text: string): string {
  return inline(text).replace(/^(\s*)([#+=-])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/** A table cell: as inline text, with line ends as `<br>` (a table row is one line) and `|` escaped. */
export function cell(text: string): string {
  return text.split(/\r?\n|\r/).map(inline).join('<br>');
}
