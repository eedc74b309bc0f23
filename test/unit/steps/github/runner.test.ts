// The github step's waits against a GitHub mock in this process whose clock moves in whole seconds: every window
// then ends exactly on the second `x-ratelimit-reset` names, with no slack left by rounding up. Timers here fire
// 2 ms early, as Node's do by up to a millisecond on a kernel whose coarse clock libuv uses (HZ=1000): a client
// that sends when its timer fires, rather than when the wall clock has reached the reset, is refused.

import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Plan } from '../../../../engine/compile/plan.js';
import { createGithubExecutor } from '../../../../engine/steps/github/runner.js';
import { createHttpExecutor } from '../../../../engine/steps/http/runner.js';
import { createMetricStore } from '../../../../engine/metrics/store.js';
import { parseGithubMockOptions } from '../../../../engine/mocks/github/options.js';
import { createGithubMock } from '../../../../engine/mocks/github/server.js';
import { testStepCompiler, UNCALLED } from '../../../helpers.js';
import { compileGithubRequest, type GithubRequestPlan } from '../../../../engine/steps/github/index.js';
import type { GithubRequest } from '../../../../engine/generated/scenario.js';
import type { StepOf } from '../../../../engine/steps/types.js';

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function githubStep(request: Record<string, unknown>): StepOf<GithubRequestPlan> {
  return {
    type: 'step',
    id: 1,
    name: 'list',
    kind: 'github',
    plugin: undefined,
    summary: String(request['request']),
    request: compileGithubRequest(request as unknown as GithubRequest, testStepCompiler()),
    call: UNCALLED,
    tags: {},
    condition: undefined,
    expects: [],
    captures: [],
    timeoutMs: 5000,
    retry: undefined,
    location: { file: 'test.yaml', line: 1, col: 1 },
  };
}

describe('the github step waits for a reset by the wall clock', () => {
  it('a limit of 1 per 1 s window that ends on a whole second: three requests in a row, none refused', async () => {
    const { settings, problems } = parseGithubMockOptions({ limit: 1, window: '1s' });
    assert.deepEqual(problems, []);
    const wholeSeconds = (): number => Math.floor(Date.now() / 1000) * 1000;
    const server = createGithubMock(settings, wholeSeconds);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const store = createMetricStore();
    const executor = createGithubExecutor(createHttpExecutor());
    const setup = {
      plan: { services: {} } as unknown as Plan,
      store,
      tags: { step: 'list' },
      target: undefined,
      defaultHeaders: {},
      services: {},
    };
    const runner = executor.create(githubStep({
      request: 'GET /repos/{owner}/{repo}/issues',
      params: { owner: 'octo', repo: 'hello' },
      token: 't1',
      api,
      retries: 0,
    }), setup);
    const signal = new AbortController().signal;
    const statuses: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      realSetTimeout(() => callback(...args), Math.max(0, (ms ?? 0) - 2))) as typeof setTimeout;
    try {
      for (let iteration = 0; iteration < 3; iteration++) {
        const result = await runner.execute({ vu: 1, iteration, vars: {}, signal }, 5000);
        statuses.push(Number(result.response['status']));
      }
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    await executor.close();
    assert.deepEqual(statuses, [200, 200, 200], 'every request after a wait came after the reset');
    assert.equal(store.aggregate({ fn: 'count', metric: 'github.rate_limited', tags: {} }), 0);
  });
});
