// Where perfy's output goes and what happens when it cannot go there: an --out that cannot be written is E_OUT_DIR
// (exit 2) before any service starts; a standard output that cannot be written (> /dev/full) still leaves the
// result in --out and exits 3 (E_OUTPUT), not 1; a closed pipe (| head) is the reader's choice and changes nothing.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../../engine/metrics/result.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { locatePostgresBinaries } from '../../engine/services/postgres-binaries.js';
import { PERFY_BIN, perfyAsync, startServer, tempDir, type CliResult } from '../helpers.js';

const NOBODY = 65534;
const withPostgres = await locatePostgresBinaries().then(() => true, () => false);
const isRoot = process.getuid?.() === 0;

/** A scenario whose service leaves a file behind when it starts: proof that something started. */
function scenario(dir: string, target: string, thresholds: string[] = []): string {
  const file = join(dir, 's.yaml');
  writeFileSync(file, `name: out_check
services:
  marker: { command: "node -e \\"require('node:fs').writeFileSync('service-started', '')\\"" }
target: ${target}
load: [ { rate: 10/s, duration: 1s } ]
flow: [ { http: { get: /x } } ]
thresholds: [ ${thresholds.map((t) => JSON.stringify(t)).join(', ')} ]
`);
  return file;
}

/** bin/perfy with its standard output (and error) going where the test says, as the shell's `>` would. */
function perfyTo(
  args: string[], stdio: StdioOptions, options: { uid?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PERFY_BIN, ...args], {
      cwd: options.cwd ?? PACKAGE_ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio,
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function assertOutDirRefused(run: CliResult, dir: string): void {
  assert.equal(run.status, 2, run.stderr);
  assert.deepEqual(run.stderr.match(/E_[A-Z_]+/g), ['E_OUT_DIR']);
  assert.match(run.stderr, /hint: /);
  assert.doesNotMatch(run.stderr, /\n\s+at .+\.js:\d+/, 'no stack trace');
  assert.equal(existsSync(join(dir, 'service-started')), false, 'no service started');
}

describe('an --out that cannot be written', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((_req, res) => res.end('ok'));
  });
  after(() => server.close());

  it('a file, or a path under a file: E_OUT_DIR, exit 2, before any service starts', async () => {
    const t = tempDir({ 'taken': 'a file' });
    after(t.cleanup);
    const file = scenario(t.dir, server.url);
    for (const out of [t.path('taken'), t.path('taken/sub')]) {
      assertOutDirRefused(await perfyAsync(['run', file, '--out', out], { cwd: t.dir }), t.dir);
    }
  });

  it('a directory the user may not write in: E_OUT_DIR, exit 2', async (context) => {
    const t = tempDir();
    after(t.cleanup);
    chmodSync(t.dir, 0o755);
    const file = scenario(t.dir, server.url);
    const locked = t.path('locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    // root writes anywhere: then the run is made by nobody, for whom the directory is read-only.
    const uid = isRoot ? NOBODY : undefined;
    if (isRoot && spawnSync(process.execPath, [PERFY_BIN, '--version'], { uid: NOBODY, gid: NOBODY }).status !== 0) {
      context.skip('running as root, and the user nobody cannot run perfy from here');
      return;
    }
    const args = ['run', file, '--out', join(locked, 'out')];
    const run = await perfyTo(args, ['ignore', 'pipe', 'pipe'], { uid, cwd: t.dir });
    assertOutDirRefused(run, t.dir);
  });

  it('a full disk and a read-only disk: E_OUT_DIR, exit 2', async (context) => {
    const t = tempDir();
    const mounted: string[] = [];
    after(() => {
      for (const dir of mounted) spawnSync('umount', [dir]);
      t.cleanup();
    });
    const file = scenario(t.dir, server.url);
    const mount = (dir: string, options: string): boolean => {
      mkdirSync(dir);
      const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
      if (ok) mounted.push(dir);
      return ok;
    };
    const full = t.path('full');
    const readOnly = t.path('read-only');
    if (!isRoot || !mount(full, 'size=16k')) {
      context.skip('mounting a small file system needs root (and the right to mount)');
      return;
    }
    // Fill it to the last block.
    const fd = openSync(join(full, 'fill'), 'w');
    try {
      for (;;) writeFileSync(fd, Buffer.alloc(4096));
    } catch {
      // ENOSPC: full
    } finally {
      closeSync(fd);
    }
    assertOutDirRefused(await perfyAsync(['run', file, '--out', join(full, 'out')], { cwd: t.dir }), t.dir);
    assert.ok(mount(readOnly, 'ro,size=16k'));
    assertOutDirRefused(await perfyAsync(['run', file, '--out', join(readOnly, 'out')], { cwd: t.dir }), t.dir);
  });

  it('perfy merge checks its --out the same way', async () => {
    const t = tempDir({ 'taken': 'a file' });
    after(t.cleanup);
    const file = scenario(t.dir, server.url);
    const run = await perfyAsync(['merge', t.path('none.json'), '--scenario', file, '--out', t.path('taken')]);
    assert.equal(run.status, 2);
    assert.deepEqual(run.stderr.match(/E_[A-Z_]+/g), ['E_OUT_DIR']);
  });
});

describe('standard output that cannot be written', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((_req, res) => res.end('ok'));
  });
  after(() => server.close());

  it('> /dev/full: the result is written to --out, E_OUTPUT on stderr, exit 3 even if thresholds fail', async () => {
    const t = tempDir();
    after(t.cleanup);
    for (const [thresholds, status] of [[[], 0], [['count(http.reqs) > 1000000'], 1]] as const) {
      const file = scenario(t.dir, server.url, [...thresholds]);
      const out = t.path(`out-${status}`);
      // The same run with a working standard output exits with the verdict…
      const plain = await perfyAsync(['run', file, '--quiet'], { cwd: t.dir });
      assert.equal(plain.status, status, plain.stderr);
      // …and with a full one, with 3: "thresholds failed" would be a lie about what went wrong.
      const devFull = openSync('/dev/full', 'w');
      let run: CliResult;
      try {
        run = await perfyTo(['run', file, '--quiet', '--out', out], ['ignore', devFull, 'pipe'], { cwd: t.dir });
      } finally {
        closeSync(devFull);
      }
      assert.equal(run.status, 3, run.stderr);
      assert.deepEqual(run.stderr.match(/E_[A-Z_]+/g), ['E_OUTPUT']);
      assert.doesNotMatch(run.stderr, /\n\s+at .+\.js:\d+/, 'no stack trace');
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
      assert.equal(result.status, 'completed');
      assert.equal(result.thresholds.every((o) => o.passed), status === 0);
    }
  });

  it('2> /dev/full: a warning that cannot be said also makes the exit code 3', async () => {
    const t = tempDir();
    after(t.cleanup);
    const file = scenario(t.dir, server.url);
    // A leak rule the run is too short for: a warning (W_MONITOR_LEAK) on standard error.
    writeFileSync(file, `${readFileSync(file, 'utf8')}monitor: { processes: [self], leak: { max_growth: 1MB/min } }\n`);
    const devFull = openSync('/dev/full', 'w');
    try {
      const args = ['run', file, '--quiet', '--out', t.path('out')];
      const run = await perfyTo(args, ['ignore', 'pipe', devFull], { cwd: t.dir });
      assert.equal(run.status, 3);
      assert.match(run.stdout, /scenario out_check: completed/);
    } finally {
      closeSync(devFull);
    }
    assert.ok(existsSync(t.path('out/result.json')));
  });

  it('a pipe closed by its reader (| head) is no error: the run\'s own exit code, nothing said', async () => {
    const t = tempDir();
    after(t.cleanup);
    const file = scenario(t.dir, server.url);
    const run = await new Promise<CliResult>((resolve, reject) => {
      const args = [PERFY_BIN, 'run', file, '--quiet', '--out', t.path('out')];
      const child = spawn(process.execPath, args, { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout: '', stderr }));
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.ok(existsSync(t.path('out/result.json')));
  });
});

describe('files under --out', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer((_req, res) => res.end('ok'));
  });
  after(() => server.close());

  it('every service log is private (0600), even one an earlier run left readable; result.json is 0644', async () => {
    const t = tempDir();
    after(t.cleanup);
    const out = t.path('out');
    // A log left world-readable (by an earlier version of perfy, say) is made private when it is written again.
    mkdirSync(join(out, 'services'), { recursive: true });
    writeFileSync(join(out, 'services', 'app.log'), 'old', { mode: 0o644 });
    chmodSync(join(out, 'services', 'app.log'), 0o644);
    writeFileSync(t.path('s.yaml'), `name: private_logs
services:
  app: { command: "node -e \\"console.log('token', process.env.TOKEN)\\"", env: { TOKEN: t0ken-in-the-log } }
  api: { builtin: demo-api }
  remote: { url: "${server.url}" }
${withPostgres ? '  db: { postgres: embedded }\n' : ''}target: ${server.url}
load: [ { rate: 5/s, duration: 1s } ]
flow: [ { http: { get: /x } } ]
`);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    const logs = readdirSync(join(out, 'services')).sort();
    assert.deepEqual(logs, ['api.log', 'app.log', ...(withPostgres ? ['db.log'] : []), 'remote.log']);
    const appLog = readFileSync(join(out, 'services', 'app.log'), 'utf8');
    assert.match(appLog, /t0ken-in-the-log/, 'what the service printed is kept');
    const mode = (path: string): number => statSync(path).mode & 0o777;
    for (const log of logs) assert.equal(mode(join(out, 'services', log)).toString(8), '600', log);
    assert.equal(mode(join(out, 'result.json')).toString(8), '644');
  });

  it('a services/ directory that perfy creates is private', async () => {
    const t = tempDir();
    after(t.cleanup);
    writeFileSync(t.path('s.yaml'), `name: private_dir
services:
  app: { command: "node -e 0" }
target: ${server.url}
load: [ { rate: 5/s, duration: 1s } ]
flow: [ { http: { get: /x } } ]
`);
    const run = await perfyAsync(['run', t.path('s.yaml'), '--quiet', '--out', t.path('out')]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal((statSync(t.path('out/services')).mode & 0o777).toString(8), '700');
  });
});
