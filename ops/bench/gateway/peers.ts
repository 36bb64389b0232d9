// The four servers the gateway benchmark compares, each serving the same stream to the same
// subscribers in 10 filter groups:
// - corral: the real gateway (store -> projections -> fan-out hub -> uWS topics)
// - uws: the ceiling, raw uWS publish of the same pre-encoded bytes, no filtering, no store
// - ws: a reference gateway on the `ws` package, as well as it can: one encoding and one
//   pre-built websocket frame per group, written to each socket corked
// - nats: nats-server with websockets, subjects per group and wildcard subscriptions
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import * as wsModule from 'ws';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { openMemoryStore } from '../../../store/index.js';
import { createProjectionEngine } from '../../../projections/index.js';
import { Authenticator, Gateway, TokenService, type WebSocket as UwsSocket } from '../../../gateway/index.js';
import { registerWebsocketProtocols } from '../../../gateway/ws/index.js';

export interface BenchEvent {
  group: number;
  line: string;
  /** ms epoch (fractional) when the publisher handed it over: latency is measured from here */
  t: number;
}

export interface Peer {
  name: string;
  urls(groups: number): string[];
  token?: string;
  /** hands one batch of one group's events to the server; resolves when it accepted them */
  publish(group: number, events: BenchEvent[]): Promise<void> | void;
  /** resident memory of the server process */
  rss(): number;
  cpuMicros(): number;
  stop(): Promise<void>;
}

const now = (): number => performance.timeOrigin + performance.now();
export const makeEvents = (group: number, n: number): BenchEvent[] => Array.from({ length: n }, (_, i) => ({ group, line: `l${i}`, t: now() }));

/** The exact frame the corral gateway sends for a batch subscription (so uws/ws send the same bytes). */
export function corralLikeFrame(events: BenchEvent[], firstPosition: number): Buffer {
  const parts = events.map((e, i) => {
    const key = `bench:g${e.group}:0`;
    const data = `{"pid":1,"fd":"stdout","line":"${e.line}","t":${e.t}}`;
    return `{"op":"event","sub":"b","pos":${firstPosition + i},"time":"${new Date(e.t).toISOString()}","type":"logs","action":"line","key":"${key}","tenant":"bench","data":${data},"object":{"key":"${key}",${data.slice(1)},"original":null}`;
  });
  return Buffer.from(`[${parts.join(',')}]`);
}

const selfRss = (): number => process.memoryUsage().rss;
const selfCpu = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export async function startCorral(): Promise<Peer> {
  const store = openMemoryStore();
  const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
  await engine.start();
  const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
  const gateway = new Gateway({
    authenticator: new Authenticator({ mode: 'tokens', tokens }),
    logger: pino({ level: 'silent' }),
    version: 'bench',
    componentState: () => 'running',
  });
  const protocols = registerWebsocketProtocols(gateway, { engine, limits: { maxBufferedBytes: 16 * 1024 * 1024 } });
  const port = await gateway.listen('127.0.0.1', 0);
  const token = (await tokens.issue({ subject: 'bench', tenants: { bench: 'read' }, ttlMs: 3_600_000 })).token;
  return {
    name: 'corral',
    token,
    urls: (groups) => Array.from({ length: groups }, () => `ws://127.0.0.1:${port}/ws?token=${token}`),
    async publish(group, events) {
      await store.append(
        `log-bench:g${group}:0`,
        events.map((e) => ({ type: 'logs', action: 'line', key: `bench:g${group}:0`, tenant: 'bench', data: { pid: 1, fd: 'stdout', line: e.line, t: e.t } })),
      );
    },
    rss: selfRss,
    cpuMicros: selfCpu,
    async stop() {
      protocols.stop(1001);
      gateway.stopListening();
      await engine.stop();
      await store.close();
    },
  };
}

export async function startRawUws(): Promise<Peer> {
  // A bare uWS app (the gateway's, without any of its routes or protocols): topics per group.
  const gateway = new Gateway({ authenticator: new Authenticator({ mode: 'none' }), logger: pino({ level: 'silent' }), version: 'bench', componentState: () => 'running' });
  const app = gateway.app;
  const sockets = new Set<UwsSocket<{ group: string }>>();
  app.ws<{ group: string }>('/:group', {
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 120,
    upgrade: (res, req, context) => {
      res.upgrade({ group: req.getParameter(0) ?? '' }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      sockets.add(ws);
      ws.subscribe(ws.getUserData().group);
    },
    close: (ws) => void sockets.delete(ws),
  });
  const port = await gateway.listen('127.0.0.1', 0);
  let position = 0;
  return {
    name: 'uws (ceiling)',
    urls: (groups) => Array.from({ length: groups }, (_, g) => `ws://127.0.0.1:${port}/g${g}`),
    publish(group, events) {
      app.publish(`g${group}`, corralLikeFrame(events, position + 1), false);
      position += events.length;
    },
    rss: selfRss,
    cpuMicros: selfCpu,
    async stop() {
      for (const ws of sockets) ws.end(1001);
      gateway.stopListening();
    },
  };
}

export async function startWsReference(): Promise<Peer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const groups = new Map<string, Set<WsSocket>>();
  server.on('connection', (ws, req) => {
    const group = (req.url ?? '/').slice(1);
    let members = groups.get(group);
    if (!members) groups.set(group, (members = new Set()));
    members.add(ws);
    ws.on('close', () => members!.delete(ws));
  });
  const port = (server.address() as { port: number }).port;
  let position = 0;
  return {
    name: 'ws (reference)',
    urls: (n) => Array.from({ length: n }, (_, g) => `ws://127.0.0.1:${port}/g${g}`),
    publish(group, events) {
      // the filter: the group's key, evaluated once per event and group
      const matching = events.filter((e) => `bench:g${e.group}:0` === `bench:g${group}:0`);
      const payload = corralLikeFrame(matching, position + 1);
      position += events.length;
      // one websocket frame built once per group, written corked to every socket
      const frame = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false, generateMask: undefined, maskBuffer: undefined });
      for (const ws of groups.get(`g${group}`) ?? []) {
        const socket = (ws as unknown as { _socket: Socket })._socket;
        socket.cork();
        for (const chunk of frame) socket.write(chunk);
        socket.uncork();
      }
    },
    rss: selfRss,
    cpuMicros: selfCpu,
    async stop() {
      for (const members of groups.values()) for (const ws of members) ws.terminate();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/** nats-server from the Debian package (installed if missing and possible); null with a reason otherwise. */
export async function startNats(): Promise<Peer | string> {
  let binary = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (!binary) {
    const install = spawnSync('sh', ['-c', 'apt-get install -y nats-server'], { encoding: 'utf8', timeout: 180_000 });
    binary = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
    if (!binary) return `nats-server is not installed and apt-get install failed (${(install.stderr || install.stdout || '').trim().split('\n').at(-1)})`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'corral-nats-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const wsPort = port + 1;
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    [`listen: "127.0.0.1:${port}"`, 'max_payload: 1048576', 'max_pending: 536870912', 'write_deadline: "60s"', `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true, compression: false }`].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const publisher = await connectWithRetry(port, () => output);
  await new Promise<void>((resolve) => publisher.write('CONNECT {"verbose":false,"pedantic":false}\r\n', () => resolve()));
  publisher.on('data', (chunk: Buffer) => {
    if (chunk.includes('PING')) publisher.write('PONG\r\n');
  });
  const procStat = (): string[] => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return {
    name: 'nats-server',
    urls: (groups) => Array.from({ length: groups }, () => `ws://127.0.0.1:${wsPort}`),
    publish(group, events) {
      let chunk = '';
      for (const e of events) {
        const payload = `{"line":"${e.line}","t":${e.t}}`;
        chunk += `PUB bench.g${group}.ev ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
      }
      return new Promise((resolve) => {
        if (publisher.write(chunk)) setImmediate(resolve);
        else publisher.once('drain', () => resolve());
      });
    },
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    cpuMicros: () => {
      const fields = procStat();
      return ((Number(fields[11]) + Number(fields[12])) / 100) * 1_000_000; // utime + stime in clock ticks (100 Hz)
    },
    async stop() {
      publisher.destroy();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function connectWithRetry(port: number, output: () => string): Promise<Socket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nats-server did not start: ${(error as Error).message}\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
