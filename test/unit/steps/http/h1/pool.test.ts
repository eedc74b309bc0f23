// The HTTP/1.1 connection pool against real node:http, node:https and raw node:net servers on 127.0.0.1 port 0:
// keep-alive reuse, the connection limit and its queue, servers closing connections, TLS, timeouts, abandoning.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CLIENT_ERROR_CODES, Pool, PoolRequest, type PoolOptions, type ResponseHead,
} from '../../../../../engine/steps/http/h1/pool.js';
import { selfSignedCertificate } from '../../../../helpers.js';

// ---------------------------------------------------------------- helpers

interface Outcome {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  error: (Error & { code?: string }) | undefined;
  connectMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** A request that records what the pool reports; `done` resolves on onEnd or onError. */
class TestRequest extends PoolRequest {
  readonly done: Promise<Outcome>;
  readonly events: string[] = [];
  private finish!: (outcome: Outcome) => void;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private readonly pieces: Buffer[] = [];
  private connectMs = -1;

  constructor(head: string, body: string | null = null) {
    super();
    this.head = head;
    this.body = body;
    this.bodyBytes = body === null ? 0 : Buffer.byteLength(body);
    this.isHead = head.startsWith('HEAD ');
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  onSent(connectMs: number): void {
    this.events.push('sent');
    this.connectMs = connectMs;
  }

  onResend(error: Error): void {
    this.events.push(`resend ${(error as { code?: string }).code ?? error.message}`);
  }

  onHead(head: ResponseHead): void {
    this.events.push('head');
    this.status = head.status;
    this.headers = head.headers;
  }

  onBody(data: Buffer, start: number, end: number): void {
    this.pieces.push(Buffer.from(data.subarray(start, end)));
  }

  onEnd(): void {
    this.events.push('end');
    this.finish(this.outcome(undefined));
  }

  onError(error: Error): void {
    this.events.push('error');
    this.finish(this.outcome(error));
  }

  private outcome(error: Error | undefined): Outcome {
    return {
      status: this.status,
      headers: this.headers,
      body: Buffer.concat(this.pieces).toString('utf8'),
      error,
      connectMs: this.connectMs,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

const request = (method: string, host: string, path = '/', headers = '', body: string | null = null): TestRequest => {
  const length = body === null ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
  const head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n${headers}${length}\r\n`;
  const r = new TestRequest(head, body);
  r.resendable = method !== 'POST' && method !== 'PATCH';
  return r;
};

const pools: Pool[] = [];
function pool(origin: string, options: Partial<PoolOptions> = {}): Pool {
  const p = new Pool(origin, { connections: 100, connectTimeoutMs: 5_000, ...options });
  pools.push(p);
  return p;
}

async function send(p: Pool, r: TestRequest): Promise<Outcome> {
  p.dispatch(r);
  return r.done;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Listening {
  origin: string;
  host: string;
  /** sockets the server accepted */
  connections: Socket[];
}

const servers: (Server | TcpServer)[] = [];
const accepted: Socket[] = [];

async function listenOn(server: Server | TcpServer, scheme = 'http'): Promise<Listening> {
  servers.push(server);
  const connections: Socket[] = [];
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.push(socket);
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `${scheme}://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, connections };
}

const httpServer = (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> =>
  listenOn(createServer(handler));

/** A raw TCP server: `onRequest` gets each complete request head (and the socket) as it arrives. */
function rawServer(onRequest: (socket: Socket, head: string, index: number) => void): Promise<Listening> {
  let index = 0;
  const server = createTcpServer((socket) => {
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (text: string) => {
      pending += text;
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        onRequest(socket, head, index++);
      }
    });
  });
  return listenOn(server);
}

const OK = (body = 'ok', extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

after(async () => {
  await Promise.all(pools.map((p) => p.close(100)));
  for (const socket of accepted) socket.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

// ---------------------------------------------------------------- keep-alive

describe('h1 pool: keep-alive', () => {
  it('a sequential loop uses one connection, and only its first request pays connect', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      res.end(`you asked for ${req.url}`);
    });
    const p = pool(server.origin);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await send(p, request('GET', server.host, `/${i}`)));
    assert.equal(server.connections.length, 1);
    assert.ok(outcomes.every((o, i) => o.error === undefined && o.status === 200 && o.body === `you asked for /${i}`));
    assert.ok(outcomes[0]!.connectMs > 0);
    assert.deepEqual(outcomes.slice(1).map((o) => o.connectMs), Array(19).fill(0));
  });

  it('the connection is free again before the next turn of the event loop after onEnd', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      res.end('x');
    });
    const p = pool(server.origin);
    const first = request('GET', server.host);
    const second = request('GET', server.host);
    // A promise callback of onEnd (what a virtual user's next request is) finds the connection idle.
    const onEnd = first.onEnd.bind(first);
    first.onEnd = () => {
      onEnd();
      queueMicrotask(() => p.dispatch(second));
    };
    p.dispatch(first);
    assert.equal((await second.done).status, 200);
    assert.equal(server.connections.length, 1);
    assert.equal((await second.done).connectMs, 0);
  });

  it('counts the bytes of each request and response exactly', async () => {
    const response = OK('hello', 'X-Thing: 1\r\n');
    const server = await rawServer((socket) => socket.write(response));
    const p = pool(server.origin);
    const r = request('POST', server.host, '/p', '', 'body with é');
    const outcome = await send(p, r);
    assert.equal(outcome.body, 'hello');
    assert.equal(outcome.bytesIn, Buffer.byteLength(response));
    assert.equal(outcome.bytesOut, r.head.length + Buffer.byteLength('body with é'));
  });

  it('sends a UTF-8 body exactly, and an ASCII one with its head in one write', async () => {
    const received: string[] = [];
    const server = await httpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        res.end();
      });
    });
    const p = pool(server.origin);
    await send(p, request('POST', server.host, '/', 'content-type: text/plain\r\n', 'plain ascii'));
    await send(p, request('POST', server.host, '/', 'content-type: text/plain\r\n', 'débat 🗳️'));
    assert.deepEqual(received, ['plain ascii', 'débat 🗳️']);
  });

  it('reads chunked responses from node:http', async () => {
    const server = await httpServer((_req, res) => {
      res.write('first ');
      setTimeout(() => res.end('second'), 5);
    });
    const p = pool(server.origin);
    const a = await send(p, request('GET', server.host));
    const b = await send(p, request('GET', server.host));
    assert.equal(a.body, 'first second');
    assert.equal(b.body, 'first second');
    assert.equal(server.connections.length, 1);
  });

  it('a HEAD response has no body and its connection is kept alive', async () => {
    const server = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.end();
    });
    const p = pool(server.origin);
    const head = await send(p, request('HEAD', server.host));
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await send(p, request('HEAD', server.host))).status, 200);
    assert.equal((await send(p, request('GET', server.host))).status, 200);
    assert.equal(server.connections.length, 1);
  });

  it('a server that sends a body after a HEAD response anyway: its connection is not used again', async () => {
    // In the same write as the head, and a moment later while the connection is idle.
    for (const later of [false, true]) {
      const server = await rawServer((socket, head) => {
        const answer = head.startsWith('HEAD') ? 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n' : OK('after');
        if (!later || !head.startsWith('HEAD')) socket.write(answer + (head.startsWith('HEAD') ? 'body' : ''));
        else {
          socket.write(answer);
          setTimeout(() => socket.write('body'), 20);
        }
      });
      const p = pool(server.origin);
      assert.equal((await send(p, request('HEAD', server.host))).status, 200);
      if (later) await sleep(60);
      const after = await send(p, request('GET', server.host));
      assert.equal(after.body, 'after', `later: ${later}`);
      assert.equal(server.connections.length, 2, `later: ${later}: the GET went out on a new connection`);
    }
  });

  it('a 100 Continue before the response is skipped', async () => {
    const server = await rawServer((socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\n${OK('after continue')}`));
    const p = pool(server.origin);
    const outcome = await send(p, request('GET', server.host));
    assert.equal(outcome.status, 200);
    assert.equal(outcome.body, 'after continue');
  });
});

// ---------------------------------------------------------------- the limit

describe('h1 pool: at most N connections, the rest wait in order', () => {
  it('200 concurrent requests over 10 connections all complete', async () => {
    let active = 0;
    let peak = 0;
    const server = await httpServer((req, res) => {
      active++;
      peak = Math.max(peak, active);
      req.resume();
      setTimeout(() => {
        active--;
        res.end(req.url);
      }, 2);
    });
    const p = pool(server.origin, { connections: 10 });
    const requests = Array.from({ length: 200 }, (_, i) => request('GET', server.host, `/${i}`));
    const outcomes = await Promise.all(requests.map((r) => send(p, r)));
    assert.ok(outcomes.every((o, i) => o.error === undefined && o.body === `/${i}`));
    assert.equal(server.connections.length, 10);
    assert.ok(peak <= 10, `at most 10 at once on the server, saw ${peak}`);
    assert.equal(outcomes.filter((o) => o.connectMs > 0).length, 10, 'one connect time per connection');
  });

  it('waiting requests are served first come, first served', async () => {
    const order: string[] = [];
    const server = await httpServer((req, res) => {
      order.push(req.url ?? '');
      req.resume();
      setTimeout(() => res.end(), 1);
    });
    const p = pool(server.origin, { connections: 1 });
    const paths = Array.from({ length: 30 }, (_, i) => `/${i}`);
    await Promise.all(paths.map((path) => send(p, request('GET', server.host, path))));
    assert.deepEqual(order, paths);
  });

  it('an abandoned waiting request is never sent, and its place goes to the next', async () => {
    const order: string[] = [];
    const server = await httpServer((req, res) => {
      order.push(req.url ?? '');
      req.resume();
      setTimeout(() => res.end(), 5);
    });
    const p = pool(server.origin, { connections: 1 });
    const [a, b, c] = ['/a', '/b', '/c']
      .map((path) => request('GET', server.host, path)) as [TestRequest, TestRequest, TestRequest];
    for (const r of [a, b, c]) p.dispatch(r);
    p.abandon(b);
    await Promise.all([a.done, c.done]);
    assert.deepEqual(order, ['/a', '/c']);
    assert.deepEqual(b.events, []);
  });
});

// ---------------------------------------------------------------- servers closing connections

describe('h1 pool: connections the server closes', () => {
  it('an idle connection the server closed is not used again: no error, a new connection', async () => {
    const server = await rawServer((socket) => {
      socket.write(OK());
      setTimeout(() => socket.end(), 10);
    });
    const p = pool(server.origin);
    assert.equal((await send(p, request('GET', server.host))).error, undefined);
    await sleep(50);
    const second = await send(p, request('GET', server.host));
    assert.equal(second.error, undefined);
    assert.ok(second.connectMs > 0, 'the second request paid for the new connection');
    assert.equal(server.connections.length, 2);
  });

  it('a kept-alive connection closed as the request arrives: the request is sent again on a new one', async () => {
    // The server's idle timeout firing just as a request goes out: it closes without answering a request that
    // is not the first on its connection.
    const server = await rawServer((socket, _head, index) => {
      if (index === 1) socket.destroy();
      else socket.write(OK(`answer ${index}`));
    });
    const p = pool(server.origin);
    assert.equal((await send(p, request('GET', server.host))).body, 'answer 0');
    const r = request('GET', server.host);
    const second = await send(p, r);
    assert.equal(second.error, undefined);
    assert.equal(second.body, 'answer 2');
    assert.ok(second.connectMs > 0);
    assert.equal(server.connections.length, 2);
    assert.deepEqual(
      r.events.filter((e) => e.startsWith('resend')).length,
      1,
      'the lost attempt is reported before the request goes out again',
    );
    assert.match(r.events.join(' '), /^sent resend \S+ sent head end$/);
  });

  it('a request whose resending is turned off: the close is its failure', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index === 1) socket.destroy();
      else socket.write(OK(`answer ${index}`));
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const r = request('GET', server.host);
    r.resendable = false;
    const second = await send(p, r);
    assert.ok(second.error !== undefined, 'the GET fails');
    assert.equal(server.connections.length, 1, 'and is not sent on a new connection');
    assert.deepEqual(r.events, ['sent', 'error']);
  });

  it('the same with a FIN instead of a reset', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index === 1) socket.end();
      else socket.write(OK(`answer ${index}`));
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const second = await send(p, request('PUT', server.host, '/', '', 'payload'));
    assert.equal(second.body, 'answer 2');
  });

  it('a POST is not sent again: it may have been acted on, so the close is reported', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index === 1) socket.destroy();
      else socket.write(OK(`answer ${index}`));
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const second = await send(p, request('POST', server.host, '/', '', 'payload'));
    assert.ok(second.error !== undefined, 'the POST fails');
    assert.equal(server.connections.length, 1, 'and is not sent on a new connection');
    const third = await send(p, request('POST', server.host, '/', '', 'payload'));
    assert.equal(third.body, 'answer 2', 'the next request opens a new connection');
  });

  it('is sent again once only: a second close is reported', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index === 0) socket.write(OK());
      else socket.destroy();
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const second = await send(p, request('GET', server.host));
    assert.ok(second.error !== undefined);
    assert.ok(['ECONNRESET', CLIENT_ERROR_CODES.closed].includes(second.error.code ?? ''), String(second.error.code));
    assert.equal(server.connections.length, 2);
  });

  it('a connection that closes under the first request on it is an error, not sent again', async () => {
    const server = await rawServer((socket) => socket.destroy());
    const p = pool(server.origin);
    const outcome = await send(p, request('GET', server.host));
    assert.ok(outcome.error !== undefined);
    assert.equal(server.connections.length, 1);
  });

  it('a close in the middle of a response is an error, not sent again', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index === 0) socket.write(OK());
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const outcome = await send(p, request('GET', server.host));
    assert.equal(outcome.error?.code, CLIENT_ERROR_CODES.closed);
    assert.equal(server.connections.length, 1);
  });

  it('connection: close from the server: the next request opens a new connection', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const p = pool(server.origin);
    const a = await send(p, request('GET', server.host));
    const b = await send(p, request('GET', server.host));
    assert.equal(a.body, 'bye');
    assert.equal(b.body, 'bye');
    assert.ok(a.connectMs > 0 && b.connectMs > 0);
    assert.equal(server.connections.length, 2);
  });

  it('an HTTP/1.0 response closes its connection; a body without framing ends at the close', async () => {
    const server = await rawServer((socket, _head, index) => {
      if (index % 2 === 0) socket.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\none');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
    });
    const p = pool(server.origin);
    assert.equal((await send(p, request('GET', server.host))).body, 'one');
    assert.equal((await send(p, request('GET', server.host))).body, 'until the end');
    assert.equal(server.connections.length, 2);
  });

  it('honours a Keep-Alive timeout hint: a connection idle for longer is not reused', async () => {
    const server = await rawServer((socket) => socket.write(OK('ok', 'Keep-Alive: timeout=1\r\n')));
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    await sleep(20);
    await send(p, request('GET', server.host));
    assert.equal(server.connections.length, 1, 'reused within the hint');
    await sleep(600);
    const late = await send(p, request('GET', server.host));
    assert.equal(late.error, undefined);
    assert.equal(server.connections.length, 2, 'not reused after the hint minus the margin');
  });

  it('without a Keep-Alive hint, a connection idle for longer than maxIdleMs is not reused', async () => {
    const server = await rawServer((socket) => socket.write(OK()));
    const p = pool(server.origin, { maxIdleMs: 200 });
    await send(p, request('GET', server.host));
    await sleep(20);
    await send(p, request('GET', server.host));
    assert.equal(server.connections.length, 1, 'reused while idle briefly');
    await sleep(300);
    await send(p, request('POST', server.host, '/', '', 'x'));
    assert.equal(server.connections.length, 2, 'a new connection after the idle limit');
  });

  it('bytes after a response make the connection unusable, not the next response wrong', async () => {
    const server = await rawServer((socket, _head, index) => socket.write(`${OK(`answer ${index}`)}GARBAGE`));
    const p = pool(server.origin);
    assert.equal((await send(p, request('GET', server.host))).body, 'answer 0');
    assert.equal((await send(p, request('GET', server.host))).body, 'answer 1');
    assert.equal(server.connections.length, 2);
  });

  it('a malformed response fails its request with an HPE_ code and closes the connection', async () => {
    const server = await rawServer((socket, _head, index) => socket.write(
      index === 0 ? 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n' : OK(),
    ));
    const p = pool(server.origin);
    assert.equal((await send(p, request('GET', server.host))).error?.code, 'HPE_INVALID_CONTENT_LENGTH');
    assert.equal((await send(p, request('GET', server.host))).error, undefined);
    assert.equal(server.connections.length, 2);
  });
});

// ---------------------------------------------------------------- failures, timeouts, abandoning

describe('h1 pool: failures, timeouts and abandoned requests', () => {
  it('refused: the request learns the connect error', async () => {
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const p = pool(`http://127.0.0.1:${port}`, { connections: 2 });
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => send(p, request('GET', `127.0.0.1:${port}`))));
    assert.ok(outcomes.every((o) => o.error?.code === 'ECONNREFUSED'));
    assert.ok(outcomes.every((o) => o.connectMs === -1), 'nothing was sent');
  });

  it('connect timeout: a TLS handshake that never completes', async () => {
    const server = await listenOn(createTcpServer(() => undefined));
    const p = pool(server.origin.replace('http:', 'https:'), { connectTimeoutMs: 100 });
    const started = performance.now();
    const outcome = await send(p, request('GET', server.host));
    assert.equal(outcome.error?.code, CLIENT_ERROR_CODES.connectTimeout);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 95 && elapsed < 1000, `${elapsed} ms`);
  });

  it('abandoning a request in flight closes its connection and calls nothing more', async () => {
    let closed = 0;
    const server = await rawServer((socket, _head, index) => {
      if (index === 0) socket.once('close', () => closed++);
      else socket.write(OK());
    });
    const p = pool(server.origin);
    const hung = request('GET', server.host);
    p.dispatch(hung);
    await sleep(30);
    p.abandon(hung);
    await sleep(30);
    assert.equal(closed, 1);
    assert.deepEqual(hung.events, ['sent']);
    assert.equal(
      (await send(p, request('GET', server.host))).error,
      undefined,
      'the next request gets a new connection',
    );
  });

  it('abandoning a request while its connection is still opening leaves the connection to the next', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    const p = pool(server.origin);
    const first = request('GET', server.host);
    p.dispatch(first);
    p.abandon(first);
    const second = await send(p, request('GET', server.host));
    assert.equal(second.status, 200);
    assert.deepEqual(first.events, []);
    await sleep(10);
    assert.equal(server.connections.length, 1);
  });

  it('close() lets a request in flight finish, closes idle connections, then refuses requests', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 30);
    });
    const p = pool(server.origin);
    await send(p, request('GET', server.host));
    const inFlight = request('GET', server.host);
    p.dispatch(inFlight);
    const closing = p.close(1000);
    assert.equal(p.close(1000), closing, 'closing twice is closing once');
    await closing;
    assert.equal((await inFlight.done).body, 'late');
    assert.equal(p.closed, true);
    assert.equal((await send(p, request('GET', server.host))).error?.code, CLIENT_ERROR_CODES.poolClosed);
  });

  it('close() destroys what is still busy after the grace period', async () => {
    const server = await httpServer(() => undefined);
    const p = pool(server.origin);
    const hung = request('GET', server.host);
    p.dispatch(hung);
    await sleep(20);
    const started = performance.now();
    await p.close(50);
    assert.ok(performance.now() - started < 500);
    assert.equal((await hung.done).error?.code, CLIENT_ERROR_CODES.poolClosed);
  });

  it('idle connections do not keep the process alive', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    const poolModule = new URL('../../../../../engine/steps/http/h1/pool.js', import.meta.url).href;
    const script = `
      import { Pool, PoolRequest } from ${JSON.stringify(poolModule)};
      class R extends PoolRequest {
        onSent() {} onHead() {} onBody() {}
        onEnd() { console.log('done'); } onError(e) { console.log('error', e.code); }
      }
      const r = new R();
      r.head = 'GET / HTTP/1.1\\r\\nhost: ${server.host}\\r\\n\\r\\n';
      new Pool(${JSON.stringify(server.origin)}, { connections: 1, connectTimeoutMs: 5000 }).dispatch(r);
    `;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill(), 5000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    assert.equal(out.trim(), 'done');
    assert.equal(code, 0, 'the child exited by itself with its connection idle');
  });
});

// ---------------------------------------------------------------- TLS

describe('h1 pool: TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perfy-h1-tls-'));
  const skip = selfSignedCertificate(dir, '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  let server: Listening;
  let cert = '';
  before(async () => {
    if (skip !== false) return;
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = await listenOn(createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      req.resume();
      res.end(`tls ${req.url}`);
    }), 'https');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a self-signed certificate fails verification by default', { skip }, async () => {
    const p = pool(server.origin);
    const outcome = await send(p, request('GET', server.host));
    assert.match(outcome.error?.code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('trusts the certificate given as ca; keep-alive and connect time as over TCP', { skip }, async () => {
    const p = pool(server.origin, { tls: { ca: cert } });
    const a = await send(p, request('GET', server.host, '/a'));
    const b = await send(p, request('GET', server.host, '/b'));
    assert.equal(a.body, 'tls /a');
    assert.equal(b.body, 'tls /b');
    assert.ok(a.connectMs > 0);
    assert.equal(b.connectMs, 0);
    assert.ok(a.bytesIn > 0 && a.bytesIn < 400, `plain-text bytes, not TLS records: ${a.bytesIn}`);
  });

  it('servername picks the name the certificate is checked against', { skip }, async () => {
    const good = pool(server.origin, { tls: { ca: cert, servername: 'localhost' } });
    assert.equal((await send(good, request('GET', server.host))).error, undefined);
    const bad = pool(server.origin, { tls: { ca: cert, servername: 'elsewhere.example' } });
    assert.equal((await send(bad, request('GET', server.host))).error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('rejectUnauthorized: false accepts it', { skip }, async () => {
    const p = pool(server.origin, { tls: { rejectUnauthorized: false } });
    assert.equal((await send(p, request('GET', server.host))).error, undefined);
  });
});
