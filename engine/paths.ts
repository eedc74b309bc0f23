// Where perfy's own files are, wherever it is installed: the package root holds schema/, templates/, docs/.

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The package root: this file is compiled to dist/engine/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCHEMA_PATH = join(PACKAGE_ROOT, 'schema', 'scenario.schema.json');
export const SCHEMA_URL = 'https://perfy.dev/schema/scenario.schema.json';
