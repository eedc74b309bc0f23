// A compiled Plan as readable text for `perfy validate --plan`: stages with times and rates, flows as trees.

import { formatDuration, formatGrowth } from '../units.js';
import type { FlowNode, Plan, PlannedWorkload } from './plan.js';
import { describeTimeline } from './timeline.js';
import type { Service } from '../generated/scenario.js';
import { initIsFile } from '../services/postgres-config.js';
import { redactUrl } from '../services/url.js';

export function describePlan(plan: Plan): string[] {
  const lines: string[] = [`scenario ${plan.name}${plan.description ? ` — ${plan.description}` : ''}`];
  const services = Object.entries(plan.services);
  if (services.length > 0) {
    lines.push('services:');
    for (const [name, s] of services) {
      const what = 'builtin' in s
        ? `builtin ${s.builtin}`
        : 'command' in s ? `command ${s.command}` : 'postgres' in s ? describePostgres(s) : `url ${s.url}`;
      lines.push(`  ${name}: ${what}`);
    }
  }
  if (plan.target) lines.push(`target: ${plan.target.source}`);
  if (plan.setup.length > 0) lines.push('setup:', ...tree(plan.setup, '  '));
  for (const workload of plan.workloads) lines.push(...describeWorkload(workload));
  if (plan.teardown.length > 0) lines.push('teardown:', ...tree(plan.teardown, '  '));
  if (plan.thresholds.length > 0) {
    lines.push('thresholds:');
    for (const t of plan.thresholds) {
      const options = [t.level === 'warning' ? 'warning' : '', t.abort ? 'abort' : '',
        t.afterMs > 0 ? `after ${formatDuration(t.afterMs)}` : '']
        .filter(Boolean)
        .join(', ');
      lines.push(`  ${t.source}${options ? `  (${options})` : ''}`);
    }
  }
  if (plan.monitor) {
    const { processes, intervalMs, alerts, leak, notify } = plan.monitor;
    const watched = processes.map(({ name, watch }) => (typeof watch === 'string'
      ? name
      : `${name} (${'pid' in watch ? `pid ${watch.pid}` : 'pidfile' in watch ? watch.pidfile : `/${watch.command}/`})`
    ));
    lines.push(`monitor: ${watched.join(', ')} every ${formatDuration(intervalMs)}`);
    for (const a of alerts) lines.push(`  alert ${a.source}  (${a.level}${a.abort ? ', abort' : ''})`);
    if (leak !== undefined) {
      lines.push(`  leak: ${leak.processes.join(', ') || 'no process'} growing over ` +
        `${formatGrowth(leak.maxGrowthBytesPerSecond * 60)} across ${formatDuration(leak.windowMs)}` +
        `${leak.warmupMs > 0 ? ` after ${formatDuration(leak.warmupMs)}` : ''}  (${leak.level})`);
    }
    if (notify !== undefined) {
      const to = [notify.webhook ? 'webhook' : '', notify.command ? 'command' : ''].filter(Boolean);
      lines.push(`  notify: ${to.join(', ')}`);
    }
  }
  lines.push(`reports: ${plan.reports.map((r) => r.format).join(', ')}`);
  return lines;
}

function describeWorkload(w: PlannedWorkload): string[] {
  const t = w.timeline;
  const model = t.model === 'open'
    ? `open model, ${t.arrivals} arrivals, max ${t.maxVus} VUs, ` +
      `${t.arrivals === 'poisson' ? '~' : ''}${t.plannedIterations.toLocaleString('en-US')} planned iterations`
    : `closed model, up to ${t.maxUsers} users, ${Math.round(t.userSeconds).toLocaleString('en-US')} user-seconds`;
  const start = w.startAfterMs > 0 ? `, starts after ${formatDuration(w.startAfterMs)}` : '';
  const warmup = w.warmupMs > 0 ? `, the first ${formatDuration(w.warmupMs)} a warm-up kept apart` : '';
  return [
    `workload ${w.name} (${model}, ${formatDuration(t.durationMs)}${start}${warmup})`,
    '  load:',
    ...describeTimeline(t).map((l) => `    ${l}`),
    '  flow:',
    ...tree(w.flow, '    '),
  ];
}

function tree(nodes: FlowNode[], indent: string): string[] {
  const lines: string[] = [];
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const branch = `${indent}${last ? '└─ ' : '├─ '}`;
    const inner = `${indent}${last ? '   ' : '│  '}`;
    switch (node.type) {
      case 'step': {
        const details = [
          node.condition ? `if ${node.condition.source}` : '',
          node.expects.length ? `expect ${node.expects.map((e) => e.source).join('; ')}` : '',
          node.captures.length ? `capture ${node.captures.map((c) => c.name).join(', ')}` : '',
          node.retry ? `retry ${node.retry.attempts}` : '',
        ].filter(Boolean);
        const title = node.name === node.summary ? node.summary : `"${node.name}"  ${node.summary}`;
        lines.push(`${branch}${node.kind} ${title}`);
        for (const d of details) lines.push(`${inner}   ${d}`);
        break;
      }
      case 'think': {
        const time = node.minMs === node.maxMs
          ? formatDuration(node.minMs)
          : `${formatDuration(node.minMs)}..${formatDuration(node.maxMs)}`;
        lines.push(`${branch}think ${time}`);
        break;
      }
      case 'loop': {
        const rounds = node.while ? `while ${node.while.source} (at most ${node.max})` : `${node.count} times`;
        lines.push(`${branch}loop ${rounds}`, ...tree(node.body, inner));
        break;
      }
      case 'if':
        lines.push(`${branch}if ${node.condition.source}`, ...tree(node.then, inner));
        if (node.else.length > 0) lines.push(`${inner}else`, ...tree(node.else, inner));
        break;
      case 'parallel':
        lines.push(`${branch}parallel`, ...tree(node.branches, inner));
        break;
      case 'group':
        lines.push(`${branch}group ${node.name}`, ...tree(node.body, inner));
        break;
      case 'transaction': {
        const retry = node.retry.attempts > 0
          ? `, retried up to ${node.retry.attempts} times on ${node.retry.sqlstates.join(', ')}`
          : '';
        lines.push(`${branch}transaction ${node.name} (${node.isolation}${retry})`, ...tree(node.body, inner));
        break;
      }
    }
  });
  return lines;
}

function describePostgres(s: Extract<Service, { postgres: unknown }>): string {
  const form = s.postgres === 'embedded' ? 'postgres embedded' : `postgres ${redactUrl(s.postgres.url)}`;
  const init = s.init === undefined ? '' : !initIsFile(s.init) ? ', init: inline SQL' : `, init: ${s.init.trim()}`;
  return `${form}${init}`;
}
