// `perfy validate`: a scenario file → every problem in it (load, schema, semantic), or a compiled Plan.

import { compileScenario } from '../compile/index.js';
import type { Plan } from '../compile/plan.js';
import { PerfyError, problem, type Problem } from '../errors.js';
import type { Scenario } from '../generated/scenario.js';
import { parse as parseYaml } from 'yaml';
import { loadScenarioFile, type Environment, type LoadLimits } from '../load/index.js';
import { checkScenarioSchema } from './schema.js';

export interface ValidationOutcome {
  file: string;
  plan: Plan | undefined;
  problems: Problem[];
  /** W_ codes: printed beside the problems; a scenario with warnings only is valid. */
  warnings: Problem[];
  /** Values from the environment that output must redact (empty when the file did not load). */
  secrets: string[];
}

/**
 * Loads, checks and compiles one scenario. Problems of the scenario are returned, never thrown. The compiler
 * reads the structure the schema guarantees: with schema problems, it compiles the part the schema accepts,
 * so that one pass reports the schema problems and those of expressions, templates and names beside them.
 */
export function validateFile(
  file: string, env: Environment = process.env, sets: readonly string[] = [], limits: LoadLimits = {},
): ValidationOutcome {
  try {
    const document = loadScenarioFile(file, env, limits);
    const secrets = document.secrets;
    for (const set of sets) applySet(document.value, set);
    const { problems: schemaProblems, accepted } = checkScenarioSchema(document);
    if (accepted === undefined) {
      return { file, plan: undefined, problems: sortProblems(schemaProblems), warnings: [], secrets };
    }
    const options = schemaProblems.length === 0 ? {} : { writtenAs: document.value };
    const { plan, problems, warnings } = compileScenario(accepted, accepted.value as Scenario, options);
    const all = [...schemaProblems, ...problems];
    return { file, plan, problems: sortProblems(all), warnings: sortProblems(warnings), secrets };
  } catch (error) {
    if (error instanceof PerfyError) return { file, plan: undefined, problems: sortProblems(error.problems), warnings: [], secrets: [] };
    return { file, plan: undefined, problems: [internalProblem(error)], warnings: [], secrets: [] };
  }
}

export function internalProblem(error: unknown): Problem {
  const detail = process.env['PERFY_DEBUG'] ? `\n${(error as Error)?.stack ?? String(error)}` : '';
  return problem('E_INTERNAL', `perfy failed unexpectedly: ${(error as Error)?.message ?? String(error)}${detail}`, 'this is a bug in perfy: run again with PERFY_DEBUG=1 and report the output');
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0));
}

/**
 * `--set path=value`: changes one value of the scenario before it is checked, as if the file said so. The path
 * uses dots and [index] (`load[0].rate`, `thresholds[1]`), the value is read as YAML (`50/s`, `3`, `[a, b]`).
 */
export function applySet(root: unknown, assignment: string): void {
  const eq = assignment.indexOf('=');
  const usage = (why: string): PerfyError => new PerfyError(problem('E_USAGE', `--set ${assignment}: ${why}`, 'write --set path=value, e.g. --set load[0].rate=50/s or --set seed=3'));
  if (eq <= 0) throw usage('no `=`');
  const path = assignment.slice(0, eq);
  const segments: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segments.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  if (segments.length === 0 || segments.join('') === '') throw usage('empty path');
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let node = root as Record<string | number, unknown>;
  for (const [i, segment] of segments.entries()) {
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (next === null || typeof next !== 'object') {
      if (next !== undefined) throw usage(`${segments.slice(0, i + 1).join('.')} is not a mapping or list`);
      node[segment] = typeof segments[i + 1] === 'number' ? [] : {};
    }
    node = node[segment] as Record<string | number, unknown>;
  }
}
