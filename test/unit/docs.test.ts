// Public interfaces stay documented: error codes, metrics, schema descriptions, unit patterns, generated files.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../engine/errors.js';
import { allMetrics } from '../../engine/steps/index.js';
import { PACKAGE_ROOT, SCHEMA_PATH } from '../../engine/paths.js';
import { PATTERNS } from '../../engine/units.js';

const doc = (name: string): string => readFileSync(join(PACKAGE_ROOT, 'docs', name), 'utf8');
type Node = Record<string, unknown>;
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Node & { $defs: Record<string, Node> };

describe('docs/errors.md', () => {
  const documented = new Set([...doc('errors.md').matchAll(/^\| `([EW]_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
  it('documents every error code', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    assert.deepEqual(missing, []);
  });
  it('documents no code that does not exist', () => {
    const extra = [...documented].filter((c) => !(c in ERROR_CODES));
    assert.deepEqual(extra, []);
  });
  it('lists the four exit codes', () => {
    for (const code of ['0', '1', '2', '3']) assert.match(doc('errors.md'), new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});

describe('docs/metrics.md', () => {
  it('lists exactly the metrics of the catalog', () => {
    const documented = new Set([...doc('metrics.md').matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1]!));
    const catalog = new Set(allMetrics().map((m) => m.name));
    assert.deepEqual([...documented].sort(), [...catalog].sort());
  });
});

describe('schema/scenario.schema.json', () => {
  it('has a description on every property (its own or its definition’s)', () => {
    const missing: string[] = [];
    const resolve = (n: Node): Node =>
      typeof n['$ref'] === 'string' ? schema.$defs[(n['$ref'] as string).split('/').pop()!]! : n;
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
      if (node === null || typeof node !== 'object') return;
      const n = node as Node;
      for (const [key, prop] of Object.entries((n['properties'] as Record<string, Node> | undefined) ?? {})) {
        if (prop['description'] === undefined && resolve(prop)['description'] === undefined)
          missing.push(`${path}/properties/${key}`);
      }
      for (const [key, child] of Object.entries(n))
        if (key !== 'properties' && key !== 'examples') walk(child, `${path}/${key}`);
      for (const [key, child] of Object.entries((n['properties'] as Record<string, Node> | undefined) ?? {}))
        walk(child, `${path}/properties/${key}`);
    };
    walk(schema, '#');
    assert.deepEqual(missing, []);
  });

  it('rejects unknown keys in every mapping that declares properties', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
      if (node === null || typeof node !== 'object') return;
      const n = node as Node;
      if (n['properties'] !== undefined && n['additionalProperties'] !== false) open.push(path);
      for (const [key, child] of Object.entries(n)) {
        if (key === 'properties')
          for (const [name, prop] of Object.entries(child as Node)) walk(prop, `${path}/properties/${name}`);
        else if (key !== 'examples') walk(child, `${path}/${key}`);
      }
    };
    walk(schema, '#');
    assert.deepEqual(open, []);
  });

  it('uses the same patterns as engine/units.ts', () => {
    for (const name of ['duration', 'rate', 'size', 'percent', 'sizeRate', 'think', 'name'] as const) {
      assert.equal(schema.$defs[name]!['pattern'], PATTERNS[name], name);
    }
  });
});

describe('generated files', () => {
  for (const generator of ['gen-types.mjs', 'gen-docs.mjs', 'gen-validators.mjs']) {
    it(`${generator} --check: the committed output matches the schema`, () => {
      const result = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'engine', 'build', generator), '--check'], {
        encoding: 'utf8',
      });
      assert.equal(result.status, 0, result.stderr);
    });
  }
});
