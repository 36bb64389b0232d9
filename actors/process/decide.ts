import { NotFoundError } from '../../store/index.js';
import type { RestartPolicy } from '../watcher/events.js';
import type { ProcessEvent } from './events.js';
import type { ProcessContext, ProcessStateName } from './machine.js';

/**
 * The process actor's decider: from its state and a command, the events to append
 * (emmett's `decide`). Pure: time and new run ids come in through `ProcessDecisionEnv`.
 */
export type ProcessCommand =
  /** the watcher wants the slot running; `reset` also restarts a fatal/backing-off slot */
  | { kind: 'start'; reset: boolean }
  | { kind: 'stop'; reason: string }
  /** stop the current run (the slot restarts once stopped, since the watcher wants it) or start now */
  | { kind: 'restart' }
  /** rolling reload of this slot: a replacement run, ready before the current one stops */
  | { kind: 'replace'; reloadId: string }
  | { kind: 'kill'; signal: string }
  /** `fromHello`: the minion runs it right now (reconciliation), so a run this slot no longer owns is stopped */
  | { kind: 'spawned'; runId: string; pid: number; startedAt: number; minion: string; fromHello?: boolean }
  | { kind: 'spawnFailed'; runId: string; error: string }
  | { kind: 'ready'; runId: string; pid: number }
  | {
      kind: 'exited';
      runId: string;
      pid: number;
      code: number | null;
      signal: string | null;
      exitedAt: number;
      durationMs: number | null;
      usage: { cpuUserMs: number; cpuSystemMs: number; maxRssBytes: number } | null;
      lost?: boolean;
    }
  /** the minion reconnected and no longer runs this run (it ended while no server listened) */
  | { kind: 'runMissing'; runId: string }
  | { kind: 'restartDue' }
  | { kind: 'killDue' }
  | { kind: 'stats'; pid: number; cpu: number; rss: number; runId: string };

/** What the process actor needs to know about its watcher when deciding. */
export interface SlotWish {
  /** the watcher exists, is active, and this slot is below numprocesses */
  wanted: boolean;
  minion: string;
  restart: RestartPolicy;
  stopSignal: string;
  stopWaitMs: number;
}

export interface ProcessDecisionEnv {
  now: number;
  newRunId: () => string;
  wish: SlotWish;
  /** restart delays grow as delayMs * 2^(retries-1), capped here */
  maxBackoffMs: number;
  /** minimum interval between stored `stats` events of one process */
  statsIntervalMs: number;
}

export type ProcessEventToAppend = ProcessEvent;

export interface ProcessSnapshotView {
  value: ProcessStateName;
  context: ProcessContext;
}

export function decideProcess(state: ProcessSnapshotView, command: ProcessCommand, env: ProcessDecisionEnv): ProcessEvent[] {
  const { value, context } = state;
  const run = context.run;
  const known = (runId: string) =>
    run?.runId === runId || context.surge?.runId === runId || context.retiring?.runId === runId;

  switch (command.kind) {
    case 'start': {
      if (!env.wish.wanted) return [];
      if (value === 'stopped' || value === 'exited') return [startEvent(context, env)];
      if ((value === 'fatal' || value === 'backoff') && command.reset) return [stopEvent('restart'), startEvent(context, env)];
      return [];
    }
    case 'stop':
      return stopDecision(state, env, command.reason);
    case 'restart': {
      if (value === 'running' || value === 'starting') return stopDecision(state, env, 'restart');
      if (value === 'stopping') return [];
      if (!env.wish.wanted) return [];
      if (value === 'stopped') return [startEvent(context, env)];
      return [stopEvent('restart'), startEvent(context, env)];
    }
    case 'replace': {
      if (!env.wish.wanted) return [];
      if (value === 'running' && run && context.surge === null) {
        // a surge run beside the ready one; it takes the slot over once ready (handover)
        return [startEvent(context, env, command.reloadId, run.runId)];
      }
      // nothing ready to keep: a plain (re)start is the replacement
      if (value === 'stopped' || value === 'exited') return [startEvent(context, env, command.reloadId)];
      if (value === 'backoff' || value === 'fatal') return [stopEvent('reload'), startEvent(context, env, command.reloadId)];
      return [];
    }
    case 'kill': {
      if ((value !== 'running' && value !== 'stopping') || !run || run.pid === null) {
        throw new NotFoundError(`process ${context.key} has no running process to signal (state ${value})`, {
          key: context.key,
          state: value,
        });
      }
      return [{ action: 'kill', data: { pid: run.pid, signal: command.signal, stop: false, killAt: null, runId: run.runId } }];
    }
    case 'spawned': {
      if (context.finishedRunIds.includes(command.runId)) return command.fromHello ? [staleStop(command.runId, command.pid, env)] : [];
      if (run?.runId === command.runId) {
        if (run.pid !== null) return [];
        return [{ action: 'spawn', data: { pid: command.pid, minion: command.minion, runId: command.runId, startedAt: command.startedAt } }];
      }
      if (context.surge?.runId === command.runId) {
        if (context.surge.pid !== null) return [];
        return [{ action: 'spawn', data: { pid: command.pid, minion: command.minion, runId: command.runId, startedAt: command.startedAt } }];
      }
      if (context.retiring?.runId === command.runId) return [];
      // a resent report about a run that was never ours and is not running now: nothing to record
      if (!command.fromHello) return [];
      // a run this slot does not own (stale, from before a restart of the server): stop it
      return [staleStop(command.runId, command.pid, env)];
    }
    case 'spawnFailed': {
      if (!known(command.runId) || context.finishedRunIds.includes(command.runId)) return [];
      return exitDecision(state, env, {
        runId: command.runId,
        pid: 0,
        code: null,
        signal: null,
        exitedAt: env.now,
        durationMs: 0,
        usage: null,
      });
    }
    case 'ready': {
      if (run?.runId === command.runId && !run.ready && value === 'running') {
        return [{ action: 'ready', data: { pid: command.pid, runId: command.runId } }];
      }
      const surge = context.surge;
      if (surge?.runId === command.runId && !surge.ready && surge.pid !== null && run && value === 'running') {
        // the replacement is ready: it becomes the slot's process at once and the replaced run
        // is stopped, in one append, so a slot is never without a ready process (reload)
        return [
          { action: 'ready', data: { pid: command.pid, runId: command.runId } },
          {
            action: 'handover',
            data: {
              runId: surge.runId,
              pid: surge.pid,
              startedAt: surge.startedAt ?? env.now,
              replacedRunId: run.runId,
              ...(surge.reloadId ? { reloadId: surge.reloadId } : {}),
            },
          },
          { action: 'kill', data: { pid: run.pid ?? 0, signal: env.wish.stopSignal, stop: true, killAt: env.now + env.wish.stopWaitMs, runId: run.runId } },
        ];
      }
      return [];
    }
    case 'exited': {
      if (!known(command.runId) || context.finishedRunIds.includes(command.runId)) return [];
      return exitDecision(state, env, command);
    }
    case 'runMissing': {
      const missing = [run, context.surge, context.retiring].find((candidate) => candidate?.runId === command.runId);
      if (!missing) return [];
      // a run that never started is only given up when it was being stopped anyway
      if (missing.pid === null && !(missing === run && value === 'stopping')) return [];
      if (missing === run && value !== 'running' && value !== 'stopping') return [];
      return exitDecision(state, env, {
        runId: missing.runId,
        pid: missing.pid ?? 0,
        code: null,
        signal: null,
        exitedAt: env.now,
        durationMs: missing.startedAt === null ? null : Math.max(0, env.now - missing.startedAt),
        usage: null,
        lost: true,
      });
    }
    case 'restartDue': {
      if (value !== 'backoff' || context.restartAt === null || context.restartAt > env.now) return [];
      return env.wish.wanted ? [startEvent(context, env)] : [stopEvent('not wanted')];
    }
    case 'killDue': {
      if (value !== 'stopping' || !run || context.killAt === null || context.killAt > env.now) return [];
      return [{ action: 'kill', data: { pid: run.pid ?? 0, signal: 'SIGKILL', stop: true, killAt: null, runId: run.runId } }];
    }
    case 'stats': {
      if (run?.runId !== command.runId || env.now - context.lastStatsAt < env.statsIntervalMs) return [];
      return [{ action: 'stats', data: { pid: command.pid, cpu: command.cpu, rss: command.rss } }];
    }
  }
}

/** A new run for the slot; `replaces` names the ready run a reload's surge run will take over from. */
function startEvent(context: ProcessContext, env: ProcessDecisionEnv, reloadId?: string, replaces?: string): ProcessEvent {
  return {
    action: 'start',
    data: {
      watcher: context.watcher,
      slot: context.slot,
      minion: env.wish.minion,
      runId: env.newRunId(),
      ...(replaces ? { replaces } : {}),
      ...(reloadId ? { reloadId } : {}),
    },
  };
}

const stopEvent = (reason: string): ProcessEvent => ({ action: 'stop', data: { reason } });

function staleStop(runId: string, pid: number, env: ProcessDecisionEnv): ProcessEvent {
  return { action: 'kill', data: { pid, signal: env.wish.stopSignal, stop: true, killAt: env.now + env.wish.stopWaitMs, runId } };
}

function stopDecision(state: ProcessSnapshotView, env: ProcessDecisionEnv, reason: string): ProcessEvent[] {
  const { value, context } = state;
  const run = context.run;
  const events: ProcessEvent[] = [];
  // a replacement run being prepared goes too: a stopped slot runs nothing
  if (context.surge) {
    events.push({
      action: 'kill',
      data: { pid: context.surge.pid ?? 0, signal: env.wish.stopSignal, stop: true, killAt: env.now + env.wish.stopWaitMs, runId: context.surge.runId },
    });
  }
  if ((value === 'running' || value === 'starting') && run) {
    events.push({
      action: 'kill',
      data: { pid: run.pid ?? 0, signal: env.wish.stopSignal, stop: true, killAt: env.now + env.wish.stopWaitMs, runId: run.runId },
    });
  } else if (value === 'backoff' || value === 'exited' || value === 'fatal') {
    events.push(stopEvent(reason));
  }
  return events;
}

type ExitFacts = Extract<ProcessCommand, { kind: 'exited' }> extends infer E ? Omit<E, 'kind'> : never;

/** Records an exit and applies the restart policy (docs/architecture.md "Actors and leadership"). */
function exitDecision(state: ProcessSnapshotView, env: ProcessDecisionEnv, facts: ExitFacts): ProcessEvent[] {
  const { value, context } = state;
  const exit: ProcessEvent = {
    action: 'exit',
    data: {
      pid: facts.pid,
      runId: facts.runId,
      code: facts.code,
      signal: facts.signal,
      exitedAt: facts.exitedAt,
      durationMs: facts.durationMs,
      usage: facts.usage,
      ...(facts.lost ? { lost: true } : {}),
    },
  };
  // replacement and replaced runs end without touching the slot's restart policy
  if (context.run?.runId !== facts.runId) return [exit];
  if (value === 'stopping' || !env.wish.wanted) return [exit];
  const policy = env.wish.restart;
  const startedAt = context.run.startedAt;
  const livedMs = facts.durationMs ?? (startedAt === null ? 0 : Math.max(0, facts.exitedAt - startedAt));
  const shortLived = startedAt === null || livedMs < policy.minAliveMs;
  const retries = shortLived ? context.retries + 1 : 0;
  if (retries > policy.maxRetries) {
    return [
      exit,
      {
        action: 'fatal',
        data: { reason: `exited ${retries} times in a row within ${policy.minAliveMs} ms of starting (maxRetries ${policy.maxRetries})`, retries },
      },
    ];
  }
  const delayMs = shortLived ? Math.min(env.maxBackoffMs, policy.delayMs * 2 ** (retries - 1)) : policy.delayMs;
  return [exit, { action: 'backoff', data: { retries, delayMs, restartAt: env.now + delayMs } }];
}

