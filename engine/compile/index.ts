// The compiler: a schema-valid scenario → a Plan. Everything the schema cannot say is checked here, while the
// plan is built: names that templates and expressions use, metrics that thresholds read, files, durations.
// Every problem is collected; a plan is returned only when there are none.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { PerfyError, didYouMean, problem, type ErrorCode, type Problem, type SourceLocation } from '../errors.js';
import { compileExpression, type CompiledExpression } from '../expr/index.js';
import type { Flow, FlowItem, Load, Scenario, Stage, Step } from '../generated/scenario.js';
import { CsvError, parseCsvTable, type CsvTable } from '../load/csv.js';
import type { LoadedDocument, PathSegment } from '../load/index.js';
import { CORE_METRICS, GROUP_METRICS, PROCESS_METRICS, SERVICE_METRICS, STEP_METRICS, type StepKind } from '../metrics/catalog.js';
import { redactUrlPasswords } from '../redact.js';
import { initIsFile } from '../services/postgres-config.js';
import { parseRoute } from '../executors/github.js';
import { findJmeterHome } from '../executors/jmeter/search.js';
import { formatDuration, parseDuration, parseRate, parseSizeRate, parseThink } from '../units.js';
import type { FlowNode, Plan, PlannedData, PlannedMonitor, PlannedThreshold, PlannedWorkload, RetryPolicy, StepNode, TransactionNode } from './plan.js';
import { definedIn, type Defined } from './defined.js';
import { compileTemplate, staticTemplate, type Template, type TemplateTree } from './template.js';
import { httpUrlProblem, isAbsoluteUrl } from './url.js';
import { buildTimeline, type ClosedLoad, type ClosedStage, type OpenLoad, type OpenStage } from './timeline.js';

export type { Plan } from './plan.js';

/** Names an iteration's scope always has, besides variables, captures and data. */
const BUILTIN_NAMES = ['vu', 'iteration', 'workload', 'scenario', 'loop', 'data', 'services', 'target'] as const;

/** What each step kind's response offers to `expect`, `capture` and `retry.on`. */
const RESPONSE_NAMES: Record<Exclude<StepKind, 'plugin'>, readonly string[]> = {
  http: ['status', 'duration', 'json', 'header', 'body', 'size', 'ok'],
  sql: ['rows', 'row_count', 'duration', 'ok', 'error'],
  github: ['status', 'duration', 'json', 'header', 'body', 'size', 'ok', 'waited', 'retries', 'rate_limited'],
  jmeter: ['duration', 'samples', 'errors', 'ok'],
};
const ALL_RESPONSE_NAMES = [...new Set(Object.values(RESPONSE_NAMES).flat())];

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECTIONS = 100;
const DEFAULT_MAX_VUS = 1000;
const DEFAULT_WHILE_MAX = 1000;
/** A transaction's `retry:` without `attempts` / `backoff`. */
const DEFAULT_TRANSACTION_RETRIES = 3;
const DEFAULT_TRANSACTION_BACKOFF_MS = 10;
/** The statements EXPLAIN accepts (by their first keyword). */
const EXPLAINABLE = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'VALUES', 'WITH', 'TABLE', 'EXECUTE', 'DECLARE']);

/** The failures a transaction's `retry.on` names, as PostgreSQL reports them. */
const RETRYABLE_SQLSTATE = { deadlock: '40P01', serialization_failure: '40001' } as const;

export interface CompileResult {
  plan: Plan | undefined;
  problems: Problem[];
  /** W_ codes: what the user should know, which does not stop the scenario from running. */
  warnings: Problem[];
}

/** The report formats this version writes; the others are accepted by the schema and warned about. */
export const WRITTEN_REPORTS: readonly string[] = ['console', 'json'];

export interface CompileOptions {
  /**
   * The scenario as written, when `scenario` is only the part of it that the schema accepts (see
   * validate/schema.ts): what the whole defines counts as defined (defined.ts), and no plan is returned.
   */
  writtenAs?: unknown;
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
  const compiler = new Compiler(document, scenario, written);
  const plan = compiler.compile();
  const complete = compiler.problems.length === 0 && written === undefined;
  return { plan: complete ? plan : undefined, problems: compiler.problems, warnings: compiler.warnings };
}

interface FlowContext {
  path: PathSegment[];
  inLoop: boolean;
  group: string | undefined;
}

class Compiler {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];
  private readonly baseDir: string;
  private readonly variableNames: Set<string>;
  private readonly captureNames = new Set<string>();
  private readonly stepNames = new Set<string>();
  private readonly groupNames = new Set<string>();
  private readonly stepKinds = new Set<StepKind>();
  private readonly data: Record<string, PlannedData> = {};
  /** Every service, data source and plugin declared (in parts left out for schema problems too). */
  private readonly services: Map<string, { builtin: string | undefined; postgres: boolean }>;
  private readonly dataNames: Set<string>;
  private readonly pluginNames: Set<string>;
  /** The `jmeter:` paths looked for ('' for JMETER_HOME and the PATH), so a missing JMeter is said once. */
  private readonly jmeterChecked = new Set<string>();
  private nextStepId = 0;

  constructor(
    private readonly document: LoadedDocument,
    private readonly scenario: Scenario,
    /** What the scenario as written defines, when `scenario` is only the part the schema accepts. */
    private readonly written: Defined | undefined,
  ) {
    this.baseDir = dirname(resolvePath(document.file));
    this.variableNames = new Set([...Object.keys(scenario.variables ?? {}), ...(written?.variables ?? [])]);
    this.services = new Map(Object.entries(scenario.services ?? {}).map(([name, service]) => {
      const builtin = (service as { builtin?: string }).builtin;
      return [name, { builtin, postgres: 'postgres' in service }];
    }));
    for (const [name, service] of written?.services ?? []) {
      if (!this.services.has(name)) this.services.set(name, service);
    }
    this.dataNames = new Set([...Object.keys(scenario.data ?? {}), ...(written?.data ?? [])]);
    this.pluginNames = new Set([...Object.keys(scenario.plugins ?? {}), ...(written?.plugins ?? [])]);
  }

  /** Whether the scenario has this top-level key (as written: its value may have been left out). */
  private has(key: keyof Scenario): boolean {
    return this.scenario[key] !== undefined || this.written?.keys.has(key) === true;
  }

  compile(): Plan {
    const s = this.scenario;
    this.collectNames();
    // After collectNames, which reports duplicates among the names it compiles: these are the same names again.
    for (const name of this.written?.captures ?? []) this.captureNames.add(name);
    for (const name of this.written?.steps ?? []) this.stepNames.add(name);
    for (const name of this.written?.groups ?? []) this.groupNames.add(name);
    this.compileServices();
    this.compileData();
    const plugins = this.compilePlugins();
    const target = s.target === undefined ? undefined : this.template(s.target, ['target']);
    if (s.target !== undefined) this.checkHttpUrl(s.target, ['target']);
    const headers = this.templateMap(s.defaults?.headers, ['defaults', 'headers']);
    const timeoutMs = this.duration(s.defaults?.timeout, ['defaults', 'timeout'], { positive: true }) ?? DEFAULT_TIMEOUT_MS;

    const setup = s.setup ? this.flow(s.setup, { path: ['setup'], inLoop: false, group: undefined }, timeoutMs) : [];
    const workloads = this.compileWorkloads(timeoutMs);
    const teardown = s.teardown ? this.flow(s.teardown, { path: ['teardown'], inLoop: false, group: undefined }, timeoutMs) : [];

    const metrics = this.producedMetrics();
    const monitor = this.compileMonitor(metrics);
    const thresholds = this.compileThresholds(metrics, workloads);
    const reports = this.compileReports();

    return {
      name: s.name,
      description: s.description,
      file: this.document.file,
      seed: s.seed ?? 1,
      services: s.services ?? {},
      target,
      variables: s.variables ?? {},
      data: this.data,
      defaults: { timeoutMs, headers, connections: s.defaults?.connections ?? DEFAULT_CONNECTIONS, resendOnReset: s.defaults?.resend_on_reset ?? true, tls: this.compileTls() },
      setup,
      teardown,
      workloads,
      thresholds,
      monitor,
      reports,
      plugins,
      metrics: [...metrics].sort(),
      secrets: this.document.secrets,
    };
  }

  // ---- names ----------------------------------------------------------------------------------------------

  /** First pass: every capture, step and group name, so a template may use a capture made later in the flow. */
  private collectNames(): void {
    const s = this.scenario;
    const visit = (flow: Flow | undefined, path: PathSegment[]): void => {
      flow?.forEach((item, i) => {
        const here = [...path, i];
        if ('think' in item) return;
        if ('parallel' in item) return visit(item.parallel, [...here, 'parallel']);
        if ('then' in item) {
          visit(item.then, [...here, 'then']);
          return visit(item.else, [...here, 'else']);
        }
        if ('loop' in item) return visit(item.flow, [...here, 'flow']);
        if ('group' in item) {
          this.groupNames.add(item.group);
          return visit(item.flow, [...here, 'flow']);
        }
        if ('transaction' in item) return visit(item.flow, [...here, 'flow']);
        for (const name of Object.keys(item.capture ?? {})) {
          if (this.variableNames.has(name) && !this.captureNames.has(name)) {
            this.report('E_DUPLICATE_NAME', `capture "${name}" has the name of a variable`, 'rename the capture or the variable', [...here, 'capture', name], { key: true });
          }
          this.captureNames.add(name);
        }
        if (item.name !== undefined) {
          if (this.stepNames.has(item.name)) {
            this.report('E_DUPLICATE_NAME', `two steps are named "${item.name}"`, 'step names tag metrics and must be unique; rename one', [...here, 'name']);
          }
          this.stepNames.add(item.name);
        }
      });
    };
    visit(s.setup, ['setup']);
    if (s.flow) visit(s.flow, ['flow']);
    s.workloads?.forEach((w, i) => visit(w.flow, ['workloads', i, 'flow']));
    visit(s.teardown, ['teardown']);
  }

  // ---- services -------------------------------------------------------------------------------------------

  /** What the schema cannot say about a `postgres` service: its init file exists, its keys fit its form. */
  private compileServices(): void {
    for (const [name, service] of Object.entries(this.scenario.services ?? {})) {
      if (!('postgres' in service)) continue;
      const path = ['services', name];
      if (typeof service.postgres === 'object') {
        for (const key of ['database', 'user', 'port'] as const) {
          if (service[key] === undefined) continue;
          this.report('E_SCHEMA', `\`${key}\` applies to \`postgres: embedded\` only`, 'with `postgres: { url }` the URL names the host, port, user and database of the server: remove this key', [...path, key], { key: true });
        }
        if (!URL.canParse(service.postgres.url)) {
          this.report('E_FORMAT', 'the postgres url is not a URL', 'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)', [...path, 'postgres', 'url']);
        }
      }
      if (service.init !== undefined && initIsFile(service.init)) {
        const file = service.init.trim();
        const absolute = resolvePath(this.baseDir, file);
        if (!existsSync(absolute) || statSync(absolute).isDirectory()) {
          const what = existsSync(absolute) ? 'is a directory, not a file' : 'does not exist';
          this.report('E_DATA_MISSING', `init file ${file} ${what}`, `the path is relative to the scenario file; it resolves to ${absolute} (a single line ending in .sql names a file; write SQL text otherwise)`, [...path, 'init']);
        }
      }
      const timeouts: [string | undefined, PathSegment[], string][] = [
        [service.timeout, [...path, 'timeout'], 'give the start time to happen, such as 30s'],
        [service.pool?.connect_timeout, [...path, 'pool', 'connect_timeout'], 'give connecting time to happen, such as 10s'],
        [service.pool?.statement_timeout, [...path, 'pool', 'statement_timeout'], 'leave `statement_timeout` out for no limit, or give one such as 5s'],
      ];
      for (const [value, at, hint] of timeouts) {
        if (value !== undefined && parseDuration(value) === 0) this.report('E_DURATION_ZERO', `${value} is not a positive duration`, hint, at);
      }
    }
  }

  // ---- data, plugins --------------------------------------------------------------------------------------

  private compileData(): void {
    for (const [name, source] of Object.entries(this.scenario.data ?? {})) {
      const format = 'csv' in source ? 'csv' : 'json';
      const file = 'csv' in source ? source.csv : source.json;
      const path = ['data', name, format];
      const absolute = resolvePath(this.baseDir, file);
      const delimiter = 'csv' in source ? source.delimiter ?? ',' : ',';
      if (!existsSync(absolute) || statSync(absolute).isDirectory()) {
        const what = existsSync(absolute) ? 'is a directory, not a file' : 'does not exist';
        this.report('E_DATA_MISSING', `data file ${file} ${what}`, `the path is relative to the scenario file; it resolves to ${absolute}`, path);
        continue;
      }
      // Read whole below: a FIFO would wait for a writer and a device (/dev/zero) would never end.
      if (!statSync(absolute).isFile()) {
        const hint = 'a data file is a CSV or JSON file on disk; save the rows to a file and name it';
        this.report('E_DATA_INVALID', `data file ${file} is a pipe, socket or device, not a regular file`, hint, path);
        continue;
      }
      const columns = format === 'csv' ? this.csvColumns(absolute, delimiter, path) : this.jsonColumns(absolute, path);
      if (columns === undefined) continue;
      this.data[name] = { format, path: absolute, order: source.order ?? 'sequential', onExhausted: source.on_exhausted ?? 'stop', delimiter, columns };
    }
  }

  private csvColumns(file: string, delimiter: string, path: PathSegment[]): string[] | undefined {
    let table: CsvTable;
    try {
      table = parseCsvTable(readFileSync(file, 'utf8'), delimiter);
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      this.report('E_DATA_INVALID', `${file}: ${error.message}`, 'close the quote; a quote inside a quoted field is written twice: ""', path);
      return undefined;
    }
    if (table.rows.length === 0) {
      this.report('E_DATA_INVALID', `${file} has ${table.columns.length === 0 ? 'no header and no rows' : 'a header but no rows'}`, 'a CSV data file needs a header row and at least one data row', path);
      return undefined;
    }
    return table.columns;
  }

  private jsonColumns(file: string, path: PathSegment[]): string[] | undefined {
    let rows: unknown;
    try {
      rows = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      this.report('E_DATA_INVALID', `${file} is not valid JSON (${(error as Error).message})`, 'a JSON data file holds an array of objects', path);
      return undefined;
    }
    if (!Array.isArray(rows) || rows.length === 0 || !rows.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      this.report('E_DATA_INVALID', `${file} is not a non-empty array of objects`, 'a JSON data file holds an array of objects: [{"id": 1}, …]', path);
      return undefined;
    }
    return [...new Set(rows.flatMap((r) => Object.keys(r as object)))];
  }

  private compileTls(): Plan['defaults']['tls'] {
    const tls = this.scenario.defaults?.tls;
    let caFile: string | undefined;
    if (tls?.ca !== undefined) {
      caFile = resolvePath(this.baseDir, tls.ca);
      if (!existsSync(caFile)) this.report('E_DATA_MISSING', `CA file ${tls.ca} does not exist`, `the path is relative to the scenario file; it resolves to ${caFile}`, ['defaults', 'tls', 'ca']);
    }
    return { verify: tls?.verify ?? true, caFile };
  }

  private compilePlugins(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, module] of Object.entries(this.scenario.plugins ?? {})) {
      const absolute = resolvePath(this.baseDir, module);
      if (!existsSync(absolute)) {
        this.report('E_PLUGIN_MISSING', `plugin module ${module} does not exist`, `the path is relative to the scenario file; it resolves to ${absolute}`, ['plugins', name]);
      }
      out[name] = absolute;
    }
    return out;
  }

  // ---- workloads and load ---------------------------------------------------------------------------------

  private compileWorkloads(timeoutMs: number): PlannedWorkload[] {
    const s = this.scenario;
    if (s.workloads) {
      if (s.load !== undefined || s.flow !== undefined) {
        this.report('E_WORKLOADS', 'top-level `load`/`flow` and `workloads` cannot both be given', 'move the top-level load and flow into a workload of the list', [s.load !== undefined ? 'load' : 'flow'], { key: true });
      }
      const seen = new Set<string>();
      return s.workloads.flatMap((w, i) => {
        if (seen.has(w.name)) this.report('E_DUPLICATE_NAME', `two workloads are named "${w.name}"`, 'workload names tag metrics and must be unique', ['workloads', i, 'name']);
        seen.add(w.name);
        const startAfterMs = this.duration(w.start_after, ['workloads', i, 'start_after']) ?? 0;
        const warmup = w.warmup !== undefined ? { text: w.warmup, path: ['workloads', i, 'warmup'] } : this.scenarioWarmup();
        return this.workload(w.name, w.load, ['workloads', i, 'load'], w.flow, ['workloads', i, 'flow'], startAfterMs, timeoutMs, warmup);
      });
    }
    if (s.load === undefined || s.flow === undefined) {
      if (this.has('workloads') || (this.has('load') && this.has('flow'))) {
        // Written, but one was left out for a schema problem: that problem is reported; the other is checked.
        if (s.load !== undefined) this.load(s.load, ['load']);
        if (s.flow !== undefined) this.flow(s.flow, { path: ['flow'], inLoop: false, group: undefined }, timeoutMs);
        return [];
      }
      const given = this.has('load') ? 'load' : this.has('flow') ? 'flow' : undefined;
      const message = given === undefined ? 'the scenario has nothing to run' : `\`${given}\` needs \`${given === 'load' ? 'flow' : 'load'}\``;
      this.report('E_WORKLOADS', message, 'give top-level `load` and `flow`, or a list of `workloads`', given === undefined ? [] : [given], { key: true });
      return [];
    }
    return this.workload('default', s.load, ['load'], s.flow, ['flow'], 0, timeoutMs, this.scenarioWarmup());
  }

  private scenarioWarmup(): { text: string; path: PathSegment[] } | undefined {
    return this.scenario.warmup === undefined ? undefined : { text: this.scenario.warmup, path: ['warmup'] };
  }

  private workload(
    name: string, load: Load, loadPath: PathSegment[], flow: Flow, flowPath: PathSegment[], startAfterMs: number, timeoutMs: number,
    warmup: { text: string; path: PathSegment[] } | undefined,
  ): PlannedWorkload[] {
    const normalized = this.load(load, loadPath);
    const nodes = this.flow(flow, { path: flowPath, inLoop: false, group: undefined }, timeoutMs);
    if (!normalized) return [];
    const timeline = buildTimeline(normalized);
    const warmupMs = warmup === undefined ? 0 : this.duration(warmup.text, warmup.path) ?? 0;
    if (warmup !== undefined && timeline.durationMs > 0 && warmupMs >= timeline.durationMs) {
      this.report('E_RANGE', `the warm-up (${warmup.text}) is as long as the load of workload "${name}" (${formatDuration(timeline.durationMs)})`,
        'the warm-up is the first part of the load, not added to it: make it shorter than the stages, or add a stage', warmup.path);
    }
    return [{ name, startAfterMs, warmupMs, load: normalized, timeline, flow: nodes }];
  }

  private load(load: Load, path: PathSegment[]): OpenLoad | ClosedLoad | undefined {
    const stages: Stage[] = Array.isArray(load) ? load : load.stages;
    const stagesPath = Array.isArray(load) ? path : [...path, 'stages'];
    const options: { arrivals?: 'uniform' | 'poisson'; max_vus?: number } = Array.isArray(load) ? {} : load;
    const isClosed = stages.map((st) => ('users' in st ? true : 'pause' in st ? undefined : false));
    const closedCount = isClosed.filter((c) => c === true).length;
    const openCount = isClosed.filter((c) => c === false).length;
    if (closedCount > 0 && openCount > 0) {
      const minority = closedCount <= openCount ? true : false;
      const at = isClosed.indexOf(minority);
      this.report('E_LOAD_MIXED', 'this workload mixes arrival rates (open model) and `users` (closed model)', 'use one model per workload; put the other shape in a workload of its own', [...stagesPath, at]);
      return undefined;
    }
    const closed = closedCount > 0;
    if (closed && (options.arrivals !== undefined || options.max_vus !== undefined)) {
      this.report('E_LOAD_MIXED', '`arrivals` and `max_vus` belong to the open model, but these stages are `users` stages', 'remove them, or describe the load with rates', [...path, options.arrivals !== undefined ? 'arrivals' : 'max_vus'], { key: true });
    }
    let ok = true;
    const positive = (value: string | undefined, p: PathSegment[]): number => {
      const ms = this.duration(value, p, { positive: true });
      if (ms === undefined) ok = false;
      return ms ?? 0;
    };
    const optional = (value: string | undefined, p: PathSegment[]): number => this.duration(value, p) ?? 0;
    const rate = (value: string): number => parseRate(value) ?? 0;
    if (closed) {
      const closedStages: ClosedStage[] = stages.map((st, i): ClosedStage => {
        const p = [...stagesPath, i];
        if ('pause' in st) return { kind: 'pause', durationMs: positive(st.pause, [...p, 'pause']) };
        if (!('users' in st)) throw new Error('unreachable: open stage in a closed load');
        const rampUpMs = optional(st.ramp_up, [...p, 'ramp_up']);
        const rampDownMs = optional(st.ramp_down, [...p, 'ramp_down']);
        return { kind: 'users', users: st.users, rampUpMs, holdMs: this.holdOf(st, p, rampUpMs + rampDownMs, i === stages.length - 1), rampDownMs };
      });
      return ok ? { model: 'closed', stages: closedStages } : undefined;
    }
    const openStages: OpenStage[] = stages.map((st, i): OpenStage => {
      const p = [...stagesPath, i];
      if ('pause' in st) return { kind: 'pause', durationMs: positive(st.pause, [...p, 'pause']) };
      if ('rate' in st) return { kind: 'rate', rate: rate(st.rate), durationMs: positive(st.duration, [...p, 'duration']) };
      if ('ramp' in st) {
        const stage: OpenStage = { kind: 'ramp', to: rate(st.ramp.to), durationMs: positive(st.duration, [...p, 'duration']) };
        if (st.ramp.from !== undefined) stage.from = rate(st.ramp.from);
        return stage;
      }
      if ('spike' in st) {
        const durationMs = positive(st.duration, [...p, 'duration']);
        const riseMs = optional(st.spike.rise, [...p, 'spike', 'rise']);
        if (riseMs > durationMs) this.report('E_RANGE', 'the spike rises for longer than it lasts', '`rise` is part of `duration`; make it shorter', [...p, 'spike', 'rise']);
        return { kind: 'spike', to: rate(st.spike.to), riseMs, durationMs };
      }
      if ('burst' in st) return { kind: 'burst', iterations: st.burst.iterations, withinMs: optional(st.burst.within, [...p, 'burst', 'within']) };
      throw new Error('unreachable: closed stage in an open load');
    });
    return ok ? { model: 'open', stages: openStages, arrivals: options.arrivals ?? 'uniform', maxVus: options.max_vus ?? DEFAULT_MAX_VUS } : undefined;
  }

  /**
   * A users stage's hold: `hold`, or what `duration` (the stage's whole length, as open stages have it) leaves after
   * the ramps, or nothing: a stage of `users` alone sets the level the next stage starts from.
   */
  private holdOf(st: { hold?: string; duration?: string; ramp_up?: string; ramp_down?: string }, p: PathSegment[], rampsMs: number, last: boolean): number {
    if (st.hold !== undefined && st.duration !== undefined) {
      this.report('E_SCHEMA', 'a users stage takes `hold` or `duration`, not both', '`duration` is the whole stage (ramp_up + hold + ramp_down); `hold` only the time at `users`', [...p, 'duration'], { key: true });
      return 0;
    }
    if (st.hold !== undefined) return this.duration(st.hold, [...p, 'hold'], { positive: true }) ?? 0;
    if (st.duration !== undefined) {
      const durationMs = this.duration(st.duration, [...p, 'duration'], { positive: true }) ?? 0;
      if (durationMs > 0 && durationMs < rampsMs) {
        this.report('E_RANGE', `the stage lasts ${st.duration}, less than its ramps`, '`duration` is the whole stage: ramp_up + time at `users` + ramp_down', [...p, 'duration']);
      }
      return Math.max(0, durationMs - rampsMs);
    }
    if (last && rampsMs === 0) {
      this.report('E_DURATION_ZERO', 'the last stage has no length', 'a users stage without `hold`, `duration` or ramps only sets the level for the next stage: give it `duration: 1m`', [...p, 'users'], { key: true });
    }
    return 0;
  }

  // ---- flows ----------------------------------------------------------------------------------------------

  private flow(items: Flow, ctx: FlowContext, timeoutMs: number): FlowNode[] {
    return items.map((item, i) => this.item(item, { ...ctx, path: [...ctx.path, i] }, timeoutMs));
  }

  private item(item: FlowItem, ctx: FlowContext, timeoutMs: number): FlowNode {
    const p = ctx.path;
    if ('think' in item) {
      const range = parseThink(item.think);
      if (range && range.minMs > range.maxMs) this.report('E_RANGE', `think time ${item.think} runs backwards`, 'write the shorter time first: MIN..MAX', [...p, 'think']);
      return { type: 'think', minMs: range?.minMs ?? 0, maxMs: range?.maxMs ?? 0 };
    }
    if ('parallel' in item) return { type: 'parallel', branches: this.flow(item.parallel, { ...ctx, path: [...p, 'parallel'] }, timeoutMs) };
    if ('then' in item) {
      return {
        type: 'if',
        condition: this.expression(item.if, [...p, 'if'], 'condition'),
        then: this.flow(item.then, { ...ctx, path: [...p, 'then'] }, timeoutMs),
        else: item.else ? this.flow(item.else, { ...ctx, path: [...p, 'else'] }, timeoutMs) : [],
      };
    }
    if ('loop' in item) {
      const body = this.flow(item.flow, { ...ctx, path: [...p, 'flow'], inLoop: true }, timeoutMs);
      if (typeof item.loop === 'number') return { type: 'loop', count: item.loop, while: undefined, max: item.loop, body };
      const condition = item.loop.while === undefined ? undefined : this.expression(item.loop.while, [...p, 'loop', 'while'], 'condition');
      return { type: 'loop', count: item.loop.count, while: condition, max: item.loop.count ?? item.loop.max ?? DEFAULT_WHILE_MAX, body };
    }
    if ('group' in item) return { type: 'group', name: item.group, body: this.flow(item.flow, { ...ctx, path: [...p, 'flow'], group: item.group }, timeoutMs) };
    if ('transaction' in item) return this.transaction(item, ctx, timeoutMs);
    return this.step(item, ctx, timeoutMs);
  }

  private transaction(item: Extract<FlowItem, { transaction: string }>, ctx: FlowContext, timeoutMs: number): TransactionNode {
    const p = ctx.path;
    const id = this.nextStepId++;
    const body = this.flow(item.flow, { ...ctx, path: [...p, 'flow'] }, timeoutMs);
    // One connection runs the transaction: only SQL steps belong in it (think, loop, if and group around them).
    const visit = (nodes: FlowNode[], path: PathSegment[]): void => nodes.forEach((node, i) => {
      if (node.type === 'step' && node.kind !== 'sql') {
        this.report('E_STEP_KIND', `step "${node.name}" is a ${node.kind} step inside transaction "${item.transaction}"`, 'a transaction holds SQL steps only: move the step out of it', [...path, i]);
      } else if (node.type === 'parallel') {
        this.report('E_STEP_KIND', `\`parallel\` inside transaction "${item.transaction}"`, 'a transaction runs on one connection, one statement at a time: write its steps in order', [...path, i]);
      } else if (node.type === 'transaction') {
        this.report('E_STEP_KIND', `transaction "${node.name}" inside transaction "${item.transaction}"`, 'transactions do not nest: write the steps in the outer one', [...path, i]);
      } else if (node.type === 'loop' || node.type === 'group') visit(node.body, [...path, i, 'flow']);
      else if (node.type === 'if') {
        visit(node.then, [...path, i, 'then']);
        visit(node.else, [...path, i, 'else']);
      }
    });
    visit(body, [...p, 'flow']);
    this.checkDatabase(item.db, [...p, 'db'], 'transaction');
    const retry = item.retry;
    return {
      type: 'transaction',
      id,
      name: item.transaction,
      isolation: item.isolation === 'serializable' ? 'serializable' : item.isolation === 'repeatable_read' ? 'repeatable read' : 'read committed',
      db: item.db === undefined ? undefined : this.tree(item.db, [...p, 'db'], ctx),
      retry: {
        attempts: retry === undefined ? 0 : retry.attempts ?? DEFAULT_TRANSACTION_RETRIES,
        backoffMs: retry?.backoff === undefined ? DEFAULT_TRANSACTION_BACKOFF_MS : (parseDuration(retry.backoff) ?? DEFAULT_TRANSACTION_BACKOFF_MS),
        sqlstates: (retry?.on ?? ['deadlock', 'serialization_failure']).map((o) => RETRYABLE_SQLSTATE[o]),
      },
      body,
      location: this.document.locate([...p, 'transaction']),
    };
  }

  private step(step: Step, ctx: FlowContext, defaultTimeoutMs: number): StepNode {
    const p = ctx.path;
    const { kind, request, summary, plugin } = this.request(step, ctx);
    this.stepKinds.add(kind);
    const responseNames = kind === 'plugin' ? undefined : RESPONSE_NAMES[kind];
    const expects = step.expect === undefined ? [] : Array.isArray(step.expect) ? step.expect : [step.expect];
    const retry = this.retry(step, p, responseNames);
    const tags: Record<string, string> = { ...(step.tags ?? {}) };
    if (ctx.group !== undefined) tags['group'] = ctx.group;
    return {
      type: 'step',
      id: this.nextStepId++,
      name: step.name ?? summary,
      kind,
      plugin,
      summary,
      request,
      tags,
      condition: step.if === undefined ? undefined : this.expression(step.if, [...p, 'if'], 'condition'),
      expects: expects.map((e, i) => this.expression(e, Array.isArray(step.expect) ? [...p, 'expect', i] : [...p, 'expect'], 'response', responseNames)),
      captures: Object.entries(step.capture ?? {}).map(([name, capture]) => (typeof capture === 'string'
        ? { name, expression: this.expression(capture, [...p, 'capture', name], 'value', responseNames), required: false }
        : { name, expression: this.expression(capture.expr, [...p, 'capture', name, 'expr'], 'value', responseNames), required: capture.required ?? false })),
      // A JMeter plan runs as long as it runs (its thread groups decide): no step timeout unless one is given.
      timeoutMs: this.duration(step.timeout, [...p, 'timeout'], { positive: true }) ?? (step.jmeter ? Infinity : defaultTimeoutMs),
      retry,
      location: this.document.locate(p),
    };
  }

  private request(step: Step, ctx: FlowContext): { kind: StepKind; request: TemplateTree; summary: string; plugin: string | undefined } {
    const p = ctx.path;
    if (step.http) {
      const method = HTTP_METHODS.find((m) => step.http?.[m] !== undefined)!;
      const url = step.http[method]!;
      if (isAbsoluteUrl(url)) this.checkHttpUrl(url, [...p, 'http', method]);
      if (!this.has('target') && !/^(https?:\/\/|\{\{)/.test(url)) {
        this.report('E_TARGET_MISSING', `"${url}" is a relative URL but the scenario has no \`target\``, 'add `target: http://HOST:PORT` (or `target: "{{services.api.url}}"`), or write the full URL', [...p, 'http', method]);
      }
      // The summary names an unnamed step (its metrics' tag, the console): never with a password written in the URL.
      const summary = `${method.toUpperCase()} ${redactUrlPasswords(url)}`;
      return { kind: 'http', request: this.tree(step.http, [...p, 'http'], ctx), summary, plugin: undefined };
    }
    if (step.sql) {
      if (step.sql.query.includes('{{')) {
        const location = this.document.locateInString([...p, 'sql', 'query'], step.sql.query.indexOf('{{'));
        this.problems.push(problem('E_SQL_TEMPLATE', 'SQL text cannot hold templates', 'write $1, $2 … in the query and pass the values in `params` (they are bound, never spliced into SQL)', location));
      }
      const { query, explain, ...rest } = step.sql;
      const request = this.tree(rest, [...p, 'sql'], ctx) as Record<string, TemplateTree>;
      request['query'] = staticTemplate(query);
      if (explain !== undefined && explain !== false) {
        const mode = explain === 'analyze' ? 'analyze' : 'plan';
        request['explain'] = staticTemplate(mode);
        const keyword = /^\s*(?:\(\s*)?([a-z]+)/i.exec(query)?.[1]?.toUpperCase();
        if (keyword === undefined || !EXPLAINABLE.has(keyword)) {
          this.report('E_SQL_EXPLAIN', `PostgreSQL cannot EXPLAIN a ${keyword ?? 'statement'} statement`,
            `explain a SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES or WITH … query; remove \`explain\` from this step`, [...p, 'sql', 'explain']);
        }
      }
      this.checkDatabase(step.sql.db, [...p, 'sql', 'db'], 'SQL step');
      return { kind: 'sql', request, summary: query.replace(/\s+/g, ' ').trim().slice(0, 60), plugin: undefined };
    }
    if (step.github) {
      const { request: route, write_interval: writeInterval, max_wait: maxWait, ...rest } = step.github;
      const request = this.tree(rest, [...p, 'github'], ctx) as Record<string, TemplateTree>;
      request['request'] = staticTemplate(route);
      const writeMs = this.duration(writeInterval, [...p, 'github', 'write_interval']);
      const maxWaitMs = this.duration(maxWait, [...p, 'github', 'max_wait']);
      if (writeMs !== undefined) request['write_interval'] = writeMs;
      if (maxWaitMs !== undefined) request['max_wait'] = maxWaitMs;
      this.checkGithubRequest(step.github, [...p, 'github']);
      return { kind: 'github', request, summary: route, plugin: undefined };
    }
    if (step.jmeter) {
      const plan = resolvePath(this.baseDir, step.jmeter.plan);
      if (!existsSync(plan)) this.report('E_DATA_MISSING', `JMeter plan ${step.jmeter.plan} does not exist`, `the path is relative to the scenario file; it resolves to ${plan}`, [...p, 'jmeter', 'plan']);
      this.checkJmeterInstalled(step.jmeter.jmeter, [...p, 'jmeter']);
      const { plan: _plan, ...rest } = step.jmeter;
      const request = this.tree(rest, [...p, 'jmeter'], ctx) as Record<string, TemplateTree>;
      request['plan'] = staticTemplate(plan);
      return { kind: 'jmeter', request, summary: `jmeter ${step.jmeter.plan}`, plugin: undefined };
    }
    const name = step.use!;
    if (!this.pluginNames.has(name)) {
      const hint = didYouMean(name, this.pluginNames) ?? `declare it: plugins: { ${name}: ./path/to/${name}.js }`;
      const message = `step uses plugin "${name}" that \`plugins:\` does not declare`;
      this.report('E_PLUGIN_MISSING', message, hint, [...p, 'use']);
    }
    return { kind: 'plugin', request: this.tree(step.with ?? {}, [...p, 'with'], ctx), summary: `use ${name}`, plugin: name };
  }

  private retry(step: Step, p: PathSegment[], responseNames: readonly string[] | undefined): RetryPolicy | undefined {
    if (step.retry === undefined) return undefined;
    if (typeof step.retry === 'number') return { attempts: step.retry, backoffMs: 100, on: undefined };
    return {
      attempts: step.retry.attempts,
      backoffMs: this.duration(step.retry.backoff, [...p, 'retry', 'backoff']) ?? 100,
      on: step.retry.on === undefined ? undefined : this.expression(step.retry.on, [...p, 'retry', 'on'], 'response', responseNames),
    };
  }

  // ---- thresholds and monitor -----------------------------------------------------------------------------

  private producedMetrics(): Set<string> {
    const metrics = new Set<string>();
    const kinds = new Set([...this.stepKinds, ...(this.written?.kinds ?? [])]);
    if (kinds.size > 0) for (const m of CORE_METRICS) metrics.add(m.name);
    if (this.groupNames.size > 0) for (const m of GROUP_METRICS) metrics.add(m.name);
    for (const kind of kinds) if (kind !== 'plugin') for (const m of STEP_METRICS[kind]) metrics.add(m.name);
    // A github step's requests are HTTP requests of the step.
    if (kinds.has('github')) for (const m of STEP_METRICS.http) metrics.add(m.name);
    for (const { builtin } of this.services.values()) {
      if (builtin !== undefined && Object.hasOwn(SERVICE_METRICS, builtin)) for (const m of SERVICE_METRICS[builtin as keyof typeof SERVICE_METRICS]) metrics.add(m.name);
    }
    return metrics;
  }

  /** Formats this version does not write are accepted (the schema names them) and said, never skipped silently. */
  private compileReports(): Plan['reports'] {
    const reports = this.scenario.report ?? ['console'];
    reports.forEach((r, i) => {
      const format = typeof r === 'string' ? r : r.format;
      if (WRITTEN_REPORTS.includes(format)) return;
      this.warn('W_REPORT_FORMAT', `${format} reports are not written by this version of perfy`, `the formats written now: ${WRITTEN_REPORTS.join(', ')}; the JSON result (--out DIR) holds everything measured`, typeof r === 'string' ? ['report', i] : ['report', i, 'format']);
    });
    return reports.map((r) => (typeof r === 'string' ? { format: r, path: undefined } : { format: r.format, path: r.path }));
  }

  /**
   * `monitor:` is checked (processes, alert expressions, leak settings) so a scenario written for the monitor
   * stays valid, but this version samples no process: a warning says so, and thresholds cannot read process.*.
   */
  private compileMonitor(produced: Set<string>): PlannedMonitor | undefined {
    const m = this.scenario.monitor;
    if (!m) return undefined;
    this.warn('W_MONITOR_INACTIVE', '`monitor:` is not active in this version of perfy: no process is sampled and no alert is judged', 'perfy\'s own CPU and event-loop lag are measured (engine.*); thresholds cannot read process.* metrics yet', ['monitor'], { key: true });
    const metrics = new Set([...produced, ...PROCESS_METRICS.map((p) => p.name)]);
    const known = ['self', ...this.services.keys()];
    m.processes?.forEach((name, i) => {
      if (!known.includes(name)) this.report('E_SERVICE_UNKNOWN', `"${name}" is neither \`self\` nor a service`, didYouMean(name, known) ?? `watchable here: ${known.join(', ')}`, ['monitor', 'processes', i]);
    });
    const processes = m.processes ?? known;
    const alerts = (m.alerts ?? []).map((a, i) => {
      const source = typeof a === 'string' ? a : a.expr;
      const path: PathSegment[] = typeof a === 'string' ? ['monitor', 'alerts', i] : ['monitor', 'alerts', i, 'expr'];
      const expression = this.expression(source, path, 'metrics');
      this.checkMetrics(expression, path, metrics, processes);
      return { source, expression, abort: typeof a === 'string' ? false : a.abort ?? false, location: this.document.locate(path) };
    });
    let leak: PlannedMonitor['leak'];
    if (m.leak) {
      leak = {
        windowMs: this.duration(m.leak.window, ['monitor', 'leak', 'window'], { positive: true }) ?? 30_000,
        maxGrowthBytesPerSecond: parseSizeRate(m.leak.max_growth) ?? 0,
      };
    }
    return { processes, intervalMs: this.duration(m.interval, ['monitor', 'interval'], { positive: true }) ?? 1000, alerts, leak };
  }

  private compileThresholds(metrics: Set<string>, workloads: PlannedWorkload[]): PlannedThreshold[] {
    const watched = this.has('monitor') ? this.scenario.monitor?.processes ?? ['self', ...this.services.keys()] : [];
    const workloadNames = [...new Set([...workloads.map((w) => w.name), ...(this.written?.workloads ?? [])])];
    return (this.scenario.thresholds ?? []).map((t, i) => {
      const source = typeof t === 'string' ? t : t.expr;
      const path: PathSegment[] = typeof t === 'string' ? ['thresholds', i] : ['thresholds', i, 'expr'];
      const expression = this.expression(source, path, 'metrics');
      this.checkMetrics(expression, path, metrics, watched, workloadNames);
      return {
        source,
        expression,
        abort: typeof t === 'string' ? false : t.abort ?? false,
        afterMs: typeof t === 'string' ? 0 : this.duration(t.after, ['thresholds', i, 'after']) ?? 0,
        description: typeof t === 'string' ? undefined : t.description,
        location: this.document.locate(path),
      };
    });
  }

  /** Metrics, tag filters and processes of a threshold or alert must name things this scenario has. */
  private checkMetrics(expression: CompiledExpression, path: PathSegment[], metrics: Set<string>, processes: string[], workloads?: string[]): void {
    const locate = (offset: number): SourceLocation => this.document.locateInString(path, offset);
    for (const ref of expression.metrics) {
      const fromPlugin = [...this.pluginNames].some((name) => ref.metric.startsWith(`${name}.`));
      if (!metrics.has(ref.metric) && !fromPlugin) {
        const produced = [...metrics];
        if (PROCESS_METRICS.some((p) => p.name === ref.metric)) {
          this.problems.push(problem('E_THRESHOLD_METRIC', `\`${ref.metric}\` is not measured by this version of perfy: \`monitor:\` samples no process yet`, 'remove the threshold; perfy\'s own load is measured as engine.lag and engine.cpu', locate(ref.offset)));
        } else {
          this.problems.push(problem('E_THRESHOLD_METRIC', `no step or monitor of this scenario produces \`${ref.metric}\``, didYouMean(ref.metric, produced) ?? `metrics here: ${produced.sort().join(', ')}`, locate(ref.offset)));
        }
      }
      const names = new Map<string, Set<string>>([['step', this.stepNames], ['group', this.groupNames]]);
      if (workloads) names.set('workload', new Set(workloads));
      for (const [tag, value] of Object.entries(ref.tags)) {
        const known = names.get(tag);
        if (known && !known.has(value)) {
          this.problems.push(problem('E_TAG_UNKNOWN', `there is no ${tag} named "${value}"`, didYouMean(value, known) ?? (known.size ? `${tag}s here: ${[...known].join(', ')}` : `give the ${tag} a name`), locate(ref.tagOffsets[tag] ?? ref.offset)));
        }
      }
    }
    for (const proc of expression.processes) {
      if (!processes.includes(proc.name)) {
        this.problems.push(problem('E_SERVICE_UNKNOWN', `process "${proc.name}" is not watched by \`monitor.processes\``, didYouMean(proc.name, processes) ?? `add it to monitor.processes (self or a service name)`, locate(proc.offset)));
      }
    }
  }

  // ---- expressions, templates, durations ------------------------------------------------------------------

  /**
   * Compiles an expression and checks the names it reads:
   * `response` (expect, retry.on): the step kind's response fields, variables and captures;
   * `value` (capture): the same, any value; `condition` (if, while): variables, captures and the last response;
   * `metrics` (thresholds, alerts): no free names, only metric functions.
   */
  private expression(source: string, path: PathSegment[], context: 'response' | 'value' | 'condition' | 'metrics', responseNames?: readonly string[]): CompiledExpression {
    const locate = (offset: number): SourceLocation => this.document.locateInString(path, offset);
    let compiled: CompiledExpression;
    try {
      compiled = compileExpression(source, locate);
    } catch (error) {
      if (!(error instanceof PerfyError)) throw error;
      this.problems.push(...error.problems);
      return compileExpression('false');
    }
    const allowed = new Set<string>(context === 'metrics' ? [] : [...this.variableNames, ...this.captureNames, ...BUILTIN_NAMES]);
    if (context !== 'metrics') for (const n of responseNames ?? (context === 'condition' || context === 'response' || context === 'value' ? ALL_RESPONSE_NAMES : [])) allowed.add(n);
    const anyResponse = responseNames === undefined && (context === 'response' || context === 'value');
    for (const { name, offset } of compiled.names) {
      if (allowed.has(name) || anyResponse) continue;
      const hint = context === 'metrics'
        ? 'thresholds and alerts read metrics through functions: p95(http.duration), rate(http.errors), count(iterations), cpu(api)'
        : didYouMean(name, allowed) ?? `names here: ${[...allowed].join(', ')}`;
      this.problems.push(problem('E_EXPR_UNKNOWN', `\`${name}\` is not defined here`, hint, locate(offset)));
    }
    if (context !== 'metrics' && compiled.sustainMs !== undefined) {
      const at = source.search(/\bfor\s+(?:[\d.]+[a-z]+)+\s*$/);
      this.problems.push(problem('E_EXPR_WINDOW', 'a `for` window only applies to thresholds and alerts', 'an expect or condition is judged once, on one response: remove `for …`', locate(Math.max(0, at))));
    }
    const kind = compiled.kind;
    if (context !== 'value' && kind !== 'bool' && kind !== 'unknown') {
      this.problems.push(problem('E_EXPR_TYPE', `this is a ${kind}, not a condition`, 'compare it with something: `status == 200`, `p95(http.duration) < 300ms`', locate(0)));
    }
    return compiled;
  }

  private template(source: string, path: PathSegment[], ctx?: FlowContext): Template {
    const locate = (offset: number): SourceLocation => this.document.locateInString(path, offset);
    let template: Template;
    try {
      template = compileTemplate(source, locate);
    } catch (error) {
      if (!(error instanceof PerfyError)) throw error;
      this.problems.push(...error.problems);
      return compileTemplate('');
    }
    for (const { path: name, offset } of template.names) {
      const unknown = this.unknownTemplateName(name, ctx);
      if (unknown) this.problems.push(problem('E_TEMPLATE_UNKNOWN', unknown.message, unknown.hint, locate(offset)));
    }
    return template;
  }

  /** Why a template name does not resolve, or undefined when it does. */
  private unknownTemplateName(path: string[], ctx: FlowContext | undefined): { message: string; hint: string } | undefined {
    const [root, second, third] = path;
    const name = path.join('.');
    if (root === undefined) return { message: 'empty template name', hint: 'write {{name}}' };
    if (this.variableNames.has(root) || this.captureNames.has(root)) return undefined;
    switch (root) {
      case 'vu':
      case 'iteration':
      case 'workload':
      case 'scenario':
      case 'target':
        return undefined;
      case 'loop':
        if (second !== 'index') return { message: `{{${name}}} does not exist`, hint: 'inside a loop, {{loop.index}} counts rounds from 0' };
        return ctx?.inLoop === false ? { message: '{{loop.index}} is used outside a loop', hint: 'move the step into a `loop:` flow' } : undefined;
      case 'env':
        return { message: `{{${name}}} is not a template name`, hint: `environment variables are read when the file loads: \${env.${second ?? 'NAME'}}` };
      case 'data': {
        const sources = [...this.dataNames];
        if (second === undefined || !sources.includes(second)) {
          return { message: `there is no data source "${second ?? ''}"`, hint: didYouMean(second ?? '', sources) ?? (sources.length ? `data sources: ${sources.join(', ')}` : 'declare one under `data:`') };
        }
        const columns = this.data[second]?.columns;
        if (third === undefined) return { message: `{{${name}}} needs a column`, hint: `write {{data.${second}.COLUMN}}${columns ? `; columns: ${columns.join(', ')}` : ''}` };
        if (columns && !columns.includes(third)) return { message: `data source "${second}" has no column "${third}"`, hint: didYouMean(third, columns) ?? `columns: ${columns.join(', ')}` };
        return undefined;
      }
      case 'services': {
        const services = [...this.services.keys()];
        if (second === undefined || !services.includes(second)) {
          return { message: `there is no service "${second ?? ''}"`, hint: didYouMean(second ?? '', services) ?? (services.length ? `services: ${services.join(', ')}` : 'declare it under `services:`') };
        }
        if (third !== undefined && !['url', 'host', 'port'].includes(third)) return { message: `services have no "${third}"`, hint: `use {{services.${second}.url}}, .host or .port` };
        return undefined;
      }
      default: {
        const candidates = [...this.variableNames, ...this.captureNames, 'vu', 'iteration', 'workload', 'data', 'services'];
        return { message: `\`${root}\` is not a variable, capture, data source or service`, hint: didYouMean(root, candidates) ?? 'define it under `variables:`, or capture it in an earlier step' };
      }
    }
  }

  private templateMap(map: Record<string, string> | undefined, path: PathSegment[]): Record<string, Template> {
    const out: Record<string, Template> = {};
    for (const [key, value] of Object.entries(map ?? {})) out[key] = this.template(value, [...path, key]);
    return out;
  }

  /** Compiles every string of a step's settings as a template. */
  private tree(value: unknown, path: PathSegment[], ctx: FlowContext): TemplateTree {
    if (typeof value === 'string') return this.template(value, path, ctx);
    if (value === null || typeof value !== 'object') return value as number | boolean | null;
    if (Array.isArray(value)) return value.map((v, i) => this.tree(v, [...path, i], ctx));
    const out: Record<string, TemplateTree> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.tree(v, [...path, k], ctx);
    return out;
  }

  private duration(value: string | undefined, path: PathSegment[], options: { positive?: boolean } = {}): number | undefined {
    if (value === undefined) return undefined;
    const ms = parseDuration(value);
    if (ms === undefined) return undefined; // the schema reported it
    if (options.positive && ms <= 0) {
      this.report('E_DURATION_ZERO', `${value} is not a positive duration`, 'give it a length such as 30s (a stage that should not run is removed, not given 0s)', path);
      return undefined;
    }
    return ms;
  }

  /**
   * The `db:` of a SQL step or transaction names a postgres service, or is a postgres:// URL (or a template,
   * judged when the run starts); without it the scenario must have exactly one postgres service.
   */
  private checkDatabase(db: string | undefined, path: PathSegment[], what: 'SQL step' | 'transaction'): void {
    if (db !== undefined && (db.includes('{{') || /^postgres(ql)?:\/\//.test(db))) return;
    const postgres = [...this.services].filter(([, service]) => service.postgres).map(([name]) => name);
    if (db === undefined) {
      if (postgres.length === 1) return;
      this.report('E_SERVICE_UNKNOWN', `this ${what} does not say which database to use`,
        postgres.length === 0 ? 'declare one under `services:` (`db: { postgres: embedded }`) or give `db: postgres://…`' : `name one of the postgres services in \`db:\`: ${postgres.join(', ')}`,
        path.slice(0, -1));
      return;
    }
    if (postgres.includes(db)) return;
    const why = this.services.has(db) ? `"${db}" is a service, but not a postgres one` : `there is no service "${db}"`;
    this.report('E_SERVICE_UNKNOWN', `${why}: \`db:\` names a postgres service or is a postgres:// URL`,
      didYouMean(db, postgres) ?? (postgres.length ? `the postgres services: ${postgres.join(', ')}` : 'declare one under `services:` (`db: { postgres: embedded }`)'), path);
  }

  /** A github step's route is `METHOD /path`, its `{name}` parts have params, and `api:` names something it can use. */
  private checkGithubRequest(github: NonNullable<Step['github']>, path: PathSegment[]): void {
    let names: string[] = [];
    try {
      names = parseRoute(github.request).names;
    } catch (error) {
      this.report('E_GITHUB_REQUEST', (error as Error).message, 'write the method and the path as GitHub\'s docs do: "GET /repos/{owner}/{repo}/issues"', [...path, 'request']);
    }
    const missing = names.filter((name) => !Object.hasOwn(github.params ?? {}, name));
    if (missing.length) {
      this.report('E_GITHUB_REQUEST', `"${github.request}" needs ${missing.map((n) => `params.${n}`).join(', ')}`, `add them: params: { ${missing.map((n) => `${n}: …`).join(', ')} }`, [...path, 'request']);
    }
    const api = github.api;
    if (api !== undefined && (api.includes('{{') || /^https?:\/\//.test(api))) return;
    const mocks = [...this.services].filter(([, service]) => service.builtin === 'github-mock').map(([name]) => name);
    if (api === undefined) {
      if (mocks.length === 1) return;
      this.report('E_SERVICE_UNKNOWN', 'this github step does not say which API to call',
        mocks.length === 0 ? 'give `api: https://api.github.com` (or a GitHub Enterprise URL), or declare `gh: { builtin: github-mock }` under `services:`' : `name one of the github-mock services in \`api:\`: ${mocks.join(', ')}`, path);
      return;
    }
    if (this.services.has(api)) return;
    const hint = didYouMean(api, this.services.keys()) ?? 'declare it under `services:`, or write the URL';
    const message = `there is no service "${api}": \`api:\` names a service or is an http(s) URL`;
    this.report('E_SERVICE_UNKNOWN', message, hint, [...path, 'api']);
  }

  /**
   * `validate` says that a jmeter step will fail for want of JMeter, as `perfy doctor` would: the same search as
   * at run time (the step's path, JMETER_HOME, the PATH), file checks only. Once per JMeter looked for.
   */
  private checkJmeterInstalled(explicit: string | undefined, stepPath: PathSegment[]): void {
    if (explicit?.includes('{{') || this.jmeterChecked.has(explicit ?? '')) return;
    this.jmeterChecked.add(explicit ?? '');
    try {
      findJmeterHome(explicit);
    } catch (error) {
      if (!(error instanceof PerfyError)) throw error;
      const found = error.problems[0]!;
      const at = explicit === undefined ? stepPath : [...stepPath, 'jmeter'];
      this.warn('W_JMETER_MISSING', `${found.message}: this step will fail when the scenario runs`,
        `${found.hint ?? ''}; \`perfy doctor\` shows what perfy finds`, at, { key: explicit === undefined });
    }
  }

  /** E_FORMAT at the wrong part of a URL that must be absolute http(s) (a template may stand for any part). */
  private checkHttpUrl(url: string, path: PathSegment[]): void {
    const wrong = httpUrlProblem(url);
    if (wrong === undefined) return;
    this.problems.push(problem('E_FORMAT', wrong.message, wrong.hint, this.document.locateInString(path, wrong.offset)));
  }

  private report(code: ErrorCode, message: string, hint: string, path: PathSegment[], options?: { key?: boolean }): void {
    this.problems.push(problem(code, message, hint, this.document.locate(path, options)));
  }

  private warn(code: ErrorCode & `W_${string}`, message: string, hint: string, path: PathSegment[], options?: { key?: boolean }): void {
    this.warnings.push(problem(code, message, hint, this.document.locate(path, options)));
  }
}
