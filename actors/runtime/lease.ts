import type { Observable } from 'rxjs';

/** The leader lease (DESIGN.md §11); implemented in this file further down. */
export interface LeaderLeaseKeeper {
  readonly isLeader: boolean;
  readonly leader$: Observable<boolean>;
  leaderUrl(): string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}
