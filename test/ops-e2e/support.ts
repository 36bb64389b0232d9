// Helpers for the operations end-to-end suites: real `corral serve` processes (and the
// successors they start), streaming websocket clients in a separate process, HTTP probes
// that record every failed request, and digests of what the store holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { httpJson, waitFor, startServerProcess, type ServerProcess, type ServerProcessOptions } from '../support/index.js';
import { freePort, listProcesses, pidAlive, type ProcessObject } from '../support/index.js';

export { freePort, pidAlive };

/** Scale of the load (1 = the must-show size); `CORRAL_OPS_E2E_SCALE=0.2` for a small machine. */
export const LOAD_SCALE = Math.min(1, Math.max(0.05, Number(process.env.CORRAL_OPS_E2E_SCALE ?? '1') || 1));

/** A managed process printing `seq <n>` lines at `perSecond` (in bursts every 20 ms). */
export const tickerScript = (perSecond: number): string => `
let n = 0; const started = Date.now();
setInterval(() => {
  const due = Math.floor((Date.now() - started) * ${perSecond} / 1000);
  let chunk = '';
  while (n < due) chunk += 'seq ' + (++n) + '\\n';
  if (chunk) process.stdout.write(chunk);
}, 20);`;

export const mix = (x: number): number => {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
};

export type { ProcessObject };

const started: { servers: ServerProcess[]; dataDirs: Set<string> } = { servers: [], dataDirs: new Set() };

export async function startCorral(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ localMinion: true, readyTimeoutMs: 60_000, ...options });
  started.servers.push(server);
  started.dataDirs.add(server.dataDir);
  return server;
}

/** The pid server.json names now (after a rolling restart: the successor). */
export function serverPid(dataDir: string): number | null {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
}

export const adminToken = (dataDir: string): string => readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();

export function api(url: string, token: string) {
  return {
    get: (path: string) => httpJson(`${url}${path}`, { token }),
    post: (path: string, body?: unknown) => httpJson(`${url}${path}`, { method: 'POST', token, body: body ?? {} }),
  };
}

export const processes = listProcesses;

export function waitRunning(url: string, token: string, tenant: string, watcher: string, count: number, timeoutMs = 60_000): Promise<ProcessObject[]> {
  return waitFor(
    async () => {
      const list = await processes(url, token, tenant, watcher);
      return list.length === count && list.every((p) => p.state === 'running' && pidAlive(p.pid)) ? list : null;
    },
    { timeoutMs, description: `${count} running processes of ${tenant}:${watcher}` },
  );
}

/** The head of the log as the event history endpoint reports it. */
export async function head(url: string, token: string, tenant: string): Promise<number> {
  const response = await api(url, token).get(`/api/v1/tenants/${tenant}/events?limit=1&from=0`);
  if (response.status !== 200) throw new Error(`events: ${response.status} ${response.text}`);
  return (response.body as { head: number }).head;
}

export interface Digest {
  count: number;
  sum: number;
  hash: number;
}

/** Positions of every stored event `select` matches in (from, to], with the `line` of log events. */
export async function storedEvents(url: string, token: string, tenant: string, select: string, from: number, to: number): Promise<{ position: number; key: string; line?: string }[]> {
  const out: { position: number; key: string; line?: string }[] = [];
  let after = from;
  for (;;) {
    const response = await api(url, token).get(`/api/v1/tenants/${tenant}/events?select=${encodeURIComponent(select)}&from=${after}&limit=10000`);
    if (response.status !== 200) throw new Error(`events: ${response.status} ${response.text}`);
    const page = response.body as { events: { position: number; key: string; data: { line?: string } }[]; next: number | null };
    for (const event of page.events) {
      if (event.position > to) return out;
      out.push({ position: event.position, key: event.key, ...(typeof event.data?.line === 'string' ? { line: event.data.line } : {}) });
    }
    if (page.next === null) return out;
    after = page.next;
  }
}

export function digestOf(positions: number[]): Digest {
  let sum = 0;
  let hash = 0;
  for (const position of positions) {
    sum += position;
    hash = (hash + mix(position)) >>> 0;
  }
  return { count: positions.length, sum, hash };
}

/**
 * Per process key, the `seq <n>` numbers its stored lines carry: a managed process that was
 * never restarted counts up by one; a gap is a lost line, a repeat a line stored twice.
 */
export function seqAnomalies(events: { key: string; line?: string }[]): { keys: number; gaps: string[]; repeats: string[] } {
  const last = new Map<string, number>();
  const gaps: string[] = [];
  const repeats: string[] = [];
  for (const event of events) {
    const match = /^seq (\d+)$/.exec(event.line ?? '');
    if (!match) continue;
    const n = Number(match[1]);
    const previous = last.get(event.key);
    if (previous !== undefined) {
      if (n <= previous) repeats.push(`${event.key}: ${n} after ${previous}`);
      else if (n !== previous + 1) gaps.push(`${event.key}: ${previous} -> ${n}`);
    }
    last.set(event.key, Math.max(n, previous ?? 0));
  }
  return { keys: last.size, gaps, repeats };
}

export interface ClientReport {
  last: number;
  count: number;
  sum: number;
  hash: number;
  violations: string[];
  violationCount: number;
  errors: string[];
  socketErrors: number;
  closes: Record<string, number>;
  subscriptions: number;
  lagged: number;
}

/** N streaming clients in a child process (test/ops-e2e/stream-clients.mjs). */
export class StreamClients {
  private readonly lines: string[] = [];
  private readonly waiters: ((line: string) => boolean)[] = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]!(line)) this.waiters.splice(i, 1);
    });
  }

  static async start(options: { url: string; token: string; count: number; select: string; from: number; timeoutMs?: number }): Promise<StreamClients> {
    const wsUrl = `${options.url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(options.token)}`;
    const script = fileURLToPath(new URL('./stream-clients.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, wsUrl, String(options.count), options.select, String(options.from)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const clients = new StreamClients(child);
    await clients.next((line) => line === 'ready', options.timeoutMs ?? 60_000, `${options.count} clients subscribed`);
    return clients;
  }

  private next(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stream clients: timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`stream clients exited (${code}) while waiting for ${what}`));
      this.child.once('exit', onExit);
      this.waiters.push((line) => {
        if (!match(line)) return false;
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(line);
        return true;
      });
    });
  }

  async reach(position: number, timeoutMs = 60_000): Promise<void> {
    this.child.stdin!.write(`target ${position}\n`);
    await this.next((line) => line === `reached ${position}`, timeoutMs, `every client at position ${position}`);
  }

  /** digests of what each client received up to `upTo` */
  async report(upTo: number): Promise<ClientReport[]> {
    const before = this.lines.length;
    this.child.stdin!.write(`report ${upTo}\n`);
    const line = await this.next((candidate) => candidate.startsWith('report ') && this.lines.indexOf(candidate) >= before, 20_000, 'the clients report');
    return JSON.parse(line.slice('report '.length)) as ClientReport[];
  }

  exit(): void {
    if (this.child.exitCode === null) this.child.stdin!.write('exit\n');
  }
}

export interface ProbeResult {
  ok: number;
  failed: number;
  failures: string[];
}

/**
 * Sends GET `path` (or POST `body` as JSON) back to back (one in flight, `intervalMs` apart)
 * until stopped, either on a fresh connection each time or over one kept-alive connection
 * pool, and records every request that did not get a 2xx.
 */
export class HttpProbe {
  readonly result: ProbeResult = { ok: 0, failed: 0, failures: [] };
  private running = true;
  private readonly done: Promise<void>;
  private readonly agent: Agent | false;

  constructor(private readonly options: { url: string; token: string; path: string; keepAlive: boolean; intervalMs: number; body?: unknown }) {
    this.agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const outcome = await this.once();
      if (outcome === true) this.result.ok++;
      else {
        this.result.failed++;
        if (this.result.failures.length < 20) this.result.failures.push(`${new Date().toISOString()} ${outcome}`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs));
    }
  }

  private once(): Promise<true | string> {
    return new Promise((resolve) => {
      const target = new URL(this.options.path, this.options.url);
      const body = this.options.body === undefined ? undefined : JSON.stringify(this.options.body);
      const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const req = request(
        target,
        { agent: this.agent, method: body === undefined ? 'GET' : 'POST', headers, timeout: 10_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(res.statusCode! >= 200 && res.statusCode! < 300 ? true : `${res.statusCode} ${body.slice(0, 160)}`));
          res.on('error', (error) => resolve(`response error ${error.message}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(`request error ${error.code ?? ''} ${error.message}`));
      req.end(body);
    });
  }

  async stop(): Promise<ProbeResult> {
    this.running = false;
    await this.done;
    if (this.agent) this.agent.destroy();
    return this.result;
  }
}

/** Stops every server still running on the data directories of this file (successors too), then their local minions. */
export async function cleanupCorral(): Promise<void> {
  await Promise.all(started.servers.map((server) => server.stop().catch(() => undefined)));
  for (const dir of started.dataDirs) {
    const pids = new Set<number>();
    const named = serverPid(dir);
    if (named) pids.add(named);
    try {
      for (const name of readdirSync(join(dir, 'nodes'))) {
        const match = /^(\d+)\.json$/.exec(name);
        if (match) pids.add(Number(match[1]));
      }
    } catch {
      // no nodes/ directory
    }
    for (const pid of pids) {
      if (!pidAlive(pid)) continue;
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !pidAlive(pid), { timeoutMs: 20_000, description: `server ${pid} to exit` }).catch(() => process.kill(pid, 'SIGKILL'));
    }
    const minionFile = join(dir, 'minion.pid');
    if (existsSync(minionFile)) {
      const { pid } = JSON.parse(readFileSync(minionFile, 'utf8')) as { pid: number };
      if (pidAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !pidAlive(pid), { timeoutMs: 20_000, description: `local minion ${pid} to exit` }).catch(() => process.kill(pid, 'SIGKILL'));
      }
    }
  }
  started.servers.length = 0;
  started.dataDirs.clear();
}
