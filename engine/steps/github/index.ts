// The `github` step kind's door: its schema, how a request compiles (the route, its params, the client's
// settings), its response fields and metrics. The client (runner.ts) loads only when a run starts.

import type { TemplateTree } from '../../compile/template.js';
import { didYouMean } from '../../errors.js';
import type { GithubRequest } from '../../generated/scenario.js';
import { m } from '../../metrics/catalog.js';
import { bindStep, ExecutorSource, type StepCompiler, type StepKind } from '../types.js';
import type { GithubExecutor } from './runner.js';
import { schema } from './schema.js';

const ROUTE_METHODS = { GET: 'GET', POST: 'POST', PUT: 'PUT', PATCH: 'PATCH', DELETE: 'DELETE', HEAD: 'HEAD' } as const;
export type RouteMethod = keyof typeof ROUTE_METHODS;

export interface Route {
  method: RouteMethod;
  /** With its `{name}` parameters. */
  path: string;
  names: string[];
}

/** A `github:` step compiled. Durations are in ms; an absent setting takes the client's default (runner.ts). */
export interface GithubRequestPlan {
  route: Route;
  params: [string, TemplateTree][];
  body: TemplateTree | undefined;
  token: TemplateTree | undefined;
  /** A service's name or a URL (a template that may read the services); undefined: the only github-mock. */
  api: TemplateTree | undefined;
  concurrency: number | undefined;
  writeIntervalMs: number | undefined;
  retries: number | undefined;
  maxWaitMs: number | undefined;
  respectLimits: boolean;
  conditional: boolean;
}

export const githubExecutor = new ExecutorSource<GithubRequestPlan, GithubExecutor>(
  'github', async () => (await import('./runner.js')).startGithubExecutor,
);

const isRouteMethod = (text: string): text is RouteMethod => Object.hasOwn(ROUTE_METHODS, text);

/** `GET /repos/{owner}/{repo}/issues` → the method and the path with its `{name}` parameters. */
export function parseRoute(request: string): Route {
  const m = /^\s*(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(\/\S*)\s*$/i.exec(request);
  const method = m?.[1]?.toUpperCase();
  if (m === null || method === undefined || !isRouteMethod(method)) {
    throw new Error(`"${request}" is not "METHOD /path" (e.g. "GET /repos/{owner}/{repo}/issues")`);
  }
  const path = m[2] ?? '/';
  return { method: ROUTE_METHODS[method], path, names: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1] ?? '') };
}

/** A github step's route is `METHOD /path`, its `{name}` parts have params, and `api:` names something it can use. */
export function compileGithubRequest(settings: GithubRequest, at: StepCompiler): GithubRequestPlan {
  const p = at.path;
  let route: Route = { method: 'GET', path: '/', names: [] };
  try {
    route = parseRoute(settings.request);
  } catch (error) {
    at.problem('E_GITHUB_REQUEST', (error as Error).message,
      'write the method and the path as GitHub\'s docs do: "GET /repos/{owner}/{repo}/issues"', [...p, 'request']);
  }
  const missing = route.names.filter((name) => !Object.hasOwn(settings.params ?? {}, name));
  if (missing.length) {
    at.problem('E_GITHUB_REQUEST', `"${settings.request}" needs ${missing.map((n) => `params.${n}`).join(', ')}`,
      `add them: params: { ${missing.map((n) => `${n}: …`).join(', ')} }`, [...p, 'request']);
  }
  checkApi(settings.api, at);
  const optional = (value: unknown, key: string): TemplateTree | undefined =>
    (value === undefined ? undefined : at.tree(value, [...p, key]));
  return {
    route,
    params: Object.entries(settings.params ?? {}).map(([name, v]) => [name, at.tree(v, [...p, 'params', name])]),
    body: optional(settings.body, 'body'),
    token: optional(settings.token, 'token'),
    api: optional(settings.api, 'api'),
    concurrency: settings.concurrency,
    writeIntervalMs: at.duration(settings.write_interval, [...p, 'write_interval']),
    retries: settings.retries,
    maxWaitMs: at.duration(settings.max_wait, [...p, 'max_wait']),
    respectLimits: settings.respect_limits !== false,
    conditional: settings.conditional === true,
  };
}

function checkApi(api: string | undefined, at: StepCompiler): void {
  if (api !== undefined && (api.includes('{{') || /^https?:\/\//.test(api))) return;
  const mocks = [...at.services].filter(([, service]) => service.builtin === 'github-mock').map(([name]) => name);
  if (api === undefined) {
    if (mocks.length === 1) return;
    at.problem('E_SERVICE_UNKNOWN', 'this github step does not say which API to call', mocks.length === 0
      ? 'give `api: https://api.github.com` (or a GitHub Enterprise URL), or declare `gh: { builtin: github-mock }` '
        + 'under `services:`'
      : `name one of the github-mock services in \`api:\`: ${mocks.join(', ')}`, at.path);
    return;
  }
  if (at.services.has(api)) return;
  const hint = didYouMean(api, at.services.keys()) ?? 'declare it under `services:`, or write the URL';
  at.problem('E_SERVICE_UNKNOWN', `there is no service "${api}": \`api:\` names a service or is an http(s) URL`, hint,
    [...at.path, 'api']);
}

export const github = {
  name: 'github',
  definition: 'githubRequest',
  schema,
  fields: ['status', 'duration', 'json', 'header', 'body', 'size', 'ok', 'waited', 'retries', 'rate_limited'],
  metrics: [
    m('github.requests', 'counter', 'GitHub API requests sent, tagged `status` (retries after a rate limit included). '
      + 'Their timings are the http.* metrics of the step.'),
    m('github.rate_limited', 'counter', 'Answers that were a rate limit, tagged `kind`: `primary` (the hourly quota) '
      + 'or `secondary` (concurrency, points, content creation, abuse).'),
    m('github.wait', 'trend', 'Time one github step spent waiting for the rate limits: a reset, a `retry-after`, a '
      + 'free slot, the spacing of writes (0 when it did not wait).'),
    m('github.remaining', 'gauge', 'Requests left in the current window, as the last answer said '
      + '(tag `resource`: core, search, …).'),
  ],
  // A github step's requests are HTTP requests of the step.
  alsoProduces: ['http'],
  compile(settings, at) {
    const github = settings as GithubRequest;
    // Its API (a service or a URL) is known only at run time: its connections count as its own, on the high side.
    return bindStep(github.request, compileGithubRequest(github, at), githubExecutor, {
      connectionPool: `github:${at.path.join('/')}`,
    });
  },
  summary: async () => (await import('./summary.js')).summary,
  sections: async () => (await import('./summary.js')).sections,
} satisfies StepKind;
