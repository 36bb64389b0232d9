import type { RecordedEvent } from '../../store/index.js';
import type { Change } from '../change.js';
import { foldEvent, logChangeObject } from '../views/fold.js';
import type { FoldResult, ViewState } from '../views/types.js';
import { INTERNAL_MODEL, convertEventData, downcastView, upcastEvent } from '../model/versions.js';

/** Folds one stored event into `state` (upcasting it to the model the views are folded at). */
export function foldStoredEvent(state: ViewState, raw: RecordedEvent): FoldResult {
  const event = raw.schema === INTERNAL_MODEL ? raw : upcastEvent(raw, INTERNAL_MODEL);
  return foldEvent(state, event);
}

/**
 * The change a stored event made, as a subscriber at `model` sees it: data converted from the
 * model it was written at, view objects (`object` after, `original` before the event, both at
 * the internal model) downcast when `model` is below it. No copies at all in the common case.
 *
 * Every change of the log is built by this one object literal (same property order, every
 * field present), so the filter's property reads stay monomorphic.
 */
export function toChange(raw: RecordedEvent, object: object | null, original: object | null, model: number): Change {
  let data = raw.data;
  let schema = raw.schema;
  if (schema !== model) {
    data = convertEventData(raw.type, raw.action, data, schema, model);
    if (data !== raw.data) schema = model;
  }
  if (model < INTERNAL_MODEL) {
    if (object) object = downcastView(raw.type, object, model);
    if (original) original = downcastView(raw.type, original, model);
  }
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
    schema,
    data,
    object: object as Record<string, unknown> | null,
    original: original as Record<string, unknown> | null,
    principal: raw.meta?.principal,
  };
}

/**
 * Folds one stored event into `state` and returns its change at `model`: exactly what live
 * subscribers saw when `state` is the views as they were right before the event. `logs` have
 * no view (their object is the line). An event that cannot be folded is reported to `onError`
 * and yields no objects; it fails the same way on every replay, so history matches live.
 */
export function foldToChange(state: ViewState, raw: RecordedEvent, model: number, onError: FoldErrorHandler = ignoreFoldError): Change {
  if (raw.type === 'logs') return toChange(raw, logChangeObject(raw), null, model);
  const result = foldOrReport(state, raw, onError);
  return toChange(raw, result.object, result.original, model);
}

export type FoldErrorHandler = (event: RecordedEvent, error: unknown) => void;

/** Folds a batch, building changes only when someone will receive them. */
export function foldBatch(state: ViewState, events: readonly RecordedEvent[], ownModel: number, changes: Change[] | null, onError: FoldErrorHandler): void {
  for (let i = 0; i < events.length; i++) {
    const raw = events[i]!;
    if (changes) changes.push(foldToChange(state, raw, ownModel, onError));
    // logs have no view: nothing to fold without a change to pass on
    else if (raw.type !== 'logs') foldOrReport(state, raw, onError);
  }
}

function foldOrReport(state: ViewState, raw: RecordedEvent, onError: FoldErrorHandler): FoldResult {
  try {
    return foldStoredEvent(state, raw);
  } catch (error) {
    // Malformed data must not stop the projections; the same event fails the same way on replay.
    onError(raw, error);
    return NO_VIEW;
  }
}

const ignoreFoldError: FoldErrorHandler = () => {};

const NO_VIEW: FoldResult = Object.freeze({ object: null, original: null }) as FoldResult;
