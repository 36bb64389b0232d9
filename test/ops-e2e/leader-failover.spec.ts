// Issue 7 must-show: SIGKILL of the leader of two nodes. The follower takes the lease within
// the lease TTL and the actors continue where the dead leader left them: a crash-looping
// watcher keeps its retry count (it reaches `fatal` after exactly maxRetries), and the
// restart delay that was pending at the moment of the crash fires once (one start, not
// early, not twice). The local minion and its processes survive the crash (same pids).
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, waitFor } from '../support/index.js';
import { adminToken, cleanupCorral, freePort, pidAlive, processes, startCorral, waitRunning } from './support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

const LEASE_TTL_MS = 3000;
// Delays double per retry (1, 2, 4, 8 s): the crash comes in the third backoff, whose
// 4 s delay outlasts the lease TTL, so the restart is due only after the follower leads.
const RESTART_DELAY_MS = 1000;
const MAX_RETRIES = 4;
const CRASH_AT_RETRY = 3;

interface HistoryEvent {
  position: number;
  action: string;
  key: string;
  time: string;
  data: Record<string, unknown>;
  meta?: { node?: string };
}

async function processHistory(url: string, token: string, key: string): Promise<HistoryEvent[]> {
  const response = await httpJson(`${url}/api/v1/tenants/acme/events?select=${encodeURIComponent(`processes.*.${key}`)}&limit=10000`, { token });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${response.text}`);
  return (response.body as { events: HistoryEvent[] }).events.filter((event) => event.action !== 'stats');
}

describe('leader failover (docs/architecture.md "Actors and leadership")', () => {
  it('SIGKILL of the leader: the follower leads within the TTL, a crash loop keeps its retry count and a pending restart fires once', async () => {
    const port = await freePort();
    const env = { CORRAL_LEASE_TTL_MS: String(LEASE_TTL_MS) };
    const config = {
      tenants: {
        acme: {
          watchers: {
            // exits after 0.3 s: every run is short-lived, so each exit counts toward maxRetries
            crashy: { cmd: 'sh', args: ['-c', 'sleep 0.3; exit 3'], restart: { delayMs: RESTART_DELAY_MS, minAliveMs: 10_000, maxRetries: MAX_RETRIES } },
            steady: { cmd: 'sleep', args: ['600'], numprocesses: 2 },
          },
        },
      },
    };
    const leader = await startCorral({ config, env, args: ['--port', String(port)] });
    const follower = await startCorral({ config, env, dataDir: leader.dataDir, localMinion: false, args: ['--port', String(port)] });
    const url = leader.url;
    const token = adminToken(leader.dataDir);
    const steady = await waitRunning(url, token, 'acme', 'steady', 2);

    const leaderOf = async (): Promise<number | null> => {
      const response = await httpJson(`${url}/api/v1/components`, { token });
      const items = (response.body as { items: { kind: string; pid: number; leader: boolean; state: string }[] }).items;
      return items.find((component) => component.kind === 'server' && component.leader && component.state !== 'stopped')?.pid ?? null;
    };
    await waitFor(async () => (await leaderOf()) === leader.pid, { description: 'the first server to lead' });

    // Crash the leader while crashy waits out a restart delay.
    const pending = await waitFor(
      async () => {
        const events = await processHistory(url, token, 'acme:crashy:0');
        const last = events[events.length - 1];
        return last?.action === 'backoff' && last.data.retries === CRASH_AT_RETRY ? last : null;
      },
      { timeoutMs: 30_000, intervalMs: 20, description: `crashy in backoff ${CRASH_AT_RETRY}` },
    );
    const restartAt = pending.data.restartAt as number;
    const killedAt = Date.now();
    expect((await leader.kill()).signal).toBe('SIGKILL');

    await waitFor(async () => (await leaderOf()) === follower.pid, { timeoutMs: LEASE_TTL_MS * 3, intervalMs: 20, description: 'the follower to take the lease' });
    const takeoverMs = Date.now() - killedAt;
    console.log(`leader ${leader.pid} SIGKILLed; follower ${follower.pid} leads after ${takeoverMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);
    // The lease was last renewed at most TTL before the kill; allow the polling and one renewal period.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + LEASE_TTL_MS / 3 + 500);

    // The crash loop runs to its end under the new leader.
    const fatal = await waitFor(
      async () => {
        const [slot] = await processes(url, token, 'acme', 'crashy');
        return slot?.state === 'fatal' ? slot : null;
      },
      { timeoutMs: 60_000, description: 'crashy to become fatal' },
    ).catch(async (error: Error) => {
      const history = await processHistory(url, token, 'acme:crashy:0');
      const lines = history.map((event) => `${event.position} ${event.time} ${event.action} ${JSON.stringify(event.data)} ${event.meta?.node ?? ''}`);
      throw new Error(`${error.message}\ncrashy's history:\n${lines.join('\n')}\n--- follower log ---\n${follower.logs().slice(-6000)}`);
    });
    const events = await processHistory(url, token, 'acme:crashy:0');
    const backoffs = events.filter((event) => event.action === 'backoff').map((event) => event.data.retries);
    // no reset of the count at the failover, no retry counted twice
    expect(backoffs).toEqual(Array.from({ length: MAX_RETRIES }, (_, i) => i + 1));
    const fatalEvent = events.find((event) => event.action === 'fatal')!;
    expect(fatalEvent.data.retries).toBe(MAX_RETRIES + 1);
    expect(fatal.restarts).toBeGreaterThanOrEqual(MAX_RETRIES);

    // The pending restart fired once: exactly one start between that backoff and the next exit, not before it was due.
    const afterPending = events.filter((event) => event.position > pending.position);
    const nextExit = afterPending.findIndex((event) => event.action === 'exit');
    const starts = afterPending.slice(0, nextExit).filter((event) => event.action === 'start');
    expect(starts).toHaveLength(1);
    expect(Date.parse(starts[0]!.time)).toBeGreaterThanOrEqual(restartAt - 50);
    expect(restartAt).toBeGreaterThan(killedAt + takeoverMs - 1000); // it really was pending across the failover
    expect(starts[0]!.meta?.node ?? '').toContain(String(follower.pid));
    // every start follows exactly one backoff (no duplicated timers anywhere in the loop)
    const startsTotal = events.filter((event) => event.action === 'start').length;
    expect(startsTotal).toBe(MAX_RETRIES + 1);

    // The local minion survived the crash: steady's processes kept their pids and were not restarted.
    const after = await processes(url, token, 'acme', 'steady');
    expect(after.map((p) => [p.pid, p.restarts, p.state])).toEqual(steady.map((p) => [p.pid, p.restarts, 'running']));
    for (const p of after) expect(pidAlive(p.pid)).toBe(true);
    // and the new leader takes commands
    const restarted = await httpJson(`${url}/api/v1/tenants/acme/watchers/crashy/restart`, { token, method: 'POST', body: {} });
    expect(restarted.status, restarted.text).toBeLessThan(300);
    await waitFor(async () => (await processHistory(url, token, 'acme:crashy:0')).filter((event) => event.action === 'start').length > MAX_RETRIES + 1, {
      timeoutMs: 20_000,
      description: 'crashy restarted by the new leader',
    });

    // A rolling restart of the survivor works though server.json still names the dead leader.
    const restart = await runCorral(['ctl', '--data-dir', leader.dataDir, 'restart', '--rolling'], { timeoutMs: 120_000 });
    expect(restart.code, restart.stderr).toBe(0);
    expect((JSON.parse(restart.stdout) as { old: { pid: number } }).old.pid).toBe(follower.pid);
    expect((await follower.exited).code).toBe(0);
    const afterRestart = await processes(url, token, 'acme', 'steady');
    expect(afterRestart.map((p) => p.pid)).toEqual(steady.map((p) => p.pid));
  }, 180_000);
});
