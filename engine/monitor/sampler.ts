// The resource sampler: beside the load, every interval (default 1 s), it resolves each target to its processes
// (targets.ts), sums each target's tree and records gauges into the metric store, tagged `process: NAME`:
//
//   process.cpu       CPU share since the previous sample, 1 = one core (Δ CPU seconds / Δ wall seconds)
//   process.rss       resident memory, bytes (summed over the tree: pages shared between its processes, such as
//                     PostgreSQL's shared buffers, count once per process that touched them)
//   process.io_read   bytes/s read since the previous sample (rchar: files, pipes, sockets; see proc.ts)
//   process.io_write  bytes/s written since the previous sample (wchar)
//   process.fds       open file descriptors
//   process.threads   threads
//
// and, untagged, host.cpu (busy share of all cores since the previous sample, 0..1), host.memory (bytes used:
// MemTotal − MemAvailable) and host.load (1-minute load average).
//
// Usage (the run wires it):
//   const sampler = startSampler({ targets, store, intervalMs: 1000, onEvent: (e) => warn(e) });
//   …the load…
//   await sampler.stop();            // no sample runs after it resolves
//   sampler.stats                    // { samples, skipped, lastMs, maxMs }
//   await sampler.sampleNow()        // one sample at once (tests, a final reading); returns what it recorded
// startSampler takes the first sample at once: it is the baseline of the rates (CPU and I/O are first recorded
// one interval later) and reports unmatched targets before the load starts. Rates need a window of at least
// MIN_RATE_WINDOW_MS (200 ms): a sample sooner after the last records no rates and keeps the older baseline.
//
// Decisions:
// - Rates come from totals over the tree that stay continuous when a member exits: a process's own CPU plus that
//   of its reaped children (cutime/cstime; the kernel adds a child's times to its parent when reaped), and rchar/
//   wchar (the kernel adds those too). A member that exits between two samples is therefore still counted, in its
//   parent. `self` is not a tree and counts its own CPU only, so a service perfy stops does not land in perfy's.
//   Its I/O cannot leave them out: the kernel's per-process counters include reaped children.
// - A root seen for the first time is counted from its start when it started since the previous sample (a
//   restarted service, a new match), and otherwise has no rate this once (a pidfile naming an older process):
//   the target's process.cpu and I/O are left out of that sample rather than guessed.
// - A process that exits between the tree scan and the reads is left out of that sample's sums. Descriptors or
//   I/O of another user's process cannot be read (EACCES): the target's sum is then not recorded at all, rather
//   than recorded short.
// - Never in the load's way: /proc is read in short synchronous slices with a turn of the event loop between
//   them (proc.ts says why that costs a tenth of the CPU of asynchronous reads), one sample in flight
//   (a tick that finds the previous sample still running is skipped and counted in `stats.skipped`), the timer
//   unref'd. A sample that fails unexpectedly is an `error` event, and the next tick tries again.
// - Elsewhere (no /proc): `pidusage` gives each root's CPU time and memory (no tree: descendants are not summed),
//   and the host figures come from node:os; fds, threads and I/O are absent, and `{ command }` targets are missing.
//
// Warning codes the caller needs: W_MONITOR_TARGET (a target missing or gone, with the event's reason) and
// W_MONITOR_SAMPLE (an `error` event).

import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { MetricHandle, MetricStore } from '../metrics/types.js';
import {
  childrenOf, cpuShare, descendants, HAS_PROCFS, procConstants, readFdCount, readHost, readIo, readStat,
  scanProcesses, sliced, type HostCpuTicks, type ProcConstants, type ProcStat,
} from './proc.js';
import { TargetWatch, type Target, type TargetEvent } from './targets.js';

export const PROCESS_GAUGES = [
  'process.cpu', 'process.rss', 'process.io_read', 'process.io_write', 'process.fds', 'process.threads',
] as const;
export const HOST_GAUGES = ['host.cpu', 'host.memory', 'host.load'] as const;

/** The shortest window CPU and I/O rates are measured over (a sampleNow() right after a sample has none). */
export const MIN_RATE_WINDOW_MS = 200;

export type SamplerEvent = TargetEvent | { kind: 'error'; message: string; at: number };

export interface SamplerOptions {
  targets: readonly Target[];
  store: MetricStore;
  /** default 1000 */
  intervalMs?: number;
  /** record host.cpu, host.memory, host.load (default true) */
  host?: boolean;
  /** ms, for rates and event times (default: a monotonic clock on the epoch's scale); tests inject one */
  now?: () => number;
  onEvent?: (event: SamplerEvent) => void;
  /** called with what each sample recorded, once it is in the store (alerts and leak detection read it) */
  onSample?: (values: SampleValues) => void;
  /** read /proc (default: where it exists); false takes the pidusage path, to test it on Linux */
  procfs?: boolean;
}

/** What one sample recorded for one target; a field absent was not recorded this time. */
export interface ProcessValues {
  process: string;
  /** the roots it resolved to (empty: missing) */
  pids: number[];
  /** every process summed (the roots and their descendants) */
  members: number;
  cpu?: number;
  rss?: number;
  ioRead?: number;
  ioWrite?: number;
  fds?: number;
  threads?: number;
}

export interface SampleValues {
  at: number;
  /** wall time the sample took, ms */
  durationMs: number;
  processes: ProcessValues[];
  host: { cpu?: number; memory?: number; load?: number };
}

export interface SamplerStats {
  samples: number;
  /** ticks skipped because the previous sample was still running */
  skipped: number;
  /** duration of the last sample, ms */
  lastMs: number;
  maxMs: number;
}

export interface Sampler {
  /** Takes a sample now (after the one in flight, if any) and returns what it recorded. */
  sampleNow(): Promise<SampleValues>;
  /** Stops the timer and waits for the sample in flight. */
  stop(): Promise<void>;
  readonly stats: Readonly<SamplerStats>;
}

/** Continuous totals of one root's tree (see the head comment), for the rates. */
interface Totals {
  /** clock ticks (procfs) or ms (pidusage) */
  cpu: number;
  ioRead?: number;
  ioWrite?: number;
}

interface TargetState {
  watch: TargetWatch;
  handles: Record<(typeof PROCESS_GAUGES)[number], MetricHandle>;
  /** totals at the previous sample, by root `pid:start` */
  previous: Map<string, Totals>;
}

const monotonicNow = (): number => performance.timeOrigin + performance.now();

interface PidUsage {
  (pid: number): Promise<{ ctime: number; memory: number }>;
  clear?: () => void;
}
let pidusageModule: Promise<PidUsage> | undefined;
/** pidusage, loaded the first time a sampler needs it (never on Linux). */
function pidusage(): Promise<PidUsage> {
  // A variable specifier: the package ships no types, and this keeps it out of the compiler's way.
  const name = 'pidusage';
  pidusageModule ??= import(name).then((m: { default: PidUsage }) => m.default);
  return pidusageModule;
}

export function startSampler(options: SamplerOptions): Sampler {
  const { store, onEvent } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? monotonicNow;
  const procfs = options.procfs ?? HAS_PROCFS;
  const withHost = options.host ?? true;
  const targets: TargetState[] = options.targets.map((target) => {
    const tags = { process: target.name };
    const handles = Object.fromEntries(PROCESS_GAUGES.map((name) => [name, store.handle(name, 'gauge', tags)]));
    return { watch: new TargetWatch(target), handles: handles as TargetState['handles'], previous: new Map() };
  });
  const hostHandles = HOST_GAUGES.map((name) => store.handle(name, 'gauge', {}));
  const stats: SamplerStats = { samples: 0, skipped: 0, lastMs: 0, maxMs: 0 };
  let previousAt: number | undefined;
  /** pid:start of every process of the previous scan: a root not among them started since */
  let previousKeys = new Set<string>();
  let previousHostCpu: HostCpuTicks | undefined;
  let inFlight: Promise<SampleValues> | undefined;
  let stopped = false;

  const emit = (event: SamplerEvent): void => {
    try {
      onEvent?.(event);
    } catch {
      // A listener's failure is the caller's; sampling goes on.
    }
  };

  async function sampleProcfs(
    at: number, wallS: number | undefined, rebase: boolean, k: ProcConstants,
  ): Promise<ProcessValues[]> {
    // One scan of every process serves all targets (trees, matches, pid checks); `self` alone needs its own stat.
    const needsScan = targets.some((t) => t.watch.target.watch !== 'self');
    const table = needsScan ? await scanProcesses() : await selfTable();
    const children = needsScan ? childrenOf(table) : undefined;
    const out: ProcessValues[] = [];
    for (const t of targets) {
      const resolution = await t.watch.resolve(table);
      const event = t.watch.update(resolution, at);
      if (event) emit(event);
      const values: ProcessValues = { process: t.watch.name, pids: [], members: 0 };
      out.push(values);
      if (!('pids' in resolution)) {
        t.previous.clear();
        continue;
      }
      values.pids = resolution.pids;
      const seen = new Set<number>();
      const roots: { key: string; isNew: boolean; members: ProcStat[] }[] = [];
      for (const pid of resolution.pids) {
        const pids = t.watch.tree && children ? descendants(pid, children) : [pid];
        const members: ProcStat[] = [];
        for (const p of pids) {
          if (seen.has(p)) continue;
          seen.add(p);
          const s = table.get(p);
          if (s !== undefined) members.push(s);
        }
        if (members[0]?.pid !== pid) continue;
        const key = `${pid}:${members[0].startTicks}`;
        roots.push({ key, isNew: !previousKeys.has(key), members });
      }
      const all = roots.flatMap((r) => r.members);
      values.members = all.length;
      const pids = all.map((s) => s.pid);
      const fds = await sliced(pids, readFdCount);
      const ios = await sliced(pids, readIo);
      values.rss = all.reduce((sum, s) => sum + s.rssPages, 0) * k.pageSize;
      values.threads = all.reduce((sum, s) => sum + s.threads, 0);
      // A member gone since the scan (undefined) is left out; an unreadable one (null) spoils the sum.
      if (!fds.includes(null)) values.fds = fds.reduce<number>((sum, n) => sum + (n ?? 0), 0);
      const ioReadable = !ios.includes(null);

      const totals = new Map<string, Totals>();
      let offset = 0;
      for (const r of roots) {
        const cpu = r.members.reduce((sum, s) => sum + s.cpuTicks + (t.watch.tree ? s.childTicks : 0), 0);
        const total: Totals = { cpu };
        if (ioReadable) {
          const mine = ios.slice(offset, offset + r.members.length);
          total.ioRead = mine.reduce((sum, io) => sum + (io?.read ?? 0), 0);
          total.ioWrite = mine.reduce((sum, io) => sum + (io?.write ?? 0), 0);
        }
        offset += r.members.length;
        totals.set(r.key, total);
      }
      rates(t, values, roots, totals, wallS, k.ticks);
      if (rebase) t.previous = totals;
    }
    if (rebase) previousKeys = new Set([...table.values()].map((s) => `${s.pid}:${s.startTicks}`));
    return out;
  }

  async function selfTable(): Promise<Map<number, ProcStat>> {
    const s = readStat(process.pid);
    return new Map(s === undefined ? [] : [[process.pid, s]]);
  }

  /** process.cpu and the I/O rates of one target from its roots' totals now and at the previous sample. */
  function rates(
    t: TargetState, values: ProcessValues, roots: { key: string; isNew: boolean }[], totals: Map<string, Totals>,
    wallS: number | undefined, cpuUnitsPerS: number,
  ): void {
    if (wallS === undefined || !(wallS > 0) || roots.length === 0) return;
    let cpu = 0;
    let ioRead: number | undefined = 0;
    let ioWrite: number | undefined = 0;
    for (const r of roots) {
      const after = totals.get(r.key)!;
      const before = t.previous.get(r.key) ?? (r.isNew ? { cpu: 0, ioRead: 0, ioWrite: 0 } : undefined);
      // No baseline for a root that was already running: no rate this once.
      if (before === undefined) return;
      // Clamped: a member reaped by no member of the tree takes its times with it.
      cpu += Math.max(0, after.cpu - before.cpu);
      if (ioRead !== undefined && after.ioRead !== undefined && before.ioRead !== undefined) {
        ioRead += Math.max(0, after.ioRead - before.ioRead);
        ioWrite! += Math.max(0, after.ioWrite! - before.ioWrite!);
      } else {
        ioRead = ioWrite = undefined;
      }
    }
    values.cpu = cpu / cpuUnitsPerS / wallS;
    if (ioRead !== undefined) values.ioRead = ioRead / wallS;
    if (ioWrite !== undefined) values.ioWrite = ioWrite / wallS;
  }

  async function samplePidusage(at: number, wallS: number | undefined, rebase: boolean): Promise<ProcessValues[]> {
    const usage = await pidusage();
    const out: ProcessValues[] = [];
    for (const t of targets) {
      const resolution = await t.watch.resolve(undefined);
      const values: ProcessValues = { process: t.watch.name, pids: [], members: 0 };
      out.push(values);
      const candidates = 'pids' in resolution ? resolution.pids : [];
      const read = await Promise.all(candidates.map((pid) => usage(pid).then((r) => ({ pid, ...r }), () => undefined)));
      const readings = read.filter((r) => r !== undefined);
      const live = readings.map((r) => r.pid);
      const event = t.watch.update(live.length > 0 ? { pids: live } : { missing: missingReason(resolution) }, at);
      if (event) emit(event);
      if (live.length === 0) {
        t.previous.clear();
        continue;
      }
      values.pids = live;
      values.members = live.length;
      values.rss = readings.reduce((sum, r) => sum + r.memory, 0);
      const totals = new Map(readings.map((r): [string, Totals] => [String(r.pid), { cpu: r.ctime }]));
      // pidusage gives no start time: a pid first seen now has no baseline yet.
      rates(t, values, live.map((pid) => ({ key: String(pid), isNew: false })), totals, wallS, 1000);
      if (rebase) t.previous = totals;
    }
    return out;
  }

  const missingReason = (r: { pids: number[] } | { missing: string }): string =>
    'missing' in r ? r.missing : `pid ${r.pids.join(', ')} is not running`;

  async function sampleHost(rebase: boolean): Promise<SampleValues['host']> {
    const host: SampleValues['host'] = {};
    let cpu: HostCpuTicks | undefined;
    if (procfs) {
      const h = readHost();
      cpu = h.cpu;
      if (h.memoryUsed !== undefined) host.memory = h.memoryUsed;
      if (h.load !== undefined) host.load = h.load;
    } else {
      const times = cpus().map((c) => c.times);
      const total = times.reduce((sum, t) => sum + t.user + t.nice + t.sys + t.irq + t.idle, 0);
      cpu = { busy: total - times.reduce((sum, t) => sum + t.idle, 0), total };
      host.memory = totalmem() - freemem();
      host.load = loadavg()[0]!;
    }
    if (rebase) {
      if (cpu !== undefined && previousHostCpu !== undefined) {
        const share = cpuShare(previousHostCpu, cpu);
        if (share !== undefined) host.cpu = share;
      }
      previousHostCpu = cpu;
    }
    return host;
  }

  async function sample(): Promise<SampleValues> {
    const started = performance.now();
    const at = now();
    const elapsedS = previousAt === undefined ? undefined : (at - previousAt) / 1000;
    // Over a shorter window the clock tick (10 ms of CPU) would make the rates noise: none this time, and the
    // next sample measures from the older baseline.
    const rebase = elapsedS === undefined || elapsedS * 1000 >= MIN_RATE_WINDOW_MS;
    const wallS = rebase ? elapsedS : undefined;
    const processes = procfs
      ? await sampleProcfs(at, wallS, rebase, await procConstants())
      : await samplePidusage(at, wallS, rebase);
    const host = withHost ? await sampleHost(rebase) : {};
    if (rebase) previousAt = at;
    for (const t of targets) {
      const v = processes.find((p) => p.process === t.watch.name)!;
      record(t.handles['process.cpu'], v.cpu);
      record(t.handles['process.rss'], v.rss);
      record(t.handles['process.io_read'], v.ioRead);
      record(t.handles['process.io_write'], v.ioWrite);
      record(t.handles['process.fds'], v.fds);
      record(t.handles['process.threads'], v.threads);
    }
    if (withHost) [host.cpu, host.memory, host.load].forEach((v, i) => record(hostHandles[i]!, v));
    const durationMs = performance.now() - started;
    stats.samples++;
    stats.lastMs = durationMs;
    stats.maxMs = Math.max(stats.maxMs, durationMs);
    const values = { at, durationMs, processes, host };
    options.onSample?.(values);
    return values;
  }

  const run = (): Promise<SampleValues> => {
    const p = sample().finally(() => {
      if (inFlight === p) inFlight = undefined;
    });
    inFlight = p;
    return p;
  };

  const tick = (): void => {
    if (stopped) return;
    if (inFlight !== undefined) {
      stats.skipped++;
      return;
    }
    run().catch((error: unknown) => emit({ kind: 'error', message: (error as Error).message, at: now() }));
  };

  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();

  return {
    stats,
    async sampleNow() {
      while (inFlight !== undefined) await inFlight.catch(() => undefined);
      return run();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (inFlight !== undefined) await inFlight.catch(() => undefined);
      if (!procfs && pidusageModule !== undefined) (await pidusageModule).clear?.();
    },
  };
}

function record(handle: MetricHandle, value: number | undefined): void {
  if (value !== undefined && Number.isFinite(value)) handle.record(value);
}
