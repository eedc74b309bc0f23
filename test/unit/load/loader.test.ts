// Focused tests of the loader: `${env.NAME}` interpolation (defaults, escapes, typing, secrets), the BOM, and
// `locate` / `locateInString`, whose line:col every problem of perfy is reported at.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PerfyError, type ErrorCode } from '../../../engine/errors.js';
import {
  DEFAULT_MAX_SCENARIO_BYTES, loadScenarioFile, loadScenarioText, type Environment, type LoadedDocument,
} from '../../../engine/load/index.js';

const FILE = 'scenario.yaml';

function load(text: string, env: Environment = {}): LoadedDocument {
  return loadScenarioText(text, FILE, env);
}

function value(text: string, env: Environment = {}): Record<string, unknown> {
  return load(text, env).value as Record<string, unknown>;
}

/** The problems a load fails with, as `CODE@line:col`. */
function failure(text: string, env: Environment = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    assert.ok(error instanceof PerfyError, `expected a PerfyError, got ${String(error)}`);
    return error.problems.map((p) => `${p.code}@${p.location?.line}:${p.location?.col}`);
  }
  assert.fail('the text loaded, but it should not have');
}

function problemAt(code: ErrorCode, line: number, col: number): string {
  return `${code}@${line}:${col}`;
}

/** The character of `text` at a 1-based line:col, to check a location points where it should. */
function charAt(text: string, location: { line: number; col: number }): string | undefined {
  return text.split('\n')[location.line - 1]?.[location.col - 1];
}

describe('environment interpolation', () => {
  it('replaces ${env.NAME} anywhere in a string', () => {
    const v = value('name: t\ntarget: "http://${env.HOST}:${env.PORT}/"\nmixed: pre-${env.HOST}-post\n', { HOST: 'example.test', PORT: '8080' });
    assert.equal(v['target'], 'http://example.test:8080/');
    assert.equal(v['mixed'], 'pre-example.test-post');
  });

  it('uses the default when the variable is unset or empty', () => {
    const text = 'name: t\na: ${env.A:-fallback}\nb: ${env.B:-}\nc: "${env.C:-x:-y}"\n';
    assert.deepEqual(value(text, {}), { name: 't', a: 'fallback', b: '', c: 'x:-y' });
    assert.deepEqual(value(text, { A: '', B: '' }), { name: 't', a: 'fallback', b: '', c: 'x:-y' });
    assert.equal(value(text, { A: 'set' })['a'], 'set');
  });

  it('reads `$${` as a literal `${` and interpolates nothing inside it', () => {
    const v = value('name: t\nlit: "$${env.UNSET}"\nplain: a$${b}\nboth: "$${env.X} ${env.Y}"\n', { Y: 'y' });
    assert.equal(v['lit'], '${env.UNSET}');
    assert.equal(v['plain'], 'a${b}');
    assert.equal(v['both'], '${env.X} y');
  });

  it('types an unquoted whole placeholder like a value written there; a quoted one stays text', () => {
    const text = [
      'name: t',
      'plain: ${env.N:-50}',
      'double: "${env.N:-50}"',
      "single: '${env.N:-50}'",
      'decimal: ${env.D:-1.5}',
      'negative: ${env.NEG:--3}',
      'flag: ${env.F:-true}',
      'partial: ${env.N:-50}0',
      'word: ${env.W:-fifty}',
      '',
    ].join('\n');
    assert.deepEqual(value(text), {
      name: 't',
      plain: 50,
      double: '50',
      single: '50',
      decimal: 1.5,
      negative: -3,
      flag: true,
      partial: '500',
      word: 'fifty',
    });
    assert.deepEqual(value(text, { N: '7', F: 'false' }), {
      name: 't',
      plain: 7,
      double: '7',
      single: '7',
      decimal: 1.5,
      negative: -3,
      flag: false,
      partial: '70',
      word: 'fifty',
    });
  });

  it('types a placeholder in a block sequence like one in a mapping', () => {
    assert.deepEqual(value('name: t\nlist:\n  - ${env.N:-1}\n  - "${env.N:-2}"\n'), { name: 't', list: [1, '2'] });
  });

  it('records the values read from the environment as secrets, not the defaults', () => {
    const document = load(
      'name: t\ntoken: "Bearer ${env.TOKEN}"\nuser: ${env.USER_NAME:-guest}\nhost: ${env.HOST:-localhost}\n',
      { TOKEN: 's3cr3t', HOST: 'db.internal' },
    );
    assert.deepEqual([...document.secrets].sort(), ['db.internal', 's3cr3t']);
    assert.equal((document.value as Record<string, unknown>)['user'], 'guest');
  });

  it('leaves a placeholder in a key as written', () => {
    assert.deepEqual(Object.keys(value('name: t\nvariables:\n  ${env.K}: 1\n', { K: 'k' })['variables'] as object), [
      '${env.K}',
    ]);
  });

  it('reports every unset variable and malformed placeholder at once, each at its `$`', () => {
    const text = 'name: t\ntarget: ${env.A}\ndescription: "${bar} and ${env.B}"\nother: x${env.}\n';
    assert.deepEqual(failure(text), [
      problemAt('E_ENV_UNSET', 2, 9),
      problemAt('E_ENV_SYNTAX', 3, 15),
      problemAt('E_ENV_UNSET', 3, 26),
      problemAt('E_ENV_SYNTAX', 4, 9),
    ]);
  });

  it('does not interpolate a value from the environment a second time', () => {
    assert.equal(value('name: t\na: ${env.A}\n', { A: '${env.B}' })['a'], '${env.B}');
  });
});

describe('byte order mark', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'perfy-loader-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is skipped: the text, the value and the columns are as without it', () => {
    const document = load('\ufeffname: t\nk: v\n');
    assert.equal(document.text, 'name: t\nk: v\n');
    assert.deepEqual(document.value, { name: 't', k: 'v' });
    assert.deepEqual(document.locate(['name'], { key: true }), { file: FILE, line: 1, col: 1 });
    assert.deepEqual(document.locate(['k']), { file: FILE, line: 2, col: 4 });
  });

  it('is skipped in a file read from disk, and problems after it keep their columns', () => {
    const file = join(dir, 'bom.yaml');
    writeFileSync(
      file,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name: t\ntarget: ${env.UNSET}\n')]),
    );
    assert.throws(
      () => loadScenarioFile(file, {}),
      (error: unknown) => {
        assert.ok(error instanceof PerfyError);
        assert.deepEqual(
          error.problems.map((p) => p.location),
          [{ file, line: 2, col: 9 }],
        );
        return true;
      },
    );
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name: t\n')]));
    assert.deepEqual(loadScenarioFile(file, {}).value, { name: 't' });
  });

  it('does not make NUL characters acceptable: they are refused with E_NOT_YAML', () => {
    assert.throws(
      () => load('\ufeffname: t\u0000\n'),
      (error: unknown) => error instanceof PerfyError && error.code === 'E_NOT_YAML',
    );
  });

  it('locates the first NUL character of text', () => {
    assert.deepEqual(failure('name: t\nk: a\u0000b\n'), [problemAt('E_NOT_YAML', 2, 5)]);
  });
});

describe('locate', () => {
  const text = [
    'name: t', //                                   1
    'load:', //                                     2
    '  - { rate: 10/s, duration: 10s }', //         3
    'flow:', //                                     4
    '  - name: home', //                            5
    '    http: { get: / }', //                      6
    '  - think: 1s', //                             7
    'thresholds:', //                               8
    '  - "p95(http.duration) < 300ms"', //          9
    '',
  ].join('\n');
  const document = load(text);
  const where = (path: (string | number)[], key?: boolean): string => {
    const l = document.locate(path, key ? { key: true } : undefined);
    return `${l.line}:${l.col}`;
  };

  it('points at a value, or at its key with `key: true`', () => {
    assert.equal(where(['load', 0, 'rate']), '3:13');
    assert.equal(where(['load', 0, 'rate'], true), '3:7');
    assert.equal(where(['load', 0, 'duration']), '3:29');
    assert.equal(where(['load', 0, 'duration'], true), '3:19');
    assert.equal(where(['flow', 0, 'http', 'get']), '6:18');
    assert.equal(where(['flow', 0, 'http', 'get'], true), '6:13');
    assert.equal(where(['flow'], true), '4:1');
    assert.equal(where(['flow']), '5:3');
  });

  it('points at a list item at its first key (a list item has no key)', () => {
    assert.equal(where(['flow', 1]), '7:5');
    assert.equal(where(['flow', 1], true), '7:5');
    assert.equal(where(['thresholds', 0]), '9:5');
  });

  it('falls back to the nearest existing parent', () => {
    assert.equal(where([]), '1:1');
    assert.equal(where(['nope']), '1:1');
    assert.equal(where(['flow', 0, 'expect']), '5:5');
    assert.equal(where(['flow', 9, 'name']), '5:3');
    assert.equal(where(['load', 0, 'rate', 'deeper']), '3:13');
    assert.equal(where(['flow', 'not-an-index']), '5:3');
  });

  it('carries the file name it was given', () => {
    assert.equal(document.locate(['name']).file, FILE);
  });
});

describe('locateInString', () => {
  const lines = [
    'name: t', //                                                        1
    'plain: status == 200 $', //                                         2
    'double: "status == 200 $"', //                                      3
    "single: 'status == 200 $'", //                                      4
    'flow: [ "a == 1", \'b == 2 $\', c == 3 $ ]', //                      5
    'map: { x: "status ==", y: status = 200 }', //                       6
    'block:', //                                                         7
    '  - status == 200 $', //                                            8
    'number: 42', //                                                     9
    '',
  ];
  const text = lines.join('\n');
  const document = load(text);
  const where = (path: (string | number)[], offset: number): string => {
    const l = document.locateInString(path, offset);
    return `${l.line}:${l.col}`;
  };

  it('is exact for plain, double-quoted and single-quoted scalars', () => {
    assert.equal(where(['plain'], 0), '2:8');
    assert.equal(where(['plain'], 14), '2:22');
    assert.equal(where(['double'], 0), '3:10');
    assert.equal(where(['double'], 14), '3:24');
    assert.equal(where(['single'], 14), '4:24');
  });

  it('is exact inside flow sequences and flow mappings', () => {
    assert.equal(where(['flow', 0], 2), '5:12');
    assert.equal(where(['flow', 1], 7), '5:27');
    assert.equal(where(['flow', 2], 7), '5:38');
    assert.equal(where(['map', 'x'], 7), '6:19');
    assert.equal(where(['map', 'y'], 7), '6:34');
  });

  it('is exact in a block sequence', () => {
    assert.equal(where(['block', 0], 14), '8:19');
  });

  it('points at the value when it is not a string', () => {
    assert.equal(where(['number'], 1), '9:9');
  });

  it('finds the very character for any offset of a one-line scalar in any style', () => {
    const safe = fc.constantFrom(...'abcxyz019 =<>()[].,!&|+-*/%$_');
    const body = fc
      .array(safe, { minLength: 1, maxLength: 30 })
      .map((chars) => chars.join('').trim())
      .filter((s) => s.length > 0 && /^[a-z(]/.test(s) && !/[:#]/.test(s) && !/[,\[\]{}]/.test(s));
    const style = fc.constantFrom('plain', 'double', 'single', 'flow-seq', 'flow-map', 'block-seq');
    fc.assert(
      fc.property(body, style, fc.nat(), (source, how, n) => {
        const quoted =
          how === 'plain' || how === 'block-seq' ? source : how === 'single' ? `'${source}'` : `"${source}"`;
        const yamlText = {
          plain: `name: t\nexpr: ${quoted}\n`,
          double: `name: t\nexpr: ${quoted}\n`,
          single: `name: t\nexpr: ${quoted}\n`,
          'flow-seq': `name: t\nexpr: [ "x", ${quoted} ]\n`,
          'flow-map': `name: t\nexpr: { a: "x", b: ${quoted} }\n`,
          'block-seq': `name: t\nexpr:\n  - x\n  - ${quoted}\n`,
        }[how];
        const path =
          how === 'flow-seq' || how === 'block-seq' ? ['expr', 1] : how === 'flow-map' ? ['expr', 'b'] : ['expr'];
        const doc = load(yamlText);
        const offset = n % source.length;
        assert.equal(charAt(yamlText, doc.locateInString(path, offset)), source[offset]);
      }),
      { seed: 4242, numRuns: 300 },
    );
  });
});

describe('the size limit of a scenario file', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'perfy-limit-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const codeOf = (run: () => unknown): ErrorCode | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      assert.ok(error instanceof PerfyError, `expected a PerfyError, got ${String(error)}`);
      return error.code;
    }
  };

  it('reads a file of exactly the limit and refuses one byte more with E_FILE_TOO_LARGE', () => {
    const file = join(dir, 's.yaml');
    writeFileSync(file, 'name: t\n');
    assert.equal(codeOf(() => loadScenarioFile(file, {}, { maxBytes: 8 })), undefined);
    assert.equal(codeOf(() => loadScenarioFile(file, {}, { maxBytes: 7 })), 'E_FILE_TOO_LARGE');
  });

  it('applies DEFAULT_MAX_SCENARIO_BYTES when no limit is given', () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `name: t\n#${'x'.repeat(DEFAULT_MAX_SCENARIO_BYTES)}\n`);
    assert.equal(codeOf(() => loadScenarioFile(file, {})), 'E_FILE_TOO_LARGE');
    assert.equal(codeOf(() => loadScenarioFile(file, {}, { maxBytes: 2 * DEFAULT_MAX_SCENARIO_BYTES })), undefined);
  });
});
