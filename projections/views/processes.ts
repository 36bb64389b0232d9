import type { ProcessEvent } from '../../actors/process/events.js';
import { ignore } from './tenants.js';
import type { EventOf, FoldResult, MinionView, ProcessView, ViewState, WatcherView } from './types.js';

/**
 * Folds `processes` events, mirroring the process actor (actors/process/machine.ts): the
 * view follows the slot's current run only; reports about a reload's replacement run, a
 * replaced or a stale run leave it unchanged. A process object exists for a slot of an
 * existing watcher from its first event on; events of slots that no longer exist (watcher
 * destroyed, slot beyond a reduced `numprocesses`) are passed through with no view object.
 *
 * `exit` data is folded at model API 2 (`durationMs`, `usage`): the engine upcasts older
 * events before they get here.
 */
export function evolveProcesses(state: ViewState, event: EventOf<ProcessEvent>): FoldResult {
  const key = event.key;
  const original = state.processes.get(key) ?? null;
  let base: ProcessView;
  if (original) {
    // Invariant: a process object exists only for a live slot of an existing watcher (objects
    // are removed with their watcher or slot), so the hot path needs no watcher lookup.
    base = original;
  } else {
    const watcher = watcherOf(state, key);
    if (!watcher) return ignore(event);
    const slot = Number(key.slice(key.lastIndexOf(':') + 1));
    if (!(slot < watcher.numprocesses)) return ignore(event);
    base = newProcess(key, watcher.tenant, watcher.name, slot);
  }
  // Copy-on-write with explicit copies: object spread of these wide objects is ~50x slower in V8.
  let object: ProcessView;
  switch (event.action) {
    case 'start':
      // A reload's replacement run is not the slot's process until `handover`.
      if (event.data.replaces !== undefined) return unchanged(original);
      object = copyProcess(base);
      object.state = 'starting';
      object.runId = event.data.runId;
      object.minion = event.data.minion;
      object.pid = null;
      object.ready = false;
      break;
    case 'spawn':
      if (event.data.runId !== base.runId) return unchanged(original);
      object = copyProcess(base);
      if (base.state === 'starting') object.state = 'running';
      object.minion = event.data.minion;
      object.pid = event.data.pid;
      // With readiness `none` a running process is ready at once; otherwise a `ready` event says so.
      object.ready = watcherOf(state, key)?.ready.kind === 'none';
      object.startedAt = event.data.startedAt;
      if (base.startedAt !== null) object.restarts = base.restarts + 1;
      object.cpu = 0;
      object.rss = 0;
      break;
    case 'ready':
      if (event.data.runId !== base.runId || base.ready) return unchanged(original);
      object = copyProcess(base);
      object.ready = true;
      break;
    case 'handover':
      if (base.state !== 'running') return unchanged(original);
      object = copyProcess(base);
      object.runId = event.data.runId;
      object.pid = event.data.pid;
      object.ready = true;
      object.startedAt = event.data.startedAt;
      object.restarts = base.restarts + 1;
      object.cpu = 0;
      object.rss = 0;
      break;
    case 'kill': {
      const current = base.runId !== null && (event.data.runId ?? base.runId) === base.runId;
      const stoppable = base.state === 'starting' || base.state === 'running';
      if (!event.data.stop || !current || !stoppable) return unchanged(original);
      object = copyProcess(base);
      object.state = 'stopping';
      break;
    }
    case 'stop':
      if (base.state === 'stopped') object = base;
      else {
        object = copyProcess(base);
        object.state = 'stopped';
        object.runId = null;
        object.pid = null;
        object.ready = false;
      }
      break;
    case 'exit': {
      const data = event.data;
      if (data.runId !== base.runId) return unchanged(original);
      object = copyProcess(base);
      object.state = base.state === 'stopping' ? 'stopped' : 'exited';
      object.runId = null;
      object.pid = null;
      object.ready = false;
      object.exitedAt = data.exitedAt;
      object.exitCode = data.code;
      object.signal = data.signal;
      object.cpu = 0;
      object.rss = 0;
      object.lastExit = { code: data.code, signal: data.signal, durationMs: data.durationMs ?? null, usage: data.usage ?? null };
      break;
    }
    case 'backoff':
      if (base.state === 'backoff') object = base;
      else {
        object = copyProcess(base);
        object.state = 'backoff';
      }
      break;
    case 'fatal':
      object = copyProcess(base);
      object.state = 'fatal';
      object.runId = null;
      object.pid = null;
      object.ready = false;
      break;
    case 'stats':
      if (base.runId === null) return unchanged(original);
      object = copyProcess(base);
      object.cpu = event.data.cpu;
      object.rss = event.data.rss;
      break;
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  if (object !== original) state.processes.set(key, object);
  return { object, original };
}

/** An event about another run (stale, replaced or replacement): the slot's object is unchanged. */
function unchanged(current: ProcessView | null): FoldResult {
  return { object: current, original: current };
}

function watcherOf(state: ViewState, processKey: string): WatcherView | undefined {
  return state.watchers.get(processKey.slice(0, processKey.lastIndexOf(':')));
}

function copyProcess(o: ProcessView): ProcessView {
  return {
    key: o.key,
    tenant: o.tenant,
    watcher: o.watcher,
    slot: o.slot,
    minion: o.minion,
    state: o.state,
    runId: o.runId,
    pid: o.pid,
    ready: o.ready,
    startedAt: o.startedAt,
    exitedAt: o.exitedAt,
    exitCode: o.exitCode,
    signal: o.signal,
    restarts: o.restarts,
    cpu: o.cpu,
    rss: o.rss,
    lastExit: o.lastExit ?? null,
  };
}

function newProcess(key: string, tenant: string, watcher: string, slot: number): ProcessView {
  return {
    key,
    tenant,
    watcher,
    slot,
    minion: null,
    state: 'stopped',
    runId: null,
    pid: null,
    ready: false,
    startedAt: null,
    exitedAt: null,
    exitCode: null,
    signal: null,
    restarts: 0,
    cpu: 0,
    rss: 0,
    lastExit: null,
  };
}

/** Removes the process objects of slots [fromSlot, toSlot) of a watcher (slots beyond its count never exist). */
export function retireProcesses(state: ViewState, watcherKey: string, fromSlot: number, toSlot: number): void {
  for (let slot = fromSlot; slot < toSlot; slot++) state.processes.delete(`${watcherKey}:${slot}`);
}

/**
 * How reads show a process whose run's minion is disconnected: `unknown` instead of what was
 * last recorded, since nobody can tell whether it still runs (README, the HTTP routes table; issue 14
 * item 4). Pure in the two views of one state, so it holds for past states (`at`) too; the
 * minion's return (hello) reconciles the slot and the recorded state shows again.
 */
export function withMinionPresence(process: ProcessView, minions: ReadonlyMap<string, MinionView>): ProcessView {
  if (process.minion === null || (process.state !== 'running' && process.state !== 'starting' && process.state !== 'stopping')) return process;
  const minion = minions.get(`${process.tenant}:${process.minion}`);
  return minion === undefined || minion.state === 'connected' ? process : { ...process, state: 'unknown' };
}
