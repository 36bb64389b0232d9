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
 * The change a folded event produced, at the engine's own model API: data converted from the
 * model it was written at, view objects downcast when the node is pinned below this code's
 * newest model. No copies at all in the common case (own model = newest).
 */
export function toChange(raw: RecordedEvent, result: FoldResult, ownModel: number): Change {
  let data = raw.data;
  let schema = raw.schema;
  let object = result.object as Record<string, unknown> | null;
  let original = result.original as Record<string, unknown> | null;
  if (raw.type === 'logs') {
    object = logChangeObject(raw);
    original = null;
  }
  if (schema !== ownModel) {
    data = convertEventData(raw.type, raw.action, data, schema, ownModel);
    if (data !== raw.data) schema = ownModel;
  }
  if (ownModel < INTERNAL_MODEL) {
    if (object) object = downcastView(raw.type, object, ownModel);
    if (original) original = downcastView(raw.type, original, ownModel);
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
    object,
    original,
    principal: raw.meta?.principal,
  };
}

/** Folds a batch, building changes only when someone will receive them. */
export function foldBatch(state: ViewState, events: readonly RecordedEvent[], ownModel: number, changes: Change[] | null, onError: (event: RecordedEvent, error: unknown) => void): void {
  for (let i = 0; i < events.length; i++) {
    const raw = events[i]!;
    let result: FoldResult;
    if (raw.type === 'logs') {
      // logs have no view: nothing to fold, only a change to pass on
      if (changes) changes.push(toChange(raw, NO_VIEW, ownModel));
      continue;
    }
    try {
      result = foldStoredEvent(state, raw);
    } catch (error) {
      // Malformed data must not stop the projections; the same event fails the same way on replay.
      onError(raw, error);
      result = NO_VIEW;
    }
    if (changes) changes.push(toChange(raw, result, ownModel));
  }
}

const NO_VIEW: FoldResult = Object.freeze({ object: null, original: null }) as FoldResult;
