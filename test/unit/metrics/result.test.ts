// The Result file: schema/result.schema.json accepts a real snapshot-based Result and rejects broken ones, every
// property is described, writeResult is atomic (no temp file left, E_OUTPUT on failure), readResult checks.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileExpression } from '../../../engine/expr/index.js';
import { PerfyError, type ErrorCode } from '../../../engine/errors.js';
import { RESULT_VERSION, verdictOf, type Result, type ResultMonitor } from '../../../engine/metrics/result.js';
import { completeResult } from '../../../engine/metrics/summary.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { createThresholdEvaluator } from '../../../engine/metrics/thresholds.js';
import { RESULT_SCHEMA_PATH, readResult } from '../../../engine/report/files.js';
import { writeResult } from '../../../engine/report/json.js';
import { tempDir } from '../../helpers.js';

type Node = Record<string, unknown>;

function realResult(): Result {
  let t = 1_700_000_000_123;
  const store = createMetricStore({ now: () => t });
  const duration = store.handle('http.duration', 'trend', { workload: 'default', step: 'vote', status: '201' });
  const reqs = store.handle('http.reqs', 'counter', { workload: 'default', step: 'vote' });
  const errors = store.handle('http.errors', 'rate', { workload: 'default', step: 'vote' });
  const vus = store.handle('vus', 'gauge', { workload: 'default' });
  store.handle('step.duration', 'trend', { step: 'never ran' });
  for (let i = 0; i < 500; i++) {
    duration.record(5 + (i % 97) * 1.5);
    reqs.record(1);
    errors.record(i % 50 === 0 ? 1 : 0);
    if (i % 100 === 0) vus.record(i / 10);
    t += 7;
  }
  const thresholds = [
    {
      source: 'p95(http.duration) < 300ms',
      expression: compileExpression('p95(http.duration) < 300ms'),
      abort: false,
      afterMs: 0,
      description: 'fast enough',
      location: { file: 's.yaml', line: 1, col: 1 },
    },
    {
      source: 'p95(step.duration{step: "never ran"}) < 1s',
      expression: compileExpression('p95(step.duration{step: "never ran"}) < 1s'),
      abort: false,
      afterMs: 0,
      description: undefined,
      location: { file: 's.yaml', line: 2, col: 1 },
    },
  ];
  const outcomes = createThresholdEvaluator(thresholds, store).final(3500);
  return completeResult({
    version: RESULT_VERSION,
    scenario: { name: 'morning_peak', description: undefined, file: 'scenarios/morning_peak.yaml' },
    startedAt: 1_700_000_000_123,
    endedAt: t,
    status: 'completed',
    reason: undefined,
    environment: {
      perfy: '0.1.0',
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: 2,
      hostname: 'test',
    },
    overrides: ['--time-scale 0.1'],
    workloads: [{ name: 'default', model: 'open', startAfterMs: 0, durationMs: 3500, plannedIterations: 500 }],
    metrics: store.snapshot(),
    thresholds: outcomes,
    saturation: { saturated: false, eventLoopLagP99Ms: 1.2, cpu: 0.3, note: undefined },
  });
}

/** What `monitor:` adds to a result: an alert that fired and resolved, a leak found, the notifier's counts. */
function monitorPart(): ResultMonitor {
  return {
    alerts: [{
      source: 'cpu(api) > 90% for 10s', level: 'critical', abort: false, fired: 1, firstFiredMs: 12_000, value: 0.97,
      firingAtEnd: false, aborted: false,
    }],
    leaks: [{
      process: 'api', level: 'warning', windowMs: 600_000, maxGrowthBytesPerMin: 10e6, peakGrowthBytesPerMin: 120e6,
      leaked: true, episodes: [{ sinceMs: 60_000, detectedMs: 700_000, peakBytesPerMin: 120e6 }],
    }],
    events: [
      {
        time: '2026-12-03T10:00:12.000Z', elapsedMs: 12_000, level: 'critical', name: 'cpu(api) > 90% for 10s',
        state: 'firing', value: 0.97, message: 'critical alert fired', process: 'api',
      },
      {
        time: '2026-12-03T10:00:20.000Z', elapsedMs: 20_000, level: 'critical', name: 'cpu(api) > 90% for 10s',
        state: 'resolved', value: 0.4, message: 'critical alert resolved', process: 'api',
      },
    ],
    notify: { sent: 2, failed: 0, dropped: 0, errors: [] },
  };
}

describe('the verdict with monitor: and threshold levels', () => {
  const verdict = (change: (r: Result) => void): boolean => {
    const result = realResult();
    // Only the threshold that passes: each case then decides the verdict alone.
    result.thresholds = result.thresholds.slice(0, 1);
    change(result);
    return verdictOf(result);
  };
  it('a critical alert that fired fails the run; a warning alert or leak does not', () => {
    assert.equal(verdict((r) => (r.monitor = monitorPart())), false);
    assert.equal(verdict((r) => {
      r.monitor = monitorPart();
      r.monitor.alerts[0]!.level = 'warning';
    }), true);
  });
  it('a critical leak fails the run, and a critical alert that never fired does not', () => {
    assert.equal(verdict((r) => {
      r.monitor = monitorPart();
      r.monitor.alerts[0]!.fired = 0;
      r.monitor.leaks[0]!.level = 'critical';
    }), false);
    assert.equal(verdict((r) => {
      r.monitor = monitorPart();
      r.monitor.alerts[0]!.fired = 0;
    }), true);
  });
  it('a failed threshold of level warning fails nothing; the same threshold critical fails the run', () => {
    const failed = (r: Result): void => {
      r.thresholds[0]!.passed = false;
    };
    assert.equal(verdict(failed), false);
    assert.equal(verdict((r) => {
      failed(r);
      r.thresholds[0]!.level = 'warning';
    }), true);
  });
  it('a result with all of it is written, read back and valid', async () => {
    const dir = scratch();
    const result = { ...realResult(), monitor: monitorPart() };
    result.thresholds[0]!.level = 'warning';
    await writeResult(dir.dir, result);
    assert.deepEqual(readResult(join(dir.dir, 'result.json')).monitor, monitorPart());
  });
});

const dirs: ReturnType<typeof tempDir>[] = [];
function scratch(files: Record<string, string> = {}): ReturnType<typeof tempDir> {
  const dir = tempDir(files);
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => d.cleanup()));

function codesOf(fn: () => unknown): ErrorCode[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PerfyError, `not a PerfyError: ${String(error)}`);
    return error.problems.map((p) => p.code);
  }
  assert.fail('did not throw');
}

describe('writeResult and readResult', () => {
  it('write DIR/result.json (creating DIR) and read back the same Result, which the schema accepts', async () => {
    const dir = scratch();
    const result = realResult();
    assert.equal(result.thresholds[1]!.values[0]!.value, null, 'a threshold on a metric without samples');
    const out = join(dir.dir, 'nested', 'run-1');
    const file = await writeResult(out, result);
    assert.equal(file, join(out, 'result.json'));
    assert.deepEqual(readResult(file), JSON.parse(JSON.stringify(result)));
    assert.deepEqual(readdirSync(out), ['result.json'], 'no temp file left behind');
  });

  it('replace an existing result atomically', async () => {
    const dir = scratch({ 'result.json': '{"old": true}' });
    const result = realResult();
    await writeResult(dir.dir, result);
    await writeResult(dir.dir, {
      ...result,
      status: 'aborted',
      reason: 'threshold failed: p95(http.duration) < 300ms',
    });
    assert.equal(readResult(dir.path('result.json')).status, 'aborted');
    assert.deepEqual(readdirSync(dir.dir), ['result.json']);
  });

  it('fail with E_OUTPUT, leaving nothing behind, when the directory cannot be used', async () => {
    const dir = scratch({ 'a-file': 'x' });
    await assert.rejects(
      writeResult(join(dir.dir, 'a-file'), realResult()),
      (error: unknown) => error instanceof PerfyError && error.code === 'E_OUTPUT',
    );
    mkdirSync(dir.path('result.json')); // the target is a directory: the rename fails
    await assert.rejects(
      writeResult(dir.dir, realResult()),
      (error: unknown) => error instanceof PerfyError && error.code === 'E_OUTPUT',
    );
    assert.deepEqual(readdirSync(dir.dir).sort(), ['a-file', 'result.json']);
  });

  it('read a version 1 result (no verdict, no summary, trend series of [count, p95]) and complete it', () => {
    const dir = scratch();
    const v2 = realResult();
    const v1 = JSON.parse(JSON.stringify(v2)) as Node;
    v1['version'] = 1;
    delete v1['passed'];
    delete v1['summary'];
    for (const m of (v1['metrics'] as Node)['metrics'] as Node[]) {
      if (m['type'] !== 'trend') continue;
      m['series'] = (m['series'] as (number[] | null)[]).map((e) => (e === null ? null : [e[0]!, e[2]!]));
    }
    writeFileSync(dir.path('result.json'), JSON.stringify(v1));
    const read = readResult(dir.path('result.json'));
    assert.equal(read.version, RESULT_VERSION);
    // One threshold failed ("never ran" has no samples): the verdict is worked out, not assumed.
    assert.equal(read.passed, false);
    assert.equal(v2.passed, false);
    assert.deepEqual(read.summary, v2.summary);
    const p95 = read.summary.metrics.find((m) => m.name === 'http.duration' && Object.keys(m.tags).length === 0);
    assert.ok(p95?.p95 !== undefined && p95.p95 > 100 && p95.p95 < 160, JSON.stringify(p95));
  });

  it('read back a segment, a merge and a threshold that was not judged', async () => {
    const dir = scratch();
    const result: Result = { ...realResult(), segment: { index: 1, count: 4 }, merged: { results: 4, segments: true } };
    result.thresholds[0] = { ...result.thresholds[0]!, judged: false, note: 'not judged in a --smoke run' };
    const file = await writeResult(dir.dir, result);
    assert.deepEqual(readResult(file), JSON.parse(JSON.stringify(result)));
  });

  it('reading: E_FILE_NOT_FOUND, E_FILE_IS_DIRECTORY, E_SCHEMA for text that is not JSON', () => {
    const dir = scratch({ 'bad.json': '{"version": 1,' });
    assert.deepEqual(codesOf(() => readResult(dir.path('missing.json'))), ['E_FILE_NOT_FOUND']);
    assert.deepEqual(codesOf(() => readResult(dir.dir)), ['E_FILE_IS_DIRECTORY']);
    assert.deepEqual(codesOf(() => readResult(dir.path('bad.json'))), ['E_SCHEMA']);
  });
});

describe('schema/result.schema.json', () => {
  const broken: [what: string, change: (r: Node) => void][] = [
    [
      'an unknown top-level key',
      (r) => {
        r['extra'] = 1;
      },
    ],
    [
      'an unknown key in a metric',
      (r) => {
        ((r['metrics'] as Node)['metrics'] as Node[])[0]!['p95'] = 3;
      },
    ],
    [
      'a missing metrics block',
      (r) => {
        delete r['metrics'];
      },
    ],
    [
      'another version',
      (r) => {
        r['version'] = 3;
      },
    ],
    [
      'a version 2 result without its verdict',
      (r) => {
        delete r['passed'];
      },
    ],
    [
      'a trend series entry of three numbers',
      (r) => {
        const metric = ((r['metrics'] as Node)['metrics'] as Node[]).find((m) => m['type'] === 'trend')!;
        (metric['series'] as unknown[])[0] = [1, 2, 3];
      },
    ],
    [
      'an unknown status',
      (r) => {
        r['status'] = 'done';
      },
    ],
    [
      'a series entry of three numbers',
      (r) => {
        (((r['metrics'] as Node)['metrics'] as Node[])[0]!['series'] as unknown[])[0] = [1, 2, 3];
      },
    ],
    [
      'a series entry that is text',
      (r) => {
        (((r['metrics'] as Node)['metrics'] as Node[])[0]!['series'] as unknown[])[0] = 'x';
      },
    ],
    [
      'a tag value that is a number',
      (r) => {
        ((r['metrics'] as Node)['metrics'] as Node[])[0]!['tags'] = { status: 200 };
      },
    ],
    [
      'a histogram that is not base64',
      (r) => {
        ((r['metrics'] as Node)['metrics'] as Node[])[0]!['histogram'] = 'not base64!';
      },
    ],
    [
      'a threshold value that is text',
      (r) => {
        ((r['thresholds'] as Node[])[0]!['values'] as Node[])[0]!['value'] = '12ms';
      },
    ],
    [
      'a segment of a run in one segment',
      (r) => {
        r['segment'] = { index: 0, count: 1 };
      },
    ],
    [
      'an alert event in a state that does not exist',
      (r) => {
        r['monitor'] = monitorPart();
        ((r['monitor'] as Node)['events'] as Node[])[0]!['state'] = 'pending';
      },
    ],
    [
      'a leak verdict without its episodes',
      (r) => {
        r['monitor'] = monitorPart();
        delete ((r['monitor'] as Node)['leaks'] as Node[])[0]!['episodes'];
      },
    ],
    [
      'a threshold level other than warning',
      (r) => {
        (r['thresholds'] as Node[])[0]!['level'] = 'critical';
      },
    ],
    [
      'a metric type that does not exist',
      (r) => {
        ((r['metrics'] as Node)['metrics'] as Node[])[0]!['type'] = 'histogram';
      },
    ],
  ];
  for (const [what, change] of broken) {
    it(`rejects ${what} (E_SCHEMA)`, () => {
      const dir = scratch();
      const value = JSON.parse(JSON.stringify(realResult())) as Node;
      change(value);
      writeFileSync(dir.path('result.json'), JSON.stringify(value));
      const codes = codesOf(() => readResult(dir.path('result.json')));
      assert.ok(codes.length > 0 && codes.every((c) => c === 'E_SCHEMA'), codes.join(' '));
    });
  }

  const schema = JSON.parse(readFileSync(RESULT_SCHEMA_PATH, 'utf8')) as Node & { $defs: Record<string, Node> };
  const resolve = (n: Node): Node =>
    typeof n['$ref'] === 'string' ? schema.$defs[(n['$ref'] as string).split('/').pop()!]! : n;
  function walk(node: unknown, path: string, visit: (n: Node, path: string) => void): void {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`, visit));
    if (node === null || typeof node !== 'object') return;
    visit(node as Node, path);
    for (const [key, child] of Object.entries(node as Node)) {
      if (key === 'properties')
        for (const [name, prop] of Object.entries(child as Node)) walk(prop, `${path}/properties/${name}`, visit);
      // A condition (`if`) selects by a value; it declares nothing a result may hold.
      else if (key !== 'examples' && key !== 'if') walk(child, `${path}/${key}`, visit);
    }
  }

  it('describes every property', () => {
    const missing: string[] = [];
    walk(schema, '#', (n, path) => {
      for (const [key, prop] of Object.entries((n['properties'] as Record<string, Node> | undefined) ?? {})) {
        if (prop['description'] === undefined && resolve(prop)['description'] === undefined)
          missing.push(`${path}/properties/${key}`);
      }
    });
    assert.deepEqual(missing, []);
  });

  it('rejects unknown keys in every object that declares properties', () => {
    const open: string[] = [];
    walk(schema, '#', (n, path) => {
      if (n['properties'] !== undefined && n['additionalProperties'] !== false) open.push(path);
    });
    assert.deepEqual(open, []);
  });
});
