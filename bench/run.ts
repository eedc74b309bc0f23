// A tiny benchmark harness with no dependencies: runs every dist/bench/*.bench.js, prints a table of median
// ns/op over 5 rounds, and exits 1 when a result is over the limit it declares (`maxNsPerOp`).
// Usage: npm run bench, or node dist/bench/run.js [name-filter]

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  name: string;
  /** median over the rounds */
  nsPerOp: number;
  /** every round's ns/op, sorted */
  rounds: number[];
  iterations: number;
  /** the bench fails when the median is above this */
  maxNsPerOp?: number;
}

export interface BenchModule {
  name: string;
  run(): BenchResult[] | Promise<BenchResult[]>;
}

export interface MeasureOptions {
  rounds?: number;
  /** each round runs at least this long */
  roundMs?: number;
  maxNsPerOp?: number;
}

/** Keeps results observable so the JIT cannot drop the measured work. */
let sink = 0;

/**
 * measure() for work that completes asynchronously (an interpreter iteration): awaits `op` in a loop, with the
 * same warm-up, calibration and median of rounds. The per-op figure includes a promise turn per call.
 */
export async function measureAsync(
  name: string,
  op: () => Promise<unknown>,
  options: MeasureOptions = {},
): Promise<BenchResult> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 100;
  const loop = async (n: number): Promise<bigint> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (await op()) sink++;
    return process.hrtime.bigint() - start;
  };
  let iterations = 100;
  await loop(iterations);
  while (Number(await loop(iterations)) < roundMs * 100_000 && iterations < 2 ** 26) iterations *= 2;
  iterations = Math.max(1, Math.round(iterations * 10));
  const perOp: number[] = [];
  for (let r = 0; r < rounds; r++) perOp.push(Number(await loop(iterations)) / iterations);
  perOp.sort((a, b) => a - b);
  const result: BenchResult = { name, nsPerOp: perOp[Math.floor(perOp.length / 2)]!, rounds: perOp, iterations };
  if (options.maxNsPerOp !== undefined) result.maxNsPerOp = options.maxNsPerOp;
  return result;
}

/**
 * Calls `op` in a loop: warms up, picks an iteration count that makes one round last `roundMs`, then reports the
 * median ns/op of `rounds` rounds (the median shrugs off a GC pause or a scheduler hiccup in one round).
 */
export function measure(name: string, op: () => unknown, options: MeasureOptions = {}): BenchResult {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 100;
  const loop = (n: number): bigint => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (op()) sink++;
    return process.hrtime.bigint() - start;
  };
  let iterations = 1000;
  loop(iterations);
  // Warm up and calibrate: double until one loop takes a tenth of a round.
  while (Number(loop(iterations)) < roundMs * 100_000 && iterations < 2 ** 30) iterations *= 2;
  iterations = Math.max(1, Math.round(iterations * 10));
  const perOp: number[] = [];
  for (let r = 0; r < rounds; r++) perOp.push(Number(loop(iterations)) / iterations);
  perOp.sort((a, b) => a - b);
  const result: BenchResult = { name, nsPerOp: perOp[Math.floor(perOp.length / 2)]!, rounds: perOp, iterations };
  if (options.maxNsPerOp !== undefined) result.maxNsPerOp = options.maxNsPerOp;
  return result;
}

function format(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns >= 10 ? ns.toFixed(1) : ns.toFixed(2);
}

function printTable(suite: string, results: BenchResult[]): number {
  let failures = 0;
  const width = Math.max(...results.map((r) => r.name.length), 10);
  console.log(`\n${suite}`);
  console.log(
    `  ${'benchmark'.padEnd(width)}  ${'ns/op'.padStart(10)}  ${'ops/s'.padStart(13)}  ` +
      `${'rounds min..max'.padStart(18)}  limit`,
  );
  for (const r of results) {
    const over = r.maxNsPerOp !== undefined && r.nsPerOp > r.maxNsPerOp;
    if (over) failures++;
    const limit = r.maxNsPerOp === undefined ? '' : `${over ? 'OVER' : 'ok'} (< ${r.maxNsPerOp} ns)`;
    const spread = `${format(r.rounds[0]!)}..${format(r.rounds[r.rounds.length - 1]!)}`;
    const opsPerSec = Math.round(1e9 / r.nsPerOp).toLocaleString('en-US');
    console.log(
      `  ${r.name.padEnd(width)}  ${format(r.nsPerOp).padStart(10)}  ${opsPerSec.padStart(13)}  ` +
        `${spread.padStart(18)}  ${limit}`,
    );
  }
  return failures;
}

async function main(): Promise<void> {
  const filter = process.argv[2];
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort();
  console.log(`node ${process.version}, ${process.platform}/${process.arch}; median of 5 rounds`);
  let failures = 0;
  for (const file of files) {
    const loaded = (await import(pathToFileURL(join(here, file)).href)) as Partial<BenchModule> & {
      default?: BenchModule;
    };
    const bench = loaded.default ?? loaded;
    if (typeof bench.run !== 'function' || typeof bench.name !== 'string') {
      console.error(`${file}: exports no { name, run }`);
      failures++;
      continue;
    }
    if (filter !== undefined && !bench.name.includes(filter) && !file.includes(filter)) continue;
    failures += printTable(bench.name, await bench.run());
  }
  if (sink < 0) console.log(sink);
  if (failures > 0) {
    console.error(`\n${failures} benchmark(s) over their limit`);
    process.exitCode = 1;
  }
}

// No top-level await: bench files import measure() from this module, which must finish evaluating first.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
