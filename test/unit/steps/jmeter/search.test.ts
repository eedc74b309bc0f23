// Finding JMeter's home without starting anything (engine/steps/jmeter/search.ts), and the warning
// `perfy validate` gives from it when a scenario has jmeter steps and no JMeter is where the run would look.

import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PerfyError } from '../../../../engine/errors.js';
import { findJmeterHome } from '../../../../engine/steps/jmeter/search.js';
import { compileScenarioFileSync } from '../../../../engine/compile/file.js';
import { tempDir } from '../../../helpers.js';

/** A directory that looks like a JMeter home: bin/ApacheJMeter.jar, lib/ext/ApacheJMeter_core.jar, bin/jmeter. */
function fakeHome(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'lib', 'ext'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'ApacheJMeter.jar'), '');
  writeFileSync(join(dir, 'lib', 'ext', 'ApacheJMeter_core.jar'), '');
  writeFileSync(join(dir, 'bin', 'jmeter'), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

const missing = (error: unknown): boolean => error instanceof PerfyError && error.code === 'E_JMETER_MISSING';

describe('JMeter: findJmeterHome (step path, then JMETER_HOME, then the PATH)', () => {
  const t = tempDir();
  let home = '';
  before(() => {
    home = fakeHome(join(t.dir, 'apache-jmeter'));
    mkdirSync(join(t.dir, 'usr-bin'));
    symlinkSync(join(home, 'bin', 'jmeter'), join(t.dir, 'usr-bin', 'jmeter'));
    fakeHome(join(t.dir, 'brew', 'libexec'));
    mkdirSync(join(t.dir, 'brew', 'bin'));
    writeFileSync(join(t.dir, 'brew', 'bin', 'jmeter'), '#!/bin/sh\n', { mode: 0o755 });
  });
  after(t.cleanup);

  it('takes the step path first: the home, its bin/ or its bin/jmeter', () => {
    const env = { JMETER_HOME: '/nonexistent', PATH: '' };
    for (const given of [home, join(home, 'bin'), join(home, 'bin', 'jmeter')]) {
      assert.deepEqual(findJmeterHome(given, env), { home, source: 'step' });
    }
  });

  it('then JMETER_HOME, then `jmeter` on the PATH followed to its home (a Homebrew wrapper to libexec/)', () => {
    assert.deepEqual(findJmeterHome(undefined, { JMETER_HOME: home, PATH: '' }), { home, source: 'JMETER_HOME' });
    assert.deepEqual(findJmeterHome(undefined, { PATH: join(t.dir, 'usr-bin') }), { home, source: 'PATH' });
    const brew = { home: join(t.dir, 'brew', 'libexec'), source: 'PATH' };
    assert.deepEqual(findJmeterHome(undefined, { PATH: join(t.dir, 'brew', 'bin') }), brew);
  });

  it('does not fall back when what is named is wrong, and says E_JMETER_MISSING when nothing is found', () => {
    const onPath = { PATH: join(t.dir, 'usr-bin') };
    assert.throws(() => findJmeterHome(join(t.dir, 'nope'), onPath), missing);
    assert.throws(() => findJmeterHome(t.dir, onPath), missing);
    assert.throws(() => findJmeterHome(undefined, { ...onPath, JMETER_HOME: join(t.dir, 'nope') }), missing);
    assert.throws(() => findJmeterHome(undefined, { PATH: '' }), missing);
  });
});

describe('perfy validate: W_JMETER_MISSING', () => {
  const t = tempDir({ 'plan.jmx': '<jmeterTestPlan/>\n' });
  let home = '';
  const saved = process.env['JMETER_HOME'];
  before(() => {
    home = fakeHome(join(t.dir, 'jmeter-home'));
  });
  after(() => {
    if (saved === undefined) delete process.env['JMETER_HOME'];
    else process.env['JMETER_HOME'] = saved;
    t.cleanup();
  });

  const scenario = (steps: string): string => `name: j\nload: [ { users: 1, hold: 1s } ]\nflow:\n${steps}`;
  const warnings = (yaml: string): { code: string; line?: number; col?: number }[] => {
    writeFileSync(t.path('s.yaml'), yaml);
    const outcome = compileScenarioFileSync(t.path('s.yaml'), {});
    assert.deepEqual(outcome.problems, [], 'valid: a missing JMeter is a warning');
    return outcome.warnings.map((w) => ({ code: w.code, line: w.location?.line, col: w.location?.col }));
  };

  it('warns at a step path that leads to no JMeter, once per path; not when it leads to one', () => {
    const steps = '  - jmeter: { plan: plan.jmx, jmeter: ./nope }\n  - jmeter: { plan: plan.jmx, jmeter: ./nope }\n'
      + `  - jmeter: { plan: plan.jmx, jmeter: ${home} }\n`;
    assert.deepEqual(warnings(scenario(steps)), [{ code: 'W_JMETER_MISSING', line: 4, col: 39 }]);
  });

  it('warns at the first jmeter step without a path when JMETER_HOME leads nowhere; not when it leads to one', () => {
    const steps = '  - think: 1s\n  - jmeter: { plan: plan.jmx }\n  - jmeter: { plan: plan.jmx }\n';
    process.env['JMETER_HOME'] = join(t.dir, 'nope');
    assert.deepEqual(warnings(scenario(steps)), [{ code: 'W_JMETER_MISSING', line: 5, col: 5 }]);
    process.env['JMETER_HOME'] = home;
    assert.deepEqual(warnings(scenario(steps)), []);
  });
});
