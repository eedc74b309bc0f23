// The `sql` kind's lines in the end-of-run summary: failures by step and SQLSTATE, how full the pools got, and
// the query plans of explained steps.

import type { StepSummary } from '../types.js';

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
      const indexes = p.detail?.['indexes'];
      const seqScans = p.detail?.['seq_scans'];
      const mark = !Array.isArray(indexes) ? s.red('no plan')
        : indexes.length ? s.green('index')
          : Array.isArray(seqScans) && seqScans.length ? s.yellow('seq scan') : s.dim('no scan');
      lines.push(`    ${p.tags['step'] ?? '?'}: ${mark}  ${s.dim(s.line(p.message))}`);
    }
  }
  return lines;
};
