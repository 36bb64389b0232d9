// The process commands: each waits until the processes view shows the change and prints
// it per slot (old → new pid); --no-wait only sends; unknown names are errors naming them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/index.js';
import { cleanupCorral, corral, pidAlive, processes, startCorral, waitRunning } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['321'], numprocesses: 2, restart: { delayMs: 100 } } } } } } });
  await waitRunning(server, 'acme', 'web', 2);
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

const pidsOf = async (): Promise<number[]> => (await processes(server, 'acme', 'web')).map((p) => p.pid!);

describe('corral restart, stop, start, reload, kill, scale', () => {
  it('restart gives every slot a new pid and prints old → new', async () => {
    const before = await pidsOf();
    const result = await corral(server, ['restart', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    const after = await waitRunning(server, 'acme', 'web', 2);
    expect(after.map((p) => p.pid).every((pid, slot) => pid !== before[slot])).toBe(true);
    expect(result.stdout.trimEnd().split('\n')).toEqual(after.map((p, slot) => `acme:web:${slot}: pid ${before[slot]} → pid ${p.pid}`));
    expect(before.some((pid) => pidAlive(pid))).toBe(false);
  }, 60_000);

  it('restart of one slot replaces only that process', async () => {
    const before = await pidsOf();
    const result = await corral(server, ['restart', 'acme:web:1']);
    expect(result.code, result.stderr).toBe(0);
    const after = await pidsOf();
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(result.stdout.trim()).toBe(`acme:web:1: pid ${before[1]} → pid ${after[1]}`);
  }, 60_000);

  it('stop and start wait until every process stopped / runs', async () => {
    const before = await pidsOf();
    const stopped = await corral(server, ['stop', 'acme:web']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout.trimEnd().split('\n')).toEqual(before.map((pid, slot) => `acme:web:${slot}: pid ${pid} → stopped`));
    expect((await processes(server, 'acme', 'web')).map((p) => p.state)).toEqual(['stopped', 'stopped']);
    const started = await corral(server, ['start', 'acme:web']);
    expect(started.code, started.stderr).toBe(0);
    const after = await pidsOf();
    expect(started.stdout.trimEnd().split('\n')).toEqual(after.map((pid, slot) => `acme:web:${slot}: stopped → pid ${pid}`));
  }, 60_000);

  it('reload replaces every process, one slot at a time', async () => {
    const before = await pidsOf();
    const result = await corral(server, ['reload', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    const after = await pidsOf();
    expect(after.every((pid, slot) => pid !== before[slot])).toBe(true);
  }, 60_000);

  it('kill -s KILL waits until the process exited; the watcher then restarts it', async () => {
    const [old] = await pidsOf();
    const result = await corral(server, ['kill', '-s', 'KILL', 'acme:web:0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`acme:web:0: SIGKILL sent to pid ${old}`);
    expect(result.stdout.split('\n')[1]).toMatch(new RegExp(`^acme:web:0: pid ${old} → `));
    expect(pidAlive(old)).toBe(false);
    const [now] = await waitRunning(server, 'acme', 'web', 2);
    expect(now!.restarts).toBeGreaterThan(0);
  }, 60_000);

  it('scale changes the slot count, printing the new and removed slots', async () => {
    const up = await corral(server, ['scale', 'acme:web', '3']);
    expect(up.code, up.stderr).toBe(0);
    const three = await processes(server, 'acme', 'web');
    expect(three.map((p) => [p.key, p.state])).toEqual([0, 1, 2].map((slot) => [`acme:web:${slot}`, 'running']));
    expect(up.stdout).toContain('acme:web: 2 → 3 process(es)');
    expect(up.stdout).toContain(`acme:web:2: new → pid ${three[2]!.pid}`);
    const down = await corral(server, ['scale', 'acme:web', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect((await processes(server, 'acme', 'web')).map((p) => p.key)).toEqual(['acme:web:0']);
    expect(down.stdout).toContain(`acme:web:2: pid ${three[2]!.pid} → removed`);
    expect((await corral(server, ['scale', 'acme:web', '2'])).code).toBe(0);
    expect((await processes(server, 'acme', 'web')).length).toBe(2);
  }, 60_000);

  it('--no-wait sends the command and returns at once', async () => {
    const result = await corral(server, ['restart', '--no-wait', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^acme:web: sent \(position \d+\)\n$/);
    await waitRunning(server, 'acme', 'web', 2);
  }, 60_000);

  it('an unknown watcher gives exit 1 and a message naming it; bad usage gives exit 2', async () => {
    for (const args of [['restart', 'acme:nope'], ['kill', 'acme:nope:0'], ['scale', 'acme:nope', '2'], ['stop', 'acme:nope']]) {
      const result = await corral(server, args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('unknown watcher "nope" in tenant acme (its watchers: web)');
    }
    const tenant = await corral(server, ['start', 'zzz:web']);
    expect([tenant.code, tenant.stderr.trim()]).toEqual([1, 'corral start: unknown tenant "zzz"']);
    const slot = await corral(server, ['kill', 'acme:web:9']);
    expect(slot.code).toBe(1);
    expect(slot.stderr).toContain('unknown slot 9 of acme:web (it has slots 0-1)');
    expect((await corral(server, ['scale', 'acme:web'])).code).toBe(2);
    expect((await corral(server, ['scale', 'acme:web', 'many'])).code).toBe(2);
    expect((await corral(server, ['stop', 'acme:web:0'])).code).toBe(2);
  }, 60_000);

  it('kill of a watcher with nothing running says so (exit 1)', async () => {
    expect((await corral(server, ['stop', 'acme:web'])).code).toBe(0);
    const result = await corral(server, ['kill', 'acme:web']);
    expect([result.code, result.stderr.trim()]).toEqual([1, 'corral kill: acme:web has no running process to signal']);
    expect((await corral(server, ['start', 'acme:web'])).code).toBe(0);
  }, 60_000);
});
