/** Job events (stream `job-<tenant>:<jid>`, type `jobs`, key `<tenant>:<jid>`). */

export type TargetType = 'glob' | 'list' | 'grain';

export interface JobCreated {
  jid: string;
  fun: string;
  args: unknown[];
  tgt: string;
  tgtType: TargetType;
  timeoutMs: number;
  /** the principal that ran it */
  user: string;
  /** ms epoch when the job times out (the recorded timer) */
  timeoutAt: number;
}
export interface JobDispatched {
  /** minion ids the target matched at dispatch time */
  minions: string[];
}
export interface JobReturned {
  minion: string;
  return: unknown;
  retcode: number;
  success: boolean;
  durationMs: number;
}
export interface JobCompleted {
  state: 'complete' | 'failed';
}
export interface JobTimedOut {
  /** minions that had not returned */
  minions: string[];
}
export interface JobCancelled {
  by: string;
  /** minions that had not returned and were told to stop (added compatibly: absent in older events) */
  minions?: string[];
}

export type JobEvent =
  | { action: 'create'; data: JobCreated }
  | { action: 'dispatch'; data: JobDispatched }
  | { action: 'return'; data: JobReturned }
  | { action: 'complete'; data: JobCompleted }
  | { action: 'timeout'; data: JobTimedOut }
  | { action: 'cancel'; data: JobCancelled };
