/**
 * One minion's connection as the hub holds it: the record uWS keeps as the socket's user
 * data, the frames it sends (acks, commands held back while the socket buffers), how it is
 * ended, and the upgrade that authenticates the token before a record is made. The hub
 * (hub.ts) decides what the frames mean: hello, registration, report ordering and acks.
 */
import { minionCredential } from './bindings.js';
import type { HelloFrame, MinionFrame, ServerFrame } from './protocol.js';
import { encodeFrame } from './protocol.js';
import type { HttpRequest, HttpResponse, SocketContext, WebSocket } from '../uws.js';

export interface MinionIdentity {
  /** who the token names (for logs and the connections view) */
  subject: string;
  /** tenants the token lets a minion serve; `*` means any */
  tenants: string[];
  /** how the token was proved (PrincipalSource; default `token`): part of the credential */
  source?: string;
  /** the minion id a minion token is minted for (claim `corral.minion`); null otherwise */
  minion?: string | null;
}

export interface Connection {
  subject: string;
  grantedTenants: string[];
  /** the credential the token proves (bindings.ts): who may own a minion id */
  credential: string;
  /** the only minion id a minion token may connect as; null for other tokens */
  minionClaim: string | null;
  /**
   * Frames that arrived while the hello waits for its id's binding (`null`: not waiting):
   * handled in order once it is admitted.
   */
  held: MinionFrame[] | null;
  remoteAddress: string;
  connectedAt: number;
  ws: WebSocket<Connection> | null;
  hello: HelloFrame | null;
  tenants: string[];
  /** serves every tenant (token `*`, no tenants requested) */
  anyTenant: boolean;
  protocol: number | null;
  open: boolean;
  replaced: boolean;
  /** resolves once the sink knows the minion: reports wait for it */
  registered: Promise<void>;
  lastSeq: number;
  ackedSeq: number;
  /** the last ack sent: `ackedSeq` above it still has to go out */
  sentAck: number;
  done: Set<number>;
  chains: Map<string, Promise<void>>;
  ackScheduled: boolean;
  pendingCommands: Buffer[];
  helloTimer: NodeJS.Timeout | null;
}


/** websocket close reasons are limited to 123 bytes */
const closeReason = (text: string): string => {
  const bytes = Buffer.from(text);
  return bytes.length <= 123 ? text : bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
};

export function send(conn: Connection, frame: ServerFrame): void {
  if (!conn.open || !conn.ws) return;
  const ws = conn.ws;
  ws.cork(() => ws.send(encodeFrame(frame), true));
}

export function sendAck(conn: Connection): void {
  if (conn.ackedSeq === conn.sentAck) return;
  conn.sentAck = conn.ackedSeq;
  send(conn, { t: 'ack', seq: conn.ackedSeq });
}

export function end(conn: Connection, code: number, reason: string): void {
  if (!conn.open || !conn.ws) return;
  const ws = conn.ws;
  // the ack of what completed goes out first: otherwise the minion resends recorded reports
  sendAck(conn);
  ws.cork(() => ws.end(code, closeReason(reason)));
}

/** Sends the commands held back while the socket buffered `maxBuffered` bytes or more. */
export function flushCommands(conn: Connection, maxBuffered: number): void {
  while (conn.open && conn.ws && conn.pendingCommands.length > 0 && conn.ws.getBufferedAmount() < maxBuffered) {
    const bytes = conn.pendingCommands.shift()!;
    const ws = conn.ws;
    ws.cork(() => ws.send(bytes, true));
  }
}

export function scheduleAck(conn: Connection): void {
  if (conn.ackScheduled) return;
  conn.ackScheduled = true;
  // Coalesce: one ack frame for every report that completed in this turn of the loop.
  setImmediate(() => {
    conn.ackScheduled = false;
    sendAck(conn);
  });
}

/**
 * The uWS `upgrade` handler: verifies the token (from `Authorization: Bearer` or `?token=`)
 * and upgrades with a fresh connection record, or answers 401/403 with a JSON error.
 */
export function authenticatingUpgrade(
  verifyToken: (token: string) => Promise<MinionIdentity>,
): (res: HttpResponse, req: HttpRequest, context: SocketContext) => void {
  return function upgrade(res: HttpResponse, req: HttpRequest, context: SocketContext): void {
    const secKey = req.getHeader('sec-websocket-key');
    const secProtocol = req.getHeader('sec-websocket-protocol');
    const secExtensions = req.getHeader('sec-websocket-extensions');
    const authorization = req.getHeader('authorization');
    const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim() || req.getQuery('token') || '';
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const refuse = (status: string, code: string, message: string): void => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: { code, message } }));
      });
    };
    if (!token) return refuse('401 Unauthorized', 'unauthenticated', 'a minion needs a token: Authorization: Bearer <token>');
    verifyToken(token).then(
      (identity) => {
        if (aborted) return;
        if (identity.tenants.length === 0) return refuse('403 Forbidden', 'forbidden', 'the token grants no tenant to serve');
        const minion = identity.minion ?? null;
        const conn: Connection = {
          subject: identity.subject,
          grantedTenants: identity.tenants,
          credential: minionCredential({ source: identity.source ?? 'token', subject: identity.subject, tenants: identity.tenants, minion }),
          minionClaim: minion,
          held: null,
          remoteAddress,
          connectedAt: Date.now(),
          ws: null,
          hello: null,
          tenants: [],
          anyTenant: false,
          protocol: null,
          open: false,
          replaced: false,
          registered: Promise.resolve(),
          lastSeq: 0,
          ackedSeq: 0,
          sentAck: 0,
          done: new Set(),
          chains: new Map(),
          ackScheduled: false,
          pendingCommands: [],
          helloTimer: null,
        };
        res.cork(() => res.upgrade(conn, secKey, secProtocol, secExtensions, context));
      },
      (err: unknown) =>
        (err as { code?: unknown })?.code === 'forbidden'
          ? refuse('403 Forbidden', 'forbidden', (err as Error).message)
          : refuse('401 Unauthorized', 'unauthenticated', `invalid token: ${(err as Error)?.message ?? String(err)}`),
    );
  };
}
