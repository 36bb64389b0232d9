import { NotFoundError, WrongExpectedRevisionError } from '../../store/index.js';
import type { WatcherEvent, WatcherSpec } from './events.js';
import type { WatcherContext, WatcherStateName } from './machine.js';
import { diffWatcherSpecs } from './spec.js';

/** The watcher actor's decider (pure; ids come in through `newId`). */
export type WatcherCommand =
  | { kind: 'create'; spec: WatcherSpec }
  /** `spec` is complete and validated; only what differs from the current spec is recorded */
  | { kind: 'update'; spec: WatcherSpec }
  | { kind: 'start' }
  | { kind: 'stop' }
  | { kind: 'restart' }
  | { kind: 'reload' }
  | { kind: 'destroy' };

export interface WatcherSnapshotView {
  value: WatcherStateName;
  context: WatcherContext;
}

/** Fields whose change needs new processes (a rolling reload); the rest apply in place. */
export const PROCESS_DEFINING_FIELDS: ReadonlySet<string> = new Set(['cmd', 'args', 'env', 'cwd', 'ready', 'minion']);

export function watcherExists(state: WatcherSnapshotView): boolean {
  return state.value === 'active' || state.value === 'inactive';
}

export function decideWatcher(
  state: WatcherSnapshotView,
  command: WatcherCommand,
  env: { stream: string; revision: number; newId: () => string },
): WatcherEvent[] {
  const { value, context } = state;
  if (command.kind === 'create') {
    if (watcherExists(state)) {
      throw new WrongExpectedRevisionError(env.stream, 'noStream', env.revision);
    }
    return [{ action: 'create', data: { name: context.name, spec: command.spec } }];
  }
  if (!watcherExists(state)) {
    throw new NotFoundError(`watcher ${context.key} does not exist`, { key: context.key });
  }
  switch (command.kind) {
    case 'update': {
      const changed: string[] = context.spec ? diffWatcherSpecs(context.spec, command.spec) : [];
      if (changed.length === 0) return [];
      const events: WatcherEvent[] = [{ action: 'update', data: { spec: command.spec, changed } }];
      const stillActive = changed.includes('active') ? command.spec.active : value === 'active';
      if (value === 'active' && stillActive && changed.some((field) => PROCESS_DEFINING_FIELDS.has(field))) {
        events.push({ action: 'reload', data: { reloadId: env.newId() } });
      }
      return events;
    }
    case 'start':
      return value === 'active' ? [] : [{ action: 'start', data: {} }];
    case 'stop':
      return value === 'active' ? [{ action: 'stop', data: {} }] : [];
    case 'restart':
      return value === 'active' ? [{ action: 'stop', data: {} }, { action: 'start', data: {} }] : [{ action: 'start', data: {} }];
    case 'reload':
      return value === 'active' ? [{ action: 'reload', data: { reloadId: env.newId() } }] : [];
    case 'destroy':
      return [{ action: 'destroy', data: {} }];
  }
}

