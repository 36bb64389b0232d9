import { describe, expect, it } from 'vitest';
import { createJobService, systemClock } from '../../actors/index.js';
import { openStore, type RecordedEvent } from '../../store/index.js';
import { FakeMinionPort, foldJob, waitFor } from './support.js';

const TENANT = 'acme';

describe('1,000 jobs of test.ping to 3 minions', () => {
  it('all complete, each with exactly 3 returns and no duplicate returns', async () => {
    const store = await openStore({ kind: 'memory' });
    // minions answer concurrently after a short real delay, so returns of many jobs interleave
    const port = new FakeMinionPort(TENANT, [{ id: 'm1', answer: { delayMs: 1 } }, { id: 'm2', answer: { delayMs: 2 } }, { id: 'm3' }]);
    const service = createJobService({ store, minions: port, clock: systemClock, node: 'test:1' });
    port.attach(service);
    try {
      const jobs = await Promise.all(
        Array.from({ length: 1000 }, () => service.createJob({ tenant: TENANT, fun: 'test.ping', tgt: '*', timeoutMs: 120_000, principal: 'bench' })),
      );
      expect(new Set(jobs.map((job) => job.jid)).size).toBe(1000);
      await waitFor(() => service.runningJobs === 0, { timeoutMs: 60_000, what: 'all jobs to end' });
      await port.settle();
      expect(port.errors).toEqual([]);

      const byJob = new Map<string, RecordedEvent[]>();
      for (let after = 0; ; ) {
        const page = await store.readAll({ types: ['jobs'], after, limit: 5000 });
        if (page.length === 0) break;
        for (const event of page) {
          const list = byJob.get(event.key) ?? [];
          list.push(event);
          byJob.set(event.key, list);
        }
        after = page.at(-1)!.position;
      }
      expect(byJob.size).toBe(1000);
      for (const job of jobs) {
        const events = byJob.get(job.key)!;
        const folded = foldJob(events);
        expect(folded.state).toBe('complete');
        const returned = events.filter((event) => event.action === 'return').map((event) => (event.data as { minion: string }).minion);
        expect(returned.sort()).toEqual(['m1', 'm2', 'm3']);
        expect(events.filter((event) => event.action === 'complete')).toHaveLength(1);
      }
    } finally {
      await service.stop();
      await store.close();
    }
  });
});
