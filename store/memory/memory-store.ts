import type { Observable } from 'rxjs';
import { decodeRecord, encodeRecord, patchRecord } from '../codec.js';
import { EventTooLargeError, StoreClosedError } from '../errors.js';
import { assertStreamName } from '../keys.js';
import { StoreStatsRecorder } from '../stats.js';
import { HeadWatchers, subscribeAllFrom, subscribeStreamFrom, type AllPage, type StreamPage, type SubscriptionSource } from '../subscriptions.js';
import {
  DEFAULT_MAX_EVENT_BYTES,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Revision,
  type StoreNotice,
  type StoreStats,
  type StreamInfo,
  type StreamMetadata,
  type SubscribeAllOptions,
  type SubscribeStreamOptions,
  type WriteHealth,
  WRITES_OK,
} from '../types.js';
import {
  checkAppend,
  checkExpected,
  checkPosition,
  checkReadAll,
  checkReadStream,
  checkRevisionBound,
  checkStreamMetadata,
  compileSelection,
  selectionMatches,
  type CompiledSelection,
} from '../validation.js';

interface MemoryStream {
  lastRevision: Revision;
  firstRevision: Revision;
  metadata: StreamMetadata;
  /** positions by revision, starting at revision `base` (compacted as retention drops events) */
  positions: Position[];
  base: Revision;
}

export interface MemoryStoreOptions {
  maxEventBytes?: number;
  /** the clock, injectable so tests can exercise age retention and time travel */
  now?: () => number;
}

/**
 * The in-memory backend: same semantics as the embedded store (events go through the same
 * codec, so size limits and payload normalisation match), nothing persisted. Events read
 * back are shared objects: treat them as read-only.
 */
export class MemoryEventStore implements EventStore, SubscriptionSource {
  readonly kind = 'memory';
  private readonly log: (RecordedEvent | undefined)[] = [];
  private readonly streams = new Map<string, MemoryStream>();
  private readonly watchers = new HeadWatchers();
  private readonly recorder = new StoreStatsRecorder();
  private readonly maxEventBytes: number;
  private readonly now: () => number;
  private lastTime = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.now = options.now ?? Date.now;
  }

  async append(stream: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult> {
    this.assertOpen();
    const expected = checkAppend(stream, events, options);
    const records = events.map((event) => encodeRecord(stream, event));
    for (const record of records) if (record.length > this.maxEventBytes) throw new EventTooLargeError(record.length, this.maxEventBytes);
    this.recorder.appendCalls++;
    const started = performance.now();
    const head = this.streams.get(stream);
    checkExpected(stream, expected, head?.lastRevision ?? -1);
    const info = head ?? { lastRevision: -1, firstRevision: 0, metadata: {}, positions: [], base: 0 };
    if (head === undefined) this.streams.set(stream, info);
    const time = (this.lastTime = Math.max(this.now(), this.lastTime));
    const positions: Position[] = [];
    for (const record of records) {
      const revision = ++info.lastRevision;
      patchRecord(record, revision, time);
      const position = this.log.length + 1;
      this.log.push(decodeRecord(record, position));
      info.positions.push(position);
      positions.push(position);
    }
    this.applyRetention(info);
    if (records.length > 0) {
      this.recorder.commits++;
      this.recorder.appendedEvents += records.length;
    }
    this.recorder.recordLatency(performance.now() - started);
    if (records.length > 0) this.watchers.wakeAll();
    return { stream, lastRevision: info.lastRevision, positions };
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    const read = checkReadStream(stream, options);
    const info = this.streams.get(stream);
    if (info === undefined) return [];
    const out: RecordedEvent[] = [];
    const oldest = this.oldestLiveTime(info);
    if (read.backward) {
      let revision = Math.min(info.lastRevision, (read.beforeRevision ?? info.lastRevision + 1) - 1);
      for (; revision >= info.firstRevision && revision > read.afterRevision && out.length < read.limit; revision--) {
        const event = this.eventAt(info, revision);
        if (event !== undefined && event.time >= oldest) out.push(event);
      }
      return out;
    }
    const end = read.beforeRevision === undefined ? info.lastRevision : Math.min(info.lastRevision, read.beforeRevision - 1);
    for (let revision = Math.max(info.firstRevision, read.afterRevision + 1); revision <= end && out.length < read.limit; revision++) {
      const event = this.eventAt(info, revision);
      if (event !== undefined && event.time >= oldest) out.push(event);
    }
    return out;
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    const read = checkReadAll(options);
    return this.scan(read.after, read.selection, read.limit, Number.POSITIVE_INFINITY).events;
  }

  subscribeToAll(options?: SubscribeAllOptions): Observable<StoreNotice> {
    const after = options?.after === undefined ? undefined : checkPosition('after position', options.after, 0);
    return subscribeAllFrom(this, after, compileSelection(options));
  }

  subscribeToStream(stream: string, options?: SubscribeStreamOptions): Observable<StoreNotice> {
    assertStreamName(stream);
    return subscribeStreamFrom(this, stream, checkRevisionBound('afterRevision', options?.afterRevision, -1));
  }

  async headPosition(): Promise<Position> {
    this.assertOpen();
    return this.log.length;
  }

  async positionAtTime(time: number): Promise<Position> {
    this.assertOpen();
    // times are non-decreasing with position: binary search for the first time >= `time`
    let low = 0;
    let high = this.log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.timeAtOrAfter(middle) < time) low = middle + 1;
      else high = middle;
    }
    return low + 1;
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    this.assertOpen();
    assertStreamName(stream);
    const info = this.streams.get(stream);
    if (info === undefined) return { stream, lastRevision: -1, firstRevision: 0, metadata: {} };
    return { stream, lastRevision: info.lastRevision, firstRevision: info.firstRevision, metadata: { ...info.metadata } };
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const checked = checkStreamMetadata(stream, metadata);
    let info = this.streams.get(stream);
    if (info === undefined) this.streams.set(stream, (info = { lastRevision: -1, firstRevision: 0, metadata: {}, positions: [], base: 0 }));
    info.metadata = checked;
    this.applyRetention(info);
  }

  async truncateStream(stream: string, beforeRevision: Revision): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const before = checkPosition('beforeRevision', beforeRevision, 0);
    let info = this.streams.get(stream);
    if (info === undefined) this.streams.set(stream, (info = { lastRevision: -1, firstRevision: 0, metadata: {}, positions: [], base: 0 }));
    this.dropBefore(info, Math.min(before, info.lastRevision + 1));
  }

  stats(): StoreStats {
    return this.recorder.snapshot(this.log.length);
  }

  /** Memory never fails to write. */
  writeHealth(): WriteHealth {
    return WRITES_OK;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // wake subscriptions so they notice the close and end with StoreClosedError
    this.watchers.wakeAll();
    this.watchers.clear();
  }

  // SubscriptionSource

  readAllPage(after: Position, selection: CompiledSelection, limit: number): AllPage {
    return this.scan(after, selection, limit, limit * 50);
  }

  readStreamPage(stream: string, afterRevision: Revision, limit: number): StreamPage {
    const head = this.log.length;
    const info = this.streams.get(stream);
    if (info === undefined) return { events: [], head, complete: true, scannedTo: afterRevision };
    const events: RecordedEvent[] = [];
    let revision = Math.max(info.firstRevision, afterRevision + 1);
    for (; revision <= info.lastRevision && events.length < limit; revision++) {
      const event = this.eventAt(info, revision);
      if (event !== undefined) events.push(event);
    }
    return { events, head, complete: revision > info.lastRevision, scannedTo: Math.max(afterRevision, revision - 1) };
  }

  knownHead(): Position {
    return this.log.length;
  }

  watchHead(wake: () => void): () => void {
    return this.watchers.add(wake);
  }

  isClosed(): boolean {
    return this.closed;
  }

  // internals

  private scan(after: Position, selection: CompiledSelection, limit: number, maxScanned: number): AllPage {
    const head = this.log.length;
    const events: RecordedEvent[] = [];
    let position = after;
    let scanned = 0;
    while (position < head && events.length < limit && scanned < maxScanned) {
      const event = this.log[position++];
      scanned++;
      if (event !== undefined && selectionMatches(selection, event.type, event.stream)) events.push(event);
    }
    return { events, scannedTo: Math.max(after, position), head };
  }

  private eventAt(info: MemoryStream, revision: Revision): RecordedEvent | undefined {
    const position = info.positions[revision - info.base];
    return position === undefined ? undefined : this.log[position - 1];
  }

  /** the time of the first event at index >= `index` that still exists (Infinity if none) */
  private timeAtOrAfter(index: number): number {
    for (let i = index; i < this.log.length; i++) {
      const event = this.log[i];
      if (event !== undefined) return event.time;
    }
    return Number.POSITIVE_INFINITY;
  }

  private oldestLiveTime(info: MemoryStream): number {
    return info.metadata.maxAgeMs === undefined ? Number.NEGATIVE_INFINITY : this.now() - info.metadata.maxAgeMs;
  }

  private applyRetention(info: MemoryStream): void {
    const { maxCount, maxAgeMs } = info.metadata;
    if (maxCount !== undefined && info.lastRevision - info.firstRevision + 1 > maxCount) {
      this.dropBefore(info, info.lastRevision + 1 - maxCount);
    }
    if (maxAgeMs !== undefined) {
      const oldest = this.now() - maxAgeMs;
      let revision = info.firstRevision;
      while (revision <= info.lastRevision && (this.eventAt(info, revision)?.time ?? oldest) < oldest) revision++;
      this.dropBefore(info, revision);
    }
  }

  private dropBefore(info: MemoryStream, before: Revision): void {
    if (before <= info.firstRevision) return;
    for (let revision = info.firstRevision; revision < before; revision++) {
      const position = info.positions[revision - info.base];
      if (position !== undefined) this.log[position - 1] = undefined;
    }
    info.firstRevision = before;
    // compact the revision index once most of it is dead, keeping drops amortised O(1)
    const dead = before - info.base;
    if (dead > 1024 && dead * 2 > info.positions.length) {
      info.positions = info.positions.slice(dead);
      info.base = before;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

export function openMemoryStore(options: MemoryStoreOptions = {}): MemoryEventStore {
  return new MemoryEventStore(options);
}
