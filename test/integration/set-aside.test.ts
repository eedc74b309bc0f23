// What `p95(http.duration)` and the summary mean, run end to end: latencies of unexpected responses (refused
// connections, error statuses the expects do not judge) and a workload's warm-up are kept apart and left out of
// thresholds and the summary unless a filter asks for them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeFromSnapshot } from '../../engine/metrics/store.js';
import { perfyAsync, readResultDir, startServer, tempDir, total } from '../helpers.js';

describe('latencies of unexpected responses', () => {
  const server = { url: '', close: async () => {} };
  before(async () => {
    Object.assign(server, await startServer((req, res) => {
      if (req.url?.startsWith('/missing')) res.writeHead(404).end('no');
      else if (req.url?.startsWith('/fail')) res.writeHead(503).end('down');
      else res.writeHead(200).end('ok');
    }));
  });
  after(() => server.close());

  it('a target that refuses every connection fails a latency threshold (no samples) instead ' +
      'of passing it', async () => {
    const t = tempDir({
      's.yaml':
        'name: down\ntarget: http://127.0.0.1:9\nload: [ { rate: 20/s, duration: 1s } ]\n' +
        'flow: [ { http: { get: / } } ]\n' +
        'thresholds: [ "p95(http.duration) < 50ms", "count(http.duration{expected: false}) == 20" ]\n',
    });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 1, run.stderr + run.stdout);
    const result = readResultDir(t.path('out'));
    assert.deepEqual(
      result.thresholds.map((x) => [x.source, x.passed]),
      [
        ['p95(http.duration) < 50ms', false],
        ['count(http.duration{expected: false}) == 20', true],
      ],
    );
    assert.equal(result.thresholds[0]!.values[0]!.value, null);
    assert.equal(
      total(result, 'http.unsent', { status: 'refused' }),
      20,
      'counts still cover every request: none was sent',
    );
    assert.equal(total(result, 'http.reqs'), 0);
    assert.match(run.stdout, /^ {2}http\.duration\{expected: false\} +20 /m);
    assert.doesNotMatch(run.stdout, /^ {2}http\.duration +\d/m, 'no row of expected latencies: there were none');
  });

  it('error statuses are unexpected unless the step\'s expects judge the status', async () => {
    const t = tempDir({ 's.yaml': `name: mixed\ntarget: ${server.url}\nload: [ { rate: 30/s, duration: 1s } ]\nflow:
  - { name: ok, http: { get: /ok } }
  - { name: gone, http: { get: /missing }, expect: "status == 404" }
  - { name: broken, http: { get: /fail } }
thresholds:
  - "count(http.duration) == 60"
  - "count(http.duration{step: broken, expected: false}) == 30"
  - "count(http.duration{status: \\"503\\"}) == 30"
  - "count(http.duration_corrected) == 60"
` });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const result = readResultDir(t.path('out'));
    assert.equal(total(result, 'http.reqs'), 90);
    const source = storeFromSnapshot(result.metrics, { elapsedMs: 1000 });
    assert.equal(source.aggregate({ fn: 'count', metric: 'http.duration', tags: { step: 'broken' } }), undefined);
    assert.equal(source.aggregate({ fn: 'count', metric: 'http.duration', tags: { step: 'gone' } }), 30);
  });
});

describe('warmup:', () => {
  it('keeps the warm-up apart: slow first requests do not fail the thresholds, and throughput is ' +
      'over the rest', async () => {
    // Cold for its first 800 ms: every request then takes 150 ms (a cache filling, a JIT warming up).
    let firstAt: number | undefined;
    const server = await startServer((_req, res) => {
      firstAt ??= Date.now();
      if (Date.now() - firstAt < 800) setTimeout(() => res.writeHead(200).end('cold'), 150);
      else res.writeHead(200).end('warm');
    });
    after(() => server.close());
    const t = tempDir({ 's.yaml': `name: warm\ntarget: ${server.url}\nwarmup: 1s\nload: [ { rate: 40/s, duration: 3s } ]
flow: [ { name: get, http: { get: /x } } ]
thresholds:
  - "p95(http.duration) < 100ms"
  - "p50(http.duration{phase: warmup}) > 100ms"
  - "count(http.reqs) == 80"
  - "count(http.reqs{phase: warmup}) == 40"
  - "count(iterations{phase: warmup}) == 40"
  - "throughput(http.reqs) > 30/s"
` });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const result = readResultDir(t.path('out'));
    assert.equal(result.workloads[0]!.warmupMs, 1000);
    assert.equal(total(result, 'http.reqs'), 120, 'the result keeps every sample, the warm-up tagged');
    assert.match(run.stdout, /120 completed/);
    assert.match(run.stdout, /warm-up 1s: 40 of them/);
    assert.match(run.stdout, /^ {2}step\.duration\{step: get\} +80 /m, 'the table shows the measured part');
  });

  it('a warm-up as long as the load is refused, at its position', async () => {
    const t = tempDir({
      'long.yaml': 'name: long\ntarget: http://127.0.0.1:9\nwarmup: 5s\nload: [ { rate: 1/s, duration: 5s } ]\nflow: [ { http: { get: / } } ]\n',
    });
    after(t.cleanup);
    const run = await perfyAsync(['validate', t.path('long.yaml')]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /:3:9 {2}E_RANGE /);
  });
});

describe('captures that find nothing', () => {
  it('are counted by step and capture and shown in the summary; `required: true` fails the step', async () => {
    const server = await startServer((req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ items: n % 2 === 0 ? [{ id: n }] : [] }));
    });
    after(() => server.close());
    const t = tempDir({ 's.yaml': `name: captures\ntarget: ${server.url}\nload: [ { burst: { iterations: 10 } } ]
flow:
  - name: list
    http: { get: "/items?n={{iteration}}{{vu}}" }
    capture: { item: "json.items[0].id" }
  - name: strict
    http: { get: "/items?n={{vu}}" }
    capture: { id: { expr: "json.items[0].id", required: true } }
thresholds:
  - "count(captures.missing{step: list}) == 5"
  - "count(captures.missing{capture: id}) == 5"
  - "rate(step.errors{step: list}) == 0%"
  - "rate(step.errors{step: strict}) == 50%"
` });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /captures missing {2}.*list: item × 5/);
    assert.match(run.stdout, /captures missing {2}.*strict: id × 5/);
    assert.match(run.stdout, /strict \(capture\): capture "id" found nothing: json\.items\[0\]\.id/);
  });
});
