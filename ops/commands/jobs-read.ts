import { CorralError, JID_PATTERN } from '../../store/index.js';
import { requestJson, resolveServerTarget, type ServerTarget } from './client.js';
import { formatMinionResult, resolveTenant, type MinionResult } from './jobs.js';
import { alignColumns } from './table.js';
import { UsageError } from './usage.js';

interface JobView {
  jid: string;
  fun: string;
  args: unknown[];
  tgt: string;
  tgtType: string;
  state: string;
  user: string;
  startTime: number;
  endTime: number | null;
  minions: Record<string, MinionResult>;
}

type Values = { server?: string; token?: string; 'data-dir'?: string; tenant?: string; json?: boolean };

const time = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

async function tenantAndServer(values: Values): Promise<{ server: ServerTarget; tenant: string }> {
  const server = resolveServerTarget(values);
  return { server, tenant: await resolveTenant(server, values.tenant) };
}

/** `corral jobs list`: the tenant's jobs (`GET .../jobs`), oldest first: jid, function, target, state, minions that returned, times. */
export async function listJobs(values: Values, extra: string[]): Promise<number> {
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const { server, tenant } = await tenantAndServer(values);
  const jobs = ((await requestJson(server, 'GET', `/api/v1/tenants/${tenant}/jobs`)) as { items: JobView[] }).items.sort((a, b) => a.startTime - b.startTime);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(jobs)}\n`);
    return 0;
  }
  const rows = jobs.map((job) => {
    const results = Object.values(job.minions);
    return [job.jid, job.fun, `${job.tgtType}:${job.tgt}`, job.state, `${results.filter((r) => r.state === 'returned').length}/${results.length}`, time(job.startTime), time(job.endTime)];
  });
  process.stdout.write(alignColumns([['JID', 'FUN', 'TARGET', 'STATE', 'RETURNED', 'STARTED', 'ENDED'], ...rows]));
  return 0;
}

/** `corral jobs show JID`: one job (`GET .../jobs/{jid}`) and each minion's return, as `jobs run` prints them. */
export async function showJob(values: Values, extra: string[]): Promise<number> {
  const [jid, ...rest] = extra;
  if (jid === undefined) throw new UsageError('the job id is missing: corral jobs show JID');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (!JID_PATTERN.test(jid)) throw new UsageError(`${JSON.stringify(jid)} is not a job id (20 digits, as jobs run and jobs list print them)`);
  const { server, tenant } = await tenantAndServer(values);
  let job: JobView;
  try {
    job = (await requestJson(server, 'GET', `/api/v1/tenants/${tenant}/jobs/${jid}`)) as JobView;
  } catch (error) {
    if (error instanceof CorralError && error.code === 'not-found') throw new CorralError('not-found', `unknown job ${jid} in tenant ${tenant}`, { tenant, jid });
    throw error;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(job)}\n`);
    return 0;
  }
  const lines = [
    `job ${job.jid}: ${job.fun} ${JSON.stringify(job.args)} on ${job.tgtType} ${JSON.stringify(job.tgt)} by ${job.user}`,
    `state ${job.state}, started ${time(job.startTime)}, ended ${time(job.endTime)}`,
    ...Object.entries(job.minions).map(([minion, result]) => formatMinionResult(minion, result)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
