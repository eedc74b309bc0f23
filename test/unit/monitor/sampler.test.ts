// The sampler against real processes: a CPU burner and an idle child, a child holding 100 MB, a `sh -c` wrapper
// whose server is its child, short-lived children, a writer, a child opening files, one killed under it; the
// pidusage path; skipped ticks. Each sampler here samples when told (its interval is long), to keep the test's
// timing its own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { HAS_PROCFS } from '../../../engine/monitor/proc.js';
import {
  startSampler, type ProcessValues, type SamplerEvent, type SamplerOptions,
} from '../../../engine/monitor/sampler.js';
import { tempDir } from '../../helpers.js';
import { CHILD, startChild } from './children.js';

const skip = HAS_PROCFS ? false : 'needs /proc (Linux)';
const MB = 1024 * 1024;

/** A sampler that samples only when told, with its store and the events it emitted. */
function sampler(targets: SamplerOptions['targets'], options: Partial<SamplerOptions> = {}) {
  const store = createMetricStore();
  const events: SamplerEvent[] = [];
  const s = startSampler({ targets, store, intervalMs: 3_600_000, onEvent: (e) => events.push(e), ...options });
  after(() => s.stop());
  const byName = async (): Promise<Record<string, ProcessValues>> =>
    Object.fromEntries((await s.sampleNow()).processes.map((p) => [p.process, p]));
  return { s, store, events, byName };
}

describe('the sampler', { skip }, () => {
  it('process.cpu: a busy loop is near one core, an idle child near 0; the host figures are recorded', async () => {
    const busy = await startChild(['burn']);
    after(() => busy.kill());
    const idle = await startChild(['idle']);
    after(() => idle.kill());
    const { s, store, byName } = sampler([
      { name: 'busy', watch: { pid: busy.pid } }, { name: 'idle', watch: { pid: idle.pid } },
    ]);
    // startSampler's own first sample is the rates' baseline; one right after it is too short a window for rates.
    const first = await byName();
    assert.equal(first['busy']!.cpu, undefined);
    assert.equal(first['busy']!.rss! > 0, true);
    await sleep(1500);
    const v = await s.sampleNow();
    const [b, i] = v.processes;
    // A busy loop would read 1 on an idle machine; here it shares 2 cores with the other test files.
    assert.ok(b!.cpu! > 0.4 && b!.cpu! <= 1.1, `busy: ${b!.cpu}`);
    assert.ok(i!.cpu! < 0.05, `idle: ${i!.cpu}`);
    assert.equal(store.aggregate({ fn: 'value', metric: 'process.cpu', tags: { process: 'busy' } }), b!.cpu);
    // One core of the machine's is busy at least (more if other work runs).
    assert.ok(v.host.cpu! > 0 && v.host.cpu! <= 1, `host.cpu ${v.host.cpu}`);
    assert.ok(v.host.memory! > 100 * MB, `host.memory ${v.host.memory}`);
    assert.ok(v.host.load! >= 0);
    assert.equal(store.aggregate({ fn: 'value', metric: 'host.memory', tags: {} }), v.host.memory);
  });

  it('process.rss of a child holding 100 MB; a `sh -c` wrapper\'s tree holds its server\'s memory', async () => {
    const direct = await startChild(['hold', '100']);
    after(() => direct.kill());
    const wrapped = await startChild(['hold', '100'], { shell: true });
    after(() => wrapped.kill());
    const { byName } = sampler([
      { name: 'direct', watch: { pid: direct.pid } },
      { name: 'wrapped', watch: { pid: wrapped.pid } },
      { name: 'shell-only', watch: { pid: wrapped.pid }, tree: false },
    ]);
    const v = await byName();
    assert.ok(v['direct']!.rss! >= 100 * MB, `direct ${v['direct']!.rss! / MB} MB`);
    assert.equal(v['wrapped']!.members, 2);
    assert.ok(v['wrapped']!.rss! >= 100 * MB, `wrapped ${v['wrapped']!.rss! / MB} MB`);
    // The shell alone is a few MB: the tree's sum is what finds the server.
    assert.ok(v['shell-only']!.rss! < 20 * MB, `shell ${v['shell-only']!.rss! / MB} MB`);
    // The threads of both processes: Node's several and the shell's one.
    assert.equal(v['wrapped']!.threads, v['shell-only']!.threads! + (v['wrapped']!.threads! - 1));
    assert.ok(v['wrapped']!.threads! > v['shell-only']!.threads!);
  });

  it('the CPU of children that come and go within a sample is counted, in the parent that reaped them', async () => {
    // A shell running 250 ms burners one after the other: most of them live and die between two samples.
    const loop = spawn('sh', ['-c', `while :; do '${process.execPath}' '${CHILD}' burn 250 >/dev/null; done`], {
      detached: true, stdio: 'ignore',
    });
    after(() => process.kill(-loop.pid!, 'SIGKILL'));
    const { byName } = sampler([{ name: 'loop', watch: { pid: loop.pid! } }]);
    await byName();
    await sleep(2000);
    const { cpu } = (await byName())['loop']!;
    // Counted without the reaped children's times this reads about 0.01; with them near 1, less on a shared machine.
    assert.ok(cpu! > 0.4, `loop: ${cpu}`);
  });

  it('process.io_write of a child writing a file; process.fds grows when a child opens files', async () => {
    const t = tempDir();
    const writer = await startChild(['write', t.path('out')]);
    after(() => writer.kill());
    after(t.cleanup);
    const opener = await startChild(['open', '20']);
    after(() => opener.kill());
    const { byName } = sampler([{ name: 'w', watch: { pid: writer.pid } }, { name: 'o', watch: { pid: opener.pid } }]);
    const before = await byName();
    await sleep(1000);
    opener.proc.stdin!.write('open\n');
    assert.equal(await opener.line(), 'opened');
    const v = await byName();
    // 64 KB every 20 ms is about 3 MB/s; a loaded machine slows the timer, not to a tenth.
    assert.ok(v['w']!.ioWrite! > 300_000, `writer: ${v['w']!.ioWrite} B/s`);
    assert.ok(v['o']!.ioWrite! < 1000, `opener: ${v['o']!.ioWrite} B/s`);
    assert.ok(v['w']!.ioRead! >= 0);
    assert.equal(v['o']!.fds, before['o']!.fds! + 20);
  });

  it('a killed process is `gone` once, no exception, sampling goes on; a stale pidfile is `missing`', async () => {
    const t = tempDir();
    after(t.cleanup);
    const child = await startChild(['idle']);
    after(() => child.kill());
    writeFileSync(t.path('stale.pid'), '999999999\n');
    const { s, events } = sampler([
      { name: 'victim', watch: { pid: child.pid } },
      { name: 'stale', watch: { pidfile: t.path('stale.pid') } },
      { name: 'perfy', watch: 'self' },
    ]);
    await s.sampleNow();
    await child.kill();
    const v = await s.sampleNow();
    await s.sampleNow();
    assert.deepEqual(v.processes[0], { process: 'victim', pids: [], members: 0 });
    assert.ok(v.processes[2]!.rss! > 10 * MB);
    const about = (name: string) => events.filter((e) => 'process' in e && e.process === name).map((e) => e.kind);
    assert.deepEqual(about('victim'), ['found', 'gone']);
    assert.deepEqual(about('stale'), ['missing']);
    assert.deepEqual(about('perfy'), ['found']);
    assert.ok(!events.some((e) => e.kind === 'error'));
    const gone = events.find((e) => e.kind === 'gone')!;
    assert.equal('reason' in gone && gone.reason, `pid ${child.pid} is not running`);
  });

  it('one sample in flight: ticks that find one running are skipped and counted; stop() ends the sampling',
    async () => {
      const store = createMetricStore();
      // A 1 ms interval with a command target (every process's stat read): samples overlap the ticks.
      const s = startSampler({ targets: [{ name: 'any', watch: { command: 'node' } }], store, intervalMs: 1 });
      await sleep(300);
      await s.stop();
      const { samples, skipped } = s.stats;
      assert.ok(samples >= 2 && skipped >= 1, `${samples} samples, ${skipped} skipped`);
      assert.ok(s.stats.maxMs >= s.stats.lastMs && s.stats.lastMs > 0);
      await sleep(50);
      assert.equal(s.stats.samples, samples);
    });
});

describe('the sampler without /proc (pidusage)', () => {
  it('CPU and memory of a pid; no threads, fds or I/O; a command target is missing', async () => {
    const busy = await startChild(['burn']);
    after(() => busy.kill());
    const { s, events } = sampler([
      { name: 'busy', watch: { pid: busy.pid } },
      { name: 'cmd', watch: { command: 'anything' } },
    ], { procfs: false });
    await s.sampleNow();
    await sleep(1200);
    const v = await s.sampleNow();
    const b = v.processes[0]!;
    assert.ok(b.cpu! > 0.4 && b.cpu! <= 1.1, `busy: ${b.cpu}`);
    assert.ok(b.rss! > 10 * MB, `rss ${b.rss}`);
    assert.deepEqual([b.threads, b.fds, b.ioRead, b.ioWrite], [undefined, undefined, undefined, undefined]);
    assert.ok(v.host.memory! > 0 && v.host.cpu! > 0);
    assert.deepEqual(events.filter((e) => 'process' in e && e.process === 'cmd').map((e) => e.kind), ['missing']);
    await busy.kill();
    assert.deepEqual((await s.sampleNow()).processes[0]!.pids, []);
    assert.equal(events.filter((e) => e.kind === 'gone').length, 1);
  });
});
