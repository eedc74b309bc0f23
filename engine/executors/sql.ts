// The SQL step executor: `sql: { query, params, db }` on PostgreSQL through pg, one pool per database. The
// statement text is fixed at compile time (templates in it are refused: E_SQL_TEMPLATE); values reach the
// server only as bound parameters. Records sql.* metrics: the wait for a pooled connection, the statement's
// time, rows, and errors by SQLSTATE. docs/sql.md.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { StepNode } from '../compile/plan.js';
import { isTemplate, loneValue, type TemplateTree } from '../compile/template.js';
import type { MetricHandle, MetricStore, Tags } from '../metrics/types.js';
import { PerfyError, problem } from '../errors.js';
import { parseDuration } from '../units.js';
import { classifyError } from './http.js';
import type { ErrorClass, Executor, ExecutorSetup, StepResult, StepRunner, VuContext } from './types.js';

/** Pool settings of one database (a `postgres` service's `pool:`; defaults for a URL given in the step). */
export interface SqlPoolSettings {
  max: number;
  connectTimeoutMs: number;
  /** Server-side limit on one statement, ms; undefined: none. */
  statementTimeoutMs: number | undefined;
  applicationName: string;
}

export const DEFAULT_POOL: SqlPoolSettings = { max: 10, connectTimeoutMs: 10_000, statementTimeoutMs: undefined, applicationName: 'perfy' };

/**
 * The database of a step: `db` names a postgres service (its URL and `pool:` settings) or is a postgres:// URL
 * (default settings); without `db`, the scenario's only postgres service.
 */
export function resolveDatabase(db: string | undefined, step: StepNode, setup: ExecutorSetup): { url: string; pool: SqlPoolSettings } {
  if (db !== undefined && /^postgres(ql)?:\/\//.test(db)) return { url: db, pool: DEFAULT_POOL };
  const postgres = Object.entries(setup.plan.services).filter(([, config]) => 'postgres' in config).map(([name]) => name);
  const name = db ?? (postgres.length === 1 ? postgres[0] : undefined);
  if (name === undefined) {
    throw new PerfyError(problem('E_SERVICE_UNKNOWN', `step "${step.name}" does not say which database to use`,
      postgres.length === 0 ? 'declare one under `services:` (`db: { postgres: embedded }`) or give `db: postgres://…`' : `name one of the postgres services in \`db:\`: ${postgres.join(', ')}`, step.location));
  }
  const running = setup.services[name];
  if (running === undefined || !postgres.includes(name)) {
    throw new PerfyError(problem('E_SERVICE_UNKNOWN', `step "${step.name}": "${name}" is not a postgres service of this scenario`,
      postgres.length ? `the postgres services: ${postgres.join(', ')}` : 'declare one under `services:` (`db: { postgres: embedded }`)', step.location));
  }
  return { url: running.url, pool: poolSettings((setup.plan.services[name] as { pool?: Record<string, unknown> }).pool) };
}

/** A postgres service's `pool:` as the pool takes it; durations are written as `10s`, `500ms`. */
function poolSettings(pool: Record<string, unknown> | undefined): SqlPoolSettings {
  if (pool === undefined) return DEFAULT_POOL;
  const ms = (value: unknown): number | undefined => (typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : undefined);
  return {
    max: typeof pool['max'] === 'number' ? pool['max'] : DEFAULT_POOL.max,
    connectTimeoutMs: ms(pool['connect_timeout']) ?? DEFAULT_POOL.connectTimeoutMs,
    statementTimeoutMs: ms(pool['statement_timeout']),
    applicationName: typeof pool['application_name'] === 'string' ? pool['application_name'] : DEFAULT_POOL.applicationName,
  };
}

export function createSqlExecutor(): Executor {
  const pools = new Map<string, pg.Pool>();
  const poolFor = (url: string, settings: SqlPoolSettings): pg.Pool => {
    let pool = pools.get(url);
    if (pool === undefined) {
      pool = new pg.Pool({
        connectionString: url,
        max: settings.max,
        connectionTimeoutMillis: settings.connectTimeoutMs,
        application_name: settings.applicationName,
        ...(settings.statementTimeoutMs === undefined ? {} : { statement_timeout: settings.statementTimeoutMs }),
      });
      // An idle client that loses its connection emits on the pool; the next checkout gets a fresh one.
      pool.on('error', () => undefined);
      pools.set(url, pool);
    }
    return pool;
  };
  return {
    kind: 'sql',
    create(step, setup) {
      const request = step.request as Record<string, TemplateTree>;
      const db = request['db'];
      const dbText = db === undefined ? undefined : isTemplate(db) ? db.render({}) : String(db);
      const { url, pool } = resolveDatabase(dbText, step, setup);
      return new SqlStepRunner(step, setup, poolFor(url, pool));
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.end().catch(() => undefined)));
    },
  };
}

interface SqlHandles {
  duration: MetricHandle;
  queries: MetricHandle;
  errors: MetricHandle;
  rows: MetricHandle;
}

class SqlStepRunner implements StepRunner {
  private readonly text: string;
  private readonly params: ((vars: Record<string, unknown>) => unknown)[];
  private readonly poolWait: MetricHandle;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly handles = new Map<string, SqlHandles>();

  constructor(step: StepNode, setup: ExecutorSetup, private readonly pool: pg.Pool) {
    const request = step.request as Record<string, TemplateTree>;
    // The statement is kept as written at compile time (a static template): text, never rendered.
    const query = request['query'];
    this.text = isTemplate(query) ? query.source : String(query);
    const params = request['params'];
    this.params = Array.isArray(params) ? params.map(paramRenderer) : [];
    this.store = setup.store;
    this.tags = setup.tags;
    this.poolWait = setup.store.handle('sql.pool_wait', 'trend', setup.tags);
  }

  async execute(ctx: VuContext, timeoutMs: number, startedAt = performance.now()): Promise<StepResult> {
    if (ctx.signal.aborted) return failed('aborted', 'the run was stopped', 0);
    const values = this.params.map((render) => render(ctx.vars));
    const deadline = timeoutMs > 0 && Number.isFinite(timeoutMs) ? startedAt + timeoutMs : Infinity;
    let client: pg.PoolClient;
    try {
      client = await withDeadline(this.pool.connect(), deadline, ctx.signal, (late) => late.then((c) => c.release(), () => undefined));
    } catch (error) {
      const ended = performance.now();
      const errorClass = errorClassOf(error);
      if (errorClass !== 'aborted') this.record(keyOf(error, errorClass), ended - startedAt, 0, false);
      return failed(errorClass, messageOf(error), ended - startedAt);
    }
    const sentAt = performance.now();
    this.poolWait.record(sentAt - startedAt);
    try {
      const result = await withDeadline(client.query({ text: this.text, values }), deadline, ctx.signal, (late) => late.then(() => undefined, () => undefined));
      client.release();
      const ended = performance.now();
      const rows = result.rows as Record<string, unknown>[];
      const rowCount = result.rowCount ?? rows.length;
      this.record('ok', ended - sentAt, rowCount, true);
      return { ok: true, response: { rows, row_count: rowCount, duration: ended - sentAt, ok: true, error: undefined } };
    } catch (error) {
      const ended = performance.now();
      const errorClass = errorClassOf(error);
      // A connection that timed out or was cancelled mid-statement cannot be trusted with the next one.
      client.release(errorClass === 'sql' ? undefined : (error as Error));
      if (errorClass !== 'aborted') this.record(keyOf(error, errorClass), ended - sentAt, 0, false);
      return failed(errorClass, messageOf(error), ended - sentAt);
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

class DeadlineError extends Error {
  constructor(readonly errorClass: 'timeout' | 'aborted') {
    super(errorClass === 'timeout' ? 'the step timed out' : 'the run was stopped');
  }
}

/** `work`, unless the deadline passes or the run stops first; then `abandon` receives what `work` becomes. */
function withDeadline<T>(work: Promise<T>, deadline: number, signal: AbortSignal, abandon: (late: Promise<T>) => void): Promise<T> {
  if (deadline === Infinity && !signal.aborted) {
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(new DeadlineError('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([work, stopped]).finally(() => signal.removeEventListener('abort', onAbort!)).catch((error: unknown) => {
      if (error instanceof DeadlineError) abandon(work);
      throw error;
    });
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError('timeout')), Math.max(0, deadline - performance.now()));
    onAbort = () => reject(new DeadlineError('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, limit]).finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  }).catch((error: unknown) => {
    if (error instanceof DeadlineError) abandon(work);
    throw error;
  });
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

function failed(errorClass: ErrorClass, message: string, duration: number): StepResult {
  return { ok: false, error: { class: errorClass, message }, response: { rows: [], row_count: 0, duration, ok: false, error: message } };
}

/** A parameter: a lone placeholder keeps its value's type (a captured number stays a number); other text renders. */
function paramRenderer(tree: TemplateTree): (vars: Record<string, unknown>) => unknown {
  if (!isTemplate(tree)) return () => tree;
  if (tree.isStatic) return () => tree.source;
  return loneValue(tree, null) ?? ((vars) => tree.render(vars));
}
