// Leak detection on real processes: fixtures/monitor's leaker (2 MB/s kept), sawtooth (200 MB allocated and
// freed every second, collected with --expose-gc) and steady (churn, no trend), run side by side; their RSS read
// from /proc/PID/status every 250 ms, as the monitor will read it. Linux only (/proc); skipped elsewhere.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLeakDetector, type LeakVerdict } from '../../engine/monitor/leak.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { parseSizeRate } from '../../engine/units.js';

const FIXTURES = join(PACKAGE_ROOT, 'fixtures', 'monitor');
const WINDOW_MS = 8000;
const WARMUP_MS = 2000;
const FLOOR_MS = 2000; // the default, a quarter of the window: twice the sawtooth's period
const OBSERVE_MS = 16_000;
const INTERVAL_MS = 250;
const FIRST_VERDICT_MS = WARMUP_MS + FLOOR_MS + 0.9 * WINDOW_MS;

const PROGRAMS: Record<string, string[]> = {
  leaker: [join(FIXTURES, 'leaker.mjs'), '--rate', '2MB/s'],
  // 5 × 40 MB, one every 100 ms, held 400 ms, freed, 300 ms at the trough: a tooth about every 1.2 s.
  sawtooth: ['--expose-gc', join(FIXTURES, 'sawtooth.mjs'), '--step', '100', '--hold', '400'],
  steady: [join(FIXTURES, 'steady.mjs')],
};

/** VmRSS of /proc/PID/status in bytes; undefined once the process is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Trace {
  rss: number[];
  verdicts: { t: number; v: LeakVerdict }[];
}

const linux = existsSync('/proc/self/status');
if (!linux) console.log('# skipping the leak detection of real processes: no /proc on this platform');

describe('leak detection of real processes', { skip: !linux }, () => {
  const children: ChildProcess[] = [];
  const traces: Record<string, Trace> = {};

  before(async () => {
    const started = Date.now();
    const watched = Object.entries(PROGRAMS).map(([name, args]) => {
      const child = spawn(process.execPath, [...args, '--max', String(OBSERVE_MS / 1000 + 10)], { stdio: 'ignore' });
      children.push(child);
      const detector = createLeakDetector({
        windowMs: WINDOW_MS, maxGrowthBytesPerSec: parseSizeRate('10MB/min')!, warmupMs: WARMUP_MS,
      });
      traces[name] = { rss: [], verdicts: [] };
      return { name, pid: child.pid!, detector };
    });
    for (let tick = 1; tick * INTERVAL_MS <= OBSERVE_MS; tick++) {
      await new Promise((resolve) => setTimeout(resolve, started + tick * INTERVAL_MS - Date.now()));
      const t = Date.now() - started;
      for (const { name, pid, detector } of watched) {
        const bytes = rssOf(pid);
        assert.ok(bytes !== undefined, `${name} exited early`);
        detector.add(t, bytes);
        traces[name]!.rss.push(bytes);
        traces[name]!.verdicts.push({ t, v: detector.verdict() });
      }
    }
  });

  after(() => {
    for (const child of children) child.kill('SIGKILL');
    for (const name of Object.keys(PROGRAMS)) {
      const growth = ready(name).map(({ v }) => v.growthBytesPerMin! / 1e6);
      console.log(`# ${name}: growth ${Math.min(...growth).toFixed(1)}..${Math.max(...growth).toFixed(1)} MB/min`);
    }
  });

  const ready = (name: string): { t: number; v: LeakVerdict }[] => traces[name]!.verdicts.filter(({ v }) => v.ready);
  const describeTrace = (name: string): string =>
    `growth (MB/min): ${ready(name).map(({ v }) => (v.growthBytesPerMin! / 1e6).toFixed(1)).join(' ')}`;

  it('flags the process leaking 2 MB/s on its first verdict, at about its rate', () => {
    const verdicts = ready('leaker');
    assert.ok(verdicts.length >= 10, `${verdicts.length} verdicts`);
    // The first sample is one interval in; allow two more for timers late under load.
    assert.ok(verdicts[0]!.t <= FIRST_VERDICT_MS + 3 * INTERVAL_MS, `first verdict at ${verdicts[0]!.t} ms`);
    assert.ok(verdicts.every(({ v }) => v.leaking), describeTrace('leaker'));
    for (const { v } of verdicts) {
      const perMin = v.growthBytesPerMin! / 1e6;
      assert.ok(perMin > 90 && perMin < 150, `${perMin} MB/min (2 MB/s is 120)`);
    }
  });

  it('does not flag the sawtooth of 200 MB', () => {
    const { rss } = traces['sawtooth']!;
    const late = rss.slice(rss.length / 2);
    // It is a sawtooth: RSS swings by most of the 200 MB within the observed half.
    const swing = Math.max(...late) - Math.min(...late);
    assert.ok(swing > 150e6, `swing ${swing / 1e6} MB`);
    assert.ok(ready('sawtooth').length >= 10);
    assert.ok(ready('sawtooth').every(({ v }) => !v.leaking), describeTrace('sawtooth'));
  });

  it('does not flag the steady process', () => {
    assert.ok(ready('steady').length >= 10);
    assert.ok(ready('steady').every(({ v }) => !v.leaking), describeTrace('steady'));
  });
});
