import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWrongExpectedRevisionError } from '../errors.js';
import type { AppendResult, EventStore, RecordedEvent } from '../types.js';
import { event, record, uniquePrefix, waitFor } from './helpers.js';

/**
 * The laws of docs/architecture.md "Delivery" as properties: concurrent writers never break revision or
 * position order, and a subscription from any position sees exactly what follows it,
 * even while appends race its catch-up.
 */
export function describeContractProperties(getStore: () => EventStore, _getPrefix: () => string, gapless: boolean): void {
  describe('properties', () => {
    const operation = fc.record({
      stream: fc.constantFrom('a', 'b', 'c'),
      count: fc.integer({ min: 1, max: 4 }),
      exact: fc.boolean(),
    });
    const writers = fc.array(fc.array(operation, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 4 });

    it('any interleaving of concurrent writers yields contiguous revisions and a gapless global order', async () => {
      await fc.assert(
        fc.asyncProperty(writers, async (plans) => {
          const store = getStore();
          const prefix = uniquePrefix('p');
          const start = await store.headPosition();
          const acknowledged: AppendResult[] = [];
          await Promise.all(
            plans.map(async (plan, writer) => {
              for (const op of plan) {
                const stream = `${prefix}${op.stream}`;
                const events = Array.from({ length: op.count }, (_, i) => event('processes', 'stats', `w${writer}`, { writer, i }));
                // exact expectations race the other writers: a conflict is a legal outcome, never a gap
                const expectedRevision = op.exact ? (await store.streamInfo(stream)).lastRevision : 'any';
                try {
                  acknowledged.push(await store.append(stream, events, { expectedRevision: expectedRevision === -1 ? 'noStream' : expectedRevision }));
                } catch (error) {
                  if (!isWrongExpectedRevisionError(error)) throw error;
                }
              }
            }),
          );
          const all = await store.readAll({ after: start, streamPrefix: prefix, limit: 100_000 });
          const acknowledgedCount = acknowledged.reduce((n, r) => n + r.positions.length, 0);
          expect(all).toHaveLength(acknowledgedCount);
          for (let i = 1; i < all.length; i++) {
            expect(all[i]!.position).toBe(gapless ? all[i - 1]!.position + 1 : Math.max(all[i]!.position, all[i - 1]!.position + 1));
          }
          if (gapless && all.length > 0) {
            expect(all[0]!.position).toBe(start + 1);
            expect(await store.headPosition()).toBe(start + all.length);
          }
          const byPosition = new Map(all.map((e) => [e.position, e]));
          for (const result of acknowledged) {
            result.positions.forEach((position, i) => {
              const stored = byPosition.get(position);
              expect(stored?.stream).toBe(result.stream);
              expect(stored?.revision).toBe(result.lastRevision - result.positions.length + 1 + i);
            });
          }
          for (const name of ['a', 'b', 'c']) {
            const stream = await store.readStream(`${prefix}${name}`, { limit: 100_000 });
            expect(stream.map((e) => e.revision)).toEqual(stream.map((_, i) => i));
            // one append's events are adjacent in its stream and in the global order
            for (const result of acknowledged.filter((r) => r.stream === `${prefix}${name}`)) {
              for (let i = 1; i < result.positions.length; i++) {
                if (gapless) expect(result.positions[i]).toBe(result.positions[i - 1]! + 1);
              }
            }
          }
        }),
        { numRuns: 20 },
      );
    });

    const scenario = fc.record({
      history: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 8 }),
      startAt: fc.nat(),
      racing: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 8 }),
      excludeLogs: fc.boolean(),
    });

    it('a subscription from any position P delivers exactly the events after P, in order, across the hand-over', async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ history, startAt, racing, excludeLogs }) => {
          const store = getStore();
          const prefix = uniquePrefix('s');
          const base = await store.headPosition();
          let n = 0;
          const batch = (size: number) =>
            Array.from({ length: size }, () => {
              n++;
              return event(n % 3 === 0 ? 'logs' : 'processes', 'stats', 'k', { n });
            });
          for (const size of history) await store.append(`${prefix}${n % 2}`, batch(size));
          const written = await store.readAll({ after: base, streamPrefix: prefix, limit: 100_000 });
          const from = written.length === 0 ? base : startAt % (written.length + 1) === 0 ? base : written[(startAt % (written.length + 1)) - 1]!.position;
          const recorder = record(store.subscribeToAll({ after: from, streamPrefix: prefix, ...(excludeLogs ? { excludeTypes: ['logs'] } : {}) }));
          // appends racing the catch-up: issued without waiting for the subscription to start
          await Promise.all(racing.map((size, i) => store.append(`${prefix}${i % 2}`, batch(size))));
          const expected = (await store.readAll({ after: from, streamPrefix: prefix, limit: 100_000 })).filter((e) => !excludeLogs || e.type !== 'logs');
          await waitFor(`${expected.length} events`, () => recorder.caughtUp && recorder.events.length >= expected.length);
          // give a duplicate a chance to show up before judging
          const probe = await store.append(`${prefix}probe`, [event('jobs', 'create', 'probe')]);
          await waitFor('the probe event', () => recorder.events.some((e) => e.position === probe.positions[0]));
          recorder.subscription.unsubscribe();
          const seen: RecordedEvent[] = recorder.events.filter((e) => e.position !== probe.positions[0]);
          expect(seen.map((e) => e.position)).toEqual(expected.map((e) => e.position));
          expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
          expect(recorder.error).toBeUndefined();
        }),
        { numRuns: 25 },
      );
    });
  });
}
