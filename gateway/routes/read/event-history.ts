import type { EventStore, RecordedEvent } from '../../../store/index.js';
import {
  INTERNAL_MODEL,
  convertEventData,
  downcastView,
  foldEvent,
  upcastEvent,
  type Change,
  type ChangePredicate,
  type ProjectionEngine,
  type ViewState,
} from '../../../projections/index.js';

/** One event of the history as the audit routes send it (DESIGN.md §3 envelope, time in ISO 8601). */
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

const NO_OBJECTS = { object: null, original: null } as const;

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
    const page = await store.readAll({
      after: cursor,
      limit: pageSize,
      ...(readTypes ? { types: readTypes } : {}),
      ...(wantsLogs ? {} : { excludeTypes: ['logs'] }),
    });
    const events: HistoryEvent[] = [];
    let last = cursor;
    let reachedEnd = page.length < pageSize;
    for (const raw of page) {
      if (raw.position > scan.upTo) {
        reachedEnd = true;
        break;
      }
      last = raw.position;
      const ours = raw.tenant === scan.tenant;
      if (!ours && raw.tenant !== undefined) continue;
      const folded = raw.type === 'logs' && scan.needsObjects ? logObjects(raw) : foldState ? foldForHistory(foldState, raw) : NO_OBJECTS;
      if (!ours) continue;
      const data = dataAt(raw, scan.model);
      // the wire event (ISO time and all) is built for matches only
      if (scan.predicate && !scan.predicate(toChange(raw, data, folded, scan.model))) continue;
      events.push(toHistoryEvent(raw, data, scan.model));
    }
    cursor = reachedEnd || last >= scan.upTo ? scan.upTo : last;
    yield { events, scannedTo: cursor };
  }
}

/** Log lines have no view: their change object is the line itself, as on the live change stream. */
const logObjects = (raw: RecordedEvent): { object: object; original: null } => ({
  object: { key: raw.key, ...(raw.data as Record<string, unknown>) },
  original: null,
});

function foldForHistory(state: ViewState, raw: RecordedEvent): { object: object | null; original: object | null } {
  try {
    return foldEvent(state, raw.schema === INTERNAL_MODEL ? raw : upcastEvent(raw, INTERNAL_MODEL));
  } catch {
    // The live engine skips (and logs) an event it cannot fold; history does the same.
    return NO_OBJECTS;
  }
}

const dataAt = (raw: RecordedEvent, model: number): unknown =>
  raw.schema === model ? raw.data : convertEventData(raw.type, raw.action, raw.data, raw.schema, model);

function toHistoryEvent(raw: RecordedEvent, data: unknown, model: number): HistoryEvent {
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
    schema: data === raw.data ? raw.schema : model,
    data,
    meta: raw.meta ?? {},
  };
}

/** The change a subscriber at `model` saw for this event: what `filter` and `select` evaluate. */
function toChange(raw: RecordedEvent, data: unknown, folded: { object: object | null; original: object | null }, model: number): Change {
  const shape = (object: object | null): Record<string, unknown> | null =>
    object === null ? null : (downcastView(raw.type, object, model) as Record<string, unknown>);
  return {
    position: raw.position,
    time: raw.time,
    id: raw.id,
    stream: raw.stream,
    revision: raw.revision,
    type: raw.type,
    action: raw.action,
    key: raw.key,
    tenant: raw.tenant,
    schema: data === raw.data ? raw.schema : model,
    data,
    object: shape(folded.object),
    original: shape(folded.original),
    principal: raw.meta?.principal,
  };
}
