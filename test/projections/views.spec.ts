import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEventStore, type EventToAppend } from '../../store/index.js';
import type { Change, ProjectionEngine } from '../../projections/index.js';
import { settled, startedEngine, watcherSpec } from './helpers.js';

const ev = (type: string, action: string, key: string, data: unknown, tenant?: string, schema?: number): EventToAppend => {
  const event: EventToAppend = { type, action, key, data, meta: { principal: 'alice' } };
  if (tenant !== undefined) event.tenant = tenant;
  if (schema !== undefined) event.schema = schema;
  return event;
};

describe('views folded from events (docs/architecture.md "Views")', () => {
  let store: MemoryEventStore;
  let engine: ProjectionEngine;
  let changes: Change[];
  let now: number;

  beforeEach(async () => {
    now = 1_700_000_000_000;
    store = new MemoryEventStore({ now: () => now });
    engine = await startedEngine(store);
    changes = [];
    engine.changes$.subscribe((batch) => changes.push(...batch));
  });
  afterEach(async () => {
    await engine.stop();
    await store.close();
  });

  const given = async (stream: string, ...events: EventToAppend[]): Promise<void> => {
    now += 1000;
    await store.append(stream, events);
    await settled(engine, store);
  };

  it('tenants: create, watcher count, reconfigure, destroy', async () => {
    await given('tenant-acme', ev('tenants', 'create', 'acme', { name: 'acme', configVersion: 1 }, 'acme'));
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec() }, 'acme'));
    await given('watcher-acme:api', ev('watchers', 'create', 'acme:api', { name: 'api', spec: watcherSpec() }, 'acme'));
    await given('tenant-acme', ev('tenants', 'reconfigure', 'acme', { configVersion: 2, added: [], updated: ['web'], removed: [] }, 'acme'));
    expect(engine.get('tenants', 'acme')).toEqual({
      key: 'acme',
      name: 'acme',
      state: 'active',
      configVersion: 2,
      watchers: 2,
      createdAt: 1_700_000_001_000,
      reconfiguredAt: 1_700_000_004_000,
    });
    await given('watcher-acme:api', ev('watchers', 'destroy', 'acme:api', {}, 'acme'));
    await given('tenant-acme', ev('tenants', 'destroy', 'acme', {}, 'acme'));
    expect(engine.get('tenants', 'acme')).toMatchObject({ state: 'deleted', watchers: 1 });
  });

  it('watchers: spec fields, slot keys, start/stop, update shrinking slots removes their processes, destroy', async () => {
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec({ numprocesses: 3 }) }, 'acme'));
    const created = engine.get('watchers', 'acme:web');
    expect(created).toMatchObject({
      key: 'acme:web',
      tenant: 'acme',
      name: 'web',
      cmd: 'node',
      args: ['server.js'],
      env: { PORT: '3000' },
      numprocesses: 3,
      active: true,
      minion: 'host1',
      restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
      ready: { kind: 'tcp', port: 3000 },
      stopSignal: 'SIGTERM',
      stopWaitMs: 5000,
      processes: ['acme:web:0', 'acme:web:1', 'acme:web:2'],
    });
    for (const slot of [0, 1, 2]) {
      await given(`process-acme:web:${slot}`, ev('processes', 'start', `acme:web:${slot}`, { watcher: 'web', slot, minion: 'host1', runId: `r${slot}` }, 'acme'));
    }
    await given('watcher-acme:web', ev('watchers', 'stop', 'acme:web', {}, 'acme'));
    expect(engine.get('watchers', 'acme:web')).toMatchObject({ active: false });
    expect(created).toMatchObject({ active: true }); // emitted objects are never mutated
    await given('watcher-acme:web', ev('watchers', 'update', 'acme:web', { spec: watcherSpec({ numprocesses: 1 }), changed: ['numprocesses'] }, 'acme'));
    expect(engine.get('watchers', 'acme:web')).toMatchObject({ numprocesses: 1, processes: ['acme:web:0'], active: true });
    expect((await engine.view('processes')).map((p) => (p as { key: string }).key)).toEqual(['acme:web:0']);
    await given('watcher-acme:web', ev('watchers', 'destroy', 'acme:web', {}, 'acme'));
    expect(engine.get('watchers', 'acme:web')).toBeNull();
    expect(await engine.view('processes')).toEqual([]);
    const destroy = changes.at(-1)!;
    expect(destroy).toMatchObject({ type: 'watchers', action: 'destroy', key: 'acme:web' });
    expect(destroy.object).toBe(destroy.original);
  });

  it('processes: start, spawn, ready, stats, exit, backoff, restart counting, stop, fatal, reload hand-over', async () => {
    const key = 'acme:web:0';
    const p = (action: string, data: unknown, schema?: number) => given(`process-${key}`, ev('processes', action, key, data, 'acme', schema));
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec() }, 'acme'));
    await p('start', { watcher: 'web', slot: 0, minion: 'host1', runId: 'a' });
    expect(engine.get('processes', key)).toMatchObject({ state: 'starting', runId: 'a', slot: 0, watcher: 'web', tenant: 'acme', pid: null, restarts: 0 });
    await p('spawn', { pid: 100, minion: 'host1', runId: 'a', startedAt: 5 });
    expect(engine.get('processes', key)).toMatchObject({ state: 'running', pid: 100, ready: false, startedAt: 5 });
    await p('ready', { pid: 100, runId: 'a' });
    await p('stats', { pid: 100, cpu: 12.5, rss: 2048 });
    expect(engine.get('processes', key)).toMatchObject({ ready: true, cpu: 12.5, rss: 2048 });
    await p('exit', { pid: 100, runId: 'a', code: 1, signal: null, exitedAt: 9 }, 1);
    expect(engine.get('processes', key)).toMatchObject({
      state: 'exited',
      pid: null,
      exitCode: 1,
      exitedAt: 9,
      lastExit: { code: 1, signal: null, durationMs: null, usage: null },
    });
    // the change's data was upcast from model 1 to the engine's model 2
    expect(changes.at(-1)!.data).toEqual({ pid: 100, runId: 'a', code: 1, signal: null, exitedAt: 9, durationMs: null, usage: null });
    await p('backoff', { retries: 1, delayMs: 1000, restartAt: 10 });
    expect(engine.get('processes', key)).toMatchObject({ state: 'backoff' });
    await p('start', { watcher: 'web', slot: 0, minion: 'host1', runId: 'b' });
    await p('spawn', { pid: 101, minion: 'host1', runId: 'b', startedAt: 11 });
    expect(engine.get('processes', key)).toMatchObject({ state: 'running', pid: 101, restarts: 1 });
    // a late report about the old run changes nothing
    await p('exit', { pid: 100, runId: 'a', code: 0, signal: null, exitedAt: 12, durationMs: 1, usage: null }, 2);
    expect(engine.get('processes', key)).toMatchObject({ state: 'running', pid: 101 });
    // reload: replacement run b2 is invisible until the hand-over
    await p('start', { watcher: 'web', slot: 0, minion: 'host1', runId: 'c', replaces: 'b', reloadId: 'r1' });
    await p('spawn', { pid: 102, minion: 'host1', runId: 'c', startedAt: 13 });
    await p('ready', { pid: 102, runId: 'c' });
    expect(engine.get('processes', key)).toMatchObject({ runId: 'b', pid: 101 });
    await p('handover', { runId: 'c', pid: 102, startedAt: 13, replacedRunId: 'b', reloadId: 'r1' });
    await p('kill', { pid: 101, signal: 'SIGTERM', stop: true, killAt: 20, runId: 'b' });
    await p('exit', { pid: 101, runId: 'b', code: 0, signal: 'SIGTERM', exitedAt: 14, durationMs: 3, usage: null }, 2);
    expect(engine.get('processes', key)).toMatchObject({ state: 'running', runId: 'c', pid: 102, ready: true, restarts: 2 });
    // stop
    await p('kill', { pid: 102, signal: 'SIGTERM', stop: true, killAt: 30, runId: 'c' });
    expect(engine.get('processes', key)).toMatchObject({ state: 'stopping' });
    await p('exit', { pid: 102, runId: 'c', code: null, signal: 'SIGTERM', exitedAt: 15, durationMs: 2000, usage: { cpuUserMs: 5, cpuSystemMs: 1, maxRssBytes: 9 } }, 2);
    expect(engine.get('processes', key)).toMatchObject({
      state: 'stopped',
      signal: 'SIGTERM',
      lastExit: { code: null, signal: 'SIGTERM', durationMs: 2000, usage: { cpuUserMs: 5, cpuSystemMs: 1, maxRssBytes: 9 } },
    });
    // model 1 clients do not see lastExit
    expect(engine.get('processes', key, { model: 1 })).not.toHaveProperty('lastExit');
    await p('start', { watcher: 'web', slot: 0, minion: 'host1', runId: 'd' });
    await p('fatal', { reason: 'too many', retries: 6 });
    expect(engine.get('processes', key)).toMatchObject({ state: 'fatal' });
    await p('stop', { reason: 'restart' });
    expect(engine.get('processes', key)).toMatchObject({ state: 'stopped' });
    // readiness none: ready at spawn
    await given('watcher-acme:api', ev('watchers', 'create', 'acme:api', { name: 'api', spec: watcherSpec({ ready: { kind: 'none' } }) }, 'acme'));
    await given('process-acme:api:0', ev('processes', 'start', 'acme:api:0', { watcher: 'api', slot: 0, minion: 'host1', runId: 'x' }, 'acme'));
    await given('process-acme:api:0', ev('processes', 'spawn', 'acme:api:0', { pid: 7, minion: 'host1', runId: 'x', startedAt: 1 }, 'acme'));
    expect(engine.get('processes', 'acme:api:0')).toMatchObject({ state: 'running', ready: true });
    // events of slots that do not exist have no view object but are still changes
    await given('process-acme:api:5', ev('processes', 'start', 'acme:api:5', { watcher: 'api', slot: 5, minion: 'host1', runId: 'y' }, 'acme'));
    expect(engine.get('processes', 'acme:api:5')).toBeNull();
    expect(changes.at(-1)).toMatchObject({ key: 'acme:api:5', object: null, original: null });
  });

  it('processes: a re-created watcher with fewer slots drops the processes of the slots it lost', async () => {
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec({ numprocesses: 2 }) }, 'acme'));
    for (const slot of [0, 1]) {
      await given(`process-acme:web:${slot}`, ev('processes', 'start', `acme:web:${slot}`, { watcher: 'web', slot, minion: 'host1', runId: `r${slot}` }, 'acme'));
    }
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec({ numprocesses: 1 }) }, 'acme'));
    expect(engine.get('processes', 'acme:web:1')).toBeNull();
    await given('process-acme:web:1', ev('processes', 'spawn', 'acme:web:1', { pid: 3, minion: 'host1', runId: 'r1', startedAt: 1 }, 'acme'));
    expect(engine.get('processes', 'acme:web:1')).toBeNull();
    expect(engine.get('processes', 'acme:web:0')).toMatchObject({ state: 'starting' });
  });

  it('minions: connect, grains, disconnect', async () => {
    const key = 'acme:host1';
    await given(`minion-${key}`, ev('minions', 'connect', key, { id: 'host1', version: '1.2.3', protocol: 1, connectedAt: 42 }, 'acme'));
    await given(`minion-${key}`, ev('minions', 'grains', key, { grains: { os: 'linux', arch: 'x64', hostname: 'h', cpus: 2, memory: 8, nodeVersion: 'v20', rack: 'r1' } }, 'acme'));
    expect(engine.get('minions', key)).toEqual({
      key,
      tenant: 'acme',
      id: 'host1',
      state: 'connected',
      connectedAt: 42,
      lastSeen: 1_700_000_002_000,
      version: '1.2.3',
      grains: { os: 'linux', arch: 'x64', hostname: 'h', cpus: 2, memory: 8, nodeVersion: 'v20', rack: 'r1' },
    });
    await given(`minion-${key}`, ev('minions', 'disconnect', key, { reason: 'closed', lastSeen: 99 }, 'acme'));
    expect(engine.get('minions', key)).toMatchObject({ state: 'disconnected', lastSeen: 99 });
  });

  it('jobs: create, dispatch, returns, complete; timeout marks missing minions; cancel', async () => {
    const key = 'acme:20261123153646699137';
    const j = (action: string, data: unknown) => given(`job-${key}`, ev('jobs', action, key, data, 'acme'));
    await j('create', { jid: '20261123153646699137', fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 5000, user: 'alice', timeoutAt: 1 });
    expect(engine.get('jobs', key)).toMatchObject({ state: 'pending', minions: {}, startTime: 1_700_000_001_000, endTime: null, user: 'alice' });
    await j('dispatch', { minions: ['h1', 'h2'] });
    expect(engine.get('jobs', key)).toMatchObject({
      state: 'running',
      minions: { h1: { state: 'pending', return: null, retcode: null, success: null, durationMs: null }, h2: { state: 'pending' } },
    });
    await j('return', { minion: 'h1', return: true, retcode: 0, success: true, durationMs: 12 });
    const afterReturn = engine.get('jobs', key);
    expect(afterReturn).toMatchObject({ minions: { h1: { state: 'returned', return: true, retcode: 0, success: true, durationMs: 12 }, h2: { state: 'pending' } } });
    await j('timeout', { minions: ['h2'] });
    expect(engine.get('jobs', key)).toMatchObject({ state: 'timeout', endTime: 1_700_000_004_000, minions: { h1: { state: 'returned' }, h2: { state: 'timeout' } } });
    expect(afterReturn).toMatchObject({ state: 'running' }); // copy-on-write: the earlier object is intact

    const key2 = 'acme:20261123153646699138';
    await given(`job-${key2}`, ev('jobs', 'create', key2, { jid: '20261123153646699138', fun: 'cmd.run', args: ['ls'], tgt: 'h1', tgtType: 'list', timeoutMs: 5000, user: 'bob', timeoutAt: 1 }, 'acme'));
    await given(`job-${key2}`, ev('jobs', 'dispatch', key2, { minions: ['h1'] }, 'acme'));
    await given(`job-${key2}`, ev('jobs', 'return', key2, { minion: 'h1', return: { stdout: 'x', retcode: 2 }, retcode: 2, success: false, durationMs: 3 }, 'acme'));
    await given(`job-${key2}`, ev('jobs', 'complete', key2, { state: 'failed' }, 'acme'));
    expect(engine.get('jobs', key2)).toMatchObject({ state: 'failed', minions: { h1: { state: 'returned', success: false, retcode: 2 } } });
    const key3 = 'acme:20261123153646699139';
    await given(`job-${key3}`, ev('jobs', 'create', key3, { jid: '20261123153646699139', fun: 'test.sleep', args: [10], tgt: '*', tgtType: 'glob', timeoutMs: 5000, user: 'bob', timeoutAt: 1 }, 'acme'));
    await given(`job-${key3}`, ev('jobs', 'cancel', key3, { by: 'bob' }, 'acme'));
    expect(engine.get('jobs', key3)).toMatchObject({ state: 'cancelled' });
    expect(changes.filter((c) => c.type === 'jobs').map((c) => c.action)).toEqual([
      'create', 'dispatch', 'return', 'timeout', 'create', 'dispatch', 'return', 'complete', 'create', 'cancel',
    ]);
  });

  it('components: register, state, heartbeat, leader lease moves, unregister', async () => {
    const reg = (key: string, pid: number, max: number) =>
      given('$components', ev('components', 'register', key, { kind: 'server', host: 'n1', pid, version: '0.1.0', modelApi: { min: 1, max }, url: 'http://127.0.0.1:1' }));
    await reg('n1:1', 1, 2);
    await reg('n1:2', 2, 1);
    await given('$components', ev('components', 'state', 'n1:1', { state: 'running', systemModelApi: 1 }));
    await given('$leader', ev('components', 'leader', 'n1:1', { holder: 'n1:1', term: 1, expiresAt: 5 }));
    expect(engine.get('components', 'n1:1')).toEqual({
      key: 'n1:1',
      kind: 'server',
      host: 'n1',
      pid: 1,
      version: '0.1.0',
      modelApi: { min: 1, max: 2 },
      state: 'running',
      leader: true,
      lastSeen: 1_700_000_003_000,
      url: 'http://127.0.0.1:1',
    });
    await given('$components', ev('components', 'heartbeat', 'n1:2', {}));
    await given('$leader', ev('components', 'leader', 'n1:2', { holder: 'n1:2', term: 2, expiresAt: 9 }));
    expect(engine.get('components', 'n1:1')).toMatchObject({ leader: false });
    expect(engine.get('components', 'n1:2')).toMatchObject({ leader: true, lastSeen: 1_700_000_005_000 });
    expect(changes.at(-1)).toMatchObject({ action: 'leader', object: { key: 'n1:2', leader: true }, original: { key: 'n1:2', leader: false } });
    await given('$components', ev('components', 'unregister', 'n1:2', {}));
    expect(engine.get('components', 'n1:2')).toBeNull();
    expect(changes.at(-1)).toMatchObject({ action: 'unregister', object: { key: 'n1:2' } });
  });

  it('logs pass through as changes without a view; connections are ephemeral and kept in their view', async () => {
    await given('log-acme:web:0', ev('logs', 'line', 'acme:web:0', { pid: 1, fd: 'stdout', line: 'hello' }, 'acme'));
    expect(changes.at(-1)).toMatchObject({ type: 'logs', object: { key: 'acme:web:0', pid: 1, fd: 'stdout', line: 'hello' }, original: null });
    const position = engine.position;
    engine.publishEphemeral({
      type: 'connections',
      action: 'create',
      key: '127.0.0.1:5000',
      object: { key: '127.0.0.1:5000', principal: 'alice', tenants: ['acme'], kind: 'ws', createdAt: 1, subscriptions: 0, bufferedBytes: 0, lag: 0 },
    });
    expect(changes.at(-1)).toMatchObject({ type: 'connections', position, original: null });
    expect(await engine.view('connections', { tenants: ['acme'] })).toHaveLength(1);
    expect(await engine.view('connections', { tenants: ['other'] })).toHaveLength(0);
    engine.publishEphemeral({ type: 'connections', action: 'destroy', key: '127.0.0.1:5000' });
    expect(await engine.view('connections')).toEqual([]);
    expect(changes.at(-1)).toMatchObject({ action: 'destroy', object: { principal: 'alice' } });
    expect(await store.headPosition()).toBe(position); // nothing stored
  });

  it('unstored CPU/RSS samples published ephemerally show on the live processes view only, for the current pid', async () => {
    await given('watcher-acme:web', ev('watchers', 'create', 'acme:web', { name: 'web', spec: watcherSpec() }, 'acme'));
    await given('process-acme:web:0', ev('processes', 'start', 'acme:web:0', { watcher: 'web', slot: 0, minion: 'host1', runId: 'a' }, 'acme'));
    await given('process-acme:web:0', ev('processes', 'spawn', 'acme:web:0', { pid: 10, minion: 'host1', runId: 'a', startedAt: 1 }, 'acme'));
    const published = engine.publishEphemeral({ type: 'processes', action: 'stats', key: 'acme:web:0', tenant: 'acme', data: { pid: 10, cpu: 55.5, rss: 4096 } });
    expect(published).toMatchObject({ object: { cpu: 55.5, rss: 4096, pid: 10 }, original: { cpu: 0, rss: 0 } });
    expect(engine.get('processes', 'acme:web:0')).toMatchObject({ cpu: 55.5, rss: 4096 });
    expect(await engine.view('processes')).toEqual([expect.objectContaining({ cpu: 55.5 })]);
    // the folded views (snapshots, replays, time travel) do not contain it
    expect(engine.views.processes.get('acme:web:0')).toMatchObject({ cpu: 0 });
    expect(await engine.view('processes', { at: engine.position - 1 })).toEqual([expect.objectContaining({ cpu: 0 })]);
    // a new run drops the old run's sample
    await given('process-acme:web:0', ev('processes', 'exit', 'acme:web:0', { pid: 10, runId: 'a', code: 0, signal: null, exitedAt: 2, durationMs: 1, usage: null }, 'acme', 2));
    expect(engine.get('processes', 'acme:web:0')).toMatchObject({ cpu: 0, rss: 0, pid: null });
  });

  it('view() filters by visible tenants; tenant-less objects are visible to all', async () => {
    await given('tenant-acme', ev('tenants', 'create', 'acme', { name: 'acme', configVersion: 1 }, 'acme'));
    await given('tenant-beta', ev('tenants', 'create', 'beta', { name: 'beta', configVersion: 1 }, 'beta'));
    await given('$components', ev('components', 'register', 'n1:1', { kind: 'server', host: 'n1', pid: 1, version: '0', modelApi: { min: 1, max: 2 } }));
    expect((await engine.view('tenants', { tenants: ['beta'] })).map((t) => (t as { key: string }).key)).toEqual(['beta']);
    expect(await engine.view('tenants', { tenants: ['*'] })).toHaveLength(2);
    expect(await engine.view('tenants', { tenant: 'acme', tenants: ['beta'] })).toHaveLength(0);
    expect(await engine.view('components', { tenants: ['beta'] })).toHaveLength(1);
  });
});
