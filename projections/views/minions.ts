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
      object = copyMinion(base);
      object.id = event.data.id ?? base.id;
      object.state = 'connected';
      object.connectedAt = event.data.connectedAt;
      object.lastSeen = event.time;
      object.version = event.data.version;
      break;
    case 'disconnect':
      object = copyMinion(base);
      object.state = 'disconnected';
      object.lastSeen = event.data.lastSeen;
      break;
    case 'grains':
      object = copyMinion(base);
      object.grains = event.data.grains;
      object.lastSeen = event.time;
      break;
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  state.minions.set(key, object);
  return { object, original };
}

function copyMinion(o: MinionView): MinionView {
  return { key: o.key, tenant: o.tenant, id: o.id, state: o.state, connectedAt: o.connectedAt, lastSeen: o.lastSeen, version: o.version, grains: o.grains };
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
