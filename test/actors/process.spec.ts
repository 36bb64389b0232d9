import { describe, expect, it } from 'vitest';
import { processStream, watcherStream } from '../../store/index.js';
import { ADMIN, harness, sleepSpec, until, type Harness } from './harness.js';

const P0 = processStream('acme', 'web', 0);

async function runningWatcher(h: Harness, spec: Record<string, unknown> = {}): Promise<void> {
  await h.runtime.createTenant('acme', ADMIN);
  await h.runtime.createWatcher('acme', 'web', sleepSpec(spec), ADMIN);
  await until(async () => (await h.actions(P0)).includes('ready'), 'slot 0 ready');
}

describe('process actor: restart policy', () => {
  it('given a crash loop, when every run dies at once, then backoff delays grow and the slot is fatal after maxRetries', async () => {
    const h = await harness();
    await runningWatcher(h, { restart: { delayMs: 100, minAliveMs: 1000, maxRetries: 3 } });
    for (let attempt = 1; attempt <= 4; attempt++) {
      const run = h.minions.runOf('acme:web:0')!;
      h.minions.exit(run.runId, { code: 1 });
      await until(async () => (await h.events(P0)).filter((e) => e.action === 'exit').length === attempt, `exit ${attempt}`);
      if (attempt <= 3) {
        const backoff = (await h.events(P0)).filter((e) => e.action === 'backoff').at(-1)!.data as { delayMs: number; retries: number };
        expect(backoff).toMatchObject({ retries: attempt, delayMs: 100 * 2 ** (attempt - 1) });
        // not before the delay...
        await h.advance(backoff.delayMs - 1);
        expect((await h.actions(P0)).at(-1)).toBe('backoff');
        // ...and at it
        await h.advance(1);
        await until(async () => (await h.actions(P0)).at(-1) === 'ready', `restart ${attempt}`);
      }
    }
    const actions = await h.actions(P0);
    expect(actions.at(-1)).toBe('fatal');
    expect(actions.filter((a) => a === 'spawn')).toHaveLength(4);
    expect(h.minions.spawnCommands('acme:web:0')).toHaveLength(4);
    // fatal: no timer left, nothing more happens
    await h.advance(60_000);
    expect((await h.actions(P0)).at(-1)).toBe('fatal');
  });

  it('given a restart timer that fires a moment early, when the decider finds it not yet due, then it fires again and restarts once', async () => {
    // Node's setTimeout and Date.now() are different clocks: a timer can fire ~1 ms before
    // Date.now() reaches its due time. This clock's timers always do.
    const h = await harness({
      runtimeClock: (clock) => ({
        now: () => clock.now(),
        setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs > 1 ? delayMs - 1 : delayMs),
        clearTimeout: (handle) => clock.clearTimeout(handle),
      }),
    });
    await runningWatcher(h);
    await h.advance(10_000);
    h.minions.exit(h.minions.runOf('acme:web:0')!.runId, { signal: 'SIGKILL' });
    await until(async () => (await h.actions(P0)).at(-1) === 'backoff', 'backoff');
    await h.advance(999); // the early timer fires: not due yet, nothing appended
    expect((await h.actions(P0)).at(-1)).toBe('backoff');
    await h.advance(1);
    await until(async () => (await h.actions(P0)).at(-1) === 'ready', 'restarted');
    expect((await h.actions(P0)).filter((a) => a === 'start')).toHaveLength(2);
  });

  it('given a long-lived run, when it is SIGKILLed from outside, then exit is recorded and a new run spawns after delayMs', async () => {
    const h = await harness();
    await runningWatcher(h);
    await h.advance(10_000); // lived past minAliveMs
    const first = h.minions.runOf('acme:web:0')!;
    h.minions.exit(first.runId, { signal: 'SIGKILL' });
    await until(async () => (await h.actions(P0)).at(-1) === 'backoff', 'backoff');
    const backoff = (await h.events(P0)).at(-1)!.data;
    expect(backoff).toMatchObject({ retries: 0, delayMs: 1000, restartAt: h.clock.now() + 1000 });
    await h.advance(1000);
    await until(async () => (await h.actions(P0)).at(-1) === 'ready', 'restarted');
    expect(await h.actions(P0)).toEqual(['start', 'spawn', 'ready', 'exit', 'backoff', 'start', 'spawn', 'ready']);
    const events = await h.events(P0);
    const exit = events.find((e) => e.action === 'exit')!;
    expect(exit.data).toMatchObject({ runId: first.runId, signal: 'SIGKILL', code: null });
    const second = h.minions.runOf('acme:web:0')!;
    expect(second.pid).not.toBe(first.pid);
    expect(exit.meta.principal).toBe('minion:m1');
    expect(events[0]!.meta).toMatchObject({ principal: ADMIN, node: 'test:1' });
    expect(events[0]!.meta.correlationId).toBeTruthy();
  });

  it('given duplicate reports after a reconnect, then nothing is appended twice (idempotent per runId)', async () => {
    const h = await harness();
    await runningWatcher(h);
    const run = h.minions.runOf('acme:web:0')!;
    const before = await h.actions(P0);
    await h.minions.emit('m1', { kind: 'spawned', tenant: 'acme', processKey: 'acme:web:0', runId: run.runId, pid: run.pid, startedAt: run.startedAt });
    await h.minions.emit('m1', { kind: 'ready', tenant: 'acme', processKey: 'acme:web:0', runId: run.runId, pid: run.pid });
    expect(await h.actions(P0)).toEqual(before);
    await h.advance(10_000);
    h.minions.exit(run.runId, { code: 0 });
    await until(async () => (await h.actions(P0)).at(-1) === 'backoff', 'backoff');
    const exited = { kind: 'exited' as const, tenant: 'acme', processKey: 'acme:web:0', runId: run.runId, pid: run.pid, code: 0, signal: null, exitedAt: h.clock.now(), durationMs: 10_000, usage: null };
    await h.minions.emit('m1', exited);
    await h.minions.emit('m1', { kind: 'spawned', tenant: 'acme', processKey: 'acme:web:0', runId: run.runId, pid: run.pid, startedAt: run.startedAt });
    expect((await h.actions(P0)).filter((a) => a === 'exit')).toHaveLength(1);
    expect((await h.actions(P0)).at(-1)).toBe('backoff');
  });

  it('given a kill command, then processes.kill is recorded and the signal goes to the minion', async () => {
    const h = await harness({ minions: { stubbornStops: true } });
    await runningWatcher(h);
    const run = h.minions.runOf('acme:web:0')!;
    const positions = await h.runtime.killProcess('acme', 'web', 0, 'SIGUSR1', ADMIN);
    expect(positions).toHaveLength(1);
    const kill = (await h.events(P0)).at(-1)!;
    expect(kill).toMatchObject({ action: 'kill', data: { pid: run.pid, signal: 'SIGUSR1', stop: false, killAt: null, runId: run.runId } });
    expect(h.minions.commands.at(-1)!.command).toMatchObject({ kind: 'signal', runId: run.runId, signal: 'SIGUSR1' });
  });
});

describe('process actor: stop escalation', () => {
  it('given a process that ignores the stop signal, then SIGKILL is recorded at killAt, also by a new runtime after rehydration', async () => {
    const h = await harness({ minions: { stubbornStops: true } });
    await runningWatcher(h, { stopWaitMs: 3000 });
    const run = h.minions.runOf('acme:web:0')!;
    await h.runtime.stopWatcher('acme', 'web', ADMIN);
    const stop = (await h.events(P0)).at(-1)!;
    expect(stop).toMatchObject({ action: 'kill', data: { signal: 'SIGTERM', stop: true, killAt: h.clock.now() + 3000, runId: run.runId } });
    expect(h.minions.commands.at(-1)!.command).toMatchObject({ kind: 'stop', signal: 'SIGTERM', waitMs: 3000 });
    // the leader goes away; a new one rehydrates and resumes the recorded deadline
    await h.runtime.stop();
    const next = await h.newRuntime();
    await h.advance(3000 + 999);
    expect((await h.actions(P0)).at(-1)).toBe('kill');
    expect((await h.events(P0)).filter((e) => e.action === 'kill')).toHaveLength(1);
    await h.advance(1);
    await until(async () => (await h.actions(P0)).at(-1) === 'exit', 'killed');
    const events = await h.events(P0);
    expect(events.map((e) => e.action).slice(-2)).toEqual(['kill', 'exit']);
    expect(events.at(-2)!.data).toMatchObject({ signal: 'SIGKILL', stop: true, killAt: null, runId: run.runId });
    // stopped: no restart
    await h.advance(60_000);
    expect((await h.actions(P0)).at(-1)).toBe('exit');
    expect(h.minions.runs.size).toBe(0);
    await next.stop();
  });
});

describe('process actor: recorded restart timer', () => {
  it('given a pending restart, when two runtimes rehydrate from the store, then the restart happens exactly once', async () => {
    const h = await harness();
    await runningWatcher(h);
    await h.advance(10_000);
    h.minions.exit(h.minions.runOf('acme:web:0')!.runId, { code: 0 });
    await until(async () => (await h.actions(P0)).at(-1) === 'backoff', 'backoff');
    const second = await h.newRuntime();
    const third = await h.newRuntime();
    await h.runtime.stop();
    await h.advance(1000);
    await until(async () => (await h.actions(P0)).at(-1) === 'ready', 'restarted');
    await h.advance(5000);
    const actions = await h.actions(P0);
    expect(actions.filter((a) => a === 'start')).toHaveLength(2);
    expect(actions.filter((a) => a === 'spawn')).toHaveLength(2);
    expect(await h.actions(watcherStream('acme', 'web'))).toEqual(['create']);
    await second.stop();
    await third.stop();
  });
});
