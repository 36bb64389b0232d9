import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EventTooLargeError,
  InvalidArgumentError,
  WrongExpectedRevisionError,
  isInvalidArgumentError,
} from '../errors.js';
import type { EventStore, ExpectedRevision } from '../types.js';
import { UUID_PATTERN } from '../uuid.js';
import { describeContractProperties } from './contract-properties.js';
import { event, record, uniquePrefix, waitFor } from './helpers.js';

export interface OpenedStore {
  store: EventStore;
  cleanup(): Promise<void>;
}

export interface ContractCapabilities {
  /** positions are 1, 2, 3, ... with no holes at allocation (embedded, memory); false for KurrentDB */
  gaplessPositions?: boolean;
}

/**
 * The behaviour every EventStore backend must show (docs/architecture.md "Delivery"; docs/architecture.md "Event store"). Each test opens a
 * fresh store; tests use unique stream names so a backend may also hand out a shared one.
 */
export function describeEventStoreContract(name: string, open: () => Promise<OpenedStore>, capabilities: ContractCapabilities = {}): void {
  const gapless = capabilities.gaplessPositions ?? true;

  describe(`EventStore contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: EventStore;
    let prefix: string;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      prefix = uniquePrefix('c');
    });
    afterEach(async () => {
      await opened.cleanup();
    });
    const s = (name: string): string => `${prefix}${name}`;

    it('appends and reads back the full envelope', async () => {
      const before = await store.headPosition();
      const result = await store.append(s('a'), [
        { type: 'tenants', action: 'create', key: 'acme', tenant: 'acme', data: { n: 1, list: [1, 'two', null], nested: { ok: true } }, meta: { principal: 'admin', correlationId: 'c1' } },
        { type: 'tenants', action: 'reconfigure', key: 'acme', schema: 3, data: null },
      ]);
      expect(result.stream).toBe(s('a'));
      expect(result.lastRevision).toBe(1);
      expect(result.positions).toHaveLength(2);
      expect(result.positions[1]!).toBeGreaterThan(result.positions[0]!);
      if (gapless) expect(result.positions).toEqual([before + 1, before + 2]);
      const [first, second] = await store.readStream(s('a'));
      expect(first).toMatchObject({
        stream: s('a'), type: 'tenants', action: 'create', key: 'acme', tenant: 'acme', schema: 1, revision: 0,
        position: result.positions[0], data: { n: 1, list: [1, 'two', null], nested: { ok: true } },
        meta: { principal: 'admin', correlationId: 'c1' },
      });
      expect(first!.id).toMatch(UUID_PATTERN);
      expect(first!.id[14]).toBe('7');
      expect(Math.abs(first!.time - Date.now())).toBeLessThan(60_000);
      expect(second).toMatchObject({ revision: 1, schema: 3, data: null, meta: {} });
      expect(second!.tenant).toBeUndefined();
      expect(second!.time).toBeGreaterThanOrEqual(first!.time);
      expect(await store.headPosition()).toBe(result.positions[1]);
      const all = await store.readAll({ after: before, streamPrefix: prefix });
      expect(all.map((e) => e.id)).toEqual([first!.id, second!.id]);
    });

    it('keeps a caller-supplied id and generates increasing UUIDv7 ids otherwise', async () => {
      const id = '0190e7c4-1d2b-7c3a-8f00-0123456789ab';
      await store.append(s('id'), [{ ...event('jobs', 'create', 'acme:1'), id }, event('jobs', 'dispatch', 'acme:1'), event('jobs', 'complete', 'acme:1')]);
      const events = await store.readStream(s('id'));
      expect(events[0]!.id).toBe(id);
      expect(events[1]!.id < events[2]!.id).toBe(true);
    });

    describe('optimistic concurrency', () => {
      const conflict = async (expected: ExpectedRevision, actual: number, message: RegExp): Promise<void> => {
        const head = await store.headPosition();
        const error = await store.append(s('cc'), [event('watchers', 'start', 'acme:web')], { expectedRevision: expected }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        const conflictError = error as WrongExpectedRevisionError;
        expect(conflictError.code).toBe('conflict');
        expect(conflictError.expected).toBe(expected);
        expect(conflictError.actual).toBe(actual);
        expect(conflictError.message).toMatch(message);
        expect(await store.headPosition()).toBe(head);
      };

      it('noStream, streamExists, exact revisions and any', async () => {
        await conflict('streamExists', -1, /expected revision streamExists, found no stream/);
        await conflict(0, -1, /expected revision 0, found no stream/);
        expect((await store.append(s('cc'), [event('watchers', 'create', 'acme:web')], { expectedRevision: 'noStream' })).lastRevision).toBe(0);
        await conflict('noStream', 0, /expected revision noStream, found revision 0/);
        await conflict(5, 0, /expected revision 5, found revision 0/);
        expect((await store.append(s('cc'), [event('watchers', 'start', 'acme:web')], { expectedRevision: 0 })).lastRevision).toBe(1);
        expect((await store.append(s('cc'), [event('watchers', 'stop', 'acme:web')], { expectedRevision: 'streamExists' })).lastRevision).toBe(2);
        expect((await store.append(s('cc'), [event('watchers', 'start', 'acme:web')])).lastRevision).toBe(3);
        expect((await store.readStream(s('cc'))).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
      });

      it('of two racing appends with the same expected revision exactly one wins', async () => {
        await store.append(s('race'), [event('processes', 'spawn', 'acme:web:0')]);
        const outcomes = await Promise.allSettled(
          [0, 1, 2, 3].map(() => store.append(s('race'), [event('processes', 'exit', 'acme:web:0')], { expectedRevision: 0 })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((await store.streamInfo(s('race'))).lastRevision).toBe(1);
      });
    });

    describe('bad input changes nothing', () => {
      const rejects = async (attempt: () => Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp): Promise<void> => {
        const head = await store.headPosition();
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(type);
        expect((error as Error).message).toMatch(message);
        expect(await store.headPosition()).toBe(head);
      };

      it('rejects an event over the size limit, even inside an otherwise fine batch', async () => {
        const big = 'x'.repeat(1024 * 1024 + 10);
        await rejects(() => store.append(s('big'), [event('logs', 'line', 'acme:web:0', { line: 'ok' }), event('logs', 'line', 'acme:web:0', { line: big })]), EventTooLargeError, /exceeds the limit of 1048576 bytes/);
        expect(await store.streamInfo(s('big'))).toMatchObject({ lastRevision: -1 });
        const error = await store.append(s('big'), [event('logs', 'line', 'k', { line: big })]).catch((e: unknown) => e);
        expect((error as EventTooLargeError).code).toBe('too-large');
      });

      it('rejects invalid stream names', async () => {
        for (const bad of ['', 'Upper', 'has space', 'a/b', '-leading', 'x'.repeat(300), 42 as unknown as string]) {
          await rejects(() => store.append(bad, [event('tenants', 'create', 'acme')]), InvalidArgumentError, /invalid stream name/);
        }
      });

      it('rejects malformed expected revisions', async () => {
        for (const bad of [-5, 1.5, 'foo', Number.NaN, null, '3']) {
          await rejects(
            () => store.append(s('exp'), [event('tenants', 'create', 'acme')], { expectedRevision: bad as unknown as ExpectedRevision }),
            InvalidArgumentError,
            /invalid expected revision/,
          );
        }
      });

      it('rejects malformed events and read options', async () => {
        await rejects(() => store.append(s('ev'), [{ type: 'Bad.Type', action: 'create', key: 'k', data: 1 }]), InvalidArgumentError, /event 0: invalid type/);
        await rejects(() => store.append(s('ev'), [event('tenants', 'create', 'k'), { type: 'tenants', action: '', key: 'k', data: 1 }]), InvalidArgumentError, /event 1: invalid action/);
        await rejects(() => store.append(s('ev'), [{ type: 'tenants', action: 'create', key: 'k' } as never]), InvalidArgumentError, /invalid data/);
        await rejects(() => store.append(s('ev'), 'nope' as never), InvalidArgumentError, /events must be an array/);
        await rejects(() => store.readAll({ after: -1 }), InvalidArgumentError, /invalid after position/);
        await rejects(() => store.readAll({ limit: 0 }), InvalidArgumentError, /invalid limit/);
        await rejects(() => store.readStream(s('ev'), { direction: 'sideways' as never }), InvalidArgumentError, /invalid direction/);
        expect(isInvalidArgumentError(await store.setStreamMetadata(s('ev'), { maxCount: -1 }).catch((e: unknown) => e))).toBe(true);
      });
    });

    describe('reads', () => {
      it('reads a stream forward and backward with bounds and limits', async () => {
        await store.append(s('r'), Array.from({ length: 10 }, (_, i) => event('processes', 'stats', 'acme:web:0', { i })));
        const revisions = async (options: Parameters<EventStore['readStream']>[1]): Promise<number[]> =>
          (await store.readStream(s('r'), options)).map((e) => e.revision);
        expect(await revisions({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await revisions({ limit: 3 })).toEqual([0, 1, 2]);
        expect(await revisions({ afterRevision: 6 })).toEqual([7, 8, 9]);
        expect(await revisions({ afterRevision: 9 })).toEqual([]);
        expect(await revisions({ direction: 'backward', limit: 3 })).toEqual([9, 8, 7]);
        expect(await revisions({ direction: 'backward', beforeRevision: 4 })).toEqual([3, 2, 1, 0]);
        expect(await revisions({ direction: 'backward', beforeRevision: 4, limit: 2 })).toEqual([3, 2]);
        expect(await store.readStream(s('missing'))).toEqual([]);
        expect(await store.streamInfo(s('missing'))).toEqual({ stream: s('missing'), lastRevision: -1, firstRevision: 0, metadata: {} });
      });

      it('reads all in position order with after, limit and filters (types, excludeTypes, streamPrefix)', async () => {
        const start = await store.headPosition();
        await store.append(s('log-1'), [event('logs', 'line', 'acme:web:0', { line: 'a' }), event('logs', 'line', 'acme:web:0', { line: 'b' })]);
        await store.append(s('proc-1'), [event('processes', 'spawn', 'acme:web:0', { pid: 1 })]);
        await store.append(s('log-1'), [event('logs', 'line', 'acme:web:0', { line: 'c' })]);
        await store.append(s('job-1'), [event('jobs', 'create', 'acme:1')]);
        const all = await store.readAll({ after: start, streamPrefix: prefix });
        expect(all.map((e) => e.type)).toEqual(['logs', 'logs', 'processes', 'logs', 'jobs']);
        for (let i = 1; i < all.length; i++) expect(all[i]!.position).toBeGreaterThan(all[i - 1]!.position);
        const keys = (events: { type: string; action: string; data: unknown }[]): string[] => events.map((e) => `${e.type}.${e.action}`);
        expect(keys(await store.readAll({ after: start, streamPrefix: prefix, excludeTypes: ['logs'] }))).toEqual(['processes.spawn', 'jobs.create']);
        expect(keys(await store.readAll({ after: start, streamPrefix: prefix, types: ['logs', 'jobs'] }))).toEqual(['logs.line', 'logs.line', 'logs.line', 'jobs.create']);
        expect((await store.readAll({ after: start, streamPrefix: s('log-') })).map((e) => (e.data as { line: string }).line)).toEqual(['a', 'b', 'c']);
        expect(await store.readAll({ after: start, streamPrefix: prefix, limit: 2 })).toEqual(all.slice(0, 2));
        expect(await store.readAll({ after: all[2]!.position, streamPrefix: prefix })).toEqual(all.slice(3));
        expect(await store.readAll({ after: all[4]!.position, streamPrefix: prefix })).toEqual([]);
      });

      it('finds positions by time', async () => {
        const t0 = Date.now();
        await store.append(s('tt'), [event('tenants', 'create', 'a')]);
        const head = await store.headPosition();
        expect(await store.positionAtTime(t0 + 3_600_000)).toBe(head + 1);
        const [e] = await store.readStream(s('tt'));
        const at = await store.positionAtTime(e!.time);
        expect(at).toBeLessThanOrEqual(e!.position);
        const earlier = await store.readAll({ after: Math.max(0, at - 50), limit: 50 });
        for (const x of earlier) if (x.position < at) expect(x.time).toBeLessThan(e!.time);
        expect(await store.positionAtTime(0)).toBeLessThanOrEqual(e!.position);
      });
    });

    describe('retention and truncation', () => {
      it('keeps at most maxCount newest events; revisions continue', async () => {
        await store.setStreamMetadata(s('log'), { maxCount: 10 });
        for (let i = 0; i < 5; i++) await store.append(s('log'), Array.from({ length: 5 }, (_, j) => event('logs', 'line', 'acme:web:0', { n: i * 5 + j })));
        const info = await store.streamInfo(s('log'));
        expect(info).toMatchObject({ lastRevision: 24, firstRevision: 15, metadata: { maxCount: 10 } });
        const events = await store.readStream(s('log'));
        expect(events.map((e) => e.revision)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
        expect((await store.readStream(s('log'), { direction: 'backward', limit: 100 })).map((e) => e.revision)[9]).toBe(15);
      });

      it('drops events older than maxAgeMs from stream reads', async () => {
        await store.append(s('aged'), [event('processes', 'stats', 'acme:web:0', { cpu: 1 })]);
        await store.setStreamMetadata(s('aged'), { maxAgeMs: 1000 });
        expect((await store.streamInfo(s('aged'))).metadata).toEqual({ maxAgeMs: 1000 });
        await waitFor('the aged event to expire', async () => (await store.readStream(s('aged'))).length === 0, 10_000);
        await store.append(s('aged'), [event('processes', 'stats', 'acme:web:0', { cpu: 2 })]);
        expect((await store.readStream(s('aged'))).map((e) => e.revision)).toEqual([1]);
      });

      it('truncates before a revision without restarting revisions', async () => {
        await store.append(s('tr'), Array.from({ length: 6 }, (_, i) => event('jobs', 'return', 'acme:1', { i })));
        await store.truncateStream(s('tr'), 4);
        expect((await store.readStream(s('tr'))).map((e) => e.revision)).toEqual([4, 5]);
        expect(await store.streamInfo(s('tr'))).toMatchObject({ firstRevision: 4, lastRevision: 5 });
        expect((await store.append(s('tr'), [event('jobs', 'complete', 'acme:1')], { expectedRevision: 5 })).lastRevision).toBe(6);
        await store.truncateStream(s('tr'), 100);
        expect(await store.readStream(s('tr'))).toEqual([]);
        expect((await store.append(s('tr'), [event('jobs', 'complete', 'acme:1')], { expectedRevision: 6 })).lastRevision).toBe(7);
        expect((await store.readStream(s('tr'))).map((e) => e.revision)).toEqual([7]);
      });
    });

    describe('subscriptions', () => {
      it('subscribeToAll catches up, says caughtUp, then delivers live appends in order', async () => {
        const start = await store.headPosition();
        await store.append(s('sub'), [event('tenants', 'create', 'a'), event('tenants', 'reconfigure', 'a')]);
        const recorder = record(store.subscribeToAll({ after: start, streamPrefix: prefix }));
        await waitFor('caught up', () => recorder.caughtUp);
        const caughtUpAt = recorder.notices.findIndex((n) => n.kind === 'caughtUp');
        expect(recorder.events.map((e) => e.action)).toEqual(['create', 'reconfigure']);
        expect(recorder.notices.slice(0, caughtUpAt).every((n) => n.kind === 'events')).toBe(true);
        const caughtUp = recorder.notices[caughtUpAt] as { kind: 'caughtUp'; position: number };
        expect(caughtUp.position).toBeGreaterThanOrEqual(recorder.events[1]!.position);
        await store.append(s('sub'), [event('tenants', 'destroy', 'a')]);
        await store.append(s('other'), [event('jobs', 'create', 'a:1')]);
        await waitFor('live events', () => recorder.events.length === 4);
        expect(recorder.events.map((e) => e.action)).toEqual(['create', 'reconfigure', 'destroy', 'create']);
        expect(recorder.notices.filter((n) => n.kind === 'caughtUp')).toHaveLength(1);
        recorder.subscription.unsubscribe();
        expect(recorder.error).toBeUndefined();
      });

      it('subscribeToAll without a position starts at the head ("now")', async () => {
        await store.append(s('now'), [event('tenants', 'create', 'old')]);
        const recorder = record(store.subscribeToAll({ streamPrefix: prefix }));
        await waitFor('caught up', () => recorder.caughtUp);
        await store.append(s('now'), [event('tenants', 'create', 'new')]);
        await waitFor('the new event', () => recorder.events.length === 1);
        expect(recorder.events[0]!.key).toBe('new');
        recorder.subscription.unsubscribe();
      });

      it('subscribeToAll skips excluded types', async () => {
        const start = await store.headPosition();
        const recorder = record(store.subscribeToAll({ after: start, streamPrefix: prefix, excludeTypes: ['logs'] }));
        await store.append(s('x'), [event('logs', 'line', 'k'), event('processes', 'spawn', 'k'), event('logs', 'line', 'k')]);
        await store.append(s('y'), [event('jobs', 'create', 'k')]);
        await waitFor('two events', () => recorder.events.length === 2);
        expect(recorder.events.map((e) => e.type)).toEqual(['processes', 'jobs']);
        recorder.subscription.unsubscribe();
      });

      it('subscribeToStream delivers one stream from a revision, then live', async () => {
        await store.append(s('one'), [event('watchers', 'create', 'a:w'), event('watchers', 'start', 'a:w')]);
        await store.append(s('two'), [event('watchers', 'create', 'a:v')]);
        const recorder = record(store.subscribeToStream(s('one'), { afterRevision: 0 }));
        await waitFor('caught up', () => recorder.caughtUp);
        expect(recorder.events.map((e) => e.revision)).toEqual([1]);
        await store.append(s('two'), [event('watchers', 'stop', 'a:v')]);
        await store.append(s('one'), [event('watchers', 'stop', 'a:w')]);
        await waitFor('the live event', () => recorder.events.length === 2);
        expect(recorder.events.map((e) => `${e.stream}@${e.revision}`)).toEqual([`${s('one')}@1`, `${s('one')}@2`]);
        const whole = record(store.subscribeToStream(s('one')));
        await waitFor('whole stream', () => whole.caughtUp);
        expect(whole.events.map((e) => e.revision)).toEqual([0, 1, 2]);
        recorder.subscription.unsubscribe();
        whole.subscription.unsubscribe();
      });

      it('an unsubscribed subscription receives nothing more', async () => {
        const first = record(store.subscribeToAll({ streamPrefix: prefix }));
        await waitFor('caught up', () => first.caughtUp);
        first.subscription.unsubscribe();
        const second = record(store.subscribeToAll({ streamPrefix: prefix }));
        await waitFor('caught up', () => second.caughtUp);
        await store.append(s('u'), [event('tenants', 'create', 'a')]);
        await waitFor('the second subscriber to see it', () => second.events.length === 1);
        expect(first.events).toEqual([]);
        second.subscription.unsubscribe();
      });
    });

    it('counts appends in stats()', async () => {
      const before = store.stats();
      await store.append(s('st'), [event('tenants', 'create', 'a'), event('tenants', 'destroy', 'a')]);
      const after = store.stats();
      expect(after.appendCalls - before.appendCalls).toBe(1);
      expect(after.appendedEvents - before.appendedEvents).toBe(2);
      expect(after.commits).toBeGreaterThan(before.commits);
      expect(after.commitLatency.count).toBeGreaterThan(before.commitLatency.count);
      expect(after.headPosition).toBe(await store.headPosition());
    });

    describeContractProperties(() => store, () => prefix, gapless);
  });
}
