// The executor contract: one kind of step (http, sql, github, jmeter, a plugin). The registry in index.ts maps
// kinds to executors explicitly; a plugin module exports an object of the same shape as its default export.

import type { Plan, StepNode } from '../compile/plan.js';
import type { MetricStore, Tags } from '../metrics/types.js';
import type { CookieJar } from './cookies.js';

/** Why a step failed, in words a report can group by. */
export type ErrorClass = 'refused' | 'reset' | 'timeout' | 'dns' | 'tls' | 'http' | 'sql' | 'protocol' | 'aborted' | 'check' | 'capture' | 'emfile' | 'other';

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
  /** The fields expects, captures and retry.on read: for http, status, duration, json, header, body, size, ok. */
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

export interface Executor {
  kind: string;
  /** Called once per step node per workload, before the load starts. */
  create(step: StepNode, setup: ExecutorSetup): StepRunner;
  /** Releases connections and pools; called once after the run. */
  close(): Promise<void>;
}
