// Shared test helpers: temp scenario files and running bin/perfy as a user would.

import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileTemplate, type TemplateTree } from '../engine/compile/template.js';
import { locateJmeter } from '../engine/steps/jmeter/locate.js';
import type { Result } from '../engine/metrics/result.js';
import { PACKAGE_ROOT } from '../engine/paths.js';
import type { PathSegment } from '../engine/load/index.js';
import type { StepCall, StepCompiler } from '../engine/steps/types.js';
import { parseDuration } from '../engine/units.js';

export const PERFY_BIN = join(PACKAGE_ROOT, 'bin', 'perfy');

/**
 * Why Apache JMeter cannot be used here, or undefined when it can. In CI (PERFY_REQUIRE_ALL=1) a missing JMeter
 * fails the test instead: the caller skips only locally, with this reason printed.
 */
export async function jmeterMissing(): Promise<string | undefined> {
  try {
    await locateJmeter();
    return undefined;
  } catch (error) {
    if (process.env['PERFY_REQUIRE_ALL']) throw error;
    const reason = (error as Error).message;
    console.log(`# skipping JMeter tests: ${reason}`);
    return reason;
  }
}

/**
 * Makes a self-signed certificate for TLS tests with openssl: key.pem and cert.pem in `dir`, for `subject` and the
 * subjectAltName `altName`. Returns false when it is made, else why the TLS tests skip.
 */
export function selfSignedCertificate(dir: string, subject: string, altName: string): false | string {
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', subject, '-addext', `subjectAltName=${altName}`,
  ], { encoding: 'utf8' });
  // In CI (PERFY_REQUIRE_ALL) a missing openssl fails these tests instead of skipping them.
  return made.status === 0 || process.env['PERFY_REQUIRE_ALL']
    ? false
    : `openssl could not make a test certificate (${made.error?.message ?? made.stderr.trim().split('\n')[0]})`;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/perfy ARGS` with the Node running the tests. */
export function perfy(
  args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): CliResult {
  const result = spawnSync(process.execPath, [PERFY_BIN, ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Whether a process with this pid exists and is not a zombie waiting for PID 1 to reap it. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // gone between the two looks
  }
}

/** A port nothing listens on at this moment (listened on at port 0, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `condition` every 25 ms until it holds or `timeoutMs` passes; its last answer. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return condition();
}

/** A temp directory with files written into it; `cleanup()` removes it. */
export function tempDir(files: Record<string, string | Buffer> = {}): {
  dir: string;
  path(name: string): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'perfy-test-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `file:line:col  E_CODE` heads of problem lines in CLI output. */
export function problemHeads(output: string): { line: number; col: number; code: string }[] {
  return [...output.matchAll(/^\S+:(\d+):(\d+) {2}([EW]_[A-Z_]+) /gm)].map((m) => ({
    line: Number(m[1]),
    col: Number(m[2]),
    code: m[3]!,
  }));
}

/** Runs `bin/perfy ARGS` without blocking this process (so servers in the test can answer it). */
export function perfyAsync(
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    onSpawn?: (child: import('node:child_process').ChildProcess) => void;
    wrap?: string[];
  } = {},
): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  // `wrap`: a command that runs perfy, e.g. ['prlimit', '--nofile=80:80'] for a low open-file limit.
  const [command, ...commandArgs] = [...(options.wrap ?? []), process.execPath, PERFY_BIN, ...args] as [
    string,
    ...string[],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: options.cwd ?? PACKAGE_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
    options.onSpawn?.(child);
  });
}

/** A real HTTP server on 127.0.0.1, port 0; `url` once listening; close() in after(). */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; port: number; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The result.json a run wrote into `dir`. */
export function readResultDir(dir: string): Result {
  return JSON.parse(readFileSync(`${dir}/result.json`, 'utf8')) as Result;
}

/** Sum of a metric's `sum` over the tag sets that match `tags`. */
export function total(result: Result, name: string, tags: Record<string, string> = {}): number {
  return result.metrics.metrics
    .filter((m) => m.name === name && Object.entries(tags).every(([k, v]) => m.tags[k] === v))
    .reduce((s, m) => s + m.sum, 0);
}

/** Every string in `value` becomes a compiled template, as the compiler does for a step's settings. */
export function templateTree(value: unknown): TemplateTree {
  if (typeof value === 'string') return compileTemplate(value);
  if (Array.isArray(value)) return value.map(templateTree);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, templateTree(v)]));
  return value as TemplateTree;
}

/**
 * A StepCompiler for building one kind's request outside a scenario (executor tests): templates compiled,
 * durations parsed, files taken from the working directory, and any problem thrown.
 */
export function testStepCompiler(path: PathSegment[] = ['step']): StepCompiler {
  const fail = (code: string, message: string): never => {
    throw new Error(`${code}: ${message}`);
  };
  return {
    path,
    tree: (value) => templateTree(value),
    template: (text) => compileTemplate(text),
    duration: (text) => (text === undefined ? undefined : parseDuration(text)),
    problem: (code, message) => fail(code, message),
    warning: () => undefined,
    file: (written) => resolve(written),
    once: () => true,
    hasTarget: true,
    services: new Map(),
    checkHttpUrl: () => undefined,
    checkDatabase: () => undefined,
  };
}

/** The `call` of a step a test hands an executor directly: never called. */
export const UNCALLED: StepCall = () => {
  throw new Error('this test step is handed to its executor directly');
};
