// File descriptors: every connection perfy opens is one. Under a low `ulimit -n` connects fail with EMFILE and
// the run measures perfy's own limit instead of the target, so the limit is checked (and raised) before the load.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stepsOf, type Plan } from '../compile/plan.js';
import { poolSettingsOf, type PostgresService } from '../services/postgres-config.js';

export interface FdLimits {
  soft: number;
  hard: number;
}

/** What perfy itself keeps open besides connections: stdio, logs, timers' fds, worker ports, the runtime's own. */
const OWN_FDS = 64;

/** This process's open-file limits (Linux: /proc/self/limits); undefined where they cannot be read. */
export function readFdLimits(limitsFile = '/proc/self/limits'): FdLimits | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const value = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(match[1]!), hard: value(match[2]!) };
}

/**
 * The most descriptors the plan can hold open at once, per process: HTTP connections per origin (capped by
 * `defaults.connections` and by the virtual users that can be in flight) times the origins the steps reach, the
 * SQL pools, and perfy's own. An estimate for a warning, on the high side: a templated absolute URL counts as
 * an origin of its own.
 */
export function estimateFds(plan: Plan, threads: number): number {
  const concurrency = plan.workloads.reduce(
    (sum, w) => sum + (w.timeline.model === 'open' ? w.timeline.maxVus : w.timeline.maxUsers),
    0,
  );
  const origins = new Set<string>();
  for (const flow of [plan.setup, ...plan.workloads.map((w) => w.flow), plan.teardown]) {
    for (const step of stepsOf(flow)) {
      if (step.connectionPool !== undefined) origins.add(step.connectionPool);
    }
  }
  const perThread = Math.ceil(Math.min(plan.defaults.connections, Math.ceil(concurrency / threads)));
  let sql = 0;
  for (const service of Object.values(plan.services)) {
    if (typeof service === 'object' && service !== null && 'postgres' in service) {
      sql += Math.ceil(poolSettingsOf(service as PostgresService).max / threads);
    }
  }
  return threads * (origins.size * perThread + sql) + OWN_FDS;
}

/**
 * Raises this process's soft limit to its hard limit when `needed` is above the soft one (an unprivileged process
 * may; Node has no setrlimit, so util-linux's prlimit does it for our pid). Returns the limits in force after.
 */
export function raiseFdLimit(needed: number, limits = readFdLimits()): FdLimits | undefined {
  if (limits === undefined || needed <= limits.soft || limits.soft >= limits.hard) return limits;
  const hard = limits.hard === Infinity ? 'unlimited' : String(limits.hard);
  const args = ['--pid', String(process.pid), `--nofile=${hard}:${hard}`];
  const raised = spawnSync('prlimit', args, { stdio: 'ignore', timeout: 5000 });
  if (raised.status !== 0) return limits;
  return readFdLimits() ?? limits;
}
