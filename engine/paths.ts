// Where perfy's own files are, wherever it is installed: the package root holds schema/, templates/, docs/.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The package root: this file is compiled to dist/engine/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCHEMA_PATH = join(PACKAGE_ROOT, 'schema', 'scenario.schema.json');

/** perfy's version, from its package.json. */
export function perfyVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
