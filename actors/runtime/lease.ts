import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import {
  isWrongExpectedRevisionError,
  LEADER_STREAM,
  uuidv7,
  type EventStore,
  type RecordedEvent,
} from '../../store/index.js';
import type { LeaderLease } from '../component/events.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './engine.js';

/** What the actor runtime needs of a lease: whether this node leads, and who does. */
export interface LeaderLeaseKeeper {
  readonly isLeader: boolean;
  readonly leader$: Observable<boolean>;
  /** the holder's URL while a lease is valid, else null */
  leaderUrl(): string | null;
  /** the current lease as last read (null before the first read or when none was ever taken) */
  current(): LeaderLease | null;
  start(): Promise<void>;
  /** Stops heartbeating; by default releases the lease (holder null) so another node takes it at once. */
  stop(options?: { release?: boolean }): Promise<void>;
}

export interface StoreLeaderLeaseOptions {
  store: EventStore;
  /** this node's component key (`<host>:<pid>`) */
  node: string;
  /** where this node serves (followers answer with it) */
  url?: string;
  clock?: Clock;
  /** default 10 s */
  ttlMs?: number;
  /** default ttl / 3 */
  renewEveryMs?: number;
  logger?: Logger;
  /** the model API to write at (lease data is the same in every model) */
  writeModel?: () => number;
  /**
   * True when the holder of a lease that has not expired is known to be dead (on one host:
   * its pid no longer runs): the lease is taken at once instead of after its TTL.
   */
  holderIsGone?: (holder: string) => boolean;
}

/**
 * The leader lease of docs/architecture.md "Actors and leadership": the stream `$leader` holds `components.leader` events;
 * the last one says who holds the lease until when. Taking, renewing and releasing are
 * appends with the expected revision of the event they were decided from, so two nodes
 * can never both succeed from the same view. A holder renews every ttl/3; a lease not
 * renewed expires and the next node that looks takes it with a higher term. Nodes follow
 * the stream live, so a release is taken over at once instead of at the next heartbeat.
 * A holder that cannot renew steps down locally when its own lease runs out.
 */
export class StoreLeaderLease implements LeaderLeaseKeeper {
  private readonly leading$ = new BehaviorSubject<boolean>(false);
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly logger: Logger;
  private lease: LeaderLease | null = null;
  private revision = -1;
  private timer: unknown = null;
  private subscription: Subscription | null = null;
  private running = false;
  private ticking: Promise<void> | null = null;
  private again = false;

  constructor(private readonly options: StoreLeaderLeaseOptions) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.logger = options.logger ?? silentLogger;
  }

  get isLeader(): boolean {
    return this.leading$.value;
  }

  get leader$(): Observable<boolean> {
    return this.leading$.asObservable();
  }

  current(): LeaderLease | null {
    return this.lease;
  }

  leaderUrl(): string | null {
    const lease = this.lease;
    if (!lease || lease.holder === null || lease.expiresAt <= this.clock.now()) return null;
    return lease.url ?? null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
    this.subscription = this.options.store.subscribeToStream(LEADER_STREAM, { afterRevision: this.revision }).subscribe({
      next: (notice) => {
        if (notice.kind === 'events' && notice.events.some((event) => event.revision > this.revision)) void this.tick();
      },
      error: (error: unknown) => this.logger.warn({ err: error }, 'leader stream subscription ended'),
    });
  }

  async stop({ release = true }: { release?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    const wasLeader = this.leading$.value;
    this.setLeading(false);
    if (release && wasLeader && this.lease) {
      const released: LeaderLease = { holder: null, term: this.lease.term, expiresAt: this.clock.now() };
      try {
        await this.append(released);
        this.logger.info({ term: released.term }, 'leader lease released');
      } catch (error) {
        // someone else already holds it (our lease had run out): nothing to hand over
        if (!isWrongExpectedRevisionError(error)) throw error;
      }
    }
  }

  /** One look at the lease: renew, take, or follow. Concurrent calls coalesce. */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          await this.decide();
        } while (this.again && this.running);
      } catch (error) {
        this.logger.error({ err: error }, 'leader lease check failed');
      } finally {
        this.ticking = null;
        this.schedule();
      }
    })();
    return this.ticking;
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    // a holder renews every renewEveryMs; a follower also looks when the lease it saw expires
    let delay = this.renewEveryMs;
    if (!this.leading$.value && this.lease?.holder) delay = Math.min(delay, Math.max(1, this.lease.expiresAt - this.clock.now() + 1));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delay);
  }

  private async decide(): Promise<void> {
    await this.readLatest();
    if (!this.running) return;
    const now = this.clock.now();
    const lease = this.lease;
    const mine = lease?.holder === this.options.node;
    let valid = lease !== null && lease.holder !== null && lease.expiresAt > now;
    if (valid && !mine && this.options.holderIsGone?.(lease!.holder!)) {
      this.logger.info({ holder: lease!.holder, term: lease!.term }, 'the leader lease holder is gone (its process no longer runs): taking the lease now');
      valid = false;
    }
    if (valid && !mine) {
      this.setLeading(false);
      return;
    }
    const next: LeaderLease = {
      holder: this.options.node,
      // a change of holder (or a lapse of our own) starts a new term
      term: mine && valid ? lease.term : (lease?.term ?? 0) + 1,
      expiresAt: now + this.ttlMs,
      ...(this.options.url ? { url: this.options.url } : {}),
    };
    try {
      await this.append(next);
      if (!this.leading$.value) this.logger.info({ term: next.term }, 'leader lease acquired');
      this.setLeading(true);
    } catch (error) {
      if (!isWrongExpectedRevisionError(error)) throw error;
      // another node moved first: look again
      this.again = true;
    }
  }

  private async readLatest(): Promise<void> {
    const [latest] = await this.options.store.readStream(LEADER_STREAM, { direction: 'backward', limit: 1 });
    if (latest) this.adopt(latest);
    // a holder whose renewals fail steps down when its own lease runs out
    if (this.leading$.value && (!this.lease || this.lease.expiresAt <= this.clock.now())) this.setLeading(false);
  }

  private adopt(event: RecordedEvent): void {
    if (event.revision <= this.revision && this.lease) return;
    this.revision = event.revision;
    this.lease = event.data as LeaderLease;
  }

  private async append(lease: LeaderLease): Promise<void> {
    const now = this.clock.now();
    const result = await this.options.store.append(
      LEADER_STREAM,
      [
        {
          id: uuidv7(now),
          type: 'components',
          action: 'leader',
          key: this.options.node,
          schema: this.options.writeModel?.() ?? 2,
          data: lease,
          meta: { principal: this.options.node, node: this.options.node },
        },
      ],
      { expectedRevision: this.revision === -1 ? 'noStream' : this.revision },
    );
    this.revision = result.lastRevision;
    this.lease = lease;
  }

  private setLeading(leading: boolean): void {
    if (this.leading$.value !== leading) this.leading$.next(leading);
  }
}

export function createLeaderLease(options: StoreLeaderLeaseOptions): StoreLeaderLease {
  return new StoreLeaderLease(options);
}
