import type { TenantEvent } from '../../actors/tenant/events.js';
import type { EventOf, FoldResult, TenantView, ViewState } from './types.js';

/** Folds `tenants` events. The watcher count is maintained by the watchers fold. */
export function evolveTenants(state: ViewState, event: EventOf<TenantEvent>): FoldResult {
  const key = event.key;
  const original = state.tenants.get(key) ?? null;
  let object: TenantView;
  switch (event.action) {
    case 'create': {
      // A re-created tenant keeps counting the watchers that still exist under its name.
      const watchers = original ? original.watchers : countWatchersOf(state, key);
      object = {
        key,
        name: event.data.name ?? key,
        state: 'active',
        configVersion: event.data.configVersion ?? 1,
        watchers,
        createdAt: event.time,
        reconfiguredAt: null,
      };
      break;
    }
    case 'reconfigure':
      if (!original) return { object: null, original: null };
      object = { ...original, configVersion: event.data.configVersion, reconfiguredAt: event.time };
      break;
    case 'destroy':
      if (!original) return { object: null, original: null };
      object = original.state === 'deleted' ? original : { ...original, state: 'deleted' };
      break;
    case 'config-applied':
      // a fact for the actors (what a start compares the file with); the view has no field for it
      return ignore(event);
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  if (object !== original) state.tenants.set(key, object);
  return { object, original };
}

function countWatchersOf(state: ViewState, tenant: string): number {
  let count = 0;
  for (const watcher of state.watchers.values()) if (watcher.tenant === tenant) count++;
  return count;
}

/** Actions this code does not know (written by a newer node) leave the views untouched. */
export function ignore(_event: unknown): FoldResult {
  return { object: null, original: null };
}
