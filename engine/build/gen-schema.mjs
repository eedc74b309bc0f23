// Assembles schema/scenario.schema.json, the one schema editors and the validator read, from
// schema/scenario.core.json (everything but the step kinds) and the schema fragment of each built-in step kind,
// in the order of BUILTIN_STEP_KINDS (engine/steps/index.ts). Reads the compiled kinds: `npm run generate`
// emits them first. `--check` fails when the committed schema differs.
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeOrCheck } from './write-or-check.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const core = JSON.parse(await readFile(`${root}schema/scenario.core.json`, 'utf8'));
const { BUILTIN_STEP_KINDS } = await import(pathToFileURL(`${root}dist/engine/steps/index.js`).href);

const step = core.$defs.step;
const defs = {};
const properties = {};
// The kinds' keys go before `use` (a plugin step), and their definitions right after `step`, where a reader of
// the schema looks for them.
for (const [key, value] of Object.entries(step.properties)) {
  if (key === 'use') {
    for (const kind of BUILTIN_STEP_KINDS) properties[kind.name] = { $ref: `#/$defs/${kind.definition}` };
  }
  properties[key] = value;
}
for (const [name, value] of Object.entries(core.$defs)) {
  defs[name] = value;
  if (name === 'step') for (const kind of BUILTIN_STEP_KINDS) defs[kind.definition] = kind.schema;
}
const names = BUILTIN_STEP_KINDS.map((kind) => `\`${kind.name}\``).join(', ');
step.description = step.description.replace('{kinds}', names);
step.properties = properties;
step.oneOf = [...BUILTIN_STEP_KINDS.map((kind) => ({ required: [kind.name] })), ...step.oneOf];
const schema = { ...core, $defs: defs };
await writeOrCheck(
  `${root}schema/scenario.schema.json`,
  `${JSON.stringify(schema, null, 2)}\n`,
  'schema/scenario.schema.json',
);
