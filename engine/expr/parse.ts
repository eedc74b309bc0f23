// Source text → tokens → CST → AST, with every failure turned into a PerfyError that points at the exact
// character. Function calls are resolved here, so the AST holds only aggregates over metrics.

import { EOF, type CstElement, type CstNode, type IToken } from './chevrotain.js';
import { closest, didYouMean } from '../errors.js';
import { DURATION_UNITS_MS, SIZE_UNITS_BYTES, parseDuration, parsePercent, parseRate, parseSize } from '../units.js';
import type {
  AggregateFn, AggregateNode, CompareOperator, ExpressionAst, LiteralNode, Node, PathSegment,
} from './ast.js';
import { parseTokens } from './grammar.js';
import {
  BadUnit, CompareOp, DurationLiteral, False, For, Identifier, LBrace, LBracket, LParen, Minus, NotOp, NumberLike,
  NumberLiteral, PercentLiteral, RBrace, RBracket, RParen, RateLiteral, SingleEquals, SizeLiteral, StringLiteral, True,
  Null, tokenize, showToken,
} from './lexer.js';
import type { ExpressionProblems } from './report.js';

/** Aggregates that take only a metric reference. */
const METRIC_FUNCTIONS = new Map<string, AggregateFn>([
  ['avg', 'avg'], ['min', 'min'], ['max', 'max'], ['count', 'count'],
  ['rate', 'rate'], ['value', 'value'], ['throughput', 'throughput'],
]);
/** Monitor shorthands: `rss(api)` is `value(process.rss{process: api})`. */
const PROCESS_FUNCTIONS = new Map<string, string>([
  ['cpu', 'process.cpu'],
  ['rss', 'process.rss'],
  ['heap', 'process.heap'],
]);
const PERCENTILE_FUNCTION = /^p(\d+)$/;

/** Every function name, for "did you mean" hints and docs. */
export const FUNCTION_NAMES: readonly string[] = [
  'p50', 'p90', 'p95', 'p99', 'p', ...METRIC_FUNCTIONS.keys(), ...PROCESS_FUNCTIONS.keys(),
];

const GLUED_UNITS: readonly string[] = [...Object.keys(DURATION_UNITS_MS), ...Object.keys(SIZE_UNITS_BYTES), '%'];
const UNIT_LIST = 'durations us ms s m min h; sizes B KB MB GB TB KiB MiB GiB TiB; percent %; rates /s /m /min /h';

export function parseToAst(source: string, problems: ExpressionProblems): ExpressionAst {
  if (source.trim() === '')
    problems.fail('E_EXPR_PARSE', 'the expression is empty', 0, 'write a condition, like status == 200');

  const { tokens, badOffset } = tokenize(source);
  if (badOffset !== undefined) reportBadCharacter(source, badOffset, problems);
  for (const token of tokens) if (token.tokenType === BadUnit) reportBadUnit(token, problems);
  checkSize(tokens, problems);

  const { cst, error } = parseTokens(tokens);
  if (error !== undefined || cst === undefined) {
    const token = error?.token;
    const atEnd = token === undefined || token.tokenType === EOF;
    const index = atEnd ? tokens.length : tokens.indexOf(token);
    // At the end of input there is no token to point at: point at the last one ("expected a value after `>`").
    const offset = atEnd ? (tokens[tokens.length - 1]?.startOffset ?? 0) : token.startOffset;
    problems.fail('E_EXPR_PARSE', error?.message ?? 'the expression does not parse', offset,
      syntaxHint(atEnd ? undefined : token, tokens[index - 1], error?.kind));
  }

  const ast = new AstBuilder(source, problems).expression(cst);
  problems.throwIfAny();
  return ast;
}

/** Limits that keep the recursive parser, compiler and evaluator far from the stack limit on any input. */
export const MAX_TOKENS = 1000;
export const MAX_NESTING = 32;

function checkSize(tokens: IToken[], problems: ExpressionProblems): void {
  const tooMany = tokens[MAX_TOKENS];
  if (tooMany !== undefined) {
    problems.fail('E_EXPR_PARSE', `the expression is too long (over ${MAX_TOKENS} tokens)`, tooMany.startOffset,
      'split it into several expects or conditions');
  }
  // Nesting is what the recursive parser descends through: each open bracket, and each prefix operator
  // (`not`, `!`, a `-` that does not follow a value) until its operand ends. A prefix run just before a bracket
  // stays open until that bracket closes.
  const openRuns: number[] = [];
  let openInRuns = 0;
  let prefixRun = 0;
  let previous: IToken | undefined;
  for (const token of tokens) {
    const type = token.tokenType;
    if (type === LParen || type === LBracket || type === LBrace) {
      openRuns.push(prefixRun);
      openInRuns += prefixRun;
      prefixRun = 0;
    } else if (type === RParen || type === RBracket || type === RBrace) {
      openInRuns -= openRuns.pop() ?? 0;
      prefixRun = 0;
    } else if (type.CATEGORIES?.includes(NotOp) === true || (type === Minus && !endsValue(previous))) {
      prefixRun++;
    } else {
      prefixRun = 0;
    }
    if (openRuns.length + openInRuns + prefixRun > MAX_NESTING) {
      problems.fail(
        'E_EXPR_PARSE', `the expression is nested too deeply (over ${MAX_NESTING} levels)`, token.startOffset,
      );
    }
    previous = token;
  }
}

function endsValue(token: IToken | undefined): boolean {
  if (token === undefined) return false;
  const type = token.tokenType;
  return type === RParen || type === RBracket || type === Identifier || type === StringLiteral ||
    type === True || type === False || type === Null || type.CATEGORIES?.includes(NumberLike) === true;
}

function reportBadCharacter(source: string, offset: number, problems: ExpressionProblems): never {
  const char = String.fromCodePoint(source.codePointAt(offset) ?? 0);
  if (char === '"' || char === "'") {
    problems.fail('E_EXPR_PARSE', 'this string is never closed', offset, `end it with ${char}`);
  }
  const hints: Record<string, string> = { '&': 'write `and` (or `&&`)', '|': 'write `or` (or `||`)' };
  const shown =
    /\s/.test(char) || char < ' '
      ? `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
      : `\`${char}\``;
  problems.fail(
    'E_EXPR_PARSE',
    `unexpected character ${shown}`,
    offset,
    Object.hasOwn(hints, char) ? hints[char] : undefined,
  );
}

function reportBadUnit(token: IToken, problems: ExpressionProblems): never {
  const digits = /^\d+(?:\.\d+)?/.exec(token.image)?.[0] ?? '';
  const unit = token.image.slice(digits.length);
  // Suggest a unit glued to the number (`5s` for `5sec`); rates are written with a slash, so they are not candidates.
  const best = closest(unit, GLUED_UNITS);
  problems.fail('E_EXPR_PARSE', `unknown unit \`${unit}\` in ${showToken(token)}`, token.startOffset + digits.length,
    best === undefined ? `units are: ${UNIT_LIST}` : `did you mean ${digits}${best}?`);
}

function syntaxHint(
  token: IToken | undefined,
  previous: IToken | undefined,
  kind: string | undefined,
): string | undefined {
  if (token === undefined) return undefined;
  if (token.tokenType === SingleEquals) return 'compare with `==`';
  if (
    previous?.tokenType === NumberLiteral &&
    token.tokenType === Identifier &&
    closest(token.image, GLUED_UNITS) !== undefined
  ) {
    return `write the unit right after the number: ${previous.image}${closest(token.image, GLUED_UNITS)}`;
  }
  if (previous?.tokenType === For) return 'a window is a duration: for 10s';
  if (kind === 'NotAllInputParsedException') {
    const startsValue = [Identifier, NumberLike, StringLiteral, True, False, Null, LParen].some(
      (t) => token.tokenType === t || token.tokenType.CATEGORIES?.includes(t),
    );
    if (startsValue) return 'join conditions with `and` or `or`';
    if (token.tokenType.CATEGORIES?.includes(CompareOp)) return 'compare one pair at a time: a < b and b < c';
  }
  return undefined;
}

/** The string a string literal stands for. `\\ \" \' \n \r \t \uXXXX` are escapes; any other backslash is kept,
 * so regular expressions read naturally: "\d+" is the pattern \d+. */
export function unescapeString(literal: string): string {
  const body = literal.slice(1, -1);
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\' || i + 1 >= body.length) {
      out += ch;
      continue;
    }
    const next = body[++i]!;
    if (next === '\\' || next === '"' || next === "'") out += next;
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 't') out += '\t';
    else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += `\\${next}`;
  }
  return out;
}

// ---- CST → AST ----

function isToken(element: CstElement): element is IToken {
  return 'image' in element;
}
function tokensOf(node: CstNode, key: string): IToken[] {
  return (node.children[key] ?? []).filter(isToken);
}
function nodesOf(node: CstNode, key: string): CstNode[] {
  return (node.children[key] ?? []).filter((e): e is CstNode => !isToken(e));
}
function onlyNode(node: CstNode, key: string): CstNode {
  const child = nodesOf(node, key)[0];
  if (child === undefined) throw new Error(`expression CST: ${node.name} has no ${key}`);
  return child;
}
function onlyToken(node: CstNode, key: string): IToken {
  const token = tokensOf(node, key)[0];
  if (token === undefined) throw new Error(`expression CST: ${node.name} has no ${key}`);
  return token;
}

class AstBuilder {
  constructor(
    private readonly source: string,
    private readonly problems: ExpressionProblems,
  ) {}

  expression(cst: CstNode): ExpressionAst {
    const ast: ExpressionAst = { body: this.orExpr(onlyNode(cst, 'orExpr')) };
    const window = tokensOf(cst, 'window')[0];
    if (window !== undefined) {
      ast.sustain = { ms: this.unitValue(window, parseDuration), text: window.image, offset: window.startOffset };
    }
    return ast;
  }

  private chain(
    node: CstNode,
    operand: (n: CstNode) => Node,
    combine: (op: IToken, left: Node, right: Node) => Node,
  ): Node {
    const operands = nodesOf(node, 'operands');
    const operators = tokensOf(node, 'operators');
    let left = operand(operands[0]!);
    operators.forEach((op, i) => {
      left = combine(op, left, operand(operands[i + 1]!));
    });
    return left;
  }

  private orExpr(node: CstNode): Node {
    return this.chain(
      node,
      (n) => this.andExpr(n),
      (op, left, right) => ({ type: 'logical', op: 'or', left, right, offset: op.startOffset }),
    );
  }

  private andExpr(node: CstNode): Node {
    return this.chain(
      node,
      (n) => this.notExpr(n),
      (op, left, right) => ({ type: 'logical', op: 'and', left, right, offset: op.startOffset }),
    );
  }

  private notExpr(node: CstNode): Node {
    const op = tokensOf(node, 'operator')[0];
    if (op === undefined) return this.comparison(onlyNode(node, 'comparison'));
    return { type: 'unary', op: 'not', operand: this.notExpr(onlyNode(node, 'operand')), offset: op.startOffset };
  }

  private comparison(node: CstNode): Node {
    return this.chain(node, (n) => this.additive(n), (op, left, right) => ({
      type: 'compare', op: op.image as CompareOperator, left, right, offset: op.startOffset,
    }));
  }

  private additive(node: CstNode): Node {
    return this.chain(node, (n) => this.multiplicative(n), (op, left, right) => ({
      type: 'arithmetic', op: op.image === '+' ? '+' : '-', left, right, offset: op.startOffset,
    }));
  }

  private multiplicative(node: CstNode): Node {
    return this.chain(node, (n) => this.unary(n), (op, left, right) => ({
      type: 'arithmetic', op: op.image === '*' ? '*' : '/', left, right, offset: op.startOffset,
    }));
  }

  private unary(node: CstNode): Node {
    const op = tokensOf(node, 'operator')[0];
    if (op === undefined) return this.primary(onlyNode(node, 'primary'));
    return { type: 'unary', op: '-', operand: this.unary(onlyNode(node, 'operand')), offset: op.startOffset };
  }

  private primary(node: CstNode): Node {
    const [literal] = nodesOf(node, 'literal');
    if (literal !== undefined) return this.literal(onlyToken(literal, 'value'));
    const [inner] = nodesOf(node, 'inner');
    if (inner !== undefined) return this.orExpr(inner);
    const [call] = nodesOf(node, 'call');
    if (call !== undefined) return this.call(call);
    return this.path(onlyNode(node, 'path'));
  }

  private literal(token: IToken): LiteralNode {
    const at = { text: token.image, offset: token.startOffset };
    switch (token.tokenType) {
      case NumberLiteral:
        return { type: 'literal', value: Number(token.image), kind: 'number', ...at };
      case DurationLiteral:
        return { type: 'literal', value: this.unitValue(token, parseDuration), kind: 'duration', ...at };
      case SizeLiteral:
        return { type: 'literal', value: this.unitValue(token, parseSize), kind: 'size', ...at };
      case PercentLiteral:
        return { type: 'literal', value: this.unitValue(token, parsePercent), kind: 'ratio', ...at };
      case RateLiteral:
        return { type: 'literal', value: this.unitValue(token, parseRate), kind: 'rate', ...at };
      case StringLiteral:
        return { type: 'literal', value: unescapeString(token.image), kind: 'string', ...at };
      case True:
        return { type: 'literal', value: true, kind: 'bool', ...at };
      case False:
        return { type: 'literal', value: false, kind: 'bool', ...at };
      default:
        return { type: 'literal', value: null, kind: 'unknown', ...at };
    }
  }

  /** The lexer patterns and units.ts agree, so this parse cannot fail; a failure is a bug worth a clear message. */
  private unitValue(token: IToken, parse: (text: string) => number | undefined): number {
    const value = parse(token.image);
    if (value === undefined) throw new Error(`expression lexer and units.ts disagree about ${token.image}`);
    return value;
  }

  private path(node: CstNode): Node {
    const root = onlyToken(node, 'root');
    const segments: PathSegment[] = tokensOf(node, 'segments').map((token) => {
      if (token.tokenType === StringLiteral) return { key: unescapeString(token.image), offset: token.startOffset };
      if (token.tokenType === NumberLiteral) {
        if (!/^\d+$/.test(token.image)) {
          this.problems.add('E_EXPR_PARSE', `an index is a whole number, not ${token.image}`, token.startOffset);
        }
        return { key: Number(token.image), offset: token.startOffset };
      }
      return { key: token.image, offset: token.startOffset };
    });
    return { type: 'path', root: root.image, segments, offset: root.startOffset };
  }

  /** `my-api`, `step-2`: a name glued together from tokens, which must touch (no spaces inside a name). */
  private name(node: CstNode): { text: string; offset: number } {
    const parts = tokensOf(node, 'parts').sort((a, b) => a.startOffset - b.startOffset);
    const first = parts[0]!;
    for (let i = 1; i < parts.length; i++) {
      const previousEnd = parts[i - 1]!.endOffset ?? parts[i - 1]!.startOffset + parts[i - 1]!.image.length - 1;
      if (parts[i]!.startOffset !== previousEnd + 1) {
        this.problems.add(
          'E_EXPR_PARSE',
          'a name cannot contain spaces',
          previousEnd + 1,
          'write it without spaces, or quote it: "my name"',
        );
        break;
      }
    }
    const last = parts[parts.length - 1]!;
    return {
      text: this.source.slice(first.startOffset, last.startOffset + last.image.length),
      offset: first.startOffset,
    };
  }

  private call(node: CstNode): Node {
    const fnToken = onlyToken(node, 'function');
    const name = fnToken.image;
    const offset = fnToken.startOffset;
    const percentileToken = tokensOf(node, 'percentile')[0];
    const ref = onlyNode(node, 'metricRef');
    const segments = nodesOf(ref, 'segments').map((n) => this.name(n));
    const metric = segments.map((s) => s.text).join('.');
    const metricOffset = segments[0]?.offset ?? offset;
    const filter = nodesOf(ref, 'tagFilter')[0];
    const { tags, tagOffsets } = filter === undefined ? { tags: {}, tagOffsets: {} } : this.tags(filter);
    const placeholder: LiteralNode = { type: 'literal', value: null, kind: 'unknown', text: 'null', offset };

    const base = { type: 'aggregate', call: name, metric, tags, tagOffsets, offset, metricOffset } as const;
    if (percentileToken !== undefined && name !== 'p') {
      this.problems.add(
        'E_EXPR_PARSE',
        `${name}() takes one argument, a metric`,
        percentileToken.startOffset,
        PERCENTILE_FUNCTION.test(name) || name === 'p'
          ? 'for a decimal percentile write p(99.9, http.duration)'
          : undefined,
      );
      return placeholder;
    }

    const processMetric = PROCESS_FUNCTIONS.get(name);
    if (processMetric !== undefined) {
      if (segments.length !== 1 || filter !== undefined) {
        this.problems.add(
          'E_EXPR_PARSE', `${name}() takes the name of a process from services:`, metricOffset, `like ${name}(api)`,
        );
        return placeholder;
      }
      const processName = segments[0]!;
      return {
        ...base,
        fn: 'value',
        metric: processMetric,
        tags: { process: processName.text },
        tagOffsets: { process: processName.offset },
        process: { name: processName.text, offset: processName.offset },
      } satisfies AggregateNode;
    }

    const simple = METRIC_FUNCTIONS.get(name);
    if (simple !== undefined) return { ...base, fn: simple } satisfies AggregateNode;

    if (name === 'p') {
      if (percentileToken === undefined) {
        this.problems.add(
          'E_EXPR_PARSE', 'p() takes the percentile first', metricOffset, 'like p(99.9, http.duration)',
        );
        return placeholder;
      }
      const percentile = Number(percentileToken.image);
      if (!(percentile <= 100)) {
        this.problems.add(
          'E_EXPR_PARSE', `a percentile is between 0 and 100, not ${percentileToken.image}`,
          percentileToken.startOffset,
        );
        return placeholder;
      }
      return { ...base, fn: 'percentile', percentile, percentileText: percentileToken.image } satisfies AggregateNode;
    }

    const digits = PERCENTILE_FUNCTION.exec(name)?.[1];
    if (digits !== undefined) {
      const percentile = Number(digits);
      if (percentile > 100) {
        this.problems.add(
          'E_EXPR_UNKNOWN', `${name} is not a percentile: they go from p0 to p100`, offset,
          `for the ${digits.slice(0, 2)}.${digits.slice(2)}th percentile write ` +
            `p(${digits.slice(0, 2)}.${digits.slice(2)}, ${metric})`,
        );
        return placeholder;
      }
      return { ...base, fn: 'percentile', percentile } satisfies AggregateNode;
    }

    this.problems.add('E_EXPR_UNKNOWN', `unknown function ${name}()`, offset,
      didYouMean(name, FUNCTION_NAMES) ?? `the functions are: ${FUNCTION_NAMES.join(', ')}`);
    return placeholder;
  }

  private tags(filter: CstNode): { tags: Record<string, string>; tagOffsets: Record<string, number> } {
    const entries: [string, string][] = [];
    const offsets: [string, number][] = [];
    for (const tag of nodesOf(filter, 'tags')) {
      const key = onlyToken(tag, 'key');
      const nameValue = nodesOf(tag, 'value')[0];
      const tokenValue = tokensOf(tag, 'value')[0];
      let value = '';
      let valueOffset = key.startOffset;
      if (nameValue !== undefined) ({ text: value, offset: valueOffset } = this.name(nameValue));
      else if (tokenValue !== undefined) {
        value = tokenValue.tokenType === StringLiteral ? unescapeString(tokenValue.image) : tokenValue.image;
        valueOffset = tokenValue.startOffset;
      }
      if (entries.some(([k]) => k === key.image)) {
        this.problems.add('E_EXPR_PARSE', `the tag ${key.image} is given twice`, key.startOffset);
      }
      entries.push([key.image, value]);
      offsets.push([key.image, valueOffset]);
    }
    // fromEntries defines own properties, so a tag named __proto__ stays a tag.
    return { tags: Object.fromEntries(entries), tagOffsets: Object.fromEntries(offsets) };
  }
}
