import { randomUUID } from 'node:crypto';
import { assertName, assertSlot, InvalidArgumentError, NotFoundError, type Position } from '../../store/index.js';
import type { TenantSnapshotView } from '../tenant/decide.js';
import type { WatcherSnapshotView } from '../watcher/decide.js';
import type { WatcherSpec } from '../watcher/events.js';
import { diffWatcherSpecs, normalizeSignal, parseWatcherSpec } from '../watcher/spec.js';
import { tenantDefaultUid } from '../minion/tenant-uid.js';
import { currentCorrelation } from './correlation.js';
import { settleFollowUps, type CommandContext } from './engine.js';
import { ActorRuntimeLifecycle, type ActorRuntimeOptions } from './lifecycle.js';

export type { ActorRuntimeOptions, ActorRuntimeStatus } from './lifecycle.js';

/**
 * The actor runtime (docs/architecture.md "Actors and leadership"): tenants, watchers and process slots as actors rebuilt
 * from their streams, commanded by the gateway, fed by minions through `minionSink`. Every
 * command validates its input before anything is appended and resolves with the positions
 * of everything it appended (including the process events it caused).
 *
 * Starting, stopping, leadership and rehydration live in `ActorRuntimeLifecycle`
 * (lifecycle.ts); this class is the command and read API.
 */
export class ActorRuntime extends ActorRuntimeLifecycle {
  private commandContext(principal: string): CommandContext {
    if (typeof principal !== 'string' || principal === '') throw new InvalidArgumentError('a command needs a principal (who asks)');
    const id = randomUUID();
    return { principal, correlationId: currentCorrelation() ?? id, causationId: id };
  }

  /**
   * Before a graceful stop takes the local minion along: every slot running on it is stopped as
   * by a stop command (`kill` with `stop`, then `exit`: state `stopped`) while its watcher keeps
   * wanting it, so nothing backs off or restarts during the shutdown, no retry is counted, and
   * the next start runs each slot again (ops/modules/supervision/README.md, "Stop order").
   * Resolves once every such slot rests, or after `timeoutMs`.
   */
  async stopLocalProcesses(timeoutMs: number): Promise<void> {
    if (this.status().state !== 'running') return;
    this.supervisor.localMinionStopping = true;
    const local = this.supervisor.resolveMinion('local');
    const context = this.commandContext('system');
    const resting = (value: unknown): boolean => value === 'stopped' || value === 'exited' || value === 'fatal';
    const cells = [...this.engine.cells.values()].filter((cell) => {
      if (cell.kind !== 'process' || resting(cell.snapshot.value)) return false;
      return (cell.snapshot.context as { run: { minion: string } | null }).run?.minion === local;
    });
    await Promise.all(
      cells.map(async (cell) => {
        await settleFollowUps(await this.supervisor.runProcess(cell, { kind: 'stop', reason: 'server stopping' }, context));
        await this.engine.waitFor(cell, (state) => resting(state.value), timeoutMs);
      }),
    );
  }

  /** Two tenants never share the default OS account of a root minion (docs/security.md). */
  private assertOwnDefaultUid(tenant: string): void {
    const uid = tenantDefaultUid(tenant);
    for (const cell of this.engine.cells.values()) {
      if (cell.kind !== 'tenant' || cell.tenant === tenant || (cell.snapshot as unknown as TenantSnapshotView).value !== 'active') continue;
      if (tenantDefaultUid(cell.tenant) === uid) {
        throw new InvalidArgumentError(`tenant ${tenant} would share the default OS account (uid ${uid}) of tenant ${cell.tenant}: choose another name`, { field: 'tenant' });
      }
    }
  }

  // --- reads ---------------------------------------------------------------------------------

  /** The watcher's current spec, or null if it does not exist. */
  watcherSpec(tenant: string, name: string): WatcherSpec | null {
    const state = this.supervisor.watcherCell(tenant, name).snapshot as unknown as WatcherSnapshotView;
    return state.value === 'active' || state.value === 'inactive' ? state.context.spec : null;
  }

  /** Names of the tenant's existing watchers. */
  watcherNames(tenant: string): string[] {
    const names: string[] = [];
    for (const cell of this.engine.cells.values()) {
      if (cell.kind !== 'watcher' || cell.tenant !== tenant) continue;
      const state = cell.snapshot as unknown as WatcherSnapshotView;
      if (state.value === 'active' || state.value === 'inactive') names.push(state.context.name);
    }
    return names.sort();
  }

  private async tenantMustExist(tenant: string): Promise<void> {
    const cell = this.supervisor.tenantCell(tenant);
    if (!cell.loaded) await this.engine.catchUp(cell);
    if ((cell.snapshot as unknown as TenantSnapshotView).value !== 'active') {
      throw new NotFoundError(`tenant ${tenant} does not exist`, { tenant });
    }
  }

  // --- commands: tenants ---------------------------------------------------------------------

  async createTenant(tenant: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    this.assertOwnDefaultUid(tenant);
    const context = this.commandContext(principal);
    return settleFollowUps(await this.supervisor.runTenant(this.supervisor.tenantCell(tenant), { kind: 'create' }, context, expectedRevision));
  }

  /** Destroys the tenant's watchers (stopping their processes) first, then the tenant. */
  async destroyTenant(tenant: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    await this.tenantMustExist(tenant);
    const cell = this.supervisor.tenantCell(tenant);
    if (expectedRevision !== undefined && expectedRevision !== cell.revision) {
      return settleFollowUps(await this.supervisor.runTenant(cell, { kind: 'destroy' }, this.commandContext(principal), expectedRevision));
    }
    const positions: Position[] = [];
    for (const name of this.watcherNames(tenant)) positions.push(...(await this.destroyWatcher(tenant, name, principal)));
    const result = await this.supervisor.runTenant(cell, { kind: 'destroy' }, this.commandContext(principal));
    return [...positions, ...(await settleFollowUps(result))];
  }

  /**
   * Makes the tenant's watchers exactly `watchers` (name -> spec as the config file gives it):
   * creates the new, updates the changed, destroys the missing, then records
   * `tenants.reconfigure` with the three lists. Every spec is validated before anything is appended.
   */
  async reconfigureTenant(tenant: string, watchers: Record<string, unknown>, principal: string): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    if (typeof watchers !== 'object' || watchers === null || Array.isArray(watchers)) {
      throw new InvalidArgumentError(`tenants.${tenant}.watchers: must be a map of watcher name to watcher spec`);
    }
    const wanted = new Map<string, WatcherSpec>();
    for (const [name, input] of Object.entries(watchers)) {
      assertName('watcher', name);
      wanted.set(name, parseWatcherSpec(input, `tenants.${tenant}.watchers.${name}`));
    }
    await this.tenantMustExist(tenant);
    const current = this.watcherNames(tenant);
    const added = [...wanted.keys()].filter((name) => !current.includes(name)).sort();
    const removed = current.filter((name) => !wanted.has(name));
    const updated = current.filter((name) => wanted.has(name) && diffWatcherSpecs(this.watcherSpec(tenant, name)!, wanted.get(name)!).length > 0);
    const positions: Position[] = [];
    for (const name of added) positions.push(...(await this.createWatcher(tenant, name, wanted.get(name)!, principal)));
    for (const name of updated) positions.push(...(await this.replaceWatcherSpec(tenant, name, wanted.get(name)!, principal)));
    for (const name of removed) positions.push(...(await this.destroyWatcher(tenant, name, principal)));
    const result = await this.supervisor.runTenant(
      this.supervisor.tenantCell(tenant),
      { kind: 'reconfigure', added, updated, removed },
      this.commandContext(principal),
    );
    return [...positions, ...(await settleFollowUps(result))];
  }

  /**
   * The digest of the configuration file's section last applied to the tenant, or null if
   * none was ever recorded. Read from the stream (in the cell's turn), so a node that just
   * took over the lease sees what its predecessor recorded.
   */
  async tenantConfigDigest(tenant: string): Promise<string | null> {
    this.whenRunning();
    assertName('tenant', tenant);
    const cell = this.supervisor.tenantCell(tenant);
    await cell.mailbox.enqueue(() => this.engine.catchUp(cell));
    return (cell.snapshot as unknown as TenantSnapshotView).context.configDigest;
  }

  /** Records `tenants.config-applied` with the section's digest; appends nothing when it is already the last applied. */
  async recordTenantConfigDigest(tenant: string, digest: string, principal: string): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    const cell = this.supervisor.tenantCell(tenant);
    return settleFollowUps(await this.supervisor.runTenant(cell, { kind: 'record-config-digest', digest }, this.commandContext(principal)));
  }

  // --- commands: watchers --------------------------------------------------------------------

  async createWatcher(tenant: string, name: string, spec: unknown, principal: string, expectedRevision?: number): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    assertName('watcher', name);
    const parsed = parseWatcherSpec(spec, 'spec');
    await this.tenantMustExist(tenant);
    const cell = this.supervisor.watcherCell(tenant, name);
    return settleFollowUps(await this.supervisor.runWatcher(cell, { kind: 'create', spec: parsed }, this.commandContext(principal), expectedRevision));
  }

  /**
   * Applies a partial spec (fields absent keep their values; nested objects merge). Changing
   * `numprocesses` scales; changing what defines a process (cmd, args, env, cwd, ready,
   * minion) of an active watcher rolls a reload.
   */
  async updateWatcher(tenant: string, name: string, patch: unknown, principal: string, expectedRevision?: number): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    assertName('watcher', name);
    const cell = this.supervisor.watcherCell(tenant, name);
    if (!cell.loaded) await this.engine.catchUp(cell);
    const current = this.watcherSpec(tenant, name);
    if (!current) throw new NotFoundError(`watcher ${tenant}:${name} does not exist`, { key: `${tenant}:${name}` });
    const next = parseWatcherSpec(patch, 'spec', current);
    return this.replaceWatcherSpec(tenant, name, next, principal, expectedRevision);
  }

  private async replaceWatcherSpec(tenant: string, name: string, next: WatcherSpec, principal: string, expectedRevision?: number): Promise<Position[]> {
    const cell = this.supervisor.watcherCell(tenant, name);
    const result = await this.supervisor.runWatcher(cell, { kind: 'update', spec: next }, this.commandContext(principal), expectedRevision);
    return settleFollowUps(result);
  }

  startWatcher(tenant: string, name: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    return this.watcherCommand(tenant, name, 'start', principal, expectedRevision);
  }

  stopWatcher(tenant: string, name: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    return this.watcherCommand(tenant, name, 'stop', principal, expectedRevision);
  }

  /** Stops every slot, then starts it again once stopped (records watchers.stop + watchers.start). */
  restartWatcher(tenant: string, name: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    return this.watcherCommand(tenant, name, 'restart', principal, expectedRevision);
  }

  /** Rolling restart: resolves once `watchers.reload` is durable; slots are replaced one at a time after. */
  reloadWatcher(tenant: string, name: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    return this.watcherCommand(tenant, name, 'reload', principal, expectedRevision);
  }

  destroyWatcher(tenant: string, name: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    return this.watcherCommand(tenant, name, 'destroy', principal, expectedRevision);
  }

  private async watcherCommand(
    tenant: string,
    name: string,
    kind: 'start' | 'stop' | 'restart' | 'reload' | 'destroy',
    principal: string,
    expectedRevision?: number,
  ): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    assertName('watcher', name);
    assertExpectedRevision(expectedRevision);
    const cell = this.supervisor.watcherCell(tenant, name);
    return settleFollowUps(await this.supervisor.runWatcher(cell, { kind }, this.commandContext(principal), expectedRevision));
  }

  // --- commands: processes -------------------------------------------------------------------

  /** Sends `signal` to the slot's running process (recorded as `processes.kill`); the restart policy applies if it exits. */
  async killProcess(tenant: string, watcher: string, slot: number, signal: string, principal: string, expectedRevision?: number): Promise<Position[]> {
    this.whenRunning();
    assertName('tenant', tenant);
    assertName('watcher', watcher);
    assertSlot(slot);
    const normalized = normalizeSignal(signal, 'signal');
    assertExpectedRevision(expectedRevision);
    if (!this.watcherSpec(tenant, watcher)) throw new NotFoundError(`watcher ${tenant}:${watcher} does not exist`, { key: `${tenant}:${watcher}` });
    const cell = this.supervisor.processCell(tenant, watcher, slot);
    const result = await this.supervisor.runProcess(cell, { kind: 'kill', signal: normalized }, this.commandContext(principal), expectedRevision);
    return settleFollowUps(result);
  }
}

function assertExpectedRevision(expectedRevision: unknown): void {
  if (expectedRevision === undefined) return;
  if (typeof expectedRevision !== 'number' || !Number.isInteger(expectedRevision) || expectedRevision < -1) {
    throw new InvalidArgumentError(`expectedRevision: must be an integer >= -1 (got ${JSON.stringify(expectedRevision)})`, { field: 'expectedRevision' });
  }
}

export function createActorRuntime(options: ActorRuntimeOptions): ActorRuntime {
  return new ActorRuntime(options);
}
