// The HDR histogram wrapper: exact percentiles of known samples (to 3 significant digits), clamping of tiny and
// invalid values, adding, the encode/decode roundtrip, and the fast record path matching hdr-histogram-js's own.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HIGHEST_US, Histogram } from '../../../engine/metrics/histogram.js';

const SEED = 20_240_612;

function filled(values: number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
};

/** Relative error allowed by 3 significant digits (HDR keeps values within 1 part in 1000, bucket upper bound). */
function assertWithinPrecision(actual: number, expected: number, message?: string): void {
  assert.ok(
    Math.abs(actual - expected) <= expected / 1000 + 1,
    `${message ?? ''} ${actual} is not within 0.1% of ${expected}`,
  );
}

describe('Histogram', () => {
  it('gives exact percentiles below 2048 µs (single-unit resolution)', () => {
    const h = filled(range(1, 100));
    assert.equal(h.count, 100);
    assert.equal(h.percentile(50), 50);
    assert.equal(h.percentile(90), 90);
    assert.equal(h.percentile(95), 95);
    assert.equal(h.percentile(99), 99);
    assert.equal(h.percentile(100), 100);
    assert.equal(h.percentile(0), 1);
    assert.equal(h.percentile(99.9), 100);
    assert.equal(h.min, 1);
    assert.equal(h.max, 100);
    assert.equal(h.mean, 50.5);
  });

  it('keeps larger values to 3 significant digits', () => {
    // 1 ms .. 10 s in 1 ms steps: p(x) is x% of 10 s
    const h = filled(range(1000, 10_000_000, 1000));
    assert.equal(h.count, 10_000);
    for (const p of [50, 90, 95, 99, 99.9]) assertWithinPrecision(h.percentile(p), p * 100_000, `p${p}`);
    assert.equal(h.max, 10_000_000);
    assert.equal(h.min, 1000);
    assert.equal(h.percentile(100), 10_000_000, 'p100 is kept within the exact max');
  });

  it('counts values below 1 µs as 1 µs, rounds to whole µs and ignores NaN', () => {
    const h = filled([0, 0.2, -5, 1.4, 1.6, Number.NaN, -Infinity]);
    assert.equal(h.count, 6);
    assert.equal(h.min, 1);
    assert.equal(h.max, 2);
    assert.equal(h.percentile(50), 1);
    assert.equal(h.percentile(100), 2);
  });

  it('records absurdly large values at the 1000 h ceiling', () => {
    const h = filled([Infinity, HIGHEST_US * 10]);
    assert.equal(h.count, 2);
    assertWithinPrecision(h.max, HIGHEST_US);
  });

  it('is empty before any sample', () => {
    const h = new Histogram();
    assert.equal(h.count, 0);
    assert.equal(h.percentile(95), 0);
    assert.equal(h.min, 0);
    assert.equal(h.max, 0);
    assert.equal(h.mean, 0);
  });

  it('adds: two histograms added hold the samples of both', () => {
    const a = filled(range(1, 50));
    const b = filled(range(51, 100));
    a.add(b);
    assert.equal(a.count, 100);
    assert.equal(a.percentile(95), 95);
    assert.equal(a.min, 1);
    assert.equal(a.max, 100);
    assert.equal(a.encode(), filled(range(1, 100)).encode());
    a.add(new Histogram());
    assert.equal(a.count, 100);
  });

  it('resets to empty and records again', () => {
    const h = filled(range(1, 1000));
    h.reset();
    assert.equal(h.count, 0);
    h.record(42);
    assert.equal(h.percentile(50), 42);
  });

  it('clones', () => {
    const h = filled([5, 6, 7000]);
    const copy = h.clone();
    h.record(1);
    assert.equal(copy.count, 3);
    assert.equal(copy.percentile(100), 7000);
  });

  it('encodes as compressed V2 base64 and decodes to the same counts', () => {
    const values = [...range(1, 3000, 7), 123_456, 9_876_543, 60_000_000];
    const h = filled(values);
    const text = h.encode();
    assert.match(text, /^HIST[A-Za-z0-9+/]+=*$/, 'compressed V2 cookie, base64');
    const back = Histogram.decode(text);
    assert.equal(back.count, h.count);
    for (const p of [0, 10, 50, 90, 95, 99, 99.9, 100])
      assertWithinPrecision(back.percentile(p), h.percentile(p), `p${p}`);
    assert.equal(back.encode(), text, 'decode then encode is stable');
    back.record(1);
    assert.equal(back.count, h.count + 1, 'a decoded histogram records and grows');
    back.record(7_200_000_000);
    assertWithinPrecision(back.max, 7_200_000_000);
  });

  it('roundtrips an empty histogram', () => {
    const back = Histogram.decode(new Histogram().encode());
    assert.equal(back.count, 0);
    assert.equal(back.percentile(99), 0);
    assert.equal(back.min, 0);
  });

  it('throws on text that is not an encoded histogram', () => {
    assert.throws(() => Histogram.decode('bm90IGEgaGlzdG9ncmFt'));
  });

  it('records exactly what hdr-histogram-js recordValue records (fast path)', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 0, max: 2 ** 31 + 10 }),
      fc.double({ min: 0, max: 2 ** 33, noNaN: true }),
      fc.constantFrom(1, 2047, 2048, 2049, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 300 }), fc.constantFrom<2 | 3>(2, 3), (values, digits) => {
        const fast = new Histogram({ significantDigits: digits });
        const slow = new Histogram({ significantDigits: digits });
        for (const v of values) {
          fast.record(v);
          slow.recordSlow(v);
        }
        assert.equal(fast.count, slow.count);
        assert.equal(fast.min, slow.min);
        assert.equal(fast.max, slow.max);
        assert.equal(fast.encode(), slow.encode());
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('decoding then adding equals adding (any samples)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10_000_000 }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 10_000_000 }), { maxLength: 200 }),
        (xs, ys) => {
          const direct = filled([...xs, ...ys]);
          const merged = Histogram.decode(filled(xs).encode());
          merged.add(Histogram.decode(filled(ys).encode()));
          assert.equal(merged.count, direct.count);
          // A live histogram knows its exact min and max, a decoded one only their buckets: compare like with like.
          const directDecoded = Histogram.decode(direct.encode());
          for (const p of [0, 1, 50, 95, 99, 99.9, 100]) {
            assert.equal(merged.percentile(p), directDecoded.percentile(p), `p${p}`);
            if (direct.count > 0) assertWithinPrecision(merged.percentile(p), direct.percentile(p), `p${p}`);
          }
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });
});
