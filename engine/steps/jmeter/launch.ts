// Starts Apache JMeter in non-GUI mode in a run directory (results.jtl, jmeter.log, its output), stops it
// without losing results, and explains afterwards why a run produced nothing usable (docs/jmeter.md).

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, closeSync, constants, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { forgetGroup, watchGroup } from '../../services/watchdog.js';
import type { JmeterInstall } from './locate.js';

export { locateJmeter, type JmeterInstall } from './locate.js';

export interface JmeterRunOptions {
  plan: string;
  /** JMeter properties (-J), read by the plan with ${__P(name,default)} */
  properties: Record<string, string>;
  /** The run directory: created if missing; results.jtl, jmeter.log and jmeter-output.txt are replaced. */
  dir: string;
  /** Aborting it stops JMeter (as stop() does). */
  signal?: AbortSignal;
  /** How long stop() waits after each way of asking JMeter to end (Shutdown, StopTestNow, SIGTERM); default 1500 ms. */
  stopGraceMs?: number;
}

export interface JmeterRunHandle {
  /** The plan as JMeter was given it (absolute). */
  plan: string;
  dir: string;
  jtl: string;
  log: string;
  /** JMeter's stdout+stderr file */
  output: string;
  /** JMeter's process id (of bin/jmeter's shell for JMeter 3.3+; the process group holds the JVM too) */
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<void>;
}

/**
 * The properties that make every JMeter version write the CSV results perfy reads (engine/steps/jmeter/
 * jtl.ts): a header, ms timestamps of the sample's start, and the columns below. Given after the plan's own
 * properties, so a plan's properties cannot change them. autoflush: perfy reads the file while JMeter writes.
 */
export const RESULT_PROPERTIES: Readonly<Record<string, string>> = {
  'jmeter.save.saveservice.output_format': 'csv',
  'jmeter.save.saveservice.print_field_names': 'true',
  'jmeter.save.saveservice.timestamp_format': 'ms',
  'sampleresult.timestamp.start': 'true',
  'jmeter.save.saveservice.time': 'true',
  'jmeter.save.saveservice.label': 'true',
  'jmeter.save.saveservice.response_code': 'true',
  'jmeter.save.saveservice.response_message': 'true',
  'jmeter.save.saveservice.thread_name': 'true',
  'jmeter.save.saveservice.successful': 'true',
  'jmeter.save.saveservice.assertion_results_failure_message': 'true',
  'jmeter.save.saveservice.bytes': 'true',
  'jmeter.save.saveservice.sent_bytes': 'true',
  'jmeter.save.saveservice.thread_counts': 'true',
  'jmeter.save.saveservice.url': 'true',
  'jmeter.save.saveservice.latency': 'true',
  'jmeter.save.saveservice.connect_time': 'true',
  'jmeter.save.saveservice.autoflush': 'true',
};

export const RESULTS_FILE = 'results.jtl';
export const LOG_FILE = 'jmeter.log';
export const OUTPUT_FILE = 'jmeter-output.txt';

/** JMeter processes still running: killed if perfy exits without stopping them (they run in their own group). */
const live = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Starts JMeter non-GUI: -n -t plan -l dir/results.jtl -j dir/jmeter.log, -J for each property, then
 * RESULT_PROPERTIES; -f on 5.x. Old results, log and output of the directory are deleted first (JMeter would
 * append to them). JMeter runs in its own process group, so stop() reaches the JVM behind bin/jmeter's shell.
 */
export function startJmeter(install: JmeterInstall, options: JmeterRunOptions): JmeterRunHandle {
  const dir = resolve(options.dir);
  const plan = resolve(options.plan);
  // Private: JMeter's results and log hold the plan's properties, URLs and responses (tokens among them), and
  // JMeter creates its files with its own umask. chmod for a directory an earlier run made.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const jtl = join(dir, RESULTS_FILE);
  const log = join(dir, LOG_FILE);
  const output = join(dir, OUTPUT_FILE);
  for (const file of [jtl, log, output]) rmSync(file, { force: true });

  const args = ['-n', '-t', plan, '-l', jtl, '-j', log];
  if (install.major >= 5) args.push('-f');
  for (const [name, value] of Object.entries({ ...options.properties, ...RESULT_PROPERTIES })) {
    if (name === '' || name.includes('=')) {
      throw new TypeError(`JMeter property names cannot be empty or hold "=": ${JSON.stringify(name)}`);
    }
    args.push(`-J${name}=${value}`);
  }
  const [program, ...flags] = install.command;
  if (program === undefined) throw new TypeError('JmeterInstall.command is empty');
  // The launcher's JVM takes JVM_ARGS as JMeter's own script does (heap size, GC flags).
  const jvmArgs = install.launcher ? (process.env['JVM_ARGS'] ?? '').split(/\s+/).filter(Boolean) : [];

  const fd = openSync(output, 'w', 0o600);
  let child;
  try {
    child = spawn(program, [...jvmArgs, ...flags, ...args], {
      cwd: dir,
      stdio: ['ignore', fd, fd],
      detached: process.platform !== 'win32',
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid !== undefined) {
    live.add(pid);
    // A perfy killed with SIGKILL runs no exit hook: the watchdog stops the JVM then.
    if (process.platform !== 'win32') watchGroup(pid, 'SIGTERM');
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const running of live) killGroup(running, 'SIGKILL');
      });
    }
  }
  let finished = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolveExit) => {
    child.once('error', (error) => {
      finished = true;
      if (pid !== undefined) {
        live.delete(pid);
        forgetGroup(pid);
      }
      try {
        const out = openSync(output, 'a');
        writeSync(out, `perfy: could not start JMeter (${program}): ${error.message}\n`);
        closeSync(out);
      } catch {
        // the run directory is gone
      }
      resolveExit({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      finished = true;
      if (pid !== undefined) {
        live.delete(pid);
        forgetGroup(pid);
      }
      resolveExit({ code, signal });
    });
  });

  const grace = options.stopGraceMs ?? 1500;
  let stopping: Promise<void> | undefined;
  const ended = (ms: number): Promise<boolean> =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (finished || pid === undefined) return;
      // JMeter's own messages (UDP, on the port it printed) end the test and close the results file; a signal
      // loses the rows JMeter had not written yet. Shutdown lets each thread finish its sample (every sample
      // the server answered has its row); StopTestNow, when that takes too long, interrupts them (the
      // interrupted samples get rows with a "Non HTTP response code").
      const port = await shutdownPort(output);
      if (port !== undefined) {
        for (const message of ['Shutdown', 'StopTestNow']) {
          await sendUdp(port, message);
          if (await ended(grace)) return;
        }
      }
      killGroup(pid, 'SIGTERM');
      if (await ended(grace)) return;
      killGroup(pid, 'SIGKILL');
      await exited;
    })();
    return stopping;
  };
  if (options.signal !== undefined) {
    if (options.signal.aborted) void stop();
    else {
      const onAbort = (): void => void stop();
      options.signal.addEventListener('abort', onAbort, { once: true });
      void exited.then(() => options.signal?.removeEventListener('abort', onAbort));
    }
  }
  return { plan, dir, jtl, log, output, pid, exited, stop };
}

/** The UDP port JMeter listens on for Shutdown/StopTestNow, from its output ("… message on port 4445"). */
async function shutdownPort(output: string): Promise<number | undefined> {
  const text = await readFile(output, 'utf8').catch(() => '');
  const match = /Waiting for possible .*?message on port (\d+)/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

function sendUdp(port: number, message: string): Promise<void> {
  return new Promise((resolveSend) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolveSend();
    });
    socket.send(message, port, '127.0.0.1', () => {
      socket.close();
      resolveSend();
    });
  });
}

/** Why a JMeter run is not usable, in words (message, hint), as a stable reason, and with JMeter's own lines. */
export interface JmeterDiagnosis {
  reason:
    | 'plan-missing' | 'plan-unreadable' | 'not-started' | 'usage' | 'forbidden-class' | 'not-xml' | 'not-a-plan'
    | 'unknown-element' | 'plan-invalid' | 'no-samples';
  message: string;
  hint?: string;
  /** The relevant lines of JMeter's output and jmeter.log (no stack frames), at most 20. */
  lines: string[];
}

/** Lines of JMeter's output and log that say a plan did not load or JMeter did not start. */
const FAILURE = /Error in NonGUIDriver|An error occurred|Could not open|Problem loading XML|ForbiddenClassException|CannotResolveClassException|Exception in thread "main"|Could not find or load main class|^Error: |^perfy(?:-launcher)?: |Unsupported major\.minor version|UnsupportedClassVersionError|has been compiled by a more recent version/;
/** Lines of jmeter.log worth showing when there is no sample: errors and their causes, without stack frames. */
const LOG_ERROR = /\b(?:ERROR|FATAL_ERROR|FATAL)\b|^Caused by: /;
const MAX_LINES = 20;

/**
 * After JMeter exited: why the run is not usable, with the relevant lines of jmeter.log and the output, or
 * undefined. A run that wrote samples is usable. JMeter's exit code says nothing (2.13 exits 0 when a plan
 * does not load, 5.x 1); the text of its output and log does.
 */
export async function diagnoseJmeter(handle: JmeterRunHandle, samples: number): Promise<JmeterDiagnosis | undefined> {
  const outputText = await readFile(handle.output, 'utf8').catch(() => '');
  const logText = await readFile(handle.log, 'utf8').catch(() => '');
  const outputLines = outputText.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l !== '');
  const logLines = logText.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l !== '' && !/^\s+at /.test(l));
  const failures = outputLines.filter((l) => FAILURE.test(l));
  if (samples > 0 && failures.length === 0) return undefined;

  const planReadable = await access(handle.plan, constants.R_OK).then(() => true, () => false);
  if (!planReadable) {
    const exists = await access(handle.plan, constants.F_OK).then(() => true, () => false);
    const lines = pick([...failures, ...logLines.filter((l) => LOG_ERROR.test(l))]);
    return exists
      ? {
        reason: 'plan-unreadable',
        message: `JMeter cannot read the plan ${handle.plan}`,
        lines,
        hint: 'check the file\'s permissions',
      }
      : {
        reason: 'plan-missing',
        message: `the JMeter plan ${handle.plan} does not exist`,
        lines,
        hint: 'the plan\'s path is relative to the scenario file',
      };
  }
  const logErrors = logLines.filter((l) => LOG_ERROR.test(l));
  const lines = pick([...failures, ...logErrors, ...debuggingInfo(outputLines)]);
  const exit = await handle.exited;

  if (failures.some((l) => /Could not find or load main class|^perfy: could not start|ClassNotFoundException: org\.apache\.jmeter|UnsupportedClassVersionError|has been compiled by a more recent version|Unsupported major\.minor/.test(l))) {
    return {
      reason: 'not-started',
      message: `JMeter did not start (${handle.plan} was not run)`,
      lines,
      hint: 'run `perfy doctor` to see the JMeter and Java perfy finds',
    };
  }
  if (failures.some((l) => /^Error: /.test(l)) && !failures.some((l) => /NonGUIDriver|Problem loading XML|An error occurred/.test(l))) {
    return {
      reason: 'usage',
      message: 'JMeter refused its command line',
      lines,
      hint: 'a JMeter property name that JMeter reads as an option? check the step\'s `properties`',
    };
  }
  if (failures.some((l) => /ForbiddenClassException/.test(l))) {
    return {
      reason: 'forbidden-class',
      message: `JMeter's XStream refused to load the plan ${handle.plan} (ForbiddenClassException)`,
      lines,
      hint: 'JMeter before 3.3 on a current XStream must be started through perfy\'s launcher; use JMeter 3.3 or ' +
        'later, or let perfy find this JMeter (a home directory or bin/jmeter) so it uses the launcher',
    };
  }
  if (failures.some((l) => /NonGUIDriver|Problem loading XML|An error occurred|CannotResolveClassException/.test(l)) || logErrors.some((l) => /NonGUIDriver|Problem loading XML/.test(l))) {
    const cause = innermostCause([...logLines, ...outputLines]);
    const where = debuggingField(outputLines, 'line number');
    const element = /CannotResolveClassException: (\S+)/.exec([...logLines, ...outputLines].join('\n'))?.[1];
    const root = await rootElement(handle.plan);
    if (root === undefined) {
      return {
        reason: 'not-xml',
        message: `the JMeter plan ${handle.plan} is not XML${cause !== undefined ? `: ${cause}` : ''}`,
        lines,
        hint: 'a plan is a .jmx file saved by JMeter (File > Save Test Plan as)',
      };
    }
    if (root !== 'jmeterTestPlan') {
      return {
        reason: 'not-a-plan',
        message: `${handle.plan} is not a JMeter test plan: its root element is <${root}>, not <jmeterTestPlan>`,
        lines,
        hint: 'a plan is a .jmx file saved by JMeter (File > Save Test Plan as)',
      };
    }
    const message = `JMeter could not load the plan ${handle.plan}${where !== undefined ? ` (line ${where})` : ''}` +
      `${cause !== undefined ? `: ${cause}` : ''}`;
    if (element !== undefined) {
      return {
        reason: 'unknown-element',
        message,
        lines,
        hint: `the plan uses an element this JMeter does not have: ${element} — from a plugin, from a newer JMeter, ` +
          'or (Debian) from a package not installed, such as jmeter-http',
      };
    }
    return {
      reason: 'plan-invalid',
      message,
      lines,
      hint: 'open the plan in the JMeter GUI of the same version and save it again, or check that it is a JMeter ' +
        'test plan (.jmx)',
    };
  }
  if (samples > 0) return undefined;
  const tail = outputLines.slice(-8);
  const ended = exit.signal !== null
    ? ` (JMeter was ended by ${exit.signal})`
    : exit.code !== null && exit.code !== 0 ? ` (JMeter exited with code ${exit.code})` : '';
  return {
    reason: 'no-samples',
    message: `JMeter ran the plan ${handle.plan} but wrote no samples${ended}`,
    lines: pick([...logErrors, ...tail]),
    hint: 'a plan without an enabled thread group, threads that end before their first sample, or a stop before the ' +
      'first sample; see jmeter.log',
  };
}

/** The name of the plan's root element; undefined when the file does not start as XML does. */
async function rootElement(plan: string): Promise<string | undefined> {
  const head = (await readFile(plan).catch(() => Buffer.alloc(0))).subarray(0, 64 * 1024).toString('utf8').replace(/^\uFEFF/, '');
  // Skip the XML declaration, comments, processing instructions and a DOCTYPE before the first element.
  const rest = head.replace(/^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)*/, '');
  return /^<([A-Za-z_][\w.:-]*)/.exec(rest)?.[1];
}

/** At most MAX_LINES lines, each once, in order. */
function pick(lines: string[]): string[] {
  return [...new Set(lines)].slice(0, MAX_LINES);
}

/** XStream's "---- Debugging information ----" lines worth showing (path and line number of the failure). */
function debuggingInfo(lines: string[]): string[] {
  return lines.filter((l) => /^(?:path|line number)\s+: /.test(l));
}

function debuggingField(lines: string[], name: string): string | undefined {
  for (const l of lines) {
    const match = new RegExp(`^${name}\\s+: (.*)$`).exec(l);
    if (match) return match[1]!.trim();
  }
  return undefined;
}

/** The last "Caused by: X: message" with a message, shortened: the root of a Java exception chain. */
function innermostCause(lines: string[]): string | undefined {
  let found: string | undefined;
  for (const l of lines) {
    const match = /^Caused by: (?:[\w$]+\.)*([\w$]+): (.*\S)/.exec(l);
    if (match !== null) found = `${match[1]}: ${match[2]}`;
  }
  if (found === undefined) {
    for (const l of lines) {
      const match = /(?:Error in NonGUIDriver|An error occurred:?) (.*\S)/.exec(l);
      if (match !== null) return match[1]!.length > 300 ? `${match[1]!.slice(0, 300)}…` : match[1];
    }
  }
  return found !== undefined && found.length > 300 ? `${found.slice(0, 300)}…` : found;
}
