import {
  CorralError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  assertName,
  assertSlot,
  type Position,
} from '../../../store/index.js';
import type { ActorRuntime, JobService, TargetType } from '../../../actors/index.js';
import type { Principal, Role } from '../../auth/index.js';
import { requireJobFunction, type JobGrants } from './job-grants.js';

/**
 * The one table of write commands (README "HTTP"; README "Subscribe from a shell" `cmd`): the HTTP write routes and the
 * native websocket's `cmd` op both dispatch here, so a command means the same thing, needs
 * the same role and validates the same way whichever protocol carries it. Every command
 * validates its input before anything is appended (the runtime and the job service check
 * names, specs, signals, targets and sizes) and resolves with the positions it appended.
 */
export interface CommandDeps {
  runtime: ActorRuntime;
  /** the job service while this node leads; null otherwise */
  jobs(): JobService | null;
  /**
   * Applies the tenant's section of the configuration file as it is now (re-read from disk),
   * like `corral ctl tenant-reconfigure`, recording its digest; resolves with what it appended.
   */
  applyTenantConfigFile(tenant: string, principal: string): Promise<Position[]>;
  /**
   * The job functions the tenant's configuration grants beyond the default (job-grants.ts;
   * `tenants.<t>.jobs.allow`); absent or null: none.
   */
  jobGrants?(tenant: string): JobGrants | null;
}

export interface CommandResult {
  positions: Position[];
  [extra: string]: unknown;
}

/** Same signature as the native websocket's `CommandTable` (gateway/ws), with richer results. */
export type CommandDispatcher = (
  name: string,
  tenant: string,
  args: Record<string, unknown>,
  principal: Principal,
  expectedRevision: number | undefined,
) => Promise<CommandResult>;

interface CommandSpec {
  role: Role;
  /** allowed argument fields; null: checked by the command itself (specs) */
  fields: readonly string[] | null;
  /** a check beyond the role, with the arguments (which job function) */
  authorize?(tenant: string, args: Record<string, unknown>, principal: Principal): void;
  run(tenant: string, args: Record<string, unknown>, subject: string, expectedRevision: number | undefined): Promise<CommandResult>;
}

const positionsOf = (positions: Position[]): CommandResult => ({ positions });

function stringArg(args: Record<string, unknown>, field: string, command: string): string {
  const value = args[field];
  if (value === undefined) throw new InvalidArgumentError(`${command}: missing field "${field}"`, { field });
  if (typeof value !== 'string') throw new InvalidArgumentError(`${command}: field "${field}" must be a string`, { field });
  return value;
}

function rejectUnknown(args: Record<string, unknown>, allowed: readonly string[], command: string): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`${command}: unknown field "${key}" (allowed: ${allowed.length ? allowed.join(', ') : 'none'})`, { field: key });
    }
  }
}

/** `{name, spec: {...}}` or `{name, ...spec}`: the watcher name and the spec part. */
function splitWatcherArgs(args: Record<string, unknown>, command: string): { name: string; spec: unknown } {
  const { name: _name, spec, ...rest } = args;
  const name = assertName('watcher', stringArg(args, 'name', command));
  if (spec !== undefined) {
    if (Object.keys(rest).length > 0) {
      throw new InvalidArgumentError(`${command}: give the spec either in "spec" or as top-level fields, not both (found ${Object.keys(rest).join(', ')})`);
    }
    return { name, spec };
  }
  return { name, spec: rest };
}

/** `web:0` -> watcher and slot. */
export function parseProcessId(id: unknown, field = 'process'): { watcher: string; slot: number } {
  if (typeof id !== 'string') throw new InvalidArgumentError(`${field} must be a string like "web:0"`, { field });
  const match = /^([^:]+):(\d{1,4})$/.exec(id);
  if (!match) throw new InvalidArgumentError(`invalid process id ${JSON.stringify(id.slice(0, 80))}: expected <watcher>:<slot>, e.g. web:0`, { field });
  return { watcher: assertName('watcher', match[1]), slot: assertSlot(Number(match[2])) };
}

/**
 * A watcher's `user`/`group` choose an OS account on the minion (docs/security.md): that is
 * the server operator's decision, not a tenant's, or an acme admin could run its processes
 * as another tenant's account. Through the API only an admin of every tenant (`*`) may set
 * them; the configuration file may too.
 */
function requireAccountRight(principal: Principal, tenant: string, specs: unknown[]): void {
  if (principal.hasClusterRole('admin')) return;
  for (const spec of specs) {
    if (spec === null || typeof spec !== 'object') continue;
    const field = (['user', 'group'] as const).find((name) => (spec as Record<string, unknown>)[name] !== undefined);
    if (field) {
      throw new CorralError(
        'forbidden',
        `${field}: choosing the OS account of a watcher needs admin on every tenant (*), which ${principal.subject} does not have; ` +
          `set tenants.${tenant}.user or the watcher's user in the configuration file instead`,
        { tenant, field, needed: 'admin', on: '*' },
      );
    }
  }
}

/** The specs a watcher command carries: `{name, spec}` or `{name, ...spec}`. */
const watcherSpecsOf = (args: Record<string, unknown>): unknown[] => [args, args.spec];

export function createCommandTable(deps: CommandDeps): { dispatch: CommandDispatcher; names: string[]; roleOf(name: string): Role } {
  const { runtime } = deps;
  const jobsOrUnavailable = (): JobService => {
    const jobs = deps.jobs();
    if (!jobs) throw new UnavailableError('this node does not run jobs (not the leader)', { leaderUrl: runtime.leaderUrl() });
    return jobs;
  };
  /** Jobs belong to a tenant that exists: a `*` minion would otherwise run them for any name. */
  const tenantMustExist = async (tenant: string): Promise<void> => {
    const cell = runtime.supervisor.tenantCell(assertName('tenant', tenant));
    if (!cell.loaded) await runtime.engine.catchUp(cell);
    if ((cell.snapshot as unknown as { value: string }).value !== 'active') throw new NotFoundError(`tenant ${tenant} does not exist`, { tenant });
  };
  const noRevision = (command: string, expectedRevision: number | undefined): void => {
    if (expectedRevision !== undefined) throw new InvalidArgumentError(`${command} does not take an expectedRevision`, { field: 'expectedRevision' });
  };
  const watcherCommand = (kind: 'start' | 'stop' | 'restart' | 'reload' | 'destroy'): CommandSpec => ({
    role: kind === 'destroy' ? 'admin' : 'operate',
    fields: ['name'],
    run: async (tenant, args, subject, rev) => {
      const name = assertName('watcher', stringArg(args, 'name', `watchers.${kind}`));
      const method = { start: 'startWatcher', stop: 'stopWatcher', restart: 'restartWatcher', reload: 'reloadWatcher', destroy: 'destroyWatcher' } as const;
      return positionsOf(await runtime[method[kind]](tenant, name, subject, rev));
    },
  });

  const table: Record<string, CommandSpec> = {
    'tenants.create': {
      role: 'admin',
      fields: [],
      run: async (tenant, _args, subject, rev) => positionsOf(await runtime.createTenant(tenant, subject, rev)),
    },
    'tenants.destroy': {
      role: 'admin',
      fields: [],
      run: async (tenant, _args, subject, rev) => positionsOf(await runtime.destroyTenant(tenant, subject, rev)),
    },
    'tenants.reconfigure': {
      role: 'admin',
      fields: ['watchers'],
      authorize: (tenant, args, principal) => {
        const watchers = args.watchers;
        if (watchers !== null && typeof watchers === 'object') requireAccountRight(principal, tenant, Object.values(watchers));
      },
      run: async (tenant, args, subject, rev) => {
        noRevision('tenants.reconfigure', rev);
        // Without explicit watchers: what the configuration file says now (Zuul's tenant-reconfigure).
        if (args.watchers === undefined) return positionsOf(await deps.applyTenantConfigFile(tenant, subject));
        return positionsOf(await runtime.reconfigureTenant(tenant, args.watchers as Record<string, unknown>, subject));
      },
    },
    'watchers.create': {
      role: 'admin',
      fields: null,
      authorize: (tenant, args, principal) => requireAccountRight(principal, tenant, watcherSpecsOf(args)),
      run: async (tenant, args, subject, rev) => {
        const { name, spec } = splitWatcherArgs(args, 'watchers.create');
        return { positions: await runtime.createWatcher(tenant, name, spec, subject, rev), key: `${tenant}:${name}` };
      },
    },
    'watchers.update': {
      role: 'admin',
      fields: null,
      authorize: (tenant, args, principal) => requireAccountRight(principal, tenant, watcherSpecsOf(args)),
      run: async (tenant, args, subject, rev) => {
        const { name, spec } = splitWatcherArgs(args, 'watchers.update');
        return positionsOf(await runtime.updateWatcher(tenant, name, spec, subject, rev));
      },
    },
    'watchers.start': watcherCommand('start'),
    'watchers.stop': watcherCommand('stop'),
    'watchers.restart': watcherCommand('restart'),
    'watchers.reload': watcherCommand('reload'),
    'watchers.destroy': watcherCommand('destroy'),
    'processes.kill': {
      role: 'operate',
      fields: ['process', 'watcher', 'slot', 'signal'],
      run: async (tenant, args, subject, rev) => {
        let target: { watcher: string; slot: number };
        if (args.process !== undefined) {
          if (args.watcher !== undefined || args.slot !== undefined) throw new InvalidArgumentError('processes.kill: give "process" or "watcher"+"slot", not both');
          target = parseProcessId(args.process);
        } else {
          target = { watcher: assertName('watcher', stringArg(args, 'watcher', 'processes.kill')), slot: assertSlot(args.slot) };
        }
        const signal = args.signal === undefined ? 'SIGTERM' : stringArg(args, 'signal', 'processes.kill');
        return positionsOf(await runtime.killProcess(tenant, target.watcher, target.slot, signal, subject, rev));
      },
    },
    'jobs.create': {
      role: 'operate',
      fields: ['fun', 'args', 'tgt', 'tgtType', 'timeoutMs'],
      // cmd.run and other functions that run commands need admin unless the tenant grants them
      authorize: (tenant, args, principal) => requireJobFunction(principal, tenant, args.fun, deps.jobGrants?.(tenant) ?? null),
      run: async (tenant, args, subject, rev) => {
        noRevision('jobs.create', rev);
        const jobs = jobsOrUnavailable();
        await tenantMustExist(tenant);
        const created = await jobs.createJob({
          tenant,
          fun: args.fun as string,
          args: args.args as unknown[],
          tgt: args.tgt as string,
          tgtType: args.tgtType as TargetType,
          timeoutMs: args.timeoutMs as number,
          principal: subject,
        });
        return { positions: created.positions, jid: created.jid, key: created.key, state: created.state, minions: created.minions };
      },
    },
    'jobs.cancel': {
      role: 'operate',
      fields: ['jid'],
      run: async (tenant, args, subject, rev) => {
        noRevision('jobs.cancel', rev);
        const cancelled = await jobsOrUnavailable().cancelJob(tenant, stringArg(args, 'jid', 'jobs.cancel'), subject);
        return { positions: cancelled.positions, jid: cancelled.jid, state: cancelled.state, cancelled: cancelled.cancelled };
      },
    },
  };
  const names = Object.keys(table).sort();

  const dispatch: CommandDispatcher = async (name, tenant, args, principal, expectedRevision) => {
    const spec = Object.hasOwn(table, name) ? table[name]! : null;
    if (!spec) throw new InvalidArgumentError(`unknown command ${JSON.stringify(String(name).slice(0, 60))}: expected one of ${names.join(', ')}`, { field: 'name' });
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new InvalidArgumentError(`${name}: args must be an object`, { field: 'args' });
    principal.require(tenant, spec.role);
    if (spec.fields) rejectUnknown(args, spec.fields, name);
    spec.authorize?.(tenant, args, principal);
    return spec.run(tenant, args, principal.subject, expectedRevision);
  };
  return { dispatch, names, roleOf: (name) => table[name]?.role ?? 'admin' };
}
