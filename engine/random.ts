// Seeded randomness for everything a run chooses (variables, data rows, think times), so a scenario's `seed`
// makes two runs choose alike. mulberry32: tiny, fast, good enough for load shapes (not for cryptography).

export interface Random {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform in [min, max] */
  between(min: number, max: number): number;
  /** one element, uniformly */
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: uniform in [0, 1) from 32 bits of state; the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

/** A seed for virtual user `vu` of workload `index`, derived from the scenario's seed. */
export function deriveSeed(seed: number, workloadIndex: number, vu: number): number {
  return (Math.imul(seed ^ 0x85ebca6b, 31 + workloadIndex) ^ Math.imul(vu + 1, 0xc2b2ae35)) >>> 0;
}
