// `perfy run` flags end to end, through bin/perfy against a server in this process: --smoke, --set, --env,
// --users with --duration, --time-scale, flag conflicts, invalid scenarios and services that do not start.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { perfyAsync, problemHeads, readResultDir, startServer, tempDir, total, type CliResult } from '../helpers.js';

describe('perfy run flags', { concurrency: false }, () => {
  /** Requests the server received, by path. */
  let seen = new Map<string, number>();
  let active = 0;
  let maxActive = 0;
  const server = { url: '', close: async () => {} };
  const requests = (): number => [...seen.values()].reduce((s, n) => s + n, 0);

  before(async () => {
    const s = await startServer((req, res) => {
      const path = req.url ?? '/';
      seen.set(path, (seen.get(path) ?? 0) + 1);
      active++;
      maxActive = Math.max(maxActive, active);
      const answer = (): void => {
        active--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      };
      if (path.startsWith('/slow')) setTimeout(answer, 100);
      else answer();
    });
    Object.assign(server, s);
  });
  after(() => server.close());
  beforeEach(() => {
    seen = new Map();
    active = 0;
    maxActive = 0;
  });

  function scenario(body: string): string {
    return `name: flags\ntarget: ${server.url}\n${body.trim()}\n`;
  }

  /** Runs a scenario of GET /set at 5/s for 1 s with `--set <assignment>`; `out` is the run's result folder. */
  async function runWithSet(assignment: string): Promise<{ run: CliResult; out: string }> {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { rate: 5/s, duration: 1s } ]
flow: [ { name: hit, http: { get: /set } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--set', assignment, '--quiet', '--out', t.path('out')]);
    return { run, out: t.path('out') };
  }

  it('--smoke sends exactly one request per step, for every workload, and says so', async () => {
    const t = tempDir({ 's.yaml': scenario(`
workloads:
  - name: readers
    load: [ { rate: 50/s, duration: 20s } ]
    flow:
      - { name: a, http: { get: /a } }
      - think: 200ms
      - { name: b, http: { get: /b } }
      - { name: c, http: { get: /c } }
  - name: writers
    start_after: 10s
    load: [ { users: 5, hold: 20s } ]
    flow: [ { name: d, http: { post: /d } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--smoke', '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.deepEqual(Object.fromEntries(seen), { '/a': 1, '/b': 1, '/c': 1, '/d': 1 });
    assert.ok(run.ms < 10_000, `a smoke run took ${run.ms} ms`);
    const result = readResultDir(t.path('out'));
    assert.equal(total(result, 'http.reqs'), 4);
    assert.equal(result.overrides.length, 1);
    assert.match(result.overrides[0]!, /^--smoke/);
    assert.deepEqual(result.workloads.map((w) => w.plannedIterations), [1, 1]);
  });

  it('--smoke judges only rate() thresholds: load thresholds are shown, not judged, and do not fail it', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { rate: 50/s, duration: 20s } ]
flow: [ { name: a, http: { get: /a }, expect: "status == 200" } ]
thresholds:
  - "throughput(http.reqs) > 20/s"
  - "count(http.reqs) > 100"
  - "p95(http.duration) < 1us"
  - "rate(http.errors) < 1% for 10s"
  - "rate(http.errors) < 1%"
  - "rate(checks) == 100%"
`), 'broken.yaml': scenario(`
load: [ { rate: 50/s, duration: 20s } ]
flow: [ { name: a, http: { get: /a }, expect: "status == 201" } ]
thresholds: [ "count(http.reqs) > 100", "rate(checks) == 100%" ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--smoke', '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const outcomes = readResultDir(t.path('out')).thresholds;
    assert.deepEqual(outcomes.map((o) => o.judged), [false, false, false, false, true, true]);
    assert.deepEqual(outcomes.slice(1, 3).map((o) => o.passed), [false, false], 'what the conditions said at the end');
    assert.deepEqual(outcomes.slice(4).map((o) => o.passed), [true, true]);
    // The other side: a flow that does not work still fails its smoke run on rate(checks).
    const broken = await perfyAsync(['run', t.path('broken.yaml'), '--smoke', '--quiet', '--out', t.path('broken')]);
    assert.equal(broken.status, 1, broken.stderr + broken.stdout);
    const verdicts = readResultDir(t.path('broken')).thresholds.map((o) => [o.judged, o.passed]);
    assert.deepEqual(verdicts, [[false, false], [true, false]]);
  });

  it('--set changes a value of the scenario before it runs: load[0].rate=20/s sends 20 requests ' +
      'instead of 5', async () => {
    const { run, out } = await runWithSet('load[0].rate=20/s');
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.equal(seen.get('/set'), 20);
    assert.deepEqual(readResultDir(out).workloads.map((w) => w.plannedIterations), [20]);
  });

  it('--set is listed among the overrides of the result', async () => {
    const { run, out } = await runWithSet('load[0].rate=10/s');
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.ok(readResultDir(out).overrides.some((o) => o.includes('load[0].rate')), 'the --set is recorded');
  });

  it('--env fills ${env.NAME} placeholders, and without it the scenario is invalid and nothing is sent', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { burst: { iterations: 2 } } ]
flow: [ { name: hit, http: { get: "/env/\${env.PERFY_FLAGS_TEST_PATH}" } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--env', 'PERFY_FLAGS_TEST_PATH=from-flag', '--quiet']);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.deepEqual(Object.fromEntries(seen), { '/env/from-flag': 2 });

    seen = new Map();
    const unset = await perfyAsync(['run', t.path('s.yaml'), '--quiet']);
    assert.equal(unset.status, 2, unset.stderr);
    assert.deepEqual(problemHeads(unset.stderr).map((p) => p.code), ['E_ENV_UNSET']);
    assert.equal(requests(), 0);
  });

  it('--users 3 --duration 1s runs a closed scenario with 3 users for 1 s, listed in the summary ' +
      'and the result', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { users: 1, hold: 20s } ]
flow: [ { name: slow, http: { get: /slow } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync([
      'run',
      t.path('s.yaml'),
      '--users',
      '3',
      '--duration',
      '1s',
      '--quiet',
      '--out',
      t.path('out'),
    ]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.equal(maxActive, 3, 'three users had a request in flight at once');
    // Three users, each request 100 ms: about 10 each in 1 s.
    const sent = seen.get('/slow') ?? 0;
    assert.ok(sent >= 20 && sent <= 33, `${sent} requests`);
    assert.ok(run.ms < 10_000, `the run took ${run.ms} ms (the scenario holds 20 s)`);
    const result = readResultDir(t.path('out'));
    assert.equal(total(result, 'http.reqs'), sent);
    assert.deepEqual(result.overrides, ['--duration 1s', '--users 3']);
    assert.deepEqual(result.workloads.map((w) => [w.model, w.durationMs]), [['closed', 1_000]]);
    assert.match(run.stdout, /--duration 1s/);
    assert.match(run.stdout, /--users 3/);
  });

  it('--time-scale runs the scenario faster at the same rate, listed in the summary', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { rate: 10/s, duration: 5s } ]
flow: [ { name: hit, http: { get: /scaled } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--time-scale', '10', '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.equal(seen.get('/scaled'), 5, '10/s for 0.5 s');
    assert.deepEqual(readResultDir(t.path('out')).overrides, ['--time-scale 10']);
    assert.match(run.stdout, /--time-scale 10/);
  });

  it('--time-scale warns (W_TIME_SCALE) that a url: or command: service keeps its own clock, and runs', async () => {
    const t = tempDir({ 's.yaml': `name: flags
services: { app: { url: "${server.url}" } }
target: "{{services.app.url}}"
load: [ { rate: 10/s, duration: 2s } ]
flow: [ { name: hit, http: { get: /scaled-service } } ]
` });
    after(t.cleanup);
    const scaled = await perfyAsync(['run', t.path('s.yaml'), '--time-scale', '10', '--quiet']);
    assert.equal(scaled.status, 0, scaled.stderr + scaled.stdout);
    assert.equal([...scaled.stderr.matchAll(/^W_TIME_SCALE {2}.*\bapp\b/gm)].length, 1, scaled.stderr);
    const asWritten = await perfyAsync(['run', t.path('s.yaml'), '--duration', '200ms', '--quiet']);
    assert.equal(asWritten.status, 0, asWritten.stderr + asWritten.stdout);
    assert.doesNotMatch(asWritten.stderr, /W_TIME_SCALE/);
  });

  it('--rate with --users is a usage error (exit 2, E_USAGE) and sends nothing', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { rate: 5/s, duration: 1s } ]
flow: [ { http: { get: /never } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync([
      'run',
      t.path('s.yaml'),
      '--rate',
      '10/s',
      '--users',
      '3',
      '--quiet',
      '--out',
      t.path('out'),
    ]);
    assert.equal(run.status, 2, run.stderr + run.stdout);
    assert.match(run.stderr, /^E_USAGE  /m);
    assert.equal(requests(), 0);
    assert.equal(existsSync(t.path('out/result.json')), false);
  });

  it('does not run an invalid scenario: exit 2 with its problems, and no request reaches the server', async () => {
    const t = tempDir({ 's.yaml': scenario(`
load: [ { rate: 20/s, duration: 1s } ]
flow:
  - { name: ok, http: { get: /invalid } }
  - { name: typo, http: { get: /invalid }, expect: "stauts == 200" }
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 2, run.stderr + run.stdout);
    assert.deepEqual(problemHeads(run.stderr).map((p) => p.code), ['E_EXPR_UNKNOWN']);
    assert.equal(requests(), 0);
    assert.equal(existsSync(t.path('out/result.json')), false);
  });

  it('keeps data rows for the workloads: setup takes none, and teardown still runs once unique ' +
      'rows are used up', async () => {
    const t = tempDir({
      'users.csv': 'id\n1\n2\n3\n',
      's.yaml': scenario(`
data: { users: { csv: users.csv, order: unique } }
setup: [ { name: setup, http: { post: /setup } } ]
load: [ { rate: 20/s, duration: 1s } ]
flow: [ { name: hit, http: { get: "/user/{{data.users.id}}" } } ]
teardown: [ { name: teardown, http: { post: /teardown } } ]
`),
    });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet']);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.deepEqual(Object.fromEntries(seen), {
      '/setup': 1, '/user/1': 1, '/user/2': 1, '/user/3': 1, '/teardown': 1,
    });
  });

  it('exits 3 with E_SERVICE_START when a service exits at once, without sending a request', async () => {
    const command = `${JSON.stringify(process.execPath)} -e "process.exit(3)"`;
    const t = tempDir({ 's.yaml': scenario(`
services:
  api: { command: '${command}', ready: "http://127.0.0.1:1/health", timeout: 20s }
load: [ { rate: 20/s, duration: 1s } ]
flow: [ { name: hit, http: { get: /service } } ]
`) });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 3, run.stderr + run.stdout);
    assert.match(run.stderr, /^E_SERVICE_START  /m);
    assert.equal(requests(), 0);
    assert.ok(run.ms < 10_000, `noticed the exit after ${run.ms} ms, not at the 20 s timeout`);
  });
});
