import { Subject, type Subscription } from 'rxjs';
import { InvalidArgumentError, UnavailableError, type EventStore, type RecordedEvent, type StoreNotice } from '../../store/index.js';
import type { Change } from '../change.js';
import { cloneViewState, countViewObjects, createEmptyViewState, type ViewState } from '../views/types.js';
import { foldBatch } from './changes.js';
import type { ProjectionEngineOptions } from './engine.js';
import { silentLogger, type Logger } from '../../store/index.js';
import { SnapshotDirectory, encodeSnapshot } from './snapshot-files.js';

export interface MemorySnapshot {
  position: number;
  state: ViewState;
}

const LOGS_EXCLUDED: readonly string[] = ['logs'];
const RESUBSCRIBE_DELAY_MS = 1_000;
const PROGRESS_EVERY_MS = 5_000;

/**
 * The live half of the projection engine: keeps the views folded up to the store's head
 * (catch-up, then a live subscription), publishes one batch of changes per store batch, and
 * schedules the in-memory snapshots (time travel, resume) and the disk snapshots (so a
 * restart folds only the tail). `ProjectionEngine` (engine.ts) adds the queries on top.
 *
 * Hot path: one callback per store batch, a plain loop over its events, copy-on-write of
 * the one view object each event changes, and no change objects at all when nobody listens.
 */
export abstract class LiveViewFolding {
  readonly ownModel: number;
  readonly store: EventStore;
  protected readonly logger: Logger;
  protected readonly options: ProjectionEngineOptions;
  protected readonly snapshots: SnapshotDirectory | null;
  protected readonly changes = new Subject<readonly Change[]>();
  protected state: ViewState = createEmptyViewState();
  protected readonly ring: MemorySnapshot[] = [];
  private folded = 0;
  protected positionValue = 0;
  private headValue = 0;
  private caughtUp = false;
  private started = false;
  protected stopped = false;
  private generation = 0;
  private subscription: Subscription | null = null;
  private timers: NodeJS.Timeout[] = [];
  private sinceMemorySnapshot = 0;
  private sinceDiskSnapshot = 0;
  private diskSnapshotPosition = 0;
  private diskWrite: Promise<void> | null = null;
  private catchUpStartedAt = 0;
  private lastProgressAt = 0;
  /** callers of `reached` waiting for a position not folded yet */
  private readonly positionWaiters = new Set<{ position: number; settle: (reached: boolean) => void }>();
  private resolveStart: (() => void) | null = null;
  private rejectStart: ((error: Error) => void) | null = null;

  /** `ownModel`: the model API the views are folded at (validated by the engine). */
  protected constructor(options: ProjectionEngineOptions, ownModel: number) {
    this.options = options;
    this.store = options.store;
    this.logger = options.logger ?? silentLogger;
    this.ownModel = ownModel;
    this.snapshots = options.snapshotDir ? new SnapshotDirectory(options.snapshotDir, options.keepSnapshots ?? 3, this.logger) : null;
  }

  /** Loads the newest usable snapshot and folds the rest; resolves once caught up with the store. */
  async start(): Promise<void> {
    if (this.started) throw new InvalidArgumentError('the projection engine was already started');
    this.started = true;
    const head = await this.store.headPosition();
    this.headValue = head;
    if (this.snapshots) {
      await this.snapshots.warnAboutSnapshotsBeyond(head);
      const loaded = await this.snapshots.loadLatest(head);
      if (loaded) {
        this.state = loaded.state;
        this.positionValue = loaded.position;
        this.diskSnapshotPosition = loaded.position;
        this.logger.info({ position: loaded.position, head, objects: countViewObjects(loaded.state) }, 'projections: loaded snapshot');
      }
    }
    if (this.stopped) throw new UnavailableError('the projection engine was stopped before it caught up with the store');
    this.ring.push({ position: this.positionValue, state: cloneViewState(this.state) });
    this.catchUpStartedAt = Date.now();
    this.lastProgressAt = this.catchUpStartedAt;
    const caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    this.subscribe();
    this.every(1_000, () => this.refreshHead());
    if (this.snapshots) this.every(this.options.snapshotEveryMs ?? 60_000, () => this.snapshotIfChanged());
    return caughtUp;
  }

  /** Stops folding, persists a final snapshot, completes `changes$`. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.subscription?.unsubscribe();
    this.subscription = null;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.rejectStart?.(new UnavailableError('the projection engine was stopped before it caught up with the store'));
    for (const waiter of this.positionWaiters) waiter.settle(false);
    this.resolveStart = this.rejectStart = null;
    await this.diskWrite?.catch(() => undefined);
    if (this.snapshots && this.positionValue > this.diskSnapshotPosition) await this.writeSnapshot().catch(() => undefined);
    this.changes.complete();
  }

  status(): { position: number; head: number; lag: number; caughtUp: boolean } {
    const head = Math.max(this.headValue, this.positionValue);
    return { position: this.positionValue, head, lag: head - this.positionValue, caughtUp: this.caughtUp };
  }

  get position(): number {
    return this.positionValue;
  }

  /**
   * Resolves true once the views have folded `position`, false after `timeoutMs` or when the
   * engine stops: woken by each folded batch, not by polling.
   */
  reached(position: number, timeoutMs: number): Promise<boolean> {
    if (this.positionValue >= position) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        position,
        settle: (reached: boolean) => {
          clearTimeout(timer);
          this.positionWaiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      timer.unref();
      this.positionWaiters.add(waiter);
    });
  }

  private wakePositionWaiters(): void {
    for (const waiter of this.positionWaiters) if (waiter.position <= this.positionValue) waiter.settle(true);
  }

  /** Events folded into the views by this engine since it started (metrics). */
  get foldedEvents(): number {
    return this.folded;
  }

  /** Catch-up without logs (skipped cheaply by the store), then live with everything. */
  private subscribe(): void {
    const generation = ++this.generation;
    const live = this.caughtUp;
    const notices = this.store.subscribeToAll(live ? { after: this.positionValue } : { after: this.positionValue, excludeTypes: LOGS_EXCLUDED });
    const subscription = notices.subscribe({
      next: (notice: StoreNotice) => {
        if (generation !== this.generation) return;
        if (notice.kind === 'events') this.onEvents(notice.events);
        else if (!live) {
          this.onCaughtUp(notice.position);
        } else this.headValue = Math.max(this.headValue, notice.position);
      },
      error: (error: unknown) => {
        if (generation !== this.generation || this.stopped) return;
        this.logger.error({ err: error, position: this.positionValue }, 'projections: store subscription failed; resubscribing');
        const timer = setTimeout(() => {
          if (!this.stopped && generation === this.generation) this.subscribe();
        }, RESUBSCRIBE_DELAY_MS);
        timer.unref();
      },
    });
    if (generation === this.generation) this.subscription = subscription;
    else subscription.unsubscribe();
  }

  private onCaughtUp(position: number): void {
    const previous = this.subscription;
    // Logs between the last folded event and the head are history nobody is waiting for.
    this.positionValue = Math.max(this.positionValue, position);
    this.headValue = Math.max(this.headValue, position);
    this.caughtUp = true;
    this.wakePositionWaiters();
    this.logger.info(
      { position: this.positionValue, folded: this.folded, ms: Date.now() - this.catchUpStartedAt },
      'projections: caught up with the store',
    );
    this.subscribe();
    previous?.unsubscribe();
    this.resolveStart?.();
    this.resolveStart = this.rejectStart = null;
  }

  private onEvents(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    let batch = events;
    if (batch[0]!.position <= this.positionValue) batch = batch.filter((event) => event.position > this.positionValue);
    if (batch.length === 0) return;
    const changes: Change[] | null = this.changes.observed ? [] : null;
    foldBatch(this.state, batch, this.ownModel, changes, (event, error) => this.reportFoldError(event, error));
    const last = batch[batch.length - 1]!.position;
    this.positionValue = last;
    if (last > this.headValue) this.headValue = last;
    this.folded += batch.length;
    this.sinceMemorySnapshot += batch.length;
    this.sinceDiskSnapshot += batch.length;
    this.maybeSnapshot();
    if (!this.caughtUp) this.reportProgress();
    if (changes && changes.length > 0) this.changes.next(changes);
    if (this.positionWaiters.size > 0) this.wakePositionWaiters();
  }

  /**
   * Snapshot spacing grows with the size of the views, so the O(objects) copy stays a
   * bounded fraction of the folding work however many objects there are.
   */
  private maybeSnapshot(): void {
    const objects = countViewObjects(this.state);
    if (this.sinceMemorySnapshot >= Math.max(this.options.memorySnapshotEveryEvents ?? 10_000, 4 * objects)) {
      this.sinceMemorySnapshot = 0;
      this.ring.push({ position: this.positionValue, state: cloneViewState(this.state) });
      if (this.ring.length > (this.options.memorySnapshots ?? 8)) this.ring.shift();
    }
    if (this.snapshots && !this.diskWrite && this.sinceDiskSnapshot >= Math.max(this.options.snapshotEveryEvents ?? 100_000, 4 * objects)) {
      this.startSnapshotWrite();
    }
  }

  private snapshotIfChanged(): void {
    if (this.snapshots && !this.diskWrite && this.positionValue > this.diskSnapshotPosition) this.startSnapshotWrite();
  }

  private startSnapshotWrite(): void {
    this.diskWrite = this.writeSnapshot()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'projections: writing a snapshot failed; will retry'))
      .finally(() => {
        this.diskWrite = null;
      });
  }

  /** Encodes synchronously (the views at this exact position), writes asynchronously. */
  private async writeSnapshot(): Promise<void> {
    if (!this.snapshots) return;
    const position = this.positionValue;
    const bytes = encodeSnapshot(this.state, position, Date.now());
    this.sinceDiskSnapshot = 0;
    const file = await this.snapshots.write(bytes, position);
    this.diskSnapshotPosition = Math.max(this.diskSnapshotPosition, position);
    this.logger.debug({ file, position, bytes: bytes.length }, 'projections: snapshot written');
  }

  private reportProgress(): void {
    const now = Date.now();
    if (now - this.lastProgressAt < PROGRESS_EVERY_MS) return;
    this.lastProgressAt = now;
    const seconds = (now - this.catchUpStartedAt) / 1000;
    this.logger.info(
      { position: this.positionValue, head: this.headValue, folded: this.folded, eventsPerSecond: Math.round(this.folded / seconds) },
      'projections: catching up',
    );
  }

  private refreshHead(): void {
    this.store.headPosition().then(
      (head) => {
        if (head > this.headValue) this.headValue = head;
      },
      () => undefined,
    );
  }

  protected reportFoldError(event: RecordedEvent, error: unknown): void {
    this.logger.warn(
      { err: error, position: event.position, type: event.type, action: event.action, key: event.key },
      'projections: event could not be folded; skipped',
    );
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
