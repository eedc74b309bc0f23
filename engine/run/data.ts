// Data sources: rows of CSV or JSON files handed to iterations in the order the scenario asks for.

import { readFileSync } from 'node:fs';
import type { PlannedData } from '../compile/plan.js';
import type { Random } from '../random.js';

export interface DataFeeder {
  /** The next row, or undefined when `order: unique` has used every row and `on_exhausted: stop`. */
  next(random: Random): Record<string, unknown> | undefined;
  readonly size: number;
}

export function createFeeder(data: PlannedData): DataFeeder {
  const rows = data.format === 'csv' ? parseCsv(readFileSync(data.path, 'utf8'), data.delimiter) : (JSON.parse(readFileSync(data.path, 'utf8')) as Record<string, unknown>[]);
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

/** RFC 4180 CSV: a header row, quoted fields with `""` escapes and embedded delimiters or newlines. */
export function parseCsv(text: string, delimiter = ','): Record<string, string>[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  const body = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      record.push(field);
      if (record.some((f) => f !== '')) records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  record.push(field);
  if (record.some((f) => f !== '')) records.push(record);
  const [header, ...rows] = records;
  if (!header) return [];
  const columns = header.map((c) => c.trim());
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ''])));
}
