// Open files: a low `ulimit -n` raised to the hard limit before the load, a warning when even that is too low,
// and connects that fail with EMFILE reported as perfy's own problem (exit 3), never as the target's errors.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { perfyAsync, readResultDir, startServer, tempDir, total } from '../helpers.js';

const prlimit = spawnSync('prlimit', ['--version']).status === 0;

describe('the open-file limit', { skip: prlimit ? false : 'no prlimit (util-linux) on this machine' }, () => {
  const server = { url: '', close: async () => {} };
  before(async () => {
    // Slow answers keep every user's connection open at once.
    Object.assign(server, await startServer((_req, res) => setTimeout(() => res.end('ok'), 100)));
  });
  after(() => server.close());
  const scenario = (): string =>
    `name: fds\ntarget: ${server.url}\ndefaults: { connections: 300 }\nload: [ { users: 200, hold: 1s } ]\nflow: [ { ` +
      `http: { get: / } } ]\n`;

  it('a soft limit below the need is raised to the hard one: no warning, no EMFILE', async () => {
    const t = tempDir({ 's.yaml': scenario() });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')], {
      wrap: ['prlimit', '--nofile=80:4096'],
    });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.doesNotMatch(run.stderr, /W_FD_LIMIT|E_FD_LIMIT/);
    assert.equal(total(readResultDir(t.path('out')), 'http.unsent', { status: 'emfile' }), 0);
  });

  it('a hard limit too low: a warning before the load, then EMFILE counted as perfy\'s problem, exit 3', async () => {
    const t = tempDir({ 's.yaml': scenario() });
    after(t.cleanup);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')], {
      wrap: ['prlimit', '--nofile=80:80'],
    });
    assert.equal(run.status, 3, run.stderr + run.stdout);
    assert.match(run.stderr, /^W_FD_LIMIT {2}/m);
    assert.match(run.stderr, /^E_FD_LIMIT {2}/m);
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'failed');
    assert.ok(result.saturation.saturated);
    assert.ok(
      total(result, 'http.unsent', { status: 'emfile' }) > 0,
      'failed connects are classed emfile (never sent), not other',
    );
    assert.equal(
      total(result, 'http.unsent', { status: 'other' }) + total(result, 'http.reqs', { status: 'other' }),
      0,
    );
    assert.match(run.stdout, /errors {2}emfile: /);
  });
});
