import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore, type EventStore, type EventToAppend } from '../../store/index.js';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/index.js';
import { Authenticator, Gateway, TokenService, hashPassword, registerConsoleRoutes, registerReadRoutes, type TenantRoles } from '../../gateway/index.js';
import { registerWebsocketProtocols, type WebsocketProtocols } from '../../gateway/ws/index.js';
import { makeTempDir, REPO_ROOT } from '../support/index.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * An in-process node for console tests that need exact, scripted history rather than live
 * OS processes: a real embedded store, projection engine, read routes, native websocket
 * and the console's static route. Events are appended straight to the store (as the actor
 * runtime would), so what the console shows can be checked against known positions.
 * `restart()` stops the gateway and starts a new one on the same port and store: a server
 * restart as the browser sees it.
 */
export interface ConsoleHarness {
  url: string;
  port: number;
  store: EventStore;
  engine: ProjectionEngine;
  token(tenants: TenantRoles, subject?: string): Promise<string>;
  append(stream: string, events: EventToAppend[]): Promise<number>;
  /** closes websockets with 1012 and every connection, waits `downMs`, serves again at the same URL */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export const CONSOLE_USER = { name: 'viewer', password: 'viewer-pw', tenants: { acme: 'read' } as TenantRoles };

export async function startConsoleHarness(): Promise<ConsoleHarness> {
  const store = await openStore({ kind: 'embedded', dataDir: makeTempDir('corral-console-') });
  const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
  await engine.start();
  const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
  const authenticator = new Authenticator({
    mode: 'tokens',
    tokens,
    users: [{ name: CONSOLE_USER.name, passwordHash: await hashPassword(CONSOLE_USER.password), tenants: CONSOLE_USER.tenants }],
  });
  const assetsDir = join(REPO_ROOT, 'dist', 'console');

  let gateway: Gateway;
  let protocols: WebsocketProtocols;
  const open = async (port: number): Promise<number> => {
    gateway = new Gateway({ authenticator, logger: pino({ level: 'silent' }), version: 'test', componentState: () => 'running' });
    registerReadRoutes(gateway, { engine, store });
    protocols = registerWebsocketProtocols(gateway, { engine });
    registerConsoleRoutes(gateway, { assetsDir });
    return gateway.listen('127.0.0.1', port);
  };
  // The browser talks to a proxy: the restarted gateway listens on a new port behind it.
  const proxy = await TcpProxy.start(await open(0));
  return {
    url: proxy.url,
    port: proxy.port,
    store,
    engine,
    token: async (tenants, subject = 'tester') => (await tokens.issue({ subject, tenants, ttlMs: 3_600_000 })).token,
    async append(stream, events) {
      const result = await store.append(stream, events.map((event) => ({ schema: 2, ...event })));
      return result.positions[result.positions.length - 1]!;
    },
    async restart(downMs = 300) {
      protocols.stop(1012);
      gateway.stopListening();
      proxy.setTarget(null);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      proxy.setTarget(await open(0));
    },
    async close() {
      await proxy.close();
      protocols.stop(1001);
      gateway.stopListening();
      await engine.stop();
      await store.close();
    },
  };
}

/** A small, realistic history: a tenant with two watchers, processes, a minion, a job, log lines. */
export async function seedHistory(h: ConsoleHarness, tenant = 'acme'): Promise<{ afterWatchers: number; afterScale: number }> {
  const now = Date.now();
  const spec = (cmd: string, numprocesses: number) => ({
    cmd, args: ['-e', 'setInterval(()=>{},1000)'], env: {}, cwd: null, numprocesses, minion: 'host1',
    restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 }, ready: { kind: 'none' }, stopSignal: 'SIGTERM', stopWaitMs: 5000,
    logs: { maxLines: 10000 }, active: true,
  });
  await h.append(`tenant-${tenant}`, [{ type: 'tenants', action: 'create', key: tenant, tenant, data: { name: tenant, configVersion: 1 } }]);
  await h.append(`minion-${tenant}:host1`, [
    { type: 'minions', action: 'connect', key: `${tenant}:host1`, tenant, data: { id: 'host1', version: '0.1.0', protocol: 1, connectedAt: now } },
    { type: 'minions', action: 'grains', key: `${tenant}:host1`, tenant, data: { grains: { os: 'linux', arch: 'x64', hostname: 'host1', cpus: 2, memory: 4 * 2 ** 30, nodeVersion: 'v20', role: 'web' } } },
  ]);
  await h.append(`watcher-${tenant}:web`, [{ type: 'watchers', action: 'create', key: `${tenant}:web`, tenant, data: { name: 'web', spec: spec('node', 1) } }]);
  await h.append(`watcher-${tenant}:worker`, [{ type: 'watchers', action: 'create', key: `${tenant}:worker`, tenant, data: { name: 'worker', spec: spec('node', 1) } }]);
  await spawnProcess(h, tenant, 'web', 0, 4100);
  const afterWatchers = await spawnProcess(h, tenant, 'worker', 0, 4200);
  await h.append(`watcher-${tenant}:web`, [{ type: 'watchers', action: 'update', key: `${tenant}:web`, tenant, data: { spec: spec('node', 2), changed: ['numprocesses'] } }]);
  const afterScale = await spawnProcess(h, tenant, 'web', 1, 4101);
  return { afterWatchers, afterScale };
}

export async function spawnProcess(h: ConsoleHarness, tenant: string, watcher: string, slot: number, pid: number): Promise<number> {
  const key = `${tenant}:${watcher}:${slot}`;
  const runId = `run-${pid}`;
  return h.append(`process-${key}`, [
    { type: 'processes', action: 'start', key, tenant, data: { watcher, slot, minion: 'host1', runId } },
    { type: 'processes', action: 'spawn', key, tenant, data: { pid, minion: 'host1', runId, startedAt: Date.now() } },
  ]);
}

export async function appendLogLines(h: ConsoleHarness, tenant: string, watcher: string, slot: number, lines: string[], pid = 4100): Promise<number> {
  const key = `${tenant}:${watcher}:${slot}`;
  return h.append(`log-${key}`, lines.map((line) => ({ type: 'logs', action: 'line', key, tenant, data: { pid, fd: 'stdout', line } })));
}
