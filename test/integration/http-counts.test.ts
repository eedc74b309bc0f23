// perfy's request counts against what a real server saw, when the server resets GETs it has read on kept-alive
// connections: every request that went out is in http.reqs, every resend in http.retries and the summary, and
// `defaults.resend_on_reset: false` turns each reset into the step's failure.

import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { perfyAsync, readResultDir, tempDir, total } from '../helpers.js';

/** Answers the first request of each connection; reads the second and resets the connection instead. */
async function resettingServer(): Promise<{
  url: string;
  counts: { received: number; resets: number };
  close(): Promise<void>;
}> {
  const counts = { received: 0, resets: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    let index = 0;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      pending += text;
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        counts.received++;
        if (index++ === 0) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        else {
          counts.resets++;
          socket.resetAndDestroy();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

async function runAgainst(
  url: string,
  defaults: string,
): Promise<{ stdout: string; result: ReturnType<typeof readResultDir> }> {
  const t = tempDir({
    's.yaml': `
name: resets
target: ${url}
${defaults}
load: [ { users: 2, hold: 1s } ]
flow:
  - name: get
    http: { get: /items }
    expect: "status == 200"
` });
  after(t.cleanup);
  const run = await perfyAsync(['run', t.path('s.yaml'), '--out', t.path('out')]);
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  return { stdout: run.stdout, result: readResultDir(t.path('out')) };
}

describe('counts against a server that resets GETs it has read', () => {
  it('resent by default: every request the server read is in http.reqs, each reset in http.retries ' +
      'and the summary', async () => {
    const server = await resettingServer();
    after(server.close);
    const { stdout, result } = await runAgainst(server.url, '');
    const { received, resets } = server.counts;
    assert.ok(resets > 20, `${resets} resets`);
    assert.equal(total(result, 'http.reqs'), received, 'perfy counted what the server read');
    assert.equal(total(result, 'http.reqs', { status: 'reset' }), resets);
    assert.equal(total(result, 'http.retries', { status: 'reset' }), resets);
    assert.equal(total(result, 'step.errors'), 0, 'every step got its answer on a new connection');
    assert.equal(total(result, 'http.errors'), resets, 'and each lost attempt is an HTTP error');
    assert.match(
      stdout,
      new RegExp(
        `^ {2}http {2}${received.toLocaleString('en-US')} sent · ${resets.toLocaleString('en-US')} sent again after ` +
          `their kept-alive connection closed \\(reset: `,
        'm',
      ),
    );
  });

  it('defaults.resend_on_reset: false: each reset fails its step, nothing is sent again', async () => {
    const server = await resettingServer();
    after(server.close);
    const { stdout, result } = await runAgainst(server.url, 'defaults: { resend_on_reset: false }');
    const { received, resets } = server.counts;
    assert.ok(resets > 20, `${resets} resets`);
    assert.equal(total(result, 'http.reqs'), received);
    assert.equal(total(result, 'http.retries'), 0);
    assert.equal(total(result, 'step.errors'), resets);
    assert.doesNotMatch(stdout, /sent again/);
    assert.match(stdout, /^ {2}errors {2}reset: /m);
  });
});
