// `report: [junit]`: the verdict as JUnit XML, for CI servers that show test results (Jenkins, GitLab, GitHub
// actions): a testcase per threshold, per check, per `monitor:` alert and leak verdict, failed with what was measured.
// Valid against Jenkins' JUnit schema (fixtures/junit/); every text from the result is escaped, and characters XML
// 1.0 forbids are dropped.

import type { AlertOutcome, LeakOutcome, Result, ResultMonitor, ThresholdOutcome } from '../metrics/result.js';
import { count } from './format.js';
import {
  alertFired, alertStatus, eventsOf, eventTime, failsRun, leakEpisodes, leakGrowth, leakJudged, leakStatus,
} from './monitor.js';
import type { Reporter } from './types.js';
import { checkFailures, checkOutcomes, measured, notJudged, verdictOf, type CheckOutcome } from './verdict.js';

export const junit: Reporter = {
  format: 'junit',
  defaultFile: 'junit.xml',
  title: 'JUnit report',
  render: (result) => Promise.resolve(junitXml(result)),
};


interface TestCase {
  name: string;
  classname: string;
  /**
   * failure (a threshold crossed, a check failed, a critical alert fired or leak found), error (the run did not
   * complete), skipped (not judged).
   */
  outcome: 'passed' | 'failure' | 'error' | 'skipped';
  /** failure and error: the `message` attribute, the line a CI server lists. */
  message?: string;
  /** failure and error: the `type` attribute. */
  type?: string;
  /** The element's text: the details, why it was skipped, or (passed) what was measured, as system-out. */
  text: string;
}

interface TestSuite {
  name: string;
  cases: TestCase[];
}

export function junitXml(result: Result): string {
  const scenario = result.scenario.name;
  const suites: TestSuite[] = [
    { name: 'thresholds', cases: result.thresholds.map((t) => thresholdCase(scenario, t)) },
    { name: 'checks', cases: checkOutcomes(result).map((c) => checkCase(scenario, c)) },
    { name: 'monitor', cases: monitorCases(scenario, result.monitor) },
  ];
  if (result.status !== 'completed') {
    // Without it a run stopped early with no threshold crossed would read as all green in the CI's test view.
    suites.push({
      name: 'run',
      cases: [{
        name: 'the run completed',
        classname: `${scenario}.run`,
        outcome: 'error',
        message: `the run did not complete: ${result.status}${result.reason ? ` (${result.reason})` : ''}`,
        type: result.status,
        text: verdictOf(result).line,
      }],
    });
  }
  const time = seconds((result.endedAt - result.startedAt) / 1000);
  // Second precision in UTC, as Ant writes it (Ant leaves the zone out: here it is said).
  const timestamp = new Date(result.startedAt).toISOString().replace(/\.\d+Z$/, 'Z');
  const shown = suites.filter((s) => s.cases.length > 0);
  const all = tally(shown.flatMap((s) => s.cases));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // The schema allows no `skipped` count here: each suite says its own.
    `<testsuites${attrs({ name: scenario, tests: all.tests, failures: all.failures, errors: all.errors, time })}>`,
  ];
  shown.forEach((suite, id) => {
    const { tests, failures, errors, skipped } = tally(suite.cases);
    const name = `${scenario}.${suite.name}`;
    const hostname = result.environment.hostname;
    lines.push(`  <testsuite${attrs({
      name, tests, failures, errors, skipped, time, timestamp, hostname, id, package: scenario,
    })}>`);
    lines.push('    <properties>');
    for (const [key, value] of properties(result)) lines.push(`      <property${attrs({ name: key, value })}/>`);
    lines.push('    </properties>');
    for (const c of suite.cases) lines.push(...testCase(c));
    lines.push('  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function thresholdCase(scenario: string, t: ThresholdOutcome): TestCase {
  const base = { name: t.source, classname: `${scenario}.thresholds` };
  const values = measured(t);
  const about = [values, t.description, t.aborted ? 'it stopped the run (abort: true)' : undefined]
    .filter(Boolean).join('\n');
  if (t.judged === false) {
    return { ...base, outcome: 'skipped', text: `${notJudged(t)}\n${about}` };
  }
  if (t.passed) return { ...base, outcome: 'passed', text: about };
  // A warning fails nothing: the CI's test view shows it green, with what was measured.
  if (t.level === 'warning') return { ...base, outcome: 'passed', text: `warning: crossed, fails nothing\n${about}` };
  return { ...base, outcome: 'failure', type: 'threshold', message: values, text: `${t.source}\n${about}` };
}

/**
 * `monitor:`'s alerts and leak verdicts: a critical alert that fired or a critical leak fails, a warning passes with
 * its events as system-out, a leak the rule could not judge is skipped.
 */
function monitorCases(scenario: string, monitor: ResultMonitor | undefined): TestCase[] {
  if (monitor === undefined) return [];
  const classname = `${scenario}.monitor`;
  const happened = (x: AlertOutcome | LeakOutcome): string =>
    eventsOf(monitor, x).map((e) => `${eventTime(e)} ${e.message}`).join('\n');
  const alerts = monitor.alerts.map((a): TestCase => {
    const text = [alertStatus(a), a.description, happened(a)].filter(Boolean).join('\n');
    const base = { name: a.source, classname, text };
    if (failsRun(a)) return { ...base, outcome: 'failure', type: 'alert', message: alertFired(monitor, a) };
    return { ...base, outcome: 'passed' };
  });
  const leaks = monitor.leaks.map((l): TestCase => {
    const base = { name: `leak(${l.process})`, classname };
    const text = [leakStatus(l), ...leakEpisodes(l), happened(l)].filter(Boolean).join('\n');
    if (!leakJudged(l)) return { ...base, outcome: 'skipped', text };
    if (failsRun(l)) return { ...base, outcome: 'failure', type: 'leak', message: `leak: ${leakGrowth(l)}`, text };
    return { ...base, outcome: 'passed', text };
  });
  return [...alerts, ...leaks];
}

function checkCase(scenario: string, c: CheckOutcome): TestCase {
  const base = { name: `${c.step}: ${c.check}`, classname: `${scenario}.checks` };
  if (c.passed >= c.total) return { ...base, outcome: 'passed', text: `${count(c.total)} of ${count(c.total)} passed` };
  const message = checkFailures(c);
  return { ...base, outcome: 'failure', type: 'check', message, text: `step ${c.step}, check ${c.check}: ${message}` };
}

function tally(cases: readonly TestCase[]): { tests: number; failures: number; errors: number; skipped: number } {
  const of = (outcome: TestCase['outcome']) => cases.filter((c) => c.outcome === outcome).length;
  return { tests: cases.length, failures: of('failure'), errors: of('error'), skipped: of('skipped') };
}

function testCase(c: TestCase): string[] {
  const body = c.outcome === 'passed'
    ? `<system-out>${text(c.text)}</system-out>`
    : c.outcome === 'skipped'
      // The schema's `skipped` has text and no attributes.
      ? `<skipped>${text(c.text)}</skipped>`
      : `<${c.outcome}${attrs({ message: c.message ?? '', type: c.type ?? '' })}>${text(c.text)}</${c.outcome}>`;
  return [`    <testcase${attrs({ name: c.name, classname: c.classname })}>`, `      ${body}`, '    </testcase>'];
}

/** What the run was: one property each, as CI servers show them beside the suite. */
function properties(result: Result): [string, string][] {
  const e = result.environment;
  const props: [string, string | undefined][] = [
    ['scenario', result.scenario.name],
    ['scenario.file', result.scenario.file],
    ['scenario.description', result.scenario.description],
    ['status', result.status],
    ['reason', result.reason],
    ['verdict', verdictOf(result).line],
    ['overrides', result.overrides.length > 0 ? result.overrides.join(' ') : undefined],
    ['perfy', e.perfy],
    ['node', e.node],
    ['platform', `${e.platform} ${e.arch}, ${e.cpus} CPUs`],
    ['workers', e.workers === undefined ? undefined : String(e.workers)],
  ];
  return props.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
}

const seconds = (s: number): string => s.toFixed(3);

/**
 * Characters XML 1.0 does not allow anywhere, escaped or not: C0 controls but tab, newline and carriage return,
 * unpaired surrogates, U+FFFE and U+FFFF. A response body or error message can carry them.
 */
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text content: `<` and `&` would start markup, `>` would close a `]]>`. */
export function text(value: string): string {
  return value.replace(FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value in double quotes; tab and line ends as references, or a parser would turn them into spaces. */
function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => ` ${k}="${attr(String(v))}"`).join('');
}
