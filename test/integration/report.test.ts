// What a run gives people afterwards, end to end: the verdict line, result.json's plain numbers (`passed`,
// `summary`, the planned stages, per-interval percentiles) and `perfy report` re-rendering a saved result.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readResult } from '../../engine/report/files.js';
import { perfyAsync, startServer, tempDir } from '../helpers.js';

describe('reports', { concurrency: false }, () => {
  const server = { url: '', close: async () => {} };
  const t = tempDir({});
  before(async () => {
    const s = await startServer((req, res) => {
      // /slow answers after 30 ms: a p95 threshold under 5ms is crossed, one under 1s is not.
      const delay = req.url?.startsWith('/slow') ? 30 : 0;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), delay);
    });
    server.url = s.url;
    server.close = s.close;
  });
  after(async () => {
    await server.close();
    t.cleanup();
  });

  const run = async (thresholds: string[]): Promise<{ stdout: string; status: number | null; dir: string }> => {
    const name = `s${Math.random().toString(36).slice(2, 8)}`;
    const file = t.path(`${name}.yaml`);
    writeFileSync(file, [
      `name: ${name}`,
      `target: ${server.url}`,
      'load: [ { ramp: { to: 40/s }, duration: 1s }, { rate: 40/s, duration: 1s } ]',
      'flow: [ { name: fast, http: { get: /ok } }, { name: slow, http: { get: /slow } } ]',
      `thresholds: [ ${thresholds.map((x) => JSON.stringify(x)).join(', ')} ]`,
    ].join('\n'));
    const out = t.path(name);
    const ran = await perfyAsync(['run', file, '--quiet', '--out', out]);
    return { stdout: ran.stdout + ran.stderr, status: ran.status, dir: out };
  };

  it('ends the summary with the verdict, and result.json carries it with plain numbers', async () => {
    const failed = await run(['p95(http.duration{step: slow}) < 5ms', 'p95(http.duration) < 1s']);
    assert.equal(failed.status, 1, failed.stdout);
    assert.match(
      failed.stdout,
      /^FAILED · 1 of 2 thresholds crossed: p95\(http\.duration\{step: slow\}\) < 5ms \(\d+(\.\d)?ms\)$/m,
    );
    const result = readResult(`${failed.dir}/result.json`);
    assert.equal(result.passed, false);
    const row = (name: string, tags: Record<string, string>) =>
      result.summary.metrics.find((m) => m.name === name && JSON.stringify(m.tags) === JSON.stringify(tags));
    const slow = row('http.duration', { step: 'slow' });
    const fast = row('http.duration', { step: 'fast' });
    const all = row('http.duration', {});
    assert.ok(slow?.p95 !== undefined && slow.p95 >= 30, JSON.stringify(slow));
    assert.ok(fast?.p50 !== undefined && fast.p50 < 30, JSON.stringify(fast));
    assert.equal(all?.count, (slow?.count ?? 0) + (fast?.count ?? 0));
    // 20 arrivals in the ramp, 40 in the hold: two requests each.
    assert.equal(row('http.reqs', {})?.count, 120);
    for (const key of ['min', 'avg', 'p90', 'p99', 'p99_9', 'max', 'perSecond'] as const) {
      assert.equal(typeof all?.[key], 'number', key);
    }
    assert.deepEqual(
      result.workloads[0]!.stages?.map(({ from, to, startMs, endMs }) => [from, to, startMs, endMs]),
      [[0, 40, 0, 1000], [40, 40, 1000, 2000]],
    );
    const series = result.metrics.metrics.find((m) => m.name === 'http.duration' && m.tags['step'] === 'slow')!;
    const entry = series.series.find((e) => e !== null) as number[];
    assert.equal(entry.length, 4, 'count, p50, p95, p99');
    assert.ok(entry[1]! >= 30 && entry[1]! <= entry[2]! && entry[2]! <= entry[3]!, JSON.stringify(entry));

    const passed = await run(['p95(http.duration) < 1s']);
    assert.equal(passed.status, 0, passed.stdout);
    assert.match(passed.stdout, /^PASSED · 1 of 1 thresholds$/m);
    assert.equal(readResult(`${passed.dir}/result.json`).passed, true);
  });

  it('a report that cannot be written is said (E_REPORT), after the result and the others: exit 3', async () => {
    const file = t.path('pdf.yaml');
    writeFileSync(file, [
      'name: pdf',
      `target: ${server.url}`,
      'load: [ { rate: 20/s, duration: 1s } ]',
      'flow: [ { name: fast, http: { get: /ok } } ]',
      'report: [ console, pdf, markdown ]',
    ].join('\n'));
    const out = t.path('pdf-out');
    // No Chromium where PERFY_CHROMIUM points: the PDF cannot be printed.
    const ran = await perfyAsync(['run', file, '--quiet', '--out', out], { env: { PERFY_CHROMIUM: t.path('none') } });
    assert.equal(ran.status, 3, ran.stdout + ran.stderr);
    assert.match(ran.stdout, /^PASSED · no thresholds$/m);
    assert.match(ran.stdout, /^result: .*pdf-out\/result\.json$/m);
    assert.match(ran.stdout, /^Markdown summary: .*pdf-out\/summary\.md$/m);
    assert.match(ran.stderr, /E_REPORT/);
    assert.match(ran.stderr, /apt-get install chromium/);
    assert.equal(readResult(`${out}/result.json`).passed, true);
    assert.match(readFileSync(`${out}/summary.md`, 'utf8'), /^## PASSED/);
  });

  it('perfy report renders a saved result again: the console summary, the JSON, an error for a format', async () => {
    const saved = await run(['p95(http.duration) < 1s']);
    const file = `${saved.dir}/result.json`;
    const summary = await perfyAsync(['report', file]);
    assert.equal(summary.status, 0, summary.stderr);
    // The same summary the run printed, from the file alone (the lines naming the written files aside).
    assert.equal(summary.stdout, saved.stdout.replace(/^result: .*\n/gm, ''));
    const copy = t.path('copy.json');
    const json = await perfyAsync(['report', file, '--format', 'json', '--out', copy]);
    assert.equal(json.status, 0, json.stderr);
    assert.match(json.stdout, /^result: /m);
    assert.deepEqual(JSON.parse(readFileSync(copy, 'utf8')), JSON.parse(readFileSync(file, 'utf8')));
    const wrong = await perfyAsync(['report', file, '--format', 'docx']);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /E_USAGE {2}--format docx is not a report format\n {4}hint: the formats: console, json/);
  });
});
