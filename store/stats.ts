import { COMMIT_LATENCY_BUCKETS_MS, type StoreStats } from './types.js';

/** Mutable counters behind `EventStore.stats()`; updating them is a few additions per commit. */
export class StoreStatsRecorder {
  appendCalls = 0;
  appendedEvents = 0;
  commits = 0;
  private latencySumMs = 0;
  private latencyCount = 0;
  private latencyLastMs = 0;
  private readonly bucketCounts = new Array<number>(COMMIT_LATENCY_BUCKETS_MS.length + 1).fill(0);

  /** one append acknowledged `latencyMs` after it was queued */
  recordLatency(latencyMs: number): void {
    this.latencySumMs += latencyMs;
    this.latencyCount++;
    this.latencyLastMs = latencyMs;
    let i = 0;
    while (i < COMMIT_LATENCY_BUCKETS_MS.length && latencyMs > COMMIT_LATENCY_BUCKETS_MS[i]!) i++;
    this.bucketCounts[i]!++;
  }

  snapshot(headPosition: number): StoreStats {
    const buckets: number[] = [];
    let cumulative = 0;
    for (const count of this.bucketCounts) buckets.push((cumulative += count));
    return {
      appendCalls: this.appendCalls,
      appendedEvents: this.appendedEvents,
      commits: this.commits,
      commitLatency: { sumMs: this.latencySumMs, count: this.latencyCount, lastMs: this.latencyLastMs, buckets },
      headPosition,
    };
  }
}
