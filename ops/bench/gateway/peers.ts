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
import { createConnection, createServer, type Socket } from 'node:net';
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

/**
 * How events travel as websocket messages: 'event', one message per event (what a
 * subscriber gets by default); 'batch', the events of one publish in one array message
 * (corral's `"batch":true`). nats-server always sends one NATS message per event.
 */
export type Framing = 'event' | 'batch';

/** The frames of one publish: the same bytes corral sends in that framing. */
export function corralLikeFrames(events: BenchEvent[], firstPosition: number, framing: Framing): Buffer[] {
  if (framing === 'batch') return [corralLikeFrame(events, firstPosition)];
  return events.map((e, i) => Buffer.from(corralLikeEvent(e, firstPosition + i)));
}

/** How the load generator (loadgen.c) reaches a peer: `%d` in path and message is the client's group. */
export interface ClientTarget {
  kind: 'corral' | 'uws' | 'ws' | 'nats';
  port: number;
  path: string;
  /** the first text frame a client sends (its subscription); `\r\n` written as the two characters */
  message?: string;
}

export interface Peer {
  name: string;
  client: ClientTarget;
  /** hands one batch of one group's events to the server; resolves when it accepted them */
  publish(group: number, events: BenchEvent[]): Promise<void> | void;
  /**
   * Corral only: times from each event's hand-over to the frame's uWS `publish`, while on.
   * That is the server's share of the latency; the rest is uWS, the kernel and the client.
   */
  handOff?: HandOffProbe;
  /** resident memory of the server process */
  rss(): number;
  cpuMicros(): number;
  stop(): Promise<void>;
}

const now = (): number => performance.timeOrigin + performance.now();

export interface HandOffProbe {
  start(): void;
  /** the ms from hand-over (the first event's `t` in each frame) to publish, one per frame */
  stop(): number[];
}

/** Wraps `app.publish` only while on, so the throughput phase runs the unwrapped call. */
function probeHandOff(app: { publish(topic: string, frame: string | Uint8Array, binary?: boolean): boolean }): HandOffProbe {
  const publish = app.publish;
  const samples: number[] = [];
  const t = /"t":(\d+(?:\.\d+)?)/;
  return {
    start() {
      samples.length = 0;
      app.publish = (topic, frame, binary) => {
        const sent = t.exec(typeof frame === 'string' ? frame : Buffer.from(frame.buffer, frame.byteOffset, Math.min(frame.byteLength, 2048)).toString('latin1'));
        if (sent) samples.push(now() - Number(sent[1]));
        return publish.call(app, topic, frame, binary);
      };
    },
    stop() {
      app.publish = publish;
      return [...samples];
    },
  };
}
export const makeEvents = (group: number, n: number): BenchEvent[] => Array.from({ length: n }, (_, i) => ({ group, line: `l${i}`, t: now() }));

/**
 * The exact event object the corral gateway sends, so every peer moves the same bytes per
 * event: a log line's frame carries `data` only (README, the native protocol).
 */
export function corralLikeEvent(e: BenchEvent, position: number): string {
  const key = `bench:g${e.group}:0`;
  const data = `{"pid":1,"fd":"stdout","line":"${e.line}","t":${e.t}}`;
  return `{"op":"event","sub":"b","pos":${position},"time":"${new Date(e.t).toISOString()}","type":"logs","action":"line","key":"${key}","tenant":"bench","data":${data}}`;
}

/** The exact frame the corral gateway sends for a batch subscription (so uws/ws send the same bytes). */
export function corralLikeFrame(events: BenchEvent[], firstPosition: number): Buffer {
  return Buffer.from(`[${events.map((e, i) => corralLikeEvent(e, firstPosition + i)).join(',')}]`);
}

const selfRss = (): number => process.memoryUsage().rss;
const selfCpu = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export async function startCorral(framing: Framing): Promise<Peer> {
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
  const protocols = registerWebsocketProtocols(gateway, { engine, limits: { maxBufferedBytes: 16 * 1024 * 1024, maxConnectionsPerPrincipal: 1_000_000 } });
  const port = await gateway.listen('127.0.0.1', 0);
  const token = (await tokens.issue({ subject: 'bench', tenants: { bench: 'read' }, ttlMs: 3_600_000 })).token;
  return {
    name: 'corral',
    client: { kind: 'corral', port, path: `/ws?token=${token}`, message: `{"op":"sub","id":"b","select":"logs.line.bench:g%d:0","batch":${framing === 'batch'}}` },
    handOff: probeHandOff(gateway.app),
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

export async function startRawUws(framing: Framing): Promise<Peer> {
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
    client: { kind: 'uws', port, path: '/g%d' },
    publish(group, events) {
      for (const frame of corralLikeFrames(events, position + 1, framing)) app.publish(`g${group}`, frame, false);
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

/**
 * The `ws` reference as the issue defines it: built on the ws package's API, one encoding
 * per group and event (the payload Buffer is shared by every socket), ws.send per socket
 * corked so each socket gets one write per publish.
 */
export async function startWsReference(framing: Framing): Promise<Peer> {
  return startNodeGateway(framing, 'ws (reference)', true, (payloads) => payloads, (ws, payloads) => {
    for (const payload of payloads) ws.send(payload, { binary: false });
  });
}

/** The broadcast of ws's README: the event's JSON text sent to each client, no cork (ws frames the text per send). */
export async function startWsPlain(framing: Framing): Promise<Peer> {
  return startNodeGateway(framing, 'ws (plain)', false, (payloads) => payloads.map((payload) => payload.toString()), (ws, texts) => {
    for (const text of texts) ws.send(text);
  });
}

/**
 * Beyond the ws API: every websocket frame built once per group and written as shared
 * Buffers straight to each net.Socket (ws only did the handshake): the most a Node
 * gateway can do, shown so the comparison does not rest on ws.send's own overhead.
 */
export async function startNodeFramed(framing: Framing): Promise<Peer> {
  const frame = (payload: Buffer): Buffer[] => Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false, generateMask: undefined, maskBuffer: undefined });
  return startNodeGateway(framing, 'node (pre-framed)', true, (payloads) => payloads.flatMap(frame), (ws, frames) => {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    for (const chunk of frames) socket.write(chunk);
  });
}

/**
 * A Node gateway on the ws package: `prepare` runs once per group and publish (one encoding
 * per group), `send` once per socket, corked when `cork` is set.
 */
async function startNodeGateway<Prepared>(
  framing: Framing,
  name: string,
  cork: boolean,
  prepare: (payloads: Buffer[]) => Prepared,
  send: (ws: WsSocket, prepared: Prepared) => void,
): Promise<Peer> {
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
    name,
    client: { kind: 'ws', port, path: '/g%d' },
    publish(group, events) {
      // the filter: the group's key, evaluated once per event and group
      const matching = events.filter((e) => `bench:g${e.group}:0` === `bench:g${group}:0`);
      const prepared = prepare(corralLikeFrames(matching, position + 1, framing));
      position += events.length;
      for (const ws of groups.get(`g${group}`) ?? []) {
        if (!cork) {
          send(ws, prepared);
          continue;
        }
        const socket = (ws as unknown as { _socket: Socket })._socket;
        socket.cork();
        send(ws, prepared);
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

const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender;

/** nats-server from the Debian package (installed if missing and possible); null with a reason otherwise. */
export async function startNats(): Promise<Peer | string> {
  let binary = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (!binary) {
    const install = spawnSync('sh', ['-c', 'apt-get install -y nats-server'], { encoding: 'utf8', timeout: 180_000 });
    binary = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
    if (!binary) return `nats-server is not installed and apt-get install failed (${(install.stderr || install.stdout || '').trim().split('\n').at(-1)})`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'corral-nats-'));
  // ports the kernel hands out now (a random pick collided with the load generator's ephemeral ports)
  const port = await freePort();
  const wsPort = await freePort();
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
  let position = 0;
  const procStat = (): string[] => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return {
    name: 'nats-server',
    client: { kind: 'nats', port: wsPort, path: '/', message: 'CONNECT {"verbose":false,"pedantic":false,"protocol":1,"echo":false}\\r\\nSUB bench.g%d.> 1\\r\\nPING\\r\\n' },
    publish(group, events) {
      // one NATS message per event, carrying the same JSON object corral sends for it
      let chunk = '';
      for (const e of events) {
        const payload = corralLikeEvent(e, ++position);
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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

/** The peers by the name `run.js` takes. */
export const PEERS: Record<string, (framing: Framing) => Promise<Peer | string>> = {
  corral: startCorral,
  uws: startRawUws,
  ws: startWsReference,
  'ws-plain': startWsPlain,
  node: startNodeFramed,
  nats: () => startNats(),
};
