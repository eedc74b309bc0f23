// The Plan: what the compiler makes of a valid scenario and what the runtime executes. Plain data plus
// compiled closures (expressions, templates); durations in milliseconds, rates per second.

import type { SourceLocation } from '../errors.js';
import type { CompiledExpression } from '../expr/index.js';
import type { DataOrder, OnExhausted, Service, Variable } from '../generated/scenario.js';
import type { sqlExecutor } from '../steps/sql/index.js';
import type { StepCall, StepKind } from '../steps/types.js';
import type { Template, TemplateTree } from './template.js';
import type { ClosedLoad, OpenLoad, Timeline } from './timeline.js';

export interface Plan {
  name: string;
  description: string | undefined;
  /** The scenario file, as given. */
  file: string;
  seed: number;
  services: Record<string, Service>;
  target: Template | undefined;
  variables: Record<string, Variable>;
  data: Record<string, PlannedData>;
  defaults: {
    timeoutMs: number;
    headers: Record<string, Template>;
    /** HTTP keep-alive connections per origin. */
    connections: number;
    /** Send an idempotent request again when its kept-alive connection closes before the response (default true). */
    resendOnReset: boolean;
    tls: { verify: boolean; /** absolute path */ caFile: string | undefined };
  };
  setup: FlowNode[];
  teardown: FlowNode[];
  workloads: PlannedWorkload[];
  thresholds: PlannedThreshold[];
  /** `baseline.rules`: the regressions `perfy run --baseline FILE` looks for (checked; parsed again there). */
  baselineRules: string[] | undefined;
  monitor: PlannedMonitor | undefined;
  reports: { format: string; path: string | undefined }[];

  /** The plugins the scenario declares, loaded (their executors load when a run starts). */
  plugins: StepKind[];
  /** Every metric some step or monitor of this scenario produces. */
  metrics: string[];
  /** Values that came from the environment: reporters redact them. */
  secrets: string[];
}

export interface PlannedData {
  format: 'csv' | 'json';
  /** Absolute path. */
  path: string;
  order: DataOrder;
  onExhausted: OnExhausted;
  delimiter: string;
  columns: string[];
}

export interface PlannedWorkload {
  name: string;
  startAfterMs: number;
  /** Iterations that start before this (ms into the workload) are warm-up: their samples carry `phase: warmup`. */
  warmupMs: number;
  load: OpenLoad | ClosedLoad;
  timeline: Timeline;
  flow: FlowNode[];
}

export interface PlannedThreshold {
  source: string;
  expression: CompiledExpression;
  abort: boolean;
  afterMs: number;
  description: string | undefined;
  /** `warning`: a failed threshold is reported and fails nothing (absent: critical). */
  level?: Level;
  location: SourceLocation;
  /** Why the threshold is shown but not judged in this run (set by `--smoke` for load thresholds). */
  notJudged?: string;
}

/** How much an alert, leak or threshold matters: `warning` is reported, `critical` fails the run. */
export type Level = 'warning' | 'critical';

export interface PlannedMonitor {
  processes: PlannedProcess[];
  intervalMs: number;
  alerts: PlannedAlert[];
  leak: PlannedLeak | undefined;
  notify: PlannedNotify | undefined;
}

/** A watched process: perfy itself, a service (its whole tree), or a process perfy did not start. */
export interface PlannedProcess {
  name: string;
  watch: 'self' | 'service' | { pid: number } | { pidfile: string } | { command: string };
}

export interface PlannedAlert {
  source: string;
  expression: CompiledExpression;
  level: Level;
  abort: boolean;
  description: string | undefined;
  location: SourceLocation;
}

export interface PlannedLeak {
  /** The watched processes judged. */
  processes: string[];
  windowMs: number;
  maxGrowthBytesPerSecond: number;
  warmupMs: number;
  level: Level;
}

export interface PlannedNotify {
  webhook?: {
    url: string;
    headers: Record<string, string>;
    timeoutMs: number | undefined;
    retries: number | undefined;
  };
  command?: { shell: string } | { argv: string[] };
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  on: CompiledExpression | undefined;
}

export interface StepNode {
  type: 'step';
  /** Unique within the plan, in flow order (setup, workloads, teardown). */
  id: number;
  name: string;
  /** The built-in kind's name (`http`), or `plugin` for a `use:` step. */
  kind: string;
  /** For `use:` steps, the plugin name. */
  plugin: string | undefined;
  /** `GET /debates?topic={{topic}}`, `SELECT …`: what the step does, for plans and reports. */
  summary: string;
  /** The request as the kind compiled it, bound to the kind's executor (engine/steps/types.ts). */
  call: StepCall;
  /** What the kind said of the step for the runtime (engine/steps/types.ts, CompiledStep). */
  correctedMetric?: string | undefined;
  connectionPool?: string | undefined;
  tags: Record<string, string>;
  condition: CompiledExpression | undefined;
  expects: CompiledExpression[];
  /** `required`: a capture that finds nothing (undefined or null) fails the step. */
  captures: { name: string; expression: CompiledExpression; required: boolean }[];
  timeoutMs: number;
  retry: RetryPolicy | undefined;
  location: SourceLocation;
}

export interface ThinkNode {
  type: 'think';
  minMs: number;
  maxMs: number;
}

export interface LoopNode {
  type: 'loop';
  count: number | undefined;
  while: CompiledExpression | undefined;
  /** Upper bound on rounds of a `while` loop. */
  max: number;
  body: FlowNode[];
}

export interface IfNode {
  type: 'if';
  condition: CompiledExpression;
  then: FlowNode[];
  else: FlowNode[];
}

export interface ParallelNode {
  type: 'parallel';
  branches: FlowNode[];
}

export interface GroupNode {
  type: 'group';
  name: string;
  body: FlowNode[];
}

/** `transaction:`: the SQL steps of `body` on one connection between BEGIN and COMMIT, retried as a whole. */
export interface TransactionNode {
  type: 'transaction';
  /** Unique among the plan's transactions and steps (they share one numbering). */
  id: number;
  name: string;
  isolation: 'read committed' | 'repeatable read' | 'serializable';
  /**
   * As a step's `db:` (a template that may read the services): a postgres service or a URL; undefined: the
   * scenario's only postgres service.
   */
  db: TemplateTree | undefined;
  /** Run the whole transaction again (after ROLLBACK) when it fails with one of these SQLSTATEs. */
  retry: { attempts: number; backoffMs: number; sqlstates: string[] };
  body: FlowNode[];
  /** The SQL executor whose connection runs the transaction. */
  executor: typeof sqlExecutor;
  location: SourceLocation;
}

export type FlowNode = StepNode | ThinkNode | LoopNode | IfNode | ParallelNode | GroupNode | TransactionNode;

/** Every step of a flow, depth first in flow order: loops, groups, branches and both sides of an if. */
export function* stepsOf(nodes: FlowNode[]): Generator<StepNode> {
  for (const node of nodes) {
    switch (node.type) {
      case 'step': yield node; break;
      case 'loop': case 'group': case 'transaction': yield* stepsOf(node.body); break;
      case 'parallel': yield* stepsOf(node.branches); break;
      case 'if': yield* stepsOf(node.then); yield* stepsOf(node.else); break;
      case 'think': break;
    }
  }
}

/** Every transaction of a flow, depth first in flow order. */
export function* transactionsOf(nodes: FlowNode[]): Generator<TransactionNode> {
  for (const node of nodes) {
    switch (node.type) {
      case 'transaction': yield node; yield* transactionsOf(node.body); break;
      case 'loop': case 'group': yield* transactionsOf(node.body); break;
      case 'parallel': yield* transactionsOf(node.branches); break;
      case 'if': yield* transactionsOf(node.then); yield* transactionsOf(node.else); break;
      case 'step': case 'think': break;
    }
  }
}
