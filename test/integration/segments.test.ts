// Splitting one run into segments (perfy run --segment i/N) and merging their results (perfy merge) gives what
// one process would have produced: exact counts, the planned iterations, and thresholds judged on the whole
// (a `for` window from the segments' own verdicts); a segment given twice or missing is refused.

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
thresholds: [ "count(http.reqs) >= 380", "rate(http.errors) < 1%", "p95(http.duration) < 1s for 500ms" ]
` });
    after(t.cleanup);
    requests = 0;
    const [a, b] = await Promise.all(
      [0, 1].map((i) =>
        perfyAsync(['run', t.path('s.yaml'), '--segment', `${i}/2`, '--quiet', '--out', t.path(`seg${i}`)]),
      ),
    );
    // Each half fails the whole-run count threshold on its own: that is why the merge judges again.
    assert.equal(a!.status, 1, a!.stderr);
    assert.equal(b!.status, 1, b!.stderr);
    const halves = [readResultDir(t.path('seg0')), readResultDir(t.path('seg1'))];
    assert.deepEqual(halves.map((r) => r.overrides), [['--segment 0/2'], ['--segment 1/2']]);

    const merge = await perfyAsync([
      'merge',
      t.path('seg0/result.json'),
      t.path('seg1/result.json'),
      '--scenario',
      t.path('s.yaml'),
      '--out',
      t.path('merged'),
    ]);
    assert.equal(merge.status, 0, merge.stderr + merge.stdout);
    const merged = readResultDir(t.path('merged'));
    assert.equal(total(merged, 'http.reqs'), requests, 'merged count equals what the server received');
    assert.equal(total(merged, 'http.reqs'), total(halves[0]!, 'http.reqs') + total(halves[1]!, 'http.reqs'));
    assert.equal(
      merged.workloads[0]!.plannedIterations,
      halves[0]!.workloads[0]!.plannedIterations! + halves[1]!.workloads[0]!.plannedIterations!,
    );
    assert.ok(
      merged.thresholds.every((o) => o.passed && o.judged),
      JSON.stringify(merged.thresholds),
    );
    assert.deepEqual(merged.overrides, []);
    assert.deepEqual(merged.merged, { results: 2, segments: true });
    assert.deepEqual(halves.map((r) => r.segment), [{ index: 0, count: 2 }, { index: 1, count: 2 }]);

    // The same segment twice would double every count; one alone leaves half the load out.
    for (const files of [['seg0', 'seg0'], ['seg1']]) {
      const given = files.map((f) => t.path(`${f}/result.json`));
      const wrong = await perfyAsync(['merge', ...given, '--scenario', t.path('s.yaml')]);
      assert.equal(wrong.status, 2, wrong.stderr + wrong.stdout);
      assert.match(wrong.stderr, /E_MERGE_SEGMENTS/);
    }
  });

  it('refuses a malformed segment with E_USAGE', async () => {
    const run = await perfyAsync(['run', 'scenarios/spike.yaml', '--segment', '2/2']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /E_USAGE/);
  });
});
