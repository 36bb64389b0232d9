import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { logStream, minionStream, processStream } from '../../store/index.js';
import { ADMIN, harness, MINION, sleepSpec, until, type Harness } from './harness.js';

const P = (slot: number) => processStream('acme', 'web', slot);

async function threeRunning(h: Harness): Promise<void> {
  await h.runtime.createTenant('acme', ADMIN);
  await h.runtime.createWatcher('acme', 'web', sleepSpec({ numprocesses: 3 }), ADMIN);
  for (let slot = 0; slot < 3; slot++) await until(async () => (await h.actions(P(slot))).at(-1) === 'ready', `slot ${slot}`);
}

describe('minion sink: reconciliation after a server restart', () => {
  it('given the minion still runs the recorded runs, then a new leader keeps them: nothing spawned twice', async () => {
    const h = await harness();
    await threeRunning(h);
    const pids = [0, 1, 2].map((slot) => h.minions.runOf(`acme:web:${slot}`)!.pid);
    const spawnsBefore = h.minions.spawnCommands().length;
    const head = await h.store.headPosition();
    await h.runtime.stop(); // the server goes away; the minion and its processes stay
    const next = await h.newRuntime();
    await h.minions.connect(MINION, ['acme']);
    await h.advance(60_000);
    expect(h.minions.spawnCommands()).toHaveLength(spawnsBefore);
    expect([0, 1, 2].map((slot) => h.minions.runOf(`acme:web:${slot}`)!.pid)).toEqual(pids);
    const after = await h.store.readAll({ after: head, types: ['processes'] });
    expect(after).toEqual([]);
    await next.stop();
  });

  it('given a stale duplicate run and a run that ended while no server listened, then the duplicate is stopped and the missing one restarts by policy', async () => {
    const h = await harness();
    await threeRunning(h);
    const [run0, run1, run2] = [0, 1, 2].map((slot) => h.minions.runOf(`acme:web:${slot}`)!);
    await h.runtime.stop();
    const next = await h.newRuntime();
    await h.advance(10_000);
    // slot 1's process died meanwhile; slot 0 has a leftover second process from long ago
    h.minions.runs.delete(run1!.runId);
    const stale = { tenant: 'acme', processKey: 'acme:web:0', runId: 'old-run', pid: 4242, startedAt: h.clock.now() - 50_000, ready: true };
    h.minions.runs.set(stale.runId, { ...stale, minion: MINION });
    await h.minions.connect(MINION, ['acme']);
    await until(async () => (await h.actions(P(1))).at(-1) === 'backoff', 'slot 1 backoff');
    const p0 = await h.events(P(0));
    expect(p0.at(-1)).toMatchObject({ action: 'kill', data: { runId: 'old-run', pid: 4242, stop: true } });
    expect(h.minions.runs.has('old-run')).toBe(false);
    const p1 = await h.events(P(1));
    expect(p1.slice(-2).map((e) => e.action)).toEqual(['exit', 'backoff']);
    expect(p1.at(-2)!.data).toMatchObject({ runId: run1!.runId, lost: true, code: null, signal: null });
    await h.advance(1000);
    await until(async () => (await h.actions(P(1))).at(-1) === 'ready', 'slot 1 restarted');
    // slots 0 and 2 kept their processes
    expect(h.minions.runOf('acme:web:0')!.runId).toBe(run0!.runId);
    expect(h.minions.runOf('acme:web:2')!.runId).toBe(run2!.runId);
    expect(h.minions.spawnCommands('acme:web:0')).toHaveLength(1);
    await next.stop();
  });

  it('given a spawn sent while the minion was away, then it is sent again on connect (same run)', async () => {
    const h = await harness({ connect: false });
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    expect(await h.actions(P(0))).toEqual(['start']);
    expect(h.minions.spawnCommands()).toHaveLength(0);
    await h.minions.connect(MINION, ['acme']);
    await until(async () => (await h.actions(P(0))).at(-1) === 'ready', 'spawned on connect');
    expect(await h.actions(P(0))).toEqual(['start', 'spawn', 'ready']);
  });

  it('records presence and grains once, and a disconnect leaves processes alone', async () => {
    const h = await harness();
    await threeRunning(h);
    await h.minions.disconnect(MINION);
    await h.minions.connect(MINION, ['acme']);
    const events = await h.events(minionStream('acme', MINION));
    expect(events.map((e) => e.action)).toEqual(['connect', 'grains', 'disconnect', 'connect']);
    expect(events[0]).toMatchObject({ type: 'minions', key: `acme:${MINION}`, tenant: 'acme' });
    expect(h.minions.runs.size).toBe(3);
    for (let slot = 0; slot < 3; slot++) expect((await h.actions(P(slot))).at(-1)).toBe('ready');
  });
});

describe('minion sink: output and stats', () => {
  it('appends a report of output lines in one batch, with retention from logs.maxLines', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ logs: { maxLines: 5 } }), ADMIN);
    await until(async () => (await h.actions(P(0))).at(-1) === 'ready', 'ready');
    const run = h.minions.runOf('acme:web:0')!;
    const lines = Array.from({ length: 8 }, (_, i) => ({ fd: 'stdout' as const, line: `line ${i}` }));
    await h.minions.emit(MINION, { kind: 'output', tenant: 'acme', processKey: 'acme:web:0', runId: run.runId, pid: run.pid, lines });
    const stream = logStream('acme', 'web', 0);
    const info = await h.store.streamInfo(stream);
    expect(info.metadata.maxCount).toBe(5);
    expect(info.lastRevision).toBe(7);
    const kept = await h.store.readStream(stream);
    expect(kept.map((e) => (e.data as { line: string }).line)).toEqual(['line 3', 'line 4', 'line 5', 'line 6', 'line 7']);
    expect(kept[0]).toMatchObject({ type: 'logs', action: 'line', key: 'acme:web:0', data: { pid: run.pid, fd: 'stdout' } });
  });

  it('publishes every sample live and stores at most one per minute per process', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    await until(async () => (await h.actions(P(0))).at(-1) === 'ready', 'ready');
    const run = h.minions.runOf('acme:web:0')!;
    const live = firstValueFrom(h.runtime.stats$.pipe(take(4), toArray()));
    for (let i = 0; i < 4; i++) {
      await h.minions.emit(MINION, { kind: 'stats', tenant: 'acme', samples: [{ processKey: 'acme:web:0', runId: run.runId, pid: run.pid, cpu: i, rss: 1000 + i }] });
      await h.advance(25_000);
    }
    expect((await live).map((s) => s.cpu)).toEqual([0, 1, 2, 3]);
    const stored = (await h.events(P(0))).filter((e) => e.action === 'stats');
    // t=0 stored, t=25s and t=50s skipped, t=75s stored
    expect(stored.map((e) => (e.data as { cpu: number }).cpu)).toEqual([0, 3]);
  });
});
