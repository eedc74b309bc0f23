// The console summary and progress line, from a Result made by a real metric store: what is set aside (warm-up,
// unexpected responses), poisson plans shown as approximate, the notes under the table, the progress wording.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { formatSummary, progressLine } from '../../../engine/report/console.js';
import { createMetricStore } from '../../../engine/metrics/store.js';
import { resultOf } from './result.js';

const plain = new Chalk({ level: 0 });

describe('formatSummary', () => {
  it('leaves out rows that say nothing new (ttfb equal to duration, connect 0 throughout) and says so', () => {
    const record = (ttfbExtra: number, connect: number) => resultOf((store) => {
      const tags = { step: 'a', expected: 'true' };
      for (let i = 1; i <= 50; i++) {
        store.handle('http.duration', 'trend', tags).record(i);
        store.handle('http.ttfb', 'trend', tags).record(i * (1 - ttfbExtra));
        store.handle('http.connect', 'trend', tags).record(i === 1 ? connect : 0);
      }
    });
    const same = formatSummary(record(0, 0), plain);
    assert.match(same, /^ {2}http\.duration +50 /m);
    assert.doesNotMatch(same, /^ {2}http\.ttfb +50 /m);
    assert.match(same, /^ {2}http\.ttfb: left out: the same as http\.duration \(each response arrived whole/m);
    assert.doesNotMatch(same, /^ {2}http\.connect +50 /m);
    assert.match(same, /^ {2}http\.connect: left out: 0 throughout \(every request went on a connection/m);
    // A ttfb 20 % below the duration, and one connect that took time: both rows carry information.
    const differ = formatSummary(record(0.2, 3), plain);
    assert.match(differ, /^ {2}http\.ttfb +50 /m);
    assert.match(differ, /^ {2}http\.connect +50 /m);
    assert.doesNotMatch(differ, /left out/);
  });

  it('marks a poisson plan as approximate, and explains the rows whose names do not say what they mean', () => {
    const result = resultOf((store) => {
      store.handle('iterations', 'counter', { workload: 'default' }).record(98);
      store.handle('http.duration_corrected', 'trend', { step: 'a', expected: 'true' }).record(12);
      store.handle('iteration.start_lag', 'trend', { workload: 'default' }).record(1);
    }, { workload: { arrivals: 'poisson' } });
    const text = formatSummary(result, plain);
    assert.match(text, /~100 planned · 98 completed/);
    assert.match(text, /^ {2}http\.duration_corrected: measured from when/m);
    assert.match(text, /^ {2}iteration\.start_lag: how late/m);
    assert.doesNotMatch(text, /engine\.lag:/, 'only the rows shown are explained');
    assert.doesNotMatch(formatSummary(resultOf(() => {}, { workload: { arrivals: 'uniform' } }), plain), /~/);
  });

  it('leaves the warm-up out of the table and the counters, and says how many iterations it had', () => {
    const result = resultOf((store) => {
      store.handle('iterations', 'counter', { workload: 'default' }).record(80);
      store.handle('iterations', 'counter', { workload: 'default', phase: 'warmup' }).record(20);
      store.handle('http.reqs', 'counter', { step: 'a' }).record(80);
      store.handle('http.reqs', 'counter', { step: 'a', phase: 'warmup' }).record(20);
      store.handle('step.duration', 'trend', { step: 'a', phase: 'warmup' }).record(900);
      store.handle('step.duration', 'trend', { step: 'a' }).record(10);
    }, { workload: { warmupMs: 2000 } });
    const text = formatSummary(result, plain);
    assert.match(text, /100 planned · 100 completed/);
    assert.match(text, /warm-up 2s: 20 of them/);
    assert.match(text, /^ {2}http\.reqs +80 +10\.0\/s$/m, '80 measured requests over the 8 s after the warm-up');
    assert.match(text, /^ {2}step\.duration\{step: a\} +1 .* 10\.0ms$/m);
  });
});

describe('formatSummary: requests sent, never sent, sent again', () => {
  it('lists failures sent or not on the errors line, and says what was not sent or sent again', () => {
    const result = resultOf((store) => {
      const tags = { step: 'a', method: 'GET' };
      store.handle('http.reqs', 'counter', { ...tags, status: '200' }).record(90);
      store.handle('http.reqs', 'counter', { ...tags, status: 'reset' }).record(4);
      store.handle('http.reqs', 'counter', { ...tags, status: 'timeout' }).record(6);
      store.handle('http.unsent', 'counter', { ...tags, status: 'timeout' }).record(30);
      store.handle('http.unsent', 'counter', { ...tags, status: 'refused' }).record(2);
      store.handle('http.retries', 'counter', { ...tags, status: 'reset' }).record(4);
    });
    const text = formatSummary(result, plain);
    assert.match(text, /^ {2}errors {2}reset: 4 · timeout: 36 · refused: 2$/m);
    assert.match(
      text,
      /^ {2}http {2}100 sent · 32 never sent \(refused: 2 · timeout: 30\) · 4 sent again after their kept-alive connection closed \(reset: 4\)$/m,
    );
    assert.match(text, /^ {2}http\.reqs +100 /m, 'http.reqs counts what was sent');
  });

  it('says nothing of it when every request was sent once', () => {
    const result = resultOf((store) => {
      store.handle('http.reqs', 'counter', { step: 'a', status: '200' }).record(10);
      store.handle('http.unsent', 'counter', { step: 'a', status: 'refused' });
    });
    const text = formatSummary(result, plain);
    assert.doesNotMatch(text, /never sent|sent again|^ {2}errors/m);
  });
});

describe('progressLine', () => {
  it('closed model: the users looping, and where a ramp is taking them', () => {
    const store = createMetricStore();
    const line = (active: number, target: number): string =>
      progressLine(
        {
          elapsedMs: 1000,
          plannedMs: 10_000,
          store,
          workloads: [
            {
              name: 'readers',
              model: 'closed',
              elapsedMs: 1000,
              durationMs: 10_000,
              target,
              active,
              started: 1,
              dropped: 0,
            },
          ],
        },
        plain,
      );
    assert.match(line(50, 50), /readers 50 users(?! →)/);
    assert.match(line(50, 49), /readers 50 users → 49/);
  });
});
