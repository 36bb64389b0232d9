import { hostname } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ComponentState, ModelApiRange } from '../../actors/index.js';
import {
  ComponentRegistry,
  MODEL_API,
  createProjectionEngine,
  downcastEventData,
  withWriteModel,
  type ProjectionEngine,
} from '../../projections/index.js';
import { registerReadRoutes } from '../../gateway/index.js';
import type { NodeContext, NodeModule, StartedModule } from '../node-module.js';
import { SystemModelApi } from './model-api.js';
import type { NodeServices } from './shared.js';

export interface ProjectionsModuleOptions {
  /** how often the system model API and this node's state are re-checked (default 500 ms) */
  refreshMs?: number;
  /** component heartbeat interval (default: the registry's, 5 s) */
  heartbeatMs?: number;
}

/**
 * The read side of a node (README "HTTP"; docs/operations.md "Rolling restart on one machine"): the projection engine over the node's store,
 * the read routes, readiness until the views have caught up, projection metrics, and this
 * server's entry in the component registry with the system model API it implies.
 *
 * Start order matters: the model-API check runs first, so a node too old for the cluster
 * refuses to start (ModelApiMismatchError: `corral serve` prints it and exits 1) before it
 * writes anything. The engine catches up in the background while the gateway listens
 * (`/health/ready` answers 503 meanwhile); `listening()` returns only once it has caught
 * up, so server.json still means "ready".
 *
 * Provides in `services`: engine, writeModel, downcast, writeStore, systemModelApi, modelApi$.
 */
export function projectionsModule(services: NodeServices, options: ProjectionsModuleOptions = {}): NodeModule {
  return {
    name: 'projections',
    async start(context) {
      return startProjections(context, services, options);
    },
  };
}

async function startProjections(context: NodeContext, services: NodeServices, options: ProjectionsModuleOptions): Promise<StartedModule> {
  const { store, gateway, dataDir, componentKey } = context;
  const log = context.log.child({ module: 'projections' });
  const own: ModelApiRange = { min: MODEL_API.min, max: context.modelApiMax };
  // Snapshots of a memory store's views would outlive the store: only for persistent ones.
  const snapshotDir = store.kind === 'memory' ? undefined : join(dataDir, 'projections');
  const engine = createProjectionEngine({ store, modelApi: own, logger: log, ...(snapshotDir ? { snapshotDir } : {}) });
  const modelApi = new SystemModelApi({ own, key: componentKey, store, engine, log });

  await modelApi.refresh();
  try {
    modelApi.assertCanJoin();
  } catch (error) {
    log.error({ own, liveServers: modelApi.others() }, (error as Error).message);
    throw error;
  }

  const writeModel = (): number => modelApi.writeModel();
  const writeStore = withWriteModel(store, writeModel);
  services.engine = engine;
  services.writeModel = writeModel;
  services.downcast = (type, action, data, toModel) => downcastEventData(type, action, data, MODEL_API.max, toModel);
  services.writeStore = writeStore;
  services.systemModelApi = () => modelApi.current();
  services.modelApi$ = modelApi.changes$;

  registerReadRoutes(gateway, { engine, store });
  gateway.setModelApiProvider(() => ({ system: modelApi.current(), min: own.min, max: own.max }));
  const removeReadiness = gateway.addReadinessCheck('projections', () => {
    const status = engine.status();
    return status.caughtUp ? true : `catching up with the event store (position ${status.position} of ${status.head})`;
  });
  registerProjectionMetrics(gateway.metrics, engine, () => modelApi.current(), writeModel);

  const head = await store.headPosition();
  log.info({ head, snapshotDir: snapshotDir ?? null }, `projections: catching up with the event store (head ${head})`);
  const caughtUp = engine.start();
  // observed here so a stop before catch-up is not an unhandled rejection; awaited in listening()
  caughtUp.catch(() => undefined);

  /** this server's registry entry, from `listening()` on (its URL is known only then) */
  let registry: ComponentRegistry | null = null;
  let registeredState: ComponentState | null = null;
  let refreshTimer: NodeJS.Timeout | null = null;
  let stopped = false;

  const announce = modelApi.changes$.subscribe((system) => {
    // One node writes the announcement; every node tells its own websocket clients (modelApi$).
    if (registry === null || registeredState === null || !modelApi.isAnnouncer()) return;
    registry.setState(registeredState, system).catch((error: unknown) => log.warn({ err: error }, 'could not announce the system model API'));
  });

  const refresh = async (): Promise<void> => {
    await modelApi.refresh();
    // Mirror this node's state (paused or resumed by another module) into the registry.
    const state = context.componentState();
    if (!stopped && registry !== null && registeredState !== null && state !== registeredState && (state === 'running' || state === 'paused')) {
      registeredState = state;
      await registry.setState(state, modelApi.current()).catch((error: unknown) => log.warn({ err: error }, 'could not record the component state'));
    }
  };

  // From the start, not only once caught up: a long catch-up still follows the cluster.
  refreshTimer = setInterval(() => void refresh(), options.refreshMs ?? 500);
  refreshTimer.unref();

  return {
    async listening(url) {
      registry = new ComponentRegistry({
        store: writeStore,
        kind: 'server',
        host: hostname(),
        pid: process.pid,
        version: context.version,
        modelApi: own,
        url,
        ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
        logger: log,
      });
      await registry.register();
      registeredState = 'initializing';
      const status = engine.status();
      if (!status.caughtUp) log.info({ url, position: status.position, head: status.head }, `listening on ${url}; ready once the projections have caught up`);
      await caughtUp;
      registeredState = 'running';
      await registry.setState('running', modelApi.current());
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (refreshTimer) clearInterval(refreshTimer);
      announce.unsubscribe();
      if (registry !== null && registeredState !== null) {
        // Leave the registry at once: the others' system model API may rise without waiting for a TTL.
        await registry.setState('stopped').catch((error: unknown) => log.warn({ err: error }, 'could not record the stopped state'));
        await registry.unregister().catch((error: unknown) => log.warn({ err: error }, 'could not unregister from the component registry'));
      } else registry?.stopHeartbeat();
      modelApi.stop();
      removeReadiness();
      await engine.stop();
    },
  };
}

/** Read at scrape time from the engine's status (no work on the fold path). */
function registerProjectionMetrics(registry: Registry, engine: ProjectionEngine, system: () => number, writeModel: () => number): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('corral_projection_position', 'log position of the last event folded into the views', () => engine.status().position);
  gauge('corral_projection_head_position', 'newest log position the projections know of', () => engine.status().head);
  gauge('corral_projection_lag_events', 'events in the log not yet folded into the views (head - position)', () => engine.status().lag);
  gauge('corral_projection_caught_up', '1 once the views have caught up with the log since start (readiness), else 0', () => (engine.status().caughtUp ? 1 : 0));
  new Counter({
    name: 'corral_projection_folded_events_total',
    help: 'events folded into the views by this process (a restart from a snapshot folds only the tail)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(engine.foldedEvents);
    },
  });
  gauge('corral_model_api_system', 'the system model API: the minimum max over live servers', system);
  gauge('corral_model_api_write', 'the model API this node writes events at', writeModel);
}
