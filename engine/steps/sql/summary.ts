// The `sql` kind's lines in the end-of-run summary: failures by step and SQLSTATE, how full the pools got, and
// the query plans of explained steps; its report section has the same as tables, with statements and transactions.

import { groupBy } from '../../report/html-groups.js';
import type { ResultSample } from '../../metrics/types.js';
import type { ReportTable, StepSections, StepSummary } from '../types.js';

export const summary: StepSummary = ({ metrics, samples, style: s }) => {
  const lines: string[] = [];
  // Failures by step and SQLSTATE (or connection error class): which statement failed, and how.
  const sqlErrors = new Map<string, number>();
  for (const m of metrics.filter((x) => x.name === 'sql.queries' && x.tags['status'] !== 'ok')) {
    const key = `${m.tags['step'] ?? '?'}: ${m.tags['status'] ?? '?'}`;
    sqlErrors.set(key, (sqlErrors.get(key) ?? 0) + m.sum);
  }
  if (sqlErrors.size) {
    lines.push('', `  ${s.bold('sql errors')}  ${[...sqlErrors].map(([k, v]) => `${k} × ${s.count(v)}`).join(' · ')}`);
  }

  // Connection pools: how full they got, and how many waited for a connection at most.
  const pools = [...new Set(metrics.filter((m) => m.name === 'sql.pool.size').map((m) => m.tags['db'] ?? '?'))];
  if (pools.length) {
    const peak = (name: string, db: string): number =>
      Math.max(0, ...metrics.filter((m) => m.name === name && m.tags['db'] === db).map((m) => m.max));
    const each = pools.map((db) => `${db}: ${s.count(peak('sql.pool.size', db))} connections at most, `
      + `${s.count(peak('sql.pool.waiting', db))} waiting at most`);
    lines.push('', `  ${s.bold('sql pools')}  ${each.join(' · ')}`);
  }

  // Query plans of explained SQL steps: the index-use check at a glance.
  const plans = samples.filter((x) => x.kind === 'plan');
  if (plans.length) {
    lines.push('', `  ${s.bold('query plans')}`);
    for (const p of plans) {
      const scan = scanOf(p);
      const mark = scan === 'no plan' ? s.red(scan) : scan === 'index' ? s.green(scan)
        : scan === 'seq scan' ? s.yellow(scan) : s.dim(scan);
      lines.push(`    ${p.tags['step'] ?? '?'}: ${mark}  ${s.dim(s.line(p.message))}`);
    }
  }
  return lines;
};

/** What an explained statement's plan reads: an index, a sequential scan, neither, or no plan at all. */
function scanOf(plan: ResultSample): 'index' | 'seq scan' | 'no scan' | 'no plan' {
  const indexes = plan.detail?.['indexes'];
  const seqScans = plan.detail?.['seq_scans'];
  if (!Array.isArray(indexes)) return 'no plan';
  if (indexes.length) return 'index';
  return Array.isArray(seqScans) && seqScans.length ? 'seq scan' : 'no scan';
}

const listOf = (value: unknown): string => (Array.isArray(value) ? value.map(String).join(', ') : '');

/** The `sql` kind's section of the HTML and Markdown reports. */
export const sections: StepSections = ({ metrics, samples, style: s }) => {
  const statements = groupBy(metrics, 'sql.queries', ['step']);
  if (statements.length === 0 && !metrics.some((m) => m.name === 'sql.pool.size')) return [];
  const tables: ReportTable[] = [];
  const failed = groupBy(metrics, 'sql.queries', ['step'], (tags) => tags['status'] !== 'ok');
  const rows = groupBy(metrics, 'sql.rows', ['step']);
  const times = groupBy(metrics, 'sql.duration', ['step']);
  const poolWaits = groupBy(metrics, 'sql.pool_wait', ['step']);
  const of = (groups: typeof rows, step: string): number => groups.find((g) => g.keys[0] === step)?.sum ?? 0;
  if (statements.length) {
    tables.push({
      caption: 'Statements by step',
      columns: ['step', 'statements', 'failed', 'rows', 'avg time', 'max time', 'longest wait for a connection'],
      rows: statements.map(({ keys: [step = '?'], sum }) => {
        const time = times.find((t) => t.keys[0] === step);
        return [step, s.count(sum), s.count(of(failed, step)), s.count(of(rows, step)),
          s.ms(time && time.count > 0 ? time.sum / time.count : undefined), s.ms(time?.max),
          s.ms(poolWaits.find((w) => w.keys[0] === step)?.max)];
      }),
    });
  }
  const errors = groupBy(metrics, 'sql.queries', ['step', 'status'], (tags) => tags['status'] !== 'ok');
  if (errors.some((e) => e.sum > 0)) {
    tables.push({
      caption: 'Failures by step and SQLSTATE (or connection error class)',
      columns: ['step', 'SQLSTATE or class', 'failed'],
      rows: errors.filter((e) => e.sum > 0).map((e) => [...e.keys, s.count(e.sum)]),
    });
  }
  const transactions = groupBy(metrics, 'sql.transactions', ['transaction', 'status']);
  if (transactions.length) {
    const retries = groupBy(metrics, 'sql.retries', ['transaction']);
    const deadlocks = groupBy(metrics, 'sql.deadlocks', ['transaction']);
    const steps = [...new Set(transactions.map((t) => t.keys[0]!))];
    const ended = (step: string, status: string): number =>
      transactions.find((t) => t.keys[0] === step && t.keys[1] === status)?.sum ?? 0;
    tables.push({
      caption: 'Transactions',
      columns: ['transaction', 'committed', 'failed', 'retried', 'deadlocks'],
      rows: steps.map((step) => [step, s.count(ended(step, 'committed')), s.count(ended(step, 'failed')),
        s.count(of(retries, step)), s.count(of(deadlocks, step))]),
    });
  }
  const pools = groupBy(metrics, 'sql.pool.size', ['db']);
  if (pools.length) {
    const waiting = groupBy(metrics, 'sql.pool.waiting', ['db']);
    tables.push({
      caption: 'Connection pools',
      columns: ['database', 'connections at most', 'waiting at most'],
      rows: pools.map(({ keys: [db = '?'], max }) => [db, s.count(max),
        s.count(waiting.find((w) => w.keys[0] === db)?.max ?? 0)]),
    });
  }
  const plans = samples.filter((x) => x.kind === 'plan');
  if (plans.length) {
    tables.push({
      caption: 'Query plans of explained steps',
      columns: ['step', 'scan', 'indexes', 'sequential scans', 'plan'],
      rows: plans.map((p) => [p.tags['step'] ?? '?', scanOf(p), listOf(p.detail?.['indexes']),
        listOf(p.detail?.['seq_scans']), s.line(p.message)]),
    });
  }
  return [{ title: 'SQL', tables }];
};
