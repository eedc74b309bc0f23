// What is in flight, by step timeout: every HTTP exchange and SQL call registers here, and one timer per timeout
// and one listener per abort signal end the ones that run late or are cut short by the run stopping — instead
// of a setTimeout, a clearTimeout and an abort listener per request (several % of a request's CPU).

/** Something in flight: told when its deadline passes or the run stops, then it removes itself (`remove`). */
export interface InFlightItem {
  /** The run's (or the iteration's) abort signal. */
  signal: AbortSignal | undefined;
  /** @internal bookkeeping of InFlight: the list, neighbours and when the step times out */
  list: InFlight | undefined;
  previous: InFlightItem | undefined;
  next: InFlightItem | undefined;
  deadline: number;
  /** Ends the work with this class; must call `list.remove(this)`. */
  cancel(errorClass: 'timeout' | 'aborted'): void;
}

/**
 * The items in flight with one step timeout, oldest first. They share the timeout, so their deadlines come in the
 * same order: one timer, set for the oldest deadline, serves them all. When it fires, every item whose deadline
 * has passed times out and the timer is set again for the next deadline: the same precision as a timer of each
 * one's own.
 */
export class InFlight {
  head: InFlightItem | undefined = undefined;
  tail: InFlightItem | undefined = undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  add(item: InFlightItem, startedAt: number): void {
    item.deadline = startedAt + this.timeoutMs;
    item.list = this;
    item.previous = this.tail;
    item.next = undefined;
    if (this.tail === undefined) this.head = item;
    else this.tail.next = item;
    this.tail = item;
    if (this.timer === undefined && this.timeoutMs !== Infinity) this.arm(item.deadline);
  }

  remove(item: InFlightItem): void {
    const { previous, next } = item;
    if (previous === undefined) this.head = next;
    else previous.next = next;
    if (next === undefined) this.tail = previous;
    else next.previous = previous;
    item.previous = undefined;
    item.next = undefined;
    item.list = undefined;
  }

  /** @internal the oldest deadline is due, or nearly: time out what is due and wait for the next one. */
  expire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head.deadline <= now) this.head.cancel('timeout');
    if (this.head !== undefined) this.arm(this.head.deadline);
  }

  private arm(deadline: number): void {
    // Unref'd: work in flight keeps the process alive through its sockets, and this timer may outlive it.
    this.timer = setTimeout(expireDue, Math.max(1, Math.ceil(deadline - performance.now())), this);
    this.timer.unref();
  }
}

function expireDue(list: InFlight): void {
  list.expire();
}

/** One list per step timeout (a scenario has a few), the one without a timeout under Infinity. */
const inFlightLists = new Map<number, InFlight>();

/** The list for a step timeout in ms (0, negative or not finite: no timeout). */
export function inFlightFor(timeoutMs: number): InFlight {
  const key = timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs : Infinity;
  let list = inFlightLists.get(key);
  if (list === undefined) {
    list = new InFlight(key);
    inFlightLists.set(key, list);
  }
  return list;
}

/** Run aborts reach what is in flight through one listener per signal, not one per request. */
const watchedSignals = new WeakSet<AbortSignal>();

export function watchSignal(signal: AbortSignal): void {
  if (watchedSignals.has(signal)) return;
  watchedSignals.add(signal);
  signal.addEventListener('abort', () => {
    const cancelled: InFlightItem[] = [];
    for (const list of inFlightLists.values()) {
      for (let item = list.head; item !== undefined; item = item.next) if (item.signal === signal) cancelled.push(item);
    }
    for (const item of cancelled) item.cancel('aborted');
  }, { once: true });
}
