/**
 * Job throughput and latency: jobs/s end to end (create -> every minion's return recorded
 * durably -> complete) with 3 minions answering `test.ping`, and p50/p99 job latency.
 * The job service runs against the real store (embedded LMDB in a temporary directory by
 * default, or memory) with in-process loopback minions that answer at once, so this
 * measures the actor side: deciding, appending with expected revisions, mailbox batching.
 * Run: `npm run bench:jobs [-- --jobs 5000 --concurrency 200 --store embedded|memory]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createJobService, type ConnectedMinion, type JobService, type MinionCommand, type MinionPort } from '../../actors/index.js';
import { openStore, type EventStore } from '../../store/index.js';

export interface JobsBenchOptions {
  jobs?: number;
  /** jobs in flight at once */
  concurrency?: number;
  minions?: number;
  store?: 'embedded' | 'memory';
  log?: (line: string) => void;
}

export interface JobsBenchResult {
  store: string;
  jobs: number;
  minions: number;
  concurrency: number;
  jobsPerSecond: number;
  returnsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** events appended per job (create, dispatch, returns, complete) */
  eventsPerJob: number;
}

const TENANT = 'bench';

/** Minions in the same process: each runJob is answered on the next microtask, like a very fast agent. */
class LoopbackMinions implements MinionPort {
  service!: JobService;
  private readonly list: ConnectedMinion[];
  onReturned: (jid: string) => void = () => {};

  constructor(count: number) {
    this.list = Array.from({ length: count }, (_, index) => ({
      id: `minion${index + 1}`,
      tenant: TENANT,
      key: `${TENANT}:minion${index + 1}`,
      version: 'bench',
      protocol: 1,
      grains: { os: 'linux', arch: 'x64', hostname: `minion${index + 1}`, cpus: 1, memory: 1, nodeVersion: process.version },
    }));
  }

  connected(tenant: string): ConnectedMinion[] {
    return tenant === TENANT ? this.list : [];
  }

  send(minionId: string, command: MinionCommand): boolean {
    if (command.kind !== 'runJob') return true;
    queueMicrotask(() => {
      void this.service
        .handleReturn(minionId, { kind: 'jobReturn', tenant: TENANT, jid: command.jid, minion: minionId, return: true, retcode: 0, success: true, durationMs: 0 })
        .then(() => this.onReturned(command.jid));
    });
    return true;
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

export async function runJobsBench({ jobs = 5000, concurrency = 200, minions = 3, store: kind = 'embedded', log = console.log }: JobsBenchOptions = {}): Promise<JobsBenchResult> {
  const dataDir = kind === 'embedded' ? mkdtempSync(join(tmpdir(), 'corral-jobs-bench-')) : undefined;
  const store: EventStore = await openStore(dataDir ? { kind, dataDir } : { kind });
  const port = new LoopbackMinions(minions);
  const service = createJobService({ store, minions: port, node: 'bench:1', maxConcurrentJobs: concurrency + 10 });
  port.service = service;
  const returnsByJid = new Map<string, { started: number; returns: number; done: () => void }>();
  port.onReturned = (jid) => {
    const job = returnsByJid.get(jid);
    if (job && ++job.returns === minions) job.done();
  };
  const latencies: number[] = [];

  const runOne = async (): Promise<void> => {
    const started = performance.now();
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const job = await service.createJob({ tenant: TENANT, fun: 'test.ping', tgt: '*', timeoutMs: 600_000, principal: 'bench' });
    // returns may already be in flight; count those recorded before we registered
    const entry = { started, returns: 0, done };
    returnsByJid.set(job.jid, entry);
    const described = await service.describeJob(TENANT, job.jid);
    entry.returns = Math.max(entry.returns, described.returned.length);
    if (entry.returns >= minions) done();
    await finished;
    returnsByJid.delete(job.jid);
    latencies.push(performance.now() - started);
  };

  try {
    const warmup = Math.min(200, Math.floor(jobs / 10));
    for (let i = 0; i < warmup; i++) await runOne();
    latencies.length = 0;
    const headBefore = await store.headPosition();
    const started = performance.now();
    let issued = 0;
    let lastReport = started;
    const worker = async (): Promise<void> => {
      while (issued < jobs) {
        issued++;
        await runOne();
        const now = performance.now();
        if (now - lastReport > 2000) {
          lastReport = now;
          log(`  ${latencies.length}/${jobs} jobs done`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const appended = (await store.headPosition()) - headBefore;
    latencies.sort((a, b) => a - b);
    const result: JobsBenchResult = {
      store: kind,
      jobs,
      minions,
      concurrency,
      jobsPerSecond: Math.round(jobs / elapsedSeconds),
      returnsPerSecond: Math.round((jobs * minions) / elapsedSeconds),
      latencyMs: {
        p50: Number(percentile(latencies, 50).toFixed(2)),
        p99: Number(percentile(latencies, 99).toFixed(2)),
        max: Number((latencies.at(-1) ?? 0).toFixed(2)),
      },
      eventsPerJob: Number((appended / jobs).toFixed(2)),
    };
    return result;
  } finally {
    await service.stop();
    await store.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stores = (argValue('store') ?? 'embedded,memory').split(',') as ('embedded' | 'memory')[];
  const jobs = Number(argValue('jobs') ?? 5000);
  const concurrency = Number(argValue('concurrency') ?? 200);
  const results: JobsBenchResult[] = [];
  for (const store of stores) {
    console.log(`jobs bench: ${jobs} jobs of test.ping to 3 minions, ${concurrency} in flight, ${store} store`);
    results.push(await runJobsBench({ jobs, concurrency, store }));
  }
  console.log('store     jobs/s  returns/s  p50 ms  p99 ms  max ms  events/job');
  for (const r of results) {
    console.log(
      `${r.store.padEnd(8)} ${String(r.jobsPerSecond).padStart(7)} ${String(r.returnsPerSecond).padStart(10)} ${r.latencyMs.p50.toFixed(2).padStart(7)} ${r.latencyMs.p99.toFixed(2).padStart(7)} ${r.latencyMs.max.toFixed(2).padStart(7)} ${r.eventsPerJob.toFixed(2).padStart(11)}`,
    );
  }
  console.log(JSON.stringify({ bench: 'jobs', results }));
}
