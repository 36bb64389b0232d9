import { patchRecord } from '../codec.js';
import { WrongExpectedRevisionError } from '../errors.js';
import type { AppendResult, ExpectedRevision, Position, Revision } from '../types.js';
import type { StoreLayout, StreamHeadRow } from './layout.js';
import { recordTime } from '../codec.js';
import { forEachStreamPosition, removeStreamRange, writeIndexEntry } from './stream-index.js';

/** One queued `append`, already validated and encoded. */
export interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  records: Buffer[];
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
  const { meta, logWriter } = layout;
  let head = (meta.get('head') as number | undefined) ?? 0;
  // commit times never go backwards, even if this process's clock is behind another's
  const time = Math.max(Date.now(), (meta.get('time') as number | undefined) ?? 0);
  const touched = new Map<string, StreamHead>();
  const written = new Set<string>();
  for (const pending of batch) {
    const { stream, records } = pending;
    let streamHead = touched.get(stream);
    if (streamHead === undefined) {
      streamHead = readStreamHead(layout, stream) ?? { lastRevision: -1, firstRevision: 0, maxCount: null, maxAgeMs: null };
      touched.set(stream, streamHead);
    }
    if (!expectationMet(pending.expected, streamHead.lastRevision)) {
      pending.error = new WrongExpectedRevisionError(stream, pending.expected, streamHead.lastRevision);
      continue;
    }
    const positions: Position[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const revision = ++streamHead.lastRevision;
      const position = ++head;
      const record = records[i]!;
      patchRecord(record, revision, time);
      // positions only ever grow, so MDB_APPEND (no tree search, dense pages) is safe
      logWriter.putSync(position, record, { append: true });
      positions[i] = position;
    }
    if (records.length > 0) {
      writeIndexEntry(layout, stream, streamHead.lastRevision - records.length + 1, positions[0]!, records.length);
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
    forEachStreamPosition(layout, stream, floor, head.lastRevision, false, (revision, position) => {
      const record = layout.log.getBinaryFast(position);
      if (record === undefined || recordTime(record) < oldest) return true;
      young = revision;
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
