// The grammar of perfy expressions (expects, captures, if:, thresholds, alerts) as a chevrotain CstParser.
// It only recognizes; meaning is given by parse.ts (CST → AST) and compile.ts (AST → closures).
//
// The same BNF is in docs/expressions.md; keep the two identical.
//
//   expression     ::= or_expr ( "for" DURATION )?
//   or_expr        ::= and_expr ( ( "or" | "||" ) and_expr )*
//   and_expr       ::= not_expr ( ( "and" | "&&" ) not_expr )*
//   not_expr       ::= ( "not" | "!" ) not_expr | comparison
//   comparison     ::= additive ( compare_op additive )?
//   compare_op     ::= "==" | "!=" | "<" | "<=" | ">" | ">=" | "matches" | "contains"
//   additive       ::= multiplicative ( ( "+" | "-" ) multiplicative )*
//   multiplicative ::= unary ( ( "*" | "/" ) unary )*
//   unary          ::= "-" unary | primary
//   primary        ::= literal | "(" or_expr ")" | call | path
//   literal        ::= NUMBER | DURATION | SIZE | PERCENT | RATE | STRING | "true" | "false" | "null"
//   path           ::= IDENT ( "." FIELD | "[" ( NUMBER | STRING ) "]" )*
//   call           ::= IDENT "(" ( NUMBER "," )? metric_ref ")"
//   metric_ref     ::= name ( "." name )* tag_filter?
//   tag_filter     ::= "{" tag ( "," tag )* "}"
//   tag            ::= FIELD ":" ( name | STRING | NUMBER )
//   name           ::= FIELD ( "-" ( FIELD | NUMBER ) )*          -- written without spaces: my-api, step-2
//
//   IDENT    ::= [A-Za-z_][A-Za-z0-9_]*                            -- not a keyword
//   FIELD    ::= IDENT | any keyword (true false null and or not matches contains for)
//   NUMBER   ::= [0-9]+ ( "." [0-9]+ )?
//   DURATION ::= ( NUMBER ( "us" | "ms" | "s" | "m" | "min" | "h" ) )+   -- 500ms, 1.5s, 1m30s
//   SIZE     ::= NUMBER ( "B" | "KB" | "MB" | "GB" | "TB" | "KiB" | "MiB" | "GiB" | "TiB" )
//   PERCENT  ::= NUMBER "%"
//   RATE     ::= NUMBER "/" ( "s" | "sec" | "m" | "min" | "h" )
//   STRING   ::= '"' ( [^"\] | "\" any )* '"' | "'" ( [^'\] | "\" any )* "'"
//
// Why a CstParser built once: chevrotain's self-analysis (computing lookahead functions) costs milliseconds,
// parsing a one-line expression costs microseconds. The parser holds no state between calls except its input,
// and compileExpression is synchronous, so one instance is safely reused by every call.

import {
  CstParser, EOF, type CstNode, type IParserErrorMessageProvider, type IToken, type TokenType,
} from './chevrotain.js';
import {
  allTokens, AdditiveOp, AndOp, Colon, Comma, CompareOp, Dot, DurationLiteral, False, FieldName, For, Identifier,
  LBrace, LBracket, LParen, Minus, MultiplicativeOp, NotOp, Null, NumberLike, NumberLiteral, OrOp, RBrace, RBracket,
  RParen, StringLiteral, True, describeTokenType, showToken,
} from './lexer.js';

/** What a rule stands for, in the user's words, when the parser cannot tell which alternative was meant. */
const RULE_MEANING: Record<string, string> = {
  expression: 'a value',
  orExpr: 'a value',
  andExpr: 'a value',
  notExpr: 'a value',
  comparison: 'a value',
  additive: 'a value',
  multiplicative: 'a value',
  unary: 'a value',
  primary: 'a value',
  literal: 'a value',
  path: 'an index (a number or a "string")',
  call: 'a metric name (like http.duration)',
  metricRef: 'a metric name (like http.duration)',
  name: 'a name',
  tagFilter: 'a tag (like step: vote)',
  tag: 'a tag value (a name, a string or a number)',
};

function after(previous: IToken | undefined): string {
  return previous !== undefined && previous.image !== '' && previous.tokenType !== EOF
    ? ` after ${showToken(previous)}`
    : '';
}

function expectedSomething(what: string, actual: IToken | undefined, previous: IToken | undefined): string {
  if (actual === undefined || actual.tokenType === EOF) return `expected ${what}${after(previous)}`;
  return `unexpected ${showToken(actual)}, expected ${what}`;
}

function meaningOf(ruleName: string, firstTokens: TokenType[]): string {
  const known = RULE_MEANING[ruleName];
  if (known !== undefined) return known;
  const labels = [...new Set(firstTokens.map(describeTokenType))];
  return labels.length === 0 ? 'more' : labels.join(' or ');
}

/** Messages in the user's words: "expected a value after `>`", "unexpected `)`", never token class names. */
export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, previous, ruleName }) {
    // Inside a function call a name is a metric or a process, not a field.
    const what =
      ruleName === 'name' && expected === FieldName ? 'a metric or process name' : describeTokenType(expected);
    return expectedSomething(what, actual, previous);
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${showToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, previous, ruleName }) {
    const first = expectedPathsPerAlt.flatMap((paths) => paths.map((path) => path[0])).filter((t) => t !== undefined);
    return expectedSomething(meaningOf(ruleName, first), actual[0], previous);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, previous, ruleName }) {
    const first = expectedIterationPaths.map((path) => path[0]).filter((t) => t !== undefined);
    return expectedSomething(meaningOf(ruleName, first), actual[0], previous);
  },
};

class ExpressionParser extends CstParser {
  constructor() {
    super(allTokens, { nodeLocationTracking: 'onlyOffset', errorMessageProvider, maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
    this.OPTION(() => {
      this.CONSUME(For);
      this.CONSUME(DurationLiteral, { LABEL: 'window' });
    });
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(OrOp, { LABEL: 'operators' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(AndOp, { LABEL: 'operators' });
      this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
    });
  });

  notExpr = this.RULE('notExpr', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(NotOp, { LABEL: 'operator' });
          this.SUBRULE(this.notExpr, { LABEL: 'operand' });
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive, { LABEL: 'operands' });
    this.OPTION(() => {
      this.CONSUME(CompareOp, { LABEL: 'operators' });
      this.SUBRULE2(this.additive, { LABEL: 'operands' });
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(AdditiveOp, { LABEL: 'operators' });
      this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
    });
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(MultiplicativeOp, { LABEL: 'operators' });
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Minus, { LABEL: 'operator' });
          this.SUBRULE(this.unary, { LABEL: 'operand' });
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.literal) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.orExpr, { LABEL: 'inner' });
          this.CONSUME(RParen);
        },
      },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.SUBRULE(this.path) },
    ]);
  });

  literal = this.RULE('literal', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLike, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(True, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(False, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(Null, { LABEL: 'value' }) },
    ]);
  });

  path = this.RULE('path', () => {
    this.CONSUME(Identifier, { LABEL: 'root' });
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(Dot);
            this.CONSUME(FieldName, { LABEL: 'segments' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBracket);
            this.OR2([
              { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'segments' }) },
              { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'segments' }) },
            ]);
            this.CONSUME(RBracket);
          },
        },
      ]);
    });
  });

  call = this.RULE('call', () => {
    this.CONSUME(Identifier, { LABEL: 'function' });
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.CONSUME(NumberLiteral, { LABEL: 'percentile' });
      this.CONSUME(Comma);
    });
    this.SUBRULE(this.metricRef);
    this.CONSUME(RParen);
  });

  metricRef = this.RULE('metricRef', () => {
    this.SUBRULE(this.name, { LABEL: 'segments' });
    this.MANY(() => {
      this.CONSUME(Dot);
      this.SUBRULE2(this.name, { LABEL: 'segments' });
    });
    this.OPTION(() => this.SUBRULE(this.tagFilter));
  });

  tagFilter = this.RULE('tagFilter', () => {
    this.CONSUME(LBrace);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.tag, { LABEL: 'tags' }) });
    this.CONSUME(RBrace);
  });

  tag = this.RULE('tag', () => {
    this.CONSUME(FieldName, { LABEL: 'key' });
    this.CONSUME(Colon);
    this.OR([
      { ALT: () => this.SUBRULE(this.name, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'value' }) },
    ]);
  });

  name = this.RULE('name', () => {
    this.CONSUME(FieldName, { LABEL: 'parts' });
    this.MANY(() => {
      this.CONSUME(Minus, { LABEL: 'parts' });
      this.OR([
        { ALT: () => this.CONSUME2(FieldName, { LABEL: 'parts' }) },
        { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'parts' }) },
      ]);
    });
  });
}

const parser = new ExpressionParser();

export interface CstResult {
  cst: CstNode | undefined;
  /** the first syntax error: its message and the token it points at */
  error: { message: string; token: IToken; kind: string } | undefined;
}

/** Parses a token list into a CST. Never throws for bad input; the first error is returned instead. */
export function parseTokens(tokens: IToken[]): CstResult {
  parser.input = tokens;
  const cst = parser.expression();
  const first = parser.errors[0];
  // Drop the token references so the shared parser does not keep the last input alive.
  parser.input = [];
  if (first === undefined) return { cst, error: undefined };
  return { cst: undefined, error: { message: first.message, token: first.token, kind: first.name } };
}
