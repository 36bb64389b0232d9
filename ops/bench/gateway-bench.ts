// `npm run bench:gateway`: filtered fan-out of one publisher's stream to 1,000 and 5,000
// websocket subscribers in 10 filter groups, on loopback only, bounded in time. Peers in the
// same run: the Corral gateway, the raw uWS publish ceiling (same pre-encoded bytes, no
// filter, no store), a tuned `ws` reference gateway, and nats-server with websockets.
// Subscribers live in a separate process (its CPU is reported). Writes
// bench-results/gateway.json and bench-results/gateway.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeEvents, startCorral, startNats, startRawUws, startWsReference, type Peer } from './gateway/peers.js';
import type { ClientPlan } from './gateway/clients.js';

const GROUPS = 10;
const SUBSCRIBERS = (process.env.CORRAL_BENCH_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
/** deliveries per throughput run (events x subscribers per group): bounds the run's length */
const DELIVERIES = Number(process.env.CORRAL_BENCH_DELIVERIES ?? 10_000_000);
/** events per publish call and group; the publisher yields to the event loop once per round of groups */
const BATCH = 200;
const LATENCY_MS = 2000;
const RUN_TIMEOUT_MS = 90_000;

interface Result {
  peer: string;
  subscribers: number;
  events: number;
  seconds: number;
  deliveredEventsPerSecond: number;
  deliveredFramesPerSecond: number;
  publishedEventsPerSecond: number;
  complete: boolean;
  serverCpuPercent: number;
  clientCpuPercent: number;
  latencyRateEventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  latencyClientCpuPercent: number;
  memoryPerIdleConnectionBytes: number;
}

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const round = (n: number, digits = 0): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class ClientProcess {
  private readonly child: ChildProcess;
  private readonly replies: Record<string, unknown>[] = [];
  private wake: (() => void) | null = null;

  constructor(plan: ClientPlan) {
    const script = fileURLToPath(new URL('./gateway/clients.js', import.meta.url));
    this.child = spawn(process.execPath, [script, JSON.stringify(plan)], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.replies.push(JSON.parse(line));
      this.wake?.();
    });
  }

  async next(timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error('the client process did not answer');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.replies.shift()!;
  }

  async ask(command: string): Promise<Record<string, unknown>> {
    this.child.stdin!.write(`${command}\n`);
    return this.next();
  }

  stop(): void {
    this.child.stdin!.write('exit\n');
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

async function measure(peer: Peer, subscribers: number): Promise<Result> {
  await sleep(300);
  const rssBefore = peer.rss();
  const clients = new ClientProcess({ peer: peerKind(peer), urls: peer.urls(GROUPS), count: subscribers, groups: GROUPS, token: peer.token });
  await clients.next(180_000); // ready
  await sleep(1000);
  const memoryPerIdleConnectionBytes = (peer.rss() - rssBefore) / subscribers;

  // Throughput: the publisher as fast as the server accepts, until every subscriber has its events.
  const events = Math.max(GROUPS * BATCH, Math.round((DELIVERIES / (subscribers / GROUPS)) / (GROUPS * BATCH)) * GROUPS * BATCH);
  const perClient = events / GROUPS;
  await clients.ask(`reset ${Math.max(1, Math.round(subscribers / 50))}`);
  const cpuBefore = peer.cpuMicros();
  const started = performance.now();
  for (let published = 0; published < events; published += GROUPS * BATCH) {
    for (let group = 0; group < GROUPS; group++) await peer.publish(group, makeEvents(group, BATCH));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const publishedAt = performance.now();
  let report = await clients.ask('report');
  while ((report.minEvents as number) < perClient && performance.now() - started < RUN_TIMEOUT_MS) {
    await sleep(20);
    report = await clients.ask('report');
  }
  const seconds = (performance.now() - started) / 1000;
  const serverCpuPercent = ((peer.cpuMicros() - cpuBefore) / 1000 / (seconds * 1000)) * 100;
  const delivered = report.events as number;
  const deliveredEventsPerSecond = delivered / seconds;
  const publishedEventsPerSecond = events / seconds;

  // Latency at half the peak rate, paced every 5 ms.
  const rate = publishedEventsPerSecond / 2;
  await clients.ask('reset 1');
  const latencyStart = performance.now();
  let sent = 0;
  let group = 0;
  while (performance.now() - latencyStart < LATENCY_MS) {
    const due = Math.floor(((performance.now() - latencyStart) / 1000) * rate);
    while (sent < due) {
      const n = Math.min(BATCH, due - sent);
      await peer.publish(group, makeEvents(group, n));
      group = (group + 1) % GROUPS;
      sent += n;
    }
    await sleep(5);
  }
  await sleep(500);
  const latency = await clients.ask('report');
  clients.stop();
  return {
    peer: peer.name,
    subscribers,
    events,
    seconds: round(seconds, 2),
    deliveredEventsPerSecond: round(deliveredEventsPerSecond),
    deliveredFramesPerSecond: round((report.frames as number) / seconds),
    publishedEventsPerSecond: round(publishedEventsPerSecond),
    complete: (report.minEvents as number) >= perClient,
    serverCpuPercent: round(serverCpuPercent),
    clientCpuPercent: round(report.cpuPercent as number),
    latencyRateEventsPerSecond: round(rate),
    p50Ms: round(latency.p50Ms as number, 2),
    p99Ms: round(latency.p99Ms as number, 2),
    latencyClientCpuPercent: round(latency.cpuPercent as number),
    memoryPerIdleConnectionBytes: round(memoryPerIdleConnectionBytes),
  };
  void publishedAt;
}

function peerKind(peer: Peer): ClientPlan['peer'] {
  if (peer.name.startsWith('corral')) return 'corral';
  if (peer.name.startsWith('uws')) return 'uws';
  if (peer.name.startsWith('ws')) return 'ws';
  return 'nats';
}

const results: Result[] = [];
const notes: string[] = [];
log(`gateway bench: ${SUBSCRIBERS.join(' and ')} subscribers in ${GROUPS} groups, ${DELIVERIES} deliveries per run, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`);
for (const subscribers of SUBSCRIBERS) {
  for (const start of [startCorral, startRawUws, startWsReference, startNats]) {
    const peer = await start();
    if (typeof peer === 'string') {
      if (!notes.includes(peer)) notes.push(`nats-server skipped: ${peer}`);
      continue;
    }
    log(`  ${peer.name} x ${subscribers}...`);
    try {
      const result = await measure(peer, subscribers);
      results.push(result);
      log(
        `    ${result.deliveredEventsPerSecond} events/s delivered (${result.deliveredFramesPerSecond} frames/s) in ${result.seconds}s${result.complete ? '' : ' INCOMPLETE'}; ` +
          `p50 ${result.p50Ms} ms p99 ${result.p99Ms} ms at ${result.latencyRateEventsPerSecond} ev/s; ${result.memoryPerIdleConnectionBytes} B/idle conn; ` +
          `server CPU ${result.serverCpuPercent}%, clients CPU ${result.clientCpuPercent}%`,
      );
    } catch (error) {
      notes.push(`${peer.name} x ${subscribers} failed: ${(error as Error).message}`);
      log(`    failed: ${(error as Error).message}`);
    } finally {
      await peer.stop();
    }
  }
}

const at = (peer: string, subscribers: number): Result | undefined => results.find((r) => r.peer.startsWith(peer) && r.subscribers === subscribers);
const targets = SUBSCRIBERS.map((n) => {
  const corral = at('corral', n);
  const uws = at('uws', n);
  const ws = at('ws', n);
  const nats = at('nats', n);
  return {
    subscribers: n,
    ofUwsCeiling: corral && uws ? round(corral.deliveredEventsPerSecond / uws.deliveredEventsPerSecond, 2) : null,
    vsNats: corral && nats ? round(corral.deliveredEventsPerSecond / nats.deliveredEventsPerSecond, 2) : null,
    vsWs: corral && ws ? round(corral.deliveredEventsPerSecond / ws.deliveredEventsPerSecond, 2) : null,
    p99Ms: corral?.p99Ms ?? null,
    memoryPerIdleConnectionBytes: corral?.memoryPerIdleConnectionBytes ?? null,
  };
});

const environment = { cpus: cpus().length, model: cpus()[0]?.model, loadAverage: loadavg().map((n) => round(n, 1)), node: process.version, date: new Date().toISOString() };
await mkdir('bench-results', { recursive: true });
await writeFile(join('bench-results', 'gateway.json'), `${JSON.stringify({ environment, groups: GROUPS, deliveriesPerRun: DELIVERIES, results, targets, notes }, null, 2)}\n`);
const md = [
  '# Gateway fan-out benchmark',
  '',
  `${environment.date}, ${environment.cpus} CPUs (${environment.model}), load average ${environment.loadAverage.join(' ')}, Node ${environment.node}.`,
  `One publisher; subscribers in ${GROUPS} filter groups (each group one key), all in one separate client process; loopback only.`,
  'Throughput: the publisher as fast as each server accepts, until every subscriber has all its events. Latency: append -> receipt at half that rate.',
  'Memory: server RSS growth per idle subscribed connection. CPU: 100% = one core.',
  '',
  '| peer | subscribers | events/s delivered | frames/s | server CPU % | client CPU % | p50 ms | p99 ms | B per idle conn |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.peer} | ${r.subscribers} | ${r.deliveredEventsPerSecond}${r.complete ? '' : ' (incomplete)'} | ${r.deliveredFramesPerSecond} | ${r.serverCpuPercent} | ${r.clientCpuPercent} | ${r.p50Ms} | ${r.p99Ms} | ${r.memoryPerIdleConnectionBytes} |`,
  ),
  '',
  '## Against the targets (issue 6)',
  '',
  '| subscribers | corral / uWS ceiling (>= 0.5) | corral / nats (> 1) | corral / ws (>= 5) | corral p99 ms (< 10) | corral B per idle conn (< 4096) |',
  '|---|---|---|---|---|---|',
  ...targets.map((t) => `| ${t.subscribers} | ${t.ofUwsCeiling} | ${t.vsNats} | ${t.vsWs} | ${t.p99Ms} | ${t.memoryPerIdleConnectionBytes} |`),
  '',
  ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  'A client CPU near 100% means the load generator (one Node process parsing frames) was the bottleneck: the delivered rate is then a lower bound of what the server can do.',
  '',
].join('\n');
await writeFile(join('bench-results', 'gateway.md'), md);
log('wrote bench-results/gateway.json and bench-results/gateway.md');
process.exit(0);
