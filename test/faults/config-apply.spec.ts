// Issue 14 item 2: the configuration file is applied on first start, on `corral ctl
// tenant-reconfigure`/`full-reconfigure`, and at a start when a tenant's section changed
// since it was last applied (its digest is an event in the store) — never silently at every
// start. A watcher added over HTTP and a PATCHed numprocesses survive a kill -9 restart and
// a rolling restart with their processes untouched; an edited section is applied at the next
// start without re-applying the other tenants. docs/operations.md, "How the configuration
// file is applied".
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, makeTempDir, removeTempDirs, runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { cleanupCorral, freePort, pidAlive, serverPid, startCorral, waitRunning } from '../ops-e2e/support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

interface LogLine {
  pid: number;
  tenant?: string;
  msg: string;
}

const configFile = join(makeTempDir('corral-config-apply-'), 'corral.yaml');
const acmeWatchers = { filed: { cmd: 'sleep', args: ['4101'] } };
const otherWatchers = { kept: { cmd: 'sleep', args: ['4102'] } };
const writeConfig = (acme: Record<string, unknown>): void => writeFileSync(configFile, stringify({ tenants: { acme: { watchers: acme }, other: { watchers: otherWatchers } } }));

/** The server's JSON log lines written by `pid` (a successor writes into its predecessor's pipe). */
const logLines = (server: ServerProcess, pid: number): LogLine[] =>
  server
    .logs()
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as LogLine;
        return parsed.pid === pid ? [parsed] : [];
      } catch {
        return [];
      }
    });

/**
 * Waits until the server `pid` has dealt with the file's tenants at its start (applied or
 * left alone: one line per tenant either way) and returns those lines.
 */
const configStep = (server: ServerProcess, pid: number): Promise<LogLine[]> =>
  waitFor(
    () => {
      const lines = logLines(server, pid).filter((line) => line.tenant !== undefined && /configuration file/.test(line.msg));
      return ['acme', 'other'].every((tenant) => lines.some((line) => line.tenant === tenant)) ? lines : null;
    },
    { timeoutMs: 60_000, description: `server ${pid} to deal with the configuration file's tenants` },
  );

describe('the configuration file is applied only when asked or changed', () => {
  let port: number;
  let dataDir: string;
  let first: ServerProcess;
  /** the server the rolling restart replaces: its successor writes into its log pipe */
  let second: ServerProcess;
  let url: string;
  let token: string;
  const pids: Record<string, number> = {};
  const call = (method: string, path: string, body?: unknown) => httpJson(`${url}${path}`, { method, token, ...(body === undefined ? {} : { body }) });
  const watcherNames = async (tenant: string): Promise<string[]> => {
    const response = await call('GET', `/api/v1/tenants/${tenant}/watchers`);
    expect(response.status, response.text).toBe(200);
    return (response.body as { items: { name: string }[] }).items.map((watcher) => watcher.name).sort();
  };
  /** The API changes hold: the added watcher exists, both numprocesses are 2, every process kept its pid. */
  const expectApiChangesKept = async (): Promise<void> => {
    expect(await watcherNames('acme')).toEqual(['added', 'filed']);
    const filed = await waitRunning(url, token, 'acme', 'filed', 2);
    const added = await waitRunning(url, token, 'acme', 'added', 1);
    expect(filed.map((p) => p.pid)).toEqual([pids['filed:0'], pids['filed:1']]);
    expect(added[0]!.pid).toBe(pids['added:0']);
    expect((await waitRunning(url, token, 'other', 'kept', 2)).map((p) => p.pid)).toEqual([pids['kept:0'], pids['kept:1']]);
    for (const pid of Object.values(pids)) expect(pidAlive(pid)).toBe(true);
  };

  it('first start applies the file; a watcher added over HTTP and a PATCHed numprocesses survive kill -9 and a restart', async () => {
    writeConfig(acmeWatchers);
    port = await freePort();
    first = await startCorral({ args: ['--port', String(port), '--config', configFile], env: { CORRAL_LEASE_TTL_MS: '3000' } });
    ({ url, token, dataDir } = first);
    const applied = await configStep(first, first.pid);
    expect(applied.map((line) => `${line.tenant} ${line.msg}`).sort()).toEqual([
      'acme tenant configured from the configuration file',
      'other tenant configured from the configuration file',
    ]);
    await waitRunning(url, token, 'acme', 'filed', 1);

    expect((await call('POST', '/api/v1/tenants/acme/watchers', { name: 'added', cmd: 'sleep', args: ['4103'] })).status).toBe(201);
    expect((await call('PATCH', '/api/v1/tenants/acme/watchers/filed', { numprocesses: 2 })).status).toBe(200);
    expect((await call('PATCH', '/api/v1/tenants/other/watchers/kept', { numprocesses: 2 })).status).toBe(200);
    for (const p of await waitRunning(url, token, 'other', 'kept', 2)) pids[`kept:${p.slot}`] = p.pid!;
    for (const p of await waitRunning(url, token, 'acme', 'filed', 2)) pids[`filed:${p.slot}`] = p.pid!;
    pids['added:0'] = (await waitRunning(url, token, 'acme', 'added', 1))[0]!.pid!;

    await first.kill();
    second = await startCorral({ args: ['--port', String(port), '--config', configFile], dataDir, env: { CORRAL_LEASE_TTL_MS: '3000' } });
    const lines = await configStep(second, second.pid);
    await expectApiChangesKept();
    expect(lines.map((line) => `${line.tenant} ${line.msg}`).sort()).toEqual([
      'acme configuration file unchanged since it was last applied: left as it is',
      'other configuration file unchanged since it was last applied: left as it is',
    ]);
  }, 180_000);

  it('corral ctl restart --rolling restarts no process and reverts no change', async () => {
    const before = serverPid(dataDir)!;
    const result = await runCorral(['ctl', '--data-dir', dataDir, 'restart', '--rolling'], { timeoutMs: 150_000 });
    expect(result.code, result.stderr).toBe(0);
    const successor = (JSON.parse(result.stdout) as { successor: { pid: number } }).successor.pid;
    expect(successor).not.toBe(before);
    expect(serverPid(dataDir)).toBe(successor);
    await configStep(second, successor);
    await expectApiChangesKept();
  }, 180_000);

  it('an edited section is applied at the next start, and only that tenant', async () => {
    writeConfig({ ...acmeWatchers, more: { cmd: 'sleep', args: ['4104'] } });
    const running = serverPid(dataDir)!;
    process.kill(running, 'SIGKILL');
    await waitFor(() => !pidAlive(running), { timeoutMs: 20_000, description: `server ${running} to die` });
    const next = await startCorral({ args: ['--port', String(port), '--config', configFile], dataDir, env: { CORRAL_LEASE_TTL_MS: '3000' } });
    const lines = await configStep(next, next.pid);
    expect(lines.map((line) => `${line.tenant} ${line.msg}`).sort()).toEqual([
      'acme tenant configured from the configuration file',
      'other configuration file unchanged since it was last applied: left as it is',
    ]);
    // acme is what its section says: the API-added watcher went, numprocesses is the file's 1
    expect(await watcherNames('acme')).toEqual(['filed', 'more']);
    await waitRunning(url, token, 'acme', 'more', 1);
    await waitRunning(url, token, 'acme', 'filed', 1);
    await waitFor(() => !pidAlive(pids['added:0']!), { timeoutMs: 20_000, description: 'the removed watcher to stop' });
    // other keeps its API change (numprocesses 2) and its processes
    expect((await waitRunning(url, token, 'other', 'kept', 2)).map((p) => p.pid)).toEqual([pids['kept:0'], pids['kept:1']]);
  }, 180_000);

  it('corral ctl tenant-reconfigure applies the file even when it did not change', async () => {
    expect((await call('POST', '/api/v1/tenants/acme/watchers', { name: 'extra', cmd: 'sleep', args: ['4105'] })).status).toBe(201);
    const extra = (await waitRunning(url, token, 'acme', 'extra', 1))[0]!.pid!;
    const result = await runCorral(['ctl', '--data-dir', dataDir, 'tenant-reconfigure', 'acme']);
    expect(result.code, result.stderr).toBe(0);
    expect(await watcherNames('acme')).toEqual(['filed', 'more']);
    await waitFor(() => !pidAlive(extra), { timeoutMs: 20_000, description: 'the API-added watcher to stop' });
    // other was not touched
    expect(await watcherNames('other')).toEqual(['kept']);
    await waitRunning(url, token, 'other', 'kept', 2);

    // the HTTP form: POST .../reconfigure without watchers applies the file's section
    expect((await call('POST', '/api/v1/tenants/acme/watchers', { name: 'extra', cmd: 'sleep', args: ['4105'] })).status).toBe(201);
    expect((await call('POST', '/api/v1/tenants/acme/reconfigure', {})).status).toBe(200);
    expect(await watcherNames('acme')).toEqual(['filed', 'more']);
  }, 120_000);

  it('a tenant of the file destroyed through the API stays destroyed at a restart', async () => {
    expect((await call('DELETE', '/api/v1/tenants/other')).status).toBe(200);
    await waitFor(() => !pidAlive(pids['kept:0']!) && !pidAlive(pids['kept:1']!), { timeoutMs: 20_000, description: "other's processes to stop" });
    const running = serverPid(dataDir)!;
    process.kill(running, 'SIGKILL');
    await waitFor(() => !pidAlive(running), { timeoutMs: 20_000, description: `server ${running} to die` });
    const next = await startCorral({ args: ['--port', String(port), '--config', configFile], dataDir, env: { CORRAL_LEASE_TTL_MS: '3000' } });
    const lines = await configStep(next, next.pid);
    expect(lines.find((line) => line.tenant === 'other')!.msg).toBe('configuration file unchanged since it was last applied: left as it is');
    expect((await call('GET', '/api/v1/tenants/other')).body).toMatchObject({ state: 'deleted' });
    expect(await watcherNames('other')).toEqual([]);
  }, 120_000);
});
