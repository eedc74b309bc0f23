// A comparison as people read it: the console (and a text file), Markdown (a pull request comment, a job summary)
// and JSON. Every figure is written as the reports write it (engine/report/format.ts).

import { formatValue, ms, percent } from '../report/format.js';
import type { Comparison, MetricDelta, RuleOutcome } from './compare.js';

export const COMPARE_FORMATS = ['console', 'markdown', 'json'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

function shown(unit: MetricDelta['unit'], value: number | null): string {
  if (value === null) return '-';
  if (unit === 'ms') return ms(value);
  if (unit === 'share') return percent(value);
  return `${value.toFixed(1)}/s`;
}

/** `+12%`, `-3.1%`, `+0.4pp` (shares), `=`; `new` / `gone` when one side has none. */
function change(unit: MetricDelta['unit'], baseline: number | null, current: number | null): string {
  if (baseline === null && current === null) return '';
  if (baseline === null) return 'new';
  if (current === null) return 'gone';
  if (unit === 'share') {
    const points = (current - baseline) * 100;
    return Math.abs(points) < 0.005 ? '=' : `${points > 0 ? '+' : ''}${points.toFixed(2)}pp`;
  }
  if (baseline === 0) return current === 0 ? '=' : 'new';
  const rel = ((current - baseline) / Math.abs(baseline)) * 100;
  return Math.abs(rel) < 0.05 ? '=' : `${rel > 0 ? '+' : ''}${rel.toFixed(1)}%`;
}

function label(m: MetricDelta): string {
  const tags = Object.entries(m.tags).map(([k, v]) => `${k}: ${v}`).join(', ');
  return tags ? `${m.name}{${tags}}` : m.name;
}

function ruleValue(o: RuleOutcome, value: number): string {
  const [fn = '', metric = ''] = /^([^(]+)\((.*)\)$/.exec(o.label)?.slice(1) ?? [];
  return formatValue(metric, fn, value);
}

function confidenceText(o: RuleOutcome): string {
  if (o.confidence === null) return o.method;
  if (o.confidence < 0.9 && o.method.startsWith('confidence intervals')) return `no difference at 90% (${o.method})`;
  return `${(o.confidence * 100).toFixed(1)}% confident (${o.method})`;
}

/** `REGRESSED · p95(http.duration) > +10%: 120ms → 156ms (+30.0%), 99.9% confident`. */
export function ruleLine(o: RuleOutcome): string {
  const rel = o.relative === null ? '' : ` (${o.relative >= 0 ? '+' : ''}${(o.relative * 100).toFixed(1)}%)`;
  const mark = o.regression ? 'regressed' : o.beyondMargin ? 'within the noise' : 'ok';
  return `${mark}: ${o.rule} — ${ruleValue(o, o.baseline)} → ${ruleValue(o, o.current)}${rel}, ${confidenceText(o)}`;
}

/** The verdict: one line, as the run's. */
export function comparisonVerdict(c: Comparison): string {
  const regressions = c.rules.filter((o) => o.regression).map((o) => o.rule);
  const flipped = c.thresholds.filter((t) => t.baseline && !t.current).map((t) => `threshold ${t.source} now fails`);
  const errors = c.newErrors.map((e) => `new error ${e.status} in ${e.metric}${e.step ? ` (${e.step})` : ''}`);
  const all = [...regressions, ...flipped, ...errors];
  return all.length === 0
    ? `NO REGRESSION · ${c.rules.length} rule${c.rules.length === 1 ? '' : 's'} held`
    : `REGRESSED · ${all.join('; ')}`;
}

export function formatComparison(c: Comparison, format: CompareFormat): string {
  if (format === 'json') return `${JSON.stringify(c, null, 2)}\n`;
  const md = format === 'markdown';
  const lines: string[] = [];
  const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  lines.push(md ? `## perfy compare: ${c.scenario}` : `compare ${c.scenario}`);
  lines.push(`${md ? '' : '  '}baseline ${c.baseline.file} (${when(c.baseline.startedAt)} UTC) · ` +
    `current ${c.current.file} (${when(c.current.startedAt)} UTC)`, '');
  if (md) lines.push('| metric | stat | baseline | current | change |', '| --- | --- | ---: | ---: | ---: |');
  else lines.push(`  ${'metric'.padEnd(44)} ${'stat'.padEnd(6)} ${'baseline'.padStart(10)} ${'current'.padStart(10)}` +
    `  change`);
  for (const m of c.metrics) {
    for (const s of m.stats) {
      const cells = [shown(m.unit, s.baseline), shown(m.unit, s.current), change(m.unit, s.baseline, s.current)];
      const stat = m.unit === 'share' ? 'share' : m.unit === 'perSecond' ? 'rate' : s.stat;
      if (md) lines.push(`| ${label(m)} | ${stat} | ${cells.join(' | ')} |`);
      else lines.push(`  ${label(m).padEnd(44)} ${stat.padEnd(6)} ${cells[0]!.padStart(10)} ${cells[1]!.padStart(10)}` +
        `  ${cells[2]}`);
    }
  }
  lines.push('', md ? '### Rules' : '  rules');
  for (const o of c.rules) lines.push(`${md ? '- ' : '    '}${ruleLine(o)}`);
  if (c.thresholds.length > 0) {
    lines.push('', md ? '### Thresholds that changed' : '  thresholds that changed');
    for (const t of c.thresholds) {
      const word = (passed: boolean): string => (passed ? 'passed' : 'failed');
      lines.push(`${md ? '- ' : '    '}${t.source}: ${word(t.baseline)} → ${word(t.current)}`);
    }
  }
  if (c.newErrors.length > 0) {
    lines.push('', md ? '### New errors' : '  new errors');
    for (const e of c.newErrors) {
      lines.push(`${md ? '- ' : '    '}${e.metric} ${e.status}${e.step ? ` in ${e.step}` : ''}: ${e.count} ` +
        `(none in the baseline)`);
    }
  }
  lines.push('', md ? `**${comparisonVerdict(c)}**` : comparisonVerdict(c));
  return `${lines.join('\n')}\n`;
}
