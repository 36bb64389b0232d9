// Helpers for the security suites (issue 15): a real `corral serve` with its local minion,
// tokens minted with `corral token`, jobs over real HTTP.
import { httpJson, runCorral, startServerProcess, waitFor, type ServerProcess, type ServerProcessOptions } from '../support/index.js';

const started: ServerProcess[] = [];

export async function startCorral(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ localMinion: true, readyTimeoutMs: 60_000, ...options });
  started.push(server);
  return server;
}

export async function stopCorrals(): Promise<void> {
  await Promise.all(started.splice(0).map((server) => server.stop()));
}

/** A token with `role` on `tenant`, minted with `corral token` from the server's secret. */
export async function mintToken(server: ServerProcess, tenant: string, role: 'read' | 'operate' | 'admin'): Promise<string> {
  const result = await runCorral(['token', '--data-dir', server.dataDir, '--tenant', tenant, '--role', role, '--sub', `${tenant}-${role}`]);
  if (result.code !== 0) throw new Error(`corral token: ${result.stderr}`);
  return result.stdout.trim();
}

export interface JobMinionReturn {
  state: string;
  return?: unknown;
  retcode?: number;
  success?: boolean;
}

export function postJob(server: ServerProcess, tenant: string, token: string, body: Record<string, unknown>) {
  return httpJson(`${server.url}/api/v1/tenants/${tenant}/jobs`, { method: 'POST', token, body: { tgt: '*', timeoutMs: 20_000, ...body } });
}

/** Waits until every minion of the job returned; resolves with the returns by minion id. */
export function waitJob(server: ServerProcess, tenant: string, jid: string): Promise<Record<string, JobMinionReturn>> {
  return waitFor(
    async () => {
      const response = await httpJson(`${server.url}/api/v1/tenants/${tenant}/jobs/${jid}`, { token: server.token });
      const job = response.body as { state: string; minions: Record<string, JobMinionReturn> };
      return response.status === 200 && Object.keys(job.minions).length > 0 && Object.values(job.minions).every((m) => m.state !== 'pending') ? job.minions : null;
    },
    { timeoutMs: 30_000, description: `job ${tenant}:${jid} to return` },
  );
}

/** Waits until the tenant sees at least one connected minion (the local one). */
export function waitMinion(server: ServerProcess, tenant: string): Promise<unknown> {
  return waitFor(
    async () => {
      const response = await httpJson(`${server.url}/api/v1/tenants/${tenant}/minions`, { token: server.token });
      return ((response.body as { items?: { state: string }[] }).items ?? []).some((m) => m.state === 'connected');
    },
    { timeoutMs: 30_000, description: `a connected minion in ${tenant}` },
  );
}

/** The lines of a process's log so far (GET .../processes/{id}/logs). */
export async function logLines(server: ServerProcess, tenant: string, processId: string): Promise<string[]> {
  const response = await httpJson(`${server.url}/api/v1/tenants/${tenant}/processes/${processId}/logs?from=0&limit=1000`, { token: server.token });
  if (response.status !== 200) return [];
  return (response.body as { lines: { line: string }[] }).lines.map((l) => l.line);
}

/** Waits until a process's log has a line matching `pattern`; resolves with every line. */
export function waitLogLine(server: ServerProcess, tenant: string, processId: string, pattern: RegExp): Promise<string[]> {
  return waitFor(
    async () => {
      const lines = await logLines(server, tenant, processId);
      return lines.some((line) => pattern.test(line)) ? lines : null;
    },
    { timeoutMs: 30_000, description: `a line ${pattern} in the log of ${tenant}:${processId}` },
  );
}
