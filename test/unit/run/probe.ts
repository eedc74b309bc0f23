// The probe plugin shared by the interpreter and scheduler tests: a real plugin executor (the supported
// extension point) that records what each step saw and answers what the step's `with:` says.

import assert from 'node:assert/strict';
import { compileScenario } from '../../../engine/compile/index.js';
import { stepsOf, type Plan, type PlannedWorkload } from '../../../engine/compile/plan.js';
import { asStepKind } from '../../../engine/compile/plugins.js';
import { RunExecutors } from '../../../engine/run/executors.js';
import type { StepKind } from '../../../engine/steps/types.js';
import { pathToFileURL } from 'node:url';
import type { StepRunner } from '../../../engine/steps/types.js';
import type { Scenario } from '../../../engine/generated/scenario.js';
import { loadScenarioText } from '../../../engine/load/index.js';
import type { MetricStore } from '../../../engine/metrics/types.js';
import { stepTags } from '../../../engine/run/interpreter.js';
import { checkSchema } from '../../../engine/validate/schema.js';

/**
 * The probe plugin. `with:` (rendered against the user's variables) says what to answer: `delay` (ms, cut short
 * by the signal), `ok`, `status`, `error` (class), `response` (extra fields); `answers` is a list of such answers
 * taken in turn by successive calls of the step (the last one repeats).
 */
export const PROBE = `
export const calls = [];
export const state = { active: 0, maxActive: 0 };
export function reset() { calls.length = 0; state.active = 0; state.maxActive = 0; }
function render(tree, vars) {
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map((t) => render(t, vars));
  if (typeof tree.render === 'function') return tree.render(vars);
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, render(v, vars)]));
}
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
const start = () => ({
  create(step) {
    let n = 0;
    return {
      async execute(ctx, timeoutMs) {
        const args = render(step.request, ctx.vars);
        const attempt = n++;
        const answer = Array.isArray(args.answers)
          ? { ...args, ...args.answers[Math.min(attempt, args.answers.length - 1)] }
          : args;
        const call = {
          step: step.name, args, vu: ctx.vu, iteration: ctx.iteration, vars: { ...ctx.vars }, start: performance.now(),
          end: NaN, aborted: false, attempt, timeoutMs,
        };
        calls.push(call);
        state.active++;
        state.maxActive = Math.max(state.maxActive, state.active);
        try {
          const delay = Number(answer.delay ?? 0);
          if (delay > 0) call.aborted = !(await sleep(delay, ctx.signal));
        } finally {
          state.active--;
          call.end = performance.now();
        }
        if (call.aborted) return { ok: false, error: { class: 'aborted', message: 'aborted' }, response: {} };
        const response = { status: answer.status ?? 200, ...(answer.response ?? {}) };
        if (answer.ok === false) {
          return { ok: false, error: { class: answer.error ?? 'other', message: 'probe says no' }, response };
        }
        return { ok: true, response };
      },
    };
  },
  async close() {},
});
export default { name: 'probe', schema: { type: 'object' }, metrics: [], executor: async () => start };
`;

export interface ProbeCall {
  step: string;
  args: Record<string, unknown>;
  vu: number;
  iteration: number;
  vars: Record<string, unknown>;
  start: number;
  end: number;
  aborted: boolean;
  attempt: number;
}
export interface Probe {
  calls: ProbeCall[];
  state: { active: number; maxActive: number };
  reset(): void;
}

let probeKind: StepKind | undefined;

/** Imports the probe plugin written to `file` (as PROBE), for compileWithProbe; its module's exports. */
export async function loadProbe(file: string): Promise<Probe> {
  const module = (await import(pathToFileURL(file).href)) as Probe & { default: unknown };
  probeKind = asStepKind('probe', module.default);
  return module;
}

/** Compiles a scenario that uses the probe plugin (`probe.mjs` beside `scenarioFile`). */
export function compileWithProbe(scenarioFile: string, name: string, body: string): Plan {
  const yaml = `name: ${name}\nplugins: { probe: ./probe.mjs }\n${body.trim()}\n`;
  const document = loadScenarioText(yaml, scenarioFile, {});
  assert.deepEqual(checkSchema(document), [], 'the test scenario passes the schema');
  const { plan, problems } = compileScenario(
    document,
    document.value as Scenario,
    { plugins: new Map([['probe', probeKind!]]) },
  );
  assert.deepEqual(problems.map((p) => `${p.code} ${p.message}`), [], 'the test scenario compiles');
  return plan!;
}

/** The probe's runners for every step of a workload, created as runPlan creates them. */
export async function probeRunners(
  plan: Plan, workload: PlannedWorkload, store: MetricStore,
): Promise<Map<number, StepRunner>> {
  const executors = new RunExecutors(plan, undefined);
  const runners = new Map<number, StepRunner>();
  for (const step of stepsOf(workload.flow)) {
    const setup = {
      plan, store, tags: stepTags(step, workload.name), target: undefined, defaultHeaders: {}, services: {},
    };
    runners.set(
      step.id,
      await step.call(
        async (request, source) => (await executors.executor(source)).create({ ...step, request }, setup),
      ),
    );
  }
  return runners;
}
