// Workloads and their load: stages of arrival rates (open model) or users (closed model) checked and turned into
// the pure timelines the scheduler walks (timeline.ts), warm-ups, start_after.

import type { Flow, Load, Stage } from '../generated/scenario.js';
import type { PathSegment } from '../load/index.js';
import { formatDuration, parseRate } from '../units.js';
import { compileFlow } from './flow.js';
import type { PlannedWorkload } from './plan.js';
import type { CompileScope } from './scope.js';
import { buildTimeline, type ClosedLoad, type ClosedStage, type OpenLoad, type OpenStage } from './timeline.js';

const DEFAULT_MAX_VUS = 1000;

export function compileWorkloads(c: CompileScope, timeoutMs: number): PlannedWorkload[] {
  const s = c.scenario;
  if (s.workloads) {
    if (s.load !== undefined || s.flow !== undefined) {
      c.report(
        'E_WORKLOADS',
        'top-level `load`/`flow` and `workloads` cannot both be given',
        'move the top-level load and flow into a workload of the list',
        [s.load !== undefined ? 'load' : 'flow'],
        { key: true },
      );
    }
    const seen = new Set<string>();
    return s.workloads.flatMap((w, i) => {
      if (seen.has(w.name)) {
        c.report(
          'E_DUPLICATE_NAME',
          `two workloads are named "${w.name}"`,
          'workload names tag metrics and must be unique',
          ['workloads', i, 'name'],
        );
      }
      seen.add(w.name);
      const startAfterMs = c.duration(w.start_after, ['workloads', i, 'start_after']) ?? 0;
      const warmup = w.warmup !== undefined ? { text: w.warmup, path: ['workloads', i, 'warmup'] } : scenarioWarmup(c);
      return workload(
        c,
        w.name,
        w.load,
        ['workloads', i, 'load'],
        w.flow,
        ['workloads', i, 'flow'],
        startAfterMs,
        timeoutMs,
        warmup,
      );
    });
  }
  if (s.load === undefined || s.flow === undefined) {
    if (c.has('workloads') || (c.has('load') && c.has('flow'))) {
      // Written, but one was left out for a schema problem: that problem is reported; the other is checked.
      if (s.load !== undefined) compileLoad(c, s.load, ['load']);
      if (s.flow !== undefined) compileFlow(c, s.flow, { path: ['flow'], inLoop: false, group: undefined }, timeoutMs);
      return [];
    }
    const given = c.has('load') ? 'load' : c.has('flow') ? 'flow' : undefined;
    const message = given === undefined
      ? 'the scenario has nothing to run'
      : `\`${given}\` needs \`${given === 'load' ? 'flow' : 'load'}\``;
    c.report(
      'E_WORKLOADS',
      message,
      'give top-level `load` and `flow`, or a list of `workloads`',
      given === undefined ? [] : [given],
      { key: true },
    );
    return [];
  }
  return workload(c, 'default', s.load, ['load'], s.flow, ['flow'], 0, timeoutMs, scenarioWarmup(c));
}

export function scenarioWarmup(c: CompileScope): { text: string; path: PathSegment[] } | undefined {
  return c.scenario.warmup === undefined ? undefined : { text: c.scenario.warmup, path: ['warmup'] };
}

export function workload(
  c: CompileScope,
  name: string,
  load: Load,
  loadPath: PathSegment[],
  flow: Flow,
  flowPath: PathSegment[],
  startAfterMs: number,
  timeoutMs: number,
  warmup: { text: string; path: PathSegment[] } | undefined,
): PlannedWorkload[] {
  const normalized = compileLoad(c, load, loadPath);
  const nodes = compileFlow(c, flow, { path: flowPath, inLoop: false, group: undefined }, timeoutMs);
  if (!normalized) return [];
  const timeline = buildTimeline(normalized);
  const warmupMs = warmup === undefined ? 0 : c.duration(warmup.text, warmup.path) ?? 0;
  if (warmup !== undefined && timeline.durationMs > 0 && warmupMs >= timeline.durationMs) {
    c.report(
      'E_RANGE',
      `the warm-up (${warmup.text}) is as long as the load of workload "${name}" ` +
        `(${formatDuration(timeline.durationMs)})`,
      'the warm-up is the first part of the load, not added to it: make it shorter than the stages, or add a stage',
      warmup.path,
    );
  }
  return [{ name, startAfterMs, warmupMs, load: normalized, timeline, flow: nodes }];
}

export function compileLoad(c: CompileScope, load: Load, path: PathSegment[]): OpenLoad | ClosedLoad | undefined {
  const stages: Stage[] = Array.isArray(load) ? load : load.stages;
  const stagesPath = Array.isArray(load) ? path : [...path, 'stages'];
  const options: { arrivals?: 'uniform' | 'poisson'; max_vus?: number } = Array.isArray(load) ? {} : load;
  const isClosed = stages.map((st) => ('users' in st ? true : 'pause' in st ? undefined : false));
  const closedCount = isClosed.filter((c) => c === true).length;
  const openCount = isClosed.filter((c) => c === false).length;
  if (closedCount > 0 && openCount > 0) {
    const minority = closedCount <= openCount ? true : false;
    const at = isClosed.indexOf(minority);
    c.report(
      'E_LOAD_MIXED',
      'this workload mixes arrival rates (open model) and `users` (closed model)',
      'use one model per workload; put the other shape in a workload of its own',
      [...stagesPath, at],
    );
    return undefined;
  }
  const closed = closedCount > 0;
  if (closed && (options.arrivals !== undefined || options.max_vus !== undefined)) {
    c.report(
      'E_LOAD_MIXED',
      '`arrivals` and `max_vus` belong to the open model, but these stages are `users` stages',
      'remove them, or describe the load with rates',
      [...path, options.arrivals !== undefined ? 'arrivals' : 'max_vus'],
      { key: true },
    );
  }
  let ok = true;
  const positive = (value: string | undefined, p: PathSegment[]): number => {
    const ms = c.duration(value, p, { positive: true });
    if (ms === undefined) ok = false;
    return ms ?? 0;
  };
  const optional = (value: string | undefined, p: PathSegment[]): number => c.duration(value, p) ?? 0;
  const rate = (value: string): number => parseRate(value) ?? 0;
  if (closed) {
    const closedStages: ClosedStage[] = stages.map((st, i): ClosedStage => {
      const p = [...stagesPath, i];
      if ('pause' in st) return { kind: 'pause', durationMs: positive(st.pause, [...p, 'pause']) };
      if (!('users' in st)) throw new Error('unreachable: open stage in a closed load');
      const rampUpMs = optional(st.ramp_up, [...p, 'ramp_up']);
      const rampDownMs = optional(st.ramp_down, [...p, 'ramp_down']);
      return {
        kind: 'users',
        users: st.users,
        rampUpMs,
        holdMs: holdOf(c, st, p, rampUpMs + rampDownMs, i === stages.length - 1),
        rampDownMs,
      };
    });
    return ok ? { model: 'closed', stages: closedStages } : undefined;
  }
  const openStages: OpenStage[] = stages.map((st, i): OpenStage => {
    const p = [...stagesPath, i];
    if ('pause' in st) return { kind: 'pause', durationMs: positive(st.pause, [...p, 'pause']) };
    if ('rate' in st) {
      return { kind: 'rate', rate: rate(st.rate), durationMs: positive(st.duration, [...p, 'duration']) };
    }
    if ('ramp' in st) {
      const stage: OpenStage = {
        kind: 'ramp',
        to: rate(st.ramp.to),
        durationMs: positive(st.duration, [...p, 'duration']),
      };
      if (st.ramp.from !== undefined) stage.from = rate(st.ramp.from);
      return stage;
    }
    if ('spike' in st) {
      const durationMs = positive(st.duration, [...p, 'duration']);
      const riseMs = optional(st.spike.rise, [...p, 'spike', 'rise']);
      if (riseMs > durationMs) {
        c.report(
          'E_RANGE',
          'the spike rises for longer than it lasts',
          '`rise` is part of `duration`; make it shorter',
          [...p, 'spike', 'rise'],
        );
      }
      return { kind: 'spike', to: rate(st.spike.to), riseMs, durationMs };
    }
    if ('burst' in st) {
      return {
        kind: 'burst',
        iterations: st.burst.iterations,
        withinMs: optional(st.burst.within, [...p, 'burst', 'within']),
      };
    }
    throw new Error('unreachable: closed stage in an open load');
  });
  return ok
    ? {
      model: 'open',
      stages: openStages,
      arrivals: options.arrivals ?? 'uniform',
      maxVus: options.max_vus ?? DEFAULT_MAX_VUS,
    }
    : undefined;
}

/**
 * A users stage's hold: `hold`, or what `duration` (the stage's whole length, as open stages have it) leaves after
 * the ramps, or nothing: a stage of `users` alone sets the level the next stage starts from.
 */
export function holdOf(
  c: CompileScope,
  st: { hold?: string; duration?: string; ramp_up?: string; ramp_down?: string },
  p: PathSegment[],
  rampsMs: number,
  last: boolean,
): number {
  if (st.hold !== undefined && st.duration !== undefined) {
    c.report(
      'E_SCHEMA',
      'a users stage takes `hold` or `duration`, not both',
      '`duration` is the whole stage (ramp_up + hold + ramp_down); `hold` only the time at `users`',
      [...p, 'duration'],
      { key: true },
    );
    return 0;
  }
  if (st.hold !== undefined) return c.duration(st.hold, [...p, 'hold'], { positive: true }) ?? 0;
  if (st.duration !== undefined) {
    const durationMs = c.duration(st.duration, [...p, 'duration'], { positive: true }) ?? 0;
    if (durationMs > 0 && durationMs < rampsMs) {
      c.report(
        'E_RANGE',
        `the stage lasts ${st.duration}, less than its ramps`,
        '`duration` is the whole stage: ramp_up + time at `users` + ramp_down',
        [...p, 'duration'],
      );
    }
    return Math.max(0, durationMs - rampsMs);
  }
  if (last && rampsMs === 0) {
    c.report(
      'E_DURATION_ZERO',
      'the last stage has no length',
      'a users stage without `hold`, `duration` or ramps only sets the level for the next stage: ' +
        'give it `duration: 1m`',
      [...p, 'users'],
      { key: true },
    );
  }
  return 0;
}
