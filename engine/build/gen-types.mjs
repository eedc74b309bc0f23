// Generates engine/generated/scenario.ts from schema/scenario.schema.json (json-schema-to-typescript).
// `npm run generate` writes it; `node engine/build/gen-types.mjs --check` fails when the file is stale.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.mjs';
import { compile } from 'json-schema-to-typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));
const schemaPath = `${root}schema/scenario.schema.json`;
const outPath = `${root}engine/generated/scenario.ts`;

const schema = withoutPresenceRules(JSON.parse(await readFile(schemaPath, 'utf8')));

/**
 * A oneOf whose branches only say which key is required ("exactly one of http, sql, …") constrains presence,
 * not shape; json-schema-to-typescript would turn it into an index signature that defeats `in` narrowing.
 * The validator enforces it; the types leave it out.
 */
function withoutPresenceRules(node) {
  if (Array.isArray(node)) return node.map(withoutPresenceRules);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    const presenceOnly = key === 'oneOf'
      && value.every((b) => Object.keys(b).length === 1 && Array.isArray(b.required));
    if (!presenceOnly) out[key] = withoutPresenceRules(value);
  }
  return out;
}
const banner = [
  '// generated — do not edit.',
  '// Made by engine/build/gen-types.mjs from schema/scenario.schema.json; ' +
    'run `npm run generate` after changing the schema.',
].join('\n');
const body = await compile(schema, 'Scenario', {
  bannerComment: banner,
  additionalProperties: false,
  unreachableDefinitions: true,
  cwd: `${root}schema`,
  style: { singleQuote: true, printWidth: 120 },
});

await writeOrCheck(outPath, body, 'engine/generated/scenario.ts');
