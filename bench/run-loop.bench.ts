// The run's own hot paths, without the network: the scheduler's arrival stream (one `next()` per iteration
// started) and one interpreter iteration of the comparison step (template, expect, capture, metrics) against an
// executor that answers at once, so what is measured is perfy's bookkeeping around a request.

import { compileScenario } from '../engine/compile/index.js';
import type { HttpRequestPlan } from '../engine/steps/http/index.js';
import type { Plan } from '../engine/compile/plan.js';
import { buildTimeline } from '../engine/compile/timeline.js';
import type { StepRunner, StepResult } from '../engine/steps/types.js';
import type { Scenario } from '../engine/generated/scenario.js';
import { loadScenarioText } from '../engine/load/index.js';
import { createMetricStore } from '../engine/metrics/store.js';
import { Interpreter } from '../engine/run/interpreter.js';
import { macrotaskEpoch, nextMacrotask } from '../engine/run/macrotask.js';
import { createRandom } from '../engine/random.js';
import { measure, measureAsync, type BenchModule } from './run.js';

const SCENARIO = `
name: bench_step
target: http://127.0.0.1:1
variables: { id: [d-1, d-2] }
load: [ { users: 1, hold: 1s } ]
flow:
  - name: get debate
    http: { get: "/debates/{{id}}" }
    expect: "status == 200"
    capture: { next: "json.next" }
`;

function plan(): Plan {
  const document = loadScenarioText(SCENARIO, '/bench/scenario.yaml', {});
  const compiled = compileScenario(document, document.value as Scenario).plan;
  if (!compiled) throw new Error('bench scenario does not compile');
  return compiled;
}

const bench: BenchModule = {
  name: 'run loop (engine/run, engine/compile/timeline)',
  async run() {
    const uniform = buildTimeline({
      model: 'open',
      stages: [{ kind: 'rate', rate: 1e9, durationMs: 3_600_000 }],
      arrivals: 'uniform',
      maxVus: 1,
    });
    const poisson = buildTimeline({
      model: 'open',
      stages: [{ kind: 'rate', rate: 1e9, durationMs: 3_600_000 }],
      arrivals: 'poisson',
      maxVus: 1,
    });
    if (uniform.model !== 'open' || poisson.model !== 'open') throw new Error('open timelines expected');
    const uniformArrivals = uniform.arrivalTimes();
    const poissonArrivals = poisson.arrivalTimes(1);

    const p = plan();
    const store = createMetricStore();
    const step = p.workloads[0]!.flow[0]!;
    if (step.type !== 'step') throw new Error('a step expected');
    const url = step.call((request) => (isHttpRequest(request) ? request.url : undefined));
    if (url === undefined) throw new Error('an http step expected');
    const response = {
      status: 200,
      duration: 0.4,
      json: { items: [], next: null },
      header: {},
      body: undefined,
      size: 60,
      ok: true,
    };
    const rendered: string[] = [];
    const instant: StepRunner = {
      execute(ctx): Promise<StepResult> {
        // What an executor must do before any I/O: render the URL template.
        rendered[0] = url.render(ctx.vars);
        return Promise.resolve({ ok: true, response });
      },
    };
    const interpreter = new Interpreter({
      plan: p,
      store,
      workload: 'default',
      runners: new Map([[step.id, instant]]),
      feeders: new Map(),
      baseVars: {},
      correctForLag: true,
    });
    const signal = new AbortController().signal;
    const user = interpreter.createUser(1, createRandom(1), signal);
    const flow = p.workloads[0]!.flow;
    // A closed-model user after each iteration: the epoch read (all an iteration that did I/O pays), and what one
    // that did none pays on top (a turn of the event loop).
    let seen = macrotaskEpoch();
    const closedRound = async (): Promise<void> => {
      await interpreter.iteration(user, flow, signal, 0.5);
      const now = macrotaskEpoch();
      seen = now !== seen ? now : await nextMacrotask();
    };
    return [
      measure('scheduler: next uniform arrival time', () => uniformArrivals.next().value),
      measure('scheduler: next poisson arrival time', () => poissonArrivals.next().value),
      measure('scheduler: macrotask epoch read (once per closed-model iteration)', () => macrotaskEpoch()),
      await measureAsync(
        'interpreter: one iteration of the comparison step (no I/O)',
        () => interpreter.iteration(user, flow, signal, 0.5),
        { maxNsPerOp: 10_000 },
      ),
      await measureAsync('closed-model round without I/O: the iteration and a turn of the event loop', closedRound),
    ];
  },
};
export default bench;

function isHttpRequest(request: unknown): request is HttpRequestPlan {
  return typeof request === 'object' && request !== null && 'url' in request && 'method' in request;
}
