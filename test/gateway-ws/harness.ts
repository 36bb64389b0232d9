import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import WebSocket from 'ws';
import { unpack } from 'msgpackr';
import { openMemoryStore, openStore, type EventStore, type EventToAppend } from '../../store/index.js';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/index.js';
import { Authenticator, Gateway, TokenService, hashPassword, type TenantRoles } from '../../gateway/index.js';
import { registerWebsocketProtocols, type CommandTable, type WebsocketProtocols, type WsLimits } from '../../gateway/ws/index.js';
import { makeTempDir } from '../support/index.js';

export interface Harness {
  store: EventStore;
  engine: ProjectionEngine;
  gateway: Gateway;
  protocols: WebsocketProtocols;
  port: number;
  url: string;
  wsUrl: string;
  token(tenants: TenantRoles, subject?: string, ttlMs?: number): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: 'memory' | 'embedded';
  limits?: Partial<WsLimits>;
  commands?: CommandTable;
  modelApi$?: { subscribe(next: (system: number) => void): { unsubscribe(): void } };
}

/** Password users for `?token=user:password` (Digital Rebar) and Basic auth. */
export const USERS = { alice: { password: 'alice-pw', tenants: { acme: 'read' } as TenantRoles }, root: { password: 'root-pw', tenants: { '*': 'admin' } as TenantRoles } };

/** A real gateway in this process: uWS on port 0, a real store and a real projection engine. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const store =
    options.store === 'embedded' ? await openStore({ kind: 'embedded', dataDir: makeTempDir('corral-ws-') }) : openMemoryStore();
  const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
  await engine.start();
  const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
  const users = await Promise.all(
    Object.entries(USERS).map(async ([name, user]) => ({ name, passwordHash: await hashPassword(user.password), tenants: user.tenants })),
  );
  const authenticator = new Authenticator({ mode: 'tokens', tokens, users });
  const gateway = new Gateway({ authenticator, logger: pino({ level: 'silent' }), version: 'test', componentState: () => 'running' });
  const protocols = registerWebsocketProtocols(gateway, { engine, commands: options.commands, limits: options.limits, modelApi$: options.modelApi$ });
  const port = await gateway.listen('127.0.0.1', 0);
  return {
    store,
    engine,
    gateway,
    protocols,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    token: async (tenants, subject = 'tester', ttlMs = 3_600_000) => (await tokens.issue({ subject, tenants, ttlMs })).token,
    async close() {
      protocols.stop(1001);
      gateway.stopListening();
      await engine.stop();
      await store.close();
    },
  };
}

/** A websocket client that records every message and lets tests wait for conditions. */
export class TestClient {
  readonly messages: unknown[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    readonly binary: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push(isBinary ? unpack(data) : parseText(data.toString('utf8')));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async open(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, maxPayload: 256 * 1024 * 1024 });
    const client = new TestClient(ws, (options.protocols ?? []).includes('corral.v1.msgpack'));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    if (typeof message === 'string') this.ws.send(message);
    else this.ws.send(JSON.stringify(message));
  }

  /** Waits until `predicate` holds for the recorded messages (or the socket closes, which fails). */
  async until<T>(predicate: (messages: unknown[]) => T | undefined | false, timeoutMs = 20_000, what = 'a message'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = predicate(this.messages);
      if (result) return result;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; got ${JSON.stringify(this.messages.slice(-3)).slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last messages ${JSON.stringify(this.messages.slice(-3)).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first message with these fields. */
  find(fields: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.until(
      (messages) => messages.find((m) => isObject(m) && Object.entries(fields).every(([k, v]) => m[k] === v)) as Record<string, unknown> | undefined,
      timeoutMs,
      JSON.stringify(fields),
    );
  }

  /** Event messages (array frames flattened) of one subscription. */
  events(sub?: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const message of this.messages) {
      for (const item of Array.isArray(message) ? message : [message]) {
        if (isObject(item) && item.op === 'event' && (sub === undefined || item.sub === sub)) out.push(item);
      }
    }
    return out;
  }

  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, timeoutMs, 'close');
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `n` log lines of one process (cheap events with no view: the bulk of a stream). */
export function logLines(tenant: string, watcher: string, slot: number, n: number, start = 0): { stream: string; events: EventToAppend[] } {
  const events: EventToAppend[] = [];
  for (let i = 0; i < n; i++) {
    events.push({ type: 'logs', action: 'line', key: `${tenant}:${watcher}:${slot}`, tenant, data: { pid: 100, fd: 'stdout', line: `line ${start + i}` } });
  }
  return { stream: `log-${tenant}:${watcher}:${slot}`, events };
}

export async function appendLogs(store: EventStore, tenant: string, n: number, perAppend = 100): Promise<number> {
  let last = 0;
  for (let done = 0; done < n; done += perAppend) {
    const batch = logLines(tenant, 'web', 0, Math.min(perAppend, n - done), done);
    const result = await store.append(batch.stream, batch.events);
    last = result.positions[result.positions.length - 1]!;
  }
  return last;
}

export async function waitForEngine(engine: ProjectionEngine, position: number, timeoutMs = 20_000): Promise<void> {
  if (!(await engine.reached(position, timeoutMs))) throw new Error(`engine did not reach ${position} (at ${engine.position})`);
}
