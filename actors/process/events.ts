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
  | { action: 'stats'; data: ProcessStats };
