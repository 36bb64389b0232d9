import {
  END,
  START,
  type AllStreamResolvedEvent,
  type KurrentDBClient,
  type Position as KurrentPosition,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { Observable } from 'rxjs';
import { CorruptStoreError, InvalidArgumentError, StoreClosedError } from '../errors.js';
import { assertStreamName } from '../keys.js';
import type {
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreNotice,
  SubscribeAllOptions,
  SubscribeStreamOptions,
} from '../types.js';
import { checkPosition, checkReadAll, checkReadStream, checkRevisionBound, compileSelection, selectionMatches, type CompiledSelection } from '../validation.js';
import { CatchUpDriver } from './catch-up.js';
import { isMissingStream, translateDriverError } from './driver-errors.js';
import { BACKWARDS, FORWARDS, fromKurrentEvent, identifyKurrentEvent, namespaceFilter, toKurrentStream, toPosition, toServerFilter } from './mapping.js';
import { readPositionOf, scanAll } from './scan-all.js';

const PAGE_SIZE = 500;

/**
 * The read side of the KurrentDB store: stream and $all reads, catch-up subscriptions, the
 * head and time lookups, and the open/closed state they all check. `KurrentDbEventStore`
 * (kurrentdb-store.ts) adds appends, stream metadata, stats and close.
 */
export abstract class KurrentDbReads {
  protected closed = false;
  protected knownHead: Position = 0;
  protected readonly activeSubscriptions = new Set<CatchUpDriver>();

  constructor(
    protected readonly client: KurrentDBClient,
    protected readonly namespace: string | undefined,
  ) {}

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.ensureOpen();
    const { afterRevision, beforeRevision, limit, backward } = checkReadStream(stream, options);
    let from: bigint | typeof END;
    if (!backward) from = BigInt(afterRevision + 1);
    else if (beforeRevision === undefined) from = END;
    else if (beforeRevision - 1 <= afterRevision) return [];
    else from = BigInt(beforeRevision - 1);
    const events = await this.readStreamRaw(stream, from, limit, backward ? 'backward' : 'forward');
    return backward ? events.filter((event) => event.revision > afterRevision) : events;
  }

  protected async readStreamRaw(
    stream: string,
    from: bigint | typeof START | typeof END,
    maxCount: number,
    direction: 'forward' | 'backward',
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    const name = toKurrentStream(stream, this.namespace);
    try {
      for await (const resolved of this.client.readStream(name, {
        fromRevision: from,
        maxCount,
        direction: direction === 'forward' ? FORWARDS : BACKWARDS,
      })) {
        const event = this.decodeStreamEvent(resolved, stream);
        if (event !== undefined) out.push(event);
      }
    } catch (error) {
      if (isMissingStream(error)) return out;
      throw translateDriverError(error, { stream, operation: `read ${stream}` });
    }
    return out;
  }

  private decodeStreamEvent(resolved: ResolvedEvent, stream: string): RecordedEvent | undefined {
    const raw = resolved.event;
    if (raw === undefined || raw.type.startsWith('$')) return undefined;
    const event = fromKurrentEvent(raw, this.namespace, raw.position);
    if (event === undefined) {
      throw new CorruptStoreError(`stream ${stream} holds KurrentDB event ${raw.id} (type ${raw.type}) that Corral did not write`, {
        stream,
        revision: Number(raw.revision),
      });
    }
    return event;
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.ensureOpen();
    const { after, limit, selection } = checkReadAll(options);
    const out: RecordedEvent[] = [];
    const from = await this.startingPoint(after);
    const pageSize = Math.min(limit + 1, PAGE_SIZE);
    for await (const page of scanAll(this.client, { direction: 'forward', from, filter: toServerFilter(selection, this.namespace), pageSize })) {
      for (const { resolved, position } of page) {
        if (toPosition(position) <= after) continue;
        const event = this.decodeAllEvent(resolved, position, selection);
        if (event === undefined) continue;
        out.push(event);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Decodes an event of $all if it is Corral's and selected; names are checked before the payload is decoded. */
  private decodeAllEvent(resolved: AllStreamResolvedEvent, position: KurrentPosition, selection: CompiledSelection | undefined): RecordedEvent | undefined {
    const raw = resolved.event;
    if (raw === undefined) return undefined;
    const identity = identifyKurrentEvent(raw, this.namespace);
    if (identity === undefined) return undefined;
    if (selection !== undefined && !selectionMatches(selection, identity.type, identity.stream)) return undefined;
    return fromKurrentEvent(raw, this.namespace, position, identity);
  }

  /**
   * Where a forward read or subscription of "events after `after`" may start. KurrentDB
   * only accepts positions at record boundaries; Corral callers may pass any number (e.g.
   * `positionAtTime(t) - 1`). Event positions are boundaries, so `after` is tried as is;
   * if the server refuses it, the newest event at or before `after` is found by reading
   * backwards from the end (cost: the events after `after`). Events at or before `after`
   * are dropped by the caller either way.
   */
  private async startingPoint(after: Position): Promise<ReturnType<typeof readPositionOf>> {
    if (after <= 0) return START;
    const exact = readPositionOf(after);
    try {
      for await (const _ of this.client.readAll({ fromPosition: exact, maxCount: 1, filter: namespaceFilter(this.namespace) })) {
        // reading one event is the test: the server refuses positions inside a record
      }
      return exact;
    } catch (error) {
      const translated = translateDriverError(error, { operation: 'read $all' });
      if ((translated as { code?: string }).code === 'unavailable') throw translated;
    }
    for await (const page of scanAll(this.client, { direction: 'backward', from: END, filter: namespaceFilter(this.namespace), pageSize: PAGE_SIZE })) {
      for (const { position } of page) if (toPosition(position) <= after) return position;
    }
    return START;
  }

  subscribeToAll(options?: SubscribeAllOptions): Observable<StoreNotice> {
    const selection = compileSelection(options);
    const requestedAfter = options?.after === undefined ? undefined : checkPosition('after position', options.after, 0);
    return new Observable<StoreNotice>((subscriber) => {
      let driver: CatchUpDriver | undefined;
      let stopped = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      const start = async (): Promise<void> => {
        this.ensureOpen();
        const headAtStart = await this.headPosition();
        const after = requestedAfter ?? headAtStart;
        const from = await this.startingPoint(after);
        if (stopped) return;
        this.ensureOpen(); // closed while starting
        driver = new CatchUpDriver(subscriber, {
          operation: 'subscription to $all',
          afterKey: after,
          headKeyAtStart: headAtStart,
          caughtUpPosition: (scannedTo) => Math.max(after, headAtStart, scannedTo),
          convert: (raw) => {
            const resolved = raw as AllStreamResolvedEvent;
            const position = resolved.event?.position;
            if (position === undefined) return { key: -1, position: undefined, event: undefined };
            const key = toPosition(position);
            if (key <= after) return { key, position: key, event: undefined };
            return { key, position: key, event: this.decodeAllEvent(resolved, position, selection) };
          },
        });
        this.activeSubscriptions.add(driver);
        const filter = toServerFilter(selection, this.namespace);
        const catchUp = driver;
        filter.checkpointReached = (subscription, position) => catchUp.checkpoint(subscription, toPosition(position));
        const subscription = this.client.subscribeToAll({ fromPosition: from, filter });
        unsubscribe = () => subscription.unsubscribe();
        driver.attach(subscription);
      };
      start().catch((error: unknown) => {
        if (!stopped) subscriber.error(translateDriverError(error, { operation: 'subscription to $all' }));
      });
      return () => {
        stopped = true;
        if (driver !== undefined) {
          driver.stop();
          this.activeSubscriptions.delete(driver);
        }
        unsubscribe?.().catch(() => undefined);
      };
    });
  }

  subscribeToStream(stream: string, options?: SubscribeStreamOptions): Observable<StoreNotice> {
    assertStreamName(stream);
    const afterRevision = checkRevisionBound('afterRevision', options?.afterRevision, -1);
    return new Observable<StoreNotice>((subscriber) => {
      let driver: CatchUpDriver | undefined;
      let stopped = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      const start = async (): Promise<void> => {
        this.ensureOpen();
        const [last, headAtStart] = await Promise.all([this.lastEventOf(stream), this.headPosition()]);
        if (stopped) return;
        this.ensureOpen(); // closed while starting
        let lastDeliveredPosition = 0;
        driver = new CatchUpDriver(subscriber, {
          operation: `subscription to ${stream}`,
          afterKey: afterRevision,
          headKeyAtStart: last?.revision ?? -1,
          caughtUpPosition: () => Math.max(headAtStart, lastDeliveredPosition),
          convert: (raw) => {
            const resolved = raw as ResolvedEvent;
            if (resolved.event === undefined) return { key: -1, position: undefined, event: undefined };
            const key = Number(resolved.event.revision);
            if (key <= afterRevision) return { key, position: undefined, event: undefined };
            const event = this.decodeStreamEvent(resolved, stream);
            if (event !== undefined) lastDeliveredPosition = Math.max(lastDeliveredPosition, event.position);
            return { key, position: event?.position, event };
          },
        });
        this.activeSubscriptions.add(driver);
        const subscription = this.client.subscribeToStream(toKurrentStream(stream, this.namespace), {
          fromRevision: afterRevision < 0 ? START : BigInt(afterRevision),
        });
        unsubscribe = () => subscription.unsubscribe();
        driver.attach(subscription);
      };
      start().catch((error: unknown) => {
        if (!stopped) subscriber.error(translateDriverError(error, { stream, operation: `subscription to ${stream}` }));
      });
      return () => {
        stopped = true;
        if (driver !== undefined) {
          driver.stop();
          this.activeSubscriptions.delete(driver);
        }
        unsubscribe?.().catch(() => undefined);
      };
    });
  }

  /** The newest Corral event (of this namespace); foreign and system events are skipped. */
  async headPosition(): Promise<Position> {
    this.ensureOpen();
    for await (const page of scanAll(this.client, { direction: 'backward', from: END, filter: namespaceFilter(this.namespace), pageSize: 32 })) {
      for (const { resolved, position } of page) {
        if (resolved.event !== undefined && identifyKurrentEvent(resolved.event, this.namespace) !== undefined) {
          const head = toPosition(position);
          this.noteHead(head);
          return head;
        }
      }
    }
    return 0;
  }

  /**
   * Reads $all backwards from the end until an event older than `time`: the cost grows
   * with the number of events appended since `time` (KurrentDB has no index by time).
   */
  async positionAtTime(time: number): Promise<Position> {
    this.ensureOpen();
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new InvalidArgumentError(`invalid time ${String(time)}: must be milliseconds since the epoch`);
    }
    let head: Position | undefined;
    let candidate: Position | undefined;
    for await (const page of scanAll(this.client, { direction: 'backward', from: END, filter: namespaceFilter(this.namespace), pageSize: PAGE_SIZE })) {
      for (const { resolved, position } of page) {
        const raw = resolved.event;
        if (raw === undefined || identifyKurrentEvent(raw, this.namespace) === undefined) continue;
        const at = toPosition(position);
        head ??= at;
        if (raw.created.getTime() < time) return candidate ?? head + 1;
        candidate = at;
      }
    }
    return candidate ?? (head ?? 0) + 1;
  }

  protected ensureOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  protected noteHead(position: Position): void {
    if (position > this.knownHead) this.knownHead = position;
  }

  protected async lastEventOf(stream: string): Promise<RecordedEvent | undefined> {
    return (await this.readStreamRaw(stream, END, 1, 'backward'))[0];
  }
}
