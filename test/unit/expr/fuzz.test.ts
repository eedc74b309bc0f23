// Fuzzing the expression language with fast-check: any input either compiles or fails with an E_EXPR_* PerfyError
// (never another error, never a hang), compiled expressions never throw on any data, and random well-kinded trees
// printed back to text compile and print the same again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PerfyError } from '../../../engine/errors.js';
import {
  compileExpression, parseExpression, printExpression, quoteString, type EvalScope, type ExpressionNode,
} from '../../../engine/expr/index.js';

const SEED = 20_240_611;

/** compileExpression's contract on arbitrary input. */
function compileOrPerfyError(source: string): ReturnType<typeof compileExpression> | undefined {
  try {
    return compileExpression(source);
  } catch (error) {
    if (!(error instanceof PerfyError)) throw error;
    for (const p of error.problems) {
      assert.match(p.code, /^E_EXPR_(PARSE|UNKNOWN|TYPE)$/, `${JSON.stringify(source)}: ${p.code} ${p.message}`);
      const col = p.location?.col ?? 0;
      assert.ok(
        col >= 1 && col <= Math.max(1, source.length),
        `${JSON.stringify(source)}: column ${col} outside the source`,
      );
    }
    return undefined;
  }
}

const scopeArbitrary: fc.Arbitrary<EvalScope> = fc.record({
  vars: fc.dictionary(
    fc.constantFrom('json', 'status', 'duration', 'header', 'body', 'a', 'x', 'items'),
    fc.jsonValue({ maxDepth: 3 }),
  ),
  metrics: fc.option(
    fc.option(fc.double(), { nil: undefined }).map((value) => ({ aggregate: () => value })),
    { nil: undefined },
  ),
});

// Pieces of the language, so random sequences often get deep into the parser instead of failing on the first char.
const TOKENS = [
  'status',
  'duration',
  'json',
  'header',
  'body',
  'items',
  'x',
  'for',
  'and',
  'or',
  'not',
  'matches',
  'contains',
  'true',
  'false',
  'null',
  'p95',
  'p',
  'avg',
  'min',
  'max',
  'count',
  'rate',
  'value',
  'throughput',
  'cpu',
  'rss',
  'heap',
  'p999',
  'avrg',
  'http',
  'duration',
  'api',
  'my-api',
  'step',
  'vote',
  '0',
  '1',
  '200',
  '99.9',
  '500ms',
  '1.5s',
  '1m30s',
  '90%',
  '512MB',
  '1KiB',
  '50/s',
  '3/m',
  '5sec',
  '"json"',
  "'a b'",
  '"\\d+"',
  '"("',
  '"',
  "'",
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '=',
  '&&',
  '||',
  '!',
  '+',
  '-',
  '*',
  '/',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '.',
  ',',
  ':',
  '$',
  '#',
  'é',
  '\u0000',
];
const SEPARATORS = ['', '', ' ', ' ', '  ', '\n', '\t'];
const tokenSoup = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom(...SEPARATORS)), { maxLength: 24 })
  .map((parts) => parts.map(([token, separator]) => token + separator).join(''));

describe('fuzz: any input compiles or fails with an E_EXPR_* PerfyError', { timeout: 20_000 }, () => {
  it('arbitrary unicode strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (source) => {
      compileOrPerfyError(source);
    }), { numRuns: 2000, seed: SEED });
  });

  it('strings built from the language\'s own tokens, and evaluating what compiles never throws', () => {
    let compiled = 0;
    fc.assert(fc.property(tokenSoup, scopeArbitrary, (source, scope) => {
      const expression = compileOrPerfyError(source);
      if (expression === undefined) return;
      compiled++;
      expression.evaluate(scope);
      assert.equal(typeof expression.test(scope), 'boolean');
    }), { numRuns: 4000, seed: SEED });
    assert.ok(compiled > 50, `only ${compiled} of the token soups compiled: the fuzzer is not reaching the evaluator`);
  });

  it('long inputs stay fast (no catastrophic backtracking in the lexer or parser)', () => {
    const long = `${'(a + '.repeat(300)}1${')'.repeat(300)} > 0 and ${'x.'.repeat(500)}y == "${'\\"'.repeat(500)}"`;
    const started = performance.now();
    compileOrPerfyError(long);
    compileOrPerfyError(`${'1'.repeat(5000)}x`);
    compileOrPerfyError(`"${'\\'.repeat(5001)}`);
    compileOrPerfyError(`${'not '.repeat(1000)}a`);
    assert.ok(performance.now() - started < 2000, 'long inputs took over 2 s');
  });
});

// ---- random well-kinded trees ----

type Kind = 'number' | 'duration' | 'size' | 'ratio' | 'rate' | 'string' | 'bool';
const NUMERIC: Kind[] = ['number', 'duration', 'size', 'ratio', 'rate'];
const UNIT_SUFFIXES: Record<string, string[]> = {
  number: [''],
  duration: ['us', 'ms', 's', 'm', 'min', 'h'],
  size: ['B', 'KB', 'MB', 'GB', 'TB', 'KiB', 'MiB', 'GiB', 'TiB'],
  ratio: ['%'],
  rate: ['/s', '/sec', '/m', '/min', '/h'],
};
const KEYWORDS = new Set(['true', 'false', 'null', 'and', 'or', 'not', 'matches', 'contains', 'for']);

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/).filter((s) => !KEYWORDS.has(s));
/** Variables of unknown kind: compatible with everything. `status` and `duration` have kinds, so they are left out. */
const variable = identifier.filter((s) => s !== 'status' && s !== 'duration');
const fieldName = fc.oneof(identifier, fc.constantFrom(...KEYWORDS));
const hyphenName = fc.tuple(identifier, fc.array(fc.oneof(identifier, fc.nat(99).map(String)), { maxLength: 2 }))
  .map(([head, rest]) => [head, ...rest].join('-'));
const numberText = fc.oneof(
  fc.nat(100_000).map(String),
  fc.tuple(fc.nat(999), fc.nat(999)).map(([a, b]) => `${a}.${b}`),
);

function literal(kind: Kind): fc.Arbitrary<ExpressionNode> {
  if (kind === 'string') {
    return fc
      .string({ unit: 'binary', maxLength: 12 })
      .map((value) => ({ type: 'literal', value, kind: 'string', text: quoteString(value), offset: 0 }));
  }
  if (kind === 'bool')
    return fc.boolean().map((value) => ({ type: 'literal', value, kind: 'bool', text: String(value), offset: 0 }));
  return fc
    .tuple(numberText, fc.constantFrom(...UNIT_SUFFIXES[kind]!))
    .map(([digits, unit]) => ({ type: 'literal', value: 0, kind, text: digits + unit, offset: 0 }));
}

const path: fc.Arbitrary<ExpressionNode> = fc.tuple(
  variable,
  fc.array(fc.oneof(fieldName, fc.nat(20), fc.string({ maxLength: 6 })), { maxLength: 3 }),
).map(([root, keys]) => ({ type: 'path', root, segments: keys.map((key) => ({ key, offset: 0 })), offset: 0 }));

const metricName = fc.array(fieldName, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
const tags = fc.dictionary(identifier, fc.string({ maxLength: 6 }), { maxKeys: 2 });
function aggregate(
  call: string,
  fn: string,
  metric: fc.Arbitrary<string>,
  extra: Partial<Record<string, unknown>> = {},
): fc.Arbitrary<ExpressionNode> {
  return fc
    .tuple(metric, tags)
    .map(
      ([m, t]) =>
        ({
          type: 'aggregate',
          call,
          fn,
          metric: m,
          tags: t,
          tagOffsets: {},
          offset: 0,
          metricOffset: 0,
          ...extra,
        }) as ExpressionNode,
    );
}
const durationMetric = fc
  .tuple(metricName, fc.constantFrom('duration', 'connect', 'ttfb', 'tls', 'wait', 'lag'))
  .map(([m, last]) => `${m}.${last}`);
function processCall(call: string): fc.Arbitrary<ExpressionNode> {
  return hyphenName.map(
    (name) =>
      ({
        type: 'aggregate',
        call,
        fn: 'value',
        metric: `process.${call}`,
        tags: { process: name },
        tagOffsets: { process: 0 },
        offset: 0,
        metricOffset: 0,
        process: { name, offset: 0 },
      }) as ExpressionNode,
  );
}
const AGGREGATES: Partial<Record<Kind, fc.Arbitrary<ExpressionNode>>> = {
  duration: fc.oneof(
    fc
      .constantFrom('p50', 'p90', 'p95', 'p99', 'p0', 'p100')
      .chain((call) => aggregate(call, 'percentile', durationMetric, { percentile: Number(call.slice(1)) })),
    numberText
      .filter((t) => Number(t) <= 100)
      .chain((text) =>
        aggregate('p', 'percentile', durationMetric, { percentile: Number(text), percentileText: text }),
      ),
    fc.constantFrom('avg', 'min', 'max', 'value').chain((fn) => aggregate(fn, fn, durationMetric)),
  ),
  number: aggregate('count', 'count', metricName),
  ratio: fc.oneof(aggregate('rate', 'rate', metricName), processCall('cpu')),
  rate: aggregate('throughput', 'throughput', metricName),
  size: fc.oneof(processCall('rss'), processCall('heap')),
};

function binary(
  type: 'arithmetic' | 'logical' | 'compare',
  op: string,
  left: ExpressionNode,
  right: ExpressionNode,
): ExpressionNode {
  return { type, op, left, right, offset: 0 } as ExpressionNode;
}

const trees = fc.letrec<Record<Kind, ExpressionNode>>((tie) => {
  const depth = { depthSize: 'small', maxDepth: 5, depthIdentifier: 'expression' } as const;
  /** A value of `kind`, or of unknown kind (a path), which every kind accepts. */
  const operand = (kind: Kind) =>
    fc.oneof({ ...depth, arbitrary: tie(kind), weight: 4 }, { arbitrary: path, weight: 1 });
  const numeric = (kind: Kind): fc.Arbitrary<ExpressionNode> => {
    const ops = kind === 'number' ? ['+', '-', '*', '/'] : ['+', '-'];
    const leaves = [literal(kind), ...(AGGREGATES[kind] ? [AGGREGATES[kind]] : [])];
    return fc.oneof(
      depth,
      fc.oneof(...leaves),
      fc
        .tuple(operand(kind), fc.constantFrom(...ops), operand(kind))
        .map(([l, op, r]) => binary('arithmetic', op, l, r)),
      tie(kind).map((operand): ExpressionNode => ({ type: 'unary', op: '-', operand, offset: 0 })),
    );
  };
  const comparableKind = fc.constantFrom<Kind>(...NUMERIC, 'string', 'bool');
  const comparison = comparableKind.chain((kind) => {
    const ops = kind === 'bool' ? ['==', '!='] : ['==', '!=', '<', '<=', '>', '>='];
    return fc
      .tuple(operand(kind), fc.constantFrom(...ops), operand(kind))
      .map(([l, op, r]) => binary('compare', op, l, r));
  });
  const regex = fc.string({ maxLength: 8 }).map((s) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
  const matches = fc
    .tuple(fc.oneof(path, tie('string')), regex)
    .map(([l, pattern]) =>
      binary('compare', 'matches', l, {
        type: 'literal',
        value: pattern,
        kind: 'string',
        text: quoteString(pattern),
        offset: 0,
      }),
    );
  const containsNode = fc
    .tuple(fc.oneof(path, tie('string')), fc.oneof(tie('string'), path))
    .map(([l, r]) => binary('compare', 'contains', l, r));
  return {
    number: numeric('number'),
    duration: numeric('duration'),
    size: numeric('size'),
    ratio: numeric('ratio'),
    rate: numeric('rate'),
    string: fc.oneof(
      depth,
      literal('string'),
      fc.tuple(operand('string'), operand('string')).map(([l, r]) => binary('arithmetic', '+', l, r)),
    ),
    bool: fc.oneof(
      depth,
      literal('bool'),
      comparison,
      matches,
      containsNode,
      fc.tuple(tie('bool'), fc.constantFrom('and', 'or'), tie('bool')).map(([l, op, r]) => binary('logical', op, l, r)),
      tie('bool').map((operand): ExpressionNode => ({ type: 'unary', op: 'not', operand, offset: 0 })),
    ),
  };
});

const sustain = fc.option(
  fc.tuple(numberText, fc.constantFrom(...UNIT_SUFFIXES.duration!)).map(([n, u]) => n + u),
  { nil: undefined },
);

describe('fuzz: random valid trees', { timeout: 20_000 }, () => {
  it('print to text that compiles, and parse back to the same text', () => {
    fc.assert(
      fc.property(trees.bool, sustain, scopeArbitrary, (body, window, scope) => {
        const text = printExpression(
          window === undefined ? { body } : { body, sustain: { ms: 0, text: window, offset: 0 } },
        );
        const compiled = compileExpression(text);
        assert.equal(compiled.kind, 'bool');
        assert.equal(printExpression(parseExpression(text)), text);
        assert.equal(typeof compiled.test(scope), 'boolean');
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('of every kind compile to that kind (or unknown, when a path is involved)', () => {
    for (const kind of [...NUMERIC, 'string'] as Kind[]) {
      fc.assert(fc.property(trees[kind], (node) => {
        const got = compileExpression(printExpression({ body: node })).kind;
        assert.ok(got === kind || got === 'unknown', `${printExpression({ body: node })}: ${got}, expected ${kind}`);
      }), { numRuns: 150, seed: SEED });
    }
  });
});
