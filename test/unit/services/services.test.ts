// Services: the demo API as a child process, user commands with HTTP and TCP readiness probes, failures
// (early exit, timeout, unknown program), stop order and SIGKILL escalation, URL checks, command splitting.

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server as TcpServer } from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { PerfyError } from '../../../engine/errors.js';
import type { Plan } from '../../../engine/compile/plan.js';
import {
  BUILTIN_SERVICES, CommandLineError, splitCommandLine, startServices, stopServices, type RunningService,
} from '../../../engine/services/index.js';
import { startUrlService } from '../../../engine/services/url.js';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { freePort, processAlive, tempDir, until } from '../../helpers.js';
import { exitForProblems } from '../../../engine/exit.js';

const temp = tempDir();
const logDir = join(temp.dir, 'logs');
const options = { scenarioDir: temp.dir, logDir };
const started: RunningService[] = [];
const servers: (Server | TcpServer)[] = [];

after(async () => {
  await stopServices(started);
  for (const server of servers) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  temp.cleanup();
});

/** A port that was free a moment ago: listen on 0, note the port, close. */

async function start(
  services: Plan['services'],
  extra: { timeScale?: number; stopGraceMs?: number; signal?: AbortSignal } = {},
): Promise<RunningService[]> {
  const running = await startServices(services, { ...options, ...extra });
  started.push(...running);
  return running;
}

async function startFails(
  services: Plan['services'],
  extra: { timeScale?: number; signal?: AbortSignal } = {},
): Promise<PerfyError> {
  try {
    started.push(...(await startServices(services, { ...options, ...extra })));
  } catch (error) {
    assert.ok(error instanceof PerfyError, String(error));
    return error;
  }
  assert.fail('the services started');
}

const node = `'${process.execPath}'`;

/** An HTTP server script: waits `delay` ms, then listens on PORT and answers GET /health with $GREETING. */
writeFileSync(
  join(temp.dir, 'http-server.cjs'),
  `const port = Number(process.argv[2]);
   const delay = Number(process.argv[3] ?? 0);
   console.log('starting on ' + port);
   console.error('a line on stderr');
   setTimeout(() => require('http').createServer((req, res) => {
     res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
     res.end(process.env.GREETING ?? 'no greeting');
   }).listen(port, '127.0.0.1'), delay);`,
);
/** Writes its pid (and its child's) to a file, ignores SIGTERM when asked, and lives until killed. */
writeFileSync(
  join(temp.dir, 'stubborn.cjs'),
  `const [file, mode] = process.argv.slice(2);
   if (mode === 'ignore-term') process.on('SIGTERM', () => {});
   const pids = [process.pid];
   if (mode === 'with-child') {
     pids.push(require('child_process')
       .spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }).pid);
   }
   require('fs').writeFileSync(file, pids.join(','));
   setInterval(() => {}, 1000);`,
);

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  return { status: res.status, text: await res.text() };
}

describe('builtin demo-api', () => {
  it('runs as a child process with its own pid, answers at its url, logs to logDir/NAME.log', async () => {
    const [api] = await start({
      api: { builtin: 'demo-api', options: { seed: 2, latency: '1ms..2ms', error_rate: 0 } },
    });
    assert.ok(api);
    assert.equal(api.name, 'api');
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(api.host, '127.0.0.1');
    assert.equal(api.url, `http://127.0.0.1:${api.port}`);
    assert.equal(typeof api.pid, 'number');
    assert.notEqual(api.pid, process.pid);
    assert.ok(processAlive(api.pid!));
    assert.equal((await getText(`${api.url}/health`)).status, 200);
    const list = JSON.parse((await getText(`${api.url}/debates?topic=ai-safety`)).text) as { items: unknown[] };
    assert.ok(list.items.length > 0);
    assert.match(readFileSync(join(logDir, 'api.log'), 'utf8'), new RegExp(`"url":"${api.url}"`));

    await stopServices([api]);
    assert.equal(processAlive(api.pid!), false);
    await assert.rejects(fetch(`${api.url}/health`));
    await api.stop(); // twice is fine
  });

  it('goes down with perfy even when perfy is killed with SIGKILL', async () => {
    const services = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'engine', 'services', 'index.js')).href;
    const host = spawn(process.execPath, ['--input-type=module', '-e', `
      const { startServices } = await import(${JSON.stringify(services)});
      const [api] = await startServices(
        { api: { builtin: 'demo-api' } },
        { scenarioDir: '.', logDir: ${JSON.stringify(join(logDir, 'killed'))} },
      );
      console.log(api.pid);
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout.on('data', (c: Buffer) => (out += c.toString()));
    assert.ok(await until(() => out.includes('\n'), 10_000), 'the host process printed the pid');
    const pid = Number(out.trim());
    assert.ok(processAlive(pid));
    host.kill('SIGKILL');
    assert.ok(await until(() => !processAlive(pid), 5_000), 'the demo API exited');
  });

  it('passes port and options as flags: a fixed port and an error rate of 100%', async () => {
    const port = await freePort();
    const [api] = await start({ api: { builtin: 'demo-api', port, options: { error_rate: '100%' } } });
    assert.equal(api?.port, port);
    assert.equal((await getText(`${api!.url}/debates`)).status, 500);
    assert.equal((await getText(`${api!.url}/health`)).status, 200);
    await stopServices([api!]);
  });

  it('refuses unknown or malformed options before starting anything', async () => {
    for (const bad of [{ latncy: '5ms' }, { latency: '9ms..1ms' }, { error_rate: 2 }, { seed: 'x' }]) {
      const error = await startFails({ api: { builtin: 'demo-api', options: bad } });
      assert.equal(error.code, 'E_SERVICE_START', JSON.stringify(bad));
      assert.ok(error.problems[0]?.hint);
    }
  });

  it('github-mock starts as a built-in service of its own process (its behaviour: ' +
      'test/unit/mocks/github-mock.test.ts)', async () => {
    assert.deepEqual(Object.keys(BUILTIN_SERVICES).sort(), ['demo-api', 'github-mock']);
    const [gh] = await start({ gh: { builtin: 'github-mock' } });
    assert.ok(gh!.pid !== undefined && gh!.pid !== process.pid);
    assert.equal((await getText(`${gh!.url}/rate_limit`)).status, 200);
    await stopServices([gh!]);
    assert.equal(processAlive(gh!.pid!), false);
  });
});

describe('command services', () => {
  it('waits for an HTTP readiness probe to answer 2xx; env is merged over the environment; output ' +
      'goes to the log', async () => {
    const port = await freePort();
    const begun = performance.now();
    const [web] = await start({
      web: { command: `${node} http-server.cjs ${port} 300`, ready: `http://127.0.0.1:${port}/health`, env: { GREETING: 'hello from env' } },
    });
    assert.ok(performance.now() - begun >= 290, 'it waited for the server to listen');
    assert.ok(web);
    assert.deepEqual([web.url, web.host, web.port], [`http://127.0.0.1:${port}`, '127.0.0.1', port]);
    assert.ok(processAlive(web.pid!));
    assert.deepEqual(await getText(`${web.url}/health`), { status: 200, text: 'hello from env' });
    const log = readFileSync(join(logDir, 'web.log'), 'utf8');
    assert.match(log, new RegExp(`starting on ${port}`));
    assert.match(log, /a line on stderr/);
    await stopServices([web]);
    assert.equal(processAlive(web.pid!), false);
  });

  it('waits for a tcp:// probe to accept a connection (node -e, cwd relative to the scenario)', async () => {
    const port = await freePort();
    const script =
      "setTimeout(() => require('net').createServer((s) => s.end()).listen(Number(process.argv[1]), '127.0.0.1'), 200)";
    const [db] = await start({
      db: {
        command: `${node} -e "${script}" ${port}`,
        ready: `tcp://127.0.0.1:${port}`,
        cwd: '.',
        url: `postgres://app@127.0.0.1:${port}/app`,
      },
    });
    assert.ok(db);
    assert.deepEqual([db.url, db.host, db.port], [`postgres://app@127.0.0.1:${port}/app`, '127.0.0.1', port]);
    await new Promise<void>((resolve, reject) =>
      connect(port, '127.0.0.1')
        .once('connect', function (this: ReturnType<typeof connect>) {
          this.destroy();
          resolve();
        })
        .once('error', reject),
    );
    await stopServices([db]);
    assert.equal(processAlive(db.pid!), false);
  });

  it('with no `ready`, is ready once spawned, and its url is empty', async () => {
    const file = join(temp.dir, 'no-ready.pid');
    const [worker] = await start({ worker: { command: `${node} stubborn.cjs '${file}'` } });
    assert.ok(worker);
    assert.deepEqual([worker.url, worker.host, worker.port], ['', '', 0]);
    assert.ok(processAlive(worker.pid!));
    await stopServices([worker]);
    assert.equal(processAlive(worker.pid!), false);
  });

  it('a command that exits at once fails E_SERVICE_START with its exit code and last output, fast', async () => {
    const port = await freePort();
    const begun = performance.now();
    const error = await startFails({ broken: { command: `${node} -e "console.error('boom: missing config'); process.exit(3)"`, ready: `http://127.0.0.1:${port}/` } });
    assert.ok(performance.now() - begun < 5_000);
    assert.equal(error.code, 'E_SERVICE_START');
    assert.equal(exitForProblems(error.problems), 3);
    const message = error.problems[0]!.message;
    assert.match(message, /"broken"/);
    assert.match(message, /\b3\b/);
    assert.match(message, /boom: missing config/);
    assert.ok(message.includes(join(logDir, 'broken.log')));
  });

  it('a command that never gets ready fails after its timeout (timeScale does not shorten it) ' +
      'and is killed', async () => {
    const port = await freePort();
    const file = join(temp.dir, 'never-ready.pid');
    const begun = performance.now();
    const error = await startFails(
      { slow: { command: `${node} stubborn.cjs '${file}'`, ready: `tcp://127.0.0.1:${port}`, timeout: '700ms' } },
      { timeScale: 100 },
    );
    const elapsed = performance.now() - begun;
    assert.equal(error.code, 'E_SERVICE_START');
    assert.ok(elapsed >= 650 && elapsed < 5_000, `failed after ${elapsed} ms`);
    assert.match(error.problems[0]!.message, /700ms/);
    const pid = Number(readFileSync(file, 'utf8'));
    assert.equal(processAlive(pid), false);
  });

  it('an unknown program, a bad cwd, an unclosed quote and a bad probe are E_SERVICE_START', async () => {
    const cases: Plan['services'] = {
      a: { command: 'perfy-no-such-program --flag' },
      b: { command: `${node} -v`, cwd: 'no/such/dir' },
      c: { command: `${node} -e "unclosed` },
      d: { command: `${node} -v`, ready: 'ftp://127.0.0.1:21' },
      e: { command: '   ' },
      f: { command: `${node} server.js | tee out.log` },
    };
    for (const [name, config] of Object.entries(cases)) {
      const error = await startFails({ [name]: config });
      assert.equal(error.code, 'E_SERVICE_START', name);
      assert.match(error.problems[0]!.message, new RegExp(`"${name}"`));
      assert.ok(error.problems[0]!.hint, name);
    }
  });

  it('stops a process group: what the command started goes too', async () => {
    const file = join(temp.dir, 'group.pid');
    const [svc] = await start({ group: { command: `${node} stubborn.cjs '${file}' with-child` } });
    assert.ok(await until(() => existsSync(file) && readFileSync(file, 'utf8').includes(','), 5_000));
    const pids = readFileSync(file, 'utf8').split(',').map(Number);
    assert.equal(pids.length, 2);
    assert.ok(pids.every(processAlive));
    await stopServices([svc!]);
    assert.ok(
      await until(() => !pids.some(processAlive), 2_000),
      `still alive: ${pids.filter(processAlive).join(',')}`,
    );
  });

  it('sends SIGKILL after the grace time to a process that ignores SIGTERM', async () => {
    const file = join(temp.dir, 'stubborn.pid');
    const [svc] = await start(
      { stubborn: { command: `${node} stubborn.cjs '${file}' ignore-term` } },
      { stopGraceMs: 400 },
    );
    assert.ok(await until(() => existsSync(file), 5_000));
    const begun = performance.now();
    await stopServices([svc!]);
    const elapsed = performance.now() - begun;
    assert.ok(elapsed >= 380 && elapsed < 3_000, `stopped after ${elapsed} ms`);
    assert.equal(processAlive(svc!.pid!), false);
  });
});

describe('startServices and stopServices', () => {
  it('starts in declaration order and stops in reverse order', async () => {
    const order: string[] = [];
    const fake = (name: string): RunningService => ({
      name,
      url: '',
      host: '',
      port: 0,
      pid: undefined,
      stop: async () => void order.push(name),
    });
    await stopServices([fake('first'), fake('second'), fake('third')]);
    assert.deepEqual(order, ['third', 'second', 'first']);
  });

  it('never throws from stopServices, and stops the others when one stop fails', async () => {
    const order: string[] = [];
    await stopServices([
      { name: 'a', url: '', host: '', port: 0, pid: undefined, stop: async () => void order.push('a') },
      { name: 'b', url: '', host: '', port: 0, pid: undefined, stop: async () => Promise.reject(new Error('cannot')) },
    ]);
    assert.deepEqual(order, ['a']);
  });

  it('when a later service fails, the ones already started are stopped', async () => {
    const error = await startFails({
      api: { builtin: 'demo-api' },
      broken: { command: `${node} -e "process.exit(1)"`, ready: `http://127.0.0.1:${await freePort()}/` },
    });
    assert.equal(error.code, 'E_SERVICE_START');
    assert.match(error.problems[0]!.message, /"broken"/);
    const { url } = JSON.parse(readFileSync(join(logDir, 'api.log'), 'utf8').split('\n')[0]!) as { url: string };
    await assert.rejects(fetch(`${url}/health`), 'the demo API was stopped');
  });

  it('gives up with E_INTERRUPTED when the signal aborts during a start, stopping what started', async () => {
    const port = await freePort();
    const file = join(temp.dir, 'interrupted.pid');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const begun = performance.now();
    const error = await startFails({ slow: { command: `${node} stubborn.cjs '${file}'`, ready: `http://127.0.0.1:${port}/` } }, { signal: controller.signal });
    assert.equal(error.code, 'E_INTERRUPTED');
    assert.ok(performance.now() - begun < 3_000);
    assert.equal(processAlive(Number(readFileSync(file, 'utf8'))), false);
  });

  it('starts nothing for an empty services map', async () => {
    assert.deepEqual(await startServices({}, options), []);
  });
});

describe('url services', () => {
  it('an HTTP service that answers counts, whatever the status; no pid', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(404).end());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const [site] = await start({ site: { url: `http://127.0.0.1:${port}/base` } });
    assert.deepEqual([site?.url, site?.host, site?.port, site?.pid], [`http://127.0.0.1:${port}/base`, '127.0.0.1', port, undefined]);
    await site!.stop();
  });

  it('a postgres:// URL is checked with a TCP connection', async () => {
    const server = createTcpServer((socket) => socket.end());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const [db] = await start({ db: { url: `postgres://app:secret@127.0.0.1:${port}/app` } });
    assert.deepEqual([db?.host, db?.port, db?.pid], ['127.0.0.1', port, undefined]);
  });

  it('a service that does not answer fails E_SERVICE_START, without showing the password', async () => {
    const port = await freePort();
    const begun = performance.now();
    const error = await startUrlService(
      'db',
      { url: `postgres://app:hunter22@127.0.0.1:${port}/app` },
      options,
      500,
    ).then(
      () => assert.fail('it answered'),
      (e: unknown) => e as PerfyError,
    );
    assert.ok(performance.now() - begun >= 450);
    assert.equal(error.code, 'E_SERVICE_START');
    assert.doesNotMatch(error.message, /hunter22/);
    assert.doesNotMatch(readFileSync(join(logDir, 'db.log'), 'utf8'), /hunter22/);
    assert.match(error.message, new RegExp(String(port)));
  });

  it('a URL without a port its scheme implies, or not a URL at all, fails at once', async () => {
    for (const url of ['nonsense', 'tcp://127.0.0.1']) {
      assert.equal((await startFails({ x: { url } })).code, 'E_SERVICE_START', url);
    }
  });
});

describe('splitCommandLine', () => {
  const table: [string, string[]][] = [
    ['node server.js', ['node', 'server.js']],
    ['  node   server.js\t--port  8080 ', ['node', 'server.js', '--port', '8080']],
    ['node "my server.js"', ['node', 'my server.js']],
    ["node 'my server.js'", ['node', 'my server.js']],
    ['echo "a \\"quoted\\" word"', ['echo', 'a "quoted" word']],
    ["echo 'no \\escapes \"here\"'", ['echo', 'no \\escapes "here"']],
    ['echo "keeps \\n and C:\\dir"', ['echo', 'keeps \\n and C:\\dir']],
    ['echo "\\\\ and \\$HOME"', ['echo', '\\ and $HOME']],
    ['echo my\\ file.txt', ['echo', 'my file.txt']],
    ['echo a"b c"d', ['echo', 'ab cd']],
    ["echo '' \"\"", ['echo', '', '']],
    ["echo 'it'\\''s'", ['echo', "it's"]],
    ['echo $HOME *.js', ['echo', '$HOME', '*.js']],
    ['node -e "console.log(1)" "a|b" \'&&\'', ['node', '-e', 'console.log(1)', 'a|b', '&&']],
    ['a \\| b', ['a', '|', 'b']],
    ['one \\\ntwo', ['one', 'two']],
    ['trailing\\', ['trailing\\']],
    ['', []],
    ['   ', []],
  ];
  for (const [line, words] of table) {
    it(JSON.stringify(line), () => assert.deepEqual(splitCommandLine(line), words));
  }

  const errors: [string, number][] = [
    ['node "server.js', 6],
    ["node 'server.js", 6],
    ['node server.js | tee log', 16],
    ['make && make test', 6],
    ['node server.js > out.log', 16],
    ['a ; b', 3],
  ];
  for (const [line, column] of errors) {
    it(`${JSON.stringify(line)} is refused at column ${column}`, () => {
      assert.throws(() => splitCommandLine(line), (e: unknown) => e instanceof CommandLineError && e.column === column);
    });
  }
});
