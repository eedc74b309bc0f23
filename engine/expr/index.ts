// The one expression language of perfy (expects, captures, if:, thresholds, alerts): compile a source string
// once into closures, then evaluate it as often as needed. docs/expressions.md is the user guide.

import type { SourceLocation } from '../errors.js';
import type { ExpressionAst } from './ast.js';
import { compileAst, type CompiledExpression } from './compile.js';
import { parseToAst } from './parse.js';
import { ExpressionProblems, locateInExpression } from './report.js';

export type { ValueKind, AggregateFn, ExpressionAst, Node as ExpressionNode } from './ast.js';
export { printExpression, quoteString } from './ast.js';
export type {
  MetricRef, AggregateQuery, MetricSource, EvalScope, ExpressionInfo, CompiledExpression,
} from './compile.js';
export { VARIABLE_KINDS, aggregateKind, member, patternTest } from './compile.js';
export { functionLabel, metricLabel, queryOf } from './labels.js';
export { FUNCTION_NAMES } from './parse.js';

/**
 * Parses, checks and compiles an expression. Throws a PerfyError (E_EXPR_PARSE, E_EXPR_UNKNOWN, E_EXPR_TYPE)
 * whose locations come from `locate(offset)`, offset being a 0-based index into `source`; without `locate`
 * they are `<expr>:1:<offset + 1>`.
 */
export function compileExpression(source: string, locate?: (offset: number) => SourceLocation): CompiledExpression {
  const problems = new ExpressionProblems(locate ?? locateInExpression);
  const ast = parseToAst(source, problems);
  const compiled = compileAst(ast, problems);
  return {
    source,
    names: compiled.names,
    metrics: compiled.metrics,
    processes: compiled.processes,
    sustainMs: ast.sustain?.ms,
    kind: compiled.kind,
    evaluate: compiled.evaluate,
    test: compiled.test,
  };
}

/** The tree of an expression, without the dimension check: for tools and tests. Throws like compileExpression. */
export function parseExpression(source: string, locate?: (offset: number) => SourceLocation): ExpressionAst {
  return parseToAst(source, new ExpressionProblems(locate ?? locateInExpression));
}
