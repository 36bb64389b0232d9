import { Observable } from 'rxjs';
import { StoreClosedError } from './errors.js';
import type { Position, RecordedEvent, Revision, StoreNotice } from './types.js';
import type { CompiledSelection } from './validation.js';

/**
 * Catch-up-then-live subscriptions for backends with cheap synchronous reads (memory,
 * embedded). The subscription is pull-based: it keeps a cursor (the last position, or
 * revision, it has examined) and, whenever it is woken, reads everything after the cursor
 * from the store itself. Notifications only say "the head may have moved"; they carry no
 * events. That makes the hand-over from catch-up to live gapless and duplicate-free by
 * construction: appends that commit while catching up are simply read by the next page,
 * and a wake-up that finds nothing new is harmless.
 */
export interface SubscriptionSource {
  /** Events with position > after matching `selection`, at most `limit` of them, plus how far it looked. */
  readAllPage(after: Position, selection: CompiledSelection, limit: number): AllPage;
  /** Events of `stream` with revision > afterRevision, oldest first, at most `limit`. */
  readStreamPage(stream: string, afterRevision: Revision, limit: number): StreamPage;
  /** The newest position known to this process (cheap, no I/O). */
  knownHead(): Position;
  /** Calls `wake` whenever the head may have advanced (in this process or another); returns the unsubscribe. */
  watchHead(wake: () => void): () => void;
  isClosed(): boolean;
}

export interface AllPage {
  events: RecordedEvent[];
  /** every position <= scannedTo has been examined (delivered or filtered out) */
  scannedTo: Position;
  /** the head of the snapshot the page was read from */
  head: Position;
}

export interface StreamPage {
  events: RecordedEvent[];
  /** the global head of the snapshot the page was read from */
  head: Position;
  /** true when the page reached the stream's last event */
  complete: boolean;
  /** every revision <= scannedTo has been examined (delivered, or gone to retention) */
  scannedTo: Revision;
}

/** Catch-up pages are this big; a few pages per macrotask keep the event loop responsive. */
const PAGE_SIZE = 1000;
const PAGES_PER_TURN = 8;

/**
 * Drives one subscription: `step` reads one page and emits it, returning true once it has
 * reached the head. A wake-up that arrives while stepping schedules another pump, so an
 * append is never left unread.
 */
function drive(source: SubscriptionSource, fail: (error: unknown) => void, step: () => boolean): () => void {
  let scheduled = false;
  let stopped = false;
  const pump = (): void => {
    scheduled = false;
    if (stopped) return;
    if (source.isClosed()) {
      stopped = true;
      fail(new StoreClosedError());
      return;
    }
    try {
      for (let page = 0; page < PAGES_PER_TURN; page++) {
        if (stopped || step()) return;
      }
      schedule();
    } catch (error) {
      stopped = true;
      fail(error);
    }
  };
  const schedule = (): void => {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(pump);
  };
  const unwatch = source.watchHead(schedule);
  schedule();
  return () => {
    stopped = true;
    unwatch();
  };
}

export function subscribeAllFrom(source: SubscriptionSource, after: Position | undefined, selection: CompiledSelection): Observable<StoreNotice> {
  return new Observable<StoreNotice>((subscriber) => {
    // "now" is fixed when the subscription starts, not when the first read happens
    let cursor = after ?? source.knownHead();
    let caughtUp = false;
    const emit = (notice: StoreNotice): void => subscriber.next(notice);
    return drive(source, (error) => subscriber.error(error), () => {
      const page = source.readAllPage(cursor, selection, PAGE_SIZE);
      cursor = Math.max(cursor, page.scannedTo);
      if (page.events.length > 0) emit({ kind: 'events', events: page.events });
      if (cursor < page.head) return false;
      if (!caughtUp && !subscriber.closed) {
        caughtUp = true;
        emit({ kind: 'caughtUp', position: cursor });
      }
      return true;
    });
  });
}

export function subscribeStreamFrom(source: SubscriptionSource, stream: string, afterRevision: Revision): Observable<StoreNotice> {
  return new Observable<StoreNotice>((subscriber) => {
    let cursor = afterRevision;
    let caughtUp = false;
    const emit = (notice: StoreNotice): void => subscriber.next(notice);
    return drive(source, (error) => subscriber.error(error), () => {
      const page = source.readStreamPage(stream, cursor, PAGE_SIZE);
      cursor = Math.max(cursor, page.scannedTo);
      if (page.events.length > 0) emit({ kind: 'events', events: page.events });
      if (!page.complete) return false;
      if (!caughtUp && !subscriber.closed) {
        caughtUp = true;
        emit({ kind: 'caughtUp', position: page.head });
      }
      return true;
    });
  });
}

/** In-process fan-out of "the head moved" to the subscriptions of one store. */
export class HeadWatchers {
  private readonly wakers = new Set<() => void>();

  get size(): number {
    return this.wakers.size;
  }

  add(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => {
      this.wakers.delete(wake);
    };
  }

  wakeAll(): void {
    for (const wake of this.wakers) wake();
  }

  clear(): void {
    this.wakers.clear();
  }
}
