// The database scenarios, run as users run them, against a real PostgreSQL: the counts perfy reports are
// checked against what the database holds afterwards.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../../engine/metrics/result.js';
import { perfyAsync, readResultDir, tempDir, total } from '../helpers.js';
import { notesWritten, startTestPostgres, type TestPostgres } from '../postgres.js';

/** Runs a shipped scenario quietly with `--time-scale` (and any further flags); the run must pass. */
async function runScenario(scenario: string, timeScale: string, ...flags: string[]): Promise<Result> {
  const out = tempDir();
  after(out.cleanup);
  const run = await perfyAsync(['run', scenario, '--time-scale', timeScale, '--quiet', '--out', out.dir, ...flags]);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  return readResultDir(out.dir);
}

describe('database scenarios', () => {
  let db: TestPostgres | undefined;
  before(async () => {
    db = await startTestPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  it('db_deadlock: deadlocks happen, are counted and retried, and every transfer commits; money ' +
      'is conserved', async (t) => {
    if (db === undefined) return t.skip('no PostgreSQL');
    const result = await runScenario('scenarios/db_deadlock.yaml', '4');
    assert.ok(total(result, 'sql.deadlocks') > 0);
    assert.equal(total(result, 'sql.transactions', { status: 'failed' }), 0);
    // Every iteration is one transaction, committed in the end.
    assert.equal(
      total(result, 'sql.transactions', { status: 'committed' }),
      total(result, 'iterations', { workload: 'upward' }) + total(result, 'iterations', { workload: 'downward' }),
    );
    assert.equal(total(result, 'sql.retries'), total(result, 'sql.deadlocks'));
    // The teardown's check: the sum of the balances is what it was.
    assert.equal(total(result, 'checks', { step: 'money is conserved' }), 1);
  });

  it('db_load on an existing server (postgres url): rows written equal the successful write steps', async (t) => {
    if (db === undefined) return t.skip('no PostgreSQL');
    const result = await runScenario(
      'scenarios/db_load.yaml',
      '10',
      '--set',
      `services.db={ postgres: { url: "${db.url}" }, init: ../fixtures/sql/notes.sql }`,
    );
    const written = await notesWritten(db.url);
    assert.ok(written > 0);
    assert.equal(total(result, 'sql.queries', { step: 'write note', status: 'ok' }), written);
    assert.equal(total(result, 'sql.rows', { step: 'write note' }), written);
    assert.equal(total(result, 'sql.queries', { step: 'read back', status: 'ok' }), written);
  });

  it('db_pool_stress: statements wait for the pool, and sql.pool_wait says so', async (t) => {
    if (db === undefined) return t.skip('no PostgreSQL');
    const result = await runScenario('scenarios/db_pool_stress.yaml', '5');
    const wait = result.metrics.metrics.find((m) => m.name === 'sql.pool_wait')!;
    const duration = result.metrics.metrics.find((m) => m.name === 'sql.duration')!;
    assert.ok(
      wait.sum / wait.count > duration.sum / duration.count,
      'waiting for a connection took longer than the statements',
    );
    // The pool's gauges: the five connections of `pool.max` in use, most of the sixty users queued for them.
    const peak = (name: string): number =>
      result.metrics.metrics.find((m) => m.name === name && m.tags['db'] === 'db')!.max;
    assert.equal(peak('sql.pool.size'), 5);
    assert.ok(peak('sql.pool.waiting') >= 30, `waiting at most ${peak('sql.pool.waiting')}`);
  });

  it('bad SQL fails its steps with their SQLSTATE, named by step in the summary, and the run goes on', async (t) => {
    if (db === undefined) return t.skip('no PostgreSQL');
    const dir = tempDir({ 's.yaml': `name: bad_sql
services:
  db: { postgres: embedded, init: "CREATE TABLE t (id int);" }
load: [ { rate: 10/s, duration: 1s } ]
flow:
  - name: missing table
    sql: { query: "SELECT * FROM nowhere" }
  - name: syntax
    sql: { query: "SELEC 1" }
  - name: fine
    sql: { query: "SELECT count(*) AS n FROM t" }
    expect: "rows[0].n == 0"
thresholds: [ "rate(checks) == 100%" ]
` });
    after(dir.cleanup);
    const run = await perfyAsync(['run', dir.path('s.yaml'), '--quiet', '--out', dir.path('out')]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /sql errors .*syntax: 42601 × 10/);
    assert.match(run.stdout, /missing table: 42P01 × 10/);
    assert.match(
      run.stdout,
      /first errors\n {4}missing table \(42P01\): relation "nowhere" does not exist \(SQLSTATE 42P01\)\n {4}syntax \(42601\): syntax error at or near "SELEC"/,
    );
    const result = readResultDir(dir.path('out'));
    assert.equal(
      total(result, 'sql.queries', { step: 'fine', status: 'ok' }),
      10,
      'the steps after the failed ones ran',
    );
  });

  it('an unreachable database fails each step as refused, named in the summary; an abort threshold stops the ' +
      'run (exit 3)', async () => {
    const dir = tempDir({ 's.yaml': `name: unreachable
load: [ { rate: 20/s, duration: 20s } ]
flow:
  - name: lookup
    sql: { query: "SELECT 1", db: "postgres://perfy:secret-pw@127.0.0.1:1/perfy" }
thresholds:
  - { expr: "rate(sql.errors) < 10%", abort: true }
` });
    after(dir.cleanup);
    const started = Date.now();
    const run = await perfyAsync(['run', dir.path('s.yaml'), '--out', dir.path('out')]);
    assert.equal(run.status, 3, run.stdout + run.stderr);
    assert.ok(Date.now() - started < 10_000, 'stopped long before the 20 s of load');
    assert.match(run.stdout, /sql errors {2}lookup: refused × \d+/);
    assert.match(run.stdout, /first errors\n {4}lookup \(refused\): .*ECONNREFUSED/);
    assert.doesNotMatch(run.stdout + run.stderr, /secret-pw/);
    const result = readResultDir(dir.path('out'));
    assert.equal(result.status, 'aborted');
    assert.ok(total(result, 'sql.queries', { step: 'lookup', status: 'refused' }) > 0);
  });
});
