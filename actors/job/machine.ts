import { assign, createActor, setup, type ActorScope, type AnyActorScope, type ExecutableActionObject, type SnapshotFrom } from 'xstate';
import type { JobCreated, JobEvent } from './events.js';

/**
 * The job actor's lifecycle, folded from its recorded events (the machine's events are the
 * job's domain events). Side effects are named actions the service provides with
 * `.provide()`; they run only for events this node has just appended, never on replay,
 * because the service steps the machine with the pure `transition()` and executes the
 * returned actions itself.
 *
 *   new --create--> pending --dispatch--> running --complete--> complete | failed
 *                      |                     |------timeout--> timeout
 *                      '------cancel/timeout-'------cancel---> cancelled
 */

export type JobStatus = 'new' | 'pending' | 'running' | 'complete' | 'failed' | 'timeout' | 'cancelled';
export const FINISHED_STATUSES: ReadonlySet<JobStatus> = new Set(['complete', 'failed', 'timeout', 'cancelled']);

export interface JobContext {
  tenant: string;
  jid: string;
  created: JobCreated | null;
  /** minion ids the job was sent to, in dispatch order */
  dispatched: readonly string[];
  /** minion id -> its return's `success` */
  returned: Readonly<Record<string, boolean>>;
  returnedCount: number;
}

export type JobMachineEvent = { [A in JobEvent['action']]: { type: A; data: Extract<JobEvent, { action: A }>['data'] } }[JobEvent['action']];

export const toMachineEvent = (event: JobEvent): JobMachineEvent => ({ type: event.action, data: event.data }) as JobMachineEvent;

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobMachineEvent,
    input: {} as { tenant: string; jid: string },
  },
  actions: {
    /** tell each minion to run the function */
    sendRunJob: (_, _params: { minions: readonly string[] }) => {},
    /** tell minions that have not returned to stop */
    sendCancelJob: (_, _params: { minions: readonly string[] }) => {},
    /** (re)arm the recorded timeout */
    armTimeout: (_, _params: { timeoutAt: number }) => {},
    disarmTimeout: () => {},
    /** the job reached a final state: release what the service holds for it */
    releaseJob: () => {},
  },
}).createMachine({
  id: 'job',
  initial: 'new',
  // `input` is absent when XState builds a throwaway actor around the machine; a factory that
  // threw there would cost an exception per step.
  context: ({ input }) => ({ tenant: input?.tenant ?? '', jid: input?.jid ?? '', created: null, dispatched: [], returned: {}, returnedCount: 0 }),
  states: {
    new: {
      on: { create: { target: 'pending', actions: assign({ created: ({ event }) => event.data }) } },
    },
    pending: {
      on: {
        dispatch: {
          target: 'running',
          actions: [
            assign({ dispatched: ({ event }) => event.data.minions }),
            { type: 'sendRunJob', params: ({ event }) => ({ minions: event.data.minions }) },
            { type: 'armTimeout', params: ({ context }) => ({ timeoutAt: context.created?.timeoutAt ?? 0 }) },
          ],
        },
        timeout: 'timeout',
        cancel: 'cancelled',
      },
    },
    running: {
      on: {
        return: {
          actions: assign(({ context, event }) => ({
            returned: { ...context.returned, [event.data.minion]: event.data.success },
            returnedCount: context.returnedCount + (Object.hasOwn(context.returned, event.data.minion) ? 0 : 1),
          })),
        },
        complete: [{ guard: ({ event }) => event.data.state === 'failed', target: 'failed' }, { target: 'complete' }],
        timeout: 'timeout',
        cancel: {
          target: 'cancelled',
          actions: { type: 'sendCancelJob', params: ({ event }) => ({ minions: event.data.minions ?? [] }) },
        },
      },
    },
    complete: { type: 'final', entry: ['disarmTimeout', 'releaseJob'] },
    failed: { type: 'final', entry: ['disarmTimeout', 'releaseJob'] },
    timeout: { type: 'final', entry: ['disarmTimeout', 'releaseJob'] },
    cancelled: { type: 'final', entry: ['disarmTimeout', 'releaseJob'] },
  },
});

export type JobMachine = typeof jobMachine;
export type JobSnapshot = SnapshotFrom<JobMachine>;
export type JobEffect = ExecutableActionObject;

export const jobStatus = (snapshot: JobSnapshot): JobStatus => snapshot.value as JobStatus;

/**
 * Steps the machine purely (like XState's `transition()`): returns the next snapshot and the
 * named effects, executing nothing. `transition()` builds a fresh actor scope on every call,
 * which costs tens of microseconds; one scope per machine is reused here instead (steps are
 * synchronous, so the effect collector is never shared by two steps at once).
 */
export interface JobStepper {
  initial(tenant: string, jid: string): JobSnapshot;
  step(snapshot: JobSnapshot, event: JobEvent): [JobSnapshot, JobEffect[]];
}

export function createJobStepper(machine: JobMachine): JobStepper {
  let collected: JobEffect[] = [];
  const self = createActor(machine, { input: { tenant: '', jid: '' } });
  const scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action: ExecutableActionObject) => void collected.push(action),
  } as unknown as ActorScope<JobSnapshot, JobMachineEvent> & AnyActorScope;
  const take = (): JobEffect[] => {
    const effects = collected;
    collected = [];
    return effects;
  };
  return {
    initial(tenant, jid) {
      // the `new` state has no entry actions, so resolving it directly equals the initial transition
      return machine.resolveState({ value: 'new', context: { tenant, jid, created: null, dispatched: [], returned: {}, returnedCount: 0 } });
    },
    step(snapshot, event) {
      const next = machine.transition(snapshot, toMachineEvent(event), scope);
      return [next, take()];
    },
  };
}

/** Minions dispatched that have not returned, in dispatch order. */
export function pendingMinions(context: JobContext): string[] {
  return context.dispatched.filter((minion) => !Object.hasOwn(context.returned, minion));
}
