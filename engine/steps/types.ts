// The step-kind contract: what one kind of step (http, sql, github, jmeter, a plugin) gives perfy. The kind's
// door (its folder's index.ts) holds what validating needs; its runner and summary load only when a run asks.

import type { Plan, StepNode } from '../compile/plan.js';
import type { Template, TemplateTree } from '../compile/template.js';
import type { ErrorCode } from '../errors.js';
import type { PathSegment } from '../load/index.js';
import type { MetricInfo } from '../metrics/catalog.js';
import type { MetricStore, ResultMetric, ResultSample, Tags } from '../metrics/types.js';
import type { Segment } from '../segment.js';
import type { CookieJar } from './http/cookies.js';

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

/**
 * One kind of step. Built-in kinds are listed in engine/steps/index.ts; a plugin module's default export has the
 * same shape. Nothing here loads the kind's runtime: `executor` and `summary` are imported when asked for.
 */
export interface StepKind {
  /** The key a step of this kind is written with (`http:`); for a plugin, its metrics' prefix. */
  name: string;
  /**
   * The JSON Schema of the step's settings (the value of `http:`; of `with:` for a plugin). Built-in fragments are
   * assembled into schema/scenario.schema.json (`npm run generate`) under `$defs[definition]`; a plugin's is
   * checked when the scenario is validated.
   */
  schema: JsonSchema;
  /** Built-in kinds: the name of the fragment under `$defs` of the assembled schema. */
  definition?: string;
  /** What `expect`, `capture` and `retry.on` may read of a response; undefined: anything (not checked). */
  fields: readonly string[] | undefined;
  /** The metrics steps of this kind produce: thresholds may read them, docs/metrics.md lists them. */
  metrics: readonly MetricInfo[];
  /** Other kinds whose metrics steps of this kind produce too (a github step's requests are HTTP requests). */
  alsoProduces?: readonly string[];
  /** The step's settings (already valid against `schema`) → its compiled request, bound to its executor. */
  compile(settings: unknown, at: StepCompiler): CompiledStep;
  /** Lines the end-of-run summary shows for this kind, loaded with the console reporter. */
  summary?: () => Promise<StepSummary>;
  /** Its sections of the HTML and Markdown reports, loaded with them. */
  sections?: () => Promise<StepSections>;
}

/** What a kind's compile returns: its request and executor bound together (see `bindStep`). */
export interface CompiledStep {
  /** `GET /debates?topic={{topic}}`, `SELECT …`: names an unnamed step in its metrics and reports. */
  summary: string;
  /** The step's timeout when the scenario gives none: undefined for `defaults.timeout`, Infinity for none. */
  defaultTimeoutMs?: number;
  /**
   * Open model: the trend that also records the step's time measured from when its iteration was meant to start
   * (corrected for coordinated omission), tagged `expected` like the kind's own; absent: not recorded.
   */
  correctedMetric?: string;
  /**
   * The connections the step's requests hold: steps with the same key share a pool of up to `defaults.connections`
   * per thread, which perfy's open-file estimate counts once. Absent: none of its own (a SQL step's pool is
   * counted with its service).
   */
  connectionPool?: string;
  call: StepCall;
}

/** What a kind's compile may say of a step besides its request (see CompiledStep). */
export type StepOptions = Omit<CompiledStep, 'summary' | 'call'>;

/**
 * A compiled request with the executor that runs it. Kept as a function so the request's type, known only to
 * its kind, reaches that kind's executor intact: the runtime calls `step.call((request, source) => …)`.
 */
export type StepCall = <T>(use: <Request>(request: Request, executor: ExecutorSource<Request>) => T) => T;

/** Binds a request to the executor of its kind (a kind's compile returns this). */
export function bindStep<Request>(
  summary: string, request: Request, executor: ExecutorSource<Request>, options: StepOptions = {},
): CompiledStep {
  const call: StepCall = (use) => use(request, executor);
  return { ...options, summary, call };
}

/** A step of a plan with its request in the type its kind compiled it to: what an executor's `create` receives. */
export type StepOf<Request> = StepNode & { request: Request };

/** What a kind's compile may use: templates, durations, files, problems, all positioned in the scenario. */
export interface StepCompiler {
  /** Where the settings are: `['flow', 2, 'http']`. */
  readonly path: PathSegment[];
  /** Every string of `value` compiled as a template (at `path`), the names it reads checked. */
  tree(value: unknown, path: PathSegment[]): TemplateTree;
  template(text: string, path: PathSegment[]): Template;
  /** Milliseconds, or undefined (absent, or a problem already reported). */
  duration(text: string | undefined, path: PathSegment[], options?: { positive?: boolean }): number | undefined;
  /** A problem at `path` (the key itself with `key`; a character inside the string with `offset`). */
  problem(code: ErrorCode, message: string, hint: string, path: PathSegment[], options?: At): void;
  warning(code: ErrorCode & `W_${string}`, message: string, hint: string, path: PathSegment[], options?: At): void;
  /** A path written in the scenario, made absolute (relative to the scenario file). */
  file(path: string): string;
  /** True the first time `key` is asked in this compile: a check made once per scenario. */
  once(key: string): boolean;
  /** Whether the scenario has a `target`. */
  readonly hasTarget: boolean;
  /** The scenario's services, by name. */
  readonly services: ReadonlyMap<string, DeclaredService>;
  /** E_FORMAT when a URL that must be absolute http(s) is not. */
  checkHttpUrl(url: string, path: PathSegment[]): void;
  /** E_SERVICE_UNKNOWN when `db:` names no postgres service (or, absent, the scenario has not exactly one). */
  checkDatabase(db: string | undefined, path: PathSegment[], what: string): void;
}

/** Where at `path` a problem is: the key itself (`key`), or a character inside the string (`offset`). */
export interface At {
  key?: boolean;
  offset?: number;
}

export interface DeclaredService {
  builtin: string | undefined;
  postgres: boolean;
}

// ---- the runtime --------------------------------------------------------------------------------------------

/** Why a step failed, in words a report can group by. */
export type ErrorClass =
  'refused' | 'reset' | 'timeout' | 'dns' | 'tls' | 'http' | 'sql' | 'protocol' | 'aborted' | 'check' | 'capture'
  | 'emfile' | 'other';

/** What the interpreter hands an executor for one step of one iteration. */
export interface VuContext {
  /** 1-based virtual user number */
  vu: number;
  /** 0-based iteration count of this virtual user */
  iteration: number;
  /** The scope templates render from and expressions read: variables, captures, data, services, loop, … */
  vars: Record<string, unknown>;
  /** Aborted when the run stops (Ctrl-C, abort threshold, graceful-stop window over). */
  signal: AbortSignal;
  /** This user's cookies (HTTP); absent for callers that want none. */
  cookies?: CookieJar;
  /** The open SQL transaction while a `transaction:` node's body runs (owned by the SQL executor). */
  transaction?: object | undefined;
}

export interface StepResult {
  ok: boolean;
  /**
   * Set when !ok because of the request itself (not a failed check). `code` narrows the class where the kind
   * has codes (an HTTP status, a SQLSTATE); the report keeps the first message of each step and code.
   */
  error?: { class: ErrorClass; message: string; code?: string };
  /** The kind's `fields`: what expects, captures and retry.on read (http: status, duration, json, header, …). */
  response: Record<string, unknown>;
}

export interface ExecutorSetup {
  plan: Plan;
  store: MetricStore;
  /** Tags every metric of this step carries: workload, step, group and the step's own tags. */
  tags: Tags;
  /** Rendered `target`, if the scenario has one. */
  target: string | undefined;
  /** Rendered `defaults.headers`. */
  defaultHeaders: Record<string, string>;
  /** The running services by name, as `{{services.NAME.…}}` gives them. */
  services: Record<string, { url: string; host: string; port: number }>;
  /** Where an executor keeps the files of this run (JMeter's run directories): `--out DIR`, else a temporary one. */
  workDir?: string;
}

export interface StepRunner {
  /**
   * Runs the step once. `startedAt`: performance.now() when the step started, when the caller has just read it
   * (an executor that times the step from its own start may use it instead of reading the clock again).
   */
  execute(ctx: VuContext, timeoutMs: number, startedAt?: number): Promise<StepResult>;
}

/** One kind's executor in one run: it holds the kind's connections and pools until close(). */
export interface Executor<Request> {
  /** Called once per step node per workload, before the load starts. */
  create(step: StepOf<Request>, setup: ExecutorSetup): StepRunner;
  /** Releases connections and pools; called once after the run. */
  close(): Promise<void>;
}

/** What starting a kind's executor may read: the run's settings, and the executors of other kinds. */
export interface ExecutorContext {
  /** The plan being run (its `defaults:`, its services' settings). */
  plan: Plan;
  /** This process runs that share of the load (its SQL pools open their share of connections). */
  segment: Segment | undefined;
  /** Another kind's executor in this run (started if it was not): github sends through http's connections. */
  executor<Request, E extends Executor<Request>>(source: ExecutorSource<Request, E>): Promise<E>;
}

/**
 * Where a kind's executor comes from: a module imported when a run first needs it (so validating a scenario
 * loads none), started once per run. A kind's door holds one, importing its runner module lazily.
 */
export class ExecutorSource<Request, E extends Executor<Request> = Executor<Request>> {
  private readonly started = new WeakMap<ExecutorContext, Promise<E>>();

  constructor(
    /** The kind's name, for messages. */
    readonly kind: string,
    private readonly load: () => Promise<(context: ExecutorContext) => E | Promise<E>>,
  ) {}

  /** The executor of the run `context` stands for, started on first use. */
  of(context: ExecutorContext): Promise<E> {
    let executor = this.started.get(context);
    if (executor === undefined) {
      executor = this.load().then((start) => start(context));
      this.started.set(context, executor);
    }
    return executor;
  }
}

/** A kind's lines in the end-of-run summary, from the measured metrics (warm-up left out). */
export type StepSummary = (view: SummaryView) => string[];

/**
 * A kind's sections of the HTML and Markdown reports, as data (tables of formatted cells) that each format renders
 * its own way; none when the kind did not run. `view.style` has no colours here: cells are plain text.
 */
export type StepSections = (view: SummaryView) => ReportSection[];

export interface ReportSection {
  title: string;
  /** Sentences under the title. */
  notes?: string[];
  tables: ReportTable[];
}

export interface ReportTable {
  /** A caption above the table, if it needs one. */
  caption?: string;
  columns: string[];
  /** Cells as shown (numbers already formatted with their units). */
  rows: string[][];
}

export interface SummaryView {
  metrics: readonly ResultMetric[];
  samples: readonly ResultSample[];
  /** The sum of a metric over the tag sets that include `tags`. */
  sum(name: string, tags?: Record<string, string>): number;
  style: SummaryStyle;
}

/** Formatting for summary lines: colours (none in a file) and numbers as the rest of the summary shows them. */
export interface SummaryStyle {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  count(n: number): string;
  ms(value: number | undefined): string;
  /** A message on one line, cut at 160 characters. */
  line(text: string): string;
}
