import type { JobEvent } from '../../actors/job/events.js';
import { ignore } from './tenants.js';
import type { EventOf, FoldResult, JobMinionResult, JobView, ViewState } from './types.js';

const PENDING_RESULT: JobMinionResult = Object.freeze({ state: 'pending', return: null, retcode: null, success: null, durationMs: null });

/** Folds `jobs` events (key `<tenant>:<jid>`). Job states follow the actor's decisions only. */
export function evolveJobs(state: ViewState, event: EventOf<JobEvent>): FoldResult {
  const key = event.key;
  const original = state.jobs.get(key) ?? null;
  let object: JobView;
  if (event.action === 'create') {
    const data = event.data;
    object = {
      key,
      tenant: event.tenant ?? key.slice(0, key.indexOf(':')),
      jid: data.jid,
      fun: data.fun,
      args: data.args,
      tgt: data.tgt,
      tgtType: data.tgtType,
      state: 'pending',
      user: data.user,
      timeoutMs: data.timeoutMs,
      startTime: event.time,
      endTime: null,
      minions: {},
    };
    state.jobs.set(key, object);
    return { object, original };
  }
  if (!original) return ignore(event);
  switch (event.action) {
    case 'dispatch': {
      const minions: Record<string, JobMinionResult> = { ...original.minions };
      for (const id of event.data.minions) if (!(id in minions)) minions[id] = PENDING_RESULT;
      object = { ...original, state: isFinal(original) ? original.state : 'running', minions };
      break;
    }
    case 'return': {
      const data = event.data;
      const result: JobMinionResult = {
        state: 'returned',
        return: data.return,
        retcode: data.retcode,
        success: data.success,
        durationMs: data.durationMs,
      };
      object = { ...original, minions: { ...original.minions, [data.minion]: result } };
      break;
    }
    case 'complete':
      object = { ...original, state: event.data.state, endTime: event.time };
      break;
    case 'timeout': {
      const minions: Record<string, JobMinionResult> = { ...original.minions };
      for (const id of event.data.minions) {
        const previous = minions[id];
        if (!previous || previous.state === 'pending') minions[id] = { ...(previous ?? PENDING_RESULT), state: 'timeout' };
      }
      object = { ...original, state: 'timeout', endTime: event.time, minions };
      break;
    }
    case 'cancel':
      object = { ...original, state: 'cancelled', endTime: event.time };
      break;
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  state.jobs.set(key, object);
  return { object, original };
}

function isFinal(job: JobView): boolean {
  return job.state !== 'pending' && job.state !== 'running';
}
