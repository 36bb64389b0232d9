// Issue 4 must-shows across server restarts and configuration changes: a SIGKILLed server
// finds its processes still running (nothing spawned twice), `corral ctl tenant-reconfigure`
// applies exactly the edited watchers, `corral ctl stop [--keep-minion]`.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, pidAlive, pidsRunning, startCorral, waitRunning } from './support.js';

const servers: ServerProcess[] = [];
afterAll(() => cleanupCorral(servers), 60_000);

const configFile = join(makeTempDir('corral-reconf-'), 'corral.yaml');
const writeConfig = (watchers: Record<string, unknown>): void => writeFileSync(configFile, stringify({ tenants: { acme: { watchers } } }));
const minionPid = (dataDir: string): Promise<number> =>
  waitFor(async () => {
    const result = await runCorral(['ctl', '--data-dir', dataDir, 'status']);
    return result.code === 0 ? (JSON.parse(result.stdout) as { localMinion: { pid: number } }).localMinion.pid : null;
  }, { description: 'ctl status' });

describe('server restarts and reconfiguration', () => {
  let dataDir: string;

  it('SIGKILL of the server: after the restart the same three pids run and nothing was spawned twice', async () => {
    writeConfig({ keeper: { cmd: 'sleep', args: ['303'], numprocesses: 3 } });
    const first = await startCorral({ args: ['--config', configFile] });
    servers.push(first);
    dataDir = first.dataDir;
    const before = await waitRunning(first, 'acme', 'keeper', 3);
    const pids = before.map((p) => p.pid!);
    const minion = await minionPid(dataDir);
    // the command socket: only the owner may connect
    expect(statSync(join(dataDir, 'corral.sock')).mode & 0o777).toBe(0o600);

    await first.kill();
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    expect(pidAlive(minion)).toBe(true);

    const second = await startCorral({ args: ['--config', configFile], dataDir });
    servers.push(second);
    // the restarted server adopted the surviving minion and reconciled its processes
    expect(await minionPid(dataDir)).toBe(minion);
    const after = await waitRunning(second, 'acme', 'keeper', 3);
    expect(after.map((p) => p.pid)).toEqual(pids);
    expect(pidsRunning(['sleep', '303'])).toEqual([...pids].sort((a, b) => a - b));
    const events = await history(second, 'acme', 'processes.*.*');
    const keeper = events.filter((e) => e.key.startsWith('acme:keeper:'));
    expect(keeper.filter((e) => e.action === 'spawn')).toHaveLength(3);
    expect(keeper.filter((e) => e.action === 'start')).toHaveLength(3);
    expect(keeper.filter((e) => e.action === 'exit')).toHaveLength(0);
  }, 120_000);

  it('corral ctl tenant-reconfigure applies exactly the edited watchers', async () => {
    const server = servers[servers.length - 1]!;
    const steady = { cmd: 'sleep', args: ['306'], numprocesses: 1 };
    writeConfig({ keeper: { cmd: 'sleep', args: ['303'], numprocesses: 3 }, extra: { cmd: 'sleep', args: ['304'], numprocesses: 1 }, steady });
    let result = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'acme']);
    expect(result.code, result.stderr).toBe(0);
    await waitRunning(server, 'acme', 'extra', 1);
    const steadyPid = (await waitRunning(server, 'acme', 'steady', 1))[0]!.pid;
    const positionBefore = (JSON.parse(result.stdout) as { positions: number[] }).positions.at(-1)!;

    // change one (numprocesses), remove one, add one, keep one untouched
    writeConfig({ keeper: { cmd: 'sleep', args: ['303'], numprocesses: 2 }, added: { cmd: 'sleep', args: ['305'], numprocesses: 1 }, steady });
    result = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'acme']);
    expect(result.code, result.stderr).toBe(0);
    const watcherEvents = (await history(server, 'acme', 'watchers.*.*')).filter((e) => e.position > positionBefore);
    expect(watcherEvents.map((e) => `${e.key} ${e.action}`).sort()).toEqual(['acme:added create', 'acme:extra destroy', 'acme:keeper update']);
    const tenantEvents = (await history(server, 'acme', 'tenants.reconfigure.acme')).filter((e) => e.position > positionBefore);
    expect(tenantEvents).toHaveLength(1);
    expect(tenantEvents[0]!.data).toMatchObject({ added: ['added'], updated: ['keeper'], removed: ['extra'] });
    await waitRunning(server, 'acme', 'keeper', 2);
    await waitRunning(server, 'acme', 'added', 1);
    await waitFor(() => pidsRunning(['sleep', '304']).length === 0, { timeoutMs: 20_000, description: 'removed watcher stopped' });
    expect((await waitRunning(server, 'acme', 'steady', 1))[0]!.pid).toBe(steadyPid);

    // usage and unknown tenants are clear errors
    const usage = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('tenant-reconfigure needs exactly one tenant name');
    expect((await runCorral(['ctl', '--data-dir', dataDir, 'bogus'])).code).toBe(2);
    const unknown = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'ghost']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/tenant ghost is not in the configuration file/);

    // unchanged file: nothing appended
    const head = (await history(server, 'acme', '*.*.*')).at(-1)!.position;
    result = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'acme']);
    expect(JSON.parse(result.stdout)).toMatchObject({ events: 0 });
    const later = (await history(server, 'acme', 'tenants,watchers.*.*')).filter((e) => e.position > head);
    expect(later).toEqual([]);

    // a bad file is refused with the field named, and changes nothing
    writeFileSync(configFile, stringify({ tenants: { acme: { watchers: { keeper: { cmd: 'sleep', numprocesses: -1 } } } } }));
    result = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'acme']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('numprocesses');
    expect((await history(server, 'acme', 'tenants,watchers.*.*')).filter((e) => e.position > head)).toEqual([]);
  }, 120_000);

  it('corral ctl stop --keep-minion leaves the minion and its processes; a plain stop ends them', async () => {
    writeConfig({ keeper: { cmd: 'sleep', args: ['303'], numprocesses: 2 } });
    const server = servers[servers.length - 1]!;
    const result = await runCorral(['ctl', '--data-dir', dataDir, 'full-reconfigure']);
    expect(result.code, result.stderr).toBe(0);
    const pids = (await waitRunning(server, 'acme', 'keeper', 2)).map((p) => p.pid!);
    const minion = await minionPid(dataDir);
    const dump = await runCorral(['ctl', '--data-dir', dataDir, 'stack-dump']);
    expect(JSON.parse(dump.stdout).file).toMatch(/report-\d+-\d+\.json$/);

    expect((await runCorral(['ctl', '--data-dir', dataDir, 'stop', '--keep-minion'])).code).toBe(0);
    expect((await server.exited).code).toBe(0);
    expect(pidAlive(minion)).toBe(true);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);

    const next = await startCorral({ args: ['--config', configFile], dataDir });
    servers.push(next);
    expect((await waitRunning(next, 'acme', 'keeper', 2)).map((p) => p.pid)).toEqual(pids);
    expect((await runCorral(['ctl', '--data-dir', dataDir, 'stop'])).code).toBe(0);
    expect((await next.exited).code).toBe(0);
    expect(pidAlive(minion)).toBe(false);
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    const status = await runCorral(['ctl', '--data-dir', dataDir, 'status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('no server is running');
  }, 120_000);
});
