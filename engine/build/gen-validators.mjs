// Generates engine/generated/scenario-validators.ts: ajv's validators of schema/scenario.schema.json as code.
// `npm run generate` writes it; `node engine/build/gen-validators.mjs --check` fails when the file is stale.
//
// Compiling the schema with ajv cost ~100 ms of every `perfy validate` and `perfy run`; the generated module
// loads in a few. It holds the whole scenario's validator and one per union branch (`<pointer>/oneOf/<i>`),
// which engine/validate/schema.ts uses to report the branch the user meant. That code compares ajv's
// `parentSchema` with the nodes of the schema it read by identity, so the generated code does not carry copies
// of the schema: each schema ajv refers to is looked up, by its JSON pointer, in the object passed in.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js');
const standaloneCode = require('ajv/dist/standalone/index.js');
const { _, Name } = require('ajv');

const root = fileURLToPath(new URL('../../', import.meta.url));
const outPath = `${root}engine/generated/scenario-validators.ts`;
const schema = JSON.parse(await readFile(`${root}schema/scenario.schema.json`, 'utf8'));

// These options decide every error the validators report: change them only together with schema.ts's handling.
const ajv = new Ajv2020({
  allErrors: true,
  verbose: true,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  allowUnionTypes: true,
  code: { source: true, lines: true },
});
ajv.addSchema(schema);

/** Every object of the schema with its JSON pointer, in document order. */
const pointers = new Map();
(function index(node, pointer) {
  if (node === null || typeof node !== 'object') return;
  if (!pointers.has(node)) pointers.set(node, pointer);
  for (const [key, child] of Object.entries(node)) index(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
})(schema, '');

// The root, then each branch of each union in document order: the names ajv gives the functions follow this.
const exported = { '': `${schema.$id}#` };
for (const [node, pointer] of pointers) {
  if (!Array.isArray(node.oneOf) || pointer.includes('/examples/')) continue;
  node.oneOf.forEach((_branch, i) => (exported[`${pointer}/oneOf/${i}`] = `${schema.$id}#${pointer}/oneOf/${i}`));
}
for (const id of Object.values(exported)) if (!ajv.getSchema(id)) throw new Error(`ajv has no schema at ${id}`);

// A schema ajv refers to becomes `scenarioSchema["$defs"]["step"]` instead of a literal copy of it.
const scenarioSchema = new Name('scenarioSchema');
let bound = 0;
for (const [node, pointer] of pointers) {
  const name = ajv.scope.getValue('schema', node);
  if (name === undefined) continue;
  const path = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  name.value.code = path.reduce((code, key) => _`${code}[${key}]`, _`${scenarioSchema}`);
  bound++;
}
if (bound === 0) throw new Error('ajv refers to no schema object: has its code generation changed?');

const code = standaloneCode(ajv, exported).replace(/^"use strict";\n?/, '');
if (/const schema\d+ = \{/.test(code)) throw new Error('the generated code still holds a copy of a schema object');

const ajvVersion = require('ajv/package.json').version;
const madeBy = `// Made by engine/build/gen-validators.mjs from schema/scenario.schema.json with ajv ${ajvVersion}; ` +
  'run `npm run generate` after changing the schema.';
const body = `// generated — do not edit.
${madeBy}
// @ts-nocheck
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

/**
 * The scenario schema's validators by JSON pointer: '' validates a whole scenario, '<pointer>/oneOf/<i>' one
 * branch of a union. \`scenarioSchema\` must be schema/scenario.schema.json as parsed: errors point into it.
 */
export function scenarioValidators(${scenarioSchema}: object): Record<string, ValidateFunction> {
const exports = {};
${code}
return exports;
}
`;

await writeOrCheck(outPath, body, 'engine/generated/scenario-validators.ts');
