import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../store/index.js';
import { MixedWorkload, serializeViews } from '../../projections/index.js';
import { settled, startedEngine } from './helpers.js';

const TOTAL = Number(process.env.CORRAL_REBUILD_EVENTS ?? 1_000_000);

describe('must show: rebuild of 1,000,000 mixed events', () => {
  it('gives byte-identical views to the incrementally maintained ones', { timeout: 240_000 }, async () => {
    const store = new MemoryEventStore();
    const live = await startedEngine(store);
    let liveChanges = 0;
    live.changes$.subscribe((batch) => (liveChanges += batch.length));
    const workload = new MixedWorkload({ seed: 1_000_000 });
    let appended = 0;
    while (appended < TOTAL) {
      // large batches of appends; the live engine folds them as they commit
      for (const append of workload.take(Math.min(50_000, TOTAL - appended))) {
        await store.append(append.stream, append.events);
        appended += append.events.length;
      }
    }
    await settled(live, store);
    expect(live.position).toBe(appended);
    expect(liveChanges).toBe(appended); // every event became exactly one change, logs included

    const rebuilt = await startedEngine(store);
    expect(rebuilt.position).toBe(live.position);
    const incremental = serializeViews(live.views);
    const replayed = serializeViews(rebuilt.views);
    expect(live.views.jobs.size).toBeGreaterThan(10_000);
    expect(replayed.length).toBe(incremental.length);
    expect(replayed.equals(incremental)).toBe(true);
    console.log(`rebuild of ${appended} events: ${live.views.jobs.size} jobs, ${live.views.processes.size} processes; views ${incremental.length} bytes, identical`);
    await live.stop();
    await rebuilt.stop();
    await store.close();
  });
});
