// chevrotain for the expression language, read from the single-file bundle its package ships (lib/chevrotain.mjs).
// Every module of engine/expr takes chevrotain from here, never from 'chevrotain', so there is one copy (one EOF).
//
// Why: the package's entry is ~700 ES modules (its own, @chevrotain/*, and all 640 of lodash-es); Node 20
// resolves, reads and links each one, which took ~200 ms of the ~430 ms of `perfy validate` on a 2-core
// machine. The bundle is the same release's code in one file and loads in ~12 ms. If a later release stops
// shipping it, the package's entry is used instead.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Chevrotain = typeof import('chevrotain');

const bundle = new URL('../chevrotain.mjs', import.meta.resolve('chevrotain')); // the entry is lib/src/api.js
const chevrotain = (
  existsSync(fileURLToPath(bundle)) ? await import(bundle.href) : await import('chevrotain')
) as Chevrotain;

export const { createToken, CstParser, EOF, Lexer } = chevrotain;
export type { CstElement, CstNode, IParserErrorMessageProvider, IToken, TokenType } from 'chevrotain';
