// Segments: one share of the load, so N processes (worker threads, or the pods of a Kubernetes Indexed Job)
// together produce exactly the load one process would. Shared by the run (timelines, data rows) and the
// executors (a SQL pool's share of connections); engine/run/segment.ts splits timelines.

export interface Segment {
  /** 0-based */
  index: number;
  count: number;
}

/** `i/N` (0 ≤ i < N), as `--segment 2/4` and a Kubernetes job completion index give it. */
export function parseSegment(text: string): Segment | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index < count ? { index, count } : undefined;
}

/** Segment i's share of an amount split round-robin: the shares of all segments add up to `total` exactly. */
export function share(total: number, segment: Segment): number {
  return Math.floor((total + segment.count - 1 - segment.index) / segment.count);
}
