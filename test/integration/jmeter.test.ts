// JMeter plans in scenarios, with real Apache JMeter: the samples perfy counts are the rows of JMeter's results
// file, failed samples are errors, thresholds on jmeter.duration pass and fail as they should, the summary
// shows the plan's labels beside the native steps, and a plan that does not load is a clear failure of its step.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JtlReader, type JtlSample } from '../../engine/steps/jmeter/jtl.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { jmeterMissing, perfyAsync, readResultDir, startServer, tempDir, total } from '../helpers.js';

const PLAN = join(PACKAGE_ROOT, 'fixtures', 'jmeter', 'two-requests.jmx');

/** Every sample of a results file, read with perfy's own reader. */
function samplesOf(path: string): JtlSample[] {
  const samples: JtlSample[] = [];
  const reader = new JtlReader((s) => samples.push(s));
  reader.push(readFileSync(path, 'utf8'));
  assert.equal(reader.end().truncated, undefined);
  return samples;
}

describe('JMeter plans in scenarios', () => {
  let available = true;
  before(async () => {
    available = (await jmeterMissing()) === undefined;
  });

  it("jmeter_plan: perfy counts the results file's rows, its failed rows as errors; labels beside " +
      "native steps", async (t) => {
    if (!available) return t.skip('no JMeter');
    const out = tempDir();
    after(out.cleanup);
    const run = await perfyAsync(['run', 'scenarios/jmeter_plan.yaml', '--out', out.dir]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const result = readResultDir(out.dir);
    const rows = samplesOf(join(out.dir, 'jmeter', 'demo-api-plan', 'run-1', 'results.jtl'));
    assert.equal(rows.length, 200);
    assert.equal(total(result, 'jmeter.samples'), rows.length);
    const failedRows = rows.filter((r) => !r.success);
    assert.equal(failedRows.length, 100, 'the 404s');
    const errorHits = result.metrics.metrics.filter((m) => m.name === 'jmeter.errors').reduce((s, m) => s + m.sum, 0);
    assert.equal(errorHits, failedRows.length);
    assert.equal(total(result, 'jmeter.samples', { label: 'missing debate', code: '404' }), 100);
    // The summary: the plan's labels in the same table as the native step.
    assert.match(run.stdout, /step\.duration\{step: list debates\} +100 /);
    assert.match(run.stdout, /jmeter\.duration\{label: list debates\} +100 /);
    assert.match(run.stdout, /jmeter\.duration\{label: missing debate\} +100 /);
    assert.match(run.stdout, /jmeter {2}200 samples · failed missing debate: 404 × 100/);
  });

  it('thresholds on jmeter.duration fail as they should; a failed assertion of the plan is a ' +
      'failed check', async (t) => {
    if (!available) return t.skip('no JMeter');
    let requests = 0;
    const server = await startServer((req, res) => {
      requests++;
      // /hello answers after 60 ms, without the text the plan's assertion looks for.
      if (req.url === '/hello') setTimeout(() => res.end('bye'), 60);
      else res.writeHead(404).end();
    });
    after(() => server.close());
    const dir = tempDir({
      's.yaml': `name: jmeter_thresholds
load: [ { burst: { iterations: 1 } } ]
flow:
  - name: plan
    jmeter: { plan: ${JSON.stringify(PLAN)}, properties: { host: 127.0.0.1, port: ${server.port}, users: 2, loops: 3 } }
thresholds:
  - "p95(jmeter.duration{label: hello}) < 20ms"
  - "p95(jmeter.duration{label: hello}) > 50ms"
  - "count(jmeter.samples) == 12"
`,
    });
    after(dir.cleanup);
    const run = await perfyAsync(['run', dir.path('s.yaml'), '--out', dir.path('out')]);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const result = readResultDir(dir.path('out'));
    assert.deepEqual(result.thresholds.map((o) => o.passed), [false, true, true]);
    assert.equal(requests, 12);
    assert.match(
      run.stdout,
      /✗ p95\(jmeter\.duration\{label: hello\}\) < 20ms {2}\(p95\(jmeter\.duration\{label: hello\}\) = \d+(\.\d)?ms\)/,
    );
    // The assertion ("says hello") failed on every /hello sample: six failed checks, with JMeter's message kept.
    assert.equal(total(result, 'checks', { check: 'jmeter: hello' }), 0);
    const checks = result.metrics.metrics.find((m) => m.name === 'checks' && m.tags['check'] === 'jmeter: hello');
    assert.equal(checks?.count, 6);
  });

  it('a plan that does not load fails its step with JMeter\'s own words; the run goes on', async (t) => {
    if (!available) return t.skip('no JMeter');
    const dir = tempDir({
      'broken.jmx': '<jmeterTestPlan version="1.2"><hashTree><NoSuchElement/></hashTree>',
      's.yaml': `name: jmeter_broken
load: [ { burst: { iterations: 1 } } ]
flow:
  - name: broken plan
    jmeter: { plan: broken.jmx }
`,
    });
    after(dir.cleanup);
    const run = await perfyAsync(['run', dir.path('s.yaml'), '--out', dir.path('out')]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const result = readResultDir(dir.path('out'));
    assert.equal(total(result, 'step.errors', { step: 'broken plan' }), 1);
    const sample = (result.metrics.samples ?? []).find((x) => x.kind === 'error');
    assert.equal(sample?.tags['step'], 'broken plan');
    assert.match(sample?.message ?? '', /jmeter\.log/);
    assert.match(run.stdout, /first errors\n {4}broken plan \(jmeter\): /);
  });
});
