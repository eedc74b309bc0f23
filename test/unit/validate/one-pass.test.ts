// One pass reports schema problems and the compiler's problems beside them (docs/errors.md): the compiler reads
// the part of a scenario the schema accepts. What is left out must not make the rest look wrong: a shipped
// scenario with an unknown key added anywhere reports schema problems only (none where any key is allowed).

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ErrorCode } from '../../../engine/errors.js';
import { loadScenarioFile } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { compileScenarioFileSync } from '../../../engine/compile/file.js';

const SCHEMA_CODES = new Set<ErrorCode>([
  'E_UNKNOWN_KEY', 'E_MISSING_KEY', 'E_TYPE', 'E_ENUM', 'E_FORMAT', 'E_SCHEMA', 'E_STEP_KIND',
]);

/** `--set` paths of every mapping in the value whose keys `--set` can spell. */
function mappingPaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => mappingPaths(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const entries = Object.entries(value).filter(([key]) => /^[A-Za-z_][\w-]*$/.test(key));
  return [path, ...entries.flatMap(([key, child]) => mappingPaths(child, path === '' ? key : `${path}.${key}`))];
}

describe('one pass: schema problems do not make the rest of a scenario look wrong', () => {
  const dir = join(PACKAGE_ROOT, 'scenarios');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    it(`${name} with an unknown key added to any of its mappings reports only schema problems`, () => {
      const file = join(dir, name);
      assert.deepEqual(compileScenarioFileSync(file, {}).problems, [], 'the scenario as shipped is valid');
      for (const path of mappingPaths(loadScenarioFile(file, {}).value)) {
        const set = `${path === '' ? '' : `${path}.`}zz_unknown=1`;
        const codes = compileScenarioFileSync(file, {}, [set]).problems.map((p) => p.code);
        assert.deepEqual(codes.filter((c) => !SCHEMA_CODES.has(c)), [], `--set ${set}: ${codes.join(', ')}`);
      }
    });
  }
});
