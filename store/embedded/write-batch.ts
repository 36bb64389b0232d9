import { WrongExpectedRevisionError } from '../errors.js';
import type { AppendResult, ExpectedRevision, Position, Revision } from '../types.js';
import { appendRecordTime, patchAppendRecord } from './append-record.js';
import type { StoreLayout, StreamHeadRow } from './layout.js';
import { forEachStreamEntry, removeStreamRange, writeIndexEntry } from './stream-index.js';

/** One queued `append`, already validated and encoded. */
export interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  /** the append record (append-record.ts); null for an append of no events */
  record: Buffer | null;
  count: number;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
  queuedAt: number;
  /** set inside the write transaction; handed out only once the commit is durable */
  result: AppendResult | undefined;
  error: unknown;
}

export interface StreamHead {
  lastRevision: Revision;
  firstRevision: Revision;
  maxCount: number | null;
  maxAgeMs: number | null;
}

const expectationMet = (expected: ExpectedRevision, actual: Revision): boolean =>
  expected === 'any' || (expected === 'noStream' ? actual === -1 : expected === 'streamExists' ? actual >= 0 : actual === expected);

export function readStreamHead(layout: StoreLayout, stream: string): StreamHead | undefined {
  const row = layout.streams.get(stream);
  return row === undefined ? undefined : { lastRevision: row[0], firstRevision: row[1], maxCount: row[2], maxAgeMs: row[3] };
}

export function writeStreamHead(layout: StoreLayout, stream: string, head: StreamHead): void {
  const row: StreamHeadRow = [head.lastRevision, head.firstRevision, head.maxCount, head.maxAgeMs];
  layout.streams.putSync(stream, row);
}

/**
 * Runs inside the LMDB write transaction (holding the cross-process write lock): reads the
 * head and the streams' last revisions as committed by any process, checks expectations,
 * allocates positions and revisions, writes records and indexes, applies count/age
 * retention, and advances `head`/`time`. A conflicting append is marked and skipped; the
 * others in the batch still commit. Returns the new head.
 */
export function commitAppends(layout: StoreLayout, batch: readonly PendingAppend[]): Position {
  const { meta, log } = layout;
  let head = (meta.get('head') as number | undefined) ?? 0;
  // commit times never go backwards, even if this process's clock is behind another's
  const time = Math.max(Date.now(), (meta.get('time') as number | undefined) ?? 0);
  const touched = new Map<string, StreamHead>();
  const written = new Set<string>();
  for (const pending of batch) {
    const { stream, record, count } = pending;
    let streamHead = touched.get(stream);
    if (streamHead === undefined) {
      streamHead = readStreamHead(layout, stream) ?? { lastRevision: -1, firstRevision: 0, maxCount: null, maxAgeMs: null };
      touched.set(stream, streamHead);
    }
    if (!expectationMet(pending.expected, streamHead.lastRevision)) {
      pending.error = new WrongExpectedRevisionError(stream, pending.expected, streamHead.lastRevision);
      continue;
    }
    const positions: Position[] = new Array(count);
    const firstPosition = head + 1;
    const firstRevision = streamHead.lastRevision + 1;
    for (let i = 0; i < count; i++) positions[i] = firstPosition + i;
    if (record !== null && count > 0) {
      patchAppendRecord(record, firstPosition, firstRevision, time);
      // positions only ever grow, so MDB_APPEND (no tree search, dense pages) is safe
      log.putSync(firstPosition, record, { append: true });
      writeIndexEntry(layout, stream, firstRevision, firstPosition, count);
      head += count;
      streamHead.lastRevision += count;
      written.add(stream);
    }
    pending.result = { stream, lastRevision: streamHead.lastRevision, positions };
  }
  for (const stream of written) {
    const streamHead = touched.get(stream)!;
    if (streamHead.maxCount !== null || streamHead.maxAgeMs !== null) dropBefore(layout, stream, streamHead, retentionFloor(layout, stream, streamHead, time));
    writeStreamHead(layout, stream, streamHead);
  }
  meta.putSync('head', head);
  meta.putSync('time', time);
  return head;
}

/** The lowest revision a stream may keep under its retention rules at `now`. */
export function retentionFloor(layout: StoreLayout, stream: string, head: StreamHead, now: number): Revision {
  let floor = head.firstRevision;
  if (head.maxCount !== null) floor = Math.max(floor, head.lastRevision + 1 - head.maxCount);
  if (head.maxAgeMs !== null && floor <= head.lastRevision) {
    const oldest = now - head.maxAgeMs;
    let young = head.lastRevision + 1;
    // one time per append record: a record is either wholly too old or not
    forEachStreamEntry(layout, stream, floor, head.lastRevision, false, (first, firstPosition) => {
      const record = layout.log.getBinaryFast(firstPosition);
      if (record === undefined || appendRecordTime(record) < oldest) return true;
      young = Math.max(floor, first);
      return false;
    });
    floor = young;
  }
  return floor;
}

/** Removes a stream's events with revision < before (inside a write transaction). */
export function dropBefore(layout: StoreLayout, stream: string, head: StreamHead, before: Revision): void {
  if (before <= head.firstRevision) return;
  removeStreamRange(layout, stream, head.firstRevision, before);
  head.firstRevision = before;
}
