import { Transform, type TransformCallback } from 'node:stream';
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StoreClosedError, UnavailableError } from '../errors.js';
import { record, waitFor } from '../testing/helpers.js';
import type { RecordedEvent, StoreNotice } from '../types.js';
import { CatchUpDriver, type CatchUpSink } from './catch-up.js';

/**
 * The driver is exercised against a real Node Transform that behaves like the client's
 * subscription: it transforms "server messages" into events and emits `caughtUp` from
 * inside `_transform`, while earlier events may still sit in its readable buffer.
 */
type ServerMessage = { event: number } | { caughtUp: true } | { checkpoint: number };

class FakeSubscription extends Transform {
  constructor(private readonly onCheckpoint: (stream: FakeSubscription, key: number) => void) {
    super({ objectMode: true, highWaterMark: 4 });
  }

  override _transform(message: ServerMessage, _encoding: string, next: TransformCallback): void {
    if ('caughtUp' in message) {
      this.emit('caughtUp', {});
      next();
    } else if ('checkpoint' in message) {
      this.onCheckpoint(this, message.checkpoint);
      next();
    } else {
      next(null, { key: message.event });
    }
  }
}

const recorded = (key: number): RecordedEvent => ({
  id: `id-${key}`, stream: 's', type: 'jobs', action: 'create', key: 'k', schema: 1, revision: key, position: key * 10, time: 0, data: null, meta: {},
});

function start(sink: Partial<CatchUpSink>): { source: FakeSubscription; observable: Observable<StoreNotice>; driver: () => CatchUpDriver } {
  let driver: CatchUpDriver | undefined;
  const source = new FakeSubscription((stream, key) => driver!.checkpoint(stream, key));
  const observable = new Observable<StoreNotice>((subscriber) => {
    driver = new CatchUpDriver(subscriber, {
      operation: 'test subscription',
      afterKey: -1,
      headKeyAtStart: 100,
      caughtUpPosition: (scannedTo) => scannedTo,
      convert: (raw) => {
        const key = (raw as { key: number }).key;
        return { key, position: key * 10, event: key % 5 === 4 ? undefined : recorded(key) }; // every 5th is "filtered out"
      },
      ...sink,
    });
    driver.attach(source);
    return () => driver!.stop();
  });
  return { source, observable, driver: () => driver! };
}

describe('catch-up driver', () => {
  it('emits caughtUp only after the events buffered before the signal, exactly once', async () => {
    const { source, observable } = start({});
    const recorder = record(observable);
    // the consumer is slower than the producer: events pile up in the readable buffer
    source.pause();
    for (let key = 0; key < 30; key++) source.write({ event: key });
    source.write({ caughtUp: true });
    for (let key = 30; key < 35; key++) source.write({ event: key });
    source.write({ caughtUp: true });
    source.resume();
    await waitFor('all events', () => recorder.events.length === 28);
    const caughtUpIndex = recorder.notices.findIndex((n) => n.kind === 'caughtUp');
    const before = recorder.notices.slice(0, caughtUpIndex).flatMap((n) => (n.kind === 'events' ? n.events : []));
    expect(before.map((e) => e.revision)).toEqual(Array.from({ length: 30 }, (_, k) => k).filter((k) => k % 5 !== 4));
    expect(recorder.notices[caughtUpIndex]).toEqual({ kind: 'caughtUp', position: 290 });
    expect(recorder.notices.filter((n) => n.kind === 'caughtUp')).toHaveLength(1);
    recorder.subscription.unsubscribe();
  });

  it('drops duplicates and events at or before the start, and says caughtUp on reaching the head', async () => {
    const { source, observable } = start({ afterKey: 3, headKeyAtStart: 6 });
    const recorder = record(observable);
    for (const key of [2, 3, 5, 5, 6, 6, 7]) source.write({ event: key });
    await waitFor('events', () => recorder.events.length === 3);
    expect(recorder.events.map((e) => e.revision)).toEqual([5, 6, 7]);
    expect(recorder.notices.map((n) => n.kind)).toEqual(['events', 'caughtUp', 'events']);
    recorder.subscription.unsubscribe();
  });

  it('is caught up at once when nothing lies between the start and the head', () => {
    const { observable } = start({ afterKey: 100, headKeyAtStart: 100, caughtUpPosition: () => 1000 });
    const recorder = record(observable);
    expect(recorder.notices).toEqual([{ kind: 'caughtUp', position: 1000 }]);
    recorder.subscription.unsubscribe();
  });

  it('treats a checkpoint beyond the head as caught up (a filter skipped the head event)', async () => {
    const { source, observable } = start({ headKeyAtStart: 50 });
    const recorder = record(observable);
    source.write({ event: 1 });
    source.write({ checkpoint: 50 });
    source.write({ event: 2 });
    await waitFor('events', () => recorder.events.length === 2);
    expect(recorder.caughtUp).toBe(false);
    source.write({ checkpoint: 51 });
    await waitFor('caught up', () => recorder.caughtUp);
    recorder.subscription.unsubscribe();
  });

  it('translates stream errors and reports an unexpected end; stops after unsubscribe', async () => {
    const failing = start({});
    const recorder = record(failing.observable);
    failing.source.destroy(Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: 14 }));
    await waitFor('the error', () => recorder.error !== undefined);
    expect(recorder.error).toBeInstanceOf(UnavailableError);

    const ending = start({});
    const ended = record(ending.observable);
    ending.source.end();
    ending.source.resume();
    await waitFor('the error', () => ended.error !== undefined);
    expect((ended.error as Error).message).toMatch(/KurrentDB ended the subscription/);

    const closing = start({});
    const closed = record(closing.observable);
    closing.driver().fail(new StoreClosedError());
    expect(closed.error).toBeInstanceOf(StoreClosedError);
    closing.source.write({ event: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed.events).toEqual([]);
  });
});
