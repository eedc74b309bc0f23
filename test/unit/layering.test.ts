// The pipeline runs one way: load → validate → compile → run → result → report (DESIGN.md). A module may
// import its own stage and earlier ones, and what sits below every stage; never a later stage's internals.
// A step kind's folder is a slice of several stages: its door and compile files are compile, its runner and
// helpers run, its summary report; the door reaches later files only through `import()` when they are asked for.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../engine/paths.js';

const STAGES = ['shared', 'load', 'validate', 'compile', 'run', 'result', 'report', 'cli'] as const;
type Stage = (typeof STAGES)[number];

/** The stage of a file of engine/, by its path relative to engine/ (first matching rule wins). */
const RULES: [RegExp, Stage][] = [
  [/^(errors|units|random|redact|paths|sleep|segment)\.ts$/, 'shared'],
  // Exit codes are decided from a result (or from problems alone): after the run, before the reports.
  [/^exit\.ts$/, 'result'],
  [/^(generated|expr)\//, 'shared'],
  [/^metrics\/(catalog|types|histogram)\.ts$/, 'shared'],
  [/^load\//, 'load'],
  [/^validate\//, 'validate'],
  [/^compile\//, 'compile'],
  [/^services\/(postgres-config|url|types)\.ts$/, 'compile'],
  // The cookie jar (RFC 6265's rules): data the interpreter gives each user and the HTTP runner fills.
  [/^steps\/http\/cookies\.ts$/, 'shared'],
  [/^steps\/(index|types)\.ts$/, 'compile'],
  [/^steps\/[^/]+\/(index|schema|search)\.ts$/, 'compile'],
  [/^steps\/[^/]+\/summary\.ts$/, 'report'],
  [/^steps\//, 'run'],
  [/^(run|services|mocks)\//, 'run'],
  [/^monitor\//, 'run'],
  [/^metrics\/(store|thresholds|result|summary)\.ts$/, 'run'],
  [/^run\/merge\.ts$/, 'result'],
  [/^report\//, 'report'],
  // Regression rules are checked where a scenario carries them (`baseline.rules`), and read by the comparison.
  [/^compare\/rules\.ts$/, 'compile'],
  [/^compare\//, 'report'],
  [/^(cli|build)\//, 'cli'],
];

export function stageOf(file: string): Stage {
  const rule = RULES.find(([pattern]) => pattern.test(file));
  if (rule === undefined) {
    throw new Error(`engine/${file} has no stage: add it to the rules of test/unit/layering.test.ts`);
  }
  return rule[1];
}

interface Import {
  from: string;
  to: string;
  /** `import()`: loaded when the code asks, not when the module loads. */
  lazy: boolean;
  /** `import type`: names a type, loads nothing. */
  typeOnly: boolean;
}

/** Every relative import (static, re-export or `import()`) of a source text, as paths relative to engine/. */
export function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const at = (specifier: string): string => relative('', join(dirname(file), specifier)).replace(/\.js$/, '.ts');
  for (const m of text.matchAll(/^\s*(?:import|export)\b(\s+type\b)?[^'"]*?\bfrom\s+'(\.[^']+)'/gm)) {
    found.push({ from: file, to: at(m[2]!), lazy: false, typeOnly: m[1] !== undefined });
  }
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) found.push({ from: file, to: at(m[1]!), lazy: true, typeOnly: false });
  return found;
}

/** Why an import runs backwards, or undefined when it does not. */
export function backward({ from, to, lazy, typeOnly }: Import): string | undefined {
  const a = stageOf(from);
  const b = stageOf(to);
  if (STAGES.indexOf(b) <= STAGES.indexOf(a)) return undefined;
  // A kind's door loads its own runner and summary when a run or a report asks: nothing of them loads before. It
  // may name its executor's type (what its requests are bound to), which loads nothing.
  const door = /^steps\/([^/]+)\/index\.ts$/.exec(from);
  if ((lazy || typeOnly) && door && to.startsWith(`steps/${door[1]}/`)) return undefined;
  // The command line loads each command's stage when that command runs.
  if (a === 'cli') return undefined;
  return `engine/${from} (${a}) imports engine/${to} (${b}), a later stage`;
}

function sources(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path, base);
    return entry.name.endsWith('.ts') ? [relative(base, path)] : [];
  });
}

describe('layering', () => {
  const engine = resolve(PACKAGE_ROOT, 'engine');
  const files = sources(engine);

  it('gives every file of engine/ a stage', () => {
    for (const file of files) assert.doesNotThrow(() => stageOf(file), file);
  });

  it('has no import from an earlier stage into a later one', () => {
    const found = files.flatMap((file) => importsOf(file, readFileSync(join(engine, file), 'utf8')))
      .map(backward).filter((why) => why !== undefined);
    assert.deepEqual(found, []);
  });

  it('names a deliberately backward import', () => {
    // compile reaching into the HTTP client, as compile/index.ts once did for the github step's route.
    const text = "import { createHttpExecutor } from '../steps/http/runner.js';\n";
    const why = importsOf('compile/flow.ts', text).map(backward);
    assert.deepEqual(
      why,
      ['engine/compile/flow.ts (compile) imports engine/steps/http/runner.ts (run), a later stage'],
    );
    // The same module loaded lazily by its own kind's door is how a door reaches its runner.
    const lazy = "const m = await import('./runner.js');";
    assert.deepEqual(importsOf('steps/http/index.ts', lazy).map(backward), [undefined]);
    const typeOnly = "import type { HttpExecutor } from './runner.js';";
    assert.deepEqual(importsOf('steps/http/index.ts', typeOnly).map(backward), [undefined]);
    // …but not another kind's runner, nor statically.
    assert.equal(importsOf('steps/http/index.ts', "import { x } from './runner.js';").map(backward).length, 1);
    assert.ok(importsOf('steps/github/index.ts', "const m = await import('../http/runner.js');").map(backward)[0]);
  });
});
