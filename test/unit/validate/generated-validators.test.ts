// The validators compiled at build time (engine/generated/scenario-validators.ts) answer like ajv compiling the
// schema at start-up did: the union handling in schema.ts needs their errors to point into the schema it read.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorObject } from 'ajv';
import { scenarioValidators } from '../../../engine/generated/scenario-validators.js';
import { scenarioSchema } from '../../../engine/validate/schema.js';

/** Every object of the schema, by identity. */
function objectsOf(root: unknown): Set<object> {
  const seen = new Set<object>();
  (function walk(node: unknown): void {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    for (const child of Object.values(node)) walk(child);
  })(root);
  return seen;
}

const broken: unknown[] = [
  { name: 'x', load: { rate: 5 }, flow: [{ http: { gett: '/' } }] },
  {
    name: 'x',
    target: 3,
    load: { users: 'many', duration: '1s' },
    flow: [{ loop: { count: 'x' }, flow: [{ think: 7 }] }],
  },
  {
    name: 'x',
    load: { stages: [{ ramp: { from: '1/s' } }] },
    flow: [{ group: 'g', flow: [{ if: 1, then: [] }] }],
    thresholds: [{ expr: 3 }],
  },
  {
    services: { api: { builtin: 'nope', port: -1 } },
    data: { u: { csv: 3 } },
    report: ['pdf'],
    monitor: { alerts: [7] },
  },
];

describe('generated scenario validators', () => {
  const validators = scenarioValidators(scenarioSchema);
  const schemaObjects = objectsOf(scenarioSchema);

  it('validate a whole scenario and each union branch', () => {
    assert.equal(typeof validators[''], 'function');
    assert.ok(Object.keys(validators).some((pointer) => pointer.endsWith('/oneOf/0')));
  });

  it("report errors whose parentSchema is the schema's own object, not a copy", () => {
    for (const [pointer, validate] of Object.entries(validators)) {
      for (const value of broken) {
        if (validate(value)) continue;
        for (const error of validate.errors as ErrorObject[]) {
          assert.ok(
            schemaObjects.has(error.parentSchema as object),
            `${pointer || '(root)'}: ${error.schemaPath} points outside scenarioSchema`,
          );
        }
      }
    }
  });
});
