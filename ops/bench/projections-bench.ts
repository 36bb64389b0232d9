/**
 * Projection benchmark (`npm run bench:projections`): how fast the engine folds the store
 * into all views, next to a plain loop over the same decoded events in the same run, and
 * the filter evaluation rate for 1, 10 and 100 distinct filters (filter-bench.ts).
 * Results go to bench-results/projections.{json,md}. Size: CORRAL_BENCH_EVENTS (default 1,000,000).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { openStore, type EventStore, type RecordedEvent } from '../../store/index.js';
import {
  MixedWorkload,
  createEmptyViewState,
  createProjectionEngine,
  foldEvent,
  serializeViews,
  type Change,
} from '../../projections/index.js';

const log = (line: string): void => console.log(`[projections-bench] ${line}`);
const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString('en');

interface Measurement {
  name: string;
  events: number;
  ms: number;
  eventsPerSecond: number;
  note: string;
}

async function fillStore(store: EventStore, total: number, seed: number, concurrency: number): Promise<number> {
  const workload = new MixedWorkload({ seed });
  let appended = 0;
  let nextReport = 100_000;
  const started = performance.now();
  while (appended < total) {
    const appends = workload.take(Math.min(20_000, total - appended));
    // several appends in flight let the embedded store group-commit them
    for (let i = 0; i < appends.length; i += concurrency) {
      await Promise.all(appends.slice(i, i + concurrency).map((append) => store.append(append.stream, append.events)));
    }
    appended += appends.reduce((sum, append) => sum + append.events.length, 0);
    if (appended >= nextReport) {
      log(`  appended ${fmt(appended)} events (${fmt(rate(appended, performance.now() - started))}/s)`);
      nextReport += total >= 500_000 ? 250_000 : 100_000;
    }
  }
  return appended;
}

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: 10_000, excludeTypes: ['logs'] });
    for (const event of page) events.push(event);
    if (page.length < 10_000) return events;
    after = page[page.length - 1]!.position;
  }
}

function time<T>(run: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = run();
  return { ms: performance.now() - started, value };
}

async function benchStore(kind: 'memory' | 'embedded', total: number): Promise<{ measurements: Measurement[]; logEvents: number; viewObjects: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'corral-projections-bench-'));
  const store = await openStore({ kind, dataDir });
  try {
    log(`${kind} store: generating ${fmt(total)} mixed events`);
    await fillStore(store, total, 7, kind === 'embedded' ? 512 : 1);
    const head = await store.headPosition();

    log(`${kind} store: reading the non-log events back (decoded)`);
    const read = performance.now();
    const events = await readEverything(store);
    const readMs = performance.now() - read;
    const logEvents = head - events.length;

    // Warm-up (JIT) of both loops on a prefix, so neither measurement pays for compilation.
    const warm = events.slice(0, Math.min(events.length, 50_000));
    for (let round = 0; round < 2; round++) {
      const counts = new Map<string, number>();
      for (const event of warm) counts.set(event.key, (counts.get(event.key) ?? 0) + 1);
      const state = createEmptyViewState();
      for (const event of warm) foldEvent(state, event);
    }

    // Baseline: the least a fold can do, a Map update per event over the same decoded events.
    const plain = time(() => {
      const counts = new Map<string, number>();
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        counts.set(event.key, (counts.get(event.key) ?? 0) + 1);
      }
      return counts.size;
    });
    const foldOnly = time(() => {
      const state = createEmptyViewState();
      for (let i = 0; i < events.length; i++) foldEvent(state, events[i]!);
      return state;
    });

    log(`${kind} store: folding the whole log into all views with the engine (start() to caught up)`);
    const engine = createProjectionEngine({ store, modelApi: { min: 1, max: 2 } });
    const engineStarted = performance.now();
    await engine.start();
    const engineMs = performance.now() - engineStarted;
    const viewObjects = [...Object.values(engine.views)].reduce((sum, map) => sum + (map instanceof Map ? map.size : 0), 0);
    if (!serializeViews(engine.views).equals(serializeViews(foldOnly.value))) throw new Error('engine views differ from the plain fold of the same events');

    log(`${kind} store: history replay with changes built (changesAfter(0) to the head)`);
    let delivered = 0;
    const historyStarted = performance.now();
    await new Promise<void>((resolve, reject) => {
      const subscription = engine.changesAfter(0, { types: ['tenants', 'watchers', 'processes', 'minions', 'jobs', 'components'] }).subscribe({
        next: (batch: readonly Change[]) => {
          delivered += batch.length;
          if (batch[batch.length - 1]!.position >= engine.position || delivered >= events.length) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    const historyMs = performance.now() - historyStarted;
    await engine.stop();

    const folded = events.length;
    const measurements: Measurement[] = [
      { name: `${kind}: store readAll (decode, logs skipped by the store)`, events: folded, ms: readMs, eventsPerSecond: rate(folded, readMs), note: `${fmt(logEvents)} log events skipped` },
      { name: `${kind}: plain loop (one Map update per decoded event)`, events: folded, ms: plain.ms, eventsPerSecond: rate(folded, plain.ms), note: 'baseline' },
      { name: `${kind}: fold decoded events into all views`, events: folded, ms: foldOnly.ms, eventsPerSecond: rate(folded, foldOnly.ms), note: `ratio to plain loop ${(foldOnly.ms / plain.ms).toFixed(1)}x` },
      { name: `${kind}: engine start(): store -> all views`, events: folded, ms: engineMs, eventsPerSecond: rate(folded, engineMs), note: `${fmt(head)} positions incl. logs; ratio to plain loop ${(engineMs / plain.ms).toFixed(1)}x` },
      { name: `${kind}: changesAfter(0): store -> views -> Change objects`, events: delivered, ms: historyMs, eventsPerSecond: rate(delivered, historyMs), note: 'history replay for a resuming subscriber' },
    ];
    for (const m of measurements) log(`  ${m.name}: ${fmt(m.eventsPerSecond)} events/s (${fmt(m.events)} in ${m.ms.toFixed(0)} ms; ${m.note})`);
    return { measurements, logEvents, viewObjects };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const total = Number(process.env.CORRAL_BENCH_EVENTS ?? 1_000_000);
  const embeddedTotal = Number(process.env.CORRAL_BENCH_EMBEDDED_EVENTS ?? Math.min(total, 300_000));
  const started = Date.now();
  const memory = await benchStore('memory', total);
  const embedded = embeddedTotal > 0 ? await benchStore('embedded', embeddedTotal) : null;

  let filter: unknown = null;
  let filterNote = '';
  try {
    const { runFilterBench } = await import('./filter-bench.js');
    filter = await runFilterBench({ durationMs: 1000, log });
  } catch (error) {
    filterNote = `filter bench unavailable: ${(error as Error).message}`;
    log(filterNote);
  }

  const target = 500_000;
  const engineRate = memory.measurements.find((m) => m.name.includes('engine start'))!.eventsPerSecond;
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    targetEventsPerSecond: target,
    memoryStoreEngineEventsPerSecond: engineRate,
    meetsTarget: engineRate >= target,
    memory,
    embedded,
    filter,
    filterNote,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/projections.json', `${JSON.stringify(result, null, 2)}\n`);
  const rows = [...memory.measurements, ...(embedded?.measurements ?? [])]
    .map((m) => `| ${m.name} | ${fmt(m.events)} | ${m.ms.toFixed(0)} | ${fmt(m.eventsPerSecond)} | ${m.note} |`)
    .join('\n');
  const filterRows = Array.isArray(filter)
    ? (filter as { distinctFilters: number; changesPerSecond: number; evaluationsPerSecond: number }[])
        .map((f) => `| ${f.distinctFilters} | ${fmt(f.changesPerSecond)} | ${fmt(f.evaluationsPerSecond)} |`)
        .join('\n')
    : `| - | ${filterNote} | - |`;
  const md = `# Projections benchmark

${result.when}, Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel}); run took ${result.durationSeconds} s.

Target: >= ${fmt(target)} events/s folded from the store into all views. Memory store, engine: **${fmt(engineRate)} events/s** (${result.meetsTarget ? 'meets' : 'misses'} the target).
Events are a deterministic mix (MixedWorkload): ${fmt(memory.logEvents)} of the memory run's positions are log lines, which the store skips for the fold. View objects at the end: ${fmt(memory.viewObjects)}.

| measurement | events | ms | events/s | note |
|---|---:|---:|---:|---|
${rows}

## Filter evaluation (grouped compiled filters, per change)

| distinct filters | changes/s | evaluations/s |
|---:|---:|---:|
${filterRows}
`;
  await writeFile('bench-results/projections.md', md);
  log(`results written to bench-results/projections.json and .md (${result.durationSeconds} s)`);
}

await main();
