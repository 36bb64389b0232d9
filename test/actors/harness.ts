import { createActorRuntime, ManualClock, type ActorRuntime, type ActorRuntimeOptions, type Clock } from '../../actors/index.js';
import { openStore, type EventStore, type RecordedEvent } from '../../store/index.js';
import { FakeMinions, type FakeMinionsOptions } from './fake-minions.js';

export const MINION = 'm1';
export const ADMIN = 'alice';

export interface Harness {
  store: EventStore;
  clock: ManualClock;
  minions: FakeMinions;
  runtime: ActorRuntime;
  /** a second runtime on the same store and clock (a new leader after a restart) */
  newRuntime(extra?: Partial<ActorRuntimeOptions>): Promise<ActorRuntime>;
  events(stream: string): Promise<RecordedEvent[]>;
  actions(stream: string): Promise<string[]>;
  /** lets reports and follow-up work settle, moving simulated time by `ms` */
  advance(ms?: number): Promise<void>;
}

export async function harness(
  options: { minions?: FakeMinionsOptions; runtime?: Partial<ActorRuntimeOptions>; connect?: boolean; runtimeClock?: (clock: ManualClock) => Clock } = {},
): Promise<Harness> {
  const store = await openStore({ kind: 'memory' });
  const clock = new ManualClock();
  const minions = new FakeMinions(clock, options.minions);
  const make = async (extra: Partial<ActorRuntimeOptions> = {}) => {
    const runtime = createActorRuntime({ store, minions, clock: options.runtimeClock?.(clock) ?? clock, node: 'test:1', localMinion: MINION, ...options.runtime, ...extra });
    minions.sink = runtime.minionSink;
    await runtime.start();
    return runtime;
  };
  const runtime = await make();
  if (options.connect !== false) await minions.connect(MINION, ['acme']);
  const events = async (stream: string) => store.readStream(stream, { limit: 10_000 });
  return {
    store,
    clock,
    minions,
    runtime,
    newRuntime: make,
    events,
    actions: async (stream) => (await events(stream)).map((event) => event.action),
    advance: (ms = 0) => clock.advance(ms),
  };
}

/** Polls `condition` (letting promises and setImmediate work run) until it holds or the deadline passes. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const sleepSpec = (extra: Record<string, unknown> = {}) => ({
  cmd: 'sleep',
  args: ['300'],
  numprocesses: 1,
  restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 3 },
  stopWaitMs: 2000,
  ...extra,
});
