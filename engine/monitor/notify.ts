// Notifications of monitoring events (monitor.notify, docs/monitoring.md): each event as JSON, POSTed to a webhook
// and/or written to the stdin of a command, without ever slowing the load down.
//
// Guarantees:
// - `send()` returns at once: it serializes the event, queues it and starts a delivery if none is running. No
//   network or process work happens on the caller's turn, and nothing is thrown at it.
// - Order: each channel (webhook, command) delivers one event at a time, in the order sent; an event's retries
//   finish before the next event goes.
// - Bounded: each channel queues at most `queueSize` events (default 100) behind the one in flight. When a slow
//   or dead receiver lets the queue fill, the oldest queued event is dropped for the new one (the newest say
//   what is happening now; Prometheus's notifier does the same) and counted as dropped.
// - Webhook: POST, `content-type: application/json`, an `idempotency-key` header (one per event, the same on
//   each retry) so a receiver can drop the duplicate that a retry after a lost answer can make: delivery is
//   at least once, exactly once when answers arrive. A 2xx answer delivers; 408, 429, 5xx, a network error or
//   no answer within `timeoutMs` is retried up to `retries` times after 250 ms, 500 ms, 1 s... (`backoffMs`
//   doubling, at most 10 s; a numeric Retry-After within 10 s is honoured); any other answer fails at once.
//   Redirects are not followed (a 303 would turn the POST into a GET and lose the event): a 3xx fails.
// - Command: started once per event, the event's JSON and a newline on its stdin, PERFY_EVENT_LEVEL,
//   PERFY_EVENT_STATE and PERFY_EVENT_NAME in its environment; exit 0 delivers, anything else (an exit code, a
//   signal, no exit within `timeoutMs`, a command that cannot start) fails with the end of its stderr; no
//   retries by default (a command need not be idempotent). On a timeout its whole process group is killed.
// - close() waits for the queues to empty, at most `deadlineMs` (default 5 s): then the delivery in flight is
//   aborted (failed) and what is still queued is dropped. It resolves with the counts; it never rejects.
// - Failure reasons never contain the webhook's URL (it often holds a token).
//
// Interface for the run:
//   const notifier = createNotifier({ webhook: { url }, command: { shell: 'cat >> alerts.jsonl' },
//     onFailure: (channel, event, reason) => warn(...) });
//   notifier.send({ time, level, name, state, value, message, process });   // per alert firing/resolving
//   const { sent, failed, dropped, channels } = await notifier.close();     // at the end of the run

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { sleep } from '../sleep.js';

export interface MonitorEvent {
  /** When it happened, ISO 8601. */
  time: string;
  level: 'info' | 'warning' | 'critical';
  /** What fired: the alert's expression (`cpu(api) > 90% for 10s`) or the rule's name (`leak(api)`). */
  name: string;
  state: 'firing' | 'resolved';
  /** The value that fired it (bytes, a share of one core, bytes per minute...). */
  value?: number;
  /** A line for people: what, where, how much. */
  message: string;
  /** The watched process it concerns, if one. */
  process?: string;
}

export interface WebhookOptions {
  url: string;
  /** Per attempt, answer included. Default 5 s. */
  timeoutMs?: number;
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** The first wait before a retry, doubled at each. Default 250 ms. */
  backoffMs?: number;
  headers?: Record<string, string>;
}

export interface CommandOptions {
  /** The program and its arguments, run without a shell... */
  argv?: string[];
  /** ...or a shell command line. */
  shell?: string;
  /** Default 10 s. */
  timeoutMs?: number;
  /** Default 0. */
  retries?: number;
  backoffMs?: number;
}

export interface NotifierOptions {
  webhook?: WebhookOptions;
  command?: CommandOptions;
  /** Events queued per channel behind the one in flight. Default 100. */
  queueSize?: number;
  /** Called once per event a channel gave up on (after its retries); exceptions in it are ignored. */
  onFailure?: (channel: ChannelName, event: MonitorEvent, reason: string) => void;
}

export type ChannelName = 'webhook' | 'command';

export interface ChannelStats {
  sent: number;
  failed: number;
  dropped: number;
  /** The first failure reasons (at most 10). */
  errors: string[];
}

export interface NotifyStats {
  /** Sums over the channels: an event sent to both counts twice. */
  sent: number;
  failed: number;
  dropped: number;
  channels: Partial<Record<ChannelName, ChannelStats>>;
}

export interface Notifier {
  send(event: MonitorEvent): void;
  close(options?: { deadlineMs?: number }): Promise<NotifyStats>;
}

const DEFAULT_QUEUE_SIZE = 100;
const DEFAULT_CLOSE_DEADLINE_MS = 5000;
const MAX_BACKOFF_MS = 10_000;
const MAX_ERRORS = 10;
const STDERR_TAIL = 500;

/** A failed attempt; `retry` says whether another attempt may succeed. */
class DeliveryError extends Error {
  constructor(message: string, readonly retry: boolean, readonly retryAfterMs?: number) {
    super(message);
  }
}

interface Queued {
  event: MonitorEvent;
  body: string;
  key: string;
}

type Deliver = (item: Queued, signal: AbortSignal) => Promise<void>;

interface Channel {
  push(item: Queued): void;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
  /** Aborts the delivery in flight and drops the queue. */
  abandon(): void;
  stats: ChannelStats;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  const channels = new Map<ChannelName, Channel>();
  const report = (channel: ChannelName, event: MonitorEvent, reason: string): void => {
    try {
      options.onFailure?.(channel, event, reason);
    } catch {
      // A reporting callback must not stop the deliveries.
    }
  };
  if (options.webhook) {
    const { webhook } = options;
    channels.set('webhook', createChannel(webhookDelivery(webhook), {
      queueSize, retries: webhook.retries ?? 3, backoffMs: webhook.backoffMs ?? 250,
      onFailure: (event, reason) => report('webhook', event, reason),
    }));
  }
  if (options.command) {
    const { command } = options;
    channels.set('command', createChannel(commandDelivery(command), {
      queueSize, retries: command.retries ?? 0, backoffMs: command.backoffMs ?? 250,
      onFailure: (event, reason) => report('command', event, reason),
    }));
  }
  const runKey = randomUUID();
  let sequence = 0;
  let closed = false;
  let lateDrops = 0;

  return {
    send(event) {
      if (closed) {
        lateDrops++;
        return;
      }
      let body: string;
      try {
        body = JSON.stringify(event);
      } catch (error) {
        for (const [name, channel] of channels) {
          channel.stats.failed++;
          note(channel.stats, `cannot serialize the event: ${(error as Error).message}`);
          report(name, event, `cannot serialize the event: ${(error as Error).message}`);
        }
        return;
      }
      const item = { event, body, key: `${runKey}-${++sequence}` };
      for (const channel of channels.values()) channel.push(item);
    },
    async close({ deadlineMs = DEFAULT_CLOSE_DEADLINE_MS } = {}) {
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      await Promise.race([Promise.all([...channels.values()].map((c) => c.idle())), deadline]);
      clearTimeout(timer);
      for (const channel of channels.values()) channel.abandon();
      // Let an aborted delivery count itself failed before the counts are read.
      await Promise.all([...channels.values()].map((c) => c.idle()));
      const stats: NotifyStats = { sent: 0, failed: 0, dropped: 0, channels: {} };
      for (const [name, channel] of channels) {
        channel.stats.dropped += lateDrops;
        stats.channels[name] = { ...channel.stats, errors: [...channel.stats.errors] };
        stats.sent += channel.stats.sent;
        stats.failed += channel.stats.failed;
        stats.dropped += channel.stats.dropped;
      }
      return stats;
    },
  };
}

function note(stats: ChannelStats, reason: string): void {
  if (stats.errors.length < MAX_ERRORS) stats.errors.push(reason);
}

function createChannel(
  deliver: Deliver,
  options: {
    queueSize: number;
    retries: number;
    backoffMs: number;
    onFailure: (event: MonitorEvent, reason: string) => void;
  },
): Channel {
  const queue: Queued[] = [];
  const stats: ChannelStats = { sent: 0, failed: 0, dropped: 0, errors: [] };
  const abort = new AbortController();
  let running: Promise<void> | undefined;

  async function attempt(item: Queued): Promise<void> {
    for (let tries = 1; ; tries++) {
      let failure: DeliveryError;
      try {
        await deliver(item, abort.signal);
        stats.sent++;
        return;
      } catch (error) {
        failure = error instanceof DeliveryError ? error : new DeliveryError(String(error), false);
      }
      const doubled = Math.min(options.backoffMs * 2 ** (tries - 1), MAX_BACKOFF_MS);
      const backoff = Math.max(doubled, failure.retryAfterMs ?? 0);
      // The wait before a retry is cut short by close()'s deadline, and then there is no retry.
      if (!failure.retry || tries > options.retries || !(await sleep(backoff, abort.signal))) {
        const attempts = tries > 1 ? ` (${tries} attempts)` : '';
        const reason = `${failure.message}${attempts}${abort.signal.aborted ? ', abandoned at close' : ''}`;
        stats.failed++;
        note(stats, reason);
        options.onFailure(item.event, reason);
        return;
      }
    }
  }

  async function pump(): Promise<void> {
    // Each delivery starts on a later turn than the send() that queued it: send() stays free of I/O.
    await Promise.resolve();
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await attempt(item);
    running = undefined;
  }

  return {
    stats,
    push(item) {
      if (abort.signal.aborted) {
        stats.dropped++;
        return;
      }
      if (queue.length >= options.queueSize) {
        queue.shift();
        stats.dropped++;
      }
      queue.push(item);
      running ??= pump();
    },
    idle: () => running ?? Promise.resolve(),
    abandon() {
      stats.dropped += queue.length;
      queue.length = 0;
      abort.abort();
    },
  };
}

function webhookDelivery(options: WebhookOptions): Deliver {
  const timeoutMs = options.timeoutMs ?? 5000;
  return async (item, closing) => {
    // An own controller and timer, not AbortSignal.timeout(): combined by AbortSignal.any() on Node 20, a timeout
    // signal nothing else holds can be garbage-collected before it fires (nodejs/node#57736), and the request then
    // never times out.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const onClosing = (): void => timeout.abort();
    closing.addEventListener('abort', onClosing, { once: true });
    const signal = timeout.signal;
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'perfy',
          'idempotency-key': item.key,
          ...options.headers,
        },
        body: item.body,
        redirect: 'manual',
        signal,
      });
      // Read the answer to its end (within the timeout) so the connection can carry the next event.
      await response.arrayBuffer();
    } catch (error) {
      throw new DeliveryError(fetchFailure(error, signal, closing, timeoutMs), true);
    } finally {
      clearTimeout(timer);
      closing.removeEventListener('abort', onClosing);
    }
    if (response.ok) return;
    const { status } = response;
    const retry = status === 408 || status === 429 || status >= 500;
    const retryAfter = Number(response.headers.get('retry-after'));
    const retryAfterMs = retryAfter > 0 && retryAfter * 1000 <= MAX_BACKOFF_MS ? retryAfter * 1000 : undefined;
    throw new DeliveryError(`webhook answered HTTP ${status}`, retry, retryAfterMs);
  };
}

/** Why a fetch failed, in words without its URL (undici puts the cause, e.g. ECONNREFUSED, in `cause`). */
function fetchFailure(error: unknown, signal: AbortSignal, closing: AbortSignal, timeoutMs: number): string {
  if (closing.aborted) return 'webhook delivery aborted';
  if (signal.aborted) return `webhook did not answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `webhook unreachable: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
}

function commandDelivery(options: CommandOptions): Deliver {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!options.shell && !options.argv?.length) throw new TypeError('a command notifier needs argv or shell');
  const label = options.shell ?? options.argv![0]!;
  return (item, closing) => new Promise<void>((resolve, reject) => {
    if (closing.aborted) return reject(new DeliveryError(`command ${label}: not started, closing`, false));
    const env = {
      ...process.env,
      PERFY_EVENT_LEVEL: item.event.level,
      PERFY_EVENT_STATE: item.event.state,
      PERFY_EVENT_NAME: item.event.name,
    };
    // Its own process group (POSIX): a timeout kills the shell and what it started, not the shell alone.
    const group = process.platform !== 'win32';
    const stdio: ['pipe', 'ignore', 'pipe'] = ['pipe', 'ignore', 'pipe'];
    const child = options.shell
      ? spawn(options.shell, { shell: true, env, stdio, detached: group })
      : spawn(options.argv![0]!, options.argv!.slice(1), { env, stdio, detached: group });
    let stderr = '';
    let why: string | undefined;
    const kill = (reason: string): void => {
      why ??= reason;
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => kill(`did not exit within ${timeoutMs} ms`), timeoutMs);
    const onClose = (): void => kill('aborted');
    closing.addEventListener('abort', onClose, { once: true });
    const settle = (error?: string): void => {
      clearTimeout(timer);
      closing.removeEventListener('abort', onClose);
      if (error === undefined) resolve();
      else reject(new DeliveryError(`command ${label}: ${error}`, true));
    };
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL)));
    // A command that does not read its stdin closes the pipe early: EPIPE is no failure of the notifier.
    child.stdin.on('error', () => {});
    child.stdin.end(`${item.body}\n`);
    child.on('error', (error) => settle(`cannot run: ${error.message}`));
    child.on('close', (code, signal) => {
      if (code === 0 && why === undefined) return settle();
      const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
      settle(why ?? (signal ? `killed by ${signal}${tail}` : `exited with ${code}${tail}`));
    });
  });
}
