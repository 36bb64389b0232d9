import type { RecordedEvent } from '../../store/index.js';
import type { ComponentEvent } from '../../actors/component/events.js';
import type { JobEvent } from '../../actors/job/events.js';
import type { LogLine } from '../../actors/log/events.js';
import type { MinionEvent } from '../../actors/minion/events.js';
import type { ProcessEvent } from '../../actors/process/events.js';
import type { TenantEvent } from '../../actors/tenant/events.js';
import type { WatcherEvent } from '../../actors/watcher/events.js';
import { evolveComponents } from './components.js';
import { evolveJobs } from './jobs.js';
import { evolveMinions } from './minions.js';
import { evolveProcesses } from './processes.js';
import { evolveTenants } from './tenants.js';
import { evolveWatchers } from './watchers.js';
import type { EventOf, FoldResult, ViewState } from './types.js';

const NO_VIEW: FoldResult = Object.freeze({ object: null, original: null }) as FoldResult;

/**
 * Folds one event (already upcast to the newest model API) into the views; pure apart from
 * updating `state`, deterministic (no clock, no randomness), and it never mutates an object
 * already in a view. Returns the affected view object after and before the event.
 *
 * `logs` have no view: their change object is the line itself (`{key, ...data}`), built only
 * when a change is actually emitted (`logChangeObject`).
 */
export function foldEvent(state: ViewState, event: RecordedEvent): FoldResult {
  switch (event.type) {
    case 'processes':
      return evolveProcesses(state, event as EventOf<ProcessEvent>);
    case 'jobs':
      return evolveJobs(state, event as EventOf<JobEvent>);
    case 'minions':
      return evolveMinions(state, event as EventOf<MinionEvent>);
    case 'watchers':
      return evolveWatchers(state, event as EventOf<WatcherEvent>);
    case 'tenants':
      return evolveTenants(state, event as EventOf<TenantEvent>);
    case 'components':
      return evolveComponents(state, event as EventOf<ComponentEvent>);
    default:
      // logs, connections, and types of newer nodes: no stored view
      return NO_VIEW;
  }
}

export function logChangeObject(event: RecordedEvent): Record<string, unknown> {
  // Explicit fields (spread is slow on this hot path); unknown extra fields of newer writers are kept too.
  const data = event.data as LogLine;
  const object: Record<string, unknown> = { key: event.key, pid: data.pid, fd: data.fd, line: data.line };
  if (data.truncated !== undefined) object.truncated = data.truncated;
  for (const field in data) if (!(field in object)) object[field] = (data as unknown as Record<string, unknown>)[field];
  return object;
}
