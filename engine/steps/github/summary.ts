// The `github` kind's line in the end-of-run summary: what the client met of the rate limits; its report section
// has the requests by step and status, the limits met and the waits, and what the last answers said was left.

import { groupBy } from '../../report/html-groups.js';
import type { StepSections, StepSummary } from '../types.js';

export const summary: StepSummary = ({ metrics, sum, style: s }) => {
  if (!metrics.some((m) => m.name === 'github.requests')) return [];
  const waits = metrics.filter((m) => m.name === 'github.wait');
  const waited = waits.reduce((total, m) => total + m.sum, 0);
  const limited = `rate-limited: ${s.count(sum('github.rate_limited', { kind: 'primary' }))} primary, `
    + `${s.count(sum('github.rate_limited', { kind: 'secondary' }))} secondary`;
  const wait = `waited ${s.ms(waited)} in all, ${s.ms(Math.max(0, ...waits.map((m) => m.max)))} at most`;
  return ['', `  ${s.bold('github')}  ${s.count(sum('github.requests'))} requests · ${limited} · ${wait}`];
};

/** The `github` kind's section of the HTML and Markdown reports. */
export const sections: StepSections = ({ metrics, style: s }) => {
  const requests = groupBy(metrics, 'github.requests', ['step', 'status']);
  if (requests.length === 0) return [];
  const steps = [...new Set(requests.map((r) => r.keys[0]!))];
  const limited = groupBy(metrics, 'github.rate_limited', ['step', 'kind']);
  const waits = groupBy(metrics, 'github.wait', ['step']);
  const remaining = groupBy(metrics, 'github.remaining', ['resource']);
  const limitedOf = (step: string, kind: string): string =>
    s.count(limited.find((l) => l.keys[0] === step && l.keys[1] === kind)?.sum ?? 0);
  return [{
    title: 'GitHub',
    tables: [
      {
        caption: 'Requests by step and status (retries after a rate limit included)',
        columns: ['step', 'status', 'requests'],
        rows: requests.map((r) => [...r.keys, s.count(r.sum)]),
      },
      {
        caption: 'Rate limits met and time spent waiting for them',
        columns: ['step', 'primary', 'secondary', 'waits', 'waited in all', 'longest wait'],
        rows: steps.map((step) => {
          const wait = waits.find((w) => w.keys[0] === step);
          return [step, limitedOf(step, 'primary'), limitedOf(step, 'secondary'),
            s.count(wait?.count ?? 0), s.ms(wait?.sum ?? 0), s.ms(wait?.max ?? 0)];
        }),
      },
      ...(remaining.length ? [{
        caption: 'Requests left in the window (x-ratelimit-remaining)',
        columns: ['resource', 'fewest left'],
        rows: remaining.map((r) => [r.keys[0]!, s.count(r.min)]),
      }] : []),
    ],
  }];
};
