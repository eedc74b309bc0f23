// The pure load timeline: a workload's normalized `load:` stages become a function of time (target arrival
// rate, or target virtual users) plus the exact arrival schedule, so tests check a plan with no clock or timers.
//
// Conventions (the scheduler and the tests rely on them):
// - Time is in milliseconds from the start of the workload, rates are per second. Every span is half-open,
//   [startMs, endMs): `rateAt` / `usersAt` at a stage boundary give the value of the stage that starts there,
//   and both are 0 outside [0, durationMs).
// - Stages of zero (or non-finite, or negative) duration take no time and produce no span, but still apply
//   their baseline rule: `{ ramp: { to: 40/s }, duration: 0s }` is a step to 40/s for the next stage. A
//   burst with withinMs 0 is not skipped: it is an instant burst (unless it has 0 iterations). Negative rates and
//   user counts count as 0.
// - Open model, the continuous count C(t) = ∫₀ᵗ rate is piecewise quadratic and computed in closed form.
//   Cumulative values are snapped to the nearest integer when within ~1e-9 of it (relative 1e-12 for large
//   counts), so 100/m over 1m is exactly 100 arrivals and not 99.99999999999999 or 100.00000000000001.
// - Uniform arrivals are deterministic: arrival k (k = 0, 1, 2, …) starts at the first instant the continuous
//   count passes k, t_k = inf{t : C(t) > k}. So a constant 10/s starts at 0, 100, …, 900 ms; a ramp 0→10/s
//   over 1 s starts 5 (C = 0..4); a stage at rate 0 never holds an arrival, and the first arrival after a
//   pause is at the first instant of the next non-zero stage. Arrival times use the closed-form inverse of
//   C (the quadratic formula in its cancellation-free form 2a / (r0 + √(r0² + 2·slope·a))), never a search.
//   An arrival at t ≥ durationMs is not started, so the continuous arrivals number ceil(C(durationMs)).
// - Bursts: `iterations` extra arrivals at start + withinMs·i/iterations (i = 0..n-1), always started,
//   including an instant burst that ends the run: its arrivals are at exactly t = durationMs, the only arrivals
//   that can be at durationMs. Bursts are merged in time order with the continuous arrivals; on a tie the
//   continuous arrival comes first. Bursts are the same for uniform and poisson arrivals.
// - Poisson arrivals: a non-homogeneous Poisson process by time rescaling. The count position advances by
//   Exp(1) draws from a seeded mulberry32 PRNG (default seed 1; the first arrival is after the first draw, not
//   at 0) and is mapped back to time through the same inverse of C; the generator yields until the position
//   passes C(durationMs). The count is random, so `plannedIterations` is the expected count: round(C(durationMs))
//   + burst arrivals, and a span's `iterations` is round(C(end)) − round(C(start)) (+ its burst), so the span
//   counts add up to plannedIterations for both arrival kinds.
// - `expectedIterations(t)` is C(t) (not rounded, only snapped) + the burst arrivals at times < t. For uniform
//   arrivals, the number of arrivals yielded before t is ceil(expectedIterations(t)), except in the instant
//   (C within 1e-9 past an integer k) right after arrival k, where the snap reports k instead of k + 1.
// - Closed model: `usersAt(t)` is the floor of the linear target (a ramp 0→50 over 10 s reaches 5 users at 1 s,
//   never overshoots the target, and drops to 49 users the instant a ramp down from 50 starts). `userSeconds`
//   is the exact integral of that integer step function, and `maxUsers` is the largest value `usersAt` takes
//   (a run that ends on the last instant of a ramp up to 20 users has maxUsers 19).

import { mulberry32 } from '../random.js';
import { formatDuration, formatRate } from '../units.js';

export type OpenStage =
  | { kind: 'rate'; durationMs: number; rate: number }
  | { kind: 'ramp'; durationMs: number; from?: number; to: number }
  | { kind: 'spike'; durationMs: number; to: number; riseMs: number }
  | { kind: 'burst'; iterations: number; withinMs: number }
  | { kind: 'pause'; durationMs: number };
export type ClosedStage =
  | { kind: 'users'; users: number; rampUpMs: number; holdMs: number; rampDownMs: number }
  | { kind: 'pause'; durationMs: number };
export interface OpenLoad {
  model: 'open';
  stages: OpenStage[];
  arrivals: 'uniform' | 'poisson';
  maxVus: number;
}
export interface ClosedLoad {
  model: 'closed';
  stages: ClosedStage[];
}

/**
 * One linear piece of the plan. `from`/`to` are the rate (/s) or the users at the span's start/end. A users
 * stage is reported as up to 3 spans (ramp up, hold, ramp down) with the same `index`, a spike as rise + hold.
 * Open spans carry `iterations`: the arrivals planned in [startMs, endMs) (for a burst span: its burst plus the
 * baseline arrivals during it; for an instant burst at t: its burst).
 */
export interface StageSpan {
  index: number;
  kind: string;
  startMs: number;
  endMs: number;
  from: number;
  to: number;
  iterations?: number;
}
export interface OpenTimeline {
  model: 'open';
  durationMs: number;
  arrivals: 'uniform' | 'poisson';
  maxVus: number;
  spans: StageSpan[];
  /** Target arrival rate per second at t (bursts excluded; 0 outside [0, durationMs)). */
  rateAt(tMs: number): number;
  /** Cumulative arrivals planned in [0, t): the exact integral of the rate + burst arrivals already released. */
  expectedIterations(tMs: number): number;
  /** Total arrivals the run will start (uniform: exact; poisson: the expected count, rounded). */
  plannedIterations: number;
  /** Intended start times (ms, ascending) of every arrival; lazily computed, one number per arrival. */
  arrivalTimes(seed?: number): Generator<number>;
}
export interface ClosedTimeline {
  model: 'closed';
  durationMs: number;
  spans: StageSpan[];
  /** Target concurrent virtual users at t: floor of the linear target; 0 outside [0, durationMs). */
  usersAt(tMs: number): number;
  /** The largest value usersAt takes. */
  maxUsers: number;
  /** Exact integral of usersAt over the run, in user·seconds. */
  userSeconds: number;
  /** Closed model: iterations depend on response time. */
  plannedIterations: null;
}
export type Timeline = OpenTimeline | ClosedTimeline;

export function buildTimeline(load: OpenLoad | ClosedLoad): Timeline {
  return load.model === 'open' ? buildOpenTimeline(load) : buildClosedTimeline(load);
}

/** A positive-length piece of the continuous rate, linear from `from` to `to` (/s) over [startMs, endMs). */
interface RatePiece {
  startMs: number;
  endMs: number;
  from: number;
  to: number;
  countBefore: number; // snapped C(startMs)
  countAfter: number; // snapped C(endMs)
}

interface Burst {
  atMs: number;
  withinMs: number;
  iterations: number;
  lastMs: number; // the last instant before atMs + withinMs (atMs for an instant burst)
}

/** Extra arrivals of burst spans, kept out of StageSpan so that its shape stays plain data. */
const burstSizes = new WeakMap<StageSpan, number>();

function buildOpenTimeline(load: OpenLoad): OpenTimeline {
  const uniform = load.arrivals !== 'poisson';
  const spans: StageSpan[] = [];
  const pieces: RatePiece[] = [];
  const bursts: Burst[] = [];
  const countToIterations = uniform ? Math.ceil : Math.round;
  let nowMs = 0;
  let baseline = 0;
  let count = 0;

  const addSpan = (index: number, kind: string, durationMs: number, from: number, to: number, burst = 0): void => {
    const startMs = nowMs;
    const endMs = nowMs + durationMs;
    const countBefore = count;
    if (endMs > startMs) {
      count = snap(count + ((from + to) * durationMs) / 2000);
      pieces.push({ startMs, endMs, from, to, countBefore, countAfter: count });
    }
    const span: StageSpan = {
      index, kind, startMs, endMs, from, to,
      iterations: countToIterations(count) - countToIterations(countBefore) + burst,
    };
    if (kind === 'burst') burstSizes.set(span, burst);
    spans.push(span);
    nowMs = endMs;
  };

  load.stages.forEach((stage, index) => {
    switch (stage.kind) {
      case 'rate': {
        const rate = nonNegative(stage.rate);
        if (positive(stage.durationMs)) addSpan(index, 'rate', stage.durationMs, rate, rate);
        baseline = rate;
        break;
      }
      case 'ramp': {
        const from = stage.from === undefined ? baseline : nonNegative(stage.from);
        const to = nonNegative(stage.to);
        if (positive(stage.durationMs)) addSpan(index, 'ramp', stage.durationMs, from, to);
        baseline = to;
        break;
      }
      case 'spike': {
        if (!positive(stage.durationMs)) break;
        const to = nonNegative(stage.to);
        const riseMs = positive(stage.riseMs) ? stage.riseMs : 0;
        const shownRiseMs = Math.min(riseMs, stage.durationMs);
        if (shownRiseMs > 0) {
          // A rise longer than the stage is cut where the stage ends.
          const peak = shownRiseMs < riseMs ? baseline + ((to - baseline) * shownRiseMs) / riseMs : to;
          addSpan(index, 'spike', shownRiseMs, baseline, peak);
        }
        if (stage.durationMs > shownRiseMs) addSpan(index, 'spike', stage.durationMs - shownRiseMs, to, to);
        break; // transient: the baseline is unchanged
      }
      case 'burst': {
        const iterations = Number.isFinite(stage.iterations) ? Math.max(0, Math.floor(stage.iterations)) : 0;
        // A spread too small to move the clock (1e-20 ms after 1 s) is an instant burst.
        const withinMs = positive(stage.withinMs) && nowMs + stage.withinMs > nowMs ? stage.withinMs : 0;
        if (iterations === 0 && withinMs === 0) break;
        if (iterations > 0) {
          bursts.push({ atMs: nowMs, withinMs, iterations, lastMs: withinMs > 0 ? nextDown(nowMs + withinMs) : nowMs });
        }
        addSpan(index, 'burst', withinMs, baseline, baseline, iterations);
        break;
      }
      case 'pause': {
        if (positive(stage.durationMs)) addSpan(index, 'pause', stage.durationMs, 0, 0);
        baseline = 0;
        break;
      }
    }
  });

  const durationMs = nowMs;
  const totalCount = count;
  const continuousIterations = countToIterations(totalCount);
  const burstIterations = bursts.reduce((sum, b) => sum + b.iterations, 0);
  const lastBeforeEnd = nextDown(durationMs);

  const continuousCountAt = (tMs: number): number => {
    if (!(tMs > 0)) return 0;
    if (tMs >= durationMs) return totalCount;
    const piece = pieces[pieceIndexAt(pieces, tMs)];
    if (piece === undefined) return totalCount;
    const elapsed = tMs - piece.startMs;
    const lengthMs = piece.endMs - piece.startMs;
    const raw =
      piece.countBefore + (elapsed * (piece.from + ((piece.to - piece.from) * elapsed) / (2 * lengthMs))) / 1000;
    return Math.min(piece.countAfter, Math.max(piece.countBefore, snap(raw)));
  };

  const burstArrivalsBefore = (tMs: number): number => {
    let released = 0;
    for (const burst of bursts) {
      if (!(tMs > burst.atMs)) break;
      released += burstArrivalsReleased(burst, tMs);
    }
    return released;
  };

  function* arrivalTimes(seed = 1): Generator<number> {
    let pieceIndex = 0;
    let arrival = 0; // uniform: the index k of the next continuous arrival
    let position = 0; // poisson: the count position of the next continuous arrival
    const random = mulberry32(seed);
    const nextContinuous = (): number => {
      let target: number;
      if (uniform) {
        if (arrival >= continuousIterations) return Infinity;
        target = arrival++;
      } else {
        position += -Math.log(1 - random());
        if (position >= totalCount) return Infinity;
        target = position;
      }
      let piece = pieces[pieceIndex];
      while (piece !== undefined && piece.countAfter <= target) piece = pieces[++pieceIndex];
      if (piece === undefined) return Infinity;
      return Math.min(timeAtCount(piece, target), lastBeforeEnd);
    };
    let burstIndex = 0;
    let burstArrival = 0;
    const nextBurst = (): number => {
      const burst = bursts[burstIndex];
      if (burst === undefined) return Infinity;
      const t = burstArrivalAt(burst, burstArrival);
      if (++burstArrival >= burst.iterations) {
        burstIndex++;
        burstArrival = 0;
      }
      return t;
    };
    let continuousAt = nextContinuous();
    let burstAt = nextBurst();
    while (continuousAt !== Infinity || burstAt !== Infinity) {
      if (continuousAt <= burstAt) {
        yield continuousAt;
        continuousAt = nextContinuous();
      } else {
        yield burstAt;
        burstAt = nextBurst();
      }
    }
  }

  return {
    model: 'open',
    durationMs,
    arrivals: uniform ? 'uniform' : 'poisson',
    maxVus: load.maxVus,
    spans,
    rateAt(tMs) {
      if (!(tMs >= 0 && tMs < durationMs)) return 0;
      const piece = pieces[pieceIndexAt(pieces, tMs)];
      return piece === undefined ? 0 : linearAt(piece, tMs);
    },
    expectedIterations: (tMs) => continuousCountAt(tMs) + burstArrivalsBefore(tMs),
    plannedIterations: continuousIterations + burstIterations,
    arrivalTimes,
  };
}

/** The arrival time of burst arrival i, computed the same way everywhere so counts and times agree. */
function burstArrivalAt(burst: Burst, i: number): number {
  return Math.min(burst.atMs + (burst.withinMs * i) / burst.iterations, burst.lastMs);
}

/** How many of the burst's arrivals are at times < t: the closed-form estimate, corrected for float rounding. */
function burstArrivalsReleased(burst: Burst, tMs: number): number {
  if (burst.withinMs === 0) return tMs > burst.atMs ? burst.iterations : 0;
  let released = Math.min(
    burst.iterations,
    Math.max(0, Math.ceil(((tMs - burst.atMs) * burst.iterations) / burst.withinMs)),
  );
  while (released > 0 && burstArrivalAt(burst, released - 1) >= tMs) released--;
  while (released < burst.iterations && burstArrivalAt(burst, released) < tMs) released++;
  return released;
}

/**
 * The time at which the continuous count reaches `count` inside `piece` (countBefore ≤ count < countAfter):
 * solves 1000·a = r0·τ + slope·τ²/2 for τ in the form 2a/(r0 + √(r0² + 2·slope·a)), which has no
 * cancellation for ramps up or down and needs no special case for a constant rate.
 */
function timeAtCount(piece: RatePiece, count: number): number {
  const arrivals = count - piece.countBefore;
  if (arrivals <= 0) return piece.startMs;
  const lengthMs = piece.endMs - piece.startMs;
  const discriminant = piece.from * piece.from + (2000 * arrivals * (piece.to - piece.from)) / lengthMs;
  const elapsed = (2000 * arrivals) / (piece.from + Math.sqrt(Math.max(0, discriminant)));
  return piece.startMs + Math.min(elapsed, lengthMs);
}

function buildClosedTimeline(load: ClosedLoad): ClosedTimeline {
  const spans: StageSpan[] = [];
  let nowMs = 0;
  let level = 0;
  const addSpan = (index: number, kind: string, durationMs: number, from: number, to: number): void => {
    spans.push({ index, kind, startMs: nowMs, endMs: nowMs + durationMs, from, to });
    nowMs += durationMs;
  };

  load.stages.forEach((stage, index) => {
    if (stage.kind === 'pause') {
      if (positive(stage.durationMs)) addSpan(index, 'pause', stage.durationMs, 0, 0);
      level = 0;
      return;
    }
    const users = nonNegative(stage.users);
    if (positive(stage.rampUpMs)) addSpan(index, 'users', stage.rampUpMs, level, users);
    level = users;
    if (positive(stage.holdMs)) addSpan(index, 'users', stage.holdMs, users, users);
    if (positive(stage.rampDownMs)) {
      addSpan(index, 'users', stage.rampDownMs, users, 0);
      level = 0;
    }
  });

  const durationMs = nowMs;
  let maxUsers = 0;
  let userMs = 0;
  for (const span of spans) {
    const from = snap(span.from);
    const to = snap(span.to);
    // The span is half-open: a ramp up reaches its `to` only at endMs, where the next span takes over.
    const highest = to > from ? Math.max(Math.floor(from), Math.ceil(to) - 1) : Math.floor(from);
    maxUsers = Math.max(maxUsers, highest);
    const lengthMs = span.endMs - span.startMs;
    userMs += from === to
      ? lengthMs * Math.floor(from)
      : (lengthMs * (floorIntegral(to) - floorIntegral(from))) / (to - from);
  }

  return {
    model: 'closed',
    durationMs,
    spans,
    usersAt(tMs) {
      if (!(tMs >= 0 && tMs < durationMs)) return 0;
      const span = spans[pieceIndexAt(spans, tMs)];
      return span === undefined ? 0 : Math.max(0, Math.floor(snap(linearAt(span, tMs))));
    },
    maxUsers,
    userSeconds: snap(userMs / 1000),
    plannedIterations: null,
  };
}

/** ∫₀ˣ floor(v) dv, for x ≥ 0: the exact area under the integer step function up to x. */
function floorIntegral(x: number): number {
  const n = Math.floor(x);
  return (n * (n - 1)) / 2 + n * (x - n);
}

/** Human-readable lines for `perfy validate --plan`, one per span. */
export function describeTimeline(t: Timeline): string[] {
  return t.spans.map((span) => {
    const range = `${formatDuration(span.startMs)}–${formatDuration(span.endMs)}`;
    if (t.model === 'closed') {
      const users = span.from === span.to ? `${span.from} users` : `${span.from} → ${span.to} users`;
      return `${range}  ${span.kind}  ${users}`;
    }
    let what = span.from === span.to ? formatRate(span.from) : `${formatRate(span.from)} → ${formatRate(span.to)}`;
    const burst = burstSizes.get(span);
    if (burst !== undefined) {
      const spread = span.endMs > span.startMs ? `over ${formatDuration(span.endMs - span.startMs)}` : 'at once';
      what = `+${thousands(burst)} ${spread}${span.from > 0 ? ` on ${what}` : ''}`;
    }
    const iterations = span.iterations ?? 0;
    const approx = t.arrivals === 'poisson' ? '~' : '';
    return `${range}  ${span.kind}  ${what}  ` +
      `(${approx}${thousands(iterations)} iteration${iterations === 1 ? '' : 's'})`;
  });
}

/** Index of the last span starting at or before t (spans are contiguous and sorted); -1 before the first. */
function pieceIndexAt(pieces: readonly { startMs: number; endMs: number }[], tMs: number): number {
  let low = 0;
  let high = pieces.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const piece = pieces[mid]!;
    if (piece.startMs <= tMs) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  // Zero-length spans (closed model never has them; open pieces never do) cannot hold t.
  const piece = pieces[found];
  return piece !== undefined && tMs < piece.endMs ? found : -1;
}

function linearAt(span: { startMs: number; endMs: number; from: number; to: number }, tMs: number): number {
  return span.from + ((span.to - span.from) * (tMs - span.startMs)) / (span.endMs - span.startMs);
}

/** Rounds x to the nearest integer when it is that integer up to float error (1e-9, or 1e-12 relative). */
function snap(x: number): number {
  const nearest = Math.round(x);
  return Math.abs(x - nearest) <= Math.max(1e-9, Math.abs(x) * 1e-12) ? nearest : x;
}

function positive(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0;
}

function nonNegative(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

const floatBits = new Float64Array(1);
const intBits = new BigInt64Array(floatBits.buffer);

/** The largest double below x, for x > 0 (0 for x ≤ 0): the last instant of a half-open [.., x). */
function nextDown(x: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return Number.MAX_VALUE;
  floatBits[0] = x;
  intBits[0] = intBits[0]! - 1n;
  return floatBits[0];
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
