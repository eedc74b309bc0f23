// Segments: one share of a workload's load, so N processes (worker threads, or the pods of a Kubernetes Indexed
// Job) together produce exactly the load one process would. Segment i of N takes the arrivals k with
// k mod N = i (the same seeded sequence in every segment, so poisson arrivals split exactly too), a round-robin
// share of every user count, of max_vus and of data rows. Merged results add up to the whole run.

import type { ClosedTimeline, OpenTimeline, Timeline } from '../compile/timeline.js';
import { share, type Segment } from '../segment.js';

/** Segment `segment`'s part of a timeline. The whole timeline is returned for a segment of 1. */
export function segmentTimeline(timeline: Timeline, segment: Segment): Timeline {
  if (segment.count === 1) return timeline;
  return timeline.model === 'open' ? segmentOpen(timeline, segment) : segmentClosed(timeline, segment);
}

function segmentOpen(t: OpenTimeline, segment: Segment): OpenTimeline {
  const { index, count } = segment;
  return {
    ...t,
    maxVus: Math.max(1, share(t.maxVus, segment)),
    spans: t.spans.map((s) => ({
      ...s,
      from: s.from / count,
      to: s.to / count,
      ...(s.iterations === undefined ? {} : { iterations: share(s.iterations, segment) }),
    })),
    rateAt: (ms) => t.rateAt(ms) / count,
    expectedIterations: (ms) => t.expectedIterations(ms) / count,
    plannedIterations: share(t.plannedIterations, segment),
    *arrivalTimes(seed?: number) {
      let k = 0;
      for (const at of t.arrivalTimes(seed)) if (k++ % count === index) yield at;
    },
  };
}

function segmentClosed(t: ClosedTimeline, segment: Segment): ClosedTimeline {
  return {
    ...t,
    spans: t.spans.map((s) => ({ ...s, from: share(s.from, segment), to: share(s.to, segment) })),
    usersAt: (ms) => share(t.usersAt(ms), segment),
    maxUsers: share(t.maxUsers, segment),
    userSeconds: t.userSeconds / segment.count,
  };
}
