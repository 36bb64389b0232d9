// Remote `corral minion` processes and job helpers for the jobs end-to-end suites.
import { spawn, type ChildProcess } from 'node:child_process';
import { CORRAL_BIN, REPO_ROOT, waitFor, type ServerProcess } from '../support/index.js';
import { api } from '../supervision/support.js';

export interface RemoteMinion {
  id: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const started = new Set<RemoteMinion>();

/** A `corral minion` in its own OS process, following the server through its server.json. */
export function startRemoteMinion(server: ServerProcess, id: string, grains: Record<string, string>): RemoteMinion {
  const args = [CORRAL_BIN, 'minion', '--server-file', `${server.dataDir}/server.json`, '--token-file', `${server.dataDir}/admin.token`, '--id', id, '--tenant', 'acme'];
  for (const [key, value] of Object.entries(grains)) args.push('--grain', `${key}=${value}`);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CORRAL_LOG_LEVEL: 'warn' } });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const minion: RemoteMinion = {
    id,
    child,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      started.delete(minion);
    },
  };
  started.add(minion);
  return minion;
}

export async function stopRemoteMinions(): Promise<void> {
  await Promise.all([...started].map((minion) => minion.kill('SIGTERM')));
}

process.once('exit', () => {
  for (const minion of started) minion.child.kill('SIGKILL');
});

export interface JobMinion {
  state: 'pending' | 'returned' | 'timeout';
  return?: unknown;
  retcode?: number;
  success?: boolean;
}
export interface JobObject {
  jid: string;
  state: string;
  minions: Record<string, JobMinion>;
}

/** The ids of connected minions (the minions view). */
export async function connectedMinions(server: ServerProcess): Promise<string[]> {
  const response = await api(server).get('/api/v1/tenants/acme/minions');
  return ((response.body as { items: { id: string; state: string }[] }).items ?? []).filter((m) => m.state === 'connected').map((m) => m.id).sort();
}

export function waitMinions(server: ServerProcess, ids: string[], timeoutMs = 30_000): Promise<string[]> {
  const wanted = [...ids].sort();
  return waitFor(async () => {
    const connected = await connectedMinions(server);
    return JSON.stringify(connected) === JSON.stringify(wanted) ? connected : null;
  }, { timeoutMs, description: `minions ${wanted.join(', ')} connected` });
}

export async function createJob(server: ServerProcess, body: Record<string, unknown>): Promise<{ jid: string; minions: string[] }> {
  const response = await api(server).post('/api/v1/tenants/acme/jobs', body);
  if (response.status !== 201) throw new Error(`create job: ${response.status} ${response.text}`);
  return response.body as { jid: string; minions: string[] };
}

const FINISHED = ['complete', 'failed', 'timeout', 'cancelled'];

/** Waits until the job view shows the job finished (and every minion settled). */
export function waitJob(server: ServerProcess, jid: string, timeoutMs = 30_000): Promise<JobObject> {
  return waitFor(async () => {
    const response = await api(server).get(`/api/v1/tenants/acme/jobs/${jid}`);
    const job = response.body as JobObject;
    // a cancelled job leaves the minions that never answered `pending`
    return response.status === 200 && FINISHED.includes(job.state) && (job.state === 'cancelled' || Object.values(job.minions).every((m) => m.state !== 'pending')) ? job : null;
  }, { timeoutMs, intervalMs: 50, description: `job ${jid} to finish` });
}
