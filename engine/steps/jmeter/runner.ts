// The `jmeter` step: runs an Apache JMeter plan (.jmx) in non-GUI mode and turns every sample JMeter writes into
// perfy's metrics while it runs — jmeter.duration / latency / connect by label, samples and errors by response
// code, bytes, and the sample's assertion results as checks — so thresholds and the summary judge a JMeter plan
// as they judge native steps. JMeter's exit code says nothing: the step decides from the results file and
// JMeter's log (engine/steps/jmeter/). docs/jmeter.md.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isTemplate } from '../../compile/template.js';
import { PerfyError } from '../../errors.js';
import type { MetricHandle, MetricStore, Tags } from '../../metrics/types.js';
import type { Executor, ExecutorSetup, StepOf, StepResult, StepRunner, VuContext } from '../types.js';
import type { JmeterPlanStep } from './index.js';
import { classifyResponseCode, followJtl, type JtlSample } from './jtl.js';
import { diagnoseJmeter, locateJmeter, startJmeter, type JmeterRunHandle } from './launch.js';

/** How often the results file is read while JMeter writes it. */
const FOLLOW_INTERVAL_MS = 250;

export type JmeterExecutor = Executor<JmeterPlanStep>;

export function startJmeterExecutor(): JmeterExecutor {
  return createJmeterExecutor();
}

export function createJmeterExecutor(): JmeterExecutor {
  const running = new Set<JmeterRunHandle>();
  return {
    create(step, setup) {
      return new JmeterStepRunner(step, setup, running);
    },
    async close() {
      await Promise.all([...running].map((run) => run.stop()));
      running.clear();
    },
  };
}

interface LabelHandles {
  duration: MetricHandle;
  latency: MetricHandle;
  connect: MetricHandle;
  samples: MetricHandle;
  errors: MetricHandle;
}

class JmeterStepRunner implements StepRunner {
  private readonly plan: string;
  private readonly properties: [string, (vars: Record<string, unknown>) => string][];
  private readonly jmeterPath: string | undefined;
  private readonly store: MetricStore;
  private readonly tags: Tags;
  private readonly dir: string;
  private readonly byLabel = new Map<string, LabelHandles>();
  private readonly checks = new Map<string, MetricHandle>();
  private readonly bytesIn: MetricHandle;
  private readonly bytesOut: MetricHandle;
  private runs = 0;

  constructor(step: StepOf<JmeterPlanStep>, setup: ExecutorSetup, private readonly running: Set<JmeterRunHandle>) {
    const request = step.request;
    this.plan = request.plan;
    this.properties = request.properties.map(([name, value]) => [
      name,
      (vars) => (isTemplate(value) ? value.render(vars) : String(value)),
    ]);
    this.jmeterPath = request.jmeter;
    this.store = setup.store;
    this.tags = setup.tags;
    this.dir = join(setup.workDir ?? tmpdir(), 'jmeter', slug(step.name));
    this.bytesIn = setup.store.handle('jmeter.bytes_in', 'counter', setup.tags);
    this.bytesOut = setup.store.handle('jmeter.bytes_out', 'counter', setup.tags);
  }

  async execute(ctx: VuContext, timeoutMs: number, startedAt = performance.now()): Promise<StepResult> {
    if (ctx.signal.aborted) return failed('aborted', 'the run was stopped', 0, 0, 0);
    let install;
    try {
      install = await locateJmeter(this.jmeterPath);
    } catch (error) {
      const message = error instanceof PerfyError
        ? `${error.message} (${error.problems[0]?.hint ?? ''})`
        : (error as Error).message;
      return failed('other', message, 0, 0, 0);
    }
    const properties = Object.fromEntries(this.properties.map(([name, render]) => [name, render(ctx.vars)]));
    // One directory per run of the plan, kept with the results: results.jtl, jmeter.log, JMeter's output.
    this.runs++;
    const dir = join(this.dir, `run-${this.runs}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const run = startJmeter(install, { plan: this.plan, properties, dir, signal: ctx.signal });
    this.running.add(run);
    let samples = 0;
    let errors = 0;
    const follower = followJtl(run.jtl, (sample) => {
      samples++;
      if (!sample.success) errors++;
      this.record(sample);
    }, { intervalMs: FOLLOW_INTERVAL_MS });

    let timedOut = false;
    const deadline = Number.isFinite(timeoutMs) && timeoutMs > 0 ? setTimeout(() => {
      timedOut = true;
      void run.stop();
    }, Math.max(0, startedAt + timeoutMs - performance.now())) : undefined;
    const onAbort = (): void => void run.stop();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await run.exited;
    } finally {
      clearTimeout(deadline);
      ctx.signal.removeEventListener('abort', onAbort);
      this.running.delete(run);
    }
    const outcome = await follower.stop();
    const duration = performance.now() - startedAt;
    if (ctx.signal.aborted) return failed('aborted', 'the run was stopped', duration, samples, errors);
    if (timedOut) {
      return failed(
        'timeout',
        `the JMeter plan ran longer than the step's timeout; its samples so far are kept (${dir})`,
        duration,
        samples,
        errors,
      );
    }
    const problem = await diagnoseJmeter(run, outcome.samples);
    if (problem !== undefined) {
      const lines = problem.lines.length ? `\n${problem.lines.map((l) => `  ${l}`).join('\n')}` : '';
      return failed('other', `${problem.message} (${run.log})${lines}`, duration, samples, errors, 'jmeter');
    }
    if (outcome.samples === 0) {
      return failed('other', `the JMeter plan ran no samples (${run.log})`, duration, 0, 0, 'jmeter');
    }
    return { ok: true, response: { duration, samples, errors, ok: true } };
  }

  /** One sample: its timings by label and code, the count, the error rate, bytes, and its assertions as a check. */
  private record(sample: JtlSample): void {
    const code = /^\d{3}$/.test(sample.responseCode) ? sample.responseCode : classifyResponseCode(sample.responseCode, sample.responseMessage) ?? 'other';
    const key = `${sample.label}\u0000${code}`;
    let h = this.byLabel.get(key);
    if (h === undefined) {
      const tags: Tags = { ...this.tags, label: sample.label, code };
      h = {
        duration: this.store.handle('jmeter.duration', 'trend', tags),
        latency: this.store.handle('jmeter.latency', 'trend', tags),
        connect: this.store.handle('jmeter.connect', 'trend', tags),
        samples: this.store.handle('jmeter.samples', 'counter', tags),
        errors: this.store.handle('jmeter.errors', 'rate', tags),
      };
      this.byLabel.set(key, h);
    }
    h.samples.record(1);
    h.errors.record(sample.success ? 0 : 1);
    h.duration.record(sample.elapsed);
    if (sample.latency !== undefined) h.latency.record(sample.latency);
    if (sample.connect !== undefined) h.connect.record(sample.connect);
    if (sample.bytes > 0) this.bytesIn.record(sample.bytes);
    if (sample.sentBytes !== undefined && sample.sentBytes > 0) this.bytesOut.record(sample.sentBytes);
    // A failure with a message is an assertion of the plan that did not hold: a failed check, like an expect.
    // A sample that passed counts as a passed check of its label.
    if (sample.success || sample.failureMessage !== '') {
      let check = this.checks.get(sample.label);
      if (check === undefined) {
        check = this.store.handle('checks', 'rate', { ...this.tags, check: `jmeter: ${sample.label}` });
        this.checks.set(sample.label, check);
      }
      check.record(sample.success ? 1 : 0);
    }
  }
}

function failed(
  errorClass: 'aborted' | 'timeout' | 'other',
  message: string,
  duration: number,
  samples: number,
  errors: number,
  code?: string,
): StepResult {
  const error = code === undefined ? { class: errorClass, message } : { class: errorClass, message, code };
  return { ok: false, error, response: { duration, samples, errors, ok: false } };
}

/** A step name as a directory name. */
function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'jmeter';
}
