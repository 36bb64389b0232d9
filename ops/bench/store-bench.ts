// `npm run bench:store`: the embedded store's append and catch-up rates next to raw lmdb
// puts/reads of the same bytes with the same durability (each commit synced before it
// resolves), in the same run. Writes bench-results/store.json and bench-results/store.md.
//
// The raw baseline of the issue is one lmdb value per event (the bytes of one encoded event).
// The store keeps one value per append (store/embedded/append-record.ts), so a second raw
// column puts the same bytes as one value per append, to show the store's own overhead.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { encodeRecord } from '../../store/codec.js';
import { openEmbeddedStore, type EmbeddedEventStore } from '../../store/embedded/index.js';
import type { EventToAppend } from '../../store/index.js';

/** time per side and case, split into ROUNDS alternating rounds */
const PHASE_MS = Number(process.env.CORRAL_BENCH_PHASE_MS ?? 6000);
const ROUNDS = 3;
/**
 * [batch size, concurrent appenders]: the issue's configurations (enough appenders for group
 * commit to matter at small batches), plus batch 100 with 32 appenders, because with only 8
 * the rate is bounded by 800 events per synced commit rather than by the store.
 */
const CASES: [batch: number, appenders: number][] = [[1, 256], [10, 64], [100, 8], [100, 32], [1000, 4]];

const sampleEvent = (i: number): EventToAppend => ({
  type: 'processes',
  action: 'stats',
  key: 'acme:web:0',
  tenant: 'acme',
  data: { pid: 4242 + (i % 7), cpuPercent: 12.5, rssBytes: 123_456_789, threads: 9, sampledAt: '2026-01-01T00:00:00.000Z' },
  meta: { principal: 'system', node: 'host1:4242', correlationId: 'c-0123456789' },
});

interface AppendRun {
  batch: number;
  concurrency: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of this process per event (user+system, all threads): robust to a busy machine */
  cpuMicrosPerEvent: number;
  commits?: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const round = (n: number, digits = 0): number => Number(n.toFixed(digits));
const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** What one side (raw, raw per append, store) accumulates over its rounds. */
class AppendTally {
  readonly latencies: number[] = [];
  events = 0;
  seconds = 0;
  cpuMicros = 0;

  result(batch: number, concurrency: number): AppendRun {
    this.latencies.sort((a, b) => a - b);
    return {
      batch,
      concurrency,
      events: this.events,
      seconds: round(this.seconds, 2),
      eventsPerSecond: round(this.events / this.seconds),
      p50Ms: round(percentile(this.latencies, 0.5), 2),
      p99Ms: round(percentile(this.latencies, 0.99), 2),
      cpuMicrosPerEvent: round(this.cpuMicros / this.events, 2),
    };
  }
}

/** One round: `concurrency` closed-loop appenders for `ms`, added to `tally`. */
async function appendRound(tally: AppendTally, batch: number, concurrency: number, ms: number, appendOnce: (worker: number, events: EventToAppend[]) => Promise<unknown>): Promise<void> {
  const events = Array.from({ length: batch }, (_, i) => sampleEvent(i));
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await appendOnce(worker, events);
        tally.latencies.push(performance.now() - t0);
        tally.events += batch;
      }
    }),
  );
  tally.seconds += (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  tally.cpuMicros += cpu.user + cpu.system;
}

/**
 * Raw lmdb (one value per event), raw lmdb (one value per append) and the store, each for
 * PHASE_MS in ROUNDS alternating rounds: on a shared machine a burst of someone else's load
 * then hits all three alike instead of deciding the ratio.
 */
async function benchAppendCase(root: string, batch: number, concurrency: number): Promise<{ result: AppendCase; store: EmbeddedEventStore }> {
  const name = `${batch}x${concurrency}`;
  const rawEnv = open({ path: join(root, `raw-${name}`), maxDbs: 4, overlappingSync: false });
  const rawDb = rawEnv.openDB<Buffer, number>('log', { encoding: 'binary' });
  const groupedEnv = open({ path: join(root, `raw-${name}-grouped`), maxDbs: 4, overlappingSync: false });
  const groupedDb = groupedEnv.openDB<Buffer, number>('log', { encoding: 'binary' });
  const store = await openEmbeddedStore({ dataDir: join(root, `store-${name}`) });
  // the same bytes the store writes per event (header + msgpack), encoded once up front
  const bytes = encodeRecord('process-acme:web:0', sampleEvent(0));
  const grouped = Buffer.concat(Array.from({ length: batch }, () => bytes));
  let rawKey = 0;
  let groupedKey = 0;
  const raw = new AppendTally();
  const rawGrouped = new AppendTally();
  const stored = new AppendTally();
  const commitsBefore = store.stats().commits;
  const ms = PHASE_MS / ROUNDS;
  for (let r = 0; r < ROUNDS; r++) {
    await appendRound(raw, batch, concurrency, ms, (_worker, events) => {
      let last: Promise<boolean> = Promise.resolve(true);
      for (let i = 0; i < events.length; i++) last = rawDb.put(++rawKey, bytes);
      return last; // resolves once the transaction holding it is committed and synced
    });
    if (batch > 1) await appendRound(rawGrouped, batch, concurrency, ms, () => groupedDb.put(++groupedKey, grouped));
    await appendRound(stored, batch, concurrency, ms, (worker, events) => store.append(`process-acme:web:${worker % 64}`, events));
  }
  await rawEnv.close();
  await groupedEnv.close();
  const storeRun = { ...stored.result(batch, concurrency), commits: store.stats().commits - commitsBefore };
  const rawRun = raw.result(batch, concurrency);
  const groupedRun = batch > 1 ? rawGrouped.result(batch, concurrency) : rawRun;
  return {
    result: {
      batch,
      concurrency,
      store: storeRun,
      raw: rawRun,
      rawGrouped: groupedRun,
      ratio: round(storeRun.eventsPerSecond / rawRun.eventsPerSecond, 2),
      ratioGrouped: round(storeRun.eventsPerSecond / groupedRun.eventsPerSecond, 2),
    },
    store,
  };
}

interface AppendCase {
  batch: number;
  concurrency: number;
  store: AppendRun;
  /** one lmdb value per event: the issue's baseline */
  raw: AppendRun;
  /** the same bytes as one lmdb value per append: the store's layout, so store/rawGrouped is the store's own overhead */
  rawGrouped: AppendRun;
  ratio: number;
  ratioGrouped: number;
}

interface ReadRun {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
}

/** rounds added up: total events over total time */
function sumReads(rounds: ReadRun[]): ReadRun & { roundsEventsPerSecond: number[] } {
  const events = rounds.reduce((n, r) => n + r.events, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const cpuMicros = rounds.reduce((n, r) => n + r.cpuMicrosPerEvent * r.events, 0);
  return { events, seconds: round(seconds, 3), eventsPerSecond: round(events / seconds), cpuMicrosPerEvent: round(cpuMicros / events, 3), roundsEventsPerSecond: rounds.map((r) => r.eventsPerSecond) };
}

async function timed(read: () => Promise<number> | number): Promise<ReadRun> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const events = await read();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { events, seconds: round(seconds, 3), eventsPerSecond: round(events / seconds), cpuMicrosPerEvent: round((cpu.user + cpu.system) / events, 3) };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'corral-store-bench-'));
  const loadBefore = loadavg()[0]!;
  log(`store bench: ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)}, ${PHASE_MS} ms per phase, data in ${root}`);
  const appends: AppendCase[] = [];
  let readStore: EmbeddedEventStore | undefined;
  try {
    for (const [batch, concurrency] of CASES) {
      const { result, store } = await benchAppendCase(root, batch, concurrency);
      const { raw, rawGrouped, store: run } = result;
      log(`raw lmdb  batch ${String(batch).padStart(4)} x${concurrency}: ${raw.eventsPerSecond.toLocaleString('en')} events/s, p50 ${raw.p50Ms} ms, p99 ${raw.p99Ms} ms, ${raw.cpuMicrosPerEvent} CPU µs/event`);
      if (batch > 1) log(`raw lmdb  batch ${String(batch).padStart(4)} x${concurrency}, one value per append: ${rawGrouped.eventsPerSecond.toLocaleString('en')} events/s, ${rawGrouped.cpuMicrosPerEvent} CPU µs/event`);
      log(`store     batch ${String(batch).padStart(4)} x${concurrency}: ${run.eventsPerSecond.toLocaleString('en')} events/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, ${run.cpuMicrosPerEvent} CPU µs/event, ${run.commits} commits; ${result.ratio} of raw (${result.ratioGrouped} of raw one value per append)`);
      appends.push(result);
      if (batch === 1000) readStore = store;
      else await store.close();
    }

    // catch-up reads over the batch-1000 store (the largest), decoded to full events, next to
    // raw lmdb reading the same number of events stored one value per event (the bytes of one
    // encoded event); ROUNDS alternating rounds, as for appends
    const store = readStore!;
    const head = await store.headPosition();
    const env = open({ path: join(root, 'raw-read'), maxDbs: 4, overlappingSync: false });
    const logDb = env.openDB<Buffer, number>('log', { encoding: 'binary' });
    const eventBytes = encodeRecord('process-acme:web:0', sampleEvent(0));
    for (let key = 1; key <= head; ) {
      const end = Math.min(head, key + 99_999);
      logDb.transactionSync(() => {
        for (; key <= end; key++) logDb.putSync(key, eventBytes, { append: true });
      });
    }
    const readRounds: { rawRead: ReadRun[]; readAll: ReadRun[]; subscribe: ReadRun[]; filtered: ReadRun[] } = { rawRead: [], readAll: [], subscribe: [], filtered: [] };
    for (let r = 0; r < ROUNDS; r++) {
      readRounds.rawRead.push(
        await timed(() => {
          let count = 0;
          let bytes = 0;
          for (const { value } of logDb.getRange({ start: 0 })) {
            count++;
            bytes += value.length;
          }
          return bytes > 0 ? count : 0;
        }),
      );
      readRounds.readAll.push(
        await timed(async () => {
          let count = 0;
          for (let after = 0; after < head; ) {
            const page = await store.readAll({ after, limit: 1000 });
            count += page.length;
            after = page[page.length - 1]!.position;
          }
          return count;
        }),
      );
      readRounds.subscribe.push(
        await timed(
          () =>
            new Promise<number>((resolve, reject) => {
              let count = 0;
              const subscription = store.subscribeToAll({ after: 0 }).subscribe({
                next: (notice) => {
                  if (notice.kind === 'events') count += notice.events.length;
                  else {
                    subscription.unsubscribe();
                    resolve(count);
                  }
                },
                error: reject,
              });
            }),
        ),
      );
      readRounds.filtered.push(
        await timed(async () => {
          let scanned = 0;
          for (let after = 0; after < head; ) {
            const page = await store.readAll({ after, limit: 1000, excludeTypes: ['processes'] });
            scanned = head;
            if (page.length === 0) break;
            after = page[page.length - 1]!.position;
          }
          return scanned;
        }),
      );
    }
    await env.close();
    await store.close();
    readStore = undefined;
    const rawRead = sumReads(readRounds.rawRead);
    const readAll = sumReads(readRounds.readAll);
    const subscribe = sumReads(readRounds.subscribe);
    const filtered = sumReads(readRounds.filtered);
    log(`raw lmdb getRange, one value per event: ${rawRead.eventsPerSecond.toLocaleString('en')} events/s, ${rawRead.cpuMicrosPerEvent} CPU µs/event`);
    log(`store readAll: ${readAll.eventsPerSecond.toLocaleString('en')} events/s over ${readAll.events.toLocaleString('en')} events, ${readAll.cpuMicrosPerEvent} CPU µs/event (rounds: ${readRounds.readAll.map((x) => x.eventsPerSecond.toLocaleString('en')).join(', ')})`);
    log(`store subscribeToAll catch-up: ${subscribe.eventsPerSecond.toLocaleString('en')} events/s, ${subscribe.cpuMicrosPerEvent} CPU µs/event (rounds: ${readRounds.subscribe.map((x) => x.eventsPerSecond.toLocaleString('en')).join(', ')})`);
    log(`store readAll skipping every event by type (header only): ${filtered.eventsPerSecond.toLocaleString('en')} events/s scanned`);

    const live = await benchLiveDelivery(root);
    log(`live delivery to a second store instance on the same directory (head poll): p50 ${live.p50Ms} ms, p99 ${live.p99Ms} ms over ${live.samples} appends`);

    const results = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageBefore: round(loadBefore, 2), loadAverageAfter: round(loadavg()[0]!, 2) },
      phaseMs: PHASE_MS,
      durability: 'every commit synced (overlappingSync off) for both the store and raw lmdb',
      appends,
      catchUp: {
        readAll: { ...readAll, ratioToRaw: round(readAll.eventsPerSecond / rawRead.eventsPerSecond, 2) },
        subscribeToAll: { ...subscribe, ratioToRaw: round(subscribe.eventsPerSecond / rawRead.eventsPerSecond, 2) },
        readAllSkippingByType: filtered,
        rawGetRange: rawRead,
      },
      liveDeliveryAcrossInstances: live,
      targets: {
        appendsAtBatch100Plus: appends.filter((a) => a.batch >= 100).map((a) => ({ batch: a.batch, concurrency: a.concurrency, eventsPerSecond: a.store.eventsPerSecond, ratio: a.ratio, met: a.ratio >= 2 / 3 && a.store.eventsPerSecond >= 300_000 })),
        catchUp: { eventsPerSecond: Math.min(readAll.eventsPerSecond, subscribe.eventsPerSecond), met: Math.min(readAll.eventsPerSecond, subscribe.eventsPerSecond) >= 1_000_000 },
      },
      at: new Date().toISOString(),
    };
    await mkdir('bench-results', { recursive: true });
    await writeFile('bench-results/store.json', `${JSON.stringify(results, null, 2)}\n`);
    await writeFile('bench-results/store.md', markdown(results));
    log('wrote bench-results/store.json and bench-results/store.md');
  } finally {
    await readStore?.close();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Latency from `append` being called in one store instance to the event reaching a
 * subscriber of another instance on the same directory. The instances share no in-process
 * wake-up, so this is the path another OS process sees: the head poll.
 */
async function benchLiveDelivery(root: string): Promise<{ samples: number; p50Ms: number; p99Ms: number }> {
  const dataDir = join(root, 'live');
  const writer = await openEmbeddedStore({ dataDir });
  const reader = await openEmbeddedStore({ dataDir });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let caughtUp!: () => void;
  const ready = new Promise<void>((resolve) => (caughtUp = resolve));
  const subscription = reader.subscribeToAll({ after: 0 }).subscribe((notice) => {
    if (notice.kind === 'caughtUp') return caughtUp();
    const now = performance.now();
    for (const event of notice.events) {
      const sent = sentAt.get(event.key);
      if (sent !== undefined) latencies.push(now - sent);
    }
  });
  await ready;
  const samples = 200;
  for (let i = 0; i < samples; i++) {
    sentAt.set(`k${i}`, performance.now());
    await writer.append('tenant-live', [{ type: 'tenants', action: 'reconfigure', key: `k${i}`, data: { i } }]);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  const deadline = Date.now() + 5000;
  while (latencies.length < samples && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  subscription.unsubscribe();
  await writer.close();
  await reader.close();
  latencies.sort((a, b) => a - b);
  return { samples: latencies.length, p50Ms: round(percentile(latencies, 0.5), 2), p99Ms: round(percentile(latencies, 0.99), 2) };
}

function markdown(r: {
  phaseMs: number;
  machine: { cpus: number; model: string | undefined; node: string; loadAverageBefore: number; loadAverageAfter: number };
  appends: AppendCase[];
  catchUp: { readAll: ReadRun & { ratioToRaw: number; roundsEventsPerSecond: number[] }; subscribeToAll: ReadRun & { ratioToRaw: number; roundsEventsPerSecond: number[] }; readAllSkippingByType: ReadRun; rawGetRange: ReadRun };
  liveDeliveryAcrossInstances: { samples: number; p50Ms: number; p99Ms: number };
  targets: { appendsAtBatch100Plus: { batch: number; concurrency: number; met: boolean }[]; catchUp: { met: boolean } };
  at: string;
}): string {
  const n = (x: number): string => x.toLocaleString('en');
  const lines = [
    '# Event store benchmark (`npm run bench:store`)',
    '',
    `${r.at}, ${r.machine.cpus} CPUs (${r.machine.model ?? 'unknown'}), Node ${r.machine.node}. Load average ${r.machine.loadAverageBefore} before, ${r.machine.loadAverageAfter} after (this machine is shared; CPU µs/event is the steadier figure). Both sides sync every commit. Appends: each side runs ${r.phaseMs / 1000} s per case in ${ROUNDS} rounds alternating with the others, closed-loop appenders (each waits for its acknowledgement before appending again).`,
    '',
    'Raw lmdb puts the bytes of one encoded event per value (the issue\'s baseline); "raw, value per append" puts the same bytes as one value per append, which is the store\'s layout, so that ratio is the store\'s own overhead (validation, encoding, positions, indexes).',
    '',
    '| batch | appenders | store events/s | p50 ack ms | p99 ack ms | CPU µs/event | commits | raw lmdb events/s | raw p50 / p99 ms | raw CPU µs/event | store / raw | raw, value per append events/s (CPU µs) | store / that |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.appends.map((a) => `| ${a.batch} | ${a.store.concurrency} | ${n(a.store.eventsPerSecond)} | ${a.store.p50Ms} | ${a.store.p99Ms} | ${a.store.cpuMicrosPerEvent} | ${n(a.store.commits ?? 0)} | ${n(a.raw.eventsPerSecond)} | ${a.raw.p50Ms} / ${a.raw.p99Ms} | ${a.raw.cpuMicrosPerEvent} | **${a.ratio}** | ${n(a.rawGrouped.eventsPerSecond)} (${a.rawGrouped.cpuMicrosPerEvent}) | ${a.ratioGrouped} |`),
    '',
    '| catch-up | events | events/s | CPU µs/event | vs raw getRange |',
    '|---|---:|---:|---:|---:|',
    `| readAll (pages of 1000, decoded; ${ROUNDS} rounds: ${r.catchUp.readAll.roundsEventsPerSecond.map(n).join(' / ')}) | ${n(r.catchUp.readAll.events)} | ${n(r.catchUp.readAll.eventsPerSecond)} | ${r.catchUp.readAll.cpuMicrosPerEvent} | ${r.catchUp.readAll.ratioToRaw} |`,
    `| subscribeToAll from 0 to caughtUp (rounds: ${r.catchUp.subscribeToAll.roundsEventsPerSecond.map(n).join(' / ')}) | ${n(r.catchUp.subscribeToAll.events)} | ${n(r.catchUp.subscribeToAll.eventsPerSecond)} | ${r.catchUp.subscribeToAll.cpuMicrosPerEvent} | ${r.catchUp.subscribeToAll.ratioToRaw} |`,
    `| readAll skipping all by type (header only) | ${n(r.catchUp.readAllSkippingByType.events)} | ${n(r.catchUp.readAllSkippingByType.eventsPerSecond)} | ${r.catchUp.readAllSkippingByType.cpuMicrosPerEvent} | |`,
    `| raw lmdb getRange, one value per event (bytes, not decoded) | ${n(r.catchUp.rawGetRange.events)} | ${n(r.catchUp.rawGetRange.eventsPerSecond)} | ${r.catchUp.rawGetRange.cpuMicrosPerEvent} | 1 |`,
    '',
    `Live delivery to a subscriber of a second store instance on the same directory (the cross-process path: head poll every 2 ms): p50 ${r.liveDeliveryAcrossInstances.p50Ms} ms, p99 ${r.liveDeliveryAcrossInstances.p99Ms} ms, measured from the append call (so it includes the synced commit).`,
    '',
    `Targets: batch >= 100 at >= 2/3 of raw and >= 300,000 events/s: ${r.targets.appendsAtBatch100Plus.map((t) => `batch ${t.batch} x${t.concurrency} ${t.met ? 'met' : 'MISSED'}`).join(', ')}; catch-up >= 1,000,000 events/s: ${r.targets.catchUp.met ? 'met' : 'MISSED'}.`,
    '',
  ];
  return lines.join('\n');
}

await main();
