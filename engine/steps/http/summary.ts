// The `http` kind's lines in the end-of-run summary: failed requests by status or error class, sent or not
// (http.errors' view); then what was not sent or sent again, when anything was: the difference between
// perfy's count and the server's. Its report section has the same as tables.

import { groupBy, groupOf, type Group } from '../../report/html-groups.js';
import { size } from '../../report/format.js';
import type { ReportTable, StepSections, StepSummary } from '../types.js';

export const summary: StepSummary = ({ metrics, sum, style: s }) => {
  const byStatus = (name: string): Map<string, number> => {
    const classes = new Map<string, number>();
    for (const m of metrics.filter((x) => x.name === name && x.sum > 0)) {
      const status = m.tags['status'] ?? '';
      if (!/^[23]\d\d$/.test(status)) classes.set(status, (classes.get(status) ?? 0) + m.sum);
    }
    return classes;
  };
  const listed = (classes: Map<string, number>): string =>
    [...classes].map(([k, v]) => `${k}: ${s.count(v)}`).join(' · ');
  const lines: string[] = [];
  const unsent = byStatus('http.unsent');
  const errorClasses = byStatus('http.reqs');
  for (const [k, v] of unsent) errorClasses.set(k, (errorClasses.get(k) ?? 0) + v);
  if (errorClasses.size) lines.push('', `  ${s.bold('errors')}  ${listed(errorClasses)}`);
  const retried = sum('http.retries');
  if (unsent.size || retried > 0) {
    const parts = [`${s.count(sum('http.reqs'))} sent`];
    if (unsent.size) parts.push(`${s.count(sum('http.unsent'))} never sent (${listed(unsent)})`);
    if (retried > 0) {
      const how = listed(byStatus('http.retries'));
      parts.push(`${s.count(retried)} sent again after their kept-alive connection closed (${how})`);
    }
    lines.push(`  ${s.bold('http')}  ${parts.join(' · ')}`);
  }
  return lines;
};

/**
 * The `http` kind's section of the HTML and Markdown reports: requests by step, method and status (sent or never
 * sent), failures among them, the bytes each way, and what was sent again.
 */
export const sections: StepSections = ({ metrics, style: s }) => {
  const by = ['step', 'method', 'status'];
  const sent = groupBy(metrics, 'http.reqs', by);
  const unsent = groupBy(metrics, 'http.unsent', by);
  if (sent.length === 0 && unsent.length === 0) return [];
  const failed = groupBy(metrics, 'http.errors', by);
  const bytesIn = groupBy(metrics, 'http.bytes_in', by);
  const bytesOut = groupBy(metrics, 'http.bytes_out', by);
  const retried = groupBy(metrics, 'http.retries', ['step', 'status']);
  const bytes = (groups: Group[], keys: string[]): string => size(groupOf(groups, ...keys)?.sum ?? 0);
  const requests: ReportTable = {
    caption: 'Requests by step and status (an error class for a request that got no answer)',
    columns: ['step', 'method', 'status', 'sent', 'never sent', 'failed', 'received', 'sent bytes'],
    rows: [...sent, ...unsent.filter((u) => groupOf(sent, ...u.keys) === undefined)].map(({ keys }) => [
      ...keys,
      s.count(groupOf(sent, ...keys)?.sum ?? 0),
      s.count(groupOf(unsent, ...keys)?.sum ?? 0),
      s.count(groupOf(failed, ...keys)?.sum ?? 0),
      bytes(bytesIn, keys),
      bytes(bytesOut, keys),
    ]),
  };
  const tables = [requests];
  if (retried.some((r) => r.sum > 0)) {
    tables.push({
      caption: 'Sent again after their kept-alive connection closed',
      columns: ['step', 'how it closed', 'sent again'],
      rows: retried.filter((r) => r.sum > 0).map((r) => [...r.keys, s.count(r.sum)]),
    });
  }
  return [{ title: 'HTTP', tables }];
};
