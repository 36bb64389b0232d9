import { pino } from 'pino';
import { MemoryEventStore, type EventStore, type EventToAppend } from '../../store/index.js';
import { createProjectionEngine, type ProjectionEngine, type ProjectionEngineOptions } from '../../projections/index.js';
import { MixedWorkload, type WorkloadAppend } from '../../projections/testing/workload.js';
import { Authenticator, Gateway, TokenService, registerReadRoutes } from '../../gateway/index.js';
import { waitFor } from '../support/index.js';

/**
 * An in-process node's read side: a memory store, a real projection engine folding it, and
 * a real uWS gateway with the read routes, listening on 127.0.0.1. Two tenants by default
 * (`tenant0`, `tenant1`, as MixedWorkload names them).
 */
export interface ReadHarness {
  store: EventStore;
  engine: ProjectionEngine;
  gateway: Gateway;
  base: string;
  tokens: { admin: string; tenant0: string; tenant1: string; nothing: string };
  /** `readAll` calls made by the routes (not by the engine's own folding) */
  routeReads: { count: number };
  /** appends and waits until the engine has folded everything */
  append(appends: readonly WorkloadAppend[]): Promise<void>;
  appendEvents(stream: string, ...events: EventToAppend[]): Promise<number[]>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface ReadHarnessOptions {
  /** the store's clock (time travel by ISO time) */
  now?: () => number;
  engine?: Partial<ProjectionEngineOptions>;
}

export async function startReadHarness(options: ReadHarnessOptions = {}): Promise<ReadHarness> {
  const store = new MemoryEventStore(options.now ? { now: options.now } : {});
  const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 }, memorySnapshotEveryEvents: 500, ...options.engine });
  await engine.start();
  const tokens = new TokenService({ secret: new Uint8Array(48).fill(7) });
  const gateway = new Gateway({
    authenticator: new Authenticator({ mode: 'tokens', tokens }),
    logger: pino({ level: 'silent' }),
    version: 'test',
    componentState: () => 'running',
  });
  const routeReads = { count: 0 };
  const routeStore = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'readAll') {
        return (...args: Parameters<EventStore['readAll']>) => {
          routeReads.count++;
          return target.readAll(...args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  registerReadRoutes(gateway, { engine, store: routeStore });
  const port = await gateway.listen('127.0.0.1', 0);
  const issue = async (subject: string, tenants: Record<string, 'read' | 'admin'>): Promise<string> =>
    (await tokens.issue({ subject, tenants, ttlMs: 600_000 })).token;
  const settle = async (): Promise<void> => {
    const head = await store.headPosition();
    await waitFor(() => engine.position >= head, { timeoutMs: 20_000, intervalMs: 2, description: `projections to reach ${head}` });
  };
  return {
    store,
    engine,
    gateway,
    base: `http://127.0.0.1:${port}`,
    routeReads,
    tokens: {
      admin: await issue('admin', { '*': 'admin' }),
      tenant0: await issue('reader0', { tenant0: 'read' }),
      tenant1: await issue('reader1', { tenant1: 'read' }),
      nothing: await issue('nobody', {}),
    },
    append: async (appends) => {
      for (const append of appends) await store.append(append.stream, append.events);
      await settle();
    },
    appendEvents: async (stream, ...events) => {
      const { positions } = await store.append(stream, events);
      await settle();
      return positions;
    },
    settle,
    close: async () => {
      gateway.stopListening();
      await engine.stop();
      await store.close();
    },
  };
}

/** A realistic two-tenant workload (components, tenants, watchers, processes, logs, minions, jobs). */
export const twoTenantWorkload = (seed = 7): MixedWorkload => new MixedWorkload({ seed, tenants: 2, openJobs: 12 });
