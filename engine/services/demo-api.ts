// The built-in `demo-api` service: fixtures/demo-api/server.mjs run as a child process of its own, so it has
// a pid to monitor and perfy never measures its own event loop serving the requests it sends.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean } from '../errors.js';
import type { Service } from '../generated/scenario.js';
import { PACKAGE_ROOT } from '../paths.js';
import { parsePercent, parseThink } from '../units.js';
import { STOP_GRACE_MS, describeExit, spawnFailure, spawnManaged, withTail, type ManagedProcess } from './command.js';
import type { RunningService } from './types.js';
import { endpointOf, logFileOf, startFailed, startInterrupted, type ServiceContext } from './url.js';

export type BuiltinService = Extract<Service, { builtin: string }>;

export const DEMO_API_SERVER = join(PACKAGE_ROOT, 'fixtures', 'demo-api', 'server.mjs');
/** The settings `options:` may hold, each with what it takes. */
export const DEMO_API_OPTIONS = {
  latency: 'a duration or range of extra delay per response, e.g. 5ms or 2ms..10ms (default 0)',
  error_rate: 'share of requests (all but /health) that answer 500: 0.01 or "1%" (default 0)',
  seed: 'integer that fixes the data, the delays and which requests fail (default 1)',
} as const;
/** The server prints its URL within milliseconds; this only guards against a machine that is stuck. */
export const DEMO_API_START_TIMEOUT_MS = 15_000;

/** Command-line flags for server.mjs from the service's `options`; throws a message when one is wrong. */
export function demoApiFlags(options: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    switch (key) {
      case 'latency': {
        const text = typeof value === 'number' ? `${value}ms` : value;
        const range = typeof text === 'string' ? parseThink(text) : undefined;
        if (range === undefined || (typeof value === 'number' && !(value >= 0))) throw new Error(`options.latency ${JSON.stringify(value)} is not a duration or range like 2ms..10ms`);
        if (range.maxMs < range.minMs) throw new Error(`options.latency ${JSON.stringify(value)} is reversed: write the smaller bound first`);
        flags.push('--latency', `${range.minMs}ms..${range.maxMs}ms`);
        break;
      }
      case 'error_rate': {
        const rate = typeof value === 'number' ? value : typeof value === 'string' ? parsePercent(value) : undefined;
        if (rate === undefined || !(rate >= 0 && rate <= 1)) throw new Error(`options.error_rate ${JSON.stringify(value)} must be a number from 0 to 1 or a percentage like "1%"`);
        flags.push('--error-rate', String(rate));
        break;
      }
      case 'seed':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`options.seed ${JSON.stringify(value)} must be an integer`);
        flags.push('--seed', String(value));
        break;
      default: {
        const known = Object.keys(DEMO_API_OPTIONS);
        throw new Error(`options has no "${key}"; ${didYouMean(key, known) ?? `the demo API takes ${known.join(', ')}`}`);
      }
    }
  }
  return flags;
}

/** Resolves with the first line the process prints on stdout, or with why there was none. */
function firstLine(proc: ManagedProcess, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ line: string } | { failure: 'exited' | 'timeout' | 'aborted' }> {
  return new Promise((resolveLine) => {
    let buffered = '';
    const stdout = proc.child.stdout!;
    const done = (result: { line: string } | { failure: 'exited' | 'timeout' | 'aborted' }): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      resolveLine(result);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) done({ line: buffered.slice(0, newline) });
    };
    const onAbort = (): void => done({ failure: 'aborted' });
    const timer = setTimeout(() => done({ failure: 'timeout' }), timeoutMs);
    stdout.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
    void proc.exited.then(() => done({ failure: 'exited' }));
  });
}

/** `{ builtin: demo-api, port?, options? }`. */
export async function startDemoApi(name: string, config: BuiltinService, context: ServiceContext): Promise<RunningService> {
  let flags: string[];
  try {
    flags = demoApiFlags(config.options ?? {});
  } catch (error) {
    throw startFailed(name, (error as Error).message, `demo-api options: ${Object.entries(DEMO_API_OPTIONS).map(([k, v]) => `${k} (${v})`).join('; ')}`, undefined);
  }
  mkdirSync(context.logDir, { recursive: true });
  const logFile = logFileOf(context.logDir, name);
  if (context.signal?.aborted) throw startInterrupted(name);
  // --exit-on-stdin-close: the server goes down with perfy even when perfy is killed before it can stop it.
  const args = [DEMO_API_SERVER, '--port', String(config.port ?? 0), '--host', '127.0.0.1', '--exit-on-stdin-close', ...flags];
  let proc: ManagedProcess;
  try {
    proc = await spawnManaged(process.execPath, args, { cwd: PACKAGE_ROOT, env: process.env, logFile, stdout: 'pipe', stdin: 'pipe' });
  } catch (error) {
    throw spawnFailure(name, process.execPath, error, PACKAGE_ROOT, logFile);
  }
  const graceMs = context.stopGraceMs ?? STOP_GRACE_MS;

  const first = await firstLine(proc, DEMO_API_START_TIMEOUT_MS, context.signal);
  let url: URL | undefined;
  if ('line' in first) {
    try {
      url = new URL((JSON.parse(first.line) as { url: string }).url);
    } catch {
      url = undefined;
    }
  }
  const endpoint = url === undefined ? undefined : endpointOf(url);
  if (url === undefined || endpoint === undefined) {
    const exit = proc.exitStatus();
    await proc.stop(graceMs);
    if ('failure' in first && first.failure === 'aborted') throw startInterrupted(name);
    const portHint = config.port ? `port ${config.port} may be in use: leave \`port\` out (or 0) to pick a free one` : 'run `node fixtures/demo-api/server.mjs` by hand to see why it stops';
    if (exit !== undefined) throw startFailed(name, `the demo API ${describeExit(exit)} before it was listening${withTail(logFile)}`, portHint, logFile);
    if ('failure' in first) throw startFailed(name, `the demo API printed no address within ${DEMO_API_START_TIMEOUT_MS / 1000}s${withTail(logFile)}`, 'the machine may be overloaded; try again', logFile);
    throw startFailed(name, `the demo API printed ${JSON.stringify(first.line)} instead of {"url": ...}`, 'fixtures/demo-api/server.mjs has been changed; reinstall perfy', logFile);
  }
  return { name, url: url.origin, host: endpoint.host, port: endpoint.port, pid: proc.pid, stop: () => proc.stop(graceMs) };
}
