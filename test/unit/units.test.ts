import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDuration, parseDuration, parsePercent, parseRate, parseSize, parseSizeRate, parseThink,
} from '../../engine/units.js';

describe('units', () => {
  const cases: [string, (s: string) => number | undefined, string, number | undefined][] = [
    ['duration', parseDuration, '250ms', 250],
    ['duration', parseDuration, '1.5s', 1500],
    ['duration', parseDuration, '1m30s', 90_000],
    ['duration', parseDuration, '2min', 120_000],
    ['duration', parseDuration, '1h', 3_600_000],
    ['duration', parseDuration, '500us', 0.5],
    ['duration', parseDuration, '5', undefined],
    ['duration', parseDuration, '5 s', undefined],
    ['duration', parseDuration, '-1s', undefined],
    ['rate', parseRate, '200/s', 200],
    ['rate', parseRate, '3000/m', 50],
    ['rate', parseRate, '7200/h', 2],
    ['rate', parseRate, '200', undefined],
    ['size', parseSize, '512MB', 512e6],
    ['size', parseSize, '2KiB', 2048],
    ['size', parseSize, '512', undefined],
    ['percent', parsePercent, '1%', 0.01],
    ['percent', parsePercent, '99.9%', 0.999],
    ['sizeRate', parseSizeRate, '10MB/min', 10e6 / 60],
  ];
  for (const [kind, parse, text, expected] of cases) {
    it(`${kind} ${text} → ${expected}`, () => {
      const value = parse(text);
      if (expected === undefined) assert.equal(value, undefined);
      else assert.ok(value !== undefined && Math.abs(value - expected) < 1e-9, `${value}`);
    });
  }

  it('think ranges', () => {
    assert.deepEqual(parseThink('200ms..1s'), { minMs: 200, maxMs: 1000 });
    assert.deepEqual(parseThink('2s'), { minMs: 2000, maxMs: 2000 });
    assert.equal(parseThink('1s..2s..3s'), undefined);
    assert.equal(parseThink('1s..'), undefined);
  });

  it('formats durations readably', () => {
    assert.deepEqual([0, 0.5, 250, 1500, 90_000, 3_600_000, 3_661_000].map(formatDuration), [
      '0s', '500us', '250ms', '1.5s', '1m30s', '1h', '1h1m1s',
    ]);
  });
});
