// perfy's SQL step against pgbench on one PostgreSQL, select-only (pgbench -S: one SELECT of a random account
// per transaction), the same number of clients, alternating A/B in one invocation: queries/s, CPU µs per query
// (user + sys of the generator process / queries), and perfy/pgbench ratios, as medians over the repeats.
// The server (embedded PostgreSQL, filled with `pgbench -i`) is pinned to core 0 and the generators to core 1
// where `taskset` exists. pgbench runs twice per round: its default simple protocol, and `-M extended`, the
// protocol pg (perfy's driver) speaks: one Parse/Bind/Execute with an unnamed statement per query.
// Usage: npm run bench:sql (from the root), or node bench/sql-compare.mjs after npm run build. Env:
// BENCH_SQL_SECONDS (10), BENCH_SQL_REPEATS (3), BENCH_SQL_CLIENTS (10), BENCH_SQL_SCALE (10).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const seconds = Number(process.env.BENCH_SQL_SECONDS ?? 10);
const repeats = Number(process.env.BENCH_SQL_REPEATS ?? 3);
const clients = Number(process.env.BENCH_SQL_CLIENTS ?? 10);
const scale = Number(process.env.BENCH_SQL_SCALE ?? 10);
const TARGET_RATIO = 0.7;
const pin = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0;
const pinned = (core, command, args) => (pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

for (const [name, value] of [
  ['BENCH_SQL_SECONDS', seconds],
  ['BENCH_SQL_REPEATS', repeats],
  ['BENCH_SQL_CLIENTS', clients],
  ['BENCH_SQL_SCALE', scale],
]) {
  if (!Number.isInteger(value) || value < 1)
    fail(`${name} must be a whole number of at least 1, not ${process.env[name]}`);
}
const pgbenchVersion = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
if (pgbenchVersion.status !== 0)
  fail(
    'pgbench is not installed (Debian and Ubuntu: apt-get install postgresql-15, or the postgresql package of ' +
      'the release)',
  );

function fail(message) {
  process.stderr.write(`sql-compare: ${message}\n`);
  process.exit(2);
}

// The CPU of a generator: it runs as a direct child, and once spawnSync has reaped it, its user and system time
// are in this process's cutime and cstime (/proc/self/stat, fields 16 and 17, in clock ticks). pgbench and perfy
// are measured the same way, start-up included; the server is not our child and does not count.
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function childrenCpuUs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime is field 16, cstime 17.
  return ((Number(fields[13]) + Number(fields[14])) / ticksPerSecond) * 1e6;
}

/** Runs `command` pinned to core 1 to its end; its output and its CPU time. */
function runGenerator(command, args, env) {
  const before = childrenCpuUs();
  const [program, argv] = pinned(1, command, args);
  const run = spawnSync(program, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const cpuUs = childrenCpuUs() - before;
  if (run.error || run.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed ` +
        `(${run.error?.message ?? (run.signal ? `killed by ${run.signal}` : `exit ${run.status}`)}):\n` +
        `${run.stdout}${run.stderr}`,
    );
  return { output: `${run.stdout}${run.stderr}`, cpuUs };
}

/** The fields of /proc/PID/stat from field 3 (state) on; undefined when the process is gone. */
function statOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A process and every process descending from it. */
function processTree(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statOf(entry);
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

/**
 * The server's CPU so far: user + sys of the postmaster and its live processes, plus what the postmaster has
 * reaped (cutime, cstime): the backends of clients that have disconnected. A backend lives as long as its
 * connection, so a generator's backends are all counted once it has exited and they have ended.
 */
async function serverCpuUs(pid) {
  const backend = (p) => {
    try {
      return /\(\d+\)/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')); // "postgres: USER DB 127.0.0.1(PORT) idle"
    } catch {
      return false;
    }
  };
  for (let waited = 0; waited < 2000 && processTree(pid).slice(1).some(backend); waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  let ticks = 0;
  for (const p of processTree(pid)) {
    const fields = statOf(p);
    if (fields)
      ticks += Number(fields[11]) + Number(fields[12]) + (p === pid ? Number(fields[13]) + Number(fields[14]) : 0);
  }
  return (ticks / ticksPerSecond) * 1e6;
}

/** Sets the CPU affinity of a process, its threads and every process descending from it. */
function pinProcessTree(pid, core) {
  const tree = processTree(pid);
  for (const p of tree) {
    const run = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(p)], { encoding: 'utf8' });
    if (run.status !== 0 && p === pid) throw new Error(`taskset could not pin the server (pid ${pid}): ${run.stderr}`);
  }
  return tree.length;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Ctrl-C reaches the generator running in the foreground, which ends; the server (in a process group of its own)
// is then stopped below rather than left running.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (interrupted = true));

const { startPostgresService } = await import(new URL('../dist/engine/services/postgres.js', import.meta.url).href);
const work = mkdtempSync(join(tmpdir(), 'perfy-bench-sql-'));
// pool.max sizes max_connections for the clients (at least 100 either way).
let server;
try {
  server = await startPostgresService(
    'bench',
    { postgres: 'embedded', pool: { max: clients } },
    { scenarioDir: work, logDir: work },
  );
} catch (error) {
  rmSync(work, { recursive: true, force: true });
  fail(`the PostgreSQL server did not start: ${error.message}`);
}
const runs = { pgbenchSimple: [], pgbenchExtended: [], perfy: [] };
try {
  const serverProcesses = pin ? pinProcessTree(server.pid, 0) : 0;
  // pgbench gets the password from the environment, so it never appears in a command line.
  const withPassword = new URL(server.url);
  const pgEnv = { PGPASSWORD: decodeURIComponent(withPassword.password) };
  withPassword.password = '';
  const pgbenchUrl = withPassword.toString();

  const init = spawnSync('pgbench', ['-i', '-q', '-s', String(scale), pgbenchUrl], {
    encoding: 'utf8',
    env: { ...process.env, ...pgEnv },
  });
  if (init.status !== 0) throw new Error(`pgbench -i failed (${init.status}): ${init.stderr}`);
  // The checkpoint that writing the tables calls for is taken now rather than during the first run, and a
  // second of load (not counted) warms the server before either generator is measured.
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CHECKPOINT');
  await client.end();
  runGenerator('pgbench', ['-S', '-n', '-c', String(clients), '-j', '1', '-T', '1', pgbenchUrl], pgEnv);
  process.stderr.write(
    `server pid ${server.pid}${pin ? ` (${serverProcesses} processes pinned to core 0)` : ''}, pgbench -i -s ` +
      `${scale} done\n`,
  );

  // perfy draws account ids from a file: 100,000 ids uniform over the table's range, picked at random per
  // iteration, so its reads spread over the table's pages as pgbench's `random(1, 100000 * :scale)` does.
  const accounts = 100_000 * scale;
  const aids = join(work, 'aids.csv');
  const lines = ['aid'];
  for (let i = 0; i < 100_000; i++) lines.push(String(1 + Math.floor(Math.random() * accounts)));
  writeFileSync(aids, `${lines.join('\n')}\n`);

  const pgbench = (mode) => {
    const { output, cpuUs } = runGenerator(
      'pgbench',
      ['-S', '-n', '-M', mode, '-c', String(clients), '-j', '1', '-T', String(seconds), pgbenchUrl],
      pgEnv,
    );
    const number = (pattern) => {
      const match = pattern.exec(output);
      if (!match) throw new Error(`pgbench output without ${pattern}:\n${output}`);
      return Number(match[1]);
    };
    const queries = number(/number of transactions actually processed: (\d+)/);
    const failedMatch = /number of failed transactions: (\d+)/.exec(output);
    return { queries, errors: failedMatch ? Number(failedMatch[1]) : 0, tps: number(/tps = ([\d.]+)/), cpuUs };
  };
  const perfy = () => {
    const out = mkdtempSync(join(work, 'perfy-'));
    const { cpuUs } = runGenerator(
      process.execPath,
      [join(root, 'bin', 'perfy'), 'run', join(here, 'scenarios', 'sql-select.yaml'), '--quiet', '--out', out],
      {
        BENCH_DATABASE_URL: server.url,
        BENCH_SQL_AIDS: aids,
        BENCH_SQL_CLIENTS: String(clients),
        BENCH_SQL_DURATION: `${seconds}s`,
      },
    );
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    const sum = (name) => result.metrics.metrics.filter((m) => m.name === name).reduce((s, m) => s + m.sum, 0);
    const durationMs = result.workloads[0]?.durationMs ?? seconds * 1000;
    rmSync(out, { recursive: true, force: true });
    return {
      queries: sum('sql.queries'),
      errors: sum('step.errors'),
      tps: sum('sql.queries') / (durationMs / 1000),
      cpuUs,
      saturated: result.saturation.saturated,
    };
  };
  /** One generator run, with the server's CPU over it. */
  const measure = async (name, generator) => {
    const serverBefore = await serverCpuUs(server.pid);
    const result = generator();
    if (interrupted) throw new Error('interrupted');
    result.serverCpuUs = (await serverCpuUs(server.pid)) - serverBefore;
    if (result.queries === 0) throw new Error(`${name} ran no query`);
    runs[name].push(result);
  };

  for (let i = 0; i < repeats; i++) {
    // Alternate the order, so that no generator always follows the same one.
    const order = [
      ['pgbenchSimple', () => pgbench('simple')],
      ['pgbenchExtended', () => pgbench('extended')],
      ['perfy', perfy],
    ];
    for (const [name, generator] of i % 2 === 0 ? order : order.reverse()) await measure(name, generator);
    process.stderr.write(`round ${i + 1}/${repeats} done\n`);
  }
} catch (error) {
  process.stderr.write(`sql-compare: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
if (process.exitCode) process.exit();

// Queries per second over the run's length for all three (pgbench's own `tps`, which leaves out the time to
// connect, is kept in the results file).
const summarize = (list) => ({
  queriesPerSecond: median(list.map((r) => r.queries / seconds)),
  cpuUsPerQuery: median(list.map((r) => r.cpuUs / r.queries)),
  serverCpuUsPerQuery: median(list.map((r) => r.serverCpuUs / r.queries)),
  errors: list.reduce((s, r) => s + r.errors, 0),
});
const simple = summarize(runs.pgbenchSimple);
const extended = summarize(runs.pgbenchExtended);
const perfyResult = { ...summarize(runs.perfy), saturatedRuns: runs.perfy.filter((r) => r.saturated).length };
const ratios = {
  vsSimple: {
    queriesPerSecond: perfyResult.queriesPerSecond / simple.queriesPerSecond,
    cpuPerQuery: perfyResult.cpuUsPerQuery / simple.cpuUsPerQuery,
  },
  vsExtended: {
    queriesPerSecond: perfyResult.queriesPerSecond / extended.queriesPerSecond,
    cpuPerQuery: perfyResult.cpuUsPerQuery / extended.cpuUsPerQuery,
  },
};

const fmt = (n, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = [
  ['generator', 'queries/s', 'CPU µs/query', 'server CPU µs/query', 'errors'],
  [
    `pgbench -S, simple protocol (${clients} clients, 1 thread)`,
    fmt(simple.queriesPerSecond, 0),
    fmt(simple.cpuUsPerQuery, 2),
    fmt(simple.serverCpuUsPerQuery, 2),
    String(simple.errors),
  ],
  [
    'pgbench -S -M extended',
    fmt(extended.queriesPerSecond, 0),
    fmt(extended.cpuUsPerQuery, 2),
    fmt(extended.serverCpuUsPerQuery, 2),
    String(extended.errors),
  ],
  [
    `perfy sql step (${clients} users, pool of ${clients}, expect)`,
    fmt(perfyResult.queriesPerSecond, 0),
    fmt(perfyResult.cpuUsPerQuery, 2),
    fmt(perfyResult.serverCpuUsPerQuery, 2),
    String(perfyResult.errors),
  ],
  [
    'perfy / pgbench simple', `${fmt(ratios.vsSimple.queriesPerSecond, 2)}×`, `${fmt(ratios.vsSimple.cpuPerQuery, 2)}×`,
    '', '',
  ],
  [
    'perfy / pgbench extended', `${fmt(ratios.vsExtended.queriesPerSecond, 2)}×`,
    `${fmt(ratios.vsExtended.cpuPerQuery, 2)}×`, '', '',
  ],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(
  `\nperfy sql vs pgbench select-only — scale ${scale}, ${seconds} s runs, median of ${repeats}, node ` +
    `${process.version}, ${pgbenchVersion.stdout.trim()}, ${cpus().length} cores ` +
    `(${cpus()[0]?.model ?? 'unknown cpu'})` +
    `${pin ? ', server on core 0, generator on core 1' : ', not pinned (no taskset)'}; ` +
    `CPU of the whole process, start-up included\n`,
);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
if (perfyResult.saturatedRuns > 0)
  console.log(
    `\nperfy reported itself saturated in ${perfyResult.saturatedRuns} of ${repeats} runs (its core was full).`,
  );
const met = ratios.vsSimple.queriesPerSecond >= TARGET_RATIO;
console.log(
  `\ntarget: perfy ≥ ${TARGET_RATIO}× pgbench's queries/s (simple protocol): ${met ? 'MET' : 'NOT MET'} ` +
    `(${fmt(ratios.vsSimple.queriesPerSecond, 2)}×; ` +
    `${fmt(ratios.vsExtended.queriesPerSecond, 2)}× against the extended protocol)`,
);

mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', 'sql-compare.json');
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      pgbench: pgbenchVersion.stdout.trim(),
      cpus: cpus().length,
      pinned: pin,
      seconds,
      repeats,
      clients,
      scale,
      target: { ratio: TARGET_RATIO, against: 'pgbench simple protocol, queries/s', met },
      pgbenchSimple: simple,
      pgbenchExtended: extended,
      perfy: perfyResult,
      ratios,
      runs,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nresults: ${file}`);
