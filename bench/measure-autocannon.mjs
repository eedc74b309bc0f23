// One autocannon run in this process, then this process's own CPU and peak memory: the baseline generator,
// measured exactly as measure-perfy.mjs measures perfy. Usage: node measure-autocannon.mjs URL CONNECTIONS SECONDS
import autocannon from 'autocannon';

const [url, connections, seconds] = process.argv.slice(2);
const result = await autocannon({
  url: `${url}/debates/d-1`,
  connections: Number(connections),
  duration: Number(seconds),
});
const usage = process.resourceUsage();
process.stdout.write(`${JSON.stringify({
  requests: result.requests.total,
  errors: result.errors + result.non2xx,
  durationMs: result.duration * 1000,
  cpuUs: usage.userCPUTime + usage.systemCPUTime,
  maxRssKb: usage.maxRSS,
})}\n`);
