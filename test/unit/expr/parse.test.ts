// Parsing: precedence and associativity (via the fully parenthesized printout), literals with units,
// paths, function calls resolved to aggregates, and the information a compiled expression exposes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileExpression, parseExpression, printExpression } from '../../../engine/expr/index.js';

describe('expression structure', () => {
  const cases: [source: string, printed: string][] = [
    ['status == 200', '(status == 200)'],
    ['a or b and c', '(a or (b and c))'],
    ['a and b or c', '((a and b) or c)'],
    ['a || b && c', '(a or (b and c))'],
    ['not a and b', '((not a) and b)'],
    ['not a == b', '(not (a == b))'],
    ['!a == b', '(not (a == b))'],
    ['not not a', '(not (not a))'],
    ['a + b * c', '(a + (b * c))'],
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['(a + b) * c', '((a + b) * c)'],
    ['-a * b', '((-a) * b)'],
    ['- -a', '(-(-a))'],
    ['a + 1 < b * 2', '((a + 1) < (b * 2))'],
    ['a < b and c >= d or e != f', '(((a < b) and (c >= d)) or (e != f))'],
    ['x contains "a" and y matches "^b"', '((x contains "a") and (y matches "^b"))'],
    ['debate != null and iteration < 3', '((debate != null) and (iteration < 3))'],
    ['json.items[0].id', 'json.items[0].id'],
    ['header["content-type"]', 'header["content-type"]'],
    ["header['x-id']", 'header["x-id"]'],
    ['json["plain"]', 'json.plain'],
    ['json.for.null.and', 'json.for.null.and'],
    ['p95(http.duration) < 300ms', '(p95(http.duration) < 300ms)'],
    ['p(99.9, http.duration{step: vote}) < 1s', '(p(99.9, http.duration{step: "vote"}) < 1s)'],
    ['count(http.reqs{status: 500, step: "a b"})', 'count(http.reqs{status: "500", step: "a b"})'],
    ['rss(my-api) > 512MB', '(rss(my-api) > 512MB)'],
    ['cpu(api) > 90% for 10s', '(cpu(api) > 90%) for 10s'],
    ['a and b for 1m30s', '(a and b) for 1m30s'],
    ['10/status', '(10 / status)'],
    ['10/s', '10/s'],
    ['  status\n==\t200  ', '(status == 200)'],
  ];
  for (const [source, printed] of cases) {
    it(`${JSON.stringify(source)} → ${printed}`, () => {
      assert.equal(printExpression(parseExpression(source)), printed);
    });
  }
});

describe('literals', () => {
  const cases: [source: string, value: unknown, kind: string][] = [
    ['42', 42, 'number'],
    ['1.25', 1.25, 'number'],
    ['500ms', 500, 'duration'],
    ['1.5s', 1500, 'duration'],
    ['250us', 0.25, 'duration'],
    ['2m', 120_000, 'duration'],
    ['2min', 120_000, 'duration'],
    ['1h', 3_600_000, 'duration'],
    ['1m30s', 90_000, 'duration'],
    ['90%', 0.9, 'ratio'],
    ['1%', 0.01, 'ratio'],
    ['512MB', 512e6, 'size'],
    ['1KiB', 1024, 'size'],
    ['2GiB', 2 * 1024 ** 3, 'size'],
    ['10B', 10, 'size'],
    ['50/s', 50, 'rate'],
    ['120/m', 2, 'rate'],
    ['120/min', 2, 'rate'],
    ['3600/h', 1, 'rate'],
    ['"json"', 'json', 'string'],
    ["'json'", 'json', 'string'],
    ['"a\\"b"', 'a"b', 'string'],
    ["'it\\'s'", "it's", 'string'],
    ['"a\\\\b"', 'a\\b', 'string'],
    ['"line\\nnext\\t!"', 'line\nnext\t!', 'string'],
    ['"\\u00e9"', 'é', 'string'],
    ['"\\d+"', '\\d+', 'string'],
    ['true', true, 'bool'],
    ['false', false, 'bool'],
    ['null', null, 'unknown'],
  ];
  for (const [source, value, kind] of cases) {
    it(`${source} is ${String(value)} (${kind})`, () => {
      const compiled = compileExpression(source);
      assert.equal(compiled.evaluate({ vars: {} }), value);
      assert.equal(compiled.kind, kind);
    });
  }
});

describe('kinds of values', () => {
  const cases: [source: string, kind: string][] = [
    ['status', 'number'],
    ['duration', 'duration'],
    ['json.duration', 'unknown'],
    ['header["x"]', 'unknown'],
    ['p95(http.duration)', 'duration'],
    ['avg(step.duration{step: vote})', 'duration'],
    ['max(http.ttfb)', 'duration'],
    ['min(http.connect)', 'duration'],
    ['value(loop.lag)', 'duration'],
    ['avg(http.reqs)', 'unknown'],
    ['rate(http.errors)', 'ratio'],
    ['count(http.reqs)', 'number'],
    ['throughput(http.reqs)', 'rate'],
    ['rss(api)', 'size'],
    ['heap(api)', 'size'],
    ['cpu(api)', 'ratio'],
    ['value(process.rss{process: api})', 'size'],
    ['duration + 5ms', 'duration'],
    ['json.x + 5ms', 'duration'],
    ['-duration', 'duration'],
    ['2 * 3', 'number'],
    ['2 * duration', 'unknown'],
    ['"a" + "b"', 'string'],
    ['status == 200', 'bool'],
    ['not status', 'bool'],
  ];
  for (const [source, kind] of cases) {
    it(`${source} is ${kind}`, () => assert.equal(compileExpression(source).kind, kind));
  }
});

describe('what a compiled expression exposes', () => {
  it('names read as variables, with offsets, in source order', () => {
    const c = compileExpression('debate != null and json.items[0].id == header["x"] and debate');
    assert.deepEqual(c.names, [
      { name: 'debate', offset: 0 },
      { name: 'json', offset: 19 },
      { name: 'header', offset: 39 },
      { name: 'debate', offset: 55 },
    ]);
    assert.deepEqual(c.metrics, []);
    assert.equal(c.sustainMs, undefined);
  });

  it('metric references with their function, tags and offsets; function names are not variables', () => {
    const c = compileExpression('p(99.9, http.duration{step: vote}) < 1s and rate(http.errors) < 1% and p95(x) < 2s');
    assert.deepEqual(c.names, []);
    assert.deepEqual(c.metrics, [
      {
        metric: 'http.duration',
        tags: { step: 'vote' },
        tagOffsets: { step: 28 },
        offset: 8,
        fn: 'percentile',
        percentile: 99.9,
      },
      { metric: 'http.errors', tags: {}, tagOffsets: {}, offset: 49, fn: 'rate' },
      { metric: 'x', tags: {}, tagOffsets: {}, offset: 75, fn: 'percentile', percentile: 95 },
    ]);
  });

  it('cpu/rss/heap are value() of process metrics, and list their process', () => {
    const c = compileExpression('rss(api) > 512MB or cpu(my-db) > 90% for 10s');
    assert.deepEqual(c.metrics, [
      { metric: 'process.rss', tags: { process: 'api' }, tagOffsets: { process: 4 }, offset: 4, fn: 'value' },
      { metric: 'process.cpu', tags: { process: 'my-db' }, tagOffsets: { process: 24 }, offset: 24, fn: 'value' },
    ]);
    assert.deepEqual(c.processes, [{ name: 'api', offset: 4 }, { name: 'my-db', offset: 24 }]);
    assert.equal(c.sustainMs, 10_000);
    assert.equal(c.source, 'rss(api) > 512MB or cpu(my-db) > 90% for 10s');
  });

  it('p-functions take any integer percentile', () => {
    for (const [source, percentile] of [
      ['p0(x)', 0],
      ['p50(x)', 50],
      ['p75(x)', 75],
      ['p100(x)', 100],
      ['p(99.99, x)', 99.99],
    ] as const) {
      assert.equal(compileExpression(source).metrics[0]?.percentile, percentile, source);
    }
  });

  it('a tag named __proto__ stays a tag', () => {
    const c = compileExpression('count(x{__proto__: a})');
    assert.deepEqual(Object.keys(c.metrics[0]!.tags), ['__proto__']);
  });

  it('the AST keeps the literal text and its value', () => {
    const ast = parseExpression('duration < 1.5s');
    assert.equal(ast.body.type, 'compare');
    if (ast.body.type !== 'compare') return;
    assert.deepEqual(ast.body.right, { type: 'literal', value: 1500, kind: 'duration', text: '1.5s', offset: 11 });
    assert.deepEqual(ast.body.left, { type: 'path', root: 'duration', segments: [], offset: 0 });
  });
});

describe('the grammar is documented', () => {
  it('the BNF in docs/expressions.md is the one at the top of grammar.ts', async () => {
    const { readFile } = await import('node:fs/promises');
    const root = new URL('../../../../', import.meta.url);
    const grammar = await readFile(new URL('engine/expr/grammar.ts', root), 'utf8');
    const docs = await readFile(new URL('docs/expressions.md', root), 'utf8');
    const fromGrammar = grammar.split('\n').filter((line) => line.startsWith('//   ')).map((line) => line.slice(5));
    const block = /```bnf\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
    const fromDocs = block.split('\n').filter((line) => line.trim() !== '');
    assert.ok(fromGrammar.length > 20);
    assert.deepEqual(fromDocs, fromGrammar);
  });
});
