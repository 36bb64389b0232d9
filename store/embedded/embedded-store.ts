import type { Observable } from 'rxjs';
import { StoreClosedError } from '../errors.js';
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
import { commitFailure } from './write-failure.js';
import {
  checkAppend,
  checkPosition,
  checkReadAll,
  checkReadStream,
  checkRevisionBound,
  checkStreamMetadata,
  compileSelection,
  type CompiledSelection,
} from '../validation.js';
import { commitAppends, dropBefore, readStreamHead, retentionFloor, writeStreamHead, type PendingAppend, type StreamHead } from './write-batch.js';
import { openLayout, type StoreLayout } from './layout.js';
import { forEachStreamEntry } from './stream-index.js';
import { appendRecordCount, appendRecordTime, decodeAppendEntries, encodeAppendRecord, ScanPage } from './append-record.js';

export interface EmbeddedStoreOptions {
  dataDir: string;
  maxEventBytes?: number;
  /** how often (ms) to look for appends made by other processes while anyone subscribes; default 2 */
  pollIntervalMs?: number;
}

/**
 * The default backend: LMDB in `<dataDir>/store`.
 *
 * Writes: `append` validates and encodes outside the lock, then queues. All appends queued
 * while the previous commit was being synced go into one LMDB write transaction (group
 * commit: one fsync for many appends). Positions, revisions, expected-revision checks and
 * the commit time are decided inside that transaction, under LMDB's cross-process write
 * lock, so several processes on one data directory stay consistent.
 *
 * Live delivery: in-process commits wake subscriptions at once; commits by other
 * processes are noticed by polling the `head` key (a single cheap read) every few ms,
 * only while this process has subscriptions.
 */
export class EmbeddedEventStore implements EventStore, SubscriptionSource {
  readonly kind = 'embedded';
  private readonly watchers = new HeadWatchers();
  private readonly recorder = new StoreStatsRecorder();
  private queue: PendingAppend[] = [];
  private commitScheduled = false;
  private inFlight: Promise<void> = Promise.resolve();
  private head: Position;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;
  private health: WriteHealth = WRITES_OK;
  /** while writes fail: a small write every second, so writes become healthy again by themselves */
  private probe: NodeJS.Timeout | undefined;

  private constructor(
    private readonly layout: StoreLayout,
    private readonly maxEventBytes: number,
    private readonly pollIntervalMs: number,
  ) {
    this.head = (layout.meta.get('head') as number | undefined) ?? 0;
  }

  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedEventStore> {
    const layout = await openLayout(options.dataDir);
    return new EmbeddedEventStore(layout, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, options.pollIntervalMs ?? 2);
  }

  /** live subscriptions in this process (the cross-process poll runs only while this is > 0) */
  get liveSubscriptionCount(): number {
    return this.watchers.size;
  }

  /** whether the cross-process head poll is running */
  get polling(): boolean {
    return this.poller !== undefined;
  }

  /** where the LMDB environment lives */
  get path(): string {
    return this.layout.path;
  }

  append(stream: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult> {
    try {
      if (this.closed) throw new StoreClosedError();
      const expected = checkAppend(stream, events, options);
      const count = events.length;
      const record = count === 0 ? null : encodeAppendRecord(stream, events, this.maxEventBytes);
      this.recorder.appendCalls++;
      return new Promise<AppendResult>((resolve, reject) => {
        this.queue.push({ stream, expected, record, count, resolve, reject, queuedAt: performance.now(), result: undefined, error: undefined });
        if (!this.commitScheduled) this.scheduleCommit();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private scheduleCommit(): void {
    this.commitScheduled = true;
    const { env } = this.layout;
    let batch: PendingAppend[] = [];
    let head = 0;
    // The callback runs once LMDB holds the write lock; everything queued until then joins
    // this transaction. Appends queued after it start the next one. It runs as a child
    // transaction so that an exception aborts every write it made (a plain transaction
    // callback would commit whatever it wrote before throwing).
    const committed = env.childTransaction(() => {
      this.commitScheduled = false;
      batch = this.queue;
      this.queue = [];
      head = commitAppends(this.layout, batch);
    });
    const done = committed.then(
      () => {
        const now = performance.now();
        let events = 0;
        for (const pending of batch) {
          this.recorder.recordLatency(now - pending.queuedAt);
          if (pending.result !== undefined) {
            events += pending.result.positions.length;
            pending.resolve(pending.result);
          } else pending.reject(pending.error);
        }
        this.recorder.commits++;
        this.recorder.appendedEvents += events;
        this.writesSucceeded();
        if (head > this.head) {
          this.head = head;
          this.watchers.wakeAll();
        }
      },
      async (error: unknown) => {
        this.commitScheduled = false;
        const failed = batch.length > 0 ? batch : this.takeQueue();
        const mapped = await this.writesFailed(error);
        for (const pending of failed) pending.reject(mapped);
      },
    );
    this.inFlight = done;
  }

  private takeQueue(): PendingAppend[] {
    const queue = this.queue;
    this.queue = [];
    return queue;
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    const read = checkReadStream(stream, options);
    this.layout.env.resetReadTxn();
    const head = this.streamHead(stream);
    if (head === undefined) return [];
    const oldest = head.maxAgeMs === null ? Number.NEGATIVE_INFINITY : Date.now() - head.maxAgeMs;
    const low = Math.max(head.firstRevision, read.afterRevision + 1);
    const high = Math.min(head.lastRevision, (read.beforeRevision ?? Number.MAX_SAFE_INTEGER) - 1);
    if (low > high) return [];
    const out: RecordedEvent[] = [];
    forEachStreamEntry(this.layout, stream, low, high, read.backward, (first, firstPosition, count) => {
      const record = this.layout.log.getBinaryFast(firstPosition);
      // one time per record: age retention drops whole records
      if (record === undefined || appendRecordTime(record) < oldest) return true;
      decodeAppendEntries(record, Math.max(low, first) - first, Math.min(high, first + count - 1) - first, read.backward, out, read.limit);
      return out.length < read.limit;
    });
    return out;
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    const read = checkReadAll(options);
    this.layout.env.resetReadTxn();
    return this.scan(read.after, read.selection, read.limit, Number.POSITIVE_INFINITY).events;
  }

  subscribeToAll(options?: SubscribeAllOptions): Observable<StoreNotice> {
    const after = options?.after === undefined ? undefined : checkPosition('after position', options.after, 0);
    const selection = compileSelection(options);
    if (after === undefined && !this.closed) this.refreshHead();
    return subscribeAllFrom(this, after, selection);
  }

  subscribeToStream(stream: string, options?: SubscribeStreamOptions): Observable<StoreNotice> {
    assertStreamName(stream);
    return subscribeStreamFrom(this, stream, checkRevisionBound('afterRevision', options?.afterRevision, -1));
  }

  async headPosition(): Promise<Position> {
    this.assertOpen();
    return this.refreshHead();
  }

  async positionAtTime(time: number): Promise<Position> {
    this.assertOpen();
    const head = this.refreshHead();
    // times are non-decreasing with position (the commit time is max(now, last time) under
    // the write lock), so binary search; retention holes are skipped to the next record
    let low = 1;
    let high = head + 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.timeAtOrAfter(middle, head) < time) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    this.assertOpen();
    assertStreamName(stream);
    this.layout.env.resetReadTxn();
    const head = this.streamHead(stream);
    if (head === undefined) return { stream, lastRevision: -1, firstRevision: 0, metadata: {} };
    return { stream, lastRevision: head.lastRevision, firstRevision: head.firstRevision, metadata: metadataOf(head) };
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const checked = checkStreamMetadata(stream, metadata);
    await this.write(() => {
      const head = this.streamHead(stream) ?? { lastRevision: -1, firstRevision: 0, maxCount: null, maxAgeMs: null };
      head.maxCount = checked.maxCount ?? null;
      head.maxAgeMs = checked.maxAgeMs ?? null;
      dropBefore(this.layout, stream, head, retentionFloor(this.layout, stream, head, Date.now()));
      writeStreamHead(this.layout, stream, head);
    });
  }

  async truncateStream(stream: string, beforeRevision: Revision): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const before = checkPosition('beforeRevision', beforeRevision, 0);
    await this.write(() => {
      const head = this.streamHead(stream) ?? { lastRevision: -1, firstRevision: 0, maxCount: null, maxAgeMs: null };
      dropBefore(this.layout, stream, head, Math.min(before, head.lastRevision + 1));
      writeStreamHead(this.layout, stream, head);
    });
  }

  stats(): StoreStats {
    return this.recorder.snapshot(this.head);
  }

  writeHealth(): WriteHealth {
    return this.health;
  }

  /** Maps a failed commit (docs/operations.md, "A full disk") and starts probing for recovery. */
  private async writesFailed(error: unknown): Promise<unknown> {
    const mapped = await commitFailure(error);
    if (mapped === null) return error;
    if (this.health.ok) this.health = { ok: false, since: Date.now(), reason: mapped.message };
    if (this.probe === undefined && !this.closed) {
      this.probe = setInterval(() => {
        this.layout.meta.put('write-probe', Date.now()).then(
          () => this.writesSucceeded(),
          (failure: unknown) => void commitFailure(failure),
        );
      }, 1000);
      this.probe.unref();
    }
    return mapped;
  }

  /** A write transaction outside the append queue (metadata, truncation), with the same failure handling. */
  private async write(body: () => void): Promise<void> {
    try {
      await this.layout.env.childTransaction(body);
    } catch (error) {
      throw await this.writesFailed(error);
    }
    this.writesSucceeded();
  }

  private writesSucceeded(): void {
    if (this.health.ok) return;
    this.health = WRITES_OK;
    clearInterval(this.probe);
    this.probe = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    clearInterval(this.probe);
    this.probe = undefined;
    await this.inFlight.catch(() => undefined);
    // wake subscriptions so they notice the close and end with StoreClosedError
    this.watchers.wakeAll();
    this.watchers.clear();
    await this.layout.env.close();
  }

  // SubscriptionSource

  readAllPage(after: Position, selection: CompiledSelection, limit: number): AllPage {
    return this.scan(after, selection, limit, limit * 50);
  }

  readStreamPage(stream: string, afterRevision: Revision, limit: number): StreamPage {
    const globalHead = this.readHead();
    const head = this.streamHead(stream);
    if (head === undefined) return { events: [], head: globalHead, complete: true, scannedTo: afterRevision };
    const low = Math.max(head.firstRevision, afterRevision + 1);
    const events: RecordedEvent[] = [];
    if (low > head.lastRevision) return { events, head: globalHead, complete: true, scannedTo: afterRevision };
    let last = afterRevision;
    let visited = false;
    forEachStreamEntry(this.layout, stream, low, head.lastRevision, false, (first, firstPosition, count) => {
      visited = true;
      const record = this.layout.log.getBinaryFast(firstPosition);
      const from = Math.max(low, first) - first;
      if (record === undefined) {
        last = first + count - 1;
      } else {
        const before = events.length;
        decodeAppendEntries(record, from, count - 1, false, events, limit);
        // the page may fill inside this record
        last = first + from + (events.length - before) - 1;
      }
      return events.length < limit;
    });
    // nothing indexed in range: the remaining revisions are gone (retention), so this page is complete
    return visited ? { events, head: globalHead, complete: last >= head.lastRevision, scannedTo: last } : { events, head: globalHead, complete: true, scannedTo: head.lastRevision };
  }

  knownHead(): Position {
    return this.head;
  }

  watchHead(wake: () => void): () => void {
    const unwatch = this.watchers.add(wake);
    if (this.poller === undefined && !this.closed) {
      // not unref'd: a live subscription is work in progress, like an open socket
      this.poller = setInterval(() => this.pollHead(), this.pollIntervalMs);
    }
    return () => {
      unwatch();
      if (this.watchers.size === 0) this.stopPolling();
    };
  }

  isClosed(): boolean {
    return this.closed;
  }

  // internals

  private pollHead(): void {
    if (this.closed) return;
    const before = this.head;
    if (this.refreshHead() > before) this.watchers.wakeAll();
  }

  private stopPolling(): void {
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
  }

  /** The head as committed by any process (a fresh snapshot). */
  private refreshHead(): Position {
    this.layout.env.resetReadTxn();
    const head = this.readHead();
    if (head > this.head) this.head = head;
    return head;
  }

  /** The head in the current read snapshot. */
  private readHead(): Position {
    return (this.layout.meta.get('head') as number | undefined) ?? 0;
  }

  private streamHead(stream: string): StreamHead | undefined {
    return readStreamHead(this.layout, stream);
  }

  /**
   * Reads events after `after` from one snapshot. Filtering looks only at the record
   * header (type and stream), so skipped events are never decoded.
   */
  private scan(after: Position, selection: CompiledSelection, limit: number, maxScanned: number): AllPage {
    const head = this.readHead();
    const events: RecordedEvent[] = [];
    if (after >= head) return { events, scannedTo: after, head };
    const page = new ScanPage(after, selection, limit, maxScanned);
    const { log } = this.layout;
    // the record holding position after+1 may start below it
    let start = after + 1;
    for (const key of log.getKeys({ start: after + 1, reverse: true, limit: 1 })) start = key;
    this.layout.logCodec.feeding(page, () => {
      // the decoder feeds each record to the page and yields whether the page is full
      for (const entry of log.getRange({ start, end: head + 1 })) if ((entry.value as unknown) === true) return;
    });
    return { events: page.events, scannedTo: page.full ? page.scannedTo : head, head };
  }

  private timeAtOrAfter(position: Position, head: Position): number {
    const { log } = this.layout;
    // the record holding `position` (starting at or below it), else the next one (retention holes)
    for (const key of log.getKeys({ start: position, reverse: true, limit: 1 })) {
      const record = log.getBinaryFast(key);
      if (record !== undefined && key + appendRecordCount(record) > position) return appendRecordTime(record);
    }
    for (const key of log.getKeys({ start: position, end: head + 1, limit: 1 })) {
      const record = log.getBinaryFast(key);
      if (record !== undefined) return appendRecordTime(record);
    }
    return Number.POSITIVE_INFINITY;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function metadataOf(head: StreamHead): StreamMetadata {
  const metadata: StreamMetadata = {};
  if (head.maxCount !== null) metadata.maxCount = head.maxCount;
  if (head.maxAgeMs !== null) metadata.maxAgeMs = head.maxAgeMs;
  return metadata;
}

export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedEventStore> {
  return EmbeddedEventStore.open(options);
}
