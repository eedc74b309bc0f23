// Every exit code perfy returns is decided here, from what the command found: problems (each error code names its
// exit code in ERROR_CODES) and, for `run` and `merge`, the result. The codes are a public interface (docs/cli.md):
// 0 ok · 1 thresholds failed · 2 invalid scenario or usage · 3 the run could not complete. A CI gate reads them, so
// a failure of perfy or of the machine (3) must never pass for a failed threshold (1), and warnings never count.

import { ERROR_CODES, EXIT, type ExitCode, type Problem } from './errors.js';
import { verdictOf, type Result } from './metrics/result.js';

export { EXIT, type ExitCode };

/** The worst of several exit codes: a higher code says more went wrong. */
export function worstExit(...codes: ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((worst, code) => (code > worst ? code : worst), EXIT.ok);
}

/** The exit code of a list of problems: the worst of their codes (warnings are 0); 0 when there are none. */
export function exitForProblems(problems: readonly Pick<Problem, 'code'>[]): ExitCode {
  return worstExit(...problems.map((p) => ERROR_CODES[p.code].exit));
}

/**
 * The exit code of a run (or of merged segments): 3 when it did not complete, 1 when a judged threshold failed,
 * else 0. A run that could not start for a reason of the scenario (a step kind not available) failed with
 * problems: those decide (2 for invalid input). Problems of a run that went on (warnings, a lost service log) do not.
 */
export function exitForRun(result: Pick<Result, 'status' | 'thresholds'>, problems: readonly Problem[] = []): ExitCode {
  if (result.status === 'failed' && problems.length > 0) return exitForProblems(problems);
  if (result.status !== 'completed') return EXIT.runFailed;
  return verdictOf(result) ? EXIT.ok : EXIT.thresholdsFailed;
}
