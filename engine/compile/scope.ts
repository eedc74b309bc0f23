// What every part of the compiler shares: the scenario, the problems found so far, the names it defines, and
// the checks of expressions, templates, durations and references that every part makes the same way.

import { dirname, resolve as resolvePath } from 'node:path';
import { PerfyError, didYouMean, problem, type ErrorCode, type Problem, type SourceLocation } from '../errors.js';
import { compileExpression, type CompiledExpression } from '../expr/index.js';
import type { Scenario } from '../generated/scenario.js';
import type { LoadedDocument, PathSegment } from '../load/index.js';
import { BUILTIN_STEP_KINDS } from '../steps/index.js';
import type { DeclaredService, StepKind } from '../steps/types.js';
import type { Defined } from './defined.js';
import type { PlannedData } from './plan.js';
import { compileTemplate, type Template, type TemplateTree } from './template.js';
import { httpUrlProblem } from './url.js';
import { parseDuration } from '../units.js';

/** Names an iteration's scope always has, besides variables, captures and data. */
const BUILTIN_NAMES = ['vu', 'iteration', 'workload', 'scenario', 'loop', 'data', 'services', 'target'] as const;

export interface FlowContext {
  path: PathSegment[];
  inLoop: boolean;
  group: string | undefined;
}

export class CompileScope {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];
  readonly baseDir: string;
  readonly variableNames: Set<string>;
  readonly captureNames = new Set<string>();
  readonly stepNames = new Set<string>();
  readonly groupNames = new Set<string>();
  /** The kinds of the steps compiled (by name; a plugin step's kind is its plugin's name). */
  readonly stepKinds = new Map<string, StepKind>();
  readonly data: Record<string, PlannedData> = {};
  /** Every service, data source and plugin declared (in parts left out for schema problems too). */
  readonly services: Map<string, DeclaredService>;
  readonly dataNames: Set<string>;
  readonly pluginNames: Set<string>;
  /** What conditions (`if:`, `while:`) may read of the last response. */
  readonly responseNames: readonly string[];
  /** Checks made once per scenario (see StepCompiler.once). */
  readonly checked = new Set<string>();
  nextStepId = 0;

  constructor(
    readonly document: LoadedDocument,
    readonly scenario: Scenario,
    /** What the scenario as written defines, when `scenario` is only the part the schema accepts. */
    readonly written: Defined | undefined,
    /** The scenario's plugins that loaded, by name. */
    readonly plugins: ReadonlyMap<string, StepKind>,
  ) {
    this.baseDir = dirname(resolvePath(document.file));
    this.variableNames = new Set([...Object.keys(scenario.variables ?? {}), ...(written?.variables ?? [])]);
    this.services = new Map(Object.entries(scenario.services ?? {}).map(([name, service]) => {
      const builtin = (service as { builtin?: string }).builtin;
      return [name, { builtin, postgres: 'postgres' in service }];
    }));
    for (const [name, service] of written?.services ?? []) {
      if (!this.services.has(name)) this.services.set(name, service);
    }
    this.dataNames = new Set([...Object.keys(scenario.data ?? {}), ...(written?.data ?? [])]);
    this.pluginNames = new Set([...Object.keys(scenario.plugins ?? {}), ...(written?.plugins ?? [])]);
    // A condition may read the last response of any kind: every field of every kind the scenario can use.
    const kinds = [...BUILTIN_STEP_KINDS, ...plugins.values()];
    this.responseNames = [...new Set(kinds.flatMap((kind) => kind.fields ?? []))];
  }

  /** Whether the scenario has this top-level key (as written: its value may have been left out). */
  has(key: keyof Scenario): boolean {
    return this.scenario[key] !== undefined || this.written?.keys.has(key) === true;
  }

  /**
   * Compiles an expression and checks the names it reads:
   * `response` (expect, retry.on): the step kind's response fields, variables and captures;
   * `value` (capture): the same, any value; `condition` (if, while): variables, captures and the last response;
   * `metrics` (thresholds, alerts): no free names, only metric functions.
   */
  expression(
    source: string,
    path: PathSegment[],
    context: 'response' | 'value' | 'condition' | 'metrics',
    responseNames?: readonly string[],
  ): CompiledExpression {
    const locate = (offset: number): SourceLocation => this.document.locateInString(path, offset);
    const compiled = this.orProblems(() => compileExpression(source, locate));
    if (compiled === undefined) return compileExpression('false');
    const allowed = new Set<string>(
      context === 'metrics' ? [] : [...this.variableNames, ...this.captureNames, ...BUILTIN_NAMES],
    );
    if (context !== 'metrics') for (const n of responseNames ?? this.responseNames) allowed.add(n);
    const anyResponse = responseNames === undefined && (context === 'response' || context === 'value');
    for (const { name, offset } of compiled.names) {
      if (allowed.has(name) || anyResponse) continue;
      const hint = context === 'metrics'
        ? 'thresholds and alerts read metrics through functions: p95(http.duration), rate(http.errors), ' +
          'count(iterations), cpu(api)'
        : didYouMean(name, allowed) ?? `names here: ${[...allowed].join(', ')}`;
      this.problems.push(problem('E_EXPR_UNKNOWN', `\`${name}\` is not defined here`, hint, locate(offset)));
    }
    if (context !== 'metrics' && compiled.sustainMs !== undefined) {
      const at = source.search(/\bfor\s+(?:[\d.]+[a-z]+)+\s*$/);
      this.problems.push(problem(
        'E_EXPR_WINDOW',
        'a `for` window only applies to thresholds and alerts',
        'an expect or condition is judged once, on one response: remove `for …`',
        locate(Math.max(0, at)),
      ));
    }
    const kind = compiled.kind;
    if (context !== 'value' && kind !== 'bool' && kind !== 'unknown') {
      this.problems.push(problem(
        'E_EXPR_TYPE',
        `this is a ${kind}, not a condition`,
        'compare it with something: `status == 200`, `p95(http.duration) < 300ms`',
        locate(0),
      ));
    }
    return compiled;
  }

  template(source: string, path: PathSegment[], ctx?: FlowContext): Template {
    const locate = (offset: number): SourceLocation => this.document.locateInString(path, offset);
    const template = this.orProblems(() => compileTemplate(source, locate));
    if (template === undefined) return compileTemplate('');
    for (const { path: name, offset } of template.names) {
      const unknown = this.unknownTemplateName(name, ctx);
      if (unknown) this.problems.push(problem('E_TEMPLATE_UNKNOWN', unknown.message, unknown.hint, locate(offset)));
    }
    return template;
  }

  /**
   * What `compile` returns, or undefined when it throws a PerfyError (a parse error): its problems join the
   * scenario's, so one pass goes on to report the rest. Any other error is a bug and propagates.
   */
  private orProblems<T>(compile: () => T): T | undefined {
    try {
      return compile();
    } catch (error) {
      if (!(error instanceof PerfyError)) throw error;
      this.problems.push(...error.problems);
      return undefined;
    }
  }

  /** Why a template name does not resolve, or undefined when it does. */
  unknownTemplateName(
    path: string[],
    ctx: FlowContext | undefined,
  ): { message: string; hint: string } | undefined {
    const [root, second, third] = path;
    const name = path.join('.');
    if (root === undefined) return { message: 'empty template name', hint: 'write {{name}}' };
    if (this.variableNames.has(root) || this.captureNames.has(root)) return undefined;
    switch (root) {
      case 'vu':
      case 'iteration':
      case 'workload':
      case 'scenario':
      case 'target':
        return undefined;
      case 'loop':
        if (second !== 'index') {
          return { message: `{{${name}}} does not exist`, hint: 'inside a loop, {{loop.index}} counts rounds from 0' };
        }
        return ctx?.inLoop === false
          ? { message: '{{loop.index}} is used outside a loop', hint: 'move the step into a `loop:` flow' }
          : undefined;
      case 'env':
        return {
          message: `{{${name}}} is not a template name`,
          hint: `environment variables are read when the file loads: \${env.${second ?? 'NAME'}}`,
        };
      case 'data': {
        const sources = [...this.dataNames];
        if (second === undefined || !sources.includes(second)) {
          return {
            message: `there is no data source "${second ?? ''}"`,
            hint: didYouMean(second ?? '', sources) ?? (sources.length
              ? `data sources: ${sources.join(', ')}`
              : 'declare one under `data:`'),
          };
        }
        const columns = this.data[second]?.columns;
        if (third === undefined) {
          return {
            message: `{{${name}}} needs a column`,
            hint: `write {{data.${second}.COLUMN}}${columns ? `; columns: ${columns.join(', ')}` : ''}`,
          };
        }
        if (columns && !columns.includes(third)) {
          return {
            message: `data source "${second}" has no column "${third}"`,
            hint: didYouMean(third, columns) ?? `columns: ${columns.join(', ')}`,
          };
        }
        return undefined;
      }
      case 'services': {
        const services = [...this.services.keys()];
        if (second === undefined || !services.includes(second)) {
          return {
            message: `there is no service "${second ?? ''}"`,
            hint: didYouMean(second ?? '', services) ?? (services.length
              ? `services: ${services.join(', ')}`
              : 'declare it under `services:`'),
          };
        }
        if (third !== undefined && !['url', 'host', 'port'].includes(third)) {
          return { message: `services have no "${third}"`, hint: `use {{services.${second}.url}}, .host or .port` };
        }
        return undefined;
      }
      default: {
        const candidates = [
          ...this.variableNames,
          ...this.captureNames,
          'vu', 'iteration', 'workload', 'data', 'services',
        ];
        return {
          message: `\`${root}\` is not a variable, capture, data source or service`,
          hint: didYouMean(root, candidates) ?? 'define it under `variables:`, or capture it in an earlier step',
        };
      }
    }
  }

  templateMap(map: Record<string, string> | undefined, path: PathSegment[]): Record<string, Template> {
    const out: Record<string, Template> = {};
    for (const [key, value] of Object.entries(map ?? {})) out[key] = this.template(value, [...path, key]);
    return out;
  }

  /** Compiles every string of a step's settings as a template. */
  tree(value: unknown, path: PathSegment[], ctx: FlowContext): TemplateTree {
    if (typeof value === 'string') return this.template(value, path, ctx);
    if (value === null || typeof value !== 'object') return value as number | boolean | null;
    if (Array.isArray(value)) return value.map((v, i) => this.tree(v, [...path, i], ctx));
    const out: Record<string, TemplateTree> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.tree(v, [...path, k], ctx);
    return out;
  }

  duration(value: string | undefined, path: PathSegment[], options: { positive?: boolean } = {}): number | undefined {
    if (value === undefined) return undefined;
    const ms = parseDuration(value);
    if (ms === undefined) return undefined; // the schema reported it
    if (options.positive && ms <= 0) {
      this.report(
        'E_DURATION_ZERO',
        `${value} is not a positive duration`,
        'give it a length such as 30s (a stage that should not run is removed, not given 0s)',
        path,
      );
      return undefined;
    }
    return ms;
  }

  /**
   * The `db:` of a SQL step or transaction names a postgres service, or is a postgres:// URL (or a template,
   * judged when the run starts); without it the scenario must have exactly one postgres service.
   */
  checkDatabase(db: string | undefined, path: PathSegment[], what: string): void {
    if (db !== undefined && (db.includes('{{') || /^postgres(ql)?:\/\//.test(db))) return;
    const postgres = [...this.services].filter(([, service]) => service.postgres).map(([name]) => name);
    if (db === undefined) {
      if (postgres.length === 1) return;
      this.report(
        'E_SERVICE_UNKNOWN',
        `this ${what} does not say which database to use`,
        postgres.length === 0
          ? 'declare one under `services:` (`db: { postgres: embedded }`) or give `db: postgres://…`'
          : `name one of the postgres services in \`db:\`: ${postgres.join(', ')}`,
        path.slice(0, -1),
      );
      return;
    }
    if (postgres.includes(db)) return;
    const why = this.services.has(db) ? `"${db}" is a service, but not a postgres one` : `there is no service "${db}"`;
    this.report(
      'E_SERVICE_UNKNOWN',
      `${why}: \`db:\` names a postgres service or is a postgres:// URL`,
      didYouMean(db, postgres) ?? (postgres.length
        ? `the postgres services: ${postgres.join(', ')}`
        : 'declare one under `services:` (`db: { postgres: embedded }`)'),
      path,
    );
  }

  /** E_FORMAT at the wrong part of a URL that must be absolute http(s) (a template may stand for any part). */
  checkHttpUrl(url: string, path: PathSegment[]): void {
    const wrong = httpUrlProblem(url);
    if (wrong === undefined) return;
    const location = this.document.locateInString(path, wrong.offset);
    this.problems.push(problem('E_FORMAT', wrong.message, wrong.hint, location));
  }

  report(code: ErrorCode, message: string, hint: string, path: PathSegment[], options?: { key?: boolean }): void {
    this.problems.push(problem(code, message, hint, this.document.locate(path, options)));
  }

  warn(
    code: ErrorCode & `W_${string}`,
    message: string,
    hint: string,
    path: PathSegment[],
    options?: { key?: boolean },
  ): void {
    this.warnings.push(problem(code, message, hint, this.document.locate(path, options)));
  }
}
