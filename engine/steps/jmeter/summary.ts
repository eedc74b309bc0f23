// The `jmeter` kind's line in the end-of-run summary: samples, and failures by label and response code (a
// non-HTTP one as its error class).

import type { StepSummary } from '../types.js';

export const summary: StepSummary = ({ metrics, sum, style: s }) => {
  if (!metrics.some((m) => m.name === 'jmeter.samples')) return [];
  const failedCodes = new Map<string, number>();
  for (const m of metrics.filter((x) => x.name === 'jmeter.errors' && x.sum > 0)) {
    const key = `${m.tags['label'] ?? '?'}: ${m.tags['code'] ?? '?'}`;
    failedCodes.set(key, (failedCodes.get(key) ?? 0) + m.sum);
  }
  const failures = [...failedCodes].map(([k, v]) => `${k} × ${s.count(v)}`).join(' · ');
  const samples = s.count(sum('jmeter.samples'));
  return ['', `  ${s.bold('jmeter')}  ${samples} samples${failures ? ` · failed ${failures}` : ' · none failed'}`];
};
