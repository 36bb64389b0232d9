import type { ConnectionView, ProjectionEngine } from '../../projections/index.js';
import type { Principal } from '../auth/index.js';
import type { WebSocket } from '../uws.js';
import type { Frame } from './frames.js';
import type { Member, Outlet } from './fanout.js';
import { objectVisible, scopeTenants, type TenantScope } from './scope.js';
import type { WsMetrics } from './metrics.js';

export type ConnectionKind = 'ws' | 'drp' | 'salt';

/**
 * `send`'s arguments for the one cork callback (cork runs it synchronously, and `send` calls
 * no JavaScript): no closure per frame.
 */
let corkedSocket: WebSocket<WsConnection> | null = null;
let corkedFrame: Frame = '';
let corkedBinary = false;
const sendCorked = (): void => void corkedSocket!.send(corkedFrame, corkedBinary);

/**
 * A topic nothing is published to. A socket holds it from its first subscription to its close,
 * so leaving its last real topic (a lag) never frees its uWS subscriber: uWS sends the
 * messages published to a topic at the end of the event-loop turn, and a subscriber freed
 * before then loses the ones queued for it — the frames of the very turn in which the socket
 * was lagged, which `lagged.pos` says were delivered (issue 14 item 1). Fan-out topics are
 * `g<N>`, so the name cannot collide.
 */
const ANCHOR_TOPIC = '~anchor';

/** The subscriptions of a connection without any (what `create` publishes): one shared array. */
const NO_SUBSCRIPTIONS: readonly string[] = Object.freeze([]);

/**
 * One open websocket of any protocol: the hub's `Outlet`, and an entry of the connections
 * view. Everything a protocol handler keeps per socket hangs off it (uWS user data).
 *
 * Idle sockets are the bulk of a gateway's memory, so nothing here is allocated before it
 * is needed: backpressure waiters only exist while a catch-up waits, the tenant scope (and
 * its view list) is shared by every socket of a principal, and no closure is kept per socket.
 */
export class WsConnection implements Outlet {
  ws: WebSocket<WsConnection> | null = null;
  closed = false;
  readonly members = new Set<Member>();
  readonly createdAt = Date.now();
  /** protocol state (native subscriptions by id, Digital Rebar registers, Salt readiness) */
  protocol: unknown = null;
  /** holds `ANCHOR_TOPIC` */
  private anchored = false;
  /** catch-ups waiting for the socket to drain; null (not an empty array) while none wait */
  private waiters: (() => void)[] | null = null;
  /** ends the socket when its credentials expire (set by the endpoint) */
  expiryTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly key: string,
    readonly kind: ConnectionKind,
    /** replaced only by a fresh token for the same subject and rights (`renew`) */
    public principal: Principal,
    readonly scope: TenantScope,
    readonly remoteAddress: string,
    private readonly lowWaterBytes: number,
  ) {}

  bufferedAmount(): number {
    return this.ws !== null && !this.closed ? this.ws.getBufferedAmount() : 0;
  }

  send(frame: Frame, binary: boolean): void {
    const ws = this.ws;
    if (ws === null || this.closed) return;
    corkedSocket = ws;
    corkedFrame = frame;
    corkedBinary = binary;
    try {
      ws.cork(sendCorked);
    } finally {
      corkedSocket = null;
      corkedFrame = '';
    }
  }

  /** Many frames in one cork: one write syscall instead of one per frame. */
  sendFrames(frames: readonly Frame[], binary: boolean): void {
    const ws = this.ws;
    if (ws === null || this.closed || frames.length === 0) return;
    ws.cork(() => {
      for (const frame of frames) ws.send(frame, binary);
    });
  }

  subscribe(topic: string): void {
    if (this.ws === null || this.closed) return;
    // only once a socket subscribes: idle sockets stay free of topic state
    if (!this.anchored) {
      this.ws.subscribe(ANCHOR_TOPIC);
      this.anchored = true;
    }
    this.ws.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (this.ws !== null && !this.closed) this.ws.unsubscribe(topic);
  }

  waitForRoom(): Promise<void> {
    if (this.closed || this.bufferedAmount() < this.lowWaterBytes) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /** uWS `drain`: wakes catch-ups once the socket is below the low-water mark. */
  drained(): void {
    if (this.waiters === null || this.bufferedAmount() >= this.lowWaterBytes) return;
    this.wakeWaiters();
  }

  /** Closes after what is already queued (uWS sends the close frame behind the buffered bytes). */
  end(code: number, reason: string): void {
    const ws = this.ws;
    if (ws === null || this.closed) return;
    try {
      ws.cork(() => ws.end(code, reason.slice(0, 120)));
    } catch {
      // closed by the peer in the meantime
    }
  }

  markClosed(): void {
    this.closed = true;
    this.ws = null;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    if (waiters === null) return;
    this.waiters = null;
    for (const wake of waiters) wake();
  }

  /** The connections view object (docs/architecture.md "Views"), with live buffer and lag figures. */
  view(position: number): ConnectionView {
    let lag = 0;
    let subscriptions = NO_SUBSCRIPTIONS;
    if (this.members.size > 0) {
      const names: string[] = [];
      for (const member of this.members) {
        // the group's specifiers (the tail of its key), read from its matchers: a filter may contain `|`
        const keys = member.group.matchers.map((matcher) => matcher.key).sort();
        names.push(keys.join(' ').replace(/\n/g, ' '));
        if (member.mode !== 'live') lag = Math.max(lag, position - member.lastDelivered);
      }
      subscriptions = names;
    }
    return {
      key: this.key,
      principal: this.principal.subject,
      tenants: scopeTenants(this.scope),
      kind: this.kind,
      createdAt: this.createdAt,
      subscriptions,
      bufferedBytes: this.bufferedAmount(),
      lag,
      remoteAddress: this.remoteAddress,
    };
  }
}

/**
 * The open websockets of this node. `create`/`destroy` are published as ephemeral changes
 * (`engine.publishEphemeral`): streamed to subscribers and kept in the engine's connections
 * view, never stored (docs/architecture.md "Events").
 */
export class ConnectionRegistry {
  private readonly open = new Set<WsConnection>();
  /** sockets admitted per principal subject: open ones and those still upgrading */
  private readonly admitted = new Map<string, number>();
  private serial = 0;

  constructor(
    private readonly engine: ProjectionEngine,
    private readonly metrics?: WsMetrics,
  ) {}

  /**
   * `<ip>:<n>`: uWebSockets.js 20.30 does not expose the peer's port, so the second part is
   * this node's connection serial number (unique while the node runs), not the TCP port.
   */
  nextKey(remoteAddress: string): string {
    return `${remoteAddress}:${++this.serial}`;
  }

  /**
   * Counts a socket of `subject` before its upgrade (so concurrent upgrades cannot all pass);
   * false when it already has `limit`. Every admitted socket is `release`d exactly once.
   */
  admit(subject: string, limit: number): boolean {
    const count = this.admitted.get(subject) ?? 0;
    if (count >= limit) return false;
    this.admitted.set(subject, count + 1);
    return true;
  }

  release(subject: string): void {
    const count = (this.admitted.get(subject) ?? 0) - 1;
    if (count > 0) this.admitted.set(subject, count);
    else this.admitted.delete(subject);
  }

  add(connection: WsConnection): void {
    this.open.add(connection);
    this.metrics?.connected(connection.kind, 1);
    const object = connection.view(this.engine.position);
    this.engine.publishEphemeral({ type: 'connections', action: 'create', key: connection.key, object, principal: connection.principal.subject });
  }

  remove(connection: WsConnection): void {
    if (!this.open.delete(connection)) return;
    this.metrics?.connected(connection.kind, -1);
    const object = { ...connection.view(this.engine.position), bufferedBytes: 0 };
    this.engine.publishEphemeral({ type: 'connections', action: 'destroy', key: connection.key, object, principal: connection.principal.subject });
  }

  all(): WsConnection[] {
    return [...this.open];
  }

  /** The open connections, without a copy (do not open or close sockets while iterating). */
  values(): IterableIterator<WsConnection> {
    return this.open.values();
  }

  /** What a principal may see: connections sharing one of its tenants; `*` sees all. */
  visibleTo(scope: TenantScope): ConnectionView[] {
    const position = this.engine.position;
    const views: ConnectionView[] = [];
    for (const connection of this.open) {
      const view = connection.view(position);
      if (objectVisible(scope, 'connections', view)) views.push(view);
    }
    return views;
  }

  get size(): number {
    return this.open.size;
  }
}
