// Validation of the `postgres` service form: a typo inside it reports that typo (at its line and column), not
// "matches none of the service forms"; the checks the schema cannot make (init file, keys of the url form).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ErrorCode } from '../../../engine/errors.js';
import { compileScenarioFileSync } from '../../../engine/compile/file.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir({ 'schema.sql': 'CREATE TABLE t (id int);\n' });
after(dir.cleanup);

let count = 0;
/** Problems (code, line, col) of a scenario whose `services:` mapping is `services` (line 3 onwards). */
function problemsOf(services: string): { code: ErrorCode; line: number | undefined; col: number | undefined }[] {
  const file = dir.path(`scenario-${count++}.yaml`);
  const text = ['name: pg', 'services:', services, 'load: [ { rate: 1/s, duration: 1s } ]', 'flow: [ { http: { get: "http://127.0.0.1:9/" } } ]', ''].join('\n');
  writeFileSync(file, text);
  return compileScenarioFileSync(file).problems.map((p) => ({
    code: p.code,
    line: p.location?.line,
    col: p.location?.col,
  }));
}

describe('services: the postgres form', () => {
  it('accepts both forms with every key', () => {
    assert.deepEqual(
      problemsOf(
        '  db: { postgres: embedded, init: schema.sql, database: app, user: app, port: 0, timeout: 20s, pool: { max: ' +
          '20, connect_timeout: 2s, statement_timeout: 5s, application_name: bench } }',
      ),
      [],
    );
    assert.deepEqual(
      problemsOf(
        '  db: { postgres: { url: "postgres://app:pw@db.example:5432/app" }, init: "CREATE TABLE t (id int);", pool: ' +
          '{ max: 5 } }',
      ),
      [],
    );
  });

  it('a typo inside it is that typo, with a suggestion', () => {
    assert.deepEqual(problemsOf('  db: { postgres: embeded }'), [{ code: 'E_ENUM', line: 3, col: 19 }]);
    assert.deepEqual(problemsOf('  db: { postgres: embedded, initt: schema.sql }'), [
      { code: 'E_UNKNOWN_KEY', line: 3, col: 29 },
    ]);
    assert.deepEqual(problemsOf('  db: { postgres: embedded, pool: { maxx: 3 } }'), [
      { code: 'E_UNKNOWN_KEY', line: 3, col: 37 },
    ]);
    assert.deepEqual(problemsOf('  db: { postgres: { url: "http://x" } }'), [{ code: 'E_FORMAT', line: 3, col: 26 }]);
    assert.deepEqual(problemsOf('  db: { postgres: embedded, pool: { max: 0 } }'), [
      { code: 'E_SCHEMA', line: 3, col: 42 },
    ]);
  });

  it('the old `builtin: postgres` is gone: one way to get a database', () => {
    assert.deepEqual(problemsOf('  db: { builtin: postgres }'), [{ code: 'E_ENUM', line: 3, col: 18 }]);
  });

  it('postgres and url together are refused', () => {
    assert.deepEqual(problemsOf('  db: { postgres: embedded, url: "postgres://x@127.0.0.1/x" }'), [
      { code: 'E_SCHEMA', line: 3, col: 7 },
    ]);
  });

  it('checks what the schema cannot: the init file exists, embedded-only keys, zero timeouts', () => {
    assert.deepEqual(problemsOf('  db: { postgres: embedded, init: missing.sql }'), [
      { code: 'E_DATA_MISSING', line: 3, col: 35 },
    ]);
    // Inline SQL is never taken for a file.
    assert.deepEqual(problemsOf('  db: { postgres: embedded, init: "CREATE TABLE missing_sql (id int)" }'), []);
    assert.deepEqual(problemsOf('  db: { postgres: { url: "postgres://a@127.0.0.1/a" }, user: a, database: a }'), [
      { code: 'E_SCHEMA', line: 3, col: 56 },
      { code: 'E_SCHEMA', line: 3, col: 65 },
    ]);
    assert.deepEqual(problemsOf('  db: { postgres: embedded, pool: { statement_timeout: 0s } }'), [
      { code: 'E_DURATION_ZERO', line: 3, col: 56 },
    ]);
  });
});
