// Evaluation: values of captures, truth of expects and if: conditions, thresholds over a stub metric source,
// and the rules for missing data (missing paths are undefined, metrics without samples compare false).

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { RE2JS } from 're2js';
import {
  compileExpression, type AggregateQuery, type EvalScope, type MetricSource,
} from '../../../engine/expr/index.js';

const response = {
  status: 200,
  duration: 123,
  json: {
    items: [
      { id: 'a1', tags: ['x', 'y'] },
      { id: 'b2', tags: [] },
    ],
    count: 2,
    name: 'perfy',
    nested: { deep: null },
  },
  header: { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '42', 'x-empty': '' },
  body: 'hello world',
  debate: { round: 1 },
  iteration: 2,
  zero: 0,
};

describe('values (captures)', () => {
  const cases: [source: string, value: unknown][] = [
    ['status', 200],
    ['json.items[0].id', 'a1'],
    ['json.items[1].id', 'b2'],
    ['json["items"][0]["id"]', 'a1'],
    ['json.items.length', 2],
    ['json.items[0].tags.length', 2],
    ['json.name.length', 5],
    ['json.name[0]', 'p'],
    ['header["content-type"]', 'application/json; charset=utf-8'],
    ["header['x-ratelimit-remaining']", '42'],
    ['json.nested.deep', null],
    ['json.items', response.json.items],
    // missing data never throws
    ['json.missing', undefined],
    ['json.missing.deeper[3].id', undefined],
    ['json.items[9].id', undefined],
    ['json.nested.deep.x', undefined],
    ['status.x', undefined],
    ['nosuchvar', undefined],
    ['nosuchvar.a.b', undefined],
    // prototype members are not visible
    ['json.constructor', undefined],
    ['json.__proto__', undefined],
    ['json.items.map', undefined],
    ['constructor', undefined],
    ['toString', undefined],
    ['__proto__', undefined],
    // arithmetic
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 / 4', 2.5],
    ['10 - 4 - 3', 3],
    ['-status', -200],
    ['duration + 1s', 1123],
    ['header["x-ratelimit-remaining"] - 2', 40],
    ['"a" + "b"', 'ab'],
    ['json.name + "!"', 'perfy!'],
    ['json.missing + 1', undefined],
    ['json.name * 2', undefined],
    ['0 / 0', undefined],
    ['1 / 0', Infinity],
    // logic gives booleans
    ['status and json', true],
    ['zero or json.missing', false],
    ['not json.missing', true],
  ];
  for (const [source, value] of cases) {
    it(`${source} → ${JSON.stringify(value)}`, () => {
      assert.deepEqual(compileExpression(source).evaluate({ vars: response }), value);
    });
  }
});

describe('truth (expects and if:)', () => {
  const cases: [source: string, truth: boolean][] = [
    ['status == 200', true],
    ['status != 200', false],
    ['status == 201', false],
    ['200 == status', true],
    ['status >= 200 and status < 300', true],
    ['status > 200', false],
    ['status <= 200', true],
    ['duration < 500ms', true],
    ['duration < 100ms', false],
    ['duration > 0.1s', true],
    ['duration <= 123ms', true],
    ['duration >= 124ms', false],
    ['json.items.length > 0', true],
    ['json.items[1].tags.length > 0', false],
    ['json.count == 2', true],
    ['header["content-type"] matches "json"', true],
    ['header["content-type"] matches "^text/"', false],
    ['header["content-type"] matches "charset=utf-\\d"', true],
    ['json.missing matches "x"', false],
    ['status matches "^2\\d\\d$"', true],
    ['body contains "world"', true],
    ['body contains "planet"', false],
    ['json.items[0].tags contains "y"', true],
    ['json.items[0].tags contains "z"', false],
    ['json.missing contains "x"', false],
    ['json.name == "perfy"', true],
    ["json.name == 'perfy'", true],
    ['json.name != "other"', true],
    ['json.name < "q"', true],
    ['json.name > "q"', false],
    // null and missing
    ['debate != null and iteration < 3', true],
    ['nodebate != null and iteration < 3', false],
    ['nodebate == null', true],
    ['json.nested.deep == null', true],
    ['json.nested.deep != null', false],
    ['json.missing == null', true],
    ['json.missing == 0', false],
    ['json.missing != 0', true],
    ['json.missing < 1', false],
    ['json.missing > -1', false],
    ['json.nested.deep < 1', false],
    ['json.nested.deep >= 0', false],
    // text that reads as a number compares as that number (headers are text)
    ['header["x-ratelimit-remaining"] > 10', true],
    ['header["x-ratelimit-remaining"] == 42', true],
    ['header["x-ratelimit-remaining"] < 10', false],
    ['header["x-empty"] == 0', false],
    ['header["x-empty"] < 1', false],
    ['json.name > 0', false],
    ['header["x-ratelimit-remaining"] > json.count', true],
    // boolean operators and truthiness
    ['not status == 500', true],
    ['!(status == 500) && duration < 1s', true],
    ['status == 500 || duration < 1s', true],
    ['status == 500 or json.missing', false],
    ['json.items', true],
    ['json.missing', false],
    ['zero', false],
    ['json.name', true],
    ['true', true],
    ['false', false],
    ['null', false],
    ['true and not false', true],
    ['-1 < 0', true],
    ['1 + 1 == 2', true],
    ['0.1 + 0.2 > 0.3', true],
  ];
  for (const [source, truth] of cases) {
    it(`${source} is ${truth}`, () => {
      assert.equal(compileExpression(source).test({ vars: response }), truth);
    });
  }

  it('matches in linear time: a pattern that backtracks exponentially in JavaScript answers at once', () => {
    // JavaScript's RegExp takes seconds on 28 characters here, four times longer for every two more.
    const c = compileExpression('body matches "^(a+)+$"');
    const time = (body: string, truth: boolean): number => {
      const started = performance.now();
      assert.equal(c.test({ vars: { body } }), truth);
      return performance.now() - started;
    };
    // Short enough that a backtracking engine fails this in seconds rather than hanging the test.
    const short = time(`${'a'.repeat(25)}!`, false);
    assert.ok(short < 100, `25 characters took ${short.toFixed(0)} ms`);
    const long = time(`${'a'.repeat(5_000)}!`, false) + time('a'.repeat(5_000), true);
    assert.ok(long < 500, `5,000 characters took ${long.toFixed(0)} ms`);
  });

  it('takes RE2 syntax: classes, anchors, named groups, (?i) flags, \\x{...} code points', () => {
    const vars = { body: 'Content: JSON 2xx é', status: 204 };
    for (const [pattern, truth] of [
      ['(?i)json', true], ['^Content:\\s+\\w+', true], ['(?P<word>JSON) \\d', true], ['(?<word>JSON)', true],
      ['\\x{e9}$', true], ['\\bJSO\\b', false], ['[[:digit:]]xx', true], ['\\p{Lu}{4}', true],
    ] as const) {
      assert.equal(compileExpression(`body matches "${pattern}"`).test({ vars }), truth, pattern);
    }
    assert.equal(compileExpression('status matches "^2\\d\\d$"').test({ vars }), true);
  });

  it('gives plain-text patterns (searched without RE2) the meaning RE2 gives them', () => {
    const texts = ['', 'ok', 'json', 'application/json', 'json; charset=utf-8', 'é ok', 'x-json-y'];
    for (const pattern of ['', '^', '$', '^$', 'json', '^json', 'json$', '^json$', 'ok', '^ok$', 'é ok', ': ch']) {
      const c = compileExpression(`body matches "${pattern}"`);
      const re = RE2JS.compile(pattern);
      for (const body of texts) {
        assert.equal(c.test({ vars: { body } }), re.test(body), `"${body}" matches "${pattern}"`);
      }
    }
  });

  it('does not depend on a previous evaluation (regexes carry no state)', () => {
    const c = compileExpression('body matches "o"');
    for (let i = 0; i < 5; i++) assert.equal(c.test({ vars: response }), true);
  });

  it('reads whatever vars are passed in, each time', () => {
    const c = compileExpression('status == 200');
    assert.equal(c.test({ vars: { status: 200 } }), true);
    assert.equal(c.test({ vars: { status: 503 } }), false);
    assert.equal(c.test({ vars: {} }), false);
    assert.equal(c.test({ vars: { status: '200' } }), true);
  });
});

/** A stub metric source: values by `fn:metric{tags}`, and a record of the queries it was asked. */
function stubMetrics(values: Record<string, number>): MetricSource & { queries: AggregateQuery[] } {
  const queries: AggregateQuery[] = [];
  return {
    queries,
    aggregate(q) {
      queries.push(q);
      const tags = Object.entries(q.tags).map(([k, v]) => `${k}=${v}`).join(',');
      const fn = q.fn === 'percentile' ? `p${q.percentile}` : q.fn;
      return values[`${fn}:${q.metric}{${tags}}`];
    },
  };
}

describe('thresholds and alerts', () => {
  const metrics = stubMetrics({
    'p95:http.duration{}': 250,
    'p99.9:http.duration{step=vote}': 900,
    'rate:http.errors{}': 0.005,
    'count:http.reqs{}': 1000,
    'throughput:http.reqs{}': 60,
    'avg:http.duration{}': 120,
    'min:http.duration{}': 3,
    'max:http.duration{}': 1200,
    'value:process.rss{process=api}': 600e6,
    'value:process.cpu{process=api}': 0.95,
    'value:process.heap{process=api}': 100e6,
    'count:http.reqs{status=500}': 0,
  });
  const scope: EvalScope = { vars: {}, metrics };
  const cases: [source: string, truth: boolean][] = [
    ['p95(http.duration) < 300ms', true],
    ['p95(http.duration) < 200ms', false],
    ['p(99.9, http.duration{step: vote}) < 1s', true],
    ['p(99.9, http.duration{step: "vote"}) < 800ms', false],
    ['rate(http.errors) < 1%', true],
    ['rate(http.errors) < 0.1%', false],
    ['count(http.reqs) > 100', true],
    ['throughput(http.reqs) > 50/s', true],
    ['throughput(http.reqs) > 3000/m', true],
    ['throughput(http.reqs) > 4000/m', false],
    ['avg(http.duration) < 200ms and min(http.duration) >= 1ms and max(http.duration) < 2s', true],
    ['rss(api) > 512MB', true],
    ['rss(api) > 1GB', false],
    ['value(process.rss{process: api}) > 512MB', true],
    ['cpu(api) > 90% for 10s', true],
    ['heap(api) < 128MiB', true],
    ['count(http.reqs{status: 500}) == 0', true],
    ['p99(http.duration) < 2 * p95(http.duration)', false],
    ['max(http.duration) - min(http.duration) > 1s', true],
    // no samples: every comparison that reads the metric is false, `!=` and `==` included
    ['p95(nothing.duration) < 300ms', false],
    ['p95(nothing.duration) > 300ms', false],
    ['p95(nothing.duration) != 0', false],
    ['p95(nothing.duration) == null', false],
    ['p95(nothing.duration) >= p95(http.duration)', false],
    ['p95(http.duration) != p95(nothing.duration)', false],
    ['p95(nothing.duration) - 1ms < 300ms', false],
    ['not (p95(nothing.duration) < 300ms)', true],
  ];
  for (const [source, truth] of cases) {
    it(`${source} is ${truth}`, () => assert.equal(compileExpression(source).test(scope), truth));
  }

  it('without a metric source, aggregates are undefined and comparisons false', () => {
    const c = compileExpression('count(http.reqs) >= 0');
    assert.equal(c.test({ vars: {} }), false);
    assert.equal(compileExpression('count(http.reqs)').evaluate({ vars: {} }), undefined);
  });

  it('passes the same pre-built, frozen query object on every evaluation', () => {
    const source = stubMetrics({ 'p95:http.duration{step=vote}': 1 });
    const c = compileExpression('p95(http.duration{step: vote}) < 1s');
    c.test({ vars: {}, metrics: source });
    c.test({ vars: {}, metrics: source });
    assert.equal(source.queries.length, 2);
    assert.equal(source.queries[0], source.queries[1]);
    assert.deepEqual(source.queries[0], {
      fn: 'percentile',
      percentile: 95,
      metric: 'http.duration',
      tags: { step: 'vote' },
    });
    assert.ok(Object.isFrozen(source.queries[0]));
    assert.ok(Object.isFrozen(source.queries[0]!.tags));
  });

  it('rss(api) asks exactly what value(process.rss{process: api}) asks', () => {
    const a = stubMetrics({});
    const b = stubMetrics({});
    compileExpression('rss(api)').evaluate({ vars: {}, metrics: a });
    compileExpression('value(process.rss{process: api})').evaluate({ vars: {}, metrics: b });
    assert.deepEqual(a.queries, b.queries);
  });

  it('the for window does not change the value', () => {
    const a = compileExpression('cpu(api) > 90% for 10s');
    const b = compileExpression('cpu(api) > 90%');
    assert.equal(a.test(scope), b.test(scope));
    assert.equal(a.sustainMs, 10_000);
    assert.equal(b.sustainMs, undefined);
  });
});
