// `npm run bench:actors`: durable commands per second through the actor runtime on the
// embedded store (each command decided, appended with its expected revision, synced, then
// acted on), and the time a new leader takes to rehydrate 10,000 actors. The minion side
// is an in-process stand-in that answers spawns and stops at once, so the numbers are the
// runtime's and the store's. Writes bench-results/actors.json and bench-results/actors.md.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActorRuntime, ManualClock, type ActorRuntime } from '../../actors/index.js';
import type { MinionCommand, MinionPort, MinionReportSink } from '../../actors/index.js';
import { openStore, type EventStore } from '../../store/index.js';

const PHASE_MS = Number(process.env.CORRAL_BENCH_PHASE_MS ?? 5000);
const ACTORS_TARGET = Number(process.env.CORRAL_BENCH_ACTORS ?? 10_000);
const SLOTS_PER_WATCHER = 9;
const CONCURRENCY = 64;

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const round = (n: number, digits = 0): number => Number(n.toFixed(digits));
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** A minion that does what it is told at once (spawned + ready; stop -> exited). */
class InstantMinion implements MinionPort {
  sink: MinionReportSink | null = null;
  private pid = 10_000;
  readonly runs = new Map<string, { processKey: string; tenant: string; pid: number }>();
  send(_minion: string, command: MinionCommand): boolean {
    const sink = this.sink!;
    if (command.kind === 'spawn') {
      const pid = this.pid++;
      this.runs.set(command.runId, { processKey: command.processKey, tenant: command.tenant, pid });
      const base = { tenant: command.tenant, processKey: command.processKey, runId: command.runId, pid };
      queueMicrotask(() => {
        void sink
          .report('bench', { kind: 'spawned', ...base, startedAt: Date.now() })
          .then(() => sink.report('bench', { kind: 'ready', ...base }))
          .catch(() => {});
      });
    } else if (command.kind === 'stop') {
      const run = this.runs.get(command.runId);
      if (!run) return true;
      this.runs.delete(command.runId);
      queueMicrotask(() => {
        void sink
          .report('bench', { kind: 'exited', tenant: run.tenant, processKey: run.processKey, runId: command.runId, pid: run.pid, code: null, signal: command.signal, exitedAt: Date.now(), durationMs: 60_000, usage: null })
          .catch(() => {});
      });
    }
    return true;
  }
  connected() {
    return [];
  }
}

async function makeRuntime(store: EventStore, minion: InstantMinion, clock: ManualClock): Promise<ActorRuntime> {
  const runtime = createActorRuntime({ store, minions: minion, clock, node: 'bench:1', localMinion: 'bench' });
  minion.sink = runtime.minionSink;
  await runtime.start();
  return runtime;
}

async function measure(label: string, concurrency: number, command: (worker: number, i: number) => Promise<number[]>) {
  const latencies: number[] = [];
  let commands = 0;
  let events = 0;
  const started = performance.now();
  const deadline = started + PHASE_MS;
  let nextReport = started + 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const appended = (await command(worker, i)).length;
        events += appended;
        latencies.push(performance.now() - t0);
        commands++;
        if (worker === 0 && performance.now() > nextReport) {
          nextReport += 1000;
          log(`  ${label}: ${commands} commands so far`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    label,
    concurrency,
    commands,
    events,
    seconds: round(seconds, 2),
    commandsPerSecond: round(commands / seconds),
    eventsPerSecond: round(events / seconds),
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'corral-actors-bench-'));
  const store = await openStore({ kind: 'embedded', dataDir });
  const clock = new ManualClock(Date.now());
  const minion = new InstantMinion();
  try {
    const runtime = await makeRuntime(store, minion, clock);
    await runtime.createTenant('bench', 'bench');
    const watchers = Math.ceil((ACTORS_TARGET - 1) / (SLOTS_PER_WATCHER + 1));
    log(`creating ${watchers} watchers x ${SLOTS_PER_WATCHER} slots (${watchers * (SLOTS_PER_WATCHER + 1) + 1} actors) on the embedded store...`);
    const spec = { cmd: 'sleep', args: ['300'], numprocesses: SLOTS_PER_WATCHER, restart: { delayMs: 1000, minAliveMs: 1000, maxRetries: 3 } };
    const created = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < watchers) {
          const i = next++;
          await runtime.createWatcher('bench', `w${i}`, spec, 'bench');
          if (i % 100 === 99) log(`  created ${i + 1}/${watchers} watchers`);
        }
      }),
    );
    const readyKeys = () => [...runtime.engine.cells.values()].filter((cell) => cell.kind === 'process' && (cell.snapshot.context as { run: { ready: boolean } | null }).run?.ready).length;
    while (readyKeys() < watchers * SLOTS_PER_WATCHER) await new Promise((resolve) => setTimeout(resolve, 20));
    const setupSeconds = round((performance.now() - created) / 1000, 2);
    log(`  all ${watchers * SLOTS_PER_WATCHER} processes ready in ${setupSeconds}s`);

    log(`killProcess (1 event per command), ${CONCURRENCY} concurrent callers over ${watchers * SLOTS_PER_WATCHER} process actors...`);
    const kill = await measure('killProcess', CONCURRENCY, (worker, i) => {
      const n = (worker * 7919 + i * 104_729) % (watchers * SLOTS_PER_WATCHER);
      return runtime.killProcess('bench', `w${Math.floor(n / SLOTS_PER_WATCHER)}`, n % SLOTS_PER_WATCHER, 'SIGUSR1', 'bench');
    });
    log(`  ${kill.commandsPerSecond} commands/s (p50 ${kill.p50Ms} ms, p99 ${kill.p99Ms} ms)`);

    log(`stopWatcher/startWatcher (each stops or starts ${SLOTS_PER_WATCHER} processes), ${CONCURRENCY} concurrent callers...`);
    const toggles = await measure('stop/start watcher', CONCURRENCY, async (worker, i) => {
      // each caller stops then starts its own watcher, so every command changes something
      const name = `w${(worker + Math.floor(i / 2) * CONCURRENCY) % watchers}`;
      return i % 2 === 0 ? runtime.stopWatcher('bench', name, 'bench') : runtime.startWatcher('bench', name, 'bench');
    });
    log(`  ${toggles.commandsPerSecond} commands/s, ${toggles.eventsPerSecond} events/s (p50 ${toggles.p50Ms} ms, p99 ${toggles.p99Ms} ms)`);
    // let stops and starts in flight settle before the leader goes away
    await new Promise((resolve) => setTimeout(resolve, 500));
    await runtime.stop();

    log('a new leader rehydrates every actor from the embedded store...');
    const head = await store.headPosition();
    const t0 = performance.now();
    const second = await makeRuntime(store, new InstantMinion(), clock);
    const startMs = performance.now() - t0;
    const status = second.status();
    log(`  ${status.actors} actors from ${head} events: rehydrated in ${round(status.rehydrateMs ?? 0)} ms, running (timers armed, watchers converged) after ${round(startMs)} ms`);
    await second.stop();

    const results = {
      when: new Date().toISOString(),
      // other work on the machine skews every number: the load average says how much
      host: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage1m: round(loadavg()[0] ?? 0, 1) },
      store: 'embedded',
      phaseMs: PHASE_MS,
      setup: { watchers, slotsPerWatcher: SLOTS_PER_WATCHER, seconds: setupSeconds },
      commands: [kill, toggles],
      rehydrate: { actors: status.actors, events: head, rehydrateMs: round(status.rehydrateMs ?? 0), untilRunningMs: round(startMs) },
    };
    await mkdir('bench-results', { recursive: true });
    await writeFile('bench-results/actors.json', `${JSON.stringify(results, null, 2)}\n`);
    await writeFile('bench-results/actors.md', markdown(results));
    log('wrote bench-results/actors.json and bench-results/actors.md');
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function markdown(r: {
  when: string;
  host: { cpus: number; model: string; node: string; loadAverage1m: number };
  phaseMs: number;
  setup: { watchers: number; slotsPerWatcher: number; seconds: number };
  commands: Awaited<ReturnType<typeof measure>>[];
  rehydrate: { actors: number; events: number; rehydrateMs: number; untilRunningMs: number };
}): string {
  const rows = r.commands.map((c) => `| ${c.label} | ${c.concurrency} | ${c.commandsPerSecond} | ${c.eventsPerSecond} | ${c.p50Ms} | ${c.p99Ms} |`);
  return [
    '# Actor runtime benchmark',
    '',
    `${r.when} · ${r.host.cpus} CPUs (${r.host.model}), load average ${r.host.loadAverage1m} · Node ${r.host.node} · embedded store, every append synced · ${r.phaseMs} ms per phase`,
    '',
    `Setup: ${r.setup.watchers} watchers x ${r.setup.slotsPerWatcher} slots created and running in ${r.setup.seconds} s.`,
    '',
    '| durable command | concurrent callers | commands/s | events/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Rehydration: ${r.rehydrate.actors} actors from ${r.rehydrate.events} events in ${r.rehydrate.rehydrateMs} ms; running (timers re-armed, every watcher converged) after ${r.rehydrate.untilRunningMs} ms.`,
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
