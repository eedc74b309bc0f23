// Loading a scenario file: bytes → YAML document with positions → plain value with `${env.NAME}` replaced.
// Everything that can go wrong on the way is a PerfyError with file:line:col; nothing here throws anything else.

import { readFileSync, statSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar } from 'yaml';
import { PerfyError, problem, type Problem, type SourceLocation } from '../errors.js';

export type PathSegment = string | number;

/** A parsed scenario file: the plain value plus the means to point at any part of it in the file. */
export interface LoadedDocument {
  file: string;
  text: string;
  value: unknown;
  /** Values that came from the environment, for redaction in reports and logs. */
  secrets: string[];
  /** Where the value at `path` is (or its key, with `key: true`); the nearest existing parent when missing. */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): SourceLocation;
  /** Where character `offset` of the string at `path` is in the file (exact for one-line scalars). */
  locateInString(path: readonly PathSegment[], offset: number): SourceLocation;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads and parses a scenario file. Throws PerfyError (never anything else) when it cannot. */
export function loadScenarioFile(file: string, env: Environment = process.env): LoadedDocument {
  let text: string;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      throw new PerfyError(problem('E_FILE_IS_DIRECTORY', `${file} is a directory, not a scenario file`, `name a .yaml file inside it, e.g. ${file.replace(/\/$/, '')}/*.yaml`));
    }
    const bytes = readFileSync(file);
    text = decodeText(bytes, file);
  } catch (error) {
    if (error instanceof PerfyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PerfyError(problem('E_FILE_NOT_FOUND', `${file} does not exist`, 'check the path; it is relative to the current directory'));
    }
    throw new PerfyError(problem('E_FILE_READ', `${file} cannot be read (${code ?? 'unknown error'})`, 'check the file permissions'));
  }
  return loadScenarioText(text, file, env);
}

function decodeText(bytes: Buffer, file: string): string {
  if (bytes.includes(0)) {
    throw new PerfyError(problem('E_NOT_YAML', `${file} is binary data, not YAML`, 'a scenario is a UTF-8 text file of YAML'));
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PerfyError(problem('E_NOT_YAML', `${file} is not UTF-8 text`, 'save the scenario as UTF-8'));
  }
}

/** Parses scenario text (already read) as if it came from `file`. */
export function loadScenarioText(text: string, file: string, env: Environment = process.env): LoadedDocument {
  const lines = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lines.linePos(offset);
    return { file, line, col };
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (/\u0000/.test(text)) {
    throw new PerfyError(problem('E_NOT_YAML', `${file} holds NUL characters, it is not YAML`, 'a scenario is a UTF-8 text file of YAML'));
  }

  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  // After the first syntax error the parser is out of step and what follows is noise: report that one, plus
  // every duplicate key and tab (those are independent of each other).
  const firstSyntax = doc.errors.find((e) => e.code !== 'DUPLICATE_KEY' && e.code !== 'TAB_AS_INDENT');
  const errors = doc.errors.filter((e) => e === firstSyntax || e.code === 'DUPLICATE_KEY' || e.code === 'TAB_AS_INDENT');
  const syntax: Problem[] = errors.map((e) => {
    const message = e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').replace(/:$/, '');
    const location = at(e.pos[0]);
    if (e.code === 'DUPLICATE_KEY') {
      return problem('E_YAML_DUPLICATE_KEY', `duplicate key${duplicateKeyName(text, e.pos[0])}`, 'each key may appear once in a mapping; remove or rename one', location);
    }
    if (e.code === 'TAB_AS_INDENT') {
      return problem('E_YAML_TAB', 'a tab is used for indentation', 'indent YAML with spaces only', location);
    }
    return problem('E_YAML_SYNTAX', lowerFirst(message), yamlHint(e.code, text, e.pos[0]), location);
  });
  if (syntax.length > 0) throw new PerfyError(syntax);

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new PerfyError(problem('E_FILE_EMPTY', `${file} is empty`, 'run `perfy init NAME` for a starter scenario', { file, line: 1, col: 1 }));
  }
  if (!isMap(doc.contents)) {
    const what = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw new PerfyError(problem('E_NOT_YAML', `the file holds ${what}, not a scenario mapping`, 'a scenario is a YAML mapping that starts with `name:`', at(doc.contents.range?.[0] ?? 0)));
  }

  const secrets = interpolateEnvironment(doc, env, at);

  const locateNode = (path: readonly PathSegment[], key: boolean): Node | undefined => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const segment of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return node as Node;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        node = node.items[segment];
      } else {
        return node as Node;
      }
    }
    return ((key && keyNode) || node) as Node;
  };

  return {
    file,
    text,
    value: doc.toJS({ maxAliasCount: 100 }) as unknown,
    secrets,
    locate(path, options) {
      const node = locateNode(path, options?.key === true);
      return at(node?.range?.[0] ?? 0);
    },
    locateInString(path, offset) {
      const node = locateNode(path, false);
      if (!node?.range || !isScalar(node) || typeof node.value !== 'string') return at(node?.range?.[0] ?? 0);
      return at(offsetInScalar(text, node as Scalar<string>, offset));
    },
  };
}

/** Maps an index into a scalar's value to an offset into the file. Exact when the scalar's line appears verbatim. */
function offsetInScalar(text: string, node: Scalar<string>, index: number): number {
  const [start, end] = node.range!;
  const value = node.value;
  const lineStart = value.lastIndexOf('\n', index - 1) + 1;
  const lineEnd = value.indexOf('\n', index);
  const line = value.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const source = text.slice(start, end);
  const found = line.length > 0 ? source.indexOf(line) : -1;
  return found === -1 ? start : start + found + (index - lineStart);
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}/g;
const ENV_REF = /^env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Replaces `${env.NAME}` / `${env.NAME:-default}` in every string scalar; `$${` escapes a literal `${`. */
function interpolateEnvironment(doc: Document, env: Environment, at: (offset: number) => SourceLocation): string[] {
  const problems: Problem[] = [];
  const secrets: string[] = [];
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const original = node.value;
      const start = node.range?.[0] ?? 0;
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
      let whole = false;
      const replaced = original.replace(PLACEHOLDER, (match, inner: string | undefined, index: number) => {
        if (match === '$${') return '${';
        const location = at(start + quoted + index);
        const ref = ENV_REF.exec(inner ?? '');
        if (!ref) {
          problems.push(problem('E_ENV_SYNTAX', `\`${match}\` is not a placeholder perfy knows`, 'write ${env.NAME} or ${env.NAME:-default}; for a literal ${ write $${', location));
          return match;
        }
        const value = env[ref[1]!];
        if (value !== undefined && value !== '') {
          secrets.push(value);
          whole = match === original;
          return value;
        }
        if (ref[2] !== undefined) {
          whole = match === original;
          return ref[2];
        }
        problems.push(problem('E_ENV_UNSET', `environment variable ${ref[1]} is not set`, `set it, or give a default: \${env.${ref[1]}:-value}`, location));
        return match;
      });
      node.value = whole && node.type === 'PLAIN' ? plainScalarValue(replaced) : replaced;
    },
  });
  if (problems.length > 0) throw new PerfyError(problems);
  return secrets;
}

/** An unquoted `${env.USERS:-50}` becomes the number 50 (or a boolean), as if the value had been written there. */
function plainScalarValue(text: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

function duplicateKeyName(text: string, offset: number): string {
  const key = /^[^:\n]*/.exec(text.slice(offset))?.[0]?.trim();
  return key ? ` "${key}"` : '';
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function yamlHint(code: string, text: string, offset: number): string {
  const line = text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset);
  if (code === 'UNEXPECTED_TOKEN' && /[[{]/.test(line) && /\$\{|\{\{/.test(text.slice(offset - 2, offset + 2))) {
    return 'inside `{ }` or `[ ]`, quote values that hold `${...}` or `{{...}}` ("{{topic}}"); for a number from ${env...}, write that mapping in block style';
  }
  switch (code) {
    case 'UNEXPECTED_TOKEN':
      return 'inside `{ }` and `[ ]`, quote values that contain `{`, `}`, `[`, `]` or `,`; elsewhere check the indentation';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and the closing brackets and quotes of this line and the one above';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a value containing ": " must be quoted';
    case 'MULTIPLE_DOCS':
      return 'a scenario is one YAML document; remove the `---` separators';
    default:
      return 'see https://yaml.org/spec/1.2.2/ or run the file through a YAML linter';
  }
}
