import type { ComponentEvent } from '../../actors/component/events.js';
import { ignore } from './tenants.js';
import type { ComponentView, EventOf, FoldResult, ViewState } from './types.js';

/**
 * Folds `components` events of `$components` (key `<host>:<pid>`) and the leader lease of
 * `$leader` (action `leader`, holder in the data). `leader` is true on the component whose
 * key holds the lease as of the last lease event; whether the lease has since expired is a
 * question of wall-clock time, which folds never ask (they must replay identically).
 */
export function evolveComponents(state: ViewState, event: EventOf<ComponentEvent>): FoldResult {
  if (event.action === 'leader') return foldLeaderLease(state, event.data.holder);
  const key = event.key;
  const original = state.components.get(key) ?? null;
  let object: ComponentView;
  switch (event.action) {
    case 'register': {
      const data = event.data;
      object = {
        key,
        kind: data.kind,
        host: data.host,
        pid: data.pid,
        version: data.version,
        modelApi: data.modelApi,
        state: 'initializing',
        leader: state.leader === key,
        lastSeen: event.time,
        url: data.url ?? null,
      };
      break;
    }
    case 'state':
      if (!original) return ignore(event);
      object = copyComponent(original);
      object.state = event.data.state;
      object.lastSeen = event.time;
      break;
    case 'heartbeat':
      if (!original) return ignore(event);
      object = copyComponent(original);
      object.lastSeen = event.time;
      break;
    case 'unregister':
      if (!original) return ignore(event);
      // Gone from the registry (like Zuul's); the change carries the last object.
      state.components.delete(key);
      return { object: original, original };
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  state.components.set(key, object);
  return { object, original };
}

/** The change's object is the new holder (or, on release, the previous one). */
function foldLeaderLease(state: ViewState, holder: string | null): FoldResult {
  const previousHolder = state.leader;
  if (holder === previousHolder) {
    const current = holder === null ? null : (state.components.get(holder) ?? null);
    return { object: current, original: current };
  }
  state.leader = holder;
  let released: ComponentView | null = null;
  let releasedBefore: ComponentView | null = null;
  if (previousHolder !== null) {
    releasedBefore = state.components.get(previousHolder) ?? null;
    if (releasedBefore) {
      released = copyComponent(releasedBefore);
      released.leader = false;
      state.components.set(previousHolder, released);
    }
  }
  if (holder === null) return { object: released, original: releasedBefore };
  const before = state.components.get(holder) ?? null;
  if (!before) return { object: null, original: null };
  const after = copyComponent(before);
  after.leader = true;
  state.components.set(holder, after);
  return { object: after, original: before };
}

function copyComponent(o: ComponentView): ComponentView {
  return {
    key: o.key,
    kind: o.kind,
    host: o.host,
    pid: o.pid,
    version: o.version,
    modelApi: o.modelApi,
    state: o.state,
    leader: o.leader,
    lastSeen: o.lastSeen,
    url: o.url,
  };
}
