// The built-in step kinds, in one explicit list: adding a kind is a folder beside these and one entry here.
// The schema generator, the compiler, the run and the console summary all read this list; plugins add theirs.

import { coreMetrics, type MetricInfo } from '../metrics/catalog.js';
import { github } from './github/index.js';
import { http } from './http/index.js';
import { jmeter } from './jmeter/index.js';
import { sql } from './sql/index.js';
import type { StepKind } from './types.js';

export const BUILTIN_STEP_KINDS = [http, sql, github, jmeter] as const satisfies readonly StepKind[];

/** The built-in kind of this name, if there is one. */
export function builtinStepKind(name: string): StepKind | undefined {
  return BUILTIN_STEP_KINDS.find((kind) => kind.name === name);
}

/** Every metric the built-in step kinds produce. */
export function stepMetrics(): MetricInfo[] {
  return BUILTIN_STEP_KINDS.flatMap((kind) => kind.metrics);
}

/** Every metric perfy itself produces: the core's, the services' and the built-in step kinds'. */
export function allMetrics(): MetricInfo[] {
  return [...coreMetrics(), ...stepMetrics()];
}
