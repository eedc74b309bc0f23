// The SQL step executor against a real PostgreSQL: bound parameters (never spliced), rows and row counts,
// sql.* metrics tagged by outcome, errors with their SQLSTATE, timeouts, and the wait for a pooled connection.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Plan, StepNode } from '../../../../engine/compile/plan.js';
import { createSqlExecutor, describePlan, summarizePlan } from '../../../../engine/steps/sql/runner.js';
import type { TransactionNode } from '../../../../engine/compile/plan.js';
import { Interpreter } from '../../../../engine/run/interpreter.js';
import { createRandom } from '../../../../engine/random.js';
import type { ExecutorSetup, StepOf, StepResult, VuContext } from '../../../../engine/steps/types.js';
import { createMetricStore } from '../../../../engine/metrics/store.js';
import type { MetricStore } from '../../../../engine/metrics/types.js';
import { templateTree, testStepCompiler, UNCALLED } from '../../../helpers.js';
import { compileSqlQuery, sqlExecutor, type SqlQueryPlan } from '../../../../engine/steps/sql/index.js';
import { startTestPostgres, type TestPostgres } from '../../../postgres.js';

let nextId = 1;


/** What the run hands the executor: no services unless given, an empty plan unless given. */
function setupOf(
  store: MetricStore,
  tags: Record<string, string>,
  services: ExecutorSetup['services'] = {},
  plan = { services: {} } as unknown as Plan,
): ExecutorSetup {
  return { plan, store, tags, target: undefined, defaultHeaders: {}, services };
}

function sqlStep(
  query: string,
  params: (string | number | boolean | null)[],
  db: string,
  explain?: 'plan' | 'analyze',
): StepOf<SqlQueryPlan> {
  const id = nextId++;
  return {
    type: 'step', id, name: `q${id}`, kind: 'sql', plugin: undefined, summary: query, call: UNCALLED,
    request: compileSqlQuery(
      explain ? { query, params, db, explain: explain === 'analyze' ? 'analyze' : true } : { query, params, db },
      testStepCompiler(),
    ),
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

  const run = (
    step: StepOf<SqlQueryPlan>,
    vars: Record<string, unknown> = {},
    timeoutMs = 5000,
  ): Promise<StepResult> => {
    store = createMetricStore();
    const runner = executor.create(step, setupOf(store, { step: step.name }));
    const ctx: VuContext = { vu: 1, iteration: 0, vars, signal: new AbortController().signal };
    return runner.execute(ctx, timeoutMs);
  };
  const metric = (name: string, tags: Record<string, string> = {}): { count: number; sum: number }[] =>
    store.snapshot().metrics.filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v));

  it('binds parameters: text that looks like SQL is stored as text, and the table is still there', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const evil = "x'); DROP TABLE notes; --";
    const insert = await run(
      sqlStep('INSERT INTO notes (body) VALUES ($1) RETURNING id', ['{{body}}'], db!.url),
      { body: evil },
    );
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

  it('db may be a template of a service\'s URL', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    store = createMetricStore();
    const step = sqlStep('SELECT 5 AS n', [], '{{services.main.url}}');
    const runner = executor.create(
      step,
      setupOf(store, { step: step.name }, { main: { url: db!.url, host: '127.0.0.1', port: db!.port } }),
    );
    const r = await runner.execute({ vu: 1, iteration: 0, vars: {}, signal: new AbortController().signal }, 5000);
    assert.deepEqual(r.response['rows'], [{ n: 5 }]);
  });

  it('a lone placeholder keeps its value\'s type; a missing one is NULL', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const r = await run(
      sqlStep(
        'SELECT $1::int + 1 AS n, $2::text IS NULL AS missing, $3::text AS mixed',
        ['{{n}}', '{{nothing}}', 'n={{n}}'],
        db!.url,
      ),
      { n: 41 },
    );
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
    const runner = small.create(
      step,
      setupOf(local, { step: step.name }, { db: { url, host: '127.0.0.1', port: db!.port } }, plan),
    );
    const ctx: VuContext = { vu: 1, iteration: 0, vars: {}, signal: new AbortController().signal };
    const results = await Promise.all(Array.from({ length: 6 }, () => runner.execute(ctx, 5000)));
    await small.close();
    assert.ok(results.every((r) => r.ok));
    const metrics = local.snapshot().metrics;
    const wait = metrics.find((m) => m.name === 'sql.pool_wait')!;
    assert.equal(wait.count, 6);
    // Two connections, six statements of 200 ms: the last pair waited for two rounds.
    assert.ok(wait.max >= 350, `longest wait ${wait.max} ms`);
    // The pool's gauges, tagged with the service: two connections at most, four statements queued at once.
    const gauge = (name: string): { max: number } => metrics.find((m) => m.name === name && m.tags['db'] === 'db')!;
    assert.equal(gauge('sql.pool.size').max, 2);
    assert.equal(gauge('sql.pool.waiting').max, 4);
    assert.equal(gauge('sql.pool.idle').max, 2);
  });

  it('a process running one segment of the load opens its share of the pool\'s connections', async (t) => {
    if (skip()) return t.skip('no PostgreSQL');
    const plan = { services: { db: { postgres: 'embedded', pool: { max: 5 } } } } as unknown as Plan;
    const peaks: number[] = [];
    for (const index of [0, 1]) {
      const segmented = createSqlExecutor({ index, count: 2 });
      const local = createMetricStore();
      const step = sqlStep('SELECT pg_sleep(0.05)', [], 'db');
      const runner = segmented.create(
        step,
        setupOf(local, { step: step.name }, { db: { url: db!.url, host: '127.0.0.1', port: db!.port } }, plan),
      );
      const ctx: VuContext = { vu: 1, iteration: 0, vars: {}, signal: new AbortController().signal };
      const results = await Promise.all(Array.from({ length: 8 }, () => runner.execute(ctx, 5000)));
      await segmented.close();
      assert.ok(results.every((r) => r.ok));
      peaks.push(local.snapshot().metrics.find((m) => m.name === 'sql.pool.size')!.max);
    }
    assert.deepEqual(peaks, [3, 2], 'the two shares add up to max: 5');
  });

  describe('explain', () => {
    before(async () => {
      if (skip()) return;
      const client = new pg.Client(db!.url);
      await client.connect();
      await client.query('CREATE TABLE big AS SELECT g AS id, g % 100 AS v FROM generate_series(1, 10000) AS g');
      await client.query('ALTER TABLE big ADD PRIMARY KEY (id)');
      await client.query('ANALYZE big');
      await client.end();
    });
    const count = async (sql: string): Promise<number> => {
      const client = new pg.Client(db!.url);
      await client.connect();
      const n = Number((await client.query(sql)).rows[0].n);
      await client.end();
      return n;
    };
    const plans = (): { message: string; detail?: Record<string, unknown> }[] =>
      (store.snapshot().samples ?? []).filter((s) => s.kind === 'plan');

    it('the plan of a lookup by primary key names its index; sql.plan.index is 1; the step runs as ' +
        'usual', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      const r = await run(sqlStep('SELECT v FROM big WHERE id = $1', ['{{id}}'], db!.url, 'plan'), { id: 42 });
      assert.deepEqual(r.response['rows'], [{ v: 42 }]);
      const [plan] = plans();
      assert.equal(plan?.detail?.['node'], 'Index Scan');
      assert.deepEqual(plan?.detail?.['indexes'], ['big_pkey']);
      assert.equal(plan?.detail?.['execution_ms'], undefined, 'plan only: not executed');
      assert.equal(metric('sql.plan.index')[0]!.sum, 1);
      assert.ok(metric('sql.plan.cost')[0]!.sum > 0);
      assert.equal(metric('sql.plan.time').length, 0);
      assert.equal(metric('sql.queries')[0]!.sum, 1, 'EXPLAIN is not counted as a statement of the step');
    });

    it('a filter on an unindexed column is a sequential scan: sql.plan.index is 0', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      await run(sqlStep('SELECT count(*) FROM big WHERE v = $1', ['{{v}}'], db!.url, 'analyze'), { v: 7 });
      const [plan] = plans();
      assert.deepEqual(plan?.detail?.['seq_scans'], ['big']);
      assert.deepEqual(plan?.detail?.['indexes'], []);
      assert.equal(metric('sql.plan.index')[0]!.sum, 0);
      assert.equal(metric('sql.plan.time')[0]!.count, 1);
      assert.match(plan!.message, /seq scan big/);
    });

    it('analyze runs a write once more inside a rolled-back transaction: the table gets one row per step, ' +
        'not two', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      const before = await count('SELECT count(*) AS n FROM notes');
      const step = sqlStep('INSERT INTO notes (body) VALUES ($1)', ['explained'], db!.url, 'analyze');
      store = createMetricStore();
      const runner = executor.create(step, setupOf(store, { step: step.name }));
      const ctx: VuContext = { vu: 1, iteration: 0, vars: {}, signal: new AbortController().signal };
      for (let i = 0; i < 3; i++) assert.equal((await runner.execute(ctx, 5000)).ok, true);
      assert.equal(await count('SELECT count(*) AS n FROM notes'), before + 3);
      assert.equal(plans().length, 1, 'explained on the first execution only');
      assert.equal(plans()[0]!.detail?.['actual_rows'], 0);
      assert.equal(typeof plans()[0]!.detail?.['execution_ms'], 'number');
    });

    it('a statement that fails: "no plan" in the report, and the step fails with its own SQLSTATE', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      const r = await run(sqlStep('SELECT * FROM nowhere WHERE id = $1', ['1'], db!.url, 'analyze'));
      assert.equal(r.error?.class, 'sql');
      assert.match(r.error!.message, /42P01/);
      assert.equal(r.error?.code, '42P01');
      assert.match(plans()[0]!.message, /^no plan: .*42P01/);
      const next = await run(sqlStep('SELECT 1 AS n', [], db!.url));
      assert.deepEqual(next.response['rows'], [{ n: 1 }], 'the connection is usable after the failed explain');
    });
  });

  describe('transactions', () => {
    type SqlTransaction = TransactionNode & { steps: StepOf<SqlQueryPlan>[] };
    const transaction = (name: string, body: StepOf<SqlQueryPlan>[], retryAttempts: number): SqlTransaction => ({
      type: 'transaction', id: nextId++, name, isolation: 'read committed', db: templateTree(db!.url),
      retry: { attempts: retryAttempts, backoffMs: 10, sqlstates: ['40P01', '40001'] }, body, steps: body,
      executor: sqlExecutor, location: { file: 'test.yaml', line: 1, col: 1 },
    });

    async function runTransactions(nodes: SqlTransaction[]): Promise<{ store: MetricStore; outcomes: string[] }> {
      const local = createMetricStore();
      const setup = setupOf(local, { workload: 'w' });
      const runners = new Map(nodes.flatMap((n) => n.steps).map((s) => [
        s.id,
        executor.create(s, { ...setup, tags: { workload: 'w', step: s.name } }),
      ]));
      const transactions = new Map(nodes.map((n) => [n.id, executor.transaction(n, setup)]));
      const plan = { variables: {}, seed: 1 } as unknown as Plan;
      const interpreter = new Interpreter({
        plan, store: local, workload: 'w', runners, transactions,
        feeders: new Map(), baseVars: {}, correctForLag: false,
      });
      const signal = new AbortController().signal;
      const outcomes = await Promise.all(nodes.map((n, i) => {
        const user = interpreter.createUser(i + 1, createRandom(i + 1), signal);
        return interpreter.iteration(user, [n], signal);
      }));
      return { store: local, outcomes };
    }
    const sum = (store: MetricStore, name: string, tags: Record<string, string> = {}): number =>
      store.snapshot().metrics
        .filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v))
        .reduce((a, m) => a + m.sum, 0);
    const balances = async (): Promise<number[]> => {
      const client = new pg.Client(db!.url);
      await client.connect();
      const rows = (await client.query('SELECT balance FROM accounts ORDER BY id')).rows as { balance: number }[];
      await client.end();
      return rows.map((r) => r.balance);
    };

    before(async () => {
      if (db === undefined) return;
      const client = new pg.Client(db.url);
      await client.connect();
      await client.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
      await client.end();
    });
    const reset = async (): Promise<void> => {
      const client = new pg.Client(db!.url);
      await client.connect();
      await client.query('DELETE FROM accounts');
      await client.query('INSERT INTO accounts VALUES (1, 100), (2, 100)');
      await client.end();
    };

    it('two transfers in opposite order deadlock; the loser rolls back, is retried and commits', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      await reset();
      const move = (from: number, to: number): StepOf<SqlQueryPlan>[] => [
        sqlStep('UPDATE accounts SET balance = balance - 10 WHERE id = $1', [String(from)], db!.url),
        // Both hold their first row before either asks for its second: a deadlock every time.
        sqlStep('SELECT pg_sleep(0.3)', [], db!.url),
        sqlStep('UPDATE accounts SET balance = balance + 10 WHERE id = $1', [String(to)], db!.url),
      ];
      const { store: local, outcomes } = await runTransactions([
        transaction('a_to_b', move(1, 2), 3),
        transaction('b_to_a', move(2, 1), 3),
      ]);
      assert.deepEqual(outcomes, ['completed', 'completed']);
      assert.equal(sum(local, 'sql.transactions', { status: 'committed' }), 2, 'both committed in the end');
      assert.equal(sum(local, 'sql.transactions', { status: 'failed' }), 0);
      assert.ok(sum(local, 'sql.deadlocks') >= 1, 'the server broke a deadlock');
      assert.equal(sum(local, 'sql.retries'), sum(local, 'sql.deadlocks'), 'each deadlock retried once');
      assert.ok(sum(local, 'sql.errors', { status: '40P01', status_class: '40' }) >= 1);
      // Both transfers applied exactly once: the rolled-back attempt left nothing behind.
      assert.deepEqual(await balances(), [100, 100]);
    });

    it('without retries a deadlocked transaction is counted as failed and rolled back; a failed step ends the ' +
        'body', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      await reset();
      const move = (from: number, to: number, delta: number): StepOf<SqlQueryPlan>[] => [
        sqlStep('UPDATE accounts SET balance = balance - $2 WHERE id = $1', [String(from), String(delta)], db!.url),
        sqlStep('SELECT pg_sleep(0.3)', [], db!.url),
        sqlStep('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [String(to), String(delta)], db!.url),
        sqlStep('INSERT INTO notes (body) VALUES ($1)', [`after ${from}`], db!.url),
      ];
      const a = transaction('a', move(1, 2, 10), 0);
      const b = transaction('b', move(2, 1, 30), 0);
      const { store: local } = await runTransactions([a, b]);
      assert.equal(sum(local, 'sql.transactions', { status: 'committed' }), 1);
      assert.equal(sum(local, 'sql.transactions', { status: 'failed' }), 1);
      assert.equal(sum(local, 'sql.retries'), 0);
      const [one, two] = await balances();
      // Exactly one transfer happened, whole: 10 from 1 to 2, or 30 from 2 to 1.
      assert.ok((one === 90 && two === 110) || (one === 130 && two === 70), `${one}, ${two}`);
      // The deadlocked transaction's last statement never ran: its failed step ended the body.
      const inserts = [a, b].map((n) => sum(
        local,
        'sql.queries',
        { step: n.body[3]!.type === 'step' ? (n.body[3] as StepNode).name : '' },
      ));
      assert.deepEqual(inserts.sort(), [0, 1]);
    });

    it('explain: analyze inside a transaction runs under a savepoint: the update is applied once and the ' +
        'transaction commits', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      await reset();
      const body = [
        sqlStep('UPDATE accounts SET balance = balance - 10 WHERE id = $1', ['1'], db!.url, 'analyze'),
        sqlStep('UPDATE accounts SET balance = balance + 10 WHERE id = $1', ['2'], db!.url),
      ];
      const { store: local, outcomes } = await runTransactions([transaction('explained', body, 0)]);
      assert.deepEqual(outcomes, ['completed']);
      assert.equal(sum(local, 'sql.transactions', { status: 'committed' }), 1);
      assert.deepEqual(await balances(), [90, 110]);
      const plan = local.snapshot().samples?.find((x) => x.kind === 'plan');
      assert.deepEqual(plan?.detail?.['indexes'], ['accounts_pkey']);
    });

    it('the first error of each step and SQLSTATE is kept with its message', async (t) => {
      if (skip()) return t.skip('no PostgreSQL');
      await reset();
      const failing = sqlStep('INSERT INTO accounts VALUES (1, 0)', [], db!.url);
      const { store: local } = await runTransactions([
        transaction('dup', [failing], 0),
        transaction('dup2', [failing], 0),
      ]);
      const errors = local.snapshot().samples?.filter((x) => x.kind === 'error') ?? [];
      assert.equal(errors.length, 1, 'one sample for one step and code');
      assert.deepEqual(errors[0]!.tags, { workload: 'w', step: failing.name, code: '23505' });
      assert.match(errors[0]!.message, /duplicate key value violates unique constraint "accounts_pkey" \(SQLSTATE 23505\)/);
    });
  });
});

describe('query plan summaries', () => {
  it('collect the indexes and sequentially scanned tables of every node, and the analyze timings', () => {
    const output = [{
      Plan: {
        'Node Type': 'Hash Join', 'Total Cost': 120.5, 'Plan Rows': 40, 'Actual Rows': 38,
        Plans: [
          { 'Node Type': 'Seq Scan', 'Relation Name': 'authors', 'Total Cost': 20 },
          {
            'Node Type': 'Bitmap Heap Scan',
            'Relation Name': 'notes',
            Plans: [{ 'Node Type': 'Bitmap Index Scan', 'Index Name': 'notes_author' }],
          },
          { 'Node Type': 'Index Only Scan', 'Index Name': 'tags_pkey', 'Relation Name': 'tags' },
        ],
      },
      'Planning Time': 0.2,
      'Execution Time': 1.5,
    }];
    const plan = summarizePlan(output);
    assert.deepEqual({ ...plan, plan: undefined }, {
      node: 'Hash Join', cost: 120.5, rows: 40, indexes: ['notes_author', 'tags_pkey'], seq_scans: ['authors'],
      planning_ms: 0.2, execution_ms: 1.5, actual_rows: 38, plan: undefined,
    });
    assert.equal(plan.plan, output, 'the whole plan is kept');
    assert.equal(
      describePlan(plan),
      'Hash Join, index notes_author, tags_pkey, seq scan authors, cost 120.5, 40 rows estimated, ran 1.5 ms, 38 rows',
    );
    assert.throws(() => summarizePlan([]), /no plan/);
  });
});
