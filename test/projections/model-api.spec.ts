import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventStore, type RecordedEvent } from '../../store/index.js';
import {
  ComponentRegistry,
  MODEL_API,
  ModelApiMismatchError,
  assertCanJoin,
  downcastChange,
  downcastEventData,
  downcastView,
  systemModelApi,
  upcastEvent,
  withWriteModel,
  writeModelApi,
  type Change,
  type ComponentView,
} from '../../projections/index.js';
import type { ProcessExitedV1, ProcessExitedV2 } from '../../actors/process/events.js';
import { settled, startedEngine, waitFor, watcherSpec } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const exitV1: fc.Arbitrary<ProcessExitedV1> = fc.record(
  {
    pid: fc.nat(),
    runId: fc.string(),
    code: fc.option(fc.integer({ min: -255, max: 255 })),
    signal: fc.option(fc.constantFrom('SIGTERM', 'SIGKILL', 'SIGSEGV')),
    exitedAt: fc.nat(),
    lost: fc.boolean(),
  },
  { requiredKeys: ['pid', 'runId', 'code', 'signal', 'exitedAt'] },
);
const exitV2: fc.Arbitrary<ProcessExitedV2> = fc
  .tuple(exitV1, fc.option(fc.nat()), fc.option(fc.record({ cpuUserMs: fc.nat(), cpuSystemMs: fc.nat(), maxRssBytes: fc.nat() })))
  .map(([v1, durationMs, usage]) => ({ ...v1, durationMs, usage }));

const recorded = (data: unknown, schema: number): RecordedEvent => ({
  id: 'x',
  stream: 'process-acme:web:0',
  type: 'processes',
  action: 'exit',
  key: 'acme:web:0',
  tenant: 'acme',
  schema,
  revision: 0,
  position: 1,
  time: 0,
  data,
  meta: {},
});

describe('event schema versions (processes.exit, model API 2)', () => {
  it('downcast(upcast(v1)) is v1', () => {
    fc.assert(
      fc.property(exitV1, (v1) => {
        const up = upcastEvent(recorded(v1, 1), 2);
        expect(up.schema).toBe(2);
        expect(up.data).toMatchObject({ durationMs: null, usage: null });
        const down = downcastEventData('processes', 'exit', up.data, 2, 1) as Record<string, unknown>;
        expect(down).toEqual(v1);
        expect(Object.keys(down).sort()).toEqual(Object.keys(v1).sort());
      }),
    );
  });

  it('upcast(downcast(v2)) keeps every field model 1 can carry', () => {
    fc.assert(
      fc.property(exitV2, (v2) => {
        const down = downcastEventData('processes', 'exit', v2, 2, 1) as Record<string, unknown>;
        expect(down).not.toHaveProperty('durationMs');
        expect(down).not.toHaveProperty('usage');
        const back = upcastEvent(recorded(down, 1), 2).data as ProcessExitedV2;
        const { durationMs: _d, usage: _u, ...v1Fields } = v2;
        expect(back).toMatchObject(v1Fields);
        expect(back.durationMs).toBeNull();
        expect(back.usage).toBeNull();
      }),
    );
  });

  it('other event kinds are the same at every model (no copies)', () => {
    const event = { ...recorded({ pid: 1 }, 1), action: 'spawn' };
    expect(upcastEvent(event, 2)).toBe(event);
    const data = { a: 1 };
    expect(downcastEventData('jobs', 'create', data, 2, 1)).toBe(data);
    expect(() => downcastEventData('processes', 'exit', data, 1, 2)).toThrow(/cannot downcast/);
  });

  it('view versions: processes.lastExit exists at model 2 only', () => {
    const v2 = { key: 'k', state: 'exited', lastExit: { code: 1, signal: null, durationMs: 5, usage: null } };
    expect(downcastView('processes', v2, 2)).toBe(v2);
    expect(downcastView('processes', v2, 1)).toEqual({ key: 'k', state: 'exited' });
    expect(v2).toHaveProperty('lastExit'); // not mutated
    const job = { key: 'j' };
    expect(downcastView('jobs', job, 1)).toBe(job);
  });

  it('downcastChange gives a model-1 subscriber model-1 data and objects', () => {
    const change: Change = {
      ...recorded({ pid: 1, runId: 'r', code: 0, signal: null, exitedAt: 1, durationMs: 3, usage: null }, 2),
      object: { key: 'acme:web:0', lastExit: { code: 0, signal: null, durationMs: 3, usage: null } },
      original: { key: 'acme:web:0', lastExit: null },
      principal: 'system',
    };
    const down = downcastChange(change, 1);
    expect(down.data).toEqual({ pid: 1, runId: 'r', code: 0, signal: null, exitedAt: 1 });
    expect(down.object).toEqual({ key: 'acme:web:0' });
    expect(down.original).toEqual({ key: 'acme:web:0' });
    expect(down.schema).toBe(1);
    expect(downcastChange(change, 2)).toBe(change);
  });

  it('writers write at the system model API (withWriteModel), readers upcast to their own', async () => {
    const store = new MemoryEventStore();
    cleanups.push(() => store.close());
    let system = 1;
    const writer = withWriteModel(store, () => system);
    const exit = { pid: 1, runId: 'a', code: 0, signal: null, exitedAt: 1, durationMs: 10, usage: null };
    await writer.append('process-acme:web:0', [{ type: 'processes', action: 'exit', key: 'acme:web:0', tenant: 'acme', data: exit }]);
    system = 2;
    await writer.append('process-acme:web:0', [{ type: 'processes', action: 'exit', key: 'acme:web:0', tenant: 'acme', data: exit }]);
    const [first, second] = await store.readAll();
    expect(first).toMatchObject({ schema: 1, data: { pid: 1, runId: 'a', code: 0, signal: null, exitedAt: 1 } });
    expect(first!.data).not.toHaveProperty('durationMs');
    expect(second).toMatchObject({ schema: 2, data: exit });
    expect(writer.kind).toBe('memory');
    expect(await writer.headPosition()).toBe(2);
  });

  it('an engine pinned to model 1 serves model-1 changes and views; a model-2 engine upcasts', async () => {
    const store = new MemoryEventStore();
    cleanups.push(() => store.close());
    const newer = await startedEngine(store);
    const older = await startedEngine(store, { modelApi: { min: 1, max: 1 } });
    cleanups.push(() => newer.stop(), () => older.stop());
    const seen = { newer: [] as Change[], older: [] as Change[] };
    newer.changes$.subscribe((batch) => seen.newer.push(...batch));
    older.changes$.subscribe((batch) => seen.older.push(...batch));
    await store.append('watcher-acme:web', [{ type: 'watchers', action: 'create', key: 'acme:web', tenant: 'acme', data: { name: 'web', spec: watcherSpec() } }]);
    const p = (action: string, data: unknown, schema: number) =>
      store.append('process-acme:web:0', [{ type: 'processes', action, key: 'acme:web:0', tenant: 'acme', data, schema }]);
    await p('start', { watcher: 'web', slot: 0, minion: 'h', runId: 'a' }, 1);
    await p('spawn', { pid: 5, minion: 'h', runId: 'a', startedAt: 1 }, 1);
    await p('exit', { pid: 5, runId: 'a', code: 3, signal: null, exitedAt: 2 }, 1);
    await settled(newer, store);
    await settled(older, store);
    await waitFor('changes', () => seen.older.length === 4 && seen.newer.length === 4);
    expect(seen.newer[3]!.data).toMatchObject({ durationMs: null, usage: null });
    expect(seen.newer[3]!.object).toMatchObject({ lastExit: { code: 3 } });
    expect(seen.older[3]!.data).toEqual({ pid: 5, runId: 'a', code: 3, signal: null, exitedAt: 2 });
    expect(seen.older[3]!.object).not.toHaveProperty('lastExit');
    expect(seen.older[3]!.schema).toBe(1);
    expect(await older.view('processes')).toEqual([expect.not.objectContaining({ lastExit: expect.anything() })]);
    expect(await newer.view('processes', { model: 1 })).toEqual(await older.view('processes'));
  });
});

describe('component registry and the system model API', () => {
  const server = (key: string, max: number, lastSeen: number, state: ComponentView['state'] = 'running'): ComponentView => ({
    key,
    kind: 'server',
    host: 'h',
    pid: 1,
    version: '0',
    modelApi: { min: 1, max },
    state,
    leader: false,
    lastSeen,
    url: null,
  });

  it('is the minimum max over live servers (heartbeat within the TTL, not stopped); minions do not count', () => {
    const now = 100_000;
    const components = [
      server('a', 2, now - 1_000),
      server('b', 1, now - 1_000),
      server('c', 1, now - 60_000), // expired
      server('d', 0, now, 'stopped'),
      { ...server('m', 0, now), kind: 'minion' as const },
    ];
    expect(systemModelApi(components, now, 15_000)).toBe(1);
    expect(systemModelApi(components.filter((c) => c.key !== 'b'), now, 15_000)).toBe(2);
    expect(systemModelApi([], now, 15_000)).toBeNull();
    expect(systemModelApi(new Map(components.map((c) => [c.key, c])), now, 15_000)).toBe(1);
  });

  it('a node whose max is below the system model API may not join, with a clear message', () => {
    expect(() => assertCanJoin({ min: 1, max: 1 }, 2)).toThrow(ModelApiMismatchError);
    expect(() => assertCanJoin({ min: 1, max: 1 }, 2)).toThrow(/supports model API 1..1, but the system model API is already 2/);
    expect(() => assertCanJoin({ min: 2, max: 2 }, 1)).toThrow(/below this node's minimum/);
    expect(() => assertCanJoin({ min: 1, max: 2 }, 1)).not.toThrow();
    expect(() => assertCanJoin({ min: 1, max: 2 }, null)).not.toThrow();
    expect(writeModelApi({ min: 1, max: 2 }, 1)).toBe(1);
    expect(writeModelApi({ min: 1, max: 2 }, null)).toBe(2);
    expect(MODEL_API).toEqual({ min: 1, max: 2 });
  });

  it('ComponentRegistry registers, heartbeats, reports state and unregisters in $components; the engine folds it', async () => {
    const store = new MemoryEventStore();
    cleanups.push(() => store.close());
    const engine = await startedEngine(store);
    cleanups.push(() => engine.stop());
    const older = new ComponentRegistry({ store, kind: 'server', host: 'node1', pid: 11, version: '0.1.0', modelApi: { min: 1, max: 1 }, heartbeatMs: 20 });
    const newer = new ComponentRegistry({ store, kind: 'server', host: 'node1', pid: 12, version: '0.2.0', modelApi: { min: 1, max: 2 }, url: 'http://127.0.0.1:8080', heartbeatMs: 20 });
    await older.register();
    await newer.register();
    await newer.setState('running', 1);
    await waitFor('heartbeats', async () => (await store.readStream('$components')).filter((e) => e.action === 'heartbeat').length >= 4);
    await settled(engine, store);
    const view = () => engine.views.components;
    expect(engine.get('components', 'node1:12')).toMatchObject({ kind: 'server', host: 'node1', pid: 12, state: 'running', modelApi: { min: 1, max: 2 }, url: 'http://127.0.0.1:8080' });
    expect(systemModelApi(view(), Date.now(), 5_000)).toBe(1);
    await older.unregister();
    await settled(engine, store);
    expect(systemModelApi(view(), Date.now(), 5_000)).toBe(2);
    expect(engine.systemModelApi(Date.now(), 5_000)).toBe(2);
    expect(engine.systemModelApi(Date.now() + 60_000, 5_000)).toBeNull(); // heartbeats expired
    expect(() => assertCanJoin({ min: 1, max: 1 }, systemModelApi(view(), Date.now(), 5_000))).toThrow(ModelApiMismatchError);
    const events = await store.readStream('$components');
    expect(events[0]).toMatchObject({ type: 'components', action: 'register', key: 'node1:11', meta: { principal: 'node1:11' } });
    expect(events[0]!.tenant).toBeUndefined();
    await newer.unregister();
  });
});
