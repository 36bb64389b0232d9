import { handedOver, initialProcessContext, type ProcessMachineInput, type ProcessContext, type ProcessDomainEvent, type ProcessRun, type ProcessStateName } from './machine.js';

/**
 * The process actor's state folded without the machine: the same transitions as
 * `processMachine` (a property test holds them equal on arbitrary event sequences), as a
 * plain reducer. Rehydration folds history with it (an XState transition costs tens of
 * microseconds; 10,000 actors replay in a fraction of that) and resolves one machine
 * snapshot per actor only when the actor next acts.
 */
export interface ProcessState {
  value: ProcessStateName;
  context: ProcessContext;
}

const FINISHED_RUNS_KEPT = 16;

export function initialProcessState(input: ProcessMachineInput): ProcessState {
  return { value: 'stopped', context: initialProcessContext(input) };
}

const remember = (finished: string[], runId: string): string[] => {
  const next = finished.includes(runId) ? finished : [...finished, runId];
  return next.length > FINISHED_RUNS_KEPT ? next.slice(next.length - FINISHED_RUNS_KEPT) : next;
};

const is = (run: ProcessRun | null, runId: string | undefined): boolean => run !== null && runId !== undefined && run.runId === runId;

export function evolveProcess(state: ProcessState, event: ProcessDomainEvent): ProcessState {
  const { value, context } = state;
  const to = (next: ProcessStateName, changes: Partial<ProcessContext>): ProcessState => {
    let ctx: ProcessContext = { ...context, ...changes };
    // exit actions and entry actions of the machine's states
    if (value === 'stopping' && next !== 'stopping') ctx = { ...ctx, killAt: null };
    if (value === 'backoff' && next !== 'backoff') ctx = { ...ctx, restartAt: null };
    if (next === 'stopped') ctx = { ...ctx, run: null, retries: 0 };
    return { value: next, context: ctx };
  };
  const stay = (changes: Partial<ProcessContext>): ProcessState => ({ value, context: { ...context, ...changes } });

  switch (event.type) {
    case 'start': {
      const data = event.data;
      if (value === 'running') {
        if (data.replaces === undefined) return state;
        return stay({
          surge: { runId: data.runId, minion: data.minion, pid: null, startedAt: null, ready: false, reloadId: data.reloadId ?? null },
          lastReloadId: data.reloadId ?? context.lastReloadId,
        });
      }
      if (value === 'stopped' || value === 'exited' || value === 'backoff' || value === 'fatal') {
        return to('starting', {
          run: { runId: data.runId, minion: data.minion, pid: null, startedAt: null, ready: false },
          restartAt: null,
          starts: context.starts + 1,
          lastReloadId: data.reloadId ?? context.lastReloadId,
        });
      }
      return state;
    }
    case 'spawn': {
      const { runId, pid, startedAt } = event.data;
      if ((value === 'starting' || value === 'stopping') && is(context.run, runId)) {
        const run = { ...context.run!, pid, startedAt };
        return value === 'starting' ? to('running', { run }) : stay({ run });
      }
      if (is(context.surge, runId)) return stay({ surge: { ...context.surge!, pid, startedAt } });
      return state;
    }
    case 'ready': {
      const { runId } = event.data;
      if (is(context.surge, runId)) return stay({ surge: { ...context.surge!, ready: true } });
      if (is(context.run, runId)) return stay({ run: { ...context.run!, ready: true } });
      return state;
    }
    case 'handover': {
      if (value !== 'running') return state;
      return stay(handedOver(context, event.data));
    }
    case 'kill': {
      const { stop, runId, killAt } = event.data;
      const stopOfCurrent = stop && context.run !== null && (runId ?? context.run.runId) === context.run.runId;
      if (!stopOfCurrent) return state;
      if (value === 'starting' || value === 'running') return to('stopping', { killAt });
      if (value === 'stopping') return stay({ killAt });
      return state;
    }
    case 'exit': {
      const { runId } = event.data;
      if (is(context.run, runId)) {
        const forget = { run: null, finishedRunIds: remember(context.finishedRunIds, runId) };
        if (value === 'starting' || value === 'running') return to('exited', forget);
        if (value === 'stopping') return to('stopped', forget);
      }
      if (is(context.surge, runId)) return stay({ surge: null, finishedRunIds: remember(context.finishedRunIds, runId) });
      if (is(context.retiring, runId)) return stay({ retiring: null, finishedRunIds: remember(context.finishedRunIds, runId) });
      return state;
    }
    case 'backoff':
      return value === 'exited' ? to('backoff', { retries: event.data.retries, restartAt: event.data.restartAt }) : state;
    case 'fatal':
      return value === 'exited' ? to('fatal', { retries: event.data.retries }) : state;
    case 'stop':
      return value === 'starting' || value === 'exited' || value === 'backoff' || value === 'fatal' ? to('stopped', {}) : state;
    case 'stats':
      return stay({ lastStatsAt: event.time });
    default:
      return state;
  }
}
