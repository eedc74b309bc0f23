// Checks a scenario value against schema/scenario.schema.json with ajv and turns ajv's errors into Problems.
// Unions (oneOf) are resolved the way the user meant them: the branch whose discriminator key is present is
// validated alone, so a typo inside a step reports that typo, not six "does not match" lines.

import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { didYouMean, problem, type ErrorCode, type Problem } from '../errors.js';
import { scenarioValidators } from '../generated/scenario-validators.js';
import type { LoadedDocument, PathSegment } from '../load/index.js';
import { SCHEMA_PATH } from '../paths.js';
import { nearMissHint, TYPED_KINDS } from './near-miss.js';

type SchemaNode = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  oneOf?: SchemaNode[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  description?: string;
  examples?: unknown[];
  pattern?: string;
  [key: string]: unknown;
};

export const scenarioSchema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as SchemaNode & {
  $id: string;
  $defs: Record<string, SchemaNode>;
};

// Compiled ahead of time by engine/build/gen-validators.mjs (compiling the schema at start-up cost ~100 ms).
// Their errors' `parentSchema` are the objects of `scenarioSchema` itself, which the code below relies on.
const validators = scenarioValidators(scenarioSchema);

/** JSON pointer of every schema object, so a oneOf met through a $ref can name its branches. */
const pointers = new WeakMap<object, string>();
(function index(node: unknown, pointer: string): void {
  if (node === null || typeof node !== 'object') return;
  pointers.set(node, pointer);
  for (const [key, child] of Object.entries(node)) {
    index(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
})(scenarioSchema, '');

function validatorAt(pointer: string): ValidateFunction {
  const v = validators[pointer];
  if (!v) throw new Error(`schema has no node at ${pointer}`);
  return v;
}

function resolve(node: SchemaNode): SchemaNode {
  let current = node;
  for (let depth = 0; current.$ref?.startsWith('#/') && depth < 10; depth++) {
    const target = current.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((n, k) => (n as Record<string, unknown>)?.[k], scenarioSchema);
    current = target as SchemaNode;
  }
  return current;
}

/**
 * How deeply flows may nest (loop in group in if …). Validating a flow item tries each kind of item, and two
 * kinds (loop, group) hold a flow of their own, so the schema check doubles in cost with every level: 12
 * levels cost a few milliseconds, 25 would cost minutes. Real scenarios nest three or four levels.
 */
export const MAX_FLOW_DEPTH = 12;
const FLOW_KEYS = new Set(['flow', 'then', 'else', 'parallel', 'setup', 'teardown']);

/** A schema problem and the part of the value to leave out so that the rest satisfies the schema. */
interface Finding {
  problem: Problem;
  cut: PathSegment[];
}

/** Validates a loaded document against the scenario schema: every problem, each at its place in the file. */
export function checkSchema(document: LoadedDocument): Problem[] {
  return dedupe(findings(document.value, document)).map((f) => f.problem);
}

export interface SchemaCheck {
  problems: Problem[];
  /**
   * What the compiler may read: the document itself when it has no schema problem; else the document with
   * every part that has one left out (a step with an unknown key loses that key, a step of no kind is left
   * out whole, …), whose paths `locate` maps back to the file; undefined when nothing useful is left.
   */
  accepted: LoadedDocument | undefined;
}

/** checkSchema, and the part of the document the schema accepts (so that it can be compiled all the same). */
export function checkScenarioSchema(document: LoadedDocument): SchemaCheck {
  const found = dedupe(findings(document.value, document));
  const problems = found.map((f) => f.problem);
  return { problems, accepted: found.length === 0 ? document : acceptedPart(document, found) };
}

function findings(value: unknown, document: LoadedDocument): Finding[] {
  const tooDeep = findTooDeepFlow(value, [], 0);
  if (tooDeep) {
    const hint = 'move the inner part into a flow of its own (a workload, or a group at a higher level)';
    const message = `flows are nested more than ${MAX_FLOW_DEPTH} levels deep`;
    const found = problem('E_SCHEMA', message, hint, document.locate(tooDeep));
    // The whole item of the outermost flow goes: checking what is left of it would cost a round per level.
    const item = tooDeep.findIndex((segment, i) => typeof segment === 'number' && FLOW_KEYS.has(`${tooDeep[i - 1]}`));
    return [{ problem: found, cut: item === -1 ? tooDeep : tooDeep.slice(0, item + 1) }];
  }
  return validateWith(validatorAt(''), value, [], document);
}

/**
 * A round leaves out what the schema refused, then checks again. What is left out is chosen so that its parent
 * stays valid (a stage whose `duration` is wrong goes whole: `duration` is required), so one round usually
 * suffices. Each round checks the whole document, which costs seconds for flows nested ten levels deep: after
 * a few rounds, the compiler is not run at all (the schema problems are still all reported).
 */
const MAX_ROUNDS = 4;
/** The compiler copies the name into the plan only, and a scenario with problems gets no plan. */
const STAND_IN_NAME = 'scenario';

function acceptedPart(document: LoadedDocument, first: Finding[]): LoadedDocument | undefined {
  const value = structuredClone(document.value) as Record<string, unknown>;
  /** For each list that lost items: the original index of each item left. */
  const origins = new WeakMap<unknown[], number[]>();
  // Later rounds need only the cuts, not where the problems are in the file: the user sees the first round's.
  const unlocated: LoadedDocument = { ...document, locate: () => ({ file: document.file, line: 1, col: 1 }) };
  let found = first;
  for (let round = 0; found.length > 0; round++) {
    if (round === MAX_ROUNDS) return undefined;
    for (const cut of deepestFirst(found.map((f) => removable(value, f.cut)))) leaveOut(value, cut, origins);
    // The one key the top level requires: a stand-in, so that a missing or malformed name hides nothing else.
    value['name'] ??= STAND_IN_NAME;
    found = findings(value, unlocated);
  }
  if (findTooDeepFlow(value, [], 0) !== undefined || !validatorAt('')(value)) return undefined;
  const original = (path: readonly PathSegment[]): PathSegment[] => {
    const out: PathSegment[] = [];
    let node: unknown = value;
    for (const segment of path) {
      if (Array.isArray(node) && typeof segment === 'number') {
        out.push(origins.get(node)?.[segment] ?? segment);
        node = node[segment];
      } else {
        out.push(segment);
        node = isObject(node) ? node[String(segment)] : undefined;
      }
    }
    return out;
  };
  return {
    ...document,
    value,
    locate: (path, options) => document.locate(original(path), options),
    locateInString: (path, offset) => document.locateInString(original(path), offset),
  };
}

/**
 * `cut`, or its nearest ancestor whose removal leaves the parent valid: a required key takes its mapping along,
 * the last item of a list that needs one takes the list along. Top-level keys can always go (the name gets a
 * stand-in).
 */
function removable(root: unknown, cut: PathSegment[]): PathSegment[] {
  let path = cut;
  while (path.length > 1) {
    const parentPath = path.slice(0, -1);
    const parent = valueAtPath(root, parentPath);
    const schema = schemaAt(root, parentPath);
    if (schema !== undefined) {
      if (Array.isArray(parent) && parent.length - 1 >= Number(schema['minItems'] ?? 0)) return path;
      const key = String(path.at(-1));
      if (isObject(parent) && !requiredKeys(schema, parent).includes(key) && !lacksKeys(schema, parent)) return path;
    }
    path = parentPath;
  }
  return path;
}

/** The schema of the value at `path`: $refs followed, and in a union the branch meant, as validateWith picks it. */
function schemaAt(root: unknown, path: PathSegment[]): SchemaNode | undefined {
  let schema: SchemaNode | undefined = branchFor(scenarioSchema, root);
  let value = root;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    const named = schema.properties ?? {};
    const child = typeof segment === 'number' ? schema['items'] : named[segment] ?? schema['additionalProperties'];
    value = childOf(value, segment);
    schema = isObject(child) ? branchFor(child as SchemaNode, value) : undefined;
  }
  return schema;
}

/** `schema` with its $ref followed and, for a union, the branch meant for `value`; undefined when unclear. */
function branchFor(schema: SchemaNode, value: unknown): SchemaNode | undefined {
  const node = resolve(schema);
  if (node.oneOf === undefined || isPresenceOnly(node)) return node;
  const byType = node.oneOf.map((b) => resolve(b)).filter((b) => acceptsType(b, value));
  if (byType.length === 1) return branchFor(byType[0]!, value);
  const present = isObject(value) ? byType.filter((b) => discriminators(b).some((k) => k in value)) : [];
  return present.length === 1 ? branchFor(present[0]!, value) : undefined;
}

/** The keys a mapping must keep: its schema's `required`, and the one key of "exactly one of" that it has. */
function requiredKeys(schema: SchemaNode, value: Record<string, unknown>): string[] {
  return [...(schema.required ?? []), ...(presenceKeys(schema) ?? []).filter((k) => k in value)];
}

/** Whether a mapping misses a key it needs, so that it goes whatever is left out of it (`http: { gett: / }`). */
function lacksKeys(schema: SchemaNode, value: Record<string, unknown>): boolean {
  const presence = presenceKeys(schema);
  if ((schema.required ?? []).some((k) => !(k in value))) return true;
  return presence !== undefined && !presence.some((k) => k in value);
}

/** The keys of an "exactly one of" union (`get`, `post`, … of an http request), if the schema is one. */
function presenceKeys(schema: SchemaNode): string[] | undefined {
  if (schema.oneOf === undefined || !isPresenceOnly(schema)) return undefined;
  return schema.oneOf.flatMap((b) => b.required ?? []);
}

function childOf(node: unknown, segment: PathSegment): unknown {
  return Array.isArray(node) || isObject(node) ? (node as Record<string | number, unknown>)[segment] : undefined;
}

function valueAtPath(root: unknown, path: PathSegment[]): unknown {
  let node = root;
  for (const segment of path) node = childOf(node, segment);
  return node;
}

/** Cuts ordered so that removing one never moves another: deeper paths and higher list indexes first. */
function deepestFirst(cuts: PathSegment[][]): PathSegment[][] {
  const unique = [...new Map(cuts.map((c) => [JSON.stringify(c), c])).values()];
  return unique.sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const [x, y] = [a[i]!, b[i]!];
      if (x === y) continue;
      return typeof x === 'number' && typeof y === 'number' ? y - x : String(y).localeCompare(String(x));
    }
    return b.length - a.length;
  });
}

function leaveOut(root: unknown, cut: PathSegment[], origins: WeakMap<unknown[], number[]>): void {
  if (cut.length === 0) return; // a problem of the top level itself: the missing name, which gets a stand-in
  const parent = valueAtPath(root, cut.slice(0, -1));
  const last = cut.at(-1)!;
  if (Array.isArray(parent) && typeof last === 'number' && last < parent.length) {
    const indexes = origins.get(parent) ?? [...parent.keys()];
    parent.splice(last, 1);
    indexes.splice(last, 1);
    origins.set(parent, indexes);
  } else if (isObject(parent)) {
    delete parent[String(last)];
  }
}

/** The path of the first flow list nested deeper than MAX_FLOW_DEPTH, if any. */
function findTooDeepFlow(value: unknown, path: PathSegment[], depth: number): PathSegment[] | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findTooDeepFlow(value[i], [...path, i], depth);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const nested = FLOW_KEYS.has(key) && Array.isArray(child);
      if (nested && depth + 1 > MAX_FLOW_DEPTH) return [...path, key];
      const found = findTooDeepFlow(child, [...path, key], nested ? depth + 1 : depth);
      if (found) return found;
    }
  }
  return undefined;
}

function validateWith(
  validate: ValidateFunction, data: unknown, base: PathSegment[], document: LoadedDocument,
): Finding[] {
  if (validate(data)) return [];
  const errors = [...(validate.errors ?? [])];
  const problems: Finding[] = [];
  // Outermost unions first: a union replaces every error below it with the errors of the branch meant.
  // At one place, a union reached through another union's branch (a step inside a flow item) is handled inside it.
  const unions = errors
    .filter((e) => e.keyword === 'oneOf')
    .sort(
      (a, b) => a.instancePath.length - b.instancePath.length || (isBranchOf(a, b) ? 1 : isBranchOf(b, a) ? -1 : 0),
    );
  const handled: string[] = [];
  const presence: string[] = [];
  for (const union of unions) {
    if (handled.some((h) => isUnder(union.instancePath, h))) continue;
    if (isPresenceOnly(union.parentSchema as SchemaNode)) {
      // "Exactly one of get, post, …": the mapping's other errors stand; an unknown key (`gett`) explains it best.
      const unknownKeyHere = errors.some(
        (e) => e.keyword === 'additionalProperties' && e.instancePath === union.instancePath,
      );
      if (!unknownKeyHere) {
        problems.push(...resolveUnion(
          union,
          valueAt(data, union.instancePath),
          [...base, ...toSegments(union.instancePath, data)],
          document,
        ));
      }
      presence.push(union.instancePath);
      continue;
    }
    handled.push(union.instancePath);
    const path = [...base, ...toSegments(union.instancePath, data)];
    const value = valueAt(data, union.instancePath);
    problems.push(...resolveUnion(union, value, path, document));
  }
  for (const error of errors) {
    if (error.keyword === 'oneOf' || handled.some((h) => isUnder(error.instancePath, h))) continue;
    if (error.keyword === 'required' && presence.includes(error.instancePath) && error.schemaPath.includes('/oneOf/')) {
      continue;
    }
    if (error.keyword === 'propertyNames') continue; // reported by its inner `pattern` error, which names the key
    const path = [...base, ...toSegments(error.instancePath, data)];
    problems.push({ problem: toProblem(error, path, document), cut: cutOf(error, path) });
  }
  return problems;
}

/** What to leave out for an error: an unknown key or a malformed key alone, else the value that is wrong. */
function cutOf(error: ErrorObject, path: PathSegment[]): PathSegment[] {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return [...path, String(params['additionalProperty'])];
  const name = params['propertyName'] ?? error.propertyName;
  if (error.keyword === 'pattern' && name !== undefined) return [...path, String(name)];
  return path;
}

function resolveUnion(error: ErrorObject, value: unknown, path: PathSegment[], document: LoadedDocument): Finding[] {
  const at = (found: Problem, cut = path): Finding => ({ problem: found, cut });
  const parent = error.parentSchema as SchemaNode;
  const branches = parent.oneOf ?? [];
  const pointer = pointers.get(parent);
  const kindCode: ErrorCode | undefined = isFlowItem(parent) ? 'E_STEP_KIND' : undefined;
  const byType = branches.map((b, i) => ({ schema: resolve(b), i })).filter(({ schema }) => acceptsType(schema, value));
  if (byType.length === 0) {
    const message = `expected ${describeTypes(branches)}, got ${describeValue(value)}`;
    return [at(problem('E_TYPE', message, hintFor(parent), document.locate(path)))];
  }
  let chosen = byType;
  if (byType.length > 1 && isObject(value)) {
    const present = byType.filter(({ schema }) => discriminators(schema).some((k) => k in value));
    if (present.length === 0) {
      // Branches that only require a key ("exactly one of get, post, …") leave unknown keys to the parent.
      const presenceOnly = isPresenceOnly(parent);
      const allowed = new Set(byType.flatMap(({ schema }) => allProperties(schema)));
      const unknown = presenceOnly ? [] : Object.keys(value).filter((k) => !allowed.has(k));
      if (unknown.length > 0) {
        return unknown.map((k) => {
          const hint = didYouMean(k, allowed) ?? `expected one of: ${[...allowed].join(', ')}`;
          const where = document.locate([...path, k], { key: true });
          return at(problem('E_UNKNOWN_KEY', `unknown key \`${k}\``, hint, where), [...path, k]);
        });
      }
      const names = byType.flatMap(({ schema }) => discriminators(schema).map(displayKey));
      const message = `${kindCode ? 'a flow item' : 'this mapping'} needs one of: ${names.join(', ')}`;
      return [at(problem(kindCode ?? 'E_MISSING_KEY', message, hintFor(parent), document.locate(path)))];
    }
    if (present.length > 1) {
      const keys = present.flatMap(({ schema }) => discriminators(schema).filter((k) => k in value)).map(displayKey);
      const message = `only one of ${keys.map((k) => `\`${k}\``).join(' and ')} may be given here`;
      const hint = kindCode ? 'split them into separate flow items' : hintFor(parent);
      return [at(problem(kindCode ?? 'E_SCHEMA', message, hint, document.locate(path)))];
    }
    chosen = present;
  }
  const branch = chosen[0]!;
  if (pointer === undefined) return [];
  const inner = validatorAt(`${pointer}/oneOf/${branch.i}`);
  return validateWith(inner, value, path, document);
}

function isPresenceOnly(schema: SchemaNode): boolean {
  return (schema.oneOf ?? []).every((b) => Object.keys(b).length === 1 && b.required !== undefined);
}

function isBranchOf(inner: ErrorObject, outer: ErrorObject): boolean {
  return ((outer.parentSchema as SchemaNode).oneOf ?? []).some((b) => resolve(b) === inner.parentSchema);
}

/**
 * A branch's discriminator keys: its first required key, or the first required key of each of its own oneOf
 * branches.
 */
function discriminators(schema: SchemaNode): string[] {
  if (schema.required?.[0] !== undefined) return [schema.required[0]];
  return (schema.oneOf ?? []).map((b) => resolve(b).required?.[0]).filter((k): k is string => k !== undefined);
}

function allProperties(schema: SchemaNode): string[] {
  return Object.keys(schema.properties ?? {});
}

function displayKey(key: string): string {
  return key === 'then' ? 'if/then' : key;
}

function isFlowItem(schema: SchemaNode): boolean {
  return schema === scenarioSchema.$defs['flowItem'] || schema === scenarioSchema.$defs['step'];
}

function acceptsType(schema: SchemaNode, value: unknown): boolean {
  const types = schemaTypes(schema);
  if (types.length === 0) return true;
  const actual = jsonType(value);
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}

function schemaTypes(schema: SchemaNode): string[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum) return [...new Set(schema.enum.map(jsonType))].map((t) => (t === 'integer' ? 'number' : t));
  if (schema.oneOf) return [...new Set(schema.oneOf.flatMap((b) => schemaTypes(resolve(b))))];
  if (schema.required || schema.properties) return ['object'];
  return [];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'text', number: 'a number', integer: 'a whole number',
  boolean: 'true or false', null: 'nothing',
};

function describeTypes(branches: SchemaNode[]): string {
  const words = [...new Set(branches.flatMap((b) => schemaTypes(resolve(b))).map((t) => TYPE_WORDS[t] ?? t))];
  return words.length <= 1 ? (words[0] ?? 'something else') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function describeValue(value: unknown): string {
  const type = jsonType(value);
  if (type === 'string') return `"${String(value).slice(0, 40)}"`;
  if (type === 'integer' || type === 'number' || type === 'boolean') return String(value);
  return TYPE_WORDS[type] ?? type;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hintFor(schema: SchemaNode): string | undefined {
  const resolved = resolve(schema);
  const example = schema.examples?.[0] ?? resolved.examples?.[0];
  if (example !== undefined) return `for example: ${typeof example === 'string' ? example : JSON.stringify(example)}`;
  return resolved.description ?? schema.description;
}

function toProblem(error: ErrorObject, path: PathSegment[], document: LoadedDocument): Problem {
  const schema = error.parentSchema as SchemaNode;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys(schema.properties ?? {});
      return problem(
        'E_UNKNOWN_KEY',
        `unknown key \`${key}\``,
        didYouMean(key, allowed) ?? (allowed.length ? `allowed here: ${allowed.join(', ')}` : 'remove it'),
        document.locate([...path, key], { key: true }),
      );
    }
    case 'required': {
      const key = String(params['missingProperty']);
      const property = schema.properties?.[key];
      const description = property ? property.description ?? resolve(property).description : undefined;
      return problem('E_MISSING_KEY', `missing \`${key}\``, description, document.locate(path));
    }
    case 'type': {
      const expected = schema.pattern ? formatName(schema) : describeTypes([schema]);
      const hint = nearMiss(schema, error.data) ?? hintFor(schema);
      return problem('E_TYPE', `expected ${expected}, got ${describeValue(error.data)}`, hint, document.locate(path));
    }
    case 'enum': {
      const allowed = (schema.enum ?? []).map(String);
      return problem(
        'E_ENUM',
        `${describeValue(error.data)} is not one of: ${allowed.join(', ')}`,
        didYouMean(String(error.data), allowed) ?? schema.description,
        document.locate(path),
      );
    }
    case 'pattern': {
      const propertyName = params['propertyName'];
      if (typeof propertyName === 'string' || error.propertyName !== undefined) {
        const name = String(propertyName ?? error.propertyName);
        return problem(
          'E_FORMAT',
          `\`${name}\` is not a valid name`,
          'names start with a letter or `_` and hold letters, digits, `_` or `-`',
          document.locate([...path, name], { key: true }),
        );
      }
      const hint = nearMiss(schema, error.data) ?? hintFor(schema);
      const message = `${describeValue(error.data)} is not ${formatName(schema)}`;
      return problem('E_FORMAT', message, hint, document.locate(path));
    }
    default:
      return problem('E_SCHEMA', `${error.message ?? 'is invalid'}`, hintFor(schema), document.locate(path));
  }
}

/** A hint for a duration, rate, size … written almost right (`10`, `1 min`, `200ms-500ms`), if `schema` is one. */
function nearMiss(schema: SchemaNode, value: unknown): string | undefined {
  const kind = TYPED_KINDS.find((k) => scenarioSchema.$defs[k]?.pattern === schema.pattern);
  return schema.pattern === undefined || kind === undefined ? undefined : nearMissHint(kind, value);
}

function formatName(schema: SchemaNode): string {
  for (const [name, def] of Object.entries(scenarioSchema.$defs)) {
    if (def.pattern !== undefined && def.pattern === schema.pattern) {
      return `a valid ${name === 'sizeRate' ? 'growth rate' : name === 'think' ? 'think time' : name}`;
    }
  }
  return 'in the expected format';
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

function toSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: PathSegment = Array.isArray(node) ? Number(key) : key;
    segments.push(segment);
    node = (node as Record<string | number, unknown> | undefined)?.[segment];
  }
  return segments;
}

function valueAt(data: unknown, pointer: string): unknown {
  let node = data;
  for (const segment of toSegments(pointer, data)) {
    node = (node as Record<string | number, unknown> | undefined)?.[segment];
  }
  return node;
}

function dedupe(found: Finding[]): Finding[] {
  const seen = new Set<string>();
  return found.filter(({ problem: p }) => {
    const key = `${p.code}|${p.location?.line}|${p.location?.col}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A value against a schema of its own (a plugin's settings): every problem, at its place under `base`. The schema
 * may use the scenario's definitions (`$ref: "#/$defs/duration"`). Compiled when asked: only plugins need it.
 */
export function checkAgainstSchema(
  schema: Record<string, unknown>, value: unknown, base: PathSegment[], document: LoadedDocument,
): Problem[] {
  const own = isObject(schema['$defs']) ? schema['$defs'] : {};
  // Required here, not imported: the scenario's own validators are compiled ahead of time, and ajv costs start-up.
  const require = createRequire(import.meta.url);
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const { default: addFormats } = require('ajv-formats') as typeof import('ajv-formats');
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  const validate = ajv.compile({ ...schema, $defs: { ...scenarioSchema.$defs, ...own } });
  return dedupe(validateWith(validate, value, base, document)).map((f) => f.problem);
}
