// Helpers for the supervision and jobs end-to-end suites: real `corral serve` processes with
// their local minion, real managed OS processes checked in /proc.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { httpJson, startServerProcess, waitFor, type ServerProcess, type ServerProcessOptions } from '../support/index.js';
import { listProcesses, pidAlive, type ProcessObject } from '../support/index.js';

export { pidAlive };

export type { ProcessObject };

export interface HistoryEvent {
  position: number;
  type: string;
  action: string;
  key: string;
  time: string;
  data: Record<string, unknown>;
}

const dataDirs = new Set<string>();

/** A server with its local minion; a short lease so a restart after a crash leads quickly. */
export async function startCorral(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const server = await startServerProcess({
    localMinion: true,
    readyTimeoutMs: 40_000,
    ...options,
    env: { CORRAL_LEASE_TTL_MS: '3000', ...options.env },
  });
  dataDirs.add(server.dataDir);
  return server;
}

/** Pids of live processes whose command line is exactly `argv`. */
export function pidsRunning(argv: string[]): number[] {
  const wanted = argv.join('\0');
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0$/, '');
      if (cmdline === wanted && pidAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found.sort((a, b) => a - b);
}

export function api(server: { url: string; token: string }) {
  return {
    get: (path: string) => httpJson(`${server.url}${path}`, { token: server.token }),
    post: (path: string, body?: unknown, headers?: Record<string, string>) =>
      httpJson(`${server.url}${path}`, { method: 'POST', token: server.token, body: body ?? {}, ...(headers ? { headers } : {}) }),
    send: (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      httpJson(`${server.url}${path}`, { method, token: server.token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) }),
  };
}

export const processes = (server: ServerProcess, tenant: string, watcher: string): Promise<ProcessObject[]> => listProcesses(server.url, server.token, tenant, watcher);

/** Waits until the watcher has `count` running, ready processes whose pids are alive; returns them. */
export function waitRunning(server: ServerProcess, tenant: string, watcher: string, count: number, timeoutMs = 30_000): Promise<ProcessObject[]> {
  return waitFor(
    async () => {
      const list = await processes(server, tenant, watcher);
      return list.length === count && list.every((p) => p.state === 'running' && p.ready && pidAlive(p.pid)) ? list : null;
    },
    { timeoutMs, description: `${count} running processes of ${tenant}:${watcher}` },
  );
}

/** Every stored event of one tenant selected by `select`, in position order. */
export async function history(server: ServerProcess, tenant: string, select: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let from = 0;
  for (;;) {
    const response = await api(server).get(`/api/v1/tenants/${tenant}/events?select=${encodeURIComponent(select)}&from=${from}&limit=10000`);
    if (response.status !== 200) throw new Error(`events: ${response.status} ${response.text}`);
    const page = response.body as { events: HistoryEvent[]; next: number | null };
    events.push(...page.events);
    if (page.next === null) return events;
    from = page.next;
  }
}

/** Stops what a test left behind: servers, then local minions (and their processes) by pid file. */
export async function cleanupCorral(servers: ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  for (const dir of dataDirs) {
    const file = join(dir, 'minion.pid');
    if (!existsSync(file)) continue;
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    if (!pidAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !pidAlive(pid), { timeoutMs: 20_000, description: `local minion ${pid} to exit` }).catch(() => process.kill(pid, 'SIGKILL'));
  }
  dataDirs.clear();
}
