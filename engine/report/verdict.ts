// The verdict, said the same way by every report: one word everyone reads the same (PASSED or FAILED), how many
// thresholds were judged, what was crossed (with the measured values), what `monitor:` saw fail the run, and the
// warnings; and each threshold's and check's outcome in the words the JUnit, Markdown and HTML reports share.

import type { Result, ThresholdOutcome } from '../metrics/result.js';
import { isWarmup } from '../metrics/store.js';
import { count, formatValue, percent } from './format.js';
import { alertReading, failsRun, leakGrowth } from './monitor.js';

export interface Verdict {
  passed: boolean;
  word: 'PASSED' | 'FAILED';
  /** `PASSED · 3 of 3 thresholds`, `FAILED · 1 of 3 thresholds crossed: p95(http.duration) < 300ms (412ms)`. */
  line: string;
  /** The judged critical thresholds that failed. */
  crossed: ThresholdOutcome[];
  /** The judged warning thresholds that failed: said, failing nothing. */
  warnings: ThresholdOutcome[];
}

/** What became of a threshold: it passed, was crossed (failing the run), warned (level: warning), or not judged. */
export type ThresholdState = 'passed' | 'crossed' | 'warning' | 'not judged';

export function thresholdState(t: ThresholdOutcome): ThresholdState {
  if (t.judged === false) return 'not judged';
  if (t.passed) return 'passed';
  return t.level === 'warning' ? 'warning' : 'crossed';
}

/** `p95(http.duration) = 412ms, rate(http.errors) = 0.5%`: what a threshold measured. */
export function measured(t: ThresholdOutcome): string {
  return t.values
    .map((v) => `${v.fn}(${v.metric}) = ${v.value === null ? 'no samples' : formatValue(v.metric, v.fn, v.value)}`)
    .join(', ');
}

/** `412ms`: the measured values alone, for the verdict line. */
function values(t: ThresholdOutcome): string {
  return t.values.map((v) => (v.value === null ? 'no samples' : formatValue(v.metric, v.fn, v.value))).join(', ');
}

/** `2 critical alerts fired: A; B` for several, `critical alert fired: A` for one. */
function several(texts: readonly string[], one: string, many: string): string[] {
  if (texts.length === 0) return [];
  return [texts.length === 1 ? `${one}: ${texts[0]}` : `${texts.length} ${many}: ${texts.join('; ')}`];
}

export function verdictOf(result: Pick<Result, 'status' | 'reason' | 'thresholds' | 'passed' | 'monitor'>): Verdict {
  const judged = result.thresholds.filter((t) => t.judged !== false);
  const crossed = judged.filter((t) => thresholdState(t) === 'crossed');
  const warnings = judged.filter((t) => thresholdState(t) === 'warning');
  const unjudged = result.thresholds.length - judged.length;
  const aside = unjudged > 0 ? ` (${unjudged} not judged)` : '';
  const met = judged.length - crossed.length - warnings.length;
  const of = judged.length === 0 ? 'no thresholds' : `${met} of ${judged.length} thresholds`;
  const parts: string[] = [];
  if (result.status !== 'completed') {
    parts.push(`the run ${STOPPED[result.status]}${result.reason ? `: ${result.reason}` : ''}`);
  }
  if (crossed.length > 0) {
    const which = crossed.map((t) => `${t.source} (${values(t)})`).join('; ');
    parts.push(`${crossed.length} of ${judged.length} threshold${judged.length === 1 ? '' : 's'} crossed: ${which}`);
  } else parts.push(`${of}${aside}`);
  const monitor = result.monitor;
  const warned = warnings.map((t) => `${t.source} (${values(t)})`);
  if (monitor !== undefined) {
    const alerts = monitor.alerts.filter(failsRun).map((a) => alertReading(monitor, a));
    parts.push(...several(alerts, 'critical alert fired', 'critical alerts fired'));
    parts.push(...several(monitor.leaks.filter(failsRun).map(leakGrowth), 'leak', 'leaks'));
    warned.push(...monitor.alerts.filter((a) => a.level === 'warning' && a.fired > 0)
      .map((a) => `alert fired: ${a.source}`));
    warned.push(...monitor.leaks.filter((l) => l.level === 'warning' && l.leaked).map((l) => `leak: ${leakGrowth(l)}`));
  }
  parts.push(...several(warned, '1 warning', 'warnings'));
  const word = result.passed ? 'PASSED' : 'FAILED';
  return { passed: result.passed, word, line: `${word} · ${parts.join(' · ')}`, crossed, warnings };
}

const STOPPED: Record<Exclude<Result['status'], 'completed'>, string> = {
  aborted: 'was aborted',
  interrupted: 'was interrupted',
  failed: 'failed',
};

/** Why a threshold was not judged: its note (which says `not judged` itself), or those words alone. */
export function notJudged(t: ThresholdOutcome): string {
  return t.note === undefined ? 'not judged' : /^not judged/.test(t.note) ? t.note : `not judged: ${t.note}`;
}

/** One `expect` check of one step over the measured part of the run (the warm-up left out), every workload's. */
export interface CheckOutcome {
  step: string;
  check: string;
  /** Times it was evaluated, and how many of them passed. */
  total: number;
  passed: number;
}

/** The run's checks (the `checks` rate, tagged step and check), sorted by step then check. */
export function checkOutcomes(result: Result): CheckOutcome[] {
  const byKey = new Map<string, CheckOutcome>();
  for (const m of result.metrics.metrics) {
    if (m.name !== 'checks' || isWarmup(m.tags) || m.count === 0) continue;
    const step = m.tags['step'] ?? '';
    const check = m.tags['check'] ?? '';
    const key = JSON.stringify([step, check]);
    const outcome = byKey.get(key) ?? { step, check, total: 0, passed: 0 };
    outcome.total += m.count;
    // A rate's sum is its hits: the checks that passed.
    outcome.passed += m.sum;
    byKey.set(key, outcome);
  }
  return [...byKey.values()].sort((a, b) => compare(a.step, b.step) || compare(a.check, b.check));
}

/** `12 of 400 failed (3.0%)`. */
export function checkFailures(c: CheckOutcome): string {
  const failed = c.total - c.passed;
  return `${count(failed)} of ${count(c.total)} failed (${percent(failed / c.total)})`;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
