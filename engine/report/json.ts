// `report: [json]`: the Result itself, as result.json: everything measured, and what `perfy report`, `perfy merge`
// and the other reporters read back.

import { join } from 'node:path';
import type { Result } from '../metrics/result.js';
import { RESULT_FILE, writeWhole } from './files.js';
import type { Reporter } from './types.js';

export const json: Reporter = {
  format: 'json',
  defaultFile: RESULT_FILE,
  title: 'result',
  render: (result) => Promise.resolve(resultJson(result)),
};

function resultJson(result: Result): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** Writes `result` as DIR/result.json (creating DIR), whole or not at all; returns the path. */
export function writeResult(dir: string, result: Result): Promise<string> {
  return writeWhole(join(dir, RESULT_FILE), resultJson(result));
}
