// A real GitHub client against the github-mock service: Octokit with @octokit/plugin-throttling sees the
// mock's primary and secondary limits as it sees GitHub's, waits what the headers say, and succeeds on retry.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Octokit } from '@octokit/core';
import { throttling } from '@octokit/plugin-throttling';
import { startService, stopServices, type RunningService } from '../../engine/services/index.js';
import { tempDir } from '../helpers.js';

const ThrottledOctokit = Octokit.plugin(throttling);
const temp = tempDir();
const running: RunningService[] = [];

after(async () => {
  await stopServices(running);
  temp.cleanup();
});

async function mock(options: Record<string, unknown>): Promise<string> {
  const service = await startService(
    'github',
    { builtin: 'github-mock', options },
    { scenarioDir: temp.dir, logDir: join(temp.dir, 'logs') },
  );
  running.push(service);
  return service.url;
}

interface Seen {
  status: number;
  headers: Record<string, string>;
  at: number;
}
interface LimitCall {
  kind: 'primary' | 'secondary';
  retryAfter: number;
  /** What GitHub's advice gives from the last limited answer, computed when the handler ran. */
  expected: number;
  retryCount: number;
}

/** An Octokit that records every answer it receives and every call of its limit handlers (retrying once). */
function client(
  baseUrl: string,
  id: string,
): { octokit: InstanceType<typeof ThrottledOctokit>; seen: Seen[]; calls: LimitCall[] } {
  const seen: Seen[] = [];
  const calls: LimitCall[] = [];
  const lastLimited = (): Seen => seen.filter((s) => s.status === 403 || s.status === 429).at(-1)!;
  const octokit = new ThrottledOctokit({
    baseUrl,
    auth: `token-${id}`,
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    request: {
      fetch: async (url: string, init: RequestInit) => {
        const res = await fetch(url, init);
        seen.push({ status: res.status, headers: Object.fromEntries(res.headers), at: Date.now() });
        return res;
      },
    },
    throttle: {
      id,
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => {
        // GitHub's advice for x-ratelimit-remaining: 0 — wait until x-ratelimit-reset, plus a second.
        const expected = Math.ceil((Number(lastLimited().headers['x-ratelimit-reset']) * 1000 - Date.now()) / 1000) + 1;
        calls.push({ kind: 'primary', retryAfter, expected, retryCount });
        return retryCount < 1;
      },
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => {
        calls.push({
          kind: 'secondary',
          retryAfter,
          expected: Number(lastLimited().headers['retry-after']),
          retryCount,
        });
        return retryCount < 1;
      },
    },
  });
  return { octokit, seen, calls };
}

describe('Octokit with the throttling plugin against github-mock', () => {
  it('primary limit: onRateLimit gets the wait until x-ratelimit-reset, and the retry succeeds in ' +
      'the next window', async () => {
    const url = await mock({ limit: 3, window: '2s' });
    const { octokit, seen, calls } = client(url, 'primary');
    // GET /rate_limit is free: it warms the connection up, so the next four requests fall in one window.
    assert.equal((await octokit.request('GET /rate_limit')).status, 200);
    seen.length = 0;
    for (let i = 0; i < 3; i++)
      assert.equal((await octokit.request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'spoon' })).status, 200);
    const retried = await octokit.request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'spoon' });
    assert.equal(retried.status, 200);
    assert.deepEqual(seen.map((s) => s.status), [200, 200, 200, 403, 200]);
    assert.deepEqual(seen.slice(0, 4).map((s) => s.headers['x-ratelimit-remaining']), ['2', '1', '0', '0']);
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call!.kind, 'primary');
    assert.ok(
      call!.retryAfter - call!.expected === 0 || call!.retryAfter - call!.expected === 1,
      `${call!.retryAfter} vs ${call!.expected}`,
    );
    assert.ok(call!.retryAfter >= 1 && call!.retryAfter <= 4);
    // It waited for the reset, and the retry opened a new window.
    assert.ok(seen[4]!.at >= Number(seen[3]!.headers['x-ratelimit-reset']) * 1000);
    assert.equal(retried.headers['x-ratelimit-used'], '1');
  });

  it('secondary limit (points): onSecondaryRateLimit gets retry-after from the header, and the ' +
      'retry succeeds', async () => {
    const url = await mock({ points: 3, points_window: '2s', retry_after: '2s' });
    const { octokit, seen, calls } = client(url, 'points');
    assert.equal((await octokit.request('GET /rate_limit')).status, 200);
    seen.length = 0;
    for (let i = 0; i < 3; i++)
      await octokit.request('GET /repos/{owner}/{repo}/issues', { owner: 'octo', repo: 'spoon' });
    const retried = await octokit.request('GET /repos/{owner}/{repo}/issues', {
      owner: 'octo',
      repo: 'spoon',
      per_page: 5,
    });
    assert.deepEqual([retried.status, retried.data.length], [200, 5]);
    assert.deepEqual(seen.map((s) => s.status), [200, 200, 200, 403, 200]);
    assert.equal(seen[3]!.headers['retry-after'], '2');
    assert.deepEqual(calls, [{ kind: 'secondary', retryAfter: 2, expected: 2, retryCount: 0 }]);
    assert.ok(seen[4]!.at - seen[3]!.at >= 2000, 'it waited retry-after seconds');
  });

  it('secondary limit (concurrency): each refused request waits its retry-after and succeeds', async () => {
    const url = await mock({ concurrency: 2, latency: '250ms', retry_after: '1s', abuse_strikes: 0 });
    const { octokit, seen, calls } = client(url, 'concurrency');
    const replies = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
          owner: 'octo',
          repo: 'spoon',
          issue_number: i + 1,
        }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => [r.status, r.data.number]),
      [
        [200, 1],
        [200, 2],
        [200, 3],
        [200, 4],
      ],
    );
    assert.equal(seen.filter((s) => s.status === 403).length, 2);
    assert.equal(calls.length, 2);
    for (const call of calls) assert.deepEqual([call.kind, call.retryAfter, call.retryCount], ['secondary', 1, 0]);
    assert.deepEqual(seen.filter((s) => s.status === 403).map((s) => s.headers['retry-after']), ['1', '1']);
  });
});
