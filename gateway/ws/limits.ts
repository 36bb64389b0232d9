/** Bounds of the websocket protocols (docs/architecture.md "Websocket protocols"; docs/architecture.md "Delivery"). All configurable per node. */
export interface WsLimits {
  /** a socket's buffered bytes above this make its subscriptions `lagged` (default 1 MiB) */
  maxBufferedBytes: number;
  /** a lagged socket is served from the store again once below this (default 256 KiB) */
  lowWaterBytes: number;
  /**
   * a group's sockets are checked after this many bytes were published to it since the last
   * check (default 1/8 of the bound): the check is one native call per socket, amortised
   */
  checkEveryBytes: number;
  /**
   * uWS's own cap, set far above the bound so uWS never silently drops a frame: the hub
   * takes a socket off its topics long before (default 64 MiB)
   */
  uwsMaxBackpressure: number;
  /**
   * largest frame a client may send (default 1 MiB): a larger one is closed with 1009, up to
   * twice this; uWS drops the connection on one larger still, from its header
   */
  maxPayloadBytes: number;
  /** subscriptions (native `sub`, Digital Rebar `register`) per socket (default 256) */
  maxSubscriptionsPerSocket: number;
  /** seconds without traffic before a socket is closed; uWS pings automatically before (default 120) */
  idleTimeoutSeconds: number;
  /**
   * open websockets (every protocol but the minion's) per principal on this node (default 256):
   * each holds up to `maxBufferedBytes`, so one token cannot take the node's memory
   */
  maxConnectionsPerPrincipal: number;
}

export const DEFAULT_WS_LIMITS: Readonly<WsLimits> = Object.freeze({
  maxBufferedBytes: 1024 * 1024,
  lowWaterBytes: 256 * 1024,
  checkEveryBytes: 128 * 1024,
  uwsMaxBackpressure: 64 * 1024 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxSubscriptionsPerSocket: 256,
  idleTimeoutSeconds: 120,
  maxConnectionsPerPrincipal: 256,
});

export function resolveLimits(overrides: Partial<WsLimits> = {}): WsLimits {
  const limits = { ...DEFAULT_WS_LIMITS, ...overrides };
  if (overrides.maxBufferedBytes !== undefined) {
    limits.lowWaterBytes = overrides.lowWaterBytes ?? Math.floor(limits.maxBufferedBytes / 4);
    limits.checkEveryBytes = overrides.checkEveryBytes ?? Math.max(1, Math.floor(limits.maxBufferedBytes / 8));
  }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`websocket limit ${name} must be an integer >= 0 (got ${value})`);
  }
  if (limits.uwsMaxBackpressure < limits.maxBufferedBytes * 4) {
    throw new Error(`uwsMaxBackpressure (${limits.uwsMaxBackpressure}) must be at least 4x maxBufferedBytes (${limits.maxBufferedBytes}) so uWS never drops a frame`);
  }
  return limits;
}
