// Data sources: rows of CSV or JSON files handed to iterations in the order the scenario asks for.

import { readFileSync } from 'node:fs';
import type { PlannedData } from '../compile/plan.js';
import { parseCsv } from '../load/csv.js';
import type { Random } from '../random.js';
import type { Segment } from '../segment.js';

export { parseCsv } from '../load/csv.js';

export interface DataFeeder {
  /** The next row, or undefined when `order: unique` has used every row and `on_exhausted: stop`. */
  next(random: Random): Record<string, unknown> | undefined;
  readonly size: number;
}

/** A feeder over the file's rows; with a segment, over that segment's round-robin share of them (rows i, i+N, …). */
export function createFeeder(data: PlannedData, segment: Segment = { index: 0, count: 1 }): DataFeeder {
  const all =
    data.format === 'csv'
      ? parseCsv(readFileSync(data.path, 'utf8'), data.delimiter)
      : (JSON.parse(readFileSync(data.path, 'utf8')) as Record<string, unknown>[]);
  const rows = segment.count === 1 ? all : all.filter((_, i) => i % segment.count === segment.index);
  let cursor = 0;
  return {
    size: rows.length,
    next(random) {
      if (data.order === 'random') return random.pick(rows);
      if (cursor >= rows.length) {
        if (data.order === 'unique' && data.onExhausted === 'stop') return undefined;
        cursor = 0;
      }
      return rows[cursor++];
    },
  };
}
