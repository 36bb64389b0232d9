import {
  END,
  START,
  type AllStreamResolvedEvent,
  type Filter,
  type KurrentDBClient,
  type Position as KurrentPosition,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import type { Position } from '../types.js';
import { translateDriverError } from './driver-errors.js';
import { BACKWARDS, FORWARDS, compareKurrentPositions, toKurrentPosition } from './mapping.js';

/** One raw event of $all with the position it sits at. */
export interface ScannedEvent {
  resolved: AllStreamResolvedEvent;
  position: KurrentPosition;
}

export interface ScanOptions {
  direction: 'forward' | 'backward';
  from: ReadPosition;
  filter: Filter;
  /** events per server round trip */
  pageSize: number;
}

/**
 * Reads $all page by page. Each page is a complete, bounded server read (never an
 * abandoned stream), so stopping between pages leaks nothing. A forward read from a
 * position includes the event at that position and a backward read excludes it; the
 * next page starts at the last event seen and drops anything not strictly beyond it, so
 * both directions are handled the same way.
 */
export async function* scanAll(client: KurrentDBClient, options: ScanOptions): AsyncGenerator<ScannedEvent[]> {
  const { direction, filter, pageSize } = options;
  const forward = direction === 'forward';
  let from = options.from;
  let last: KurrentPosition | undefined;
  for (;;) {
    // one extra on continuation pages: a forward read returns the last event again
    const requested = last !== undefined && forward ? pageSize + 1 : pageSize;
    let returned = 0;
    const page: ScannedEvent[] = [];
    try {
      for await (const resolved of client.readAll({ fromPosition: from, direction: forward ? FORWARDS : BACKWARDS, maxCount: requested, filter })) {
        returned++;
        const position = resolved.event?.position;
        if (position === undefined) continue;
        if (last !== undefined) {
          const order = compareKurrentPositions(position, last);
          if (forward ? order <= 0 : order >= 0) continue;
        }
        page.push({ resolved, position });
      }
    } catch (error) {
      throw translateDriverError(error, { operation: 'read $all' });
    }
    if (page.length > 0) {
      last = page[page.length - 1]!.position;
      from = last;
      yield page;
    }
    if (returned < requested || page.length === 0) return;
  }
}

/** `START`/`END` or the exact KurrentDB position of a Corral position. */
export const readPositionOf = (position: Position): ReadPosition => (position <= 0 ? START : toKurrentPosition(position));

export { START, END };
