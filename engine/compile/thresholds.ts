// Thresholds, monitor alerts and reports: the metrics a scenario produces (from its step kinds, groups and
// services), and expressions over them that must name metrics, tags and processes this scenario has.

import { resolve } from 'node:path';
import { didYouMean, problem, type SourceLocation } from '../errors.js';
import { patternTest, type CompiledExpression } from '../expr/index.js';
import type { PathSegment } from '../load/index.js';
import { CORE_METRICS, GROUP_METRICS, HOST_METRICS, PROCESS_METRICS, SERVICE_METRICS } from '../metrics/catalog.js';
import { builtinStepKind } from '../steps/index.js';
import { formatDuration, parseSizeRate } from '../units.js';
import type {
  Plan, PlannedAlert, PlannedLeak, PlannedMonitor, PlannedNotify, PlannedProcess, PlannedThreshold, PlannedWorkload,
} from './plan.js';
import { parseRule } from '../compare/rules.js';
import type { CompileScope } from './scope.js';

/** The seed's rule: growth judged over ten minutes. */
const DEFAULT_LEAK_WINDOW_MS = 600_000;


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
 * `monitor:`: the processes it watches (sampled while the run goes on, engine/run/monitoring.ts), the alerts and
 * leak rule judged live over their metrics, and where events are sent.
 */
export function compileMonitor(
  c: CompileScope, produced: Set<string>, workloads: PlannedWorkload[],
): PlannedMonitor | undefined {
  const m = c.scenario.monitor;
  if (!m) return undefined;
  const metrics = new Set([...produced, ...PROCESS_METRICS.map((p) => p.name), ...HOST_METRICS.map((p) => p.name)]);
  const processes = watchedProcesses(c);
  const names = processes.map((p) => p.name);
  const alerts = (m.alerts ?? []).map((a, i): PlannedAlert => {
    const source = typeof a === 'string' ? a : a.when;
    const path: PathSegment[] = typeof a === 'string' ? ['monitor', 'alerts', i] : ['monitor', 'alerts', i, 'when'];
    const expression = c.expression(source, path, 'metrics');
    checkMetrics(c, expression, path, metrics, names);
    const given = typeof a === 'string' ? undefined : a;
    return {
      source,
      expression,
      level: given?.level ?? 'warning',
      abort: given?.abort ?? false,
      description: given?.description,
      location: c.document.locate(path),
    };
  });
  return {
    processes,
    intervalMs: c.duration(m.interval, ['monitor', 'interval'], { positive: true }) ?? 1000,
    alerts,
    leak: compileLeak(c, names, workloads),
    notify: compileNotify(c),
  };
}

/** `monitor.processes`, each named and told how to find it; names are unique and services exist. */
function watchedProcesses(c: CompileScope): PlannedProcess[] {
  const services = [...c.services.keys()];
  const given = c.scenario.monitor?.processes ?? ['self', ...services];
  const seen = new Set<string>();
  const processes: PlannedProcess[] = [];
  given.forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : entry.name;
    const path: PathSegment[] =
      typeof entry === 'string' ? ['monitor', 'processes', i] : ['monitor', 'processes', i, 'name'];
    if (seen.has(name)) {
      c.report('E_DUPLICATE_NAME', `"${name}" is watched twice`, 'give each watched process its own name', path);
      return;
    }
    seen.add(name);
    if (typeof entry === 'string') {
      if (name !== 'self' && !c.services.has(name)) {
        const known = ['self', ...services];
        c.report('E_SERVICE_UNKNOWN', `"${name}" is neither \`self\` nor a service`,
          didYouMean(name, known) ??
            `watchable by name: ${known.join(', ')}; any other process as { name, pid | pidfile | command }`,
          path);
        return;
      }
      processes.push({ name, watch: name === 'self' ? 'self' : 'service' });
      return;
    }
    if (name === 'self' || c.services.has(name)) {
      c.report('E_DUPLICATE_NAME', `"${name}" already names ${name === 'self' ? 'perfy itself' : 'a service'}`,
        'give the process a name of its own', path);
      return;
    }
    const ways = (['pid', 'pidfile', 'command'] as const).filter((key) => entry[key] !== undefined);
    if (ways.length !== 1) {
      const [code, said] = ways.length === 0
        ? ['E_MISSING_KEY', `missing how to find "${name}"`] as const
        : ['E_SCHEMA', `"${name}" is found by ${ways.join(' and ')}: only one can say which process it is`] as const;
      c.report(code, said, 'give exactly one of `pid`, `pidfile` or `command` (docs/monitoring.md)',
        ['monitor', 'processes', i], { key: ways.length === 0 });
      return;
    }
    if (entry.pid !== undefined) processes.push({ name, watch: { pid: entry.pid } });
    else if (entry.pidfile !== undefined) {
      processes.push({ name, watch: { pidfile: resolve(c.baseDir, entry.pidfile) } });
    }
    else if (entry.command !== undefined) {
      try {
        patternTest(entry.command);
      } catch (error) {
        c.report('E_EXPR_REGEX', `not a regular expression perfy can run: ${(error as Error).message}`,
          'the syntax is RE2\'s (docs/expressions.md): like JavaScript\'s, without backreferences and lookarounds',
          ['monitor', 'processes', i, 'command']);
        return;
      }
      processes.push({ name, watch: { command: entry.command } });
    }
  });
  return processes;
}

/** The leak rule; a run too short to fill its window gets a warning rather than a verdict that never comes. */
function compileLeak(c: CompileScope, watched: string[], workloads: PlannedWorkload[]): PlannedLeak | undefined {
  const leak = c.scenario.monitor?.leak;
  if (leak === undefined) return undefined;
  const at = (key: string): PathSegment[] => ['monitor', 'leak', key];
  leak.processes?.forEach((name, i) => {
    if (!watched.includes(name)) {
      c.report('E_SERVICE_UNKNOWN', `process "${name}" is not watched by \`monitor.processes\``,
        didYouMean(name, watched) ?? `watched here: ${watched.join(', ')}`, ['monitor', 'leak', 'processes', i]);
    }
  });
  const planned: PlannedLeak = {
    processes: leak.processes ?? watched.filter((name) => name !== 'self'),
    windowMs: c.duration(leak.window, at('window'), { positive: true }) ?? DEFAULT_LEAK_WINDOW_MS,
    maxGrowthBytesPerSecond: parseSizeRate(leak.max_growth) ?? 0,
    warmupMs: c.duration(leak.warmup, at('warmup')) ?? 0,
    level: leak.level ?? 'critical',
  };
  // The first verdict needs the warm-up, a floor (a quarter of the window) and 90 % of the window of samples.
  const neededMs = planned.warmupMs + planned.windowMs * 1.15;
  const runMs = Math.max(0, ...workloads.map((w) => w.startAfterMs + w.timeline.durationMs));
  if (workloads.length > 0 && runMs < neededMs) {
    c.warn('W_MONITOR_LEAK',
      `\`monitor.leak\` needs about ${formatDuration(neededMs)} of samples for a verdict (warm-up, then 1.15 × ` +
        `the window), and the load lasts ${formatDuration(runMs)}: no leak can be found`,
      'shorten `window` (a leak of max_growth must still outgrow the memory\'s noise over half of it) ' +
        'or lengthen the load (docs/monitoring.md#leak-detection)',
      leak.window === undefined ? ['monitor', 'leak'] : at('window'), { key: leak.window === undefined });
  }
  return planned;
}

function compileNotify(c: CompileScope): PlannedNotify | undefined {
  const notify = c.scenario.monitor?.notify;
  if (notify === undefined) return undefined;
  const planned: PlannedNotify = {};
  const hook = notify.webhook;
  if (hook !== undefined) {
    const given = typeof hook === 'string' ? { url: hook } : hook;
    const path: PathSegment[] =
      typeof hook === 'string' ? ['monitor', 'notify', 'webhook'] : ['monitor', 'notify', 'webhook', 'url'];
    c.checkHttpUrl(given.url, path);
    planned.webhook = {
      url: given.url,
      headers: given.headers ?? {},
      timeoutMs: c.duration(given.timeout, ['monitor', 'notify', 'webhook', 'timeout'], { positive: true }),
      retries: given.retries,
    };
  }
  const command = notify.command;
  if (command !== undefined) planned.command = typeof command === 'string' ? { shell: command } : { argv: command };
  return planned;
}

/** `baseline.rules`: each a rule perfy compare can judge, on a metric this scenario produces. */
export function compileBaselineRules(c: CompileScope, produced: Set<string>): string[] | undefined {
  const rules = c.scenario.baseline?.rules;
  rules?.forEach((source, i) => {
    const rule = parseRule(source);
    if ('code' in rule) c.report(rule.code, rule.message, rule.hint ?? '', ['baseline', 'rules', i]);
    else if (!produced.has(rule.metric) && ![...c.pluginNames].some((name) => rule.metric.startsWith(`${name}.`))) {
      c.report('E_THRESHOLD_METRIC', `no step or monitor of this scenario produces \`${rule.metric}\``,
        didYouMean(rule.metric, [...produced]) ?? `metrics here: ${[...produced].sort().join(', ')}`,
        ['baseline', 'rules', i]);
    }
  });
  return rules;
}

export function compileThresholds(
  c: CompileScope,
  metrics: Set<string>,
  workloads: PlannedWorkload[],
): PlannedThreshold[] {
  const watched = c.has('monitor') ? processNames(c) : [];
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
      ...(typeof t !== 'string' && t.level === 'warning' ? { level: t.level } : {}),
      location: c.document.locate(path),
    };
  });
}

/** The names `monitor.processes` gives (or would give by default): what `rss(NAME)` may name. */
function processNames(c: CompileScope): string[] {
  const given = c.scenario.monitor?.processes ?? ['self', ...c.services.keys()];
  return given.map((p) => (typeof p === 'string' ? p : p.name));
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
        didYouMean(proc.name, processes) ?? 'add it to monitor.processes (self, a service, or { name, pid | command })',
        locate(proc.offset),
      ));
    }
  }
}
