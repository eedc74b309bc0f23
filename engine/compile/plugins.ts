// Plugins: step kinds loaded from a path (`plugins: { name: ./path.js }`). A plugin module's default export is a
// step kind (engine/steps/types.ts), the same shape as the built-in ones; docs/plugins.md is the authors' guide.
// Only the door is loaded here: a plugin's executor loads when a run starts, as a built-in kind's does.

import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { problem, type Problem } from '../errors.js';
import type { Scenario } from '../generated/scenario.js';
import type { LoadedDocument, PathSegment } from '../load/index.js';
import type { MetricInfo } from '../metrics/catalog.js';
import {
  bindStep, ExecutorSource, type Executor, type ExecutorContext, type JsonSchema, type StepCompiler, type StepKind,
  type StepSections, type StepSummary,
} from '../steps/types.js';
import { checkAgainstSchema } from '../validate/schema.js';
import type { CompileScope } from './scope.js';

export interface LoadedPlugins {
  plugins: Map<string, StepKind>;
  problems: Problem[];
}

/** Imports the door of every plugin the scenario declares; a module that is missing or malformed is a problem. */
export async function loadPlugins(document: LoadedDocument, declared: Scenario['plugins']): Promise<LoadedPlugins> {
  const plugins = new Map<string, StepKind>();
  const problems: Problem[] = [];
  const baseDir = dirname(resolvePath(document.file));
  for (const [name, module] of Object.entries(declared ?? {})) {
    const at = document.locate(['plugins', name]);
    const path = resolvePath(baseDir, module);
    if (!existsSync(path)) {
      problems.push(problem('E_PLUGIN_MISSING', `plugin module ${module} does not exist`,
        `the path is relative to the scenario file; it resolves to ${path}`, at));
      continue;
    }
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (error) {
      problems.push(problem(
        'E_EXECUTOR_MISSING',
        `plugin "${name}": module ${path} could not be loaded: ${(error as Error).message}`,
        'run the module with node to see the error',
        at,
      ));
      continue;
    }
    const wrong = shapeProblem(loaded.default);
    if (wrong !== undefined) {
      problems.push(problem(
        'E_EXECUTOR_MISSING',
        `plugin "${name}": the default export of ${path} is not a step kind: ${wrong}`,
        'export default { name, schema, metrics, executor, … }: see docs/plugins.md',
        at,
      ));
      continue;
    }
    plugins.set(name, pluginKind(name, loaded.default as StepPlugin));
  }
  return { plugins, problems };
}

/** What is wrong with a plugin's default export as a step kind, or undefined. */
function shapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'it is not an object';
  const kind = new Map<string, unknown>(Object.entries(value));
  if (typeof kind.get('name') !== 'string') return '`name` is not text';
  const schema = kind.get('schema');
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return '`schema` is not a JSON Schema object';
  }
  const fields = kind.get('fields');
  if (fields !== undefined && !(Array.isArray(fields) && fields.every((f) => typeof f === 'string'))) {
    return '`fields` is not a list of names';
  }
  const metrics = kind.get('metrics');
  if (!Array.isArray(metrics)) return '`metrics` is not a list';
  const compile = kind.get('compile');
  if (compile !== undefined && typeof compile !== 'function') return '`compile` is not a function';
  if (typeof kind.get('executor') !== 'function') return '`executor` is not a function';
  const summary = kind.get('summary');
  if (summary !== undefined && typeof summary !== 'function') return '`summary` is not a function';
  const sections = kind.get('sections');
  if (sections !== undefined && typeof sections !== 'function') return '`sections` is not a function';
  return undefined;
}

/**
 * What a plugin module exports: a step kind written without perfy's helpers. `compile` (optional) turns the
 * step's `with:` into its request (default: every string a template); `executor` returns the function that
 * starts the plugin's executor for a run (`{ create(step, setup) → runner, close() }`), imported lazily.
 */
export interface StepPlugin {
  name: string;
  schema: JsonSchema;
  fields?: readonly string[];
  metrics: readonly MetricInfo[];
  compile?(settings: unknown, at: StepCompiler): unknown;
  executor(): Promise<(context: ExecutorContext) => Executor<unknown> | Promise<Executor<unknown>>>;
  summary?: () => Promise<StepSummary>;
  sections?: () => Promise<StepSections>;
}

/** A plugin module's default export as a step kind; throws when it is not one (loadPlugins says why, positioned). */
export function asStepKind(name: string, value: unknown): StepKind {
  const wrong = shapeProblem(value);
  if (wrong !== undefined) throw new Error(`plugin "${name}" is not a step kind: ${wrong}`);
  return pluginKind(name, value as StepPlugin);
}

/** A plugin as a step kind: the same contract the built-in kinds keep. */
function pluginKind(name: string, plugin: StepPlugin): StepKind {
  const source = new ExecutorSource<unknown>(name, () => plugin.executor());
  return {
    name: plugin.name,
    schema: plugin.schema,
    fields: plugin.fields,
    metrics: plugin.metrics,
    compile: (settings, at) => bindStep(
      `use ${name}`,
      plugin.compile ? plugin.compile(settings, at) : at.tree(settings, at.path),
      source,
    ),
    ...(plugin.summary ? { summary: plugin.summary } : {}),
    ...(plugin.sections ? { sections: plugin.sections } : {}),
  };
}

/** A `use:` step's `with:` against its plugin's schema, each problem at its place. */
export function checkPluginSettings(
  c: CompileScope,
  name: string,
  kind: StepKind,
  settings: unknown,
  path: PathSegment[],
): boolean {
  try {
    const problems = checkAgainstSchema(kind.schema, settings, path, c.document);
    c.problems.push(...problems);
    return problems.length === 0;
  } catch (error) {
    c.report('E_EXECUTOR_MISSING', `plugin "${name}": its schema does not compile: ${(error as Error).message}`,
      'fix the plugin\'s `schema` (a JSON Schema, draft 2020-12)', ['plugins', name]);
    return false;
  }
}
