// The GitHub API mock (engine/mocks/github) over real HTTP on 127.0.0.1: rate-limit headers under
// concurrency, primary, search and secondary limits, 304s, abuse blocks, pagination, data, the built-in
// service (child process, options, collect()) and `perfy mock github`.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { PerfyError } from '../../../engine/errors.js';
import { RateLimiter } from '../../../engine/mocks/github/limits.js';
import {
  GITHUB_MOCK_OPTION_NAMES, GITHUB_MOCK_OPTIONS, defaultGithubMockSettings, githubMockFlags, parseGithubMockOptions,
  scaleGithubMockSettings, type GithubMockSettings,
} from '../../../engine/mocks/github/options.js';
import { CONTENT_MESSAGE, SECONDARY_MESSAGE, createGithubMock } from '../../../engine/mocks/github/server.js';
import { GITHUB_MOCK_MAIN } from '../../../engine/services/github-mock.js';
import { startService, stopServices, type RunningService } from '../../../engine/services/index.js';
import { PERFY_BIN, tempDir } from '../../helpers.js';

const servers: Server[] = [];
const services: RunningService[] = [];
const temp = tempDir();

after(async () => {
  await stopServices(services);
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  temp.cleanup();
});

/** A mock in this process with these `options:` (snake_case, as in a scenario), on a free port. */
async function listen(options: Record<string, unknown> = {}): Promise<string> {
  const { settings, problems } = parseGithubMockOptions(options);
  assert.deepEqual(problems, []);
  const server = createGithubMock(settings);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function call<T = unknown>(
  base: string,
  path: string,
  init: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers['authorization'] = `token ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T, text };
}

const rate = (
  r: Reply,
): { limit: number; remaining: number; used: number; reset: number; resource: string | null } => ({
  limit: Number(r.headers.get('x-ratelimit-limit')),
  remaining: Number(r.headers.get('x-ratelimit-remaining')),
  used: Number(r.headers.get('x-ratelimit-used')),
  reset: Number(r.headers.get('x-ratelimit-reset')),
  resource: r.headers.get('x-ratelimit-resource'),
});

interface Stats {
  requests: number;
  limited: { primary: number; secondary: number };
  blocked: number;
  not_modified: number;
}
const stats = async (base: string): Promise<Stats> => (await call<Stats>(base, '/_mock/stats')).body;

/** `count` GETs of `path` with `token`, all sent at once; their replies in the order they were sent. */
function atOnce<T = unknown>(base: string, path: string, token: string, count: number): Promise<Reply<T>[]> {
  return Promise.all(Array.from({ length: count }, () => call<T>(base, path, { token })));
}

/** Waits until the wall clock has passed `epochSeconds` (an `x-ratelimit-reset`). */
async function untilEpoch(epochSeconds: number): Promise<void> {
  const wait = epochSeconds * 1000 - Date.now();
  if (wait > 0) await sleep(wait + 20);
}

describe('primary rate limit', () => {
  it('counts down exactly under 50 concurrent requests: remaining is a permutation of limit-1 … limit-50', async () => {
    const base = await listen({ limit: 1000 });
    const before = Date.now();
    const replies = await atOnce(base, '/repos/octo/spoon', 'count-down', 50);
    const afterMs = Date.now();
    assert.deepEqual(replies.map((r) => r.status), Array(50).fill(200));
    const rates = replies.map(rate);
    assert.deepEqual(
      rates.map((r) => r.remaining).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => 950 + i),
    );
    for (const r of rates) {
      assert.equal(r.limit, 1000);
      assert.equal(r.used, 1000 - r.remaining);
      assert.equal(r.resource, 'core');
      assert.equal(r.reset, rates[0]!.reset, 'one window: one reset time');
    }
    // The window starts at the first request and lasts the default hour; reset is rounded up to a second.
    assert.ok(
      rates[0]!.reset >= Math.ceil((before + 3_600_000) / 1000) &&
        rates[0]!.reset <= Math.ceil((afterMs + 3_600_000) / 1000),
    );
  });

  it("trips at exactly the limit under concurrency, with GitHub's body naming the user; other tokens are " +
      "not affected", async () => {
    const base = await listen({ limit: 21, abuse_strikes: 0 });
    const user = await call<{ id: number; login: string }>(base, '/user', { token: 'tripper' });
    assert.equal(user.status, 200);
    const replies = await atOnce<{ message: string; documentation_url: string }>(
      base,
      '/repos/octo/spoon/issues',
      'tripper',
      40,
    );
    assert.equal(replies.filter((r) => r.status === 200).length, 20);
    const refused = replies.filter((r) => r.status !== 200);
    assert.equal(refused.length, 20);
    for (const r of refused) {
      assert.equal(r.status, 403);
      assert.deepEqual(r.body, { message: `API rate limit exceeded for user ID ${user.body.id}.`, documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' });
      assert.deepEqual([rate(r).remaining, rate(r).used, rate(r).limit], [0, 21, 21]);
      assert.equal(r.headers.get('retry-after'), null);
    }
    assert.equal((await call(base, '/repos/octo/spoon', { token: 'someone-else' })).status, 200);
    assert.deepEqual(await stats(base), {
      requests: 42,
      limited: { primary: 20, secondary: 0 },
      blocked: 0,
      not_modified: 0,
    });
  });

  it('counts unauthenticated requests per client address against unauthenticated_limit; ' +
      'limited_status 429', async () => {
    const base = await listen({ unauthenticated_limit: 3, limited_status: 429 });
    for (let i = 1; i <= 3; i++) {
      const r = await call(base, '/repos/octo/spoon');
      assert.equal(r.status, 200);
      assert.deepEqual([rate(r).limit, rate(r).used], [3, i]);
    }
    const limited = await call<{ message: string }>(base, '/repos/octo/spoon');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.match(limited.body.message, /^API rate limit exceeded for 127\.0\.0\.1\. /);
    // A token has its own bucket and the authenticated limit.
    const authed = await call(base, '/repos/octo/spoon', { token: 't' });
    assert.deepEqual([authed.status, rate(authed).limit, rate(authed).used], [200, 5000, 1]);
  });

  it('GET /rate_limit does not count, and shows both buckets', async () => {
    const base = await listen({ limit: 10, search_limit: 4 });
    await call(base, '/repos/a/b', { token: 'r' });
    await call(base, '/search/issues?q=fix', { token: 'r' });
    for (let i = 0; i < 3; i++) {
      const r = await call<{
        resources: Record<string, { limit: number; used: number; remaining: number; reset: number }>;
        rate: unknown;
      }>(base, '/rate_limit', { token: 'r' });
      assert.equal(r.status, 200);
      assert.deepEqual(
        [r.body.resources['core']!.limit, r.body.resources['core']!.used, r.body.resources['core']!.remaining],
        [10, 1, 9],
      );
      assert.deepEqual(
        [r.body.resources['search']!.limit, r.body.resources['search']!.used, r.body.resources['search']!.remaining],
        [4, 1, 3],
      );
      assert.deepEqual(r.body.rate, r.body.resources['core']);
      assert.deepEqual([rate(r).used, rate(r).resource], [1, 'core']);
    }
  });

  it('resets after the window: a new window starts at the next request', async () => {
    const base = await listen({ limit: 2, window: '2s' });
    const first = await call(base, '/repos/a/b', { token: 'w' });
    await call(base, '/repos/a/b', { token: 'w' });
    const limited = await call(base, '/repos/a/b', { token: 'w' });
    assert.equal(limited.status, 403);
    assert.equal(rate(limited).reset, rate(first).reset);
    await untilEpoch(rate(limited).reset);
    const again = await call(base, '/repos/a/b', { token: 'w' });
    assert.equal(again.status, 200);
    assert.deepEqual([rate(again).used, rate(again).remaining], [1, 1]);
    assert.ok(rate(again).reset > rate(limited).reset);
  });

  it('search has a bucket of its own (x-ratelimit-resource: search)', async () => {
    const base = await listen({ limit: 100, search_limit: 2 });
    for (let i = 1; i <= 2; i++) {
      const r = await call(base, '/search/issues?q=fix', { token: 's' });
      assert.deepEqual([r.status, rate(r).resource, rate(r).limit, rate(r).used], [200, 'search', 2, i]);
    }
    const limited = await call(base, '/search/issues?q=fix', { token: 's' });
    assert.deepEqual([limited.status, rate(limited).resource, rate(limited).remaining], [403, 'search', 0]);
    const core = await call(base, '/repos/a/b', { token: 's' });
    assert.deepEqual([core.status, rate(core).resource, rate(core).used], [200, 'core', 1]);
  });
});

describe('conditional requests', () => {
  it('answers 304 without a body for a matching if-none-match, free of the primary limit, even when it ' +
      'is exhausted', async () => {
    const base = await listen({ limit: 2 });
    const first = await call(base, '/repos/octo/spoon/issues?per_page=5', { token: 'c' });
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^W\/"[0-9a-f]{40}"$/);
    for (const header of [etag!, etag!.slice(2), `"other", ${etag}`, '*']) {
      const again = await call(base, '/repos/octo/spoon/issues?per_page=5', {
        token: 'c',
        headers: { 'if-none-match': header },
      });
      assert.equal(again.status, 304, header);
      assert.equal(again.text, '');
      assert.equal(again.headers.get('etag'), etag);
      assert.deepEqual([rate(again).used, rate(again).remaining], [1, 1]);
    }
    assert.equal(
      (await call(base, '/repos/octo/spoon/issues?per_page=5', { token: 'c', headers: { 'if-none-match': '"stale"' } }))
        .status,
      200,
    );
    assert.equal((await call(base, '/repos/a/b', { token: 'c' })).status, 403);
    const stillFree = await call(base, '/repos/octo/spoon/issues?per_page=5', {
      token: 'c',
      headers: { 'if-none-match': etag! },
    });
    assert.deepEqual([stillFree.status, rate(stillFree).remaining], [304, 0]);
    assert.deepEqual(await stats(base), {
      requests: 8,
      limited: { primary: 1, secondary: 0 },
      blocked: 0,
      not_modified: 5,
    });
  });

  it('keeps the etag for the same content and changes it when the content changes', async () => {
    const base = await listen();
    const a = await call(base, '/repos/octo/spoon/issues', { token: 'e' });
    const b = await call(base, '/repos/octo/spoon/issues', { token: 'e' });
    assert.equal(a.headers.get('etag'), b.headers.get('etag'));
    assert.equal(
      (await call(base, '/repos/octo/spoon/issues', { token: 'e', method: 'POST', body: { title: 'New thing' } }))
        .status,
      201,
    );
    const c = await call(base, '/repos/octo/spoon/issues', {
      token: 'e',
      headers: { 'if-none-match': a.headers.get('etag')! },
    });
    assert.equal(c.status, 200);
    assert.notEqual(c.headers.get('etag'), a.headers.get('etag'));
  });
});

describe('secondary rate limits', () => {
  it('concurrency: requests beyond the limit in flight get retry-after and the secondary message; primary quota ' +
      'is untouched', async () => {
    const base = await listen({ concurrency: 3, latency: '300ms', retry_after: '2s', abuse_strikes: 0 });
    const replies = await atOnce<{ message: string; documentation_url: string }>(base, '/repos/a/b', 'k', 5);
    assert.equal(replies.filter((r) => r.status === 200).length, 3);
    const refused = replies.filter((r) => r.status !== 200);
    assert.equal(refused.length, 2);
    for (const r of refused) {
      assert.equal(r.status, 403);
      assert.equal(r.body.message, SECONDARY_MESSAGE);
      assert.match(r.body.message, /secondary rate limit/);
      assert.equal(r.body.documentation_url, 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits');
      assert.equal(r.headers.get('retry-after'), '2');
      assert.ok(rate(r).used <= 3, 'a refused request is not counted');
    }
    // Inside the retry-after every request is refused, with the seconds that are left; nothing was counted.
    const inside = await call(base, '/repos/a/b', { token: 'k' });
    assert.equal(inside.status, 403);
    assert.ok(
      ['1', '2'].includes(inside.headers.get('retry-after')!),
      `retry-after ${inside.headers.get('retry-after')}`,
    );
    assert.equal(rate(inside).used, 3);
    await sleep(Number(inside.headers.get('retry-after')) * 1000);
    const later = await call(base, '/repos/a/b', { token: 'k' });
    assert.deepEqual([later.status, rate(later).used], [200, 4]);
    const s = await stats(base);
    assert.deepEqual([s.requests, s.limited.secondary, s.limited.primary], [7, 3, 0]);
  });

  it('points: GET costs 1 and POST 5 per points window; secondary_status 429', async () => {
    const base = await listen({ points: 10, retry_after: '1s', secondary_status: 429, abuse_strikes: 0 });
    for (let i = 0; i < 10; i++) assert.equal((await call(base, '/repos/a/b', { token: 'p1' })).status, 200);
    const eleventh = await call<{ message: string }>(base, '/repos/a/b', { token: 'p1' });
    assert.deepEqual(
      [eleventh.status, eleventh.headers.get('retry-after'), eleventh.body.message],
      [429, '1', SECONDARY_MESSAGE],
    );
    assert.equal(rate(eleventh).used, 10);

    for (let i = 0; i < 5; i++) assert.equal((await call(base, '/repos/a/b', { token: 'p2' })).status, 200);
    assert.equal(
      (await call(base, '/repos/a/b/issues', { token: 'p2', method: 'POST', body: { title: 'five points' } })).status,
      201,
    );
    const full = await call(base, '/repos/a/b', { token: 'p2' });
    assert.deepEqual([full.status, full.headers.get('retry-after')], [429, '1']);
  });

  it('content creation: content_limit POSTs per window, then GitHub\'s content message; reads still work', async () => {
    const base = await listen({ content_limit: 2, retry_after: '5s', abuse_strikes: 0 });
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await call(base, '/repos/a/b/issues', { token: 'w', method: 'POST', body: { title: `issue ${i}` } })).status,
        201,
      );
    const third = await call<{ message: string }>(base, '/repos/a/b/issues', {
      token: 'w',
      method: 'POST',
      body: { title: 'one too many' },
    });
    assert.deepEqual([third.status, third.headers.get('retry-after'), third.body.message], [403, '5', CONTENT_MESSAGE]);
    assert.match(third.body.message, /secondary rate limit/);
    assert.equal((await call(base, '/repos/a/b/issues', { token: 'w' })).status, 200);
    assert.equal(
      (await call(base, '/repos/a/b/issues', { token: 'w', method: 'POST', body: { title: 'still too soon' } })).status,
      403,
    );
    assert.equal(
      (await call(base, '/repos/a/b/issues', { token: 'other', method: 'POST', body: { title: 'someone else' } }))
        .status,
      201,
    );
  });
});

describe('abuse detection', () => {
  it('blocks a client that keeps sending while primary-limited, for abuse_block, with retry-after = the ' +
      'seconds left', async () => {
    const base = await listen({ limit: 1, abuse_strikes: 3, abuse_block: '2s', abuse_grace: '0s' });
    assert.equal((await call(base, '/repos/a/b', { token: 'greedy' })).status, 200);
    // The first refusal tells the client; the next three are strikes, and the third strike starts the block.
    for (let i = 0; i < 4; i++) {
      const r = await call<{ message: string }>(base, '/repos/a/b', { token: 'greedy' });
      assert.equal(r.status, 403);
      assert.match(r.body.message, /^API rate limit exceeded/);
    }
    const blockedAt = Date.now();
    const blocked = await call<{ message: string }>(base, '/rate_limit', { token: 'greedy' });
    assert.deepEqual(
      [blocked.status, blocked.body.message, blocked.headers.get('retry-after')],
      [403, SECONDARY_MESSAGE, '2'],
    );
    assert.equal((await call(base, '/repos/a/b', { token: 'patient' })).status, 200, 'other tokens are not blocked');
    await sleep(1100 - (Date.now() - blockedAt));
    const stillBlocked = await call<{ message: string }>(base, '/repos/a/b', { token: 'greedy' });
    assert.deepEqual(
      [stillBlocked.status, stillBlocked.body.message, stillBlocked.headers.get('retry-after')],
      [403, SECONDARY_MESSAGE, '1'],
    );
    await sleep(2050 - (Date.now() - blockedAt));
    const afterBlock = await call<{ message: string }>(base, '/repos/a/b', { token: 'greedy' });
    assert.match(
      afterBlock.body.message,
      /^API rate limit exceeded/,
      'the block is over; the primary limit is still exhausted',
    );
    assert.deepEqual(await stats(base), {
      requests: 9,
      limited: { primary: 5, secondary: 0 },
      blocked: 2,
      not_modified: 0,
    });
  });

  it('forgives refusals within abuse_grace of the first refused answer (requests already on their way), then ' +
      'counts strikes', async () => {
    const base = await listen({ limit: 5, abuse_strikes: 2, abuse_grace: '300ms', abuse_block: '1min' });
    const burst = await atOnce<{ message: string }>(base, '/repos/a/b', 'burst', 15);
    assert.deepEqual(
      [burst.filter((r) => r.status === 200).length, burst.filter((r) => r.status === 403).length],
      [5, 10],
    );
    assert.ok(
      burst.filter((r) => r.status === 403).every((r) => r.body.message.startsWith('API rate limit exceeded')),
      'ten refusals at once, and no block',
    );
    await sleep(350);
    for (let strike = 1; strike <= 2; strike++)
      assert.match(
        (await call<{ message: string }>(base, '/repos/a/b', { token: 'burst' })).body.message,
        /^API rate limit exceeded/,
      );
    const blocked = await call<{ message: string }>(base, '/repos/a/b', { token: 'burst' });
    assert.deepEqual(
      [blocked.status, blocked.body.message, blocked.headers.get('retry-after')],
      [403, SECONDARY_MESSAGE, '60'],
    );
    assert.deepEqual(await stats(base), {
      requests: 18,
      limited: { primary: 12, secondary: 0 },
      blocked: 1,
      not_modified: 0,
    });
  });

  it('blocks a client that keeps sending inside a secondary retry-after; the request that trips it is ' +
      'not a strike', async () => {
    const base = await listen({
      points: 2,
      retry_after: '5s',
      abuse_strikes: 2,
      abuse_block: '1min',
      abuse_grace: '0s',
    });
    await call(base, '/repos/a/b', { token: 'h' });
    await call(base, '/repos/a/b', { token: 'h' });
    const statuses: [number, string | null][] = [];
    for (let i = 0; i < 4; i++) {
      const r = await call<{ message: string }>(base, '/repos/a/b', { token: 'h' });
      statuses.push([r.status, r.headers.get('retry-after')]);
    }
    assert.deepEqual(statuses, [
      [403, '5'],
      [403, '5'],
      [403, '5'],
      [403, '60'],
    ]);
    assert.deepEqual(await stats(base), {
      requests: 6,
      limited: { primary: 0, secondary: 3 },
      blocked: 1,
      not_modified: 0,
    });
  });
});

describe('REST surface', () => {
  it('paginates issues with GitHub\'s link header: only the relations that apply, per_page carried', async () => {
    const base = await listen({ issues: 65 });
    const href = (page: number, perPage = 30): string =>
      `<${base}/repos/o/r/issues?state=all&per_page=${perPage}&page=${page}>`;
    const p1 = await call<{ number: number }[]>(base, '/repos/o/r/issues?state=all');
    assert.deepEqual(p1.body.map((i) => i.number), Array.from({ length: 30 }, (_, i) => 65 - i));
    assert.equal(p1.headers.get('link'), `${href(2)}; rel="next", ${href(3)}; rel="last"`);
    const p2 = await call<{ number: number }[]>(base, '/repos/o/r/issues?state=all&page=2');
    assert.equal(
      p2.headers.get('link'),
      `${href(3)}; rel="next", ${href(3)}; rel="last", ${href(1)}; rel="first", ${href(1)}; rel="prev"`,
    );
    const p3 = await call<{ number: number }[]>(base, '/repos/o/r/issues?state=all&page=3');
    assert.deepEqual(p3.body.map((i) => i.number), [5, 4, 3, 2, 1]);
    assert.equal(p3.headers.get('link'), `${href(1)}; rel="first", ${href(2)}; rel="prev"`);
    const one = await call<unknown[]>(base, '/repos/o/r/issues?state=all&per_page=100');
    assert.deepEqual([one.body.length, one.headers.get('link')], [65, null]);
    const clamped = await call<unknown[]>(base, '/repos/o/r/issues?state=all&per_page=500');
    assert.deepEqual([clamped.body.length, clamped.headers.get('link')], [65, null]);
    const small = await call<unknown[]>(base, '/repos/o/r/issues?state=all&per_page=20&page=2');
    assert.equal(
      small.headers.get('link'),
      `${href(3, 20)}; rel="next", ${href(4, 20)}; rel="last", ${href(1, 20)}; rel="first", ${href(1, 20)}; rel="prev"`,
    );

    const open = await call<{ state: string }[]>(base, '/repos/o/r/issues?per_page=100');
    const closed = await call<{ state: string }[]>(base, '/repos/o/r/issues?state=closed&per_page=100');
    assert.ok(open.body.every((i) => i.state === 'open') && closed.body.every((i) => i.state === 'closed'));
    assert.ok(open.body.length > 0 && closed.body.length > 0);
    assert.equal(open.body.length + closed.body.length, 65);

    const pulls = await call<{ number: number; head: { ref: string } }[]>(base, '/repos/o/r/pulls?state=all');
    assert.equal(pulls.body.length, 30);
    assert.equal(pulls.body[0]!.number, 65 + 45);
    assert.equal(
      pulls.headers.get('link'),
      `<${base}/repos/o/r/pulls?state=all&per_page=30&page=2>; rel="next", ` +
        `<${base}/repos/o/r/pulls?state=all&per_page=30&page=2>; rel="last"`,
    );
  });

  it('search: a title match over the repo in q, {total_count, incomplete_results, items}, paginated', async () => {
    const base = await listen();
    const all = await call<{
      total_count: number;
      incomplete_results: boolean;
      items: { title: string; number: number }[];
    }>(base, '/search/issues?q=fix+repo:octo/spoon&per_page=100');
    assert.equal(all.status, 200);
    assert.equal(all.body.incomplete_results, false);
    assert.ok(all.body.total_count > 5);
    assert.equal(all.body.items.length, Math.min(100, all.body.total_count));
    assert.ok(all.body.items.every((i) => /fix/i.test(i.title)));
    const page = await call<{ total_count: number; items: unknown[] }>(
      base,
      '/search/issues?q=fix+repo:octo/spoon&per_page=5',
    );
    assert.deepEqual([page.body.total_count, page.body.items.length], [all.body.total_count, 5]);
    assert.match(page.headers.get('link') ?? '', /per_page=5&page=2>; rel="next"/);
    const missing = await call<{ message: string }>(base, '/search/issues');
    assert.deepEqual([missing.status, missing.body.message], [422, 'Validation Failed']);
  });

  it('serves stable data derived from the names and the seed', async () => {
    const [a, b, other] = [await listen({ seed: 7 }), await listen({ seed: 7 }), await listen({ seed: 8 })];
    // The URLs in the data point at the mock itself; everything else must be equal.
    const repo = async (base: string): Promise<{ id: number; full_name: string; owner: { login: string } }> =>
      JSON.parse((await call(base, '/repos/Octo/Spoon')).text.replaceAll(base, 'BASE')) as {
        id: number;
        full_name: string;
        owner: { login: string };
      };
    assert.deepEqual(await repo(a), await repo(b));
    assert.notEqual((await repo(a)).id, (await repo(other)).id);
    assert.deepEqual([(await repo(a)).full_name, (await repo(a)).owner.login], ['Octo/Spoon', 'Octo']);
    const titles = async (base: string): Promise<string[]> =>
      (await call<{ title: string }[]>(base, '/repos/octo/spoon/issues?state=all&per_page=100')).body.map(
        (i) => i.title,
      );
    assert.deepEqual(await titles(a), await titles(b));
    const list = await call<{ number: number }[]>(a, '/repos/octo/spoon/issues?state=all');
    const single = await call<{ number: number }>(a, `/repos/octo/spoon/issues/${list.body[3]!.number}`);
    assert.deepEqual(single.body, list.body[3]);
    assert.equal((await call(a, '/repos/octo/spoon/issues/999')).status, 404);
  });

  it('creates issues for a token (201, kept), refuses without one (401) and without a title (422)', async () => {
    const base = await listen({ issues: 10 });
    const me = await call<{ login: string; id: number }>(base, '/user', { token: 'maker' });
    assert.equal(me.status, 200);
    const created = await call<{ number: number; title: string; body: string; state: string; user: { login: string } }>(
      base,
      '/repos/o/r/issues',
      { token: 'maker', method: 'POST', body: { title: 'Broken build', body: 'details' } },
    );
    assert.equal(created.status, 201);
    assert.deepEqual(
      [created.body.number, created.body.title, created.body.body, created.body.state, created.body.user.login],
      [10 + 45 + 1, 'Broken build', 'details', 'open', me.body.login],
    );
    assert.equal(created.headers.get('location'), `${base}/repos/o/r/issues/56`);
    assert.deepEqual((await call(base, '/repos/o/r/issues/56')).body, created.body);
    assert.equal((await call<{ number: number }[]>(base, '/repos/o/r/issues')).body[0]!.number, 56);

    const anonymous = await call<{ message: string }>(base, '/repos/o/r/issues', {
      method: 'POST',
      body: { title: 'x' },
    });
    assert.deepEqual([anonymous.status, anonymous.body.message], [401, 'Requires authentication']);
    const untitled = await call<{ message: string; errors: unknown[] }>(base, '/repos/o/r/issues', {
      token: 'maker',
      method: 'POST',
      body: { body: 'no title' },
    });
    assert.deepEqual(
      [untitled.status, untitled.body.message, untitled.body.errors],
      [422, 'Validation Failed', [{ resource: 'Issue', code: 'missing_field', field: 'title' }]],
    );
    assert.equal(
      (await call(base, '/repos/o/r/issues', { token: 'maker', method: 'POST', body: 'not json' })).status,
      400,
    );
  });

  it('GET /user needs a token: 401 with GitHub\'s body; the same token is the same user', async () => {
    const base = await listen();
    const anonymous = await call<{ message: string; documentation_url: string }>(base, '/user');
    assert.deepEqual([anonymous.status, anonymous.body.message], [401, 'Requires authentication']);
    assert.match(anonymous.body.documentation_url, /^https:\/\/docs\.github\.com\//);
    const one = await call<{ id: number; login: string }>(base, '/user', { headers: { authorization: 'Bearer same' } });
    const two = await call<{ id: number; login: string }>(base, '/user', { token: 'same' });
    assert.deepEqual(one.body, two.body);
    assert.equal(rate(two).used, 2, 'token X and Bearer X are one identity');
    assert.equal((await call(base, '/user', { headers: { authorization: 'Basic abc' } })).status, 401);
  });

  it('answers unknown routes 404 with GitHub\'s body, counted against the primary limit', async () => {
    const base = await listen();
    for (const [method, path] of [['GET', '/nope'], ['DELETE', '/repos/a/b'], ['GET', '/repos/a']]) {
      const r = await call(base, path!, { method: method!, token: 'lost' });
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    assert.equal(rate(await call(base, '/nope', { token: 'lost' })).used, 4);
  });

  it('error_rate fails admitted requests with 500 or 502 (never /rate_limit); latency delays answers', async () => {
    const failing = await listen({ error_rate: '100%' });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) statuses.add((await call(failing, '/repos/a/b')).status);
    assert.deepEqual([...statuses].sort(), [500, 502]);
    assert.equal((await call(failing, '/rate_limit')).status, 200);
    const slow = await listen({ latency: '80ms' });
    const begun = performance.now();
    assert.equal((await call(slow, '/repos/a/b')).status, 200);
    assert.ok(performance.now() - begun >= 75);
  });
});

describe('RateLimiter, given the time', () => {
  const settings = (options: Record<string, unknown>): GithubMockSettings => parseGithubMockOptions(options).settings;
  const get = { resource: 'core', free: false, primary: true, points: 1, content: false } as const;
  const token = { key: 'token t', authenticated: true };

  it('a fixed window from the first counted request, ending exactly `window` later; reset in ' +
      'seconds rounded up', () => {
    const limiter = new RateLimiter(settings({ limit: 2, window: '10s' }));
    const start = 1_700_000_000_250;
    const first = limiter.admit(token, get, start);
    assert.deepEqual(first.outcome === 'admitted' && first.rate, {
      limit: 2,
      used: 1,
      remaining: 1,
      reset: 1_700_000_011,
      resource: 'core',
    });
    limiter.admit(token, get, start + 5_000);
    assert.equal(limiter.admit(token, get, start + 9_999).outcome, 'primary');
    const next = limiter.admit(token, get, start + 10_000);
    assert.deepEqual(next.outcome === 'admitted' && [next.rate.used, next.rate.reset], [1, 1_700_000_021]);
  });

  it('a 304 (primary: false) is admitted with an exhausted window and counts nothing', () => {
    const limiter = new RateLimiter(settings({ limit: 1 }));
    limiter.admit(token, get, 0);
    const free = limiter.admit(token, { ...get, primary: false }, 1);
    assert.deepEqual(free.outcome === 'admitted' && [free.rate.used, free.rate.remaining], [1, 0]);
  });

  it('an abuse block lasts exactly abuse_block from the strike that starts it', () => {
    const limiter = new RateLimiter(settings({ limit: 1, abuse_strikes: 2, abuse_grace: '500ms', abuse_block: '30s' }));
    limiter.admit(token, get, 0);
    const outcomes = [100, 200, 700, 800].map((t) => limiter.admit(token, get, t));
    assert.deepEqual(
      outcomes.map((v) => [v.outcome, v.outcome === 'primary' && v.strike]),
      [
        ['primary', false],
        ['primary', false],
        ['primary', true],
        ['primary', true],
      ],
    );
    const blocked = limiter.admit(token, get, 800 + 29_999);
    assert.deepEqual(blocked.outcome === 'blocked' && blocked.retryAfterS, 1);
    assert.equal(limiter.admit(token, get, 800 + 30_000).outcome, 'primary');
    assert.equal(limiter.admit({ key: 'token u', authenticated: true }, get, 900).outcome, 'admitted');
  });

  it('the grace counts from when the first refused answer is written: its latency delay is added', () => {
    const limiter = new RateLimiter(
      settings({ points: 1, retry_after: '10s', abuse_strikes: 1, abuse_grace: '100ms' }),
    );
    limiter.admit(token, get, 0);
    const trip = limiter.admit(token, get, 1000, 400);
    assert.deepEqual(trip.outcome === 'secondary' && [trip.kind, trip.strike], ['points', false]);
    const early = limiter.admit(token, get, 1499);
    assert.deepEqual(early.outcome === 'secondary' && [early.kind, early.strike], ['retry-after', false]);
    const late = limiter.admit(token, get, 1500);
    assert.deepEqual(late.outcome === 'secondary' && late.strike, true);
    assert.equal(limiter.admit(token, get, 1501).outcome, 'blocked');
  });

  it('a request in flight holds its concurrency slot until released (once, however often release is called)', () => {
    const limiter = new RateLimiter(settings({ concurrency: 1, retry_after: '1s' }));
    const first = limiter.admit(token, get, 0);
    assert.equal(first.outcome, 'admitted');
    const refused = limiter.admit(token, get, 0);
    assert.deepEqual(refused.outcome === 'secondary' && [refused.kind, refused.retryAfterS], ['concurrency', 1]);
    if (first.outcome === 'admitted') [first.release, first.release].forEach((release) => release());
    assert.equal(limiter.admit(token, get, 999).outcome, 'secondary', 'inside the retry-after');
    const again = limiter.admit(token, get, 1000);
    assert.equal(again.outcome, 'admitted');
    assert.equal(limiter.admit(token, get, 1000).outcome, 'secondary', 'one slot, taken again');
  });
});

describe('RateLimiter under a time scale (perfy run --time-scale)', () => {
  const scaled = (options: Record<string, unknown>, factor: number): GithubMockSettings =>
    scaleGithubMockSettings(parseGithubMockOptions(options).settings, factor);
  const get = { resource: 'core', free: false, primary: true, points: 1, content: false } as const;
  const token = { key: 'token t', authenticated: true };

  it('divides every window, limit and block, the grace too, but not the latency', () => {
    const options = {
      window: '1min', search_window: '30s', points_window: '20s', content_window: '10s', retry_after: '60s',
      abuse_block: '5min', abuse_grace: '500ms', latency: '5ms',
    };
    const s = scaled(options, 10);
    assert.deepEqual(
      [s.windowMs, s.searchWindowMs, s.pointsWindowMs, s.contentWindowMs, s.retryAfterS, s.abuseBlockMs, s.abuseGraceMs,
        s.latency],
      [6_000, 3_000, 2_000, 1_000, 6, 30_000, 50, { minMs: 5, maxMs: 5 }],
    );
    assert.deepEqual(scaled(options, 1), parseGithubMockOptions(options).settings);
  });

  it('a window of 1min at 10x ends after 6 s, and its reset header says so in whole seconds, rounded up', () => {
    const limiter = new RateLimiter(scaled({ limit: 1, window: '1min' }, 10));
    const start = 1_700_000_000_250;
    const first = limiter.admit(token, get, start);
    assert.deepEqual(first.outcome === 'admitted' && first.rate.reset, 1_700_000_007);
    assert.equal(limiter.admit(token, get, start + 5_999).outcome, 'primary');
    assert.equal(limiter.admit(token, get, start + 6_000).outcome, 'admitted');
  });

  it('retry-after is the scaled duration in whole seconds rounded up, at least 1: a polite client ' +
      'is never early', () => {
    const sixty = new RateLimiter(scaled({ points: 1, retry_after: '60s', abuse_strikes: 0 }, 10));
    sixty.admit(token, get, 0);
    const trip = sixty.admit(token, get, 10);
    assert.deepEqual(trip.outcome === 'secondary' && [trip.kind, trip.retryAfterS], ['points', 6]);
    const one = new RateLimiter(scaled({ points: 1, points_window: '1s', retry_after: '1s', abuse_strikes: 0 }, 10));
    one.admit(token, get, 0);
    const short = one.admit(token, get, 10);
    assert.deepEqual(short.outcome === 'secondary' && short.retryAfterS, 1, '100 ms is said as 1 s');
    assert.equal(one.admit(token, get, 110).outcome, 'admitted', 'the limit itself lasted 100 ms');
  });
});

describe('options', () => {
  it('defaults are the documented ones', () => {
    const defaults = defaultGithubMockSettings();
    assert.deepEqual(
      [
        defaults.limit, defaults.unauthenticatedLimit, defaults.windowMs, defaults.searchLimit, defaults.searchWindowMs,
        defaults.concurrency, defaults.points, defaults.pointsWindowMs, defaults.contentLimit, defaults.contentWindowMs,
        defaults.retryAfterS, defaults.abuseStrikes, defaults.abuseBlockMs, defaults.abuseGraceMs,
        defaults.limitedStatus, defaults.secondaryStatus, defaults.issues, defaults.seed, defaults.host,
      ],
      [
        5000, 60, 3_600_000, 30, 60_000, 100, 900, 60_000, 80, 60_000, 60, 5, 300_000, 500, 403, 403, 120, 1,
        '127.0.0.1',
      ],
    );
  });

  it('collects every problem: unknown names (with the closest name) and malformed values', () => {
    const { problems } = parseGithubMockOptions({
      limt: 5,
      window: 10,
      retry_after: '1.5s',
      limited_status: 404,
      latency: '9ms..1ms',
      error_rate: 2,
      search_window: '500ms',
      issues: -1,
    });
    assert.deepEqual(
      problems.map((p) => p.name),
      ['limt', 'window', 'retry_after', 'limited_status', 'latency', 'error_rate', 'search_window', 'issues'],
    );
    assert.match(problems[0]!.message, /did you mean "limit"\?/);
  });

  it('every option has a kebab-case flag, and the flags for the child process read back as the same settings', () => {
    for (const name of GITHUB_MOCK_OPTION_NAMES)
      assert.equal(GITHUB_MOCK_OPTIONS[name].flag, name.replaceAll('_', '-'));
    const given = { limit: 7, window: '2s', latency: '1ms..3ms', error_rate: '1%', retry_after: '3s', host: '0.0.0.0' };
    const flags = githubMockFlags(given);
    const byFlag: Record<string, string> = {};
    for (let i = 0; i < flags.length; i += 2) byFlag[flags[i]!.slice(2)] = flags[i + 1]!;
    assert.deepEqual(parseGithubMockOptions(byFlag, 'flag').settings, parseGithubMockOptions(given).settings);
  });
});

describe('the github-mock service', () => {
  const context = { scenarioDir: temp.dir, logDir: join(temp.dir, 'logs') };

  it('starts as a child process through startService, is limited as configured, and collect() ' +
      'reads its stats', async () => {
    const mock = await startService('gh', { builtin: 'github-mock', options: { limit: 2, window: '1min' } }, context);
    services.push(mock);
    assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(typeof mock.pid === 'number' && mock.pid !== process.pid);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await call(mock.url, '/repos/a/b', { token: 'svc' }));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 403]);
    const etag = replies[0]!.headers.get('etag')!;
    assert.equal(
      (await call(mock.url, '/repos/a/b', { token: 'svc', headers: { 'if-none-match': etag } })).status,
      304,
    );
    assert.deepEqual(await mock.collect!(), [
      { name: 'github_mock.requests', type: 'counter', tags: { service: 'gh' }, value: 4 },
      { name: 'github_mock.limited', type: 'counter', tags: { service: 'gh', kind: 'primary' }, value: 1 },
      { name: 'github_mock.limited', type: 'counter', tags: { service: 'gh', kind: 'secondary' }, value: 0 },
      { name: 'github_mock.blocked', type: 'counter', tags: { service: 'gh' }, value: 0 },
      { name: 'github_mock.not_modified', type: 'counter', tags: { service: 'gh' }, value: 1 },
    ]);
    await mock.stop();
    await assert.rejects(fetch(`${mock.url}/_mock/stats`));
    await assert.rejects(mock.collect!());
  });

  it('refuses a bad or unknown option with E_SERVICE_START and a hint, before starting anything', async () => {
    for (const [options, hint] of [
      [{ window: '10' }, /window: length of the core window/],
      [{ limt: 10 }, /the GitHub mock's options are limit, unauthenticated_limit/],
    ] as const) {
      const error = await startService('gh', { builtin: 'github-mock', options }, context).then(
        () => assert.fail('it started'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PerfyError);
      assert.equal(error.code, 'E_SERVICE_START');
      assert.match(error.problems[0]!.hint ?? '', hint);
    }
  });

  it('passes the run\'s time scale to the process: a window of 1h at --time-scale 3600 lasts 1 s', async () => {
    const config = { builtin: 'github-mock', options: { limit: 1, window: '1h' } } as const;
    const mock = await startService('gh', config, { ...context, timeScale: 3600 });
    services.push(mock);
    const first = await call(mock.url, '/repos/a/b', { token: 'scaled' });
    assert.equal(first.status, 200);
    assert.ok(rate(first).reset <= Math.ceil(Date.now() / 1000) + 1, `reset ${rate(first).reset} is within a second`);
    assert.equal((await call(mock.url, '/repos/a/b', { token: 'scaled' })).status, 403);
    await sleep(Math.max(0, rate(first).reset * 1000 - Date.now()) + 50);
    assert.equal((await call(mock.url, '/repos/a/b', { token: 'scaled' })).status, 200, 'a new window after the reset');
    await mock.stop();
  });

  it('the process alone exits 2 on a bad flag', () => {
    const result = spawnSync(process.execPath, [GITHUB_MOCK_MAIN, '--limit', 'many'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--limit "many" must be a whole number/);
  });
});

describe('perfy mock github', () => {
  it('serves in the foreground, prints its URL, and stops with exit code 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [PERFY_BIN, 'mock', 'github', '--port', '0', '--limit', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!out.includes('\n') && Date.now() < deadline) await sleep(20);
    const { url } = JSON.parse(out.split('\n')[0]!) as { url: string };
    assert.equal((await call(url, '/repos/a/b', { token: 'cli' })).status, 200);
    assert.equal((await call(url, '/repos/a/b', { token: 'cli' })).status, 403);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  it('reports bad flags as E_USAGE with a hint, exit code 2', () => {
    const result = spawnSync(process.execPath, [PERFY_BIN, 'mock', 'github', '--window', '10', '--limit', 'x'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(result.status, 2);
    assert.deepEqual([...result.stderr.matchAll(/^E_USAGE {2}(--\S+)/gm)].map((m) => m[1]), ['--limit', '--window']);
    assert.match(result.stderr, /hint: /);
  });
});
