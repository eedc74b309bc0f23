// What the resource monitor can watch, and how each target becomes root pids at every sample.
//
//   { name: 'perfy', watch: 'self' }                     perfy itself: process.pid. Worker threads are threads of
//                                                         it, so their CPU and memory are in it. Not a tree: the
//                                                         services perfy starts are its children, and are watched
//                                                         under their own names.
//   { name: 'api', watch: { pid: service.pid } }          a process by pid: a service perfy started (a command
//                                                         service's `sh -c` wrapper with the real server under it,
//                                                         the embedded PostgreSQL's postmaster with its backends)
//                                                         or any other. Its start time is kept at first sight: when
//                                                         the pid later names another process, the target is gone.
//   { name: 'db', watch: { pidfile: '/run/x.pid' } }     the pid in a file (its first number), read at every
//                                                         sample: a service that restarts writes its new pid there.
//   { name: 'w', watch: { command: /worker --id 7/ } }   every process of the current user (real uid, from
//                                                         /proc/PID/status) whose command line (arguments joined by
//                                                         spaces) matches, but perfy itself. Several matches are all
//                                                         summed (the `found` event lists them); a match that is a
//                                                         descendant of another match is counted once, in its
//                                                         ancestor's tree. Linux only: elsewhere it is `missing`.
//
// Every target but `self` is a tree by default (`tree: false` watches the root alone): its root(s) and all their
// descendants are summed, which is what keeps a wrapper shell from hiding the server it started.
//
// TargetWatch turns each sample's resolution into events, once per change of state: `found` (watched, with the
// pids), `missing` (never found: no match, no pidfile, a stale pidfile, a pid that is not running) and `gone`
// (watched, then vanished or its pid reused). The caller prints them as warnings; the run goes on, and a target
// that comes back is `found` again.

import { readFile } from 'node:fs/promises';
import { readCmdline, readUid, sliced, type ProcStat } from './proc.js';

/** A command-line pattern: a RegExp, its source, or any matcher (the run gives RE2's, as `matches` uses). */
export type CommandPattern = RegExp | string | { source: string; test(text: string): boolean };

export type Watch = 'self' | { pid: number } | { pidfile: string } | { command: CommandPattern };

export interface Target {
  /** the tag `process: NAME` of its metrics */
  name: string;
  watch: Watch;
  /** sum the root's descendants too (default: true, but for `self`) */
  tree?: boolean;
}

export type TargetEvent =
  | { kind: 'found'; process: string; pids: number[]; at: number }
  | { kind: 'missing'; process: string; reason: string; at: number }
  | { kind: 'gone'; process: string; reason: string; at: number };

export type Resolution = { pids: number[] } | { missing: string };

export function isTree(target: Target): boolean {
  return target.tree ?? target.watch !== 'self';
}

/** Whether a pid runs, where there is no /proc: signal 0 checks without sending (EPERM: it runs, not ours). */
function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const alive = (s: ProcStat | undefined): s is ProcStat => s !== undefined && s.state !== 'Z' && s.state !== 'X';
const keyOf = (s: ProcStat): string => `${s.pid}:${s.startTicks}`;

/** What is known of one process for command matching, kept while the same process (pid and start) lives. */
interface Known {
  cmdline: string | undefined;
  uid?: number | undefined;
}

/**
 * One target's resolution and state. `resolve` is called once per sample with the sample's process table (all
 * processes by pid; undefined where there is no /proc); `update` turns the result into an event on a change.
 */
export class TargetWatch {
  readonly target: Target;
  readonly tree: boolean;
  private readonly pattern: { source: string; test(text: string): boolean } | undefined;
  private state: 'new' | 'up' | 'down' = 'new';
  /** `{ pid }`: the start time at first sight, to tell a reused pid */
  private pidStart: number | undefined;
  private reused = false;

  constructor(target: Target) {
    this.target = target;
    this.tree = isTree(target);
    const w = target.watch;
    if (w !== 'self' && 'command' in w) {
      // A copy of a RegExp without g/y: those keep a lastIndex between test() calls.
      const re = typeof w.command === 'string' ? new RegExp(w.command) : w.command;
      this.pattern = re instanceof RegExp ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
    }
  }

  get name(): string {
    return this.target.name;
  }

  async resolve(table: ReadonlyMap<number, ProcStat> | undefined): Promise<Resolution> {
    const w = this.target.watch;
    if (w === 'self') return { pids: [process.pid] };
    if ('pid' in w) return this.resolvePid(w.pid, table);
    if ('pidfile' in w) {
      let text: string;
      try {
        text = await readFile(w.pidfile, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
        return { missing: `the pidfile ${w.pidfile} ${why}` };
      }
      const pid = Number(/\d+/.exec(text)?.[0]);
      if (!(pid > 0)) return { missing: `the pidfile ${w.pidfile} holds no pid` };
      const runs = table === undefined ? pidRuns(pid) : alive(table.get(pid));
      return runs ? { pids: [pid] } : { missing: `the pidfile ${w.pidfile} names pid ${pid}, which is not running` };
    }
    if (table === undefined) return { missing: 'matching command lines needs /proc (Linux)' };
    return this.match(table);
  }

  private resolvePid(pid: number, table: ReadonlyMap<number, ProcStat> | undefined): Resolution {
    if (this.reused) return { missing: `pid ${pid} now belongs to another process` };
    if (table === undefined) return pidRuns(pid) ? { pids: [pid] } : { missing: `pid ${pid} is not running` };
    const s = table.get(pid);
    if (!alive(s)) return { missing: `pid ${pid} is not running` };
    this.pidStart ??= s.startTicks;
    if (s.startTicks !== this.pidStart) {
      // The process watched has exited and the pid was given to another: never follow the stranger.
      this.reused = true;
      return { missing: `pid ${pid} now belongs to another process` };
    }
    return { pids: [pid] };
  }

  private async match(table: ReadonlyMap<number, ProcStat>): Promise<Resolution> {
    const pattern = this.pattern!;
    const known = await commandLines(table);

    const uid = process.getuid?.();
    const matched = new Set<number>();
    for (const s of table.values()) {
      const k = known.get(keyOf(s));
      if (k?.cmdline === undefined || k.cmdline === '' || !pattern.test(k.cmdline)) continue;
      if (uid !== undefined && !('uid' in k)) k.uid = readUid(s.pid);
      if (uid === undefined || k.uid === uid) matched.add(s.pid);
    }
    const pids = [...matched].filter((pid) => !this.tree || !hasAncestorIn(pid, matched, table)).sort((a, b) => a - b);
    return pids.length > 0 ? { pids } : { missing: `no process of this user matches /${pattern.source}/` };
  }

  /** The event this resolution means, if it changes the target's state. */
  update(resolution: Resolution, at: number): TargetEvent | undefined {
    const process = this.target.name;
    if ('pids' in resolution) {
      if (this.state === 'up') return undefined;
      this.state = 'up';
      return { kind: 'found', process, pids: resolution.pids, at };
    }
    const was = this.state;
    if (was === 'down') return undefined;
    this.state = 'down';
    return { kind: was === 'up' ? 'gone' : 'missing', process, reason: resolution.missing, at };
  }
}

/** Command lines (and uids, once asked) by pid:start, for the table they were last brought up to date with. */
let known = new Map<string, Known>();
let knownFor: ReadonlyMap<number, ProcStat> | undefined;
let updating: Promise<Map<string, Known>> | undefined;

/**
 * The command lines of a sample's processes but perfy's. Each is read once per process, for all `{ command }`
 * targets together: a sample reads only those of processes that started since the last one.
 */
function commandLines(table: ReadonlyMap<number, ProcStat>): Promise<Map<string, Known>> {
  if (knownFor === table) return updating ?? Promise.resolve(known);
  knownFor = table;
  updating = (async () => {
    const next = new Map<string, Known>();
    const unknown: ProcStat[] = [];
    for (const s of table.values()) {
      if (s.pid === process.pid || !alive(s)) continue;
      const k = known.get(keyOf(s));
      if (k === undefined) unknown.push(s);
      else next.set(keyOf(s), k);
    }
    const lines = await sliced(unknown, (s) => readCmdline(s.pid));
    unknown.forEach((s, i) => next.set(keyOf(s), { cmdline: lines[i] }));
    known = next;
    return next;
  })();
  return updating;
}

function hasAncestorIn(pid: number, set: ReadonlySet<number>, table: ReadonlyMap<number, ProcStat>): boolean {
  const seen = new Set<number>([pid]);
  for (let p = table.get(pid)?.ppid; p !== undefined && p > 0 && !seen.has(p); p = table.get(p)?.ppid) {
    if (set.has(p)) return true;
    seen.add(p);
  }
  return false;
}
