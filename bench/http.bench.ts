// Requests per second of the HTTP executor against a local keep-alive node:http server, next to raw
// undici.request on the same server in the same run (the baseline): the ratio is what perfy's own work costs.
//
// The harness (bench/run.ts) calls run() synchronously, and this bench is asynchronous I/O, so run() starts
// this same file as a child process, which does the measuring and prints the results as JSON. The server runs
// in a worker thread of that child, so it has its own event loop and does not compete with the client's.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Pool, request } from 'undici';
import type { Plan } from '../engine/compile/plan.js';
import { compileTemplate } from '../engine/compile/template.js';
import type { HttpRequestPlan } from '../engine/steps/http/index.js';
import type { StepCall, StepOf } from '../engine/steps/types.js';

const UNCALLED: StepCall = () => {
  throw new Error('handed to its executor directly');
};
import { createHttpExecutor, DEFAULT_CONNECTIONS_PER_ORIGIN } from '../engine/steps/http/runner.js';
import type { VuContext } from '../engine/steps/types.js';
import { compileExpression } from '../engine/expr/index.js';
import { createMetricStore } from '../engine/metrics/store.js';
import type { BenchResult } from './run.js';

export const name = 'http executor (engine/executors/http) vs raw undici.request';

const CHILD_FLAG = '--http-bench-child';
const CONCURRENCY = 50;
const ROUNDS = 5;
const ROUND_MS = 400;
const WARMUP_MS = 300;

const SERVER_CODE = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const body = JSON.stringify({ items: [{ id: 'a1', title: 'first' }, { id: 'b2', title: 'second' }] });
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

interface Variant {
  name: string;
  /** sends one request and waits for its whole body */
  once(): Promise<unknown>;
}

interface Measured {
  name: string;
  rounds: number[];
  requests: number;
}

/** Runs `concurrency` loops of `once` for `ms`; returns the requests completed. */
async function loops(once: () => Promise<unknown>, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await once();
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return done;
}

function httpStep(url: string, expect: string): StepOf<HttpRequestPlan> {
  return {
    type: 'step', id: 1, name: 'bench', kind: 'http', plugin: undefined, summary: `GET ${url}`,
    request: { method: 'GET', url: compileTemplate(url), query: [], headers: [], body: undefined },
    call: UNCALLED, tags: {}, condition: undefined,
    expects: [compileExpression(expect)], captures: [], timeoutMs: 30_000, retry: undefined,
    location: { file: 'bench', line: 1, col: 1 },
  };
}

async function child(): Promise<void> {
  const server = new Worker(SERVER_CODE, { eval: true });
  const port = await new Promise<number>((resolve) => server.once('message', resolve));
  const url = `http://127.0.0.1:${port}/items`;

  const executor = createHttpExecutor();
  const store = createMetricStore();
  const signal = new AbortController().signal;
  const setup = {
    plan: {} as Plan,
    store,
    tags: { workload: 'bench', step: 'bench' },
    target: undefined,
    defaultHeaders: {},
    services: {},
  };
  const statusRunner = executor.create(httpStep(url, 'status == 200'), setup);
  const jsonRunner = executor.create(httpStep(url, 'json.items.length > 0'), setup);
  const contexts: VuContext[] = Array.from({ length: CONCURRENCY }, (_, i) => ({
    vu: i + 1,
    iteration: 0,
    vars: {},
    signal,
  }));
  let next = 0;
  const context = (): VuContext => contexts[next++ % CONCURRENCY]!;

  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: DEFAULT_CONNECTIONS_PER_ORIGIN });
  const check = (ok: boolean): void => {
    if (!ok) throw new Error('a bench request failed');
  };

  const variants: Variant[] = [
    {
      name: 'baseline: undici.request + body.dump()',
      once: async () => {
        const res = await request(url, { dispatcher: pool });
        await res.body.dump();
        check(res.statusCode === 200);
      },
    },
    {
      name: 'executor, body not read (expect status == 200)',
      once: async () => check((await statusRunner.execute(context(), 30_000)).ok),
    },
    {
      name: 'baseline: undici.request + body.json()',
      once: async () => {
        const res = await request(url, { dispatcher: pool });
        const json = (await res.body.json()) as { items: unknown[] };
        check(json.items.length > 0);
      },
    },
    {
      name: 'executor, json read (expect json.items.length > 0)',
      once: async () => check((await jsonRunner.execute(context(), 30_000)).ok),
    },
  ];

  for (const v of variants) await loops(v.once, WARMUP_MS);
  const measured: Measured[] = variants.map((v) => ({ name: v.name, rounds: [], requests: 0 }));
  // Interleaved rounds: a slow moment of the machine hits every variant alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      const started = performance.now();
      const done = await loops(v.once, ROUND_MS);
      const elapsedNs = (performance.now() - started) * 1e6;
      measured[i]!.rounds.push(elapsedNs / done);
      measured[i]!.requests += done;
    }
  }

  await executor.close();
  await pool.close();
  await server.terminate();
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}

export function run(): BenchResult[] {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [self, CHILD_FLAG], { encoding: 'utf8', timeout: 120_000 });
  if (out.status !== 0) throw new Error(`http bench child failed (${out.status ?? out.signal}): ${out.stderr}`);
  const lastLine = out.stdout.trim().split('\n').pop() ?? '[]';
  const measured = JSON.parse(lastLine) as Measured[];
  const results: BenchResult[] = measured.map((m) => {
    const rounds = [...m.rounds].sort((a, b) => a - b);
    return { name: m.name, nsPerOp: rounds[Math.floor(rounds.length / 2)]!, rounds, iterations: m.requests };
  });
  // Pairs: [baseline, executor] twice.
  for (let i = 0; i + 1 < results.length; i += 2) {
    const baseline = results[i]!;
    const executor = results[i + 1]!;
    const ratio = baseline.nsPerOp / executor.nsPerOp;
    executor.name += `  (${ratio.toFixed(2)}× baseline req/s)`;
  }
  console.log(
    `\nhttp: ${CONCURRENCY} concurrent loops, ${ROUNDS} rounds of ${ROUND_MS} ms per variant, server in a ` +
      `worker thread`,
  );
  for (let i = 1; i < results.length; i += 2) {
    const ratio = results[i - 1]!.nsPerOp / results[i]!.nsPerOp;
    console.log(
      `  executor / raw undici.request, requests per second: ${ratio.toFixed(2)}  ` +
        `(${results[i]!.name.replace(/\s+\(.*$/, '')})`,
    );
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === CHILD_FLAG) {
  child().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
