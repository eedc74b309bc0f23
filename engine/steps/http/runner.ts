// The HTTP step executor: renders a step's `http:` request, sends it through perfy's HTTP/1.1 client (h1/, one
// keep-alive pool per origin), times connect / first response headers / whole body, records http.*. docs/http.md.

import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { StepNode } from '../../compile/plan.js';
import {
  isTemplate, renderTree, staticTemplate, valueRenderer, type Template, type TemplateTree,
} from '../../compile/template.js';
import type { MetricHandle, MetricStore, Tags } from '../../metrics/types.js';
import type { CookieJar } from './cookies.js';
import { CLIENT_ERROR_CODES, Pool, PoolRequest, type PoolOptions, type ResponseHead } from './h1/pool.js';
import type {
  ErrorClass, Executor, ExecutorContext, ExecutorSetup, StepOf, StepResult, StepRunner, VuContext,
} from '../types.js';
import { InFlight, inFlightFor, watchSignal, type InFlightItem } from '../in-flight.js';
import type { HttpRequestPlan } from './index.js';

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
  /**
   * Send an idempotent request again when a kept-alive connection closes before any byte of its response
   * (`defaults.resend_on_reset`). Default true; every such resend is counted in http.retries.
   */
  resendOnReset?: boolean;
}

export const DEFAULT_CONNECTIONS_PER_ORIGIN = 100;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long close() lets in-flight requests finish before it destroys the sockets. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Methods whose requests carry a body by definition: without one they say `content-length: 0`, as undici and
 * browsers do.
 */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Headers perfy writes itself from the URL and the body; a step's own spelling of them is not sent. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);
/** RFC 9110 token: what a header name is made of. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value may not contain: control characters (tab aside) and anything beyond latin1. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Resolved URLs a step keeps; a step whose URL takes more values than this starts over. */
const URL_CACHE_SIZE = 256;

/**
 * The http.* handles for one tag set (one status or error class of one step). The counters that only some
 * classes ever record are made on first use, so a result holds no `http.unsent{status: 200}` that is always 0.
 */
class HttpHandles {
  readonly duration: MetricHandle;
  readonly connect: MetricHandle;
  readonly ttfb: MetricHandle;
  readonly errors: MetricHandle;
  readonly bytesIn: MetricHandle;
  readonly bytesOut: MetricHandle;
  private sentHandle: MetricHandle | undefined;
  private unsentHandle: MetricHandle | undefined;
  private retriesHandle: MetricHandle | undefined;

  constructor(private readonly store: MetricStore, private readonly tags: Tags) {
    this.duration = store.handle('http.duration', 'trend', tags);
    this.connect = store.handle('http.connect', 'trend', tags);
    this.ttfb = store.handle('http.ttfb', 'trend', tags);
    this.errors = store.handle('http.errors', 'rate', tags);
    this.bytesIn = store.handle('http.bytes_in', 'counter', tags);
    this.bytesOut = store.handle('http.bytes_out', 'counter', tags);
  }

  /** Requests written to a connection. */
  get reqs(): MetricHandle {
    return (this.sentHandle ??= this.store.handle('http.reqs', 'counter', this.tags));
  }

  /** Requests that failed before a byte of them was written (refused, DNS, TLS, no free connection in time). */
  get unsent(): MetricHandle {
    return (this.unsentHandle ??= this.store.handle('http.unsent', 'counter', this.tags));
  }

  /** Requests sent again after their kept-alive connection closed under them (tagged with how it closed). */
  get retries(): MetricHandle {
    return (this.retriesHandle ??= this.store.handle('http.retries', 'counter', this.tags));
  }
}

const NO_HEADERS: Record<string, string> = Object.freeze({});

/** The run's HTTP executor, with the scenario's `defaults:` (connections, TLS, resends). */
export function startHttpExecutor(context: ExecutorContext): HttpExecutor {
  const { connections, resendOnReset, tls } = context.plan.defaults;
  return createHttpExecutor({
    connectionsPerOrigin: connections,
    resendOnReset,
    tls: { rejectUnauthorized: tls.verify, ...(tls.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}) },
  });
}

export function createHttpExecutor(options: HttpExecutorOptions = {}): HttpExecutor {
  const connections = options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
  if (!Number.isInteger(connections) || connections < 1) {
    throw new RangeError(`connectionsPerOrigin must be a positive integer, got ${connections}`);
  }
  const tls: NonNullable<PoolOptions['tls']> = {};
  if (options.tls?.rejectUnauthorized !== undefined) tls.rejectUnauthorized = options.tls.rejectUnauthorized;
  if (options.tls?.ca !== undefined) tls.ca = options.tls.ca;
  const poolOptions: PoolOptions = {
    connections,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    tls,
  };
  const resendOnReset = options.resendOnReset ?? true;
  const pools = new Map<string, Pool>();

  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (pool === undefined || pool.closed) {
      pool = new Pool(origin, poolOptions);
      pools.set(origin, pool);
    }
    return pool;
  };

  return {
    create(step, setup) {
      return new HttpStepRunner(step, setup, poolFor, resendOnReset);
    },
    sender(step, method, setup) {
      // The step as an HTTP step of that method: its tags, timeouts and connections; no template of its own.
      const request: HttpRequestPlan = { method, url: staticTemplate(''), query: [], headers: [], body: undefined };
      const asHttp = { ...step, kind: 'http', request, expects: [], captures: [], retry: undefined };
      return new HttpStepRunner(asHttp, { ...setup, defaultHeaders: {} }, poolFor, resendOnReset);
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close(CLOSE_GRACE_MS)));
    },
  };
}

/** What the HTTP executor offers other executors: requests they have worked out, sent as a step's own. */
export interface HttpExecutor extends Executor<HttpRequestPlan> {
  /** A sender of `method` requests measured as `step`'s (http.* metrics with its tags). */
  sender(step: StepNode, method: HttpRequestPlan['method'], setup: ExecutorSetup): HttpSender;
}

export interface HttpSender {
  send(ctx: VuContext, timeoutMs: number, startedAt: number, request: HttpSend): Promise<StepResult>;
}

/** A request ready to go: absolute URL, header lines ("name: value\r\n"), body; `decode`: parse the body (json). */
export interface HttpSend {
  url: string;
  headerLines: string;
  body: string | null;
  decode: boolean;
}

type BodyPlan =
  | { kind: 'none' }
  | { kind: 'static'; body: string }
  | { kind: 'json'; render: (vars: Record<string, unknown>) => unknown }
  | { kind: 'form'; entries: [string, TemplateTree][] }
  | { kind: 'raw'; template: Template };

/** Where a URL a step renders goes: worked out once per distinct URL, with the request head when it never changes. */
interface ResolvedUrl {
  pool: Pool;
  /** host[:port], as the `host` header and the cookie jar want it */
  host: string;
  https: boolean;
  /** path and query */
  path: string;
  /** The whole request head, for a request with no query parameters, static headers, no body and no cookie. */
  plainHead: string | undefined;
}

/** One step's prepared request: everything that does not depend on the iteration is worked out once here. */
class HttpStepRunner implements StepRunner {
  private readonly method: string;
  private readonly url: Template;
  private readonly target: string | undefined;
  private readonly staticQuery: string | undefined;
  private readonly queryEntries: [string, TemplateTree][];
  /** "name: value\r\n" lines when no header is a template; else undefined and headerEntries render. */
  private readonly staticHeaderLines: string | undefined;
  private readonly headerEntries: [string, Template | string][];
  /** Why every request of this step fails before it is sent (a header name or value that cannot be sent). */
  private readonly invalid: string | undefined;
  /** The `connection` header line, unless the step sets its own. */
  private readonly connectionLine: string;
  private readonly sendsHost: boolean;
  private readonly keepAlive: boolean;
  private readonly isHead: boolean;
  /** Sent again after a kept-alive connection closed under it: idempotent (not POST, PATCH) and not turned off. */
  private readonly resendable: boolean;
  private readonly payloadMethod: boolean;
  private readonly body: BodyPlan;
  private readonly decodeBody: boolean;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly handles = new Map<number | string, HttpHandles>();
  /** The step's expects judge the status (`status == 404`): every response it gets is one it expected. */
  private readonly statusJudged: boolean;
  /** A step that writes its own Cookie header manages cookies itself: the user's jar does not add to it. */
  private readonly sendsCookieHeader: boolean;
  /** Most steps hit one URL, or a few, again and again. */
  private readonly resolved = new Map<string, ResolvedUrl>();
  private lastSignal: AbortSignal | undefined;
  private lastTimeoutMs = NaN;
  private lastInFlight: InFlight | undefined;

  constructor(
    step: StepOf<HttpRequestPlan>,
    setup: ExecutorSetup,
    private readonly poolFor: (origin: string) => Pool,
    resendOnReset: boolean,
  ) {
    const request = step.request;
    this.method = request.method;
    this.url = request.url;
    this.statusJudged = step.expects.some((e) => e.names.some((n) => n.name === 'status'));
    this.target = setup.target;
    this.isHead = this.method === 'HEAD';
    this.resendable = resendOnReset && this.method !== 'POST' && this.method !== 'PATCH';
    this.payloadMethod = PAYLOAD_METHODS.has(this.method);

    this.queryEntries = request.query;
    this.staticQuery = this.queryEntries.every(([, v]) => isStaticTree(v))
      ? encodeQuery(this.queryEntries, {})
      : undefined;

    // Default headers first, then the step's own; names are case-insensitive, so the last spelling wins.
    const headers = new Map<string, Template | string>();
    for (const [name, value] of Object.entries(setup.defaultHeaders)) headers.set(name.toLowerCase(), value);
    for (const [name, value] of request.headers) headers.set(name.toLowerCase(), value);

    const body = request.body;
    if (body?.kind === 'json') {
      const tree = body.tree;
      this.body = isStaticTree(tree)
        ? { kind: 'static', body: JSON.stringify(renderTree(tree, {})) }
        : { kind: 'json', render: valueRenderer(tree, '') };
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (body?.kind === 'form') {
      const entries = body.entries;
      this.body = entries.every(([, v]) => isStaticTree(v))
        ? { kind: 'static', body: encodeQuery(entries, {}) }
        : { kind: 'form', entries };
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    } else if (body?.kind === 'text') {
      const template = body.template;
      this.body = template.isStatic ? { kind: 'static', body: template.source } : { kind: 'raw', template };
    } else {
      this.body = { kind: 'none' };
    }

    for (const name of FRAMING_HEADERS) headers.delete(name);
    this.sendsCookieHeader = headers.has('cookie');
    this.sendsHost = headers.has('host');
    // `connection: close` from the step closes the connection after the response.
    const connection = headers.get('connection');
    const connectionValue = connection === undefined
      ? undefined
      : typeof connection === 'string'
        ? connection
        : connection.isStatic ? connection.source : undefined;
    this.keepAlive = !(connectionValue !== undefined && /(^|,)\s*close\s*(,|$)/i.test(connectionValue));
    this.connectionLine = connection !== undefined ? '' : 'connection: keep-alive\r\n';
    this.headerEntries = [...headers];
    this.invalid = this.headerEntries
      .map(([name]) => (HEADER_NAME.test(name) ? undefined : `invalid header name ${JSON.stringify(name)}`))
      .find((m) => m !== undefined);
    const isStatic = this.headerEntries.every(([, v]) => typeof v === 'string' || v.isStatic);
    if (isStatic && this.invalid === undefined) {
      try {
        this.staticHeaderLines = this.renderHeaderLines({});
      } catch (error) {
        this.invalid = (error as Error).message;
      }
    }

    const expressions = [
      ...step.expects,
      ...step.captures.map((c) => c.expression),
      ...(step.retry?.on ? [step.retry.on] : []),
    ];
    this.decodeBody = expressions.some((e) => e.names.some((n) => n.name === 'json' || n.name === 'body'));
    this.store = setup.store;
    this.tags = setup.tags;
  }

  execute(ctx: VuContext, timeoutMs: number, startedAt = performance.now()): Promise<StepResult> {
    const vars = ctx.vars;
    const exchange = new Exchange(this, startedAt, this.decodeBody);
    if (ctx.signal.aborted) {
      exchange.cancel('aborted');
      return exchange.promise;
    }
    let target: ResolvedUrl;
    let head: string;
    let body: string | null;
    try {
      if (this.invalid !== undefined) throw new Error(this.invalid);
      const url = this.url.isStatic ? this.url.source : this.url.render(vars);
      target = this.targetOf(url);
      const query = this.staticQuery ?? encodeQuery(this.queryEntries, vars);
      body = this.renderBody(vars);
      let cookie: string | undefined;
      const jar = ctx.cookies;
      if (jar !== undefined) {
        // Most requests carry no cookies: nothing is allocated for them until a response sets one.
        exchange.cookies = jar;
        exchange.cookieHost = target.host;
        exchange.cookiePath = target.path;
        if (!this.sendsCookieHeader && jar.has(target.host)) {
          cookie = jar.header(target.host, target.https, pathOnly(target.path));
        }
      }
      const headerLines = this.staticHeaderLines;
      if (query === '' && headerLines !== undefined && body === null && cookie === undefined) {
        head = target.plainHead ??= this.head(target, target.path, headerLines, undefined, -1);
      } else {
        const path = query === '' ? target.path : target.path + (target.path.includes('?') ? '&' : '?') + query;
        if (body !== null) exchange.bodyBytes = Buffer.byteLength(body);
        head = this.head(
          target,
          path,
          headerLines ?? this.renderHeaderLines(vars),
          cookie,
          body === null ? -1 : exchange.bodyBytes,
        );
      }
    } catch (error) {
      exchange.fail('other', (error as Error).message, true);
      return exchange.promise;
    }

    return this.dispatch(exchange, target, head, body, ctx.signal, timeoutMs, startedAt);
  }

  /**
   * A request whose URL, headers and body another executor has worked out (the github step): sent through this
   * step's connections, measured as its http.* metrics. `headerLines`: "name: value\r\n" lines.
   */
  send(ctx: VuContext, timeoutMs: number, startedAt: number, request: HttpSend): Promise<StepResult> {
    const exchange = new Exchange(this, startedAt, request.decode);
    if (ctx.signal.aborted) {
      exchange.cancel('aborted');
      return exchange.promise;
    }
    let target: ResolvedUrl;
    let head: string;
    try {
      target = this.targetOf(request.url);
      if (request.body !== null) exchange.bodyBytes = Buffer.byteLength(request.body);
      head = this.head(
        target,
        target.path,
        request.headerLines,
        undefined,
        request.body === null ? -1 : exchange.bodyBytes,
      );
    } catch (error) {
      exchange.fail('other', (error as Error).message, true);
      return exchange.promise;
    }
    return this.dispatch(exchange, target, head, request.body, ctx.signal, timeoutMs, startedAt);
  }

  private dispatch(
    exchange: Exchange,
    target: ResolvedUrl,
    head: string,
    body: string | null,
    signal: AbortSignal,
    timeoutMs: number,
    startedAt: number,
  ): Promise<StepResult> {
    exchange.head = head;
    exchange.body = body;
    exchange.isHead = this.isHead;
    exchange.keepAlive = this.keepAlive;
    exchange.resendable = this.resendable;
    exchange.signal = signal;
    if (signal !== this.lastSignal) {
      this.lastSignal = signal;
      watchSignal(signal);
    }
    if (timeoutMs !== this.lastTimeoutMs) {
      this.lastTimeoutMs = timeoutMs;
      this.lastInFlight = inFlightFor(timeoutMs);
    }
    this.lastInFlight!.add(exchange, startedAt);
    exchange.pool = target.pool;
    target.pool.dispatch(exchange, startedAt);
    return exchange.promise;
  }

  /**
   * The request head, in the order undici wrote it: request line, host, connection, headers, cookie,
   * content-length.
   */
  private head(
    target: ResolvedUrl,
    path: string,
    headerLines: string,
    cookie: string | undefined,
    bodyBytes: number,
  ): string {
    let head = this.method + ' ' + path + ' HTTP/1.1\r\n';
    if (!this.sendsHost) head += 'host: ' + target.host + '\r\n';
    head += this.connectionLine + headerLines;
    if (cookie !== undefined) head += 'cookie: ' + cookie + '\r\n';
    if (bodyBytes >= 0) head += 'content-length: ' + bodyBytes + '\r\n';
    else if (this.payloadMethod) head += 'content-length: 0\r\n';
    return head + '\r\n';
  }

  /** Where a URL goes, worked out once per distinct URL (again when its pool was closed). */
  private targetOf(url: string): ResolvedUrl {
    const resolved = this.resolved.get(url);
    return resolved === undefined || resolved.pool.closed ? this.resolveUrl(url) : resolved;
  }

  /** Absolute URLs are used as they are; a relative one is appended to the target (its path kept). */
  private resolveUrl(url: string): ResolvedUrl {
    let absolute = url;
    if (!/^https?:\/\//i.test(url)) {
      if (this.target === undefined || this.target === '') {
        throw new Error(`"${url}" is a relative URL and the scenario has no target`);
      }
      const base = this.target.endsWith('/') ? this.target.slice(0, -1) : this.target;
      absolute = url.startsWith('/') || url.startsWith('?') ? base + url : `${base}/${url}`;
    }
    let parsed: URL;
    try {
      parsed = new URL(absolute);
    } catch {
      throw new Error(`"${absolute}" is not a valid URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`"${absolute}" is not an http(s) URL`);
    }
    const resolved: ResolvedUrl = {
      pool: this.poolFor(parsed.origin),
      host: parsed.host,
      https: parsed.protocol === 'https:',
      path: parsed.pathname + parsed.search,
      plainHead: undefined,
    };
    if (this.resolved.size >= URL_CACHE_SIZE) this.resolved.clear();
    this.resolved.set(url, resolved);
    return resolved;
  }

  /** "name: value\r\n" for every header; throws on a value that cannot be sent (a line break in it, …). */
  private renderHeaderLines(vars: Record<string, unknown>): string {
    let lines = '';
    for (const [name, template] of this.headerEntries) {
      const value = typeof template === 'string'
        ? template
        : template.isStatic ? template.source : template.render(vars);
      if (INVALID_HEADER_VALUE.test(value)) {
        throw new Error(
          `the value of header ${name} cannot be sent: it holds a line break, a control character or a character ` +
            'beyond latin1',
        );
      }
      lines += name + ': ' + value + '\r\n';
    }
    return lines;
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
      // `expected: false` latencies (network errors, and 4xx/5xx unless the step's expects judge the status) are
      // left out of http.duration & co. unless a filter asks for them (setAside in metrics/store.ts).
      const expected = typeof key === 'number' && (key < 400 || this.statusJudged) ? 'true' : 'false';
      h = new HttpHandles(this.store, {
        ...this.tags,
        method: this.method,
        status,
        status_class: statusClass,
        expected,
      });
      this.handles.set(key, h);
    }
    return h;
  }
}

/**
 * One request in flight: what the pool sends and reports back to, the step timer and the promise of the
 * StepResult. It settles exactly once: on the end of the body, an error, the step timeout or the run's abort signal.
 */
class Exchange extends PoolRequest implements InFlightItem {
  readonly promise: Promise<StepResult>;
  private resolve!: (result: StepResult) => void;
  /** The pool the request went to, to take it back from when it is cancelled. */
  pool: Pool | undefined;
  private settled = false;
  /** The run's (or the iteration's) abort signal. */
  signal: AbortSignal | undefined;
  /** @internal in-flight bookkeeping (InFlight): the list, neighbours and when the step times out */
  list: InFlight | undefined;
  previous: InFlightItem | undefined;
  next: InFlightItem | undefined;
  deadline = Infinity;
  /** performance.now() marks; -1 = not reached */
  private sentAt = -1;
  private headersAt = -1;
  private connectMs = 0;
  private status = 0;
  private header: Record<string, string> = NO_HEADERS;
  private size = 0;
  /** Copies of the body's pieces, when an expression reads the body. */
  private chunks: Buffer[] | undefined;
  /** A body that arrived whole in one read: a view of the read buffer, decoded before that read returns. */
  private whole: Buffer | undefined;
  /** Where a response's Set-Cookie goes: the virtual user's jar, for the request's host and path. */
  cookies: CookieJar | undefined;
  cookieHost = '';
  cookiePath = '';
  /** The request could not even be formed (bad URL): no http.* metric, nothing was sent. */
  private unsent = false;

  constructor(
    private readonly runner: HttpStepRunner,
    private readonly startedAt: number,
    decodeBody: boolean,
  ) {
    super();
    if (decodeBody) this.chunks = [];
    this.promise = new Promise<StepResult>((resolve) => {
      this.resolve = resolve;
    });
  }

  /**
   * The step timeout or the run abort: settle now, and take the request back (closing its connection if it is on
   * one).
   */
  cancel(errorClass: 'timeout' | 'aborted'): void {
    if (this.settled) return;
    this.fail(errorClass, errorClass === 'timeout' ? 'the step timed out' : 'the run was stopped');
    this.pool?.abandon(this);
  }

  onSent(connectMs: number): void {
    this.connectMs = connectMs;
    this.sentAt = performance.now();
  }

  onResend(error: Error): void {
    if (this.settled) return;
    // The lost attempt went out and the server may have read it (counts equal the server's): a sent request
    // that failed, and a resend. The step's outcome is the next attempt's, timed from its own sending.
    const handles = this.runner.handlesFor(classifyError(error));
    this.record(handles, performance.now() - this.sentAt, false);
    handles.retries.record(1);
    this.sentAt = -1;
    this.connectMs = 0;
    this.bytesOut = 0;
  }

  onHead(head: ResponseHead): void {
    this.headersAt = this.receivedAt;
    this.status = head.status;
    const headers = head.headers;
    if (this.cookies !== undefined) {
      const setCookie = headers['set-cookie'];
      if (setCookie !== undefined) this.cookies.store(this.cookieHost, pathOnly(this.cookiePath), setCookie);
    }
    if (head.repeated) {
      for (const name in headers) {
        const value = headers[name]!;
        if (typeof value !== 'string') headers[name] = value.join(', ');
      }
    }
    this.header = headers as Record<string, string>;
  }

  onBody(data: Buffer, start: number, end: number, last: boolean): void {
    this.size += end - start;
    const chunks = this.chunks;
    if (chunks === undefined) return;
    if (last && chunks.length === 0) {
      this.whole = data.subarray(start, end);
    } else {
      // `data` is the connection's read buffer, overwritten by the next read: the piece is copied.
      const piece = Buffer.allocUnsafe(end - start);
      data.copy(piece, 0, start, end);
      chunks.push(piece);
    }
  }

  onEnd(): void {
    if (this.settled) return;
    const endedAt = this.receivedAt;
    let body: string | undefined;
    let json: unknown;
    if (this.chunks !== undefined) {
      const chunks = this.chunks;
      const raw = this.whole ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      this.whole = undefined;
      try {
        body = decodeBody(raw, this.header['content-encoding']);
      } catch (error) {
        this.finish(
          endedAt,
          'protocol',
          `could not decode the ${this.header['content-encoding']} body: ${(error as Error).message}`,
          undefined,
          undefined,
        );
        return;
      }
      json = parseJson(body, this.header['content-type']);
    }
    if (this.status >= 400) this.finish(endedAt, 'http', `HTTP ${this.status}`, body, json);
    else this.finish(endedAt, undefined, undefined, body, json);
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.finish(performance.now(), classifyError(error), errorMessage(error), undefined, undefined);
  }

  /** Settles without a response: cancelled, or (unsent) the request could not be formed. */
  fail(errorClass: ErrorClass, message: string, unsent = false): void {
    if (this.settled) return;
    if (unsent) this.unsent = true;
    this.finish(performance.now(), errorClass, message, undefined, undefined);
  }

  /**
   * One attempt's http.* samples. http.reqs counts what was written to a connection, http.unsent what failed
   * before (refused, DNS, TLS, no free connection in time); http.errors and http.duration cover both.
   */
  private record(handles: HttpHandles, duration: number, ok: boolean): void {
    handles.errors.record(ok ? 0 : 1);
    handles.duration.record(duration);
    if (this.sentAt < 0) {
      handles.unsent.record(1);
      return;
    }
    handles.reqs.record(1);
    handles.connect.record(this.connectMs);
    if (this.bytesIn > 0) handles.bytesIn.record(this.bytesIn);
    if (this.bytesOut > 0) handles.bytesOut.record(this.bytesOut);
    if (this.headersAt >= 0) handles.ttfb.record(this.headersAt - this.sentAt);
  }

  private finish(
    endedAt: number,
    errorClass: ErrorClass | undefined,
    message: string | undefined,
    body: string | undefined,
    json: unknown,
  ): void {
    this.settled = true;
    this.list?.remove(this);
    const sent = this.sentAt >= 0;
    // From the moment the request went out on a socket; a request that never did counts from execute().
    const duration = endedAt - (sent ? this.sentAt : this.startedAt);
    const ok = errorClass === undefined;

    // A run being stopped is not a property of the system under test: those requests are not measured.
    if (errorClass !== 'aborted' && !this.unsent) {
      this.record(this.runner.handlesFor(ok || errorClass === 'http' ? this.status : errorClass), duration, ok);
    }

    const result: StepResult = {
      ok,
      response: { status: this.status, duration, header: this.header, size: this.size, ok, body, json },
    };
    if (!ok) {
      result.error = errorClass === 'http'
        ? { class: errorClass, message: message ?? errorClass, code: String(this.status) }
        : { class: errorClass, message: message ?? errorClass };
    }
    this.chunks = undefined;
    // The connection a complete response came on is free again already (the pool took it back before this
    // promise's callbacks run), so the user's next request can have it.
    this.resolve(result);
  }
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT', CLIENT_ERROR_CODES.connectTimeout, 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', CLIENT_ERROR_CODES.closed, 'UND_ERR_SOCKET']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const TLS_CODES = new Set([
  'EPROTO', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'HOSTNAME_MISMATCH', 'UND_ERR_PRX_TLS',
]);
const PROTOCOL_CODES = new Set([
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_INFO',
]);

/**
 * Maps a network, HTTP client or undici error to the class reports group failures by (docs/http.md, "Error
 * classes"). undici's codes stay: plugins may send with undici and classify with this.
 */
export function classifyError(error: unknown): ErrorClass {
  const code = errorCode(error);
  if (code === undefined) {
    return (error as { name?: unknown } | null)?.name === 'HTTPParserError' ? 'protocol' : 'other';
  }
  if (code === 'ECONNREFUSED') return 'refused';
  // perfy's own limit, not the target's failure: the run reports it as a generator problem (engine/run/run.ts).
  if (code === 'EMFILE' || code === 'ENFILE') return 'emfile';
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

/** More codings than this in one `content-encoding` is an attack, not a response (fetch's limit too). */
const MAX_CODINGS = 5;
const ZLIB_SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_SYNC = { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };
/** zstd where this Node has it (22.15 and later), as fetch decodes it there; elsewhere an unknown coding. */
const zstdDecompress = (zlib as { zstdDecompressSync?: (data: Buffer) => Buffer }).zstdDecompressSync;
const gunzip = (data: Buffer): Buffer => zlib.gunzipSync(data, ZLIB_SYNC);

/** The content codings perfy undoes, as fetch does, by name. */
const DECODERS = new Map<string, (data: Buffer) => Buffer>([
  ['gzip', gunzip],
  ['x-gzip', gunzip],
  // RFC 9110 says zlib-wrapped; raw deflate is common too. A zlib stream's first byte says method 8 (deflate).
  [
    'deflate',
    (data) => ((data[0]! & 0x0f) === 0x08 ? zlib.inflateSync(data, ZLIB_SYNC) : zlib.inflateRawSync(data, ZLIB_SYNC)),
  ],
  ['br', (data) => zlib.brotliDecompressSync(data, BROTLI_SYNC)],
  ...(zstdDecompress === undefined ? [] : [['zstd', zstdDecompress] as const]),
]);

/**
 * The body as fetch's `text()` gives it: the content codings undone, last applied first (`gzip, br` is brotli
 * around gzip), and UTF-8 without a leading byte-order mark. As in fetch: nothing to decode is no error (204,
 * 304, HEAD, an empty 200), a list with a coding it does not know is passed through as received, `deflate` is
 * zlib-wrapped or raw (servers send both), and a stream cut short gives what it holds rather than an error
 * (the flush curl and browsers use). Throws on data that is not what its coding says.
 */
export function decodeBody(received: Buffer, contentEncoding: string | undefined): string {
  let raw = received;
  if (contentEncoding !== undefined && contentEncoding !== '' && raw.length > 0) {
    const codings = contentEncoding.toLowerCase().split(',');
    if (codings.length > MAX_CODINGS) throw new Error(`${codings.length} content codings, more than ${MAX_CODINGS}`);
    const decoders: ((data: Buffer) => Buffer)[] = [];
    for (let i = codings.length - 1; i >= 0; i--) {
      const decoder = DECODERS.get(codings[i]!.trim());
      if (decoder === undefined) {
        decoders.length = 0;
        break;
      }
      decoders.push(decoder);
    }
    for (const decode of decoders) raw = decode(raw);
  }
  // EF BB BF: a UTF-8 byte-order mark, which fetch's text() and JSON parsing skip.
  const bom = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  return raw.toString('utf8', bom);
}

/** JSON when the content type says so or the body parses as JSON anyway; undefined otherwise. */
function parseJson(body: string, contentType: string | undefined): unknown {
  if (body === '') return undefined;
  const first = body.charCodeAt(0);
  // {, [, ", digits, -, t(rue), f(alse), n(ull), whitespace: anything else cannot be JSON; skip the throw.
  const plausible = first === 123 || first === 91 || first === 34 || (first >= 48 && first <= 57) || first === 45 ||
    first === 116 || first === 102 || first === 110 || first <= 32;
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
function isStaticTree(tree: TemplateTree): boolean {
  if (tree === null || typeof tree !== 'object') return true;
  if (isTemplate(tree)) return tree.isStatic;
  if (Array.isArray(tree)) return tree.every(isStaticTree);
  return Object.values(tree).every(isStaticTree);
}

/** The path of a request target without its query. */
function pathOnly(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
