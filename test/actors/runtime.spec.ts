import { describe, expect, it } from 'vitest';
import { processStream, watcherStream } from '../../store/index.js';
import { ADMIN, harness, MINION, sleepSpec, until } from './harness.js';

const P0 = processStream('acme', 'web', 0);

describe('actor runtime', () => {
  it('writes events at the system model API, downcasting processes.exit for model 1', async () => {
    const downcasts: string[] = [];
    const h = await harness({
      runtime: {
        writeModel: () => 1,
        downcast: (type, action, data, toModel) => {
          downcasts.push(`${type}.${action}@${toModel}`);
          if (type !== 'processes' || action !== 'exit') return data;
          const { durationMs: _durationMs, usage: _usage, ...v1 } = data as Record<string, unknown>;
          return v1;
        },
      },
    });
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    await until(async () => (await h.actions(P0)).at(-1) === 'ready', 'ready');
    h.minions.exit(h.minions.runOf('acme:web:0')!.runId, { code: 3 });
    await until(async () => (await h.actions(P0)).includes('exit'), 'exit');
    const events = await h.events(P0);
    expect(events.every((e) => e.schema === 1)).toBe(true);
    const exit = events.find((e) => e.action === 'exit')!;
    expect(exit.data).not.toHaveProperty('durationMs');
    expect(exit.data).toMatchObject({ code: 3 });
    expect(downcasts).toContain('processes.exit@1');
  });

  it('a stop sent while the minion was away is sent again when it reconnects', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec(), ADMIN);
    await until(async () => (await h.actions(P0)).at(-1) === 'ready', 'ready');
    await h.minions.disconnect(MINION);
    await h.runtime.stopWatcher('acme', 'web', ADMIN);
    expect((await h.actions(P0)).at(-1)).toBe('kill');
    expect(h.minions.runs.size).toBe(1); // the stop never reached it
    await h.minions.connect(MINION, ['acme']);
    await until(async () => (await h.actions(P0)).at(-1) === 'exit', 'stopped after reconnect');
    expect(h.minions.runs.size).toBe(0);
    await h.advance(60_000);
    expect((await h.actions(P0)).at(-1)).toBe('exit');
  });

  it('setting active false stops the processes; changing the command rolls a reload with the new command', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.createWatcher('acme', 'web', sleepSpec({ numprocesses: 2 }), ADMIN);
    await until(async () => h.minions.runs.size === 2 && (await h.actions(processStream('acme', 'web', 1))).at(-1) === 'ready', 'running');
    await h.runtime.updateWatcher('acme', 'web', { args: ['600'] }, ADMIN);
    expect((await h.actions(watcherStream('acme', 'web'))).slice(-2)).toEqual(['update', 'reload']);
    await until(async () => (await h.actions(processStream('acme', 'web', 1))).includes('handover'), 'reloaded');
    await until(async () => h.minions.runs.size === 2, 'old runs gone');
    expect([...h.minions.runs.values()].map((run) => run.processKey).sort()).toEqual(['acme:web:0', 'acme:web:1']);
    const spawns = h.minions.spawnCommands();
    expect(spawns.slice(-2).map((command) => (command as { args: string[] }).args)).toEqual([['600'], ['600']]);
    await h.runtime.updateWatcher('acme', 'web', { active: false }, ADMIN);
    await until(async () => h.minions.runs.size === 0, 'inactive');
    expect((await h.events(watcherStream('acme', 'web'))).at(-1)).toMatchObject({ action: 'update', data: { changed: ['active'] } });
  });
});
