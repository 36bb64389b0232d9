import type { Readable } from 'node:stream';
import type { Subscriber } from 'rxjs';
import { UnavailableError } from '../errors.js';
import type { Position, RecordedEvent, StoreNotice } from '../types.js';
import { translateDriverError } from './driver-errors.js';

/**
 * Turns one of the client's catch-up subscriptions (a Node Readable of resolved events that
 * also emits `caughtUp`) into Corral `StoreNotice`s.
 *
 * Ordering subtlety: the client emits `caughtUp` (and calls `checkpointReached`) while it
 * transforms the server's messages, but events transformed before that may still sit in
 * the Readable's buffer, not yet delivered. So a caught-up signal is held back until the
 * events that were buffered when it arrived (`readableLength`) have been delivered; only
 * then is `caughtUp` emitted. Events are deduplicated by a strictly increasing key
 * (position, or revision for stream subscriptions), which also absorbs any inclusive or
 * exclusive start the server applies.
 */
export interface CatchUpSink {
  /** converts one raw event; undefined to skip it (not Corral's, or filtered out) */
  convert(raw: unknown): { key: number; position: Position | undefined; event: RecordedEvent | undefined };
  /** events with key <= this were delivered before (or are before the start) */
  afterKey: number;
  /** the key of the newest event when the subscription started: reaching it means caught up */
  headKeyAtStart: number;
  /** the position reported with `caughtUp`, given the newest position scanned so far */
  caughtUpPosition(scannedTo: Position): Position;
  /** the operation name for error messages */
  operation: string;
}

const MAX_BATCH = 1000;

export class CatchUpDriver {
  private lastKey: number;
  private scannedTo = 0;
  private caughtUp = false;
  /** events still buffered in the Readable when a caught-up signal arrived */
  private pendingBeforeCaughtUp: number | undefined;
  private batch: RecordedEvent[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(
    private readonly subscriber: Subscriber<StoreNotice>,
    private readonly sink: CatchUpSink,
  ) {
    this.lastKey = sink.afterKey;
  }

  /** Wires the client's subscription; call once it exists. */
  attach(stream: Readable): void {
    stream.on('data', (raw: unknown) => this.onData(raw));
    stream.on('caughtUp', () => this.signalCaughtUp(stream));
    stream.on('error', (error: unknown) => this.fail(translateDriverError(error, { operation: this.sink.operation })));
    stream.on('end', () => {
      if (!this.stopped) this.fail(new UnavailableError(`${this.sink.operation}: KurrentDB ended the subscription`));
    });
    if (this.sink.headKeyAtStart <= this.sink.afterKey) this.emitCaughtUp();
  }

  /** A filtered $all subscription's checkpoint: the server has looked past `key`. */
  checkpoint(stream: Readable, key: number): void {
    if (!this.caughtUp && key > this.sink.headKeyAtStart) this.signalCaughtUp(stream);
  }

  stop(): void {
    this.stopped = true;
    this.batch = [];
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
  }

  fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.subscriber.error(error);
  }

  private signalCaughtUp(stream: Readable): void {
    if (this.caughtUp || this.pendingBeforeCaughtUp !== undefined) return;
    if (stream.readableLength === 0) this.emitCaughtUp();
    else this.pendingBeforeCaughtUp = stream.readableLength;
  }

  private onData(raw: unknown): void {
    if (this.stopped) return;
    try {
      const { key, position, event } = this.sink.convert(raw);
      if (position !== undefined && position > this.scannedTo) this.scannedTo = position;
      if (key > this.lastKey) {
        this.lastKey = key;
        if (event !== undefined) {
          this.batch.push(event);
          if (this.batch.length >= MAX_BATCH) this.flush();
          else this.scheduleFlush();
        }
        if (!this.caughtUp && key >= this.sink.headKeyAtStart) this.emitCaughtUp();
      }
    } catch (error) {
      this.fail(translateDriverError(error, { operation: this.sink.operation }));
      return;
    }
    if (this.pendingBeforeCaughtUp !== undefined && --this.pendingBeforeCaughtUp <= 0) {
      this.pendingBeforeCaughtUp = undefined;
      if (!this.caughtUp) this.emitCaughtUp();
    }
  }

  private emitCaughtUp(): void {
    if (this.caughtUp || this.stopped) return;
    this.flush();
    this.caughtUp = true;
    this.pendingBeforeCaughtUp = undefined;
    this.subscriber.next({ kind: 'caughtUp', position: this.sink.caughtUpPosition(this.scannedTo) });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled !== undefined) return;
    // live appends arrive one by one; a macrotask's worth are delivered as one batch
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (this.flushScheduled !== undefined) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = undefined;
    }
    if (this.batch.length === 0 || this.stopped) return;
    const events = this.batch;
    this.batch = [];
    this.subscriber.next({ kind: 'events', events });
  }
}
