// The exit codes are a public interface (docs/cli.md) and a CI gate reads them: each rule of engine/exit.ts here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorCode } from '../../engine/errors.js';
import { EXIT, exitForProblems, exitForRun, worstExit } from '../../engine/exit.js';
import type { ThresholdOutcome } from '../../engine/metrics/result.js';

const codes = (...list: ErrorCode[]): { code: ErrorCode }[] => list.map((code) => ({ code }));
const outcome = (passed: boolean, judged?: boolean): ThresholdOutcome => ({
  source: 'p95(http.duration) < 300ms',
  passed,
  aborted: false,
  values: [],
  description: undefined,
  ...(judged === undefined ? {} : { judged }),
});

describe('exit codes', () => {
  it('problems: none is 0, warnings are 0, else the worst code wins', () => {
    assert.equal(exitForProblems([]), EXIT.ok);
    assert.equal(exitForProblems(codes('W_FD_LIMIT')), EXIT.ok);
    assert.equal(exitForProblems(codes('W_FD_LIMIT', 'E_USAGE')), EXIT.invalid);
    assert.equal(exitForProblems(codes('E_USAGE', 'E_OUTPUT', 'E_FILE_NOT_FOUND')), EXIT.runFailed);
    assert.equal(exitForProblems(codes('E_INTERNAL')), EXIT.runFailed);
  });

  it('worstExit keeps the highest code', () => {
    assert.equal(worstExit(), EXIT.ok);
    assert.equal(worstExit(EXIT.thresholdsFailed, EXIT.ok), EXIT.thresholdsFailed);
    assert.equal(worstExit(EXIT.thresholdsFailed, EXIT.runFailed, EXIT.invalid), EXIT.runFailed);
  });

  it('a completed run: 0 when every judged threshold passed, 1 when one failed; unjudged ones count nothing', () => {
    assert.equal(exitForRun({ status: 'completed', thresholds: [] }), EXIT.ok);
    assert.equal(exitForRun({ status: 'completed', thresholds: [outcome(true), outcome(false, false)] }), EXIT.ok);
    const failed = { status: 'completed' as const, thresholds: [outcome(true), outcome(false)] };
    assert.equal(exitForRun(failed), EXIT.thresholdsFailed);
  });

  it('a run that did not complete is 3, even with thresholds that passed or failed', () => {
    for (const status of ['aborted', 'interrupted', 'failed'] as const) {
      assert.equal(exitForRun({ status, thresholds: [outcome(true)] }), EXIT.runFailed, status);
      assert.equal(exitForRun({ status, thresholds: [outcome(false)] }), EXIT.runFailed, status);
    }
  });

  it('a run that failed to start: its problems decide (2 for the scenario, 3 for the machine)', () => {
    const failed = { status: 'failed' as const, thresholds: [] };
    const at = { message: 'x' };
    assert.equal(exitForRun(failed, [{ code: 'E_EXECUTOR_MISSING', ...at }]), EXIT.invalid);
    assert.equal(exitForRun(failed, [{ code: 'E_SERVICE_START', ...at }]), EXIT.runFailed);
    // Problems of a run that completed (a warning said on the way) never change its verdict.
    assert.equal(exitForRun({ status: 'completed', thresholds: [] }, [{ code: 'E_OUTPUT', ...at }]), EXIT.ok);
  });
});
