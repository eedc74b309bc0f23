// The perfy command line as users run it: exit codes, output formats, every shipped scenario, README commands.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { locateJmeter } from '../../engine/steps/jmeter/locate.js';
import { PACKAGE_ROOT, SCHEMA_PATH } from '../../engine/paths.js';
import { perfy, perfyAsync, problemHeads, tempDir, type CliResult } from '../helpers.js';

const scenarios = readdirSync(join(PACKAGE_ROOT, 'scenarios'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `scenarios/${f}`);

describe('perfy validate', () => {
  it('accepts every shipped scenario, with exit code 0 (warning only that JMeter is missing, if it is)', async () => {
    assert.ok(scenarios.length >= 3, 'scenarios/ holds the examples');
    const result = perfy(['validate', ...scenarios]);
    assert.equal(result.status, 0, result.stderr);
    for (const file of scenarios) assert.match(result.stdout, new RegExp(`✓ ${file} is valid`));
    const jmeterFound = await locateJmeter().then(() => true, () => false);
    if (jmeterFound) {
      assert.equal(result.stderr, '');
      return;
    }
    // The one warning there may be: JMeter missing, said at the jmeter step of jmeter_plan.yaml, nothing else.
    const warning = /^scenarios\/jmeter_plan\.yaml:\d+:\d+ {2}W_JMETER_MISSING {2}.*\n {4}hint: .*\n$/;
    assert.match(result.stderr, warning);
    assert.match(result.stdout, /✓ scenarios\/jmeter_plan\.yaml is valid \(1 warning\)/);
  });

  it('prints the plan with --plan: stages with planned iterations and the flow tree', () => {
    const result = perfy(['validate', '--plan', 'scenarios/spike.yaml']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /7,350 planned iterations/);
    assert.match(result.stdout, /0s–20s {2}rate {2}50\/s {2}\(1,000 iterations\)/);
    assert.match(result.stdout, /└─ http "list debates" {2}GET \/debates/);
  });

  it('reports every problem as file:line:col  CODE with a hint, and exits 2', () => {
    const t = tempDir({
      'bad.yaml':
        'name: bad\nload:\n  - { rate: 5/s, duration: 0s }\nflow:\n  - http: { get: /x }\n    expct: "status == 200"\n',
    });
    after(t.cleanup);
    const result = perfy(['validate', t.path('bad.yaml')]);
    assert.equal(result.status, 2);
    // The schema problem and those of the part the schema accepts, in one pass.
    assert.deepEqual(problemHeads(result.stderr), [
      { line: 3, col: 28, code: 'E_DURATION_ZERO' },
      { line: 5, col: 18, code: 'E_TARGET_MISSING' },
      { line: 6, col: 5, code: 'E_UNKNOWN_KEY' },
    ]);
    assert.match(result.stderr, /hint: did you mean "expect"\?/);
    assert.doesNotMatch(result.stderr, /\n\s+at .+\.js:\d+/, 'no stack trace');
  });

  it('keeps checking the other files after an invalid one, and exits 2', () => {
    const result = perfy(['validate', 'scenarios/does-not-exist.yaml', 'scenarios/spike.yaml']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /E_FILE_NOT_FOUND/);
    assert.match(result.stdout, /✓ scenarios\/spike.yaml is valid/);
  });

  it('redacts values taken from the environment in the plan and in problems', () => {
    const t = tempDir({
      'secret.yaml':
        'name: s\ntarget: "http://${env.PERFY_TEST_SECRET_HOST}"\nload: [ { rate: 1/s, duration: 1s } ]\nflow:\n  - http: { get: "/x?key=${env.PERFY_TEST_SECRET_KEY}" }\n',
      'bad.yaml':
        'name: s\nload: [ { rate: 1/s, duration: 1s } ]\nflow:\n  - http: { get: "${env.PERFY_TEST_SECRET_KEY}" }\n',
    });
    after(t.cleanup);
    const env = { PERFY_TEST_SECRET_HOST: 'internal.example.test', PERFY_TEST_SECRET_KEY: 'k-9f8e7d' };
    const plan = perfy(['validate', '--plan', t.path('secret.yaml')], { env });
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /GET \/x\?key=\*\*\*/);
    assert.doesNotMatch(plan.stdout, /internal\.example\.test|k-9f8e7d/);
    const bad = perfy(['validate', '--json', t.path('bad.yaml')], { env });
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /E_TARGET_MISSING/);
    assert.doesNotMatch(bad.stdout, /k-9f8e7d/);
  });

  it('warns, with a position and a code, of a leak rule the run is too short for; every report format is valid', () => {
    const head = 'target: http://127.0.0.1:9\nload: [ { rate: 1/s, duration: 1s } ]\nflow:\n  - http: { get: /x }\n';
    const t = tempDir({
      'w.yaml': `name: w\n${head}monitor:\n  processes: [self]\n  leak: { max_growth: 10MB/min }\n` +
        'report: [console, html, { format: junit, path: j.xml }]\n',
      'p.yaml': `name: p\n${head}monitor:\n  processes: [self]\nthresholds: [ "rss(self) < 512MB" ]\n`,
      'n.yaml': `name: n\n${head}thresholds: [ "rss(self) < 512MB" ]\n`,
    });
    after(t.cleanup);
    const warned = perfy(['validate', t.path('w.yaml')]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(warned.stdout, /is valid \(1 warning\)/);
    assert.deepEqual(problemHeads(warned.stderr), [{ line: 8, col: 3, code: 'W_MONITOR_LEAK' }]);
    const json = JSON.parse(perfy(['validate', '--json', t.path('w.yaml')]).stdout) as {
      valid: boolean;
      warnings: { code: string }[];
    }[];
    assert.deepEqual(
      json.map((r) => [r.valid, r.warnings.map((w) => w.code)]),
      [[true, ['W_MONITOR_LEAK']]],
    );
    // Processes are sampled: a threshold on their metrics is valid, and says nothing.
    const processThreshold = perfy(['validate', t.path('p.yaml')]);
    assert.equal(processThreshold.status, 0, processThreshold.stderr);
    assert.equal(processThreshold.stderr, '');
    // Without `monitor:` it could only fail with "no samples": refused at validation instead.
    const unwatched = perfy(['validate', t.path('n.yaml')]);
    assert.equal(unwatched.status, 2);
    assert.deepEqual(problemHeads(unwatched.stderr).map((p) => p.code), ['E_THRESHOLD_METRIC']);
    assert.match(unwatched.stderr, /add `monitor: \{ processes: \[self, SERVICE\] \}`/);
  });

  it('prints problems as JSON with --json', () => {
    const result = perfy(['validate', '--json', 'scenarios', 'scenarios/spike.yaml']);
    assert.equal(result.status, 2);
    const reports = JSON.parse(result.stdout) as { file: string; valid: boolean; problems: { code: string }[] }[];
    assert.deepEqual(reports.map((r) => [r.file, r.valid, r.problems.map((p) => p.code)]), [
      ['scenarios', false, ['E_FILE_IS_DIRECTORY']],
      ['scenarios/spike.yaml', true, []],
    ]);
  });
});

describe('perfy validate, run and merge read regular files of a bounded size only', () => {
  // Each command runs in a child with a short timeout: a regression that opens a FIFO would wait for a writer
  // forever, and one that reads /dev/zero would never reach its end.
  const quick = { timeoutMs: 10_000 };
  const refused = (result: CliResult, code: string): void => {
    assert.equal(result.status, 2, `exit ${result.status} (null: killed by the timeout)\n${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^${code} {2}`, 'm'));
  };

  it('refuses a named pipe (validate, run), /dev/zero, a socket: E_FILE_NOT_REGULAR, without waiting', async (t) => {
    if (process.platform === 'win32') return t.skip('no mkfifo on Windows');
    const dir = tempDir({ 'users.csv': 'id\n1\n' });
    after(dir.cleanup);
    execFileSync('mkfifo', [dir.path('pipe.yaml')]);
    refused(perfy(['validate', dir.path('pipe.yaml')], quick), 'E_FILE_NOT_REGULAR');
    refused(perfy(['run', dir.path('pipe.yaml')], quick), 'E_FILE_NOT_REGULAR');
    refused(perfy(['validate', '/dev/zero'], quick), 'E_FILE_NOT_REGULAR');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(dir.path('socket.yaml'), resolve));
    try {
      refused(await perfyAsync(['validate', dir.path('socket.yaml')]), 'E_FILE_NOT_REGULAR');
    } finally {
      server.close();
    }
  });

  it('refuses a data file that is a named pipe with E_DATA_INVALID at its position, without waiting', (t) => {
    if (process.platform === 'win32') return t.skip('no mkfifo on Windows');
    const dir = tempDir({
      's.yaml': 'name: s\ntarget: http://127.0.0.1:9\ndata:\n  users: { csv: users.csv }\n' +
        'load: [ { rate: 1/s, duration: 1s } ]\nflow:\n  - http: { get: "/u/{{data.users.id}}" }\n',
    });
    after(dir.cleanup);
    execFileSync('mkfifo', [dir.path('users.csv')]);
    const result = perfy(['validate', dir.path('s.yaml')], quick);
    assert.equal(result.status, 2, `exit ${result.status} (null: killed by the timeout)\n${result.stderr}`);
    assert.deepEqual(problemHeads(result.stderr), [{ line: 4, col: 17, code: 'E_DATA_INVALID' }]);
  });

  it('refuses a scenario over 1 MB: E_FILE_TOO_LARGE; --max-scenario-size, PERFY_MAX_SCENARIO_SIZE raise it', () => {
    const dir = tempDir();
    after(dir.cleanup);
    const body = 'name: big\ntarget: http://127.0.0.1:9\nload: [ { rate: 1/s, duration: 1s } ]\n'
      + 'flow:\n  - http: { get: /x }\n';
    writeFileSync(dir.path('big.yaml'), body + `# ${'x'.repeat(1_100_000)}\n`);
    refused(perfy(['validate', dir.path('big.yaml')], quick), 'E_FILE_TOO_LARGE');
    refused(perfy(['run', dir.path('big.yaml')], quick), 'E_FILE_TOO_LARGE');
    refused(perfy(['merge', '--scenario', dir.path('big.yaml'), dir.path('result.json')], quick), 'E_FILE_TOO_LARGE');
    const raised = perfy(['validate', '--max-scenario-size', '2MB', dir.path('big.yaml')], quick);
    assert.equal(raised.status, 0, raised.stderr);
    const fromEnv = perfy(['validate', dir.path('big.yaml')], { ...quick, env: { PERFY_MAX_SCENARIO_SIZE: '1.2MB' } });
    assert.equal(fromEnv.status, 0, fromEnv.stderr);
    // The flag wins over the environment, both ways.
    const spike = ['validate', '--max-scenario-size', '500B', 'scenarios/spike.yaml'];
    refused(perfy(spike, { ...quick, env: { PERFY_MAX_SCENARIO_SIZE: '1MB' } }), 'E_FILE_TOO_LARGE');
    refused(perfy(['validate', '--max-scenario-size', '5', 'scenarios/spike.yaml'], quick), 'E_USAGE');
    const lots = { ...quick, env: { PERFY_MAX_SCENARIO_SIZE: 'lots' } };
    refused(perfy(['validate', 'scenarios/spike.yaml'], lots), 'E_USAGE');
  });
});

describe('perfy usage', () => {
  it('--help lists the commands and exits 0', () => {
    const result = perfy(['--help']);
    assert.equal(result.status, 0);
    for (const command of ['validate', 'schema', 'init']) assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
  });

  it('--version prints package.json version', () => {
    const result = perfy(['--version']);
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout.trim(), version);
    assert.equal(result.status, 0);
  });

  for (const args of [['frobnicate'], ['validate'], ['validate', '--nope', 'x.yaml'], ['init']]) {
    it(`\`perfy ${args.join(' ')}\` is E_USAGE with exit code 2`, () => {
      const result = perfy(args);
      assert.equal(result.status, 2);
      assert.match(result.stderr, /^E_USAGE {2}/m);
      assert.match(result.stderr, /hint: /);
    });
  }
});

describe('perfy schema', () => {
  it('prints the schema file, which is valid JSON of draft 2020-12', () => {
    const result = perfy(['schema']);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, readFileSync(SCHEMA_PATH, 'utf8'));
    const schema = JSON.parse(result.stdout) as { $schema: string };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  });
});

describe('perfy init', () => {
  const t = tempDir();
  after(t.cleanup);

  it('writes a starter scenario with the schema modeline that validates as it is', () => {
    const result = perfy(['init', 'checkout_flow', '--dir', t.dir]);
    assert.equal(result.status, 0, result.stderr);
    const text = readFileSync(t.path('checkout_flow.yaml'), 'utf8');
    const modeline = /^# yaml-language-server: \$schema=(.+)$/m.exec(text);
    assert.ok(modeline, 'modeline present');
    assert.equal(
      readFileSync(join(t.dir, modeline[1]!), 'utf8'),
      readFileSync(SCHEMA_PATH, 'utf8'),
      'the modeline path reaches the schema',
    );
    assert.match(text, /^name: checkout_flow$/m);
    const validated = perfy(['validate', t.path('checkout_flow.yaml')]);
    assert.equal(validated.status, 0, validated.stderr);
    assert.equal(validated.stderr, '', 'the starter asks for nothing this version does not do: no warnings');
  });

  it('refuses to overwrite without --force, and overwrites with it', () => {
    assert.equal(perfy(['init', 'checkout_flow', '--dir', t.dir]).status, 2);
    assert.equal(perfy(['init', 'checkout_flow', '--dir', t.dir, '--force']).status, 0);
  });

  it('rejects an invalid name', () => {
    const result = perfy(['init', 'no spaces', '--dir', t.dir]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /E_USAGE/);
  });
});

describe('README', () => {
  it('every `npx perfy` command of the quick start runs and succeeds', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/npx perfy ([^`#\n&]+?)\s*(?:#|`|\n|$)/g)].map((m) => m[1]!.trim());
    const runnable = commands.filter((c) => !c.includes('my_scenario'));
    assert.ok(runnable.some((c) => c.startsWith('run ')), 'README shows how to run a scenario');
    const out = tempDir();
    after(out.cleanup);
    // What a command writes (--out) goes to a temporary folder, and a later command reads it from there.
    const written = new Set<string>();
    for (const command of runnable) {
      let args = command.split(/\s+/).flatMap((a) => (a === 'scenarios/*.yaml' ? scenarios : [a]));
      // Full-length runs are CI's job (.ci/run runs the quick start as written); here they run 20 times faster.
      if (args[0] === 'run' && !args.includes('--time-scale')) args = [...args, '--time-scale', '20'];
      args = args.map((a, i) => {
        if (args[i - 1] === '--out') written.add(a.split('/')[0]!);
        return args[i - 1] === '--out' || written.has(a.split('/')[0]!) ? out.path(a) : a;
      });
      const result = perfy([...args, ...(args[0] === 'run' ? ['--quiet'] : [])]);
      assert.equal(result.status, 0, `npx perfy ${command}: ${result.stderr}${result.stdout}`);
    }
  });

  it('the README scenario excerpt is a valid scenario once completed with its variable', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const excerpt = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(excerpt);
    const t = tempDir({
      'readme.yaml': `${excerpt.replace('../schema', join(PACKAGE_ROOT, 'schema'))}variables: { topic: [a, b] }\n`,
    });
    after(t.cleanup);
    const result = perfy(['validate', t.path('readme.yaml')]);
    assert.equal(result.status, 0, result.stderr);
  });
});
