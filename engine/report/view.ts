// What the step kinds' summary lines and report sections read of a result: its measured metrics (a warm-up's
// set apart), its samples, a sum, and how to format. The console, HTML and Markdown reports build it the same way.

import type { Result } from '../metrics/result.js';
import { isWarmup } from '../metrics/store.js';
import type { StepKind, StepSections, SummaryStyle, SummaryView } from '../steps/types.js';
import { count, ms, oneLine } from './format.js';

const same = (text: string): string => text;

/** Formatting without colours: for files (HTML, Markdown, a console summary written to a path). */
export const PLAIN_STYLE: SummaryStyle = {
  bold: same, dim: same, red: same, green: same, yellow: same, count, ms, line: oneLine,
};

export function summaryViewOf(result: Result, style: SummaryStyle = PLAIN_STYLE): SummaryView {
  const metrics = result.metrics.metrics.filter((m) => !isWarmup(m.tags));
  const sum = (name: string, tags: Record<string, string> = {}): number =>
    metrics
      .filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v))
      .reduce((s, m) => s + m.sum, 0);
  return { metrics, samples: result.metrics.samples ?? [], sum, style };
}

/** The report sections of step kinds (built-in and plugins), in their order. */
export async function loadSections(kinds: readonly StepKind[]): Promise<StepSections[]> {
  const loaded = await Promise.all(kinds.map(async (kind) => kind.sections?.()));
  return loaded.filter((sections) => sections !== undefined);
}
