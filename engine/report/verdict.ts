// The verdict, said the same way by every report: one word everyone reads the same (PASSED or FAILED), how many
// thresholds were judged, and what was crossed, with the measured values.

import type { Result, ThresholdOutcome } from '../metrics/result.js';
import { formatValue } from './format.js';

export interface Verdict {
  passed: boolean;
  word: 'PASSED' | 'FAILED';
  /** `PASSED · 3 of 3 thresholds`, `FAILED · 1 of 3 thresholds crossed: p95(http.duration) < 300ms (412ms)`. */
  line: string;
  /** The judged thresholds that failed. */
  crossed: ThresholdOutcome[];
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

export function verdictOf(result: Pick<Result, 'status' | 'reason' | 'thresholds' | 'passed'>): Verdict {
  const judged = result.thresholds.filter((t) => t.judged !== false);
  const crossed = judged.filter((t) => !t.passed);
  const unjudged = result.thresholds.length - judged.length;
  const aside = unjudged > 0 ? ` (${unjudged} not judged)` : '';
  const of = judged.length === 0 ? 'no thresholds' : `${judged.length - crossed.length} of ${judged.length} thresholds`;
  const parts: string[] = [];
  if (result.status !== 'completed') {
    parts.push(`the run ${STOPPED[result.status]}${result.reason ? `: ${result.reason}` : ''}`);
  }
  if (crossed.length > 0) {
    const which = crossed.map((t) => `${t.source} (${values(t)})`).join('; ');
    parts.push(`${crossed.length} of ${judged.length} threshold${judged.length === 1 ? '' : 's'} crossed: ${which}`);
  } else parts.push(`${of}${aside}`);
  const word = result.passed ? 'PASSED' : 'FAILED';
  return { passed: result.passed, word, line: `${word} · ${parts.join(' · ')}`, crossed };
}

const STOPPED: Record<Exclude<Result['status'], 'completed'>, string> = {
  aborted: 'was aborted',
  interrupted: 'was interrupted',
  failed: 'failed',
};
