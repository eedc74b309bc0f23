// The SQL step executor against a real PostgreSQL: bound parameters (never spliced), rows and row counts,
// sql.* metrics tagged by outcome, errors with their SQLSTATE, timeouts, and the wait for a pooled connection.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Plan, StepNode } from '../../../engine/compile/plan.js';
import { compileTemplate, type TemplateTree } from '../../../engine/compile/template.js';
import { createSqlExecutor } from '../../../engine/executors/sql.js';
import type { StepResult, VuContext } from '../../../engine/executors/types.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import type { MetricStore } from '../../../engine/metrics/types.js';
import { startTestPostgres, type TestPostgres } from '../../postgres.js';

let nextId = 1;

function toTree(value: unknown): TemplateTree {
  if (typeof value === 'string') return compileTemplate(value);
  if (Array.isArray(value)) return value.map(toTree);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTree(v)]));
  return value as TemplateTree;
}

function sqlStep(query: string, params: unknown[], db: string): StepNode {
  const id = nextId++;
  return {
    type: 'step', id, name: `q${id}`, kind: 'sql', plugin: undefined, summary: query,
    // As the compiler leaves it: the statement a static template, the rest compiled.
    request: { query: { source: query, isStatic: true, names: [], render: () => query }, params: toTree(params), db: toTree(db) } as TemplateTree,
    tags: {}, condition: undefined, expects: [], captures: [], timeoutMs: 5000, retry: undefined,
    location: { file: 'test.yaml', line: 1, col: 1 },
  };
}

describe('sql executor', () => {
  let db: TestPostgres | undefined;
  const skip = (): boolean => db === undefined;
  const executor = createSqlExecutor();
  let store: MetricStore;

  before(async () => {
    db = await startTestPostgres();
    if (db === undefined) return;
    const client = new pg.Client(db.url);
    await client.connect();
    await client.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
    await client.end();
  });
  after(async () => {
    await executor.close();
    await db?.stop();
  });

  const run = (step: StepNode, vars: Record<string, unknown> = {}, timeoutMs = 5000): Promise<StepResult> => {
    store = createMetricStore();
    const runner = executor.create(step, { plan: { services: {} } as unknown as Plan, store, tags: { step: step.name }, target: undefined, defaultHeaders: {}, services: {} });
    const ctx: VuContext = { vu: 1, iteration: 0, vars, signal: new AbortController().signal };
    return runner.execute(ctx, timeoutMs);
  };
  const metric = (name: string, tags: Record<string, string> = {}): { count: number; sum: number }[] =>
    store.snapshot().metrics.filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v));

  it('binds parameters: text that looks like SQL is stored as text, and the table is still there', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const evil = "x'); DROP TABLE notes; --";
    const insert = await run(sqlStep('INSERT INTO notes (body) VALUES ($1) RETURNING id', ['{{body}}'], db!.url), { body: evil });
    assert.equal(insert.ok, true, insert.error?.message);
    assert.equal(insert.response['row_count'], 1);
    const id = (insert.response['rows'] as { id: number }[])[0]!.id;
    const read = await run(sqlStep('SELECT body FROM notes WHERE id = $1', ['{{id}}'], db!.url), { id });
    assert.deepEqual(read.response['rows'], [{ body: evil }]);
    assert.equal(metric('sql.rows', { status: 'ok' })[0]!.sum, 1);
    assert.equal(metric('sql.queries', { status: 'ok', status_class: 'ok' })[0]!.sum, 1);
    assert.equal(metric('sql.duration')[0]!.count, 1);
    assert.equal(metric('sql.pool_wait')[0]!.count, 1);
  });

  it('a lone placeholder keeps its value\'s type; a missing one is NULL', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const r = await run(sqlStep('SELECT $1::int + 1 AS n, $2::text IS NULL AS missing, $3::text AS mixed', ['{{n}}', '{{nothing}}', 'n={{n}}'], db!.url), { n: 41 });
    assert.deepEqual(r.response['rows'], [{ n: 42, missing: true, mixed: 'n=41' }]);
  });

  it('a syntax error and a missing table fail the step with class sql and their SQLSTATE, counted by it', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const syntax = await run(sqlStep('SELEC 1', [], db!.url));
    assert.equal(syntax.ok, false);
    assert.equal(syntax.error?.class, 'sql');
    assert.match(syntax.error!.message, /SQLSTATE 42601/);
    assert.equal(metric('sql.errors', { status: '42601', status_class: '42' })[0]!.sum, 1);
    const missing = await run(sqlStep('SELECT * FROM nowhere', [], db!.url));
    assert.match(missing.error!.message, /nowhere.*SQLSTATE 42P01/);
  });

  it('a wrong password is class sql with SQLSTATE 28P01; an unreachable server is refused', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const wrong = await run(sqlStep('SELECT 1', [], db!.url.replace(db!.password, 'not-the-password')));
    assert.equal(wrong.error?.class, 'sql');
    assert.match(wrong.error!.message, /28P01/);
    const closed = await run(sqlStep('SELECT 1', [], 'postgres://perfy:x@127.0.0.1:1/perfy'));
    assert.equal(closed.error?.class, 'refused');
    assert.equal(metric('sql.errors', { status: 'refused', status_class: 'connection' })[0]!.sum, 1);
  });

  it('the step timeout ends a slow statement; the pool serves the next one', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const started = performance.now();
    const slow = await run(sqlStep('SELECT pg_sleep(3)', [], db!.url), {}, 200);
    assert.equal(slow.error?.class, 'timeout');
    assert.ok(performance.now() - started < 1500);
    const next = await run(sqlStep('SELECT 7 AS n', [], db!.url));
    assert.deepEqual(next.response['rows'], [{ n: 7 }]);
  });

  it('more concurrent statements than pool connections: the wait is measured as sql.pool_wait', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const url = `${db!.url}?application_name=pool_test`;
    const small = createSqlExecutor();
    const local = createMetricStore();
    const plan = { services: { db: { postgres: 'embedded', pool: { max: 2 } } } } as unknown as Plan;
    const step = sqlStep('SELECT pg_sleep(0.2)', [], 'db');
    const runner = small.create(step, { plan, store: local, tags: { step: step.name }, target: undefined, defaultHeaders: {}, services: { db: { url, host: '127.0.0.1', port: db!.port } } });
    const ctx: VuContext = { vu: 1, iteration: 0, vars: {}, signal: new AbortController().signal };
    const results = await Promise.all(Array.from({ length: 6 }, () => runner.execute(ctx, 5000)));
    await small.close();
    assert.ok(results.every((r) => r.ok));
    const wait = local.snapshot().metrics.find((m) => m.name === 'sql.pool_wait')!;
    assert.equal(wait.count, 6);
    // Two connections, six statements of 200 ms: the last pair waited for two rounds.
    assert.ok(wait.max >= 350, `longest wait ${wait.max} ms`);
  });
});
