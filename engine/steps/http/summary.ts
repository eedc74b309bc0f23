// The `http` kind's lines in the end-of-run summary: failed requests by status or error class, sent or not
// (http.errors' view); then what was not sent or sent again, when anything was: the difference between
// perfy's count and the server's.

import type { StepSummary } from '../types.js';

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
