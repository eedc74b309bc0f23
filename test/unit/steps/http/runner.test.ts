// The HTTP executor against real node:http servers on port 0: requests arrive as written, timings mean what
// docs/http.md says, failures get the right error class, and metrics carry the right tags. Also the registry.

import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { Plan } from '../../../../engine/compile/plan.js';
import { selfSignedCertificate, testStepCompiler, UNCALLED } from '../../../helpers.js';
import { compileHttpRequest, type HttpRequestPlan } from '../../../../engine/steps/http/index.js';
import type { HttpRequest } from '../../../../engine/generated/scenario.js';
import { classifyError, createHttpExecutor, type HttpExecutorOptions } from '../../../../engine/steps/http/runner.js';
import type { Executor, StepOf, StepResult, VuContext } from '../../../../engine/steps/types.js';
import { compileExpression } from '../../../../engine/expr/index.js';
import { createMetricStore } from '../../../../engine/metrics/store.js';
import type { MetricHandle, MetricStore, MetricType, Tags } from '../../../../engine/metrics/types.js';

// ---------------------------------------------------------------- helpers


let nextId = 1;
function httpStep(
  request: Record<string, unknown>,
  options: { expects?: string[]; captures?: Record<string, string>; retryOn?: string } = {},
): StepOf<HttpRequestPlan> {
  const methods = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  const method = Object.keys(request).find((k) => methods.includes(k)) ?? 'get';
  return {
    type: 'step',
    id: nextId++,
    name: `step ${nextId}`,
    kind: 'http',
    plugin: undefined,
    summary: `${method.toUpperCase()} ${String(request[method])}`,
    request: compileHttpRequest(request as HttpRequest, testStepCompiler()),
    call: UNCALLED,
    tags: {},
    condition: undefined,
    expects: (options.expects ?? []).map((e) => compileExpression(e)),
    captures: Object.entries(options.captures ?? {}).map(([name, e]) => ({
      name,
      expression: compileExpression(e),
      required: false,
    })),
    timeoutMs: 5000,
    retry: options.retryOn === undefined
      ? undefined
      : { attempts: 1, backoffMs: 0, on: compileExpression(options.retryOn) },
    location: { file: 'test.yaml', line: 1, col: 1 },
  };
}

/** The real metric store, plus a log of every value recorded and every handle() call, to assert per request. */
interface RecordingStore extends MetricStore {
  records: { name: string; type: MetricType; tags: Tags; value: number }[];
  handleCalls: number;
  values(name: string, tags?: Record<string, string>): number[];
}

function recordingStore(): RecordingStore {
  const real = createMetricStore();
  const store: RecordingStore = {
    records: [],
    handleCalls: 0,
    handle(name, type, tags): MetricHandle {
      store.handleCalls++;
      const inner = real.handle(name, type, tags);
      return {
        record(value: number) {
          store.records.push({ name, type, tags, value });
          inner.record(value);
        },
      };
    },
    aggregate: (q) => real.aggregate(q),
    snapshot: () => real.snapshot(),
    sample: (kind, tags, message, detail) => real.sample(kind, tags, message, detail),
    values(name, tags = {}) {
      return store.records
        .filter((r) => r.name === name && Object.entries(tags).every(([k, v]) => r.tags[k] === v))
        .map((r) => r.value);
    },
  };
  return store;
}

interface Harness {
  executor: Executor<HttpRequestPlan>;
  store: RecordingStore;
  run(
    step: StepOf<HttpRequestPlan>,
    options?: { vars?: Record<string, unknown>; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<StepResult>;
}

const executors: Executor<HttpRequestPlan>[] = [];
function harness(
  setup: { target?: string; defaultHeaders?: Record<string, string>; options?: HttpExecutorOptions } = {},
): Harness {
  const executor = createHttpExecutor(setup.options);
  executors.push(executor);
  const store = recordingStore();
  return {
    executor,
    store,
    run(step, options = {}) {
      const runner = executor.create(step, {
        plan: {} as Plan,
        store,
        tags: { workload: 'default', step: step.name },
        target: setup.target,
        defaultHeaders: setup.defaultHeaders ?? {},
        services: {},
      });
      const ctx: VuContext = {
        vu: 1, iteration: 0, vars: options.vars ?? {}, signal: options.signal ?? new AbortController().signal,
      };
      return runner.execute(ctx, options.timeoutMs ?? 5000);
    },
  };
}

const servers: Server[] = [];
async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  server: Server = createServer(handler),
): Promise<{ url: string; server: Server; port: number }> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, port };
}

/** Answers with what it received: method, url, headers and body, as JSON. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-method': req.method ?? '' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const DECODE = { expects: ['status == 200', 'json.method != ""'] };

after(async () => {
  await Promise.all(executors.map((e) => e.close()));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
    s.closeAllConnections?.();
    s.close(() => resolve());
  })));
});

// ---------------------------------------------------------------- requests

describe('http executor: requests arrive as written', () => {
  let base = '';
  before(async () => {
    base = (await listen(echo)).url;
  });

  for (const method of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
    it(`sends ${method.toUpperCase()}`, async () => {
      const h = harness();
      const result = await h.run(httpStep({ [method]: `${base}/things/1` }, DECODE));
      assert.equal(result.ok, true);
      const echoed = result.response['json'] as Echoed;
      assert.equal(echoed.method, method.toUpperCase());
      assert.equal(echoed.url, '/things/1');
      assert.equal(
        h.store.values('http.reqs', { method: method.toUpperCase(), status: '200', status_class: '2xx' }).length,
        1,
      );
    });
  }

  it('sends HEAD (no body comes back)', async () => {
    const h = harness();
    const result = await h.run(httpStep({ head: `${base}/things/1` }, { expects: ['body == ""'] }));
    assert.equal(result.ok, true);
    assert.equal(result.response['status'], 200);
    assert.equal((result.response['header'] as Record<string, string>)['x-method'], 'HEAD');
    assert.equal(result.response['size'], 0);
  });

  it('keeps a HEAD request\'s connection alive: twenty HEADs and a GET on one connection', async () => {
    const sockets = new Set<Socket>();
    let connectionHeader = '';
    const { url, server } = await listen((req, res) => {
      connectionHeader = req.headers.connection ?? '';
      res.writeHead(200, { 'content-length': '12', 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'twelve bytes');
    });
    server.on('connection', (socket: Socket) => sockets.add(socket));
    const h = harness();
    for (let i = 0; i < 20; i++) assert.equal((await h.run(httpStep({ head: url }))).ok, true);
    assert.equal(connectionHeader, 'keep-alive');
    const get = await h.run(httpStep({ get: url }, { expects: ['body == "twelve bytes"'] }));
    assert.equal(get.ok, true);
    assert.equal(sockets.size, 1);
  });

  it('renders headers, query and a JSON body from templates', async () => {
    const h = harness();
    const step = httpStep(
      {
        post: `${base}/debates/{{debate}}/votes?keep=1`,
        headers: { 'X-User': '{{user}}', Accept: 'application/json' },
        query: { topic: '{{topic}}', page: 2, q: 'a b&c=d' },
        json: { user: '{{user}}', n: 3, tags: ['x', '{{topic}}'], nested: { ok: true } },
      },
      DECODE,
    );
    const result = await h.run(step, { vars: { debate: 42, user: 'u-7', topic: 'ai safety' } });
    const echoed = result.response['json'] as Echoed;
    assert.equal(echoed.url, '/debates/42/votes?keep=1&topic=ai+safety&page=2&q=a+b%26c%3Dd');
    assert.equal(echoed.headers['x-user'], 'u-7');
    assert.equal(echoed.headers['accept'], 'application/json');
    assert.equal(echoed.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(echoed.body), { user: 'u-7', n: 3, tags: ['x', 'ai safety'], nested: { ok: true } });
  });

  it('keeps the type of a value that is a whole JSON string placeholder, renders others as text', async () => {
    const h = harness();
    const step = httpStep({
      post: `${base}/typed`,
      json: {
        id: '{{ id }}', ids: ['{{id}}', 'n{{id}}'], flag: '{{flag}}', user: '{{user}}',
        missing: '{{nothing}}', text: '{{id}} ',
      },
    }, DECODE);
    const result = await h.run(step, { vars: { id: 7, flag: false, user: { name: 'ann' } } });
    assert.deepEqual(
      JSON.parse((result.response['json'] as Echoed).body),
      { id: 7, ids: [7, 'n7'], flag: false, user: { name: 'ann' }, missing: '', text: '7 ' },
    );
  });

  it('sends a form body url-encoded', async () => {
    const h = harness();
    const step = httpStep(
      { post: `${base}/login`, form: { user: '{{user}}', password: 'p&ss word', remember: true } },
      DECODE,
    );
    const result = await h.run(step, { vars: { user: 'ann' } });
    const echoed = result.response['json'] as Echoed;
    assert.equal(echoed.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(echoed.body, 'user=ann&password=p%26ss+word&remember=true');
  });

  it('sends a raw body as is, with the content type the step gives', async () => {
    const h = harness();
    const raw = '<vote user="{{user}}"/>\n  spaces kept ';
    const step = httpStep({ put: `${base}/raw`, headers: { 'Content-Type': 'application/xml' }, body: raw }, DECODE);
    const result = await h.run(step, { vars: { user: 'bo' } });
    const echoed = result.response['json'] as Echoed;
    assert.equal(echoed.body, '<vote user="bo"/>\n  spaces kept ');
    assert.equal(echoed.headers['content-type'], 'application/xml');
  });

  it('keeps a content type the step sets for a JSON body', async () => {
    const h = harness();
    const result = await h.run(httpStep(
      { post: `${base}/x`, headers: { 'content-type': 'application/vnd.api+json' }, json: { a: 1 } },
      DECODE,
    ));
    assert.equal((result.response['json'] as Echoed).headers['content-type'], 'application/vnd.api+json');
  });

  it('resolves relative URLs against the target, keeping its path', async () => {
    const h = harness({ target: `${base}/api/` });
    const result = await h.run(httpStep({ get: '/debates?topic={{topic}}' }, DECODE), { vars: { topic: 'economy' } });
    assert.equal((result.response['json'] as Echoed).url, '/api/debates?topic=economy');
    const bare = harness({ target: base });
    const second = await bare.run(httpStep({ get: 'health' }, DECODE));
    assert.equal((second.response['json'] as Echoed).url, '/health');
  });

  it('ignores the target for an absolute URL', async () => {
    const h = harness({ target: 'http://127.0.0.1:1/elsewhere' });
    const result = await h.run(httpStep({ get: `${base}/abs` }, DECODE));
    assert.equal((result.response['json'] as Echoed).url, '/abs');
  });

  it('a relative URL without a target fails with class other, nothing sent', async () => {
    const h = harness();
    const result = await h.run(httpStep({ get: '/nowhere' }));
    assert.equal(result.ok, false);
    assert.equal(result.error?.class, 'other');
    assert.equal(h.store.records.length, 0);
  });

  it('a header value that cannot be sent fails with class other, nothing recorded', async () => {
    const h = harness();
    for (const value of ['a\r\nb', 'nul\0', 'euro €']) {
      const result = await h.run(
        httpStep({ get: `${base}/h`, headers: { 'x-bad': '{{value}}' } }),
        { vars: { value } },
      );
      assert.equal(result.error?.class, 'other', JSON.stringify(value));
    }
    const fixed = await h.run(httpStep({ get: `${base}/h`, headers: { 'x-bad': 'line\nbreak' } }));
    assert.equal(fixed.error?.class, 'other');
    const badName = await h.run(httpStep({ get: `${base}/h`, headers: { 'bad name': 'x' } }));
    assert.equal(badName.error?.class, 'other');
    assert.equal(h.store.records.length, 0);
  });

  it('sets host from the URL unless the step sets its own, and frames the body itself', async () => {
    const h = harness();
    const own = await h.run(httpStep({ get: `${base}/h`, headers: { host: 'api.example.test' } }, DECODE));
    assert.equal((own.response['json'] as Echoed).headers['host'], 'api.example.test');
    const framed = await h.run(httpStep(
      { post: `${base}/h`, headers: { 'content-length': '999', 'transfer-encoding': 'chunked' }, body: 'four' },
      DECODE,
    ));
    const echoed = framed.response['json'] as Echoed;
    assert.equal(echoed.headers['content-length'], '4');
    assert.equal(echoed.headers['transfer-encoding'], undefined);
    assert.equal(echoed.body, 'four');
    assert.equal(echoed.headers['host'], base.replace('http://', ''));
  });

  it('a POST, PUT or PATCH without a body says content-length: 0; a GET says nothing', async () => {
    const h = harness();
    const post = await h.run(httpStep({ post: `${base}/empty` }, DECODE));
    assert.equal((post.response['json'] as Echoed).headers['content-length'], '0');
    const get = await h.run(httpStep({ get: `${base}/empty` }, DECODE));
    assert.equal((get.response['json'] as Echoed).headers['content-length'], undefined);
  });

  it('sends default headers, and a step header overrides one of the same name in any case', async () => {
    const h = harness({ defaultHeaders: { 'User-Agent': 'perfy-test', Authorization: 'Bearer default' } });
    const result = await h.run(
      httpStep({ get: `${base}/h`, headers: { authorization: 'Bearer {{token}}' } }, DECODE),
      { vars: { token: 't1' } },
    );
    const echoed = result.response['json'] as Echoed;
    assert.equal(echoed.headers['user-agent'], 'perfy-test');
    assert.equal(echoed.headers['authorization'], 'Bearer t1');
  });

  it('returns headers as a plain object with lower-case names, multiple values joined', async () => {
    const { url } = await listen((_req, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('X-Rate-Limit-Remaining', '41');
      res.end('ok');
    });
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    const header = result.response['header'] as Record<string, string>;
    assert.equal(header['set-cookie'], 'a=1, b=2');
    assert.equal(header['x-rate-limit-remaining'], '41');
  });

  it('does not follow redirects: a 3xx comes back as is, ok', async () => {
    let hits = 0;
    const { url } = await listen((req, res) => {
      hits++;
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const h = harness();
    const result = await h.run(httpStep({ get: `${url}/old` }));
    assert.equal(result.ok, true);
    assert.equal(result.response['status'], 302);
    assert.equal((result.response['header'] as Record<string, string>)['location'], '/elsewhere');
    assert.equal(hits, 1);
    assert.equal(h.store.values('http.reqs', { status: '302', status_class: '3xx' }).length, 1);
  });
});

// ---------------------------------------------------------------- bodies

describe('http executor: the body is decoded only when an expression reads it', () => {
  let url = '';
  before(async () => {
    url = (await listen((req, res) => {
      if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify({ items: [{ id: 'z' }] })));
      } else if (req.url === '/text-json') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('{"n": 5}');
      } else if (req.url === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<p>hi</p>');
      } else {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ items: [{ id: 'a1' }, { id: 'b2' }], name: 'débat' }));
      }
    })).url;
  });

  it('leaves body and json undefined when nothing reads them, but counts the size', async () => {
    const h = harness();
    const result = await h.run(httpStep(
      { get: url },
      { expects: ['status == 200', 'size > 10', 'header["content-type"] matches "json"'] },
    ));
    assert.equal(result.ok, true);
    assert.equal(result.response['body'], undefined);
    assert.equal(result.response['json'], undefined);
    assert.equal(
      result.response['size'],
      Buffer.byteLength(JSON.stringify({ items: [{ id: 'a1' }, { id: 'b2' }], name: 'débat' })),
    );
  });

  it('parses json when an expect reads it', async () => {
    const h = harness();
    const result = await h.run(httpStep({ get: url }, { expects: ['json.items.length > 0'] }));
    assert.deepEqual(result.response['json'], { items: [{ id: 'a1' }, { id: 'b2' }], name: 'débat' });
    assert.equal(typeof result.response['body'], 'string');
  });

  it('decodes when a capture reads body, or retry.on reads json', async () => {
    const h = harness();
    const captured = await h.run(httpStep({ get: url }, { captures: { raw: 'body' } }));
    assert.match(captured.response['body'] as string, /débat/);
    const retried = await h.run(httpStep({ get: url }, { retryOn: 'json.name == "x"' }));
    assert.equal((retried.response['json'] as { name: string }).name, 'débat');
  });

  it('parses a JSON body whatever the content type says, and leaves json undefined for HTML', async () => {
    const h = harness();
    const plain = await h.run(httpStep({ get: `${url}/text-json` }, DECODE));
    assert.deepEqual(plain.response['json'], { n: 5 });
    const html = await h.run(httpStep({ get: `${url}/html` }, DECODE));
    assert.equal(html.response['json'], undefined);
    assert.equal(html.response['body'], '<p>hi</p>');
  });

  it('decompresses a gzip body it has to read', async () => {
    const h = harness();
    const result = await h.run(httpStep({ get: `${url}/gzip` }, { expects: ['json.items[0].id == "z"'] }));
    assert.deepEqual(result.response['json'], { items: [{ id: 'z' }] });
  });
});

describe('http executor: bodies decoded as fetch decodes them', () => {
  const text = JSON.stringify({ items: [{ id: 'é1' }], note: 'x'.repeat(300) });
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  const gzipped = gzipSync(text);
  /** path → status, headers and the bytes sent */
  const answers: Record<string, [number, Record<string, string>, Buffer]> = {
    '/gzip-204': [204, { 'content-encoding': 'gzip' }, Buffer.alloc(0)],
    '/gzip-304': [304, { 'content-encoding': 'gzip' }, Buffer.alloc(0)],
    '/gzip-empty': [200, { 'content-encoding': 'gzip', 'content-length': '0' }, Buffer.alloc(0)],
    '/br-empty': [200, { 'content-encoding': 'br', 'content-length': '0' }, Buffer.alloc(0)],
    '/deflate-zlib': [200, { 'content-encoding': 'deflate' }, deflateSync(text)],
    '/deflate-raw': [200, { 'content-encoding': 'deflate' }, deflateRawSync(text)],
    '/gzip-br': [200, { 'content-encoding': 'gzip, br' }, brotliCompressSync(gzipped)],
    '/GZIP': [200, { 'content-encoding': ' GZIP ' }, gzipped],
    '/unknown': [200, { 'content-encoding': 'compress' }, Buffer.from(text)],
    '/gzip-unknown': [200, { 'content-encoding': 'gzip, x-custom' }, Buffer.from(text)],
    '/bom': [200, { 'content-type': 'application/json' }, bom],
    '/bom-gzip': [200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(bom)],
    '/truncated': [200, { 'content-encoding': 'gzip' }, gzipped.subarray(0, gzipped.length - 8)],
    '/corrupt': [200, { 'content-encoding': 'gzip' }, Buffer.from('not gzip at all')],
    '/six': [
      200,
      { 'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip' },
      [1, 2, 3, 4, 5, 6].reduce((b) => gzipSync(b), Buffer.from(text)),
    ],
    '/five': [
      200,
      { 'content-encoding': 'gzip, gzip, gzip, gzip, gzip' },
      [1, 2, 3, 4, 5].reduce((b) => gzipSync(b), Buffer.from(text)),
    ],
  };
  let url = '';
  before(async () => {
    url = (await listen((req, res) => {
      const [status, headers, body] = answers[req.url ?? '']!;
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' || status === 204 || status === 304 ? undefined : body);
    })).url;
  });

  for (const path of ['/gzip-204', '/gzip-304', '/gzip-empty', '/br-empty']) {
    it(`nothing to decode is no error: ${path.slice(1)}, read by an expect`, async () => {
      const h = harness();
      const result = await h.run(httpStep({ get: `${url}${path}` }, { expects: ['body == ""', 'json == null'] }));
      assert.equal(result.ok, true, result.error?.message);
      assert.equal(result.response['body'], '');
    });
  }

  it('nothing to decode is no error: HEAD of a gzip resource', async () => {
    const h = harness();
    const result = await h.run(httpStep({ head: `${url}/deflate-zlib` }, { expects: ['body == ""'] }));
    assert.equal(result.ok, true, result.error?.message);
  });

  for (const path of ['/deflate-zlib', '/deflate-raw', '/gzip-br', '/GZIP', '/bom', '/bom-gzip', '/five']) {
    it(`decodes ${path.slice(1)}: body is the text, json parses`, async () => {
      const h = harness();
      const result = await h.run(httpStep({ get: `${url}${path}` }, { expects: ['json.items[0].id == "é1"'] }));
      assert.equal(result.ok, true, result.error?.message);
      assert.equal(result.response['body'], text);
    });
  }

  it('a list with a coding it does not know is passed through as received, as fetch does', async () => {
    const h = harness();
    for (const path of ['/unknown', '/gzip-unknown']) {
      const result = await h.run(httpStep({ get: `${url}${path}` }, { expects: ['json.items[0].id == "é1"'] }));
      assert.equal(result.ok, true, `${path}: ${result.error?.message}`);
    }
  });

  it('a gzip stream cut short gives what it holds', async () => {
    const h = harness();
    const result = await h.run(httpStep({ get: `${url}/truncated` }, { expects: ['body != ""'] }));
    assert.equal(result.ok, true, result.error?.message);
    assert.ok(text.startsWith(result.response['body'] as string));
  });

  it('data that is not what its coding says, or six codings, fails with class protocol', async () => {
    const h = harness();
    for (const path of ['/corrupt', '/six']) {
      const result = await h.run(httpStep({ get: `${url}${path}` }, { expects: ['body != ""'] }));
      assert.equal(result.error?.class, 'protocol', path);
    }
  });

  it('agrees with fetch on every answer', async () => {
    const h = harness();
    for (const path of Object.keys(answers).filter((p) => !['/corrupt', '/six'].includes(p))) {
      const result = await h.run(httpStep({ get: `${url}${path}` }, { expects: ['body == body'] }));
      const fetched = await (await fetch(`${url}${path}`)).text();
      assert.equal(result.response['body'], fetched, path);
    }
  });
});

// ---------------------------------------------------------------- timings

describe('http executor: timings', () => {
  it('connect > 0 on the first request of a new connection, 0 on a reused one', async () => {
    const sockets = new Set<Socket>();
    const { url, server } = await listen(echo);
    server.on('connection', (s: Socket) => sockets.add(s));
    const h = harness();
    const step = httpStep({ get: `${url}/a` });
    for (let i = 0; i < 3; i++) assert.equal((await h.run(step)).ok, true);
    const connects = h.store.values('http.connect');
    assert.equal(connects.length, 3);
    assert.ok(connects[0]! > 0, `first connect ${connects[0]} > 0`);
    assert.deepEqual(connects.slice(1), [0, 0]);
    assert.equal(sockets.size, 1, 'one keep-alive connection served all three');
  });

  /**
   * Three GETs in a row against a raw server that closes the connection under the second request of the run, as
   * its idle timeout firing just as the request went out would; resolves to the results and what the server saw.
   */
  async function threeGetsSecondClosed(
    h: Harness,
  ): Promise<{ results: StepResult[]; requests: number; connections: number }> {
    const { createServer: createTcpServer } = await import('node:net');
    let requests = 0;
    const connections: Socket[] = [];
    const tcp = createTcpServer((socket) => {
      connections.push(socket);
      socket.on('error', () => undefined);
      socket.on('data', () => {
        if (requests++ === 1) socket.destroy();
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const { port } = tcp.address() as AddressInfo;
    const step = httpStep({ get: `http://127.0.0.1:${port}/` });
    const results = [await h.run(step), await h.run(step), await h.run(step)];
    for (const socket of connections) socket.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    return { results, requests, connections: connections.length };
  }

  it('a kept-alive connection the server closes as a request arrives: sent again, no error', async () => {
    const h = harness();
    const { results, requests, connections } = await threeGetsSecondClosed(h);
    assert.ok(results.every((r) => r.ok), results.map((r) => r.error?.message).join(', '));
    assert.equal(connections, 2);
    // Four requests went out, as the server counted: the lost one is a sent request that failed, and a resend.
    assert.equal(requests, 4);
    assert.equal(h.store.values('http.reqs').length, 4);
    assert.deepEqual(h.store.values('http.reqs', { status: 'reset', status_class: 'error', method: 'GET' }), [1]);
    assert.deepEqual(h.store.values('http.retries', { status: 'reset', method: 'GET' }), [1]);
    assert.deepEqual(h.store.values('http.errors'), [0, 1, 0, 0]);
    const connects = h.store.values('http.connect', { status: '200' });
    assert.ok(
      connects[0]! > 0 && connects[1]! > 0 && connects[2] === 0,
      `connect paid by the first and the resent request: ${connects.join(', ')}`,
    );
    assert.deepEqual(
      h.store.values('http.connect', { status: 'reset' }),
      [0],
      'the lost attempt went out on the kept-alive connection',
    );
  });

  it('defaults.resend_on_reset false: the close is the step\'s failure, nothing is sent again', async () => {
    const h = harness({ options: { resendOnReset: false } });
    const { results, requests } = await threeGetsSecondClosed(h);
    assert.deepEqual(results.map((r) => r.ok), [true, false, true]);
    assert.equal(results[1]!.error?.class, 'reset');
    assert.equal(requests, 3);
    assert.equal(h.store.values('http.reqs').length, 3);
    assert.deepEqual(h.store.values('http.retries'), []);
  });

  it('a connection closed by the server is reopened, and that request pays connect again', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { connection: 'close' });
      res.end('bye');
    });
    const h = harness();
    const step = httpStep({ get: url });
    await h.run(step);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.run(step);
    const connects = h.store.values('http.connect');
    assert.ok(connects[0]! > 0 && connects[1]! > 0, `both paid connect: ${connects.join(', ')}`);
  });

  it('attributes connect time to the request that opened each connection, under concurrency', async () => {
    const sockets = new Set<Socket>();
    const { url, server } = await listen((req, res) => setTimeout(() => echo(req, res), 20));
    server.on('connection', (s: Socket) => sockets.add(s));
    const h = harness({ options: { connectionsPerOrigin: 3 } });
    const step = httpStep({ get: url });
    const results = await Promise.all(Array.from({ length: 12 }, () => h.run(step)));
    assert.ok(results.every((r) => r.ok));
    assert.ok(sockets.size <= 3, `at most 3 connections, got ${sockets.size}`);
    const connects = h.store.values('http.connect');
    assert.equal(connects.length, 12);
    assert.equal(connects.filter((c) => c > 0).length, sockets.size, 'one non-zero connect per connection opened');
  });

  it('ttfb <= duration, and duration is the response field', async () => {
    const { url } = await listen(echo);
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    const [ttfb] = h.store.values('http.ttfb');
    const [duration] = h.store.values('http.duration');
    assert.ok(ttfb !== undefined && duration !== undefined);
    assert.ok(ttfb > 0 && ttfb <= duration, `ttfb ${ttfb} <= duration ${duration}`);
    assert.equal(result.response['duration'], duration);
  });

  it('a body sent late shows as duration - ttfb of about the delay', async () => {
    const DELAY = 150;
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      res.write('first part ');
      setTimeout(() => res.end('second part'), DELAY);
    });
    const h = harness();
    const result = await h.run(httpStep({ get: url }, { expects: ['body matches "second"'] }));
    assert.equal(result.ok, true);
    const [ttfb] = h.store.values('http.ttfb');
    const [duration] = h.store.values('http.duration');
    const gap = duration! - ttfb!;
    assert.ok(gap >= DELAY - 10 && gap < DELAY + 150, `duration - ttfb = ${gap.toFixed(1)} ms, about ${DELAY}`);
    assert.ok(ttfb! < 100, `ttfb ${ttfb} excludes the body delay`);
  });

  it('counts bytes in and out on the wire, and the body size', async () => {
    const body = 'x'.repeat(1000);
    const { url } = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.end(body));
    });
    const h = harness();
    const sent = 'y'.repeat(500);
    const result = await h.run(httpStep({ post: url, body: sent }));
    assert.equal(result.response['size'], 1000);
    const [bytesIn] = h.store.values('http.bytes_in');
    const [bytesOut] = h.store.values('http.bytes_out');
    assert.ok(bytesIn! > 1000 && bytesIn! < 1300, `bytes in ${bytesIn}: body and response head`);
    assert.ok(bytesOut! > 500 && bytesOut! < 800, `bytes out ${bytesOut}: body and request head`);
  });
});

// ---------------------------------------------------------------- failures

describe('http executor: error classes', () => {
  it('refused: nothing listens on the port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const h = harness();
    const result = await h.run(httpStep({ get: `http://127.0.0.1:${port}/` }));
    assert.equal(result.ok, false);
    assert.equal(result.error?.class, 'refused');
    assert.equal(result.response['status'], 0);
    assert.deepEqual(h.store.values('http.errors', { status: 'refused', status_class: 'error', method: 'GET' }), [1]);
    assert.deepEqual(
      h.store.values('http.unsent', { status: 'refused', status_class: 'error', method: 'GET' }),
      [1],
      'never sent: counted apart',
    );
    assert.deepEqual(h.store.values('http.reqs'), [], 'not a request the server could have seen');
    assert.equal(h.store.values('http.connect').length, 0, 'no connection, no connect sample');
    assert.equal(h.store.values('http.ttfb').length, 0);
  });

  it('reset: the server destroys the socket mid-request', async () => {
    const { url } = await listen((req) => req.socket.destroy());
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    assert.equal(result.error?.class, 'reset');
    assert.deepEqual(h.store.values('http.errors', { status: 'reset', status_class: 'error' }), [1]);
  });

  it('reset: the server closes the connection in the middle of the body', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only a part');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    assert.equal(result.ok, false);
    assert.equal(result.error?.class, 'reset');
  });

  it('timeout: the server never answers within timeoutMs', async () => {
    const { url } = await listen(() => undefined);
    const h = harness();
    const started = performance.now();
    const result = await h.run(httpStep({ get: url }), { timeoutMs: 200 });
    const elapsed = performance.now() - started;
    assert.equal(result.error?.class, 'timeout');
    assert.ok(elapsed >= 195 && elapsed < 1000, `gave up after ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(h.store.values('http.errors', { status: 'timeout', status_class: 'error' }), [1]);
    // From the send to the timeout: the step's 200 ms less the connect, which a busy machine can stretch.
    const [duration] = h.store.values('http.duration');
    assert.ok(duration! >= 100 && duration! <= elapsed, `duration ${duration}, elapsed ${elapsed}`);
  });

  it('timeout: requests that time out waiting for a connection were never sent, and are counted apart', async () => {
    let received = 0;
    const { url } = await listen((_req, res) => {
      received++;
      setTimeout(() => res.end('late'), 400);
    });
    const h = harness({ options: { connectionsPerOrigin: 1 } });
    const step = httpStep({ get: url });
    const results = await Promise.all(Array.from({ length: 6 }, () => h.run(step, { timeoutMs: 150 })));
    assert.ok(results.every((r) => r.error?.class === 'timeout'));
    assert.equal(received, 1, 'one request reached the server');
    assert.deepEqual(
      h.store.values('http.reqs', { status: 'timeout' }),
      [1],
      'http.reqs counts what the server can have seen',
    );
    assert.deepEqual(h.store.values('http.unsent', { status: 'timeout', status_class: 'error' }), [1, 1, 1, 1, 1]);
    assert.equal(h.store.values('http.errors').filter((x) => x === 1).length, 6, 'every attempt failed');
  });

  it('timeout: requests with one timeout, started apart, each time out after their own timeout', async () => {
    // One timer serves the requests in flight with the same timeout: the second must not expire with the first,
    // and one that is answered in time must not expire at all.
    const { url } = await listen((req, res) => {
      if (req.url === '/fast') res.end('ok');
    });
    const h = harness();
    const started = performance.now();
    const first = h.run(httpStep({ get: `${url}/slow` }), { timeoutMs: 300 })
      .then((r) => ({ r, at: performance.now() - started }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = h.run(httpStep({ get: `${url}/slow` }), { timeoutMs: 300 })
      .then((r) => ({ r, at: performance.now() - started }));
    const fast = await h.run(httpStep({ get: `${url}/fast` }), { timeoutMs: 300 });
    assert.equal(fast.ok, true);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.r.error?.class, 'timeout');
    assert.equal(b.r.error?.class, 'timeout');
    assert.ok(a.at >= 295 && a.at < 440, `the first gave up after ${a.at.toFixed(0)} ms`);
    assert.ok(b.at >= 445 && b.at < 900, `the second gave up after ${b.at.toFixed(0)} ms`);
  });

  it('http: a 500 fails with the response filled in', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"boom"}');
    });
    const h = harness();
    const result = await h.run(httpStep({ get: url }, { expects: ['json.error == "boom"'] }));
    assert.equal(result.ok, false);
    assert.equal(result.error?.class, 'http');
    assert.equal(result.response['status'], 500);
    assert.equal(result.response['ok'], false);
    assert.deepEqual(result.response['json'], { error: 'boom' });
    assert.equal(result.response['size'], 16);
    assert.deepEqual(h.store.values('http.errors', { status: '500', status_class: '5xx' }), [1]);
    assert.equal(h.store.values('http.ttfb', { status: '500' }).length, 1);
  });

  it('http: a 404 is a failure too, a 201 is not', async () => {
    const { url } = await listen((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 201);
      res.end();
    });
    const h = harness();
    assert.equal((await h.run(httpStep({ get: `${url}/missing` }))).error?.class, 'http');
    assert.equal((await h.run(httpStep({ post: `${url}/made` }))).ok, true);
    assert.deepEqual(h.store.values('http.errors', { status_class: '4xx' }), [1]);
    assert.deepEqual(h.store.values('http.errors', { status_class: '2xx' }), [0]);
  });

  it('dns: a name under .invalid does not resolve', async (t) => {
    const name = 'perfy-test.invalid';
    const resolvedQuickly = await Promise.race([
      lookup(name).then(() => 'resolved', () => 'failed'),
      new Promise<string>((resolve) => setTimeout(resolve, 2000, 'hung').unref()),
    ]);
    if (resolvedQuickly !== 'failed') {
      t.skip(`name resolution of ${name} ${resolvedQuickly === 'hung' ? 'hangs' : 'succeeds'} in this environment`);
      return;
    }
    const h = harness();
    const result = await h.run(httpStep({ get: `http://${name}/` }));
    assert.equal(result.error?.class, 'dns');
    assert.deepEqual(h.store.values('http.errors', { status: 'dns' }), [1]);
  });

  it('protocol: a response head over 64 KiB', async () => {
    const { url } = await listen((_req, res) => {
      res.setHeader('x-big', 'a'.repeat(70 * 1024));
      res.end('ok');
    });
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    assert.equal(result.error?.class, 'protocol');
    assert.match(result.error?.message ?? '', /HPE_HEADER_OVERFLOW/);
  });

  it('protocol: a response that is not HTTP', async () => {
    const { createServer: createTcpServer } = await import('node:net');
    const accepted: Socket[] = [];
    const tcp = createTcpServer((socket) => {
      accepted.push(socket);
      socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n');
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const { port } = tcp.address() as AddressInfo;
    const h = harness();
    const result = await h.run(httpStep({ get: `http://127.0.0.1:${port}/` }));
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    assert.equal(result.error?.class, 'protocol');
  });

  it('aborted: the run signal stops a request in flight, and nothing is recorded', async () => {
    const { url } = await listen(() => undefined);
    const h = harness();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const result = await h.run(httpStep({ get: url }), { signal: controller.signal, timeoutMs: 5000 });
    assert.equal(result.error?.class, 'aborted');
    assert.ok(performance.now() - started < 1000);
    assert.equal(h.store.records.length, 0);
    const already = await h.run(httpStep({ get: url }), { signal: controller.signal });
    assert.equal(already.error?.class, 'aborted');
  });

  it('classifies error codes', () => {
    const err = (code: string): Error => Object.assign(new Error(code), { code });
    const cases: [Error, string][] = [
      [err('ECONNREFUSED'), 'refused'],
      [Object.assign(new AggregateError([err('ECONNREFUSED'), err('ECONNREFUSED')], ''), {}), 'refused'],
      [err('ECONNRESET'), 'reset'],
      [err('UND_ERR_SOCKET'), 'reset'],
      [err('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
      [err('UND_ERR_BODY_TIMEOUT'), 'timeout'],
      [err('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
      [err('ENOTFOUND'), 'dns'],
      [err('EAI_AGAIN'), 'dns'],
      [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
      [err('CERT_HAS_EXPIRED'), 'tls'],
      [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
      [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
      [err('EPROTO'), 'tls'],
      [err('HPE_INVALID_CONSTANT'), 'protocol'],
      [err('HPE_HEADER_OVERFLOW'), 'protocol'],
      [err('HTTP_SOCKET_CLOSED'), 'reset'],
      [err('HTTP_CONNECT_TIMEOUT'), 'timeout'],
      [err('HTTP_POOL_CLOSED'), 'other'],
      [err('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'protocol'],
      [err('UND_ERR_INVALID_ARG'), 'other'],
      [
        Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' }),
        'protocol',
      ],
      [new Error('no code'), 'other'],
    ];
    for (const [error, expected] of cases) {
      assert.equal(classifyError(error), expected, String((error as { code?: string }).code));
    }
  });
});

// ---------------------------------------------------------------- TLS

describe('http executor: TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perfy-tls-'));
  const skip = selfSignedCertificate(dir, '/CN=127.0.0.1', 'IP:127.0.0.1');
  let url = '';
  let cert = '';
  before(async () => {
    if (skip !== false) return;
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, echo);
    url = (await listen(echo, server)).url.replace('http:', 'https:');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tls: a self-signed certificate fails verification by default', { skip }, async () => {
    const h = harness();
    const result = await h.run(httpStep({ get: url }));
    assert.equal(result.error?.class, 'tls');
  });

  it('trusts the certificate given as ca, and connect includes the handshake', { skip }, async () => {
    const h = harness({ options: { tls: { ca: cert } } });
    const step = httpStep({ get: url }, DECODE);
    assert.equal((await h.run(step)).ok, true);
    assert.equal((await h.run(step)).ok, true);
    const connects = h.store.values('http.connect');
    assert.ok(connects[0]! > 0);
    assert.equal(connects[1], 0);
  });

  it('rejectUnauthorized: false accepts it', { skip }, async () => {
    const h = harness({ options: { tls: { rejectUnauthorized: false } } });
    assert.equal((await h.run(httpStep({ get: url }))).ok, true);
  });
});

// ---------------------------------------------------------------- metrics and pooling

describe('http executor: metrics and pooling', () => {
  it('tags every metric with the setup tags, method, status and status class', async () => {
    const { url } = await listen(echo);
    const h = harness();
    await h.run(httpStep({ post: url, json: { a: 1 } }));
    const names = new Set(h.store.records.map((r) => r.name));
    assert.deepEqual(
      [...names].sort(),
      ['http.bytes_in', 'http.bytes_out', 'http.connect', 'http.duration', 'http.errors', 'http.reqs', 'http.ttfb'],
    );
    for (const r of h.store.records) {
      assert.equal(r.tags['workload'], 'default');
      assert.equal(r.tags['method'], 'POST');
      assert.equal(r.tags['status'], '200');
      assert.equal(r.tags['status_class'], '2xx');
    }
    const snapshot = h.store.snapshot();
    assert.equal(snapshot.metrics.find((m) => m.name === 'http.reqs')?.sum, 1);
  });

  it('obtains handles once per status, not per request', async () => {
    const { url } = await listen((req, res) => {
      res.writeHead(req.url === '/bad' ? 400 : 200);
      res.end();
    });
    const h = harness();
    const executor = h.executor;
    const runner = executor.create(httpStep({ get: `${url}{{path}}` }), {
      plan: {} as Plan, store: h.store, tags: {}, target: undefined, defaultHeaders: {}, services: {},
    });
    const signal = new AbortController().signal;
    for (const path of ['/ok', '/ok', '/bad', '/ok', '/bad']) {
      await runner.execute({ vu: 1, iteration: 0, vars: { path }, signal }, 5000);
    }
    assert.equal(h.store.handleCalls, 14, '7 handles for 200 and 7 for 400');
    assert.equal(h.store.values('http.reqs').length, 5);
  });

  it('shares one pool per origin across steps, with at most connectionsPerOrigin connections', async () => {
    const sockets = new Set<Socket>();
    const { url, server } = await listen((req, res) => setTimeout(() => echo(req, res), 10));
    server.on('connection', (s: Socket) => sockets.add(s));
    const h = harness({ options: { connectionsPerOrigin: 2 } });
    const a = httpStep({ get: `${url}/a` });
    const b = httpStep({ post: `${url}/b`, json: { x: 1 } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.run(i % 2 === 0 ? a : b)));
    assert.ok(results.every((r) => r.ok));
    assert.equal(sockets.size, 2);
  });

  it('close() releases the connections, and the executor can be used again', async () => {
    const { url } = await listen(echo);
    const h = harness();
    const step = httpStep({ get: url });
    assert.equal((await h.run(step)).ok, true);
    await h.executor.close();
    assert.equal((await h.run(step)).ok, true);
  });

  it('rejects a connectionsPerOrigin that is not a positive integer', () => {
    assert.throws(() => createHttpExecutor({ connectionsPerOrigin: 0 }), RangeError);
  });
});
