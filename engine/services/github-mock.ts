// The built-in `github-mock` service: the GitHub API mock (engine/mocks/github) run as a child process of
// its own, so it has a pid to monitor and perfy never serves it on the event loop that sends the load.

import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  GITHUB_MOCK_OPTION_NAMES, GITHUB_MOCK_OPTIONS, githubMockFlags, parseGithubMockOptions, type OptionProblem,
} from '../mocks/github/options.js';
import type { GithubMockStats } from '../mocks/github/server.js';
import type { BuiltinService } from './demo-api.js';
import { startBuiltinProcess } from './builtin-process.js';
import type { CollectedMetric, RunningService } from './types.js';
import { startFailed, type ServiceContext } from './url.js';

/** The mock's process entry, next to this file once compiled (dist/engine/...). */
export const GITHUB_MOCK_MAIN = fileURLToPath(new URL('../mocks/github/main.js', import.meta.url));
/** How long collect() waits for /_mock/stats. */
const STATS_TIMEOUT_MS = 2_000;

/** The hint for the first bad option: what it takes, or the names there are. */
function optionHint(problem: OptionProblem): string {
  const spec = (GITHUB_MOCK_OPTIONS as Record<string, { help: string; default: string } | undefined>)[problem.name];
  if (spec !== undefined) return `${problem.name}: ${spec.help} (default ${spec.default}); see docs/github-mock.md`;
  return `the GitHub mock's options are ${GITHUB_MOCK_OPTION_NAMES.join(', ')}; see docs/github-mock.md`;
}

/** GET url as JSON over a connection of its own (closed after), so nothing lingers in perfy's process. */
function getJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolveGet, rejectGet) => {
    const req = httpGet(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return rejectGet(new Error(`${url} answered ${res.statusCode}`));
        try {
          resolveGet(JSON.parse(text));
        } catch (error) {
          rejectGet(error);
        }
      });
      res.on('error', rejectGet);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', rejectGet);
  });
}

/** The mock's counters as metrics: running totals since it started, tagged with the service's name. */
export async function collectGithubMockStats(name: string, url: string): Promise<CollectedMetric[]> {
  const stats = (await getJson(`${url}/_mock/stats`, STATS_TIMEOUT_MS)) as GithubMockStats;
  const tags = { service: name };
  return [
    { name: 'github_mock.requests', type: 'counter', tags, value: stats.requests },
    { name: 'github_mock.limited', type: 'counter', tags: { ...tags, kind: 'primary' }, value: stats.limited.primary },
    {
      name: 'github_mock.limited',
      type: 'counter',
      tags: { ...tags, kind: 'secondary' },
      value: stats.limited.secondary,
    },
    { name: 'github_mock.blocked', type: 'counter', tags, value: stats.blocked },
    { name: 'github_mock.not_modified', type: 'counter', tags, value: stats.not_modified },
  ];
}

/** `{ builtin: github-mock, port?, options? }`. */
export async function startGithubMock(
  name: string, config: BuiltinService, context: ServiceContext,
): Promise<RunningService> {
  const options = config.options ?? {};
  const { problems } = parseGithubMockOptions(options);
  if (problems.length > 0)
    throw startFailed(name, problems.map((p) => p.message).join('; '), optionHint(problems[0]!), undefined);
  const flags = githubMockFlags(options);
  const host = flags.includes('--host') ? [] : ['--host', '127.0.0.1'];
  // The mock's windows are durations of the scenario: they pass as fast as the run's clock.
  if (context.timeScale !== undefined && context.timeScale !== 1) flags.push('--time-scale', String(context.timeScale));
  const {
    url, host: boundHost, port, proc, graceMs,
  } = await startBuiltinProcess(
    {
      name,
      title: 'the GitHub mock',
      script: GITHUB_MOCK_MAIN,
      args: ['--port', String(config.port ?? 0), ...host, ...flags],
      port: config.port,
      byHand: 'run `perfy mock github` by hand to see why it stops',
      broken: "perfy's build is incomplete; run `npm run build` or reinstall perfy",
    },
    context,
  );
  const origin = url.origin;
  return {
    name,
    url: origin,
    host: boundHost,
    port,
    pid: proc.pid,
    stop: () => proc.stop(graceMs),
    collect: () => collectGithubMockStats(name, origin),
  };
}
