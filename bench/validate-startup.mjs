// How long `perfy validate` takes to start and answer, and which of perfy's modules it loads: the check that
// validating a scenario loads no step runner (HTTP client, SQL pool, JMeter launcher).
// Usage: node bench/validate-startup.mjs [ROOT] (ROOT: a perfy checkout, built; default: this one).
// Env: BENCH_REPEATS (30), BENCH_SCENARIO (scenarios/morning_peak.yaml).
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const repeats = Number(process.env.BENCH_REPEATS ?? 30);
const scenario = join(root, process.env.BENCH_SCENARIO ?? 'scenarios/morning_peak.yaml');
const perfy = join(root, 'bin/perfy');

// A module hook that prints every file: URL perfy's process loads, one per line, to stderr.
const dir = mkdtempSync(join(tmpdir(), 'perfy-startup-'));
const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  'export async function load(url, context, next) { ' +
    "if (url.startsWith('file:')) process._rawDebug('loaded ' + url); return next(url, context); }\n",
);
const register = join(dir, 'register.mjs');
writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);

const listed = spawnSync(process.execPath, ['--import', register, perfy, 'validate', scenario], { encoding: 'utf8' });
if (listed.status !== 0) throw new Error(`perfy validate failed (${listed.status}): ${listed.stderr}`);
const modules = listed.stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice('loaded '.length))
  .filter((u) => u.includes('/dist/engine/')).map((u) => u.slice(u.indexOf('/dist/engine/') + '/dist/engine/'.length));
const runtime = modules.filter((m) => /^(executors|steps\/[^/]+\/(?!index|schema|search|summary))|^run\//.test(m));

const times = [];
for (let i = 0; i < repeats; i++) {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [perfy, 'validate', scenario], { encoding: 'utf8' });
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (run.status !== 0) throw new Error(`perfy validate failed (${run.status}): ${run.stderr}`);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  root,
  medianMs: Math.round(median * 10) / 10,
  minMs: Math.round(times[0] * 10) / 10,
  engineModules: modules.length,
  runtimeModules: runtime,
}));
