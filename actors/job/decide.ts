import type { JobCreated, JobEvent, JobReturned } from './events.js';
import { FINISHED_STATUSES, jobStatus, pendingMinions, type JobSnapshot } from './machine.js';

/**
 * The job decider: given the job as folded so far and a command, which events to record.
 * Pure; the actor appends the events with the job's expected revision and only then acts.
 */
export type JobCommand =
  | { kind: 'create'; created: JobCreated; minions: string[] }
  | { kind: 'dispatch'; minions: string[] }
  | ({ kind: 'return' } & JobReturned)
  | { kind: 'expire'; now: number }
  | { kind: 'cancel'; by: string };

/** Why a command recorded nothing (it is still a success for the caller). */
export type IgnoredReason =
  | 'unknown-job' // no such job (never created)
  | 'already-exists' // create of a jid that exists (a jid collision)
  | 'job-finished' // a return/cancel/expiry after the job ended
  | 'not-dispatched' // a return from a minion the job was not sent to
  | 'duplicate-return' // this minion's return is already recorded
  | 'not-due'; // the timer fired before the recorded timeoutAt (re-arm)

export type JobDecision = { events: JobEvent[]; ignored?: undefined } | { events: []; ignored: IgnoredReason };

const ignore = (ignored: IgnoredReason): JobDecision => ({ events: [], ignored });

/** With no returns outstanding the job ends: `failed` if any minion said `success: false`. */
function completionAfter(returned: Readonly<Record<string, boolean>>, dispatched: readonly string[]): JobEvent[] {
  if (dispatched.some((minion) => !Object.hasOwn(returned, minion))) return [];
  const failed = dispatched.some((minion) => returned[minion] === false);
  return [{ action: 'complete', data: { state: failed ? 'failed' : 'complete' } }];
}

export function decideJob(snapshot: JobSnapshot, command: JobCommand): JobDecision {
  const status = jobStatus(snapshot);
  const context = snapshot.context;
  switch (command.kind) {
    case 'create': {
      if (status !== 'new') return ignore('already-exists');
      // Salt answers "no minions matched"; we still record the job (so it is visible and
      // auditable) and end it at once as `complete` with no minions.
      return {
        events: [
          { action: 'create', data: command.created },
          { action: 'dispatch', data: { minions: command.minions } },
          ...completionAfter({}, command.minions),
        ],
      };
    }
    case 'dispatch': {
      if (status === 'new') return ignore('unknown-job');
      if (status !== 'pending') return ignore(FINISHED_STATUSES.has(status) ? 'job-finished' : 'already-exists');
      return { events: [{ action: 'dispatch', data: { minions: command.minions } }, ...completionAfter({}, command.minions)] };
    }
    case 'return': {
      if (status === 'new') return ignore('unknown-job');
      if (status !== 'running') return ignore('job-finished');
      if (!context.dispatched.includes(command.minion)) return ignore('not-dispatched');
      if (Object.hasOwn(context.returned, command.minion)) return ignore('duplicate-return');
      const { kind: _kind, ...returned } = command;
      const returnedAfter = { ...context.returned, [command.minion]: command.success };
      return { events: [{ action: 'return', data: returned }, ...completionAfter(returnedAfter, context.dispatched)] };
    }
    case 'expire': {
      if (status === 'new') return ignore('unknown-job');
      if (FINISHED_STATUSES.has(status)) return ignore('job-finished');
      if (command.now < (context.created?.timeoutAt ?? 0)) return ignore('not-due');
      return { events: [{ action: 'timeout', data: { minions: pendingMinions(context) } }] };
    }
    case 'cancel': {
      if (status === 'new') return ignore('unknown-job');
      if (FINISHED_STATUSES.has(status)) return ignore('job-finished');
      return { events: [{ action: 'cancel', data: { by: command.by, minions: pendingMinions(context) } }] };
    }
  }
}
