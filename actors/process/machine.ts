import { assign, setup } from 'xstate';
import type { DomainEventOf } from '../runtime/domain-event.js';
import type { ProcessEvent, ProcessHandover } from './events.js';

/** A process actor before any event: stopped, nothing running, no timers (also the reducer's start, evolve.ts). */
export function initialProcessContext(input: ProcessMachineInput): ProcessContext {
  return {
    ...input,
    run: null,
    surge: null,
    retiring: null,
    retries: 0,
    restartAt: null,
    killAt: null,
    finishedRunIds: [],
    lastReloadId: null,
    lastStatsAt: 0,
    starts: 0,
  };
}

/** What `handover` changes: the surge becomes the slot's run, ready, and the replaced run retires (also the reducer's, evolve.ts). */
export function handedOver(context: ProcessContext, data: ProcessHandover): Pick<ProcessContext, 'retiring' | 'run' | 'surge' | 'retries'> {
  return {
    retiring: context.run,
    run: { runId: data.runId, minion: context.surge?.minion ?? context.run?.minion ?? '', pid: data.pid, startedAt: data.startedAt, ready: true },
    surge: null,
    retries: 0,
  };
}

/**
 * The process (slot) actor as a state machine over its recorded events. Folding the stream
 * through `transition()` rebuilds it; the actions a transition returns are the named side
 * effects, run by the runtime only for events it has just appended (never while
 * rehydrating). Deciding what to append lives in `decide.ts`.
 *
 * A slot normally has one run (`run`). A rolling reload adds a replacement run (`surge`)
 * that becomes the slot's run at `handover`; the replaced run (`retiring`) is stopped then.
 */
export interface ProcessRun {
  runId: string;
  minion: string;
  pid: number | null;
  /** ms epoch (minion clock) */
  startedAt: number | null;
  ready: boolean;
}

export interface ProcessContext {
  key: string;
  tenant: string;
  watcher: string;
  slot: number;
  run: ProcessRun | null;
  surge: (ProcessRun & { reloadId: string | null }) | null;
  retiring: ProcessRun | null;
  /** consecutive short-lived exits */
  retries: number;
  /** pending restart timer (state `backoff`) */
  restartAt: number | null;
  /** pending SIGKILL deadline of a stop (state `stopping`) */
  killAt: number | null;
  /** the last runs that ended: a resent report about one of them appends nothing */
  finishedRunIds: string[];
  /** the last rolling restart that reached this slot */
  lastReloadId: string | null;
  /** when the last `stats` event was appended (ms epoch) */
  lastStatsAt: number;
  starts: number;
}

export type ProcessDomainEvent = DomainEventOf<ProcessEvent>;
export type ProcessStateName = 'stopped' | 'starting' | 'running' | 'stopping' | 'backoff' | 'exited' | 'fatal';

export interface ProcessMachineInput {
  key: string;
  tenant: string;
  watcher: string;
  slot: number;
}

/** Parameters of the named side effects, computed from the event that caused them. */
export interface SendSpawnParams {
  runId: string;
  minion: string;
}
export interface SendSignalParams {
  runId: string;
  minion: string;
  pid: number;
  signal: string;
  stop: boolean;
  killAt: number | null;
}

const FINISHED_RUNS_KEPT = 16;

/** which run an event is about */
const runIdOf = (event: ProcessDomainEvent): string | undefined =>
  'runId' in event.data ? (event.data as { runId?: string }).runId : undefined;

const remember = (finished: string[], runId: string): string[] => {
  const next = finished.includes(runId) ? finished : [...finished, runId];
  return next.length > FINISHED_RUNS_KEPT ? next.slice(next.length - FINISHED_RUNS_KEPT) : next;
};

const runFor = (context: ProcessContext, runId: string | undefined): ProcessRun | undefined => {
  if (runId === undefined) return undefined;
  if (context.run?.runId === runId) return context.run;
  if (context.surge?.runId === runId) return context.surge;
  if (context.retiring?.runId === runId) return context.retiring;
  return undefined;
};

export const processMachine = setup({
  types: {
    context: {} as ProcessContext,
    events: {} as ProcessDomainEvent,
    input: {} as ProcessMachineInput,
  },
  actions: {
    // Effects: no-ops here, provided by the runtime (`machine.provide`) and run after the append.
    sendSpawn: (_, _params: SendSpawnParams) => {},
    sendSignal: (_, _params: SendSignalParams) => {},
    /** the slot reached a resting state (stopped/exited/fatal): converge with the watcher's wish */
    slotSettled: () => {},
    forgetRun: assign({
      run: null,
      finishedRunIds: ({ context, event }) => {
        const runId = runIdOf(event);
        return runId === undefined ? context.finishedRunIds : remember(context.finishedRunIds, runId);
      },
    }),
  },
  guards: {
    isCurrentRun: ({ context, event }) => context.run !== null && runIdOf(event) === context.run.runId,
    isSurgeRun: ({ context, event }) => context.surge !== null && runIdOf(event) === context.surge.runId,
    isRetiringRun: ({ context, event }) => context.retiring !== null && runIdOf(event) === context.retiring.runId,
    isReplacementStart: ({ event }) => event.type === 'start' && event.data.replaces !== undefined,
    isStopOfCurrentRun: ({ context, event }) =>
      event.type === 'kill' && event.data.stop && context.run !== null && (event.data.runId ?? context.run.runId) === context.run.runId,
  },
}).createMachine({
  id: 'process',
  context: ({ input }) => initialProcessContext(input),
  initial: 'stopped',
  on: {
    spawn: [
      {
        guard: 'isSurgeRun',
        actions: assign({ surge: ({ context, event }) => ({ ...context.surge!, pid: event.data.pid, startedAt: event.data.startedAt }) }),
      },
    ],
    ready: [
      { guard: 'isSurgeRun', actions: [assign({ surge: ({ context }) => ({ ...context.surge!, ready: true }) })] },
      { guard: 'isCurrentRun', actions: assign({ run: ({ context }) => ({ ...context.run!, ready: true }) }) },
    ],
    exit: [
      {
        guard: 'isSurgeRun',
        actions: [
          assign({
            surge: null,
            finishedRunIds: ({ context, event }) => remember(context.finishedRunIds, event.data.runId),
          }),
        ],
      },
      {
        guard: 'isRetiringRun',
        actions: [
          assign({
            retiring: null,
            finishedRunIds: ({ context, event }) => remember(context.finishedRunIds, event.data.runId),
          }),
        ],
      },
    ],
    kill: {
      guard: ({ context, event }) => (event.data.runId ?? context.run?.runId) !== context.run?.runId,
      // a signal to a replaced, replacement or stale run: no change of the slot's state
      actions: {
        type: 'sendSignal',
        params: ({ context, event }) => ({
          runId: event.data.runId!,
          minion: runFor(context, event.data.runId)?.minion ?? context.run?.minion ?? '',
          pid: event.data.pid,
          signal: event.data.signal,
          stop: event.data.stop,
          killAt: event.data.killAt,
        }),
      },
    },
    stats: { actions: assign({ lastStatsAt: ({ event }) => event.time }) },
  },
  states: {
    stopped: {
      entry: [assign({ run: null, retries: 0 }), 'slotSettled'],
      on: { start: { target: 'starting' } },
    },
    starting: {
      entry: [
        assign({
          run: ({ event }) => {
            const data = (event as Extract<ProcessDomainEvent, { type: 'start' }>).data;
            return { runId: data.runId, minion: data.minion, pid: null, startedAt: null, ready: false };
          },
          restartAt: null,
          starts: ({ context }) => context.starts + 1,
          lastReloadId: ({ context, event }) => (event as Extract<ProcessDomainEvent, { type: 'start' }>).data.reloadId ?? context.lastReloadId,
        }),
        {
          type: 'sendSpawn',
          params: ({ event }) => {
            const data = (event as Extract<ProcessDomainEvent, { type: 'start' }>).data;
            return { runId: data.runId, minion: data.minion };
          },
        },
      ],
      on: {
        spawn: {
          guard: 'isCurrentRun',
          target: 'running',
          actions: assign({ run: ({ context, event }) => ({ ...context.run!, pid: event.data.pid, startedAt: event.data.startedAt }) }),
        },
        kill: { guard: 'isStopOfCurrentRun', target: 'stopping' },
        exit: { guard: 'isCurrentRun', target: 'exited', actions: 'forgetRun' },
        stop: { target: 'stopped' },
      },
    },
    running: {
      on: {
        start: {
          guard: 'isReplacementStart',
          actions: [
            assign({
              surge: ({ event }) => ({
                runId: event.data.runId,
                minion: event.data.minion,
                pid: null,
                startedAt: null,
                ready: false,
                reloadId: event.data.reloadId ?? null,
              }),
              lastReloadId: ({ context, event }) => event.data.reloadId ?? context.lastReloadId,
            }),
            { type: 'sendSpawn', params: ({ event }) => ({ runId: event.data.runId, minion: event.data.minion }) },
          ],
        },
        handover: { actions: assign(({ context, event }) => handedOver(context, event.data)) },
        kill: [
          { guard: 'isStopOfCurrentRun', target: 'stopping' },
          {
            guard: 'isCurrentRun',
            actions: {
              type: 'sendSignal',
              params: ({ context, event }) => ({ ...signalParams(context, event.data), stop: false }),
            },
          },
          {
            guard: ({ context, event }) => event.data.runId === undefined && context.run !== null,
            actions: {
              type: 'sendSignal',
              params: ({ context, event }) => ({ ...signalParams(context, event.data), stop: false }),
            },
          },
        ],
        exit: { guard: 'isCurrentRun', target: 'exited', actions: 'forgetRun' },
      },
    },
    stopping: {
      entry: [
        assign({ killAt: ({ event }) => (event as Extract<ProcessDomainEvent, { type: 'kill' }>).data.killAt }),
        {
          type: 'sendSignal',
          params: ({ context, event }) => ({
            ...signalParams(context, (event as Extract<ProcessDomainEvent, { type: 'kill' }>).data),
            stop: true,
          }),
        },
      ],
      on: {
        // a re-sent stop (SIGKILL at the deadline): same state, new deadline (null: no more timers)
        kill: {
          guard: 'isStopOfCurrentRun',
          actions: [
            assign({ killAt: ({ event }) => event.data.killAt }),
            { type: 'sendSignal', params: ({ context, event }) => ({ ...signalParams(context, event.data), stop: true }) },
          ],
        },
        spawn: {
          guard: 'isCurrentRun',
          actions: assign({ run: ({ context, event }) => ({ ...context.run!, pid: event.data.pid, startedAt: event.data.startedAt }) }),
        },
        exit: { guard: 'isCurrentRun', target: 'stopped', actions: 'forgetRun' },
      },
      exit: assign({ killAt: null }),
    },
    exited: {
      entry: 'slotSettled',
      on: {
        backoff: { target: 'backoff' },
        fatal: { target: 'fatal' },
        start: { target: 'starting' },
        stop: { target: 'stopped' },
      },
    },
    backoff: {
      entry: assign({
        retries: ({ event }) => (event as Extract<ProcessDomainEvent, { type: 'backoff' }>).data.retries,
        restartAt: ({ event }) => (event as Extract<ProcessDomainEvent, { type: 'backoff' }>).data.restartAt,
      }),
      on: {
        start: { target: 'starting' },
        stop: { target: 'stopped' },
      },
      exit: assign({ restartAt: null }),
    },
    fatal: {
      entry: [assign({ retries: ({ event }) => (event as Extract<ProcessDomainEvent, { type: 'fatal' }>).data.retries }), 'slotSettled'],
      on: {
        start: { target: 'starting' },
        stop: { target: 'stopped' },
      },
    },
  },
});

function signalParams(
  context: ProcessContext,
  data: { pid: number; signal: string; stop: boolean; killAt: number | null; runId?: string },
): SendSignalParams {
  const run = runFor(context, data.runId) ?? context.run;
  return {
    runId: data.runId ?? run?.runId ?? '',
    minion: run?.minion ?? '',
    pid: data.pid,
    signal: data.signal,
    stop: data.stop,
    killAt: data.killAt,
  };
}

