// What `monitor:` found, as every report shows it: a Result built by hand with alerts (critical and warning, one that
// aborted), leak verdicts (leaked, clean, not judged), events and notify's deliveries, rendered in each format.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import type { Result, ResultMonitor, ThresholdOutcome } from '../../../engine/metrics/result.js';
import { formatSummary } from '../../../engine/report/console.js';
import { chartsOf } from '../../../engine/report/html-charts.js';
import { renderHtml } from '../../../engine/report/html.js';
import { junitXml } from '../../../engine/report/junit.js';
import { markdownSummary } from '../../../engine/report/markdown.js';
import { prometheusText } from '../../../engine/report/prometheus.js';
import { verdictOf } from '../../../engine/report/verdict.js';
import { BUILTIN_STEP_KINDS } from '../../../engine/steps/index.js';
import { resultOf, T0 } from './result.js';

const plain = new Chalk({ level: 0 });
const MB = 1_000_000;

const p95 = (source: string, value: number, extra: Partial<ThresholdOutcome> = {}): ThresholdOutcome => ({
  source, passed: false, aborted: false, description: undefined, judged: true,
  values: [{ metric: 'http.duration', fn: 'p95', value }], ...extra,
});

/** A critical alert that fired twice, a warning alert that fired once and resolved, one that never fired. */
function monitorData(): ResultMonitor {
  const event = (elapsedMs: number, name: string, level: 'warning' | 'critical', state: 'firing' | 'resolved',
    message: string) => ({ time: new Date(T0 + elapsedMs).toISOString(), elapsedMs, level, name, state, message });
  return {
    alerts: [
      {
        source: 'cpu(api) > 90% for 10s', level: 'critical', abort: false, fired: 2, firstFiredMs: 12_000,
        firingAtEnd: true, aborted: false, value: 0.97,
      },
      {
        source: 'rss(api) > 500MB', level: 'warning', abort: false, description: 'api memory', fired: 1,
        firstFiredMs: 20_000, firingAtEnd: false, aborted: false, value: 510 * MB,
      },
      { source: 'fds(api) > 1000', level: 'critical', abort: false, fired: 0, firingAtEnd: false, aborted: false },
    ],
    leaks: [
      {
        process: 'api', level: 'critical', windowMs: 10_000, maxGrowthBytesPerMin: 10 * MB,
        peakGrowthBytesPerMin: 120 * MB, leaked: true,
        episodes: [{ sinceMs: 5000, detectedMs: 15_000, endMs: 40_000, peakBytesPerMin: 120 * MB }],
      },
      {
        process: 'db', level: 'critical', windowMs: 10_000, maxGrowthBytesPerMin: 10 * MB,
        peakGrowthBytesPerMin: 2 * MB, leaked: false, episodes: [],
      },
      {
        process: 'cache', level: 'critical', windowMs: 10_000, maxGrowthBytesPerMin: 10 * MB,
        peakGrowthBytesPerMin: null, leaked: false, episodes: [],
        note: 'no memory sample of this process: not judged',
      },
    ],
    events: [
      event(12_000, 'cpu(api) > 90% for 10s', 'critical', 'firing',
        'critical alert fired: cpu(api) > 90% for 10s (cpu(api) = 97.0%)'),
      event(15_000, 'leak(api)', 'critical', 'firing',
        'critical leak: the memory of api grows 120MB/min (limit 10MB/min) since 5s into the run'),
      event(20_000, 'rss(api) > 500MB', 'warning', 'firing',
        'warning alert fired: rss(api) > 500MB (rss(api) = 510MB)'),
      event(25_000, 'rss(api) > 500MB', 'warning', 'resolved',
        'warning alert resolved: rss(api) > 500MB (rss(api) = 480MB)'),
      event(30_000, 'cpu(api) > 90% for 10s', 'critical', 'resolved',
        'critical alert resolved: cpu(api) > 90% for 10s (cpu(api) = 40.0%)'),
      event(35_000, 'cpu(api) > 90% for 10s', 'critical', 'firing',
        'critical alert fired: cpu(api) > 90% for 10s (cpu(api) = 95.0%)'),
      event(40_000, 'leak(api)', 'critical', 'resolved',
        'leak resolved: the memory of api grows 1MB/min (under 80% of 10MB/min)'),
    ],
    notify: { sent: 6, failed: 1, dropped: 0, errors: ['webhook: 503 Service Unavailable'] },
  };
}

/** A 60 s run that sampled `api` (memory, its growth) and has these thresholds and `monitor:` data. */
function resultWith(thresholds: ThresholdOutcome[], monitor: ResultMonitor | undefined): Result {
  return resultOf((store, at) => {
    const rss = store.handle('process.rss', 'gauge', { process: 'api' });
    const growth = store.handle('process.rss.growth', 'gauge', { process: 'api' });
    for (let s = 0; s < 60; s++) {
      at(s * 1000);
      rss.record((100 + s) * MB);
      growth.record(s < 40 ? s * 3 * MB : MB);
      store.handle('http.duration', 'trend', { step: 'a', expected: 'true' }).record(5);
    }
  }, { durationMs: 60_000, thresholds, monitor });
}

const critical = p95('p95(http.duration) < 1s', 5, { passed: true });
const warning = p95('p95(http.duration) < 1ms', 5, { level: 'warning' });

describe('the verdict with monitor: data', () => {
  it('says the critical alerts and leaks that failed the run, and the warnings; a warning is not crossed', () => {
    const result = resultWith([critical, warning], monitorData());
    assert.equal(result.passed, false);
    assert.equal(verdictOf(result).line, 'FAILED · 1 of 2 thresholds'
      + ' · critical alert fired: cpu(api) > 90% for 10s (cpu(api) = 97.0%)'
      + ' · leak: api grows 120MB/min (limit 10MB/min)'
      + ' · 2 warnings: p95(http.duration) < 1ms (5.0ms); alert fired: rss(api) > 500MB');
    assert.deepEqual(verdictOf(result).crossed, []);
    assert.deepEqual(verdictOf(result).warnings.map((t) => t.source), ['p95(http.duration) < 1ms']);
  });

  it('a failed warning threshold alone passes the run, said as one warning', () => {
    const result = resultWith([critical, warning], undefined);
    assert.equal(result.passed, true);
    assert.equal(verdictOf(result).line, 'PASSED · 1 of 2 thresholds · 1 warning: p95(http.duration) < 1ms (5.0ms)');
  });

  it('several critical alerts and leaks are counted; one whose firing is not among the events is named alone', () => {
    const monitor = monitorData();
    monitor.alerts[2]!.fired = 1;
    monitor.leaks[1]!.leaked = true;
    const line = verdictOf(resultWith([critical], monitor)).line;
    assert.match(line, / · 2 critical alerts fired: cpu\(api\) > 90% for 10s \(cpu\(api\) = 97\.0%\); fds\(api\) > 1000 · /);
    assert.match(line, / · 2 leaks: api grows 120MB\/min \(limit 10MB\/min\); db grows 2\.0MB\/min \(limit 10MB\/min\)/);
  });

  it('keeps the words of a run without monitor: (a crossed critical threshold)', () => {
    const crossed = p95('p95(http.duration) < 1ms', 5);
    assert.equal(verdictOf(resultWith([crossed, critical], undefined)).line,
      'FAILED · 1 of 2 thresholds crossed: p95(http.duration) < 1ms (5.0ms)');
  });
});

describe('reports with monitor: data', () => {
  const result = resultWith([critical, warning], monitorData());

  it('console: the warning threshold, the alerts, the leaks with their episodes, notify, and the growth', () => {
    const text = formatSummary(result, plain);
    assert.match(text, /^ {4}! p95\(http\.duration\) < 1ms \(warning\) {2}\(p95\(http\.duration\) = 5\.0ms\)$/m);
    assert.match(text, /^ {4}✓ p95\(http\.duration\) < 1s /m);
    assert.match(text, /^ {4}✗ critical cpu\(api\) > 90% for 10s {2}fired 2 times, first at 12s, still firing at the end$/m);
    assert.match(text, /^ {4}! warning {2}rss\(api\) > 500MB {2}fired once, first at 20s {2}— api memory$/m);
    assert.match(text, /^ {4}✓ critical fds\(api\) > 1000 {2}never fired$/m);
    assert.match(text, /^ {4}✗ critical api +leaked: peak 120MB\/min \(limit 10MB\/min\)$/m);
    assert.match(text, /^ {8}grew from 5s, seen at 15s, ended at 40s \(peak 120MB\/min\)$/m);
    assert.match(text, /^ {4}✓ critical db +no leak: peak 2\.0MB\/min \(limit 10MB\/min\)$/m);
    assert.match(text, /^ {4}– critical cache +not judged: no memory sample of this process: not judged$/m);
    assert.match(text, /^ {2}notify {2}6 sent · 1 failed · 0 dropped\n {4}webhook: 503 Service Unavailable$/m);
    // The growth recorded peaked at 39 × 3 MB/min.
    assert.match(text, /^ {4}api +.* · growth 117MB\/min max$/m);
    // The sections come in order, the verdict last.
    const at = (what: string): number => text.indexOf(what);
    assert.ok(at('  processes') < at('  alerts') && at('  alerts') < at('  leaks') && at('  leaks') < at('  notify'));
    assert.match(text, /\nFAILED · 1 of 2 thresholds · critical alert fired: .*\n$/);
  });

  it('console: no monitor section without monitor: data', () => {
    const text = formatSummary(resultWith([critical], undefined), plain);
    assert.doesNotMatch(text, /^ {2}(alerts|leaks|notify)/m);
  });

  it('markdown: the warning threshold marked, a Monitoring section with alerts, leaks, events and notify', () => {
    const text = markdownSummary(result, []);
    assert.match(text, /^\| ! \| p95\(http\.duration\) \\< 1ms \| p95\(http\.duration\) = 5\.0ms \| warning: fails nothing \|$/m);
    const section = text.slice(text.indexOf('### Monitoring'), text.indexOf('### Latency'));
    assert.ok(text.indexOf('### Thresholds') < text.indexOf('### Monitoring'));
    assert.match(section, /^Notify: 6 sent · 1 failed · 0 dropped; webhook: 503 Service Unavailable\.$/m);
    assert.match(section, /^\| ✗ \| critical \| cpu\(api\) \\> 90% for 10s \| fired 2 times, first at 12s, still firing at the end \| {2}\|$/m);
    assert.match(section, /^\| ! \| warning \| rss\(api\) \\> 500MB \| fired once, first at 20s \| api memory \|$/m);
    assert.match(section,
      /^\| ✗ \| critical \| api \| leaked: peak 120MB\/min \(limit 10MB\/min\) \| grew from 5s, seen at 15s, ended at 40s/m);
    assert.match(section, /^\| – \| critical \| cache \| not judged: no memory sample/m);
    const events = section.split('\n').filter((l) => /^\| \+\d/.test(l));
    assert.equal(events.length, 7);
    assert.equal(events[0], '| +12s (22:13:32 UTC) | critical | firing | critical alert fired: cpu(api) \\> 90% for 10s'
      + ' (cpu(api) = 97.0%) |');
    assert.match(events[6]!, /^\| \+40s .* \| critical \| resolved \| leak resolved: /);
  });

  it('markdown: at most 50 events, the rest counted', () => {
    const monitor = monitorData();
    const first = monitor.events[0]!;
    monitor.events = Array.from({ length: 60 }, (_, i) => ({ ...first, elapsedMs: i * 1000 }));
    monitor.eventsDropped = 5;
    const text = markdownSummary(resultWith([], monitor), []);
    assert.equal(text.split('\n').filter((l) => /^\| \+\d/.test(l)).length, 50);
    assert.match(text, /^15 more events are left out of the table\.$/m);
  });

  it('junit: a monitor testsuite, a testcase per alert and leak verdict', () => {
    const xml = junitXml(result);
    const start = xml.indexOf('<testsuite name="s.monitor"');
    const suite = xml.slice(start, xml.indexOf('</testsuite>', start));
    assert.match(suite, /^<testsuite name="s\.monitor" tests="6" failures="2" errors="0" skipped="1"/);
    const testcase = (name: string): string => {
      const start = suite.indexOf(`<testcase name="${name}"`);
      assert.ok(start >= 0, name);
      return suite.slice(start, suite.indexOf('</testcase>', start));
    };
    assert.match(testcase('cpu(api) &gt; 90% for 10s'), /<failure message="critical alert fired: cpu\(api\) &gt; 90% for 10s \(cpu\(api\) = 97\.0%\)" type="alert">fired 2 times/);
    // The warning fired: it passes, its events said.
    const warned = testcase('rss(api) &gt; 500MB');
    assert.doesNotMatch(warned, /<failure/);
    assert.match(warned, /<system-out>fired once, first at 20s\napi memory\n\+20s \(\S+ UTC\) warning alert fired: .*\n\+25s \(\S+ UTC\) warning alert resolved: /);
    assert.match(testcase('fds(api) &gt; 1000'), /<system-out>never fired<\/system-out>/);
    assert.match(testcase('leak(api)'), /<failure message="leak: api grows 120MB\/min \(limit 10MB\/min\)" type="leak">/);
    assert.match(testcase('leak(db)'), /<system-out>no leak: peak 2\.0MB\/min/);
    assert.match(testcase('leak(cache)'), /<skipped>not judged: no memory sample/);
    // A failed warning threshold passes, saying so.
    assert.match(xml, /<testcase name="p95\(http\.duration\) &lt; 1ms" classname="s\.thresholds">\n {6}<system-out>warning: crossed, fails nothing\n/);
    assert.doesNotMatch(junitXml(resultWith([critical], undefined)), /s\.monitor/);
  });

  it('prometheus: times each alert fired, each leak\'s peak growth and verdict, the warning threshold\'s level', () => {
    const text = prometheusText(result);
    const lines = text.split('\n');
    assert.ok(lines.includes('perfy_alert_fired{scenario="s",alert="cpu(api) > 90% for 10s",level="critical"} 2'));
    assert.ok(lines.includes('perfy_alert_fired{scenario="s",alert="rss(api) > 500MB",level="warning"} 1'));
    assert.ok(lines.includes('perfy_alert_fired{scenario="s",alert="fds(api) > 1000",level="critical"} 0'));
    assert.ok(lines.includes('perfy_leak_growth_bytes_per_minute{scenario="s",process="api"} 120000000'));
    assert.ok(lines.includes('perfy_leak_growth_bytes_per_minute{scenario="s",process="db"} 2000000'));
    assert.ok(lines.includes('perfy_leak{scenario="s",process="api",level="critical"} 1'));
    assert.ok(lines.includes('perfy_leak{scenario="s",process="db",level="critical"} 0'));
    // The process never judged has no verdict, and no growth.
    assert.ok(!lines.some((l) => l.includes('process="cache"')), text);
    assert.ok(lines.includes(
      'perfy_threshold_passed{scenario="s",threshold="p95(http.duration) < 1ms",level="warning"} 0'));
    assert.ok(lines.includes('perfy_threshold_passed{scenario="s",threshold="p95(http.duration) < 1s"} 1'));
    assert.ok(lines.includes('# TYPE perfy_leak gauge'));
  });

  it('html: a Monitoring section and the events marked on the chart of the processes', async () => {
    const html = await renderHtml(result, { kinds: BUILTIN_STEP_KINDS });
    assert.match(html, /<a href="#monitor">Monitoring<\/a>/);
    const section = html.slice(html.indexOf('<section id="monitor">'), html.indexOf('<section id="load">'));
    assert.match(section, /<tr><td>!<\/td><td>warning<\/td><td>rss\(api\) &gt; 500MB<\/td><td>fired once, first at 20s<\/td>/);
    assert.match(section, /<td>critical alert fired: cpu\(api\) &gt; 90% for 10s \(cpu\(api\) = 97\.0%\)<\/td>/);
    assert.match(section, /<td>leaked: peak 120MB\/min \(limit 10MB\/min\)<\/td>/);
    assert.match(section, /Notify: 6 sent · 1 failed · 0 dropped/);
    assert.match(html, /<td>! warning<\/td><td>p95\(http\.duration\) &lt; 1ms<\/td>/);
    const processes = chartsOf(result).charts.find((c) => c.id === 'processes')!;
    assert.deepEqual(processes.marks?.map((m) => [m.s, m.kind]), [
      [12, 'critical'], [15, 'critical'], [20, 'warning'], [25, 'resolved'], [30, 'resolved'], [35, 'critical'],
      [40, 'resolved'],
    ]);
    const without = await renderHtml(resultWith([critical], undefined), { kinds: BUILTIN_STEP_KINDS });
    assert.ok(!without.includes('<section id="monitor">'));
    assert.equal(chartsOf(resultWith([critical], undefined)).charts.find((c) => c.id === 'processes')?.marks,
      undefined);
  });
});
