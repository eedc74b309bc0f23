// The HTTP step executor: renders a step's `http:` request, sends it through one keep-alive undici Pool per
// origin, times connect / first response headers / whole body, and records the http.* metrics. docs/http.md.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Client, Pool, buildConnector, type Dispatcher } from 'undici';
import type { StepNode } from '../compile/plan.js';
import { isTemplate, renderTree, type Template, type TemplateTree } from '../compile/template.js';
import type { MetricHandle, MetricStore, Tags } from '../metrics/types.js';
import type { CookieJar } from './cookies.js';
import type { ErrorClass, Executor, ExecutorSetup, StepResult, StepRunner, VuContext } from './types.js';

export interface HttpExecutorOptions {
  /** Keep-alive connections per origin (scheme://host:port). Default 100. */
  connectionsPerOrigin?: number;
  tls?: {
    /** Default true: a certificate that does not verify fails the request with class `tls`. */
    rejectUnauthorized?: boolean;
    /** Trusted CA certificate(s), PEM; replaces Node's default list (as node:tls `ca` does). */
    ca?: string;
  };
  /** Limit on opening one connection (DNS + TCP + TLS), independent of the step timeout. Default 10 s. */
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECTIONS_PER_ORIGIN = 100;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long close() lets in-flight requests finish before it destroys the sockets. */
const CLOSE_GRACE_MS = 1_000;

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
type MethodKey = (typeof METHODS)[number];

/**
 * Connect-time attribution.
 *
 * undici's Pool creates one Client per connection (the `factory` option) and every Client opens its socket
 * through the `connect` function it is given. A Client here is a TimedClient: its connect function times the
 * connector (DNS + TCP + TLS handshake, until undici gets the ready socket) and leaves the result in the
 * Client's ConnectionTiming. With pipelining 1 (undici's default, kept here) a Client writes one request at a
 * time, in the order dispatched, and right after a connect succeeds it writes the request that made it connect
 * (the first of its queue). The Pool hands each request to exactly one Client by calling that Client's
 * dispatch(): TimedClient.dispatch stores its ConnectionTiming on the request's dispatch options, which undici
 * passes through unchanged. undici calls the handler's onRequestStart synchronously just before writing the
 * request head on the socket; there the Exchange takes the pending connect time (and clears it), so the first
 * request on a new connection gets its connect time and every later one on the same connection gets 0.
 * No global diagnostics channel is involved, so other users of undici in the process are not affected.
 */
interface ConnectionTiming {
  /** ms the latest connect took; -1 once a request has claimed it */
  freshConnectMs: number;
  socket: Socket | undefined;
}

interface ExchangeOptions extends Dispatcher.DispatchOptions {
  exchange: Exchange;
}

class TimedClient extends Client {
  private readonly connection: ConnectionTiming;

  constructor(origin: URL, options: Client.Options, connector: buildConnector.connector) {
    const connection: ConnectionTiming = { freshConnectMs: -1, socket: undefined };
    super(origin, {
      ...options,
      connect: (connectOptions, callback) => {
        const start = performance.now();
        connector(connectOptions, (...args) => {
          const socket = args[1];
          if (socket) {
            connection.freshConnectMs = performance.now() - start;
            connection.socket = socket;
          }
          callback(...args);
        });
      },
    });
    this.connection = connection;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const exchange = (options as Partial<ExchangeOptions>).exchange;
    if (exchange !== undefined) exchange.connection = this.connection;
    return super.dispatch(options, handler);
  }
}

/** The http.* handles for one tag set (one status or error class of one step). */
interface HttpHandles {
  duration: MetricHandle;
  connect: MetricHandle;
  ttfb: MetricHandle;
  reqs: MetricHandle;
  errors: MetricHandle;
  bytesIn: MetricHandle;
  bytesOut: MetricHandle;
}

const NO_HEADERS: Record<string, string> = Object.freeze({});

/** Run aborts reach in-flight exchanges through one listener per signal, not one per request. */
const signalWatchers = new WeakMap<AbortSignal, Set<Exchange>>();

function watcherFor(signal: AbortSignal): Set<Exchange> {
  let inFlight = signalWatchers.get(signal);
  if (inFlight === undefined) {
    const set = new Set<Exchange>();
    inFlight = set;
    signalWatchers.set(signal, set);
    signal.addEventListener('abort', () => {
      for (const exchange of [...set]) exchange.cancel('aborted');
    }, { once: true });
  }
  return inFlight;
}

export function createHttpExecutor(options: HttpExecutorOptions = {}): Executor {
  const connections = options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
  if (!Number.isInteger(connections) || connections < 1) throw new RangeError(`connectionsPerOrigin must be a positive integer, got ${connections}`);
  const tlsOptions: { rejectUnauthorized?: boolean; ca?: string } = {};
  if (options.tls?.rejectUnauthorized !== undefined) tlsOptions.rejectUnauthorized = options.tls.rejectUnauthorized;
  if (options.tls?.ca !== undefined) tlsOptions.ca = options.tls.ca;
  const connector = buildConnector({ ...tlsOptions, timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
  const pools = new Map<string, Pool>();

  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections,
        pipelining: 1,
        connect: connector,
        factory: (url, clientOptions) => new TimedClient(url, clientOptions as Client.Options, connector),
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  return {
    kind: 'http',
    create(step, setup) {
      return new HttpStepRunner(step, setup, poolFor);
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map(closePool));
    },
  };
}

async function closePool(pool: Pool): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    pool.close().then(() => true, () => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS, false);
    }),
  ]);
  clearTimeout(timer);
  if (!closed) await pool.destroy().catch(() => undefined);
}

type BodyPlan =
  | { kind: 'none' }
  | { kind: 'static'; body: string }
  | { kind: 'json'; render: (vars: Record<string, unknown>) => unknown }
  | { kind: 'form'; entries: [string, TemplateTree][] }
  | { kind: 'raw'; template: Template };

/** One step's prepared request: everything that does not depend on the iteration is worked out once here. */
class HttpStepRunner implements StepRunner {
  private readonly method: Dispatcher.HttpMethod;
  private readonly methodTag: string;
  private readonly url: Template;
  private readonly target: string | undefined;
  private readonly staticQuery: string | undefined;
  private readonly queryEntries: [string, TemplateTree][];
  /** [name, value, name, value, …] when no header is a template; else undefined and headerEntries render. */
  private readonly staticHeaders: string[] | undefined;
  private readonly headerEntries: [string, Template | string][];
  private readonly body: BodyPlan;
  private readonly decodeBody: boolean;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly handles = new Map<number | string, HttpHandles>();
  /** The last URL rendered and what it resolved to: most steps hit the same URL again and again. */
  private sendsCookieHeader = false;
  private lastUrl = '';
  private lastOrigin = '';
  private lastHost = '';
  private lastHttps = false;
  private lastPath = '';
  private lastPool: Pool | undefined;
  private lastSignal: AbortSignal | undefined;
  private lastInFlight: Set<Exchange> | undefined;

  constructor(step: StepNode, setup: ExecutorSetup, private readonly poolFor: (origin: string) => Pool) {
    const request = asMapping(step.request, 'the http request');
    const methodKey = METHODS.find((m) => request[m] !== undefined);
    if (methodKey === undefined) throw new Error(`step "${step.name}": the http request has no method key (${METHODS.join(', ')})`);
    this.method = methodKey.toUpperCase() as Dispatcher.HttpMethod;
    this.methodTag = this.method;
    this.url = asTemplate(request[methodKey as MethodKey], `the ${methodKey} URL`);
    this.target = setup.target;

    const query = request['query'] === undefined ? {} : asMapping(request['query'], 'query');
    this.queryEntries = Object.entries(query);
    this.staticQuery = this.queryEntries.every(([, v]) => isStaticTree(v)) ? encodeQuery(this.queryEntries, {}) : undefined;

    // Default headers first, then the step's own; names are case-insensitive, so the last spelling wins.
    const headers = new Map<string, Template | string>();
    for (const [name, value] of Object.entries(setup.defaultHeaders)) headers.set(name.toLowerCase(), value);
    if (request['headers'] !== undefined) {
      for (const [name, value] of Object.entries(asMapping(request['headers'], 'headers'))) headers.set(name.toLowerCase(), asTemplate(value, `header ${name}`));
    }

    if (request['json'] !== undefined) {
      const tree = request['json'];
      this.body = isStaticTree(tree) ? { kind: 'static', body: JSON.stringify(renderTree(tree, {})) } : { kind: 'json', render: jsonRenderer(tree) };
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (request['form'] !== undefined) {
      const entries = Object.entries(asMapping(request['form'], 'form'));
      this.body = entries.every(([, v]) => isStaticTree(v)) ? { kind: 'static', body: encodeQuery(entries, {}) } : { kind: 'form', entries };
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    } else if (request['body'] !== undefined) {
      const template = asTemplate(request['body'], 'body');
      this.body = template.isStatic ? { kind: 'static', body: template.source } : { kind: 'raw', template };
    } else {
      this.body = { kind: 'none' };
    }

    this.headerEntries = [...headers];
    // A step that writes its own Cookie header manages cookies itself: the user's jar does not add to it.
    this.sendsCookieHeader = headers.has('cookie');
    this.staticHeaders = this.headerEntries.every(([, v]) => typeof v === 'string' || v.isStatic)
      ? this.headerEntries.flatMap(([name, v]) => [name, typeof v === 'string' ? v : v.source])
      : undefined;

    const expressions = [...step.expects, ...step.captures.map((c) => c.expression), ...(step.retry?.on ? [step.retry.on] : [])];
    this.decodeBody = expressions.some((e) => e.names.some((n) => n.name === 'json' || n.name === 'body'));
    this.store = setup.store;
    this.tags = setup.tags;
  }

  execute(ctx: VuContext, timeoutMs: number): Promise<StepResult> {
    const startedAt = performance.now();
    const vars = ctx.vars;
    const exchange = new Exchange(this, startedAt, this.decodeBody);
    if (ctx.signal.aborted) {
      exchange.cancel('aborted');
      return exchange.promise;
    }
    let path: string;
    let pool: Pool;
    try {
      const url = this.url.isStatic ? this.url.source : this.url.render(vars);
      if (url !== this.lastUrl || this.lastPool === undefined || this.lastPool.closed) this.resolveUrl(url);
      pool = this.lastPool!;
      path = this.lastPath;
      const query = this.staticQuery ?? encodeQuery(this.queryEntries, vars);
      if (query !== '') path += (path.includes('?') ? '&' : '?') + query;
    } catch (error) {
      exchange.fail('other', (error as Error).message, true);
      return exchange.promise;
    }

    const timed = timeoutMs > 0 && Number.isFinite(timeoutMs);
    let headers = this.staticHeaders ?? this.renderHeaders(vars);
    const jar = ctx.cookies;
    if (jar !== undefined) {
      // Most requests carry no cookies: nothing is allocated for them until a response sets one.
      exchange.cookies = jar;
      exchange.cookieHost = this.lastHost;
      exchange.cookiePath = this.lastPath;
      if (!this.sendsCookieHeader && jar.has(this.lastHost)) {
        const cookie = jar.header(this.lastHost, this.lastHttps, pathOnly(this.lastPath));
        if (cookie !== undefined) headers = [...headers, 'cookie', cookie];
      }
    }
    const options: ExchangeOptions = {
      origin: this.lastOrigin,
      path,
      method: this.method,
      headers,
      body: this.renderBody(vars),
      // The step timeout covers headers and body; undici's own 300 s timers would only add work.
      headersTimeout: timed ? 0 : null,
      bodyTimeout: timed ? 0 : null,
      exchange,
    };

    if (ctx.signal !== this.lastSignal) {
      this.lastSignal = ctx.signal;
      this.lastInFlight = watcherFor(ctx.signal);
    }
    exchange.watch(this.lastInFlight!, timed ? timeoutMs : 0);
    pool.dispatch(options, exchange);
    return exchange.promise;
  }

  /** Absolute URLs are used as they are; a relative one is appended to the target (its path kept). */
  private resolveUrl(url: string): void {
    let absolute = url;
    if (!/^https?:\/\//i.test(url)) {
      if (this.target === undefined || this.target === '') throw new Error(`"${url}" is a relative URL and the scenario has no target`);
      const base = this.target.endsWith('/') ? this.target.slice(0, -1) : this.target;
      absolute = url.startsWith('/') || url.startsWith('?') ? base + url : `${base}/${url}`;
    }
    let parsed: URL;
    try {
      parsed = new URL(absolute);
    } catch {
      throw new Error(`"${absolute}" is not a valid URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`"${absolute}" is not an http(s) URL`);
    this.lastOrigin = parsed.origin;
    this.lastHost = parsed.host;
    this.lastHttps = parsed.protocol === 'https:';
    this.lastPath = parsed.pathname + parsed.search;
    this.lastPool = this.poolFor(parsed.origin);
    this.lastUrl = url;
  }

  private renderHeaders(vars: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const [name, value] of this.headerEntries) out.push(name, typeof value === 'string' ? value : value.render(vars));
    return out;
  }

  private renderBody(vars: Record<string, unknown>): string | null {
    const body = this.body;
    switch (body.kind) {
      case 'none':
        return null;
      case 'static':
        return body.body;
      case 'json':
        return JSON.stringify(body.render(vars));
      case 'form':
        return encodeQuery(body.entries, vars);
      case 'raw':
        return body.template.render(vars);
    }
  }

  /** The handles for one status (number) or error class (string); store.handle runs once per key per step. */
  handlesFor(key: number | string): HttpHandles {
    let h = this.handles.get(key);
    if (h === undefined) {
      const status = String(key);
      const statusClass = typeof key === 'number' ? `${Math.floor(key / 100)}xx` : 'error';
      const tags: Tags = { ...this.tags, method: this.methodTag, status, status_class: statusClass };
      const store = this.store;
      h = {
        duration: store.handle('http.duration', 'trend', tags),
        connect: store.handle('http.connect', 'trend', tags),
        ttfb: store.handle('http.ttfb', 'trend', tags),
        reqs: store.handle('http.reqs', 'counter', tags),
        errors: store.handle('http.errors', 'rate', tags),
        bytesIn: store.handle('http.bytes_in', 'counter', tags),
        bytesOut: store.handle('http.bytes_out', 'counter', tags),
      };
      this.handles.set(key, h);
    }
    return h;
  }
}

/**
 * One request in flight: the undici dispatch handler, the step timer and the promise of the StepResult.
 * It settles exactly once: on the end of the body, an error, the step timeout or the run's abort signal.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly promise: Promise<StepResult>;
  private resolve!: (result: StepResult) => void;
  connection: ConnectionTiming | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Set<Exchange> | undefined;
  /** performance.now() marks; -1 = not reached */
  private sentAt = -1;
  private headersAt = -1;
  private connectMs = 0;
  private socket: Socket | undefined;
  private bytesReadBefore = 0;
  private bytesWrittenBefore = 0;
  private status = 0;
  private header: Record<string, string> = NO_HEADERS;
  private size = 0;
  private chunks: Buffer[] | undefined;
  /** Where a response's Set-Cookie goes: the virtual user's jar, for the request's host and path. */
  cookies: CookieJar | undefined;
  cookieHost = '';
  cookiePath = '';
  /** The request could not even be formed (bad URL): no http.* metric, nothing was sent. */
  private unsent = false;
  private result: StepResult | undefined;

  constructor(
    private readonly runner: HttpStepRunner,
    private readonly startedAt: number,
    decodeBody: boolean,
  ) {
    if (decodeBody) this.chunks = [];
    this.promise = new Promise<StepResult>((resolve) => {
      this.resolve = resolve;
    });
  }

  watch(inFlight: Set<Exchange>, timeoutMs: number): void {
    this.inFlight = inFlight;
    inFlight.add(this);
    if (timeoutMs > 0) this.timer = setTimeout(fireTimeout, timeoutMs, this);
  }

  /** The step timeout or the run abort: settle now, and stop the request if it is on a socket already. */
  cancel(errorClass: 'timeout' | 'aborted'): void {
    if (this.settled) return;
    const message = errorClass === 'timeout' ? 'the step timed out' : 'the run was stopped';
    this.fail(errorClass, message);
    // Before onRequestStart there is nothing to abort yet: onRequestStart aborts it when it gets a socket.
    this.controller?.abort(new Error(message));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    const connection = this.connection;
    if (connection !== undefined) {
      if (connection.freshConnectMs >= 0) {
        this.connectMs = connection.freshConnectMs;
        connection.freshConnectMs = -1;
      }
      const socket = connection.socket;
      if (socket !== undefined) {
        this.socket = socket;
        this.bytesReadBefore = socket.bytesRead;
        this.bytesWrittenBefore = socket.bytesWritten;
      }
    }
    if (this.settled) {
      controller.abort(new Error('the step timed out or the run was stopped before the request was sent'));
      return;
    }
    this.sentAt = performance.now();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx informational: the real response follows
    this.headersAt = performance.now();
    this.status = statusCode;
    if (this.cookies !== undefined && headers['set-cookie'] !== undefined) {
      this.cookies.store(this.cookieHost, pathOnly(this.cookiePath), headers['set-cookie']);
    }
    const header: Record<string, string> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined) header[name] = typeof value === 'string' ? value : value.join(', ');
    }
    this.header = header;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    this.chunks?.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const endedAt = performance.now();
    let body: string | undefined;
    let json: unknown;
    if (this.chunks !== undefined) {
      try {
        body = decodeText(this.chunks, this.header['content-encoding']);
      } catch (error) {
        this.finish(endedAt, 'protocol', `could not decode the ${this.header['content-encoding']} body: ${(error as Error).message}`, undefined, undefined);
        return;
      }
      json = parseJson(body, this.header['content-type']);
    }
    if (this.status >= 400) this.finish(endedAt, 'http', `HTTP ${this.status}`, body, json);
    else this.finish(endedAt, undefined, undefined, body, json);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    // undici refuses a request it cannot write (a header value with a newline, …) before sending anything.
    if (this.sentAt < 0 && errorCode(error) === 'UND_ERR_INVALID_ARG') this.unsent = true;
    this.finish(performance.now(), classifyError(error), errorMessage(error), undefined, undefined);
  }

  /** Settles without a response: cancelled, or (unsent) the request could not be formed. */
  fail(errorClass: ErrorClass, message: string, unsent = false): void {
    if (this.settled) return;
    if (unsent) this.unsent = true;
    this.finish(performance.now(), errorClass, message, undefined, undefined);
  }

  private finish(endedAt: number, errorClass: ErrorClass | undefined, message: string | undefined, body: string | undefined, json: unknown): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.inFlight?.delete(this);
    const sent = this.sentAt >= 0;
    // From the moment the request went out on a socket; a request that never did counts from execute().
    const duration = endedAt - (sent ? this.sentAt : this.startedAt);
    const ok = errorClass === undefined;
    const gotResponse = this.headersAt >= 0;

    // A run being stopped is not a property of the system under test: those requests are not measured.
    if (errorClass !== 'aborted' && !this.unsent) {
      const handles = this.runner.handlesFor(ok || errorClass === 'http' ? this.status : errorClass);
      handles.reqs.record(1);
      handles.errors.record(ok ? 0 : 1);
      handles.duration.record(duration);
      if (sent) handles.connect.record(this.connectMs);
      if (gotResponse) handles.ttfb.record(this.headersAt - this.sentAt);
      const socket = this.socket;
      if (socket !== undefined) {
        const bytesIn = socket.bytesRead - this.bytesReadBefore;
        const bytesOut = socket.bytesWritten - this.bytesWrittenBefore;
        if (bytesIn > 0) handles.bytesIn.record(bytesIn);
        if (bytesOut > 0) handles.bytesOut.record(bytesOut);
      }
    }

    const result: StepResult = {
      ok,
      response: { status: this.status, duration, header: this.header, size: this.size, ok, body, json },
    };
    if (!ok) result.error = { class: errorClass, message: message ?? errorClass };
    this.chunks = undefined;
    if (errorClass === undefined || errorClass === 'http') {
      // The response is complete and its connection stays open. undici hands a kept-alive connection back to
      // the Pool one event-loop turn later (setImmediate, after onResponseEnd returns); a VU that sent its
      // next request before that would find no free connection and open another one, so a plain sequential
      // loop would use two connections and pay connect twice. The VU continues after that turn instead; the
      // timings were taken above and do not include it.
      this.result = result;
      process.nextTick(scheduleHandBack, this);
    } else {
      this.resolve(result);
    }
  }

  /** @internal for resolveLater */
  handBack(): void {
    this.resolve(this.result!);
    this.result = undefined;
  }
}

/** Runs once undici's call stack has returned, so this immediate is queued after undici's own. */
function scheduleHandBack(exchange: Exchange): void {
  setImmediate(handBack, exchange);
}

function handBack(exchange: Exchange): void {
  exchange.handBack();
}

function fireTimeout(exchange: Exchange): void {
  exchange.cancel('timeout');
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const TLS_CODES = new Set(['EPROTO', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'HOSTNAME_MISMATCH', 'UND_ERR_PRX_TLS']);
const PROTOCOL_CODES = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_INFO']);

/** Maps a network or undici error to the class reports group failures by (docs/http.md, "Error classes"). */
export function classifyError(error: unknown): ErrorClass {
  const code = errorCode(error);
  if (code === undefined) return (error as { name?: unknown } | null)?.name === 'HTTPParserError' ? 'protocol' : 'other';
  if (code === 'ECONNREFUSED') return 'refused';
  if (RESET_CODES.has(code)) return 'reset';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (DNS_CODES.has(code)) return 'dns';
  if (TLS_CODES.has(code) || /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_)/.test(code)) return 'tls';
  if (PROTOCOL_CODES.has(code) || code.startsWith('HPE_')) return 'protocol';
  return 'other';
}

/** The code of an error, looking into AggregateError (happy-eyeballs connects) and `cause` when it has none. */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const nested = (e as { errors?: unknown }).errors;
    e = Array.isArray(nested) && nested.length > 0 ? nested[0] : (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorMessage(error: Error): string {
  const code = errorCode(error);
  const message = error.message !== '' ? error.message : (error as { errors?: Error[] }).errors?.[0]?.message ?? '';
  if (code === undefined) return message || error.name;
  return message.includes(code) ? message : `${code}: ${message}`.replace(/: $/, '');
}

function decodeText(chunks: Buffer[], encoding: string | undefined): string {
  let raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      break;
    case 'gzip':
    case 'x-gzip':
      raw = gunzipSync(raw);
      break;
    case 'deflate':
      raw = inflateSync(raw);
      break;
    case 'br':
      raw = brotliDecompressSync(raw);
      break;
    default:
      throw new Error('unsupported content-encoding');
  }
  return raw.toString('utf8');
}

/** JSON when the content type says so or the body parses as JSON anyway; undefined otherwise. */
function parseJson(body: string, contentType: string | undefined): unknown {
  if (body === '') return undefined;
  const first = body.charCodeAt(0);
  // {, [, ", digits, -, t(rue), f(alse), n(ull), whitespace: anything else cannot be JSON; skip the throw.
  const plausible = first === 123 || first === 91 || first === 34 || (first >= 48 && first <= 57) || first === 45 || first === 116 || first === 102 || first === 110 || first <= 32;
  if (!plausible && !(contentType !== undefined && contentType.includes('json'))) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function encodeQuery(entries: [string, TemplateTree][], vars: Record<string, unknown>): string {
  if (entries.length === 0) return '';
  const params = new URLSearchParams();
  for (const [name, value] of entries) {
    const rendered = renderTree(value, vars);
    params.append(name, rendered === null || rendered === undefined ? '' : String(rendered));
  }
  return params.toString();
}

/**
 * Renders a `json:` body. A string that is one placeholder and nothing else (`"{{debate}}"`) keeps the type of
 * its value (a captured number stays a number, an object stays an object); any other template renders as text.
 */
function jsonRenderer(tree: TemplateTree): (vars: Record<string, unknown>) => unknown {
  if (tree === null || typeof tree !== 'object') return () => tree;
  if (isTemplate(tree)) {
    const only = tree.names.length === 1 ? tree.names[0]! : undefined;
    const lone = /^\{\{\{?&?\s*([^{}\s]+)\s*\}?\}\}$/.exec(tree.source);
    if (only !== undefined && lone !== null && lone[1] === only.path.join('.')) {
      const path = only.path;
      return (vars) => {
        let value: unknown = vars;
        for (const key of path) {
          if (value === null || value === undefined) break;
          value = (value as Record<string, unknown>)[key];
        }
        return value === undefined ? '' : value;
      };
    }
    return (vars) => tree.render(vars);
  }
  if (Array.isArray(tree)) {
    const items = tree.map(jsonRenderer);
    return (vars) => items.map((item) => item(vars));
  }
  const fields = Object.entries(tree).map(([key, value]) => [key, jsonRenderer(value)] as const);
  return (vars) => {
    const out: Record<string, unknown> = {};
    for (const [key, render] of fields) out[key] = render(vars);
    return out;
  };
}

function isStaticTree(tree: TemplateTree): boolean {
  if (tree === null || typeof tree !== 'object') return true;
  if (isTemplate(tree)) return tree.isStatic;
  if (Array.isArray(tree)) return tree.every(isStaticTree);
  return Object.values(tree).every(isStaticTree);
}

function asMapping(tree: TemplateTree | undefined, what: string): Record<string, TemplateTree> {
  if (tree === null || tree === undefined || typeof tree !== 'object' || Array.isArray(tree) || isTemplate(tree)) {
    throw new Error(`${what} must be a mapping`);
  }
  return tree;
}

function asTemplate(tree: TemplateTree | undefined, what: string): Template {
  if (isTemplate(tree)) return tree;
  if (typeof tree === 'number' || typeof tree === 'boolean') {
    const source = String(tree);
    return { source, isStatic: true, names: [], render: () => source };
  }
  throw new Error(`${what} must be text`);
}

/** The path of a request target without its query. */
function pathOnly(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
