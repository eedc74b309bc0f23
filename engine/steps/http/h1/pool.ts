// perfy's HTTP/1.1 client: per origin, a pool of keep-alive node:net / node:tls connections that carry one request
// at a time; a request head goes out in one socket write and responses are read by parser.ts. docs/http.md.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { ResponseParser, type ResponseHandler, type ResponseHead } from './parser.js';

export { HttpParseError, MAX_HEAD_BYTES, type ResponseHead } from './parser.js';

export interface PoolOptions {
  /** Connections open at once (connecting, busy or idle), at most. Requests beyond wait in order of arrival. */
  connections: number;
  /** Limit on opening one connection: DNS + TCP + TLS. */
  connectTimeoutMs: number;
  /** How long a connection may stay idle and be used again when the server gave no Keep-Alive hint. Default 4 s. */
  maxIdleMs?: number;
  tls?: {
    /** Default true. */
    rejectUnauthorized?: boolean;
    /** Trusted CA certificate(s), PEM; replaces Node's default list. */
    ca?: string | string[];
    /** SNI and certificate name; default the URL's host name unless it is an IP address. */
    servername?: string;
  };
}

/** The codes of the errors the client makes itself (the parser's start with HPE_; the rest come from Node). */
export const CLIENT_ERROR_CODES = {
  /** The connection closed before the response was complete. */
  closed: 'HTTP_SOCKET_CLOSED',
  /** Opening a connection took longer than connectTimeoutMs. */
  connectTimeout: 'HTTP_CONNECT_TIMEOUT',
  /** The pool was closed before the request could complete. */
  poolClosed: 'HTTP_POOL_CLOSED',
} as const;

export class HttpClientError extends Error {
  override readonly name = 'HttpClientError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * One request as the pool sees it; the executor's exchange extends it. The pool writes `head` and `body` on a
 * connection and reports back through the on* methods: onSent, then onHead, onBody… and onEnd, or onError at
 * any point. Exactly one of onEnd and onError is called, unless the request is abandoned first.
 */
export abstract class PoolRequest implements ResponseHandler {
  /** Request line and header lines, ending with the empty line: "GET / HTTP/1.1\r\nhost: …\r\n\r\n". latin1. */
  head = '';
  body: string | null = null;
  /** UTF-8 length of body. */
  bodyBytes = 0;
  /** A HEAD request: the response has no body, whatever its headers say. */
  isHead = false;
  /** False when the connection must not carry another request after this one (the request said `connection: close`). */
  keepAlive = true;
  /**
   * Whether the request is sent again after a kept-alive connection closed under it before any byte of its
   * response: only when sending it twice means the same as sending it once (RFC 9110: GET, HEAD, OPTIONS, TRACE,
   * PUT, DELETE), and the scenario has not turned resending off.
   */
  resendable = true;
  /** Bytes written and read on the connection for this request, heads included (plain text under TLS). */
  bytesOut = 0;
  bytesIn = 0;
  /** @internal the connection the request is written on, or opened for */
  connection: Connection | undefined = undefined;
  /** @internal waiting for a connection */
  queued = false;
  /** @internal sent once more already, after a kept-alive connection closed under it */
  retried = false;
  /**
   * performance.now() when the bytes being handled arrived (the read that onHead, onBody or onEnd comes from, or
   * the connection's close): a head and a body that arrive in one read arrived at one instant, read once.
   */
  receivedAt = 0;

  /** The head is about to be written. `connectMs`: time to open the connection if this request is its first, else 0. */
  abstract onSent(connectMs: number): void;
  /**
   * The connection closed under the request before any byte of its response, and it is about to be sent again
   * on a new connection (`error`: how it closed). The attempt that was lost is the receiver's to count.
   */
  abstract onResend(error: Error): void;
  abstract onHead(head: ResponseHead): void;
  abstract onBody(data: Buffer, start: number, end: number, last: boolean): void;
  /** The response is complete. The connection is free again once this returns. */
  abstract onEnd(): void;
  abstract onError(error: Error): void;
}

/** The buffer every connection reads into. Responses are parsed before a read returns, so one is enough. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const KEEP_ALIVE_PROBE_MS = 60_000;
/**
 * How much sooner than its Keep-Alive timeout a connection is given up, so the server does not close it under a
 * request.
 */
const KEEP_ALIVE_MARGIN_MS = 1_000;
/**
 * Without a Keep-Alive hint, a connection idle this long is not used again (undici's default too): a request that
 * may not be sent twice must not meet an idle timeout the server did not announce.
 */
const DEFAULT_MAX_IDLE_MS = 4_000;
/** Dead entries (abandoned requests) at the front of the wait queue are cut off past this many. */
const QUEUE_COMPACT_AT = 1024;

const enum Phase {
  Connecting,
  Idle,
  Busy,
  Closed,
}

/** One origin's connections. */
export class Pool {
  closed = false;
  readonly https: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly maxConnections: number;
  private readonly connectTimeoutMs: number;
  /** @internal the idle limit of connections whose server gave no Keep-Alive hint */
  readonly maxIdleMs: number;
  private readonly tlsOptions: tls.ConnectionOptions | undefined;
  private tlsSession: Buffer | undefined;
  /** Most recently used last: the connection a user just released is the one it gets back. */
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  /** FIFO of requests waiting for a connection; abandoned ones stay as dead entries (queued false). */
  private queue: (PoolRequest | undefined)[] = [];
  private queueHead = 0;
  private waiting = 0;
  private size = 0;
  private connecting = 0;
  private onDrained: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(origin: string | URL, options: PoolOptions) {
    const url = typeof origin === 'string' ? new URL(origin) : origin;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`not an http(s) origin: ${url.origin}`);
    }
    if (!Number.isInteger(options.connections) || options.connections < 1) {
      throw new RangeError(`connections must be a positive integer, got ${options.connections}`);
    }
    this.https = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.https ? 443 : 80) : Number(url.port);
    this.maxConnections = options.connections;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.maxIdleMs = options.maxIdleMs ?? DEFAULT_MAX_IDLE_MS;
    if (this.https) {
      const servername = options.tls?.servername ?? (net.isIP(this.host) === 0 ? this.host : undefined);
      this.tlsOptions = {
        rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
        ALPNProtocols: ['http/1.1'],
        ...(options.tls?.ca !== undefined ? { ca: options.tls.ca } : {}),
        ...(servername !== undefined ? { servername } : {}),
      };
    }
  }

  /**
   * Sends `request` on an idle connection, or queues it until one is free or opened. `now`: performance.now(), if at
   * hand.
   */
  dispatch(request: PoolRequest, now = performance.now()): void {
    if (this.closed) {
      request.onError(new HttpClientError(CLIENT_ERROR_CODES.poolClosed, 'the connection pool is closed'));
      return;
    }
    const idle = this.idle;
    while (idle.length > 0) {
      const connection = idle.pop()!;
      if (connection.reusable(now)) {
        connection.send(request);
        return;
      }
      connection.destroy();
    }
    request.queued = true;
    this.queue.push(request);
    this.waiting++;
    this.fill();
  }

  /**
   * Forgets a request that was abandoned (timeout, run stopped): it leaves the queue, or its connection is closed,
   * since the rest of its response may still arrive. No callback of it is called afterwards.
   */
  abandon(request: PoolRequest): void {
    if (request.queued) {
      request.queued = false;
      this.waiting--;
      return;
    }
    const connection = request.connection;
    if (connection === undefined) return;
    request.connection = undefined;
    connection.drop(request);
  }

  /**
   * Stops taking requests and closes idle connections; busy ones close as their responses end. Resolves once
   * all are closed; after graceMs whatever is left is destroyed and its requests fail.
   */
  close(graceMs: number): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.destroy();
    this.closing = this.size === 0 && this.waiting === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.destroy(), graceMs);
        this.onDrained = () => {
          clearTimeout(timer);
          this.onDrained = undefined;
          resolve();
        };
      });
    return this.closing;
  }

  /** Closes every connection now; requests in flight or waiting fail with HTTP_POOL_CLOSED. */
  destroy(): void {
    this.closed = true;
    const error = new HttpClientError(
      CLIENT_ERROR_CODES.poolClosed,
      'the connection pool was closed with the request in flight',
    );
    for (let request = this.takeWaiting(); request !== undefined; request = this.takeWaiting()) request.onError(error);
    for (const connection of [...this.all]) connection.fail(error);
    this.drained();
  }

  // ---- for Connection

  /** @internal a connection that was just opened or just finished a response */
  release(connection: Connection): void {
    const next = this.waiting > 0 ? this.takeWaiting() : undefined;
    if (next !== undefined) {
      connection.send(next);
    } else if (this.closed) {
      connection.destroy();
    } else {
      connection.rest();
      this.idle.push(connection);
    }
  }

  /** @internal */
  connected(): void {
    this.connecting--;
  }

  /** @internal a connection closed: it no longer counts */
  detach(connection: Connection, phase: Phase): void {
    if (!this.all.delete(connection)) return;
    this.size--;
    if (phase === Phase.Connecting) this.connecting--;
    else if (phase === Phase.Idle) {
      const at = this.idle.lastIndexOf(connection);
      if (at !== -1) this.idle.splice(at, 1);
    }
    this.drained();
  }

  /** @internal the oldest request still waiting, taken off the queue */
  takeWaiting(): PoolRequest | undefined {
    const queue = this.queue;
    while (this.queueHead < queue.length) {
      const request = queue[this.queueHead];
      queue[this.queueHead++] = undefined;
      if (request !== undefined && request.queued) {
        request.queued = false;
        this.waiting--;
        if (this.queueHead === queue.length) {
          queue.length = 0;
          this.queueHead = 0;
        } else if (this.queueHead >= QUEUE_COMPACT_AT && this.queueHead * 2 >= queue.length) {
          this.queue = queue.slice(this.queueHead);
          this.queueHead = 0;
        }
        return request;
      }
    }
    queue.length = 0;
    this.queueHead = 0;
    return undefined;
  }

  /** @internal opens connections while requests wait that no opening connection will serve */
  fill(): void {
    while (!this.closed && this.size < this.maxConnections && this.connecting < this.waiting) this.open(undefined);
  }

  /** @internal a request a kept-alive connection dropped before answering: once more, on a connection of its own */
  retry(request: PoolRequest, error: Error): void {
    request.retried = true;
    request.onResend(error);
    if (this.closed) {
      request.onError(new HttpClientError(CLIENT_ERROR_CODES.poolClosed, 'the connection pool is closed'));
      return;
    }
    this.open(request);
  }

  /** @internal */
  connect(onread: (bytes: number, buffer: Buffer) => boolean): net.Socket {
    const read = { buffer: READ_BUFFER, callback: onread };
    let socket: net.Socket;
    if (this.tlsOptions !== undefined) {
      // tls.connect takes onread as net.connect does, though its types do not say so.
      socket = tls.connect({
        ...this.tlsOptions,
        host: this.host,
        port: this.port,
        session: this.tlsSession,
        onread: read,
      } as tls.ConnectionOptions);
      socket.on('session', (session: Buffer) => {
        // The next connection resumes this TLS session: a shorter handshake, as browsers and undici do.
        this.tlsSession = session;
      });
    } else {
      socket = net.connect({ host: this.host, port: this.port, onread: read });
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEP_ALIVE_PROBE_MS);
    return socket;
  }

  /** @internal */
  get connectTimeout(): number {
    return this.connectTimeoutMs;
  }

  private open(bound: PoolRequest | undefined): void {
    let connection: Connection;
    try {
      connection = new Connection(this, bound);
    } catch (error) {
      // net.connect throws at once on what it can tell is wrong (a port it cannot use): one request learns it.
      const request = bound ?? this.takeWaiting();
      if (request !== undefined) {
        request.connection = undefined;
        request.onError(error as Error);
      }
      return;
    }
    this.size++;
    this.connecting++;
    this.all.add(connection);
  }

  private drained(): void {
    if (this.onDrained !== undefined && this.size === 0 && this.waiting === 0) this.onDrained();
  }
}

/** One socket and the response being read on it. */
export class Connection {
  private phase = Phase.Connecting;
  private readonly socket: net.Socket;
  private readonly parser = new ResponseParser();
  private request: PoolRequest | undefined;
  /** A request this connection was opened for alone (a retry): it is sent first. */
  private bound: PoolRequest | undefined;
  private readonly connectStart = performance.now();
  /** The connect time, until the first request written on the connection claims it. */
  private connectMs = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Requests written on this connection. */
  private sent = 0;
  private idleSince = 0;
  /** performance.now() of the latest read. */
  private readAt = 0;
  /** From the server's Keep-Alive hint: how long the connection may stay idle and still be used. */
  private maxIdleMs = Infinity;
  private ended = false;
  private unrefed = false;
  private error: Error | undefined;

  constructor(private readonly pool: Pool, bound: PoolRequest | undefined) {
    this.bound = bound;
    if (bound !== undefined) bound.connection = this;
    this.socket = pool.connect((bytes, buffer) => {
      this.onRead(bytes, buffer);
      return true;
    });
    this.socket.once(pool.https ? 'secureConnect' : 'connect', () => this.onConnect());
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error: Error) => {
      this.error ??= error;
    });
    this.socket.on('close', () => this.onClose());
    this.connectTimer = setTimeout(connectTimedOut, pool.connectTimeout, this);
  }

  /** Whether an idle connection can take a request at `now`: the server has not closed it, nor is about to. */
  reusable(now: number): boolean {
    if (this.ended || this.socket.destroyed) return false;
    return this.maxIdleMs === Infinity || now - this.idleSince < this.maxIdleMs;
  }

  send(request: PoolRequest): void {
    this.phase = Phase.Busy;
    this.request = request;
    request.connection = this;
    this.sent++;
    this.parser.start(request, request.isHead);
    const socket = this.socket;
    if (this.unrefed) {
      this.unrefed = false;
      socket.ref();
    }
    const connectMs = this.connectMs;
    this.connectMs = 0;
    request.bytesIn = 0;
    request.onSent(connectMs);
    const head = request.head;
    const body = request.body;
    if (body === null) {
      request.bytesOut += head.length;
      socket.write(head, 'latin1');
    } else if (request.bodyBytes === body.length) {
      // An ASCII body: head and body go out as one latin1 string, in one write.
      request.bytesOut += head.length + body.length;
      socket.write(head + body, 'latin1');
    } else {
      request.bytesOut += head.length + request.bodyBytes;
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body, 'utf8');
      socket.uncork();
    }
  }

  /** Idle: an idle connection alone does not keep the process alive. */
  rest(): void {
    this.phase = Phase.Idle;
    // A finite idle limit comes from a response, and a connection rests after a response as that read returns.
    if (this.maxIdleMs !== Infinity) this.idleSince = this.readAt;
    if (!this.unrefed) {
      this.unrefed = true;
      this.socket.unref();
    }
  }

  /** The pool abandoned `request`. */
  drop(request: PoolRequest): void {
    if (this.request === request) {
      this.request = undefined;
      this.destroy();
    } else if (this.bound === request) {
      // Still connecting: the connection will serve whoever waits next.
      this.bound = undefined;
    }
  }

  /** Closes the socket; whatever request it carried has been dealt with. */
  destroy(): void {
    if (this.phase === Phase.Closed) return;
    const phase = this.phase;
    this.phase = Phase.Closed;
    clearTimeout(this.connectTimer);
    this.socket.destroy();
    this.pool.detach(this, phase);
  }

  /** Closes the socket and fails the request it carries or was opened for. */
  fail(error: Error): void {
    const request = this.request ?? this.bound;
    this.request = undefined;
    this.bound = undefined;
    this.destroy();
    if (request !== undefined) {
      request.connection = undefined;
      request.onError(error);
    }
  }

  private onConnect(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.phase !== Phase.Connecting) return;
    this.connectMs = performance.now() - this.connectStart;
    this.phase = Phase.Idle;
    this.pool.connected();
    const bound = this.bound;
    if (bound !== undefined) {
      this.bound = undefined;
      this.send(bound);
    } else {
      this.pool.release(this);
    }
  }

  private onRead(bytes: number, data: Buffer): void {
    const request = this.request;
    if (request === undefined) {
      // Bytes nobody asked for (a body after a HEAD response, a server talking out of turn): this connection's
      // next response could not be told apart from them.
      this.destroy();
      return;
    }
    request.bytesIn += bytes;
    request.receivedAt = this.readAt = performance.now();
    let consumed: number;
    try {
      consumed = this.parser.execute(data, 0, bytes);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    // Bytes after the end of the response (consumed < bytes) are, again, bytes nobody asked for.
    if (this.parser.done) this.complete(request, consumed === bytes);
  }

  private complete(request: PoolRequest, clean: boolean): void {
    this.request = undefined;
    request.connection = undefined;
    const parser = this.parser;
    // A HEAD response is kept alive, as browsers, curl and Go do; a server that sends a body after it anyway is
    // caught when the body comes in the same read (not clean) or while the connection is idle (onRead).
    const reuse = clean && parser.keepAlive && request.keepAlive && !this.ended;
    if (reuse) {
      const hint = parser.keepAliveTimeoutMs;
      this.maxIdleMs = hint < 0 ? this.pool.maxIdleMs : Math.max(hint - KEEP_ALIVE_MARGIN_MS, hint / 2);
    }
    request.onEnd();
    if (reuse && this.phase === Phase.Busy) this.pool.release(this);
    else this.destroy();
  }

  private onEnd(): void {
    this.ended = true;
    const request = this.request;
    // A body that runs until the server closes the connection ends here.
    if (request !== undefined && this.error === undefined && this.parser.finish()) {
      request.receivedAt = performance.now();
      this.complete(request, false);
    }
  }

  private onClose(): void {
    if (this.phase === Phase.Closed) return;
    const phase = this.phase;
    this.phase = Phase.Closed;
    clearTimeout(this.connectTimer);
    this.pool.detach(this, phase);
    const error = this.error;
    if (phase === Phase.Connecting) {
      // The connect failed: the request it was opened for, else the one waiting longest, learns why.
      const request = this.bound ?? this.pool.takeWaiting();
      this.bound = undefined;
      if (request !== undefined) {
        request.connection = undefined;
        request.onError(
          error ?? new HttpClientError(CLIENT_ERROR_CODES.closed, 'the connection closed before it was established'),
        );
      }
    } else {
      const request = this.request;
      if (request !== undefined) {
        this.request = undefined;
        request.connection = undefined;
        if (error === undefined && this.parser.finish()) {
          request.receivedAt = performance.now();
          request.onEnd();
        } else if (this.sent > 1 && request.bytesIn === 0 && !request.retried && request.resendable) {
          // A kept-alive connection the server closed before answering anything: usually its idle timeout firing
          // as the request went out. Go's net/http and browsers send such idempotent requests again; a POST may
          // have been acted on, so its failure is reported instead. The lost attempt is counted (onResend).
          this.pool.retry(
            request,
            error ?? new HttpClientError(
              CLIENT_ERROR_CODES.closed,
              'the server closed the kept-alive connection before answering',
            ),
          );
        } else {
          request.onError(
            error ?? new HttpClientError(
              CLIENT_ERROR_CODES.closed,
              'the server closed the connection before the response was complete',
            ),
          );
        }
      }
    }
    this.pool.fill();
  }

  /** @internal */
  timedOut(): void {
    this.connectTimer = undefined;
    if (this.phase !== Phase.Connecting) return;
    this.error = new HttpClientError(
      CLIENT_ERROR_CODES.connectTimeout,
      `connecting took longer than ${this.pool.connectTimeout} ms`,
    );
    this.socket.destroy();
  }
}

function connectTimedOut(connection: Connection): void {
  connection.timedOut();
}
