// `perfy run` when the work never waits for I/O (requests that fail at once, loops over skipped steps, a regex
// that backtracks): the run still ends on time, and Ctrl-C still stops it within the documented five seconds.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import {
  perfy, perfyAsync, problemHeads, readResultDir, startServer, tempDir, total, type CliResult,
} from '../helpers.js';

/** A plugin whose requests fail at once, as one to an unparsable URL does: no I/O, no timer. */
const INSTANT = `
const executor = {
  create() {
    const failed = { ok: false, error: { class: 'other', message: 'fails at once' }, response: {} };
    return { execute: () => Promise.resolve(failed) };
  },
  async close() {},
};
export default { name: 'instant', schema: { type: 'object' }, metrics: [], executor: async () => () => executor };
`;

/** SIGKILL after this long: a run that spins must fail the test, not hang it. */
const KILL_AFTER_MS = 40_000;

interface Run extends CliResult {
  ms: number;
  /** ms from SIGINT to exit, when `interruptAfterMs` was given */
  stoppedInMs: number;
  killed: boolean;
}

async function run(args: string[], interruptAfterMs?: number): Promise<Run> {
  let signalledAt = NaN;
  let killed = false;
  const timers: NodeJS.Timeout[] = [];
  const result = await perfyAsync(args, {
    onSpawn: (child: ChildProcess) => {
      timers.push(setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, KILL_AFTER_MS));
      if (interruptAfterMs !== undefined) {
        timers.push(setTimeout(() => {
          signalledAt = Date.now();
          child.kill('SIGINT');
        }, interruptAfterMs));
      }
    },
  });
  for (const timer of timers) clearTimeout(timer);
  return { ...result, stoppedInMs: Date.now() - signalledAt, killed };
}

/** Two users looping over a step whose every execution fails at once, for `hold`. */
function instantScenario(hold: string): ReturnType<typeof tempDir> {
  const t = tempDir({ 'instant.mjs': INSTANT, 's.yaml': `
name: instant
plugins: { instant: ./instant.mjs }
load: [ { users: 2, hold: ${hold} } ]
flow: [ { name: fail, use: instant } ]
` });
  after(t.cleanup);
  return t;
}

describe('perfy run without I/O', () => {
  it('ends a closed model whose every request fails at once after its 3 s hold', async () => {
    const t = instantScenario('3s');
    const r = await run(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(r.killed, false, `killed after ${KILL_AFTER_MS} ms`);
    assert.equal(r.status, 0, r.stderr);
    // The hold plus start-up and writing the result; the process spun for minutes before.
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'completed');
    assert.ok(total(result, 'iterations') > 100);
    assert.equal(total(result, 'step.errors'), total(result, 'iterations'));
  });

  it('stops such a run within 5 s of Ctrl-C, exit 3, keeping the result', async () => {
    const t = instantScenario('60s');
    const r = await run(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet'], 2_500);
    assert.equal(r.killed, false, `killed after ${KILL_AFTER_MS} ms`);
    assert.equal(r.status, 3, r.stderr);
    assert.ok(r.stoppedInMs < 5_000, `stopped ${r.stoppedInMs} ms after SIGINT`);
    const result = readResultDir(t.path('out'));
    assert.equal(result.status, 'interrupted');
    assert.ok(total(result, 'iterations') > 0);
  });

  it('stops a `while: "true"` loop over skipped steps within 5 s of Ctrl-C', async () => {
    const t = tempDir({ 's.yaml': `
name: spin
target: http://127.0.0.1:9
load: [ { users: 1, hold: 60s } ]
flow:
  - loop: { while: "true", max: 1e12 }
    flow: [ { name: never, http: { get: / }, if: "false" } ]
` });
    after(t.cleanup);
    const r = await run(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet'], 2_500);
    assert.equal(r.killed, false, `killed after ${KILL_AFTER_MS} ms`);
    assert.equal(r.status, 3, r.stderr);
    assert.ok(r.stoppedInMs < 5_000, `stopped ${r.stoppedInMs} ms after SIGINT`);
    assert.equal(readResultDir(t.path('out')).status, 'interrupted');
  });

  it('runs a 1 s load whose expect is a backtracking-prone regex in about 1 s', async () => {
    // 28 characters: JavaScript's RegExp took 19 s per response on this, the run 19 s instead of 1.
    const body = `${'a'.repeat(28)}!`;
    const server = await startServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
    const t = tempDir({ 's.yaml': `
name: regex
target: ${server.url}
load: [ { rate: 5/s, duration: 1s } ]
flow: [ { name: get, http: { get: / }, expect: 'body matches "^(a+)+$"' } ]
` });
    after(t.cleanup);
    after(server.close);
    const r = await run(['run', t.path('s.yaml'), '--out', t.path('out'), '--quiet']);
    assert.equal(r.killed, false, `killed after ${KILL_AFTER_MS} ms`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.ms < 8_000, `took ${r.ms} ms`);
    const result = readResultDir(t.path('out'));
    assert.equal(total(result, 'http.reqs'), 5);
    assert.equal(total(result, 'checks'), 0, 'the body does not match');
  });

  it('refuses a backreference in `matches` at validation, exit 2, pointing inside the pattern', () => {
    const t = tempDir({ 's.yaml': `name: regex
target: http://127.0.0.1:8080
load: [ { rate: 5/s, duration: 1s } ]
flow:
  - http: { get: / }
    expect: 'body matches "^(a+)\\1$"'
` });
    after(t.cleanup);
    const r = perfy(['validate', t.path('s.yaml')]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.deepEqual(problemHeads(r.stdout + r.stderr), [{ line: 6, col: 33, code: 'E_EXPR_REGEX' }]);
  });
});
