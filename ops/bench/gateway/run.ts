// One measurement of the gateway benchmark, in its own process so each peer starts from a
// fresh heap and its RSS growth is its own: start the peer, connect the load generator
// (loadgen.c, a separate process), measure idle memory, throughput and latency, print one
// JSON line. Run by gateway-bench.ts as
//   node --expose-gc dist/ops/bench/gateway/run.js <peer> <subscribers> <framing>
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { pathToFileURL } from 'node:url';
import { LoadGenerator } from './loadgen.js';
import { makeEvents, PEERS, type Framing, type Peer } from './peers.js';

export const GROUPS = 10;
/** deliveries per throughput run (events x subscribers per group): bounds the run's length */
const DELIVERIES = Number(process.env.CORRAL_BENCH_DELIVERIES ?? 10_000_000);
/** events per publish call and group; the publisher yields to the event loop once per round of groups */
export const BATCH = 200;
const LATENCY_MS = 2000;
/** latency rounds per run: on 2 shared cores one round's p99 swings 2-5x, so the median of several is reported, with their range */
export const LATENCY_ROUNDS = Number(process.env.CORRAL_BENCH_LATENCY_ROUNDS ?? 5);
const RUN_TIMEOUT_MS = 90_000;
const PUBLISH_MS = 8_000;
/** idle connections the memory slope is measured over, at least */
const IDLE_SLOPE_CONNECTIONS = 10_000;

export interface Result {
  peer: string;
  framing: Framing;
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
  /** medians over the latency rounds */
  p50Ms: number;
  p99Ms: number;
  /** the lowest and highest p99 of the rounds */
  p99RangeMs: [number, number];
  latencyClientCpuPercent: number;
  /** corral only: append -> uWS publish of the latency phase's frames (the server's share of p50/p99), medians over the rounds */
  handOffP50Ms: number | null;
  handOffP99Ms: number | null;
  /** RSS growth per connection of more waves of idle subscribers after the first (at least 2 waves, 10,000 connections) */
  memoryPerIdleConnectionBytes: number;
  /** the same for the first wave, which includes one-time growth */
  firstWaveBytesPerConnection: number;
}

const round = (n: number, digits = 0): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);
const nullableRound = (n: number | null): number | null => (n === null ? null : round(n, 2));
/** of ascending values */
const percentile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS after full garbage collections (the bench runs with --expose-gc): what live objects and sockets hold. */
async function settledRss(peer: Peer): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(100);
  }
  return peer.rss();
}

/**
 * CORRAL_BENCH_PROFILE=<file>: a V8 CPU profile of the throughput phase only (node's
 * --cpu-prof covers start-up and the idle waits too, and stalled uWS upgrades here).
 */
async function startProfile(file: string): Promise<{ stop(): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

interface LatencyRound {
  p50Ms: number;
  p99Ms: number;
  clientCpuPercent: number;
  handOffP50Ms: number | null;
  handOffP99Ms: number | null;
}

/** One latency round: LATENCY_MS of publishing at `rate`, every event's append -> receipt. */
async function latencyRound(peer: Peer, clients: LoadGenerator, rate: number): Promise<LatencyRound> {
  await clients.reset(1);
  peer.handOff?.start();
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
  const handOff = peer.handOff?.stop().sort((a, b) => a - b);
  const latency = await clients.report();
  return {
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    clientCpuPercent: latency.cpuPercent,
    handOffP50Ms: handOff?.length ? percentile(handOff, 0.5) : null,
    handOffP99Ms: handOff?.length ? percentile(handOff, 0.99) : null,
  };
}

async function measure(peer: Peer, subscribers: number, framing: Framing): Promise<Result> {
  // Memory per idle connection: RSS growth over more waves of as many idle subscribers (at
  // least two, and at least IDLE_SLOPE_CONNECTIONS connections, so a megabyte of allocator
  // noise moves the figure by at most ~100 B), held together, per connection. The first
  // wave's growth also holds one-time costs (the heap grown by the connect storm, allocator
  // arenas) that later connections reuse; it is reported beside.
  const rssBefore = await settledRss(peer);
  const clients = new LoadGenerator(peer.client, subscribers, GROUPS);
  await clients.ready();
  const rssFirstWave = await settledRss(peer);
  const extraWaves: LoadGenerator[] = [];
  const waves = Math.max(2, Math.ceil(IDLE_SLOPE_CONNECTIONS / subscribers));
  for (let wave = 0; wave < waves; wave++) {
    const generator = new LoadGenerator(peer.client, subscribers, GROUPS);
    extraWaves.push(generator);
    await generator.ready();
  }
  const rssLastWave = await settledRss(peer);
  for (const generator of extraWaves) await generator.close();
  await sleep(3000); // the servers finish closing those sockets before anything is timed
  const firstWaveBytesPerConnection = (rssFirstWave - rssBefore) / subscribers;
  const memoryPerIdleConnectionBytes = (rssLastWave - rssFirstWave) / (extraWaves.length * subscribers);

  // Throughput: the publisher as fast as the server accepts, until every subscriber has its events.
  // At most DELIVERIES deliveries, and publishing stops after PUBLISH_MS for slow peers.
  const planned = Math.max(GROUPS * BATCH, Math.round((DELIVERIES / (subscribers / GROUPS)) / (GROUPS * BATCH)) * GROUPS * BATCH);
  await clients.reset(Math.max(1, Math.round(subscribers / 50)));
  const profile = process.env.CORRAL_BENCH_PROFILE ? await startProfile(process.env.CORRAL_BENCH_PROFILE) : null;
  const cpuBefore = peer.cpuMicros();
  const started = performance.now();
  let events = 0;
  while (events < planned && (events === 0 || performance.now() - started < PUBLISH_MS)) {
    for (let group = 0; group < GROUPS; group++) await peer.publish(group, makeEvents(group, BATCH));
    events += GROUPS * BATCH;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const perClient = events / GROUPS;
  let report = await clients.report();
  while (report.minEvents < perClient && performance.now() - started < RUN_TIMEOUT_MS) {
    await sleep(20);
    report = await clients.report();
  }
  const seconds = (performance.now() - started) / 1000;
  await profile?.stop();
  const serverCpuPercent = ((peer.cpuMicros() - cpuBefore) / 1000 / (seconds * 1000)) * 100;
  const delivered = report.events;
  const deliveredEventsPerSecond = delivered / seconds;
  const publishedEventsPerSecond = events / seconds;

  // Latency at half the peak rate, paced every 5 ms, in rounds.
  const rate = publishedEventsPerSecond / 2;
  const rounds: LatencyRound[] = [];
  for (let i = 0; i < LATENCY_ROUNDS; i++) rounds.push(await latencyRound(peer, clients, rate));
  const median = (pick: (r: LatencyRound) => number | null): number | null => {
    const values = rounds.map(pick).filter((v): v is number => v !== null).sort((a, b) => a - b);
    return values.length ? values[Math.floor((values.length - 1) / 2)]! : null;
  };
  const p99s = rounds.map((r) => r.p99Ms);
  clients.stop();
  return {
    peer: peer.name,
    framing,
    subscribers,
    events,
    seconds: round(seconds, 2),
    deliveredEventsPerSecond: round(deliveredEventsPerSecond),
    deliveredFramesPerSecond: round(report.frames / seconds),
    publishedEventsPerSecond: round(publishedEventsPerSecond),
    complete: report.minEvents >= perClient,
    serverCpuPercent: round(serverCpuPercent),
    clientCpuPercent: round(report.cpuPercent),
    latencyRateEventsPerSecond: round(rate),
    p50Ms: round(median((r) => r.p50Ms)!, 2),
    p99Ms: round(median((r) => r.p99Ms)!, 2),
    p99RangeMs: [round(Math.min(...p99s), 2), round(Math.max(...p99s), 2)],
    latencyClientCpuPercent: round(median((r) => r.clientCpuPercent)!),
    handOffP50Ms: nullableRound(median((r) => r.handOffP50Ms)),
    handOffP99Ms: nullableRound(median((r) => r.handOffP99Ms)),
    memoryPerIdleConnectionBytes: round(memoryPerIdleConnectionBytes),
    firstWaveBytesPerConnection: round(firstWaveBytesPerConnection),
  };
}

/** Run as a script (the orchestrator imports this module only for its constants and types). */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, count, framing] = process.argv.slice(2) as [string, string, Framing];
  const start = PEERS[name];
  if (!start || !['event', 'batch'].includes(framing) || !(Number(count) > 0)) {
    process.stderr.write(`usage: run.js <${Object.keys(PEERS).join('|')}> <subscribers> <event|batch>\n`);
    process.exit(2);
  }
  const peer = await start(framing).catch((error: Error) => ({ failed: `could not start: ${error.message.split('\n')[0]}` }));
  if (typeof peer === 'object' && 'failed' in peer) {
    process.stdout.write(`${JSON.stringify(peer)}\n`);
    process.exit(0);
  }
  if (typeof peer === 'string') {
    process.stdout.write(`${JSON.stringify({ skipped: peer })}\n`);
    process.exit(0);
  }
  try {
    process.stdout.write(`${JSON.stringify(await measure(peer, Number(count), framing))}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ failed: (error as Error).message })}\n`);
  } finally {
    await peer.stop();
  }
  process.exit(0);
}
