// `perfy compare BASELINE CURRENT`: two results of one scenario side by side, and the regressions the rules find
// (docs/compare.md). A comparison is plain data, like a Result: the console, Markdown and JSON outputs read it.
//
// When is a change real? Two runs of the same thing differ: the machine is shared, caches and collectors run at
// other moments. A rule's margin (+10%) is the first guard: smaller changes are noise by decision. The second is
// the samples: a difference is called a regression only when the samples say it is unlikely to be chance:
// - a percentile: each run's 95 % confidence interval of that percentile, distribution-free (the order statistics
//   at ranks n·q ± z·√(n·q·(1−q)), read from the run's histogram) must not overlap. The confidence reported is the
//   highest of 90, 95, 99 and 99.9 % at which they still do not;
// - rate(): a two-proportion z-test (the share of failures, or of passed checks);
// - throughput() and count(): the counts as Poisson processes over each run's measured span (a z-test);
// - avg, min, max, value: no test (one extreme sample, or no spread to test against): the margin alone decides.
// The tests assume independent samples, which requests of one run are not quite (a slow second slows many), so
// they say whether the difference stands out of the run's own spread; the margin covers run-to-run drift.

import { problem, PerfyError, type Problem } from '../errors.js';
import type { Result } from '../metrics/result.js';
import type { SummaryRow } from '../metrics/summary.js';
import { measuredFromMs, storeFromSnapshot } from '../metrics/store.js';
import type { MetricSource } from '../expr/index.js';
import { defaultRules, parseRule, type Rule } from './rules.js';

export interface RuleOutcome {
  rule: string;
  label: string;
  baseline: number;
  current: number;
  /** current − baseline, in the metric's unit (a share for rate()). */
  delta: number;
  /** The change as a share of the baseline (null when the baseline is 0). */
  relative: number | null;
  /** The change went past the rule's margin, in the worse direction. */
  beyondMargin: boolean;
  /** How sure the samples are that the difference is real (0.95, 0.99…); null when no test applies. */
  confidence: number | null;
  /** How the confidence was found, in words. */
  method: string;
  regression: boolean;
}

export interface ThresholdFlip {
  source: string;
  baseline: boolean;
  current: boolean;
}

export interface NewErrorClass {
  metric: string;
  status: string;
  step: string | undefined;
  /** Failures of that class in the current run. */
  count: number;
}

/** One metric (overall or one step) in both runs: the figures people read, baseline and current. */
export interface MetricDelta {
  name: string;
  tags: Record<string, string>;
  unit: 'ms' | 'share' | 'perSecond';
  stats: { stat: string; baseline: number | null; current: number | null }[];
}

export interface Comparison {
  scenario: string;
  metrics: MetricDelta[];
  baseline: { startedAt: number; passed: boolean; file: string };
  current: { startedAt: number; passed: boolean; file: string };
  rules: RuleOutcome[];
  thresholds: ThresholdFlip[];
  newErrors: NewErrorClass[];
  /** A rule found a regression, a threshold that passed now fails, or a new class of error appeared. */
  regressed: boolean;
}

/** A confidence level: enough to call a difference real. */
export const REQUIRED_CONFIDENCE = 0.95;
const LEVELS: readonly [number, number][] = [[0.999, 3.2905], [0.99, 2.5758], [0.95, 1.96], [0.9, 1.6449]];

interface Side {
  result: Result;
  source: MetricSource;
  /** The measured span, seconds (what throughput divides by). */
  seconds: number;
}

function sideOf(result: Result): Side {
  const warmupMs = measuredFromMs(result.workloads);
  const elapsedMs = result.endedAt - result.startedAt;
  return {
    result,
    source: storeFromSnapshot(result.metrics, { elapsedMs, warmupMs }),
    seconds: Math.max(0.001, (elapsedMs - warmupMs) / 1000),
  };
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** One-sided confidence that `worse` is really worse, from a z statistic oriented so that worse is positive. */
function fromZ(z: number): number {
  return Number.isFinite(z) ? normalCdf(z) : z > 0 ? 1 : 0;
}

/**
 * The value at rank share `q` of one side. Past either end the bound is unknown, not the extreme sample: the max of
 * 10 samples is above the true p95 only 40 % of the time (1 − 0.95¹⁰), so it cannot bound it. Few samples then
 * give an interval open on that side, which no difference can clear.
 */
function quantile(side: Side, rule: Rule, q: number): number {
  if (q > 1) return Infinity;
  if (q < 0) return -Infinity;
  return side.source.aggregate({ ...rule.query, fn: 'percentile', percentile: q * 100 }) ?? NaN;
}

/** The highest level at which the two runs' confidence intervals of the percentile do not overlap. */
function percentileConfidence(base: Side, current: Side, rule: Rule, worseUp: boolean): number {
  const q = (rule.query.percentile ?? 50) / 100;
  const n0 = base.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
  const n1 = current.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
  if (n0 === 0 || n1 === 0) return 0;
  for (const [level, z] of LEVELS) {
    const spread = (n: number): number => (z * Math.sqrt(n * q * (1 - q))) / n;
    const lo = (side: Side, n: number): number => quantile(side, rule, q - spread(n));
    const hi = (side: Side, n: number): number => quantile(side, rule, q + spread(n));
    // NaN (no samples) compares false: never separated.
    const separated = worseUp ? lo(current, n1) > hi(base, n0) : hi(current, n1) < lo(base, n0);
    if (separated) return level;
  }
  return 0;
}

function judge(rule: Rule, base: Side, current: Side): RuleOutcome | Problem {
  const b = base.source.aggregate(rule.query);
  const c = current.source.aggregate(rule.query);
  if (b === undefined || c === undefined) {
    const which = b === undefined && c === undefined
      ? 'either result'
      : b === undefined ? 'the baseline' : 'the current result';
    return problem('E_COMPARE_INPUT', `${rule.label} has no samples in ${which}: "${rule.source}" cannot be judged`,
      'compare results that both measured it, or drop the rule (docs/compare.md)');
  }
  const delta = c - b;
  const relative = b === 0 ? null : delta / Math.abs(b);
  const worseUp = rule.direction === '>';
  const change = rule.unit === 'relative' ? relative ?? (delta === 0 ? 0 : Math.sign(delta) * Infinity) : delta;
  const beyondMargin = worseUp ? change > rule.amount : change < rule.amount;
  let confidence: number | null = null;
  let method: string;
  if (rule.fn === 'percentile') {
    confidence = percentileConfidence(base, current, rule, worseUp);
    method = 'confidence intervals of the percentile (order statistics)';
  } else if (rule.fn === 'rate') {
    const n0 = base.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
    const n1 = current.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
    const pooled = (b * n0 + c * n1) / Math.max(1, n0 + n1);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / Math.max(1, n0) + 1 / Math.max(1, n1)));
    confidence = se === 0 ? (delta === 0 ? 0.5 : 1) : fromZ((worseUp ? delta : -delta) / se);
    method = 'two-proportion z-test';
  } else if (rule.fn === 'throughput' || rule.fn === 'count') {
    const k0 = base.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
    const k1 = current.source.aggregate({ ...rule.query, fn: 'count' }) ?? 0;
    const [r0, r1] = [k0 / base.seconds, k1 / current.seconds];
    const se = Math.sqrt(k0 / base.seconds ** 2 + k1 / current.seconds ** 2);
    confidence = se === 0 ? 0.5 : fromZ((worseUp ? r1 - r0 : r0 - r1) / se);
    method = 'Poisson counts over each measured span (z-test)';
  } else {
    method = `no test for ${rule.fn}(): the margin alone decides`;
  }
  const real = confidence === null || confidence >= REQUIRED_CONFIDENCE;
  return {
    rule: rule.source, label: rule.label, baseline: b, current: c, delta, relative, beyondMargin, confidence, method,
    regression: beyondMargin && real,
  };
}

/** Classes of failure (`status` tags with failures) the current run has and the baseline never had. */
function newErrorClasses(base: Result, current: Result): NewErrorClass[] {
  const failing = (r: Result): Map<string, { metric: string; status: string; step?: string; count: number }> => {
    const found = new Map<string, { metric: string; status: string; step?: string; count: number }>();
    for (const m of r.metrics.metrics) {
      const status = m.tags['status'];
      if (m.type !== 'rate' || !m.name.endsWith('.errors') || status === undefined || m.sum === 0) continue;
      const key = `${m.name} ${status}`;
      const seen = found.get(key);
      found.set(key, { metric: m.name, status, step: seen?.step ?? m.tags['step'], count: (seen?.count ?? 0) + m.sum });
    }
    return found;
  };
  const before = failing(base);
  return [...failing(current)]
    .filter(([key]) => !before.has(key))
    .map(([, v]) => ({ metric: v.metric, status: v.status, step: v.step, count: v.count }));
}

/** The summary rows of both runs side by side: trends' percentiles and rate, failure and check shares, counts. */
function metricDeltas(baseline: Result, current: Result, shownRows: ReadonlySet<string>): MetricDelta[] {
  const key = (row: SummaryRow): string => `${row.name} ${JSON.stringify(row.tags)}`;
  const before = new Map(baseline.summary.metrics.map((row) => [key(row), row]));
  const after = new Map(current.summary.metrics.map((row) => [key(row), row]));
  const deltas: MetricDelta[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(k);
    const c = after.get(k);
    const row = (c ?? b)!;
    if (!shownRows.has(row.name) && !row.name.endsWith('.errors') && !row.name.endsWith('.reqs')) continue;
    const pick = (stat: keyof SummaryRow): { stat: string; baseline: number | null; current: number | null } => ({
      stat,
      baseline: typeof b?.[stat] === 'number' ? (b[stat] as number) : null,
      current: typeof c?.[stat] === 'number' ? (c[stat] as number) : null,
    });
    if (row.type === 'trend') {
      const stats = (['p50', 'p95', 'p99', 'max'] as const).map(pick);
      deltas.push({ name: row.name, tags: row.tags, unit: 'ms', stats });
    } else if (row.type === 'rate') {
      deltas.push({ name: row.name, tags: row.tags, unit: 'share', stats: [pick('share')] });
    } else if (row.type === 'counter' && row.perSecond !== undefined) {
      deltas.push({ name: row.name, tags: row.tags, unit: 'perSecond', stats: [pick('perSecond')] });
    }
  }
  return deltas;
}

export interface CompareOptions {
  /** Rules as written; none: defaultRules for what both results measured. */
  rules?: readonly string[];
  /** Durations of the step kinds, for the default rules (`http.duration`, `sql.duration`…). */
  kindDurations?: readonly string[];
  files?: [string, string];
}

/** Compares two results of one scenario; throws a PerfyError (exit 2) when they cannot be compared as asked. */
export function compareResults(baseline: Result, current: Result, options: CompareOptions = {}): Comparison {
  const [baseFile, currentFile] = options.files ?? ['baseline', 'current'];
  if (baseline.scenario.name !== current.scenario.name) {
    throw new PerfyError(problem('E_COMPARE_INPUT',
      `${baseFile} is a result of scenario "${baseline.scenario.name}" and ${currentFile} of ` +
        `"${current.scenario.name}": results of different scenarios say nothing about each other`,
      'compare two runs of the same scenario (its `name:`)'));
  }
  const names = (r: Result): Set<string> => new Set(r.metrics.metrics.map((m) => m.name));
  const [inBase, inCurrent] = [names(baseline), names(current)];
  const both = new Set([...inBase].filter((n) => inCurrent.has(n)));
  const written = options.rules ?? defaultRules(both, options.kindDurations ?? []);
  const problems: Problem[] = [];
  const rules = written.map(parseRule).filter((r): r is Rule => {
    if ('code' in r) problems.push(r);
    return !('code' in r);
  });
  const [base, now] = [sideOf(baseline), sideOf(current)];
  const outcomes: RuleOutcome[] = [];
  for (const rule of rules) {
    const outcome = judge(rule, base, now);
    if ('code' in outcome) problems.push(outcome);
    else outcomes.push(outcome);
  }
  if (problems.length > 0) throw new PerfyError(problems);
  const before = new Map(baseline.thresholds.map((t) => [t.source, t.passed || t.judged === false]));
  const thresholds = current.thresholds
    .filter((t) => before.has(t.source) && before.get(t.source) !== (t.passed || t.judged === false))
    .map((t) => ({ source: t.source, baseline: before.get(t.source)!, current: t.passed || t.judged === false }));
  const newErrors = newErrorClasses(baseline, current);
  return {
    scenario: current.scenario.name,
    // The kinds' latencies, steps and groups, failures, checks and request rates: what a regression shows in.
    metrics: metricDeltas(baseline, current, new Set([
      ...(options.kindDurations ?? []), 'step.duration', 'group.duration', 'checks', ...rules.map((r) => r.metric),
    ])),
    baseline: { startedAt: baseline.startedAt, passed: baseline.passed, file: baseFile },
    current: { startedAt: current.startedAt, passed: current.passed, file: currentFile },
    rules: outcomes,
    thresholds,
    newErrors,
    regressed: outcomes.some((o) => o.regression) || thresholds.some((t) => t.baseline && !t.current) ||
      newErrors.length > 0,
  };
}
