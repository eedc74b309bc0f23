// The reporter list and the schema agree: a scenario may ask for exactly the formats perfy writes, each into a
// file of its own.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SCHEMA_PATH } from '../../../engine/paths.js';
import { REPORTERS } from '../../../engine/report/index.js';

describe('reporters', () => {
  it('the schema offers exactly the formats of REPORTERS, in its order', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { $defs: { reportFormat: { enum: string[] } } };
    assert.deepEqual(schema.$defs.reportFormat.enum, REPORTERS.map((r) => r.format));
  });

  it('each writes a file of its own name', () => {
    const files = REPORTERS.map((r) => r.defaultFile);
    assert.equal(new Set(files).size, files.length, files.join(' '));
  });
});
