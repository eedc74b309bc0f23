// Cookies: each virtual user keeps what servers set and sends it back, never sharing it with another user.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HttpRequest } from '../../../../engine/generated/scenario.js';
import { compileHttpRequest, type HttpRequestPlan } from '../../../../engine/steps/http/index.js';
import { CookieJar } from '../../../../engine/steps/http/cookies.js';
import { createHttpExecutor } from '../../../../engine/steps/http/runner.js';
import type { StepOf, VuContext } from '../../../../engine/steps/types.js';
import { compileExpression } from '../../../../engine/expr/index.js';
import { createMetricStore } from '../../../../engine/metrics/store.js';
import { startServer, testStepCompiler, UNCALLED } from '../../../helpers.js';

describe('CookieJar', () => {
  it('stores, sends by host and path, replaces, expires and keeps Secure cookies off plain http', () => {
    const jar = new CookieJar();
    const now = 1_000_000;
    jar.store('a.test', '/login', ['sid=1; Path=/; HttpOnly', 'pref=dark', 'tok=x; Secure', 'api=k; Path=/api'], now);
    assert.equal(jar.header('a.test', false, '/home', now), 'sid=1; pref=dark');
    assert.equal(jar.header('a.test', true, '/api/v1', now), 'sid=1; pref=dark; tok=x; api=k');
    assert.equal(jar.header('a.test', false, '/apix', now), 'sid=1; pref=dark');
    assert.equal(jar.header('b.test', false, '/', now), undefined);
    jar.store('a.test', '/', 'sid=2; Max-Age=10', now);
    assert.equal(jar.header('a.test', false, '/', now), 'sid=2; pref=dark');
    jar.store('a.test', '/', 'pref=; Max-Age=0', now);
    assert.equal(jar.header('a.test', false, '/', now), 'sid=2', 'Max-Age=0 deletes');
    assert.equal(jar.header('a.test', false, '/', now + 11_000), undefined, 'Max-Age expired');
  });
});

describe('HTTP cookies per virtual user', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url === '/login') {
        res.writeHead(200, { 'set-cookie': [`sid=${req.headers['x-user']}; Path=/`] }).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
      }
    });
  });
  after(() => server.close());

  it('sends a user its own cookies back, and nobody else', async () => {
    const executor = createHttpExecutor();
    after(() => executor.close());
    const store = createMetricStore();
    const step = (id: number, request: HttpRequest): StepOf<HttpRequestPlan> => ({
      type: 'step', id, name: `s${id}`, kind: 'http', plugin: undefined, summary: '', tags: {}, condition: undefined,
      captures: [], timeoutMs: 2000, retry: undefined,
      expects: [], location: { file: 't', line: 1, col: 1 }, call: UNCALLED,
      request: compileHttpRequest(request, testStepCompiler()),
    });
    const setup = { plan: {} as never, store, tags: {}, target: server.url, defaultHeaders: {}, services: {} };
    const login = executor.create(step(1, { get: '/login', headers: { 'x-user': '{{vu}}' } }), setup);
    const me = executor.create(
      { ...step(2, { get: '/me' }), expects: [compileExpression('json.cookie != null')] },
      setup,
    );
    const user = (vu: number): VuContext => ({
      vu, iteration: 0, vars: { vu }, signal: new AbortController().signal, cookies: new CookieJar(),
    });
    const alice = user(1);
    const bob = user(2);
    assert.equal((await login.execute(alice, 2000)).response['status'], 200);
    const aliceMe = await me.execute(alice, 2000);
    const bobMe = await me.execute(bob, 2000);
    assert.deepEqual(aliceMe.response['json'], { cookie: 'sid=1' }, 'the server got alice\'s cookie');
    assert.deepEqual(bobMe.response['json'], { cookie: null }, 'bob never logged in: no cookie');
  });
});
