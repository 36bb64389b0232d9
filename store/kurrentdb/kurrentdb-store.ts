import { START, type KurrentDBClient } from '@kurrent/kurrentdb-client';
import { StoreClosedError, WrongExpectedRevisionError } from '../errors.js';
import { assertStreamName } from '../keys.js';
import { StoreStatsRecorder } from '../stats.js';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  Position,
  Revision,
  StoreStats,
  StreamInfo,
  StreamMetadata,
  WriteHealth,
} from '../types.js';
import { WRITES_OK } from '../types.js';
import { checkAppend, checkPosition, checkStreamMetadata } from '../validation.js';
import { translateDriverError } from './driver-errors.js';
import { toKurrentEvent, toKurrentStream, toPosition, toStreamState, type PreparedEvent } from './mapping.js';
import { KurrentDbReads } from './reads-and-subscriptions.js';
import { readStreamMetadata, toCorralMetadata, truncateBeforeOf, updateStreamMetadata, withRetention, withTruncation } from './stream-metadata.js';

/**
 * The EventStore port on KurrentDB; see README.md in this folder for the mapping. Reads and
 * subscriptions live in `KurrentDbReads` (reads-and-subscriptions.ts); this class adds
 * appends, stream metadata (info, retention, truncation), stats and close.
 */
export class KurrentDbEventStore extends KurrentDbReads implements EventStore {
  readonly kind = 'kurrentdb';
  private readonly recorder = new StoreStatsRecorder();

  constructor(
    client: KurrentDBClient,
    private readonly maxEventBytes: number,
    namespace: string | undefined,
  ) {
    super(client, namespace);
  }

  async append(stream: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult> {
    this.ensureOpen();
    const expected = checkAppend(stream, events, options);
    const prepared: PreparedEvent[] = events.map((event) => toKurrentEvent(event, this.maxEventBytes));
    this.recorder.appendCalls++;
    if (prepared.length === 0) return this.appendNothing(stream, expected);
    const size = prepared.reduce((sum, p) => sum + p.size, 0);
    const startedAt = performance.now();
    let result;
    try {
      result = await this.client.appendToStream(toKurrentStream(stream, this.namespace), prepared.map((p) => p.event), {
        streamState: toStreamState(expected),
      });
    } catch (error) {
      throw translateDriverError(error, { stream, expected, size, operation: `append to ${stream}` });
    }
    this.recorder.recordLatency(performance.now() - startedAt);
    this.recorder.commits++;
    this.recorder.appendedEvents += prepared.length;
    const lastRevision = Number(result.nextExpectedRevision);
    let positions: Position[];
    if (prepared.length === 1 && result.position !== undefined) {
      positions = [toPosition(result.position)];
    } else {
      // one append result carries one position; the others are read back by revision
      positions = await this.positionsOf(stream, lastRevision - prepared.length + 1, prepared);
    }
    this.noteHead(positions[positions.length - 1] ?? 0);
    return { stream, lastRevision, positions };
  }

  private async appendNothing(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    const last = await this.lastEventOf(stream);
    const actual = last?.revision ?? -1;
    const ok = expected === 'any' || (expected === 'noStream' ? actual === -1 : expected === 'streamExists' ? actual >= 0 : actual === expected);
    if (!ok) throw new WrongExpectedRevisionError(stream, expected, actual);
    return { stream, lastRevision: actual, positions: [] };
  }

  /** Positions of just-appended events. Events already dropped by maxCount retention have none. */
  private async positionsOf(stream: string, firstRevision: Revision, prepared: readonly PreparedEvent[]): Promise<Position[]> {
    const byId = new Map<string, Position>();
    for (const event of await this.readStreamRaw(stream, BigInt(firstRevision), prepared.length, 'forward')) {
      if (event.position !== undefined) byId.set(event.id, event.position);
    }
    const positions: Position[] = [];
    for (const p of prepared) {
      const position = byId.get(p.id);
      if (position !== undefined) positions.push(position);
    }
    return positions;
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    this.ensureOpen();
    assertStreamName(stream);
    const [last, first, metadata] = await Promise.all([
      this.lastEventOf(stream),
      this.readStreamRaw(stream, START, 1, 'forward'),
      readStreamMetadata(this.client, toKurrentStream(stream, this.namespace), stream),
    ]);
    const truncateBefore = truncateBeforeOf(metadata.current);
    // with every event truncated nothing is readable, but the revisions are not forgotten
    const lastRevision = last?.revision ?? truncateBefore - 1;
    return {
      stream,
      lastRevision,
      firstRevision: first[0]?.revision ?? lastRevision + 1,
      metadata: toCorralMetadata(metadata.current),
    };
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.ensureOpen();
    assertStreamName(stream);
    const retention = checkStreamMetadata(stream, metadata);
    await updateStreamMetadata(this.client, toKurrentStream(stream, this.namespace), stream, (current) => withRetention(current, retention));
  }

  async truncateStream(stream: string, beforeRevision: Revision): Promise<void> {
    this.ensureOpen();
    assertStreamName(stream);
    const before = checkPosition('beforeRevision', beforeRevision, 0);
    const last = await this.lastEventOf(stream);
    // never beyond the next revision: truncation removes events, it does not reserve revisions
    const target = Math.min(before, (last?.revision ?? -1) + 1);
    await updateStreamMetadata(this.client, toKurrentStream(stream, this.namespace), stream, (current) => withTruncation(current, target));
  }

  stats(): StoreStats {
    return this.recorder.snapshot(this.knownHead);
  }

  /** The server's own disk is not ours to watch: failures reach each append as errors. */
  writeHealth(): WriteHealth {
    return WRITES_OK;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const driver of this.activeSubscriptions) driver.fail(new StoreClosedError());
    this.activeSubscriptions.clear();
    await this.client.dispose();
  }
}
