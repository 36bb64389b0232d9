import type { EventStore, EventToAppend } from '../../store/index.js';
import { createProjectionEngine, type ProjectionEngine, type ProjectionEngineOptions } from '../../projections/index.js';
import type { WorkloadAppend } from '../../projections/testing/workload.js';

export async function appendAll(store: EventStore, appends: readonly WorkloadAppend[]): Promise<void> {
  for (const append of appends) await store.append(append.stream, append.events);
}

/** Appends events one by one to the stream their key implies (tests only). */
export async function appendEvents(store: EventStore, stream: string, ...events: EventToAppend[]): Promise<number[]> {
  return (await store.append(stream, events)).positions;
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function startedEngine(store: EventStore, options: Partial<ProjectionEngineOptions> = {}): Promise<ProjectionEngine> {
  const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 }, ...options });
  await engine.start();
  return engine;
}

/** Waits until the engine has folded everything the store holds. */
export async function settled(engine: ProjectionEngine, store: EventStore): Promise<void> {
  const head = await store.headPosition();
  await waitFor(`projections to reach ${head}`, () => engine.position >= head);
}

export const watcherSpec = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  cmd: 'node',
  args: ['server.js'],
  env: { PORT: '3000' },
  cwd: '/srv/web',
  numprocesses: 2,
  minion: 'host1',
  restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
  ready: { kind: 'tcp', port: 3000 },
  stopSignal: 'SIGTERM',
  stopWaitMs: 5000,
  logs: { maxLines: 10000 },
  active: true,
  ...overrides,
});
