// A conformance table over real sockets: a raw TCP server on 127.0.0.1 answers each case with exact bytes
// (in several writes with pauses, where a case says so) and perfy's Pool must give the stated outcome, then use
// the connection again for a second request or not. docs/http-parser.md.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { until } from '../../../../helpers.js';
import { MAX_HEAD_BYTES, Pool, PoolRequest, type ResponseHead } from '../../../../../engine/steps/http/h1/pool.js';

interface Case {
  name: string;
  /** The response to the first request: its bytes, or pieces written 5 ms apart. */
  response: string | string[];
  /** The server closes the connection after the response. */
  close?: boolean;
  /** The first request is HEAD. */
  head?: boolean;
  /** The second request waits until the client has closed the first connection (bytes arrive after the response). */
  awaitClose?: boolean;
  /** Status and body, or an error code. */
  expect: { status: number; body: string } | { error: string };
  /** Whether the second request goes over the first one's connection. */
  reused: boolean;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
/** What follows OK's status line. */
const OK_FIELDS = OK.slice('HTTP/1.1 200 OK\r\n'.length);
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

/** A case whose first request gets `status` and `body`. */
const served = (name: string, response: string | string[], [status, body]: [number, string], reused: boolean,
  options: Partial<Case> = {}): Case => ({ name, response, expect: { status, body }, reused, ...options });
/** A case whose first request fails with `code`: the connection is closed, the second request opens another. */
const refused = (name: string, response: string | string[], code: string, options: Partial<Case> = {}): Case =>
  ({ name, response, expect: { error: code }, reused: false, ...options });
const INVALID_HEADER = 'HPE_INVALID_HEADER_TOKEN';

const CASES: Case[] = [
  // issue #14, item 6
  served('an empty line before the status line', `\r\n${OK}`, [200, 'ok'], true),
  served('empty lines in a write of their own first', ['\r\n\n', OK], [200, 'ok'], true),
  // The parser skips the CRLF, but the pool does not reuse a connection that sent more than the response.
  served('one CRLF too many after a body', `${OK}\r\n`, [200, 'ok'], false),
  served('a chunk size with 16 leading zeros', `${CHUNKED}00000000000000002\r\nok\r\n0\r\n\r\n`, [200, 'ok'], true),
  served('a content-length with leading zeros', `${OK.replace(': 2', ': 00000000000000002')}`, [200, 'ok'], true),
  refused('a chunk size of 2^52', `${CHUNKED}10000000000000\r\nok`, 'HPE_INVALID_CHUNK_SIZE'),
  refused('a NUL in a header value', `HTTP/1.1 200 OK\r\nX-A: a\0b\r\n${OK_FIELDS}`, INVALID_HEADER),
  refused('a DEL in a header value, split', ['HTTP/1.1 200 OK\r\nX-A: a', `\x7f\r\n${OK_FIELDS}`], INVALID_HEADER),
  refused('a control character in a 103', `HTTP/1.1 103 Early Hints\r\nLink: <a>\x1b\r\n\r\n${OK}`, INVALID_HEADER),
  refused('a trailer without a colon', `${CHUNKED}2\r\nok\r\n0\r\nX-Trailer 1\r\n\r\n`, INVALID_HEADER),
  refused('a control character in a trailer', `${CHUNKED}2\r\nok\r\n0\r\nX-Trailer: \x01\r\n\r\n`, INVALID_HEADER),
  refused('a space after a chunk size', `${CHUNKED}2 \r\nok\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'),
  refused('an empty chunk extension', `${CHUNKED}2;\r\nok\r\n0\r\n\r\n`, 'HPE_STRICT'),
  refused('a chunk-size line ending in a bare LF', `${CHUNKED}2\nok\r\n0\r\n\r\n`, 'HPE_CR_EXPECTED'),
  // framing, split anywhere
  served('a response in five writes', ['HTTP/1.1 2', '00 OK\r\nContent-Le', 'ngth: 5\r\n\r', '\nhel', 'lo'],
    [200, 'hello'], true),
  served(
    'chunked with extensions and trailers, split',
    [`${CHUNKED}5;name=val`, 'ue;q="a b"\r\nhel', 'lo\r\n6\r\n world\r\n0;last\r\nX-T', 'railer: 1\r\n\r\n'],
    [200, 'hello world'], true,
  ),
  served('a body until the server closes', ['HTTP/1.1 200 OK\r\n\r\nuntil ', 'close'], [200, 'until close'], false, {
    close: true,
  }),
  refused('a body cut short by a close', 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort', 'HTTP_SOCKET_CLOSED', {
    close: true,
  }),
  served('content-length 0', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', [200, ''], true),
  served('a 204 with a bogus content-length', 'HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n', [204, ''], true),
  served('a 304 with a bogus content-length', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n', [304, ''],
    true),
  served('HEAD with a content-length and no body', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', [200, ''], true, {
    head: true,
  }),
  served(
    '100 Continue and 103 Early Hints before the response, apart',
    ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', OK],
    [200, 'ok'], true,
  ),
  served('garbage right after a response', `${OK}GARBAGE`, [200, 'ok'], false),
  served('garbage after a response, in a later write', [OK, 'GARBAGE'], [200, 'ok'], false, { awaitClose: true }),
  refused(`a head over ${MAX_HEAD_BYTES} bytes`, `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`,
    'HPE_HEADER_OVERFLOW'),
  // keep-alive
  served('connection: close', `HTTP/1.1 200 OK\r\nConnection: close\r\n${OK_FIELDS}`, [200, 'ok'], false),
  served('HTTP/1.0 with connection: keep-alive', `HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n${OK_FIELDS}`,
    [200, 'ok'], false),
  refused('a 101 nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n',
    'HPE_UNEXPECTED_UPGRADE'),
];

/** A request that keeps what the pool reports; `done` resolves on onEnd or onError. */
class Exchange extends PoolRequest {
  readonly done: Promise<void>;
  status = 0;
  error: (Error & { code?: string }) | undefined;
  private readonly pieces: Buffer[] = [];
  private settle!: () => void;

  constructor(method: 'GET' | 'HEAD', path: string, host: string) {
    super();
    this.head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n\r\n`;
    this.isHead = method === 'HEAD';
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** The response body (`body` is the request's). */
  get received(): string {
    return Buffer.concat(this.pieces).toString('latin1');
  }

  onSent(): void {}
  onResend(): void {}
  onHead(head: ResponseHead): void {
    this.status = head.status;
  }
  onBody(data: Buffer, start: number, end: number): void {
    this.pieces.push(Buffer.from(data.subarray(start, end)));
  }
  onEnd(): void {
    this.settle();
  }
  onError(error: Error): void {
    this.error = error;
    this.settle();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('h1 pool and parser over real sockets: the conformance table', () => {
  let server: Server;
  let host = '';
  /** The socket each request arrived on, by path. */
  const arrivedOn = new Map<string, Socket>();
  const sockets = new Set<Socket>();
  const pools: Pool[] = [];

  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      let pending = '';
      socket.on('data', (data) => {
        pending += data.toString('latin1');
        for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
          const path = pending.slice(0, end).split(' ')[1]!;
          pending = pending.slice(end + 4);
          arrivedOn.set(path, socket);
          void answer(socket, path);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await Promise.all(pools.map((pool) => pool.close(100)));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Case i answers /case/i; anything else is answered OK. */
  async function answer(socket: Socket, path: string): Promise<void> {
    const c = path.startsWith('/case/') ? CASES[Number(path.slice(6))] : undefined;
    if (c === undefined) {
      socket.write(OK, 'latin1');
      return;
    }
    const pieces = typeof c.response === 'string' ? [c.response] : c.response;
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) await sleep(5);
      socket.write(piece, 'latin1');
    }
    if (c.close) socket.end();
  }

  CASES.forEach((c, i) => {
    const outcome = 'error' in c.expect ? c.expect.error : c.expect.status;
    it(`${c.name}: ${outcome}, ${c.reused ? '' : 'not '}reused`, async () => {
      const pool = new Pool(`http://${host}`, { connections: 1, connectTimeoutMs: 5_000 });
      pools.push(pool);
      const first = new Exchange(c.head ? 'HEAD' : 'GET', `/case/${i}`, host);
      pool.dispatch(first);
      await first.done;
      if ('error' in c.expect) {
        assert.equal(first.error?.code, c.expect.error, first.error?.message);
      } else {
        assert.equal(first.error, undefined, first.error?.message);
        assert.deepEqual({ status: first.status, body: first.received }, c.expect);
      }
      if (c.awaitClose) {
        const closed = await until(() => !sockets.has(arrivedOn.get(`/case/${i}`)!), 5_000);
        assert.ok(closed, 'the client closes the connection');
      }
      const second = new Exchange('GET', `/after/${i}`, host);
      pool.dispatch(second);
      await second.done;
      assert.equal(second.error, undefined, 'the second request succeeds');
      assert.equal(arrivedOn.get(`/after/${i}`) === arrivedOn.get(`/case/${i}`), c.reused, 'connection reused');
    });
  });
});
