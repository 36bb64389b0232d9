import type { WatcherContext, WatcherDomainEvent, WatcherMachineInput, WatcherStateName } from './machine.js';

/** The watcher actor's state folded without the machine (equal to `watcherMachine`'s; see the process evolve). */
export interface WatcherState {
  value: WatcherStateName;
  context: WatcherContext;
}

export function initialWatcherState(input: WatcherMachineInput): WatcherState {
  return { value: 'absent', context: { ...input, spec: null, active: false, slotCount: 0, reloadId: null } };
}

export function evolveWatcher(state: WatcherState, event: WatcherDomainEvent): WatcherState {
  const { value, context } = state;
  switch (event.type) {
    case 'create': {
      if (value !== 'absent' && value !== 'destroyed') return state;
      const spec = event.data.spec;
      const base = { ...context, spec, slotCount: Math.max(context.slotCount, spec.numprocesses), reloadId: null };
      return spec.active ? { value: 'active', context: { ...base, active: true } } : { value: 'inactive', context: { ...base, active: false } };
    }
    case 'update': {
      const spec = event.data.spec;
      const next = { ...context, spec, slotCount: Math.max(context.slotCount, spec.numprocesses) };
      if (event.data.changed.includes('active')) {
        return spec.active ? { value: 'active', context: { ...next, active: true } } : { value: 'inactive', context: { ...next, active: false } };
      }
      return { value, context: next };
    }
    case 'start':
      return value === 'inactive' ? { value: 'active', context: { ...context, active: true } } : state;
    case 'stop':
      return value === 'active' ? { value: 'inactive', context: { ...context, active: false } } : state;
    case 'reload':
      return value === 'active' ? { value, context: { ...context, reloadId: event.data.reloadId } } : state;
    case 'destroy':
      return value === 'active' || value === 'inactive' ? { value: 'destroyed', context: { ...context, active: false, reloadId: null } } : state;
    default:
      return state;
  }
}
