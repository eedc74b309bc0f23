// Targets resolved against real processes: a command line with a unique marker, pidfiles live and stale, a pid
// that exits; the state changes each become one event.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { HAS_PROCFS, readCmdline, scanProcesses } from '../../../engine/monitor/proc.js';
import { TargetWatch, type Resolution, type Target } from '../../../engine/monitor/targets.js';
import { tempDir } from '../../helpers.js';
import { startChild } from './children.js';

const skip = HAS_PROCFS ? false : 'needs /proc (Linux)';

async function resolve(watch: TargetWatch): Promise<Resolution> {
  return watch.resolve(await scanProcesses());
}

describe('monitor targets', { skip }, () => {
  it('`self` is this process, not a tree; other targets are trees unless told', async () => {
    const self = new TargetWatch({ name: 'perfy', watch: 'self' });
    assert.deepEqual(await resolve(self), { pids: [process.pid] });
    assert.equal(self.tree, false);
    assert.equal(new TargetWatch({ name: 'a', watch: { pid: 1 } }).tree, true);
    assert.equal(new TargetWatch({ name: 'a', watch: { pid: 1 }, tree: false }).tree, false);
  });

  it('{ command } finds a child by a marker in its argv; a wrapper and its child count once; no match is missing',
    async () => {
      const marker = `perfy-mark-${randomUUID()}`;
      const single = await startChild(['idle', marker]);
      after(() => single.kill());
      const target: Target = { name: 'w', watch: { command: new RegExp(marker, 'g') } };
      const watch = new TargetWatch(target);
      assert.deepEqual(await resolve(watch), { pids: [single.pid] });
      // The g flag keeps no state between samples.
      assert.deepEqual(await resolve(watch), { pids: [single.pid] });

      // sh -c '... marker' and the node it starts both carry the marker: the wrapper's tree holds the other.
      const wrapped = await startChild(['idle', marker], { shell: true });
      after(() => wrapped.kill());
      assert.deepEqual(await resolve(watch), { pids: [single.pid, wrapped.pid].sort((a, b) => a - b) });
      // Not a tree: every match is its own root.
      const flat = await resolve(new TargetWatch({ ...target, tree: false }));
      assert.equal('pids' in flat && flat.pids.length, 3);

      const none = await resolve(new TargetWatch({ name: 'x', watch: { command: `nothing-${randomUUID()}` } }));
      assert.match('missing' in none ? none.missing : '', /^no process of this user matches/);
    });

  it('{ command } never matches perfy itself', async () => {
    const own = readCmdline(process.pid)!;
    const pattern = new RegExp(own.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    assert.ok(pattern.test(own));
    const r = await resolve(new TargetWatch({ name: 'me', watch: { command: pattern } }));
    assert.ok(!('pids' in r && r.pids.includes(process.pid)), JSON.stringify(r));
  });

  it('a pidfile naming a live child resolves to it, re-read each time; a stale or absent one is missing',
    async () => {
      const t = tempDir();
      after(t.cleanup);
      const a = await startChild(['idle']);
      after(() => a.kill());
      const b = await startChild(['idle']);
      after(() => b.kill());
      const pidfile = t.path('service.pid');
      writeFileSync(pidfile, `${a.pid}\n`);
      const watch = new TargetWatch({ name: 'svc', watch: { pidfile } });
      assert.deepEqual(await resolve(watch), { pids: [a.pid] });
      // A restarted service writes its new pid.
      writeFileSync(pidfile, `${b.pid}\n`);
      assert.deepEqual(await resolve(watch), { pids: [b.pid] });
      await b.kill();
      assert.deepEqual(await resolve(watch), {
        missing: `the pidfile ${pidfile} names pid ${b.pid}, which is not running`,
      });
      const absent = new TargetWatch({ name: 'svc', watch: { pidfile: t.path('none.pid') } });
      assert.deepEqual(await resolve(absent), { missing: `the pidfile ${t.path('none.pid')} does not exist` });
      writeFileSync(t.path('empty.pid'), '\n');
      const empty = new TargetWatch({ name: 'svc', watch: { pidfile: t.path('empty.pid') } });
      assert.deepEqual(await resolve(empty), { missing: `the pidfile ${t.path('empty.pid')} holds no pid` });
    });

  it('each change of state is one event: missing, found, gone, found again', async () => {
    const watch = new TargetWatch({ name: 'svc', watch: { pid: 1 } });
    assert.deepEqual(watch.update({ missing: 'no' }, 1), { kind: 'missing', process: 'svc', reason: 'no', at: 1 });
    assert.equal(watch.update({ missing: 'still no' }, 2), undefined);
    assert.deepEqual(watch.update({ pids: [7, 8] }, 3), { kind: 'found', process: 'svc', pids: [7, 8], at: 3 });
    assert.equal(watch.update({ pids: [7] }, 4), undefined);
    assert.deepEqual(watch.update({ missing: 'exited' }, 5), { kind: 'gone', process: 'svc', reason: 'exited', at: 5 });
    assert.equal(watch.update({ missing: 'exited' }, 6), undefined);
    assert.equal(watch.update({ pids: [9] }, 7)?.kind, 'found');
  });

  it('{ pid } of a child that exits is missing, and stays so', async () => {
    const child = await startChild(['idle']);
    const watch = new TargetWatch({ name: 'c', watch: { pid: child.pid } });
    assert.deepEqual(await resolve(watch), { pids: [child.pid] });
    await child.kill();
    assert.deepEqual(await resolve(watch), { missing: `pid ${child.pid} is not running` });
  });
});
