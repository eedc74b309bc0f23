// `perfy run` end to end against real servers on port 0: counts, rates, error classes, corrected latency,
// exit codes for failed and aborting thresholds, and Ctrl-C keeping what was measured.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeFromSnapshot } from '../../engine/metrics/store.js';
import { readResult } from '../../engine/report/files.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { jmeterMissing, perfyAsync, readResultDir, startServer, tempDir, total } from '../helpers.js';

function scenario(body: string): string {
  return `name: test\n${body.trim()}\n`;
}

/** Shipped GitHub scenarios whose thresholds must still hold with the mock's windows ten times faster. */
const SCALED_GITHUB = new Set(['github_exhaustion.yaml', 'github_recovery.yaml']);

describe('the shipped scenarios', () => {
  // endurance.yaml lasts 33 minutes (100 s even 20 times faster): monitor.test.ts runs it 120 times faster, with
  // the sampling interval its scaled leak window needs.
  const files = readdirSync(join(PACKAGE_ROOT, 'scenarios'))
    .filter((f) => f.endsWith('.yaml') && f !== 'endurance.yaml');
  for (const file of files) {
    // The GitHub mock's windows pass as fast as the run's clock, but its headers say whole seconds: the
    // scenarios built on its windows are sized for --time-scale 10 (50 s as written, 5 s here); the other
    // GitHub scenarios and a JMeter plan (which runs at its own pace) run as written, each in 5–10 s.
    const scale = SCALED_GITHUB.has(file) ? 10 : file.startsWith('github_') || file.startsWith('jmeter_') ? 1 : 20;
    it(`${file} runs (${scale === 1 ? 'at its own pace' : `${scale} times faster`}) and passes ` +
        `its thresholds`, async (t) => {
      // A JMeter plan needs Apache JMeter: skipped (with the reason) only where CI does not require every part.
      if (file.startsWith('jmeter_')) {
        const missing = await jmeterMissing();
        if (missing !== undefined) return t.skip(`no JMeter: ${missing}`);
      }
      const out = tempDir();
      after(out.cleanup);
      const run = await perfyAsync([
        'run',
        `scenarios/${file}`,
        ...(scale === 1 ? [] : ['--time-scale', String(scale)]),
        '--quiet',
        '--out',
        out.dir,
      ]);
      assert.equal(run.status, 0, run.stderr + run.stdout);
      const result = readResultDir(out.dir);
      assert.equal(result.status, 'completed');
      assert.deepEqual(result.overrides, scale === 1 ? [] : [`--time-scale ${scale}`]);
      assert.ok(total(result, 'iterations') > 0);
    });
  }
});

describe('perfy run', { concurrency: false }, () => {
  let requests = 0;
  let stallEvery = 0;
  const server = { url: '', close: async () => {} };
  before(async () => {
    const s = await startServer((req, res) => {
      requests++;
      const path = req.url ?? '/';
      if (path.startsWith('/fail')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      } else if (path.startsWith('/notfound')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such thing"}');
      } else if (path.startsWith('/reset')) {
        req.socket.destroy();
      } else if (path.startsWith('/hang')) {
        // never answers
      } else if (stallEvery > 0 && requests % stallEvery === 0) {
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), 400);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
    });
    Object.assign(server, s);
  });
  after(() => server.close());

  it("counts exactly the requests the server received, and exits 0 when thresholds pass", async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 100/s, duration: 3s } ]
flow:
  - name: home
    http: { get: /ok }
    expect: "status == 200"
thresholds: [ "rate(http.errors) < 1%", "p95(http.duration) < 1s" ]
`) });
    after(t.cleanup);
    requests = 0;
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'completed');
    assert.equal(total(result, 'http.reqs'), requests, 'perfy counted what the server received');
    assert.equal(total(result, 'http.reqs'), 300);
    assert.match(run.stdout, /✓ rate\(http\.errors\) < 1%/);
  });

  it('writes every `report:` entry that names a file, and `json` into perfy-results/ without --out', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 20/s, duration: 1s } ]
flow: [ { name: home, http: { get: /ok } } ]
report: [ json, { format: json, path: saved/run.json }, { format: console, path: saved/summary.txt } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet'], { cwd: t.dir });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const saved = readResult(t.path('saved/run.json'));
    assert.equal(total(saved, 'http.reqs'), 20);
    assert.deepEqual(
      readResult(t.path('perfy-results/result.json')),
      saved,
      'the default json report is the same result',
    );
    const summary = readFileSync(t.path('saved/summary.txt'), 'utf8');
    assert.match(summary, /step\.duration\{step: home\} +20 /);
    assert.doesNotMatch(summary, /\x1b\[/, 'no colour codes in a file');
    // Each file named at the end, by what it is.
    for (const line of ['result: perfy-results/result.json', 'result: saved/run.json', 'summary: saved/summary.txt'])
      assert.match(run.stdout, new RegExp(`^${line}$`, 'm'));
  });

  it('starts an open-model 1,000/s for 10 s within 1% of 10,000 iterations', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 1000/s, duration: 10s } ]
flow: [ { http: { get: /ok } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const result = readResultDir(t.path('out'));
    const started = total(result, 'iterations') + total(result, 'iterations.interrupted');
    assert.ok(Math.abs(started - 10_000) <= 100, `started ${started}`);
    assert.equal(total(result, 'iterations.dropped'), 0);
  });

  it('classifies a refused connection, a reset, a timeout and a 500', async () => {
    const closed = await startServer(() => {});
    const refusedUrl = closed.url;
    await closed.close();
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { burst: { iterations: 1 } } ]
flow:
  - { name: refused, http: { get: "${refusedUrl}/x" } }
  - { name: reset, http: { get: /reset } }
  - { name: timeout, http: { get: /hang }, timeout: 300ms }
  - { name: failed, http: { get: /fail } }
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const result = readResultDir(t.path('out'));
    const statusOf = (step: string, name = 'http.reqs'): string[] =>
      result.metrics.metrics.filter((m) => m.name === name && m.tags['step'] === step).map((m) => m.tags['status']!);
    assert.deepEqual(statusOf('refused'), [], 'a refused request was never sent');
    assert.deepEqual(statusOf('refused', 'http.unsent'), ['refused']);
    assert.deepEqual(statusOf('reset'), ['reset']);
    assert.deepEqual(statusOf('timeout'), ['timeout']);
    assert.deepEqual(statusOf('failed'), ['500']);
    assert.equal(total(result, 'step.errors'), 4);
    // The first message of each step and code is kept beside the counts.
    const samples = (result.metrics.samples ?? []).map((x) => [x.kind, x.tags['step'], x.tags['code']]);
    assert.deepEqual(samples.sort(), [
      ['error', 'failed', '500'],
      ['error', 'refused', 'refused'],
      ['error', 'reset', 'reset'],
      ['error', 'timeout', 'timeout'],
    ]);
  });

  it('lets an expect on the status accept an error status: the step passes, http.errors still counts it', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { burst: { iterations: 3 } } ]
flow:
  - { name: gone, http: { get: /notfound }, expect: "status == 404" }
  - { name: plain, http: { get: /notfound } }
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const result = readResultDir(t.path('out'));
    assert.equal(total(result, 'step.errors', { step: 'gone' }), 0);
    assert.equal(total(result, 'step.errors', { step: 'plain' }), 3);
    assert.equal(total(result, 'http.errors', { step: 'gone' }), 3);
    assert.deepEqual(
      (result.metrics.samples ?? []).map((x) => [x.tags['step'], x.tags['code']]),
      [['plain', '404']],
      'a status the expects accept is not an error',
    );
  });

  it('exits 1 when a threshold fails, naming it in the summary', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 20/s, duration: 1s } ]
flow: [ { http: { get: /fail } } ]
thresholds: [ "rate(http.errors) < 1%" ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet']);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /✗ rate\(http\.errors\) < 1%/);
  });

  it('stops early with exit 3 when an abort threshold fails, keeping the result', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 50/s, duration: 60s } ]
flow: [ { http: { get: /fail } } ]
thresholds: [ { expr: "rate(http.errors) < 1%", abort: true, after: 1s } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(run.status, 3, run.stderr);
    assert.ok(run.ms < 15_000, `took ${run.ms} ms`);
    assert.match(run.stderr, /E_ABORTED/);
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'aborted');
    assert.equal(result.thresholds[0]!.aborted, true);
    assert.ok(total(result, 'http.reqs') > 0);
  });

  it('writes the partial result and exits 3 within 5 s of Ctrl-C', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
load: [ { rate: 50/s, duration: 60s } ]
flow: [ { http: { get: /ok } } ]
`) });
    after(t.cleanup);
    let signalledAt = 0;
    const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet'], {
      onSpawn: (child) => setTimeout(() => {
        signalledAt = Date.now();
        child.kill('SIGINT');
      }, 3000),
    });
    const stoppedIn = Date.now() - signalledAt;
    assert.equal(run.status, 3, run.stderr);
    assert.ok(stoppedIn < 5000, `stopped ${stoppedIn} ms after SIGINT`);
    assert.ok(existsSync(t.path('out/result.json')));
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'interrupted');
    assert.ok(
      total(result, 'http.reqs') > 0,
      'requests before the signal are kept (how many depends on how fast perfy started on a busy machine)',
    );
  });

  it('shows a stalling server in the corrected latency when requests queue for a connection', async () => {
    const t = tempDir({ 's.yaml': scenario(`
target: ${server.url}
defaults: { connections: 1 }
load: [ { rate: 100/s, duration: 4s } ]
flow: [ { http: { get: /ok } } ]
`) });
    after(t.cleanup);
    stallEvery = 50;
    requests = 0;
    try {
      const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
      assert.equal(run.status, 0, run.stderr);
      const source = storeFromSnapshot(readResultDir(t.path('out')).metrics);
      const p90 = (metric: string): number =>
        source.aggregate({ fn: 'percentile', percentile: 90, metric, tags: {} }) ?? NaN;
      // Every 50th request stalls 400 ms; with one connection the requests behind it wait in the queue.
      assert.ok(p90('http.duration') < 100, `uncorrected p90 ${p90('http.duration')} ms`);
      assert.ok(p90('http.duration_corrected') > 100, `corrected p90 ${p90('http.duration_corrected')} ms`);
    } finally {
      stallEvery = 0;
    }
  });
});
