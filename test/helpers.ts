// Shared test helpers: temp scenario files and running bin/perfy as a user would.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../engine/paths.js';

export const PERFY_BIN = join(PACKAGE_ROOT, 'bin', 'perfy');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/perfy ARGS` with the Node running the tests. */
export function perfy(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const result = spawnSync(process.execPath, [PERFY_BIN, ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A temp directory with files written into it; `cleanup()` removes it. */
export function tempDir(files: Record<string, string | Buffer> = {}): { dir: string; path(name: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'perfy-test-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `file:line:col  E_CODE` heads of problem lines in CLI output. */
export function problemHeads(output: string): { line: number; col: number; code: string }[] {
  return [...output.matchAll(/^\S+:(\d+):(\d+) {2}(E_[A-Z_]+) /gm)].map((m) => ({ line: Number(m[1]), col: Number(m[2]), code: m[3]! }));
}
