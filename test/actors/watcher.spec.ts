import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, isNotFoundError, isWrongExpectedRevisionError, processStream, watcherStream, type RecordedEvent } from '../../store/index.js';
import { ADMIN, harness, sleepSpec, until, type Harness } from './harness.js';

const P = (slot: number) => processStream('acme', 'web', slot);
const W = watcherStream('acme', 'web');

async function readySlots(h: Harness, count: number): Promise<void> {
  for (let slot = 0; slot < count; slot++) {
    await until(async () => (await h.actions(P(slot))).at(-1) === 'ready', `slot ${slot} ready`);
  }
}

/** Replays a slot's events and tracks which runs are alive and ready, as the view would. */
function readyTimeline(events: RecordedEvent[]): { readyCountAfterEach: number[]; aliveMax: number } {
  const alive = new Set<string>();
  const ready = new Set<string>();
  let current: string | null = null;
  const readyCountAfterEach: number[] = [];
  let aliveMax = 0;
  for (const event of events) {
    const data = event.data as { runId?: string; replaces?: string };
    switch (event.action) {
      case 'start':
        if (!data.replaces) current = data.runId!;
        break;
      case 'spawn':
        alive.add(data.runId!);
        break;
      case 'ready':
        ready.add(data.runId!);
        break;
      case 'handover':
        current = data.runId!;
        break;
      case 'exit':
        alive.delete(data.runId!);
        ready.delete(data.runId!);
        break;
    }
    aliveMax = Math.max(aliveMax, alive.size);
    readyCountAfterEach.push(current !== null && ready.has(current) && alive.has(current) ? 1 : 0);
  }
  return { readyCountAfterEach, aliveMax };
}

describe('watcher actor', () => {
  it('given three slots, when reloaded, then slots are replaced one at a time and no slot is ever without a ready process', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ numprocesses: 3 }), ADMIN);
    await readySlots(h, 3);
    const oldRuns = [0, 1, 2].map((slot) => h.minions.runOf(`acme:web:${slot}`)!.runId);
    const positions = await h.runtime.reloadWatcher('acme', 'web', ADMIN);
    expect(positions).toHaveLength(1);
    expect((await h.actions(W)).at(-1)).toBe('reload');
    for (let slot = 0; slot < 3; slot++) {
      await until(async () => (await h.actions(P(slot))).includes('handover') && (await h.actions(P(slot))).at(-1) === 'exit', `slot ${slot} replaced`);
    }
    const handoverPositions: number[] = [];
    const startPositions: number[] = [];
    for (let slot = 0; slot < 3; slot++) {
      const events = await h.events(P(slot));
      const firstReady = events.findIndex((e) => e.action === 'ready');
      const tail = events.slice(firstReady);
      expect(tail.map((e) => e.action)).toEqual(['ready', 'start', 'spawn', 'ready', 'handover', 'kill', 'exit']);
      const { readyCountAfterEach } = readyTimeline(events);
      // from the first ready on, the slot's process is ready after every single event
      expect(readyCountAfterEach.slice(firstReady).every((count) => count === 1)).toBe(true);
      expect(tail[1]!.data).toMatchObject({ replaces: oldRuns[slot] });
      expect(tail[5]!.data).toMatchObject({ runId: oldRuns[slot], stop: true });
      expect(tail[6]!.data).toMatchObject({ runId: oldRuns[slot] });
      startPositions.push(tail[1]!.position);
      handoverPositions.push(tail[4]!.position);
    }
    // one slot at a time: slot i+1's replacement starts only after slot i's handover
    expect(startPositions[1]!).toBeGreaterThan(handoverPositions[0]!);
    expect(startPositions[2]!).toBeGreaterThan(handoverPositions[1]!);
    expect(h.minions.runs.size).toBe(3);
  });

  it('given a running watcher, when numprocesses goes up then down, then slots start and the extra ones stop for good', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ numprocesses: 1 }), ADMIN);
    await readySlots(h, 1);
    await h.runtime.updateWatcher('acme', 'web', { numprocesses: 3 }, ADMIN);
    await readySlots(h, 3);
    expect((await h.events(W)).at(-1)).toMatchObject({ action: 'update', data: { changed: ['numprocesses'] } });
    await h.runtime.updateWatcher('acme', 'web', { numprocesses: 1 }, ADMIN);
    for (const slot of [1, 2]) await until(async () => (await h.actions(P(slot))).at(-1) === 'exit', `slot ${slot} stopped`);
    await h.advance(60_000);
    expect(await h.actions(P(1))).toEqual(['start', 'spawn', 'ready', 'kill', 'exit']);
    expect(await h.actions(P(2))).toEqual(['start', 'spawn', 'ready', 'kill', 'exit']);
    expect((await h.actions(P(0))).at(-1)).toBe('ready');
    expect(h.minions.runs.size).toBe(1);
    // an unchanged spec appends nothing
    expect(await h.runtime.updateWatcher('acme', 'web', { numprocesses: 1 }, ADMIN)).toEqual([]);
  });

  it('given a running watcher, when stopped, restarted and destroyed, then processes follow', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ numprocesses: 2 }), ADMIN);
    await readySlots(h, 2);
    await h.runtime.stopWatcher('acme', 'web', ADMIN);
    await until(async () => h.minions.runs.size === 0, 'all stopped');
    expect(await h.runtime.stopWatcher('acme', 'web', ADMIN)).toEqual([]);
    await h.runtime.startWatcher('acme', 'web', ADMIN);
    await readySlots(h, 2);
    const before = [0, 1].map((slot) => h.minions.runOf(`acme:web:${slot}`)!.pid);
    await h.runtime.restartWatcher('acme', 'web', ADMIN);
    await until(async () => [0, 1].every((slot) => h.minions.runOf(`acme:web:${slot}`) && !before.includes(h.minions.runOf(`acme:web:${slot}`)!.pid)), 'restarted');
    await readySlots(h, 2);
    expect(await h.actions(W)).toEqual(['create', 'stop', 'start', 'stop', 'start']);
    await h.runtime.destroyWatcher('acme', 'web', ADMIN);
    await until(async () => h.minions.runs.size === 0, 'destroyed');
    await h.advance(60_000);
    expect(h.minions.runs.size).toBe(0);
    await expect(h.runtime.startWatcher('acme', 'web', ADMIN)).rejects.toSatisfy(isNotFoundError);
  });

  it('given a stale expectedRevision, then the command fails with a conflict naming expected and actual, and appends nothing', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    await readySlots(h, 1);
    const head = await h.store.headPosition();
    const error = await h.runtime.stopWatcher('acme', 'web', ADMIN, 5).catch((e: unknown) => e);
    expect(isWrongExpectedRevisionError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'conflict', stream: W, expected: 5, actual: 0 });
    expect(await h.store.headPosition()).toBe(head);
    const ok = await h.runtime.stopWatcher('acme', 'web', ADMIN, 0);
    expect(ok.length).toBeGreaterThan(0);
    // creating an existing watcher is a conflict too
    await expect(h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN)).rejects.toSatisfy(isWrongExpectedRevisionError);
  });

  it('given another writer appended to a stream, then the runtime reloads and decides again', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ active: false }), ADMIN);
    // someone else (an old leader) starts it behind this runtime's back
    await h.store.append(W, [{ type: 'watchers', action: 'start', key: 'acme:web', tenant: 'acme', data: {} }], { expectedRevision: 0 });
    // this runtime still believes the watcher is stopped: its `start` conflicts, reloads, and decides nothing is left to do
    expect(await h.runtime.startWatcher('acme', 'web', ADMIN)).toEqual([]);
    expect(await h.actions(W)).toEqual(['create', 'start']);
    await h.runtime.stopWatcher('acme', 'web', ADMIN);
    expect(await h.actions(W)).toEqual(['create', 'start', 'stop']);
  });

  it('given bad input, then a clear error and nothing appended', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    await readySlots(h, 1);
    const head = await h.store.headPosition();
    const bad: [string, () => Promise<unknown>, RegExp][] = [
      ['tenant name', () => h.runtime.createTenant('Acme!', ADMIN), /invalid tenant name/],
      ['watcher name', () => h.runtime.createWatcher('acme', 'web.1', sleepSpec(), ADMIN), /invalid watcher name/],
      ['unknown field', () => h.runtime.createWatcher('acme', 'api', { ...sleepSpec(), colour: 'red' }, ADMIN), /colour/],
      ['negative count', () => h.runtime.createWatcher('acme', 'api', sleepSpec({ numprocesses: -1 }), ADMIN), /numprocesses/],
      ['missing command', () => h.runtime.createWatcher('acme', 'api', { args: [] }, ADMIN), /cmd/],
      ['bad patch', () => h.runtime.updateWatcher('acme', 'web', { numprocesses: 'many' }, ADMIN), /numprocesses/],
      ['bad signal', () => h.runtime.killProcess('acme', 'web', 0, 'SIGNOPE', ADMIN), /signal/],
      ['bad slot', () => h.runtime.killProcess('acme', 'web', -1, 'SIGTERM', ADMIN), /slot/],
      ['bad expectedRevision', () => h.runtime.startWatcher('acme', 'web', ADMIN, 'x' as never), /expectedRevision/],
      ['bad reconfigure spec', () => h.runtime.reconfigureTenant('acme', { web: sleepSpec(), api: { cmd: '' } }, ADMIN), /tenants\.acme\.watchers\.api\.cmd/],
    ];
    for (const [what, call, message] of bad) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(isInvalidArgumentError(error), what).toBe(true);
      expect((error as Error).message, what).toMatch(message);
    }
    await expect(h.runtime.createWatcher('nope', 'api', sleepSpec(), ADMIN)).rejects.toSatisfy(isNotFoundError);
    await expect(h.runtime.killProcess('acme', 'web', 5, 'SIGTERM', ADMIN)).rejects.toSatisfy(isNotFoundError);
    expect(await h.store.headPosition()).toBe(head);
  });
});
