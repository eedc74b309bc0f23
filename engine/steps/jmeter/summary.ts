// The `jmeter` kind's line in the end-of-run summary: samples, and failures by label and response code (a
// non-HTTP one as its error class). Its report section is a table per label.

import { groupBy } from '../../report/html-groups.js';
import type { StepSections, StepSummary } from '../types.js';

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

/** The `jmeter` kind's section of the HTML and Markdown reports: samples, failures and times per label and code. */
export const sections: StepSections = ({ metrics, style: s }) => {
  const samples = groupBy(metrics, 'jmeter.samples', ['label', 'code']);
  if (samples.length === 0) return [];
  const failed = groupBy(metrics, 'jmeter.errors', ['label', 'code']);
  const times = groupBy(metrics, 'jmeter.duration', ['label', 'code']);
  const find = (groups: typeof samples, keys: string[]) =>
    groups.find((g) => g.keys[0] === keys[0] && g.keys[1] === keys[1]);
  return [{
    title: 'JMeter',
    tables: [{
      caption: 'Samples by label and response code (an error class when there was none)',
      columns: ['label', 'code', 'samples', 'failed', 'avg elapsed', 'max elapsed'],
      rows: samples.map(({ keys, sum }) => {
        const time = find(times, keys);
        return [...keys, s.count(sum), s.count(find(failed, keys)?.sum ?? 0),
          s.ms(time && time.count > 0 ? time.sum / time.count : undefined), s.ms(time?.max)];
      }),
    }],
  }];
};
