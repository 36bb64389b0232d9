import { Observable, type Subscription } from 'rxjs';
import type { EventStore, RecordedEvent } from '../../store/index.js';
import type { Change } from '../change.js';
import type { ViewState } from '../views/types.js';
import { foldBatch } from './changes.js';

const LOGS_EXCLUDED: readonly string[] = ['logs'];

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
  onError: (event: RecordedEvent, error: unknown) => void,
): Promise<void> {
  let cursor = after;
  while (cursor < upTo) {
    const page = await store.readAll({ after: cursor, limit: pageSize, excludeTypes: LOGS_EXCLUDED });
    const inRange = page.length > 0 && page[page.length - 1]!.position > upTo ? page.filter((event) => event.position <= upTo) : page;
    foldBatch(state, inRange, 0, null, onError);
    if (page.length < pageSize || inRange.length < page.length) return;
    cursor = page[page.length - 1]!.position;
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
          const page = await source.store.readAll(
            wantsLogs ? { after: cursor, limit: source.pageSize } : { after: cursor, limit: source.pageSize, excludeTypes: ['logs'] },
          );
          if (closed) return;
          const last = page.length > 0 ? page[page.length - 1]!.position : cursor;
          const inRange = last > target ? page.filter((event) => event.position <= target) : page;
          const changes: Change[] = [];
          foldBatch(state, inRange, source.ownModel, changes, (event, error) => source.onFoldError(event, error));
          cursor = page.length < source.pageSize || last >= target ? target : last;
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
