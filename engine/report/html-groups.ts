// Totals of a metric grouped by some of its tags: what the step kinds' report sections (HTML, Markdown) make their
// tables of. Reads the measured metrics of a SummaryView.

import type { ResultMetric } from '../metrics/types.js';

export interface Group {
  /** The grouping tags' values, `?` where a tag set lacks one. */
  keys: string[];
  /** counter: the total; rate: the hits; trend: the sum of durations (ms); gauge: the sum of last values. */
  sum: number;
  /** counter: the total; rate, trend, gauge: the samples. */
  count: number;
  min: number;
  max: number;
}

/** `name`'s tag sets that `where` accepts, grouped by the values of `by`, in the order first seen. */
export function groupBy(
  metrics: readonly ResultMetric[], name: string, by: readonly string[],
  where: (tags: Record<string, string>) => boolean = () => true,
): Group[] {
  const groups = new Map<string, Group>();
  for (const m of metrics) {
    if (m.name !== name || !where(m.tags)) continue;
    const keys = by.map((tag) => m.tags[tag] ?? '?');
    const id = JSON.stringify(keys);
    const group = groups.get(id);
    if (group === undefined) groups.set(id, { keys, sum: m.sum, count: m.count, min: m.min, max: m.max });
    else {
      group.sum += m.sum;
      group.count += m.count;
      group.min = Math.min(group.min, m.min);
      group.max = Math.max(group.max, m.max);
    }
  }
  return [...groups.values()];
}

/** The group of `groups` with these keys, if any. */
export function groupOf(groups: readonly Group[], ...keys: string[]): Group | undefined {
  return groups.find((g) => g.keys.every((k, i) => k === keys[i]));
}
