import type { WatcherEvent, WatcherSpec } from '../../actors/watcher/events.js';
import { ignore } from './tenants.js';
import { retireProcesses } from './processes.js';
import type { EventOf, FoldResult, ViewState, WatcherView } from './types.js';

/**
 * Folds `watchers` events. Side effects on other views (no change of their own is emitted
 * for these): the tenant's watcher count, and removal of the processes of a destroyed
 * watcher or of slots beyond a reduced `numprocesses`.
 */
export function evolveWatchers(state: ViewState, event: EventOf<WatcherEvent>): FoldResult {
  const key = event.key;
  const original = state.watchers.get(key) ?? null;
  let object: WatcherView;
  switch (event.action) {
    case 'create': {
      const colon = key.indexOf(':');
      const tenant = event.tenant ?? key.slice(0, colon);
      const name = event.data.name ?? key.slice(colon + 1);
      object = {
        key,
        tenant,
        name,
        ...specFields(key, event.data.spec, original?.processes),
        createdAt: event.time,
        updatedAt: event.time,
      };
      if (!original) adjustWatcherCount(state, tenant, +1);
      else if (object.numprocesses < original.numprocesses) retireProcesses(state, key, object.numprocesses, original.numprocesses);
      break;
    }
    case 'update':
      if (!original) return ignore(event);
      object = { ...original, ...specFields(key, event.data.spec, original.processes), updatedAt: event.time };
      if (object.numprocesses < original.numprocesses) retireProcesses(state, key, object.numprocesses, original.numprocesses);
      break;
    case 'start':
      if (!original) return ignore(event);
      object = original.active ? original : { ...original, active: true, updatedAt: event.time };
      break;
    case 'stop':
      if (!original) return ignore(event);
      object = original.active ? { ...original, active: false, updatedAt: event.time } : original;
      break;
    case 'reload':
      // A rolling restart is visible through the processes; the watcher itself is unchanged.
      if (!original) return ignore(event);
      object = original;
      break;
    case 'destroy': {
      if (!original) return ignore(event);
      state.watchers.delete(key);
      adjustWatcherCount(state, original.tenant, -1);
      retireProcesses(state, key, 0, original.numprocesses);
      // Deletions carry the last object (as Digital Rebar's delete events do) so filters still match.
      return { object: original, original };
    }
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  if (object !== original) state.watchers.set(key, object);
  return { object, original };
}

type SpecFields = Pick<
  WatcherView,
  'cmd' | 'args' | 'env' | 'cwd' | 'numprocesses' | 'active' | 'minion' | 'restart' | 'ready' | 'stopSignal' | 'stopWaitMs' | 'logs' | 'processes'
>;

function specFields(key: string, spec: WatcherSpec, previousProcesses: readonly string[] | undefined): SpecFields {
  const numprocesses = spec.numprocesses;
  return {
    cmd: spec.cmd,
    args: spec.args,
    env: spec.env,
    cwd: spec.cwd ?? null,
    numprocesses,
    active: spec.active ?? true,
    minion: spec.minion,
    restart: spec.restart,
    ready: spec.ready,
    stopSignal: spec.stopSignal,
    stopWaitMs: spec.stopWaitMs,
    logs: spec.logs,
    // Shared with the previous object when the slot count did not change.
    processes: previousProcesses && previousProcesses.length === numprocesses ? previousProcesses : slotKeys(key, numprocesses),
  };
}

function slotKeys(watcherKey: string, numprocesses: number): string[] {
  const keys = new Array<string>(numprocesses);
  for (let slot = 0; slot < numprocesses; slot++) keys[slot] = `${watcherKey}:${slot}`;
  return keys;
}

function adjustWatcherCount(state: ViewState, tenant: string, delta: number): void {
  const tenantView = state.tenants.get(tenant);
  if (tenantView) state.tenants.set(tenant, { ...tenantView, watchers: Math.max(0, tenantView.watchers + delta) });
}
