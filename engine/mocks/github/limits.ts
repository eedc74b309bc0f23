// The GitHub mock's rate limits: primary (per resource, fixed windows), secondary (concurrency, points,
// content creation) and abuse blocks, per token or client address. No timers and no clock of its own:
// every call is given `now`, so the rules can be checked against exact expected values.

import type { GithubMockSettings } from './options.js';

export type Resource = 'core' | 'search';
export type SecondaryKind = 'concurrency' | 'points' | 'content' | 'retry-after' | 'content-retry-after';

/** Who a request is counted for: a token, or the client address when there is none. */
export interface Identity {
  key: string;
  authenticated: boolean;
}

/** What a request costs. */
export interface Cost {
  resource: Resource;
  /** GET /rate_limit: never counted, never refused except by an abuse block. */
  free: boolean;
  /** Whether it counts against the primary limit (not for a 304 answer). */
  primary: boolean;
  /** Secondary points: 1 for GET/HEAD/OPTIONS, 5 for other methods. */
  points: number;
  /** A content-creating request (POST …/issues). */
  content: boolean;
}

/** The `x-ratelimit-*` values of an answer. */
export interface RateView {
  limit: number;
  used: number;
  remaining: number;
  /** When the window ends, in UTC epoch seconds rounded up. */
  reset: number;
  resource: Resource;
}

export type Verdict =
  | { outcome: 'admitted'; rate: RateView; release(): void }
  | { outcome: 'primary'; rate: RateView; strike: boolean }
  | { outcome: 'secondary'; kind: SecondaryKind; retryAfterS: number; rate: RateView; strike: boolean }
  | { outcome: 'blocked'; retryAfterS: number; rate: RateView };

/** A fixed window: it starts at the first request counted in it and ends `length` later. */
class FixedWindow {
  start = NaN;
  used = 0;

  /** Forgets a window that has ended. */
  roll(now: number, lengthMs: number): void {
    if (!(now < this.start + lengthMs)) {
      this.start = NaN;
      this.used = 0;
    }
  }

  add(now: number, amount: number): void {
    if (Number.isNaN(this.start)) this.start = now;
    this.used += amount;
  }

  endsAt(now: number, lengthMs: number): number {
    return Number.isNaN(this.start) ? now + lengthMs : this.start + lengthMs;
  }
}

interface IdentityState {
  primary: Record<Resource, FixedWindow>;
  /** Start of the primary window in which a refusal was already answered, and when that answer was written. */
  refusedIn: Record<Resource, number>;
  firstRefusal: Record<Resource, number>;
  points: FixedWindow;
  content: FixedWindow;
  inFlight: number;
  /** A secondary limit tripped (its answer written at `secondarySince`): every request is refused until then. */
  secondaryUntil: number;
  secondarySince: number;
  /** The content limit tripped (answer written at `contentSince`): content-creating requests are refused until then. */
  contentUntil: number;
  contentSince: number;
  strikes: number;
  blockedUntil: number;
}

function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}

export class RateLimiter {
  private readonly identities = new Map<string, IdentityState>();

  constructor(private readonly settings: GithubMockSettings) {}

  /**
   * Decides one request, and counts it if it is admitted. Synchronous, so that concurrent requests are
   * counted one after the other and a limit trips at exactly its count. An admitted request holds a
   * concurrency slot until `release()`. `answerDelayMs` is how long its answer will wait (the mock's
   * latency): a client cannot know of a refusal before it is written.
   */
  admit(identity: Identity, cost: Cost, now: number, answerDelayMs = 0): Verdict {
    const state = this.stateOf(identity.key);
    const s = this.settings;
    this.roll(state, now);

    if (now < state.blockedUntil)
      return {
        outcome: 'blocked',
        retryAfterS: secondsUntil(state.blockedUntil, now),
        rate: this.view(state, identity, cost.resource, now),
      };
    if (cost.free)
      return { outcome: 'admitted', rate: this.view(state, identity, cost.resource, now), release: () => {} };

    const refuseSecondary = (kind: SecondaryKind, retryAfterS: number, strike: boolean): Verdict => {
      if (strike) this.strike(state, now);
      return { outcome: 'secondary', kind, retryAfterS, rate: this.view(state, identity, cost.resource, now), strike };
    };
    // Requests that arrive within the grace time after the first refused answer was written were most
    // likely sent before the client could know: only the ones after it are "sending while limited".
    const late = (answeredAt: number): boolean => now - answeredAt >= s.abuseGraceMs;
    const answeredAt = now + answerDelayMs;
    if (now < state.secondaryUntil)
      return refuseSecondary('retry-after', secondsUntil(state.secondaryUntil, now), late(state.secondarySince));
    if (cost.content && now < state.contentUntil)
      return refuseSecondary('content-retry-after', secondsUntil(state.contentUntil, now), late(state.contentSince));
    // `retry-after` is rounded up like every other answer's: a scaled retry_after may be a fraction of a second.
    if (state.inFlight >= s.concurrency || state.points.used + cost.points > s.points) {
      state.secondaryUntil = now + s.retryAfterS * 1000;
      state.secondarySince = answeredAt;
      const kind = state.inFlight >= s.concurrency ? 'concurrency' : 'points';
      return refuseSecondary(kind, secondsUntil(state.secondaryUntil, now), false);
    }
    if (cost.content && state.content.used + 1 > s.contentLimit) {
      state.contentUntil = now + s.retryAfterS * 1000;
      state.contentSince = answeredAt;
      return refuseSecondary('content', secondsUntil(state.contentUntil, now), false);
    }
    const window = state.primary[cost.resource];
    if (cost.primary && window.used >= this.limitOf(identity, cost.resource)) {
      // The first refusal of a window is how a client learns of the limit: it is never a strike.
      const first = state.refusedIn[cost.resource] !== window.start;
      if (first) {
        state.refusedIn[cost.resource] = window.start;
        state.firstRefusal[cost.resource] = answeredAt;
      }
      const strike = !first && late(state.firstRefusal[cost.resource]);
      if (strike) this.strike(state, now);
      return { outcome: 'primary', rate: this.view(state, identity, cost.resource, now), strike };
    }

    state.points.add(now, cost.points);
    if (cost.content) state.content.add(now, 1);
    if (cost.primary) window.add(now, 1);
    state.strikes = 0;
    state.inFlight++;
    let released = false;
    return {
      outcome: 'admitted',
      rate: this.view(state, identity, cost.resource, now),
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
      },
    };
  }

  /** The `x-ratelimit-*` values of both resources, without counting anything (GET /rate_limit). */
  snapshot(identity: Identity, now: number): Record<Resource, RateView> {
    const state = this.stateOf(identity.key);
    this.roll(state, now);
    return { core: this.view(state, identity, 'core', now), search: this.view(state, identity, 'search', now) };
  }

  private limitOf(identity: Identity, resource: Resource): number {
    if (resource === 'search') return this.settings.searchLimit;
    return identity.authenticated ? this.settings.limit : this.settings.unauthenticatedLimit;
  }

  private windowOf(resource: Resource): number {
    return resource === 'search' ? this.settings.searchWindowMs : this.settings.windowMs;
  }

  private view(state: IdentityState, identity: Identity, resource: Resource, now: number): RateView {
    const window = state.primary[resource];
    const limit = this.limitOf(identity, resource);
    const used = Math.min(window.used, limit);
    return {
      limit,
      used,
      remaining: limit - used,
      reset: Math.ceil(window.endsAt(now, this.windowOf(resource)) / 1000),
      resource,
    };
  }

  private roll(state: IdentityState, now: number): void {
    state.primary.core.roll(now, this.settings.windowMs);
    state.primary.search.roll(now, this.settings.searchWindowMs);
    state.points.roll(now, this.settings.pointsWindowMs);
    state.content.roll(now, this.settings.contentWindowMs);
  }

  private strike(state: IdentityState, now: number): void {
    state.strikes++;
    if (this.settings.abuseStrikes > 0 && state.strikes >= this.settings.abuseStrikes) {
      state.blockedUntil = now + this.settings.abuseBlockMs;
      state.strikes = 0;
    }
  }

  private stateOf(key: string): IdentityState {
    let state = this.identities.get(key);
    if (state === undefined) {
      state = {
        primary: { core: new FixedWindow(), search: new FixedWindow() },
        refusedIn: { core: NaN, search: NaN },
        firstRefusal: { core: NaN, search: NaN },
        points: new FixedWindow(),
        content: new FixedWindow(),
        inFlight: 0,
        secondaryUntil: -Infinity,
        secondarySince: -Infinity,
        contentUntil: -Infinity,
        contentSince: -Infinity,
        strikes: 0,
        blockedUntil: -Infinity,
      };
      this.identities.set(key, state);
    }
    return state;
  }
}
