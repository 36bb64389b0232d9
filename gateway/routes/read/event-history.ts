import type { EventStore, RecordedEvent } from '../../../store/index.js';
import { foldToChange, logChangeObject, readEventPage, toChange, type Change, type ChangePredicate, type ProjectionEngine, type ViewState } from '../../../projections/index.js';

/** One event of the history as the audit routes send it (docs/architecture.md "Events" envelope, time in ISO 8601). */
export interface HistoryEvent {
  position: number;
  id: string;
  /** ISO 8601 */
  time: string;
  stream: string;
  revision: number;
  type: string;
  action: string;
  key: string;
  tenant: string;
  /** the model API `data` is shaped at (the stored schema unless the data had to be converted) */
  schema: number;
  data: unknown;
  meta: unknown;
}

export interface HistoryScan {
  tenant: string;
  /** read events with position > after ... */
  after: number;
  /** ... up to this position (the head when the request came in) */
  upTo: number;
  /** `select` and `filter` combined; null: every event of the tenant */
  predicate: ChangePredicate | null;
  /**
   * The predicate reads view objects (a filter, or `minion_jobs`): each event then gets the
   * `object`/`original` a live subscriber saw, by folding from the nearest snapshot.
   */
  needsObjects: boolean;
  /** event types the selection can match (null: any); lets the store skip the rest */
  types: readonly string[] | null;
  model: number;
  signal: AbortSignal;
}

export interface HistoryPage {
  events: HistoryEvent[];
  /** every event up to this position has been examined */
  scannedTo: number;
}

/**
 * Reads one tenant's history in store pages, yielding the matching events of each page.
 * Pull-based: the next page is read only when the consumer asks, so a slow NDJSON client
 * holds the scan (and memory stays at one page) instead of the server buffering the log.
 *
 * With objects, the fold starts from `engine.stateAt(after)` (nearest in-memory or disk
 * snapshot plus replay) and folds only this tenant's and cluster-wide events: keys are
 * tenant-qualified, so no event of another tenant changes this tenant's objects.
 */
export async function* scanTenantHistory(engine: ProjectionEngine, store: EventStore, scan: HistoryScan): AsyncGenerator<HistoryPage> {
  const wantsOnlyLogs = scan.types !== null && scan.types.every((type) => type === 'logs');
  const foldState: ViewState | null = scan.needsObjects && !wantsOnlyLogs ? await engine.stateAt(scan.after) : null;
  // Folding needs every non-log event in order; otherwise the store may skip what cannot match.
  const readTypes = foldState ? null : scan.types;
  const wantsLogs = scan.types === null || scan.types.includes('logs');
  const pageSize = engine.pageSize;
  let cursor = scan.after;
  while (cursor < scan.upTo && !scan.signal.aborted) {
    const page = await readEventPage(
      store,
      {
        after: cursor,
        limit: pageSize,
        ...(readTypes ? { types: readTypes } : {}),
        ...(wantsLogs ? {} : { excludeTypes: ['logs'] }),
      },
      scan.upTo,
    );
    const events: HistoryEvent[] = [];
    for (const raw of page.events) {
      if (raw.tenant !== scan.tenant) {
        // a cluster-wide event may change this tenant's objects (so it is folded) but is never sent
        if (foldState && raw.tenant === undefined) foldToChange(foldState, raw, scan.model);
        continue;
      }
      // log lines have no view: their object is the line itself, as on the live change stream
      const change = foldState
        ? foldToChange(foldState, raw, scan.model)
        : toChange(raw, scan.needsObjects && raw.type === 'logs' ? logChangeObject(raw) : null, null, scan.model);
      // the wire event (ISO time and all) is built for matches only
      if (scan.predicate && !scan.predicate(change)) continue;
      events.push(toHistoryEvent(raw, change));
    }
    cursor = page.scannedTo;
    yield { events, scannedTo: cursor };
  }
}

/** The wire event, with `data` as the change carries it (converted to the requested model when needed). */
function toHistoryEvent(raw: RecordedEvent, change: Change): HistoryEvent {
  return {
    position: raw.position,
    id: raw.id,
    time: new Date(raw.time).toISOString(),
    stream: raw.stream,
    revision: raw.revision,
    type: raw.type,
    action: raw.action,
    key: raw.key,
    tenant: raw.tenant!,
    schema: change.schema,
    data: change.data,
    meta: raw.meta ?? {},
  };
}
