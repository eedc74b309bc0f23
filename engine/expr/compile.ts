// AST → plain closures, with the dimension check (a duration is never compared with a size) done on the way.
// Closures are built once per expression; evaluating one allocates nothing and never throws on missing data.

import type {
  AggregateFn, AggregateNode, ArithmeticNode, CompareNode, ExpressionAst, LogicalNode, Node, PathNode, UnaryNode,
  ValueKind,
} from './ast.js';
import { nodeStart, type LiteralNode } from './ast.js';
import { RE2JS, RE2JSSyntaxException } from 're2js';
import type { ExpressionProblems } from './report.js';

export interface MetricRef {
  metric: string;
  tags: Record<string, string>;
  /** offset of the metric name in the source (of the process name for cpu/rss/heap) */
  offset: number;
  /** offset of each tag's value in the source */
  tagOffsets: Record<string, number>;
}

export interface AggregateQuery {
  fn: AggregateFn;
  percentile?: number;
  metric: string;
  tags: Record<string, string>;
}

export interface MetricSource {
  /** undefined when the metric has no samples (matching the tags) */
  aggregate(q: AggregateQuery): number | undefined;
}

export interface EvalScope {
  vars: Record<string, unknown>;
  metrics?: MetricSource;
}

export interface ExpressionInfo {
  source: string;
  /** root identifiers read as variables (json, status, debate, …) with their source offsets, in source order */
  names: { name: string; offset: number }[];
  /** metric references of aggregate/monitor calls, in source order */
  metrics: (MetricRef & { fn: AggregateQuery['fn']; percentile?: number })[];
  /** process names used by cpu/rss/heap (also present in metrics as tags.process) */
  processes: { name: string; offset: number }[];
  sustainMs: number | undefined;
  /** kind of the whole expression's value */
  kind: ValueKind;
}

export interface CompiledExpression extends ExpressionInfo {
  /** the raw value (captures) */
  evaluate(scope: EvalScope): unknown;
  /** truthiness (expects, if:, thresholds, alerts) */
  test(scope: EvalScope): boolean;
}

type Evaluator = (scope: EvalScope) => unknown;
type Predicate = (scope: EvalScope) => boolean;

/** What compiling a node gives: its closure plus what the checker knows about it. */
interface Part {
  fn: Evaluator;
  kind: ValueKind;
  /** the value is computed from a metric aggregate, so it is undefined when there are no samples */
  readsMetric: boolean;
  /** fn always returns a boolean (comparisons, and/or/not): test() can use it as is */
  isBool: boolean;
  /** set for literals: lets comparisons against a constant take the fast path */
  constant?: { value: unknown };
}

/** Variables whose kind is known everywhere they exist. */
export const VARIABLE_KINDS: Readonly<Record<string, ValueKind>> = { duration: 'duration', status: 'number' };

/** Metrics measured in milliseconds, bytes or fractions, by the last segment of their name. */
const DURATION_METRICS = new Set(['duration', 'connect', 'ttfb', 'tls', 'wait', 'lag']);
const SIZE_METRICS = new Set(['rss', 'heap']);
const RATIO_METRICS = new Set(['cpu']);

const DIMENSIONS: ReadonlySet<ValueKind> = new Set<ValueKind>(['duration', 'size', 'ratio', 'rate']);
const KIND_NAMES: Record<ValueKind, string> = {
  number: 'a plain number', duration: 'a duration', size: 'a size', ratio: 'a percentage', rate: 'a rate',
  string: 'a string', bool: 'true/false', unknown: 'a value',
};
const UNIT_EXAMPLES: Record<string, string> = { duration: 'ms', size: 'MB', ratio: '%', rate: '/s' };

export function aggregateKind(fn: AggregateFn, metric: string): ValueKind {
  if (fn === 'rate') return 'ratio';
  if (fn === 'count') return 'number';
  if (fn === 'throughput') return 'rate';
  const last = metric.slice(metric.lastIndexOf('.') + 1);
  if (DURATION_METRICS.has(last)) return 'duration';
  if (SIZE_METRICS.has(last)) return 'size';
  if (RATIO_METRICS.has(last)) return 'ratio';
  return 'unknown';
}

// ---- runtime helpers: small, monomorphic in their arguments' use, never throwing ----

/** Text that is a number ("42" from a header) as that number; NaN otherwise, which every comparison rejects. */
function textNumber(text: string): number {
  return text.trim() === '' ? NaN : Number(text);
}

function asNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? textNumber(value) : NaN;
}

/**
 * One step of a path. Only own properties are visible (no `constructor`, no `__proto__`); of a string, its
 * `length` and its characters by index. Templates read their paths with it too.
 */
export function member(value: unknown, key: string | number): unknown {
  if (typeof value === 'object' && value !== null) {
    return Object.hasOwn(value, key) ? (value as Record<string | number, unknown>)[key] : undefined;
  }
  if (typeof value === 'string') {
    if (key === 'length') return value.length;
    if (typeof key === 'number') return value[key];
  }
  return undefined;
}

/** `==`: null and a missing value are equal; a number equals text that reads as that number. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || a === null) return b === undefined || b === null;
  if (typeof a === 'number' && typeof b === 'string') return a === textNumber(b);
  if (typeof a === 'string' && typeof b === 'number') return textNumber(a) === b;
  return false;
}

function less(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  return asNumber(a) < asNumber(b);
}

function lessOrEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a <= b;
  return asNumber(a) <= asNumber(b);
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string') {
    if (typeof needle === 'string') return haystack.includes(needle);
    return typeof needle === 'number' && haystack.includes(String(needle));
  }
  if (Array.isArray(haystack)) {
    for (const item of haystack) if (equal(item, needle)) return true;
  }
  return false;
}

function arithmetic(op: ArithmeticNode['op'], a: unknown, b: unknown): unknown {
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  const x = asNumber(a);
  const y = asNumber(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return undefined;
  const result = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
  return Number.isNaN(result) ? undefined : result;
}

/** `v <op> c` for a number constant c: the shape of nearly every expect (`status == 200`, `duration < 500ms`). */
function compareWithConstant(
  op: '==' | '!=' | '<' | '<=' | '>' | '>=',
  get: Evaluator,
  c: number,
  rejectUndefined: boolean,
): Predicate {
  switch (op) {
    case '==':
      return (s) => {
        const v = get(s);
        return v === c || (typeof v === 'string' && textNumber(v) === c);
      };
    case '!=':
      if (rejectUndefined) {
        return (s) => {
          const v = get(s);
          return v !== undefined && v !== c && !(typeof v === 'string' && textNumber(v) === c);
        };
      }
      return (s) => {
        const v = get(s);
        return v !== c && !(typeof v === 'string' && textNumber(v) === c);
      };
    case '<':
      return (s) => {
        const v = get(s);
        return typeof v === 'number' ? v < c : typeof v === 'string' && textNumber(v) < c;
      };
    case '<=':
      return (s) => {
        const v = get(s);
        return typeof v === 'number' ? v <= c : typeof v === 'string' && textNumber(v) <= c;
      };
    case '>':
      return (s) => {
        const v = get(s);
        return typeof v === 'number' ? v > c : typeof v === 'string' && textNumber(v) > c;
      };
    case '>=':
      return (s) => {
        const v = get(s);
        return typeof v === 'number' ? v >= c : typeof v === 'string' && textNumber(v) >= c;
      };
  }
}

const ORDERING = new Set(['<', '<=', '>', '>=']);

export interface CompileOutput {
  evaluate: Evaluator;
  test: Predicate;
  kind: ValueKind;
  names: ExpressionInfo['names'];
  metrics: ExpressionInfo['metrics'];
  processes: ExpressionInfo['processes'];
}

export function compileAst(ast: ExpressionAst, problems: ExpressionProblems): CompileOutput {
  const compiler = new Compiler(problems);
  const body = compiler.node(ast.body);
  problems.throwIfAny();
  const evaluate = body.fn;
  const test: Predicate = body.isBool ? (body.fn as Predicate) : (s) => !!evaluate(s);
  return {
    evaluate, test, kind: body.kind, names: compiler.names, metrics: compiler.metrics, processes: compiler.processes,
  };
}

class Compiler {
  readonly names: ExpressionInfo['names'] = [];
  readonly metrics: ExpressionInfo['metrics'] = [];
  readonly processes: ExpressionInfo['processes'] = [];

  constructor(private readonly problems: ExpressionProblems) {}

  node(node: Node): Part {
    switch (node.type) {
      case 'literal': {
        const value = node.value;
        return {
          fn: () => value,
          kind: node.kind,
          readsMetric: false,
          isBool: typeof value === 'boolean',
          constant: { value },
        };
      }
      case 'path':
        return this.path(node);
      case 'aggregate':
        return this.aggregate(node);
      case 'unary':
        return this.unary(node);
      case 'logical':
        return this.logical(node);
      case 'arithmetic':
        return this.arithmetic(node);
      case 'compare':
        return this.compare(node);
    }
  }

  private path(node: PathNode): Part {
    this.names.push({ name: node.root, offset: node.offset });
    const key = node.root;
    // A plain property read is the fast path; names that Object.prototype also has must not leak its members.
    const root: Evaluator = key in Object.prototype
      ? (s) => (Object.hasOwn(s.vars, key) ? s.vars[key] : undefined)
      : (s) => s.vars[key];
    const keys = node.segments.map((segment) => segment.key);
    const kind = keys.length === 0 && Object.hasOwn(VARIABLE_KINDS, key) ? VARIABLE_KINDS[key]! : 'unknown';
    let fn: Evaluator;
    if (keys.length === 0) fn = root;
    else if (keys.length === 1) {
      const only = keys[0]!;
      fn = (s) => member(root(s), only);
    } else {
      fn = (s) => {
        let value = root(s);
        for (let i = 0; i < keys.length && value !== undefined; i++) value = member(value, keys[i]!);
        return value;
      };
    }
    return { fn, kind, readsMetric: false, isBool: false };
  }

  private aggregate(node: AggregateNode): Part {
    const tags = Object.freeze({ ...node.tags });
    const query: AggregateQuery = node.percentile === undefined
      ? { fn: node.fn, metric: node.metric, tags }
      : { fn: node.fn, percentile: node.percentile, metric: node.metric, tags };
    Object.freeze(query);
    const ref: ExpressionInfo['metrics'][number] = {
      metric: node.metric,
      tags: { ...node.tags },
      tagOffsets: { ...node.tagOffsets },
      offset: node.metricOffset,
      fn: node.fn,
    };
    if (node.percentile !== undefined) ref.percentile = node.percentile;
    this.metrics.push(ref);
    if (node.process) this.processes.push({ ...node.process });
    const fn: Evaluator = (s) => {
      const source = s.metrics;
      return source === undefined ? undefined : source.aggregate(query);
    };
    return { fn, kind: aggregateKind(node.fn, node.metric), readsMetric: true, isBool: false };
  }

  private unary(node: UnaryNode): Part {
    const operand = this.node(node.operand);
    const get = operand.fn;
    if (node.op === 'not') {
      return { fn: (s) => !get(s), kind: 'bool', readsMetric: operand.readsMetric, isBool: true };
    }
    if (operand.kind === 'string' || operand.kind === 'bool') {
      this.typeError(node.offset, `\`-\` needs a number, not ${KIND_NAMES[operand.kind]}`);
    }
    const fn: Evaluator = (s) => {
      const n = asNumber(get(s));
      return Number.isNaN(n) ? undefined : -n;
    };
    return { fn, kind: operand.kind, readsMetric: operand.readsMetric, isBool: false };
  }

  private logical(node: LogicalNode): Part {
    const left = this.node(node.left);
    const right = this.node(node.right);
    const l = left.fn;
    const r = right.fn;
    let fn: Predicate;
    if (left.isBool && right.isBool) {
      fn =
        node.op === 'and'
          ? (s) => (l(s) as boolean) && (r(s) as boolean)
          : (s) => (l(s) as boolean) || (r(s) as boolean);
    } else {
      fn = node.op === 'and' ? (s) => !!l(s) && !!r(s) : (s) => !!l(s) || !!r(s);
    }
    return { fn, kind: 'bool', readsMetric: left.readsMetric || right.readsMetric, isBool: true };
  }

  private arithmetic(node: ArithmeticNode): Part {
    const left = this.node(node.left);
    const right = this.node(node.right);
    const kind = this.arithmeticKind(node, left.kind, right.kind);
    const l = left.fn;
    const r = right.fn;
    const op = node.op;
    return {
      fn: (s) => arithmetic(op, l(s), r(s)),
      kind,
      readsMetric: left.readsMetric || right.readsMetric,
      isBool: false,
    };
  }

  /** + and - keep the kind of their operands; * and / give a plain number, or unknown once a unit is involved. */
  private arithmeticKind(node: ArithmeticNode, l: ValueKind, r: ValueKind): ValueKind {
    const { op } = node;
    if (op === '+' && (l === 'string' || r === 'string')) {
      if ((l === 'string' || l === 'unknown') && (r === 'string' || r === 'unknown')) return 'string';
      this.kindMismatch(node, l, r);
      return 'unknown';
    }
    for (const [side, kind] of [[node.left, l], [node.right, r]] as const) {
      if (kind === 'string' || kind === 'bool') {
        this.typeError(nodeStart(side), `\`${op}\` needs numbers, not ${KIND_NAMES[kind]}`);
        return 'unknown';
      }
    }
    if (op === '*' || op === '/') return l === 'number' && r === 'number' ? 'number' : 'unknown';
    if (l === 'unknown') return r;
    if (r === 'unknown' || l === r) return l;
    if (this.kindMismatch(node, l, r)) return 'unknown';
    return l === 'number' ? r : l;
  }

  private compare(node: CompareNode): Part {
    const left = this.node(node.left);
    const right = this.node(node.right);
    const readsMetric = left.readsMetric || right.readsMetric;
    const l = left.fn;
    const r = right.fn;
    const op = node.op;

    if (op === 'matches') return { fn: this.matches(node, left), kind: 'bool', readsMetric, isBool: true };
    if (op === 'contains') {
      if (left.kind !== 'string' && left.kind !== 'unknown') {
        this.typeError(node.offset, `\`contains\` looks inside text or a list, not ${KIND_NAMES[left.kind]}`);
      }
      const fn: Predicate = readsMetric
        ? (s) => {
            const a = l(s);
            const b = r(s);
            return a !== undefined && b !== undefined && contains(a, b);
          }
        : (s) => contains(l(s), r(s));
      return { fn, kind: 'bool', readsMetric, isBool: true };
    }

    if (ORDERING.has(op) && (left.kind === 'bool' || right.kind === 'bool')) {
      this.typeError(node.offset, `\`${op}\` cannot order true/false values`);
    } else if (left.kind !== 'unknown' && right.kind !== 'unknown' && left.kind !== right.kind) {
      this.kindMismatch(node, left.kind, right.kind);
    }

    const constant = right.constant?.value;
    if (typeof constant === 'number') {
      return { fn: compareWithConstant(op, l, constant, readsMetric), kind: 'bool', readsMetric, isBool: true };
    }
    const test: (a: unknown, b: unknown) => boolean =
      op === '==' ? equal
      : op === '!=' ? (a, b) => !equal(a, b)
      : op === '<' ? less
      : op === '<=' ? lessOrEqual
      : op === '>' ? (a, b) => less(b, a)
      : (a, b) => lessOrEqual(b, a);
    // A metric with no samples is undefined, and every comparison that reads it is false, `!=` included.
    const fn: Predicate = readsMetric
      ? (s) => {
          const a = l(s);
          if (a === undefined) return false;
          const b = r(s);
          return b !== undefined && test(a, b);
        }
      : (s) => test(l(s), r(s));
    return { fn, kind: 'bool', readsMetric, isBool: true };
  }

  /** The pattern is compiled here, once; a bad pattern is a parse error at the string literal. */
  private matches(node: CompareNode, left: Part): Predicate {
    const pattern = node.right;
    if (pattern.type !== 'literal' || typeof pattern.value !== 'string') {
      this.problems.add(
        'E_EXPR_PARSE', '`matches` needs a string literal on its right: the regular expression', nodeStart(pattern),
        'like header["content-type"] matches "json"',
      );
      return () => false;
    }
    if (left.kind !== 'string' && left.kind !== 'number' && left.kind !== 'unknown') {
      this.typeError(node.offset, `\`matches\` tests text, not ${KIND_NAMES[left.kind]}`);
    }
    let test: (text: string) => boolean;
    try {
      test = patternTest(pattern.value);
    } catch (error) {
      if (!(error instanceof RE2JSSyntaxException)) throw error;
      this.regexProblem(pattern, error);
      return () => false;
    }
    const get = left.fn;
    return (s) => {
      const v = get(s);
      return typeof v === 'string' ? test(v) : typeof v === 'number' && test(String(v));
    };
  }

  /** E_EXPR_REGEX at the part of the pattern RE2 refused (found in the literal as written), else at the literal. */
  private regexProblem(pattern: LiteralNode, error: RE2JSSyntaxException): void {
    const fragment = error.getPattern() ?? '';
    const at = fragment === '' ? -1 : pattern.text.indexOf(fragment, 1);
    const offset = pattern.offset + Math.max(0, at);
    const unsupported = /^(?:\\(?:[1-9]|k)|\(\?<?[=!])/.test(fragment);
    const hint = unsupported
      ? 'backreferences (\\1, \\k<name>) and lookarounds ((?=, (?!, (?<=, (?<!) are not supported: perfy matches with '
        + 'RE2, in time linear in the text, so that no response can stall the run; they need backtracking, whose time '
        + 'can grow exponentially with the text'
      : 'the syntax is RE2\'s (docs/expressions.md): like JavaScript\'s, without backreferences and lookarounds';
    const message = `not a regular expression perfy can run: ${error.getDescription()}: \`${fragment}\``;
    this.problems.add('E_EXPR_REGEX', message, offset, hint);
  }

  /**
   * Two different known kinds meet: reports it and returns true. A bare number against a unit gets the hint to
   * write the unit, except a literal 0, which means the same in every unit (`p95(x) != 0`).
   */
  private kindMismatch(node: CompareNode | ArithmeticNode, l: ValueKind, r: ValueKind): boolean {
    const bareSide =
      l === 'number' && DIMENSIONS.has(r) ? node.left : r === 'number' && DIMENSIONS.has(l) ? node.right : undefined;
    if (bareSide !== undefined) {
      if (bareSide.type === 'literal' && bareSide.value === 0) return false;
      const other = bareSide === node.left ? r : l;
      const text = numberText(bareSide);
      const unit = UNIT_EXAMPLES[other]!;
      this.typeError(nodeStart(bareSide),
        `${text === undefined ? 'this number' : text} has no unit, but the other side is ${KIND_NAMES[other]}`,
        text === undefined ? `give it a unit, like 500${unit}` : `write the unit: ${text}${unit}`);
      return true;
    }
    const verb =
      node.type === 'compare'
        ? `compares ${KIND_NAMES[l]} with ${KIND_NAMES[r]}`
        : `mixes ${KIND_NAMES[l]} and ${KIND_NAMES[r]}`;
    this.typeError(node.offset, `\`${node.op}\` ${verb}`, mismatchHint(l, r));
    return true;
  }

  private typeError(offset: number, message: string, hint?: string): void {
    this.problems.add('E_EXPR_TYPE', message, offset, hint);
  }
}

/** Text with none of RE2's special characters, optionally anchored: `json`, `^2`, `^ok$`. */
const ANCHORED_LITERAL = /^(\^?)([^\\^$.|?*+()[\]{}]*)(\$?)$/;

/**
 * What `matches` runs: RE2 (time linear in the text, whatever the pattern; throws RE2JSSyntaxException on what it
 * cannot take), or for the common plain-text patterns (`matches "json"`) a string search, several times faster
 * than RE2 and meaning the same.
 */
export function patternTest(pattern: string): (text: string) => boolean {
  const literal = ANCHORED_LITERAL.exec(pattern);
  if (literal) {
    const [, start, text = '', end] = literal;
    if (start && end) return (v) => v === text;
    if (start) return (v) => v.startsWith(text);
    if (end) return (v) => v.endsWith(text);
    return (v) => v.includes(text);
  }
  const re = RE2JS.compile(pattern);
  return (v) => re.test(v);
}

/** The literal text of a bare number operand (`500`, `-3`), if that is what it is. */
function numberText(node: Node): string | undefined {
  if (node.type === 'literal' && node.kind === 'number') return node.text;
  if (node.type === 'unary' && node.op === '-') {
    const inner = numberText(node.operand);
    return inner === undefined ? undefined : `-${inner}`;
  }
  return undefined;
}

function mismatchHint(l: ValueKind, r: ValueKind): string {
  const pair = new Set([l, r]);
  if (pair.has('ratio') && pair.has('rate')) {
    return 'rate() is the share of samples that are true (a percentage); throughput() is per second (50/s)';
  }
  if (pair.has('string') && pair.has('number')) return 'write the number without quotes';
  return 'both sides must be the same kind of value';
}
