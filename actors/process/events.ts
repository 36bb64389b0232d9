/**
 * Process events (stream `process-<tenant>:<watcher>:<slot>`, type `processes`,
 * key `<tenant>:<watcher>:<slot>`). A slot is stable across restarts; the pid changes.
 */

/** the actor asked the minion to spawn (state `starting`) */
export interface ProcessStartRequested {
  watcher: string;
  slot: number;
  minion: string;
  /** unique id of this run, echoed by the minion in every report (dedupes after reconnects) */
  runId: string;
  /**
   * Set on a reload's replacement run: the run it replaces once it is ready (see
   * `processes.handover`). Until then the slot's process is still the replaced run, so a
   * view must ignore `spawn`/`ready`/`exit` of this runId.
   */
  replaces?: string;
  /** the rolling restart (`watchers.reload`) this start belongs to */
  reloadId?: string;
}
/**
 * A reload's replacement run became ready and is now the slot's process; the replaced run
 * is stopped next (a `kill {stop: true, runId: replacedRunId}` follows). Later events about
 * `replacedRunId` do not change the slot's view.
 */
export interface ProcessHandover {
  runId: string;
  pid: number;
  /** ms epoch */
  startedAt: number;
  replacedRunId: string;
  reloadId?: string;
}
/** The slot was stopped while no process ran (in backoff, exited or fatal): a pending restart is cancelled. */
export interface ProcessStopped {
  reason: string;
}
export interface ProcessSpawned {
  pid: number;
  minion: string;
  runId: string;
  /** ms epoch */
  startedAt: number;
}
export interface ProcessReady {
  pid: number;
  runId: string;
}

/** Model API 1 shape of `processes.exit`. */
export interface ProcessExitedV1 {
  pid: number;
  runId: string;
  code: number | null;
  signal: string | null;
  /** ms epoch */
  exitedAt: number;
  /** true when the minion no longer knew the run (it ended while no server listened); code and signal are then unknown */
  lost?: boolean;
}
/**
 * Model API 2 shape of `processes.exit`: adds how long the run lasted and what it used, so
 * crash loops and memory blow-ups can be diagnosed from history (null when unknown, e.g.
 * upcast from model API 1).
 */
export interface ProcessExitedV2 extends ProcessExitedV1 {
  durationMs: number | null;
  usage: { cpuUserMs: number; cpuSystemMs: number; maxRssBytes: number } | null;
}
export type ProcessExited = ProcessExitedV2;

/** a restart timer, recorded so a new leader resumes it */
export interface ProcessBackoff {
  /** consecutive short-lived exits so far */
  retries: number;
  delayMs: number;
  /** ms epoch when the restart is due */
  restartAt: number;
}
export interface ProcessFatal {
  reason: string;
  retries: number;
}
/** a signal sent on request (kill) or as part of a stop; `stop` carries the SIGKILL deadline */
export interface ProcessKill {
  pid: number;
  signal: string;
  /** true when this is a stop (the slot goes to `stopped` afterwards, no restart) */
  stop: boolean;
  /** ms epoch after which SIGKILL is sent if the process still runs (stops only) */
  killAt: number | null;
  /** the run signalled; when it is not the slot's current run (a replaced or stale run) the view ignores it */
  runId?: string;
}
export interface ProcessStats {
  pid: number;
  /** percent of one CPU */
  cpu: number;
  rss: number;
}

export type ProcessEvent =
  | { action: 'start'; data: ProcessStartRequested }
  | { action: 'spawn'; data: ProcessSpawned }
  | { action: 'ready'; data: ProcessReady }
  | { action: 'exit'; data: ProcessExited }
  | { action: 'backoff'; data: ProcessBackoff }
  | { action: 'fatal'; data: ProcessFatal }
  | { action: 'kill'; data: ProcessKill }
  | { action: 'stats'; data: ProcessStats }
  | { action: 'handover'; data: ProcessHandover }
  | { action: 'stop'; data: ProcessStopped };
