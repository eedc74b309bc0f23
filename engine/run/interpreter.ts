// The interpreter: walks a workload's execution graph for one iteration of one virtual user. It renders
// nothing itself (executors do), evaluates the compiled conditions, checks and captures, and records the
// step, check, group and iteration metrics; executors record their own (http.*).

import { sleep } from '../sleep.js';
import { performance } from 'node:perf_hooks';
import type { FlowNode, GroupNode, Plan, StepNode, TransactionNode } from '../compile/plan.js';
import type { EvalScope } from '../expr/index.js';
import { CookieJar } from '../steps/http/cookies.js';
import type { StepResult, StepRunner, VuContext } from '../steps/types.js';
import type { MetricHandle, MetricStore, Tags } from '../metrics/types.js';
import type { DataFeeder } from './data.js';
import type { Random } from '../random.js';
import { macrotaskEpoch, nextMacrotask } from './macrotask.js';

/** One virtual user: its number, iteration count, variables (captures persist across its iterations). */
export interface VirtualUser {
  id: number;
  iteration: number;
  /** What this flow (or parallel branch) reads and writes: loop index, last response. */
  vars: Record<string, unknown>;
  /** The user's own variables: captures are written here too, so they outlive a parallel branch. */
  root: Record<string, unknown>;
  /** Inside a transaction: a step failed, so the rest of the transaction's body is skipped. */
  halted: boolean;
  random: Random;
  /** The object executors receive; reused for every step of this user. */
  context: VuContext;
  scope: EvalScope;
}

export type IterationOutcome = 'completed' | 'exhausted' | 'interrupted';

export interface InterpreterOptions {
  plan: Plan;
  store: MetricStore;
  workload: string;
  /** Step id → runner, for every step of the flows this interpreter walks. */
  runners: Map<number, StepRunner>;
  feeders: Map<string, DataFeeder>;
  /** Values every iteration starts from: services, scenario, target, setup captures. */
  baseVars: Record<string, unknown>;
  /** Open model: record each step's corrected trend (http.duration_corrected: from when the user meant to send). */
  correctForLag: boolean;
  /** Transaction node id → its runner (the SQL executor's), for every transaction of these flows. */
  transactions?: Map<number, TransactionRunner>;
}

/** What runs a `transaction:` node around its body (engine/steps/sql/runner.ts). */
export interface TransactionRunner {
  run(
    ctx: VuContext,
    body: () => Promise<'ok' | 'failed' | 'stopped'>,
    sleep: (ms: number, signal: AbortSignal) => Promise<boolean>,
  ): Promise<boolean | undefined>;
}

/** What a step needs on every execution, looked up once: its runner and its metric handles. */
interface StepMetrics {
  runner: StepRunner;
  duration: MetricHandle;
  errors: MetricHandle;
  checks: MetricHandle[];
  corrected: MetricHandle | undefined;
  /** The same for requests that failed (an error status the expects do not judge, or no response at all). */
  correctedUnexpected: MetricHandle | undefined;
  /** captures.missing, one per capture of the step (in order). */
  missing: MetricHandle[];
  /** The step's expects judge the status (`status == 404`): an HTTP error status alone does not fail it. */
  expectsStatus: boolean;
  /** The error codes this step has kept a sample of (the first message of each goes into the report). */
  sampled: Set<string>;
}

export class Interpreter {
  private readonly stepMetrics = new Map<number, StepMetrics>();
  private readonly groupMetrics = new Map<string, MetricHandle>();
  private readonly iterations: MetricHandle;
  private readonly iterationDuration: MetricHandle;
  private readonly variables: [string, unknown][];

  constructor(private readonly options: InterpreterOptions) {
    const tags: Tags = { workload: options.workload };
    this.iterations = options.store.handle('iterations', 'counter', tags);
    this.iterationDuration = options.store.handle('iteration.duration', 'trend', tags);
    this.variables = Object.entries(options.plan.variables);
  }

  createUser(id: number, random: Random, signal: AbortSignal): VirtualUser {
    const vars: Record<string, unknown> = { ...this.options.baseVars, vu: id, workload: this.options.workload };
    const context: VuContext = { vu: id, iteration: 0, vars, signal, cookies: new CookieJar() };
    return { id, iteration: 0, vars, root: vars, random, context, scope: { vars }, halted: false };
  }

  /** Runs `flow` once for `user`. `lagMs`: how late the iteration started after its intended start. */
  async iteration(user: VirtualUser, flow: FlowNode[], signal: AbortSignal, lagMs = 0): Promise<IterationOutcome> {
    const vars = user.vars;
    vars['iteration'] = user.iteration;
    user.context.iteration = user.iteration;
    user.context.signal = signal;
    for (const [name, value] of this.variables) vars[name] = Array.isArray(value) ? user.random.pick(value) : value;
    if (this.options.feeders.size > 0) {
      const rows: Record<string, unknown> = {};
      for (const [name, feeder] of this.options.feeders) {
        const row = feeder.next(user.random);
        if (row === undefined) return 'exhausted';
        rows[name] = row;
      }
      vars['data'] = rows;
    }
    const started = performance.now();
    const completed = await this.flow(flow, user, signal, lagMs);
    user.iteration++;
    if (!completed) return 'interrupted';
    this.iterationDuration.record(performance.now() - started);
    this.iterations.record(1);
    return 'completed';
  }

  /** Runs nodes in order; false when the run was stopped midway. */
  private async flow(nodes: FlowNode[], user: VirtualUser, signal: AbortSignal, lagMs: number): Promise<boolean> {
    // A step, the most common node, is run here rather than through node(): one promise less per step. `known`:
    // the signal was read unaborted since the last await, so reading it again would tell nothing new.
    let known = false;
    for (const node of nodes) {
      if (!known && signal.aborted) return false;
      if (node.type === 'step') {
        await this.step(node, user, signal, lagMs);
        if (signal.aborted) return false;
        known = true;
      } else {
        if (!(await this.node(node, user, signal, lagMs))) return false;
        known = false;
      }
      // Only ever set inside a transaction: the body ends at its first failed step, at every level.
      if (user.halted) return true;
    }
    return known || !signal.aborted;
  }

  private async node(node: FlowNode, user: VirtualUser, signal: AbortSignal, lagMs: number): Promise<boolean> {
    switch (node.type) {
      case 'step':
        await this.step(node, user, signal, lagMs);
        return !signal.aborted;
      case 'think':
        return sleep(node.minMs === node.maxMs ? node.minMs : user.random.between(node.minMs, node.maxMs), signal);
      case 'if':
        return this.flow(node.condition.test(user.scope) ? node.then : node.else, user, signal, lagMs);
      case 'parallel': {
        const results = await Promise.all(
          node.branches.map((branch) => this.node(branch, branchOf(user), signal, lagMs)),
        );
        return results.every(Boolean);
      }
      case 'group':
        return this.group(node, user, signal, lagMs);
      case 'transaction':
        return this.transaction(node, user, signal, lagMs);
      case 'loop': {
        const outer = user.vars['loop'];
        let ok = true;
        let seen = macrotaskEpoch();
        for (let index = 0; ok && index < node.max; index++) {
          if (index > 0) {
            // A body that did no I/O (its steps skipped, or failing at once) must still let timers and Ctrl-C in.
            const now = macrotaskEpoch();
            seen = now !== seen ? now : await nextMacrotask();
            if (signal.aborted) {
              ok = false;
              break;
            }
          }
          if (node.while && !node.while.test(user.scope)) break;
          user.vars['loop'] = { index };
          ok = await this.flow(node.body, user, signal, lagMs);
        }
        user.vars['loop'] = outer;
        return ok;
      }
    }
  }

  private async group(node: GroupNode, user: VirtualUser, signal: AbortSignal, lagMs: number): Promise<boolean> {
    let handle = this.groupMetrics.get(node.name);
    if (!handle) {
      const tags = { workload: this.options.workload, group: node.name };
      handle = this.options.store.handle('group.duration', 'trend', tags);
      this.groupMetrics.set(node.name, handle);
    }
    const started = performance.now();
    const ok = await this.flow(node.body, user, signal, lagMs);
    if (ok) handle.record(performance.now() - started);
    return ok;
  }

  private async transaction(
    node: TransactionNode, user: VirtualUser, signal: AbortSignal, lagMs: number,
  ): Promise<boolean> {
    const runner = this.options.transactions?.get(node.id);
    if (!runner) throw new Error(`no runner for transaction ${node.id} (${node.name})`);
    const body = async (): Promise<'ok' | 'failed' | 'stopped'> => {
      user.halted = false;
      const completed = await this.flow(node.body, user, signal, lagMs);
      const failed = user.halted;
      user.halted = false;
      return !completed ? 'stopped' : failed ? 'failed' : 'ok';
    };
    return (await runner.run(user.context, body, sleep)) !== undefined;
  }

  private async step(node: StepNode, user: VirtualUser, signal: AbortSignal, lagMs: number): Promise<void> {
    const scope = user.scope;
    if (node.condition && !node.condition.test(scope)) return;
    const metrics = this.metricsFor(node);
    const runner = metrics.runner;
    const expects = node.expects;
    const started = performance.now();
    let result: StepResult;
    // The outcome of each expect on the last attempt, recorded once the step is over.
    const passed: boolean[] = expects.length === 0 ? NO_CHECKS : new Array<boolean>(expects.length);
    let ok: boolean;
    /** The required capture that found nothing and failed the step. */
    let missed: StepNode['captures'][number] | undefined;
    // Read only when a retry comes: a step that fails at once, retried without backoff, must let the loop turn.
    let seen = -1;
    for (let attempt = 0; ; attempt++) {
      result = await runner.execute(user.context, node.timeoutMs, attempt === 0 ? started : performance.now());
      Object.assign(user.vars, result.response);
      ok = requestOk(result, metrics);
      for (let i = 0; i < expects.length; i++) {
        const pass = expects[i]!.test(scope);
        passed[i] = pass;
        if (!pass) ok = false;
      }
      const retry = node.retry;
      if (ok || !retry || attempt >= retry.attempts || signal.aborted) break;
      if (retry.on && !retry.on.test(scope)) break;
      if (!(await sleep(retry.backoffMs * 2 ** attempt, signal))) break;
      const now = macrotaskEpoch();
      seen = now !== seen ? now : await nextMacrotask();
      if (signal.aborted) break;
    }
    if (result.error?.class === 'aborted' && signal.aborted) return; // cut short by the run stopping: not a sample
    const ended = performance.now();
    const captures = node.captures;
    for (let i = 0; i < captures.length; i++) {
      const capture = captures[i]!;
      const value = capture.expression.evaluate(scope);
      user.vars[capture.name] = value;
      user.root[capture.name] = value;
      // Found nothing: the variable renders empty (`/items/`), so it is counted where the user can see it.
      if (value === undefined || value === null) {
        metrics.missing[i]!.record(1);
        if (capture.required && ok) {
          ok = false;
          missed = capture;
        }
      }
    }
    const checks = metrics.checks;
    for (let i = 0; i < passed.length; i++) checks[i]!.record(passed[i] ? 1 : 0);
    metrics.duration.record(ended - started);
    metrics.errors.record(ok ? 0 : 1);
    if (!ok) {
      if (user.context.transaction !== undefined) user.halted = true;
      const error = result.error;
      if (error !== undefined && !requestOk(result, metrics)) this.sampleError(node, metrics, error);
      else if (missed !== undefined) {
        const message = `capture "${missed.name}" found nothing: ${missed.expression.source}`;
        this.sampleError(node, metrics, { class: 'capture', message });
      }
    }
    if (metrics.corrected !== undefined) {
      // Tagged like http.duration (`expected`), so the corrected and the plain latency cover the same requests.
      (requestOk(result, metrics) ? metrics.corrected : metrics.correctedUnexpected!).record(ended - started + lagMs);
    }
  }

  /** The first message of each error code of a step goes into the result (`samples`). */
  private sampleError(node: StepNode, metrics: StepMetrics, error: NonNullable<StepResult['error']>): void {
    const code = error.code ?? error.class;
    if (metrics.sampled.has(code)) return;
    metrics.sampled.add(code);
    this.options.store.sample('error', { workload: this.options.workload, step: node.name, code }, error.message);
  }

  private metricsFor(node: StepNode): StepMetrics {
    let metrics = this.stepMetrics.get(node.id);
    if (!metrics) {
      const runner = this.options.runners.get(node.id);
      if (!runner) throw new Error(`no runner for step ${node.id} (${node.name})`);
      const store = this.options.store;
      const tags = stepTags(node, this.options.workload);
      const correctedMetric = this.options.correctForLag ? node.correctedMetric : undefined;
      metrics = {
        runner,
        duration: store.handle('step.duration', 'trend', tags),
        errors: store.handle('step.errors', 'rate', tags),
        checks: node.expects.map((e) => store.handle('checks', 'rate', { ...tags, check: e.source })),
        // Zero recorded up front: `count(captures.missing) == 0` reads a measured 0, not "no samples".
        missing: node.captures.map((c) => {
          const handle = store.handle('captures.missing', 'counter', { ...tags, capture: c.name });
          handle.record(0);
          return handle;
        }),
        corrected: correctedMetric === undefined
          ? undefined
          : store.handle(correctedMetric, 'trend', { ...tags, expected: 'true' }),
        correctedUnexpected: correctedMetric === undefined
          ? undefined
          : store.handle(correctedMetric, 'trend', { ...tags, expected: 'false' }),
        expectsStatus: node.expects.some((e) => e.names.some((n) => n.name === 'status')),
        sampled: new Set(),
      };
      this.stepMetrics.set(node.id, metrics);
    }
    return metrics;
  }
}

/**
 * A parallel branch sees everything of its user but keeps its own loop index and last response (its variables
 * inherit from the user's); its captures reach the user's own variables as well.
 */
function branchOf(user: VirtualUser): VirtualUser {
  const vars = Object.create(user.vars) as Record<string, unknown>;
  return { ...user, vars, context: { ...user.context, vars }, scope: { vars } };
}

const NO_CHECKS: boolean[] = [];

/** A response with an error status is fine for the step when its expects judge the status themselves. */
function requestOk(result: StepResult, metrics: StepMetrics): boolean {
  return result.ok || (metrics.expectsStatus && result.error?.class === 'http');
}

/** The tags of every metric a step produces: workload, step name, group, and the step's own tags. */
export function stepTags(node: StepNode, workload: string): Tags {
  return { ...node.tags, workload, step: node.name };
}

