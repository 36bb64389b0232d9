/**
 * Jobs end to end (issue 5): jobs/s and p50/p99 job latency from `POST .../jobs` to the
 * job's `complete` event (every minion's return recorded durably) with 3 real minions: a
 * real `corral serve` process on an embedded store in a temporary directory, its local
 * minion and two remote `corral minion` processes, all on 127.0.0.1. Latency is measured by
 * the client: request sent -> `jobs.complete` received over the native websocket `/ws`.
 * Bounded: `--jobs` (default 3000) with `--concurrency` (default 100) in flight.
 * Writes bench-results/jobs.json and bench-results/jobs.md.
 * Run: `npm run bench:jobs [-- --jobs 3000 --concurrency 100]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { corralBin } from '../modules/supervision/local-minion.js';

export interface JobsBenchOptions {
  jobs?: number;
  /** jobs in flight at once */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface JobsBenchResult {
  jobs: number;
  minions: number;
  concurrency: number;
  seconds: number;
  jobsPerSecond: number;
  returnsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** events appended per job (create, dispatch, returns, complete) */
  eventsPerJob: number;
}

const TENANT = 'bench';
const MINION_IDS = ['local1', 'remote1', 'remote2'];
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The server, its local minion and two remote minions, as separate OS processes. */
async function startCluster(dir: string, log: (line: string) => void): Promise<{ url: string; token: string; children: ChildProcess[]; dataDir: string }> {
  const bin = corralBin();
  const dataDir = join(dir, 'data');
  const config = join(dir, 'corral.yaml');
  writeFileSync(config, `minion: { id: local1 }\ntenants:\n  ${TENANT}: { watchers: {} }\n`);
  const quiet = { ...process.env, CORRAL_LOG_LEVEL: 'warn', CORRAL_MINION_LOG_LEVEL: 'warn' };
  const server = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dataDir, '--config', config, '--log-level', 'warn'], { stdio: 'ignore', env: quiet });
  const info = await until('the server to be ready', () => {
    const file = join(dataDir, 'server.json');
    if (!existsSync(file)) return null;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; url: string };
    return parsed.pid === server.pid ? parsed : null;
  });
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const children = [server];
  for (const id of MINION_IDS.slice(1)) {
    const args = [bin, 'minion', '--server', info.url, '--token', token, '--id', id, '--tenant', TENANT];
    children.push(spawn(process.execPath, args, { stdio: 'ignore', env: { ...quiet } }));
  }
  await until('3 minions connected', async () => {
    const response = await fetch(`${info.url}/api/v1/tenants/${TENANT}/minions`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { items: { id: string; state: string }[] };
    return body.items.filter((m) => m.state === 'connected').length === MINION_IDS.length;
  });
  log(`  server ${info.url} (pid ${server.pid}), minions ${MINION_IDS.join(', ')} connected`);
  return { url: info.url, token, children, dataDir };
}

async function stopCluster(children: ChildProcess[], dataDir: string): Promise<void> {
  const exits = children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))));
  for (const child of children.slice(1)) child.kill('SIGTERM');
  children[0]!.kill('SIGTERM'); // a graceful stop also stops the local minion
  await Promise.race([Promise.all(exits), sleep(20_000)]);
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  // the local minion is detached: make sure it is gone
  try {
    const { pid } = JSON.parse(readFileSync(join(dataDir, 'minion.pid'), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function headPosition(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/tenants/${TENANT}/events?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  return ((await response.json()) as { head: number }).head;
}

export async function runJobsBench({ jobs = 3000, concurrency = 100, log = console.log }: JobsBenchOptions = {}): Promise<JobsBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-jobs-bench-'));
  const cluster = await startCluster(dir, log);
  const { url, token } = cluster;
  // Completions arrive over /ws; a job may complete before its POST has answered.
  const completedAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, 'corral.v1.json', { headers: { authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown> | Record<string, unknown>[];
      for (const item of Array.isArray(message) ? message : [message]) {
        if (item.op === 'subscribed') resolve();
        if (item.op !== 'event') continue;
        const jid = String(item.key).slice(TENANT.length + 1);
        completedAt.set(jid, performance.now());
        waiting.get(jid)?.();
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ op: 'sub', id: 'done', select: `jobs.complete,timeout,cancel.*`, from: 'now', batch: true })));
  });

  const latencies: number[] = [];
  const failures: string[] = [];
  const runOne = async (): Promise<void> => {
    const started = performance.now();
    const response = await fetch(`${url}/api/v1/tenants/${TENANT}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fun: 'test.ping', tgt: '*', timeoutMs: 120_000 }),
    });
    const body = (await response.json()) as { jid: string; minions: string[] };
    if (response.status !== 201 || body.minions.length !== MINION_IDS.length) {
      failures.push(`${response.status} ${JSON.stringify(body).slice(0, 200)}`);
      return;
    }
    if (!completedAt.has(body.jid)) await new Promise<void>((resolve) => waiting.set(body.jid, resolve));
    waiting.delete(body.jid);
    latencies.push(completedAt.get(body.jid)! - started);
    completedAt.delete(body.jid);
  };

  try {
    const warmup = Math.min(200, Math.floor(jobs / 10));
    log(`  warm-up: ${warmup} jobs`);
    for (let i = 0; i < warmup; i++) await runOne();
    latencies.length = 0;
    const headBefore = await headPosition(url, token);
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
          log(`  ${latencies.length}/${jobs} jobs done (${Math.round(latencies.length / ((now - started) / 1000))} jobs/s)`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    if (failures.length > 0) throw new Error(`${failures.length} jobs failed, e.g. ${failures[0]}`);
    await sleep(200);
    const appended = (await headPosition(url, token)) - headBefore;
    latencies.sort((a, b) => a - b);
    return {
      jobs,
      minions: MINION_IDS.length,
      concurrency,
      seconds: Number(seconds.toFixed(2)),
      jobsPerSecond: Math.round(jobs / seconds),
      returnsPerSecond: Math.round((jobs * MINION_IDS.length) / seconds),
      latencyMs: {
        p50: Number(percentile(latencies, 50).toFixed(2)),
        p99: Number(percentile(latencies, 99).toFixed(2)),
        max: Number((latencies.at(-1) ?? 0).toFixed(2)),
      },
      eventsPerJob: Number((appended / jobs).toFixed(2)),
    };
  } finally {
    ws.close();
    await stopCluster(cluster.children, cluster.dataDir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(result: JobsBenchResult, environment: string): string {
  return `# Jobs benchmark (end to end)

${environment}

A real \`corral serve\` (embedded store, every append synced), its local minion and two remote
\`corral minion\` processes on 127.0.0.1. Each job is \`test.ping\` to \`*\` (3 minions) created with
\`POST /api/v1/tenants/bench/jobs\`; its latency runs from the request to the \`jobs.complete\`
event on the native websocket (create, dispatch, 3 durable returns, complete). ${result.concurrency} jobs in flight.

| jobs | seconds | jobs/s | returns/s | p50 ms | p99 ms | max ms | events/job |
|---|---|---|---|---|---|---|---|
| ${result.jobs} | ${result.seconds} | ${result.jobsPerSecond} | ${result.returnsPerSecond} | ${result.latencyMs.p50} | ${result.latencyMs.p99} | ${result.latencyMs.max} | ${result.eventsPerJob} |
`;
}

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const jobs = Number(argValue('jobs') ?? 3000);
  const concurrency = Number(argValue('concurrency') ?? 100);
  const environment = `${new Date().toISOString()} · ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${loadavg()[0]!.toFixed(1)} · Node ${process.version}`;
  console.log(`jobs bench: ${jobs} jobs of test.ping to 3 real minions through a real server, ${concurrency} in flight`);
  const result = await runJobsBench({ jobs, concurrency });
  console.log('jobs  seconds  jobs/s  returns/s  p50 ms  p99 ms  max ms  events/job');
  console.log(
    `${String(result.jobs).padEnd(5)} ${String(result.seconds).padStart(8)} ${String(result.jobsPerSecond).padStart(7)} ${String(result.returnsPerSecond).padStart(10)} ${result.latencyMs.p50.toFixed(2).padStart(7)} ${result.latencyMs.p99.toFixed(2).padStart(7)} ${result.latencyMs.max.toFixed(2).padStart(7)} ${result.eventsPerJob.toFixed(2).padStart(11)}`,
  );
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/jobs.json', `${JSON.stringify({ bench: 'jobs', environment, result }, null, 2)}\n`);
  writeFileSync('bench-results/jobs.md', markdown(result, environment));
  console.log('wrote bench-results/jobs.json and bench-results/jobs.md');
}
