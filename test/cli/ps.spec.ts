// `corral ps`: one row per process with the pids of the processes view, --json the view
// objects themselves, and errors that name the unknown tenant, watcher or slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { cleanupCorral, corral, processes, spawnCorral, startCorral, waitRunning } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({
    config: { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['311'], numprocesses: 2 }, db: { cmd: 'sleep', args: ['312'] } } }, other: { watchers: { x: { cmd: 'sleep', args: ['313'] } } } } },
  });
  await waitRunning(server, 'acme', 'web', 2);
  await waitRunning(server, 'acme', 'db', 1);
  await waitRunning(server, 'other', 'x', 1);
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('corral ps', () => {
  it('prints one row per process with the pids of the view', async () => {
    const view = await processes(server, 'acme', 'web');
    const result = await corral(server, ['ps', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEM']);
    expect(rows.map((line) => line.split(/\s+/).slice(0, 3))).toEqual(view.map((p) => [p.key, 'running', String(p.pid)]));
    expect(result.stdout).not.toContain('\u001b['); // not a terminal: no colours
  }, 60_000);

  it('lists every tenant without a target; status is the same command', async () => {
    const all = await corral(server, ['ps']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['acme:db:0', 'acme:web:0', 'acme:web:1', 'other:x:0']);
    const status = await corral(server, ['status', 'acme']);
    expect(status.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['acme:db:0', 'acme:web:0', 'acme:web:1']);
  }, 60_000);

  it('--json prints an array of the process view objects', async () => {
    const view = await processes(server, 'acme', 'web');
    const result = await corral(server, ['ps', '--json', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { key: string; pid: number; state: string; runId: string }[];
    expect(printed.map((p) => [p.key, p.pid, p.state, p.runId])).toEqual(view.map((p) => [p.key, p.pid, p.state, (p as unknown as { runId: string }).runId]));
    const one = JSON.parse((await corral(server, ['ps', '--json', 'acme:web:1'])).stdout) as { key: string }[];
    expect(one.map((p) => p.key)).toEqual(['acme:web:1']);
  }, 60_000);

  it('--watch redraws from the websocket when the processes change, and exits 0 on Ctrl-C', async () => {
    const before = await processes(server, 'acme', 'web');
    const watcher = spawnCorral(server, ['ps', '--watch', '--json', 'acme:web']);
    const tables = (): { key: string; pid: number | null; state: string }[][] =>
      watcher.output().split('\n').filter((line) => line.startsWith('[')).map((line) => JSON.parse(line) as { key: string; pid: number | null; state: string }[]);
    await waitFor(() => tables().length >= 1, { timeoutMs: 20_000, description: `the first table in ${watcher.output()}` });
    expect(tables()[0]!.map((p) => p.pid)).toEqual(before.map((p) => p.pid));
    const restarted = await corral(server, ['restart', 'acme:web']);
    expect(restarted.code, restarted.stderr).toBe(0);
    const after = await processes(server, 'acme', 'web');
    // the last table shows the new pids (redraws are throttled: the states in between may be merged)
    await waitFor(() => JSON.stringify(tables().at(-1)!.map((p) => p.pid)) === JSON.stringify(after.map((p) => p.pid)), {
      timeoutMs: 5000,
      description: `the new pids ${after.map((p) => p.pid).join(',')} in ${watcher.output()}`,
    });
    watcher.child.kill('SIGINT');
    expect(await watcher.exited, watcher.output()).toBe(0);
  }, 60_000);

  it('names the unknown tenant, watcher or slot (exit 1), and a malformed target is a usage error (exit 2)', async () => {
    const watcher = await corral(server, ['ps', 'acme:nope']);
    expect(watcher.code).toBe(1);
    expect(watcher.stderr).toContain('unknown watcher "nope" in tenant acme');
    const tenant = await corral(server, ['ps', 'zzz']);
    expect(tenant.code).toBe(1);
    expect(tenant.stderr).toContain('unknown tenant "zzz"');
    const slot = await corral(server, ['ps', 'acme:web:5']);
    expect(slot.code).toBe(1);
    expect(slot.stderr).toContain('unknown slot 5 of acme:web');
    const help = await runCorral(['help', 'ps']);
    expect([help.code, help.stdout.startsWith('usage: corral ps ')]).toEqual([0, true]);
    expect((await runCorral(['help', 'nope'])).code).toBe(2);
    const malformed = await corral(server, ['ps', 'acme:web:0:1']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/expected TENANT or TENANT:WATCHER or TENANT:WATCHER:SLOT/);
  }, 60_000);
});
