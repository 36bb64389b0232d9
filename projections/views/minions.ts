import type { MinionEvent } from '../../actors/minion/events.js';
import { ignore } from './tenants.js';
import type { EventOf, FoldResult, MinionView, ViewState } from './types.js';

/** Folds `minions` events (key `<tenant>:<id>`). */
export function evolveMinions(state: ViewState, event: EventOf<MinionEvent>): FoldResult {
  const key = event.key;
  const original = state.minions.get(key) ?? null;
  const base = original ?? newMinion(key, event.tenant, event.time);
  let object: MinionView;
  switch (event.action) {
    case 'connect':
      object = {
        ...base,
        id: event.data.id ?? base.id,
        state: 'connected',
        connectedAt: event.data.connectedAt,
        lastSeen: event.time,
        version: event.data.version,
      };
      break;
    case 'disconnect':
      object = { ...base, state: 'disconnected', lastSeen: event.data.lastSeen };
      break;
    case 'grains':
      object = { ...base, grains: event.data.grains, lastSeen: event.time };
      break;
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  state.minions.set(key, object);
  return { object, original };
}

function newMinion(key: string, tenant: string | undefined, time: number): MinionView {
  const colon = key.indexOf(':');
  return {
    key,
    tenant: tenant ?? key.slice(0, colon),
    id: key.slice(colon + 1),
    state: 'disconnected',
    connectedAt: null,
    lastSeen: time,
    version: null,
    grains: {},
  };
}
