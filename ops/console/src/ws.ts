/**
 * The native websocket (README "Subscribe from a shell") with resume. Every subscription remembers the last
 * position it was delivered; after a drop the socket reconnects with backoff and
 * re-subscribes each one with `from: <last position>`, so the server replays exactly what
 * was missed (§9: nothing lost, nothing twice). Subscription ids are stable names, not
 * counters: identical subscriptions from many consoles share the server's fan-out group.
 */

export interface LiveEvent {
  sub: string;
  pos: number;
  /** never stored: `pos` is that of the last stored event */
  ephemeral?: true;
  time: string;
  type: string;
  action: string;
  key: string;
  tenant?: string;
  data: unknown;
  /** the view object after the change; absent on `logs` events, whose line is in `data` (README, the native protocol) */
  object?: Record<string, unknown> | null;
  original?: Record<string, unknown> | null;
}

export interface SubscriptionSpec {
  id: string;
  select: string;
  filter?: string;
  /** first subscription: a snapshot of the matching objects, then changes */
  snapshot?: boolean;
  /** first subscription without a snapshot: where to start (default `now`) */
  from?: 'now' | 'start' | number;
}

export interface SubscriptionHandlers {
  snapshot?(items: Record<string, unknown>[], position: number): void;
  event(event: LiveEvent): void;
  /** the server refused the subscription (bad specifier or filter, forbidden) */
  error?(error: { code: string; message: string; position: number | null }): void;
}

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

interface Subscription {
  spec: SubscriptionSpec;
  handlers: SubscriptionHandlers;
  /** last position delivered to this subscription (null: nothing yet) */
  position: number | null;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** close codes after which reconnecting cannot help */
const FINAL_CLOSE_CODES = new Set([4001, 4003, 4400]);

export class LiveSocket {
  private socket: WebSocket | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly statusListeners = new Set<(status: ConnectionStatus, detail: string) => void>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  status: ConnectionStatus = 'connecting';

  constructor(private readonly url: string) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'console closed');
    this.setStatus('closed', 'stopped');
  }

  onStatus(listener: (status: ConnectionStatus, detail: string) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.status, '');
    return () => this.statusListeners.delete(listener);
  }

  /** Subscribes (or replaces the subscription with the same id). Returns the unsubscribe. */
  subscribe(spec: SubscriptionSpec, handlers: SubscriptionHandlers): () => void {
    if (this.subscriptions.has(spec.id)) this.unsubscribe(spec.id);
    const subscription: Subscription = { spec, handlers, position: typeof spec.from === 'number' ? spec.from : null };
    this.subscriptions.set(spec.id, subscription);
    this.sendSub(subscription);
    return () => this.unsubscribe(spec.id);
  }

  unsubscribe(id: string): void {
    if (!this.subscriptions.delete(id)) return;
    this.send({ op: 'unsub', id });
  }

  /** The last position seen by a subscription (to resume it later by hand). */
  positionOf(id: string): number | null {
    return this.subscriptions.get(id)?.position ?? null;
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.url, 'corral.v1.json');
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus('open', '');
      for (const subscription of this.subscriptions.values()) this.sendSub(subscription);
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        return;
      }
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) this.dispatch(item as Record<string, unknown>);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.setStatus('closed', event.reason || `closed with code ${event.code}`);
        return;
      }
      // Full jitter: a restarted server is not hit by every console at the same instant.
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt++);
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      this.setStatus('reconnecting', event.reason || `connection lost (code ${event.code})`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    };
  }

  private sendSub(subscription: Subscription): void {
    const { spec, position } = subscription;
    const message: Record<string, unknown> = { op: 'sub', id: spec.id, select: spec.select };
    if (spec.filter) message.filter = spec.filter;
    if (position !== null) message.from = position;
    else if (spec.snapshot) message.snapshot = true;
    else message.from = spec.from ?? 'now';
    this.send(message);
  }

  private send(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private dispatch(message: Record<string, unknown>): void {
    const op = message.op;
    if (op === 'event') {
      const subscription = this.subscriptions.get(String(message.sub));
      if (!subscription) return;
      // Unstored changes (live CPU/RSS samples, connections) are marked `ephemeral`: their
      // `pos` is that of the last stored event, so they neither move the resume position nor
      // count as duplicates (README, the native protocol).
      if (message.ephemeral !== true) {
        const pos = Number(message.pos);
        // After a resume the server starts strictly after our position; this guards the
        // console's state against a replayed stored event.
        if (subscription.position !== null && pos <= subscription.position) return;
        subscription.position = pos;
      }
      subscription.handlers.event(message as unknown as LiveEvent);
      return;
    }
    const id = String(message.id ?? message.sub ?? '');
    const subscription = this.subscriptions.get(id);
    if (!subscription) return;
    if (op === 'snapshot') {
      const position = Number(message.position);
      subscription.position = position;
      subscription.handlers.snapshot?.((message.items as Record<string, unknown>[]) ?? [], position);
    } else if (op === 'subscribed') {
      // From `now`, everything after this position will come: resuming from it loses nothing.
      if (subscription.position === null && !subscription.spec.snapshot && (subscription.spec.from ?? 'now') === 'now') {
        subscription.position = Number(message.position);
      }
    } else if (op === 'live') {
      const position = Number(message.position);
      if (subscription.position === null || position > subscription.position) subscription.position = position;
    } else if (op === 'error') {
      this.subscriptions.delete(id);
      const text = String(message.message ?? 'subscription refused');
      const position = typeof message.position === 'number' ? message.position : /at character (\d+)/.exec(text) ? Number(/at character (\d+)/.exec(text)![1]) : null;
      subscription.handlers.error?.({ code: String(message.code ?? 'error'), message: text, position });
    }
  }

  private setStatus(status: ConnectionStatus, detail: string): void {
    this.status = status;
    for (const listener of this.statusListeners) listener(status, detail);
  }
}
