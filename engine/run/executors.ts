// The executors of one run: the one registry. Each kind's executor starts on first use from the ExecutorSource
// its steps were compiled with (built-in or plugin alike), is shared by every step of that kind, and is closed
// when the run ends.

import { stepsOf, transactionsOf, type FlowNode, type Plan } from '../compile/plan.js';
import { PerfyError, problem } from '../errors.js';
import type { MetricStore } from '../metrics/types.js';
import type { Segment } from '../segment.js';
import type { Executor, ExecutorContext, ExecutorSetup, ExecutorSource, StepRunner } from '../steps/types.js';
import { stepTags, type TransactionRunner } from './interpreter.js';

export class RunExecutors implements ExecutorContext {
  private readonly started = new Set<{ close(): Promise<void> }>();

  constructor(readonly plan: Plan, readonly segment: Segment | undefined) {}

  async executor<Request, E extends Executor<Request>>(source: ExecutorSource<Request, E>): Promise<E> {
    let executor: E;
    try {
      executor = await source.of(this);
    } catch (error) {
      if (error instanceof PerfyError) throw error;
      throw new PerfyError(
        problem(
          'E_EXECUTOR_MISSING',
          `the ${source.kind} executor could not be loaded: ${(error as Error).message}`,
          'for a plugin, run its module with node to see the error',
        ),
      );
    }
    this.started.add(executor);
    return executor;
  }

  /** Starts the executor of every step and transaction of the plan: a step perfy cannot run fails the run first. */
  async prepare(): Promise<void> {
    for (const flow of [this.plan.setup, ...this.plan.workloads.map((w) => w.flow), this.plan.teardown]) {
      for (const step of stepsOf(flow)) await step.call((_request, source) => this.executor(source));
      for (const node of transactionsOf(flow)) await this.executor(node.executor);
    }
  }

  /** Releases every executor started (connections, pools, JMeter processes). */
  async close(): Promise<void> {
    const all = [...this.started];
    this.started.clear();
    await Promise.all(all.map((executor) => executor.close().catch(() => undefined)));
  }
}

/**
 * The runners of a flow's steps and transactions, by node id; `into`: the store they record into
 * (default: the run's).
 */
export type RunnersFor = (nodes: FlowNode[], workload: string, into?: MetricStore) => Promise<Runners>;

export interface Runners {
  runners: Map<number, StepRunner>;
  transactions: Map<number, TransactionRunner>;
}

/** Creates the runners of a flow from the run's executors. */
export function stepRunners(
  plan: Plan, store: MetricStore, baseVars: Record<string, unknown>, executors: RunExecutors, workDir: string,
): RunnersFor {
  const target = typeof baseVars['target'] === 'string' ? baseVars['target'] : undefined;
  const defaultHeaders = Object.fromEntries(
    Object.entries(plan.defaults.headers).map(([k, t]) => [k, t.render(baseVars)]),
  );
  const services = (baseVars['services'] ?? {}) as ExecutorSetup['services'];
  return async (nodes, workload, into = store) => {
    const setup = (tags: ExecutorSetup['tags']): ExecutorSetup => ({
      plan,
      store: into,
      tags,
      target,
      defaultHeaders,
      services,
      workDir,
    });
    const runners = new Map<number, StepRunner>();
    for (const step of stepsOf(nodes)) {
      const runner = await step.call(async (request, source) =>
        (await executors.executor(source)).create({ ...step, request }, setup(stepTags(step, workload))),
      );
      runners.set(step.id, runner);
    }
    const transactions = new Map<number, TransactionRunner>();
    for (const node of transactionsOf(nodes)) {
      transactions.set(node.id, (await executors.executor(node.executor)).transaction(node, setup({ workload })));
    }
    return { runners, transactions };
  };
}
