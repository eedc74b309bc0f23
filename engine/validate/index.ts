// `perfy validate`: a scenario file → every problem in it (load, schema, semantic), or a compiled Plan.

import { compileScenario } from '../compile/index.js';
import type { Plan } from '../compile/plan.js';
import { PerfyError, problem, type Problem } from '../errors.js';
import type { Scenario } from '../generated/scenario.js';
import { loadScenarioFile, type Environment } from '../load/index.js';
import { checkSchema } from './schema.js';

export interface ValidationOutcome {
  file: string;
  plan: Plan | undefined;
  problems: Problem[];
  /** Values from the environment that output must redact (empty when the file did not load). */
  secrets: string[];
}

/**
 * Loads, checks and compiles one scenario. Problems of the scenario are returned, never thrown; the semantic
 * checks run once the schema is satisfied (they read the structure the schema guarantees).
 */
export function validateFile(file: string, env: Environment = process.env): ValidationOutcome {
  try {
    const document = loadScenarioFile(file, env);
    const secrets = document.secrets;
    const schemaProblems = checkSchema(document);
    if (schemaProblems.length > 0) return { file, plan: undefined, problems: sortProblems(schemaProblems), secrets };
    const { plan, problems } = compileScenario(document, document.value as Scenario);
    return { file, plan, problems: sortProblems(problems), secrets };
  } catch (error) {
    if (error instanceof PerfyError) return { file, plan: undefined, problems: sortProblems(error.problems), secrets: [] };
    return { file, plan: undefined, problems: [internalProblem(error)], secrets: [] };
  }
}

export function internalProblem(error: unknown): Problem {
  const detail = process.env['PERFY_DEBUG'] ? `\n${(error as Error)?.stack ?? String(error)}` : '';
  return problem('E_INTERNAL', `perfy failed unexpectedly: ${(error as Error)?.message ?? String(error)}${detail}`, 'this is a bug in perfy: run again with PERFY_DEBUG=1 and report the output');
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0));
}
