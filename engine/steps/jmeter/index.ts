// The `jmeter` step kind's door: its schema, how a plan step compiles (and whether this machine has JMeter),
// its response fields and metrics. The launcher and the JTL reader (runner.ts) load only when a run starts.

import { existsSync } from 'node:fs';
import type { TemplateTree } from '../../compile/template.js';
import { PerfyError } from '../../errors.js';
import type { JmeterPlan } from '../../generated/scenario.js';
import { m } from '../../metrics/catalog.js';
import { bindStep, ExecutorSource, type StepCompiler, type StepKind } from '../types.js';
import type { JmeterExecutor } from './runner.js';
import { schema } from './schema.js';
import { findJmeterHome } from './search.js';

/** A `jmeter:` step compiled. */
export interface JmeterPlanStep {
  /** The .jmx file, absolute. */
  plan: string;
  /** `-J` properties, each a template. */
  properties: [string, TemplateTree][];
  /** The JMeter to use as written (a home, a bin/ or the jmeter script); undefined: JMETER_HOME, then the PATH. */
  jmeter: string | undefined;
}

export const jmeterExecutor = new ExecutorSource<JmeterPlanStep, JmeterExecutor>(
  'jmeter', async () => (await import('./runner.js')).startJmeterExecutor,
);

export function compileJmeterPlan(settings: JmeterPlan, at: StepCompiler): JmeterPlanStep {
  const p = at.path;
  const plan = at.file(settings.plan);
  if (!existsSync(plan)) {
    at.problem('E_DATA_MISSING', `JMeter plan ${settings.plan} does not exist`,
      `the path is relative to the scenario file; it resolves to ${plan}`, [...p, 'plan']);
  }
  checkJmeterInstalled(settings.jmeter, at);
  if (settings.jmeter !== undefined) at.template(settings.jmeter, [...p, 'jmeter']);
  return {
    plan,
    properties: Object.entries(settings.properties ?? {})
      .map(([name, v]) => [name, at.tree(v, [...p, 'properties', name])]),
    jmeter: settings.jmeter,
  };
}

/**
 * `validate` says that a jmeter step will fail for want of JMeter, as `perfy doctor` would: the same search as
 * at run time (the step's path, JMETER_HOME, the PATH), file checks only. Once per JMeter looked for.
 */
function checkJmeterInstalled(explicit: string | undefined, at: StepCompiler): void {
  if (explicit?.includes('{{') || !at.once(`jmeter:${explicit ?? ''}`)) return;
  try {
    findJmeterHome(explicit);
  } catch (error) {
    if (!(error instanceof PerfyError)) throw error;
    const found = error.problems[0];
    at.warning('W_JMETER_MISSING',
      `${found?.message ?? 'JMeter was not found'}: this step will fail when the scenario runs`,
      `${found?.hint ?? ''}; \`perfy doctor\` shows what perfy finds`,
      explicit === undefined ? at.path.slice(0, -1) : [...at.path, 'jmeter'], { key: explicit === undefined });
  }
}

export const jmeter = {
  name: 'jmeter',
  definition: 'jmeterPlan',
  schema,
  fields: ['duration', 'samples', 'errors', 'ok'],
  metrics: [
    m('jmeter.duration', 'trend', 'Elapsed time of one JMeter sample (JMeter\'s `elapsed`), tagged `label` (the '
      + 'sampler\'s name) and `code` (the response code, or an error class for a non-HTTP one).', { by: 'label' }),
    m('jmeter.latency', 'trend', 'Time to the first byte of one JMeter sample (JMeter\'s `Latency`).'),
    m('jmeter.connect', 'trend', 'Time to connect of one JMeter sample (JMeter\'s `Connect`).'),
    m('jmeter.samples', 'counter', 'JMeter samples, tagged `label` and `code`.'),
    m('jmeter.errors', 'rate', 'Share of JMeter samples that failed (JMeter\'s `success` false: an error status, a '
      + 'connection error or a failed assertion).'),
    m('jmeter.bytes_in', 'counter', 'Bytes JMeter received.'),
    m('jmeter.bytes_out', 'counter', 'Bytes JMeter sent (JMeter 5 and newer).'),
  ],
  compile(settings, at) {
    const step = settings as JmeterPlan;
    // A JMeter plan runs as long as it runs (its thread groups decide): no step timeout unless one is given.
    return bindStep(`jmeter ${step.plan}`, compileJmeterPlan(step, at), jmeterExecutor, { defaultTimeoutMs: Infinity });
  },
  summary: async () => (await import('./summary.js')).summary,
  sections: async () => (await import('./summary.js')).sections,
} satisfies StepKind;
