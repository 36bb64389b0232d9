import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { processStream, tenantStream, watcherKey, processKey, watcherStream, type Position } from '../../store/index.js';
import type { AccountRequest, MinionPort, TenantAccountLookup } from '../minion/port.js';
import { decideProcess, type ProcessCommand, type ProcessSnapshotView, type SlotWish } from '../process/decide.js';
import { evolveProcess, initialProcessState } from '../process/evolve.js';
import { processMachine, type SendSignalParams, type SendSpawnParams } from '../process/machine.js';
import { evolveTenant, initialTenantState } from '../tenant/evolve.js';
import { evolveWatcher, initialWatcherState } from '../watcher/evolve.js';
import { decideTenant, type TenantCommand, type TenantSnapshotView } from '../tenant/decide.js';
import { tenantMachine } from '../tenant/machine.js';
import { decideWatcher, type WatcherCommand, type WatcherSnapshotView } from '../watcher/decide.js';
import { watcherMachine } from '../watcher/machine.js';
import type { Clock } from './clock.js';
import { settleFollowUps, type ActorBehaviour, type ActorCell, type ActorEngine, type CommandContext, type ExecutionResult, type FollowUp, type Logger } from './engine.js';

/** A live CPU/memory sample (published on `stats$`; stored at most once a minute per process). */
export interface ProcessStatsSample {
  tenant: string;
  processKey: string;
  runId: string;
  pid: number;
  cpu: number;
  rss: number;
  /** ms epoch */
  time: number;
}

export interface SupervisorOptions {
  minions: MinionPort;
  clock: Clock;
  logger: Logger;
  /** the id `minion: local` stands for */
  localMinion: string;
  newId: () => string;
  maxBackoffMs: number;
  statsIntervalMs: number;
  /** after a stop's killAt, wait this long for the minion's own SIGKILL before sending one */
  killGraceMs: number;
  /** how long a rolling reload waits for one slot's replacement to become ready */
  reloadSlotTimeoutMs: number;
  tenantAccount: TenantAccountLookup;
}

const REPORTED_FACTS: ReadonlySet<ProcessCommand['kind']> = new Set(['spawned', 'spawnFailed', 'ready', 'exited', 'runMissing']);

const NO_SLOT_WISH: Omit<SlotWish, 'minion'> = {
  wanted: false,
  restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
  stopSignal: 'SIGTERM',
  stopWaitMs: 5000,
};

/**
 * The account a watcher's processes run as: its own `user` (with its `group`, else that
 * user's primary group), else the tenant's account, with the watcher's `group` if it names
 * one. Only defined fields are sent.
 */
export function runAccount(spec: { user?: string; group?: string }, tenant: AccountRequest | null): AccountRequest {
  const user = spec.user ?? tenant?.user;
  const group = spec.group ?? (spec.user === undefined ? tenant?.group : undefined);
  return { ...(user === undefined ? {} : { user }), ...(group === undefined ? {} : { group }) };
}

/**
 * The supervision layer over the engine (not the minion's process Supervisor, ops/minion):
 * which cell is which actor, how a process slot learns its watcher's wish, the named effects
 * (tell a minion, converge slots, roll a reload) and the recorded timers (restartAt, killAt)
 * re-armed from state.
 */
export class ActorSupervisor {
  readonly stats$ = new Subject<ProcessStatsSample>();
  readonly processLogic;
  readonly watcherLogic;
  readonly tenantLogic = tenantMachine;
  private readonly behaviours;
  /** watcher key -> reloadId being rolled by this node */
  private readonly reloading = new Map<string, string>();
  /** false once stopping: timers and background reloads stop acting */
  active = false;
  /**
   * Set while a graceful stop takes the local minion along: its slots are not wanted for the
   * rest of this node's life, so an exit restarts nothing (runtime.stopLocalProcesses).
   */
  localMinionStopping = false;

  constructor(
    readonly engine: ActorEngine,
    readonly options: SupervisorOptions,
  ) {
    this.processLogic = processMachine.provide({
      actions: {
        sendSpawn: (_, params) => this.sendSpawn(this.scope().cell, params as SendSpawnParams),
        sendSignal: (_, params) => this.sendSignal(this.scope().cell, params as SendSignalParams),
        slotSettled: () => {
          const { cell, context, followUps } = this.scope();
          // a slot at rest converges with its watcher's wish (restart after a stop, nothing if unwanted)
          followUps.push(this.runProcess(cell, { kind: 'start', reset: false }, context).then(settleFollowUps));
        },
      },
    });
    this.watcherLogic = watcherMachine.provide({
      actions: {
        convergeSlots: (_, params) => {
          const { cell, context, followUps } = this.scope();
          followUps.push(this.convergeWatcher(cell, context, (params as { wantedSlots: number }).wantedSlots));
        },
        rollReload: (_, params) => {
          const { cell, context } = this.scope();
          // a rolling reload outlives the command that asked for it: not a follow-up
          this.startReload(cell, (params as { reloadId: string }).reloadId, context);
        },
      },
    });
    this.behaviours = {
      tenant: { logic: this.tenantLogic, evolve: evolveTenant },
      watcher: { logic: this.watcherLogic, evolve: evolveWatcher },
      process: { logic: this.processLogic, evolve: evolveProcess },
    } satisfies Record<string, ActorBehaviour>;
  }

  private behaviour(kind: 'tenant' | 'watcher' | 'process'): ActorBehaviour {
    return this.behaviours[kind];
  }

  private scope() {
    const scope = this.engine.scope;
    if (!scope) throw new Error('actor effect ran outside an effect scope');
    return scope;
  }

  // --- cells -------------------------------------------------------------------------------

  tenantCell(tenant: string): ActorCell {
    return this.engine.cell('tenant', tenantStream(tenant), tenant, tenant, this.behaviour('tenant'), () => initialTenantState({ name: tenant }));
  }

  watcherCell(tenant: string, name: string): ActorCell {
    const key = watcherKey(tenant, name);
    return this.engine.cell('watcher', watcherStream(tenant, name), key, tenant, this.behaviour('watcher'), () => initialWatcherState({ tenant, name, key }));
  }

  processCell(tenant: string, watcher: string, slot: number): ActorCell {
    const key = processKey(tenant, watcher, slot);
    return this.engine.cell('process', processStream(tenant, watcher, slot), key, tenant, this.behaviour('process'), () =>
      initialProcessState({ key, tenant, watcher, slot }),
    );
  }

  watcherOf(cell: ActorCell): ActorCell {
    const { tenant, watcher } = cell.snapshot.context as { tenant: string; watcher: string };
    return this.watcherCell(tenant, watcher);
  }

  resolveMinion(minion: string): string {
    return minion === 'local' ? this.options.localMinion : minion;
  }

  /** What the watcher wants of this slot right now. */
  wish(cell: ActorCell): SlotWish {
    const watcher = this.watcherOf(cell).snapshot as unknown as WatcherSnapshotView;
    const spec = watcher.context.spec;
    const slot = (cell.snapshot.context as { slot: number }).slot;
    if (!spec) return { ...NO_SLOT_WISH, minion: this.options.localMinion };
    const minion = this.resolveMinion(spec.minion);
    return {
      wanted: watcher.value === 'active' && slot < spec.numprocesses && !(this.localMinionStopping && minion === this.options.localMinion),
      minion,
      restart: spec.restart,
      stopSignal: spec.stopSignal,
      stopWaitMs: spec.stopWaitMs,
    };
  }

  // --- commands to actors --------------------------------------------------------------------

  runProcess(cell: ActorCell, command: ProcessCommand, context: CommandContext, expectedRevision?: number): Promise<ExecutionResult> {
    // minions' reports are facts: before ignoring one as a duplicate, make sure our state is current
    const confirmNoOp = REPORTED_FACTS.has(command.kind);
    return this.engine.execute(
      cell,
      (snapshot) =>
        decideProcess(snapshot as unknown as ProcessSnapshotView, command, {
          now: this.options.clock.now(),
          newRunId: this.options.newId,
          wish: this.wish(cell),
          maxBackoffMs: this.options.maxBackoffMs,
          statsIntervalMs: this.options.statsIntervalMs,
        }),
      context,
      expectedRevision,
      { confirmNoOp },
    );
  }

  runWatcher(cell: ActorCell, command: WatcherCommand, context: CommandContext, expectedRevision?: number): Promise<ExecutionResult> {
    return this.engine.execute(
      cell,
      (snapshot, revision) =>
        decideWatcher(snapshot as unknown as WatcherSnapshotView, command, { stream: cell.stream, revision, newId: this.options.newId }),
      context,
      expectedRevision,
    );
  }

  runTenant(cell: ActorCell, command: TenantCommand, context: CommandContext, expectedRevision?: number): Promise<ExecutionResult> {
    return this.engine.execute(
      cell,
      (snapshot, revision) => decideTenant(snapshot as unknown as TenantSnapshotView, command, { stream: cell.stream, revision }),
      context,
      expectedRevision,
    );
  }

  /**
   * Makes every slot of a watcher match its wish (`wantedSlots` running, the rest stopped;
   * default: the current state's); resolves with what that appended.
   */
  convergeWatcher(cell: ActorCell, context: CommandContext, wantedSlots?: number): FollowUp {
    const { value, context: watcher } = cell.snapshot as unknown as WatcherSnapshotView;
    wantedSlots ??= value === 'active' && watcher.spec ? watcher.spec.numprocesses : 0;
    const work: Promise<Position[]>[] = [];
    for (let slot = 0; slot < watcher.slotCount; slot++) {
      const process = this.processCell(watcher.tenant, watcher.name, slot);
      if (slot >= wantedSlots && process.loaded && process.revision === -1) continue;
      const command: ProcessCommand =
        slot < wantedSlots ? { kind: 'start', reset: false } : { kind: 'stop', reason: wantedSlots > 0 ? 'scaled down' : 'watcher stopped' };
      work.push(this.runProcess(process, command, context).then(settleFollowUps));
    }
    return Promise.all(work).then((positions) => positions.flat());
  }

  // --- effects -------------------------------------------------------------------------------

  private sendSpawn(cell: ActorCell, params: SendSpawnParams): void {
    const spec = (this.watcherOf(cell).snapshot.context as WatcherSnapshotView['context']).spec;
    if (!spec) {
      this.options.logger.warn({ process: cell.key }, 'no watcher spec for a spawn; not sent');
      return;
    }
    const sent = this.options.minions.send(params.minion, {
      kind: 'spawn',
      tenant: cell.tenant,
      processKey: cell.key,
      runId: params.runId,
      cmd: spec.cmd,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      ready: spec.ready,
      stopSignal: spec.stopSignal,
      stopWaitMs: spec.stopWaitMs,
      ...runAccount(spec, this.options.tenantAccount(cell.tenant)),
    });
    // not connected: the spawn is sent again when the minion connects (reconciliation)
    if (!sent) this.options.logger.info({ process: cell.key, minion: params.minion }, 'minion not connected; spawn deferred');
  }

  private sendSignal(cell: ActorCell, params: SendSignalParams): void {
    if (!params.runId || !params.minion) return;
    const now = this.options.clock.now();
    const sent = params.stop
      ? this.options.minions.send(params.minion, {
          kind: 'stop',
          tenant: cell.tenant,
          processKey: cell.key,
          runId: params.runId,
          signal: params.signal,
          waitMs: params.killAt === null ? 0 : Math.max(0, params.killAt - now),
        })
      : this.options.minions.send(params.minion, {
          kind: 'signal',
          tenant: cell.tenant,
          processKey: cell.key,
          runId: params.runId,
          signal: params.signal,
        });
    if (!sent) this.options.logger.info({ process: cell.key, minion: params.minion }, 'minion not connected; signal not delivered');
  }

  /** Re-sends the stop of a run (SIGKILL once its deadline has passed or was used up). */
  resendStop(cell: ActorCell, runId: string, minion: string, killAt: number | null): void {
    const { stopSignal } = this.wish(cell);
    const now = this.options.clock.now();
    const signal = killAt === null || killAt <= now ? 'SIGKILL' : stopSignal;
    this.sendSignal(cell, { runId, minion, pid: 0, signal, stop: true, killAt: signal === 'SIGKILL' ? null : killAt });
  }

  /** Re-sends the spawn of a run that was requested but never reported (minion was away). */
  resendSpawn(cell: ActorCell, runId: string, minion: string): void {
    this.sendSpawn(cell, { runId, minion });
  }

  // --- recorded timers -----------------------------------------------------------------------

  /** Arms the cell's timer from its recorded state: the same code path live and after rehydration. */
  syncTimer(cell: ActorCell): void {
    if (cell.kind !== 'process') return;
    const { value, context } = cell.snapshot as unknown as ProcessSnapshotView;
    if (!this.active) return this.engine.armTimer(cell, null, () => {});
    if (value === 'backoff' && context.restartAt !== null) {
      this.engine.armTimer(cell, context.restartAt, () => this.fireTimer(cell, { kind: 'restartDue' }));
    } else if (value === 'stopping' && context.killAt !== null) {
      this.engine.armTimer(cell, context.killAt + this.options.killGraceMs, () => this.fireTimer(cell, { kind: 'killDue' }));
    } else {
      this.engine.armTimer(cell, null, () => {});
    }
  }

  private fireTimer(cell: ActorCell, command: ProcessCommand): void {
    if (!this.active) return;
    const context = systemContext(this.options.newId);
    // A timer may fire a moment before the clock reads its due time (Node's timers and
    // Date.now() are different clocks): the decider then appends nothing, so nothing would
    // re-arm it. Re-syncing from the recorded state afterwards arms it again for the rest.
    this.runProcess(cell, command, context)
      .then(settleFollowUps)
      .catch((error: unknown) => this.options.logger.error({ err: error, process: cell.key, timer: command.kind }, 'timer failed'))
      .finally(() => this.syncTimer(cell));
  }

  // --- rolling reload ------------------------------------------------------------------------

  /**
   * Replaces slots one at a time. For a running slot the process actor starts a replacement
   * run (same slot, new runId) beside the current one; when it reports ready the actor
   * appends ready + handover + stop of the old run in one append, so the slot always has a
   * ready process. A slot with nothing running is simply started. The next slot begins only
   * once this one's replacement is ready; a replacement that fails stops the reload (the old
   * processes keep running). Progress is recorded per slot (`start.reloadId`), so a new
   * leader resumes a reload at the first slot it had not reached.
   */
  startReload(watcher: ActorCell, reloadId: string, context: CommandContext): void {
    if (this.reloading.get(watcher.key) === reloadId) return;
    this.reloading.set(watcher.key, reloadId);
    const run = async () => {
      const { logger, reloadSlotTimeoutMs } = this.options;
      for (let slot = 0; ; slot++) {
        const state = watcher.snapshot as unknown as WatcherSnapshotView;
        if (!this.active || state.value !== 'active' || state.context.reloadId !== reloadId || !state.context.spec) return;
        if (slot >= state.context.spec.numprocesses) {
          logger.info({ watcher: watcher.key, reloadId }, 'rolling reload complete');
          return;
        }
        const process = this.processCell(state.context.tenant, state.context.name, slot);
        if (!process.loaded) await this.engine.execute(process, () => [], context);
        const view = () => process.snapshot as unknown as ProcessSnapshotView;
        const reached = () => view().context.lastReloadId === reloadId;
        if (reached() && view().context.surge === null) continue;
        if (!reached()) {
          // a slot in transition (starting, stopping) is replaced once it settles
          await this.engine.waitFor(process, (s) => s.value !== 'starting' && s.value !== 'stopping', reloadSlotTimeoutMs);
          await settleFollowUps(await this.runProcess(process, { kind: 'replace', reloadId }, context));
        }
        const target = view().context.surge?.runId ?? view().context.run?.runId;
        const ok = await this.engine.waitFor(
          process,
          (s) => {
            const { value, context: p } = s as unknown as ProcessSnapshotView;
            if (p.run !== null && p.run.runId === target && p.run.ready) return true;
            return p.surge?.runId !== target && p.run?.runId !== target ? true : value !== 'running' && value !== 'starting';
          },
          reloadSlotTimeoutMs,
        );
        const now = view();
        if (!ok || now.context.run === null || now.context.run.runId !== target || !now.context.run.ready) {
          logger.warn({ watcher: watcher.key, reloadId, slot, state: now.value }, 'rolling reload stopped: the replacement did not become ready');
          return;
        }
      }
    };
    run()
      .catch((error: unknown) => this.options.logger.error({ err: error, watcher: watcher.key, reloadId }, 'rolling reload failed'))
      .finally(() => {
        if (this.reloading.get(watcher.key) === reloadId) this.reloading.delete(watcher.key);
      });
  }

  /** Rolling reloads in progress on this node (watcher key -> reloadId). */
  get reloadsInProgress(): ReadonlyMap<string, string> {
    return this.reloading;
  }
}

export function systemContext(newId: () => string = randomUUID): CommandContext {
  const id = newId();
  return { principal: 'system', correlationId: id, causationId: id };
}
