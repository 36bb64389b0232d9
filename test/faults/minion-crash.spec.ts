// Issue 14 item 4 (ops/modules/supervision/README.md, ops/minion/README.md "When a minion
// dies"): the server supervises its local minion. After `kill -9` of the minion a new one runs
// within a couple of seconds, the processes the dead one left behind are stopped and each slot
// is started once again, so exactly `numprocesses` OS processes run; a process that dies
// afterwards is replaced; and a server restart after both were killed adds no duplicates.
// Before, nothing restarted the minion, its processes were orphaned and never replaced, and
// the next start ran 5 OS processes for 3 slots.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, pidAlive, removeTempDirs, waitFor } from '../support/index.js';
import { startRemoteMinion, stopRemoteMinions } from '../jobs-e2e/support.js';
import { cleanupCorral, freePort, startCorral, waitRunning } from '../ops-e2e/support.js';

afterAll(async () => {
  await stopRemoteMinions();
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

const MARK = '4601.5';
const config = { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: [MARK], numprocesses: 3 } } } } };
const minionPid = (dataDir: string): number | null => {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'minion.pid'), 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
};
/** OS processes running this test's command. */
const osProcesses = (): number[] =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${MARK}\0`;
      } catch {
        return false;
      }
    })
    .map(Number);

describe('the local minion under kill -9', () => {
  it('is restarted, its orphans are replaced once, and exactly numprocesses run', async () => {
    const port = await freePort();
    let server = await startCorral({ args: ['--port', String(port)], config });
    const { url, token, dataDir } = server;
    const before = (await waitRunning(url, token, 'acme', 'web', 3)).map((p) => p.pid!);
    const first = minionPid(dataDir)!;

    const killedAt = Date.now();
    process.kill(first, 'SIGKILL');
    const second = await waitFor(() => {
      const pid = minionPid(dataDir);
      return pid !== null && pid !== first && pidAlive(pid) ? pid : null;
    }, { timeoutMs: 10_000, description: 'a new local minion' });
    const restartedMs = Date.now() - killedAt;
    const after = await waitFor(
      async () => {
        const running = await waitRunning(url, token, 'acme', 'web', 3, 5_000).catch(() => null);
        return running && running.every((p) => !before.includes(p.pid!) && pidAlive(p.pid)) ? running : null;
      },
      { timeoutMs: 30_000, description: 'three new processes under the new minion' },
    );
    for (const pid of before) expect(pidAlive(pid), `the orphan ${pid} was stopped`).toBe(false);
    expect(osProcesses().sort()).toEqual(after.map((p) => p.pid).sort());
    console.log(`local minion restarted ${restartedMs} ms after kill -9 (pid ${first} -> ${second})`);

    // a process that dies now is replaced
    process.kill(after[0]!.pid!, 'SIGKILL');
    await waitFor(
      async () => {
        const running = await waitRunning(url, token, 'acme', 'web', 3, 5_000).catch(() => null);
        return running?.every((p) => p.pid !== after[0]!.pid) ? running : null;
      },
      { timeoutMs: 30_000, description: 'the killed process to be replaced' },
    );
    expect(osProcesses()).toHaveLength(3);

    // server and minion both killed: the next start adds no duplicates
    await server.kill();
    process.kill(minionPid(dataDir)!, 'SIGKILL');
    server = await startCorral({ args: ['--port', String(port)], dataDir, config });
    await waitFor(
      async () => {
        const running = await waitRunning(url, token, 'acme', 'web', 3, 5_000).catch(() => null);
        return running && running.every((p) => pidAlive(p.pid)) && osProcesses().length === 3 ? running : null;
      },
      { timeoutMs: 30_000, description: 'exactly three processes after the restart' },
    );
  }, 180_000);
});

describe('a remote minion that dies', () => {
  it('leaves its processes shown as unknown (not running with a dead pid) until it is back and reconciled', async () => {
    const server = await startCorral({ localMinion: false, config: { tenants: { acme: { watchers: { edge: { cmd: 'sleep', args: ['4602.5'], minion: 'edge9' } } } } } });
    const { url, token } = server;
    let minion = startRemoteMinion(server, 'edge9', {});
    const [before] = await waitRunning(url, token, 'acme', 'edge', 1);
    await minion.kill('SIGKILL');
    const shown = await waitFor(
      async () => {
        const [process] = (await httpJson(`${url}/api/v1/tenants/acme/processes`, { token })).body.items as { state: string; pid: number; minion: string }[];
        return process?.state === 'unknown' ? process : null;
      },
      { timeoutMs: 20_000, description: 'the process of the dead minion to show as unknown' },
    );
    expect(shown).toMatchObject({ state: 'unknown', minion: 'edge9', pid: before!.pid });
    minion = startRemoteMinion(server, 'edge9', {});
    await waitFor(
      async () => {
        const running = await waitRunning(url, token, 'acme', 'edge', 1, 5_000).catch(() => null);
        return running?.[0]?.pid !== before!.pid && pidAlive(running?.[0]?.pid) ? running : null;
      },
      { timeoutMs: 30_000, description: 'the slot running again under the new minion' },
    );
    expect(pidAlive(before!.pid)).toBe(false);
    await minion.kill();
  }, 120_000);
});
