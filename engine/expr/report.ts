// Collects the problems found in one expression and turns source offsets into file:line:col through the
// caller's `locate`, so a column points inside the YAML string the expression was written in.

import { PerfyError, problem, type ErrorCode, type Problem, type SourceLocation } from '../errors.js';

/** Maps a 0-based offset into the expression source to a place in the user's file. */
export type Locate = (offset: number) => SourceLocation;

export const locateInExpression: Locate = (offset) => ({ file: '<expr>', line: 1, col: offset + 1 });

export class ExpressionProblems {
  readonly problems: Problem[] = [];
  constructor(private readonly locate: Locate) {}

  add(code: ErrorCode, message: string, offset: number, hint?: string): void {
    this.problems.push(problem(code, message, hint, this.locate(offset)));
  }

  /** Stops here if anything was found: later steps need a well-formed input. */
  throwIfAny(): void {
    if (this.problems.length > 0) throw new PerfyError(this.problems);
  }

  /** Adds one problem and stops at once (syntax errors: nothing after them can be trusted). */
  fail(code: ErrorCode, message: string, offset: number, hint?: string): never {
    this.add(code, message, offset, hint);
    throw new PerfyError(this.problems);
  }
}
