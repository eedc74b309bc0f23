// What `monitor:` found (alerts, leak verdicts, events, notify's deliveries), in the words every report shares:
// the verdict line, the console summary, the Markdown and HTML sections and the JUnit testcases read them here.

import type { AlertOutcome, LeakOutcome, ResultEvent, ResultMonitor } from '../metrics/result.js';
import { formatDuration } from '../units.js';
import { count, growth } from './format.js';
import type { ReportSection, ReportTable } from './types.js';

/** ms into the run, to the second: `12s`, `1m40s`. */
export function runTime(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);
}

/** A critical alert that fired or a critical leak: what makes `monitor:` fail the run. */
export function failsRun(x: AlertOutcome | LeakOutcome): boolean {
  return x.level === 'critical' && ('fired' in x ? x.fired > 0 : x.leaked);
}

/** An alert's or leak's events, found by the name the events give it (its condition, or `leak(NAME)`). */
export function eventsOf(monitor: ResultMonitor, x: AlertOutcome | LeakOutcome): ResultEvent[] {
  const name = 'source' in x ? x.source : `leak(${x.process})`;
  return monitor.events.filter((e) => e.name === name);
}

/**
 * `cpu(api) > 90% for 10s (cpu(api) = 97.0%)`: an alert's condition and what it read at its first firing, from
 * that event's message as printed live; the condition alone when the events kept no firing of it (past MAX_EVENTS).
 */
export function alertReading(monitor: ResultMonitor, alert: AlertOutcome): string {
  const prefix = `${alert.level} alert fired: `;
  const first = eventsOf(monitor, alert).find((e) => e.state === 'firing' && e.message.startsWith(prefix));
  return first === undefined ? alert.source : first.message.slice(prefix.length);
}

/** `critical alert fired: cpu(api) > 90% for 10s (cpu(api) = 97.0%)`. */
export function alertFired(monitor: ResultMonitor, alert: AlertOutcome): string {
  return `${alert.level} alert fired: ${alertReading(monitor, alert)}`;
}

/** `fired 2 times, first at 12s, still firing at the end, aborted the run`, or `never fired`. */
export function alertStatus(alert: AlertOutcome): string {
  if (alert.fired === 0) return 'never fired';
  const parts = [alert.fired === 1 ? 'fired once' : `fired ${count(alert.fired)} times`];
  if (alert.firstFiredMs !== undefined) parts.push(`first at ${runTime(alert.firstFiredMs)}`);
  if (alert.firingAtEnd) parts.push('still firing at the end');
  if (alert.aborted) parts.push('aborted the run');
  return parts.join(', ');
}

/** `api grows 120MB/min (limit 10MB/min)`: a leak's peak growth against its limit. */
export function leakGrowth(leak: LeakOutcome): string {
  const peak = leak.peakGrowthBytesPerMin === null ? 'no growth measured' : growth(leak.peakGrowthBytesPerMin);
  return `${leak.process} grows ${peak} (limit ${growth(leak.maxGrowthBytesPerMin)})`;
}

/** Whether the leak rule judged the process: a note says why it did not. */
export function leakJudged(leak: LeakOutcome): boolean {
  return leak.note === undefined;
}

/** `leaked: peak 120MB/min (limit 10MB/min)`, `no leak: peak …`, or `not judged: NOTE`. */
export function leakStatus(leak: LeakOutcome): string {
  if (!leakJudged(leak)) return `not judged: ${leak.note}`;
  const peak = leak.peakGrowthBytesPerMin === null ? '-' : growth(leak.peakGrowthBytesPerMin);
  return `${leak.leaked ? 'leaked' : 'no leak'}: peak ${peak} (limit ${growth(leak.maxGrowthBytesPerMin)})`;
}

/** `grew from 1m2s, seen at 1m40s, ended at 3m (peak 120MB/min)`: each leak episode. */
export function leakEpisodes(leak: LeakOutcome): string[] {
  return leak.episodes.map((e) => `grew from ${runTime(e.sinceMs)}, seen at ${runTime(e.detectedMs)}, `
    + `${e.endMs === undefined ? 'still growing at the end' : `ended at ${runTime(e.endMs)}`} `
    + `(peak ${growth(e.peakBytesPerMin)})`);
}

/** `3 sent · 1 failed · 0 dropped`: what `notify:` delivered; undefined without notify. */
export function notifyLine(monitor: ResultMonitor): string | undefined {
  const n = monitor.notify;
  if (n === undefined) return undefined;
  return `${count(n.sent)} sent · ${count(n.failed)} failed · ${count(n.dropped)} dropped`;
}

/** `+12s (21:03:56 UTC)`: when an event happened, into the run and on the clock. */
export function eventTime(e: ResultEvent): string {
  const clock = /T(\d\d:\d\d:\d\d)/.exec(e.time)?.[1];
  return `+${runTime(e.elapsedMs)}${clock === undefined ? '' : ` (${clock} UTC)`}`;
}

/** An alert's or a leak's outcome mark: `✗` fails the run, `!` warns, `✓` quiet, `–` not judged. */
function markOf(x: AlertOutcome | LeakOutcome): string {
  if ('process' in x && !leakJudged(x)) return '–';
  const hit = 'fired' in x ? x.fired > 0 : x.leaked;
  return !hit ? '✓' : x.level === 'critical' ? '✗' : '!';
}

/**
 * The Markdown and HTML reports' section on `monitor:`: its alerts, leak verdicts and events, and what notify
 * delivered; `maxEvents` bounds the events' table (a line under it counts the rest). Undefined without `monitor:`
 * data.
 */
export function monitorSection(monitor: ResultMonitor | undefined, maxEvents: number): ReportSection | undefined {
  if (monitor === undefined) return undefined;
  const notes: string[] = [];
  const tables: ReportTable[] = [];
  if (monitor.alerts.length > 0) {
    tables.push({
      caption: 'Alerts',
      columns: ['', 'level', 'alert', 'outcome', 'description'],
      rows: monitor.alerts.map((a) => [markOf(a), a.level, a.source, alertStatus(a), a.description ?? '']),
    });
  }
  if (monitor.leaks.length > 0) {
    tables.push({
      caption: 'Memory leaks',
      columns: ['', 'level', 'process', 'verdict', 'episodes'],
      rows: monitor.leaks.map((l) => [markOf(l), l.level, l.process, leakStatus(l), leakEpisodes(l).join('; ')]),
    });
  }
  if (monitor.events.length > 0) {
    tables.push({
      caption: 'Events',
      columns: ['time', 'level', 'state', 'message'],
      rows: monitor.events.slice(0, maxEvents).map((e) => [eventTime(e), e.level, e.state, e.message]),
    });
  } else notes.push('No alert fired and no leak was seen: no event.');
  const left = Math.max(0, monitor.events.length - maxEvents) + (monitor.eventsDropped ?? 0);
  if (left > 0) notes.push(`${count(left)} more events are left out of the table.`);
  const notified = notifyLine(monitor);
  if (notified !== undefined) {
    const errors = monitor.notify?.errors ?? [];
    notes.push(`Notify: ${notified}${errors.length > 0 ? `; ${errors.join('; ')}` : ''}.`);
  }
  return { title: 'Monitoring', notes, tables };
}
