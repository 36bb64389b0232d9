import type { Observable } from 'rxjs';
import { CorralError, type EventStore } from '../../store/index.js';
import type { ProjectionEngine } from '../../projections/index.js';
import type { ActorRuntime } from '../../actors/index.js';
import type { CommandDispatcher } from '../../gateway/index.js';

/** Event data produced at this build's newest model API, reshaped for an older `toModel`. */
export type Downcast = (type: string, action: string, data: unknown, toModel: number) => unknown;

/**
 * What the modules of one node share. `defaultNodeModules()` creates one per node and
 * passes it to every module factory; a module fills in what it provides during its
 * `start()`, so a module that needs a service starts after its provider (the order of
 * `defaultNodeModules()`) and takes it with `requireService` at its own start.
 *
 * Who provides what: the projections module (`ops/modules/projections.ts`) the engine and
 * the model-API fields; the actors module (`ops/modules/actors.ts`) `commands` and `actors`.
 */
export interface NodeServices {
  /**
   * The projection engine, started. It may still be catching up while other modules start
   * (`engine.status().caughtUp`); the node reports ready and writes server.json only after it did.
   */
  engine?: ProjectionEngine;
  /** The model API to write events at now: the system model API, never above this node's `max`. */
  writeModel?: () => number;
  /** Pass with `writeModel` to writers that produce data at the newest model (`createActorRuntime`). */
  downcast?: Downcast;
  /** The store with `append` writing every event at `writeModel()` (for writers without their own downcast). */
  writeStore?: EventStore;
  /** The system model API now (what `/api/v1/info` reports as `modelApi.system`). */
  systemModelApi?: () => number;
  /**
   * Each new system model API, once, when it changes (not replayed on subscribe: read
   * `systemModelApi()` for the current one). The websocket module sends `{"op":"modelApi","system":N}`.
   */
  modelApi$?: Observable<number>;
  /**
   * The write-command table: what the HTTP command routes and the native websocket's `cmd`
   * op dispatch to (`watchers.start`, `jobs.create`, ...; see gateway/routes/commands).
   */
  commands?: CommandDispatcher;
  /** The actor runtime of this node (its `stats$` feeds live CPU/RSS samples). */
  actors?: ActorRuntime;
}

export function createNodeServices(): NodeServices {
  return {};
}

/** The service, or a start error that names the module it is missing for and who provides it. */
export function requireService<K extends keyof NodeServices>(services: NodeServices, name: K, consumer: string): NonNullable<NodeServices[K]> {
  const service = services[name];
  if (service === undefined || service === null) {
    throw new CorralError(
      'unavailable',
      `the ${consumer} module needs NodeServices.${name}, which no module started before it provides: check the order in ops/modules.ts`,
    );
  }
  return service as NonNullable<NodeServices[K]>;
}
