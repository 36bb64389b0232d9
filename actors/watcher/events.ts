/**
 * Watcher events (stream `watcher-<tenant>:<name>`, type `watchers`, key `<tenant>:<name>`).
 * Data shapes are plain data; the view of docs/architecture.md "Views" is folded from them in projections/.
 */

/** How a process signals it is ready (docs/architecture.md "Actors and leadership"). */
export type ReadinessSpec =
  | { kind: 'none' }
  | { kind: 'delay'; delayMs: number }
  | { kind: 'tcp'; port: number; host?: string; timeoutMs?: number }
  | { kind: 'http'; port: number; path?: string; host?: string; timeoutMs?: number }
  | { kind: 'notify'; timeoutMs?: number };

export interface RestartPolicy {
  /** wait this long before restarting an exited process */
  delayMs: number;
  /** a process that dies before living this long counts toward maxRetries */
  minAliveMs: number;
  /** consecutive short-lived exits allowed before the slot is `fatal` */
  maxRetries: number;
}

/** A watcher's configuration: what the config file and the API accept (all defaults filled in). */
export interface WatcherSpec {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | null;
  numprocesses: number;
  /** minion id; `local` means the server's local minion */
  minion: string;
  restart: RestartPolicy;
  ready: ReadinessSpec;
  stopSignal: string;
  stopWaitMs: number;
  logs: { maxLines: number };
  /** start processes when created (default true) */
  active: boolean;
  /**
   * The OS account the processes run as, instead of the tenant's (docs/security.md): a user
   * name or uid, and a group (default: the user's primary group). Present only when set.
   */
  user?: string;
  group?: string;
}

export interface WatcherCreated {
  name: string;
  spec: WatcherSpec;
}
export interface WatcherUpdated {
  spec: WatcherSpec;
  /** top-level spec fields that changed */
  changed: string[];
}
export type WatcherStarted = Record<string, never>;
export type WatcherStopped = Record<string, never>;
export interface WatcherReloadRequested {
  /** correlation id of this rolling restart */
  reloadId: string;
}
export type WatcherDestroyed = Record<string, never>;

export type WatcherEvent =
  | { action: 'create'; data: WatcherCreated }
  | { action: 'update'; data: WatcherUpdated }
  | { action: 'start'; data: WatcherStarted }
  | { action: 'stop'; data: WatcherStopped }
  | { action: 'reload'; data: WatcherReloadRequested }
  | { action: 'destroy'; data: WatcherDestroyed };
