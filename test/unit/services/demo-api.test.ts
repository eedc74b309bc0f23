// The demo API (fixtures/demo-api/server.mjs): routes, status codes, JSON shapes, /__stats, injected errors,
// latency and seeded data, in process on port 0, plus the standalone script's one-line handshake.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { demoApiFlags } from '../../../engine/services/demo-api.js';

interface DemoApiOptions {
  latency?: string | number;
  errorRate?: number | string;
  seed?: number;
}
interface DemoApiModule {
  createDemoApi(options?: DemoApiOptions): Server;
}
interface Summary {
  id: number;
  topic: string;
  title: string;
  votes: { pro: number; con: number };
}
interface Page<T> {
  items: T[];
  page: number;
  total: number;
  next: number | null;
}
interface Stats {
  requests: number;
  by_route: Record<string, number>;
  by_status: Record<string, number>;
}

const SERVER_PATH = join(PACKAGE_ROOT, 'fixtures', 'demo-api', 'server.mjs');
const { createDemoApi } = (await import(pathToFileURL(SERVER_PATH).href)) as DemoApiModule;

const servers: Server[] = [];

async function listen(options: DemoApiOptions = {}): Promise<string> {
  const server = createDemoApi(options);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function call<T = unknown>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; raw?: string } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    ...(init.raw !== undefined
      ? { body: init.raw }
      : init.body !== undefined
        ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }
        : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

describe('demo API routes', () => {
  let base = '';
  before(async () => {
    base = await listen({ seed: 1 });
  });

  it('GET /health answers 200 {status: ok} as JSON over keep-alive', async () => {
    const res = await call<{ status: string }>(base, '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('connection'), 'keep-alive');
  });

  it('GET /debates lists debates of a topic, 20 a page from page 0, with total and next', async () => {
    const first = await call<Page<Summary>>(base, '/debates?topic=climate');
    assert.equal(first.status, 200);
    assert.equal(first.body.page, 0);
    assert.ok(first.body.total >= 12);
    assert.ok(first.body.items.length > 0 && first.body.items.length <= 20);
    for (const d of first.body.items) {
      assert.equal(d.topic, 'climate');
      assert.deepEqual(Object.keys(d).sort(), ['id', 'title', 'topic', 'votes']);
      assert.equal(typeof d.id, 'number');
      assert.equal(typeof d.votes.pro, 'number');
      assert.equal(typeof d.votes.con, 'number');
    }
    const all = await call<Page<Summary>>(base, '/debates');
    assert.equal(all.body.total, 60);
    assert.equal(all.body.items.length, 20);
    assert.equal(all.body.next, 1);
    const last = await call<Page<Summary>>(base, '/debates?page=2');
    assert.equal(last.body.items.length, 20);
    assert.equal(last.body.next, null);
    const beyond = await call<Page<Summary>>(base, '/debates?page=9');
    assert.deepEqual([beyond.status, beyond.body.items.length, beyond.body.next], [200, 0, null]);
    const small = await call<Page<Summary>>(base, '/debates?page_size=7&page=1');
    assert.deepEqual([small.body.items.length, small.body.items[0]?.id, small.body.next], [7, 8, 2]);
  });

  it('every scenario topic has debates; an unknown topic has none', async () => {
    for (const topic of ['ai-safety', 'climate', 'economy']) {
      assert.ok((await call<Page<Summary>>(base, `/debates?topic=${topic}`)).body.items.length > 0, topic);
    }
    const none = await call<Page<Summary>>(base, '/debates?topic=astrology');
    assert.deepEqual([none.status, none.body.total, none.body.items], [200, 0, []]);
  });

  it('GET /debates rejects a malformed page or page size with 400', async () => {
    for (const query of ['page=-1', 'page=abc', 'page_size=0', 'page_size=101', 'page=1.5']) {
      const res = await call<{ error: string }>(base, `/debates?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(typeof res.body.error, 'string');
    }
  });

  it('GET /debates/:id answers 200 with the detail, 404 for an unknown id', async () => {
    const res = await call<Summary & { created_at: string; comments: number }>(base, '/debates/5');
    assert.equal(res.status, 200);
    assert.equal(res.body.id, 5);
    assert.ok(!Number.isNaN(Date.parse(res.body.created_at)));
    assert.equal(typeof res.body.comments, 'number');
    assert.equal((await call(base, '/debates/9999')).status, 404);
    assert.equal((await call(base, '/debates/abc')).status, 404);
    assert.equal((await call(base, '/debates/%E0%A4%A')).status, 404);
  });

  it('GET /debates/:id/comments pages 10 at a time from page 0', async () => {
    const detail = (await call<{ comments: number }>(base, '/debates/1')).body;
    const pages: number[] = [];
    let page: number | null = 0;
    let seen = 0;
    while (page !== null) {
      const res: {
        status: number;
        body: Page<{ id: number; debate: number; author: string; text: string; created_at: string }>;
      } = await call(base, `/debates/1/comments?page=${page}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.page, page);
      assert.ok(res.body.items.length <= 10);
      for (const c of res.body.items)
        assert.deepEqual([c.debate, typeof c.author, typeof c.text], [1, 'string', 'string']);
      seen += res.body.items.length;
      pages.push(page);
      page = res.body.next;
    }
    assert.equal(seen, detail.comments);
    assert.equal(pages.length, Math.max(1, Math.ceil(detail.comments / 10)));
    const empty = await call<Page<unknown>>(base, '/debates/1/comments?page=50');
    assert.deepEqual([empty.status, empty.body.items, empty.body.next], [200, [], null]);
    assert.equal((await call(base, '/debates/9999/comments')).status, 404);
  });

  it('POST /debates creates a debate (201, location) that can be read back; bad bodies get 400', async () => {
    const created = await call<Summary>(base, '/debates', {
      method: 'POST',
      body: { topic: 'climate', title: 'Evening debate by User 1' },
    });
    assert.equal(created.status, 201);
    assert.ok(created.body.id > 60);
    assert.deepEqual(created.body.votes, { pro: 0, con: 0 });
    assert.equal(created.headers.get('location'), `/debates/${created.body.id}`);
    const read = await call<Summary>(base, `/debates/${created.body.id}`);
    assert.deepEqual([read.status, read.body.title, read.body.topic], [200, 'Evening debate by User 1', 'climate']);

    const bad: { raw?: string; body?: unknown }[] = [
      { raw: '{"topic": "climate",' },
      { raw: '' },
      { body: ['climate'] },
      { body: { topic: 'climate' } },
      { body: { title: 'No topic here' } },
      { body: { topic: 'Not A Slug', title: 'Fine title' } },
      { body: { topic: 'climate', title: 42 } },
    ];
    for (const init of bad)
      assert.equal((await call(base, '/debates', { method: 'POST', ...init })).status, 400, JSON.stringify(init));
  });

  it('POST /debates/:id/votes counts one ballot per user (a second vote changes the side)', async () => {
    const before = (await call<Summary>(base, '/debates/3')).body.votes;
    const pro = await call<{ debate: number; votes: { pro: number; con: number } }>(base, '/debates/3/votes', {
      method: 'POST',
      body: { user: 'u1', side: 'pro' },
    });
    assert.equal(pro.status, 201);
    assert.equal(pro.body.debate, 3);
    assert.deepEqual(pro.body.votes, { pro: before.pro + 1, con: before.con });
    const changed = await call<{ votes: { pro: number; con: number } }>(base, '/debates/3/votes', {
      method: 'POST',
      body: { user: 'u1', side: 'con' },
    });
    assert.deepEqual(changed.body.votes, { pro: before.pro, con: before.con + 1 });
    const other = await call<{ votes: { pro: number; con: number } }>(base, '/debates/3/votes', {
      method: 'POST',
      body: { user: 7, side: 'con' },
    });
    assert.deepEqual([other.status, other.body.votes], [201, { pro: before.pro, con: before.con + 2 }]);
    assert.deepEqual((await call<Summary>(base, '/debates/3')).body.votes, other.body.votes);

    assert.equal(
      (await call(base, '/debates/9999/votes', { method: 'POST', body: { user: 'u1', side: 'pro' } })).status,
      404,
    );
    assert.equal(
      (await call(base, '/debates/3/votes', { method: 'POST', body: { user: 'u1', side: 'maybe' } })).status,
      400,
    );
    assert.equal((await call(base, '/debates/3/votes', { method: 'POST', body: { side: 'pro' } })).status, 400);
    assert.equal((await call(base, '/debates/3/votes', { method: 'POST', raw: 'not json' })).status, 400);
  });

  it('answers 404 for an unknown path and 405 (with Allow) for a wrong method', async () => {
    assert.equal((await call(base, '/nope')).status, 404);
    const res = await call(base, '/debates', { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow') ?? '', /GET/);
    assert.match(res.headers.get('allow') ?? '', /POST/);
  });

  it('rejects a body larger than 64 KiB with 413', async () => {
    const res = await call(base, '/debates', {
      method: 'POST',
      raw: JSON.stringify({ topic: 'x', title: 'y'.repeat(70_000) }),
    });
    assert.equal(res.status, 413);
  });
});

describe('demo API /__stats', () => {
  it('counts every request but its own admin routes, by route and by status; POST /__reset starts over', async () => {
    const base = await listen();
    await call(base, '/health');
    assert.equal((await call<Stats>(base, '/__stats')).body.requests, 1);
    assert.equal((await call(base, '/__reset', { method: 'POST' })).status, 200);
    const zero = (await call<Stats>(base, '/__stats')).body;
    assert.deepEqual([zero.requests, zero.by_route, zero.by_status], [0, {}, {}]);

    for (let i = 0; i < 5; i++) await call(base, '/debates?topic=economy');
    for (let i = 0; i < 3; i++) await call(base, '/debates/2');
    await call(base, '/debates/2/comments?page=0');
    await call(base, '/debates/2/votes', { method: 'POST', body: { user: 'u9', side: 'con' } });
    await call(base, '/debates', { method: 'POST', body: { topic: 'economy', title: 'Counted debate' } });
    await call(base, '/debates/9999');
    await call(base, '/missing');
    await call(base, '/__stats');
    await call(base, '/__stats');

    const stats = (await call<Stats>(base, '/__stats')).body;
    assert.equal(stats.requests, 13);
    assert.deepEqual(stats.by_route, {
      'GET /debates': 5,
      'GET /debates/:id': 4,
      'GET /debates/:id/comments': 1,
      'POST /debates/:id/votes': 1,
      'POST /debates': 1,
      unmatched: 1,
    });
    assert.deepEqual(stats.by_status, { '200': 9, '201': 2, '404': 2 });
  });
});

describe('demo API error rate and latency', () => {
  async function statuses(base: string, path: string, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await call(base, path)).status);
    return out;
  }

  it('fails about error-rate of the requests with 500 {error}, the same ones for the same seed, ' +
      'never /health', async () => {
    const a = await listen({ errorRate: 0.2, seed: 7 });
    const b = await listen({ errorRate: '20%', seed: 7 });
    const fromA = await statuses(a, '/debates/1', 600);
    const fromB = await statuses(b, '/debates/1', 600);
    const failures = fromA.filter((s) => s === 500).length;
    assert.ok(failures > 600 * 0.2 * 0.7 && failures < 600 * 0.2 * 1.3, `${failures} of 600 failed`);
    assert.deepEqual(fromA.filter((s) => s !== 500 && s !== 200), []);
    assert.deepEqual(fromA, fromB, 'the same seed fails the same requests');
    const failure = await fetch(`${a}/debates`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error?: string },
    }));
    if (failure.status === 500) assert.equal(typeof failure.body.error, 'string');
    const health = await statuses(a, '/health', 200);
    assert.deepEqual(new Set(health), new Set([200]));
    const stats = (await call<Stats>(a, '/__stats')).body;
    assert.equal(stats.by_status['500'], failures + (failure.status === 500 ? 1 : 0));
  });

  it('an error rate of 1 fails every request but /health; 0 fails none', async () => {
    const always = await listen({ errorRate: 1 });
    assert.deepEqual(new Set(await statuses(always, '/debates', 20)), new Set([500]));
    assert.deepEqual(new Set(await statuses(always, '/health', 5)), new Set([200]));
    const never = await listen({ errorRate: 0 });
    assert.deepEqual(new Set(await statuses(never, '/debates', 50)), new Set([200]));
  });

  it('delays each response within the latency range, and says how long in server-timing', async () => {
    const base = await listen({ latency: '8ms..20ms', seed: 3 });
    await call(base, '/health'); // the connection is open before timing starts
    const delays: number[] = [];
    for (let i = 0; i < 25; i++) {
      const started = performance.now();
      const res = await call(base, '/debates?page_size=1');
      const elapsed = performance.now() - started;
      const delay = Number(/delay;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);
      assert.ok(delay >= 8 && delay <= 20, `server-timing ${delay}`);
      assert.ok(elapsed >= delay - 1.5, `answered after ${elapsed.toFixed(1)} ms, delay ${delay}`);
      assert.ok(elapsed < 20 + 200, `answered after ${elapsed.toFixed(1)} ms`);
      delays.push(delay);
    }
    assert.ok(Math.max(...delays) - Math.min(...delays) > 3, 'delays vary within the range');
    const fixed = await listen({ latency: '5ms' });
    const res = await call(fixed, '/health');
    assert.match(res.headers.get('server-timing') ?? '', /delay;dur=5\.000/);
  });

  it('refuses a malformed latency or error rate when created', () => {
    assert.throws(() => createDemoApi({ latency: '10ms..2ms' }), RangeError);
    assert.throws(() => createDemoApi({ latency: 'soon' }), RangeError);
    assert.throws(() => createDemoApi({ errorRate: 1.5 }), RangeError);
    assert.throws(() => createDemoApi({ errorRate: 'lots' }), RangeError);
  });
});

describe('demo API seeded data', () => {
  async function snapshot(base: string): Promise<unknown> {
    const debates = (await call<Page<Summary>>(base, '/debates?page_size=100')).body;
    const comments = await Promise.all(
      [1, 2, 30, 60].map(async (id) => (await call(base, `/debates/${id}/comments?page_size=100`)).body),
    );
    return { debates, comments };
  }

  it('the same seed gives the same debates, votes and comments; another seed gives others', async () => {
    const one = await snapshot(await listen({ seed: 42 }));
    const again = await snapshot(await listen({ seed: 42 }));
    const other = await snapshot(await listen({ seed: 43 }));
    assert.deepEqual(again, one);
    assert.notDeepEqual(other, one);
  });

  it('seeds 60 debates over at least the three scenario topics and a few others', async () => {
    const { items } = (await call<Page<Summary>>(await listen({ seed: 9 }), '/debates?page_size=100')).body;
    assert.equal(items.length, 60);
    assert.deepEqual(items.map((d) => d.id), Array.from({ length: 60 }, (_, i) => i + 1));
    const topics = new Set(items.map((d) => d.topic));
    for (const t of ['ai-safety', 'climate', 'economy']) assert.ok(topics.has(t), t);
    assert.ok(topics.size >= 4);
  });
});

describe('demo API as a program', () => {
  it('prints exactly one line {"url"} when listening, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [SERVER_PATH, '--port', '0', '--seed', '5', '--latency', '1ms..2ms', '--error-rate', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      while (!stdout.includes('\n')) await new Promise((r) => setTimeout(r, 10));
      const { url } = JSON.parse(stdout.trim()) as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await call(url, '/health')).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.equal(stdout.trim().split('\n').length, 1);
  });

  it('--leak keeps that much more memory every second (resident, never freed); the service option passes it on', {
    skip: process.platform !== 'linux' && 'reads /proc',
  }, async () => {
    assert.deepEqual(demoApiFlags({ leak: '20MB/s' }), ['--leak', '20000000']);
    assert.throws(() => demoApiFlags({ leak: '20MB' }), /options\.leak "20MB" must be a size per time like 1MB\/s/);
    const child = spawn(process.execPath, [SERVER_PATH, '--port', '0', '--leak', '20000000'], { stdio: 'pipe' });
    const rss = (): number => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
    };
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const before = rss();
      await new Promise((r) => setTimeout(r, 2000));
      const grown = rss() - before;
      // 2 s at 20 MB/s: about 40 MB, whatever else the process does meanwhile.
      assert.ok(grown > 30e6 && grown < 60e6, `RSS grew ${grown} bytes`);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('exits 2 with a message on stderr for a bad flag', async () => {
    const child = spawn(process.execPath, [SERVER_PATH, '--error-rate', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(stderr, /error rate/);
  });
});
