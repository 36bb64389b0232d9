// `npm run bench:frames`: bytes per delivered log event (issue 16 item 2), through the real
// gateway in this process (memory store -> projection engine -> fan-out -> uWS -> a `ws`
// client on loopback). The lines are appended as the minion sink stores them (pid, fd, line,
// seq, and the run id on the last line of each append), 115 bytes each, after a prefill that
// puts positions at 7 digits as on a busy node. Counted: every event frame's payload plus
// its websocket header (2 bytes up to 125, 4 up to 65,535), per subscription kind.
// Prints a markdown table; bench-results/frames.md has the numbers before and after.
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import { pino } from 'pino';
import WebSocket from 'ws';
import { openMemoryStore, type EventToAppend } from '../../store/index.js';
import { createProjectionEngine } from '../../projections/index.js';
import { Authenticator, Gateway, TokenService } from '../../gateway/index.js';
import { registerWebsocketProtocols } from '../../gateway/ws/index.js';

const LINE_BYTES = 115;
const LINES = Number(process.env.CORRAL_BENCH_LINES ?? 2000);
const PER_APPEND = 100;
const PREFILL = Number(process.env.CORRAL_BENCH_PREFILL ?? 1_000_000);
const TENANT = 'bench';
const KEY = `${TENANT}:writer:0`;
const PID = 123456;
/** CORRAL_BENCH_SEQ=0: lines as a minion that does not number them sends them (no seq, no run id) */
const SEQ = process.env.CORRAL_BENCH_SEQ !== '0';

interface Kind {
  name: string;
  path: (token: string) => string;
  protocols?: string[];
  /** what the client sends once open */
  subscribe: (ws: WebSocket) => void;
  /** true for a frame that carries events (the count of events in it) */
  events: (data: Buffer, isBinary: boolean) => number;
}

const nativeEvents = (data: Buffer): number => {
  const text = data.toString('utf8');
  if (text.startsWith('[')) return (JSON.parse(text) as unknown[]).length;
  return text.startsWith('{"op":"event"') ? 1 : 0;
};

const KINDS: Kind[] = [
  { name: 'native JSON', path: (t) => `/ws?token=${t}`, subscribe: (ws) => ws.send(JSON.stringify({ op: 'sub', id: 's1', select: `logs.line.${KEY}` })), events: nativeEvents },
  { name: 'native JSON, "batch": true', path: (t) => `/ws?token=${t}`, subscribe: (ws) => ws.send(JSON.stringify({ op: 'sub', id: 's1', select: `logs.line.${KEY}`, batch: true })), events: nativeEvents },
  { name: 'native JSON, "objects": true', path: (t) => `/ws?token=${t}`, subscribe: (ws) => ws.send(JSON.stringify({ op: 'sub', id: 's1', select: `logs.line.${KEY}`, objects: true })), events: nativeEvents },
  {
    name: 'native msgpack',
    path: (t) => `/ws?token=${t}`,
    protocols: ['corral.v1.msgpack'],
    subscribe: (ws) => ws.send(pack({ op: 'sub', id: 's1', select: `logs.line.${KEY}` })),
    // an event map starts with its `op` key: fixmap header, then "op", then "event"
    events: (data) => (data.includes(Buffer.from('\xa2op\xa5event', 'latin1')) ? 1 : 0),
  },
  { name: 'Digital Rebar (/api/v3/ws)', path: (t) => `/api/v3/ws?token=${t}`, subscribe: (ws) => ws.send(`register logs.line.${KEY}`), events: (data) => (data.toString('utf8').includes('"Type":"logs"') ? 1 : 0) },
];

const wsHeader = (payload: number): number => (payload <= 125 ? 2 : payload <= 65_535 ? 4 : 10);

function line(i: number): string {
  const text = `${new Date(1_700_000_000_000 + i).toISOString()} INFO request handled method=GET path=/api/v1/items/${i} status=200 ms=`;
  return text.padEnd(LINE_BYTES, '7').slice(0, LINE_BYTES);
}

const store = openMemoryStore();
const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
await engine.start();
for (let done = 0; done < PREFILL; done += 10_000) {
  const events: EventToAppend[] = Array.from({ length: Math.min(10_000, PREFILL - done) }, () => ({ type: 'logs', action: 'line', key: `${TENANT}:filler:0`, tenant: TENANT, data: { pid: 1, fd: 'stdout', line: 'x' } }));
  await store.append(`log-${TENANT}:filler:0`, events, { expectedRevision: 'any' });
}
const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
const gateway = new Gateway({ authenticator: new Authenticator({ mode: 'tokens', tokens }), logger: pino({ level: 'silent' }), version: 'bench', componentState: () => 'running' });
const protocols = registerWebsocketProtocols(gateway, { engine });
const port = await gateway.listen('127.0.0.1', 0);
const token = (await tokens.issue({ subject: 'bench', tenants: { [TENANT]: 'read' }, ttlMs: 3_600_000 })).token;

const counters = await Promise.all(
  KINDS.map(async (kind) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${kind.path(token)}`, kind.protocols ?? []);
    const counter = { kind, ws, events: 0, bytes: 0, frames: 0, sample: '' };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const n = kind.events(data, isBinary);
      if (n === 0) return;
      counter.events += n;
      counter.frames += 1;
      counter.bytes += data.byteLength + wsHeader(data.byteLength);
      if (!counter.sample) counter.sample = isBinary ? `(msgpack, ${data.byteLength} bytes)` : data.toString('utf8').slice(0, 1000);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    kind.subscribe(ws);
    return counter;
  }),
);
// subscriptions (and DRP registers, which have no reply) take effect when the hub has the members
while (protocols.registry.all().filter((c) => c.members.size > 0).length < KINDS.length) await new Promise((resolve) => setTimeout(resolve, 10));

for (let done = 0; done < LINES; done += PER_APPEND) {
  const n = Math.min(PER_APPEND, LINES - done);
  const events: EventToAppend[] = Array.from({ length: n }, (_, i) => {
    const data: Record<string, unknown> = { pid: PID, fd: 'stdout', line: line(done + i) };
    if (SEQ) data.seq = done + i + 1;
    if (SEQ && i === n - 1) data.run = 'r-1f3a9c2e';
    return { type: 'logs', action: 'line', key: KEY, tenant: TENANT, schema: 2, data, meta: { principal: 'minion:host1', node: 'node-1' } };
  });
  await store.append(`log-${KEY}`, events, { expectedRevision: 'any' });
}
const deadline = Date.now() + 60_000;
while (counters.some((c) => c.events < LINES)) {
  if (Date.now() > deadline) throw new Error(`not every client got ${LINES} events: ${counters.map((c) => `${c.kind.name} ${c.events}`).join(', ')}`);
  await new Promise((resolve) => setTimeout(resolve, 20));
}

const out = (text: string): void => void process.stdout.write(`${text}\n`);
out(`${LINES} log lines of ${LINE_BYTES} bytes (key ${KEY}, pid ${PID}${SEQ ? `, seq, run id on every ${PER_APPEND}th` : ', no seq'}), positions from ${PREFILL + 1}; bytes = payload + websocket header`);
out('');
out('| subscription | events | frames | bytes per event |');
out('|---|---|---|---|');
for (const c of counters) out(`| ${c.kind.name} | ${c.events} | ${c.frames} | ${(c.bytes / c.events).toFixed(1)} |`);
out('');
out(`first native JSON event frame (${Buffer.byteLength(counters[0]!.sample)} bytes):`);
out('');
out(`    ${counters[0]!.sample}`);
for (const c of counters) c.ws.close();
protocols.stop(1001);
gateway.stopListening();
await engine.stop();
await store.close();
