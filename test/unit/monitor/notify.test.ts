// Notifications against real receivers: HTTP servers on 127.0.0.1 port 0 and commands started by the notifier.

import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createNotifier, type MonitorEvent } from '../../../engine/monitor/notify.js';
import { freePort, processAlive, startServer, tempDir, until } from '../../helpers.js';

const event = (i: number, extra: Partial<MonitorEvent> = {}): MonitorEvent => ({
  time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
  level: i % 2 ? 'critical' : 'warning',
  name: 'rss(api) > 512MB',
  state: i % 3 ? 'firing' : 'resolved',
  value: 512e6 + i,
  message: `event ${i}`,
  process: 'api',
  ...extra,
});

interface Received {
  body: MonitorEvent;
  headers: IncomingMessage['headers'];
}

/** A receiver that records each request and answers with `answer(n)` (n counts from 1), after `delayMs`. */
async function receiver(answer: (n: number) => number | 'never' = () => 200, delayMs = 0) {
  const requests: Received[] = [];
  const accepted: MonitorEvent[] = [];
  const server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d));
    req.on('end', () => {
      const body = JSON.parse(text) as MonitorEvent;
      requests.push({ body, headers: req.headers });
      const status = answer(requests.length);
      if (status === 'never') return;
      setTimeout(() => {
        if (status < 300) accepted.push(body);
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      }, delayMs);
    });
  });
  return { ...server, requests, accepted };
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
});

describe('webhook notifier', () => {
  it('delivers every event exactly once, in order, as JSON', async () => {
    const target = await receiver();
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: `${target.url}/hook` } });
    const events = Array.from({ length: 20 }, (_, i) => event(i));
    for (const e of events) notifier.send(e);
    const stats = await notifier.close();
    assert.deepEqual(target.accepted, events);
    assert.equal(target.requests.length, 20);
    for (const { headers } of target.requests) assert.equal(headers['content-type'], 'application/json');
    assert.equal(new Set(target.requests.map(({ headers }) => headers['idempotency-key'])).size, 20);
    assert.deepEqual(stats, {
      sent: 20, failed: 0, dropped: 0, channels: { webhook: { sent: 20, failed: 0, dropped: 0, errors: [] } },
    });
  });

  it('retries after 500, 500 and delivers once, with the same idempotency key, before the next event', async () => {
    const target = await receiver((n) => (n <= 2 ? 500 : 200));
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: target.url, backoffMs: 20 } });
    notifier.send(event(1));
    notifier.send(event(2));
    const stats = await notifier.close();
    assert.deepEqual(target.accepted, [event(1), event(2)]);
    assert.deepEqual(target.requests.map(({ body }) => body.message), ['event 1', 'event 1', 'event 1', 'event 2']);
    const keys = target.requests.map(({ headers }) => headers['idempotency-key']);
    assert.ok(keys[0] === keys[1] && keys[1] === keys[2] && keys[2] !== keys[3]);
    assert.equal(stats.sent, 2);
    assert.equal(stats.failed, 0);
  });

  it('gives up on a receiver that never answers: timed out, failed, close() within its bound', async () => {
    const target = await receiver(() => 'never');
    closers.push(target.close);
    const failures: string[] = [];
    const notifier = createNotifier({
      webhook: { url: target.url, timeoutMs: 300, retries: 1, backoffMs: 50 },
      onFailure: (channel, e, reason) => failures.push(`${channel} ${e.message}: ${reason}`),
    });
    notifier.send(event(1));
    const started = Date.now();
    const stats = await notifier.close({ deadlineMs: 3000 });
    const ms = Date.now() - started;
    // Two attempts of 300 ms and a 50 ms wait: about 650 ms, far inside the 3 s deadline.
    assert.ok(ms >= 600 && ms < 1500, `${ms} ms`);
    assert.equal(target.requests.length, 2);
    assert.equal(stats.failed, 1);
    assert.equal(stats.sent, 0);
    assert.deepEqual(failures, ['webhook event 1: webhook did not answer within 300 ms (2 attempts)']);
    assert.deepEqual(stats.channels.webhook!.errors, ['webhook did not answer within 300 ms (2 attempts)']);
  });

  it("close()'s deadline aborts the delivery in flight and drops the queue", async () => {
    const target = await receiver(() => 'never');
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: target.url, timeoutMs: 10_000, retries: 5 } });
    for (let i = 0; i < 5; i++) notifier.send(event(i));
    const started = Date.now();
    const stats = await notifier.close({ deadlineMs: 400 });
    const ms = Date.now() - started;
    assert.ok(ms >= 390 && ms < 900, `${ms} ms`);
    assert.deepEqual([stats.sent, stats.failed, stats.dropped], [0, 1, 4]);
    assert.match(stats.channels.webhook!.errors[0]!, /aborted, abandoned at close$/);
    notifier.send(event(9)); // after close: dropped, not thrown
  });

  it('never blocks: 1,000 events sent at once to a slow receiver, the queue bounded, drops counted', async () => {
    const target = await receiver(() => 200, 20);
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: target.url }, queueSize: 100 });
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) notifier.send(event(i));
    const sendMs = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`# 1,000 send() calls: ${sendMs.toFixed(1)} ms`);
    assert.ok(sendMs < 50, `${sendMs} ms`);
    const stats = await notifier.close({ deadlineMs: 10_000 });
    // Deliveries start on a later turn than send(): the queue kept the newest 100, in order.
    assert.deepEqual([stats.sent, stats.failed, stats.dropped], [100, 0, 900]);
    const received = target.accepted.map((e) => Number(e.message.slice('event '.length)));
    assert.deepEqual(received, Array.from({ length: 100 }, (_, i) => 900 + i));
  });

  it('fails at once on 400 and on a redirect (not followed), retries a refused connection', async () => {
    const target = await receiver((n) => (n === 1 ? 400 : 303));
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: target.url, backoffMs: 10 } });
    notifier.send(event(1));
    notifier.send(event(2));
    const stats = await notifier.close();
    assert.equal(target.requests.length, 2);
    assert.deepEqual(stats.channels.webhook!.errors, ['webhook answered HTTP 400', 'webhook answered HTTP 303']);

    const port = await freePort();
    const secret = `http://127.0.0.1:${port}/hooks/T0KEN-SECRET`;
    const refused = createNotifier({ webhook: { url: secret, retries: 2, backoffMs: 10 } });
    refused.send(event(3));
    const refusedStats = await refused.close();
    assert.equal(refusedStats.failed, 1);
    assert.deepEqual(refusedStats.channels.webhook!.errors, ['webhook unreachable: ECONNREFUSED (3 attempts)']);
  });

  it('counts an event that cannot be serialized as failed, without throwing', async () => {
    const target = await receiver();
    closers.push(target.close);
    const notifier = createNotifier({ webhook: { url: target.url } });
    notifier.send(event(1, { value: 1n as unknown as number }));
    notifier.send(event(2));
    const stats = await notifier.close();
    assert.deepEqual([stats.sent, stats.failed], [1, 1]);
    assert.match(stats.channels.webhook!.errors[0]!, /^cannot serialize the event: .*BigInt/);
  });
});

describe('command notifier', () => {
  it('writes each event as JSON on the stdin of a command, in order, with its level in the environment', async () => {
    const dir = tempDir();
    try {
      const file = dir.path('events.jsonl');
      const notifier = createNotifier({
        command: { shell: `cat >> '${file}'; printf '%s\\n' "$PERFY_EVENT_LEVEL" >> '${file}.levels'` },
      });
      for (let i = 0; i < 5; i++) notifier.send(event(i));
      const stats = await notifier.close();
      assert.deepEqual([stats.sent, stats.failed, stats.dropped], [5, 0, 0]);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.deepEqual(lines.map((line) => JSON.parse(line) as MonitorEvent), [0, 1, 2, 3, 4].map((i) => event(i)));
      assert.equal(readFileSync(`${file}.levels`, 'utf8'), 'warning\ncritical\nwarning\ncritical\nwarning\n');
    } finally {
      dir.cleanup();
    }
  });

  it('runs argv without a shell', async () => {
    const dir = tempDir();
    try {
      const file = dir.path('event.json');
      const copy = 'process.stdin.pipe(require("fs").createWriteStream(process.argv[1]))';
      const notifier = createNotifier({ command: { argv: [process.execPath, '-e', copy, file] } });
      notifier.send(event(7));
      assert.equal((await notifier.close()).sent, 1);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), event(7));
    } finally {
      dir.cleanup();
    }
  });

  it('reports a command that exits 1, one that cannot start, and one that does not read its stdin', async () => {
    const failures: string[] = [];
    const failing = createNotifier({
      command: { shell: 'echo boom >&2; exit 1' },
      onFailure: (channel, _e, reason) => failures.push(`${channel}: ${reason}`),
    });
    failing.send(event(1));
    const stats = await failing.close();
    assert.deepEqual([stats.sent, stats.failed], [0, 1]);
    assert.deepEqual(failures, ['command: command echo boom >&2; exit 1: exited with 1: boom']);

    const missing = createNotifier({ command: { argv: ['/nonexistent/perfy-notify'] } });
    missing.send(event(1));
    const missingStats = await missing.close();
    assert.equal(missingStats.failed, 1);
    assert.match(missingStats.channels.command!.errors[0]!, /cannot run: spawn \/nonexistent\/perfy-notify ENOENT/);

    const deaf = createNotifier({ command: { shell: 'exit 0' } });
    for (let i = 0; i < 3; i++) deaf.send(event(i, { message: 'x'.repeat(200_000) }));
    assert.deepEqual((await deaf.close()).sent, 3);
  });

  it('kills a command that does not exit within its timeout, with what it started', async () => {
    const dir = tempDir();
    try {
      const pidFile = dir.path('pid');
      const shell = `sleep 30 & echo $! > '${pidFile}'; wait`;
      const notifier = createNotifier({ command: { shell, timeoutMs: 300 } });
      notifier.send(event(1));
      const started = Date.now();
      const stats = await notifier.close();
      const ms = Date.now() - started;
      assert.ok(ms >= 290 && ms < 2000, `${ms} ms`);
      assert.equal(stats.failed, 1);
      assert.match(stats.channels.command!.errors[0]!, /did not exit within 300 ms$/);
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(await until(() => !processAlive(sleeper), 2000), 'the sleep the shell started is still running');
    } finally {
      dir.cleanup();
    }
  });

  it('sends each event to both channels', async () => {
    const target = await receiver();
    closers.push(target.close);
    const dir = tempDir();
    try {
      const file = dir.path('events.jsonl');
      const notifier = createNotifier({ webhook: { url: target.url }, command: { shell: `cat >> '${file}'` } });
      notifier.send(event(1));
      notifier.send(event(2));
      const stats = await notifier.close();
      assert.deepEqual([stats.sent, stats.channels.webhook!.sent, stats.channels.command!.sent], [4, 2, 2]);
      assert.deepEqual(target.accepted, [event(1), event(2)]);
      assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(event(1))}\n${JSON.stringify(event(2))}\n`);
    } finally {
      dir.cleanup();
    }
  });
});
