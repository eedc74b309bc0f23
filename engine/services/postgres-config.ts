// The settings of a `postgres` service as the rest of perfy reads them (the compiler, the SQL executor):
// defaults, the pool, and the rule that tells an `init` file from `init` SQL. No I/O, no driver.

import type { Service } from '../generated/scenario.js';
import { parseDuration } from '../units.js';

export type PostgresService = Extract<Service, { postgres: unknown }>;

export const POSTGRES_DEFAULTS = {
  database: 'perfy',
  user: 'perfy',
  /** initdb and the server's start take about half a second; this guards against a stuck machine. */
  embeddedTimeout: '30s',
  urlTimeout: '10s',
} as const;

export const POSTGRES_POOL_DEFAULTS = { max: 10, connect_timeout: '10s', application_name: 'perfy' } as const;

/** The `pool:` settings with their defaults, in milliseconds. */
export interface PostgresPoolSettings {
  max: number;
  connectTimeoutMs: number;
  /** undefined: no statement timeout. */
  statementTimeoutMs: number | undefined;
  applicationName: string;
}

/** The pool settings of a postgres service, defaults filled in. */
export function poolSettingsOf(config: PostgresService): PostgresPoolSettings {
  const pool = config.pool ?? {};
  return {
    max: pool.max ?? POSTGRES_POOL_DEFAULTS.max,
    connectTimeoutMs: parseDuration(pool.connect_timeout ?? POSTGRES_POOL_DEFAULTS.connect_timeout) ?? 10_000,
    statementTimeoutMs: pool.statement_timeout === undefined ? undefined : parseDuration(pool.statement_timeout),
    applicationName: pool.application_name ?? POSTGRES_POOL_DEFAULTS.application_name,
  };
}

/**
 * The rule for `init`: a single line ending in `.sql` is a file (relative to the scenario file); anything
 * else is SQL text. SQL that is one line ending in ".sql" is not SQL anyone writes.
 */
export function initIsFile(init: string): boolean {
  return !/[\r\n]/.test(init) && /\.sql$/i.test(init.trim());
}

