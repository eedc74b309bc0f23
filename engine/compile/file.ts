// A scenario file → a Plan, or every problem in it: load (YAML, environment, `--set`), the schema check, the
// plugins' doors, then compile. What `perfy validate` prints and what `perfy run` runs.

import { PerfyError, internalProblem, sortProblems, type Problem } from '../errors.js';
import type { Scenario } from '../generated/scenario.js';
import { loadScenarioFile, type Environment, type LoadedDocument, type LoadLimits } from '../load/index.js';
import type { StepKind } from '../steps/types.js';
import { applySet } from '../load/set.js';
import { checkScenarioSchema } from '../validate/schema.js';
import { compileScenario } from './index.js';
import type { Plan } from './plan.js';
import { loadPlugins } from './plugins.js';

export interface CompileOutcome {
  file: string;
  plan: Plan | undefined;
  problems: Problem[];
  /** W_ codes: printed beside the problems; a scenario with warnings only is valid. */
  warnings: Problem[];
  /** Values from the environment that output must redact (empty when the file did not load). */
  secrets: string[];
}

/**
 * Loads, checks and compiles one scenario, its plugins' doors imported first (which is why it is async).
 * Problems of the scenario are returned, never thrown.
 */
export async function compileScenarioFile(
  file: string, env: Environment = process.env, sets: readonly string[] = [], limits: LoadLimits = {},
): Promise<CompileOutcome> {
  let declared: Scenario['plugins'];
  let document: LoadedDocument;
  try {
    document = loadScenarioFile(file, env, limits);
    for (const set of sets) applySet(document.value, set);
    const value: unknown = document.value;
    const accepted = value !== null && typeof value === 'object' && 'plugins' in value
      ? checkScenarioSchema(document).accepted
      : undefined;
    declared = (accepted?.value as Scenario | undefined)?.plugins;
  } catch {
    // Said, positioned, by the compile below.
    return compileScenarioFileSync(file, env, sets, limits);
  }
  if (declared === undefined || Object.keys(declared).length === 0) {
    return compileScenarioFileSync(file, env, sets, limits);
  }
  const { plugins, problems } = await loadPlugins(document, declared);
  const outcome = compileScenarioFileSync(file, env, sets, limits, plugins);
  if (problems.length === 0) return outcome;
  // The loader says why a plugin did not load, where the compiler only says that it did not: one problem a place.
  const at = (p: Problem): string => `${p.location?.line}:${p.location?.col}`;
  const loaderPlaces = new Set(problems.map(at));
  const rest = outcome.problems.filter((p) => !loaderPlaces.has(at(p)));
  return { ...outcome, plan: undefined, problems: sortProblems([...problems, ...rest]) };
}

/**
 * The same for a caller that has loaded the plugins (`plugins`, by name) or whose scenario has none. The
 * compiler reads the structure the schema guarantees: with schema problems, it compiles the part the schema
 * accepts, so that one pass reports the schema problems and those of expressions, templates and names beside them.
 */
export function compileScenarioFileSync(
  file: string, env: Environment = process.env, sets: readonly string[] = [], limits: LoadLimits = {},
  plugins: ReadonlyMap<string, StepKind> = new Map(),
): CompileOutcome {
  try {
    const document = loadScenarioFile(file, env, limits);
    const secrets = document.secrets;
    for (const set of sets) applySet(document.value, set);
    const { problems: schemaProblems, accepted } = checkScenarioSchema(document);
    if (accepted === undefined) {
      return { file, plan: undefined, problems: sortProblems(schemaProblems), warnings: [], secrets };
    }
    const options = schemaProblems.length === 0 ? { plugins } : { plugins, writtenAs: document.value };
    const { plan, problems, warnings } = compileScenario(accepted, accepted.value as Scenario, options);
    const all = [...schemaProblems, ...problems];
    return { file, plan, problems: sortProblems(all), warnings: sortProblems(warnings), secrets };
  } catch (error) {
    if (error instanceof PerfyError) {
      return { file, plan: undefined, problems: sortProblems(error.problems), warnings: [], secrets: [] };
    }
    return { file, plan: undefined, problems: [internalProblem(error)], warnings: [], secrets: [] };
  }
}
