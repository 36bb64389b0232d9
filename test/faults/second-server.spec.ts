// Issue 14 item 3: a second server on the same data directory (a follower, here on its own
// port) shares the local minion with the first; stopping it stops nothing of the first: the
// local minion and every managed process keep running, server.json still names a live
// server (the first), and the first keeps serving and supervising. Only the last server of
// a data directory to stop takes the local minion with it (docs/operations.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, pidAlive, removeTempDirs, waitFor } from '../support/index.js';
import { cleanupCorral, serverPid, startCorral, waitRunning } from '../ops-e2e/support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

const config = { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['4201'], numprocesses: 2 } } } } };
const minionPid = (dataDir: string): number => (JSON.parse(readFileSync(join(dataDir, 'minion.pid'), 'utf8')) as { pid: number }).pid;

describe('a second server on the same data directory', () => {
  it('stops without stopping the first server’s minion or processes', async () => {
    const first = await startCorral({ config });
    const { url, token, dataDir } = first;
    const before = (await waitRunning(url, token, 'acme', 'web', 2)).map((p) => p.pid!);
    const minion = minionPid(dataDir);

    const second = await startCorral({ dataDir, config });
    expect(second.pid).not.toBe(first.pid);
    const stopped = await second.stop();
    expect(stopped.code).toBe(0);

    expect(pidAlive(minion)).toBe(true);
    for (const pid of before) expect(pidAlive(pid)).toBe(true);
    // server.json names the server still running, so the minion and `corral` find it
    expect(serverPid(dataDir)).toBe(first.pid);
    const ready = await httpJson(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect((await waitRunning(url, token, 'acme', 'web', 2)).map((p) => p.pid)).toEqual(before);

    // The first still supervises: a process killed now is replaced.
    process.kill(before[0]!, 'SIGKILL');
    await waitFor(
      async () => {
        const running = await waitRunning(url, token, 'acme', 'web', 2, 5_000).catch(() => null);
        return running?.every((p) => p.pid !== before[0]) ? running : null;
      },
      { timeoutMs: 30_000, description: 'the killed process to be replaced by the first server' },
    );

    // The last server to stop takes the local minion and its processes with it.
    expect((await first.stop()).code).toBe(0);
    await waitFor(() => !pidAlive(minion), { timeoutMs: 30_000, description: 'the local minion to stop with the last server' });
  }, 180_000);
});
