// The `github` step: a GitHub REST request made the way a well-written client makes it. It keeps, per API and
// token, what the rate-limit headers said (remaining and reset per resource) and a secondary-limit pause;
// before sending it waits for a reset or a `retry-after` that is due, caps the requests in flight per token
// and spaces writes; a rate-limited answer is waited out and sent again. Every wait is measured. The requests
// themselves go through the HTTP executor (its connections and http.* metrics). docs/github.md.

import { performance } from 'node:perf_hooks';
import { isTemplate, valueRenderer, type TemplateTree } from '../../compile/template.js';
import type { MetricHandle, MetricStore, Tags } from '../../metrics/types.js';
import { sleep } from '../../sleep.js';
import { httpExecutor } from '../http/index.js';
import type { HttpExecutor, HttpSender } from '../http/runner.js';
import type { Executor, ExecutorContext, ExecutorSetup, StepOf, StepResult, StepRunner, VuContext } from '../types.js';
import type { GithubRequestPlan } from './index.js';

/** What a client does when it is not told otherwise (docs/github.md). */
export const GITHUB_CLIENT_DEFAULTS = {
  /** Requests in flight at once per token (the throttling plugin of Octokit allows 10). */
  concurrency: 10,
  /** Writes (POST, PATCH, PUT, DELETE) one at a time per token, at least this far apart (GitHub's advice: 1 s). */
  writeIntervalMs: 1000,
  /** Rate-limited answers waited out and sent again before the step fails. */
  retries: 3,
  /** A wait longer than this is not made: the step fails with the limited answer. */
  maxWaitMs: 15 * 60_000,
  /** Without `retry-after` on a secondary limit, GitHub advises waiting at least a minute. */
  secondaryFallbackMs: 60_000,
};

const API_VERSION = '2022-11-28';
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
/** Conditional-request cache entries kept per token (the oldest go first). */
const ETAG_CACHE_SIZE = 1000;

type Settings = {
  concurrency: number;
  writeIntervalMs: number;
  retries: number;
  maxWaitMs: number;
  respectLimits: boolean;
  conditional: boolean;
};

/** What a client knows of one token on one API: the buckets, the secondary pause, its slots and caches. */
class TokenState {
  /** resource (core, search, …) → what the last answer said */
  readonly buckets = new Map<string, { remaining: number; resetAtMs: number; limit: number }>();
  /** A secondary limit's `retry-after`, as an instant (performance.now() clock). */
  pausedUntil = 0;
  inFlight = 0;
  readonly queue: (() => void)[] = [];
  nextWriteAt = 0;
  writeChain: Promise<void> = Promise.resolve();
  readonly etags = new Map<string, { etag: string; body: string | undefined; json: unknown }>();
}

export type GithubExecutor = Executor<GithubRequestPlan>;

/** The run's github executor: it sends through the run's HTTP executor (its connections and http.* metrics). */
export async function startGithubExecutor(context: ExecutorContext): Promise<GithubExecutor> {
  return createGithubExecutor(await context.executor(httpExecutor));
}

/** The executor: one client state per API base URL and token, shared by every step and virtual user. */
export function createGithubExecutor(http: HttpExecutor): GithubExecutor {
  const states = new Map<string, TokenState>();
  const stateFor = (api: string, token: string): TokenState => {
    const key = `${api}\u0000${token}`;
    let state = states.get(key);
    if (state === undefined) {
      state = new TokenState();
      states.set(key, state);
    }
    return state;
  };
  return {
    create(step, setup) {
      return new GithubStepRunner(step, setup, http, stateFor);
    },
    async close() {
      states.clear();
      // The requests went through the HTTP executor's connections.
      await http.close();
    },
  };
}

class GithubStepRunner implements StepRunner {
  private readonly method: GithubRequestPlan['route']['method'];
  private readonly path: string;
  private readonly pathNames: Set<string>;
  private readonly params: [string, (vars: Record<string, unknown>) => unknown][];
  private readonly body: ((vars: Record<string, unknown>) => unknown) | undefined;
  private readonly token: ((vars: Record<string, unknown>) => unknown) | undefined;
  private readonly api: string;
  private readonly settings: Settings;
  private readonly sender: HttpSender;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly wait: MetricHandle;
  private readonly limited: { primary: MetricHandle; secondary: MetricHandle };
  private readonly requests = new Map<string, MetricHandle>();
  private readonly remaining = new Map<string, MetricHandle>();
  private readonly isWrite: boolean;
  private readonly resource: string;

  constructor(
    step: StepOf<GithubRequestPlan>, setup: ExecutorSetup, http: HttpExecutor,
    private readonly stateFor: (api: string, token: string) => TokenState,
  ) {
    const request = step.request;
    const route = request.route;
    this.method = route.method;
    this.path = route.path;
    this.pathNames = new Set(route.names);
    this.isWrite = WRITE_METHODS.has(this.method);
    this.resource = this.path.startsWith('/search/') ? 'search' : this.path === '/rate_limit' ? 'none' : 'core';
    this.params = request.params.map(([k, v]) => [k, valueRenderer(v, undefined)]);
    this.body = request.body === undefined ? undefined : valueRenderer(request.body, undefined);
    this.token = request.token === undefined ? undefined : valueRenderer(request.token, undefined);
    this.api = resolveApi(request.api, setup);
    this.settings = {
      concurrency: request.concurrency ?? GITHUB_CLIENT_DEFAULTS.concurrency,
      writeIntervalMs: request.writeIntervalMs ?? GITHUB_CLIENT_DEFAULTS.writeIntervalMs,
      retries: request.retries ?? GITHUB_CLIENT_DEFAULTS.retries,
      maxWaitMs: request.maxWaitMs ?? GITHUB_CLIENT_DEFAULTS.maxWaitMs,
      respectLimits: request.respectLimits,
      conditional: request.conditional,
    };
    this.sender = http.sender(step, this.method, setup);
    this.store = setup.store;
    this.tags = setup.tags;
    this.wait = setup.store.handle('github.wait', 'trend', setup.tags);
    this.limited = {
      primary: setup.store.handle('github.rate_limited', 'counter', { ...setup.tags, kind: 'primary' }),
      secondary: setup.store.handle('github.rate_limited', 'counter', { ...setup.tags, kind: 'secondary' }),
    };
    // Zero samples: `count(github.rate_limited{kind: secondary}) == 0` is a measured 0, not "no samples".
    this.limited.primary.record(0);
    this.limited.secondary.record(0);
  }

  async execute(ctx: VuContext, timeoutMs: number, startedAt = performance.now()): Promise<StepResult> {
    const vars = ctx.vars;
    const token = this.token === undefined ? '' : String(this.token(vars) ?? '');
    const state = this.stateFor(this.api, token);
    let url: string;
    let body: string | null;
    try {
      ({ url, body } = this.render(vars));
    } catch (error) {
      return {
        ok: false,
        error: { class: 'other', message: (error as Error).message },
        response: { status: 0, ok: false },
      };
    }
    const polite = this.settings.respectLimits;
    let waited = 0;
    if (polite) {
      if (state.inFlight < this.settings.concurrency) state.inFlight++;
      else {
        const queued = performance.now();
        if (!(await this.queueForSlot(state, ctx.signal))) return aborted();
        waited += performance.now() - queued;
      }
    }
    try {
      for (let attempt = 0; ; attempt++) {
        if (polite) {
          let pause = this.pauseFor(state);
          if (pause > this.settings.maxWaitMs) {
            return this.finish(
              undefined,
              waited,
              `waiting ${Math.ceil(pause / 1000)} s for the rate limit is longer than max_wait`,
              attempt,
            );
          }
          // Until the clock says the reset is due: a Node timer may fire up to a millisecond before the wall clock
          // (libuv's coarse clock), and a request that early meets the window that has not ended yet.
          for (; pause > 0; pause = this.pauseFor(state)) {
            const slept = performance.now();
            if (!(await sleep(Math.max(1, pause), ctx.signal))) return aborted();
            waited += performance.now() - slept;
          }
          if (this.isWrite) {
            const spaced = await this.spaceWrite(state, ctx.signal);
            if (spaced === undefined) return aborted();
            waited += spaced;
          }
        }
        const cached = this.settings.conditional && this.method === 'GET' ? state.etags.get(url) : undefined;
        const result = await this.sender.send(
          ctx,
          timeoutMs,
          attempt === 0 && waited === 0 ? startedAt : performance.now(),
          {
            url,
            headerLines: this.headerLines(token, cached?.etag, body !== null),
            body,
            decode: true,
          },
        );
        if (result.error?.class === 'aborted') return result;
        const status = Number(result.response['status'] ?? 0);
        const header = (result.response['header'] ?? {}) as Record<string, string>;
        this.count(status);
        this.learn(state, header);
        const kind = status === 403 || status === 429 ? limitKind(header, result.response['json']) : undefined;
        if (kind !== undefined) {
          this.limited[kind].record(1);
          if (kind === 'secondary') state.pausedUntil = performance.now() + retryAfterMs(header);
          if (polite && attempt < this.settings.retries) continue;
          return this.finish(result, waited, undefined, attempt, kind);
        }
        if (status === 304 && cached !== undefined) {
          result.response['json'] = cached.json;
          result.response['body'] = cached.body;
        } else if (
          this.settings.conditional && status === 200 && this.method === 'GET' && typeof header['etag'] === 'string'
        ) {
          if (state.etags.size >= ETAG_CACHE_SIZE) state.etags.delete(state.etags.keys().next().value!);
          state.etags.set(url, {
            etag: header['etag'],
            body: result.response['body'] as string | undefined,
            json: result.response['json'],
          });
        }
        return this.finish(result, waited, undefined, attempt);
      }
    } finally {
      if (polite) this.release(state);
    }
  }

  /** The step's outcome, with `waited` measured and the rate-limit fields expects can read. */
  private finish(
    result: StepResult | undefined,
    waited: number,
    failure: string | undefined,
    attempts: number,
    limitedBy?: 'primary' | 'secondary',
  ): StepResult {
    this.wait.record(waited);
    const response = {
      ...(result?.response ?? { status: 0, ok: false }),
      waited,
      retries: attempts,
      rate_limited: limitedBy ?? false,
    };
    if (failure !== undefined) {
      return {
        ok: false,
        error: { class: 'http', message: failure, code: 'rate_limited' },
        response: { ...response, ok: false },
      };
    }
    if (result === undefined) return { ok: false, error: { class: 'other', message: 'no response' }, response };
    if (limitedBy !== undefined) {
      const json = result.response['json'] as { message?: unknown } | undefined;
      const message = `${limitedBy} rate limit: ${String(json?.message ?? result.response['status'])}`;
      return {
        ok: false,
        error: { class: 'http', message, code: String(result.response['status']) },
        response: { ...response, ok: false },
      };
    }
    return { ...result, response };
  }

  /** How long to wait before sending: a secondary pause, or an exhausted bucket until its reset. */
  private pauseFor(state: TokenState): number {
    const now = performance.now();
    let until = state.pausedUntil;
    const bucket = state.buckets.get(this.resource);
    if (bucket !== undefined && bucket.remaining <= 0) {
      const reset = bucket.resetAtMs - Date.now() + now;
      if (reset > now) until = Math.max(until, reset);
    }
    return Math.max(0, until - now);
  }

  /** Waits for one of the token's slots (all are in flight); false when the run stopped while waiting. */
  private queueForSlot(state: TokenState, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = state.queue.indexOf(grant);
        if (i >= 0) state.queue.splice(i, 1);
        resolve(false);
      };
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      state.queue.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(state: TokenState): void {
    const next = state.queue.shift();
    if (next !== undefined) next();
    else state.inFlight--;
  }

  /** Writes go one after another, `write_interval` apart; resolves to the time waited, undefined when stopped. */
  private async spaceWrite(state: TokenState, signal: AbortSignal): Promise<number | undefined> {
    const started = performance.now();
    const turn = state.writeChain.then(async () => {
      const gap = state.nextWriteAt - performance.now();
      if (gap > 0) await sleep(gap, signal);
      state.nextWriteAt = performance.now() + this.settings.writeIntervalMs;
    });
    state.writeChain = turn.catch(() => undefined);
    await turn;
    return signal.aborted ? undefined : performance.now() - started;
  }

  /** Remaining and reset per resource, from the answer's headers; the github.remaining gauge. */
  private learn(state: TokenState, header: Record<string, string>): void {
    const remaining = Number(header['x-ratelimit-remaining']);
    if (header['x-ratelimit-remaining'] === undefined || !Number.isFinite(remaining)) return;
    const resource = header['x-ratelimit-resource'] ?? this.resource;
    const reset = Number(header['x-ratelimit-reset']);
    state.buckets.set(resource, {
      remaining,
      resetAtMs: Number.isFinite(reset) ? reset * 1000 : 0,
      limit: Number(header['x-ratelimit-limit']) || 0,
    });
    let gauge = this.remaining.get(resource);
    if (gauge === undefined) {
      gauge = this.store.handle('github.remaining', 'gauge', { ...this.tags, resource });
      this.remaining.set(resource, gauge);
    }
    gauge.record(remaining);
  }

  private count(status: number): void {
    const key = String(status);
    let handle = this.requests.get(key);
    if (handle === undefined) {
      handle = this.store.handle('github.requests', 'counter', { ...this.tags, status: key });
      this.requests.set(key, handle);
    }
    handle.record(1);
  }

  /** The URL (path parameters filled in, the others in the query of a read) and the JSON body of a write. */
  private render(vars: Record<string, unknown>): { url: string; body: string | null } {
    const rest: Record<string, unknown> = {};
    const values = new Map<string, unknown>();
    for (const [name, render] of this.params) {
      const value = render(vars);
      if (this.pathNames.has(name)) values.set(name, value);
      else if (value !== undefined && value !== null) rest[name] = value;
    }
    const path = this.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = values.get(name);
      if (value === undefined || value === null || value === '') {
        throw new Error(`params.${name} is missing: "${this.path}" needs it`);
      }
      return encodeURIComponent(String(value));
    });
    let url = this.api + path;
    let body: string | null = null;
    if (this.isWrite) {
      const explicit = this.body === undefined ? undefined : this.body(vars);
      const isObject = explicit !== undefined && explicit !== null && typeof explicit === 'object' &&
        !Array.isArray(explicit);
      const merged = isObject ? { ...rest, ...explicit } : explicit ?? rest;
      body = JSON.stringify(merged);
    } else {
      const query = Object.entries(rest)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&');
      if (query !== '') url += (url.includes('?') ? '&' : '?') + query;
    }
    return { url, body };
  }

  private headerLines(token: string, etag: string | undefined, json: boolean): string {
    let lines = `accept: application/vnd.github+json\r\nx-github-api-version: ${API_VERSION}\r\nuser-agent: perfy\r\n`;
    if (token !== '') lines += `authorization: Bearer ${token}\r\n`;
    if (etag !== undefined) lines += `if-none-match: ${etag}\r\n`;
    if (json) lines += 'content-type: application/json\r\n';
    return lines;
  }
}

/** A 403 or 429 that is a rate limit: secondary (a `retry-after`, or GitHub's message saying so), or primary. */
export function limitKind(header: Record<string, string>, json: unknown): 'primary' | 'secondary' | undefined {
  const message = String((json as { message?: unknown } | null | undefined)?.message ?? '');
  if (header['retry-after'] !== undefined || /secondary rate limit/i.test(message)) return 'secondary';
  if (header['x-ratelimit-remaining'] === '0') return 'primary';
  return undefined;
}

/** `retry-after` in ms (seconds on the wire), GitHub's advice of a minute when it is missing. */
function retryAfterMs(header: Record<string, string>): number {
  const seconds = Number(header['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : GITHUB_CLIENT_DEFAULTS.secondaryFallbackMs;
}

/** `api:` a service's name, a URL, or by default the scenario's only github-mock service. */
function resolveApi(tree: TemplateTree | undefined, setup: ExecutorSetup): string {
  const text = tree === undefined
    ? undefined
    : isTemplate(tree) ? tree.render({ services: setup.services }) : String(tree);
  let base: string | undefined;
  if (text !== undefined && /^https?:\/\//.test(text)) base = text;
  else {
    const mocks = Object.entries(setup.plan.services)
      .filter(([, c]) => 'builtin' in c && c.builtin === 'github-mock')
      .map(([n]) => n);
    const name = text ?? (mocks.length === 1 ? mocks[0] : undefined);
    base = name === undefined ? undefined : setup.services[name]?.url;
    if (base === undefined) {
      throw new Error(
        text === undefined ? 'no `api:` and not exactly one github-mock service' : `"${text}" is not a running service`,
      );
    }
  }
  return base.endsWith('/') ? base.slice(0, -1) : base;
}

function aborted(): StepResult {
  return { ok: false, error: { class: 'aborted', message: 'the run was stopped' }, response: { status: 0, ok: false } };
}
