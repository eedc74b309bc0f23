// Loading a scenario file: bytes → YAML document with positions → plain value with `${env.NAME}` replaced.
// Everything that can go wrong on the way is a PerfyError with file:line:col; nothing here throws anything else.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import {
  isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar,
} from 'yaml';
import { PerfyError, problem, type Problem, type SourceLocation } from '../errors.js';
import { isSecret } from '../redact.js';

export type PathSegment = string | number;

/** A parsed scenario file: the plain value plus the means to point at any part of it in the file. */
export interface LoadedDocument {
  file: string;
  text: string;
  value: unknown;
  /** Values that came from the environment (see isSecret), for redaction in reports and logs. */
  secrets: string[];
  /** Where the value at `path` is (or its key, with `key: true`); the nearest existing parent when missing. */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): SourceLocation;
  /** Where character `offset` of the string at `path` is in the file (exact for one-line scalars). */
  locateInString(path: readonly PathSegment[], offset: number): SourceLocation;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The largest scenario file read by default. Hand-written scenarios are a few KB and generated ones (hundreds of
 * steps) a few hundred; validating 1 MB costs about 3 s and 200 MB of memory (YAML nodes with positions, then
 * ajv), and the cost grows with the size: a mistaken 50 MB file would take 20 s and 2 GB. Raise it with
 * --max-scenario-size or PERFY_MAX_SCENARIO_SIZE (docs/cli.md).
 */
export const DEFAULT_MAX_SCENARIO_BYTES = 1_000_000;

export interface LoadLimits {
  /** A larger file is refused with E_FILE_TOO_LARGE before it is read; DEFAULT_MAX_SCENARIO_BYTES when not given. */
  maxBytes?: number;
}

/** Reads and parses a scenario file. Throws PerfyError (never anything else) when it cannot. */
export function loadScenarioFile(file: string, env: Environment = process.env, limits: LoadLimits = {},
): LoadedDocument {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_SCENARIO_BYTES;
  let text: string;
  try {
    // Decided on the path before opening it: opening a FIFO waits for a writer, and a device never ends.
    checkScenarioStat(statSync(file), file, maxBytes);
    text = decodeText(readScenarioBytes(file, maxBytes), file);
  } catch (error) {
    if (error instanceof PerfyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PerfyError(
        problem(
          'E_FILE_NOT_FOUND', `${file} does not exist`, 'check the path; it is relative to the current directory',
        ),
      );
    }
    throw new PerfyError(
      problem('E_FILE_READ', `${file} cannot be read (${code ?? 'unknown error'})`, 'check the file permissions'),
    );
  }
  return loadScenarioText(text, file, env);
}

function checkScenarioStat(stat: Stats, file: string, maxBytes: number): void {
  if (stat.isDirectory()) {
    const example = `${file.replace(/\/$/, '')}/*.yaml`;
    const hint = `name a .yaml file inside it, e.g. ${example}`;
    throw new PerfyError(problem('E_FILE_IS_DIRECTORY', `${file} is a directory, not a scenario file`, hint));
  }
  if (!stat.isFile()) {
    throw new PerfyError(problem('E_FILE_NOT_REGULAR', `${file} is ${specialFileKind(stat)}, not a regular file`,
      'perfy reads a scenario from a file on disk; to check YAML from a pipe or a terminal, save it to a file first'));
  }
  if (stat.size > maxBytes) throw tooLarge(file, stat.size, maxBytes);
}

/** `size` is undefined when the file grew past the limit while it was read. */
function tooLarge(file: string, size: number | undefined, maxBytes: number): PerfyError {
  let shown = size === undefined ? '' : formatBytes(size);
  let limit = formatBytes(maxBytes);
  if (shown === limit) [shown, limit] = [`${size} bytes`, `${maxBytes} bytes`];
  const what = size === undefined ? 'larger than' : `${shown}, more than`;
  // A limit in whole MB that holds the file, so the hint can be copied as it is.
  const enough = `${Math.ceil(Math.max(size ?? 2 * maxBytes, maxBytes + 1) / 1e6)}MB`;
  return new PerfyError(problem('E_FILE_TOO_LARGE', `${file} is ${what} the ${limit} a scenario may be`,
    'a scenario is usually a few KB: check that this is the file you meant; to read it anyway, pass '
      + `--max-scenario-size ${enough} (or set PERFY_MAX_SCENARIO_SIZE=${enough})`));
}

/**
 * Reads at most `maxBytes` (the file may have grown or been replaced since it was checked). O_NONBLOCK makes the
 * open of a FIFO put there meanwhile return at once, and fstat then refuses it, instead of waiting for a writer.
 */
function readScenarioBytes(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    checkScenarioStat(stat, file, maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(stat.size + 1, 64 * 1024)));
    for (;;) {
      const read = readSync(fd, chunk, 0, Math.min(chunk.length, maxBytes + 1 - total), null);
      if (read === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, read)));
      total += read;
      if (total > maxBytes) throw tooLarge(file, undefined, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function specialFileKind(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** 1500000 → "1.5 MB" (powers of 1000, as the size units of scenarios). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))} ${units[unit]}`;
}

function decodeText(bytes: Buffer, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new PerfyError(
      problem(
        'E_NOT_YAML',
        `${file} is binary data, not YAML`,
        'a scenario is a UTF-8 text file of YAML',
        byteLocation(bytes, nul, file),
      ),
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    throw new PerfyError(
      problem('E_NOT_YAML', `${file} is not UTF-8 text`, 'save the scenario as UTF-8', byteLocation(bytes, bad, file)),
    );
  }
}

/** The line and column (in characters) of byte `offset`, decoding the valid text before it. */
function byteLocation(bytes: Buffer, offset: number, file: string): SourceLocation {
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { file, line: before.split('\n').length, col: [...before.slice(lineStart)].length + 1 };
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    const length =
      lead < 0x80
        ? 1
        : lead >= 0xc2 && lead < 0xe0
          ? 2
          : lead >= 0xe0 && lead < 0xf0
            ? 3
            : lead >= 0xf0 && lead < 0xf5
              ? 4
              : 0;
    if (length === 0 || i + length > bytes.length) return i;
    try {
      decoder.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return 0;
}

/** Parses scenario text (already read) as if it came from `file`. */
export function loadScenarioText(text: string, file: string, env: Environment = process.env): LoadedDocument {
  const lines = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lines.linePos(offset);
    return { file, line, col };
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const nul = text.indexOf('\u0000');
  if (nul !== -1) {
    const before = text.slice(0, nul);
    const location = { file, line: before.split('\n').length, col: nul - before.lastIndexOf('\n') };
    throw new PerfyError(
      problem(
        'E_NOT_YAML', `${file} holds NUL characters, it is not YAML`, 'a scenario is a UTF-8 text file of YAML',
        location,
      ),
    );
  }

  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    logLevel: 'error',
  });
  // After the first syntax error the parser is out of step and what follows is noise: report that one, plus
  // every duplicate key and tab (those are independent of each other).
  const firstSyntax = doc.errors.find((e) => e.code !== 'DUPLICATE_KEY' && e.code !== 'TAB_AS_INDENT');
  const errors = doc.errors.filter(
    (e) => e === firstSyntax || e.code === 'DUPLICATE_KEY' || e.code === 'TAB_AS_INDENT',
  );
  const syntax: Problem[] = errors.map((e) => {
    if (e.code === 'DUPLICATE_KEY') {
      return problem(
        'E_YAML_DUPLICATE_KEY',
        `duplicate key${duplicateKeyName(text, e.pos[0])}`,
        'each key may appear once in a mapping; remove or rename one',
        at(e.pos[0]),
      );
    }
    if (e.code === 'TAB_AS_INDENT') {
      return problem('E_YAML_TAB', 'a tab is used for indentation', 'indent YAML with spaces only', at(e.pos[0]));
    }
    const parserMessage = lowerFirst(e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').replace(/:$/, ''));
    const { offset, message, hint } = describeSyntaxError(text, e.code, e.pos[0], parserMessage);
    return problem('E_YAML_SYNTAX', message, hint, at(offset));
  });
  if (syntax.length > 0) throw new PerfyError(syntax);

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new PerfyError(
      problem('E_FILE_EMPTY', `${file} is empty`, 'run `perfy init NAME` for a starter scenario', {
        file, line: 1, col: 1,
      }),
    );
  }
  if (!isMap(doc.contents)) {
    const what = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw new PerfyError(
      problem(
        'E_NOT_YAML',
        `the file holds ${what}, not a scenario mapping`,
        'a scenario is a YAML mapping that starts with `name:`',
        at(doc.contents.range?.[0] ?? 0),
      ),
    );
  }

  const secrets = interpolateEnvironment(doc, text, env, at);

  const locateNode = (path: readonly PathSegment[], key: boolean): Node | undefined => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const segment of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key, text) === squeeze(String(segment)));
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
    value: toPlainValue(doc, text, file, at),
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

/** The document as plain data; an unresolved alias or an alias bomb is a syntax error, not a crash. */
function toPlainValue(doc: Document, text: string, file: string, at: (offset: number) => SourceLocation): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = (error as Error).message;
    const alias = /alias[^:]*: (\S+)/i.exec(message)?.[1];
    const offset = alias ? text.indexOf(`*${alias}`) : text.indexOf('*');
    const location = at(Math.max(0, offset));
    if (/excessive alias count/i.test(message)) {
      throw new PerfyError(
        problem(
          'E_YAML_SYNTAX', 'too many aliases: the document expands beyond 100 alias uses',
          'a scenario rarely needs aliases; write the values out', location,
        ),
      );
    }
    throw new PerfyError(
      problem(
        'E_YAML_SYNTAX',
        lowerFirst(message.replace(/\s*\(.*?\)/, '')),
        'define the anchor (&name) before the alias (*name) that uses it',
        location,
      ),
    );
  }
}

/**
 * Maps an index into a scalar's value to an offset into the file. Exact when the value is the source text
 * (plain, or quoted without escapes); otherwise the text from the index onward (shortened until it is found)
 * is looked up in the source, as its same-numbered occurrence: right across escapes, folds and block scalars.
 */
function offsetInScalar(text: string, node: Scalar<string>, index: number): number {
  const [start, end] = node.range!;
  const source = text.slice(start, end);
  const value = node.value;
  if (index >= value.length && value.length > 0) return offsetInScalar(text, node, value.length - 1) + 1;
  for (const skip of [0, 1]) if (source.startsWith(value, skip)) return start + skip + index;
  for (const length of [32, 16, 8, 4, 2, 1]) {
    const window = value.slice(index, index + length).split('\n')[0]!;
    if (window === '') continue;
    let occurrence = 0;
    for (let i = value.indexOf(window); i !== -1 && i < index; i = value.indexOf(window, i + 1)) occurrence++;
    let found = source.indexOf(window);
    for (let n = 0; n < occurrence && found !== -1; n++) found = source.indexOf(window, found + 1);
    if (found !== -1) return start + found;
  }
  return start;
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}/g;
const ENV_REF = /^env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Replaces `${env.NAME}` / `${env.NAME:-default}` in every string scalar; `$${` escapes a literal `${`. */
function interpolateEnvironment(
  doc: Document,
  text: string,
  env: Environment,
  at: (offset: number) => SourceLocation,
): string[] {
  const problems: Problem[] = [];
  const secrets: string[] = [];
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const original = node.value;
      let whole = false;
      const replaced = original.replace(PLACEHOLDER, (match, inner: string | undefined, index: number) => {
        if (match === '$${') return '${';
        const location = at(offsetInScalar(text, node as Scalar<string>, index));
        const ref = ENV_REF.exec(inner ?? '');
        if (!ref) {
          problems.push(
            problem(
              'E_ENV_SYNTAX',
              `\`${match}\` is not a placeholder perfy knows`,
              'write ${env.NAME} or ${env.NAME:-default}; for a literal ${ write $${',
              location,
            ),
          );
          return match;
        }
        const value = env[ref[1]!];
        if (value !== undefined && value !== '') {
          if (isSecret(value)) secrets.push(value);
          whole = match === original;
          return value;
        }
        if (ref[2] !== undefined) {
          whole = match === original;
          return ref[2];
        }
        problems.push(
          problem(
            'E_ENV_UNSET', `environment variable ${ref[1]} is not set`,
            `set it, or give a default: \${env.${ref[1]}:-value}`, location,
          ),
        );
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

/**
 * Where a syntax error really is, and what to say about it. The parser reports an unclosed `[`, `{` or quote
 * where it gives up (often the end of the file), a misindented line at its column 1, and an over-indented
 * key as a value of the line above; point at the bracket, the quote or the misplaced key instead.
 */
function describeSyntaxError(
  text: string, code: string, offset: number, parserMessage: string,
): { offset: number; message: string; hint: string } {
  if (code === 'BAD_INDENT' || code === 'MISSING_CHAR' || code === 'UNEXPECTED_TOKEN') {
    const opener = unclosedOpener(text, offset);
    if (opener !== undefined) {
      const c = text[opener]!;
      const closer = c === '[' ? ']' : c === '{' ? '}' : c;
      return { offset: opener, message: `\`${c}\` is never closed`, hint: `close it with \`${closer}\`` };
    }
  }
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (code === 'BAD_INDENT' && offset === lineStart) {
    return {
      offset: offset + /^[ ]*/.exec(text.slice(offset))![0].length,
      message: parserMessage,
      hint: 'indent this line like the keys beside it',
    };
  }
  if (code === 'BLOCK_AS_IMPLICIT_KEY') {
    const lineEnd = text.indexOf('\n', offset);
    const next = lineEnd === -1 ? '' : text.slice(lineEnd + 1).split('\n')[0]!;
    const indent = (s: string): number => /^[ -]*/.exec(s)![0].length;
    if (/^\s*[\w-]+:(\s|$)/.test(next) && indent(next) > indent(text.slice(lineStart, offset))) {
      return {
        offset: lineEnd + 1 + /^ */.exec(next)![0].length,
        message: 'this key is indented more than the keys beside it',
        hint: 'align it with the key on the line above',
      };
    }
    const dash = /^ *-(?=\s|$)/.exec(text.slice(offset));
    if (parserMessage.startsWith('a block sequence') && dash !== null) {
      return { offset: offset + dash[0].length - 1, ...LIST_ITEM_INDENT };
    }
    return { offset, message: parserMessage, hint: 'a value containing ": " must be quoted' };
  }
  // Indentation, not brackets or quotes (an unclosed one was found above): say so.
  if (code === 'MISSING_CHAR' && parserMessage.startsWith('sequence item without')) {
    const keyOffset = offset + /^ */.exec(text.slice(offset))![0].length;
    return {
      offset: keyOffset,
      message: 'this line is indented less than the keys of the list item above it',
      hint: 'align it with the keys of that item, or start a new item with `- `',
    };
  }
  if (/^implicit (map )?keys need/.test(parserMessage)) {
    if (/^ *-(\s|$)/.test(text.slice(offset))) {
      const hint = 'indent it under the key whose list it is (`flow:`, `load:`, …)';
      return { offset, message: 'a list item where a `key:` belongs', hint };
    }
    const hint = 'write `key: value`; a value that goes on from the line above is indented more than its key';
    return { offset, message: 'a key without `:`', hint };
  }
  if (code === 'BAD_INDENT' && parserMessage.startsWith('all sequence items')) return { offset, ...LIST_ITEM_INDENT };
  if (code === 'MULTIPLE_DOCS') {
    return {
      offset,
      message: 'the file holds several YAML documents',
      hint: 'a scenario is one YAML document; remove the `---` separator and what follows, or put it in a ' +
        'file of its own',
    };
  }
  const line = text.slice(lineStart, offset);
  if (code === 'UNEXPECTED_TOKEN' && /[[{]/.test(line) && /\$\{|\{\{/.test(text.slice(offset - 2, offset + 2))) {
    return {
      offset,
      message: parserMessage,
      hint: 'inside `{ }` or `[ ]`, quote values that hold `${...}` or `{{...}}` ("{{topic}}"); for a number from ' +
        '${env...}, write that mapping in block style',
    };
  }
  const inFlow = /[[\]{}]/.test(text.slice(lineStart).split('\n', 1)[0]!);
  const hints: Record<string, string> = {
    UNEXPECTED_TOKEN: inFlow
      ? 'inside `{ }` and `[ ]`, quote values that contain `{`, `}`, `[`, `]` or `,`'
      : 'check the indentation of this line and the one above',
    BAD_INDENT: 'check the indentation of this line and the one above',
    MISSING_CHAR: 'check the closing brackets and quotes of this line and the one above',
  };
  return { offset, message: parserMessage, hint: hints[code] ?? 'check this line against https://yaml.org/spec/1.2.2/' };
}

const LIST_ITEM_INDENT = {
  message: 'this list item is indented differently from the items before it',
  hint: 'align its `-` with the `-` of the items above',
} as const;

/** The offset of the innermost `[`, `{` or quote opened before `offset` (outside comments) and not closed by then. */
function unclosedOpener(text: string, offset: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < offset; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote && !(quote === "'" && text[i + 1] === "'")) {
        quote = undefined;
        open.pop();
      } else if (c === "'" && quote === "'") i++;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < offset && text[i] !== '\n') i++;
      continue;
    }
    if ((c === '"' || c === "'") && /[\s:[{,]/.test(text[i - 1] ?? ' ')) {
      quote = c;
      open.push(i);
    } else if (c === '[' || c === '{') open.push(i);
    else if ((c === ']' || c === '}') && open.length > 0) open.pop();
  }
  return open.at(-1);
}

function duplicateKeyName(text: string, offset: number): string {
  const key = /^[^:\n]*/.exec(text.slice(offset))?.[0]?.trim();
  return key ? ` "${key}"` : '';
}

/** A mapping key, comparable with the key of the plain value: collection keys by their text without spaces or
 * quotes. */
function keyText(key: unknown, text: string): string {
  if (isScalar(key)) return squeeze(String(key.value));
  const range = (key as Node | null)?.range;
  return range ? squeeze(text.slice(range[0], range[1])) : '';
}

function squeeze(s: string): string {
  return /^[[{]/.test(s) ? s.replace(/[\s'"]/g, '') : s;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
