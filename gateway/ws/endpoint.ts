import { STATUS_CODES } from 'node:http';
import { CorralError, isCorralError } from '../../store/index.js';
import { HTTP_STATUS_BY_CODE } from '../http/index.js';
import type { Principal } from '../auth/index.js';
import type { Gateway } from '../server.js';
import type { HttpRequest, HttpResponse, SocketContext, WebSocket } from '../uws.js';
import type { FanoutHub } from './fanout.js';
import type { ConnectionRegistry, ConnectionKind } from './connections.js';
import { WsConnection } from './connections.js';
import type { WsLimits } from './limits.js';
import { scopeOf } from './scope.js';

/** Close codes of docs/architecture.md "Websocket protocols". */
export const CLOSE = {
  unauthenticated: 4001,
  forbidden: 4003,
  tooManyConnections: 4429,
  protocolError: 4400,
  /** RFC 6455: a frame above maxPayloadBytes */
  tooBig: 1009,
  restarting: 1012,
  goingAway: 1001,
} as const;

/** uWS's frame cap for our limit: twice it (at most 2^31-1), see the ws() options below. */
const uwsPayloadCap = (limit: number): number => Math.min(limit * 2, 2 ** 31 - 1);

/** Longest delay a Node timer takes (a one-year admin token is re-armed in steps). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Ends the socket with 4001 when its principal's credentials expire (issue 15 item 7; README,
 * the native protocol). Called at open and again after a fresh token (`op: auth`).
 */
export function armExpiry(connection: WsConnection): void {
  if (connection.expiryTimer !== null) clearTimeout(connection.expiryTimer);
  connection.expiryTimer = null;
  const expiresAt = connection.principal.expiresAt;
  if (expiresAt === null || connection.closed) return;
  const delay = expiresAt - Date.now();
  if (delay <= 0) {
    const hint = connection.kind === 'ws' ? 'authenticate again (send {"op":"auth","token":...} before expiry to keep the socket)' : 'connect again with a fresh token';
    connection.end(CLOSE.unauthenticated, `token expired: ${hint}`);
    return;
  }
  connection.expiryTimer = setTimeout(() => armExpiry(connection), Math.min(delay + 1, MAX_TIMER_MS));
  connection.expiryTimer.unref();
}

/** Everything the upgrade handler copied off the uWS request (it is freed when the handler returns). */
export interface UpgradeRequest {
  url: string;
  /** the query parameters (a repeated name keeps its last value) */
  query: Record<string, string>;
  /** the request headers the protocols read (`COPIED_HEADERS`), lower-case names, present ones only */
  headers: Record<string, string>;
  /** path parameters of the pattern, in order */
  parameters: string[];
  remoteAddress: string;
  /** subprotocols the client offered, in its order */
  offeredProtocols: readonly string[];
}

export interface EndpointSpec {
  pattern: string;
  kind: ConnectionKind;
  /** who is connecting; throw (CorralError `unauthenticated`/`forbidden`) to refuse */
  authenticate(request: UpgradeRequest): Promise<Principal>;
  /**
   * `http`: refuse with an HTTP 401/403 before the upgrade (Salt's contract); `close`: accept
   * the upgrade and close with 4001/4003 and the reason, which browsers can read
   */
  refuse: 'http' | 'close';
  /** the subprotocol to answer with ('' for none) and protocol state for the connection */
  accept(request: UpgradeRequest, principal: Principal): { subprotocol: string; state: unknown };
  open?(connection: WsConnection): void;
  message(connection: WsConnection, message: ArrayBuffer, isBinary: boolean): void;
  close?(connection: WsConnection): void;
}

export interface EndpointContext {
  gateway: Gateway;
  hub: FanoutHub;
  registry: ConnectionRegistry;
  limits: WsLimits;
  log: { warn(object: object, message: string): void; error(object: object, message: string): void };
}

interface Refused {
  refused: { code: number; reason: string };
}

/** uWS copies the user data's own properties into its own object: the connection rides in a field. */
type UserData = { connection: WsConnection } | Refused;

/**
 * Registers a websocket endpoint with authentication at the upgrade (the uWS async-upgrade
 * pattern: copy the request, `onAborted`, then upgrade inside `cork`), the connections view,
 * backpressure wake-ups and cleanup. Protocols only supply the message handling.
 */
export function registerEndpoint(context: EndpointContext, spec: EndpointSpec): void {
  const { gateway, hub, registry, limits } = context;
  const parameterCount = (spec.pattern.match(/\/:/g) ?? []).length;

  function upgrade(res: HttpResponse, req: HttpRequest, socketContext: SocketContext): void {
    // Copy only what the protocols read: a connection storm allocates this per socket.
    const headers: Record<string, string> = {};
    for (let i = 0; i < COPIED_HEADERS.length; i++) {
      const value = req.getHeader(COPIED_HEADERS[i]!);
      if (value !== '') headers[COPIED_HEADERS[i]!] = value;
    }
    const parameters: string[] = [];
    for (let i = 0; i < parameterCount; i++) parameters.push(decodeParameter(req.getParameter(i) ?? ''));
    const offered = headers['sec-websocket-protocol'];
    const request: UpgradeRequest = {
      url: req.getUrl(),
      query: parseQuery(req.getQuery() ?? ''),
      headers,
      parameters,
      remoteAddress: remoteAddressOf(res),
      offeredProtocols: offered === undefined ? NO_PROTOCOLS : offered.split(',').map((p) => p.trim()).filter(Boolean),
    };
    const secKey = req.getHeader('sec-websocket-key');
    const secExtensions = req.getHeader('sec-websocket-extensions');
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const upgradeWith = (data: UserData, subprotocol: string): void => {
      if (aborted) {
        if ('connection' in data) registry.release(data.connection.principal.subject);
        return;
      }
      res.cork(() => res.upgrade<UserData>(data, secKey, subprotocol, secExtensions, socketContext));
    };
    spec.authenticate(request).then(
      (principal) => {
        if (aborted) return;
        let accepted: { subprotocol: string; state: unknown };
        try {
          accepted = spec.accept(request, principal);
        } catch (error) {
          refuse(error);
          return;
        }
        const limit = limits.maxConnectionsPerPrincipal;
        if (!registry.admit(principal.subject, limit)) {
          refuse(new CorralError('too-many-requests', `too many websocket connections for ${principal.subject} (limit ${limit}); close some first`, { limit }));
          return;
        }
        const connection = new WsConnection(
          registry.nextKey(request.remoteAddress),
          spec.kind,
          principal,
          scopeOf(principal),
          request.remoteAddress,
          limits.lowWaterBytes,
        );
        connection.protocol = accepted.state;
        upgradeWith({ connection }, accepted.subprotocol);
      },
      refuse,
    );

    function refuse(error: unknown): void {
      if (aborted) return;
      const refusal = refusalOf(error);
      if (spec.refuse === 'http' || refusal.code === 'bad-request') {
        const retryAfter = isCorralError(error) ? error.details?.retryAfterSeconds : undefined;
        res.cork(() => {
          res.writeStatus(`${refusal.status} ${STATUS_CODES[refusal.status]}`).writeHeader('content-type', 'application/json');
          // a throttled password login says when to retry, as on HTTP routes
          if (typeof retryAfter === 'number') res.writeHeader('retry-after', String(retryAfter));
          res.end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }));
        });
        return;
      }
      // one of the offered subprotocols, or the client fails the handshake without reading the reason
      const offered = request.offeredProtocols.find((p) => !p.startsWith('corral.token.')) ?? request.offeredProtocols[0] ?? '';
      upgradeWith({ refused: { code: refusal.close, reason: refusal.message } }, offered);
    }
  }

  gateway.ws<UserData>(spec.pattern, {
    // uWS drops a frame above its cap with no close frame (1006 at the client): its cap is
    // twice ours, so a frame just too large is read and closed with 1009 below (README,
    // "websocket limits"); one above that is still dropped by uWS from its header.
    maxPayloadLength: uwsPayloadCap(limits.maxPayloadBytes),
    maxBackpressure: limits.uwsMaxBackpressure,
    closeOnBackpressureLimit: 0,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade,
    open(ws: WebSocket<UserData>) {
      const data = ws.getUserData();
      if ('refused' in data) {
        ws.end(data.refused.code, data.refused.reason.slice(0, 120));
        return;
      }
      const connection = data.connection;
      connection.ws = ws as unknown as WebSocket<WsConnection>;
      registry.add(connection);
      armExpiry(connection);
      try {
        spec.open?.(connection);
      } catch (error) {
        context.log.error({ err: error, kind: spec.kind }, 'websocket open handler failed');
        connection.end(1011, 'internal error');
      }
    },
    message(ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) {
      const data = ws.getUserData();
      if ('refused' in data || data.connection.closed) return;
      if (message.byteLength > limits.maxPayloadBytes) {
        data.connection.end(CLOSE.tooBig, `frame of ${message.byteLength} bytes is larger than the limit of ${limits.maxPayloadBytes} bytes`);
        return;
      }
      try {
        spec.message(data.connection, message, isBinary);
      } catch (error) {
        // a handler bug must not take the server down; the client gets a protocol error
        context.log.error({ err: error, kind: spec.kind }, 'websocket message handler failed');
        data.connection.end(CLOSE.protocolError, 'the server could not handle this frame');
      }
    },
    drain(ws: WebSocket<UserData>) {
      const data = ws.getUserData();
      if (!('refused' in data)) data.connection.drained();
    },
    close(ws: WebSocket<UserData>) {
      const data = ws.getUserData();
      if ('refused' in data) return;
      const connection = data.connection;
      connection.markClosed();
      for (const member of [...connection.members]) hub.leave(member);
      try {
        spec.close?.(connection);
      } finally {
        registry.remove(connection);
        registry.release(connection.principal.subject);
      }
    },
  });
}

/**
 * How a refused upgrade is answered: an HTTP status before the upgrade (Salt, bad input) or a
 * close code after it. Anything but our own client errors reads as an authentication failure.
 */
function refusalOf(error: unknown): { code: string; status: number; close: number; message: string } {
  const code = isCorralError(error) ? error.code : 'internal';
  if (code === 'too-many-requests' || code === 'bad-request' || code === 'forbidden') {
    const close = code === 'too-many-requests' ? CLOSE.tooManyConnections : code === 'forbidden' ? CLOSE.forbidden : CLOSE.protocolError;
    return { code, status: HTTP_STATUS_BY_CODE[code], close, message: (error as Error).message };
  }
  const message = isCorralError(error) && code !== 'internal' ? error.message : 'authentication failed';
  return { code: 'unauthenticated', status: 401, close: CLOSE.unauthenticated, message };
}

/** Request headers copied for the protocols (authentication and subprotocol negotiation). */
const COPIED_HEADERS = ['authorization', 'x-auth-token', 'sec-websocket-protocol'] as const;
const NO_PROTOCOLS: readonly string[] = Object.freeze([]);

/**
 * The query as `Object.fromEntries(new URLSearchParams(query))` gives it (the last value of a
 * repeated name), in a plain record (a `__proto__` parameter is dropped). Plain queries (tokens: no `%`, no `+`) are split
 * directly, without URLSearchParams' per-request objects.
 */
export function parseQuery(query: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (query === '') return result;
  if (query.indexOf('%') !== -1 || query.indexOf('+') !== -1) {
    for (const [name, value] of new URLSearchParams(query)) result[name] = value;
    return result;
  }
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals === -1) result[pair] = '';
    else result[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return result;
}

const addressDecoder = new TextDecoder();
/** Sockets from one address (a proxy, a load generator) share one string instead of one each. */
let lastRemoteAddress = '';

function remoteAddressOf(res: HttpResponse): string {
  const address = addressDecoder.decode(res.getRemoteAddressAsText());
  if (address === lastRemoteAddress) return lastRemoteAddress;
  lastRemoteAddress = address;
  return address;
}

function decodeParameter(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
