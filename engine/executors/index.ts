// The explicit registry of step executors: kind → executor, plus loading user plugins from a module path.
// Nothing registers itself on import; a kind that is not in EXECUTORS has no executor in this version.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StepNode } from '../compile/plan.js';
import { PerfyError, problem } from '../errors.js';
import type { StepKind } from '../metrics/catalog.js';
import { createGithubExecutor } from './github.js';
import { createHttpExecutor } from './http.js';
import { createJmeterExecutor } from './jmeter.js';
import { createSqlExecutor } from './sql.js';
import type { Executor } from './types.js';

export type { ErrorClass, Executor, ExecutorSetup, StepResult, StepRunner, VuContext } from './types.js';
export { createHttpExecutor, classifyError, DEFAULT_CONNECTIONS_PER_ORIGIN, type HttpExecutorOptions } from './http.js';

/**
 * The built-in executors, with default options. Each holds its own connections (the http executor one pool
 * per origin, created on first use) and close() releases them; an executor may be used again after close().
 */
const http = createHttpExecutor();
export const EXECUTORS = {
  http,
  sql: createSqlExecutor(),
  github: createGithubExecutor(http),
  jmeter: createJmeterExecutor(),
} satisfies Partial<Record<Exclude<StepKind, 'plugin'>, Executor>>;

/**
 * The executor for one step: a built-in one by kind, or the loaded plugin the step names with `use:`.
 * `builtins` defaults to EXECUTORS; a run that wants its own connections passes its own map.
 */
export function executorFor(step: StepNode, plugins: Map<string, Executor>, builtins: Partial<Record<string, Executor>> = EXECUTORS): Executor {
  if (step.kind === 'plugin') {
    const name = step.plugin ?? '';
    const plugin = plugins.get(name);
    if (plugin === undefined) {
      throw new PerfyError(problem('E_PLUGIN_MISSING', `step "${step.name}" uses plugin "${name}", which is not loaded`, 'declare it under `plugins:` with the path of its module', step.location));
    }
    return plugin;
  }
  const executor = builtins[step.kind];
  if (executor !== undefined) return executor;
  throw new PerfyError(problem('E_EXECUTOR_MISSING', `no executor for step kind \`${step.kind}\``, 'the step kinds are http, sql, github, jmeter and use (a plugin)', step.location));
}

/**
 * Imports a plugin module (an absolute path; a relative one is taken from the working directory) and checks
 * that its default export is an executor: `kind` (text), `create` and `close` (functions).
 */
export async function loadPlugin(name: string, modulePath: string): Promise<Executor> {
  const path = isAbsolute(modulePath) ? modulePath : resolve(modulePath);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(path)) {
      throw new PerfyError(problem('E_PLUGIN_MISSING', `plugin "${name}": module ${path} does not exist`, 'check the path under `plugins:` (relative paths are taken from the scenario file)'));
    }
    throw new PerfyError(problem('E_EXECUTOR_MISSING', `plugin "${name}": module ${path} could not be loaded: ${(error as Error).message}`, 'run the module with node to see the error'));
  }
  const candidate = loaded.default;
  if (!isExecutor(candidate)) {
    throw new PerfyError(problem('E_EXECUTOR_MISSING', `plugin "${name}": module ${path} does not export an executor as its default export`, 'export default { kind: "name", create(step, setup) { return { execute(ctx, timeoutMs) { … } } }, async close() {} }'));
  }
  return candidate;
}

function isExecutor(value: unknown): value is Executor {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v['kind'] === 'string' && typeof v['create'] === 'function' && typeof v['close'] === 'function';
}
