// The small tree an expression means, after parsing and before compiling: no tokens, no CST, every function
// call already resolved to an aggregate over a metric. printExpression() turns a tree back into source text.

export type ValueKind = 'number' | 'duration' | 'size' | 'ratio' | 'rate' | 'string' | 'bool' | 'unknown';

export type AggregateFn = 'percentile' | 'avg' | 'min' | 'max' | 'count' | 'rate' | 'value' | 'throughput';
export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'matches' | 'contains';
export type ArithmeticOperator = '+' | '-' | '*' | '/';

// Every node has `offset`: a 0-based index into the source where errors about the node point. For operators
// it is the operator itself; nodeStart() gives the first character of the whole node.

export interface LiteralNode {
  type: 'literal';
  value: number | string | boolean | null;
  kind: ValueKind;
  /** the literal exactly as written (`500ms`, `"json"`); the printer writes it back unchanged */
  text: string;
  offset: number;
}

export interface PathSegment {
  key: string | number;
  offset: number;
}

/** A variable (`status`) or a walk into one (`json.items[0].id`, `header["content-type"]`). */
export interface PathNode {
  type: 'path';
  root: string;
  segments: PathSegment[];
  offset: number;
}

export interface UnaryNode {
  type: 'unary';
  op: '-' | 'not';
  operand: Node;
  offset: number;
}

export interface ArithmeticNode {
  type: 'arithmetic';
  op: ArithmeticOperator;
  left: Node;
  right: Node;
  offset: number;
}

export interface LogicalNode {
  type: 'logical';
  op: 'and' | 'or';
  left: Node;
  right: Node;
  offset: number;
}

export interface CompareNode {
  type: 'compare';
  op: CompareOperator;
  left: Node;
  right: Node;
  offset: number;
}

/**
 * `p95(http.duration{step: vote})`, `rate(http.errors)`, and the monitor shorthands: `rss(api)` is this node
 * with fn `value`, metric `process.rss` and tags `{process: "api"}`, plus `process` saying where it came from.
 */
export interface AggregateNode {
  type: 'aggregate';
  /** the function name as written (`p95`, `p`, `avg`, `rss`), for printing and messages */
  call: string;
  fn: AggregateFn;
  percentile?: number;
  /** `p(99.9, ...)`: the percentile as written */
  percentileText?: string;
  metric: string;
  tags: Record<string, string>;
  /** offset of each tag's value */
  tagOffsets: Record<string, number>;
  /** the function name */
  offset: number;
  /** the metric name, or the process name for cpu/rss/heap */
  metricOffset: number;
  process?: { name: string; offset: number };
}

export type Node = LiteralNode | PathNode | UnaryNode | ArithmeticNode | LogicalNode | CompareNode | AggregateNode;

export interface ExpressionAst {
  body: Node;
  /** the `for 10s` window clause */
  sustain?: { ms: number; text: string; offset: number };
}

/** The offset of a node's first character. */
export function nodeStart(node: Node): number {
  switch (node.type) {
    case 'arithmetic':
    case 'logical':
    case 'compare':
      return nodeStart(node.left);
    default:
      return node.offset;
  }
}

/** The names a path segment can be written with after `.`; anything else is written `["..."]`. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A string literal that the lexer reads back as exactly `value`. */
export function quoteString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Source text for a tree. Every operator is parenthesized, so parsing the output gives the same tree whatever
 * the precedence; tests use it to round-trip random trees.
 */
export function printExpression(ast: ExpressionAst): string {
  const body = printNode(ast.body);
  return ast.sustain ? `${body} for ${ast.sustain.text}` : body;
}

export function printNode(node: Node): string {
  switch (node.type) {
    case 'literal':
      return node.text;
    case 'path': {
      let out = node.root;
      for (const s of node.segments) {
        if (typeof s.key === 'number') out += `[${s.key}]`;
        else out += FIELD_NAME.test(s.key) ? `.${s.key}` : `[${quoteString(s.key)}]`;
      }
      return out;
    }
    case 'unary':
      return node.op === '-' ? `(-${printNode(node.operand)})` : `(not ${printNode(node.operand)})`;
    case 'arithmetic':
    case 'logical':
    case 'compare':
      return `(${printNode(node.left)} ${node.op} ${printNode(node.right)})`;
    case 'aggregate': {
      if (node.process) return `${node.call}(${node.process.name})`;
      const tags = Object.entries(node.tags).map(([k, v]) => `${k}: ${quoteString(v)}`);
      const filter = tags.length > 0 ? `{${tags.join(', ')}}` : '';
      const percentile = node.call === 'p' ? `${node.percentileText ?? String(node.percentile)}, ` : '';
      return `${node.call}(${percentile}${node.metric}${filter})`;
    }
  }
}
