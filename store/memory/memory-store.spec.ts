import { describe, expect, it } from 'vitest';
import { describeEventStoreContract } from '../testing/contract.js';
import { record, waitFor } from '../testing/helpers.js';
import { StoreClosedError } from '../errors.js';
import { openStore } from '../open.js';
import { MemoryEventStore } from './memory-store.js';

describeEventStoreContract('memory', async () => {
  const store = await openStore({ kind: 'memory' });
  return { store, cleanup: () => store.close() };
});

describe('memory store specifics', () => {
  it('expires by age with an injected clock, and time travel follows that clock', async () => {
    let now = 1_000_000;
    const store = new MemoryEventStore({ now: () => now });
    await store.append('process-a:w:0', [{ type: 'processes', action: 'stats', key: 'a:w:0', data: 1 }]);
    now += 10_000;
    await store.append('process-a:w:0', [{ type: 'processes', action: 'stats', key: 'a:w:0', data: 2 }]);
    expect(await store.positionAtTime(1_000_000)).toBe(1);
    expect(await store.positionAtTime(1_000_001)).toBe(2);
    expect(await store.positionAtTime(now + 1)).toBe(3);
    await store.setStreamMetadata('process-a:w:0', { maxAgeMs: 5_000 });
    expect((await store.readStream('process-a:w:0')).map((e) => e.data)).toEqual([2]);
    expect((await store.streamInfo('process-a:w:0')).firstRevision).toBe(1);
  });

  it('time never goes backwards even if the clock does', async () => {
    let now = 5_000;
    const store = new MemoryEventStore({ now: () => now });
    await store.append('tenant-a', [{ type: 'tenants', action: 'create', key: 'a', data: null }]);
    now = 1_000;
    await store.append('tenant-a', [{ type: 'tenants', action: 'reconfigure', key: 'a', data: null }]);
    expect((await store.readStream('tenant-a')).map((e) => e.time)).toEqual([5_000, 5_000]);
  });

  it('ends subscriptions with StoreClosedError on close', async () => {
    const store = new MemoryEventStore();
    const recorder = record(store.subscribeToAll({ after: 0 }));
    await waitFor('caught up', () => recorder.caughtUp);
    await store.close();
    await waitFor('the error', () => recorder.error !== undefined);
    expect(recorder.error).toBeInstanceOf(StoreClosedError);
    await expect(store.append('tenant-a', [])).rejects.toBeInstanceOf(StoreClosedError);
  });
});
