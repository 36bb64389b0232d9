import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseDocument } from 'yaml';
import { WATCHER_SPEC_DEFAULTS, type WatcherSpec } from '../../actors/index.js';
import { CorralError, InvalidArgumentError } from '../../store/index.js';
import { parseConfigText, type TenantConfig } from '../config/index.js';
import { requestJson, resolveServerTarget, type ServerTarget } from './client.js';
import { CONTROL_FLAGS, CONTROL_USAGE, DEFAULT_TIMEOUT_MS, postCommand } from './control.js';
import { describeChanges, readProcesses, waitForProcesses, type ProcessSnapshot, type ProcessView } from './processes.js';
import { integerFlag, parseFlags, UsageError } from './usage.js';
import { PROCESS_DEFINING_FIELDS } from '../../actors/index.js';

export const usage = `corral apply ${CONTROL_USAGE} [--yes|-y] [--dry-run] --file|-f FILE`;

const FLAGS = { ...CONTROL_FLAGS, file: { type: 'string', short: 'f' }, yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' } } as const;

/** The watcher fields the watchers view shows (GET .../watchers): the ones the diff compares. */
const COMPARED_FIELDS = Object.keys(WATCHER_SPEC_DEFAULTS) as (keyof WatcherSpec)[];

type WatcherView = { name: string } & Record<string, unknown>;

/** One tenant's difference between the file and the server. */
interface TenantDiff {
  tenant: string;
  /** the tenant does not exist yet: `PUT /api/v1/tenants/{t}` first */
  create: boolean;
  add: string[];
  change: { name: string; fields: { field: string; from: unknown; to: unknown }[] }[];
  remove: string[];
  section: TenantConfig;
}

const changes = (diff: TenantDiff): boolean => diff.create || diff.add.length + diff.change.length + diff.remove.length > 0;

/**
 * Reads FILE with the configuration file's own parser (ops/config: YAML, anchors, `${ENV}`,
 * the same validation and error paths as `corral serve --config`), keeping only `tenants`
 * with their `watchers`: apply declares watchers, and the other sections (server, auth,
 * tenant `user`/`group`/`jobs`) only mean something in the server's own config file.
 */
function readTenants(path: string): Record<string, TenantConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const config = parseConfigText(text, file);
  const raw = parseDocument(text, { merge: true }).toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  const other = Object.keys(raw).filter((key) => key !== 'tenants' && !key.startsWith('x-'));
  if (other.length > 0) throw new InvalidArgumentError(`${file}: ${other[0]}: apply takes only tenants (their watchers); ${other[0]} is set in the server's config file`, { field: other[0] });
  for (const [tenant, section] of Object.entries(config.tenants)) {
    for (const field of ['user', 'group', 'jobs'] as const) {
      if (section[field] !== undefined) {
        throw new InvalidArgumentError(`${file}: tenants.${tenant}.${field}: apply declares watchers only; a tenant's ${field} is set in the server's config file`, { field: `tenants.${tenant}.${field}` });
      }
    }
  }
  if (Object.keys(config.tenants).length === 0) throw new InvalidArgumentError(`${file}: tenants: no tenant to apply`, { field: 'tenants' });
  return config.tenants;
}

const isNotFound = (error: unknown): boolean => error instanceof CorralError && error.code === 'not-found';

/** Compares a tenant's section with what the server's watchers view shows. */
async function diffTenant(server: ServerTarget, tenant: string, section: TenantConfig): Promise<TenantDiff> {
  // a destroyed tenant stays in the tenants view as `deleted`: PUT creates it again
  let create = false;
  try {
    create = ((await requestJson(server, 'GET', `/api/v1/tenants/${tenant}`)) as { state: string }).state !== 'active';
  } catch (error) {
    if (!isNotFound(error)) throw error;
    create = true;
  }
  const current = create ? [] : ((await requestJson(server, 'GET', `/api/v1/tenants/${tenant}/watchers`)) as { items: WatcherView[] }).items;
  const byName = new Map(current.map((watcher) => [watcher.name, watcher]));
  const diff: TenantDiff = { tenant, create, add: [], change: [], remove: [], section };
  for (const [name, spec] of Object.entries(section.watchers).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const now = byName.get(name);
    if (!now) {
      diff.add.push(name);
      continue;
    }
    const fields = COMPARED_FIELDS.filter((field) => JSON.stringify(canonical(now[field])) !== JSON.stringify(canonical(spec[field]))).map((field) => ({
      field,
      from: now[field],
      to: spec[field],
    }));
    if (fields.length > 0) diff.change.push({ name, fields });
  }
  diff.remove = current.map((watcher) => watcher.name).filter((name) => !Object.hasOwn(section.watchers, name)).sort();
  return diff;
}

/** Keys sorted, undefined dropped: two specs that differ only in key order are equal. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value ?? null;
  return Object.fromEntries(Object.keys(value).sort().filter((key) => (value as Record<string, unknown>)[key] !== undefined).map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
}

const show = (value: unknown): string => JSON.stringify(value ?? null);

function formatDiff(diff: TenantDiff): string[] {
  const lines = [`tenant ${diff.tenant}${diff.create ? ' (new tenant)' : ''}:`];
  for (const name of diff.add) {
    const spec = diff.section.watchers[name]!;
    lines.push(`  + ${diff.tenant}:${name} (numprocesses ${spec.numprocesses}: ${[spec.cmd, ...spec.args].join(' ')})`);
  }
  for (const { name, fields } of diff.change) {
    lines.push(`  ~ ${diff.tenant}:${name}: ${fields.map((f) => `${f.field} ${show(f.from)} → ${show(f.to)}`).join(', ')}`);
  }
  for (const name of diff.remove) lines.push(`  - ${diff.tenant}:${name}`);
  return lines;
}

/**
 * The fields whose change rolls a reload of an active watcher (README "HTTP": PATCH; the
 * watcher's decide step): until every slot runs a new process, the old ones would look converged.
 */
const RELOADING_FIELDS = PROCESS_DEFINING_FIELDS;

/**
 * The tenant's processes view is the section: each watcher's slots, running (stopped if
 * inactive), with new processes where a reload was rolled; no slot of another watcher.
 */
function converged(snapshot: ProcessSnapshot, diff: TenantDiff, before: ProcessView[]): boolean {
  const { section } = diff;
  const reloaded = new Set(diff.change.filter(({ fields }) => fields.some((f) => RELOADING_FIELDS.has(f.field))).map(({ name }) => name));
  const oldPids = new Map(before.map((p) => [p.key, p.pid]));
  const byWatcher = new Map<string, ProcessView[]>();
  for (const p of snapshot.processes) byWatcher.set(p.watcher, [...(byWatcher.get(p.watcher) ?? []), p]);
  for (const watcher of byWatcher.keys()) if (!Object.hasOwn(section.watchers, watcher)) return false;
  return Object.entries(section.watchers).every(([name, spec]) => {
    const slots = byWatcher.get(name) ?? [];
    if (slots.length !== spec.numprocesses) return false;
    if (spec.active === false) return slots.every((p) => p.state === 'stopped');
    return slots.every((p) => p.state === 'running' && (!reloaded.has(name) || (p.pid !== null && p.pid !== oldPids.get(p.key))));
  });
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * `corral apply -f FILE`: makes each tenant of FILE have exactly the watchers its section
 * declares, like `kubectl apply`: prints the diff, asks on a TTY (or `--yes`), then per tenant
 * `PUT /api/v1/tenants/{t}` if it is missing and `POST .../reconfigure` with `{"watchers"}`.
 * That is an API change, not an application of the server's config file (docs/operations.md
 * "How the configuration file is applied"): no digest is recorded, and the next start applies
 * the server's own file to a tenant only if that file's section changed.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.file === undefined) throw new UsageError('the file is missing: corral apply -f FILE');
  const timeoutMs = integerFlag(values.timeout, '--timeout', 1, 86_400_000) ?? DEFAULT_TIMEOUT_MS;
  const tenants = readTenants(values.file);
  const server = resolveServerTarget(values);
  const diffs: TenantDiff[] = [];
  for (const [tenant, section] of Object.entries(tenants)) diffs.push(await diffTenant(server, tenant, section));
  const changed = diffs.filter(changes);
  if (changed.length === 0) {
    process.stdout.write('no changes\n');
    return 0;
  }
  process.stdout.write(`${changed.flatMap(formatDiff).join('\n')}\n`);
  if (values['dry-run']) {
    process.stdout.write('dry run: nothing changed\n');
    return 0;
  }
  if (!values.yes) {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw new InvalidArgumentError('not a terminal, so there is no one to confirm: pass --yes to apply (or --dry-run to only show the diff)');
    }
    if (!(await confirm('apply these changes? [y/N] '))) {
      process.stdout.write('not applied: nothing changed\n');
      return 0;
    }
  }
  for (const diff of changed) {
    const target = { tenant: diff.tenant };
    const before = diff.create ? [] : (await readProcesses(server, target)).processes;
    if (diff.create) await postCommand(server, `/api/v1/tenants/${diff.tenant}`, undefined, 'PUT');
    const position = await postCommand(server, `/api/v1/tenants/${diff.tenant}/reconfigure`, { watchers: diff.section.watchers });
    if (values['no-wait']) {
      process.stdout.write(`${diff.tenant}: applied${position === null ? '' : ` (position ${position})`}\n`);
      continue;
    }
    const after = await waitForProcesses(server, target, (snapshot) => converged(snapshot, diff, before), {
      afterPosition: position,
      timeoutMs,
      waitingFor: `${diff.tenant}: every slot of the file's watchers running, and no other`,
    });
    process.stdout.write(`${describeChanges(before, after.processes).join('\n')}\n`);
  }
  return 0;
}
