// Fuzzing the loader and the validator with fast-check: random text, YAML-ish fragments and mutations of the
// shipped scenarios must load or fail with a PerfyError, never throw anything else and never hang.
//
// Campaigns run in worker threads so that an input that loops forever is caught: the worker is stopped after
// CAMPAIGN_LIMIT_MS and the test names the last input it was given. The seed is fixed (printed as a
// diagnostic); PERFY_FUZZ_SEED=<n> and PERFY_FUZZ_SCALE=<factor> explore further without editing the file.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import fc from 'fast-check';
import { ERROR_CODES, PerfyError, type ErrorCode, type Problem } from '../../../engine/errors.js';
import { loadScenarioText, type LoadedDocument, type PathSegment } from '../../../engine/load/index.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { compileScenarioFileSync } from '../../../engine/compile/file.js';
import { MAX_FLOW_DEPTH } from '../../../engine/validate/schema.js';

const SEED = Number(process.env['PERFY_FUZZ_SEED'] ?? 20_250_611);
const SCALE = Number(process.env['PERFY_FUZZ_SCALE'] ?? 1);
/** One input taking longer than this is a failure (a super-linear path), even when it ends. */
const RUN_LIMIT_MS = 2000;
/** A campaign that has not reported by then is stuck: its worker is stopped. */
const CAMPAIGN_LIMIT_MS = 30_000;

type Campaign =
  'unicode' | 'fragments' | 'fragments-validate' | 'values-validate' | 'mutations-load' | 'mutations-validate';

interface Job {
  kind: 'campaign';
  campaign: Campaign;
  seed: number;
  numRuns: number;
  /** A directory laid out like the package (scenarios/, fixtures/) for campaigns that write files. */
  dir: string;
}

interface SingleJob {
  kind: 'single';
  /** Scenario texts, each written to its `file` and run through loadScenarioText and compileScenarioFileSync. */
  cases: { text: string; file: string }[];
}

interface Stats {
  runs: number;
  loaded: number;
  refused: number;
  compiled: number;
  slowestMs: number;
}

interface CampaignReport {
  stats: Stats;
  /** fast-check's report of the first failure, shrunk; undefined when every run held. */
  failure: string | undefined;
  /** Problems of the unmutated shipped scenarios in the temp layout (must be none). */
  controlProblems: string[];
}

interface SingleReport {
  load: { ms: number; outcome: string; perfyError: boolean };
  validate: { ms: number; codes: ErrorCode[]; planned: boolean };
}

type WorkerMessage = { type: 'input'; input: string } | { type: 'done'; report: CampaignReport | SingleReport[] };

// ---- invariants ------------------------------------------------------------------------------------------------

const LOADER_CODES = new Set<ErrorCode>([
  'E_NOT_YAML', 'E_YAML_SYNTAX', 'E_YAML_DUPLICATE_KEY', 'E_YAML_TAB', 'E_FILE_EMPTY', 'E_ENV_UNSET', 'E_ENV_SYNTAX',
]);

function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

function checkLocation(p: Problem, file: string, lines: number): void {
  if (p.location === undefined) return;
  const { line, col } = p.location;
  if (p.location.file !== file) throw new Error(`${p.code} located in ${p.location.file}, not ${file}`);
  if (!(Number.isInteger(line) && line >= 1 && line <= lines))
    throw new Error(`${p.code} at line ${line} of a ${lines}-line file`);
  if (!(Number.isInteger(col) && col >= 1)) throw new Error(`${p.code} at column ${col}`);
}

/** Every path to a value of the document (at most `limit`), to probe locate and locateInString with. */
function pathsOf(value: unknown, limit = 60): { path: PathSegment[]; value: unknown }[] {
  const out: { path: PathSegment[]; value: unknown }[] = [];
  const walk = (v: unknown, path: PathSegment[], depth: number): void => {
    if (out.length >= limit || depth > 12) return;
    out.push({ path, value: v });
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...path, i], depth + 1));
    else if (v !== null && typeof v === 'object')
      for (const [k, item] of Object.entries(v)) walk(item, [...path, k], depth + 1);
  };
  walk(value, [], 0);
  return out;
}

function probeLocations(document: LoadedDocument, file: string): void {
  const lines = lineCount(document.text);
  const check = (where: { file: string; line: number; col: number }, what: string): void => {
    if (where.file !== file || where.line < 1 || where.line > lines || where.col < 1)
      throw new Error(`${what} gave ${JSON.stringify(where)}`);
  };
  for (const { path, value } of pathsOf(document.value)) {
    check(document.locate(path), `locate(${JSON.stringify(path)})`);
    check(document.locate(path, { key: true }), `locate(${JSON.stringify(path)}, key)`);
    check(document.locate([...path, 'no-such-key', 7]), `locate(${JSON.stringify(path)} + missing)`);
    if (typeof value === 'string') {
      for (const offset of [0, value.length >> 1, Math.max(0, value.length - 1), value.length + 3]) {
        check(document.locateInString(path, offset), `locateInString(${JSON.stringify(path)}, ${offset})`);
      }
    }
  }
}

/** Loads text and counts the outcome; throws when the outcome breaks the loader's contract. */
function loadOnce(text: string, file: string, stats: Stats): void {
  let document: LoadedDocument;
  try {
    document = loadScenarioText(text, file, FUZZ_ENV);
  } catch (error) {
    if (!(error instanceof PerfyError)) throw error;
    const lines = lineCount(text.replace(/^\uFEFF/, ''));
    for (const p of error.problems) {
      if (!LOADER_CODES.has(p.code)) throw new Error(`the loader reported ${p.code}`);
      checkLocation(p, file, lines);
    }
    stats.refused++;
    return;
  }
  const value = document.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('loaded a value that is not a mapping');
  probeLocations(document, file);
  stats.loaded++;
}

/**
 * Writes the bytes to `file`, validates it and counts the outcome; throws when it breaks compileScenarioFileSync's
 * contract.
 */
function validateOnce(bytes: Buffer, file: string, stats: Stats): void {
  writeFileSync(file, bytes);
  const outcome = compileScenarioFileSync(file, FUZZ_ENV);
  const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, '');
  for (const p of outcome.problems) {
    if (!(p.code in ERROR_CODES)) throw new Error(`unknown code ${p.code}`);
    if (p.code === 'E_INTERNAL') throw new Error(`E_INTERNAL: ${p.message}`);
    if (p.location === undefined) throw new Error(`${p.code} has no location`);
    checkLocation(p, file, lineCount(text));
  }
  if ((outcome.plan === undefined) === (outcome.problems.length === 0))
    throw new Error('a plan must come exactly when there are no problems');
  if (outcome.plan) stats.compiled++;
  else stats.refused++;
}

// ---- generators --------------------------------------------------------------------------------------------------

const FUZZ_ENV = { A: 'alpha', N: '42', EMPTY: '' } as const;

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `name: t\n${s}`),
);

const FRAGMENTS = [
  ':',
  ': ',
  '- ',
  '-',
  '{',
  '}',
  '[',
  ']',
  ', ',
  '"',
  "'",
  '\t',
  ' #',
  '? ',
  '|',
  '>-',
  '\\',
  '\n',
  '\r\n',
  '\r',
  '!!str ',
  '!!int ',
  '!!binary ',
  '!!map ',
  '!!seq ',
  '!custom ',
  '!<tag:yaml.org,2002:str> ',
  '&a ',
  '&b ',
  '*a',
  '*b',
  '<<: ',
  '---',
  '...',
  '%YAML 1.2\n',
  '%TAG ! tag:x,2000:\n',
  '\ufeff',
  '${env.',
  '${env.A}',
  '${env.N:-5}',
  '${env.UNSET}',
  '${env.EMPTY:-d}',
  '${x}',
  '${',
  '$${',
  '{{',
  '}}',
  '{{x}}',
  '{{#x}}',
  '{{loop.index}}',
  'name',
  'name: t',
  'flow',
  'load',
  'workloads',
  'stages',
  'http',
  'get',
  'sql',
  'query',
  'use',
  'expect',
  'capture',
  'think',
  'loop',
  'parallel',
  'group',
  'if',
  'then',
  'thresholds',
  'monitor',
  'data',
  'variables',
  'services',
  'target',
  'status == 200',
  '"p95(http.duration) < 300ms"',
  'rate: 1/s',
  'duration: 1s',
  'users: 2',
  'hold: 1s',
  '1s..2s',
  '0s',
  '200/s',
  'x',
  '1',
  '-1',
  '1e999',
  '0x1F',
  'true',
  'null',
  '~',
  '""',
  "''",
];

const fragmentText = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: 8 }),
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...FRAGMENTS) },
          { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
        ),
        { maxLength: 8 },
      ),
    ),
    { maxLength: 24 },
  )
  .map((lines) => lines.map(([indent, tokens]) => ' '.repeat(indent) + tokens.join('')).join('\n'));

/** The shipped scenarios, read at test time. */
function shippedScenarios(): { name: string; text: string }[] {
  const dir = join(PACKAGE_ROOT, 'scenarios');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

type Mutation =
  | { kind: 'delete-line'; at: number }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'swap-lines'; at: number; other: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(...': -{}[],"\'\t#&*!|>%@`?\n\r\\$'.split('')),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
  }),
);

/** Applies mutations to the bytes of a scenario: line edits on lines, truncation and insertion at a byte. */
function mutate(original: string, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(original, 'utf8');
  for (const m of mutations) {
    if (m.kind === 'truncate') {
      bytes = bytes.subarray(0, m.at % (bytes.length + 1));
    } else if (m.kind === 'insert') {
      const at = m.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text, 'utf8'), bytes.subarray(at)]);
    } else {
      const lines = bytes.toString('latin1').split('\n');
      const at = m.at % lines.length;
      if (m.kind === 'delete-line') lines.splice(at, 1);
      else if (m.kind === 'duplicate-line') lines.splice(at, 0, lines[at]!);
      else {
        const other = m.other % lines.length;
        [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      }
      bytes = Buffer.from(lines.join('\n'), 'latin1');
    }
  }
  return bytes;
}

function mutatedScenario(scenarios: { name: string; text: string }[]): fc.Arbitrary<Buffer> {
  return fc
    .tuple(fc.constantFrom(...scenarios), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([scenario, mutations]) => mutate(scenario.text, mutations));
}

/** A shipped scenario with one to three lines of YAML-ish fragments spliced in at random lines. */
function splicedScenario(scenarios: { name: string; text: string }[]): fc.Arbitrary<string> {
  const line = fc.tuple(
    fc.integer({ min: 0, max: 8 }),
    fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 5 }),
  );
  return fc
    .tuple(fc.constantFrom(...scenarios), fc.array(fc.tuple(fc.nat(), line), { minLength: 1, maxLength: 3 }))
    .map(([scenario, splices]) => {
      const lines = scenario.text.split('\n');
      for (const [at, [indent, tokens]] of splices)
        lines.splice(at % (lines.length + 1), 0, ' '.repeat(indent) + tokens.join(''));
      return lines.join('\n');
    });
}

/** Pieces of the values perfy reads: expressions, templates, durations, rates, names. */
const VALUE_PIECES = [
  'status',
  'duration',
  'json.items[0].id',
  'header["x"]',
  'debate',
  'topic',
  'iteration',
  ' == ',
  ' != ',
  ' < ',
  ' >= ',
  ' and ',
  ' or ',
  'not ',
  ' matches ',
  ' contains ',
  '200',
  '500ms',
  '1m30s',
  '5MB',
  '1%',
  '10/s',
  'null',
  'true',
  '"a"',
  "'b'",
  '(',
  ')',
  '[',
  ']',
  '.',
  ',',
  'p95(',
  'p(99.9, ',
  'rate(',
  'count(',
  'avg(',
  'cpu(',
  'rss(',
  'http.duration',
  'step.duration',
  'group.duration',
  'sql.duration',
  'checks',
  'iterations.dropped',
  '{step: vote}',
  '{workload: readers}',
  '{group: browse}',
  '{toString: x}',
  ' for 10s',
  ' for ',
  'api',
  'self',
  '{{',
  '}}',
  '{{topic}}',
  '{{data.users.id}}',
  '{{data.users.nope}}',
  '{{loop.index}}',
  '{{services.api.url}}',
  '{{#x}}',
  '{{/x}}',
  '{{env.HOME}}',
  '$1',
  'SELECT ',
  '0s',
  '1s..200ms',
  '200ms..1s',
  '/debates',
  'http://127.0.0.1:1',
  '-',
  '_',
  'constructor',
  '__proto__',
  ' ',
  '\\',
  '"',
];

/** A shipped scenario with the values of one to three `key: value` lines replaced by made-up values. */
function valueMutatedScenario(scenarios: { name: string; text: string }[]): fc.Arbitrary<string> {
  const made = fc
    .array(fc.constantFrom(...VALUE_PIECES), { minLength: 1, maxLength: 7 })
    .map((pieces) => pieces.join(''));
  const quoting = fc.constantFrom('plain', 'double', 'single');
  return fc
    .tuple(fc.constantFrom(...scenarios), fc.array(fc.tuple(fc.nat(), made, quoting), { minLength: 1, maxLength: 3 }))
    .map(([scenario, edits]) => {
      const lines = scenario.text.split('\n');
      const editable = lines.map((l, i) => (/^\s*(?:- )?[\w$-]+: \S/.test(l) ? i : -1)).filter((i) => i >= 0);
      for (const [at, value, how] of edits) {
        const i = editable[at % editable.length]!;
        const quoted =
          how === 'double' ? JSON.stringify(value) : how === 'single' ? `'${value.replace(/'/g, "''")}'` : value;
        lines[i] = lines[i]!.replace(/^(\s*(?:- )?[\w$-]+: ).*$/, `$1${quoted}`);
      }
      return lines.join('\n');
    });
}

// ---- worker side ---------------------------------------------------------------------------------------------

function runCampaign(job: Job, post: (m: WorkerMessage) => void): CampaignReport {
  const stats: Stats = { runs: 0, loaded: 0, refused: 0, compiled: 0, slowestMs: 0 };
  // One file per campaign: campaigns run side by side in the same directory.
  const file = join(job.dir, 'scenarios', `fuzz-${job.campaign}.yaml`);
  const timed = (input: string, run: () => void): void => {
    post({ type: 'input', input });
    const start = performance.now();
    run();
    const ms = performance.now() - start;
    stats.runs++;
    stats.slowestMs = Math.max(stats.slowestMs, ms);
    if (ms > RUN_LIMIT_MS) throw new Error(`took ${Math.round(ms)} ms (limit ${RUN_LIMIT_MS} ms)`);
  };
  const controlProblems: string[] = [];
  const check = <T extends [unknown]>(property: fc.IProperty<T>): string | undefined => {
    const details = fc.check(property, { seed: job.seed, numRuns: job.numRuns });
    if (!details.failed) return undefined;
    const error =
      details.errorInstance instanceof Error
        ? (details.errorInstance.stack ?? details.errorInstance.message)
        : String(details.errorInstance);
    return `${fc.defaultReportMessage(details)}\nError: ${error}`;
  };
  let failure: string | undefined;
  switch (job.campaign) {
    case 'unicode':
      failure = check(fc.property(anyText, (text) => timed(text, () => loadOnce(text, file, stats))));
      break;
    case 'fragments':
      failure = check(fc.property(fragmentText, (text) => timed(text, () => loadOnce(text, file, stats))));
      break;
    case 'fragments-validate':
      failure = check(
        fc.property(splicedScenario(shippedScenarios()), (text) =>
          timed(text, () => validateOnce(Buffer.from(text, 'utf8'), file, stats)),
        ),
      );
      break;
    case 'values-validate':
      failure = check(
        fc.property(valueMutatedScenario(shippedScenarios()), (text) =>
          timed(text, () => validateOnce(Buffer.from(text, 'utf8'), file, stats)),
        ),
      );
      break;
    case 'mutations-load':
      failure = check(
        fc.property(mutatedScenario(shippedScenarios()), (bytes) => {
          const text = new TextDecoder().decode(bytes);
          timed(text, () => loadOnce(text, file, stats));
        }),
      );
      break;
    case 'mutations-validate': {
      const scenarios = shippedScenarios();
      for (const s of scenarios) {
        const outcome = compileScenarioFileSync(join(job.dir, 'scenarios', s.name), FUZZ_ENV);
        controlProblems.push(...outcome.problems.map((p) => `${s.name}: ${p.code} ${p.message}`));
      }
      failure = check(
        fc.property(mutatedScenario(scenarios), (bytes) =>
          timed(bytes.toString('latin1'), () => validateOnce(bytes, file, stats)),
        ),
      );
      break;
    }
  }
  return { stats, failure, controlProblems };
}

function runSingle({ text, file }: { text: string; file: string }, post: (m: WorkerMessage) => void): SingleReport {
  post({ type: 'input', input: text });
  let start = performance.now();
  let outcome = 'loaded';
  let perfyError = false;
  try {
    loadScenarioText(text, file, FUZZ_ENV);
  } catch (error) {
    perfyError = error instanceof PerfyError;
    outcome = `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
  }
  const load = { ms: performance.now() - start, outcome, perfyError };
  writeFileSync(file, text);
  start = performance.now();
  const result = compileScenarioFileSync(file, FUZZ_ENV);
  return {
    load,
    validate: {
      ms: performance.now() - start,
      codes: result.problems.map((p) => p.code),
      planned: result.plan !== undefined,
    },
  };
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  port.on('message', (job: Job | SingleJob) => {
    post({
      type: 'done',
      report: job.kind === 'campaign' ? runCampaign(job, post) : job.cases.map((c) => runSingle(c, post)),
    });
  });
}

// ---- main side ---------------------------------------------------------------------------------------------------

interface WorkerResult<R> {
  report: R | undefined;
  /** The last input the worker started on, when it had to be stopped. */
  stuckOn: string | undefined;
  ms: number;
}

/**
 * Workers that run one job at a time and are reused (starting one costs about a second: the engine, ajv and
 * fast-check load again in each). A worker that overruns its limit is stopped and never reused.
 */
class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  run<R>(job: Job | SingleJob, limitMs: number): Promise<WorkerResult<R>> {
    const worker = this.idle.pop() ?? this.spawn();
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let lastInput: string | undefined;
      const detach = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const timer = setTimeout(() => {
        detach();
        this.all.delete(worker);
        void worker.terminate();
        resolve({
          report: undefined,
          stuckOn: lastInput ?? '<before the first input>',
          ms: performance.now() - started,
        });
      }, limitMs);
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'input') {
          lastInput = m.input;
          return;
        }
        detach();
        this.idle.push(worker);
        resolve({ report: m.report as R, stuckOn: undefined, ms: performance.now() - started });
      };
      const onError = (error: Error): void => {
        detach();
        this.all.delete(worker);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((w) => w.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL(import.meta.url));
    this.all.add(worker);
    return worker;
  }
}

function billionLaughs(levels: number): string {
  const lines = ['name: t', 'variables:', '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++)
    lines.push(`  l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`);
  return `${lines.join('\n')}\n`;
}

function nestedLoops(depth: number): string {
  const lines = ['name: t', 'target: http://localhost:8080', 'load: [ { rate: 1/s, duration: 1s } ]', 'flow:'];
  for (let i = 0; i < depth; i++) lines.push(`${'  '.repeat(2 * i)}  - loop: 1`, `${'  '.repeat(2 * i)}    flow:`);
  lines.push(`${'  '.repeat(2 * depth)}  - http: { get: / }`);
  return `${lines.join('\n')}\n`;
}

if (isMainThread) {
  // Two jobs at a time: each is single-threaded, and CI machines have two cores.
  describe('fuzzing the loader and validator', { concurrency: 2 }, () => {
    const pool = new WorkerPool();
    let root = '';
    before(() => {
      root = mkdtempSync(join(tmpdir(), 'perfy-fuzz-'));
      mkdirSync(join(root, 'scenarios'));
      // Scenarios name data as ../fixtures/...: the layout of the package, so mutants reach the compiler.
      symlinkSync(join(PACKAGE_ROOT, 'fixtures'), join(root, 'fixtures'), 'dir');
      for (const s of shippedScenarios()) writeFileSync(join(root, 'scenarios', s.name), s.text);
    });
    after(async () => {
      await pool.close();
      rmSync(root, { recursive: true, force: true });
    });

    const campaigns: [Campaign, number, string][] = [
      ['unicode', 1000, 'arbitrary unicode text → loadScenarioText'],
      ['fragments', 1200, 'YAML-ish fragments → loadScenarioText'],
      ['fragments-validate', 400, 'shipped scenarios with YAML-ish lines spliced in → compileScenarioFileSync'],
      [
        'values-validate',
        600,
        'shipped scenarios with made-up values (expressions, templates, units) → compileScenarioFileSync',
      ],
      ['mutations-load', 1000, 'mutated shipped scenarios → loadScenarioText'],
      ['mutations-validate', 800, 'mutated shipped scenarios → compileScenarioFileSync'],
    ];
    for (const [campaign, runs, title] of campaigns) {
      it(title, async (t) => {
        const numRuns = Math.max(1, Math.round(runs * SCALE));
        t.diagnostic(`seed ${SEED}, ${numRuns} runs (PERFY_FUZZ_SEED / PERFY_FUZZ_SCALE to change)`);
        const result = await pool.run<CampaignReport>(
          { kind: 'campaign', campaign, seed: SEED, numRuns, dir: root },
          CAMPAIGN_LIMIT_MS,
        );
        assert.equal(
          result.stuckOn, undefined,
          `no answer after ${CAMPAIGN_LIMIT_MS} ms; last input: ${JSON.stringify(result.stuckOn)}`,
        );
        const report = result.report!;
        const { runs: done, loaded, compiled, refused, slowestMs } = report.stats;
        const outcomes = campaign.endsWith('validate')
          ? `${compiled} compiled, ${refused} with problems`
          : `${loaded} loaded, ${refused} refused`;
        t.diagnostic(`${done} inputs in ${Math.round(result.ms)} ms: ${outcomes}; slowest ${slowestMs.toFixed(1)} ms`);
        assert.deepEqual(report.controlProblems, [], 'the unmutated scenarios must validate in the temp layout');
        assert.equal(report.failure, undefined, report.failure);
      });
    }

    let aliases: Promise<WorkerResult<SingleReport[]>> | undefined;
    const runAliases = (): Promise<WorkerResult<SingleReport[]>> => {
      aliases ??= pool.run<SingleReport[]>(
        {
          kind: 'single',
          cases: [
            { text: billionLaughs(9), file: join(root, 'scenarios', 'bomb.yaml') },
            { text: 'name: t\ntarget: *nope\n', file: join(root, 'scenarios', 'alias.yaml') },
          ],
        },
        10_000,
      );
      return aliases;
    };

    it('refuses a billion-laughs alias bomb fast with E_YAML_SYNTAX, in the loader and in ' +
        'compileScenarioFileSync', async (t) => {
      const { report, stuckOn } = await runAliases();
      assert.equal(stuckOn, undefined, `perfy hung on ${JSON.stringify(stuckOn)}`);
      const { load, validate } = report![0]!;
      t.diagnostic(
        `load ${load.ms.toFixed(1)} ms (${load.outcome}); validate ${validate.ms.toFixed(1)} ms ` +
          `(${validate.codes.join(', ')})`,
      );
      assert.ok(load.perfyError, load.outcome);
      assert.ok(load.ms < 1000, `the loader took ${load.ms} ms`);
      assert.ok(validate.ms < 1000, `compileScenarioFileSync took ${validate.ms} ms`);
      assert.equal(validate.planned, false);
      assert.deepEqual(validate.codes, ['E_YAML_SYNTAX']);
    });

    it('refuses an alias to no anchor with E_YAML_SYNTAX', async () => {
      const { report, stuckOn } = await runAliases();
      assert.equal(stuckOn, undefined);
      const { load, validate } = report![1]!;
      assert.ok(load.perfyError, load.outcome);
      assert.deepEqual(validate.codes, ['E_YAML_SYNTAX']);
    });

    it('rejects flows nested deeper than the limit at once, and plans one at the limit', async () => {
      const cases = [nestedLoops(30), nestedLoops(MAX_FLOW_DEPTH - 1)].map((text) => ({
        text,
        file: join(root, 'scenarios', 'nested.yaml'),
      }));
      const { report, stuckOn } = await pool.run<SingleReport[]>({ kind: 'single', cases }, 2000);
      assert.equal(stuckOn, undefined, 'compileScenarioFileSync did not finish within 2 s');
      assert.deepEqual(report![0]!.validate.codes, ['E_SCHEMA']);
      assert.ok(report![0]!.validate.ms < 500, `30 levels took ${report![0]!.validate.ms} ms`);
      assert.equal(report![1]!.validate.planned, true);
    });
  });
}
