// The open-file limit read from /proc, and the estimate of what a plan holds open (compared with it before a run).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileScenario } from '../../../engine/compile/index.js';
import type { Plan } from '../../../engine/compile/plan.js';
import type { Scenario } from '../../../engine/generated/scenario.js';
import { loadScenarioText } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { estimateFds, readFdLimits } from '../../../engine/run/fd-limit.js';
import { tempDir } from '../../helpers.js';

function plan(yaml: string): Plan {
  const document = loadScenarioText(yaml, join(PACKAGE_ROOT, 'scenarios', 'fd-test.yaml'), {});
  const compiled = compileScenario(document, document.value as Scenario);
  assert.deepEqual(compiled.problems, []);
  return compiled.plan!;
}

describe('readFdLimits', () => {
  it('reads soft and hard limits, unlimited as Infinity; undefined without the file', () => {
    const t = tempDir({
      limits:
        'Limit                     Soft Limit           Hard Limit           Units\nMax open files            ' +
          '1024                 unlimited            files\n',
    });
    after(t.cleanup);
    assert.deepEqual(readFdLimits(t.path('limits')), { soft: 1024, hard: Infinity });
    assert.equal(readFdLimits(t.path('nope')), undefined);
  });
});

describe('estimateFds', () => {
  it('connections per origin are capped by the users in flight and by defaults.connections', () => {
    const users = (n: number, connections: number): Plan => plan(`name: f\ntarget: http://127.0.0.1:1\ndefaults: { connections: ${connections} }
load: [ { users: ${n}, hold: 1s } ]\nflow:\n  - http: { get: / }\n  - http: { get: "http://127.0.0.1:2/x" }\n`);
    assert.equal(estimateFds(users(50, 100), 1), 2 * 50 + 64);
    assert.equal(estimateFds(users(500, 100), 1), 2 * 100 + 64);
    assert.equal(estimateFds(users(500, 100), 2), 2 * (2 * 100) + 64, 'each thread has its own pools');
  });
});
