// `{{...}}` templates: parsed once with mustache's parser, rendered by a loop over prepared parts.
// Rendering never HTML-escapes (these are URLs, headers and JSON bodies, not web pages).

import Mustache from 'mustache';
import { PerfyError, problem, type SourceLocation } from '../errors.js';

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
export function compileTemplate(source: string, locate: (offset: number) => SourceLocation = (o) => ({ file: '<template>', line: 1, col: o + 1 })): Template {
  if (!source.includes('{{')) return staticTemplate(source);
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source) as unknown as Token[];
  } catch (error) {
    const at = Number(/at (\d+)/.exec((error as Error).message)?.[1] ?? 0);
    const opening = source.lastIndexOf('{{', Math.max(0, at - 1));
    throw new PerfyError(problem('E_TEMPLATE_PARSE', 'unclosed `{{` in template', 'close it with `}}`', locate(opening === -1 ? 0 : opening)));
  }
  const parts: (string | string[])[] = [];
  const names: TemplateName[] = [];
  for (const [type, value, start] of tokens) {
    if (type === 'text') {
      parts.push(value);
    } else if (type === 'name' || type === '&') {
      const name = value.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/.test(name)) {
        throw new PerfyError(problem('E_TEMPLATE_PARSE', `\`{{${value}}}\` is not a name`, 'write a variable, capture or path such as {{topic}} or {{data.users.id}}', locate(start)));
      }
      const path = name.split('.');
      parts.push(path);
      names.push({ path, offset: start });
    } else if (type !== '!') {
      throw new PerfyError(problem('E_TEMPLATE_PARSE', `template sections (\`{{${type}${value}}}\`) are not supported`, 'templates only substitute values: {{name}}; use `if:` in the flow for conditions', locate(start)));
    }
  }
  return { source, isStatic: false, names, render: (scope) => renderParts(parts, scope) };
}

function renderParts(parts: readonly (string | string[])[], scope: TemplateScope): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    let value: unknown = scope;
    for (const key of part) {
      if (value === null || value === undefined) break;
      value = (value as Record<string, unknown>)[key];
    }
    out += value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
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
 * missing value is `missing`); undefined for any other template. JSON bodies and SQL parameters are rendered this way, so a
 * value keeps its type where text would change it.
 */
export function loneValue(template: Template, missing: unknown): ((scope: TemplateScope) => unknown) | undefined {
  const only = template.names.length === 1 ? template.names[0]! : undefined;
  const lone = /^\{\{\{?&?\s*([^{}\s]+)\s*\}?\}\}$/.exec(template.source);
  if (only === undefined || lone === null || lone[1] !== only.path.join('.')) return undefined;
  const path = only.path;
  return (scope) => {
    let value: unknown = scope;
    for (const key of path) {
      if (value === null || value === undefined) break;
      value = (value as Record<string, unknown>)[key];
    }
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

/** The text of a tree the compiler left static (a SQL statement, a route, a path). */
export function textOf(tree: TemplateTree | undefined): string {
  return isTemplate(tree) ? tree.source : String(tree ?? '');
}
