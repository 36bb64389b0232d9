import fc from 'fast-check';
import pino from 'pino';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { COMPONENTS_STREAM, MemoryEventStore, type EventToAppend } from '../../store/index.js';
import {
  DEFAULT_COMPONENT_TTL_MS,
  ModelApiMismatchError,
  createEmptyViewState,
  createProjectionEngine,
  foldEvent,
  isLiveComponent,
} from '../../projections/index.js';
import { SystemModelApi, readLiveServers } from '../../ops/modules/model-api.js';

const silent = pino({ level: 'silent' });
const KEYS = ['alpha:1', 'beta:2', 'gamma:3'] as const;

type Op =
  | { op: 'register'; key: string; kind: 'server' | 'minion'; max: number }
  | { op: 'heartbeat' | 'unregister'; key: string }
  | { op: 'state'; key: string; state: 'initializing' | 'running' | 'paused' | 'stopped' }
  | { op: 'advance'; ms: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('register' as const), key: fc.constantFrom(...KEYS), kind: fc.constantFrom('server' as const, 'minion' as const), max: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ op: fc.constantFrom('heartbeat' as const, 'unregister' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constant('state' as const), key: fc.constantFrom(...KEYS), state: fc.constantFrom('initializing' as const, 'running' as const, 'paused' as const, 'stopped' as const) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
);

function toEvent(op: Exclude<Op, { op: 'advance' }>): EventToAppend {
  const [host, pid] = op.key.split(':');
  const data =
    op.op === 'register'
      ? { kind: op.kind, host, pid: Number(pid), version: '0.1.0', modelApi: { min: 1, max: op.max } }
      : op.op === 'state'
        ? { state: op.state }
        : {};
  return { type: 'components', action: op.op, key: op.key, data };
}

const register = (key: string, max: number, kind: 'server' | 'minion' = 'server'): EventToAppend => toEvent({ op: 'register', key, kind, max });

describe('the live servers read back from $components', () => {
  it('equal the live servers of the folded components view, for any history, clock and page size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary, { maxLength: 60 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 7 }),
        async (ops, lateBy, pageSize) => {
          let clock = 1_000_000;
          const store = new MemoryEventStore({ now: () => clock });
          for (const op of ops) {
            if (op.op === 'advance') clock += op.ms;
            else await store.append(COMPONENTS_STREAM, [toEvent(op)]);
          }
          const now = clock + lateBy;
          const state = createEmptyViewState();
          for (const event of await store.readStream(COMPONENTS_STREAM, { limit: 10_000 })) foldEvent(state, event);
          const expected = [...state.components.values()]
            .filter((component) => component.kind === 'server' && isLiveComponent(component, now, DEFAULT_COMPONENT_TTL_MS))
            .map((component) => `${component.key}@${component.modelApi.max}`)
            .sort();
          const actual = (await readLiveServers(store, now, DEFAULT_COMPONENT_TTL_MS, pageSize)).map((server) => `${server.key}@${server.max}`).sort();
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 1_500 },
    );
  });
});

describe('SystemModelApi', () => {
  async function setUp(ownMax: number, clock = { now: Date.now() }) {
    const store = new MemoryEventStore({ now: () => clock.now });
    const engine = createProjectionEngine({ store, modelApi: { min: 1, max: ownMax } });
    const tracker = new SystemModelApi({ own: { min: 1, max: ownMax }, key: 'me:1', store, engine, log: silent, now: () => clock.now });
    return { store, engine, tracker, clock };
  }

  it('reads the registry before the views caught up, refuses a node older than the cluster, and rises when the older server leaves', async () => {
    const { store, engine, tracker } = await setUp(2);
    await store.append(COMPONENTS_STREAM, [register('old:7', 1), register('minion:8', 1, 'minion')]);
    await tracker.refresh();
    expect(tracker.current()).toBe(1);
    expect(tracker.writeModel()).toBe(1);
    expect(() => tracker.assertCanJoin()).not.toThrow();
    expect(tracker.others().map((server) => server.key)).toEqual(['old:7']);

    await engine.start();
    await store.append(COMPONENTS_STREAM, [register('me:1', 2)]);
    const rises = firstValueFrom(tracker.changes$.pipe(take(1), toArray()));
    await store.append(COMPONENTS_STREAM, [{ type: 'components', action: 'unregister', key: 'old:7', data: {} }]);
    // the engine folds asynchronously; refresh until it saw the unregister
    for (let i = 0; i < 200 && tracker.current() === 1; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await tracker.refresh();
    }
    expect(await rises).toEqual([2]);
    expect(tracker.current()).toBe(2);
    expect(tracker.writeModel()).toBe(2);
    tracker.stop();
    await engine.stop();
  });

  it('counts a crashed server (silent past the TTL) as gone', async () => {
    const clock = { now: 5_000_000 };
    const { store, tracker } = await setUp(2, clock);
    await store.append(COMPONENTS_STREAM, [register('crashed:9', 1)]);
    await tracker.refresh();
    expect(tracker.current()).toBe(1);
    clock.now += DEFAULT_COMPONENT_TTL_MS + 1;
    await tracker.refresh();
    expect(tracker.current()).toBe(2);
  });

  it('refuses to join with a clear message when its max is below the system model API', async () => {
    const { store, tracker } = await setUp(1);
    await store.append(COMPONENTS_STREAM, [register('new:5', 2), register('newer:6', 2)]);
    await tracker.refresh();
    expect(() => tracker.assertCanJoin()).toThrow(ModelApiMismatchError);
    expect(() => tracker.assertCanJoin()).toThrow(/refusing to start: this node supports model API 1\.\.1, but the system model API is already 2/);
    // a node never writes above its own max
    expect(tracker.writeModel()).toBe(1);
  });

  it('picks one announcer: the smallest key among live servers', async () => {
    const { store, tracker } = await setUp(2);
    await store.append(COMPONENTS_STREAM, [register('aaa:1', 2)]);
    await tracker.refresh();
    expect(tracker.isAnnouncer()).toBe(false);
    await store.append(COMPONENTS_STREAM, [{ type: 'components', action: 'unregister', key: 'aaa:1', data: {} }, register('zzz:1', 2)]);
    await tracker.refresh();
    expect(tracker.isAnnouncer()).toBe(true);
  });
});
