// The `command` service form: a process the user names, started without a shell, its output saved to
// NAME.log and its readiness probed. Also the process handling that the built-in demo API reuses.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Service } from '../generated/scenario.js';
import { parseDuration } from '../units.js';
import { groupAlive, signalGroup } from './process-group.js';
import type { RunningService } from './types.js';
import { forgetGroup, watchGroup } from './watchdog.js';
import {
  endpointOf, logFileOf, makeLogDir, PRIVATE_FILE_MODE, redactUrl, startFailed, startInterrupted, startLogFile,
  waitUntilReachable, type ProbeKind, type ServiceContext,
} from './url.js';

export type CommandService = Extract<Service, { command: string }>;

export const DEFAULT_COMMAND_TIMEOUT = '30s';
/** How long a stop waits after SIGTERM before it sends SIGKILL. */
export const STOP_GRACE_MS = 5_000;
const LOG_TAIL_LINES = 10;

// ---------------------------------------------------------------------------------------------------------
// Command lines

/** A command line that cannot be split: an unterminated quote, or a shell operator perfy cannot honour. */
export class CommandLineError extends Error {
  /** 1-based column in the command line. */
  readonly column: number;
  constructor(message: string, column: number) {
    super(message);
    this.name = 'CommandLineError';
    this.column = column;
  }
}

/** Unquoted words that mean something only to a shell. */
const SHELL_OPERATORS = new Set(['|', '||', '&', '&&', ';', '>', '>>', '<', '<<', '2>', '2>&1', '&>']);
/** Characters a backslash escapes inside double quotes (as in POSIX sh); before others it stays a backslash. */
const DOUBLE_QUOTE_ESCAPES = new Set(['"', '\\', '$', '`']);

/**
 * Splits a command line into program and arguments as a POSIX shell would, without expanding anything:
 * whitespace separates words; '…' is literal; "…" is literal except \" \\ \$ \`; outside quotes a backslash
 * escapes the next character; a backslash before a newline joins lines; '' and "" are empty arguments.
 * Throws CommandLineError on an unterminated quote or an unquoted shell operator (|, &&, >, ;, …).
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  let wordStart = 0;
  const finishWord = (): void => {
    if (!inWord) return;
    if (!quoted && SHELL_OPERATORS.has(word)) {
      throw new CommandLineError(`"${word}" is a shell operator, and commands run without a shell`, wordStart + 1);
    }
    words.push(word);
    word = '';
    inWord = false;
    quoted = false;
  };
  const startWord = (at: number): void => {
    if (!inWord) wordStart = at;
    inWord = true;
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      finishWord();
      i++;
    } else if (c === "'") {
      startWord(i);
      quoted = true;
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandLineError('a single quote is not closed', i + 1);
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      startWord(i);
      quoted = true;
      const open = i;
      i++;
      for (;;) {
        if (i >= line.length) throw new CommandLineError('a double quote is not closed', open + 1);
        const d = line[i]!;
        if (d === '"') break;
        const next = line[i + 1];
        if (d === '\\' && next === '\n') i += 2;
        else if (d === '\\' && next !== undefined && DOUBLE_QUOTE_ESCAPES.has(next)) {
          word += next;
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === '\n') {
        i += 2;
        continue;
      }
      startWord(i);
      quoted = true;
      // A trailing backslash has nothing to escape: it is kept.
      word += next ?? '\\';
      i += next === undefined ? 1 : 2;
    } else {
      startWord(i);
      word += c;
      i++;
    }
  }
  finishWord();
  return words;
}

// ---------------------------------------------------------------------------------------------------------
// Processes

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process perfy started, in its own process group, with its output going to a log file. */
export interface ManagedProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<ExitStatus>;
  exitStatus(): ExitStatus | undefined;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it is gone. Never throws. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

/** The process is gone (stopped, or exited with nothing of its group left): nothing to stop for it any more. */
function forget(p: ManagedProcess): void {
  live.delete(p);
  if (OWN_GROUP) forgetGroup(p.pid);
}

/** If perfy itself exits without stopping its services, they must not outlive it (SIGKILL: see watchdog.ts). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) signalManaged(p.child, p.pid, 'SIGKILL');
  });
}

// A process group of its own (POSIX) lets a stop reach what the command itself started (npm → sh → node),
// and keeps Ctrl-C in the terminal from killing services before perfy has finished the run.
const OWN_GROUP = process.platform !== 'win32';

function signalManaged(child: ChildProcess, pid: number, signal: NodeJS.Signals): void {
  if (OWN_GROUP) signalGroup(pid, signal);
  else child.kill(signal);
}

function managedAlive(child: ChildProcess, pid: number): boolean {
  return OWN_GROUP ? groupAlive(pid) : child.exitCode === null && child.signalCode === null;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** 'log': stdout goes straight to the log; 'pipe': perfy reads it too (and copies it to the log). */
  stdout: 'log' | 'pipe';
  /** 'pipe' keeps a pipe to the child's stdin open, which closes when perfy's process ends however it ends. */
  stdin?: 'ignore' | 'pipe';
  /** Keep what the log file already holds (default: start it empty). */
  appendLog?: boolean;
  /** What the watchdog sends the process group if perfy dies without stopping it (default SIGTERM). */
  orphanSignal?: NodeJS.Signals;
  /** Run the process as this user and group (perfy running as root starting PostgreSQL, which refuses root). */
  uid?: number;
  gid?: number;
}

/** Spawns `program args` (no shell); resolves once it is running, rejects with the spawn error (ENOENT, EACCES). */
export function spawnManaged(program: string, args: string[], options: SpawnOptions): Promise<ManagedProcess> {
  if (!options.appendLog) startLogFile(options.logFile);
  // O_APPEND for everyone who writes to the log, so the child's and perfy's writes never overwrite each other.
  const fd = openSync(options.logFile, 'a', PRIVATE_FILE_MODE);
  let child: ChildProcess;
  try {
    child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin ?? 'ignore', options.stdout === 'pipe' ? 'pipe' : fd, fd],
      detached: OWN_GROUP,
      windowsHide: true,
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
  } catch (error) {
    closeSync(fd);
    return Promise.reject(error);
  }
  if (options.stdout === 'pipe' && child.stdout) {
    child.stdout.pipe(createWriteStream(options.logFile, { flags: 'a', mode: PRIVATE_FILE_MODE }));
  }
  // Writing to a child that has exited is EPIPE: nothing to report, the exit is observed on its own.
  child.stdin?.on('error', () => {});

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolveExit) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolveExit(status);
    });
    // A process that never spawned never exits: resolve so that nobody waits forever.
    child.once('error', () => {
      if (child.pid === undefined) resolveExit(status ?? { code: null, signal: null });
    });
  });

  return new Promise((resolveSpawn, rejectSpawn) => {
    child.once('error', (error) => {
      closeSync(fd);
      rejectSpawn(error);
    });
    child.once('spawn', () => {
      closeSync(fd);
      const pid = child.pid!;
      let stopping: Promise<void> | undefined;
      const managed: ManagedProcess = {
        child,
        pid,
        logFile: options.logFile,
        exited,
        exitStatus: () => status,
        stop: (graceMs = STOP_GRACE_MS) => (stopping ??= stopProcess(managed, graceMs)),
      };
      live.add(managed);
      if (OWN_GROUP) watchGroup(pid, options.orphanSignal ?? 'SIGTERM');
      void exited.then(() => {
        if (!managedAlive(child, pid)) forget(managed);
      });
      installExitHook();
      resolveSpawn(managed);
    });
  });
}

async function stopProcess(p: ManagedProcess, graceMs: number): Promise<void> {
  try {
    const gone = (): boolean => p.exitStatus() !== undefined && !managedAlive(p.child, p.pid);
    if (!gone()) {
      signalManaged(p.child, p.pid, 'SIGTERM');
      const deadline = performance.now() + graceMs;
      while (!gone() && performance.now() < deadline)
        await sleep(Math.min(25, Math.max(1, deadline - performance.now())));
      if (!gone()) {
        signalManaged(p.child, p.pid, 'SIGKILL');
        // SIGKILL cannot be ignored; wait for the exit to be reaped so the pid is really free.
        await Promise.race([p.exited, sleep(2_000)]);
      }
    }
  } catch {
    // Stopping never throws: there is nothing a caller could do about it.
  } finally {
    forget(p);
  }
}

/** The last lines of a log file, indented, for error messages; '' when it is empty or unreadable. */
export function logTail(logFile: string, lines = LOG_TAIL_LINES): string {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
  const last = text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-lines);
  return last.map((l) => `    | ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`).join('\n');
}

export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code ?? 'unknown'}`;
}

/** The message part that shows a log tail, or '' when the log is empty. */
export function withTail(logFile: string): string {
  const tail = logTail(logFile);
  return tail === '' ? '; it printed nothing' : `; last lines of its output:\n${tail}`;
}

export function spawnFailure(name: string, program: string, error: unknown, cwd: string, logFile: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return startFailed(
      name, `the program "${program}" was not found`,
      'check the spelling and PATH; commands run without a shell, so shell built-ins, pipes and `VAR=value` prefixes ' +
        'do not work (use `env:`)',
      logFile,
    );
  }
  if (code === 'EACCES')
    return startFailed(
      name, `the program "${program}" is not executable`,
      `check its permissions (chmod +x), or run it through its interpreter; cwd was ${cwd}`, logFile,
    );
  return startFailed(
    name, `"${program}" could not be started: ${error instanceof Error ? error.message : String(error)}`,
    'check the command line and `cwd`', logFile,
  );
}

// ---------------------------------------------------------------------------------------------------------
// The service

interface Readiness {
  url: URL;
  kind: ProbeKind;
}

function readinessOf(name: string, ready: string): Readiness {
  let url: URL;
  try {
    url = new URL(ready);
  } catch {
    throw startFailed(name, `ready "${redactUrl(ready)}" is not a URL`, 'use http://HOST:PORT/PATH (must answer 2xx) or tcp://HOST:PORT (must accept a connection)', undefined);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return { url, kind: 'http-2xx' };
  if (url.protocol === 'tcp:') {
    if (url.hostname === '' || url.port === '')
      throw startFailed(
        name, `ready "${ready}" has no host or port`, 'write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:5432',
        undefined,
      );
    return { url, kind: 'tcp' };
  }
  throw startFailed(name, `ready "${redactUrl(ready)}" uses the scheme ${url.protocol} that perfy cannot probe`, 'use http://, https:// or tcp://HOST:PORT', undefined);
}

/** What `{{services.NAME.url}}`, `.host` and `.port` give: `url`, else the origin of `ready`, else nothing. */
function addressOf(
  name: string,
  config: CommandService,
  readiness: Readiness | undefined,
): { url: string; host: string; port: number } {
  if (config.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(config.url);
    } catch {
      throw startFailed(name, `url "${redactUrl(config.url)}" is not a URL`, 'write a full URL such as http://127.0.0.1:8080', undefined);
    }
    const endpoint = endpointOf(parsed);
    return { url: config.url, host: endpoint?.host ?? '', port: endpoint?.port ?? 0 };
  }
  if (readiness !== undefined) {
    const endpoint = endpointOf(readiness.url);
    const url = readiness.kind === 'tcp' ? `tcp://${readiness.url.host}` : readiness.url.origin;
    return { url, host: endpoint?.host ?? '', port: endpoint?.port ?? 0 };
  }
  return { url: '', host: '', port: 0 };
}

/** The form `{ command: "...", ready?, url?, cwd?, env?, timeout? }`. */
export async function startCommandService(
  name: string, config: CommandService, context: ServiceContext,
): Promise<RunningService> {
  let words: string[];
  try {
    words = splitCommandLine(config.command);
  } catch (error) {
    const at = error instanceof CommandLineError ? ` at column ${error.column}` : '';
    throw startFailed(
      name,
      `the command line cannot be split${at}: ${error instanceof Error ? error.message : String(error)}`,
      'quote arguments that hold spaces ("like this"); for pipes or redirections run a shell yourself: command: sh ' +
        '-c \'a | b\'',
      undefined,
    );
  }
  const [program, ...args] = words;
  if (program === undefined)
    throw startFailed(
      name, 'the command is empty', 'write the program and its arguments, e.g. command: node server.js', undefined,
    );

  const timeoutText = config.timeout ?? DEFAULT_COMMAND_TIMEOUT;
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs <= 0)
    throw startFailed(
      name, `timeout "${timeoutText}" is not a positive duration`, 'write it like 30s or 2m', undefined,
    );
  const readiness = config.ready === undefined ? undefined : readinessOf(name, config.ready);
  const address = addressOf(name, config, readiness);

  const cwd = resolve(context.scenarioDir, config.cwd ?? '.');
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDirectory)
    throw startFailed(name, `cwd "${cwd}" is not a directory`, '`cwd` is relative to the scenario file', undefined);

  makeLogDir(context.logDir);
  const logFile = logFileOf(context.logDir, name);
  if (context.signal?.aborted) throw startInterrupted(name);
  let proc: ManagedProcess;
  try {
    proc = await spawnManaged(program, args, { cwd, env: { ...process.env, ...config.env }, logFile, stdout: 'log' });
  } catch (error) {
    throw spawnFailure(name, program, error, cwd, logFile);
  }
  const graceMs = context.stopGraceMs ?? STOP_GRACE_MS;
  const running: RunningService = { name, ...address, pid: proc.pid, stop: () => proc.stop(graceMs) };
  if (readiness === undefined) return running;

  // Stop probing as soon as the process exits or the run is interrupted.
  const giveUp = new AbortController();
  const onAbort = (): void => giveUp.abort();
  context.signal?.addEventListener('abort', onAbort, { once: true });
  void proc.exited.then(() => giveUp.abort());
  const outcome = await waitUntilReachable(readiness.url, readiness.kind, timeoutMs, giveUp.signal);
  context.signal?.removeEventListener('abort', onAbort);
  if (outcome.ready) return running;

  const exit = proc.exitStatus();
  await proc.stop(graceMs);
  if (exit !== undefined) {
    throw startFailed(
      name,
      `the process ${describeExit(exit)} before it was ready${withTail(logFile)}`,
      `run \`${config.command}\` by hand in ${cwd} to see why it stops`,
      logFile,
    );
  }
  if (context.signal?.aborted) throw startInterrupted(name);
  const probe = readiness.kind === 'tcp' ? 'accept a connection' : 'answer 2xx';
  throw startFailed(
    name,
    `${redactUrl(readiness.url.href)} did not ${probe} within ${timeoutText} (last probe: ` +
      `${outcome.lastError ?? 'none'})${withTail(logFile)}`,
    'check that `ready` names the address and port the service listens on, or raise `timeout`',
    logFile,
  );
}
