// Hints for typed values written almost right: each near miss gets the value it was meant to be, and nothing
// that is not close (or would not be valid) gets a suggestion.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PATTERNS } from '../../../engine/units.js';
import { nearMissHint, TYPED_KINDS, type TypedKind } from '../../../engine/validate/near-miss.js';

const meant: [TypedKind, unknown, string][] = [
  ['duration', 10, 'add a unit: 10s'],
  ['duration', '10', 'add a unit: 10s'],
  ['duration', '1 min', '"1min"'],
  ['duration', '5 s', '"5s"'],
  ['duration', '30 seconds', '"30s"'],
  ['duration', '2 mins', '"2m"'],
  ['duration', '1m 30s', '"1m30s"'],
  ['duration', '250MS', '"250ms"'],
  ['duration', '1.5 sec', '"1.5s"'],
  ['think', '200ms-500ms', '"200ms..500ms"'],
  ['think', '200ms - 500ms', '"200ms..500ms"'],
  ['think', '200-500ms', '"200ms..500ms"'],
  ['think', '200ms...1s', '"200ms..1s"'],
  ['think', '1s to 2s', '"1s..2s"'],
  ['think', 2, 'add a unit: 2s'],
  ['rate', 200, 'add a unit: 200/s'],
  ['rate', '50 /s', '"50/s"'],
  ['rate', '50rps', '"50/s"'],
  ['rate', '50 req/s', '"50/s"'],
  ['rate', '50/second', '"50/s"'],
  ['rate', '50 per second', '"50/s"'],
  ['rate', '3000 rpm', '"3000/m"'],
  ['rate', '50 / min', '"50/min"'],
  ['rate', '10/S', '"10/s"'],
  ['size', '512 mb', '"512MB"'],
  ['size', '1gib', '"1GiB"'],
  ['percent', '1 %', '"1%"'],
  ['sizeRate', '10 mb per min', '"10MB/min"'],
  ['sizeRate', 512, 'add units: 512MB/min'],
];

describe('near-miss hints of typed values', () => {
  for (const [kind, value, hint] of meant) {
    it(`${kind} ${JSON.stringify(value)} → ${hint}`, () => {
      assert.ok(nearMissHint(kind, value)?.includes(hint), `got ${JSON.stringify(nearMissHint(kind, value))}`);
    });
  }

  it('suggests nothing for values that are not close', () => {
    const far: [TypedKind, unknown][] = [
      ['duration', '1h30'], ['rate', '200/day'], ['think', 'soon'], ['duration', -5], ['rate', true],
    ];
    for (const [kind, value] of far) {
      assert.equal(nearMissHint(kind, value), undefined, `${kind} ${JSON.stringify(value)}`);
    }
  });

  it('never suggests a value its own pattern refuses', () => {
    const words = ['1', '20', '.5', ' ', '-', '..', '/', 'per', 's', 'ms', 'min', 'MB', 'mb', 'rps', '%', 'to', 'x'];
    const pieces = fc.constantFrom(...words);
    fc.assert(
      fc.property(fc.constantFrom(...TYPED_KINDS), fc.array(pieces, { maxLength: 6 }), (kind, parts) => {
        const hint = nearMissHint(kind, parts.join(''));
        const suggested = hint === undefined ? undefined : /^did you mean "(.*)"\?$/.exec(hint)?.[1];
        if (suggested !== undefined) assert.match(suggested, new RegExp(PATTERNS[kind]));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
