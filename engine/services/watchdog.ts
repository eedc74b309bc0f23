// What perfy leaves running must not outlive it, even when perfy is killed with SIGKILL (no exit hook runs then).
// Node cannot ask Linux to signal a child when its parent dies (PR_SET_PDEATHSIG), so perfy does what the built-in
// services do with `--exit-on-stdin-close`, once for every process it starts: a small watchdog process holds the
// other end of a pipe from perfy, learns over it which process groups and temporary directories perfy owns, and
// when the pipe closes — perfy ended, however it ended — stops those groups and removes those directories.

import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One line on the watchdog's stdin: JSON, so any path goes through. */
export type WatchdogMessage =
  | { watch: 'group'; pgid: number; signal: NodeJS.Signals }
  | { forget: 'group'; pgid: number }
  | { watch: 'dir'; path: string }
  | { forget: 'dir'; path: string };

const WATCHDOG_SCRIPT = fileURLToPath(new URL('./watchdog-main.js', import.meta.url));

/** Process groups kill(2) can reach, and a pipe that closes with its holder: POSIX only. */
const SUPPORTED = process.platform !== 'win32';

const groups = new Map<number, NodeJS.Signals>();
const dirs = new Set<string>();
let watchdog: ChildProcess | undefined;

/**
 * Started on first use and never waited for: neither the process nor its pipe keeps perfy's event loop alive. In
 * a session of its own, so Ctrl-C in the terminal or a signal to perfy's process group leaves it watching.
 * A watchdog that is gone (killed by someone) is replaced and told everything registered so far.
 */
function send(message: WatchdogMessage): void {
  if (!SUPPORTED) return;
  const gone = watchdog === undefined || watchdog.exitCode !== null || watchdog.signalCode !== null
    || !watchdog.stdin?.writable;
  if (gone) {
    try {
      const stdio = ['pipe', 'ignore', 'ignore'] as const;
      watchdog = spawn(process.execPath, [WATCHDOG_SCRIPT], { cwd: '/', stdio: [...stdio], detached: true });
    } catch {
      watchdog = undefined;
      return; // without a watchdog, the exit hooks still cover every end but SIGKILL
    }
    const started = watchdog;
    started.on('error', () => {
      if (watchdog === started) watchdog = undefined;
    });
    started.stdin?.on('error', () => {});
    started.unref();
    if (started.stdin instanceof Socket) started.stdin.unref();
    for (const [pgid, signal] of groups) write({ watch: 'group', pgid, signal });
    for (const path of dirs) write({ watch: 'dir', path });
    // The message being sent is part of the registry just replayed.
    return;
  }
  write(message);
}

function write(message: WatchdogMessage): void {
  watchdog?.stdin?.write(`${JSON.stringify(message)}\n`);
}

/** Until forgotten, the group gets `signal` if perfy ends with it running, then SIGKILL after a grace time. */
export function watchGroup(pgid: number, signal: NodeJS.Signals): void {
  groups.set(pgid, signal);
  send({ watch: 'group', pgid, signal });
}

export function forgetGroup(pgid: number): void {
  if (!groups.delete(pgid)) return;
  send({ forget: 'group', pgid });
}

/** Until forgotten, the directory is removed if perfy ends without removing it (after the groups are down). */
export function watchDirectory(path: string): void {
  dirs.add(path);
  send({ watch: 'dir', path });
}

export function forgetDirectory(path: string): void {
  if (!dirs.delete(path)) return;
  send({ forget: 'dir', path });
}
