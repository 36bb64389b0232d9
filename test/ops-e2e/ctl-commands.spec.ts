// `corral ctl restart --rolling` and `corral ctl backup` from the command line: bad input
// and failed restarts change nothing (the running server keeps serving), and a hot backup
// taken under writes restores into a working server.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, makeTempDir, removeTempDirs, runCorral, startServerProcess } from '../support/index.js';
import { cleanupCorral, freePort, head, serverPid, startCorral, waitRunning } from './support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 60_000);

describe('corral ctl restart --rolling: refusals change nothing', () => {
  it('needs --rolling, and a running server', async () => {
    const usage = await runCorral(['ctl', '--data-dir', makeTempDir('corral-ctl-'), 'restart']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('only rolling restarts are supported');
    const none = await runCorral(['ctl', '--data-dir', makeTempDir('corral-ctl-'), 'restart', '--rolling']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no server is running on data directory');
  });

  it('refuses a server on an ephemeral port (never shared) and leaves it serving', async () => {
    const server = await startCorral({ localMinion: false }); // --port 0
    const result = await runCorral(['ctl', '--data-dir', server.dataDir, 'restart', '--rolling']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('started with port 0');
    expect(serverPid(server.dataDir)).toBe(server.pid);
    expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
  });

  it('a successor that cannot start is reported, and the old server keeps serving', async () => {
    const server = await startCorral({ localMinion: false, args: ['--port', String(await freePort())] });
    const result = await runCorral(['ctl', '--data-dir', server.dataDir, 'restart', '--rolling', '--', '--store', 'nonsense']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the successor \(pid \d+\) exited before it was ready/);
    expect(serverPid(server.dataDir)).toBe(server.pid);
    expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
    // and a rolling restart still works afterwards
    const again = await runCorral(['ctl', '--data-dir', server.dataDir, 'restart', '--rolling'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect((await server.exited).code).toBe(0);
    expect(serverPid(server.dataDir)).toBe((JSON.parse(again.stdout) as { successor: { pid: number } }).successor.pid);
    expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
  }, 120_000);
});

describe('corral ctl backup', () => {
  it('copies the store of a running, writing server; the copy starts as a server with that history', async () => {
    const server = await startCorral({
      config: { tenants: { acme: { watchers: { ticker: { cmd: 'sh', args: ['-c', 'while true; do echo tick; sleep 0.01; done'] } } } } },
    });
    await waitRunning(server.url, server.token, 'acme', 'ticker', 1);
    const before = await head(server.url, server.token, 'acme');
    const backupDir = join(makeTempDir('corral-backup-'), 'copy');
    const result = await runCorral(['ctl', '--data-dir', server.dataDir, 'backup', backupDir]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { files: string[]; storeBytes: number };
    expect(report.files).toEqual(['store/data.mdb', 'secret']);
    expect(statSync(join(backupDir, 'secret')).mode & 0o777).toBe(0o600);
    const after = await head(server.url, server.token, 'acme');
    expect(after).toBeGreaterThan(before); // the server kept appending meanwhile

    const restored = await startServerProcess({ dataDir: backupDir });
    const restoredHead = await head(restored.url, restored.token, 'acme');
    expect(restoredHead).toBeGreaterThanOrEqual(before);
    const events = await httpJson(`${restored.url}/api/v1/tenants/acme/events?select=logs.*.*&limit=5`, { token: restored.token });
    expect((events.body as { events: { data: { line: string } }[] }).events.map((event) => event.data.line)).toEqual(['tick', 'tick', 'tick', 'tick', 'tick']);
    // tokens signed before the backup are still valid: the secret came along
    expect((await httpJson(`${restored.url}/api/v1/tenants`, { token: server.token })).status).toBe(200);
    expect((await restored.stop()).code).toBe(0);
  }, 120_000);

  it('refuses a non-empty destination and a data directory without an embedded store', async () => {
    const full = makeTempDir('corral-backup-');
    writeFileSync(join(full, 'something'), 'x');
    const dataDir = makeTempDir('corral-backup-src-');
    const missing = await runCorral(['ctl', '--data-dir', dataDir, 'backup', join(full, 'new')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no embedded event store in');
    const server = await startCorral({ localMinion: false });
    const nonEmpty = await runCorral(['ctl', '--data-dir', server.dataDir, 'backup', full]);
    expect(nonEmpty.code).toBe(1);
    expect(nonEmpty.stderr).toContain('exists and is not empty');
  }, 60_000);
});
