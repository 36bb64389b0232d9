// Issue 4 must-shows on a real server with its local minion and real OS processes:
// restart after SIGKILL, fatal after maxRetries with growing delays, stop leaves nothing,
// reload never leaves a slot without a ready process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, pidAlive, pidsRunning, processes, startCorral, waitRunning } from './support.js';

const RESTART_DELAY_MS = 700;
const config = {
  tenants: {
    acme: {
      watchers: {
        sleeper: { cmd: 'sleep', args: ['300'], numprocesses: 3, restart: { delayMs: RESTART_DELAY_MS, minAliveMs: 200, maxRetries: 3 } },
        crasher: { cmd: 'sh', args: ['-c', 'exit 3'], numprocesses: 1, restart: { delayMs: 100, minAliveMs: 5000, maxRetries: 3 } },
        stopper: { cmd: 'sleep', args: ['302'], numprocesses: 2, stopSignal: 'SIGTERM', stopWaitMs: 2000 },
        roller: { cmd: 'sleep', args: ['301'], numprocesses: 2, ready: { kind: 'delay', delayMs: 300 } },
      },
    },
  },
};

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({ config });
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('managed processes (real minion, real OS processes)', () => {
  it('runs three sleep processes and restarts a SIGKILLed one after restart.delayMs, recording exit then spawn', async () => {
    const before = await waitRunning(server, 'acme', 'sleeper', 3);
    expect(new Set(before.map((p) => p.pid)).size).toBe(3);
    expect(pidsRunning(['sleep', '300'])).toEqual(expect.arrayContaining(before.map((p) => p.pid!)));

    const victim = before[1]!;
    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const slot = (await processes(server, 'acme', 'sleeper'))[1]!;
        return slot.state === 'running' && slot.pid !== victim.pid && pidAlive(slot.pid) ? slot : null;
      },
      { timeoutMs: 20_000, description: 'slot 1 to get a new pid' },
    );
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(RESTART_DELAY_MS);
    expect(pidAlive(victim.pid)).toBe(false);
    // the other slots were not touched
    const now = await processes(server, 'acme', 'sleeper');
    expect(now[0]!.pid).toBe(before[0]!.pid);
    expect(now[2]!.pid).toBe(before[2]!.pid);

    const events = await history(server, 'acme', 'processes.*.acme:sleeper:1');
    const actions = events.map((e) => e.action).filter((a) => a !== 'stats');
    const exit = events.findIndex((e) => e.action === 'exit' && e.data.pid === victim.pid);
    const spawn = events.findIndex((e) => e.action === 'spawn' && e.data.pid === after.pid);
    expect(exit, actions.join(',')).toBeGreaterThan(-1);
    expect(spawn).toBeGreaterThan(exit);
    expect(events[exit]!.data.signal).toBe('SIGKILL');
    // the restart was scheduled with the configured delay, and spawned no earlier
    const backoff = events.slice(exit).find((e) => e.action === 'backoff');
    expect(backoff?.data.delayMs).toBe(RESTART_DELAY_MS);
    expect(Date.parse(events[spawn]!.time) - Date.parse(events[exit]!.time)).toBeGreaterThanOrEqual(RESTART_DELAY_MS - 50);
  }, 60_000);

  it('exports live CPU and RSS per slot to Prometheus', async () => {
    const running = await waitRunning(server, 'acme', 'sleeper', 3);
    const metrics = await waitFor(
      async () => {
        const response = await api(server).get('/metrics');
        const text = String(response.text);
        return running.every((p) => new RegExp(`corral_process_rss_bytes\\{tenant="acme",watcher="sleeper",slot="${p.slot}"\\} [1-9]`).test(text)) ? text : null;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'RSS samples of every sleeper slot in /metrics' },
    );
    expect(metrics).toMatch(/corral_process_cpu_percent\{tenant="acme",watcher="sleeper",slot="0"\} \d/);
    expect(metrics).toMatch(/corral_actor_runtime_leader 1/);
    expect(metrics).toMatch(/corral_minion_connections 1/);
    expect((await api(server).post('/api/v1/tenants/acme/processes/sleeper:0/kill', { signal: 'SIGNOPE' })).status).toBe(400);
    expect(String((await api(server).get('/metrics')).text)).toMatch(/corral_commands_total\{command="processes.kill",outcome="bad-request"\} 1/);
  }, 60_000);

  it('a command that exits at once backs off with growing delays and ends fatal after maxRetries', async () => {
    const slot = await waitFor(
      async () => {
        const [p] = await processes(server, 'acme', 'crasher');
        return p?.state === 'fatal' ? p : null;
      },
      { timeoutMs: 30_000, description: 'crasher to be fatal' },
    );
    expect(slot.pid === null || !pidAlive(slot.pid)).toBe(true);
    const events = await history(server, 'acme', 'processes.*.acme:crasher:0');
    const delays = events.filter((e) => e.action === 'backoff').map((e) => e.data.delayMs as number);
    expect(delays.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);
    const exits = events.filter((e) => e.action === 'exit');
    expect(exits.every((e) => e.data.code === 3)).toBe(true);
    const fatal = events.filter((e) => e.action === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.data.retries).toBeGreaterThanOrEqual(3);
    // nothing after fatal: the slot stays down
    expect(events[events.length - 1]!.action).toBe('fatal');
  }, 60_000);

  it('stop leaves no process behind (checked in /proc)', async () => {
    const running = await waitRunning(server, 'acme', 'stopper', 2);
    const pids = running.map((p) => p.pid!);
    expect(pidsRunning(['sleep', '302'])).toEqual(pids.sort((a, b) => a - b));
    const response = await api(server).post('/api/v1/tenants/acme/watchers/stopper/stop');
    expect(response.status).toBe(200);
    await waitFor(
      async () => (await processes(server, 'acme', 'stopper')).every((p) => p.state === 'stopped'),
      { timeoutMs: 20_000, description: 'stopper slots stopped' },
    );
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    expect(pidsRunning(['sleep', '302'])).toEqual([]);
    const watcher = await api(server).get('/api/v1/tenants/acme/watchers/stopper');
    expect((watcher.body as { active: boolean }).active).toBe(false);
  }, 60_000);

  it('reload replaces slots one at a time and never leaves a slot without a ready process', async () => {
    const before = await waitRunning(server, 'acme', 'roller', 2);
    const oldPids = before.map((p) => p.pid!);
    let sampling = true;
    let samples = 0;
    const violations: string[] = [];
    const sampler = (async () => {
      while (sampling) {
        const list = await processes(server, 'acme', 'roller');
        for (const p of list) {
          if (p.ready && pidAlive(p.pid)) continue;
          // The view was read before /proc: a handover in between (new process ready, old one
          // stopped) makes a read pid look dead. Re-read: the slot must show a live ready process now.
          const now = (await processes(server, 'acme', 'roller')).find((q) => q.slot === p.slot);
          if (!(now?.ready && pidAlive(now.pid))) violations.push(`slot ${p.slot}: state ${now?.state} ready ${now?.ready} pid ${now?.pid} alive ${pidAlive(now?.pid)}`);
        }
        if (pidsRunning(['sleep', '301']).length < 2) violations.push('fewer than 2 live processes in /proc');
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    const response = await api(server).post('/api/v1/tenants/acme/watchers/roller/reload');
    expect(response.status).toBe(200);
    const after = await waitFor(
      async () => {
        const list = await processes(server, 'acme', 'roller');
        return list.length === 2 && list.every((p) => !oldPids.includes(p.pid!) && p.ready && pidAlive(p.pid)) ? list : null;
      },
      { timeoutMs: 30_000, description: 'both slots replaced' },
    );
    await waitFor(() => oldPids.every((pid) => !pidAlive(pid)), { timeoutMs: 10_000, description: 'old processes gone' });
    sampling = false;
    await sampler;
    expect(violations).toEqual([]);
    expect(samples).toBeGreaterThan(5);
    expect(after.map((p) => p.pid)).not.toEqual(oldPids);
    // event order per slot: the replacement is ready (handover) before the old one is signalled
    for (const slot of [0, 1]) {
      const events = await history(server, 'acme', `processes.*.acme:roller:${slot}`);
      const handover = events.findIndex((e) => e.action === 'handover');
      const oldKilled = events.findIndex((e) => e.action === 'kill' && e.data.pid === oldPids[slot]);
      expect(handover).toBeGreaterThan(-1);
      expect(oldKilled).toBeGreaterThan(handover);
    }
    // one slot at a time: slot 1's replacement started after slot 0's handover
    const all = await history(server, 'acme', 'processes.*.acme:roller:0,acme:roller:1');
    const handover0 = all.find((e) => e.key === 'acme:roller:0' && e.action === 'handover')!;
    const start1 = all.find((e) => e.key === 'acme:roller:1' && e.action === 'start' && e.data.replaces)!;
    expect(start1.position).toBeGreaterThan(handover0.position);
  }, 90_000);
});
