// The example plugin of docs/plugins.md (fixtures/plugins/echo) through `bin/perfy`: validate checks its `with:`
// against the plugin's own schema fragment, run loads its executor and reports its metrics and summary line.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { perfy, problemHeads, readResultDir, tempDir, total } from '../helpers.js';

const echo = join(PACKAGE_ROOT, 'fixtures', 'plugins', 'echo', 'index.mjs');

describe('a plugin step kind (fixtures/plugins/echo)', () => {
  const t = tempDir({
    'bad.yaml': [
      'name: bad_echo',
      `plugins: { echo: ${JSON.stringify(echo)} }`,
      'load: [ { rate: 5/s, duration: 1s } ]',
      'flow:',
      '  - use: echo',
      '    with: { mesage: hi, delay: 5 }',
      '',
    ].join('\n'),
  });
  after(t.cleanup);

  it('validates `with:` against the plugin\'s schema: each problem at its place', () => {
    const result = perfy(['validate', t.path('bad.yaml')]);
    assert.equal(result.status, 2, result.stderr);
    const heads = problemHeads(result.stderr);
    assert.deepEqual(heads.map((h) => h.code).sort(), ['E_MISSING_KEY', 'E_TYPE', 'E_UNKNOWN_KEY'], result.stderr);
    assert.ok(heads.every((h) => h.line === 6), result.stderr);
  });

  it('runs fixtures/plugins/echo/scenario.yaml: its metrics counted, its summary line shown, thresholds judged', () => {
    const out = t.path('out');
    const result = perfy(['run', '--out', out, 'fixtures/plugins/echo/scenario.yaml']);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    const run = readResultDir(out);
    const calls = total(run, 'echo.calls');
    assert.equal(calls, total(run, 'iterations'), 'one echo call per iteration');
    assert.ok(calls >= 30, `about 40 calls planned, ${calls} made`);
    assert.match(result.stdout, new RegExp(`echo\\s+${calls} answered`));
  });
});
