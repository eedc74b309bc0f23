// The SQL step executor: `sql: { query, params, db, explain }` on PostgreSQL through pg, one pool per database.
// The statement text is fixed at compile time (templates in it are refused: E_SQL_TEMPLATE); values reach the
// server only as bound parameters. Records sql.* metrics: the wait for a pooled connection, the statement's
// time, rows, errors by SQLSTATE, the pools' size / idle / waiting, and the query plan of an explained step.
// docs/sql.md.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { StepNode, TransactionNode } from '../../compile/plan.js';
import { isTemplate, valueRenderer, type TemplateTree } from '../../compile/template.js';
import type { MetricHandle, MetricStore, Tags } from '../../metrics/types.js';
import { share, type Segment } from '../../segment.js';
import { PerfyError, problem } from '../../errors.js';
import { poolSettingsOf, type PostgresPoolSettings, type PostgresService } from '../../services/postgres-config.js';
import { classifyError } from '../http/runner.js';
import { inFlightFor, watchSignal, type InFlight, type InFlightItem } from '../in-flight.js';
import type {
  ErrorClass, Executor, ExecutorContext, ExecutorSetup, StepOf, StepResult, StepRunner, VuContext,
} from '../types.js';
import type { SqlQueryPlan } from './index.js';

/** A `postgres://` URL given in `db:` gets the pool settings a postgres service has by default. */
const DEFAULT_POOL: PostgresPoolSettings = poolSettingsOf({ postgres: 'embedded' });

/**
 * The database of a step: `db` names a postgres service (its URL and `pool:` settings) or is a postgres:// URL
 * (default settings); without `db`, the scenario's only postgres service.
 */
export function resolveDatabase(
  tree: TemplateTree | undefined,
  step: { name: string; location: StepNode['location'] },
  setup: ExecutorSetup,
): Database {
  // `db:` is fixed for the run: a template in it may read the services (`{{services.db.url}}`), nothing else.
  const db = tree === undefined
    ? undefined
    : isTemplate(tree) ? tree.render({ services: setup.services }) : String(tree);
  if (db !== undefined && /^postgres(ql)?:\/\//.test(db)) return { url: db, pool: DEFAULT_POOL, name: urlName(db) };
  const postgres = Object.entries(setup.plan.services)
    .filter(([, config]) => 'postgres' in config)
    .map(([name]) => name);
  const name = db ?? (postgres.length === 1 ? postgres[0] : undefined);
  if (name === undefined) {
    throw new PerfyError(
      problem(
        'E_SERVICE_UNKNOWN',
        `step "${step.name}" does not say which database to use`,
        postgres.length === 0
          ? 'declare one under `services:` (`db: { postgres: embedded }`) or give `db: postgres://…`'
          : `name one of the postgres services in \`db:\`: ${postgres.join(', ')}`,
        step.location,
      ),
    );
  }
  const running = setup.services[name];
  if (running === undefined || !postgres.includes(name)) {
    throw new PerfyError(
      problem(
        'E_SERVICE_UNKNOWN',
        `step "${step.name}": "${name}" is not a postgres service of this scenario`,
        postgres.length
          ? `the postgres services: ${postgres.join(', ')}`
          : 'declare one under `services:` (`db: { postgres: embedded }`)',
        step.location,
      ),
    );
  }
  return { url: running.url, pool: poolSettingsOf(setup.plan.services[name] as PostgresService), name };
}

/** A database a step uses: its URL, its pool's settings, and the name its pool gauges are tagged with (`db`). */
interface Database {
  url: string;
  pool: PostgresPoolSettings;
  name: string;
}

/** A `postgres://` URL named without its credentials: `HOST:PORT/DB`. */
function urlName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'url';
  }
}

/** A pg pool with the gauges of its size, idle and waiting connections. */
interface SqlPool {
  pool: pg.Pool;
  /** Records the pool's size, idle and waiting counts as they are now. */
  sample(): void;
}

/**
 * `segment`: this process runs one share of the load (a worker thread, a Kubernetes pod); each pool then opens
 * its share of `max`, so that all of them together hold at most `max` connections, as one process would.
 */
export function startSqlExecutor(context: ExecutorContext): SqlExecutor {
  return createSqlExecutor(context.segment);
}

export function createSqlExecutor(segment?: Segment): SqlExecutor {
  const pools = new Map<string, SqlPool>();
  const poolFor = ({ url, pool: settings, name }: Database, store: MetricStore): SqlPool => {
    let entry = pools.get(url);
    if (entry === undefined) {
      const pool = new pg.Pool({
        connectionString: url,
        max: segment === undefined ? settings.max : Math.max(1, share(settings.max, segment)),
        connectionTimeoutMillis: settings.connectTimeoutMs,
        application_name: settings.applicationName,
        ...(settings.statementTimeoutMs === undefined ? {} : { statement_timeout: settings.statementTimeoutMs }),
      });
      // An idle client that loses its connection emits on the pool; the next checkout gets a fresh one.
      pool.on('error', () => undefined);
      const tags = { db: name };
      const size = store.handle('sql.pool.size', 'gauge', tags);
      const idle = store.handle('sql.pool.idle', 'gauge', tags);
      const waiting = store.handle('sql.pool.waiting', 'gauge', tags);
      const sample = (): void => {
        size.record(pool.totalCount);
        idle.record(pool.idleCount);
        waiting.record(pool.waitingCount);
      };
      // A connection opened or closed by the pool itself (idle timeout, a broken one removed).
      pool.on('connect', sample);
      pool.on('remove', sample);
      entry = { pool, sample };
      pools.set(url, entry);
    }
    return entry;
  };
  return {
    transaction(node: TransactionNode, setup: ExecutorSetup): SqlTransactionRunner {
      return new SqlTransactionRunner(node, setup, poolFor(resolveDatabase(node.db, node, setup), setup.store));
    },
    create(step, setup) {
      return new SqlStepRunner(step, setup, poolFor(resolveDatabase(step.request.db, step, setup), setup.store));
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map(({ pool }) => pool.end().catch(() => undefined)));
    },
  };
}

/**
 * One execution of a SQL step (or one transaction's wait for a connection) in flight. Its deadline and the run's
 * abort signal end what it waits for — a pooled connection, then the statement — through the in-flight lists
 * the HTTP executor uses too (one timer per step timeout, one listener per signal). A connection or a result
 * that arrives after the call ended is not waited for: a late connection goes back to the pool.
 */
class SqlCall implements InFlightItem {
  list: InFlight | undefined = undefined;
  previous: InFlightItem | undefined = undefined;
  next: InFlightItem | undefined = undefined;
  deadline = Infinity;
  /** How the call was ended early, if it was. */
  private ended: 'timeout' | 'aborted' | undefined = undefined;
  /** Rejects what the call waits for now. */
  private waiting: ((error: DeadlineError) => void) | undefined = undefined;

  constructor(readonly signal: AbortSignal, timeoutMs: number, startedAt: number) {
    watchSignal(signal);
    if (signal.aborted) this.ended = 'aborted';
    else inFlightFor(timeoutMs).add(this, startedAt);
  }

  cancel(errorClass: 'timeout' | 'aborted'): void {
    this.list?.remove(this);
    this.ended = errorClass;
    const fail = this.waiting;
    this.waiting = undefined;
    fail?.(new DeadlineError(errorClass));
  }

  /** A connection from the pool, the pool's gauges recorded as the request queues and as it is served. */
  connect(sqlPool: SqlPool): Promise<pg.PoolClient> {
    return this.wait<pg.PoolClient>((settle) => {
      sqlPool.pool.connect((error, client) => {
        sqlPool.sample();
        settle(error ?? (client === undefined ? new Error('the pool gave no connection') : undefined), client);
      });
      sqlPool.sample();
    }, (client) => release(sqlPool, client));
  }

  /** The statement on `client` (pg's callback form: no promise of pg's own, no copy of the query). */
  query(client: pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult> {
    return this.wait<pg.QueryResult>((settle) => client.query(text, values, settle), () => undefined);
  }

  /** What `start` produces through `settle`, unless the call ends first; then what comes later goes to `late`. */
  private wait<T>(
    start: (settle: (error: Error | undefined, value: T | undefined) => void) => void,
    late: (value: T) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.ended !== undefined) return reject(new DeadlineError(this.ended));
      let abandoned = false;
      this.waiting = (error) => {
        abandoned = true;
        reject(error);
      };
      start((error, value) => {
        if (abandoned) {
          if (value !== undefined) late(value);
          return;
        }
        this.waiting = undefined;
        if (error) reject(error);
        else resolve(value as T);
      });
    });
  }

  /** The call is over: it leaves its in-flight list. */
  done(): void {
    this.list?.remove(this);
  }
}

/** Gives a connection back (closing it when `broken`), and records the pool's gauges. */
function release(sqlPool: SqlPool, client: pg.PoolClient, broken?: Error): void {
  client.release(broken);
  sqlPool.sample();
}

interface SqlHandles {
  duration: MetricHandle;
  queries: MetricHandle;
  errors: MetricHandle;
  rows: MetricHandle;
}

/** `explain:` of a step: the plan only, or the plan of a real execution (rolled back). */
export type ExplainMode = 'plan' | 'analyze';

class SqlStepRunner implements StepRunner {
  private readonly text: string;
  private readonly params: ((vars: Record<string, unknown>) => unknown)[];
  private readonly poolWait: MetricHandle;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly handles = new Map<string, SqlHandles>();
  private readonly name: string;
  /** Set until the step's plan has been taken (on its first execution). */
  private explain: ExplainMode | undefined;

  constructor(step: StepOf<SqlQueryPlan>, setup: ExecutorSetup, private readonly sqlPool: SqlPool) {
    const request = step.request;
    this.name = step.name;
    // The statement is kept as written: text, never rendered.
    this.text = request.query;
    this.params = request.params.map((param) => valueRenderer(param, null));
    this.explain = request.explain;
    this.store = setup.store;
    this.tags = setup.tags;
    this.poolWait = setup.store.handle('sql.pool_wait', 'trend', setup.tags);
  }

  async execute(ctx: VuContext, timeoutMs: number, startedAt = performance.now()): Promise<StepResult> {
    if (ctx.signal.aborted) return failed('aborted', 'the run was stopped', 0);
    const call = new SqlCall(ctx.signal, timeoutMs, startedAt);
    try {
      return await this.run(call, ctx, startedAt);
    } finally {
      call.done();
    }
  }

  private async run(call: SqlCall, ctx: VuContext, startedAt: number): Promise<StepResult> {
    const values = this.params.map((render) => render(ctx.vars));
    // Inside a `transaction:` the statement runs on the transaction's connection.
    const tx = ctx.transaction as SqlTransaction | undefined;
    if (tx !== undefined && tx.pool !== this.sqlPool) {
      const message = `step "${this.name}" uses another database than its transaction`;
      tx.failure = { code: 'other', message };
      return failed('other', message, 0);
    }
    let client: pg.PoolClient;
    if (tx !== undefined) {
      client = tx.client;
    } else {
      try {
        client = await call.connect(this.sqlPool);
      } catch (error) {
        const ended = performance.now();
        const errorClass = errorClassOf(error);
        if (errorClass !== 'aborted') this.record(keyOf(error, errorClass), ended - startedAt, 0, false);
        return failed(errorClass, messageOf(error), ended - startedAt, keyOf(error, errorClass));
      }
      this.poolWait.record(performance.now() - startedAt);
    }
    if (this.explain !== undefined) {
      const mode = this.explain;
      this.explain = undefined;
      await this.takePlan(client, values, mode, tx !== undefined);
    }
    const sentAt = performance.now();
    try {
      const result = await call.query(client, this.text, values);
      if (tx === undefined) release(this.sqlPool, client);
      const ended = performance.now();
      const rows = result.rows as Record<string, unknown>[];
      const rowCount = result.rowCount ?? rows.length;
      this.record('ok', ended - sentAt, rowCount, true);
      return {
        ok: true,
        response: { rows, row_count: rowCount, duration: ended - sentAt, ok: true, error: undefined },
      };
    } catch (error) {
      const ended = performance.now();
      const errorClass = errorClassOf(error);
      // A connection that timed out or was cancelled mid-statement cannot be trusted with the next one.
      const broken = errorClass === 'sql' ? undefined : (error as Error);
      if (tx === undefined) release(this.sqlPool, client, broken);
      else {
        tx.failure = { code: keyOf(error, errorClass), message: messageOf(error) };
        tx.broken ??= broken;
      }
      if (errorClass !== 'aborted') this.record(keyOf(error, errorClass), ended - sentAt, 0, false);
      return failed(errorClass, messageOf(error), ended - sentAt, keyOf(error, errorClass));
    }
  }

  /**
   * EXPLAIN (FORMAT JSON) of the statement with this execution's parameters, on its connection, before it
   * runs: a `plan` sample in the result and the sql.plan.* metrics. `analyze` executes the statement inside a
   * transaction (a savepoint inside the step's own transaction) that is rolled back, so a write is not made
   * twice. A plan that cannot be taken is reported as such; the step itself goes on.
   */
  private async takePlan(
    client: pg.PoolClient,
    values: unknown[],
    mode: ExplainMode,
    inTransaction: boolean,
  ): Promise<void> {
    const [open, close, undo] = inTransaction
      ? ['SAVEPOINT perfy_explain', 'RELEASE SAVEPOINT perfy_explain', 'ROLLBACK TO SAVEPOINT perfy_explain']
      : mode === 'analyze' ? ['BEGIN', 'ROLLBACK', 'ROLLBACK'] : [undefined, undefined, undefined];
    const options = mode === 'analyze' ? 'ANALYZE, BUFFERS, FORMAT JSON' : 'FORMAT JSON';
    const tags = { workload: this.tags['workload'] ?? '', step: this.name };
    try {
      if (open) await client.query(open);
      const result = await client.query({ text: `EXPLAIN (${options}) ${this.text}`, values });
      if (undo) await client.query(undo);
      if (close && undo !== close) await client.query(close);
      const plan = summarizePlan((result.rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']);
      this.store.handle('sql.plan.cost', 'gauge', tags).record(plan.cost);
      this.store.handle('sql.plan.index', 'gauge', tags).record(plan.indexes.length > 0 ? 1 : 0);
      if (plan.execution_ms !== undefined) this.store.handle('sql.plan.time', 'trend', tags).record(plan.execution_ms);
      this.store.sample('plan', tags, describePlan(plan), { mode, ...plan });
    } catch (error) {
      if (undo) await client.query(undo).catch(() => undefined);
      if (close && undo !== close) await client.query(close).catch(() => undefined);
      this.store.sample('plan', tags, `no plan: ${messageOf(error)}`, { mode });
    }
  }

  /** One statement's metrics, tagged by its outcome: `ok`, a SQLSTATE, or a connection error class. */
  private record(key: string, duration: number, rows: number, ok: boolean): void {
    let h = this.handles.get(key);
    if (h === undefined) {
      const statusClass = key === 'ok' ? 'ok' : /^[0-9A-Z]{5}$/.test(key) ? key.slice(0, 2) : 'connection';
      const tags: Tags = { ...this.tags, status: key, status_class: statusClass };
      h = {
        duration: this.store.handle('sql.duration', 'trend', tags),
        queries: this.store.handle('sql.queries', 'counter', tags),
        errors: this.store.handle('sql.errors', 'rate', tags),
        rows: this.store.handle('sql.rows', 'counter', tags),
      };
      this.handles.set(key, h);
    }
    h.queries.record(1);
    h.errors.record(ok ? 0 : 1);
    h.duration.record(duration);
    if (rows > 0) h.rows.record(rows);
  }
}

/** What the report keeps of a query plan. */
export interface PlanSummary {
  /** The top node: `Index Scan`, `Seq Scan`, `Hash Join`, `ModifyTable`, … */
  node: string;
  /** The planner's total cost of the top node (its own units). */
  cost: number;
  /** The planner's estimate of the rows the top node returns. */
  rows: number;
  /** Indexes used by any node (Index Scan, Index Only Scan, Bitmap Index Scan). */
  indexes: string[];
  /** Tables read by a sequential scan. */
  seq_scans: string[];
  /** analyze: the server's planning and execution time, and the rows actually returned. */
  planning_ms?: number;
  execution_ms?: number;
  actual_rows?: number;
  /** The whole plan as PostgreSQL gives it (EXPLAIN (FORMAT JSON)). */
  plan: unknown;
}

/** Reads EXPLAIN (FORMAT JSON)'s output: `[{ Plan: {...}, "Planning Time": ms, "Execution Time": ms }]`. */
export function summarizePlan(output: unknown): PlanSummary {
  const doc = (Array.isArray(output) ? output[0] : output) as Record<string, unknown> | undefined;
  const top = doc?.['Plan'] as Record<string, unknown> | undefined;
  if (top === undefined) throw new Error('EXPLAIN returned no plan');
  const indexes = new Set<string>();
  const seqScans = new Set<string>();
  const visit = (node: Record<string, unknown>): void => {
    const type = node['Node Type'];
    if (typeof node['Index Name'] === 'string') indexes.add(node['Index Name']);
    if (type === 'Seq Scan' && typeof node['Relation Name'] === 'string') seqScans.add(node['Relation Name']);
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit(top);
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const summary: PlanSummary = {
    node: String(top['Node Type']),
    cost: number(top['Total Cost']) ?? 0,
    rows: number(top['Plan Rows']) ?? 0,
    indexes: [...indexes],
    seq_scans: [...seqScans],
    plan: output,
  };
  const planning = number(doc!['Planning Time']);
  const execution = number(doc!['Execution Time']);
  const actualRows = number(top['Actual Rows']);
  if (planning !== undefined) summary.planning_ms = planning;
  if (execution !== undefined) summary.execution_ms = execution;
  if (actualRows !== undefined) summary.actual_rows = actualRows;
  return summary;
}

/** One line: `Index Scan, index notes_pkey, cost 8.29, 1 row est.; 0.031 ms, 1 row`. */
export function describePlan(plan: PlanSummary): string {
  const parts = [plan.node];
  if (plan.indexes.length) parts.push(`index ${plan.indexes.join(', ')}`);
  if (plan.seq_scans.length) parts.push(`seq scan ${plan.seq_scans.join(', ')}`);
  parts.push(`cost ${plan.cost}`, `${plan.rows} row${plan.rows === 1 ? '' : 's'} estimated`);
  if (plan.execution_ms !== undefined) {
    parts.push(`ran ${plan.execution_ms} ms, ${plan.actual_rows ?? 0} row${plan.actual_rows === 1 ? '' : 's'}`);
  }
  return parts.join(', ');
}

export interface SqlExecutor extends Executor<SqlQueryPlan> {
  /** The runner of a `transaction:` node: BEGIN … COMMIT on one connection around its body, retried. */
  transaction(node: TransactionNode, setup: ExecutorSetup): SqlTransactionRunner;
}

export type TransactionBodyOutcome = 'ok' | 'failed' | 'stopped';

/** An open transaction, on the virtual user's context while its body runs. */
interface SqlTransaction {
  pool: SqlPool;
  client: pg.PoolClient;
  /** The first failure: a SQLSTATE, or a connection error class. The body stops there. */
  failure: { code: string; message: string } | undefined;
  /** Set when the connection cannot be reused (a statement timed out or was cut short). */
  broken: Error | undefined;
}

const ISOLATION_SQL: Record<TransactionNode['isolation'], string> = {
  'read committed': 'BEGIN ISOLATION LEVEL READ COMMITTED',
  'repeatable read': 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
};

/** SQLSTATE 40P01: the server broke a deadlock by failing this transaction. */
export const DEADLOCK = '40P01';

/**
 * Runs a transaction node: BEGIN (at its isolation level) on a pooled connection, the body's steps on that
 * connection (the interpreter stops the body at the first failed statement), then COMMIT — or ROLLBACK after a
 * failure, and the whole transaction again, after a doubling backoff, when the failure's SQLSTATE is one the
 * node retries. Records sql.transactions{status: committed|failed}, sql.transaction.duration (from the first
 * BEGIN to the COMMIT, retries included), sql.retries and sql.deadlocks.
 */
export class SqlTransactionRunner {
  private readonly committed: MetricHandle;
  private readonly failedCount: MetricHandle;
  private readonly duration: MetricHandle;
  private readonly retries: MetricHandle;
  private readonly deadlocks: MetricHandle;
  private readonly poolWait: MetricHandle;

  constructor(private readonly node: TransactionNode, setup: ExecutorSetup, private readonly pool: SqlPool) {
    const tags: Tags = { ...setup.tags, transaction: node.name };
    this.committed = setup.store.handle('sql.transactions', 'counter', { ...tags, status: 'committed' });
    this.failedCount = setup.store.handle('sql.transactions', 'counter', { ...tags, status: 'failed' });
    this.duration = setup.store.handle('sql.transaction.duration', 'trend', tags);
    this.retries = setup.store.handle('sql.retries', 'counter', tags);
    this.deadlocks = setup.store.handle('sql.deadlocks', 'counter', tags);
    this.poolWait = setup.store.handle('sql.pool_wait', 'trend', tags);
    // Zero samples make `count(sql.transactions{status: failed}) == 0` a measured 0, not "no samples".
    for (const counter of [this.committed, this.failedCount, this.retries, this.deadlocks]) counter.record(0);
  }

  /**
   * `body` runs the node's flow with the transaction on `ctx`: `ok`, `failed` (a step failed, its expects
   * included: the body stopped there) or `stopped` (the run is stopping). Resolves true when the transaction
   * committed, false when it failed for good; undefined when the run stopped.
   */
  async run(
    ctx: VuContext,
    body: () => Promise<TransactionBodyOutcome>,
    sleep: (ms: number, signal: AbortSignal) => Promise<boolean>,
  ): Promise<boolean | undefined> {
    const started = performance.now();
    const { retry } = this.node;
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      const waitStart = performance.now();
      const call = new SqlCall(ctx.signal, Infinity, waitStart);
      try {
        client = await call.connect(this.pool);
      } catch {
        if (ctx.signal.aborted) return undefined;
        this.failedCount.record(1);
        return false;
      } finally {
        call.done();
      }
      this.poolWait.record(performance.now() - waitStart);
      const tx: SqlTransaction = { pool: this.pool, client, failure: undefined, broken: undefined };
      let stopped = false;
      try {
        await client.query(ISOLATION_SQL[this.node.isolation]);
        ctx.transaction = tx;
        const outcome = await body();
        ctx.transaction = undefined;
        stopped = outcome === 'stopped';
        // A step that failed its expects: the transaction is rolled back, and not retried.
        if (outcome === 'failed') tx.failure ??= { code: 'check', message: 'a step of the transaction failed' };
        if (stopped || tx.failure !== undefined) await client.query('ROLLBACK');
        else await client.query('COMMIT');
      } catch (error) {
        // BEGIN, COMMIT (a serialization failure at commit) or ROLLBACK itself failed.
        tx.failure ??= { code: keyOf(error, errorClassOf(error)), message: messageOf(error) };
        if (errorClassOf(error) !== 'sql') tx.broken ??= error as Error;
        await client.query('ROLLBACK').catch(() => undefined);
      } finally {
        ctx.transaction = undefined;
        release(this.pool, client, tx.broken);
      }
      if (stopped) return undefined;
      if (tx.failure === undefined) {
        this.committed.record(1);
        this.duration.record(performance.now() - started);
        return true;
      }
      if (tx.failure.code === DEADLOCK) this.deadlocks.record(1);
      if (attempt < retry.attempts && retry.sqlstates.includes(tx.failure.code)) {
        this.retries.record(1);
        if (!(await sleep(retry.backoffMs * 2 ** attempt, ctx.signal))) return undefined;
        continue;
      }
      this.failedCount.record(1);
      return false;
    }
  }
}

class DeadlineError extends Error {
  constructor(readonly errorClass: 'timeout' | 'aborted') {
    super(errorClass === 'timeout' ? 'the step timed out' : 'the run was stopped');
  }
}

function errorClassOf(error: unknown): ErrorClass {
  if (error instanceof DeadlineError) return error.errorClass;
  const code = (error as { code?: unknown }).code;
  // A SQLSTATE from the server: the statement (or the login) was refused.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (error as { severity?: unknown }).severity !== undefined) return 'sql';
  if (/timeout/i.test((error as Error).message ?? '')) return 'timeout';
  return classifyError(error);
}

function keyOf(error: unknown, errorClass: ErrorClass): string {
  return errorClass === 'sql' ? String((error as { code: string }).code) : errorClass;
}

function messageOf(error: unknown): string {
  const e = error as { code?: unknown; message?: string; position?: unknown };
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : '';
  return `${e.message ?? String(error)}${sqlstate}`;
}

function failed(errorClass: ErrorClass, message: string, duration: number, code?: string): StepResult {
  const error = code === undefined ? { class: errorClass, message } : { class: errorClass, message, code };
  return { ok: false, error, response: { rows: [], row_count: 0, duration, ok: false, error: message } };
}
