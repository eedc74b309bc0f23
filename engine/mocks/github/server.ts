// The GitHub REST API mock on node:http: a few routes with fake data, and the rate limits, headers and
// messages of api.github.com, so that real GitHub clients back off from it as they do from GitHub.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../random.js';
import { GithubData, parseSearchQuery, PULLS_PER_REPO, repoRef, type RepoRef, type StateFilter } from './data.js';
import { RateLimiter, type Identity, type RateView, type Resource } from './limits.js';
import type { GithubMockSettings } from './options.js';

export const DOCS = 'https://docs.github.com/rest';
export const RATE_LIMIT_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api';
export const SECONDARY_DOCS = `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`;
export const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
export const CONTENT_MESSAGE =
  'You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry ' +
    'your request again later.';
const UNAUTHENTICATED_NOTE =
  "(But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for " +
    "more details.)";
export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;
const MAX_BODY_BYTES = 1024 * 1024;
/** Points a request costs against the secondary points limit, by method; every other method costs 5. */
const CHEAP_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What `GET /_mock/stats` answers: counts of answers since the mock started. */
export interface GithubMockStats {
  /** Every API request answered (all but /_mock/stats), whatever the answer. */
  requests: number;
  /** Answered as rate-limited, by kind; abuse blocks are counted in `blocked` only. */
  limited: { primary: number; secondary: number };
  /** Answered 403 because the client was blocked for abuse. */
  blocked: number;
  /** Answered 304 Not Modified. */
  not_modified: number;
}

interface Answer {
  status: number;
  /** Undefined: no body (304). */
  body?: unknown;
  headers?: Record<string, string>;
}

interface Caller {
  identity: Identity;
  token: string | undefined;
  address: string;
  /** An Authorization header that is neither `token X` nor `Bearer X`. */
  badCredentials: boolean;
}

type RouteName =
  'rate_limit' | 'user' | 'users' | 'repo' | 'issues' | 'issue' | 'create_issue' | 'pulls' | 'pull' | 'search_issues';
interface Route {
  name: RouteName;
  params: string[];
}

const SEGMENT = '([A-Za-z0-9_.-]+)';
const ROUTES: { method: string; pattern: RegExp; name: RouteName }[] = [
  { method: 'GET', pattern: /^\/rate_limit$/, name: 'rate_limit' },
  { method: 'GET', pattern: /^\/user$/, name: 'user' },
  { method: 'GET', pattern: new RegExp(`^/users/${SEGMENT}$`), name: 'users' },
  { method: 'GET', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}$`), name: 'repo' },
  { method: 'GET', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/issues$`), name: 'issues' },
  { method: 'POST', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/issues$`), name: 'create_issue' },
  { method: 'GET', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/issues/(\\d+)$`), name: 'issue' },
  { method: 'GET', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls$`), name: 'pulls' },
  { method: 'GET', pattern: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls/(\\d+)$`), name: 'pull' },
  { method: 'GET', pattern: /^\/search\/issues$/, name: 'search_issues' },
];

function matchRoute(method: string, path: string): Route | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m !== null) return { name: route.name, params: m.slice(1) };
  }
  return undefined;
}

const notFound = (): Answer => ({ status: 404, body: { message: 'Not Found', documentation_url: DOCS } });

/** The client address as GitHub reports it: IPv4 without the IPv6 mapping prefix. */
function addressOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function callerOf(req: IncomingMessage): Caller {
  const address = addressOf(req);
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header);
    if (m !== null)
      return { identity: { key: `token ${m[1]}`, authenticated: true }, token: m[1], address, badCredentials: false };
  }
  return {
    identity: { key: `address ${address}`, authenticated: false },
    token: undefined,
    address,
    badCredentials: header !== undefined,
  };
}

/** `per_page` (default 30, at most 100) and `page` (from 1); malformed values fall back as GitHub's do. */
function pageParams(query: URLSearchParams): { perPage: number; page: number } {
  const int = (name: string): number => {
    const text = query.get(name);
    return text !== null && /^\d+$/.test(text) ? Number(text) : NaN;
  };
  const perPage = int('per_page');
  const page = int('page');
  return { perPage: perPage >= 1 ? Math.min(perPage, MAX_PER_PAGE) : DEFAULT_PER_PAGE, page: page >= 1 ? page : 1 };
}

/** GitHub's `link` header: only the relations that apply, none when everything fits one page. */
export function linkHeader(
  base: string, path: string, query: URLSearchParams, page: number, perPage: number, total: number,
): string | undefined {
  if (total <= perPage) return undefined;
  const last = Math.ceil(total / perPage);
  const href = (p: number): string => {
    const q = new URLSearchParams(query);
    q.delete('per_page');
    q.delete('page');
    q.append('per_page', String(perPage));
    q.append('page', String(p));
    return `<${base}${path}?${q.toString()}>`;
  };
  const links: string[] = [];
  if (page < last) links.push(`${href(page + 1)}; rel="next"`, `${href(last)}; rel="last"`);
  if (page > 1) links.push(`${href(1)}; rel="first"`, `${href(Math.min(page - 1, last))}; rel="prev"`);
  return links.length === 0 ? undefined : links.join(', ');
}

function stateFilter(query: URLSearchParams): StateFilter {
  const state = query.get('state');
  return state === 'closed' || state === 'all' ? state : 'open';
}

function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, '');
  for (const tag of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const t = tag.trim();
    if (t === '*' || t.replace(/^W\//, '') === opaque) return true;
  }
  return false;
}

function rateHeaders(rate: RateView): Record<string, string> {
  return {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-used': String(rate.used),
    'x-ratelimit-reset': String(rate.reset),
    'x-ratelimit-resource': rate.resource,
  };
}

function rateJson(rate: RateView): { limit: number; used: number; remaining: number; reset: number } {
  return { limit: rate.limit, used: rate.used, remaining: rate.remaining, reset: rate.reset };
}

/** The URL clients use: a wildcard bind address is reached through loopback. */
export function publicUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

class HttpError extends Error {
  constructor(readonly answer: Answer) {
    super(String((answer.body as { message?: string } | undefined)?.message ?? answer.status));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES)
        rejectBody(new HttpError({ status: 413, body: { message: 'Payload too large', documentation_url: DOCS } }));
      else resolveBody(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', rejectBody);
  });
}

/**
 * The mock as an `http.Server` to `listen()`. `clock` gives the time in epoch milliseconds (the windows and
 * `x-ratelimit-reset` follow it).
 */
export function createGithubMock(settings: GithubMockSettings, clock: () => number = Date.now): Server {
  const data = new GithubData(settings.seed, settings.issues);
  const limiter = new RateLimiter(settings);
  // A stream of its own, so the data is the same whatever requests arrive.
  const chance = mulberry32(settings.seed ^ 0x5eed);
  const stats: GithubMockStats = { requests: 0, limited: { primary: 0, secondary: 0 }, blocked: 0, not_modified: 0 };
  let requestSeq = 0;

  const server = createServer((req, res) => {
    respond(req, res).catch((error: unknown) => {
      process.stderr.write(`github-mock: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: 'Server Error', documentation_url: DOCS }));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  return server;

  function baseOf(req: IncomingMessage): string {
    const host = req.headers.host;
    if (host !== undefined && /^[\w.:[\]-]+$/.test(host)) return `http://${host}`;
    const address = server.address();
    return address !== null && typeof address === 'object' ? publicUrl(address) : 'http://127.0.0.1';
  }

  /** Writes an API answer; `kind` says which counter of /_mock/stats it adds to besides `requests`. */
  function send(
    req: IncomingMessage,
    res: ServerResponse,
    answer: Answer,
    rate: RateView,
    kind: 'primary' | 'secondary' | 'blocked' | undefined,
  ): void {
    if (res.destroyed) return;
    stats.requests++;
    if (kind === 'primary' || kind === 'secondary') stats.limited[kind]++;
    else if (kind === 'blocked') stats.blocked++;
    if (answer.status === 304) stats.not_modified++;
    const headers: Record<string, string | number> = {
      ...rateHeaders(rate),
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': `MOCK:${(++requestSeq).toString(16).toUpperCase().padStart(8, '0')}`,
      ...answer.headers,
    };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers);
      res.end();
      return;
    }
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(answer.status, headers);
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  function later(delayMs: number, action: () => void): void {
    if (delayMs > 0) setTimeout(action, delayMs);
    else action();
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const now = clock();
    const url = new URL(req.url ?? '/', 'http://github-mock.local');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;

    // Outside GitHub's API: never delayed, failed, limited or counted.
    if (path === '/_mock/stats') {
      req.resume();
      const ok = req.method === 'GET' || req.method === 'HEAD';
      const text = JSON.stringify(ok ? stats : { message: 'Not Found', documentation_url: DOCS });
      res.writeHead(ok ? 200 : 404, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }

    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const caller = callerOf(req);
    const route = matchRoute(method, path);
    const resource: Resource = path.startsWith('/search/') ? 'search' : 'core';
    const base = baseOf(req);
    const free = route?.name === 'rate_limit';
    const delayMs = settings.latency.minMs + chance() * (settings.latency.maxMs - settings.latency.minMs);
    const fails = !free && settings.errorRate > 0 && chance() < settings.errorRate;
    const failStatus = fails ? (chance() < 0.5 ? 500 : 502) : 0;

    // A GET is answered before it is counted, so that a 304 is known to be free; nothing below awaits
    // until the limiter has decided, which keeps concurrent requests counted one after the other.
    let prepared: Answer | undefined;
    let notModified = false;
    if (!fails && method === 'GET') {
      prepared = caller.badCredentials
        ? badCredentials()
        : route === undefined
          ? notFound()
          : answerGet(route, caller, url, base, now);
      if (prepared.status === 200) {
        const text = JSON.stringify(prepared.body);
        const etag = `W/"${createHash('sha1').update(text).digest('hex')}"`;
        prepared = {
          status: 200,
          body: text,
          headers: {
            ...prepared.headers,
            etag,
            'cache-control': `${caller.token ? 'private' : 'public'}, max-age=60, s-maxage=60`,
            vary: 'Accept, Authorization, Cookie, X-GitHub-OTP',
          },
        };
        notModified = etagMatches(req.headers['if-none-match'], etag);
      }
    }

    const verdict = limiter.admit(caller.identity, {
      resource,
      free,
      primary: !notModified,
      points: CHEAP_METHODS.has(req.method ?? 'GET') ? 1 : 5,
      content: route?.name === 'create_issue',
    }, now, delayMs);

    if (verdict.outcome !== 'admitted') {
      req.resume();
      const retryAfter: Record<string, string> =
        verdict.outcome === 'primary' ? {} : { 'retry-after': String(verdict.retryAfterS) };
      let answer: Answer;
      if (verdict.outcome === 'primary') {
        const who =
          caller.token !== undefined
            ? `user ID ${data.tokenUser(caller.token).id}.`
            : `${caller.address}. ${UNAUTHENTICATED_NOTE}`;
        answer = {
          status: settings.limitedStatus,
          body: { message: `API rate limit exceeded for ${who}`, documentation_url: RATE_LIMIT_DOCS },
        };
      } else if (verdict.outcome === 'blocked') {
        answer = {
          status: 403,
          body: { message: SECONDARY_MESSAGE, documentation_url: SECONDARY_DOCS },
          headers: retryAfter,
        };
      } else {
        const content = verdict.kind === 'content' || verdict.kind === 'content-retry-after';
        answer = {
          status: settings.secondaryStatus,
          body: { message: content ? CONTENT_MESSAGE : SECONDARY_MESSAGE, documentation_url: SECONDARY_DOCS },
          headers: retryAfter,
        };
      }
      const kind = verdict.outcome === 'blocked' ? 'blocked' : verdict.outcome;
      later(delayMs, () => send(req, res, answer, verdict.rate, kind));
      return;
    }

    // The request holds its concurrency slot until its answer is written or the client goes away.
    res.once('close', verdict.release);
    let answer: Answer;
    if (fails) {
      req.resume();
      answer =
        failStatus === 500
          ? { status: 500, body: { message: 'Server Error', documentation_url: DOCS } }
          : { status: 502, body: { message: 'Server Error' } };
    } else if (prepared !== undefined) {
      req.resume();
      answer = notModified
        ? {
            status: 304,
            headers: {
              etag: prepared.headers!['etag']!,
              'cache-control': prepared.headers!['cache-control']!,
              vary: prepared.headers!['vary']!,
            },
          }
        : prepared;
    } else {
      try {
        answer = caller.badCredentials ? (req.resume(), badCredentials()) : await answerWrite(route, req, caller, base);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        answer = error.answer;
      }
    }
    later(delayMs, () => send(req, res, answer, verdict.rate, undefined));
  }

  function badCredentials(): Answer {
    return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
  }

  function requiresAuthentication(docs: string): Answer {
    return { status: 401, body: { message: 'Requires authentication', documentation_url: docs } };
  }

  function paginated(
    items: readonly number[] | readonly unknown[],
    query: URLSearchParams,
    base: string,
    path: string,
  ): { page: number[] | unknown[]; headers: Record<string, string> } {
    const { perPage, page } = pageParams(query);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = linkHeader(base, path, query, page, perPage, items.length);
    return { page: slice, headers: link === undefined ? {} : { link } };
  }

  function answerGet(route: Route, caller: Caller, url: URL, base: string, now: number): Answer {
    const [owner = '', name = '', number = ''] = route.params;
    const repo: RepoRef = repoRef(owner, name);
    const query = url.searchParams;
    switch (route.name) {
      case 'rate_limit': {
        const rates = limiter.snapshot(caller.identity, now);
        return {
          status: 200,
          body: {
            resources: { core: rateJson(rates.core), search: rateJson(rates.search) },
            rate: rateJson(rates.core),
          },
        };
      }
      case 'user':
        return caller.token === undefined
          ? requiresAuthentication(`${DOCS}/users/users#get-the-authenticated-user`)
          : { status: 200, body: data.authenticatedUser(caller.token, base) };
      case 'users':
        return { status: 200, body: data.user(owner, base) };
      case 'repo':
        return { status: 200, body: data.repo(repo, base) };
      case 'issues': {
        const { page, headers } = paginated(data.numbers(repo, stateFilter(query)), query, base, url.pathname);
        return { status: 200, body: (page as number[]).map((n) => data.issue(repo, n, base)), headers };
      }
      case 'issue': {
        const issue = data.issue(repo, Number(number), base);
        return issue === undefined ? notFound() : { status: 200, body: issue };
      }
      case 'pulls': {
        const { page, headers } = paginated(data.pullNumbers(repo, stateFilter(query)), query, base, url.pathname);
        return { status: 200, body: (page as number[]).map((n) => data.pull(repo, n, base)), headers };
      }
      case 'pull': {
        const n = Number(number);
        return n > data.issueCount && n <= data.issueCount + PULLS_PER_REPO
          ? { status: 200, body: data.pull(repo, n, base) }
          : notFound();
      }
      case 'search_issues': {
        const q = query.get('q') ?? '';
        if (q.trim() === '') {
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'Search', field: 'q', code: 'missing' }],
              documentation_url: `${DOCS}/search/search#search-issues-and-pull-requests`,
            },
          };
        }
        const items = data.search(parseSearchQuery(q), base);
        const { page, headers } = paginated(items, query, base, url.pathname);
        return { status: 200, body: { total_count: items.length, incomplete_results: false, items: page }, headers };
      }
      case 'create_issue':
        return notFound();
    }
  }

  async function answerWrite(
    route: Route | undefined,
    req: IncomingMessage,
    caller: Caller,
    base: string,
  ): Promise<Answer> {
    if (route?.name !== 'create_issue') {
      req.resume();
      return notFound();
    }
    const docs = `${DOCS}/issues/issues#create-an-issue`;
    if (caller.token === undefined) {
      req.resume();
      return requiresAuthentication(docs);
    }
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return { status: 400, body: { message: 'Problems parsing JSON', documentation_url: docs } };
    const { title, body: description } = body as { title?: unknown; body?: unknown };
    const invalid = (field: string, code: string): Answer => ({
      status: 422,
      body: { message: 'Validation Failed', errors: [{ resource: 'Issue', code, field }], documentation_url: docs },
    });
    if (title === undefined || title === null || title === '') return invalid('title', 'missing_field');
    if (typeof title !== 'string' && typeof title !== 'number') return invalid('title', 'invalid');
    if (description !== undefined && description !== null && typeof description !== 'string')
      return invalid('body', 'invalid');
    const ref = repoRef(...(route.params as [string, string]));
    const issue = data.createIssue(
      ref,
      String(title),
      (description as string | null | undefined) ?? null,
      data.tokenUser(caller.token).login,
      clock(),
      base,
    );
    return { status: 201, body: issue, headers: { location: String(issue['url']) } };
  }
}

export interface ListeningGithubMock {
  server: Server;
  url: string;
  /** Stops listening; open connections get `graceMs`, then are cut. */
  close(graceMs?: number): Promise<void>;
}

/** Creates the mock and listens on `port` (0: a free one) of `settings.host`. Rejects with the listen error. */
export function listenGithubMock(settings: GithubMockSettings, port: number): Promise<ListeningGithubMock> {
  const server = createGithubMock(settings);
  return new Promise((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, settings.host, () => {
      server.off('error', rejectListen);
      let closing: Promise<void> | undefined;
      resolveListen({
        server,
        url: publicUrl(server.address() as AddressInfo),
        close: (graceMs = 1000) =>
          (closing ??= new Promise<void>((resolveClose) => {
            server.close(() => resolveClose());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), graceMs).unref();
          })),
      });
    });
  });
}
