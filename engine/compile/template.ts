// `{{...}}` templates: parsed once with mustache's parser, rendered by a loop over prepared parts.
// Rendering never HTML-escapes (these are URLs, headers and JSON bodies, not web pages).

import Mustache from 'mustache';
import { PerfyError, problem, type SourceLocation } from '../errors.js';
import { member } from '../expr/index.js';

export type TemplateScope = Record<string, unknown>;

export interface TemplateName {
  /** `data.users.id` → ['data', 'users', 'id'] */
  path: string[];
  /** 0-based offset of the tag in the template text */
  offset: number;
}

export interface Template {
  source: string;
  /** True when the text holds no placeholder: render returns `source` without work. */
  isStatic: boolean;
  names: TemplateName[];
  render(scope: TemplateScope): string;
}

/** A mustache token as `Mustache.parse` returns it: [type, value, start, end, ...]. */
type Token = [string, string, number, number, ...unknown[]];

/** Text used as it is: a template without placeholders, even when it holds `{{` (a SQL statement is never rendered). */
export function staticTemplate(source: string): Template {
  return { source, isStatic: true, names: [], render: () => source };
}

/** Parses a template; throws PerfyError E_TEMPLATE_PARSE with the column inside the text. */
export function compileTemplate(
  source: string,
  locate: (offset: number) => SourceLocation = (o) => ({ file: '<template>', line: 1, col: o + 1 }),
): Template {
  if (!source.includes('{{')) return staticTemplate(source);
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source) as unknown as Token[];
  } catch (error) {
    const at = Number(/at (\d+)/.exec((error as Error).message)?.[1] ?? 0);
    const opening = source.lastIndexOf('{{', Math.max(0, at - 1));
    throw new PerfyError(problem(
      'E_TEMPLATE_PARSE',
      'unclosed `{{` in template',
      'close it with `}}`',
      locate(opening === -1 ? 0 : opening),
    ));
  }
  const parts: (string | PathReader)[] = [];
  const names: TemplateName[] = [];
  for (const [type, value, start] of tokens) {
    if (type === 'text') {
      parts.push(value);
    } else if (type === 'name' || type === '&') {
      const name = value.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/.test(name)) {
        throw new PerfyError(problem(
          'E_TEMPLATE_PARSE',
          `\`{{${value}}}\` is not a name`,
          'write a variable, capture or path such as {{topic}} or {{data.users.id}}',
          locate(start),
        ));
      }
      const path = name.split('.');
      parts.push(pathReader(path));
      names.push({ path, offset: start });
    } else if (type !== '!') {
      throw new PerfyError(problem(
        'E_TEMPLATE_PARSE',
        `template sections (\`{{${type}${value}}}\`) are not supported`,
        'templates only substitute values: {{name}}; use `if:` in the flow for conditions',
        locate(start),
      ));
    }
  }
  return { source, isStatic: false, names, render: (scope) => renderParts(parts, scope) };
}

type PathReader = (scope: TemplateScope) => unknown;
type Step = (value: unknown) => unknown;

/**
 * Every name a built-in prototype lends its instances: `constructor`, `__proto__`, `toString`, an array's `map`,
 * a function's `caller`, a date's `getTime`, a buffer's `buffer`. Only these can be read from a prototype of the
 * values perfy hands templates (JSON, data rows, SQL rows, services), so only they need the own-property check.
 */
const LENT_NAMES: ReadonlySet<string> = new Set([
  Object, Array, String, Number, Boolean, Function, Date, RegExp, Error, Map, Set, Promise, ArrayBuffer, Uint8Array,
  Object.getPrototypeOf(Uint8Array) as typeof Uint8Array, Buffer, Symbol, BigInt,
].flatMap((type) => Object.getOwnPropertyNames(type.prototype)));

/**
 * Reads `data.users.id` from a scope the way expressions read paths: own properties only (engine/expr member()),
 * so `{{vu.constructor.name}}` is missing as `vu.constructor` is. The root may be inherited (a parallel branch's
 * variables inherit from its user's), except from Object.prototype. A numeric segment (`items.0`) is an index.
 */
function pathReader(path: readonly string[]): PathReader {
  const root = path[0]!;
  const steps = path.slice(1).map((key) => step(/^\d+$/.test(key) ? Number(key) : key));
  const readRoot: PathReader = root in Object.prototype
    ? (scope) => (Object.hasOwn(scope, root) ? scope[root] : undefined)
    : (scope) => scope[root];
  if (steps.length === 0) return readRoot;
  const [first, second] = steps as [Step, Step];
  if (steps.length === 1) return (scope) => first(readRoot(scope));
  if (steps.length === 2) return (scope) => second(first(readRoot(scope)));
  return (scope) => {
    let value = readRoot(scope);
    for (let i = 0; i < steps.length && value !== undefined; i++) value = steps[i]!(value);
    return value;
  };
}

/**
 * One segment of a path, as member() reads it. Object.hasOwn costs several times a property read, so a name no
 * built-in prototype lends (`users`, `id`, the common case) reads an object's property directly.
 */
function step(key: string | number): Step {
  if (typeof key === 'string' && LENT_NAMES.has(key)) return (value) => member(value, key);
  return (value) => (typeof value === 'object' && value !== null
    ? (value as Record<string | number, unknown>)[key]
    : member(value, key));
}

function renderParts(parts: readonly (string | PathReader)[], scope: TemplateScope): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = part(scope);
    out += value === null || value === undefined
      ? ''
      : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}

/** A value in which every string is a Template (request bodies, headers, parameters). */
export type TemplateTree = Template | number | boolean | null | TemplateTree[] | { [key: string]: TemplateTree };

export function renderTree(tree: TemplateTree, scope: TemplateScope): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map((t) => renderTree(t, scope));
  if (isTemplate(tree)) return tree.render(scope);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) out[k] = renderTree(v, scope);
  return out;
}

export function isTemplate(value: unknown): value is Template {
  return typeof value === 'object' && value !== null && 'render' in value && 'isStatic' in value;
}

/**
 * For a template that is one placeholder and nothing else (`"{{debate}}"`), a function returning the value
 * itself with its type (a captured number stays a number, an object stays an object, null stays null; a
 * missing value is `missing`); undefined for any other template. JSON bodies and SQL parameters are rendered this
 * way, so a value keeps its type where text would change it.
 */
export function loneValue(template: Template, missing: unknown): ((scope: TemplateScope) => unknown) | undefined {
  const only = template.names.length === 1 ? template.names[0]! : undefined;
  const lone = /^\{\{\{?&?\s*([^{}\s]+)\s*\}?\}\}$/.exec(template.source);
  if (only === undefined || lone === null || lone[1] !== only.path.join('.')) return undefined;
  const read = pathReader(only.path);
  return (scope) => {
    const value = read(scope);
    return value === undefined ? missing : value;
  };
}

/**
 * A renderer of a tree of values (a JSON body, SQL parameters, a github step's params): strings render, a lone
 * placeholder keeps its value's type (loneValue, `missing` when absent), numbers, booleans and null stay, and
 * arrays and mappings are rendered item by item.
 */
export function valueRenderer(tree: TemplateTree, missing: unknown): (scope: TemplateScope) => unknown {
  if (tree === null || typeof tree !== 'object') return () => tree;
  if (isTemplate(tree)) return loneValue(tree, missing) ?? ((scope) => tree.render(scope));
  if (Array.isArray(tree)) {
    const items = tree.map((item) => valueRenderer(item, missing));
    return (scope) => items.map((item) => item(scope));
  }
  const fields = Object.entries(tree).map(([key, value]) => [key, valueRenderer(value, missing)] as const);
  return (scope) => {
    const out: Record<string, unknown> = {};
    for (const [key, render] of fields) out[key] = render(scope);
    return out;
  };
}

