// `perfy run --baseline FILE`: the run compared with an earlier result at the end, by the scenario's
// baseline.rules, its exit code including the regression; a baseline that cannot serve is said before any load.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { perfy, perfyAsync, readResultDir, tempDir } from '../helpers.js';

const SCENARIO = `name: base_check
services:
  api: { builtin: demo-api, options: { latency: 8ms } }
target: "{{services.api.url}}"
load: [ { rate: 150/s, duration: 2s } ]
flow:
  - http: { get: /health }
    expect: [ "status == 200" ]
baseline:
  rules: [ "p95(http.duration) > +25%", "rate(http.errors) > +1pp" ]
`;

describe('perfy run --baseline', () => {
  const t = tempDir({ 'base.yaml': SCENARIO, 'other.yaml': SCENARIO.replace('base_check', 'other_check') });
  after(t.cleanup);

  it('compares at the end by baseline.rules: a run much slower exits 1, naming the rule; the same speed exits 0',
    async () => {
      // One after the other: runs side by side on two cores slow each other down, which a comparison rightly sees.
      const base = await perfyAsync(['run', t.path('base.yaml'), '--quiet', '--out', t.path('base')]);
      assert.equal(base.status, 0, base.stderr);
      const slower = await perfyAsync(['run', t.path('base.yaml'), '--quiet', '--baseline', t.path('base/result.json'),
        '--set', 'services.api.options.latency=16ms', '--out', t.path('slower')]);
      const same = await perfyAsync(['run', t.path('base.yaml'), '--quiet', '--baseline', t.path('base/result.json')]);
      assert.equal(slower.status, 1, slower.stdout + slower.stderr);
      assert.match(slower.stdout, /regressed: p95\(http.duration\) > \+25% — [\d.]+ms → [\d.]+ms \(\+\d+\.\d%\)/);
      assert.match(slower.stdout, /\nREGRESSED · p95\(http.duration\) > \+25%\n/);
      // The run itself passed: its own result says so; only the comparison failed it.
      assert.equal(readResultDir(t.path('slower')).passed, true);
      assert.equal(same.status, 0, same.stdout + same.stderr);
      assert.match(same.stdout, /\nNO REGRESSION · 2 rules held\n/);
    });

  it('refuses a baseline of another scenario, or a file that is no result, before any load (exit 2)', () => {
    const notResult = tempDir({ 'x.json': '{"hello": 1}' });
    after(notResult.cleanup);
    const wrong = perfy(['run', t.path('other.yaml'), '--baseline', notResult.path('x.json')]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /E_SCHEMA/);
    assert.doesNotMatch(wrong.stdout, /scenario other_check/);
    // The first test wrote base/ (tests of a describe run in order).
    const other = perfy(['run', t.path('other.yaml'), '--baseline', t.path('base/result.json')]);
    assert.equal(other.status, 2);
    assert.match(other.stderr, /E_COMPARE_INPUT .*scenario "base_check", not of "other_check"/);
    assert.match(other.stderr, /nothing was run/);
    assert.equal(other.stdout, '');
  });
});
