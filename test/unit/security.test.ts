// Expressions and templates are parsed, never evaluated as code: no eval, Function constructor or vm in engine/.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../engine/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('security', () => {
  it('engine/ never evaluates text as code', () => {
    const files = sources(join(PACKAGE_ROOT, 'engine'));
    assert.ok(files.length > 10);
    const offenders = files.filter((f) =>
      /\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(\s*['"`]|from\s+['"]node:vm['"]|require\(['"](node:)?vm['"]\)/.test(
        readFileSync(f, 'utf8'),
      ),
    );
    assert.deepEqual(offenders, []);
  });
});
