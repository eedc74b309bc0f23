// Reaching a service by URL: readiness probes (HTTP and TCP), the E_SERVICE_START error every service kind
// throws, and the `url` service form (something already running that perfy only checks).

import { closeSync, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PerfyError, problem } from '../errors.js';
import type { RunningService } from './types.js';

/** What every service start gets besides its own settings. */
export interface ServiceContext {
  /** Directory of the scenario file: `cwd` of commands is relative to it. */
  scenarioDir: string;
  /** Where `NAME.log` is written (created if missing). */
  logDir: string;
  /** Aborting it (Ctrl-C) stops a start in progress. */
  signal?: AbortSignal | undefined;
  /** How long a stop waits after SIGTERM before SIGKILL (default 5 s); tests shorten it. */
  stopGraceMs?: number | undefined;
  /** The run's `--time-scale`: the built-in GitHub mock's windows pass this many times faster. */
  timeScale?: number | undefined;
}

export const PROBE_INTERVAL_MS = 100;
export const URL_CHECK_TIMEOUT_MS = 10_000;
const PROBE_ATTEMPT_TIMEOUT_MS = 2_000;

/** Default ports of schemes people put in `url:`, for URLs that do not say one. */
const DEFAULT_PORTS: Record<string, number> = {
  'http:': 80, 'https:': 443, 'postgres:': 5432, 'postgresql:': 5432, 'mysql:': 3306, 'redis:': 6379, 'rediss:': 6379,
  'mongodb:': 27017, 'amqp:': 5672, 'amqps:': 5671, 'ws:': 80, 'wss:': 443,
};

/** The log file of a service. */
export function logFileOf(logDir: string, name: string): string {
  return join(logDir, `${name}.log`);
}

// What a service prints may hold what it was given (tokens, passwords, connection strings): its log is readable
// by the user who ran perfy only, like the rest of perfy's private files.
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates the log directory (and its parents) if missing, private. */
export function makeLogDir(logDir: string): void {
  mkdirSync(logDir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Starts a log file afresh (empty, or holding `text`), private even when an earlier run left it with another mode. */
export function startLogFile(logFile: string, text = ''): void {
  const fd = openSync(logFile, 'w', PRIVATE_FILE_MODE);
  try {
    // The mode given to open() applies only to a file it creates.
    fchmodSync(fd, PRIVATE_FILE_MODE);
    if (text !== '') writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The one shape of a failed start: the service, the cause, and where its output is. */
export function startFailed(name: string, cause: string, hint: string, logFile: string | undefined): PerfyError {
  const where = logFile === undefined ? '' : ` (output: ${logFile})`;
  return new PerfyError(problem('E_SERVICE_START', `service "${name}" did not start: ${cause}${where}`, hint));
}

/** The start was interrupted (Ctrl-C / SIGTERM while services were starting). */
export function startInterrupted(name: string): PerfyError {
  return new PerfyError(
    problem(
      'E_INTERRUPTED', `interrupted while service "${name}" was starting`, 'the services already started were stopped',
    ),
  );
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}

export interface Endpoint {
  host: string;
  port: number;
}

/** host and port of a URL (default port of its scheme when it has none); undefined when it has neither. */
export function endpointOf(url: URL): Endpoint | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  return host === '' || port === undefined ? undefined : { host, port };
}

export type ProbeKind = 'http-2xx' | 'http-any' | 'tcp';

/** One attempt: resolves with undefined on success, or with the reason it failed. */
export function probeOnce(
  url: URL,
  kind: ProbeKind,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    let cleanup = (): void => {};
    const onAbort = (): void => {
      finish('aborted');
      cleanup();
    };
    const finish = (reason: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const timer = setTimeout(() => {
      finish(`no answer within ${timeoutMs} ms`);
      cleanup();
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (kind === 'tcp') {
      const endpoint = endpointOf(url);
      if (endpoint === undefined) return finish(`${redactUrl(url.href)} has no host and port`);
      const socket = connect({ host: endpoint.host, port: endpoint.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => {
        socket.destroy();
        finish(undefined);
      });
      socket.once('error', (error) => finish(describeError(error)));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: 'GET', agent: false, headers: { 'user-agent': 'perfy-readiness', connection: 'close' } },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        req.destroy();
        if (kind === 'http-any' || (status >= 200 && status < 300)) finish(undefined);
        else finish(`answered HTTP ${status}`);
      },
    );
    cleanup = () => req.destroy();
    req.once('error', (error) => finish(describeError(error)));
    req.end();
  });
}

function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}

export type WaitOutcome =
  { ready: true } | { ready: false; reason: 'timeout' | 'aborted'; lastError: string | undefined };

/** Probes every PROBE_INTERVAL_MS until one attempt succeeds, the time is up, or the signal aborts. */
export async function waitUntilReachable(
  url: URL,
  kind: ProbeKind,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WaitOutcome> {
  const deadline = performance.now() + timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    if (signal?.aborted) return { ready: false, reason: 'aborted', lastError };
    const remaining = deadline - performance.now();
    if (remaining <= 0) return { ready: false, reason: 'timeout', lastError };
    const failure = await probeOnce(url, kind, Math.max(1, Math.min(PROBE_ATTEMPT_TIMEOUT_MS, remaining)), signal);
    if (failure === undefined) return { ready: true };
    if (signal?.aborted) return { ready: false, reason: 'aborted', lastError };
    lastError = failure;
    const pause = Math.min(PROBE_INTERVAL_MS, deadline - performance.now());
    if (pause > 0) {
      try {
        await sleep(pause, undefined, signal ? { signal } : {});
      } catch {
        return { ready: false, reason: 'aborted', lastError };
      }
    }
  }
}

/** The form `{ url: ... }`: checks that the service answers (any HTTP response, or a TCP connection). */
export async function startUrlService(
  name: string,
  config: { url: string },
  context: ServiceContext,
  timeoutMs: number = URL_CHECK_TIMEOUT_MS,
): Promise<RunningService> {
  const logFile = logFileOf(context.logDir, name);
  const shown = redactUrl(config.url);
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw startFailed(name, `"${shown}" is not a URL`, 'write a full URL such as https://staging.example.com or postgres://app@127.0.0.1:5432/app', undefined);
  }
  const endpoint = endpointOf(url);
  if (endpoint === undefined) {
    throw startFailed(
      name, `"${shown}" has no host or port`, `add the port, as in ${url.protocol}//HOST:PORT`, undefined,
    );
  }
  const http = url.protocol === 'http:' || url.protocol === 'https:';
  makeLogDir(context.logDir);
  const started = performance.now();
  const outcome = await waitUntilReachable(url, http ? 'http-any' : 'tcp', timeoutMs, context.signal);
  const elapsed = Math.round(performance.now() - started);
  const how = http ? 'an HTTP request' : `a TCP connection to ${endpoint.host}:${endpoint.port}`;
  startLogFile(
    logFile,
    outcome.ready
      ? `perfy: ${shown} answered ${how} after ${elapsed} ms\n`
      : `perfy: ${shown} did not answer ${how} within ${timeoutMs} ms; last error: ${outcome.lastError ?? 'none'}\n`,
  );
  if (!outcome.ready) {
    if (outcome.reason === 'aborted') throw startInterrupted(name);
    throw startFailed(
      name,
      `${shown} did not answer ${how} within ${timeoutMs / 1000}s (last error: ${outcome.lastError ?? 'none'})`,
      'start that service first, or check the host, the port and any firewall; perfy does not start services ' +
        'given by `url:`',
      logFile,
    );
  }
  return {
    name,
    url: config.url,
    host: endpoint.host,
    port: endpoint.port,
    pid: undefined,
    stop: async () => {},
  };
}
