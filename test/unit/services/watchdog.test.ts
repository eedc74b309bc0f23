// The watchdog that stops what a killed perfy left running and removes its directories, and the sweep by which a
// later run removes the embedded servers' directories of perfy runs that are gone (and nobody else's).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../../engine/paths.js';
import { OWNER_FILE, removeStaleDataDirectories } from '../../../engine/services/postgres.js';
import { processAlive, tempDir, until } from '../../helpers.js';

describe('the watchdog', () => {
  it('stops the groups and removes the dirs of a perfy killed by SIGKILL; forgotten ones are left alone', async () => {
    const t = tempDir();
    after(t.cleanup);
    const watchdog = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'engine', 'services', 'watchdog.js')).href;
    const watchedDir = t.path('watched');
    const forgottenDir = t.path('forgotten');
    // A host standing for perfy: two process groups of its own, one directory of each kind.
    const host = spawn(process.execPath, ['--input-type=module', '-e', `
      import { spawn } from 'node:child_process';
      import { mkdirSync } from 'node:fs';
      const { watchGroup, forgetGroup, watchDirectory, forgetDirectory } = await import(${JSON.stringify(watchdog)});
      const start = () => spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      const watched = start(), forgotten = start();
      for (const dir of ${JSON.stringify([watchedDir, forgottenDir])}) mkdirSync(dir), watchDirectory(dir);
      watchGroup(watched.pid, 'SIGTERM');
      watchGroup(forgotten.pid, 'SIGTERM');
      forgetGroup(forgotten.pid);
      forgetDirectory(${JSON.stringify(forgottenDir)});
      console.log(JSON.stringify([watched.pid, forgotten.pid]));
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout.on('data', (c: Buffer) => (out += c.toString()));
    assert.ok(await until(() => out.includes('\n'), 10_000), 'the host started its processes');
    const [watched, forgotten] = JSON.parse(out) as [number, number];
    after(() => {
      try {
        process.kill(-forgotten, 'SIGKILL');
      } catch {
        // gone already
      }
    });
    assert.ok(processAlive(watched) && processAlive(forgotten));

    host.kill('SIGKILL');
    assert.ok(await until(() => !processAlive(watched), 5_000), 'the watched group was stopped');
    assert.ok(await until(() => !existsSync(watchedDir), 5_000), 'the watched directory was removed');
    assert.ok(processAlive(forgotten), 'a forgotten group is not the watchdog\'s business');
    assert.ok(existsSync(forgottenDir));
  });
});

describe('stale data directories of embedded servers', () => {
  it('are removed when the perfy that made them is gone; a running one\'s, another host\'s, another\'s kept', () => {
    const t = tempDir();
    after(t.cleanup);
    const exited = spawnSync(process.execPath, ['-e', '']);
    const deadPid = exited.pid!;
    const dirs = {
      dead: { owner: { pid: deadPid, host: hostname() } },
      running: { owner: { pid: process.pid, host: hostname() } },
      elsewhere: { owner: { pid: deadPid, host: `not-${hostname()}` } },
      unowned: { owner: undefined },
    };
    for (const [name, { owner }] of Object.entries(dirs)) {
      const dir = t.path(`perfy-pg-${name}-abc123`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      if (owner !== undefined) writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
    }
    const notPerfys = t.path('other-dead');
    mkdirSync(notPerfys);
    writeFileSync(join(notPerfys, OWNER_FILE), JSON.stringify({ pid: deadPid, host: hostname() }));

    assert.deepEqual(removeStaleDataDirectories(t.dir), [t.path('perfy-pg-dead-abc123')]);
    assert.equal(existsSync(t.path('perfy-pg-dead-abc123')), false);
    for (const kept of ['running', 'elsewhere', 'unowned']) {
      assert.ok(existsSync(t.path(`perfy-pg-${kept}-abc123`)), kept);
    }
    assert.ok(existsSync(notPerfys));
  });
});
