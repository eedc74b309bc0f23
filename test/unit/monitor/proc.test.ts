// The /proc readers, against this process and real children: parsing, the process tree, descriptors, I/O and the
// host's figures; a pid that has gone is undefined, never an exception.

import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import {
  childrenOf, cpuShare, descendants, HAS_PROCFS, parseHostCpu, parseMeminfoUsed, parseStat, procConstants,
  readCmdline, readFdCount, readHost, readIo, readStat, readUid, scanProcesses,
} from '../../../engine/monitor/proc.js';
import { tempDir, until } from '../../helpers.js';
import { startChild } from './children.js';

const skip = HAS_PROCFS ? false : 'needs /proc (Linux)';

describe('/proc parsing', () => {
  it('reads the fields of /proc/PID/stat after a comm holding spaces and parentheses', () => {
    // proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
    // cstime priority nice num_threads itrealvalue starttime vsize rss …
    const text = '4242 (a) (b c) S 17 4242 4242 0 -1 4194560 1 2 3 4 150 50 7 3 20 0 9 0 123456 999 2560 1 2 3\n';
    assert.deepEqual(parseStat(text), {
      pid: 4242, ppid: 17, state: 'S', comm: 'a) (b c', cpuTicks: 200, childTicks: 10, threads: 9,
      startTicks: 123456, rssPages: 2560,
    });
    assert.equal(parseStat('garbage'), undefined);
  });

  it('host CPU is busy over total ticks, without idle and iowait; memory is MemTotal − MemAvailable', () => {
    const a = parseHostCpu('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n')!;
    const b = parseHostCpu('cpu  250 0 150 900 100 0 0 0 0 0\n')!;
    assert.deepEqual(a, { busy: 200, total: 1000 });
    assert.equal(cpuShare(a, b), 0.5);
    assert.equal(cpuShare(a, a), undefined);
    assert.equal(parseMeminfoUsed('MemTotal:  1000 kB\nMemFree: 10 kB\nMemAvailable:  400 kB\n'), 600 * 1024);
  });
});

describe('/proc readers', { skip }, () => {
  it('this process: its stat, command line, uid, descriptors and I/O', async () => {
    const { ticks, pageSize } = await procConstants();
    assert.ok(ticks > 0 && pageSize >= 4096, `${ticks} ticks/s, ${pageSize}-byte pages`);
    const s = readStat(process.pid)!;
    assert.equal(s.pid, process.pid);
    assert.equal(s.ppid, process.ppid);
    // The kernel's name of the main thread: `node`, or `MainThread` where Node names its thread (Node 24).
    assert.equal(s.comm, readFileSync('/proc/self/comm', 'utf8').trim());
    // Node has its libuv pool and V8's workers besides the main thread.
    assert.ok(s.threads >= 2, `${s.threads} threads`);
    const rss = s.rssPages * pageSize;
    // The kernel's counter as /proc shows it, against Node's own reading (which comes from the same counter).
    const nodeRss = process.memoryUsage.rss();
    assert.ok(Math.abs(rss - nodeRss) < 0.2 * nodeRss, `stat rss ${rss} vs Node's ${nodeRss}`);
    assert.ok(s.cpuTicks > 0);
    assert.match(readCmdline(process.pid)!, new RegExp(`^${process.execPath.replace(/[/.]/g, '\\$&')} `));
    assert.equal(readUid(process.pid), process.getuid!());

    const t = tempDir();
    after(t.cleanup);
    const fdsBefore = (readFdCount(process.pid))!;
    const fds = Array.from({ length: 10 }, () => openSync('/dev/null', 'r'));
    assert.equal(readFdCount(process.pid), fdsBefore + 10);
    fds.forEach(closeSync);

    const ioBefore = (readIo(process.pid))!;
    writeFileSync(t.path('out'), Buffer.alloc(300_000));
    const ioAfter = (readIo(process.pid))!;
    // wchar counts what write(2) took, whether or not it reached the disk yet.
    assert.ok(ioAfter.write - ioBefore.write >= 300_000, `wchar moved by ${ioAfter.write - ioBefore.write}`);
  });

  it('the scan finds a child and its grandchild under it; a pid that has gone reads as undefined', async () => {
    const wrapper = await startChild(['idle'], { shell: true });
    after(() => wrapper.kill());
    const table = await scanProcesses();
    assert.ok(table.has(process.pid));
    const tree = descendants(process.pid, childrenOf(table));
    const sh = table.get(wrapper.pid)!;
    assert.equal(sh.comm, 'sh');
    const grandchild = [...table.values()].find((s) => s.ppid === wrapper.pid)!;
    assert.equal(grandchild.comm, readFileSync(`/proc/${grandchild.pid}/comm`, 'utf8').trim());
    assert.notEqual(grandchild.comm, 'sh');
    assert.ok(tree.includes(wrapper.pid) && tree.includes(grandchild.pid), 'both under this process');
    assert.deepEqual(descendants(wrapper.pid, childrenOf(table)), [wrapper.pid, grandchild.pid]);

    await wrapper.kill();
    // The wrapper was ours to reap; the grandchild is reaped by whoever adopted it, maybe a moment later.
    assert.equal(readStat(wrapper.pid), undefined);
    assert.ok(await until(() => [undefined, 'Z'].includes(readStat(grandchild.pid)?.state), 5000));
    assert.equal(readFdCount(wrapper.pid), undefined);
    assert.equal(readIo(wrapper.pid), undefined);
    assert.equal(readCmdline(wrapper.pid), undefined);
    assert.ok(!(await scanProcesses()).has(wrapper.pid));
  });

  it('the host: memory used below the total, a load average, CPU ticks that move', async () => {
    const a = readHost();
    const { totalmem } = await import('node:os');
    assert.ok(a.memoryUsed! > 0 && a.memoryUsed! < totalmem(), `${a.memoryUsed} used`);
    assert.ok(a.load! >= 0);
    const until = Date.now() + 100;
    while (Date.now() < until); // keep one core busy for 100 ms
    const b = readHost();
    assert.ok(b.cpu!.busy > a.cpu!.busy && b.cpu!.total > a.cpu!.total);
    const share = cpuShare(a.cpu!, b.cpu!)!;
    assert.ok(share > 0 && share <= 1, `host cpu ${share}`);
  });
});
