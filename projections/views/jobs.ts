import type { JobEvent } from '../../actors/job/events.js';
import { ignore } from './tenants.js';
import type { EventOf, FoldResult, JobMinionResult, JobView, ViewState } from './types.js';

const PENDING_RESULT: JobMinionResult = Object.freeze({ state: 'pending', return: null, retcode: null, success: null, durationMs: null });
const TIMED_OUT_RESULT: JobMinionResult = Object.freeze({ state: 'timeout', return: null, retcode: null, success: null, durationMs: null });

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
      const minions = copyResults(original.minions);
      for (const id of event.data.minions) if (!(id in minions)) minions[id] = PENDING_RESULT;
      object = copyJob(original);
      if (!isFinal(original)) object.state = 'running';
      object.minions = minions;
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
      const minions = copyResults(original.minions);
      minions[data.minion] = result;
      object = copyJob(original);
      object.minions = minions;
      break;
    }
    case 'complete':
      object = copyJob(original);
      object.state = event.data.state;
      object.endTime = event.time;
      break;
    case 'timeout': {
      const minions = copyResults(original.minions);
      for (const id of event.data.minions) {
        const previous = minions[id];
        if (!previous || previous.state === 'pending') minions[id] = TIMED_OUT_RESULT;
      }
      object = copyJob(original);
      object.state = 'timeout';
      object.endTime = event.time;
      object.minions = minions;
      break;
    }
    case 'cancel':
      object = copyJob(original);
      object.state = 'cancelled';
      object.endTime = event.time;
      break;
    default: {
      const unknown: never = event;
      return ignore(unknown);
    }
  }
  state.jobs.set(key, object);
  return { object, original };
}

// Explicit copies: object spread of wide objects is an order of magnitude slower in V8.
function copyJob(o: JobView): JobView {
  return {
    key: o.key,
    tenant: o.tenant,
    jid: o.jid,
    fun: o.fun,
    args: o.args,
    tgt: o.tgt,
    tgtType: o.tgtType,
    state: o.state,
    user: o.user,
    timeoutMs: o.timeoutMs,
    startTime: o.startTime,
    endTime: o.endTime,
    minions: o.minions,
  };
}

function copyResults(results: Readonly<Record<string, JobMinionResult>>): Record<string, JobMinionResult> {
  const copy: Record<string, JobMinionResult> = {};
  for (const id in results) copy[id] = results[id]!;
  return copy;
}

function isFinal(job: JobView): boolean {
  return job.state !== 'pending' && job.state !== 'running';
}
