// The github step as users run it, against the GitHub mock perfy ships: the limit trips at exactly the
// configured count, a polite client stops at 0 remaining and waits for the reset, 304s are free, a secondary
// limit's retry-after is waited out, writes are spaced, and a wait longer than max_wait is not made. What the
// client counts is checked against what the mock counted.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Result } from '../../engine/metrics/result.js';
import { perfyAsync, readResultDir, tempDir, total } from '../helpers.js';

/** Runs a scenario with a github-mock service `gh` (options as given) and returns its result. */
async function runWithMock(
  options: string,
  body: string,
): Promise<{ result: Result; stdout: string; status: number | null; ms: number }> {
  const t = tempDir({
    's.yaml': `name: github_test\nservices:\n  gh: { builtin: github-mock, options: ${options} }\n${body}`,
  });
  after(t.cleanup);
  const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out')]);
  assert.ok(run.status === 0 || run.status === 1, run.stdout + run.stderr);
  return { result: readResultDir(t.path('out')), stdout: run.stdout, status: run.status, ms: run.ms };
}

const max = (result: Result, name: string): number =>
  Math.max(...result.metrics.metrics.filter((m) => m.name === name).map((m) => m.max));

describe('the github step against the GitHub mock', () => {
  it('the primary limit trips at exactly the configured count: 30 requests at once on a limit of 20, ' +
      'without backing off', async () => {
    const { result, stdout } = await runWithMock('{ limit: 20, window: 1h }', `
load: [ { burst: { iterations: 30 } } ]
flow:
  - name: list
    github:
      request: "GET /repos/{owner}/{repo}/issues"
      params: { owner: octo, repo: hello }
      token: t1
      respect_limits: false
`);
    assert.equal(total(result, 'github.requests', { status: '200' }), 20);
    assert.equal(total(result, 'github.requests', { status: '403' }), 10);
    assert.equal(total(result, 'github.rate_limited', { kind: 'primary' }), 10);
    assert.equal(total(result, 'github.rate_limited', { kind: 'secondary' }), 0);
    assert.equal(total(result, 'github_mock.limited', { kind: 'primary' }), 10, 'the mock counted the same');
    assert.equal(total(result, 'github_mock.requests'), 30);
    assert.equal(total(result, 'step.errors'), 10);
    const samples = (result.metrics.samples ?? []).filter((x) => x.kind === 'error');
    assert.match(samples[0]?.message ?? '', /primary rate limit: API rate limit exceeded/);
    // The summary says what the client met and what the mock counted.
    assert.match(stdout, /github {2}30 requests · rate-limited: 10 primary, 0 secondary/);
    assert.match(stdout, /github mock {2}30 requests · limited: 10 primary, 0 secondary · 0 blocked/);
  });

  it('a polite client stops at 0 remaining and waits for the reset: nothing is refused, every ' +
      'step succeeds', async () => {
    const { result } = await runWithMock('{ limit: 4, window: 2s }', `
load: [ { users: 1, hold: 5s } ]
flow:
  - name: list
    github: { request: "GET /repos/{owner}/{repo}/issues", params: { owner: octo, repo: hello }, token: t2 }
    expect: "status == 200"
  - think: 100ms
`);
    assert.equal(total(result, 'github_mock.limited'), 0, 'the client never sent a request it had no quota for');
    assert.equal(total(result, 'step.errors'), 0);
    assert.ok(total(result, 'github.requests', { status: '200' }) > 4, 'it went on after the reset');
    assert.ok(max(result, 'github.wait') > 500, `it waited for the reset (${max(result, 'github.wait')} ms)`);
  });

  it('conditional requests: the first GET is 200, the rest 304 with the cached body, and they do not use ' +
      'up the quota', async () => {
    const { result } = await runWithMock('{ limit: 3, window: 1h }', `
load: [ { users: 1, hold: 1s } ]
flow:
  - name: repo issues
    github:
      request: "GET /repos/{owner}/{repo}/issues"
      params: { owner: octo, repo: hello, per_page: 7 }
      token: t3
      conditional: true
    expect: [ "status == 200 or status == 304", "json.length == 7" ]
  - think: 50ms
`);
    const notModified = total(result, 'github.requests', { status: '304' });
    assert.equal(total(result, 'github.requests', { status: '200' }), 1);
    assert.ok(notModified > 5, `${notModified} answers were 304`);
    assert.equal(total(result, 'github_mock.not_modified'), notModified);
    assert.equal(total(result, 'github.rate_limited'), 0, 'a limit of 3 was never reached');
    assert.equal(total(result, 'checks', { check: 'json.length == 7' }), total(result, 'iterations'));
    assert.equal(max(result, 'github.remaining'), 2, 'only the 200 counted against the quota');
  });

  it('a secondary limit on concurrency: the retry-after is waited out and the requests sent ' +
      'again succeed', async () => {
    const { result } = await runWithMock('{ concurrency: 2, latency: 200ms, retry_after: 1s }', `
load: [ { burst: { iterations: 6 } } ]
flow:
  - name: list
    github:
      request: "GET /repos/{owner}/{repo}/issues"
      params: { owner: octo, repo: hello }
      token: t4
      concurrency: 6
      retries: 5
    expect: "status == 200"
`);
    assert.ok(total(result, 'github.rate_limited', { kind: 'secondary' }) > 0, 'the concurrency limit tripped');
    assert.equal(
      total(result, 'github_mock.limited', { kind: 'secondary' }),
      total(result, 'github.rate_limited', { kind: 'secondary' }),
    );
    assert.equal(total(result, 'step.errors'), 0, 'every request succeeded after waiting');
    assert.ok(max(result, 'github.wait') >= 950, `waited the retry-after (${max(result, 'github.wait')} ms)`);
  });

  it('writes go one at a time, write_interval apart; the spacing is measured as a wait', async () => {
    const { result } = await runWithMock('{}', `
load: [ { burst: { iterations: 4 } } ]
flow:
  - name: open issue
    github:
      request: "POST /repos/{owner}/{repo}/issues"
      params: { owner: octo, repo: hello }
      body: { title: "issue from user {{vu}}" }
      token: t5
      write_interval: 300ms
    expect: [ "status == 201", "json.title matches \\"issue from user\\"" ]
`);
    assert.equal(total(result, 'github.requests', { status: '201' }), 4);
    // Four writes at once: the last waited for three intervals.
    assert.ok(max(result, 'github.wait') >= 850, `longest wait ${max(result, 'github.wait')} ms`);
  });

  it('a wait longer than max_wait is not made: the step fails at once as rate-limited', async () => {
    const { result, ms } = await runWithMock('{ limit: 1, window: 1h }', `
load: [ { users: 1, hold: 1s } ]
flow:
  - name: list
    github:
      request: "GET /repos/{owner}/{repo}/issues"
      params: { owner: octo, repo: hello }
      token: t6
      max_wait: 2s
  - think: 200ms
`);
    assert.equal(total(result, 'github.requests', { status: '200' }), 1);
    assert.ok(total(result, 'step.errors') >= 2, 'the later steps failed');
    assert.equal(total(result, 'github_mock.limited'), 0, 'and sent nothing: the client knew there was no quota');
    assert.ok(ms < 15_000);
    const sample = (result.metrics.samples ?? []).find((x) => x.kind === 'error');
    assert.equal(sample?.tags['code'], 'rate_limited');
    assert.match(sample?.message ?? '', /longer than max_wait/);
  });
});
