// The compiler: a schema-valid scenario → a Plan. Everything the schema cannot say is checked here, while the
// plan is built: names that templates and expressions use, metrics that thresholds read, files, durations.
// Every problem is collected; a plan is returned only when there are none. Each concern has its file: data.ts
// (files, services), load.ts (workloads, stages), flow.ts (steps, through their kinds), thresholds.ts.

import type { Problem } from '../errors.js';
import type { Scenario } from '../generated/scenario.js';
import type { LoadedDocument } from '../load/index.js';
import type { StepKind } from '../steps/types.js';
import { checkPlugins, compileData, compileServices, compileTls } from './data.js';
import { definedIn } from './defined.js';
import { collectNames, compileFlow } from './flow.js';
import { compileWorkloads } from './load.js';
import type { Plan } from './plan.js';
import { CompileScope } from './scope.js';
import {
  compileBaselineRules, compileMonitor, compileReports, compileThresholds, producedMetrics,
} from './thresholds.js';

export type { Plan } from './plan.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECTIONS = 100;

export interface CompileResult {
  plan: Plan | undefined;
  problems: Problem[];
  /** W_ codes: what the user should know, which does not stop the scenario from running. */
  warnings: Problem[];
}

export interface CompileOptions {
  /**
   * The scenario as written, when `scenario` is only the part of it that the schema accepts (see
   * validate/schema.ts): what the whole defines counts as defined (defined.ts), and no plan is returned.
   */
  writtenAs?: unknown;
  /** The scenario's plugins, loaded (compile/plugins.ts), by name. */
  plugins?: ReadonlyMap<string, StepKind>;
}

/**
 * Compiles a scenario that passes the schema. Never throws for a problem of the scenario: it returns them. It
 * reads only the structure the schema guarantees, which is why a scenario with schema problems is compiled
 * without the parts that have them.
 */
export function compileScenario(
  document: LoadedDocument, scenario: Scenario, options: CompileOptions = {},
): CompileResult {
  const written = options.writtenAs === undefined ? undefined : definedIn(options.writtenAs);
  const c = new CompileScope(document, scenario, written, options.plugins ?? new Map());
  const plan = compile(c);
  const complete = c.problems.length === 0 && written === undefined;
  return { plan: complete ? plan : undefined, problems: c.problems, warnings: c.warnings };
}

function compile(c: CompileScope): Plan {
  const s = c.scenario;
  collectNames(c);
  // After collectNames, which reports duplicates among the names it compiles: these are the same names again.
  for (const name of c.written?.captures ?? []) c.captureNames.add(name);
  for (const name of c.written?.steps ?? []) c.stepNames.add(name);
  for (const name of c.written?.groups ?? []) c.groupNames.add(name);
  compileServices(c);
  compileData(c);
  checkPlugins(c);
  const target = s.target === undefined ? undefined : c.template(s.target, ['target']);
  if (s.target !== undefined) c.checkHttpUrl(s.target, ['target']);
  const headers = c.templateMap(s.defaults?.headers, ['defaults', 'headers']);
  const timeoutMs = c.duration(s.defaults?.timeout, ['defaults', 'timeout'], { positive: true }) ?? DEFAULT_TIMEOUT_MS;

  const setup = s.setup ? compileFlow(c, s.setup, { path: ['setup'], inLoop: false, group: undefined }, timeoutMs) : [];
  const workloads = compileWorkloads(c, timeoutMs);
  const teardown = s.teardown
    ? compileFlow(c, s.teardown, { path: ['teardown'], inLoop: false, group: undefined }, timeoutMs)
    : [];

  const metrics = producedMetrics(c);
  const monitor = compileMonitor(c, metrics, workloads);
  const thresholds = compileThresholds(c, metrics, workloads);
  const baselineRules = compileBaselineRules(c, metrics);
  const reports = compileReports(c);

  return {
    name: s.name,
    description: s.description,
    file: c.document.file,
    seed: s.seed ?? 1,
    services: s.services ?? {},
    target,
    variables: s.variables ?? {},
    data: c.data,
    defaults: {
      timeoutMs,
      headers,
      connections: s.defaults?.connections ?? DEFAULT_CONNECTIONS,
      resendOnReset: s.defaults?.resend_on_reset ?? true,
      tls: compileTls(c),
    },
    setup,
    teardown,
    workloads,
    thresholds,
    baselineRules,
    monitor,
    reports,
    plugins: [...c.plugins.values()],
    metrics: [...metrics].sort(),
    secrets: c.document.secrets,
  };
}
