// Splitting one run into segments (perfy run --segment i/N) and merging their results (perfy merge) gives what
// one process would have produced: exact counts, the planned iterations, and thresholds judged on the whole.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { perfyAsync, readResultDir, startServer, tempDir, total } from '../helpers.js';

describe('segments and merge', () => {
  let requests = 0;
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  after(() => server.close());

  it('two segments run half each; merged, they equal the whole run and pass the thresholds on the whole', async () => {
    const t = tempDir({ 's.yaml': `name: split
target: ${server.url}
load:
  stages: [ { rate: 200/s, duration: 2s } ]
  arrivals: poisson
flow: [ { name: get, http: { get: /x } } ]
thresholds: [ "count(http.reqs) >= 380", "rate(http.errors) < 1%" ]
` });
    after(t.cleanup);
    requests = 0;
    const [a, b] = await Promise.all([0, 1].map((i) => perfyAsync(['run', t.path('s.yaml'), '--segment', `${i}/2`, '--quiet', '--out', t.path(`seg${i}`)])));
    // Each half fails the whole-run count threshold on its own: that is why the merge judges again.
    assert.equal(a!.status, 1, a!.stderr);
    assert.equal(b!.status, 1, b!.stderr);
    const halves = [readResultDir(t.path('seg0')), readResultDir(t.path('seg1'))];
    assert.deepEqual(halves.map((r) => r.overrides), [['--segment 0/2'], ['--segment 1/2']]);

    const merge = await perfyAsync(['merge', t.path('seg0/result.json'), t.path('seg1/result.json'), '--scenario', t.path('s.yaml'), '--out', t.path('merged')]);
    assert.equal(merge.status, 0, merge.stderr + merge.stdout);
    const merged = readResultDir(t.path('merged'));
    assert.equal(total(merged, 'http.reqs'), requests, 'merged count equals what the server received');
    assert.equal(total(merged, 'http.reqs'), total(halves[0]!, 'http.reqs') + total(halves[1]!, 'http.reqs'));
    assert.equal(merged.workloads[0]!.plannedIterations, halves[0]!.workloads[0]!.plannedIterations! + halves[1]!.workloads[0]!.plannedIterations!);
    assert.ok(merged.thresholds.every((o) => o.passed));
    assert.deepEqual(merged.overrides, ['merged from 2 results']);
  });

  it('refuses a malformed segment with E_USAGE', async () => {
    const run = await perfyAsync(['run', 'scenarios/spike.yaml', '--segment', '2/2']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /E_USAGE/);
  });
});
