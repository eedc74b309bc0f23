// Finding, starting, stopping and diagnosing a real Apache JMeter (Debian's 2.13 in CI, through perfy's
// launcher) against a real HTTP server on port 0. Without JMeter the tests skip with a printed reason, except
// in CI (PERFY_REQUIRE_ALL=1), where they fail.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PerfyError } from '../../../../engine/errors.js';
import {
  diagnoseJmeter, RESULT_PROPERTIES, startJmeter, type JmeterRunHandle,
} from '../../../../engine/steps/jmeter/launch.js';
import {
  findJava, jmeterClassPath, jmeterVersion, LAUNCHER_CLASS, locateJmeter, manifestAttribute, prepareLauncher,
  readZipEntry, type JmeterInstall,
} from '../../../../engine/steps/jmeter/locate.js';
import { PACKAGE_ROOT } from '../../../../engine/paths.js';
import { perfyAsync, startServer, tempDir } from '../../../helpers.js';
import { exitForProblems } from '../../../../engine/exit.js';

const PLAN = join(PACKAGE_ROOT, 'fixtures', 'jmeter', 'two-requests.jmx');

/** JMeter as perfy finds it; undefined (with the reason printed) when there is none and CI does not require it. */
async function jmeterOrSkip(): Promise<JmeterInstall | undefined> {
  try {
    return await locateJmeter();
  } catch (error) {
    if (process.env['PERFY_REQUIRE_ALL']) throw error;
    console.log(`# skipping the JMeter tests: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * The CSV rows of a results file: the header's columns and the records (no field of the fixture holds a comma or
 * newline).
 */
function readJtl(path: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0]!.split(',');
  // failureMessage is quoted when it has a comma; the fixture's messages do, so split outside quotes.
  const split = (line: string): string[] => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1]!.replace(/^"|"$/g, '').replace(/""/g, '"')).slice(0, header.length);
  return { header, rows: lines.slice(1).map((line) => Object.fromEntries(split(line).map((v, i) => [header[i]!, v]))) };
}

describe('JMeter: locate', () => {
  it('a step path that does not exist is E_JMETER_MISSING', async () => {
    await assert.rejects(
      locateJmeter('/nonexistent/perfy/jmeter'),
      (error: unknown) => error instanceof PerfyError && error.code === 'E_JMETER_MISSING',
    );
  });

  it('a directory that is not a JMeter home is E_JMETER_MISSING, and so is a bogus JMETER_HOME', async () => {
    const dir = tempDir({ 'jmeter': '#!/bin/sh\n' });
    const saved = process.env['JMETER_HOME'];
    try {
      await assert.rejects(
        locateJmeter(dir.dir),
        (error: unknown) =>
          error instanceof PerfyError && error.code === 'E_JMETER_MISSING' && exitForProblems(error.problems) === 3,
      );
      await assert.rejects(
        locateJmeter(dir.path('jmeter')),
        (error: unknown) => error instanceof PerfyError && error.code === 'E_JMETER_MISSING',
      );
      process.env['JMETER_HOME'] = dir.path('no-such-dir');
      await assert.rejects(
        locateJmeter(),
        (error: unknown) => error instanceof PerfyError && error.code === 'E_JMETER_MISSING',
      );
    } finally {
      if (saved === undefined) delete process.env['JMETER_HOME'];
      else process.env['JMETER_HOME'] = saved;
      dir.cleanup();
    }
  });

  it('reads manifest attributes across continuation lines', () => {
    const manifest = 'Manifest-Version: 1.0\r\nClass-Path: /usr/share/java/a.jar /usr/sh\r\n are/java/b.jar\r\n' +
      'Implementation-Version: 2.13.19691222\r\n\r\n';
    assert.equal(manifestAttribute(manifest, 'class-path'), '/usr/share/java/a.jar /usr/share/java/b.jar');
    assert.equal(manifestAttribute(manifest, 'Implementation-Version'), '2.13.19691222');
    assert.equal(manifestAttribute(manifest, 'Main-Class'), undefined);
  });
});

describe('JMeter: run a plan', () => {
  let install: JmeterInstall | undefined;
  let server: Awaited<ReturnType<typeof startServer>>;
  let requests: { url: string; at: number }[] = [];
  const work = tempDir();

  before(async () => {
    install = await jmeterOrSkip();
    let hello = 0;
    server = await startServer((req, res) => {
      requests.push({ url: req.url ?? '', at: Date.now() });
      if (req.url === '/hello') {
        // Every third answer fails the plan's Response Assertion ("hello" in the body).
        res.end(++hello % 3 === 0 ? 'goodbye' : 'hello world');
      } else {
        res.statusCode = 404;
        res.end('not here');
      }
    });
  });
  after(async () => {
    await server.close();
    work.cleanup();
  });

  const run = (name: string, plan: string, properties: Record<string, string>, use = install!): JmeterRunHandle =>
    startJmeter(use, {
      plan,
      properties: { host: '127.0.0.1', port: String(server.port), ...properties },
      dir: join(work.dir, name),
    });

  it('finds JMeter and reads its version from its jar', { timeout: 60_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    assert.match(install.version, /^\d+\.\d+(\.\d+)?$/);
    assert.equal(install.version, await jmeterVersion(install.home));
    assert.equal(
      install.launcher,
      install.major < 3 || (install.major === 3 && Number(install.version.split('.')[1]) < 3),
    );
    if (install.launcher) {
      assert.ok(install.command.includes(`-Djmeter.home=${install.home}`));
      const manifest = await readZipEntry(join(install.home, 'bin', 'ApacheJMeter.jar'), 'META-INF/MANIFEST.MF');
      assert.equal(manifestAttribute(manifest!.toString('utf8'), 'Main-Class'), 'org.apache.jmeter.NewDriver');
    }
  });

  it('runs the plan: JMeter exits, results.jtl has a header and one row per request the server saw, jmeter.log ' +
      'exists', { timeout: 120_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    requests = [];
    const spawned = Date.now();
    const handle = run('ok', PLAN, { users: '2', loops: '3' });
    const exit = await handle.exited;
    assert.equal(exit.signal, null);
    const firstRequestMs = requests[0]!.at - spawned;
    const launcher = install.launcher ? ` (launcher, ${install.launcherMode})` : '';
    console.log(`# JMeter ${install.version}${launcher}: ${firstRequestMs} ms from spawn to the first request, ` +
      `${Date.now() - spawned} ms in all for 12 samples`);

    assert.ok(existsSync(handle.log) && statSync(handle.log).size > 0);
    assert.ok(existsSync(handle.output));
    const { header, rows } = readJtl(handle.jtl);
    const columns = [
      'timeStamp', 'elapsed', 'label', 'responseCode', 'success', 'failureMessage', 'bytes', 'grpThreads', 'allThreads',
      'URL', 'Latency', 'Connect',
    ];
    for (const column of columns) {
      assert.ok(header.includes(column), `the header has ${column}: ${header.join(',')}`);
    }
    assert.equal(requests.length, 2 * 3 * 2);
    assert.equal(rows.length, requests.length);
    assert.equal(
      rows.filter((r) => r['label'] === 'missing' && r['responseCode'] === '404' && r['success'] === 'false').length,
      6,
    );
    const goodbyes = requests.filter((r) => r.url === '/hello').length;
    const failedAssertions = rows.filter((r) => r['label'] === 'hello' && r['success'] === 'false');
    assert.equal(failedAssertions.length, Math.floor(goodbyes / 3));
    for (const row of failedAssertions) assert.notEqual(row['failureMessage'], '', 'the assertion\'s message is saved');
    // sampleresult.timestamp.start=true: a sample's timeStamp is when it started, so the first is no later
    // than the server saw the first request (the first sample takes tens of ms: its end would be later).
    assert.ok(Math.min(...rows.map((r) => Number(r['timeStamp']))) <= requests[0]!.at);
    assert.equal(await diagnoseJmeter(handle, rows.length), undefined);
  });

  it('deletes old results first: a second run into the same directory has one header and its own ' +
      'rows', { timeout: 120_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    requests = [];
    await run('again', PLAN, { users: '1', loops: '1' }).exited;
    const handle = run('again', PLAN, { users: '1', loops: '2' });
    await handle.exited;
    const { rows } = readJtl(handle.jtl);
    assert.equal(rows.length, 4);
    assert.equal(requests.length, 2 + 4);
  });

  it('stop() ends a long run through JMeter\'s own shutdown message and keeps every ' +
      'sample', { timeout: 120_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    requests = [];
    const abort = new AbortController();
    const handle = startJmeter(install, {
      plan: PLAN,
      properties: { port: String(server.port), users: '2', loops: '100000000' },
      dir: join(work.dir, 'stopped'),
      signal: abort.signal,
    });
    while (requests.length < 200) await new Promise((r) => setTimeout(r, 20));
    const stopping = Date.now();
    abort.abort();
    const exit = await handle.exited;
    const stopMs = Date.now() - stopping;
    await handle.stop(); // a second stop is harmless
    assert.equal(exit.signal, null, 'JMeter ended by itself, not by a signal');
    assert.ok(stopMs < 5000, `stopped in ${stopMs} ms`);
    // Every request the server saw has its row (a signal would lose the rows JMeter had not written yet). Should
    // Shutdown be too slow, StopTestNow interrupts at most one sample per thread: a row without an HTTP code.
    const { rows } = readJtl(handle.jtl);
    const interrupted = rows.filter((r) => !/^\d{3}$/.test(r['responseCode'] ?? ''));
    assert.ok(
      rows.length - interrupted.length <= requests.length && requests.length <= rows.length,
      `${rows.length} rows, ${interrupted.length} interrupted, ${requests.length} requests`,
    );
    assert.ok(interrupted.length <= 2, JSON.stringify(interrupted));
  });

  it('a missing plan is explained with JMeter\'s own line', { timeout: 60_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    const handle = run('missing', join(work.dir, 'no-such-plan.jmx'), {});
    await handle.exited;
    const diagnosis = await diagnoseJmeter(handle, 0);
    assert.equal(diagnosis?.reason, 'plan-missing');
    assert.ok(diagnosis.lines.some((l) => l.includes('no-such-plan.jmx')), diagnosis.lines.join('\n'));
  });

  it('a plan that is not XML, not a plan, or has an element JMeter lacks is explained with the log\'s ' +
      'lines', { timeout: 120_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    const plans = tempDir({
      'not-xml.jmx': 'this is not a JMeter plan\n',
      'not-a-plan.jmx': '<?xml version="1.0"?>\n<project><target name="x"/></project>\n',
      'unknown-element.jmx': readFileSync(PLAN, 'utf8').replaceAll('HTTPSamplerProxy', 'NoSuchSampler'),
      'truncated.jmx': readFileSync(PLAN, 'utf8').slice(0, 3000),
    });
    try {
      const expected = {
        'not-xml': 'not-xml',
        'not-a-plan': 'not-a-plan',
        'unknown-element': 'unknown-element',
        truncated: 'plan-invalid',
      } as const;
      const handles = Object.keys(expected)
        .map((name) => [name, run(`broken-${name}`, plans.path(`${name}.jmx`), {})] as const);
      for (const [name, handle] of handles) {
        await handle.exited;
        const diagnosis = await diagnoseJmeter(handle, 0);
        assert.equal(
          diagnosis?.reason,
          expected[name as keyof typeof expected],
          `${name}: ${JSON.stringify(diagnosis)}`,
        );
        assert.ok(diagnosis.lines.some((l) => /Error in NonGUIDriver|An error occurred|Problem loading XML/.test(l)), `${name}: ${diagnosis.lines.join('\n')}`);
        assert.ok(diagnosis.hint);
      }
    } finally {
      plans.cleanup();
    }
  });

  it('runs the launcher in Java\'s source mode when there is no javac', { timeout: 120_000 }, async (t) => {
    if (install === undefined || !install.launcher) {
      return t.skip(install === undefined ? 'no JMeter' : 'this JMeter needs no launcher');
    }
    const java = await findJava();
    assert.ok(java);
    const launcher = await prepareLauncher({ ...java, javac: undefined });
    assert.equal(launcher.mode, 'source');
    assert.ok(launcher.mode === 'source');
    const command = [
      java.java,
      '-cp',
      (await jmeterClassPath(install.home)).join(delimiter),
      `-Djmeter.home=${install.home}`,
      launcher.source,
    ];
    requests = [];
    const handle = run(
      'source-mode',
      PLAN,
      { users: '1', loops: '2' },
      { ...install, command, launcherMode: 'source' },
    );
    await handle.exited;
    assert.equal(readJtl(handle.jtl).rows.length, 4);
    assert.equal(requests.length, 4);
  });

  it('compiles the launcher once into the cache and reuses it', { timeout: 120_000 }, async (t) => {
    const java = await findJava();
    if (java?.javac === undefined) {
      if (process.env['PERFY_REQUIRE_ALL']) assert.fail('no javac: CI installs a JDK (default-jdk-headless)');
      return t.skip('no javac');
    }
    const cache = tempDir();
    try {
      const first = await prepareLauncher(java, { cacheDir: cache.dir });
      assert.equal(first.mode, 'compiled');
      assert.ok(first.mode === 'compiled');
      const classFile = join(first.classDir, `${LAUNCHER_CLASS}.class`);
      const compiledAt = statSync(classFile).mtimeMs;
      const second = await prepareLauncher(java, { cacheDir: cache.dir });
      assert.deepEqual(second, first);
      assert.equal(statSync(classFile).mtimeMs, compiledAt);
    } finally {
      cache.cleanup();
    }
  });

  it('forces CSV results whatever the plan\'s properties say', { timeout: 60_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    requests = [];
    const handle = run('forced', PLAN, {
      users: '1',
      loops: '1',
      'jmeter.save.saveservice.output_format': 'xml',
      'jmeter.save.saveservice.print_field_names': 'false',
    });
    await handle.exited;
    assert.equal(RESULT_PROPERTIES['jmeter.save.saveservice.output_format'], 'csv');
    const { header, rows } = readJtl(handle.jtl);
    assert.equal(header[0], 'timeStamp');
    assert.equal(rows.length, 2);
  });

  it('`perfy doctor` shows the JMeter version, as text and as JSON', { timeout: 60_000 }, async (t) => {
    if (install === undefined) return t.skip('no JMeter');
    const text = await perfyAsync(['doctor']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`jmeter +${install.version.replaceAll('.', '\\.')} at ${install.home}`));
    const json = await perfyAsync(['doctor', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      jmeter: { found: boolean; version: string; launcher: boolean };
      node: { version: string };
    };
    assert.equal(report.jmeter.found, true);
    assert.equal(report.jmeter.version, install.version);
    assert.equal(report.jmeter.launcher, install.launcher);
    assert.equal(report.node.version, process.version);
    // Chromium, for PDF reports: found as the PDF reporter would find it, and said when it is not there.
    const chromium = (JSON.parse(json.stdout) as { chromium: { found: boolean } }).chromium;
    const { findChromium } = await import('../../../../engine/report/chromium.js');
    assert.equal(chromium.found, findChromium() !== undefined);
    const none = await perfyAsync(['doctor'], { env: { PERFY_CHROMIUM: '/nonexistent/chromium' } });
    assert.match(none.stdout, /^✗ chromium  no Chromium: PDF reports cannot be written\n {4}hint: install Chromium/m);
  });

  it('`perfy doctor` reports a JMeter it cannot find and still exits 0', { timeout: 60_000 }, async () => {
    const result = await perfyAsync(['doctor', '--json', '--jmeter', '/nonexistent/perfy/jmeter']);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { jmeter: { found: boolean; code: string } };
    assert.deepEqual([report.jmeter.found, report.jmeter.code], [false, 'E_JMETER_MISSING']);
  });
});
