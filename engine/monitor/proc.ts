// Linux /proc readers for the resource monitor: cheap, one read per file, nothing spawned per sample. A process
// that has gone (ENOENT, ESRCH) is `undefined`, never an exception: the monitor watches processes it does not
// own, and any of them may exit between two reads.
//
// The files are read synchronously (open, one read into a shared buffer, close), in slices of SLICE files with a
// turn of the event loop between slices (`sliced`). /proc files are made by the kernel from memory when read:
// they never wait on a disk, so a synchronous read costs what its system calls cost, about 9 µs of CPU for a
// /proc/PID/stat here. Through libuv's thread pool the same read costs 60 µs (all in flight at once, which
// floods the pool the load's own file and DNS work waits on) to 250 µs (one at a time: each read wakes a pool
// thread and then the main thread) of CPU, which made a sample of 80 processes cost 2–4 % of a core instead of
// well under 1 %. A slice of 32 files holds the event loop for about 0.3 ms.
//
// What is read, and why:
// - /proc/PID/stat alone gives everything the process tree needs — ppid, state, utime/stime/cutime/cstime (clock
//   ticks), num_threads, starttime (ticks since boot: with the pid it names one process, so a reused pid is told
//   apart), rss (pages) and comm. `scanProcesses()` reads it for every process once per sample (the tree is
//   rebuilt from ppids each time), so no second file per process is needed for CPU, memory or threads. Its rss is
//   the same kernel counter as VmRSS in /proc/PID/status.
// - /proc/PID/io: `rchar` / `wchar`, the bytes the process read and wrote through system calls (files, pipes,
//   sockets), not `read_bytes` / `write_bytes`. Those count only what reached the block layer: 0 for every read
//   the page cache answers, for tmpfs, and for writes still waiting to be flushed, so a busy service would show
//   nothing on a warmed-up machine. rchar/wchar always move with the work done; the price is that a server's
//   network traffic is part of them. The kernel adds a reaped child's counters into its parent's (as it does
//   cutime/cstime), so a tree's sum stays continuous when a member exits. For another user's process the file
//   is unreadable (EACCES): `undefined`.
// - /proc/PID/fd: its entries are the open descriptors (one readdir, no per-entry stat). EACCES: `undefined`.
// - /proc/PID/cmdline (NUL-separated arguments) and the Uid line of /proc/PID/status: only for `{ command }`
//   targets, and only once per process (see targets.ts).
// - Host: /proc/stat's aggregate `cpu` line, /proc/meminfo (MemTotal − MemAvailable), /proc/loadavg.
// The clock tick (`getconf CLK_TCK`, 100 on every Linux) and the page size (`getconf PAGESIZE`) are asked once per
// process lifetime, asynchronously, with fallbacks 100 and 4096.
//
// Elsewhere (no /proc: macOS, Windows) HAS_PROCFS is false and the sampler uses `pidusage` for a process's CPU and
// memory, os.loadavg / os.totalmem / os.freemem / os.cpus for the host; threads, descriptors, I/O and process trees
// are absent there (see sampler.ts).

import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';

/** True where /proc describes processes (Linux). Decided once, at load. */
export const HAS_PROCFS = existsSync('/proc/self/stat');

export interface ProcConstants {
  /** clock ticks per second (USER_HZ) */
  ticks: number;
  /** bytes per page */
  pageSize: number;
}

let constants: Promise<ProcConstants> | undefined;

function getconf(name: string, fallback: number): Promise<number> {
  return new Promise((resolve) => {
    execFile('getconf', [name], { timeout: 5000 }, (error, stdout) => {
      const value = Number(String(stdout).trim());
      resolve(error === null && Number.isInteger(value) && value > 0 ? value : fallback);
    });
  });
}

/** The clock tick and page size, asked of `getconf` once (fallbacks: 100 ticks/s, 4096-byte pages). */
export function procConstants(): Promise<ProcConstants> {
  constants ??= Promise.all([getconf('CLK_TCK', 100), getconf('PAGESIZE', 4096)]).then(([ticks, pageSize]) => ({
    ticks, pageSize,
  }));
  return constants;
}

/** One process as /proc/PID/stat shows it; times in clock ticks, rss in pages (see procConstants). */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** R, S, D, Z (zombie: exited, not yet reaped), … */
  state: string;
  comm: string;
  /** user + system time of the process itself (all its threads, living and dead) */
  cpuTicks: number;
  /** user + system time of its children that exited and were reaped (the kernel adds them to the parent) */
  childTicks: number;
  threads: number;
  /** ticks after boot at which it started: with the pid, one process (a reused pid has another start) */
  startTicks: number;
  rssPages: number;
}

/** An error that means the process (or its file) is no longer there. */
function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function isDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/** One buffer for every read: the reads are synchronous, so never two at once. Grown for a long cmdline. */
let buffer = Buffer.allocUnsafe(16 * 1024);

/**
 * The text of a /proc file: undefined when the process has gone, null when the file may not be read (another
 * user's process).
 */
export function readProc(path: string): string | undefined | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (isGone(error)) return undefined;
    if (isDenied(error)) return null;
    throw error;
  }
  try {
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger);
        buffer = bigger;
      }
    }
    return buffer.toString('latin1', 0, length);
  } catch (error) {
    // ESRCH: the process exited between open and read; EINVAL and the like come from a zombie's files.
    if (isGone(error) || (error as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    if (isDenied(error)) return null;
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Files read between two turns of the event loop. */
export const SLICE = 32;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `fn` over `items`, synchronously, with a turn of the event loop after every SLICE items (see the head comment):
 * the load's callbacks run between slices.
 */
export async function sliced<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const out = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % SLICE === 0) await turn();
    out[i] = fn(items[i]!);
  }
  return out;
}

/** Parses /proc/PID/stat. The comm field may hold spaces and parentheses: it ends at the last `)`. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // f[0] is field 3 (state) of proc(5): field k is f[k - 3].
  const f = text.slice(close + 2).split(' ');
  if (f.length < 22) return undefined;
  const n = (k: number): number => Number(f[k - 3]);
  return {
    pid: Number(text.slice(0, open)),
    ppid: n(4),
    state: f[0]!,
    comm: text.slice(open + 1, close),
    cpuTicks: n(14) + n(15),
    childTicks: n(16) + n(17),
    threads: n(20),
    startTicks: n(22),
    rssPages: n(24),
  };
}

/** /proc/PID/stat of one process; undefined when it has gone. */
export function readStat(pid: number): ProcStat | undefined {
  const text = readProc(`/proc/${pid}/stat`);
  return text == null ? undefined : parseStat(text);
}

/**
 * Every process of the machine (that this one may see), by pid: one readdir of /proc and one read of each
 * /proc/PID/stat. A process that exits during the scan is simply not in it.
 */
export async function scanProcesses(): Promise<Map<number, ProcStat>> {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const code = name.charCodeAt(0);
    if (code >= 48 && code <= 57) pids.push(Number(name));
  }
  const stats = await sliced(pids, readStat);
  const table = new Map<number, ProcStat>();
  for (const s of stats) if (s !== undefined) table.set(s.pid, s);
  return table;
}

/** Children by parent pid, from a scan. */
export function childrenOf(table: ReadonlyMap<number, ProcStat>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const s of table.values()) {
    const list = children.get(s.ppid);
    if (list === undefined) children.set(s.ppid, [s.pid]);
    else list.push(s.pid);
  }
  return children;
}

/** `root` and all its descendants in `children` (root first). */
export function descendants(root: number, children: ReadonlyMap<number, readonly number[]>): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const kids = children.get(out[i]!);
    if (kids !== undefined) for (const k of kids) if (k !== root) out.push(k);
  }
  return out;
}

/** Open file descriptors of a process; undefined when it has gone, null when its fd directory may not be read. */
export function readFdCount(pid: number): number | undefined | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch (error) {
    if (isGone(error)) return undefined;
    if (isDenied(error)) return null;
    throw error;
  }
}

export interface ProcIo {
  /** bytes read through read(2) and the like (rchar) */
  read: number;
  /** bytes written through write(2) and the like (wchar) */
  write: number;
}

/** rchar/wchar of /proc/PID/io (see the head comment); undefined when gone, null when unreadable. */
export function readIo(pid: number): ProcIo | undefined | null {
  const text = readProc(`/proc/${pid}/io`);
  if (text == null) return text;
  const read = /^rchar:\s*(\d+)/m.exec(text);
  const write = /^wchar:\s*(\d+)/m.exec(text);
  return read && write ? { read: Number(read[1]), write: Number(write[1]) } : undefined;
}

/** The arguments of a process joined by spaces ('' for kernel threads and zombies); undefined when gone. */
export function readCmdline(pid: number): string | undefined {
  const text = readProc(`/proc/${pid}/cmdline`) ?? undefined;
  return text?.replace(/\0+$/, '').replaceAll('\0', ' ');
}

/** The real uid of a process (the first number of status's Uid line); undefined when gone. */
export function readUid(pid: number): number | undefined {
  const text = readProc(`/proc/${pid}/status`);
  const m = text == null ? null : /^Uid:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The aggregate CPU line of /proc/stat, in ticks. */
export interface HostCpuTicks {
  busy: number;
  total: number;
}

/** Busy share of all cores between two readings (0..1), undefined when no time passed. */
export function cpuShare(before: HostCpuTicks, after: HostCpuTicks): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  return Math.min(1, Math.max(0, (after.busy - before.busy) / total));
}

export interface HostReading {
  cpu: HostCpuTicks | undefined;
  /** MemTotal − MemAvailable, bytes */
  memoryUsed: number | undefined;
  /** 1-minute load average */
  load: number | undefined;
}

/** Parses the `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal (guest is in user). */
export function parseHostCpu(text: string): HostCpuTicks | undefined {
  const line = /^cpu\s+([\d ]+)/m.exec(text);
  if (!line) return undefined;
  const v = line[1]!.trim().split(/\s+/).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  // idle and iowait are the time no task ran.
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

export function parseMeminfoUsed(text: string): number | undefined {
  const total = /^MemTotal:\s*(\d+) kB/m.exec(text);
  const available = /^MemAvailable:\s*(\d+) kB/m.exec(text);
  return total && available ? (Number(total[1]) - Number(available[1])) * 1024 : undefined;
}

/** /proc/stat, /proc/meminfo and /proc/loadavg. */
export function readHost(): HostReading {
  const stat = readProc('/proc/stat');
  const meminfo = readProc('/proc/meminfo');
  const loadavg = readProc('/proc/loadavg');
  const load = loadavg == null ? NaN : Number(loadavg.split(' ')[0]);
  return {
    cpu: stat == null ? undefined : parseHostCpu(stat),
    memoryUsed: meminfo == null ? undefined : parseMeminfoUsed(meminfo),
    load: Number.isFinite(load) ? load : undefined,
  };
}
