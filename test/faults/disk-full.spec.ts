// Issue 14 item 5 (docs/operations.md, "A full disk"): a real server whose data directory is
// on a small tmpfs that fills up keeps running. Appends fail with `unavailable` and a message
// that says the disk is full, the node reports not ready, reads and websockets keep working,
// no `*.tmp` file is left behind, and once space returns the node is ready again and accepts
// commands by itself. Before, the server died on an unhandled "Commit failed" rejection
// (a raw stack) and /health/ready said 200 until then.
//
// Mounting a tmpfs needs root (and the right to mount); elsewhere this test is skipped and says why.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpJson, makeTempDir, pidAlive, removeTempDirs, waitFor, type ServerProcess } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from '../ops-e2e/support.js';

const isRoot = process.getuid?.() === 0;
const mountPoint = makeTempDir('corral-disk-full-');
let mounted = false;

afterAll(async () => {
  await cleanupCorral();
  if (mounted) spawnSync('umount', ['-l', mountPoint]);
  removeTempDirs();
}, 120_000);

/** Every file under `dir` whose name ends in .tmp. */
function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.tmp'));
}

/** Fills the file system of `dir` with a file of zeros until the kernel refuses more. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  return filler;
}

describe.skipIf(!isRoot)(isRoot ? 'a full disk' : 'a full disk (skipped: mounting a tmpfs needs root)', () => {
  it('fails appends with "disk full", reports not ready, keeps reads and websockets, and recovers by itself', async (ctx) => {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (error) {
      // root without the right to mount (a container without CAP_SYS_ADMIN): say so and skip
      console.warn(`disk-full: skipped, cannot mount a tmpfs here: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
      ctx.skip();
      return;
    }
    mounted = true;
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    // a process that logs a line every 20 ms keeps the server appending
    const config = { tenants: { acme: { watchers: { chatty: { cmd: 'sh', args: ['-c', 'while :; do echo "line $(date +%s%N) of some text"; sleep 0.02; done'] } } } } };
    const server: ServerProcess = await startCorral({ dataDir, config });
    const { url, token } = server;
    await waitRunning(url, token, 'acme', 'chatty', 1);

    const filler = fill(mountPoint);
    const notReady = await waitFor(
      async () => {
        const ready = await httpJson(`${url}/health/ready`);
        return ready.status === 503 ? ready : null;
      },
      { timeoutMs: 60_000, description: 'the node to report not ready once the disk is full' },
    );
    expect(JSON.stringify(notReady.body)).toMatch(/store: cannot write since .*disk full/);

    // commands fail with a clear error; the server is alive
    const refused = await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token, body: { name: 'more', cmd: 'sleep', args: ['4401'] } });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'unavailable' } });
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/^disk full: /);
    expect(pidAlive(server.pid)).toBe(true);

    // reads and websockets keep working
    expect((await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token })).status).toBe(200);
    const live = await new Promise<unknown>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${token}`);
      ws.on('open', () => ws.send(JSON.stringify({ op: 'sub', id: 's', select: 'watchers.*.*', from: 'start' })));
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { op: string };
        if (message.op === 'live') (ws.close(), resolve(message));
      });
      ws.on('error', reject);
    });
    expect(live).toMatchObject({ op: 'live', id: 's' });
    expect(tempFiles(dataDir)).toEqual([]);

    // space returns: ready again and commands accepted, without a restart
    rmSync(filler);
    await waitFor(async () => (await httpJson(`${url}/health/ready`)).status === 200, { timeoutMs: 30_000, description: 'the node to be ready again' });
    const accepted = await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token, body: { name: 'more', cmd: 'sleep', args: ['4401'] } });
    expect(accepted.status, accepted.text).toBe(201);
    await waitRunning(url, token, 'acme', 'more', 1);
    expect(pidAlive(server.pid)).toBe(true);
    expect(tempFiles(dataDir)).toEqual([]);
    // no crash report: neither Node's unhandled-rejection stack nor our fatal line (lmdb itself
    // prints the I/O error of each failed commit to stderr)
    expect(server.logs()).not.toMatch(/Commit failed|unhandled rejection|UnhandledPromiseRejection/);
  }, 240_000);
});
