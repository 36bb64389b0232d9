import { randomUUID } from 'node:crypto';
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import { UnavailableError, type EventStore, type Position } from '../../store/index.js';
import type { MinionPort, MinionReport, MinionReportSink, TenantAccountLookup } from '../minion/port.js';
import type { WatcherSnapshotView } from '../watcher/decide.js';
import { systemClock, type Clock } from './clock.js';
import { ActorEngine, silentLogger, type ActorCell, type CommandContext, type Logger } from './engine.js';
import type { LeaderLeaseKeeper } from './lease.js';
import { MinionSink } from './sink.js';
import { ActorSupervisor, type ProcessStatsSample } from './supervisor.js';
import { defaultMinionId } from '../minion/default-id.js';

export interface ActorRuntimeOptions {
  store: EventStore;
  minions: MinionPort;
  /** component key of this server (`<host>:<pid>`), recorded as `meta.node` */
  node: string;
  clock?: Clock;
  /** the system model API to write at (docs/operations.md "Rolling restart on one machine"); default: this code's own (2) */
  writeModel?: () => number;
  /** turns an event's data into an older model's shape when `writeModel()` is older than ours */
  downcast?: (type: string, action: string, data: unknown, toModel: number) => unknown;
  logger?: Logger;
  /** the minion id `minion: local` stands for (default: this host's name) */
  localMinion?: string;
  /** only the lease holder runs actors; without a lease this runtime always leads (tests, single node) */
  lease?: LeaderLeaseKeeper;
  /** routes minions' `jobReturn` reports (the job service) */
  jobs?: { handleReturn(minionId: string, report: MinionReport): Promise<void> };
  conflictRetries?: number;
  maxBackoffMs?: number;
  statsIntervalMs?: number;
  killGraceMs?: number;
  reloadSlotTimeoutMs?: number;
  newId?: () => string;
  /** the tenant's OS account for its processes, sent with every spawn (docs/security.md) */
  tenantAccount?: TenantAccountLookup;
}

export interface ActorRuntimeStatus {
  state: 'idle' | 'rehydrating' | 'running' | 'stopped';
  actors: number;
  rehydrateMs: number | null;
}

const REHYDRATE_PAGE = 5000;
const ACTOR_TYPES = ['tenants', 'watchers', 'processes'];

/**
 * How the actor runtime comes to run actors and stops: wires the engine, supervisor and
 * minion sink together, follows the leader lease, rehydrates every actor from the store
 * when it leads and parks them when it does not. `ActorRuntime` (runtime.ts) adds the
 * command API on top; every command first checks `whenRunning`.
 */
export abstract class ActorRuntimeLifecycle {
  readonly engine: ActorEngine;
  readonly supervisor: ActorSupervisor;
  readonly minionSink: MinionReportSink;
  private readonly sink: MinionSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly state$ = new BehaviorSubject<ActorRuntimeStatus['state']>('idle');
  private rehydrateMs: number | null = null;
  private leaseSubscription: Subscription | null = null;
  private startup: Promise<void> | null = null;

  constructor(readonly options: ActorRuntimeOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    const newId = options.newId ?? randomUUID;
    this.engine = new ActorEngine({
      store: options.store,
      clock: this.clock,
      node: options.node,
      logger: this.logger,
      writeModel: options.writeModel ?? (() => 2),
      downcast: options.downcast,
      conflictRetries: options.conflictRetries ?? 3,
      onApplied: (cell) => this.supervisor.syncTimer(cell),
    });
    this.supervisor = new ActorSupervisor(this.engine, {
      minions: options.minions,
      clock: this.clock,
      logger: this.logger,
      localMinion: options.localMinion ?? defaultMinionId(),
      newId,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      statsIntervalMs: options.statsIntervalMs ?? 60_000,
      killGraceMs: options.killGraceMs ?? 1_000,
      reloadSlotTimeoutMs: options.reloadSlotTimeoutMs ?? 120_000,
      tenantAccount: options.tenantAccount ?? (() => null),
    });
    this.sink = new MinionSink(this.supervisor, {
      store: options.store,
      node: options.node,
      clock: this.clock,
      logger: this.logger,
      newId,
      jobs: options.jobs,
      whenRunning: () => this.whenRunning(),
    });
    this.minionSink = this.sink;
  }

  /** Live CPU/memory samples of every process (for the gateway and Prometheus). */
  get stats$(): Observable<ProcessStatsSample> {
    return this.supervisor.stats$;
  }

  /** true while this node holds the lease (always true without a lease) */
  get isLeader(): boolean {
    return this.options.lease ? this.options.lease.isLeader : true;
  }

  get leader$(): Observable<boolean> {
    return this.options.lease ? this.options.lease.leader$ : new BehaviorSubject(true);
  }

  /** The URL of the current leader (followers forward commands or answer with it). */
  leaderUrl(): string | null {
    return this.options.lease ? this.options.lease.leaderUrl() : null;
  }

  status(): ActorRuntimeStatus {
    return { state: this.state$.value, actors: this.engine.cells.size, rehydrateMs: this.rehydrateMs };
  }

  /**
   * Runs actors while this node leads: waits for the lease (if any), rehydrates every actor
   * from the store, re-arms recorded timers, converges watchers and reconciles minions
   * already connected. Resolves once this node runs actors. Losing the lease later parks
   * the actors until it is won again.
   */
  start(): Promise<void> {
    if (this.startup) return this.startup;
    const lease = this.options.lease;
    if (!lease) {
      this.startup = this.activate();
      return this.startup;
    }
    this.startup = new Promise<void>((resolve, reject) => {
      this.leaseSubscription = lease.leader$.pipe(distinctUntilChanged()).subscribe((leading) => {
        if (leading) this.activate().then(resolve, reject);
        else if (this.state$.value !== 'stopped') this.deactivate();
      });
      lease.start().catch(reject);
    });
    return this.startup;
  }

  /** Stops timers and background work, then releases the lease so another node takes over at once. */
  async stop(): Promise<void> {
    this.leaseSubscription?.unsubscribe();
    this.deactivate();
    this.state$.next('stopped');
    await this.sink.drain();
    await this.options.lease?.stop();
  }

  private async activate(): Promise<void> {
    if (this.state$.value === 'running' || this.state$.value === 'rehydrating') return;
    this.state$.next('rehydrating');
    const started = performance.now();
    this.engine.cells.clear();
    this.sink.forgetStoredLines();
    await this.rehydrate();
    this.supervisor.active = true;
    for (const cell of this.engine.cells.values()) this.supervisor.syncTimer(cell);
    this.rehydrateMs = performance.now() - started;
    this.state$.next('running');
    this.logger.info({ actors: this.engine.cells.size, ms: Math.round(this.rehydrateMs) }, 'actors rehydrated');
    await this.resume();
  }

  private deactivate(): void {
    if (this.state$.value === 'idle' || this.state$.value === 'stopped') return;
    this.supervisor.active = false;
    this.engine.clearTimers();
    this.state$.next('idle');
  }

  /** Folds every actor stream in one pass over the log (faster than a read per stream). */
  private async rehydrate(): Promise<void> {
    const store = this.options.store;
    let after = 0;
    for (;;) {
      const page = await store.readAll({ after, limit: REHYDRATE_PAGE, types: [...ACTOR_TYPES, 'minions'] });
      for (const event of page) {
        after = event.position;
        if (event.type === 'minions') {
          this.sink.foldMinionEvent(event);
          continue;
        }
        const cell = this.cellForStream(event.stream);
        if (!cell) continue;
        cell.loaded = true;
        this.engine.fold(cell, event);
      }
      if (page.length < REHYDRATE_PAGE) break;
    }
    for (const cell of this.engine.cells.values()) cell.loaded = true;
  }

  private cellForStream(stream: string): ActorCell | null {
    const dash = stream.indexOf('-');
    const prefix = stream.slice(0, dash);
    const parts = stream.slice(dash + 1).split(':');
    if (prefix === 'tenant' && parts.length === 1) return this.supervisor.tenantCell(parts[0]!);
    if (prefix === 'watcher' && parts.length === 2) return this.supervisor.watcherCell(parts[0]!, parts[1]!);
    if (prefix === 'process' && parts.length === 3) return this.supervisor.processCell(parts[0]!, parts[1]!, Number(parts[2]));
    return null;
  }

  /** After rehydration: converge every watcher, resume rolling reloads, reconcile known minions. */
  private async resume(): Promise<void> {
    const context = this.systemContext();
    const work: Promise<Position[]>[] = [];
    for (const cell of [...this.engine.cells.values()]) {
      if (cell.kind !== 'watcher') continue;
      const { value, context: watcher } = cell.snapshot as unknown as WatcherSnapshotView;
      work.push(this.supervisor.convergeWatcher(cell, context));
      if (value === 'active' && watcher.reloadId) this.supervisor.startReload(cell, watcher.reloadId, context);
    }
    await Promise.all(work);
    await this.sink.reconcileKnownMinions();
  }

  protected whenRunning(): void {
    if (this.state$.value !== 'running') {
      throw new UnavailableError('this node does not run the actors (not the leader)', { leaderUrl: this.leaderUrl() });
    }
  }

  private systemContext(): CommandContext {
    const id = (this.options.newId ?? randomUUID)();
    return { principal: 'system', correlationId: id, causationId: id };
  }
}
