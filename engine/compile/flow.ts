// Flows: steps, think times, loops, conditions, groups, parallel branches and SQL transactions, compiled into the
// plan's nodes. A step's own settings are compiled by its kind (engine/steps/); the rest of the step here.

import { resolve as resolvePath } from 'node:path';
import { didYouMean, problem } from '../errors.js';
import type { Flow, FlowItem, Step } from '../generated/scenario.js';
import type { PathSegment } from '../load/index.js';
import { BUILTIN_STEP_KINDS } from '../steps/index.js';
import { sqlExecutor } from '../steps/sql/index.js';
import { bindStep, ExecutorSource, type CompiledStep, type StepCompiler, type StepKind } from '../steps/types.js';
import { parseDuration, parseThink } from '../units.js';
import type { FlowNode, RetryPolicy, StepNode, TransactionNode } from './plan.js';
import { checkPluginSettings } from './plugins.js';
import type { CompileScope, FlowContext } from './scope.js';

const DEFAULT_WHILE_MAX = 1000;
/** A transaction's `retry:` without `attempts` / `backoff`. */
const DEFAULT_TRANSACTION_RETRIES = 3;
const DEFAULT_TRANSACTION_BACKOFF_MS = 10;
/** The failures a transaction's `retry.on` names, as PostgreSQL reports them. */
const RETRYABLE_SQLSTATE = { deadlock: '40P01', serialization_failure: '40001' } as const;

/** First pass: every capture, step and group name, so a template may use a capture made later in the flow. */
export function collectNames(c: CompileScope): void {
  const s = c.scenario;
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
        c.groupNames.add(item.group);
        return visit(item.flow, [...here, 'flow']);
      }
      if ('transaction' in item) return visit(item.flow, [...here, 'flow']);
      for (const name of Object.keys(item.capture ?? {})) {
        if (c.variableNames.has(name) && !c.captureNames.has(name)) {
          c.report(
            'E_DUPLICATE_NAME',
            `capture "${name}" has the name of a variable`,
            'rename the capture or the variable',
            [...here, 'capture', name],
            { key: true },
          );
        }
        c.captureNames.add(name);
      }
      if (item.name !== undefined) {
        if (c.stepNames.has(item.name)) {
          c.report(
            'E_DUPLICATE_NAME',
            `two steps are named "${item.name}"`,
            'step names tag metrics and must be unique; rename one',
            [...here, 'name'],
          );
        }
        c.stepNames.add(item.name);
      }
    });
  };
  visit(s.setup, ['setup']);
  if (s.flow) visit(s.flow, ['flow']);
  s.workloads?.forEach((w, i) => visit(w.flow, ['workloads', i, 'flow']));
  visit(s.teardown, ['teardown']);
}

export function compileFlow(c: CompileScope, items: Flow, ctx: FlowContext, timeoutMs: number): FlowNode[] {
  return items.map((item, i) => compileItem(c, item, { ...ctx, path: [...ctx.path, i] }, timeoutMs));
}

export function compileItem(c: CompileScope, item: FlowItem, ctx: FlowContext, timeoutMs: number): FlowNode {
  const p = ctx.path;
  if ('think' in item) {
    const range = parseThink(item.think);
    if (range && range.minMs > range.maxMs) {
      c.report(
        'E_RANGE',
        `think time ${item.think} runs backwards`,
        'write the shorter time first: MIN..MAX',
        [...p, 'think'],
      );
    }
    return { type: 'think', minMs: range?.minMs ?? 0, maxMs: range?.maxMs ?? 0 };
  }
  if ('parallel' in item) {
    return {
      type: 'parallel',
      branches: compileFlow(c, item.parallel, { ...ctx, path: [...p, 'parallel'] }, timeoutMs),
    };
  }
  if ('then' in item) {
    return {
      type: 'if',
      condition: c.expression(item.if, [...p, 'if'], 'condition'),
      then: compileFlow(c, item.then, { ...ctx, path: [...p, 'then'] }, timeoutMs),
      else: item.else ? compileFlow(c, item.else, { ...ctx, path: [...p, 'else'] }, timeoutMs) : [],
    };
  }
  if ('loop' in item) {
    const body = compileFlow(c, item.flow, { ...ctx, path: [...p, 'flow'], inLoop: true }, timeoutMs);
    if (typeof item.loop === 'number') {
      return { type: 'loop', count: item.loop, while: undefined, max: item.loop, body };
    }
    const condition = item.loop.while === undefined
      ? undefined
      : c.expression(item.loop.while, [...p, 'loop', 'while'], 'condition');
    return {
      type: 'loop',
      count: item.loop.count,
      while: condition,
      max: item.loop.count ?? item.loop.max ?? DEFAULT_WHILE_MAX,
      body,
    };
  }
  if ('group' in item) {
    return {
      type: 'group',
      name: item.group,
      body: compileFlow(c, item.flow, { ...ctx, path: [...p, 'flow'], group: item.group }, timeoutMs),
    };
  }
  if ('transaction' in item) return compileTransaction(c, item, ctx, timeoutMs);
  return compileStep(c, item, ctx, timeoutMs);
}

export function compileTransaction(
  c: CompileScope,
  item: Extract<FlowItem, { transaction: string }>,
  ctx: FlowContext,
  timeoutMs: number,
): TransactionNode {
  const p = ctx.path;
  const id = c.nextStepId++;
  const body = compileFlow(c, item.flow, { ...ctx, path: [...p, 'flow'] }, timeoutMs);
  // One connection runs the transaction: only SQL steps belong in it (think, loop, if and group around them).
  const visit = (nodes: FlowNode[], path: PathSegment[]): void => nodes.forEach((node, i) => {
    if (node.type === 'step' && node.kind !== 'sql') {
      c.report(
        'E_STEP_KIND',
        `step "${node.name}" is a ${node.kind} step inside transaction "${item.transaction}"`,
        'a transaction holds SQL steps only: move the step out of it',
        [...path, i],
      );
    } else if (node.type === 'parallel') {
      c.report(
        'E_STEP_KIND',
        `\`parallel\` inside transaction "${item.transaction}"`,
        'a transaction runs on one connection, one statement at a time: write its steps in order',
        [...path, i],
      );
    } else if (node.type === 'transaction') {
      c.report(
        'E_STEP_KIND',
        `transaction "${node.name}" inside transaction "${item.transaction}"`,
        'transactions do not nest: write the steps in the outer one',
        [...path, i],
      );
    } else if (node.type === 'loop' || node.type === 'group') visit(node.body, [...path, i, 'flow']);
    else if (node.type === 'if') {
      visit(node.then, [...path, i, 'then']);
      visit(node.else, [...path, i, 'else']);
    }
  });
  visit(body, [...p, 'flow']);
  c.checkDatabase(item.db, [...p, 'db'], 'transaction');
  const retry = item.retry;
  return {
    type: 'transaction',
    id,
    name: item.transaction,
    isolation: item.isolation === 'serializable'
      ? 'serializable'
      : item.isolation === 'repeatable_read' ? 'repeatable read' : 'read committed',
    db: item.db === undefined ? undefined : c.tree(item.db, [...p, 'db'], ctx),
    retry: {
      attempts: retry === undefined ? 0 : retry.attempts ?? DEFAULT_TRANSACTION_RETRIES,
      backoffMs: retry?.backoff === undefined
        ? DEFAULT_TRANSACTION_BACKOFF_MS
        : (parseDuration(retry.backoff) ?? DEFAULT_TRANSACTION_BACKOFF_MS),
      sqlstates: (retry?.on ?? ['deadlock', 'serialization_failure']).map((o) => RETRYABLE_SQLSTATE[o]),
    },
    body,
    executor: sqlExecutor,
    location: c.document.locate([...p, 'transaction']),
  };
}

/** The kind of a step: the built-in one whose key it has, or the plugin it names with `use:`. */
function kindOf(
  c: CompileScope,
  step: Step,
  p: PathSegment[],
): { kind: StepKind | undefined; key: string; settings: unknown } {
  const written = new Map<string, unknown>(Object.entries(step));
  for (const kind of BUILTIN_STEP_KINDS) {
    const settings = written.get(kind.name);
    if (settings !== undefined) return { kind, key: kind.name, settings };
  }
  const name = step.use ?? '';
  if (!c.pluginNames.has(name)) {
    const hint = didYouMean(name, c.pluginNames) ?? `declare it: plugins: { ${name}: ./path/to/${name}.js }`;
    c.report('E_PLUGIN_MISSING', `step uses plugin "${name}" that \`plugins:\` does not declare`, hint, [...p, 'use']);
  }
  const plugin = c.plugins.get(name);
  // A plugin's compile reads settings its schema accepts, as a built-in kind's does.
  const valid = plugin !== undefined && checkPluginSettings(c, name, plugin, step.with ?? {}, [...p, 'with']);
  return { kind: valid ? plugin : undefined, key: 'with', settings: step.with ?? {} };
}

/** What a kind's compile may use, at `path` of a step in `ctx`. */
function stepCompiler(c: CompileScope, path: PathSegment[], ctx: FlowContext): StepCompiler {
  return {
    path,
    tree: (value, at) => c.tree(value, at, ctx),
    template: (text, at) => c.template(text, at, ctx),
    duration: (text, at, options) => c.duration(text, at, options),
    problem: (code, message, hint, at, options) => (options?.offset === undefined
      ? c.report(code, message, hint, at, options)
      : c.problems.push(problem(code, message, hint, c.document.locateInString(at, options.offset)))),
    warning: (code, message, hint, at, options) => c.warn(code, message, hint, at, options),
    file: (written) => resolvePath(c.baseDir, written),
    once: (key) => {
      if (c.checked.has(key)) return false;
      c.checked.add(key);
      return true;
    },
    hasTarget: c.has('target'),
    services: c.services,
    checkHttpUrl: (url, at) => c.checkHttpUrl(url, at),
    checkDatabase: (db, at, what) => c.checkDatabase(db, at, what),
  };
}

export function compileStep(c: CompileScope, step: Step, ctx: FlowContext, defaultTimeoutMs: number): StepNode {
  const p = ctx.path;
  const { kind, key, settings } = kindOf(c, step, p);
  const plugin = step.use;
  const compiled = kind === undefined
    ? unavailable(`use ${plugin ?? ''}`)
    : kind.compile(settings, stepCompiler(c, [...p, key], ctx));
  if (kind !== undefined) c.stepKinds.set(kind.name, kind);
  const responseNames = kind?.fields;
  const expects = step.expect === undefined ? [] : Array.isArray(step.expect) ? step.expect : [step.expect];
  const tags: Record<string, string> = { ...(step.tags ?? {}) };
  if (ctx.group !== undefined) tags['group'] = ctx.group;
  const expectPath = (i: number): PathSegment[] => (Array.isArray(step.expect)
    ? [...p, 'expect', i]
    : [...p, 'expect']);
  return {
    type: 'step',
    id: c.nextStepId++,
    name: step.name ?? compiled.summary,
    kind: plugin === undefined ? key : 'plugin',
    plugin,
    summary: compiled.summary,
    call: compiled.call,
    correctedMetric: compiled.correctedMetric,
    connectionPool: compiled.connectionPool,
    tags,
    condition: step.if === undefined ? undefined : c.expression(step.if, [...p, 'if'], 'condition'),
    expects: expects.map((e, i) => c.expression(e, expectPath(i), 'response', responseNames)),
    captures: Object.entries(step.capture ?? {}).map(([name, capture]) => (typeof capture === 'string'
      ? { name, expression: c.expression(capture, [...p, 'capture', name], 'value', responseNames), required: false }
      : {
        name,
        expression: c.expression(capture.expr, [...p, 'capture', name, 'expr'], 'value', responseNames),
        required: capture.required ?? false,
      })),
    timeoutMs:
      c.duration(step.timeout, [...p, 'timeout'], { positive: true }) ?? compiled.defaultTimeoutMs ?? defaultTimeoutMs,
    retry: retry(c, step, p, responseNames),
    location: c.document.locate(p),
  };
}

/** A step whose plugin is not there: its problem is reported, so no plan holding it is ever run. */
function unavailable(summary: string): CompiledStep {
  return bindStep(
    summary,
    undefined,
    new ExecutorSource('plugin', () => Promise.reject(new Error(`${summary} is not loaded`))),
  );
}

export function retry(
  c: CompileScope,
  step: Step,
  p: PathSegment[],
  responseNames: readonly string[] | undefined,
): RetryPolicy | undefined {
  if (step.retry === undefined) return undefined;
  if (typeof step.retry === 'number') return { attempts: step.retry, backoffMs: 100, on: undefined };
  return {
    attempts: step.retry.attempts,
    backoffMs: c.duration(step.retry.backoff, [...p, 'retry', 'backoff']) ?? 100,
    on: step.retry.on === undefined
      ? undefined
      : c.expression(step.retry.on, [...p, 'retry', 'on'], 'response', responseNames),
  };
}

/** A github step's route is `METHOD /path`, its `{name}` parts have params, and `api:` names something it can use. */
