import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryEventStore, openStore, type EventStore, type Logger } from '../../store/index.js';
import { createProjectionEngine, serializeViews, type Change, type ProjectionEngine } from '../../projections/index.js';
import { MixedWorkload } from '../../projections/testing/workload.js';
import { appendAll, settled, startedEngine, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function memoryStore(): MemoryEventStore {
  const store = new MemoryEventStore();
  cleanups.push(() => store.close());
  return store;
}
async function engineOn(store: EventStore, options: Parameters<typeof startedEngine>[1] = {}): Promise<ProjectionEngine> {
  const engine = await startedEngine(store, options);
  cleanups.push(() => engine.stop());
  return engine;
}
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-projections-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const nothing = (): void => undefined;
  return { warnings, debug: nothing, info: nothing, error: nothing, warn: (object, message) => warnings.push(`${message ?? ''} ${JSON.stringify(object)}`) };
}

describe('replay determinism', () => {
  it('random workloads: views maintained incrementally equal a rebuild from position 0, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 50, max: 1500 }), fc.integer({ min: 1, max: 40 }), async (seed, count, chunks) => {
        const store = new MemoryEventStore();
        const live = await startedEngine(store, { memorySnapshotEveryEvents: 100 });
        const appends = new MixedWorkload({ seed, tenants: 2, openJobs: 10 }).take(count);
        const per = Math.ceil(appends.length / chunks);
        for (let i = 0; i < appends.length; i += per) await appendAll(store, appends.slice(i, i + per));
        await settled(live, store);
        const rebuilt = await startedEngine(store);
        expect(rebuilt.position).toBe(live.position);
        expect(serializeViews(rebuilt.views).equals(serializeViews(live.views))).toBe(true);
        await live.stop();
        await rebuilt.stop();
        await store.close();
      }),
      { numRuns: 15 },
    );
  });

  it('arbitrary (even nonsensical) event orders fold deterministically and never stop the engine', async () => {
    const keyOf: Record<string, string[]> = {
      tenants: ['acme', 'beta'],
      watchers: ['acme:web', 'beta:web'],
      processes: ['acme:web:0', 'acme:web:1', 'beta:web:0', 'acme:web:7'],
      minions: ['acme:h1'],
      jobs: ['acme:20260101000000000001'],
      components: ['n:1', 'n:2'],
      logs: ['acme:web:0'],
    };
    const actions: Record<string, string[]> = {
      tenants: ['create', 'reconfigure', 'destroy', 'config-applied'],
      watchers: ['create', 'update', 'start', 'stop', 'reload', 'destroy', 'bogus'],
      processes: ['start', 'spawn', 'ready', 'exit', 'backoff', 'fatal', 'kill', 'stats', 'handover', 'stop'],
      minions: ['connect', 'disconnect', 'grains'],
      jobs: ['create', 'dispatch', 'return', 'complete', 'timeout', 'cancel'],
      components: ['register', 'state', 'heartbeat', 'unregister', 'leader'],
      logs: ['line'],
    };
    const dataFor = (type: string, action: string, n: number): unknown => {
      const runId = `r${n % 3}`;
      switch (`${type}.${action}`) {
        case 'tenants.create': return { name: 'x', configVersion: 1 };
        case 'tenants.reconfigure': return { configVersion: n, added: [], updated: [], removed: [] };
        case 'tenants.config-applied': return { digest: `d${n % 3}` };
        case 'watchers.create': case 'watchers.update':
          return { name: 'web', spec: { cmd: 'c', args: [], env: {}, cwd: null, numprocesses: 1 + (n % 3), minion: 'm', restart: { delayMs: 1, minAliveMs: 1, maxRetries: 1 }, ready: { kind: n % 2 ? 'none' : 'tcp', port: 1 }, stopSignal: 'SIGTERM', stopWaitMs: 1, logs: { maxLines: 1 }, active: true }, changed: [] };
        case 'processes.start': return { watcher: 'web', slot: 0, minion: 'm', runId, ...(n % 4 === 0 ? { replaces: 'r9' } : {}) };
        case 'processes.spawn': return { pid: n, minion: 'm', runId, startedAt: n };
        case 'processes.ready': return { pid: n, runId };
        case 'processes.exit': return { pid: n, runId, code: n % 2, signal: null, exitedAt: n };
        case 'processes.kill': return { pid: n, signal: 'SIGTERM', stop: n % 2 === 0, killAt: null, runId };
        case 'processes.stats': return { pid: n, cpu: n, rss: n };
        case 'processes.handover': return { runId, pid: n, startedAt: n, replacedRunId: 'r0' };
        case 'minions.connect': return { id: 'h1', version: 'v', protocol: 1, connectedAt: n };
        case 'minions.disconnect': return { reason: 'x', lastSeen: n };
        case 'minions.grains': return { grains: { os: 'linux', n } };
        case 'jobs.create': return { jid: '20260101000000000001', fun: 'f', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 1, user: 'u', timeoutAt: 1 };
        case 'jobs.dispatch': case 'jobs.timeout': return { minions: ['h1', 'h2'].slice(0, 1 + (n % 2)) };
        case 'jobs.return': return { minion: n % 2 ? 'h1' : 'h3', return: n, retcode: 0, success: true, durationMs: 1 };
        case 'jobs.complete': return { state: 'complete' };
        case 'components.register': return { kind: 'server', host: 'n', pid: 1, version: 'v', modelApi: { min: 1, max: 1 + (n % 2) } };
        case 'components.state': return { state: 'running' };
        case 'components.leader': return { holder: n % 3 === 0 ? null : `n:${1 + (n % 2)}`, term: n, expiresAt: n };
        case 'logs.line': return { pid: 1, fd: 'stdout', line: 'x' };
        default: return n % 5 === 0 ? null : {};
      }
    };
    const eventArb = fc
      .record({ type: fc.constantFrom(...Object.keys(keyOf)), a: fc.nat(), k: fc.nat(), n: fc.nat({ max: 1000 }) })
      .map(({ type, a, k, n }) => {
        const action = actions[type]![a % actions[type]!.length]!;
        const key = keyOf[type]![k % keyOf[type]!.length]!;
        return { type, action, key, data: dataFor(type, action, n), ...(type === 'components' ? {} : { tenant: key.split(':')[0]! }) };
      });
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 120 }), async (events) => {
        const store = new MemoryEventStore();
        const live = await startedEngine(store, { memorySnapshotEveryEvents: 10 });
        for (const event of events) await store.append(`s-${event.type}-${event.key}`, [event]);
        await settled(live, store);
        const rebuilt = await startedEngine(store);
        expect(serializeViews(rebuilt.views).equals(serializeViews(live.views))).toBe(true);
        // time travel through the in-memory snapshots gives the same as a fresh fold
        const middle = Math.floor(live.position / 2);
        expect(JSON.stringify(await live.view('processes', { at: middle }))).toBe(JSON.stringify(await rebuilt.view('processes', { at: middle })));
        await live.stop();
        await rebuilt.stop();
        await store.close();
      }),
      { numRuns: 40 },
    );
  });
});

describe('changesAfter: history then live, no gap, no duplicate', () => {
  it('under concurrent appends, every resume position sees exactly the later changes with the objects live subscribers saw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }), async (seed, resumeFractions) => {
        const store = new MemoryEventStore();
        const engine = await startedEngine(store, { memorySnapshotEveryEvents: 200, pageSize: 97 });
        const liveChanges: Change[] = [];
        const liveSubscription = engine.changes$.subscribe((batch) => liveChanges.push(...batch));
        const workload = new MixedWorkload({ seed, tenants: 2 });
        await appendAll(store, workload.take(1500));
        await settled(engine, store);
        const resumed: { from: number; changes: Change[]; done: () => boolean }[] = [];
        const subscriptions = [];
        // resume while appends keep arriving
        const appending = (async () => {
          for (let i = 0; i < 30; i++) {
            await appendAll(store, workload.take(40));
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        for (const fraction of resumeFractions) {
          const from = Math.floor(fraction * engine.position);
          const entry = { from, changes: [] as Change[], done: () => false };
          subscriptions.push(engine.changesAfter(from).subscribe((batch) => entry.changes.push(...batch)));
          resumed.push(entry);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await appending;
        await settled(engine, store);
        const head = engine.position;
        for (const entry of resumed) {
          await waitFor('resumed subscriber to reach the head', () => (entry.changes.at(-1)?.position ?? entry.from) >= head);
          const expected = liveChanges.filter((change) => change.position > entry.from);
          const positions = entry.changes.map((change) => change.position);
          // no duplicates, strictly increasing, nothing missing
          expect(positions).toEqual(expected.map((change) => change.position));
          for (let i = 0; i < expected.length; i++) {
            expect(JSON.stringify(entry.changes[i]!.object)).toBe(JSON.stringify(expected[i]!.object));
            expect(JSON.stringify(entry.changes[i]!.original)).toBe(JSON.stringify(expected[i]!.original));
          }
        }
        for (const subscription of subscriptions) subscription.unsubscribe();
        liveSubscription.unsubscribe();
        await engine.stop();
        await store.close();
      }),
      { numRuns: 8 },
    );
  });

  it('a resume position at or beyond the live position goes straight to live; types select changes', async () => {
    const store = memoryStore();
    const engine = await engineOn(store);
    await appendAll(store, new MixedWorkload({ seed: 3 }).take(300));
    await settled(engine, store);
    const from = engine.position;
    const got: Change[] = [];
    const jobsOnly: Change[] = [];
    engine.changesAfter(from).subscribe((batch) => got.push(...batch));
    engine.changesAfter(0, { types: ['jobs'] }).subscribe((batch) => jobsOnly.push(...batch));
    await appendAll(store, new MixedWorkload({ seed: 4 }).take(50));
    await settled(engine, store);
    await waitFor('live changes', () => got.at(-1)?.position === engine.position);
    expect(got[0]!.position).toBe(from + 1);
    await waitFor('jobs history and live', () => jobsOnly.length > 0 && jobsOnly.every((c) => c.type === 'jobs'));
    expect(() => engine.changesAfter(-1)).toThrow(InvalidArgumentError);
  });
});

describe('time travel', () => {
  it('the jobs view at a past position equals the view that was live at that moment', async () => {
    const store = memoryStore();
    const engine = await engineOn(store, { memorySnapshotEveryEvents: 1_000 });
    const recorded = new Map<number, string>();
    let batches = 0;
    engine.changes$.subscribe(() => {
      // record the live jobs view at random batch boundaries (the changes of a batch are folded)
      if (batches++ % 3 === 1) recorded.set(engine.position, JSON.stringify([...engine.views.jobs.values()]));
    });
    const workload = new MixedWorkload({ seed: 11, openJobs: 20 });
    for (let i = 0; i < 200; i++) {
      await appendAll(store, workload.take(100));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await settled(engine, store);
    expect(recorded.size).toBeGreaterThan(20);
    for (const [at, live] of recorded) expect(JSON.stringify(await engine.view('jobs', { at }))).toBe(live);
  });

  it('at a past time: the view as of the last event at or before that time', async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryEventStore({ now: () => now });
    cleanups.push(() => store.close());
    const engine = await engineOn(store);
    const workload = new MixedWorkload({ seed: 5 });
    await appendAll(store, workload.take(200));
    await settled(engine, store);
    const before = JSON.stringify(await engine.view('jobs'));
    const then = now;
    now += 60_000;
    await appendAll(store, workload.take(200));
    await settled(engine, store);
    expect(JSON.stringify(await engine.view('jobs', { atTime: new Date(then).toISOString() }))).toBe(before);
    expect(JSON.stringify(await engine.view('jobs', { atTime: then + 30_000 }))).toBe(before);
  });

  it('bad input gets a clear InvalidArgumentError', async () => {
    const store = memoryStore();
    const engine = await engineOn(store);
    await appendAll(store, new MixedWorkload({ seed: 2 }).take(20));
    await settled(engine, store);
    const head = engine.position;
    await expect(engine.view('nope')).rejects.toThrow(/unknown view "nope": expected one of tenants, watchers/);
    await expect(engine.view('jobs', { at: head + 1 })).rejects.toThrow(new RegExp(`at ${head + 1} is beyond the head of the log \\(${head}\\)`));
    await expect(engine.view('jobs', { at: -1 })).rejects.toThrow(/before the start of the log/);
    await expect(engine.view('jobs', { at: 1.5 })).rejects.toThrow(InvalidArgumentError);
    await expect(engine.view('jobs', { model: 3 })).rejects.toThrow(/unknown model 3: this node serves model API 1..2/);
    await expect(engine.view('jobs', { model: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(engine.view('jobs', { atTime: 'yesterday' })).rejects.toThrow(/invalid time "yesterday"/);
    await expect(engine.view('connections', { at: 1 })).rejects.toThrow(/live only/);
    expect(() => engine.get('nope', 'x')).toThrow(InvalidArgumentError);
    const pinned = await engineOn(store, { modelApi: { min: 1, max: 1 } });
    await expect(pinned.view('processes', { model: 2 })).rejects.toThrow(/this node serves model API 1..1/);
    expect(() => createProjectionEngine({ store, modelApi: { min: 3, max: 4 } })).toThrow(/does not overlap/);
  });
});

describe('snapshots and restart', () => {
  it('a restart resumes from the snapshot checkpoint (embedded store) and ends identical to a full rebuild', async () => {
    const dir = await tempDir();
    const snapshotDir = join(dir, 'projections');
    let store = await openStore({ kind: 'embedded', dataDir: dir });
    const workload = new MixedWorkload({ seed: 21 });
    let engine = await startedEngine(store, { snapshotDir, snapshotEveryEvents: 300 });
    await appendAll(store, workload.take(1_200));
    await settled(engine, store);
    await engine.stop(); // writes a final snapshot at its position
    const checkpoint = engine.position;
    await store.close();
    const files = (await readdir(snapshotDir)).filter((name) => name.endsWith('.msgpack'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.length).toBeLessThanOrEqual(3);

    store = await openStore({ kind: 'embedded', dataDir: dir });
    cleanups.push(() => store.close());
    const restarted = await engineOn(store, { snapshotDir });
    expect(restarted.foldedEvents).toBe(0); // nothing replayed: the snapshot was the head
    expect(restarted.position).toBe(checkpoint);
    await appendAll(store, workload.take(200));
    await settled(restarted, store);
    expect(restarted.foldedEvents).toBeLessThan(300);
    const rebuilt = await engineOn(store);
    expect(serializeViews(rebuilt.views).equals(serializeViews(restarted.views))).toBe(true);
    void engine;
    engine = restarted;
  });

  it('a corrupt or foreign snapshot is ignored with a warning, left in place, and the views are rebuilt from events', async () => {
    const dir = await tempDir();
    const store = memoryStore();
    await appendAll(store, new MixedWorkload({ seed: 8 }).take(400));
    const first = await startedEngine(store, { snapshotDir: dir });
    await first.stop();
    const good = (await readdir(dir)).find((name) => name.endsWith('.msgpack'))!;
    const head = await store.headPosition();
    const corrupt = `snapshot-${String(head).padStart(16, '0')}.msgpack`;
    await rm(join(dir, good));
    await writeFile(join(dir, corrupt), 'this is not msgpack of ours');
    await writeFile(join(dir, `snapshot-${String(head + 1000).padStart(16, '0')}.msgpack`), 'from another store');
    const logger = recordingLogger();
    const engine = await engineOn(store, { snapshotDir: dir, logger });
    expect(logger.warnings.join('\n')).toMatch(/ignoring projection snapshot/);
    expect(logger.warnings.join('\n')).toMatch(/beyond the store's head/);
    expect(engine.foldedEvents).toBeGreaterThan(0);
    expect((await readdir(dir)).includes(corrupt)).toBe(true);
    const rebuilt = await engineOn(store);
    expect(serializeViews(rebuilt.views).equals(serializeViews(engine.views))).toBe(true);
  });

  it('time travel before the in-memory snapshots is served from the nearest snapshot file plus replay', async () => {
    const dir = await tempDir();
    const store = memoryStore();
    const engine = await engineOn(store, { snapshotDir: dir, snapshotEveryEvents: 500, keepSnapshots: 50, memorySnapshots: 1, memorySnapshotEveryEvents: 100 });
    const recorded = new Map<number, string>();
    // Every live batch is recorded: how many batches there are depends on how the store
    // groups appends, which varies with machine load.
    engine.changes$.subscribe(() => recorded.set(engine.position, JSON.stringify([...engine.views.jobs.values()])));
    const workload = new MixedWorkload({ seed: 12 });
    const snapshotFiles = async () => (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.msgpack')).length;
    for (let i = 0; i < 300 && (i < 20 || (await snapshotFiles()) < 4); i++) {
      await appendAll(store, workload.take(100));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await settled(engine, store);
    expect(await snapshotFiles()).toBeGreaterThanOrEqual(4);
    expect(recorded.size).toBeGreaterThan(5);
    // Check about 25 positions spread over the whole run (time travel from snapshot files plus replay).
    const positions = [...recorded.keys()];
    const step = Math.max(1, Math.floor(positions.length / 25));
    for (let i = step >> 1; i < positions.length; i += step) {
      const at = positions[i]!;
      expect(JSON.stringify(await engine.view('jobs', { at }))).toBe(recorded.get(at));
    }
  });

  it('stop() before the engine caught up rejects start() instead of leaving it pending', async () => {
    const store = memoryStore();
    await appendAll(store, new MixedWorkload({ seed: 10 }).take(5_000));
    const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 }, pageSize: 100 });
    const starting = engine.start();
    await new Promise((resolve) => setImmediate(resolve));
    await engine.stop();
    await expect(starting).rejects.toThrow(/stopped before it caught up/);
    expect(engine.status().caughtUp).toBe(false);
  });

  it('status reports position, head, lag and caught-up for readiness', async () => {
    const store = memoryStore();
    await appendAll(store, new MixedWorkload({ seed: 9 }).take(2_000));
    const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
    cleanups.push(() => engine.stop());
    expect(engine.status().caughtUp).toBe(false);
    const starting = engine.start();
    await starting;
    const status = engine.status();
    expect(status).toEqual({ position: await store.headPosition(), head: await store.headPosition(), lag: 0, caughtUp: true });
  });
});

describe('reached', () => {
  it('resolves once the views folded the position, false after the timeout or at stop', async () => {
    const store = memoryStore();
    const engine = await engineOn(store);
    const at = engine.position;
    expect(await engine.reached(at, 10)).toBe(true);
    const waiting = engine.reached(at + 2, 10_000);
    const timingOut = engine.reached(at + 100, 50);
    await store.append('tenant-acme', [{ type: 'tenants', action: 'create', key: 'acme', tenant: 'acme', data: { name: 'acme', config: {} } }]);
    await store.append('tenant-beta', [{ type: 'tenants', action: 'create', key: 'beta', tenant: 'beta', data: { name: 'beta', config: {} } }]);
    expect(await waiting).toBe(true);
    expect(engine.position).toBeGreaterThanOrEqual(at + 2);
    expect(await timingOut).toBe(false);
    const pending = engine.reached(at + 100, 10_000);
    await engine.stop();
    expect(await pending).toBe(false);
  });
});
