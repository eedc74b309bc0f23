// A built-in service run as a Node.js process of its own (the demo API, the GitHub mock): it listens, prints one
// line `{"url": "http://HOST:PORT"}`, and goes down on SIGTERM or when perfy's end of its stdin closes — so it
// has a pid to monitor, never shares perfy's event loop, and never outlives perfy.

import { PACKAGE_ROOT } from '../paths.js';
import { STOP_GRACE_MS, describeExit, spawnFailure, spawnManaged, withTail, type ManagedProcess } from './command.js';
import { endpointOf, logFileOf, makeLogDir, startFailed, startInterrupted, type ServiceContext } from './url.js';

/** The process prints its URL within milliseconds; this only guards against a machine that is stuck. */
export const BUILTIN_START_TIMEOUT_MS = 15_000;

export interface BuiltinProcess {
  /** The service's name in the scenario. */
  name: string;
  /** What the messages call it: "the demo API". */
  title: string;
  /** The script and its arguments (`--exit-on-stdin-close` is added). */
  script: string;
  args: string[];
  /** `port:` of the service, if it set one. */
  port: number | undefined;
  /** The hint when it exits or says something else than its URL: how to see why. */
  byHand: string;
  /** The hint when what it printed is not its URL. */
  broken: string;
}

/** Starts the process and waits for its URL; E_SERVICE_START (or E_INTERRUPTED) with its log otherwise. */
export async function startBuiltinProcess(
  spec: BuiltinProcess,
  context: ServiceContext,
): Promise<{ url: URL; host: string; port: number; proc: ManagedProcess; graceMs: number }> {
  const { name, title } = spec;
  makeLogDir(context.logDir);
  const logFile = logFileOf(context.logDir, name);
  if (context.signal?.aborted) throw startInterrupted(name);
  const args = [spec.script, ...spec.args, '--exit-on-stdin-close'];
  let proc: ManagedProcess;
  try {
    proc = await spawnManaged(process.execPath, args, {
      cwd: PACKAGE_ROOT,
      env: process.env,
      logFile,
      stdout: 'pipe',
      stdin: 'pipe',
    });
  } catch (error) {
    throw spawnFailure(name, process.execPath, error, PACKAGE_ROOT, logFile);
  }
  const graceMs = context.stopGraceMs ?? STOP_GRACE_MS;

  const first = await firstLine(proc, BUILTIN_START_TIMEOUT_MS, context.signal);
  let url: URL | undefined;
  if ('line' in first) {
    try {
      url = new URL((JSON.parse(first.line) as { url: string }).url);
    } catch {
      url = undefined;
    }
  }
  const endpoint = url === undefined ? undefined : endpointOf(url);
  if (url === undefined || endpoint === undefined) {
    const exit = proc.exitStatus();
    await proc.stop(graceMs);
    if ('failure' in first && first.failure === 'aborted') throw startInterrupted(name);
    const portHint = spec.port
      ? `port ${spec.port} may be in use: leave \`port\` out (or 0) to pick a free one`
      : spec.byHand;
    if (exit !== undefined)
      throw startFailed(
        name, `${title} ${describeExit(exit)} before it was listening${withTail(logFile)}`, portHint, logFile,
      );
    if ('failure' in first)
      throw startFailed(
        name, `${title} printed no address within ${BUILTIN_START_TIMEOUT_MS / 1000}s${withTail(logFile)}`,
        'the machine may be overloaded; try again', logFile,
      );
    throw startFailed(
      name, `${title} printed ${JSON.stringify(first.line)} instead of {"url": ...}`, spec.broken, logFile,
    );
  }
  return { url, host: endpoint.host, port: endpoint.port, proc, graceMs };
}

/** Resolves with the first line the process prints on stdout, or with why there was none. */
function firstLine(
  proc: ManagedProcess,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ line: string } | { failure: 'exited' | 'timeout' | 'aborted' }> {
  return new Promise((resolveLine) => {
    let buffered = '';
    const stdout = proc.child.stdout!;
    const done = (result: { line: string } | { failure: 'exited' | 'timeout' | 'aborted' }): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      resolveLine(result);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) done({ line: buffered.slice(0, newline) });
    };
    const onAbort = (): void => done({ failure: 'aborted' });
    const timer = setTimeout(() => done({ failure: 'timeout' }), timeoutMs);
    stdout.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
    void proc.exited.then(() => done({ failure: 'exited' }));
  });
}
