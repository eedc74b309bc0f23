// One `perfy run` in this process (the CLI's own main), then this process's CPU and peak memory, measured as
// measure-autocannon.mjs measures autocannon. Usage: node measure-perfy.mjs SCENARIO OUT_DIR [perfy run flags…]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [scenario, out, ...flags] = process.argv.slice(2);
const { main } = await import(new URL('../dist/engine/cli/index.js', import.meta.url).href);
const quiet = { out: () => {}, err: (text) => process.stderr.write(text) };
const exitCode = await main(['run', scenario, '--quiet', '--out', out, ...flags], quiet);
const usage = process.resourceUsage();
const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
const sum = (name) => result.metrics.metrics.filter((m) => m.name === name).reduce((s, m) => s + m.sum, 0);
const workload = result.workloads[0];
process.stdout.write(`${JSON.stringify({
  exitCode,
  requests: sum('http.reqs'),
  errors: sum('step.errors'),
  dropped: sum('iterations.dropped'),
  planned: workload?.plannedIterations ?? null,
  durationMs: workload?.durationMs ?? 0,
  cpuUs: usage.userCPUTime + usage.systemCPUTime,
  maxRssKb: usage.maxRSS,
  saturated: result.saturation.saturated,
})}\n`);
