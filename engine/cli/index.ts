// The `perfy` command line: parses arguments, runs a command, returns the exit code (bin/perfy sets it).
// Usage errors are E_USAGE with exit code 2; no command prints a stack trace unless PERFY_DEBUG is set.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describePlan } from '../compile/describe.js';
import { ERROR_CODES, EXIT, formatProblem, PerfyError, problem, type Problem } from '../errors.js';
import { PACKAGE_ROOT, SCHEMA_PATH } from '../paths.js';
import { redact } from '../redact.js';
import { PATTERNS } from '../units.js';
import { internalProblem, validateFile } from '../validate/index.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command()
    .name('perfy')
    .description('Declarative load and performance testing: scenarios in YAML, numbers you can trust.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: () => {}, // reported below as E_USAGE
    })
    .addHelpText('after', '\nExit codes: 0 ok · 1 thresholds failed · 2 invalid scenario or usage · 3 the run could not complete\nDocs: docs/cli.md, docs/format.md, docs/expressions.md, docs/errors.md');

  program
    .command('validate')
    .description('check scenario files: schema, expressions, templates, names, files; exit 0 when all are valid')
    .argument('<files...>', 'scenario files (YAML)')
    .option('--plan', 'also print the compiled plan: stages with times and rates, flows as trees')
    .option('--json', 'print the problems as JSON (one object per file) instead of text')
    .action((files: string[], options: { plan?: boolean; json?: boolean }) => {
      exitCode = validateCommand(files, options, io);
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

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      printProblems([problem('E_USAGE', error.message.replace(/^error: /, ''), 'run `perfy --help` for the commands and flags')], io);
      return EXIT.invalid;
    }
    if (error instanceof PerfyError) {
      printProblems(error.problems, io);
      return error.exitCode;
    }
    printProblems([internalProblem(error)], io);
    return ERROR_CODES.E_INTERNAL.exit;
  }
  return exitCode;
}

function validateCommand(files: string[], options: { plan?: boolean; json?: boolean }, rawIo: Io): number {
  let exitCode: number = EXIT.ok;
  const reports: { file: string; valid: boolean; problems: Problem[] }[] = [];
  const secrets: string[] = [];
  const io: Io = { out: (text) => rawIo.out(redact(text, secrets)), err: (text) => rawIo.err(redact(text, secrets)) };
  for (const file of files) {
    const outcome = validateFile(file);
    secrets.push(...outcome.secrets);
    const valid = outcome.problems.length === 0;
    for (const p of outcome.problems) exitCode = Math.max(exitCode, ERROR_CODES[p.code].exit);
    reports.push({ file, valid, problems: outcome.problems });
    if (options.json) continue;
    if (valid) {
      io.out(`✓ ${file} is valid\n`);
      if (options.plan && outcome.plan) io.out(`${describePlan(outcome.plan).join('\n')}\n\n`);
    } else {
      printProblems(outcome.problems, io);
      io.err(`✗ ${file}: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}\n`);
    }
  }
  if (options.json) io.out(`${JSON.stringify(reports, null, 2)}\n`);
  return exitCode;
}

function initCommand(name: string, options: { dir: string; force?: boolean }, io: Io): number {
  if (!new RegExp(PATTERNS.name).test(name)) {
    throw new PerfyError(problem('E_USAGE', `"${name}" is not a valid scenario name`, 'use letters, digits, `_` and `-`, starting with a letter: perfy init morning_peak'));
  }
  const dir = resolve(options.dir);
  const file = join(dir, `${name}.yaml`);
  if (existsSync(file) && !options.force) {
    throw new PerfyError(problem('E_USAGE', `${relative(process.cwd(), file) || file} already exists`, 'pass --force to overwrite it, or choose another name'));
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

function printProblems(problems: Problem[], io: Io): void {
  for (const p of problems) io.err(`${formatProblem(p)}\n`);
}
