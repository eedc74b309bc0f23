// The `sql` step kind's door: its schema, how a query compiles (bound parameters only), its response fields and
// metrics. The pg pools and the statement runner (runner.ts) load only when a run starts.

import type { TemplateTree } from '../../compile/template.js';
import type { SqlQuery } from '../../generated/scenario.js';
import { m } from '../../metrics/catalog.js';
import { bindStep, ExecutorSource, type StepCompiler, type StepKind } from '../types.js';
import type { SqlExecutor } from './runner.js';
import { schema } from './schema.js';

/** The statements EXPLAIN accepts (by their first keyword). */
const EXPLAINABLE = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'VALUES', 'WITH', 'TABLE', 'EXECUTE', 'DECLARE',
]);

/** A `sql:` step compiled. The statement is text, never rendered: values go in `params`, bound. */
export interface SqlQueryPlan {
  query: string;
  params: TemplateTree[];
  /**
   * A postgres service's name or a postgres:// URL (a template that may read the services); undefined: the only
   * one.
   */
  db: TemplateTree | undefined;
  /** Take the statement's plan on its first execution: `plan` (EXPLAIN) or `analyze` (EXPLAIN ANALYZE). */
  explain: 'plan' | 'analyze' | undefined;
}

export const sqlExecutor = new ExecutorSource<SqlQueryPlan, SqlExecutor>(
  'sql', async () => (await import('./runner.js')).startSqlExecutor,
);

export function compileSqlQuery(settings: SqlQuery, at: StepCompiler): SqlQueryPlan {
  const p = at.path;
  const { query, explain } = settings;
  if (query.includes('{{')) {
    at.problem('E_SQL_TEMPLATE', 'SQL text cannot hold templates',
      'write $1, $2 … in the query and pass the values in `params` (they are bound, never spliced into SQL)',
      [...p, 'query'], { offset: query.indexOf('{{') });
  }
  let mode: SqlQueryPlan['explain'];
  if (explain !== undefined && explain !== false) {
    mode = explain === 'analyze' ? 'analyze' : 'plan';
    const keyword = /^\s*(?:\(\s*)?([a-z]+)/i.exec(query)?.[1]?.toUpperCase();
    if (keyword === undefined || !EXPLAINABLE.has(keyword)) {
      at.problem('E_SQL_EXPLAIN', `PostgreSQL cannot EXPLAIN a ${keyword ?? 'statement'} statement`,
        'explain a SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES or WITH … query; remove `explain` from this step',
        [...p, 'explain']);
    }
  }
  at.checkDatabase(settings.db, [...p, 'db'], 'SQL step');
  return {
    query,
    params: (settings.params ?? []).map((param, i) => at.tree(param, [...p, 'params', i])),
    db: settings.db === undefined ? undefined : at.tree(settings.db, [...p, 'db']),
    explain: mode,
  };
}

export const sql = {
  name: 'sql',
  definition: 'sqlQuery',
  schema,
  fields: ['rows', 'row_count', 'duration', 'ok', 'error'],
  metrics: [
    m('sql.duration', 'trend', 'Time of one SQL statement, from sending it to its last row '
      + '(the wait for a connection excluded).'),
    m('sql.pool_wait', 'trend', 'Time waiting for a connection from the pool '
      + '(connecting included when the pool opens one).'),
    m('sql.queries', 'counter', 'Statements run.'),
    m('sql.errors', 'rate', 'Share of statements that failed.'),
    m('sql.rows', 'counter', 'Rows returned or affected.'),
    m('sql.transactions', 'counter', 'Transactions ended, tagged `status`: committed or failed (after any retries).'),
    m('sql.transaction.duration', 'trend', 'From the first BEGIN to the COMMIT of a committed transaction, '
      + 'retries included.'),
    m('sql.retries', 'counter', 'Transactions run again after a deadlock or serialization failure.'),
    m('sql.deadlocks', 'counter', 'Transaction attempts the server failed to break a deadlock (SQLSTATE 40P01).'),
    m('sql.pool.size', 'gauge', 'Connections a pool holds open '
      + '(tag `db`: the service name, or HOST:PORT/DB of a URL).'),
    m('sql.pool.idle', 'gauge', 'Connections of a pool not in use.'),
    m('sql.pool.waiting', 'gauge', 'Steps and transactions waiting for a connection of a pool.'),
    m('sql.plan.cost', 'gauge', 'An explained step (`explain:`): the planner\'s total cost of its statement.'),
    m('sql.plan.index', 'gauge', 'An explained step: 1 when its plan uses an index, 0 when it does not.'),
    m('sql.plan.time', 'trend', 'A step explained with `analyze`: the statement\'s execution time in the server.'),
  ],
  compile(settings, at) {
    const request = compileSqlQuery(settings as SqlQuery, at);
    return bindStep(request.query.replace(/\s+/g, ' ').trim().slice(0, 60), request, sqlExecutor);
  },
  summary: async () => (await import('./summary.js')).summary,
  sections: async () => (await import('./summary.js')).sections,
} satisfies StepKind;
