// Generates docs/format.md, the scenario format reference, from the descriptions in schema/scenario.schema.json.
// `npm run generate` writes it; `node engine/build/gen-docs.mjs --check` fails when the file is stale.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const schema = JSON.parse(await readFile(`${root}schema/scenario.schema.json`, 'utf8'));
const outPath = `${root}docs/format.md`;

const resolve = (node) => {
  let current = node;
  for (let i = 0; current?.$ref && i < 10; i++) {
    current = current.$ref.slice(2).split('/').reduce((n, k) => n[k], schema);
  }
  return current;
};
const refName = (node) => node?.$ref?.split('/').pop();
const anchor = (name) => `#${name.toLowerCase()}`;
const cell = (text) => String(text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (value) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

/** A short type for a table cell: links to the definition for named types. */
function typeOf(node) {
  const name = refName(node);
  if (name) return `[${name}](${anchor(name)})`;
  if (node.enum) return node.enum.map(code).join(' \\| ');
  if (node.oneOf) return node.oneOf.map(typeOf).join(' or ');
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'values'}`;
  if (node.type === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object') {
    return `map of name → ${typeOf(node.additionalProperties)}`;
  }
  if (node.type === 'object') return node.properties ? 'mapping (below)' : 'mapping';
  if (Array.isArray(node.type)) return node.type.join(' \\| ');
  return node.type ?? 'any';
}

function propertyTable(node, required = []) {
  const rows = ['| key | type | required | description |', '| --- | --- | --- | --- |'];
  for (const [key, prop] of Object.entries(node.properties ?? {})) {
    const target = resolve(prop);
    const description = prop.description ?? target.description ?? '';
    const extras = [];
    const dflt = prop.default ?? target.default;
    if (dflt !== undefined) extras.push(`Default: ${code(dflt)}.`);
    const examples = prop.examples ?? (refName(prop) ? undefined : target.examples);
    if (examples?.length) extras.push(`Example: ${examples.map(code).join(', ')}.`);
    const isRequired = required.includes(key) ? 'yes' : '';
    rows.push(`| \`${key}\` | ${typeOf(prop)} | ${isRequired} | ${cell([description, ...extras].join(' '))} |`);
  }
  return rows.join('\n');
}

/** Nested mappings without a name of their own are documented right under their parent. */
function nested(node, path, out) {
  for (const [key, prop] of Object.entries(node.properties ?? {})) {
    if (prop.$ref) continue;
    const branches = prop.oneOf ?? [prop];
    for (const branch of branches) {
      if (branch.type === 'object' && branch.properties && !branch.$ref) {
        const description = branch.description ?? prop.description ?? '';
        out.push(`#### \`${path}${key}\`\n\n${description}\n\n${propertyTable(branch, branch.required)}\n`);
        nested(branch, `${path}${key}.`, out);
      }
    }
  }
}

function section(name, node) {
  const out = [`### ${name}\n`];
  if (node.description) out.push(`${node.description}\n`);
  if (node.pattern) {
    const examples = node.examples ? ` — for example ${node.examples.map(code).join(', ')}` : '';
    out.push(`Pattern: \`${node.pattern}\`${examples}.\n`);
  }
  if (node.enum) out.push(`One of: ${node.enum.map(code).join(', ')}.\n`);
  if (node.properties) {
    out.push(propertyTable(node, node.required) + '\n');
    nested(node, '', out);
  }
  node.oneOf?.forEach((branch, i) => {
    if (branch.$ref) {
      out.push(`- form ${i + 1}: [${refName(branch)}](${anchor(refName(branch))})\n`);
    } else if (branch.properties) {
      const key = branch.required?.[0];
      const table = propertyTable(branch, branch.required);
      out.push(`#### form ${i + 1}${key ? `: with \`${key}\`` : ''}\n\n${branch.description ?? ''}\n\n${table}\n`);
      nested(branch, '', out);
    } else if (!branch.required) {
      out.push(`- form ${i + 1}: ${typeOf(branch)}${branch.description ? ` — ${branch.description}` : ''}\n`);
    }
  });
  const presence = node.oneOf?.filter((b) => Object.keys(b).length === 1 && b.required);
  if (presence?.length) {
    out.push(`Exactly one of ${presence.map((b) => `\`${b.required[0]}\``).join(', ')} is given.\n`);
  }
  return out.join('\n');
}

const parts = [
  '<!-- generated — do not edit. Made by engine/build/gen-docs.mjs from schema/scenario.schema.json: ' +
    'run `npm run generate`. -->',
  '# Scenario format reference',
  '',
  schema.description,
  '',
  'This page is generated from the JSON Schema (`schema/scenario.schema.json`, printed by `perfy schema`), ' +
    'the single source of truth that perfy validates against and that editors complete from. ' +
    'Add `# yaml-language-server: $schema=<path to scenario.schema.json>` at the top of a scenario ' +
    '(as `perfy init` does) to get completion and these descriptions on hover. Unknown keys are errors everywhere. ' +
    'Expressions are described in [expressions.md](expressions.md), error codes in [errors.md](errors.md).',
  '',
  '## Top level',
  '',
  propertyTable(schema, schema.required),
  '',
  '## Definitions',
  '',
  ...Object.entries(schema.$defs).map(([name, node]) => section(name, node)),
];
const body = `${parts.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;

await writeOrCheck(outPath, body, 'docs/format.md');
