// The `github` kind's line in the end-of-run summary: what the client met of the rate limits.

import type { StepSummary } from '../types.js';

export const summary: StepSummary = ({ metrics, sum, style: s }) => {
  if (!metrics.some((m) => m.name === 'github.requests')) return [];
  const waits = metrics.filter((m) => m.name === 'github.wait');
  const waited = waits.reduce((total, m) => total + m.sum, 0);
  const limited = `rate-limited: ${s.count(sum('github.rate_limited', { kind: 'primary' }))} primary, `
    + `${s.count(sum('github.rate_limited', { kind: 'secondary' }))} secondary`;
  const wait = `waited ${s.ms(waited)} in all, ${s.ms(Math.max(0, ...waits.map((m) => m.max)))} at most`;
  return ['', `  ${s.bold('github')}  ${s.count(sum('github.requests'))} requests · ${limited} · ${wait}`];
};
