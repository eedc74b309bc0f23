// Errors: every failure is a PerfyError with a stable code and the exact column inside the expression,
// mapped through the caller's locate(); messages name tokens as the user wrote them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PerfyError, type SourceLocation } from '../../../engine/errors.js';
import { compileExpression } from '../../../engine/expr/index.js';
import { allTokens } from '../../../engine/expr/lexer.js';
import { exitForProblems } from '../../../engine/exit.js';

function failure(source: string, locate?: (offset: number) => SourceLocation): PerfyError {
  try {
    compileExpression(source, locate);
  } catch (error) {
    if (error instanceof PerfyError) return error;
    throw error;
  }
  assert.fail(`expected ${JSON.stringify(source)} to fail`);
}

// [source, code, 1-based column of the first problem]
const cases: [source: string, code: string, col: number][] = [
  // syntax
  ['', 'E_EXPR_PARSE', 1],
  ['   ', 'E_EXPR_PARSE', 1],
  ['status >', 'E_EXPR_PARSE', 8],
  ['status == 200 and', 'E_EXPR_PARSE', 15],
  ['(status == 200', 'E_EXPR_PARSE', 12],
  ['status == 200 )', 'E_EXPR_PARSE', 15],
  ['(status == )', 'E_EXPR_PARSE', 12],
  ['status = 200', 'E_EXPR_PARSE', 8],
  ['status == 200 300', 'E_EXPR_PARSE', 15],
  ['a < b < c', 'E_EXPR_PARSE', 7],
  ['json.', 'E_EXPR_PARSE', 5],
  ['json.items[', 'E_EXPR_PARSE', 11],
  ['json.items[x]', 'E_EXPR_PARSE', 12],
  ['json.items[1.5]', 'E_EXPR_PARSE', 12],
  ['json..a', 'E_EXPR_PARSE', 6],
  ['p95()', 'E_EXPR_PARSE', 5],
  ['p95(http.duration', 'E_EXPR_PARSE', 10],
  ['p95(http.duration{})', 'E_EXPR_PARSE', 19],
  ['p95(http.duration{step vote})', 'E_EXPR_PARSE', 24],
  ['p95(http.duration{step: vote, step: x})', 'E_EXPR_PARSE', 31],
  ['p95(http.duration{step: my - step})', 'E_EXPR_PARSE', 27],
  ['p95(1 + 2)', 'E_EXPR_PARSE', 7],
  ['p(http.duration) < 1s', 'E_EXPR_PARSE', 3],
  ['p(101, http.duration) < 1s', 'E_EXPR_PARSE', 3],
  ['p95(99, http.duration)', 'E_EXPR_PARSE', 5],
  ['cpu(a.b) > 1%', 'E_EXPR_PARSE', 5],
  ['rss(api{x: y}) > 1MB', 'E_EXPR_PARSE', 5],
  ['x > 1 for', 'E_EXPR_PARSE', 7],
  ['x > 1 for 10', 'E_EXPR_PARSE', 11],
  ['x > 1 for 10s for 1s', 'E_EXPR_PARSE', 15],
  ['x for 10s > 1', 'E_EXPR_PARSE', 11],
  ['not', 'E_EXPR_PARSE', 1],
  ['-', 'E_EXPR_PARSE', 1],
  [')', 'E_EXPR_PARSE', 1],
  ['and', 'E_EXPR_PARSE', 1],
  // lexer
  ['status == 200 $', 'E_EXPR_PARSE', 15],
  ['status == 200 & x', 'E_EXPR_PARSE', 15],
  ['a | b', 'E_EXPR_PARSE', 3],
  ['json.name == "perfy', 'E_EXPR_PARSE', 14],
  ["json.name == 'perfy", 'E_EXPR_PARSE', 14],
  ['x == 1 # comment', 'E_EXPR_PARSE', 8],
  ['x == é', 'E_EXPR_PARSE', 6],
  ['x == .5', 'E_EXPR_PARSE', 6],
  ['duration < 5sec', 'E_EXPR_PARSE', 13],
  ['rss(api) > 5Mb', 'E_EXPR_PARSE', 13],
  ['duration < 5 ms', 'E_EXPR_PARSE', 14],
  ['x > 3e5', 'E_EXPR_PARSE', 6],
  // regex: a pattern RE2 cannot take points at the part it refuses, inside the string
  ['body matches "("', 'E_EXPR_REGEX', 15],
  ['body matches "[a-"', 'E_EXPR_REGEX', 15],
  ['body matches "(a)\\1"', 'E_EXPR_REGEX', 18],
  ['body matches "(?<n>a)\\k<n>"', 'E_EXPR_REGEX', 22],
  ['body matches "x(?=y)"', 'E_EXPR_REGEX', 16],
  ['body matches "x(?!y)"', 'E_EXPR_REGEX', 16],
  ['body matches "(?<=y)x"', 'E_EXPR_REGEX', 15],
  ['body matches "(?<!y)x"', 'E_EXPR_REGEX', 15],
  ['body matches "a**"', 'E_EXPR_REGEX', 16],
  ['body matches pattern', 'E_EXPR_PARSE', 14],
  // unknown functions
  ['avrg(http.duration) < 1s', 'E_EXPR_UNKNOWN', 1],
  ['x > 1 and p95x(http.duration) < 1s', 'E_EXPR_UNKNOWN', 11],
  ['p999(http.duration) < 1s', 'E_EXPR_UNKNOWN', 1],
  ['constructor(x) > 1', 'E_EXPR_UNKNOWN', 1],
  ['memory(api) > 1MB', 'E_EXPR_UNKNOWN', 1],
  // dimensions
  ['duration < 5MB', 'E_EXPR_TYPE', 10],
  ['duration < 500', 'E_EXPR_TYPE', 12],
  ['500 > duration', 'E_EXPR_TYPE', 1],
  ['duration < -500', 'E_EXPR_TYPE', 12],
  ['rate(http.errors) < 5/s', 'E_EXPR_TYPE', 19],
  ['rate(http.errors) < 0.01', 'E_EXPR_TYPE', 21],
  ['throughput(http.reqs) > 50', 'E_EXPR_TYPE', 25],
  ['throughput(http.reqs) > 5%', 'E_EXPR_TYPE', 23],
  ['p95(http.duration) < 300', 'E_EXPR_TYPE', 22],
  ['p95(http.duration) < count(http.reqs)', 'E_EXPR_TYPE', 22],
  ['rss(api) > 90%', 'E_EXPR_TYPE', 10],
  ['cpu(api) > 512MB for 10s', 'E_EXPR_TYPE', 10],
  ['duration + 5MB < 1s', 'E_EXPR_TYPE', 10],
  ['duration + 5 < 1s', 'E_EXPR_TYPE', 12],
  ['status == "200"', 'E_EXPR_TYPE', 8],
  ['status == true', 'E_EXPR_TYPE', 8],
  ['true < false', 'E_EXPR_TYPE', 6],
  ['"a" - "b"', 'E_EXPR_TYPE', 1],
  ['-"a"', 'E_EXPR_TYPE', 1],
  ['status * true', 'E_EXPR_TYPE', 10],
  ['duration contains "x"', 'E_EXPR_TYPE', 10],
  ['duration matches "1"', 'E_EXPR_TYPE', 10],
  ['"a" + 1', 'E_EXPR_TYPE', 5],
];

describe('error codes and columns', () => {
  for (const [source, code, col] of cases) {
    it(`${JSON.stringify(source)} → ${code} at col ${col}`, () => {
      const error = failure(source);
      const first = error.problems[0]!;
      assert.equal(first.code, code, first.message);
      assert.deepEqual(first.location, { file: '<expr>', line: 1, col }, first.message);
      assert.equal(exitForProblems(error.problems), 2);
      assert.ok(first.message.length > 0);
    });
  }
});

describe('error details', () => {
  it('a backreference or lookaround gets E_EXPR_REGEX with a hint saying why they are not supported', () => {
    for (const source of ['body matches "(a)\\1"', 'body matches "x(?=y)"', 'body matches "(?<!y)x"']) {
      const [first] = failure(source).problems;
      assert.equal(first!.code, 'E_EXPR_REGEX', source);
      assert.match(first!.hint ?? '', /backreference/, source);
      assert.match(first!.hint ?? '', /lookaround/, source);
    }
  });


  const tokenNames = allTokens.map((t) => t.name);

  it('messages and hints never show chevrotain token names', () => {
    for (const [source] of cases) {
      for (const p of failure(source).problems) {
        for (const name of tokenNames) {
          assert.ok(!p.message.includes(name) && !(p.hint ?? '').includes(name), `${source}: ${p.message} / ${p.hint}`);
        }
        assert.ok(!/NotAllInput|NoViableAlt|MismatchedToken|EarlyExit/.test(p.message), p.message);
      }
    }
  });

  it('locate() maps offsets to the place in the user file', () => {
    const seen: number[] = [];
    const locate = (offset: number): SourceLocation => {
      seen.push(offset);
      return { file: 'scenario.yaml', line: 12, col: 20 + offset };
    };
    const error = failure('duration < 5MB', locate);
    assert.deepEqual(error.problems[0]!.location, { file: 'scenario.yaml', line: 12, col: 29 });
    assert.deepEqual(seen, [9]);
  });

  it('reports every dimension problem of one expression, not only the first', () => {
    const error = failure('duration < 5MB or p95(http.duration) > 300 or rss(api) > 1%');
    assert.deepEqual(error.problems.map((p) => [p.code, p.location?.col]), [
      ['E_EXPR_TYPE', 10],
      ['E_EXPR_TYPE', 40],
      ['E_EXPR_TYPE', 56],
    ]);
  });

  it('unknown functions get a "did you mean" hint', () => {
    assert.match(failure('avrg(x) > 1').problems[0]!.hint ?? '', /avg/);
    assert.match(failure('throughtput(x) > 1/s').problems[0]!.hint ?? '', /throughput/);
  });

  it('a bare number against a unit gets a hint with the unit', () => {
    assert.match(failure('duration < 500').problems[0]!.hint ?? '', /500ms/);
    assert.match(failure('rss(api) > 512').problems[0]!.hint ?? '', /512MB/);
  });

  it('a literal 0 needs no unit', () => {
    for (const source of ['duration > 0', 'p95(x.duration) != 0', 'rate(http.errors) == 0', 'duration + 0 < 1s']) {
      assert.doesNotThrow(() => compileExpression(source), source);
    }
  });

  it('offsets are positions in the JavaScript string, also after non-ASCII text', () => {
    assert.deepEqual(failure('json.name == "héllo 👋" and duration < 5MB').problems[0]!.location?.col, 38);
  });

  it('deep nesting and huge expressions are refused before they can exhaust the stack', () => {
    const deep = `${'('.repeat(33)}a${')'.repeat(33)}`;
    assert.deepEqual([failure(deep).code, failure(deep).problems[0]!.location?.col], ['E_EXPR_PARSE', 33]);
    assert.equal(failure(`${'not '.repeat(33)}a`).code, 'E_EXPR_PARSE');
    assert.equal(failure(`${'(-'.repeat(17)}a${')'.repeat(17)}`).code, 'E_EXPR_PARSE');
    assert.doesNotThrow(() => compileExpression(`${'('.repeat(32)}a${')'.repeat(32)}`));
    assert.doesNotThrow(() => compileExpression(`${'not '.repeat(32)}a`));
    const long = Array.from({ length: 501 }, (_, i) => `a${i}`).join(' + ');
    assert.equal(failure(long).code, 'E_EXPR_PARSE');
    assert.doesNotThrow(() => compileExpression(Array.from({ length: 500 }, (_, i) => `a${i}`).join(' + ')));
  });

  it('offsets count newlines like any character', () => {
    assert.deepEqual(failure('status == 200 and\n  duration < 5MB').problems[0]!.location?.col, 30);
  });
});
