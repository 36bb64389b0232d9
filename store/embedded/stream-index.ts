import type { Position, Revision } from '../types.js';
import { dropLeadingEvents } from './append-record.js';
import type { StoreLayout } from './layout.js';

/**
 * The per-stream index. One append writes one append record holding its events at
 * consecutive positions and revisions, so the index has one entry per append record:
 *
 *   [stream, firstRevision] -> [firstPosition, count]
 *
 * and `firstPosition` is that record's key in the log. A batch of 1000 events costs one
 * index write. Retention trims an entry (and its record) from the front by re-keying both,
 * so every entry starts at or above the stream's first kept revision and still names its
 * record.
 */
export type IndexEntry = [firstPosition: Position, count: number];

export function writeIndexEntry(layout: StoreLayout, stream: string, firstRevision: Revision, firstPosition: Position, count: number): void {
  layout.revisions.putSync([stream, firstRevision], [firstPosition, count]);
}

/**
 * Visits the index entries (append records) holding revisions in [low, high], ascending or
 * descending; stop by returning false.
 */
export function forEachStreamEntry(
  layout: StoreLayout,
  stream: string,
  low: Revision,
  high: Revision,
  backward: boolean,
  visit: (firstRevision: Revision, firstPosition: Position, count: number) => boolean | void,
): void {
  if (low > high) return;
  if (backward) {
    for (const { key, value } of layout.revisions.getRange({ start: [stream, high], end: [stream, -1], reverse: true })) {
      const first = key[1];
      if (first + value[1] - 1 >= low && visit(first, value[0], value[1]) === false) return;
      if (first <= low) return;
    }
    return;
  }
  // the entry holding `low` may start below it
  let start = low;
  for (const { key } of layout.revisions.getRange({ start: [stream, low], end: [stream, -1], reverse: true, limit: 1 })) start = key[1];
  for (const { key, value } of layout.revisions.getRange({ start: [stream, start], end: [stream, high + 1] })) {
    const first = key[1];
    if (first + value[1] - 1 >= low && visit(first, value[0], value[1]) === false) return;
  }
}

/**
 * Removes a stream's events with revision in [from, before) from the log and the index
 * (inside a write transaction); a record straddling `before` is cut and re-keyed, with its
 * index entry, to start there.
 */
export function removeStreamRange(layout: StoreLayout, stream: string, from: Revision, before: Revision): void {
  if (before <= from) return;
  const entries: { first: Revision; firstPosition: Position; count: number }[] = [];
  forEachStreamEntry(layout, stream, from, before - 1, false, (first, firstPosition, count) => {
    entries.push({ first, firstPosition, count });
  });
  for (const { first, firstPosition, count } of entries) {
    layout.revisions.removeSync([stream, first]);
    if (first + count <= before) {
      layout.log.removeSync(firstPosition);
      continue;
    }
    const drop = before - first;
    const record = layout.log.getBinaryFast(firstPosition);
    // copied out of LMDB's shared read buffer before anything else touches it
    const kept = record === undefined ? undefined : dropLeadingEvents(record, drop);
    layout.log.removeSync(firstPosition);
    if (kept === undefined) continue;
    layout.log.putSync(firstPosition + drop, kept);
    writeIndexEntry(layout, stream, before, firstPosition + drop, count - drop);
  }
}
