// `--set path=value`: a change to the loaded scenario before it is checked, as if the file said so.

import { parse as parseYaml } from 'yaml';
import { PerfyError, problem } from '../errors.js';

/**
 * `--set path=value`: changes one value of the scenario before it is checked, as if the file said so. The path
 * uses dots and [index] (`load[0].rate`, `thresholds[1]`), the value is read as YAML (`50/s`, `3`, `[a, b]`).
 */
export function applySet(root: unknown, assignment: string): void {
  const eq = assignment.indexOf('=');
  const usage = (why: string): PerfyError => new PerfyError(problem(
    'E_USAGE',
    `--set ${assignment}: ${why}`,
    'write --set path=value, e.g. --set load[0].rate=50/s or --set seed=3',
  ));
  if (eq <= 0) throw usage('no `=`');
  const path = assignment.slice(0, eq);
  const segments: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segments.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  if (segments.length === 0 || segments.join('') === '') throw usage('empty path');
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let node = root as Record<string | number, unknown>;
  for (const [i, segment] of segments.entries()) {
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (next === null || typeof next !== 'object') {
      if (next !== undefined) throw usage(`${segments.slice(0, i + 1).join('.')} is not a mapping or list`);
      node[segment] = typeof segments[i + 1] === 'number' ? [] : {};
    }
    node = node[segment] as Record<string | number, unknown>;
  }
}
