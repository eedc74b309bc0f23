// The built-in `demo-api` service: fixtures/demo-api/server.mjs run as a child process of its own, so it has
// a pid to monitor and perfy never measures its own event loop serving the requests it sends.

import { join } from 'node:path';
import { didYouMean } from '../errors.js';
import type { Service } from '../generated/scenario.js';
import { PACKAGE_ROOT } from '../paths.js';
import { parsePercent, parseSizeRate, parseThink } from '../units.js';
import { startBuiltinProcess } from './builtin-process.js';
import type { RunningService } from './types.js';
import { startFailed, type ServiceContext } from './url.js';

export type BuiltinService = Extract<Service, { builtin: string }>;

export const DEMO_API_SERVER = join(PACKAGE_ROOT, 'fixtures', 'demo-api', 'server.mjs');
/** The settings `options:` may hold, each with what it takes. */
export const DEMO_API_OPTIONS = {
  latency: 'a duration or range of extra delay per response, e.g. 5ms or 2ms..10ms (default 0)',
  error_rate: 'share of requests (all but /health) that answer 500: 0.01 or "1%" (default 0)',
  seed: 'integer that fixes the data, the delays and which requests fail (default 1)',
  leak: 'memory kept and never freed per second of running, e.g. 1MB/s (default none): to see leak detection work',
} as const;

/** Command-line flags for server.mjs from the service's `options`; throws a message when one is wrong. */
export function demoApiFlags(options: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    switch (key) {
      case 'latency': {
        const text = typeof value === 'number' ? `${value}ms` : value;
        const range = typeof text === 'string' ? parseThink(text) : undefined;
        if (range === undefined || (typeof value === 'number' && !(value >= 0)))
          throw new Error(`options.latency ${JSON.stringify(value)} is not a duration or range like 2ms..10ms`);
        if (range.maxMs < range.minMs)
          throw new Error(`options.latency ${JSON.stringify(value)} is reversed: write the smaller bound first`);
        flags.push('--latency', `${range.minMs}ms..${range.maxMs}ms`);
        break;
      }
      case 'error_rate': {
        const rate = typeof value === 'number' ? value : typeof value === 'string' ? parsePercent(value) : undefined;
        if (rate === undefined || !(rate >= 0 && rate <= 1))
          throw new Error(
            `options.error_rate ${JSON.stringify(value)} must be a number from 0 to 1 or a percentage like "1%"`,
          );
        flags.push('--error-rate', String(rate));
        break;
      }
      case 'seed':
        if (typeof value !== 'number' || !Number.isSafeInteger(value))
          throw new Error(`options.seed ${JSON.stringify(value)} must be an integer`);
        flags.push('--seed', String(value));
        break;
      case 'leak': {
        const bytesPerSecond = typeof value === 'string' ? parseSizeRate(value) : undefined;
        if (bytesPerSecond === undefined || !(bytesPerSecond > 0))
          throw new Error(`options.leak ${JSON.stringify(value)} must be a size per time like 1MB/s or 30MB/m`);
        flags.push('--leak', String(Math.round(bytesPerSecond)));
        break;
      }
      default: {
        const known = Object.keys(DEMO_API_OPTIONS);
        throw new Error(
          `options has no "${key}"; ${didYouMean(key, known) ?? `the demo API takes ${known.join(', ')}`}`,
        );
      }
    }
  }
  return flags;
}

/** `{ builtin: demo-api, port?, options? }`. */
export async function startDemoApi(
  name: string, config: BuiltinService, context: ServiceContext,
): Promise<RunningService> {
  let flags: string[];
  try {
    flags = demoApiFlags(config.options ?? {});
  } catch (error) {
    throw startFailed(
      name,
      (error as Error).message,
      `demo-api options: ${Object.entries(DEMO_API_OPTIONS)
        .map(([k, v]) => `${k} (${v})`)
        .join('; ')}`,
      undefined,
    );
  }
  const { url, host, port, proc, graceMs } = await startBuiltinProcess(
    {
      name,
      title: 'the demo API',
      script: DEMO_API_SERVER,
      args: ['--port', String(config.port ?? 0), '--host', '127.0.0.1', ...flags],
      port: config.port,
      byHand: 'run `node fixtures/demo-api/server.mjs` by hand to see why it stops',
      broken: 'fixtures/demo-api/server.mjs has been changed; reinstall perfy',
    },
    context,
  );
  return { name, url: url.origin, host, port, pid: proc.pid, stop: () => proc.stop(graceMs) };
}
