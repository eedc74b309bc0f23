// The JUnit, Prometheus and Markdown reports of real runs, rendered by `perfy report` and read by the real tools:
// xmllint against Jenkins' published JUnit schema, promtool's exposition check, and the structure of the Markdown.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../../engine/metrics/result.js';
import { isWarmup } from '../../engine/metrics/store.js';
import { readResult } from '../../engine/report/files.js';
import { BUILTIN_STEP_KINDS } from '../../engine/steps/index.js';
import type { StepKind } from '../../engine/steps/types.js';
import { inline, markdown } from '../../engine/report/markdown.js';
import { MAX_LABEL_VALUE } from '../../engine/report/prometheus.js';
import { measured, verdictOf } from '../../engine/report/verdict.js';
import { PACKAGE_ROOT } from '../../engine/paths.js';
import { perfyAsync, startServer, tempDir } from '../helpers.js';

const XSD = join(PACKAGE_ROOT, 'fixtures', 'junit', 'jenkins-junit.xsd');

/** Why a tool cannot be run here (the test skips, saying it), or undefined; in CI (PERFY_REQUIRE_ALL) it fails. */
function missing(tool: string, pkg: string): string | undefined {
  const ran = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (ran.error === undefined) return undefined;
  const reason = `${tool} not found (Debian package ${pkg}): ${ran.error.message}`;
  if (process.env['PERFY_REQUIRE_ALL']) throw new Error(reason);
  console.log(`# skipped: ${reason}`);
  return reason;
}
const noXmllint = missing('xmllint', 'libxml2-utils');
const noPromtool = missing('promtool', 'prometheus');

function xpath(file: string, expression: string): string {
  const ran = spawnSync('xmllint', ['--xpath', expression, file], { encoding: 'utf8' });
  assert.equal(ran.status, 0, `${expression}: ${ran.stderr}`);
  // xmllint ends what it prints with a line feed of its own.
  return ran.stdout.replace(/\n$/, '');
}

/** The exposition's samples: name, labels and value of every line that is not a comment. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, line);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    return { name: m[1]!, labels, value: Number(m[3]) };
  });
}

/** The distinct step+check pairs of the measured part of a run, and how many of them failed at least once. */
function checksOf(result: Result): { pairs: number; failing: number } {
  const pairs = new Map<string, { count: number; hits: number }>();
  for (const m of result.metrics.metrics.filter((x) => x.name === 'checks' && !isWarmup(x.tags) && x.count > 0)) {
    const key = `${m.tags['step']}\n${m.tags['check']}`;
    const p = pairs.get(key) ?? { count: 0, hits: 0 };
    pairs.set(key, { count: p.count + m.count, hits: p.hits + m.sum });
  }
  return { pairs: pairs.size, failing: [...pairs.values()].filter((p) => p.hits < p.count).length };
}

describe('report formats: junit, prometheus, markdown', { concurrency: false }, () => {
  const t = tempDir({});
  let flaky = 0;
  /** /slow answers after 30 ms (a p95 under 5ms is crossed); /flaky fails one request in four; /hang answers after
   * the step's timeout (an error sample). */
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '';
    if (path.startsWith('/hang')) setTimeout(() => res.writeHead(200).end(), 200);
    else if (path.startsWith('/flaky')) res.writeHead(++flaky % 4 === 0 ? 503 : 200).end('{}');
    else setTimeout(() => res.writeHead(200).end('{"ok":true}'), path.startsWith('/slow') ? 30 : 0);
  };
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => (server = await startServer(answer)));
  after(() => server.close().finally(() => t.cleanup()));

  /** A real run, then each format rendered from its result.json by `perfy report`. */
  const run = async (
    thresholds: (string | Record<string, unknown>)[], args: string[] = [],
  ): Promise<{ result: Result; status: number | null; file: (format: string) => string; output: string }> => {
    const name = `s${Math.random().toString(36).slice(2, 8)}`;
    const scenario = t.path(`${name}.yaml`);
    writeFileSync(scenario, [
      `name: ${name}`,
      'description: "reports <of> \\"perfy\\" & co"',
      `target: ${server.url}`,
      'load: [ { ramp: { to: 40/s }, duration: 1s }, { rate: 40/s, duration: 1s } ]',
      // A warm-up: its samples are tagged phase: warmup.
      'warmup: 300ms',
      'flow:',
      '  - { name: fast, http: { get: /ok }, expect: [ "status == 200", "duration < 5s" ] }',
      '  - { name: "slow | pipe", http: { get: /slow } }',
      '  - { name: flaky, http: { get: /flaky }, expect: [ "status == 200" ] }',
      '  - { name: hang, timeout: 50ms, http: { get: /hang } }',
      `thresholds: [ ${thresholds.map((x) => JSON.stringify(x)).join(', ')} ]`,
    ].join('\n'));
    const out = t.path(name);
    flaky = 0;
    const ran = await perfyAsync(['run', scenario, '--quiet', '--out', out, ...args]);
    const saved = join(out, 'result.json');
    const result = readResult(saved);
    for (const format of ['junit', 'prometheus', 'markdown']) {
      const rendered = await perfyAsync(['report', saved, '--format', format, '--out', join(out, format)]);
      assert.equal(rendered.status, 0, rendered.stderr);
    }
    return { result, status: ran.status, file: (format) => join(out, format), output: ran.stdout + ran.stderr };
  };

  let failed: Awaited<ReturnType<typeof run>>;
  let passed: Awaited<ReturnType<typeof run>>;
  let aborted: Awaited<ReturnType<typeof run>>;
  before(async () => {
    failed = await run(['p95(http.duration{step: "slow | pipe"}) < 5ms', 'p95(http.duration) < 1s']);
    // A smoke run judges rate() thresholds only: the percentile is shown as not judged.
    passed = await run(['rate(http.errors{step: fast}) < 1%', 'p95(http.duration) < 1ms'], ['--smoke']);
    aborted = await run([{ expr: 'rate(http.errors) < 1%', abort: true, after: '500ms' }, 'p95(http.duration) < 1s']);
  });

  it('the runs are what the reports should show', () => {
    assert.equal(failed.status, 1, failed.output);
    assert.equal(failed.result.status, 'completed');
    assert.equal(passed.status, 0, passed.output);
    assert.equal(passed.result.thresholds.filter((x) => x.judged === false).length, 1);
    assert.equal(aborted.result.status, 'aborted', aborted.output);
    assert.ok(checksOf(failed.result).failing >= 1, 'the flaky check failed sometimes');
    assert.ok(failed.result.metrics.samples?.some((x) => x.kind === 'error' && x.tags['step'] === 'hang'));
  });

  it('junit: valid against the published JUnit schema, a testcase per threshold and per check', { skip: noXmllint },
    () => {
      for (const ran of [failed, passed, aborted]) {
        const file = ran.file('junit');
        const valid = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
        assert.equal(valid.status, 0, `${valid.stderr}\n${readFileSync(file, 'utf8')}`);
        const { result } = ran;
        const checks = checksOf(result);
        const incomplete = result.status === 'completed' ? 0 : 1;
        const judged = result.thresholds.filter((x) => x.judged !== false);
        const crossed = judged.filter((x) => !x.passed).length;
        const tests = result.thresholds.length + checks.pairs + incomplete;
        assert.equal(Number(xpath(file, 'string(/testsuites/@tests)')), tests);
        assert.equal(Number(xpath(file, 'string(/testsuites/@failures)')), crossed + checks.failing);
        assert.equal(Number(xpath(file, 'string(/testsuites/@errors)')), incomplete);
        assert.equal(Number(xpath(file, 'count(//testcase)')), tests);
        assert.equal(Number(xpath(file, 'count(//testcase/skipped)')), result.thresholds.length - judged.length);
        assert.equal(xpath(file, 'string(//testsuite/@hostname)'), result.environment.hostname);
        assert.equal(
          Date.parse(xpath(file, 'string(//testsuite/@timestamp)')), Math.floor(result.startedAt / 1000) * 1000,
        );
        // A crossed threshold's failure carries what was measured.
        for (const x of judged.filter((y) => !y.passed)) {
          const message = xpath(file, `string(//testcase[@name='${x.source}']/failure/@message)`);
          assert.equal(message, measured(x));
        }
      }
      const flaky = xpath(failed.file('junit'), 'string(//testcase[@name="flaky: status == 200"]/failure/@message)');
      assert.match(flaky, /^\d+ of \d+ failed \(\d+\.\d%\)$/);
      const [failedChecks, allChecks] = flaky.split(' of ').map((n) => parseInt(n, 10));
      const rows = failed.result.metrics.metrics
        .filter((m) => m.name === 'checks' && m.tags['step'] === 'flaky' && !isWarmup(m.tags));
      assert.equal(rows.length, 1);
      assert.equal(allChecks, rows.reduce((n, m) => n + m.count, 0));
      assert.equal(failedChecks, rows.reduce((n, m) => n + m.count - m.sum, 0));
      assert.match(xpath(passed.file('junit'), 'string(//testcase/skipped)'), /^not judged in a --smoke run: /);
      assert.match(
        xpath(aborted.file('junit'), 'string(//testcase[@name="the run completed"]/error/@message)'),
        /^the run did not complete: aborted \(threshold failed: rate\(http\.errors\) < 1%\)$/,
      );
    });

  it('junit: text XML 1.0 forbids is left out, the rest escaped', { skip: noXmllint }, async () => {
    // The failing run's result with hostile names: markup, quotes, a CDATA end, control characters, an unpaired
    // surrogate. `perfy report` must still write a well-formed, valid file that says the same words.
    const hostile = 'x <y a="1"> & \'z\' ]]> \u0001\u0008\u000b\uFFFE\ud800 \t\r\nend';
    const result = structuredClone(failed.result);
    result.scenario.name = hostile;
    result.thresholds[0]!.source = hostile;
    result.environment.hostname = hostile;
    const file = t.path('hostile.json');
    writeFileSync(file, JSON.stringify(result));
    const rendered = await perfyAsync(['report', file, '--format', 'junit', '--out', t.path('hostile.xml')]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const valid = spawnSync('xmllint', ['--noout', '--schema', XSD, t.path('hostile.xml')], { encoding: 'utf8' });
    assert.equal(valid.status, 0, valid.stderr);
    const name = xpath(t.path('hostile.xml'), 'string(//testsuite/@hostname)');
    assert.equal(name, 'x <y a="1"> & \'z\' ]]>  \t\r\nend');
  });

  it('prometheus: promtool accepts the exposition, and it says what the result says', { skip: noPromtool }, () => {
    for (const ran of [failed, passed, aborted]) {
      const text = readFileSync(ran.file('prometheus'), 'utf8');
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}\n${text}`);
      assert.equal(checked.stdout + checked.stderr, '', 'no lint problem either');
      const all = samples(text);
      const sum = (name: string, filter: (l: Record<string, string>) => boolean = () => true) =>
        all.filter((x) => x.name === name && filter(x.labels)).reduce((n, x) => n + x.value, 0);
      const row = (name: string, tags: Record<string, string> = {}) => ran.result.summary.metrics
        .find((m) => m.name === name && JSON.stringify(m.tags) === JSON.stringify(tags));
      // The summary leaves the warm-up out; the exposition keeps it, labelled.
      assert.equal(sum('perfy_http_reqs_total', (l) => l['phase'] === undefined), row('http.reqs')?.count);
      assert.equal(sum('perfy_http_reqs_total'), ran.result.metrics.metrics
        .filter((m) => m.name === 'http.reqs').reduce((n, m) => n + m.sum, 0));
      assert.ok(sum('perfy_http_reqs_total') > 0);
      assert.equal(sum('perfy_run_passed'), ran.result.passed ? 1 : 0);
      assert.equal(all.find((x) => x.name === 'perfy_run_passed')?.labels['status'], ran.result.status);
      assert.equal(all.filter((x) => x.name === 'perfy_threshold_passed').length, ran.result.thresholds.length);
      assert.equal(sum('perfy_run_start_timestamp_seconds'), ran.result.startedAt / 1000);
      assert.equal(sum('perfy_run_end_timestamp_seconds'), ran.result.endedAt / 1000);
      // Every sample of the trend, unexpected responses' included, is counted in _count.
      const durations = ran.result.metrics.metrics.filter((m) => m.name === 'http.duration');
      assert.equal(sum('perfy_http_duration_seconds_count'), durations.reduce((n, m) => n + m.count, 0));
      for (const x of ran.result.thresholds) {
        const sample = all.find((y) => y.name === 'perfy_threshold_passed' && y.labels['threshold'] === x.source);
        assert.equal(sample?.value, x.passed ? 1 : 0, x.source);
        assert.equal(sample?.labels['judged'], x.judged === false ? 'false' : undefined);
      }
    }
    const all = samples(readFileSync(failed.file('prometheus'), 'utf8'));
    assert.ok(all.some((x) => x.name === 'perfy_http_reqs_total' && x.labels['phase'] === 'warmup'));
    // The slow step has one measured series (all 200s): its summary is the step's own, in seconds.
    const slow = failed.result.summary.metrics
      .find((m) => m.name === 'http.duration' && m.tags['step'] === 'slow | pipe');
    const slowSeries = (name: string) => all
      .filter((x) => x.name === name && x.labels['step'] === 'slow | pipe' && x.labels['phase'] === undefined);
    const p95 = slowSeries('perfy_http_duration_seconds').find((x) => x.labels['quantile'] === '0.95');
    assert.ok(slow?.p95 !== undefined && p95 !== undefined);
    assert.ok(Math.abs(p95.value - slow.p95 / 1000) < 1e-9, `${p95.value} vs ${slow.p95}`);
    assert.deepEqual(slowSeries('perfy_http_duration_seconds_count').map((x) => x.value), [slow.count]);
    // Checks as the share that passed and the samples it is a share of.
    const flaky = (name: string) => all
      .find((x) => x.name === name && x.labels['step'] === 'flaky' && x.labels['phase'] === undefined)?.value;
    const rows = failed.result.metrics.metrics
      .filter((m) => m.name === 'checks' && m.tags['step'] === 'flaky' && !isWarmup(m.tags));
    assert.equal(flaky('perfy_checks_samples_total'), rows[0]?.count);
    // Values are written with 15 significant digits.
    assert.ok(Math.abs(flaky('perfy_checks_ratio')! - rows[0]!.sum / rows[0]!.count) < 1e-12);
    assert.ok(flaky('perfy_checks_ratio')! < 1);
  });

  it('prometheus: label values are escaped and bounded, and promtool still accepts them', { skip: noPromtool },
    async () => {
      const result = structuredClone(failed.result);
      const long = `${'a'.repeat(300)}`;
      const odd = 'quote " backslash \\ newline \n end';
      for (const m of result.metrics.metrics) {
        if (m.tags['step'] === 'fast') m.tags['step'] = odd;
        if (m.tags['step'] === 'flaky') m.tags['step'] = `${long}1`;
        if (m.tags['step'] === 'hang') m.tags['step'] = `${long}2`;
      }
      const file = t.path('labels.json');
      writeFileSync(file, JSON.stringify(result));
      const rendered = await perfyAsync(['report', file, '--format', 'prometheus', '--out', t.path('labels.prom')]);
      assert.equal(rendered.status, 0, rendered.stderr);
      const text = readFileSync(t.path('labels.prom'), 'utf8');
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(checked.status, 0, checked.stdout + checked.stderr);
      const steps = new Set(samples(text).map((x) => x.labels['step']).filter((x) => x !== undefined));
      assert.ok(steps.has(odd), [...steps].join('\n'));
      const cut = [...steps].filter((x) => x.startsWith('aaa'));
      assert.equal(cut.length, 2, 'two long values that share their start stay two series');
      for (const x of cut) assert.equal([...x].length, MAX_LABEL_VALUE);
    });

  it('monitor: data in junit (a monitor testsuite) and prometheus, valid for xmllint and promtool',
    { skip: noXmllint ?? noPromtool }, async () => {
      // The failing run's result as if `monitor:` had watched it: a critical alert that fired, a warning that did
      // not, a leak found, a process not judged; names holding what XML and the exposition format must escape.
      const result = structuredClone(failed.result);
      const alert = 'cpu(api) > 90% for 10s & "more" <x>';
      result.monitor = {
        alerts: [
          { source: alert, level: 'critical', abort: false, fired: 2, firstFiredMs: 500, firingAtEnd: false,
            aborted: false, value: 0.95 },
          { source: 'rss(api) > 1GB', level: 'warning', abort: false, fired: 0, firingAtEnd: false, aborted: false },
        ],
        leaks: [
          { process: 'api\nb', level: 'critical', windowMs: 1000, maxGrowthBytesPerMin: 1e6, peakGrowthBytesPerMin: 5e6,
            leaked: true, episodes: [{ sinceMs: 100, detectedMs: 900, peakBytesPerMin: 5e6 }] },
          { process: 'db', level: 'warning', windowMs: 1000, maxGrowthBytesPerMin: 1e6, peakGrowthBytesPerMin: null,
            leaked: false, episodes: [], note: 'the run was too short to judge' },
        ],
        events: [{ time: new Date(result.startedAt + 500).toISOString(), elapsedMs: 500, level: 'critical',
          name: alert, state: 'firing', value: 0.95, message: `critical alert fired: ${alert} (cpu(api) = 95.0%)` }],
      };
      const file = t.path('monitor.json');
      writeFileSync(file, JSON.stringify(result));
      for (const format of ['junit', 'prometheus']) {
        const rendered = await perfyAsync(['report', file, '--format', format, '--out', t.path(`monitor.${format}`)]);
        assert.equal(rendered.status, 0, rendered.stderr);
      }
      const xml = t.path('monitor.junit');
      const valid = spawnSync('xmllint', ['--noout', '--schema', XSD, xml], { encoding: 'utf8' });
      assert.equal(valid.status, 0, `${valid.stderr}\n${readFileSync(xml, 'utf8')}`);
      const suite = `//testsuite[@name="${result.scenario.name}.monitor"]`;
      assert.equal(xpath(xml, `string(${suite}/@tests)`), '4');
      assert.equal(xpath(xml, `string(${suite}/@failures)`), '2');
      assert.equal(xpath(xml, `string(${suite}/@skipped)`), '1');
      assert.equal(xpath(xml, `string(${suite}/testcase[1]/failure/@message)`),
        `critical alert fired: ${alert} (cpu(api) = 95.0%)`);
      assert.equal(xpath(xml, `string(${suite}/testcase[@name="leak(db)"]/skipped)`),
        'not judged: the run was too short to judge');
      const text = readFileSync(t.path('monitor.prometheus'), 'utf8');
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}\n${text}`);
      assert.equal(checked.stdout + checked.stderr, '', 'no lint problem either');
      const all = samples(text);
      const of = (name: string) => all.filter((x) => x.name === name).map((x) => [x.labels, x.value]);
      const scenario = result.scenario.name;
      assert.deepEqual(of('perfy_alert_fired'), [
        [{ scenario, alert, level: 'critical' }, 2], [{ scenario, alert: 'rss(api) > 1GB', level: 'warning' }, 0],
      ]);
      assert.deepEqual(of('perfy_leak_growth_bytes_per_minute'), [[{ scenario, process: 'api\nb' }, 5e6]]);
      assert.deepEqual(of('perfy_leak'), [[{ scenario, process: 'api\nb', level: 'critical' }, 1]]);
    });

  it('markdown: the verdict as the heading, a row per step, failed checks and first errors, escaped', () => {
    for (const ran of [failed, passed, aborted]) {
      const text = readFileSync(ran.file('markdown'), 'utf8');
      const lines = text.split('\n');
      assert.equal(lines[0], `## ${inline(verdictOf(ran.result).line)}`);
      assert.match(lines[0]!, ran.result.passed ? /^## PASSED · / : /^## FAILED · /);
      // A table row's cells: split on the pipes that are not escaped.
      const cells = (line: string): string[] => line.slice(2, -2).split(/(?<!\\) \| /);
      const header = lines.indexOf('### Steps');
      assert.equal(lines[header + 2], '| step | count | rate | p50 | p95 | p99 | max | errors |');
      const end = lines.indexOf('', header + 2);
      const stepRows = lines.slice(header + 4, end);
      assert.deepEqual(stepRows.map((l) => cells(l)[0]), ['fast', 'flaky', 'hang', 'slow \\| pipe'], text);
      for (const l of stepRows) assert.equal(cells(l).length, 8, l);
      const summaryRow = (step: string) => ran.result.summary.metrics
        .find((m) => m.name === 'step.duration' && m.tags['step'] === step);
      assert.deepEqual(stepRows.map((l) => cells(l)[1]), ['fast', 'flaky', 'hang', 'slow | pipe']
        .map((step) => summaryRow(step)?.count.toLocaleString('en-US')));
      const thresholds = lines.filter((l) => /^\| [✓✗–] \|/.test(l));
      assert.equal(thresholds.length, ran.result.thresholds.length);
      for (const l of thresholds) assert.equal(cells(l).length, 4, l);
    }
    const text = readFileSync(failed.file('markdown'), 'utf8');
    assert.match(text, /^\| ✗ \| p95\(http\.duration\{step: "slow \\\| pipe"\}\) \\< 5ms \| p95\(.*\) = \d+(\.\d)?ms \|/m,
      'the crossed threshold, its pipe escaped, with its measured value');
    assert.match(text, /^### Failed checks$/m);
    assert.match(text, /^\| flaky \| status == 200 \| \d+ of \d+ failed \(\d+\.\d%\) \|$/m);
    assert.match(text, /^### First errors$/m);
    assert.match(text, /^\| \+[\d.]+m?s \| hang \| timeout \| /m);
    assert.match(text, /^\*\*s\w+\*\* \(.*\) · completed in [\d.]+s · started \S+Z · no overrides · perfy /m);
    assert.doesNotMatch(readFileSync(passed.file('markdown'), 'utf8'), /### Failed checks/);
    assert.match(readFileSync(passed.file('markdown'), 'utf8'), /^All 3 checks passed \(3 evaluations\)\.$/m);
  });

  it('markdown: a step kind\'s own sections, as Markdown tables fed by the summary view', async () => {
    // A kind (as a plugin would be) whose section counts the result's requests through the view it is given.
    const probe: StepKind = {
      name: 'probe', schema: {}, fields: undefined, metrics: [],
      compile: () => assert.fail('not compiled here'),
      sections: () => Promise.resolve((view) => [{
        title: 'Probe | section',
        notes: ['# not a heading', 'requests: see below'],
        tables: [{
          caption: 'Requests *by* probe',
          columns: ['what', 'how many'],
          rows: [['requests', view.style.count(view.sum('http.reqs'))], ['two\nlines | one cell', '<b>x</b>']],
        }],
      }]),
    };
    const text = String(await markdown.render(failed.result, { kinds: [...BUILTIN_STEP_KINDS, probe] }));
    const measuredRequests = failed.result.metrics.metrics
      .filter((m) => m.name === 'http.reqs' && !isWarmup(m.tags)).reduce((n, m) => n + m.sum, 0);
    const section = text.slice(text.indexOf('### Probe \\| section'));
    assert.equal(section, [
      '### Probe \\| section', '', '\\# not a heading', '', 'requests: see below', '',
      '**Requests \\*by\\* probe**', '',
      '| what | how many |', '| --- | --- |', `| requests | ${measuredRequests.toLocaleString('en-US')} |`,
      '| two<br>lines \\| one cell | \\<b\\>x\\</b\\> |', '',
    ].join('\n'));
  });
});
