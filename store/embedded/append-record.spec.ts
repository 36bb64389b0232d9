import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../memory/memory-store.js';
import type { EventStore, RecordedEvent } from '../types.js';
import { openEmbeddedStore } from './embedded-store.js';

/**
 * The embedded store keeps one LMDB value per append (append-record.ts), so reads that start,
 * stop or filter inside an append, and retention that cuts into one, are where it could go
 * wrong. The memory store (one slot per event) is the model: after any sequence of appends,
 * truncations and count retention, every read must return the same events.
 */
const op = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    stream: fc.constantFrom('tenant-a', 'tenant-b', 'log-c'),
    types: fc.array(fc.constantFrom('tenants', 'logs', 'jobs'), { minLength: 0, maxLength: 7 }),
  }),
  // big appends are stored in blocks of msgpackr records (append-record.ts)
  fc.record({
    kind: fc.constant('append' as const),
    stream: fc.constantFrom('tenant-a', 'tenant-b', 'log-c'),
    types: fc.tuple(fc.integer({ min: 20, max: 150 }), fc.constantFrom('tenants', 'logs'), fc.integer({ min: 0, max: 149 })).map(([count, type, other]) =>
      Array.from({ length: count }, (_, i) => (i === other ? 'jobs' : type)),
    ),
  }),
  fc.record({ kind: fc.constant('truncate' as const), stream: fc.constantFrom('tenant-a', 'log-c'), before: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('retain' as const), stream: fc.constantFrom('tenant-b', 'log-c'), maxCount: fc.integer({ min: 1, max: 9 }) }),
);
const read = fc.record({
  after: fc.integer({ min: 0, max: 400 }),
  limit: fc.integer({ min: 1, max: 100 }),
  types: fc.option(fc.subarray(['tenants', 'logs', 'jobs'], { minLength: 1 }), { nil: undefined }),
  streamPrefix: fc.option(fc.constantFrom('tenant-', 'log-', 'tenant-a'), { nil: undefined }),
  stream: fc.constantFrom('tenant-a', 'tenant-b', 'log-c'),
  afterRevision: fc.integer({ min: -1, max: 300 }),
  beforeRevision: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  backward: fc.boolean(),
});

// commit times differ between the two stores; everything else must be identical
const comparable = (events: RecordedEvent[]): Omit<RecordedEvent, 'time'>[] => events.map(({ time: _time, ...rest }) => rest);

/** a few shapes (records are per shape), numbers in 64..127 (msgpackr reads those bytes as record ids), nesting, nulls */
function dataOf(n: number): unknown {
  switch (n % 5) {
    case 0:
      return { n, text: 'é'.repeat(n % 3) };
    case 1:
      return { n: 64 + (n % 64), list: [n, 'x', null, { deep: n % 128 }] };
    case 2:
      return null;
    case 3:
      return { n, text: 'a', extra: n % 2 === 0 };
    default:
      return [n, { n }];
  }
}

async function apply(store: EventStore, ops: readonly unknown[]): Promise<void> {
  let n = 0;
  for (const o of ops as { kind: string; stream: string; types?: string[]; before?: number; maxCount?: number }[]) {
    if (o.kind === 'append') {
      await store.append(o.stream, o.types!.map((type) => ({ id: `id-${n}`, type, action: 'set', key: `k${n++}`, data: dataOf(n) })));
    } else if (o.kind === 'truncate') await store.truncateStream(o.stream, o.before!);
    else await store.setStreamMetadata(o.stream, { maxCount: o.maxCount! });
  }
}

describe('embedded append records against the memory model', () => {
  it('every read matches the memory store after any appends, truncations and retention', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), fc.array(read, { minLength: 1, maxLength: 6 }), async (ops, reads) => {
        const dataDir = await mkdtemp(join(tmpdir(), 'corral-append-record-'));
        const embedded = await openEmbeddedStore({ dataDir });
        const memory = new MemoryEventStore({});
        try {
          await apply(embedded, ops);
          await apply(memory, ops);
          expect(await embedded.headPosition()).toBe(await memory.headPosition());
          expect(comparable(await embedded.readAll({ limit: 10_000 }))).toEqual(comparable(await memory.readAll({ limit: 10_000 })));
          for (const r of reads) {
            const all = { after: r.after, limit: r.limit, ...(r.types === undefined ? {} : { types: r.types }), ...(r.streamPrefix === undefined ? {} : { streamPrefix: r.streamPrefix }) };
            expect(comparable(await embedded.readAll(all))).toEqual(comparable(await memory.readAll(all)));
            const stream = { afterRevision: r.afterRevision, limit: r.limit, direction: r.backward ? ('backward' as const) : ('forward' as const), ...(r.beforeRevision === undefined ? {} : { beforeRevision: r.beforeRevision }) };
            expect(comparable(await embedded.readStream(r.stream, stream))).toEqual(comparable(await memory.readStream(r.stream, stream)));
            expect(await embedded.streamInfo(r.stream)).toEqual(await memory.streamInfo(r.stream));
          }
          // every surviving event is found by the time search (times are non-decreasing with position)
          const events = await embedded.readAll({ limit: 10_000 });
          for (const e of events) {
            const at = await embedded.positionAtTime(e.time);
            expect(at).toBeLessThanOrEqual(e.position);
            expect(events.find((x) => x.position >= at)!.time).toBe(e.time);
          }
        } finally {
          await embedded.close();
          await memory.close();
          await rm(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
