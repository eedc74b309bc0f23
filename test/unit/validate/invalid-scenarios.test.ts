// A table of broken scenarios and the exact problems `compileScenarioFileSync` must report for each: code, line and
// column (never message wording). Rows marked `todo` expect what perfy should say but does not yet (engine bugs).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, type ErrorCode, type Problem } from '../../../engine/errors.js';
import { compileScenarioFileSync } from '../../../engine/compile/file.js';

interface Expected {
  code: ErrorCode;
  line: number | undefined;
  col: number | undefined;
}

interface Row {
  title: string;
  /** The scenario text, written to `scenario.yaml` in a directory of its own. */
  yaml?: string;
  /** Raw bytes instead of `yaml`. */
  bytes?: Buffer;
  /** Other files beside the scenario (data, plugins), by relative path. */
  files?: Record<string, string>;
  /** Makes something other than a scenario file at the path validated; returns that path. */
  setup?: (dir: string) => string;
  env?: Record<string, string>;
  /** Every problem, in order; with `some`, at least these, in this order. An empty list: a valid control row. */
  expect: Expected[];
  some?: true;
  /** The hint of the first expected problem contains this (a did-you-mean suggestion). */
  hint?: string;
  /** The file cannot be read at all, so its problem may have no location. */
  noLocation?: true;
  /** Why this row fails today: an engine bug written up in the report; the row states what perfy should do. */
  todo?: string;
}

/** A problem expected at line:col of the scenario file (1-based), or without a location. */
function at(code: ErrorCode, line?: number, col?: number): Expected {
  return { code, line, col };
}

/**
 * Strips the leading newline and the indentation of the first line from a template literal, so that line 1 of
 * the scenario is the line after the backtick. Only that many spaces are removed: tabs after them are kept.
 */
function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + String(values[i - 1]) + s).replace(/^\n/, '');
  const indent = /^ */.exec(text)?.[0].length ?? 0;
  const prefix = ' '.repeat(indent);
  return text
    .split('\n')
    .map((line) => (line.startsWith(prefix) ? line.slice(indent) : line.trimStart()))
    .join('\n');
}

const rows: Row[] = [
  // ---- files -------------------------------------------------------------------------------------------------
  { title: 'missing file', setup: (dir) => join(dir, 'nope.yaml'), expect: [at('E_FILE_NOT_FOUND')], noLocation: true },
  {
    title: 'a directory',
    setup: (dir) => {
      mkdirSync(join(dir, 'scenarios'));
      return join(dir, 'scenarios');
    },
    expect: [at('E_FILE_IS_DIRECTORY')],
    noLocation: true,
  },
  {
    // Running as root, no permission bits make a file unreadable; a symlink loop fails the read for anyone.
    title: 'unreadable file (a symlink loop)',
    setup: (dir) => {
      symlinkSync(join(dir, 'b.yaml'), join(dir, 'a.yaml'));
      symlinkSync(join(dir, 'a.yaml'), join(dir, 'b.yaml'));
      return join(dir, 'a.yaml');
    },
    expect: [at('E_FILE_READ')],
    noLocation: true,
  },
  {
    // A FIFO and /dev/zero would hang this process before the fix: test/integration/cli.test.ts runs them in a
    // child with a timeout. /dev/null reads as empty, so it shows the check without that risk.
    title: 'a character device (/dev/null)',
    setup: () => '/dev/null',
    expect: [at('E_FILE_NOT_REGULAR')],
    noLocation: true,
  },
  {
    title: 'a 50 MB file (sparse: refused by its size, before it is read)',
    setup: (dir) => {
      const file = join(dir, 'huge.yaml');
      writeFileSync(file, 'name: t\n');
      truncateSync(file, 50_000_000);
      return file;
    },
    expect: [at('E_FILE_TOO_LARGE')],
    noLocation: true,
  },
  { title: 'empty file', yaml: '', expect: [at('E_FILE_EMPTY', 1, 1)] },
  { title: 'only comments', yaml: yaml`
      # a scenario, some day

      # not yet
      `, expect: [at('E_FILE_EMPTY', 1, 1)] },
  { title: 'a bare list', yaml: yaml`
      - name: t
      - name: u
      `, expect: [at('E_NOT_YAML', 1, 1)] },
  { title: 'a bare scalar', yaml: yaml`
      # just a word
      hello
      `, expect: [at('E_NOT_YAML', 2, 1)] },
  {
    title: 'binary data (NUL bytes)',
    bytes: Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x0a, 0x6e, 0x61]),
    expect: [at('E_NOT_YAML', 1, 1)],
  },
  {
    title: 'Latin-1 text (not UTF-8)',
    bytes: Buffer.from('name: caf\xe9\n', 'latin1'),
    expect: [at('E_NOT_YAML', 1, 10)],
  },

  // ---- YAML syntax -------------------------------------------------------------------------------------------
  { title: '`a: b: c`', yaml: yaml`
      name: a: b: c
      `, expect: [at('E_YAML_SYNTAX', 1, 7)] },
  { title: 'a stray closing brace', yaml: yaml`
      name: t
      target: }
      `, expect: [at('E_YAML_SYNTAX', 2, 9)] },
  { title: 'an invalid escape in a double-quoted string', yaml: yaml`
      name: "a\\qb"
      `, expect: [at('E_YAML_SYNTAX', 1, 9)] },
  { title: 'two documents', yaml: yaml`
      name: t
      ---
      name: u
      `, expect: [at('E_YAML_SYNTAX', 2, 1)] },
  {
    title: 'unclosed flow sequence',
    yaml: yaml`
      name: t
      report: [console, json
      target: http://localhost:8080
      `,
    expect: [at('E_YAML_SYNTAX', 2, 9)],
  },
  {
    title: 'bad indentation (a key left of its siblings)',
    yaml: yaml`
      name: t
      flow:
        - http:
            get: /
           expect: "status == 200"
      `,
    expect: [at('E_YAML_SYNTAX', 5, 6)],
  },
  {
    title: 'an unclosed double quote',
    yaml: yaml`
      name: "t
      target: http://localhost:8080
      `,
    expect: [at('E_YAML_SYNTAX', 1, 7)],
  },
  {
    title: 'bad indentation (a key right of its siblings)',
    yaml: yaml`
      name: t
      load:
        - rate: 10/s
           duration: 10s
      `,
    expect: [at('E_YAML_SYNTAX', 4, 6)],
  },
  {
    title: 'a key left of the other keys of its list item (indentation, not brackets)',
    hint: 'align it with the keys of that item',
    yaml: yaml`
      name: t
      load:
        - rate: 10/s
         duration: 10s
      `,
    expect: [at('E_YAML_SYNTAX', 4, 4)],
  },
  {
    title: 'a list item indented more than the items before it',
    hint: 'align its `-`',
    yaml: yaml`
      name: t
      flow:
      - http: { get: / }
        - think: 1s
      `,
    expect: [at('E_YAML_SYNTAX', 4, 3)],
  },
  {
    title: 'a key without `:`',
    hint: 'write `key: value`',
    yaml: yaml`
      name: t
      flow:
        - http:
            get: /
          expect
      `,
    expect: [at('E_YAML_SYNTAX', 5, 5)],
  },
  {
    title: 'an alias to no anchor',
    yaml: yaml`
      name: t
      target: *nope
      `,
    expect: [at('E_YAML_SYNTAX', 2, 9)],
  },
  { title: 'duplicate top-level key', yaml: yaml`
      name: t
      target: http://localhost:8080
      name: u
      `, expect: [at('E_YAML_DUPLICATE_KEY', 3, 1)] },
  { title: 'duplicate nested key', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http:
            get: /
            get: /other
      `, expect: [at('E_YAML_DUPLICATE_KEY', 8, 7)] },
  { title: 'duplicate key in a flow mapping', yaml: yaml`
      name: t
      load:
        - { rate: 10/s, duration: 10s, rate: 5/s }
      `, expect: [at('E_YAML_DUPLICATE_KEY', 3, 34)] },
  { title: 'a tab as indentation', yaml: yaml`
      name: t
      load:
      \t- { rate: 10/s, duration: 10s }
      `, expect: [at('E_YAML_TAB', 3, 1)] },
  { title: 'a tab after spaces', yaml: yaml`
      name: t
      flow:
        - http:
          \tget: /
      `, expect: [at('E_YAML_TAB', 4, 5)] },
  {
    title: 'a complex (non-scalar) key',
    yaml: yaml`
      name: t
      ? [a, b]
      : c
      `,
    // The rest is compiled all the same (docs/errors.md): a scenario of a name only has nothing to run.
    expect: [at('E_WORKLOADS', 1, 1), at('E_UNKNOWN_KEY', 2, 3)],
  },

  // ---- environment -------------------------------------------------------------------------------------------
  { title: '${env.X} unset, plain', yaml: yaml`
      name: t
      target: \${env.PERFY_TEST_TARGET}
      `, expect: [at('E_ENV_UNSET', 2, 9)] },
  { title: '${env.X} unset inside a double-quoted string', yaml: yaml`
      name: t
      target: "http://\${env.PERFY_TEST_HOST}:8080"
      `, expect: [at('E_ENV_UNSET', 2, 17)] },
  { title: '${env.X} unset inside a flow mapping', yaml: yaml`
      name: t
      defaults: { headers: { authorization: 'Bearer \${env.PERFY_TEST_TOKEN}' } }
      `, expect: [at('E_ENV_UNSET', 2, 47)] },
  { title: 'an empty variable counts as unset', env: { PERFY_TEST_TARGET: '' }, yaml: yaml`
      name: t
      target: \${env.PERFY_TEST_TARGET}
      `, expect: [at('E_ENV_UNSET', 2, 9)] },
  { title: 'malformed ${foo} and ${env.}', yaml: yaml`
      name: t
      target: \${foo}
      description: "x\${env.}y"
      `, expect: [at('E_ENV_SYNTAX', 2, 9), at('E_ENV_SYNTAX', 3, 16)] },
  {
    title: 'control: defaults used, a variable set',
    env: { PERFY_TEST_TARGET: 'http://127.0.0.1:9' },
    yaml: yaml`
      name: t
      target: \${env.PERFY_TEST_TARGET:-http://localhost:8080}
      description: "literal $\${env.NOT_READ}"
      load:
        - users: \${env.PERFY_TEST_USERS:-5}
          hold: \${env.PERFY_TEST_HOLD:-10s}
      flow:
        - http: { get: / }
      `,
    expect: [],
  },
  {
    title: '${env.X} unset inside a block scalar',
    yaml: yaml`
      name: t
      description: |
        line one
        has \${env.PERFY_TEST_NOPE} here
      `,
    expect: [at('E_ENV_UNSET', 4, 7)],
  },
  {
    title: '${env.X} unset after an escape in a double-quoted string',
    yaml: yaml`
      name: t
      description: "a\\tb\${env.PERFY_TEST_NOPE}"
      `,
    expect: [at('E_ENV_UNSET', 2, 19)],
  },

  // ---- unknown keys ------------------------------------------------------------------------------------------
  { title: 'unknown top-level key `thresolds`', hint: '"thresholds"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http: { get: / }
      thresolds:
        - "p95(http.duration) < 300ms"
      `, expect: [at('E_UNKNOWN_KEY', 7, 1)] },
  { title: 'a step kind misspelled `htpp`', hint: '"http"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - name: home
          htpp: { get: / }
      `, expect: [at('E_UNKNOWN_KEY', 7, 5)] },
  { title: 'unknown key in a step `expct`', hint: '"expect"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - name: home
          http: { get: / }
          expct: "status == 200"
      `, expect: [at('E_UNKNOWN_KEY', 8, 5)] },
  { title: 'unknown key in http `header`', hint: '"headers"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http: { get: /, header: { x-a: b } }
      `, expect: [at('E_UNKNOWN_KEY', 6, 21)] },
  { title: 'unknown key in a stage', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s, ramp_up: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_UNKNOWN_KEY', 4, 34)] },
  {
    title: 'a misspelled HTTP method `gett`',
    hint: '"get"',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http: { gett: / }
      `,
    expect: [at('E_UNKNOWN_KEY', 6, 13)],
  },

  // ---- missing keys, types, enums, formats -------------------------------------------------------------------
  { title: 'missing `name`', yaml: yaml`
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http: { get: / }
      `, expect: [at('E_MISSING_KEY', 1, 1)] },
  { title: 'a stage without `duration`', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s }
      flow:
        - http: { get: / }
      `, expect: [at('E_MISSING_KEY', 4, 5)] },
  { title: 'a `sql` step without `query`', yaml: yaml`
      name: t
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - sql: { params: [1] }
      `, expect: [at('E_MISSING_KEY', 5, 10)] },
  {
    title: 'an `http` mapping with no method',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - http: { headers: { x-a: b } }
      `,
    expect: [at('E_MISSING_KEY', 6, 11)],
  },
  {
    title: 'a `loop` mapping with neither `count` nor `while`',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        - loop: { max: 3 }
          flow:
            - http: { get: / }
      `,
    expect: [at('E_MISSING_KEY', 6, 11)],
  },
  { title: '`flow` is a mapping, not a list', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10s }
      flow:
        http: { get: / }
      `, expect: [at('E_TYPE', 6, 3)] },
  { title: '`users` is text', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { users: many, hold: 10s }
      flow:
        - http: { get: / }
      `, expect: [at('E_TYPE', 4, 14)] },
  { title: 'a stage is a string', yaml: yaml`
      name: t
      seed: abc
      target: http://localhost:8080
      load: [ "10/s" ]
      flow:
        - http: { get: / }
      `, expect: [at('E_TYPE', 2, 7), at('E_TYPE', 4, 9)] },
  { title: 'enum: `report: [htlm]`', hint: '"html"', yaml: yaml`
      name: t
      report: [htlm]
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      `, expect: [at('E_ENUM', 2, 10)] },
  { title: 'enum: `order: sorted`', yaml: yaml`
      name: t
      data:
        users: { csv: users.csv, order: sorted }
      `, expect: [at('E_WORKLOADS', 1, 1), at('E_DATA_MISSING', 3, 17), at('E_ENUM', 3, 35)] },
  { title: 'duration `5` (a number, no unit)', hint: 'add a unit: 5s', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5 }
      flow:
        - http: { get: / }
      `, expect: [at('E_TYPE', 4, 29)] },
  { title: 'duration `5 s`', hint: '"5s"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5 s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 4, 29)] },
  { title: 'duration `1x`', yaml: yaml`
      name: t
      target: http://localhost:8080
      defaults: { timeout: 1x }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 3, 22)] },
  { title: 'rate `200` (no unit) and `200/day`', hint: 'add a unit: 200/s', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 200, duration: 5s }
        - { rate: 200/day, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_TYPE', 4, 13), at('E_FORMAT', 5, 13)] },
  { title: 'size `512` (no unit) in a growth rate', hint: 'add units: 512MB/min', yaml: yaml`
      name: t
      monitor:
        leak: { max_growth: 512 }
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      `, expect: [at('E_TYPE', 3, 23)] },
  { title: 'a think range written with a dash `200ms-500ms`', hint: '"200ms..500ms"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
        - think: 200ms-500ms
      `, expect: [at('E_FORMAT', 7, 12)] },
  { title: 'a think range with the unit once `200-500ms`', hint: '"200ms..500ms"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
        - think: 200-500ms
      `, expect: [at('E_FORMAT', 7, 12)] },
  { title: 'a stage `duration: 10` (block style)', hint: 'add a unit: 10s', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - rate: 10/s
          duration: 10
      flow:
        - http: { get: / }
      `, expect: [at('E_TYPE', 5, 15)] },
  { title: 'a rate with a space `50 /s`', hint: '"50/s"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 50 /s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 4, 13)] },
  { title: 'a rate in words `50rps`', hint: '"50/s"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { ramp: { from: 5/s, to: 50rps }, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 4, 30)] },
  { title: 'a rate `3000 per minute`', hint: '"3000/m"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 3000 per minute, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 4, 13)] },
  { title: 'a duration with a space `1 min`', hint: '"1min"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 1 min }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 4, 29)] },
  { title: 'a duration in words `30 seconds`', hint: '"30s"', yaml: yaml`
      name: t
      target: http://localhost:8080
      defaults: { timeout: 30 seconds }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 3, 22)] },
  { title: 'a growth rate `10 mb per min`', hint: '"10MB/min"', yaml: yaml`
      name: t
      monitor:
        leak: { max_growth: 10 mb per min }
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      `, expect: [at('E_FORMAT', 3, 23)] },
  { title: 'names with a space (scenario, variable)', yaml: yaml`
      name: my test
      variables:
        "my var": 1
      `, expect: [at('E_WORKLOADS', 1, 1), at('E_FORMAT', 1, 7), at('E_FORMAT', 3, 3)] },
  { title: 'E_SCHEMA: an empty flow, `max_vus: 0`, a port out of range', yaml: yaml`
      name: t
      services:
        api: { builtin: demo-api, port: 70000 }
      target: http://localhost:8080
      load:
        stages: [ { rate: 1/s, duration: 1s } ]
        max_vus: 0
      flow: []
      `, expect: [at('E_SCHEMA', 3, 35), at('E_SCHEMA', 7, 12), at('E_SCHEMA', 8, 7)] },

  // ---- flow items and load shapes ----------------------------------------------------------------------------
  { title: 'two step kinds in one item', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - name: both
          http: { get: / }
          sql: { query: SELECT 1 }
      `, expect: [at('E_STEP_KIND', 6, 5)] },
  { title: 'a step with no kind', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - name: nothing
          expect: "status == 200"
      `, expect: [at('E_STEP_KIND', 6, 5)] },
  { title: 'open and closed stages mixed', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
        - { users: 5, hold: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_LOAD_MIXED', 5, 5)] },
  { title: '`arrivals` with `users` stages', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        stages:
          - { users: 5, hold: 5s }
        arrivals: poisson
      flow:
        - http: { get: / }
      `, expect: [at('E_LOAD_MIXED', 6, 3)] },
  { title: '`workloads` and top-level `flow` together', yaml: yaml`
      name: t
      target: http://localhost:8080
      flow:
        - http: { get: / }
      workloads:
        - name: a
          load: [ { users: 1, hold: 1s } ]
          flow: [ { http: { get: / } } ]
      `, expect: [at('E_WORKLOADS', 3, 1)] },
  { title: '`flow` without `load`', yaml: yaml`
      name: t
      target: http://localhost:8080
      flow:
        - http: { get: / }
      `, expect: [at('E_WORKLOADS', 3, 1)] },
  { title: 'zero durations: `0s` duration, `pause: 0ms`, `hold: 0s`', yaml: yaml`
      name: t
      target: http://localhost:8080
      workloads:
        - name: open
          load:
            - { rate: 10/s, duration: 0s }
            - { pause: 0ms }
          flow: [ { http: { get: / } } ]
        - name: closed
          load:
            - { users: 3, ramp_up: 2s, hold: 0s }
          flow: [ { http: { get: /x } } ]
      `, expect: [at('E_DURATION_ZERO', 6, 33), at('E_DURATION_ZERO', 7, 18), at('E_DURATION_ZERO', 11, 40)] },
  { title: '`timeout: 0s`', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          timeout: 0s
      `, expect: [at('E_DURATION_ZERO', 7, 14)] },
  { title: 'a reversed think range', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
        - think: 1s..200ms
      `, expect: [at('E_RANGE', 7, 12)] },
  { title: 'a spike that rises longer than it lasts', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
        - { spike: { to: 100/s, rise: 10s }, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_RANGE', 5, 33)] },

  // ---- names -------------------------------------------------------------------------------------------------
  { title: 'duplicate step names', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - name: home
          http: { get: / }
        - name: home
          http: { get: /x }
      `, expect: [at('E_DUPLICATE_NAME', 8, 11)] },
  { title: 'duplicate workload names', yaml: yaml`
      name: t
      target: http://localhost:8080
      workloads:
        - name: a
          load: [ { users: 1, hold: 1s } ]
          flow: [ { http: { get: / } } ]
        - name: a
          load: [ { users: 1, hold: 1s } ]
          flow: [ { http: { get: /y } } ]
      `, expect: [at('E_DUPLICATE_NAME', 7, 11)] },
  { title: 'a capture named like a variable', yaml: yaml`
      name: t
      target: http://localhost:8080
      variables:
        debate: 1
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          capture: { debate: "json.id" }
      `, expect: [at('E_DUPLICATE_NAME', 9, 16)] },

  // ---- expressions -------------------------------------------------------------------------------------------
  { title: '`status ==` (double-quoted)', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "status =="
      `, expect: [at('E_EXPR_PARSE', 7, 21)] },
  { title: '`status = 200` (plain)', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: status = 200
      `, expect: [at('E_EXPR_PARSE', 7, 20)] },
  { title: '`(status == 200` (single-quoted)', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: '(status == 200'
      `, expect: [at('E_EXPR_PARSE', 7, 25)] },
  { title: '`status == 200 $` (second item of a flow list)', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: [ "json.ok == true", "status == 200 $" ]
      `, expect: [at('E_EXPR_PARSE', 7, 49)] },
  { title: '`status == 200 $` (plain, in a block list)', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect:
            - status == 200 $
      `, expect: [at('E_EXPR_PARSE', 8, 23)] },
  { title: '`status ==` inside a flow-style step', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - { http: { get: / }, expect: "status ==" }
      `, expect: [at('E_EXPR_PARSE', 6, 41)] },
  { title: 'a backreference in `matches` (RE2 takes none), pointed at inside the pattern', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: 'body matches "(a)\\1"'
      `, expect: [at('E_EXPR_REGEX', 7, 31)], hint: 'backreferences' },
  { title: 'a lookahead in `matches`, in a double-quoted string with escaped quotes', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "status == 200 and body matches \\"x(?=y)\\""
      `, expect: [at('E_EXPR_REGEX', 7, 48)], hint: 'lookarounds' },
  { title: 'a capture that does not parse', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          capture: { id: "json.items[0" }
      `, expect: [at('E_EXPR_PARSE', 7, 32)] },
  {
    title: 'a parse error after escaped quotes',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "header[\\"x-a\\"] == \\"b\\" $"
      `,
    expect: [at('E_EXPR_PARSE', 7, 39)],
  },
  {
    title: 'a type error on the second line of a folded block scalar',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: >-
            status == 200 and
            duration < 5MB
      `,
    expect: [at('E_EXPR_TYPE', 9, 16)],
  },
  {
    title: 'an unknown name on the continuation line of a plain scalar',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: status == 200
            and durration < 1s
      `,
    expect: [at('E_EXPR_UNKNOWN', 8, 11)],
  },
  { title: 'a `for` window in an expect', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "status == 200 for 10s"
      `, expect: [at('E_EXPR_WINDOW', 7, 28)] },
  {
    title: 'a `for` window of `1m30s` in an `if`',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          if: 'iteration > 1 for 1m30s'
      `,
    expect: [at('E_EXPR_WINDOW', 7, 24)],
  },
  { title: 'unknown names in one expect (`stauts`, `duraton`)', hint: '"status"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "stauts == 200 and duraton < 1s"
      `, expect: [at('E_EXPR_UNKNOWN', 7, 14), at('E_EXPR_UNKNOWN', 7, 32)] },
  { title: 'an sql response field in an http expect', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "row_count > 0"
      `, expect: [at('E_EXPR_UNKNOWN', 7, 14)] },
  { title: 'a response field in a threshold, an unknown function', hint: '"avg"', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      thresholds:
        - "avg2(http.duration) < 1s"
        - "status < 300"
      `, expect: [at('E_EXPR_UNKNOWN', 8, 6), at('E_EXPR_UNKNOWN', 9, 6)] },
  { title: '`duration < 500` and `duration < 5MB`', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: [ "duration < 500", "duration < 5MB" ]
      `, expect: [at('E_EXPR_TYPE', 7, 27), at('E_EXPR_TYPE', 7, 43)] },
  { title: 'an expect that is not a condition', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "duration"
      `, expect: [at('E_EXPR_TYPE', 7, 14)] },
  { title: 'a size without unit in an alert', yaml: yaml`
      name: t
      target: http://localhost:8080
      services:
        api: { builtin: demo-api }
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      monitor:
        alerts: [ "rss(api) > 512" ]
      `, expect: [at('E_EXPR_TYPE', 8, 25)] },

  // ---- thresholds, tags, monitor -----------------------------------------------------------------------------
  { title: 'a threshold on `sql.duration` in an http-only scenario', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      thresholds:
        - "p95(http.duration) < 300ms"
        - "p95(sql.duration) < 300ms"
      `, expect: [at('E_THRESHOLD_METRIC', 9, 10)] },
  {
    title: 'an unknown step in a tag filter `{step: vot}`',
    hint: '"vote"',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - name: vote
          http: { post: /votes }
      thresholds:
        - { expr: "p99(step.duration{step: vot}) < 800ms", abort: true }
      `,
    expect: [at('E_TAG_UNKNOWN', 9, 38)],
  },
  {
    title: 'control: a tag filter on a tag named like an Object method',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          tags: { toString: x }
      thresholds:
        - "p95(http.duration{toString: x}) < 1s"
      `,
    expect: [],
  },
  { title: 'an alert on an unwatched process', yaml: yaml`
      name: t
      target: http://localhost:8080
      services:
        api: { builtin: demo-api }
        db: { postgres: embedded }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      monitor:
        processes: [self, api]
        alerts: [ "rss(db) > 512MB" ]
      `, expect: [at('E_SERVICE_UNKNOWN', 12, 18)] },
  { title: 'a monitored process that is not a service', hint: '"api"', yaml: yaml`
      name: t
      target: http://localhost:8080
      services:
        api: { builtin: demo-api }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      monitor:
        processes: [self, apl]
      `, expect: [at('E_SERVICE_UNKNOWN', 10, 21)] },

  { title: 'a process perfy did not start, named twice or found two ways or none', yaml: yaml`
      name: t
      target: http://localhost:8080
      services:
        api: { builtin: demo-api }
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      monitor:
        processes:
          - api
          - { name: api, pid: 12 }
          - { name: both, pid: 3, command: worker }
          - { name: alone }
      `, expect: [at('E_DUPLICATE_NAME', 10, 15), at('E_SCHEMA', 11, 7), at('E_MISSING_KEY', 12, 7)] },
  { title: 'a watched command pattern RE2 cannot run', hint: 'RE2', yaml: yaml`
      name: t
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      monitor:
        processes: [ { name: w, command: '(a)\\1' } ]
      `, expect: [at('E_EXPR_REGEX', 6, 36)] },
  { title: 'an alert written like a threshold (`expr:`), with a level that does not exist', yaml: yaml`
      name: t
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      monitor:
        alerts:
          - { expr: "rss(self) > 1GB" }
          - { when: "rss(self) > 1GB", level: severe }
      `, expect: [at('E_MISSING_KEY', 7, 7), at('E_UNKNOWN_KEY', 7, 9), at('E_ENUM', 8, 41)] },
  { title: 'a leak rule on an unwatched process', hint: 'self', yaml: yaml`
      name: t
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 20m } ]
      flow: [ { http: { get: / } } ]
      monitor:
        processes: [self]
        leak: { processes: [db], max_growth: 10MB/min }
      `, expect: [at('E_SERVICE_UNKNOWN', 7, 23)] },
  { title: 'a webhook that is not an http(s) URL', yaml: yaml`
      name: t
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      monitor:
        notify: { webhook: "ftp://x" }
      `, expect: [at('E_FORMAT', 6, 22)] },
  { title: 'baseline rules: one that is no rule, one on a metric no step produces', yaml: yaml`
      name: t
      target: http://localhost:8080
      load: [ { rate: 1/s, duration: 1s } ]
      flow: [ { http: { get: / } } ]
      baseline:
        rules: [ "p95(http.duration) > 10%", "p95(sql.duration) > +10%" ]
      `, expect: [at('E_COMPARE_RULE', 6, 12), at('E_THRESHOLD_METRIC', 6, 40)] },

  // ---- templates ---------------------------------------------------------------------------------------------
  { title: 'a template with an unknown variable', hint: '"topic"', yaml: yaml`
      name: t
      target: http://localhost:8080
      variables:
        topic: [a, b]
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/debates?topic={{topik}}" }
      `, expect: [at('E_TEMPLATE_UNKNOWN', 8, 34)] },
  { title: 'an unknown data source', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/u/{{data.users.id}}" }
      `, expect: [at('E_TEMPLATE_UNKNOWN', 6, 22)] },
  {
    title: 'an unknown CSV column',
    hint: '"name"',
    files: { 'users.csv': 'id,name\n1,ann\n2,bob\n' },
    yaml: yaml`
      name: t
      target: http://localhost:8080
      data:
        users: { csv: users.csv }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/u/{{data.users.id}}/{{data.users.nmae}}" }
      `,
    expect: [at('E_TEMPLATE_UNKNOWN', 8, 40)],
  },
  { title: '`{{env.HOME}}` in a template', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/home/{{env.HOME}}" }
      `, expect: [at('E_TEMPLATE_UNKNOWN', 6, 25)] },
  { title: '`{{loop.index}}` outside a loop', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - loop: 2
          flow:
            - http: { get: "/page/{{loop.index}}" }
        - http: { get: "/last/{{loop.index}}" }
      `, expect: [at('E_TEMPLATE_UNKNOWN', 9, 25)] },
  { title: 'an unknown service in `target`', yaml: yaml`
      name: t
      target: "{{services.api.url}}"
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_TEMPLATE_UNKNOWN', 2, 10)] },
  { title: 'an unclosed `{{`', yaml: yaml`
      name: t
      target: http://localhost:8080
      variables: { topic: x }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/page/{{topic" }
      `, expect: [at('E_TEMPLATE_PARSE', 7, 25)] },
  { title: 'a section `{{#x}}`', yaml: yaml`
      name: t
      target: http://localhost:8080
      variables: { x: 1 }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "/page/{{#x}}a{{/x}}" }
      `, expect: [at('E_TEMPLATE_PARSE', 7, 25)] },
  { title: 'a `{{...}}` inside `sql.query`', yaml: yaml`
      name: t
      variables: { id: 1 }
      services:
        db: { postgres: embedded }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - sql: { query: "SELECT * FROM t WHERE id = {{id}}" }
      `, expect: [at('E_SQL_TEMPLATE', 8, 47)] },
  { title: '`explain` on a statement PostgreSQL cannot EXPLAIN', yaml: yaml`
      name: t
      services:
        db: { postgres: embedded }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - sql: { query: "VACUUM t", explain: true }
      `, expect: [at('E_SQL_EXPLAIN', 7, 40)] },
  { title: 'a SQL step whose `db` names a service that is not a postgres one', yaml: yaml`
      name: t
      services:
        api: { url: "http://127.0.0.1:9" }
        main: { postgres: embedded }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - sql: { query: "SELECT 1", db: api }
        - sql: { query: "SELECT 1", db: mian }
      `, expect: [at('E_SERVICE_UNKNOWN', 8, 35), at('E_SERVICE_UNKNOWN', 9, 35)] },
  { title: 'a github request that is not METHOD /path, and one whose path parameter has no param', yaml: yaml`
      name: t
      services:
        gh: { builtin: github-mock }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - github: { request: "list issues" }
        - github: { request: "GET /repos/{owner}/{repo}", params: { owner: octo } }
      `, expect: [at('E_GITHUB_REQUEST', 7, 24), at('E_GITHUB_REQUEST', 8, 24)] },
  { title: 'a github step without `api` and no github-mock service; an `api` that names no service', yaml: yaml`
      name: t
      services:
        web: { url: "http://127.0.0.1:9" }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - github: { request: "GET /user" }
        - github: { request: "GET /user", api: gh }
      `, expect: [at('E_SERVICE_UNKNOWN', 7, 13), at('E_SERVICE_UNKNOWN', 8, 42)] },
  { title: 'a SQL step and a transaction without `db` where two postgres services could be meant', yaml: yaml`
      name: t
      services:
        a: { postgres: embedded }
        b: { postgres: embedded }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - sql: { query: "SELECT 1" }
        - transaction: tx
          flow:
            - sql: { query: "SELECT 1", db: a }
      `, expect: [at('E_SERVICE_UNKNOWN', 8, 10), at('E_SERVICE_UNKNOWN', 9, 5)] },
  { title: 'a relative URL without `target`', yaml: yaml`
      name: t
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: /debates }
      `, expect: [at('E_TARGET_MISSING', 5, 18)] },
  { title: 'a target that is not a URL', yaml: yaml`
      name: t
      target: not a url at all
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 2, 9)] },
  { title: 'a target whose port is a placeholder, pointed at', yaml: yaml`
      name: t
      target: "http://127.0.0.1:PORT"
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_FORMAT', 2, 27)] },
  { title: 'targets: not http(s), a port with a letter after an IPv6 host, a port out of range', yaml: yaml`
      name: t
      target: ftp://files.example.com
      workloads:
        - name: a
          load: [ { rate: 10/s, duration: 5s } ]
          flow:
            - http: { get: "http://[::1]:80a/v1" }
            - http: { get: "http://127.0.0.1:70000/" }
      `, expect: [at('E_FORMAT', 2, 9), at('E_FORMAT', 7, 36), at('E_FORMAT', 8, 40)] },
  { title: 'absolute step URLs: a placeholder port, another scheme', yaml: yaml`
      name: t
      target: http://127.0.0.1:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "http://127.0.0.1:PORT/debates" }
        - http: { get: "ftp://files.example.com/x" }
      `, expect: [at('E_FORMAT', 6, 36), at('E_FORMAT', 7, 19)] },
  { title: 'control: targets and URLs with templates, IPv6, https, a relative path', yaml: yaml`
      name: t
      services: { api: { builtin: demo-api } }
      target: "http://{{services.api.host}}:{{services.api.port}}/v1"
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: "{{target}}/x" }
        - http: { get: "{{services.api.url}}/y" }
        - http: { get: "https://user@example.com:8443/x?y=1#z" }
        - http: { get: "http://[::1]:8080/" }
        - http: { get: "HTTP://127.0.0.1/" }
        - http: { get: "http://127.0.0.1:{{services.api.port}}/z" }
        - http: { get: relative }
      `, expect: [] },

  // ---- files the scenario names ------------------------------------------------------------------------------
  { title: 'a missing data file', yaml: yaml`
      name: t
      target: http://localhost:8080
      data:
        users: { csv: ./nope.csv }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `, expect: [at('E_DATA_MISSING', 4, 17)] },
  {
    title: 'a JSON data file that is not an array, a CSV file with no rows',
    files: { 'debates.json': '{ "id": 1 }', 'users.csv': 'id,name\n' },
    yaml: yaml`
      name: t
      target: http://localhost:8080
      data:
        debates: { json: debates.json }
        users: { csv: users.csv }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
      `,
    expect: [at('E_DATA_INVALID', 4, 20), at('E_DATA_INVALID', 5, 17)],
  },
  { title: 'a missing plugin module', yaml: yaml`
      name: t
      plugins:
        kafka: ./plugins/kafka.js
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - use: kafka
      `, expect: [at('E_PLUGIN_MISSING', 3, 10)] },
  {
    title: 'an undeclared `use:`',
    hint: '"kafka"',
    files: { 'kafka.js': 'export default {};\n' },
    yaml: yaml`
      name: t
      plugins:
        kafka: ./kafka.js
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - use: kafak
      `,
    expect: [at('E_PLUGIN_MISSING', 7, 10)],
  },
  {
    title: 'an undeclared `use:` named like an Object method',
    yaml: yaml`
      name: t
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - use: constructor
      `,
    expect: [at('E_PLUGIN_MISSING', 5, 10)],
  },

  // ---- several problems in one file --------------------------------------------------------------------------
  // ---- schema problems and the rest, in one pass (docs/errors.md) ----------------------------------------------
  { title: 'one schema problem and one expression problem: both, at their positions', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - http: { get: / }
          expect: "status =="
      thresolds: []
      `, expect: [at('E_EXPR_PARSE', 7, 21), at('E_UNKNOWN_KEY', 8, 1)] },
  {
    // The first step (no kind) and the first threshold (`abort: yes`) are left out of what is compiled: what
    // follows them is reported at its own lines, and what they define (a capture, a step name) stays defined.
    title: 'problems after left-out list items are located in the file; names those items define stay defined',
    yaml: yaml`
      name: t
      target: http://localhost:8080
      variables:
        topic: { a: 1 }
      load:
        - { rate: 10/s, duration: 5s }
      flow:
        - name: first
          htpp: { get: / }
          capture: { debate: "json.id" }
        - name: second
          http: { get: "/{{debate}}/{{topic}}/{{topik}}" }
          expect: "status =="
      thresholds:
        - { expr: "p99(step.duration{step: first}) < 1s", abort: yes }
        - "p95(step.duration{step: first}) <"
        - "p95(step.duration{step: frist}) < 1s"
      `,
    expect: [
      at('E_TYPE', 4, 10),
      at('E_UNKNOWN_KEY', 9, 5),
      at('E_TEMPLATE_UNKNOWN', 12, 41),
      at('E_EXPR_PARSE', 13, 21),
      at('E_TYPE', 15, 60),
      at('E_EXPR_PARSE', 16, 38),
      at('E_TAG_UNKNOWN', 17, 30),
    ],
  },
  { title: 'a bare-number duration, a zero duration, a reversed think time, an unknown name', yaml: yaml`
      name: t
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 10 }
        - { rate: 10/s, duration: 0s }
      flow:
        - http: { get: "/{{nope}}" }
        - think: 1s..200ms
      `, expect: [
    at('E_TYPE', 4, 29), at('E_DURATION_ZERO', 5, 29), at('E_TEMPLATE_UNKNOWN', 7, 20), at('E_RANGE', 8, 12),
  ] },
  { title: 'a broken `load` hides neither the flow nor reports `flow` without `load`', yaml: yaml`
      name: t
      load: 10/s
      flow:
        - http: { get: / }
          expect: "stauts == 200"
      `, expect: [at('E_TYPE', 2, 7), at('E_TARGET_MISSING', 4, 18), at('E_EXPR_UNKNOWN', 5, 14)] },
  { title: 'several schema problems, all reported in file order', yaml: yaml`
      name: my test
      target: http://localhost:8080
      load:
        - { rate: 10/s, duration: 5 s }
      flow:
        - htpp: { get: / }
      report: [htlm]
      thresolds: []
      `,
    expect: [
      at('E_FORMAT', 1, 7),
      at('E_FORMAT', 4, 29),
      at('E_UNKNOWN_KEY', 6, 5),
      at('E_ENUM', 7, 10),
      at('E_UNKNOWN_KEY', 8, 1),
    ],
  },
  {
    title: 'several semantic problems, all reported in file order',
    yaml: yaml`
      name: t
      load:
        - { rate: 10/s, duration: 0s }
      flow:
        - name: home
          http: { get: /x }
          expect: "stauts == 200"
        - think: 2s..1s
        - name: home
          http: { get: "/{{nope}}" }
      thresholds:
        - "p95(sql.duration) < 1s"
      `, expect: [
    at('E_DURATION_ZERO', 3, 29),
    at('E_TARGET_MISSING', 6, 18),
    at('E_EXPR_UNKNOWN', 7, 14),
    at('E_RANGE', 8, 12),
    at('E_DUPLICATE_NAME', 9, 11),
    at('E_TARGET_MISSING', 10, 18),
    at('E_TEMPLATE_UNKNOWN', 10, 20),
    at('E_THRESHOLD_METRIC', 12, 10),
  ] },
  { title: 'env problems are all reported, with `some`', some: true, yaml: yaml`
      name: t
      target: \${env.PERFY_TEST_A}
      description: "\${bar} and \${env.PERFY_TEST_B}"
      `, expect: [at('E_ENV_UNSET', 2, 9), at('E_ENV_UNSET', 3, 26)] },
];

/** Every code a scenario can lead to; E_USAGE is about the command line, E_INTERNAL is a bug. */
/** Codes `perfy validate` can report: not usage, not bugs, not what only a run finds (exit code 3, executors). */
// Exit-2 codes of the command line and the run, not of a scenario's text: tested where they arise.
const RUN_TIME_CODES = new Set<ErrorCode>([
  'E_USAGE', 'E_INTERNAL', 'E_EXECUTOR_MISSING', 'E_OUT_DIR', 'E_MERGE_SEGMENTS', 'E_COMPARE_INPUT',
]);
const REACHABLE_CODES = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
  (c) => !RUN_TIME_CODES.has(c) && ERROR_CODES[c].exit === 2,
);

function isSubsequence(expected: Expected[], actual: Expected[]): boolean {
  let i = 0;
  for (const a of actual) if (i < expected.length && isDeepStrictEqual(a, expected[i]!)) i++;
  return i === expected.length;
}

function isDeepStrictEqual(a: Expected, b: Expected): boolean {
  return a.code === b.code && a.line === b.line && a.col === b.col;
}

function slug(title: string): string {
  return title.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
}

describe('invalid scenarios', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'perfy-invalid-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  rows.forEach((row, index) => {
    it(row.title, row.todo === undefined ? {} : { todo: row.todo }, () => {
      const dir = join(root, `${String(index).padStart(3, '0')}-${slug(row.title)}`);
      mkdirSync(dir);
      for (const [name, content] of Object.entries(row.files ?? {})) writeFileSync(join(dir, name), content);
      let file = join(dir, 'scenario.yaml');
      if (row.setup) file = row.setup(dir);
      else writeFileSync(file, row.bytes ?? row.yaml ?? '');

      const outcome = compileScenarioFileSync(file, row.env ?? {});
      const actual: Expected[] = outcome.problems.map((p) => ({
        code: p.code,
        line: p.location?.line,
        col: p.location?.col,
      }));
      const shown = `\n${outcome.problems.map(describeProblem).join('\n')}`;

      if (row.expect.length === 0) {
        assert.deepEqual(actual, [], `a valid control row must have no problems:${shown}`);
        assert.notEqual(outcome.plan, undefined);
        return;
      }
      assert.equal(outcome.plan, undefined, 'an invalid scenario must not compile to a plan');
      if (row.some)
        assert.ok(
          isSubsequence(row.expect, actual),
          `expected at least ${JSON.stringify(row.expect)} in order:${shown}`,
        );
      else assert.deepEqual(actual, row.expect, shown);

      for (const p of outcome.problems) {
        if (p.location === undefined) {
          assert.ok(row.noLocation, `${p.code} has no location`);
          continue;
        }
        assert.equal(p.location.file, file, `${p.code} is located in another file`);
      }
      const order = outcome.problems.map((p) => [p.location?.line ?? 0, p.location?.col ?? 0] as const);
      for (let i = 1; i < order.length; i++) {
        const [line, col] = order[i]!;
        const [previousLine, previousCol] = order[i - 1]!;
        assert.ok(
          line > previousLine || (line === previousLine && col >= previousCol),
          'problems are sorted by line and column',
        );
      }
      if (row.hint !== undefined) {
        const first = row.expect[0]!;
        const matching = outcome.problems.find(
          (p) => p.code === first.code && p.location?.line === first.line && p.location?.col === first.col,
        );
        assert.ok(
          matching?.hint?.includes(row.hint),
          `the hint of ${first.code} should contain ${row.hint}, got ${JSON.stringify(matching?.hint)}`,
        );
      }
    });
  });

  it(`covers every code a scenario can lead to (${REACHABLE_CODES.length})`, () => {
    const covered = new Set(rows.flatMap((r) => r.expect.map((e) => e.code)));
    assert.deepEqual(
      REACHABLE_CODES.filter((c) => !covered.has(c)),
      [],
    );
    assert.ok(
      rows.filter((r) => r.todo === undefined && r.expect.length > 0).length >= 45,
      'at least 45 invalid rows that pass',
    );
  });
});

function describeProblem(p: Problem): string {
  const where = p.location ? `${p.location.line}:${p.location.col}` : '-';
  return `  ${where} ${p.code} ${p.message}`;
}
