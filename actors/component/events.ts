/**
 * Component registry events (stream `$components`, type `components`, key `<host>:<pid>`,
 * no tenant) and the leader lease (stream `$leader`, type `components`, action `leader`).
 */
export type ComponentKind = 'server' | 'minion';
export type ComponentState = 'initializing' | 'running' | 'paused' | 'stopped';

export interface ModelApiRange {
  min: number;
  max: number;
}
export interface ComponentRegistered {
  kind: ComponentKind;
  host: string;
  pid: number;
  version: string;
  modelApi: ModelApiRange;
  /** where it serves (servers) */
  url?: string;
}
export interface ComponentStateChanged {
  state: ComponentState;
  /** the system model API as this component sees it */
  systemModelApi?: number;
}
/** liveness; `lastSeen` in the view */
export type ComponentHeartbeat = Record<string, never>;
export type ComponentUnregistered = Record<string, never>;
export interface LeaderLease {
  /** component key of the holder, or null when released */
  holder: string | null;
  /** increments with every change of holder */
  term: number;
  /** ms epoch when the lease expires unless renewed */
  expiresAt: number;
  url?: string;
}

export type ComponentEvent =
  | { action: 'register'; data: ComponentRegistered }
  | { action: 'state'; data: ComponentStateChanged }
  | { action: 'heartbeat'; data: ComponentHeartbeat }
  | { action: 'unregister'; data: ComponentUnregistered }
  | { action: 'leader'; data: LeaderLease };
