// Keeps loops that may never touch I/O (a user's iterations, a `loop:` node, retries without backoff) from
// starving the event loop: timers (the end of the load) and signal handlers (Ctrl-C) must always get to run.

/** Bumped once per turn of the event loop, by one setImmediate that is armed only while someone is watching. */
let epoch = 0;
let armed = false;

function tick(): void {
  armed = false;
  epoch++;
}

/**
 * The current macrotask epoch: it changes once the event loop has gone round (timers, I/O and signal callbacks had
 * their turn). Reading it arms the one shared setImmediate, so a thousand looping users cost one per turn.
 */
export function macrotaskEpoch(): number {
  if (!armed) {
    armed = true;
    setImmediate(tick);
  }
  return epoch;
}

/**
 * Waits for the event loop to go round once; resolves with the epoch after it. A loop calls it when a round left
 * the epoch where it was (the round ran on microtasks alone); a round that awaited I/O or a timer needs no wait:
 *
 *   let seen = macrotaskEpoch();
 *   while (...) { await round(); const now = macrotaskEpoch(); seen = now !== seen ? now : await nextMacrotask(); }
 */
export function nextMacrotask(): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve(macrotaskEpoch())));
}
