// Thresholds, monitor alerts and reports: the metrics a scenario produces (from its step kinds, groups and
// services), and expressions over them that must name metrics, tags and processes this scenario has.

import { didYouMean, problem, type SourceLocation } from '../errors.js';
import type { CompiledExpression } from '../expr/index.js';
import type { PathSegment } from '../load/index.js';
import { CORE_METRICS, GROUP_METRICS, HOST_METRICS, PROCESS_METRICS, SERVICE_METRICS } from '../metrics/catalog.js';
import { builtinStepKind } from '../steps/index.js';
import { parseSizeRate } from '../units.js';
import type { Plan, PlannedMonitor, PlannedThreshold, PlannedWorkload } from './plan.js';
import type { CompileScope } from './scope.js';


export function producedMetrics(c: CompileScope): Set<string> {
  const metrics = new Set<string>();
  // The kinds compiled, and those written in parts left out for schema problems.
  const kinds = new Map(c.stepKinds);
  for (const name of c.written?.kinds ?? []) {
    const kind = builtinStepKind(name);
    if (kind !== undefined) kinds.set(name, kind);
  }
  if (kinds.size > 0 || (c.written?.kinds.size ?? 0) > 0) for (const m of CORE_METRICS) metrics.add(m.name);
  if (c.groupNames.size > 0) for (const m of GROUP_METRICS) metrics.add(m.name);
  for (const kind of kinds.values()) {
    for (const m of kind.metrics) metrics.add(m.name);
    for (const other of kind.alsoProduces ?? []) {
      for (const m of builtinStepKind(other)?.metrics ?? []) metrics.add(m.name);
    }
  }
  // `monitor:` samples the processes it watches and the machine.
  if (c.has('monitor')) for (const m of [...PROCESS_METRICS, ...HOST_METRICS]) metrics.add(m.name);
  for (const { builtin } of c.services.values()) {
    if (builtin !== undefined && Object.hasOwn(SERVICE_METRICS, builtin)) {
      for (const m of SERVICE_METRICS[builtin as keyof typeof SERVICE_METRICS]) metrics.add(m.name);
    }
  }
  return metrics;
}

/** The schema names exactly the formats engine/report/ writes (a test keeps them equal): nothing to check here. */
export function compileReports(c: CompileScope): Plan['reports'] {
  const reports = c.scenario.report ?? ['console'];
  return reports.map((r) => (typeof r === 'string'
    ? { format: r, path: undefined }
    : { format: r.format, path: r.path }));
}

/**
 * `monitor:`: the processes it watches are sampled while the run goes on (engine/run/monitoring.ts) and thresholds
 * read their metrics. Alerts and leak detection are checked (expressions, names, settings) but not judged by this
 * version yet: a warning says so at each, rather than letting them pass in silence.
 */
export function compileMonitor(c: CompileScope, produced: Set<string>): PlannedMonitor | undefined {
  const m = c.scenario.monitor;
  if (!m) return undefined;
  for (const key of ['alerts', 'leak'] as const) {
    if (m[key] === undefined) continue;
    c.warn(
      'W_MONITOR_INACTIVE',
      `\`monitor.${key}\` is not judged by this version of perfy: the processes are sampled, ` +
        `${key === 'alerts' ? 'no alert fires' : 'no leak is reported'}`,
      'thresholds on process metrics are judged: `rss(api) < 512MB`, `max(process.cpu{process: api}) < 0.9`',
      ['monitor', key],
      { key: true },
    );
  }
  const metrics = new Set([...produced, ...PROCESS_METRICS.map((p) => p.name), ...HOST_METRICS.map((p) => p.name)]);
  const known = ['self', ...c.services.keys()];
  m.processes?.forEach((name, i) => {
    if (!known.includes(name)) {
      c.report(
        'E_SERVICE_UNKNOWN',
        `"${name}" is neither \`self\` nor a service`,
        didYouMean(name, known) ?? `watchable here: ${known.join(', ')}`,
        ['monitor', 'processes', i],
      );
    }
  });
  const processes = m.processes ?? known;
  const alerts = (m.alerts ?? []).map((a, i) => {
    const source = typeof a === 'string' ? a : a.expr;
    const path: PathSegment[] = typeof a === 'string' ? ['monitor', 'alerts', i] : ['monitor', 'alerts', i, 'expr'];
    const expression = c.expression(source, path, 'metrics');
    checkMetrics(c, expression, path, metrics, processes);
    return {
      source,
      expression,
      abort: typeof a === 'string' ? false : a.abort ?? false,
      location: c.document.locate(path),
    };
  });
  let leak: PlannedMonitor['leak'];
  if (m.leak) {
    leak = {
      windowMs: c.duration(m.leak.window, ['monitor', 'leak', 'window'], { positive: true }) ?? 30_000,
      maxGrowthBytesPerSecond: parseSizeRate(m.leak.max_growth) ?? 0,
    };
  }
  return {
    processes,
    intervalMs: c.duration(m.interval, ['monitor', 'interval'], { positive: true }) ?? 1000,
    alerts,
    leak,
  };
}

export function compileThresholds(
  c: CompileScope,
  metrics: Set<string>,
  workloads: PlannedWorkload[],
): PlannedThreshold[] {
  const watched = c.has('monitor') ? c.scenario.monitor?.processes ?? ['self', ...c.services.keys()] : [];
  const workloadNames = [...new Set([...workloads.map((w) => w.name), ...(c.written?.workloads ?? [])])];
  return (c.scenario.thresholds ?? []).map((t, i) => {
    const source = typeof t === 'string' ? t : t.expr;
    const path: PathSegment[] = typeof t === 'string' ? ['thresholds', i] : ['thresholds', i, 'expr'];
    const expression = c.expression(source, path, 'metrics');
    checkMetrics(c, expression, path, metrics, watched, workloadNames);
    return {
      source,
      expression,
      abort: typeof t === 'string' ? false : t.abort ?? false,
      afterMs: typeof t === 'string' ? 0 : c.duration(t.after, ['thresholds', i, 'after']) ?? 0,
      description: typeof t === 'string' ? undefined : t.description,
      location: c.document.locate(path),
    };
  });
}

/** Metrics, tag filters and processes of a threshold or alert must name things this scenario has. */
export function checkMetrics(
  c: CompileScope,
  expression: CompiledExpression,
  path: PathSegment[],
  metrics: Set<string>,
  processes: string[],
  workloads?: string[],
): void {
  const locate = (offset: number): SourceLocation => c.document.locateInString(path, offset);
  for (const ref of expression.metrics) {
    const fromPlugin = [...c.pluginNames].some((name) => ref.metric.startsWith(`${name}.`));
    if (!metrics.has(ref.metric) && !fromPlugin) {
      const produced = [...metrics];
      if ([...PROCESS_METRICS, ...HOST_METRICS].some((p) => p.name === ref.metric)) {
        c.problems.push(problem(
          'E_THRESHOLD_METRIC',
          `\`${ref.metric}\` is measured only while \`monitor:\` watches processes, and this scenario has none`,
          'add `monitor: { processes: [self, SERVICE] }` (docs/monitoring.md)',
          locate(ref.offset),
        ));
      } else {
        c.problems.push(problem(
          'E_THRESHOLD_METRIC',
          `no step or monitor of this scenario produces \`${ref.metric}\``,
          didYouMean(ref.metric, produced) ?? `metrics here: ${produced.sort().join(', ')}`,
          locate(ref.offset),
        ));
      }
    }
    const names = new Map<string, Set<string>>([['step', c.stepNames], ['group', c.groupNames]]);
    if (workloads) names.set('workload', new Set(workloads));
    for (const [tag, value] of Object.entries(ref.tags)) {
      const known = names.get(tag);
      if (known && !known.has(value)) {
        c.problems.push(problem(
          'E_TAG_UNKNOWN',
          `there is no ${tag} named "${value}"`,
          didYouMean(value, known) ?? (known.size
            ? `${tag}s here: ${[...known].join(', ')}`
            : `give the ${tag} a name`),
          locate(ref.tagOffsets[tag] ?? ref.offset),
        ));
      }
    }
  }
  // Without `monitor:` the metric's own problem above says what to add: one problem for one cause.
  for (const proc of c.has('monitor') ? expression.processes : []) {
    if (!processes.includes(proc.name)) {
      c.problems.push(problem(
        'E_SERVICE_UNKNOWN',
        `process "${proc.name}" is not watched by \`monitor.processes\``,
        didYouMean(proc.name, processes) ?? `add it to monitor.processes (self or a service name)`,
        locate(proc.offset),
      ));
    }
  }
}
