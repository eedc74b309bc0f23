// Process groups on POSIX: signalling one and telling whether anything of it still runs. Shared by perfy's
// process handling (command.ts) and by the watchdog that stops what perfy leaves behind (watchdog-main.ts).

import { readdirSync, readFileSync } from 'node:fs';

/** Sends `signal` to every process of the group; false when there is no such group (or it cannot be signalled). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process group has a member that is not a zombie (see groupHasLiveMember). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform === 'linux' ? groupHasLiveMember(pgid) : true;
}

/**
 * Whether a process group has a member that is not a zombie. Orphaned grandchildren become zombies until
 * PID 1 reaps them, and in a container where PID 1 does not reap (perfy itself, a plain shell) that is never:
 * counting them would make every stop wait out its grace time.
 */
function groupHasLiveMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}
