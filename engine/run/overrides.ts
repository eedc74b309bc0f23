// Command-line overrides of a compiled plan, for CI: --time-scale, --duration, --users, --rate, --smoke.
// Each returns a new plan (timelines rebuilt from the changed loads) and a line saying what it changed; --smoke
// also marks the thresholds it cannot judge, and --time-scale warns of services it cannot speed up.

import type { FlowNode, Plan, PlannedThreshold, PlannedWorkload } from '../compile/plan.js';
import { problem, type Problem } from '../errors.js';
import { buildTimeline, type ClosedLoad, type OpenLoad } from '../compile/timeline.js';
import { formatDuration, formatRate } from '../units.js';
import type { Segment } from '../segment.js';
import { segmentTimeline } from './segment.js';

export interface Overrides {
  /** Divide every duration of the scenario by this (stages, offsets, think times, threshold delays). */
  timeScale?: number;
  /** Stretch or shrink each workload's stages proportionally to last this long (ms). */
  durationMs?: number;
  /** Replace each workload's load by this many users (closed model) for its duration. */
  users?: number;
  /** Replace each workload's load by this arrival rate per second (open model) for its duration. */
  rate?: number;
  /** Run each flow once with one user; thresholds on the load's size or duration are shown, not judged. */
  smoke?: boolean;
  /** Run only this share of every workload (`--segment i/N`): arrivals k with k mod N = i, a share of users. */
  segment?: Segment;
}

export function applyOverrides(plan: Plan, overrides: Overrides): { plan: Plan; applied: string[] } {
  const applied: string[] = [];
  let workloads = plan.workloads;
  let setup = plan.setup;
  let teardown = plan.teardown;
  let thresholds = plan.thresholds;
  let monitor = plan.monitor;

  if (overrides.smoke) {
    // The one iteration is the whole run: it is measured, not a warm-up.
    workloads = workloads.map((w) => ({
      ...withLoad(
        w,
        { model: 'open', stages: [{ kind: 'burst', iterations: 1, withinMs: 0 }], arrivals: 'uniform', maxVus: 1 },
        0,
      ),
      warmupMs: 0,
    }));
    thresholds = thresholds.map((t) => {
      const notJudged = notJudgedInSmoke(t);
      return notJudged === undefined ? t : { ...t, notJudged };
    });
    applied.push('--smoke: each flow once with one user');
  } else {
    if (overrides.durationMs !== undefined) {
      const target = overrides.durationMs;
      workloads = workloads.map((w) => {
        if (w.timeline.durationMs === 0) return w;
        const factor = target / w.timeline.durationMs;
        return { ...withLoad(w, scaleLoad(w.load, factor)), warmupMs: w.warmupMs * factor };
      });
      applied.push(`--duration ${formatDuration(target)}`);
    }
    if (overrides.users !== undefined) {
      const users = overrides.users;
      workloads = workloads.map((w) => withLoad(w, {
        model: 'closed',
        stages: [{ kind: 'users', users, rampUpMs: 0, holdMs: w.timeline.durationMs, rampDownMs: 0 }],
      }));
      applied.push(`--users ${users}`);
    }
    if (overrides.rate !== undefined) {
      const rate = overrides.rate;
      workloads = workloads.map((w) => withLoad(w, {
        model: 'open',
        stages: [{ kind: 'rate', rate, durationMs: w.timeline.durationMs }],
        arrivals: w.load.model === 'open' ? w.load.arrivals : 'uniform',
        maxVus: w.load.model === 'open' ? w.load.maxVus : 1000,
      }));
      applied.push(`--rate ${formatRate(rate)}`);
    }
  }
  if (overrides.timeScale !== undefined && overrides.timeScale !== 1) {
    const factor = 1 / overrides.timeScale;
    workloads = workloads.map((w) => ({
      ...withLoad(w, scaleLoad(w.load, factor), w.startAfterMs * factor),
      warmupMs: w.warmupMs * factor,
      flow: scaleFlow(w.flow, factor),
    }));
    setup = scaleFlow(setup, factor);
    teardown = scaleFlow(teardown, factor);
    thresholds = thresholds.map((t) => ({ ...t, afterMs: t.afterMs * factor }));
    // The leak rule's window shrinks with the run it must fit in; its max_growth is a rate of real memory.
    if (monitor?.leak !== undefined) {
      const { leak } = monitor;
      monitor = { ...monitor, leak: { ...leak, windowMs: leak.windowMs * factor, warmupMs: leak.warmupMs * factor } };
    }
    applied.push(`--time-scale ${overrides.timeScale}`);
  }
  if (overrides.segment !== undefined && overrides.segment.count > 1) {
    const segment = overrides.segment;
    workloads = workloads.map((w) => ({ ...w, timeline: segmentTimeline(w.timeline, segment) }));
    applied.push(`--segment ${segment.index}/${segment.count}`);
  }
  return { plan: { ...plan, workloads, setup, teardown, thresholds, monitor }, applied };
}

/**
 * Why a threshold says nothing about a --smoke run, or undefined when it is judged. One iteration per flow says
 * whether the flow works — the share of failed requests, steps or checks, `rate()` — but not how the system
 * bears a load: a count or a throughput is the smoke run's own size, a p95 of one sample is that sample, and a
 * `for` window outlasts the run.
 */
export function notJudgedInSmoke(threshold: PlannedThreshold): string | undefined {
  const { sustainMs, metrics } = threshold.expression;
  if (sustainMs !== undefined) return 'not judged in a --smoke run: its `for` window needs a run at least that long';
  const load = metrics.find((ref) => ref.fn !== 'rate');
  if (load === undefined) return undefined;
  const fn = load.fn === 'percentile' ? `p${load.percentile ?? 50}` : load.fn;
  return `not judged in a --smoke run: ${fn}(${load.metric}) measures the load; rate() says whether the flow works`;
}

/**
 * W_TIME_SCALE when `--time-scale` changes a run whose services include ones perfy cannot speed up: a `command:`
 * or `url:` service keeps its own clock (rate-limit windows, cache lifetimes, token expiry), which a scenario
 * may depend on. The built-in services are not named: the GitHub mock's windows are scaled with the run, and
 * the demo API and PostgreSQL have no clock of their own that the load reads (their timeouts are timeouts).
 */
export function timeScaleWarnings(plan: Plan, timeScale: number | undefined): Problem[] {
  if (timeScale === undefined || timeScale === 1) return [];
  const unscaled = Object.entries(plan.services).flatMap(([name, service]) => {
    if ('command' in service) return [`${name} (a command)`];
    if ('url' in service) return [`${name} (a URL)`];
    return [];
  });
  if (unscaled.length === 0) return [];
  const [which, whose] = unscaled.length === 1 ? ['service', 'its'] : ['services', 'their'];
  return [problem('W_TIME_SCALE', `--time-scale ${timeScale} does not reach ${which} ${unscaled.join(', ')}: `
    + `${whose} own windows, timeouts and caches keep real time`,
  'the scenario\'s durations pass faster, the service\'s do not: '
    + 'check time-dependent behaviour (rate limits, expiry) without --time-scale')];
}

function withLoad(w: PlannedWorkload, load: OpenLoad | ClosedLoad, startAfterMs = w.startAfterMs): PlannedWorkload {
  return { ...w, load, startAfterMs, timeline: buildTimeline(load) };
}

/** Multiplies every duration of a load by `factor` (rates and user counts stay). */
export function scaleLoad(load: OpenLoad | ClosedLoad, factor: number): OpenLoad | ClosedLoad {
  if (load.model === 'closed') {
    return {
      model: 'closed',
      stages: load.stages.map((s) => (s.kind === 'pause'
        ? { ...s, durationMs: s.durationMs * factor }
        : { ...s, rampUpMs: s.rampUpMs * factor, holdMs: s.holdMs * factor, rampDownMs: s.rampDownMs * factor })),
    };
  }
  return {
    ...load,
    stages: load.stages.map((s) => {
      switch (s.kind) {
        case 'burst': return { ...s, withinMs: s.withinMs * factor };
        case 'spike': return { ...s, durationMs: s.durationMs * factor, riseMs: s.riseMs * factor };
        default: return { ...s, durationMs: s.durationMs * factor };
      }
    }),
  };
}

function scaleFlow(nodes: FlowNode[], factor: number): FlowNode[] {
  return nodes.map((n): FlowNode => {
    switch (n.type) {
      case 'think': return { ...n, minMs: n.minMs * factor, maxMs: n.maxMs * factor };
      case 'loop': return { ...n, body: scaleFlow(n.body, factor) };
      case 'group': return { ...n, body: scaleFlow(n.body, factor) };
      case 'transaction': return { ...n, body: scaleFlow(n.body, factor) };
      case 'parallel': return { ...n, branches: scaleFlow(n.branches, factor) };
      case 'if': return { ...n, then: scaleFlow(n.then, factor), else: scaleFlow(n.else, factor) };
      case 'step': return n;
    }
  });
}
