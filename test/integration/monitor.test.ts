// `monitor:` in a real run: perfy and a service it starts sampled through /proc while the load goes on, the
// gauges in the result, thresholds judged on them, and a service without a process of its own said, not fatal.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readResult } from '../../engine/report/files.js';
import { perfyAsync, startServer, tempDir } from '../helpers.js';

const linux = process.platform === 'linux';

describe('monitor', { skip: !linux && 'the monitor reads /proc here' }, () => {
  const t = tempDir({});
  // A service given by URL: up, but its process is not perfy's to know.
  const elsewhere = { url: '', close: async () => {} };
  before(async () => Object.assign(elsewhere, await startServer((_req, res) => res.end('ok'))));
  after(async () => {
    await elsewhere.close();
    t.cleanup();
  });

  const run = async (name: string, thresholds: string[], extra = '') => {
    const file = t.path(`${name}.yaml`);
    writeFileSync(file, [
      `name: ${name}`,
      'services:',
      '  api: { builtin: demo-api, options: { leak: 20MB/s } }',
      `  elsewhere: { url: "${elsewhere.url}" }`,
      'target: "{{services.api.url}}"',
      'load: [ { rate: 40/s, duration: 3s } ]',
      'flow: [ { name: health, http: { get: /health } } ]',
      'monitor: { processes: [self, api, elsewhere], interval: 250ms }',
      `thresholds: [ ${thresholds.map((x) => JSON.stringify(x)).join(', ')} ]`,
      extra,
    ].join('\n'));
    const out = t.path(name);
    const ran = await perfyAsync(['run', file, '--quiet', '--out', out]);
    assert.ok(ran.status === 0 || ran.status === 1, ran.stdout + ran.stderr);
    return { ...ran, result: readResult(`${out}/result.json`) };
  };

  it('samples perfy and the service\'s tree into the result, and thresholds read them', async () => {
    const ran = await run('watched', ['rss(api) < 4GB', 'max(process.cpu{process: api}) < 400%']);
    assert.equal(ran.status, 0, ran.stdout + ran.stderr);
    // The URL service runs elsewhere: said, and the run goes on.
    assert.match(ran.stderr, /W_MONITOR_TARGET +service "elsewhere" has no process of its own to watch/);
    const gauge = (name: string, processName?: string) => ran.result.metrics.metrics.find(
      (m) => m.name === name && (processName === undefined ? true : m.tags['process'] === processName),
    );
    const apiRss = gauge('process.rss', 'api')!;
    // 3 s at 250 ms, and the demo API keeps 20 MB more every second: its memory grew by tens of megabytes.
    assert.ok(apiRss.count >= 8, `samples: ${apiRss.count}`);
    assert.ok(apiRss.min > 10e6, `api rss ${apiRss.min}`);
    assert.ok(apiRss.max - apiRss.min > 30e6, `api grew ${apiRss.max - apiRss.min} bytes`);
    assert.ok(gauge('process.rss', 'self')!.max > 20e6);
    assert.ok(gauge('process.heap', 'self')!.max > 1e6);
    assert.ok(gauge('process.fds', 'api')!.max >= 3);
    assert.ok(gauge('process.threads', 'self')!.max >= 2);
    const cpu = gauge('process.cpu', 'self')!;
    assert.ok(cpu.max > 0 && cpu.max < 4, `self cpu ${cpu.max}`);
    assert.ok(gauge('host.memory')!.max > 0);
    assert.equal(ran.result.thresholds.every((x) => x.passed), true);
    // The summary has a line per process watched.
    assert.match(ran.stdout, /^ {4}api +cpu \d+\.\d% avg, \d+\.\d% max · rss \d+(\.\d)?MB max · io .* · \d+ fds max$/m);
    assert.match(ran.stdout, /^ {4}self +cpu /m);
    const rss = ran.result.thresholds[0]!.values[0]!;
    assert.ok(rss.value !== null && rss.value > 10, `rss(api) in the unit of the threshold: ${rss.value}`);
  });

  it('a threshold on a process crossed fails the run (exit 1) with the measured value', async () => {
    const ran = await run('crossed', ['rss(api) < 1MB']);
    assert.equal(ran.status, 1, ran.stdout + ran.stderr);
    assert.match(ran.stdout, /^FAILED · 1 of 1 threshold crossed: rss\(api\) < 1MB \(\d+(\.\d+)?\s?MB\)$/m);
  });

  it('scenarios/endurance.yaml, 120 times faster: completes and passes, the API judged not leaking', async () => {
    // Scaled, the 10-minute window is 5 s, and 5 s of a fresh demo API under load is its heap growing to its working
    // size: 15 to 20 MB/min, which the 5-minute warm-up absorbs in the real run. The limit is raised to 60 MB/min
    // for the scaled run only, and the same run with a 2 MB/s (120 MB/min) leak shows the rule still finds one.
    const scaled = [
      '--time-scale', '120', '--set', 'monitor.interval=250ms', '--set', 'monitor.leak.max_growth=60MB/min',
    ];
    const endurance = async (name: string, extra: string[]) => {
      const out = t.path(name);
      const ran = await perfyAsync(['run', 'scenarios/endurance.yaml', '--quiet', '--out', out, ...scaled, ...extra]);
      return { ...ran, result: readResult(`${out}/result.json`) };
    };
    const [healthy, leaking] = await Promise.all([
      endurance('endurance', []),
      endurance('endurance-leak', ['--set', 'services.api.options.leak=2MB/s']),
    ]);
    assert.equal(healthy.status, 0, healthy.stdout + healthy.stderr);
    assert.equal(healthy.result.status, 'completed');
    assert.equal(healthy.result.passed, true);
    assert.equal(healthy.stderr, '');
    // 33 minutes in about 16.5 s.
    assert.ok(healthy.ms < 30_000, `${healthy.ms} ms`);
    const [api] = healthy.result.monitor!.leaks;
    assert.equal(api!.process, 'api');
    assert.equal(api!.windowMs, 5000);
    assert.equal(api!.note, undefined);
    assert.equal(api!.leaked, false);
    assert.ok(api!.peakGrowthBytesPerMin !== null && api!.peakGrowthBytesPerMin < 60e6);
    const growth = healthy.result.metrics.metrics.find((m) => m.name === 'process.rss.growth');
    assert.ok(growth!.count >= 10, `${growth!.count} growth samples`);
    assert.equal(healthy.result.thresholds.length, 4);
    assert.ok(healthy.result.thresholds.every((x) => x.passed));

    assert.equal(leaking.status, 1, leaking.stdout + leaking.stderr);
    const [leaked] = leaking.result.monitor!.leaks;
    assert.equal(leaked!.leaked, true);
    console.log(`# endurance: ${healthy.ms} ms, api peak growth ${(api!.peakGrowthBytesPerMin! / 1e6).toFixed(1)} ` +
      `MB/min; with a 2 MB/s leak ${(leaked!.peakGrowthBytesPerMin! / 1e6).toFixed(1)} MB/min`);
  });
});
