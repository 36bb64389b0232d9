// Output reports across a server-side close (the rolling restart's hand-over): the hub
// acknowledges what it recorded before it closes, and a report resent anyway (its ack was
// lost) is stored once. Real uWS hub, real actor runtime and sink, the memory store.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createActorRuntime, type ActorRuntime, type MinionReport, type MinionReportSink } from '../../actors/index.js';
import { createMinionHub, decodeServerFrame, encodeFrame, type MinionFrame, type MinionHub, type ServerFrame } from '../../gateway/minion/index.js';
import { closeListenSocket, createApp, listenSocketPort, type ListenSocket } from '../../gateway/uws.js';
import { MinionAgent } from '../../ops/minion/index.js';
import { logStream, openStore, type EventStore } from '../../store/index.js';
import { waitFor } from './helpers.js';

type Output = Extract<MinionReport, { kind: 'output' }>;
const grains = { os: 'linux', arch: 'x64', hostname: 'h', cpus: 1, memory: 1, nodeVersion: 'v20' };

let store: EventStore;
let runtime: ActorRuntime;
let hub: MinionHub;
let listenSocket: ListenSocket;
let url: string;
/** milliseconds every report takes to record (a busy store): makes acks pending at close time */
let reportDelayMs = 0;
const clients: WebSocket[] = [];
const agents: MinionAgent[] = [];

beforeAll(async () => {
  store = await openStore({ kind: 'memory' });
  const sink: MinionReportSink = {
    minionConnected: (hello) => runtime.minionSink.minionConnected(hello),
    minionDisconnected: (id, tenants, reason) => runtime.minionSink.minionDisconnected(id, tenants, reason),
    report: async (id, report) => {
      if (reportDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, reportDelayMs));
      return runtime.minionSink.report(id, report);
    },
  };
  hub = createMinionHub({ sink, verifyToken: async () => ({ subject: 'minion', tenants: ['acme'] }) });
  runtime = createActorRuntime({ store, minions: hub.port, node: 'test:1', localMinion: 'm1' });
  await runtime.start();
  await runtime.createTenant('acme', 'alice');
  const app = createApp();
  hub.attach(app);
  listenSocket = await new Promise<ListenSocket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('listen failed')))),
  );
  url = `ws://127.0.0.1:${listenSocketPort(listenSocket)}/minion`;
});
afterEach(async () => {
  reportDelayMs = 0;
  for (const client of clients.splice(0)) client.terminate();
  for (const agent of agents.splice(0)) await agent.shutdown({ stopProcesses: true, flushMs: 0 });
});
afterAll(async () => {
  await hub.close();
  closeListenSocket(listenSocket);
  await runtime.stop();
  await store.close();
});

/** A hand-driven minion: every frame the server sends, in order, and how the socket closed. */
async function rawMinion(id: string) {
  const ws = new WebSocket(url, { headers: { authorization: 'Bearer t' } });
  clients.push(ws);
  const frames: ServerFrame[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(data)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const send = (frame: MinionFrame) => ws.send(encodeFrame(frame), { binary: true });
  send({ t: 'hello', protocol: { min: 1, max: 1 }, id, version: 'test', grains, tenants: ['acme'], running: [] });
  await waitFor(() => frames.some((f) => f.t === 'welcome'), 'welcome');
  const acked = () => Math.max(0, ...frames.map((f) => (f.t === 'ack' ? f.seq : 0)));
  return { ws, frames, closed, send, acked };
}
const output = (processKey: string, runId: string, firstSeq: number, texts: string[]): Output => ({
  kind: 'output',
  tenant: 'acme',
  processKey,
  runId,
  pid: 4242,
  lines: texts.map((line) => ({ fd: 'stdout' as const, line })),
  firstSeq,
});
const storedLines = async (stream: string) => (await store.readStream(stream, { limit: 100_000 })).map((e) => (e.data as { line: string }).line);

describe('/minion output across a server-side close', () => {
  it('an output report resent on a new connection after its ack was lost appends nothing the second time', async () => {
    const first = await rawMinion('raw1');
    first.send({ t: 'report', seq: 1, report: output('acme:raw:0', 'run-a', 1, ['one', 'two']) });
    await waitFor(() => first.acked() === 1, 'ack of the first report');
    first.ws.terminate(); // as if the ack never arrived: the minion still holds the report
    await first.closed;

    const second = await rawMinion('raw1');
    second.send({ t: 'report', seq: 1, report: output('acme:raw:0', 'run-a', 1, ['one', 'two']) });
    second.send({ t: 'report', seq: 2, report: output('acme:raw:0', 'run-a', 3, ['three']) });
    await waitFor(() => second.acked() === 2, 'acks on the new connection');
    expect(await storedLines(logStream('acme', 'raw', 0))).toEqual(['one', 'two', 'three']);
  });

  it('close(1012) stops taking reports, waits for those being recorded and acknowledges them before closing', async () => {
    const minion = await rawMinion('raw2');
    reportDelayMs = 100;
    for (let seq = 1; seq <= 20; seq++) minion.send({ t: 'report', seq, report: output(`acme:slow:${seq % 4}`, `run-${seq % 4}`, Math.ceil(seq / 4), [`line ${seq}`]) });
    await waitFor(() => hub.connections().find((c) => c.id === 'raw2')?.lastSeq === 20, 'all 20 reports received');
    await hub.close(1012, 'server restarting');
    expect(await minion.closed).toBe(1012);
    // every report the server took was acknowledged before the close: nothing is resent
    expect(minion.acked()).toBe(20);
    const stored = (await Promise.all([0, 1, 2, 3].map((slot) => storedLines(logStream('acme', 'slow', slot))))).flat();
    expect(stored.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).sort());
  });

  it('a real agent numbers its lines per run across reconnects: repeated server closes store every line exactly once', async () => {
    const agent = new MinionAgent({ server: url.replace('ws:', 'http:'), token: 't', id: 'm1', tenants: ['acme'], reconnectMinMs: 20, reconnectMaxMs: 100 });
    agents.push(agent);
    agent.start();
    await agent.waitConnected();
    await runtime.createWatcher(
      'acme',
      'tick',
      { cmd: process.execPath, args: ['-e', `let n = 0; setInterval(() => { for (let i = 0; i < 20; i++) console.log('tick ' + n++) }, 5)`], numprocesses: 1 },
      'alice',
    );
    const stream = logStream('acme', 'tick', 0);
    for (let round = 0; round < 3; round++) {
      const before = (await storedLines(stream)).length;
      await pollUntil(async () => (await storedLines(stream)).length > before + 200, `output flowing (round ${round})`);
      reportDelayMs = 30; // acks lag behind: the close finds reports being recorded
      await pollUntil(async () => {
        const connection = hub.connections().find((c) => c.id === 'm1');
        return connection !== undefined && connection.lastSeq > connection.ackedSeq + 1;
      }, 'reports being recorded');
      const session = agent.session;
      // round 1 does not wait for them: their acks are lost and the agent resends them
      await hub.close(1012, 'server restarting', round === 1 ? 0 : 1500);
      reportDelayMs = 0;
      await pollUntil(async () => agent.session !== null && agent.session !== session, `reconnected (round ${round})`);
    }
    await pollUntil(async () => agent.outbox.pending === 0, 'everything acknowledged');
    const ticks = (await storedLines(stream)).map((line) => Number(line.split(' ')[1]));
    expect(ticks.length).toBeGreaterThan(600);
    expect(ticks).toEqual([...ticks.keys()]);
    await runtime.destroyWatcher('acme', 'tick', 'alice');
  });
});

async function pollUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
