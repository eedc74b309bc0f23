// The watchdog process (started by watchdog.ts): it keeps what perfy registers on its stdin, and when perfy's end
// of the pipe closes it stops the process groups still registered and removes the directories, then exits.

import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive, signalGroup } from './process-group.js';
import type { WatchdogMessage } from './watchdog.js';

/** Perfy is gone: nothing waits for a graceful stop, and a service that ignores its signal is killed after this. */
const GRACE_MS = 2_000;
/** After SIGKILL, how long the directories wait for the processes that write in them to be gone. */
const KILL_WAIT_MS = 2_000;
const POLL_MS = 25;

const groups = new Map<number, NodeJS.Signals>();
const dirs = new Set<string>();

// A terminal's Ctrl-C or hang-up is for perfy, which stops its services itself; the watchdog waits for the pipe.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(signal, () => {});

function apply(message: WatchdogMessage): void {
  if ('watch' in message) {
    if (message.watch === 'group') groups.set(message.pgid, message.signal);
    else dirs.add(message.path);
  } else if (message.forget === 'group') groups.delete(message.pgid);
  else dirs.delete(message.path);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

async function cleanUp(): Promise<void> {
  const pgids = [...groups.keys()];
  const allGone = (): boolean => pgids.every((pgid) => !groupAlive(pgid));
  for (const [pgid, signal] of groups) signalGroup(pgid, signal);
  if (!(await until(allGone, GRACE_MS))) {
    for (const pgid of pgids) signalGroup(pgid, 'SIGKILL');
    await until(allGone, KILL_WAIT_MS);
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    } catch {
      // left for the next run's sweep of stale directories
    }
  }
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    apply(JSON.parse(line) as WatchdogMessage);
  } catch {
    // not a message of this version: ignored
  }
});
lines.once('close', () => void cleanUp());
process.stdin.on('error', () => lines.close());
