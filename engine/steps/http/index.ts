// The `http` step kind's door: its schema, how a request compiles, the response fields and metrics it offers.
// The client itself (runner.ts, h1/) loads only when a run starts; the summary lines with the console report.

import type { Template, TemplateTree } from '../../compile/template.js';
import { isAbsoluteUrl } from '../../compile/url.js';
import type { HttpRequest as HttpSettings } from '../../generated/scenario.js';
import { m } from '../../metrics/catalog.js';
import { redactUrlPasswords } from '../../redact.js';
import { bindStep, ExecutorSource, type StepCompiler, type StepKind } from '../types.js';
import type { HttpExecutor } from './runner.js';
import { schema } from './schema.js';

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
const UPPER = {
  get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', delete: 'DELETE', head: 'HEAD', options: 'OPTIONS',
} as const;

/** An `http:` step compiled: every part that may hold a template is one. */
export interface HttpRequestPlan {
  method: Uppercase<HttpMethod>;
  url: Template;
  query: [string, TemplateTree][];
  headers: [string, Template][];
  body:
    | { kind: 'json'; tree: TemplateTree }
    | { kind: 'form'; entries: [string, TemplateTree][] }
    | { kind: 'text'; template: Template }
    | undefined;
}

export const httpExecutor = new ExecutorSource<HttpRequestPlan, HttpExecutor>(
  'http', async () => (await import('./runner.js')).startHttpExecutor,
);

/** Compiles the settings of an `http:` step (valid against its schema) at `at.path`. */
export function compileHttpRequest(settings: HttpSettings, at: StepCompiler): HttpRequestPlan {
  const p = at.path;
  const method = HTTP_METHODS.find((name) => settings[name] !== undefined) ?? 'get';
  const url = settings[method] ?? '';
  if (isAbsoluteUrl(url)) at.checkHttpUrl(url, [...p, method]);
  if (!at.hasTarget && !/^(https?:\/\/|\{\{)/.test(url)) {
    at.problem('E_TARGET_MISSING', `"${url}" is a relative URL but the scenario has no \`target\``,
      'add `target: http://HOST:PORT` (or `target: "{{services.api.url}}"`), or write the full URL', [...p, method]);
  }
  const entries = (value: Record<string, unknown> | undefined, key: string): [string, TemplateTree][] =>
    Object.entries(value ?? {}).map(([name, v]) => [name, at.tree(v, [...p, key, name])]);
  let body: HttpRequestPlan['body'];
  if (settings.json !== undefined) body = { kind: 'json', tree: at.tree(settings.json, [...p, 'json']) };
  else if (settings.form !== undefined) body = { kind: 'form', entries: entries(settings.form, 'form') };
  else if (settings.body !== undefined) body = { kind: 'text', template: at.template(settings.body, [...p, 'body']) };
  return {
    method: UPPER[method],
    url: at.template(url, [...p, method]),
    query: entries(settings.query, 'query'),
    headers: Object.entries(settings.headers ?? {}).map(([name, v]) => [name, at.template(v, [...p, 'headers', name])]),
    body,
  };
}

export const http = {
  name: 'http',
  definition: 'httpRequest',
  schema,
  fields: ['status', 'duration', 'json', 'header', 'body', 'size', 'ok'],
  metrics: [
    m('http.duration', 'trend', 'Total time of an HTTP request from the moment it is sent, body included.'),
    m('http.duration_corrected', 'trend', 'Open model: HTTP time from when the virtual user meant to send (iteration '
      + 'start lag and waiting for a free connection included): corrected for coordinated omission.', {
      note: 'measured from when each request was meant to be sent (corrected for coordinated omission)',
    }),
    m('http.ttfb', 'trend', 'Time to the first byte of the response.', {
      sameAs: 'http.duration',
      sameAsMeans: 'each response arrived whole with its first bytes: small bodies, or none',
    }),
    m('http.connect', 'trend', 'Time to open the TCP connection (0 on a reused connection).', {
      zeroMeans: 'every request went on a connection already open',
    }),
    m('http.reqs', 'counter', 'HTTP requests sent: written to a connection, whatever came back (a request sent again '
      + 'after a reset counts twice, as the server may have seen it twice).', { total: 'count' }),
    m('http.unsent', 'counter', 'HTTP requests that failed before a byte of them was sent, tagged `status` with the '
      + 'error class: refused, dns, tls, timeout (no connection in time), emfile.'),
    m('http.retries', 'counter', 'HTTP requests sent again on a new connection after their kept-alive connection '
      + 'closed before any byte of the response (`defaults.resend_on_reset`), tagged `status` with how it closed '
      + '(reset).'),
    m('http.errors', 'rate', 'Share of HTTP requests that failed (network error, timeout or status >= 400), those '
      + 'never sent included.'),
    m('http.bytes_in', 'counter', 'Bytes received.', { total: 'bytes' }),
    m('http.bytes_out', 'counter', 'Bytes sent.', { total: 'bytes' }),
  ],
  compile(settings, at) {
    const request = compileHttpRequest(settings as HttpSettings, at);
    const method = request.method;
    // The summary names an unnamed step (its metrics' tag, the console): never with a password written in the URL.
    return bindStep(`${method} ${redactUrlPasswords(request.url.source)}`, request, httpExecutor, {
      correctedMetric: 'http.duration_corrected',
      connectionPool: connectionPool(request.url.source, at),
    });
  },
  summary: async () => (await import('./summary.js')).summary,
  sections: async () => (await import('./summary.js')).sections,
} satisfies StepKind;

/**
 * The connections a step's URL draws from: those of its origin, of the target for a relative URL, and its own for
 * an absolute URL whose origin is templated (an estimate on the high side: it may be any origin).
 */
function connectionPool(url: string, at: StepCompiler): string {
  const absolute = /^https?:\/\/[^/{]+/i.exec(url);
  if (absolute) return absolute[0].toLowerCase();
  return /^https?:/i.test(url) ? `templated:${at.path.join('/')}` : 'target';
}
