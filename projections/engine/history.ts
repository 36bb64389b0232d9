import { Observable, type Subscription } from 'rxjs';
import type { EventStore, ReadAllOptions, RecordedEvent } from '../../store/index.js';
import type { Change } from '../change.js';
import type { ViewState } from '../views/types.js';
import { foldBatch, type FoldErrorHandler } from './changes.js';

const LOGS_EXCLUDED: readonly string[] = ['logs'];

export interface EventPage {
  /** the page's events at or below `upTo`, in position order */
  events: readonly RecordedEvent[];
  /** every event up to this position has been read: where the next page starts */
  scannedTo: number;
}

/**
 * One page of the log after `read.after`, cut at `upTo`. Pull-based readers call it once per
 * page, so memory stays at one page and a slow consumer holds the scan (the store is the
 * buffer). `upTo` must not exceed the store's head when called: a short page then proves
 * nothing up to `upTo` is missing, and `scannedTo` jumps to it.
 */
export async function readEventPage(store: EventStore, read: ReadAllOptions & { after: number; limit: number }, upTo: number): Promise<EventPage> {
  const page = await store.readAll(read);
  const last = page.length > 0 ? page[page.length - 1]!.position : read.after;
  const events = last > upTo ? page.filter((event) => event.position <= upTo) : page;
  return { events, scannedTo: page.length < read.limit || last >= upTo ? upTo : last };
}

/**
 * Folds the stored events in (after, upTo] into `state`, reading the store in pages
 * (`logs` skipped by the store without decoding). `upTo` must not exceed the store's head
 * when called: a short page then proves everything up to `upTo` was seen.
 */
export async function foldStoreRange(
  store: EventStore,
  state: ViewState,
  after: number,
  upTo: number,
  pageSize: number,
  onError: FoldErrorHandler,
): Promise<void> {
  let cursor = after;
  while (cursor < upTo) {
    const page = await readEventPage(store, { after: cursor, limit: pageSize, excludeTypes: LOGS_EXCLUDED }, upTo);
    foldBatch(state, page.events, 0, null, onError);
    cursor = page.scannedTo;
  }
}

/** What `changesAfter` needs from the engine. */
export interface LiveChangeSource {
  readonly store: EventStore;
  readonly ownModel: number;
  readonly pageSize: number;
  /** position of the last event folded into the live views */
  position(): number;
  /** the live change batches */
  subscribeLive(observer: (changes: readonly Change[]) => void, onError: (error: unknown) => void, onComplete: () => void): Subscription;
  /** a private copy of the views as they were at `position` */
  stateAt(position: number): Promise<ViewState>;
  onFoldError(event: RecordedEvent, error: unknown): void;
}

export interface ChangesAfterOptions {
  /** only changes of these types (the fold still reads every type it needs) */
  types?: readonly string[];
}

/**
 * Every change after `after`, exactly once and in position order: history first (folded
 * from the nearest snapshot so `object`/`original` are what live subscribers saw), then
 * live. The hand-over happens synchronously at the moment the history reader has reached
 * the live views' position: no batch can be folded in between, so there is no gap and no
 * duplicate. The store is the buffer; memory stays bounded by one page.
 */
export function changesAfter(source: LiveChangeSource, after: number, options: ChangesAfterOptions = {}): Observable<readonly Change[]> {
  const types = options.types ? new Set(options.types) : null;
  const wantsLogs = types === null || types.has('logs');
  const select = (changes: readonly Change[], from: number): readonly Change[] => {
    let needsFilter = types !== null;
    if (changes.length > 0 && changes[0]!.position <= from) needsFilter = true;
    if (!needsFilter) return changes;
    return changes.filter((change) => change.position > from && (types === null || types.has(change.type)));
  };

  return new Observable<readonly Change[]>((subscriber) => {
    let closed = false;
    let live: Subscription | null = null;
    const goLive = (from: number): void => {
      live = source.subscribeLive(
        (changes) => {
          const selected = select(changes, from);
          if (selected.length > 0) subscriber.next(selected);
        },
        (error) => subscriber.error(error),
        () => subscriber.complete(),
      );
    };

    if (after >= source.position()) {
      goLive(after);
    } else {
      void (async () => {
        const state = await source.stateAt(after);
        let cursor = after;
        for (;;) {
          if (closed) return;
          const target = source.position();
          if (cursor >= target) {
            goLive(cursor);
            return;
          }
          const page = await readEventPage(
            source.store,
            wantsLogs ? { after: cursor, limit: source.pageSize } : { after: cursor, limit: source.pageSize, excludeTypes: LOGS_EXCLUDED },
            target,
          );
          if (closed) return;
          const changes: Change[] = [];
          foldBatch(state, page.events, source.ownModel, changes, (event, error) => source.onFoldError(event, error));
          cursor = page.scannedTo;
          const selected = types === null ? changes : changes.filter((change) => types.has(change.type));
          if (selected.length > 0) subscriber.next(selected);
        }
      })().catch((error: unknown) => {
        if (!closed) subscriber.error(error);
      });
    }
    return () => {
      closed = true;
      live?.unsubscribe();
    };
  });
}
