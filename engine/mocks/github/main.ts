// The GitHub API mock as a process of its own, which is how the `github-mock` service runs it:
//   node dist/engine/mocks/github/main.js [--port 0] [--time-scale 1] [--host 127.0.0.1] [--limit 5000] ...
// Prints exactly one line once listening, {"url":"http://127.0.0.1:PORT"}; SIGTERM or SIGINT stops it (exit 0).

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GITHUB_MOCK_OPTIONS, parseGithubMockOptions, parseTimeScale, scaleGithubMockSettings } from './options.js';
import { listenGithubMock } from './server.js';

/** `--port`: 0 to 65535; undefined when malformed. */
export function parsePort(text: string): number | undefined {
  const port = Number(text);
  return /^\d+$/.test(text) && port <= 65535 ? port : undefined;
}

function usage(): string {
  return `usage: node main.js [--port 0] [--time-scale 1] ${Object.values(GITHUB_MOCK_OPTIONS)
    .map((o) => `[--${o.flag} ${o.default}]`)
    .join(' ')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const options: Record<string, { type: 'string' } | { type: 'boolean' }> = {
    port: { type: 'string' }, 'time-scale': { type: 'string' }, 'exit-on-stdin-close': { type: 'boolean' },
  };
  for (const spec of Object.values(GITHUB_MOCK_OPTIONS)) options[spec.flag] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    process.stderr.write(`github-mock: ${(error as Error).message}\n${usage()}`);
    process.exit(2);
  }
  const { port: portText = '0', 'time-scale': scaleText = '1', 'exit-on-stdin-close': exitOnStdinClose, ...given } =
    values;
  const port = parsePort(String(portText));
  // perfy run --time-scale F: the mock's windows and blocks pass F times faster, like the run's clock.
  const timeScale = parseTimeScale(String(scaleText));
  const { settings, problems } = parseGithubMockOptions(given, 'flag');
  if (port === undefined)
    problems.unshift({ name: 'port', message: `--port ${String(portText)} must be an integer from 0 to 65535` });
  if (timeScale === undefined) {
    problems.unshift({ name: 'time-scale', message: `--time-scale ${String(scaleText)} must be a positive number` });
  }
  if (problems.length > 0 || port === undefined || timeScale === undefined) {
    process.stderr.write(`${problems.map((p) => `github-mock: ${p.message}`).join('\n')}\n${usage()}`);
    process.exit(2);
  }
  let mock;
  try {
    mock = await listenGithubMock(scaleGithubMockSettings(settings, timeScale), port);
  } catch (error) {
    process.stderr.write(`github-mock: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ url: mock.url })}\n`);
  const shutdown = (): void => {
    void mock.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // perfy passes this and keeps the other end of stdin: if perfy dies (even by SIGKILL), stdin closes.
  if (exitOnStdinClose === true) {
    process.stdin.on('end', shutdown).on('close', shutdown).on('error', shutdown);
    process.stdin.resume();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main(process.argv.slice(2));
