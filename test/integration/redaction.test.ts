// Secrets never reach what perfy writes: values of `${env.NAME}` and passwords written into URLs are `***` in every
// file under --out (result.json, `report:` paths, service logs), on the console, and in `perfy merge`'s result.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../../engine/metrics/result.js';
import { perfy, perfyAsync, readResultDir, startServer, tempDir } from '../helpers.js';

const TOKEN = 'tok-4f9e2c81-secret';
/** A secret that JSON escapes: redacting the serialized text would miss it or break the JSON. */
const QUOTED = 'q"u\\ote-s3cret';
const URL_PASSWORD = 'hunter2-pw';
const env = { PERFY_TEST_TOKEN: TOKEN, PERFY_TEST_QUOTED: QUOTED };

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files under `dir` that hold a secret, as written or as JSON escapes it. */
function leaks(dir: string): string[] {
  const needles = [TOKEN, QUOTED, JSON.stringify(QUOTED).slice(1, -1), URL_PASSWORD];
  return filesUnder(dir).filter((file) => {
    const text = readFileSync(file, 'utf8');
    return needles.some((n) => text.includes(n));
  });
}

describe('secrets in what perfy writes', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((req, res) => res.writeHead(req.url?.startsWith('/missing') ? 404 : 200).end('{}'));
  });
  after(() => server.close());

  const scenario = (url: string): string => `name: secrets
description: "calls with \${env.PERFY_TEST_TOKEN} and \${env.PERFY_TEST_QUOTED}"
services:
  app: { command: "node -e setInterval(()=>{},1000)" }
target: ${url}
load: [ { rate: 20/s, duration: 1s } ]
flow:
  - name: "call \${env.PERFY_TEST_TOKEN}"
    http: { get: "/x?token=\${env.PERFY_TEST_TOKEN}", headers: { authorization: "Bearer \${env.PERFY_TEST_TOKEN}" } }
    tags: { token: "\${env.PERFY_TEST_TOKEN}", quoted: "\${env.PERFY_TEST_QUOTED}" }
  - http: { get: "/missing/\${env.PERFY_TEST_TOKEN}" }
  - http: { get: "http://admin:${URL_PASSWORD}@127.0.0.1:1/x" }
thresholds:
  - "p95(step.duration{step: \\"call \${env.PERFY_TEST_TOKEN}\\"}) < 5s"
report: [ console, { format: json, path: OUT/copy/result.json }, { format: console, path: OUT/summary.txt } ]
`;

  it('run: no file under --out and no console line holds a secret; the JSON parses; names show ***', async () => {
    const t = tempDir();
    after(t.cleanup);
    const out = t.path('out');
    const file = t.path('s.yaml');
    writeFileSync(file, scenario(server.url).replaceAll('OUT', out));
    const run = await perfyAsync(['run', file, '--out', out, '--quiet'], { env });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.deepEqual(leaks(out), []);
    const printed = run.stdout + run.stderr;
    for (const secret of [TOKEN, QUOTED, URL_PASSWORD]) assert.ok(!printed.includes(secret));
    assert.ok(filesUnder(out).length >= 4, 'result.json, the report copy, the summary and the service log');

    const result = readResultDir(out);
    const steps = new Set(result.metrics.metrics.map((m) => m.tags['step']).filter((s) => s !== undefined));
    assert.deepEqual([...steps].sort(), ['GET /missing/***', 'GET http://admin:***@127.0.0.1:1/x', 'call ***']);
    assert.equal(result.scenario.description, 'calls with *** and ***');
    assert.ok(result.metrics.metrics.some((m) => m.tags['token'] === '***' && m.tags['quoted'] === '***'));
    assert.ok((result.metrics.samples ?? []).some((s) => s.tags['step'] === 'GET /missing/***'));
    assert.equal(result.thresholds[0]?.passed, true);
    assert.notEqual(result.thresholds[0]?.values[0]?.value, null);
    // The histograms are intact: a copy written with the same redaction reads back the same.
    const copy = JSON.parse(readFileSync(join(out, 'copy', 'result.json'), 'utf8')) as Result;
    assert.deepEqual(copy.metrics, result.metrics);
  });

  it('merge: the merged result holds no secret, and a threshold on a step named with one is still judged', async () => {
    const t = tempDir();
    after(t.cleanup);
    const file = t.path('s.yaml');
    writeFileSync(file, scenario(server.url).replace(/^report:.*$/m, ''));
    const segment = (i: number): ReturnType<typeof perfyAsync> =>
      perfyAsync(['run', file, '--segment', `${i}/2`, '--quiet', '--out', t.path(`seg${i}`)], { env });
    const segments = await Promise.all([segment(0), segment(1)]);
    for (const s of segments) assert.equal(s.status, 0, s.stderr);
    const results = [t.path('seg0/result.json'), t.path('seg1/result.json')];
    const merge = perfy(['merge', ...results, '--scenario', file, '--out', t.path('merged')], { env });
    assert.equal(merge.status, 0, merge.stderr + merge.stdout);
    assert.deepEqual(leaks(t.path('merged')), []);
    for (const secret of [TOKEN, QUOTED, URL_PASSWORD]) assert.ok(!merge.stdout.includes(secret));
    const merged = readResultDir(t.path('merged'));
    assert.equal(merged.thresholds[0]?.passed, true);
    assert.notEqual(merged.thresholds[0]?.values[0]?.value, null, 'the redacted filter found the redacted step');
  });

  it('validate --json: the values are redacted, and the output is still JSON', () => {
    const t = tempDir({
      'bad.yaml':
        'name: s\nload: [ { rate: "${env.PERFY_TEST_QUOTED}", duration: 1s } ]\nflow: [ { http: { get: /x } } ]\n',
    });
    after(t.cleanup);
    const result = perfy(['validate', '--json', t.path('bad.yaml')], { env });
    assert.equal(result.status, 2);
    const reports = JSON.parse(result.stdout) as { problems: { code: string; message: string }[] }[];
    assert.ok(reports[0]!.problems.length > 0);
    assert.ok(!result.stdout.includes(JSON.stringify(QUOTED).slice(1, -1)) && !result.stdout.includes(QUOTED));
  });
});
