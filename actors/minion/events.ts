/** Minion events (stream `minion-<tenant>:<id>`, type `minions`, key `<tenant>:<id>`). */

export interface Grains {
  os: string;
  arch: string;
  hostname: string;
  cpus: number;
  memory: number;
  nodeVersion: string;
  [custom: string]: unknown;
}

export interface MinionConnected {
  id: string;
  version: string;
  /** the minion protocol version it speaks */
  protocol: number;
  /** ms epoch */
  connectedAt: number;
}
export interface MinionDisconnected {
  reason: string;
  /** ms epoch */
  lastSeen: number;
}
export interface MinionGrains {
  grains: Grains;
}

export type MinionEvent =
  | { action: 'connect'; data: MinionConnected }
  | { action: 'disconnect'; data: MinionDisconnected }
  | { action: 'grains'; data: MinionGrains };
