import type { Position, Revision } from '../types.js';
import type { StoreLayout } from './layout.js';

/**
 * The per-stream index. One append writes its events at consecutive positions and
 * consecutive revisions, so the index stores one entry per append, not per event:
 *
 *   [stream, firstRevision] -> [firstPosition, count]
 *
 * A batch of 1000 events costs one index write. Retention trims an entry from the front by
 * re-keying it, so every entry starts at or above the stream's first kept revision.
 */
export type IndexEntry = [firstPosition: Position, count: number];

export function writeIndexEntry(layout: StoreLayout, stream: string, firstRevision: Revision, firstPosition: Position, count: number): void {
  layout.revisions.putSync([stream, firstRevision], [firstPosition, count]);
}

/** Visits (revision, position) for revisions in [low, high], ascending or descending; stop by returning false. */
export function forEachStreamPosition(
  layout: StoreLayout,
  stream: string,
  low: Revision,
  high: Revision,
  backward: boolean,
  visit: (revision: Revision, position: Position) => boolean | void,
): void {
  if (low > high) return;
  if (backward) {
    for (const { key, value } of layout.revisions.getRange({ start: [stream, high], end: [stream, -1], reverse: true })) {
      const first = key[1];
      const [firstPosition, count] = value;
      for (let revision = Math.min(high, first + count - 1); revision >= Math.max(low, first); revision--) {
        if (visit(revision, firstPosition + (revision - first)) === false) return;
      }
      if (first <= low) return;
    }
    return;
  }
  // the entry holding `low` may start below it
  let start = low;
  for (const { key } of layout.revisions.getRange({ start: [stream, low], end: [stream, -1], reverse: true, limit: 1 })) start = key[1];
  for (const { key, value } of layout.revisions.getRange({ start: [stream, start], end: [stream, high + 1] })) {
    const first = key[1];
    const [firstPosition, count] = value;
    for (let revision = Math.max(low, first); revision <= Math.min(high, first + count - 1); revision++) {
      if (visit(revision, firstPosition + (revision - first)) === false) return;
    }
  }
}

/**
 * Removes a stream's events with revision in [from, before) from the log and the index
 * (inside a write transaction); an entry straddling `before` is re-keyed to start there.
 */
export function removeStreamRange(layout: StoreLayout, stream: string, from: Revision, before: Revision): void {
  if (before <= from) return;
  const entries: { first: Revision; firstPosition: Position; count: number }[] = [];
  let start = from;
  for (const { key } of layout.revisions.getRange({ start: [stream, from], end: [stream, -1], reverse: true, limit: 1 })) start = key[1];
  for (const { key, value } of layout.revisions.getRange({ start: [stream, start], end: [stream, before] })) {
    entries.push({ first: key[1], firstPosition: value[0], count: value[1] });
  }
  for (const { first, firstPosition, count } of entries) {
    const end = Math.min(before, first + count);
    for (let revision = Math.max(from, first); revision < end; revision++) layout.log.removeSync(firstPosition + (revision - first));
    layout.revisions.removeSync([stream, first]);
    if (first + count > before) writeIndexEntry(layout, stream, before, firstPosition + (before - first), first + count - before);
  }
}
