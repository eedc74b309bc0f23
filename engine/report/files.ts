// Report files: every one written so that a crash or a full disk never leaves half a file behind (temp file,
// fsync, rename), the output directory checked before a run starts, and a result.json read back checked against
// schema/result.schema.json (`perfy report`, `perfy merge`).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { PerfyError, problem, type Problem } from '../errors.js';
import { RESULT_VERSION, type Result } from '../metrics/result.js';
import { completeResult } from '../metrics/summary.js';
import { PACKAGE_ROOT } from '../paths.js';

export const RESULT_FILE = 'result.json';
export const RESULT_SCHEMA_PATH = join(PACKAGE_ROOT, 'schema', 'result.schema.json');

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js').default;

let validator: ValidateFunction | undefined;

/** Compiled on first use: writing a result never needs it. */
function validateResult(): ValidateFunction {
  if (validator === undefined) {
    const schema = JSON.parse(readFileSync(RESULT_SCHEMA_PATH, 'utf8')) as object;
    // strictRequired off: version 2's `then` requires keys the top level declares, which strict mode does not see.
    const ajv = new Ajv2020({
      allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true,
    });
    validator = ajv.compile(schema);
  }
  return validator;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}

/**
 * The text goes to a temp file in the target's directory (created if needed), is flushed to disk, then renamed
 * over the target: readers see the old file or the new one, never a partial one. Any failure is a PerfyError
 * E_OUTPUT, and the temp file is removed.
 */
export async function writeWhole(target: string, content: string | Uint8Array): Promise<string> {
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let stage = 'create the directory';
  try {
    await mkdir(dir, { recursive: true });
    stage = 'write';
    const file = await open(temp, 'wx', 0o644);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    stage = 'rename the temp file to';
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new PerfyError(
      problem(
        'E_OUTPUT', `could not ${stage} ${stage === 'create the directory' ? dir : target}: ${reasonOf(error)}`,
        'check that the directory is writable (--out, or the `path` of a `report:` entry) and the disk is not full',
      ),
    );
  }
  await syncDirectory(dir);
  return target;
}

/** Makes the rename itself durable where the platform allows it (not on Windows); best effort. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // a directory that cannot be opened or fsynced still holds the renamed file
  }
}

/** Why a directory cannot be written, in the user's words, and what to do about it; by errno code. */
const A_FILE = {
  cause: 'is a file, or lies under a file',
  hint: 'give a directory (it is created if missing), not a file',
};
const NOT_ALLOWED = 'choose a directory you can write in, or fix its permissions';
const NO_SPACE = 'free some space, or choose a directory on another disk';
const OUT_DIR_CAUSES: Record<string, { cause: string; hint: string }> = {
  ENOTDIR: A_FILE,
  EEXIST: A_FILE,
  EACCES: { cause: 'cannot be written: no permission', hint: NOT_ALLOWED },
  EPERM: { cause: 'cannot be written: not permitted', hint: NOT_ALLOWED },
  EROFS: { cause: 'is on a read-only file system', hint: 'choose a directory on a writable disk' },
  ENOSPC: { cause: 'is on a full disk', hint: NO_SPACE },
  EDQUOT: { cause: 'is on a disk where your quota is used up', hint: NO_SPACE },
};

/**
 * Creates `dir` (with its parents) and writes, flushes and removes a small file in it: an `--out` that a run could
 * not write its result to is found before anything starts, not after the load. Throws E_OUT_DIR (exit code 2).
 */
export async function checkOutputDirectory(dir: string, flag = '--out'): Promise<void> {
  const probe = join(dir, `.perfy-write-check.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await createDirectory(dir);
    const file = await open(probe, 'wx', 0o600);
    try {
      // More than nothing, so that a full disk says so now rather than when the result is written.
      await file.writeFile('perfy checks that it can write here\n'.repeat(128), 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    await rm(probe, { force: true }).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const known = OUT_DIR_CAUSES[code];
    const cause = known?.cause ?? `cannot be written: ${(error as Error).message}`;
    const hint = known?.hint ?? `choose another directory for ${flag}`;
    throw new PerfyError(problem('E_OUT_DIR', `${flag} ${dir} ${cause}`, hint));
  }
  await rm(probe, { force: true });
}

/**
 * `mkdir -p` one level at a time, so that a failure has the errno of the level that failed (a recursive mkdir
 * says ENOENT for a directory it cannot create on a read-only disk).
 */
async function createDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
    throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const parent = dirname(dir);
  if (parent !== dir) await createDirectory(parent);
  try {
    await mkdir(dir);
  } catch (error) {
    // made meanwhile by someone else: fine, if it is a directory
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw error;
  }
}

/**
 * Reads and checks a result file. Problems: E_FILE_NOT_FOUND (no such file), E_FILE_IS_DIRECTORY, E_FILE_READ
 * (any other read error), E_SCHEMA (not JSON, or not a perfy Result: every violation, each with its JSON path).
 */
export function readResult(file: string): Result {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new PerfyError(
        problem('E_FILE_NOT_FOUND', `${file} does not exist`, 'give the result.json written by `perfy run --out DIR`'),
      );
    if (code === 'EISDIR')
      throw new PerfyError(
        problem('E_FILE_IS_DIRECTORY', `${file} is a directory`, `did you mean ${join(file, RESULT_FILE)}?`),
      );
    throw new PerfyError(problem('E_FILE_READ', `could not read ${file}: ${reasonOf(error)}`));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PerfyError(
      problem(
        'E_SCHEMA', `${basename(file)} is not JSON: ${reasonOf(error)}`,
        'give the result.json written by `perfy run --out DIR`',
      ),
    );
  }
  const validate = validateResult();
  if (!validate(value)) throw new PerfyError(schemaProblems(file, validate.errors ?? []));
  const read = value as Result | (Omit<Result, 'version' | 'passed' | 'summary'> & { version: 1 });
  // A version 1 result gains what version 2 adds that can be worked out: its verdict and its summary.
  return read.version === 1 ? completeResult({ ...read, version: RESULT_VERSION }) : read;
}

function schemaProblems(file: string, errors: ErrorObject[]): Problem[] {
  const problems = errors
    // a failed oneOf also reports each branch's error; the oneOf line says it once
    .filter((e) => !/\/oneOf\/\d+\//.test(e.schemaPath))
    .slice(0, 20)
    .map((e) => {
      const where = e.instancePath === '' ? 'the result' : e.instancePath;
      const detail =
        e.keyword === 'additionalProperties'
          ? `unknown key \`${String(e.params['additionalProperty'])}\``
          : (e.message ?? 'is invalid');
      return problem(
        'E_SCHEMA', `${file}: ${where} ${detail}`, 'this is not a result written by this version of perfy',
      );
    });
  return problems.length > 0 ? problems : [problem('E_SCHEMA', `${file} is not a perfy result`)];
}
