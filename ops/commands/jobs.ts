import { isValidName } from '../../store/index.js';
import { requestJson, resolveServerTarget, SERVER_FLAGS, sleep, type ServerTarget } from './client.js';
import { integerFlag, parseFlags, UsageError } from './usage.js';

export const usage = [
  'corral jobs run [--server URL] [--token T] [--tenant T] --tgt TGT [--tgt-type glob|list|grain] [--timeout MS] [--json] FUN [ARGS...]',
  'corral jobs list [--server URL] [--token T] [--tenant T] [--json]',
  'corral jobs show [--server URL] [--token T] [--tenant T] [--json] JID',
].join('\n  ');

const POLL_MS = 100;
const FINISHED = new Set(['complete', 'failed', 'timeout', 'cancelled']);

export interface MinionResult {
  state: 'pending' | 'returned' | 'timeout';
  return?: unknown;
  retcode?: number;
  success?: boolean;
  durationMs?: number;
}

/** Salt's way with CLI arguments: numbers, booleans, null, JSON arrays/objects are typed; anything else is a string. */
export function parseJobArgument(text: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(text) || /^[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One minion's result as `jobs run` and `jobs show` print it. */
export function formatMinionResult(minion: string, result: MinionResult): string {
  if (result.state === 'pending') return `${minion}: pending`;
  if (result.state === 'timeout') return `${minion}: TIMEOUT (no return)`;
  return `${minion}: ${result.success ? 'ok' : 'FAILED'} retcode=${result.retcode} (${result.durationMs ?? 0} ms)\n  ${describeReturn(result.return).replace(/\n/g, '\n  ')}`;
}

function describeReturn(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'stdout' in (value as object)) {
    const { stdout, stderr } = value as { stdout?: string; stderr?: string };
    return [stdout, stderr].filter((part) => typeof part === 'string' && part !== '').join('').replace(/\n$/, '');
  }
  return JSON.stringify(value);
}

/** Picks the tenant: --tenant, CORRAL_TENANT, or the only tenant the token sees. */
export async function resolveTenant(target: ServerTarget, given: string | undefined): Promise<string> {
  const tenant = given ?? process.env.CORRAL_TENANT;
  if (tenant) {
    if (!isValidName(tenant)) throw new UsageError(`--tenant ${JSON.stringify(tenant)} is not a valid tenant name`);
    return tenant;
  }
  const list = (await requestJson(target, 'GET', '/api/v1/tenants')) as { items: { name: string; state: string }[] };
  const active = list.items.filter((item) => item.state === 'active').map((item) => item.name);
  if (active.length === 1) return active[0]!;
  throw new UsageError(active.length === 0 ? 'no tenant exists: give --tenant' : `several tenants (${active.join(', ')}): give --tenant`);
}

/**
 * `corral jobs run`: creates the job, then follows it (polling `GET .../jobs/{jid}` every
 * 100 ms) and prints each minion's return as it arrives, then a summary. Exit code 0 only
 * if every targeted minion returned success; 1 if any failed or timed out, or none matched.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...SERVER_FLAGS,
      tenant: { type: 'string' },
      tgt: { type: 'string' },
      'tgt-type': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const [sub, fun, ...rawArgs] = positionals;
  if (sub === 'list' || sub === 'show') {
    if (values.tgt !== undefined || values['tgt-type'] !== undefined || values.timeout !== undefined) throw new UsageError(`--tgt, --tgt-type and --timeout are for jobs run, not jobs ${sub}`);
    const { listJobs, showJob } = await import('./jobs-read.js');
    return sub === 'list' ? listJobs(values, positionals.slice(1)) : showJob(values, positionals.slice(1));
  }
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'a subcommand is needed: run, list or show' : `unknown jobs subcommand ${JSON.stringify(sub)}: expected run, list or show`);
  if (!fun) throw new UsageError('the function to run is missing (e.g. test.ping, cmd.run)');
  if (values.tgt === undefined) throw new UsageError('--tgt is required (e.g. --tgt "*")');
  const tgtType = values['tgt-type'] ?? 'glob';
  const timeoutMs = integerFlag(values.timeout, '--timeout', 10, 86_400_000);
  const target = resolveServerTarget(values);
  const tenant = await resolveTenant(target, values.tenant);
  const body: Record<string, unknown> = { fun, args: rawArgs.map(parseJobArgument), tgt: values.tgt, tgtType };
  if (timeoutMs !== undefined) body.timeoutMs = timeoutMs;
  const started = Date.now();
  const created = (await requestJson(target, 'POST', `/api/v1/tenants/${tenant}/jobs`, body)) as { jid: string; minions: string[] };
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  if (!values.json) out(`job ${created.jid}: ${fun} on ${created.minions.length} minion(s)${created.minions.length ? ` (${created.minions.join(', ')})` : ''}`);
  if (created.minions.length === 0) {
    process.stderr.write(`corral jobs: no minion matched ${tgtType} target ${JSON.stringify(values.tgt)}\n`);
    return 1;
  }
  const printed = new Set<string>();
  type JobView = { state: string; minions: Record<string, MinionResult> };
  let job = null as JobView | null;
  const deadline = started + (timeoutMs ?? 60_000) + 30_000;
  for (;;) {
    try {
      job = (await requestJson(target, 'GET', `/api/v1/tenants/${tenant}/jobs/${created.jid}`)) as JobView;
    } catch (error) {
      // the views of this node may not have folded the job yet
      if ((error as { code?: string }).code !== 'not-found' || Date.now() > deadline) throw error;
    }
    for (const [minion, result] of Object.entries(job?.minions ?? {})) {
      if (result.state === 'pending' || printed.has(minion)) continue;
      printed.add(minion);
      if (values.json) out(JSON.stringify({ minion, ...result }));
      else out(formatMinionResult(minion, result));
    }
    // a cancelled job leaves the minions that had not answered `pending`
    if (job && FINISHED.has(job.state) && (job.state === 'cancelled' || Object.values(job.minions).every((result) => result.state !== 'pending'))) break;
    if (Date.now() > deadline) throw new Error(`job ${created.jid} did not finish in time (state ${job?.state ?? 'unknown'})`);
    await sleep(POLL_MS);
  }
  const finished = job as JobView;
  const results = Object.values(finished.minions);
  const failed = results.filter((result) => result.state === 'returned' && !result.success).length;
  const timedOut = results.filter((result) => result.state !== 'returned').length;
  const summary = { jid: created.jid, state: finished.state, minions: results.length, succeeded: results.length - failed - timedOut, failed, timedOut, seconds: (Date.now() - started) / 1000 };
  if (values.json) out(JSON.stringify({ summary }));
  else out(`job ${summary.jid} ${summary.state}: ${summary.succeeded} succeeded, ${failed} failed, ${timedOut} timed out (${summary.seconds.toFixed(1)} s)`);
  return failed + timedOut > 0 || finished.state !== 'complete' ? 1 : 0;
}
