// Every user-facing error and warning of perfy: a stable code, a message, a hint and, where it comes from a
// file, its file:line:col. The code table is public (docs/errors.md lists it; a test keeps the two in step).
// A code that starts with W_ is a warning: printed the same way, it never changes the exit code.

// The exit classes, which ERROR_CODES assigns to each code; engine/exit.ts decides a command's exit code from them.
export const EXIT = { ok: 0, thresholdsFailed: 1, invalid: 2, runFailed: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every code perfy can report, with the exit code it leads to and a one-line summary for docs/errors.md. */
export const ERROR_CODES = {
  E_USAGE: { exit: 2, summary: 'The command line is wrong: an unknown command or flag, or a missing argument.' },
  E_FILE_NOT_FOUND: { exit: 2, summary: 'The scenario file does not exist.' },
  E_FILE_IS_DIRECTORY: { exit: 2, summary: 'A directory was given where a scenario file was expected.' },
  E_FILE_READ: { exit: 2, summary: 'The file exists but could not be read (permissions, I/O error).' },
  E_FILE_NOT_REGULAR: { exit: 2, summary: 'The path names a named pipe, socket or device, not a regular file.' },
  E_FILE_TOO_LARGE: { exit: 2, summary: 'The scenario file is larger than 1 MB or --max-scenario-size.' },
  E_FILE_EMPTY: { exit: 2, summary: 'The scenario file is empty or holds only comments.' },
  E_NOT_YAML: { exit: 2, summary: 'The file is not a YAML mapping (binary data, a bare list or a bare value).' },
  E_YAML_SYNTAX: { exit: 2, summary: 'The YAML does not parse.' },
  E_YAML_DUPLICATE_KEY: { exit: 2, summary: 'The same key appears twice in one mapping.' },
  E_YAML_TAB: { exit: 2, summary: 'A tab character is used for indentation; YAML allows only spaces.' },
  E_ENV_UNSET: { exit: 2, summary: '`${env.NAME}` names an environment variable that is not set and has no default.' },
  E_ENV_SYNTAX: {
    exit: 2,
    summary: 'A `${...}` placeholder is malformed; only `${env.NAME}` and `${env.NAME:-default}` exist.',
  },
  E_UNKNOWN_KEY: {
    exit: 2,
    summary: 'A key that the format does not have (often a typo; the hint suggests the closest name).',
  },
  E_MISSING_KEY: { exit: 2, summary: 'A required key is missing.' },
  E_TYPE: {
    exit: 2,
    summary: 'A value has the wrong type (a list where a mapping belongs, text where a number belongs, ...).',
  },
  E_ENUM: { exit: 2, summary: 'A value is not one of the allowed choices.' },
  E_FORMAT: { exit: 2, summary: 'A typed string is malformed: a duration, rate, size, percentage, name or URL.' },
  E_SCHEMA: {
    exit: 2,
    summary: 'Any other violation of the scenario schema (a number out of range, a list too short, ...).',
  },
  E_STEP_KIND: {
    exit: 2,
    summary: 'A flow item is not exactly one of: a step kind (http, sql, github, jmeter, use), think, loop, if, ' +
      'parallel, group.',
  },
  E_LOAD_MIXED: { exit: 2, summary: 'One workload mixes open-model stages (rates) and closed-model stages (users).' },
  E_WORKLOADS: { exit: 2, summary: 'The scenario has both top-level `load`/`flow` and `workloads`, or neither.' },
  E_DURATION_ZERO: { exit: 2, summary: 'A duration that must be positive is zero, or a stage has no length.' },
  E_RANGE: { exit: 2, summary: 'A range is reversed or empty (a think time `1s..200ms`).' },
  E_DUPLICATE_NAME: { exit: 2, summary: 'Two steps, workloads or captures share a name that must be unique.' },
  E_EXPR_PARSE: { exit: 2, summary: 'An expression (expect, capture, if, threshold, alert) does not parse.' },
  E_EXPR_REGEX: {
    exit: 2,
    summary: 'The pattern of `matches` or of a watched `command` is not one RE2 takes (a lookaround, a backreference).',
  },
  E_EXPR_UNKNOWN: {
    exit: 2,
    summary: 'An expression names a function, field or variable that does not exist where it is used.',
  },
  E_EXPR_TYPE: {
    exit: 2,
    summary: 'An expression compares values of different kinds (a duration with a size, a percentage with a rate).',
  },
  E_EXPR_WINDOW: {
    exit: 2,
    summary: 'A `for` window is used outside thresholds and alerts, the only conditions watched over time.',
  },
  E_TEMPLATE_PARSE: { exit: 2, summary: 'A `{{...}}` template is malformed (unclosed tag, unsupported section).' },
  E_GITHUB_REQUEST: {
    exit: 2,
    summary: 'A github step\'s `request` is not `METHOD /path`, or its path names a `{parameter}` that `params` does ' +
      'not give.',
  },
  E_SQL_EXPLAIN: {
    exit: 2,
    summary: '`explain` on a statement PostgreSQL cannot EXPLAIN (only SELECT, INSERT, UPDATE, DELETE, MERGE, ' +
      'VALUES, WITH, TABLE, EXECUTE, DECLARE).',
  },
  E_SQL_TEMPLATE: {
    exit: 2,
    summary: 'SQL text holds a `{{...}}` template; values go in `params` as bound parameters, never into the SQL text.',
  },
  E_TEMPLATE_UNKNOWN: {
    exit: 2,
    summary: 'A template names a variable, capture, data column or service that the scenario does not define.',
  },
  E_TARGET_MISSING: { exit: 2, summary: 'A step uses a relative URL but the scenario has no `target`.' },
  E_THRESHOLD_METRIC: {
    exit: 2,
    summary: 'A threshold or alert reads a metric that no step or monitor of the scenario produces.',
  },
  E_TAG_UNKNOWN: { exit: 2, summary: 'A tag filter names a step, group or workload that does not exist.' },
  E_SERVICE_UNKNOWN: { exit: 2, summary: 'A service or process name is used that `services:` does not declare.' },
  E_DATA_MISSING: { exit: 2, summary: 'A data file named in `data:` does not exist.' },
  E_DATA_INVALID: { exit: 2, summary: 'A data file is not CSV or JSON rows, holds no rows, or is a pipe or device.' },
  E_PLUGIN_MISSING: {
    exit: 2,
    summary: 'A plugin module named in `plugins:` does not exist, or a step uses an undeclared plugin.',
  },
  E_OUT_DIR: {
    exit: 2,
    summary: '`--out` names a directory perfy cannot create or write in (a file, no permission, a read-only or full ' +
      'disk); checked before anything starts.',
  },
  E_SERVICE_START: {
    exit: 3,
    summary: 'A service did not start or did not become ready in time; its output is saved and named.',
  },
  E_JMETER_MISSING: {
    exit: 3,
    summary: 'Apache JMeter, or the Java it needs, cannot be found where the step, JMETER_HOME or the PATH point.',
  },
  E_JMETER_LAUNCHER: {
    exit: 3,
    summary: 'JMeter before 3.3 needs perfy\'s launcher, and there is neither a javac to compile it nor a Java that ' +
      'runs source files.',
  },
  E_EXECUTOR_MISSING: {
    exit: 2,
    summary: 'A step kind has no executor in this version of perfy, or a plugin module does not export one.',
  },
  E_ABORTED: {
    exit: 3,
    summary: 'A threshold or alert with `abort: true` failed and stopped the run; the result so far is written.',
  },
  E_INTERRUPTED: { exit: 3, summary: 'The run was stopped by Ctrl-C or SIGTERM; the result so far is written.' },
  E_OUTPUT: {
    exit: 3,
    summary: 'A result or report file, or standard output or error, could not be written (disk full, …).',
  },
  E_REPORT: {
    exit: 3,
    summary: 'A report could not be rendered (PDF without Chromium, …); the result and the other reports are written.',
  },
  E_FD_LIMIT: {
    exit: 3,
    summary: 'perfy ran out of file descriptors (EMFILE) during the run: requests failed before reaching the target, ' +
      'so the numbers measure perfy\'s limit.',
  },
  E_MERGE_SEGMENTS: {
    exit: 2,
    summary: 'The results given to `perfy merge` are not one whole set of segments: one given twice or missing, ' +
      'different splits, or segments mixed with whole runs.',
  },
  E_COMPARE_INPUT: {
    exit: 2,
    summary: '`perfy compare` cannot compare these results: different scenarios, or a rule\'s metric missing in one.',
  },
  E_COMPARE_RULE: {
    exit: 2,
    summary: 'A regression rule (`--fail-on`) does not read AGGREGATE > +CHANGE or < -CHANGE.',
  },
  E_INTERNAL: { exit: 3, summary: 'A bug in perfy. Run again with PERFY_DEBUG=1 for a stack trace and report it.' },
  // Warnings: printed by validate and run like problems, they never change the exit code.
  W_FD_LIMIT: {
    exit: 0,
    summary: 'The scenario may hold more connections open than the open-file limit allows (`ulimit -n`), even after ' +
      'perfy raised it to the hard limit.',
  },
  W_MERGE_TIME: {
    exit: 0,
    summary: 'The results merged by `perfy merge` did not run at the same time: the merge is not the load of one run.',
  },
  W_TIME_SCALE: {
    exit: 0,
    summary: '`--time-scale` does not reach a `command:` or `url:` service: its own windows, timeouts and caches ' +
      'keep real time.',
  },
  W_MONITOR_LEAK: {
    exit: 0,
    summary: 'The load is shorter than `monitor.leak` needs for a verdict (warm-up, then 1.15 × the window).',
  },
  W_MONITOR_NOTIFY: {
    exit: 0,
    summary: 'A `monitor.notify` receiver did not take an event (after its retries); the event is in the result.',
  },
  W_MONITOR_TARGET: {
    exit: 0,
    summary: 'A process `monitor:` watches cannot be found, has no process of its own, or is gone; the run goes on.',
  },
  W_MONITOR_SAMPLE: { exit: 0, summary: 'A monitor sample failed unexpectedly; the next one tries again.' },
  W_JMETER_MISSING: { exit: 0, summary: 'A jmeter step will fail: no JMeter at its path, JMETER_HOME or PATH.' },
} as const satisfies Record<string, { exit: ExitCode; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SourceLocation {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
}

export interface Problem {
  code: ErrorCode;
  message: string;
  hint?: string;
  location?: SourceLocation;
}

/** A user-facing failure: one or more problems, never a stack trace on the console. */
export class PerfyError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem | Problem[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    if (list.length === 0) throw new Error('PerfyError needs at least one problem');
    super(list.map((p) => `${p.code} ${p.message}`).join('\n'));
    this.name = 'PerfyError';
    this.problems = list;
  }
  /** The first problem's code: the one tests and callers usually match on. */
  get code(): ErrorCode {
    return this.problems[0]!.code;
  }
}

export function problem(code: ErrorCode, message: string, hint?: string, location?: SourceLocation): Problem {
  const p: Problem = { code, message };
  if (hint !== undefined) p.hint = hint;
  if (location !== undefined) p.location = location;
  return p;
}

/** `file:line:col  E_CODE  message` and an indented hint line: the one format every problem is printed in. */
export function formatProblem(p: Problem): string {
  const where = p.location ? `${p.location.file}:${p.location.line}:${p.location.col}` : '';
  const head = [where, p.code, p.message].filter((s) => s !== '').join('  ');
  return p.hint ? `${head}\n    hint: ${p.hint}` : head;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest of `candidates` to `name`, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closest(name, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}

/** An error perfy did not expect: a problem that says so (with the stack under PERFY_DEBUG). */
export function internalProblem(error: unknown): Problem {
  const detail = process.env['PERFY_DEBUG'] ? `\n${(error as Error)?.stack ?? String(error)}` : '';
  return problem(
    'E_INTERNAL',
    `perfy failed unexpectedly: ${(error as Error)?.message ?? String(error)}${detail}`,
    'this is a bug in perfy: run again with PERFY_DEBUG=1 and report the output',
  );
}

/** Problems in the order of the file: by line, then column. */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0),
  );
}
