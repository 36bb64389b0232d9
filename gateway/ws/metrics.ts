import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the websocket protocols (names start with `corral_ws_`). */
export interface WsMetrics {
  /** frames and bytes handed to sockets (a publish counts once per live subscriber) */
  sent(format: string, messages: number, bytes: number): void;
  lagged(kind: string): void;
  catchUp(kind: string): void;
  connected(kind: string, delta: 1 | -1): void;
}

/** `format` keys carry sub ids; only their protocol part becomes a label (bounded label values). */
const protocolOf = (format: string): string => format.split('|', 1)[0]!;

export function createWsMetrics(registry: Registry): WsMetrics {
  // Counted in plain numbers and read at scrape time: a connection storm then costs no
  // label hashing (and no garbage) per socket.
  const open: Record<string, number> = { ws: 0, drp: 0, salt: 0 };
  new Gauge({
    name: 'corral_ws_connections',
    help: 'open websocket connections by kind (ws, drp, salt)',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const kind in open) this.set({ kind }, open[kind]!);
    },
  });
  const messages = new Counter({
    name: 'corral_ws_messages_sent_total',
    help: 'websocket frames sent to clients, by protocol (published frames count once per subscribed socket)',
    labelNames: ['protocol'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'corral_ws_bytes_sent_total',
    help: 'websocket payload bytes sent to clients, by protocol',
    labelNames: ['protocol'] as const,
    registers: [registry],
  });
  const lagged = new Counter({
    name: 'corral_ws_lagged_subscriptions_total',
    help: 'subscriptions taken off live delivery because their socket passed the buffered-bytes bound',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const catchUps = new Counter({
    name: 'corral_ws_catchups_total',
    help: 'catch-ups served from the store (history on subscribe, and recovery after lagged)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  return {
    sent(format, count, size) {
      if (count === 0) return;
      const protocol = protocolOf(format);
      messages.inc({ protocol }, count);
      bytes.inc({ protocol }, size);
    },
    lagged: (kind) => lagged.inc({ kind }),
    catchUp: (kind) => catchUps.inc({ kind }),
    connected: (kind, delta) => void (open[kind] = (open[kind] ?? 0) + delta),
  };
}
