// Tokens of the expression language, grouped by category so the grammar can say "any comparison operator"
// or "any field name" with one token type. The lexer is built once at import; tokenize() never throws.

import { createToken, Lexer, type IToken, type TokenType } from './chevrotain.js';

/** A letter, digit or underscore right after a unit would make it a different word (`10/status`, `5msx`). */
const WORD_END = '(?![A-Za-z0-9_])';
const NUM = '\\d+(?:\\.\\d+)?';

// ---- categories (never produced by the lexer themselves) ----
/** Anything that can follow `.` in a path or name a tag: identifiers and every keyword (`json.for` is fine). */
export const FieldName = createToken({ name: 'FieldName', pattern: Lexer.NA, label: 'a field name' });
export const CompareOp = createToken({ name: 'CompareOp', pattern: Lexer.NA, label: 'a comparison' });
export const AdditiveOp = createToken({ name: 'AdditiveOp', pattern: Lexer.NA, label: '`+` or `-`' });
export const MultiplicativeOp = createToken({ name: 'MultiplicativeOp', pattern: Lexer.NA, label: '`*` or `/`' });
export const AndOp = createToken({ name: 'AndOp', pattern: Lexer.NA, label: '`and`' });
export const OrOp = createToken({ name: 'OrOp', pattern: Lexer.NA, label: '`or`' });
export const NotOp = createToken({ name: 'NotOp', pattern: Lexer.NA, label: '`not`' });
/** Numbers with or without a unit: the kind of the value is the token type. */
export const NumberLike = createToken({ name: 'NumberLike', pattern: Lexer.NA, label: 'a number' });

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED, line_breaks: true });

export const Identifier = createToken({
  name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name', categories: [FieldName],
});
function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(`${word}${WORD_END}`),
    longer_alt: Identifier,
    label: `\`${word}\``,
    categories: [FieldName, ...categories],
  });
}
export const True = keyword('true');
export const False = keyword('false');
export const Null = keyword('null');
export const And = keyword('and', [AndOp]);
export const Or = keyword('or', [OrOp]);
export const Not = keyword('not', [NotOp]);
export const Matches = keyword('matches', [CompareOp]);
export const Contains = keyword('contains', [CompareOp]);
export const For = keyword('for');

export const StringLiteral = createToken({
  name: 'StringLiteral', pattern: /"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'/, line_breaks: true, label: 'a string',
});

// Unit alternatives are ordered longest first where one is a prefix of another (`ms` before `m`, `min` before `m`).
export const DurationLiteral = createToken({
  name: 'DurationLiteral', pattern: new RegExp(`(?:${NUM}(?:us|ms|min|s|m|h))+${WORD_END}`),
  label: 'a duration (like 500ms)', categories: [NumberLike],
});
export const SizeLiteral = createToken({
  name: 'SizeLiteral', pattern: new RegExp(`${NUM}(?:KiB|MiB|GiB|TiB|KB|MB|GB|TB|B)${WORD_END}`),
  label: 'a size (like 512MB)', categories: [NumberLike],
});
export const PercentLiteral = createToken({
  name: 'PercentLiteral', pattern: new RegExp(`${NUM}%`), label: 'a percentage (like 1%)', categories: [NumberLike],
});
export const RateLiteral = createToken({
  name: 'RateLiteral', pattern: new RegExp(`${NUM}/(?:sec|min|s|m|h)${WORD_END}`),
  label: 'a rate (like 50/s)', categories: [NumberLike],
});
/** A number glued to a word that is not a unit (`5sec`, `10Mb`): reported as "unknown unit", never parsed. */
export const BadUnit = createToken({
  name: 'BadUnit',
  pattern: new RegExp(`${NUM}[A-Za-z_][A-Za-z0-9_]*`),
  label: 'a number',
});
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: new RegExp(NUM),
  label: 'a number',
  categories: [NumberLike],
});

export const Eq = createToken({ name: 'Eq', pattern: /==/, label: '`==`', categories: [CompareOp] });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/, label: '`!=`', categories: [CompareOp] });
export const LessEq = createToken({ name: 'LessEq', pattern: /<=/, label: '`<=`', categories: [CompareOp] });
export const GreaterEq = createToken({ name: 'GreaterEq', pattern: />=/, label: '`>=`', categories: [CompareOp] });
export const Less = createToken({ name: 'Less', pattern: /</, label: '`<`', categories: [CompareOp] });
export const Greater = createToken({ name: 'Greater', pattern: />/, label: '`>`', categories: [CompareOp] });
/** Never valid: lexed so that `status = 200` reads "unexpected `=`" with a hint instead of a lexer error. */
export const SingleEquals = createToken({ name: 'SingleEquals', pattern: /=/, label: '`=`' });
export const AmpAmp = createToken({ name: 'AmpAmp', pattern: /&&/, label: '`&&`', categories: [AndOp] });
export const PipePipe = createToken({ name: 'PipePipe', pattern: /\|\|/, label: '`||`', categories: [OrOp] });
export const Bang = createToken({ name: 'Bang', pattern: /!/, label: '`!`', categories: [NotOp] });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, label: '`+`', categories: [AdditiveOp] });
export const Minus = createToken({ name: 'Minus', pattern: /-/, label: '`-`', categories: [AdditiveOp] });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: '`*`', categories: [MultiplicativeOp] });
export const Slash = createToken({ name: 'Slash', pattern: /\//, label: '`/`', categories: [MultiplicativeOp] });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: '`(`' });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: '`)`' });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: '`[`' });
export const RBracket = createToken({ name: 'RBracket', pattern: /]/, label: '`]`' });
export const LBrace = createToken({ name: 'LBrace', pattern: /{/, label: '`{`' });
export const RBrace = createToken({ name: 'RBrace', pattern: /}/, label: '`}`' });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: '`.`' });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: '`,`' });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: '`:`' });

/** Order matters: chevrotain takes the first pattern that matches, so longer operators and unit numbers go first. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  StringLiteral,
  DurationLiteral, SizeLiteral, PercentLiteral, RateLiteral, BadUnit, NumberLiteral,
  Eq, NotEq, LessEq, GreaterEq, Less, Greater, SingleEquals,
  AmpAmp, PipePipe, Bang,
  Plus, Minus, Star, Slash,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Dot, Comma, Colon,
  True, False, Null, And, Or, Not, Matches, Contains, For,
  Identifier,
  FieldName, CompareOp, AdditiveOp, MultiplicativeOp, AndOp, OrOp, NotOp, NumberLike,
];

const lexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true });

export interface LexResult {
  tokens: IToken[];
  /** offset of the first character the lexer could not read, if any */
  badOffset: number | undefined;
}

export function tokenize(source: string): LexResult {
  const result = lexer.tokenize(source);
  return { tokens: result.tokens, badOffset: result.errors[0]?.offset };
}

/** How a token is named in messages: its text in backticks, shortened when long. */
export function showToken(token: IToken): string {
  const text = token.image.length > 30 ? `${token.image.slice(0, 27)}...` : token.image;
  return `\`${text}\``;
}

/** How a token type is named in messages ("`)`", "a number"), never chevrotain's internal name. */
export function describeTokenType(type: TokenType): string {
  return type.LABEL ?? type.name;
}
