import { Unpackr } from 'msgpackr';
import { CorralError, isValidName } from '../../store/index.js';
import { MODEL_API, isFilterSyntaxError, type ProjectionEngine } from '../../projections/index.js';
import { errorToHttp } from '../http/index.js';
import type { Principal, Role } from '../auth/index.js';
import type { Member } from './fanout.js';
import type { WsConnection } from './connections.js';
import { armExpiry, CLOSE, registerEndpoint, type EndpointContext, type UpgradeRequest } from './endpoint.js';
import { NativeEventFormat, encodeMessage, type WireEncoding } from './frames.js';
import { scopeOf } from './scope.js';
import { snapshotItems } from './snapshot.js';
import { parseCorrelationId, withCorrelation } from '../../actors/index.js';

/**
 * The command table the `cmd` op dispatches to (the actor runtime, wired by the node).
 * Resolves with the positions of the appended events; rejects with CorralErrors
 * (`conflict` with expected/actual revisions, `not-found`, `bad-request`, ...).
 */
export type CommandTable = (
  name: string,
  tenant: string,
  args: Record<string, unknown>,
  principal: Principal,
  expectedRevision: number | undefined,
) => Promise<{ positions: number[] }>;

export const NATIVE_JSON = 'corral.v1.json';
export const NATIVE_MSGPACK = 'corral.v1.msgpack';
/** `Sec-WebSocket-Protocol: corral.v1.json, corral.token.<jwt>`: the browser-friendly way to send a token. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'corral.token.';

/** Consecutive undecodable frames before the socket is closed with 4400. */
const MAX_BAD_FRAMES = 20;
const MAX_ID_LENGTH = 128;

interface Pending {
  pending: true;
}

type Subscription = Member | Pending;

/**
 * A native socket's protocol state. Subscriptions by client id: nearly every socket has one,
 * so the first lives in two fields and a Map only exists from the second on (an idle socket
 * then holds no hash table of its own).
 */
class NativeState {
  badFrames = 0;
  private firstId: string | null = null;
  private first: Subscription | null = null;
  private rest: Map<string, Subscription> | null = null;

  constructor(readonly encoding: WireEncoding) {}

  get size(): number {
    return (this.firstId === null ? 0 : 1) + (this.rest?.size ?? 0);
  }

  has(id: string): boolean {
    return this.firstId === id || (this.rest?.has(id) ?? false);
  }

  get(id: string): Subscription | undefined {
    return this.firstId === id ? this.first! : this.rest?.get(id);
  }

  set(id: string, subscription: Subscription): void {
    if (this.firstId === id || (this.firstId === null && !this.rest?.has(id))) {
      this.firstId = id;
      this.first = subscription;
    } else {
      (this.rest ??= new Map()).set(id, subscription);
    }
  }

  delete(id: string): void {
    if (this.firstId === id) {
      this.firstId = null;
      this.first = null;
    } else {
      this.rest?.delete(id);
    }
  }
}

export interface NativeOptions {
  engine: ProjectionEngine;
  commands?: CommandTable;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
/** Like Buffer#toString('utf8') (bad bytes become U+FFFD, a BOM is kept), without a Buffer per frame. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Event formats are immutable, so subscriptions with the same id and options share one
 * (most clients use a handful of ids): a connection storm then builds no format, key or
 * JSON of the id per socket. Bounded; the oldest goes first.
 */
class FormatCache {
  private readonly formats = new Map<string, NativeEventFormat>();

  constructor(private readonly capacity: number) {}

  get(id: string, encoding: WireEncoding, model: number, batch: boolean, objects: boolean): NativeEventFormat {
    const key = `${encoding}${model}${batch ? 'b' : 's'}${objects ? 'o' : 'l'}${id}`;
    let format = this.formats.get(key);
    if (format === undefined) {
      format = new NativeEventFormat(id, encoding, model, batch, objects);
      if (this.formats.size >= this.capacity) this.formats.delete(this.formats.keys().next().value!);
      this.formats.set(key, format);
    }
    return format;
  }
}

/** Role a command needs (README "Authentication"): tenant and watcher configuration `admin`, the rest `operate`. */
export function roleForCommand(name: string): Role {
  if (name.startsWith('tenants.')) return 'admin';
  if (/^watchers\.(create|update|destroy|delete|configure|patch)$/.test(name)) return 'admin';
  return 'operate';
}

/** Native `/ws` (README "Subscribe from a shell"). */
export function registerNativeProtocol(context: EndpointContext, options: NativeOptions): { broadcast(message: object): void } {
  const { hub, limits } = context;
  const { engine } = options;
  const formats = new FormatCache(1024);

  const stateOf = (connection: WsConnection): NativeState => connection.protocol as NativeState;
  const reply = (connection: WsConnection, message: object): void => {
    const state = stateOf(connection);
    connection.send(encodeMessage(state.encoding, message), state.encoding === 'msgpack');
  };
  const fail = (connection: WsConnection, id: unknown, error: unknown): void => {
    const body = isFilterSyntaxError(error)
      ? { code: 'bad-request', message: error.message, position: error.position, expected: error.expected }
      : errorToHttp(error).body.error;
    if (errorToHttp(error).internal) context.log.error({ err: error }, 'native websocket request failed');
    reply(connection, { op: 'error', ...(typeof id === 'string' ? { id } : {}), ...body });
  };

  registerEndpoint(context, {
    pattern: '/ws',
    kind: 'ws',
    refuse: 'close',
    authenticate: (request) => authenticateNative(context, request),
    accept(request) {
      let chosen: string | undefined;
      if (request.offeredProtocols.length > 0) {
        const offered = request.offeredProtocols.filter((p) => !p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
        chosen = offered.find((p) => p === NATIVE_MSGPACK || p === NATIVE_JSON);
        if (offered.length > 0 && !chosen) {
          throw new CorralError('bad-request', `unsupported subprotocol ${offered.join(', ')}: use ${NATIVE_JSON} or ${NATIVE_MSGPACK}`);
        }
      }
      const state = new NativeState(chosen === NATIVE_MSGPACK ? 'msgpack' : 'json');
      // Offered only the token (README "Sending a token"): a client that offered subprotocols
      // refuses an answer without one (RFC 6455 4.1), so that one is echoed, with JSON frames.
      return { subprotocol: chosen ?? request.offeredProtocols[0] ?? '', state };
    },
    message(connection, data, isBinary) {
      const state = stateOf(connection);
      let message: unknown;
      try {
        message = decodeFrame(state.encoding, data, isBinary);
      } catch (error) {
        if (++state.badFrames >= MAX_BAD_FRAMES) {
          connection.end(CLOSE.protocolError, `${MAX_BAD_FRAMES} undecodable frames in a row`);
          return;
        }
        fail(connection, undefined, error);
        return;
      }
      state.badFrames = 0;
      if (message === null || typeof message !== 'object' || Array.isArray(message)) {
        fail(connection, undefined, new CorralError('bad-request', 'a frame must be one object with an "op" field'));
        return;
      }
      const frame = message as Record<string, unknown>;
      try {
        switch (frame.op) {
          case 'sub':
            subscribe(connection, frame);
            return;
          case 'unsub':
            unsubscribe(connection, frame);
            return;
          case 'ping':
            reply(connection, { op: 'pong', ...(typeof frame.id === 'string' ? { id: frame.id } : {}), position: engine.position });
            return;
          case 'cmd':
            command(connection, frame);
            return;
          case 'auth':
            renew(connection, frame);
            return;
          default:
            throw new CorralError(
              'bad-request',
              frame.op === undefined ? 'missing field "op"' : `unknown op ${JSON.stringify(String(frame.op)).slice(0, 60)}: expected sub, unsub, ping, cmd or auth`,
              { field: 'op' },
            );
        }
      } catch (error) {
        fail(connection, frame.id, error);
      }
    },
  });

  function subscribe(connection: WsConnection, frame: Record<string, unknown>): void {
    const state = stateOf(connection);
    const id = requireId(frame.id);
    if (state.has(id)) throw new CorralError('bad-request', `subscription id ${JSON.stringify(id)} is already in use on this socket`, { field: 'id' });
    if (state.size >= limits.maxSubscriptionsPerSocket) {
      throw new CorralError('bad-request', `too many subscriptions on this socket (limit ${limits.maxSubscriptionsPerSocket}); unsub some first`, {
        field: 'id',
        limit: limits.maxSubscriptionsPerSocket,
      });
    }
    const select = frame.select;
    if (typeof select !== 'string' || select === '') throw new CorralError('bad-request', 'missing field "select": a specifier type.action.key', { field: 'select' });
    if (frame.filter !== undefined && typeof frame.filter !== 'string') throw new CorralError('bad-request', 'field "filter" must be a string', { field: 'filter' });
    const model = frame.model === undefined ? engine.ownModel : frame.model;
    if (typeof model !== 'number' || !Number.isInteger(model) || model < MODEL_API.min || model > engine.ownModel) {
      throw new CorralError('bad-request', `field "model" must be an integer from ${MODEL_API.min} to ${engine.ownModel}`, { field: 'model' });
    }
    checkFlag(frame, 'batch');
    checkFlag(frame, 'snapshot');
    checkFlag(frame, 'objects');
    const specifier = frame.filter ? `${select}.${frame.filter}` : select;
    if (frame.filter && select.split('.').length > 3) {
      throw new CorralError('bad-request', 'give the filter either inside "select" (type.action.key.filter) or in "filter", not both', { field: 'filter' });
    }
    const from = parseFrom(frame.from);
    const format = formats.get(id, state.encoding, model, frame.batch === true, frame.objects === true);
    let group;
    try {
      group = hub.group('native', [specifier], format, connection.scope);
    } catch (error) {
      if (isFilterSyntaxError(error) && frame.filter && error.position > select.length) {
        throw Object.assign(error, { position: error.position - select.length - 1, field: 'filter' });
      }
      throw error;
    }
    // Nothing to wait for (no snapshot, a start this node has folded): the subscription starts
    // in this turn, without a reservation, promise or closure per socket.
    const ready = frame.snapshot === true ? null : foldedFrom(engine, from);
    if (ready !== null) {
      reply(connection, { op: 'subscribed', id, position: ready });
      state.set(id, hub.join(connection, group, ready));
      return;
    }
    // Reserve the id now: an `unsub` arriving while the start position resolves cancels it.
    const reservation: Pending = { pending: true };
    state.set(id, reservation);
    hub.retain(group);
    void (async () => {
      let position: number;
      let items: object[] | null = null;
      try {
        position = await resolveFrom(engine, from);
        if (frame.snapshot === true) items = await snapshotItems(engine, specifier, connection.scope, position, model);
      } catch (error) {
        hub.release(group);
        if (state.get(id) !== reservation) return;
        state.delete(id);
        fail(connection, id, error);
        return;
      }
      if (connection.closed || state.get(id) !== reservation) {
        hub.release(group);
        return;
      }
      reply(connection, { op: 'subscribed', id, position });
      if (items) reply(connection, { op: 'snapshot', id, position, items });
      state.set(id, hub.join(connection, group, position));
      hub.release(group);
    })();
  }

  function unsubscribe(connection: WsConnection, frame: Record<string, unknown>): void {
    const state = stateOf(connection);
    const id = requireId(frame.id);
    if (!state.has(id)) throw new CorralError('not-found', `no subscription ${JSON.stringify(id)} on this socket`, { field: 'id' });
    const member = state.get(id);
    state.delete(id);
    if (member && !('pending' in member)) hub.leave(member);
    reply(connection, { op: 'unsubscribed', id });
  }

  /**
   * A fresh token on the open socket: same subject and tenant roles (the socket's scope and
   * subscriptions were decided with them), later expiry. Answered by `authenticated`.
   */
  function renew(connection: WsConnection, frame: Record<string, unknown>): void {
    const id = typeof frame.id === 'string' ? frame.id : undefined;
    if (typeof frame.token !== 'string' || frame.token === '') throw new CorralError('bad-request', 'field "token" must be a token', { field: 'token' });
    context.gateway.authenticator.authenticateToken(frame.token, connection.remoteAddress).then(
      (principal) => {
        if (connection.closed) return;
        const current = connection.principal;
        if (principal.subject !== current.subject || !sameRoles(principal.tenants, current.tenants)) {
          throw new CorralError(
            'forbidden',
            `a fresh token must be for the same subject and tenant roles as the socket (${current.subject}: ${JSON.stringify(current.tenants)}); open a new socket for other rights`,
          );
        }
        connection.principal = principal;
        armExpiry(connection);
        reply(connection, { op: 'authenticated', ...(id === undefined ? {} : { id }), expiresAt: principal.expiresAt });
      },
    ).catch((error: unknown) => fail(connection, id, error));
  }

  function command(connection: WsConnection, frame: Record<string, unknown>): void {
    const id = requireId(frame.id);
    const expiresAt = connection.principal.expiresAt;
    // the expiry timer may not have fired yet in this turn
    if (expiresAt !== null && expiresAt <= Date.now()) throw new CorralError('unauthenticated', 'token expired');
    const { name, tenant, args = {}, expectedRevision } = frame;
    if (typeof name !== 'string' || !/^[a-z_]+\.[a-z_]+$/.test(name)) {
      throw new CorralError('bad-request', 'field "name" must be a command name like "watchers.start"', { field: 'name' });
    }
    if (typeof tenant !== 'string' || !isValidName(tenant)) throw new CorralError('bad-request', 'field "tenant" must be a tenant name', { field: 'tenant' });
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new CorralError('bad-request', 'field "args" must be an object', { field: 'args' });
    if (expectedRevision !== undefined && (typeof expectedRevision !== 'number' || !Number.isInteger(expectedRevision) || expectedRevision < -1)) {
      throw new CorralError('bad-request', 'field "expectedRevision" must be an integer >= -1', { field: 'expectedRevision' });
    }
    connection.principal.require(tenant, roleForCommand(name));
    if (!options.commands) throw new CorralError('unavailable', 'commands are not available on this node');
    const commands = options.commands;
    const send = () => commands(name, tenant, args as Record<string, unknown>, connection.principal, expectedRevision as number | undefined);
    // a client's id for the events this command records (README, "Correlation ids")
    const sent = frame.correlationId === undefined ? send() : withCorrelation(parseCorrelationId(frame.correlationId, 'correlationId'), send);
    sent.then(
      (result) => reply(connection, { op: 'ack', id, positions: result.positions }),
      (error: unknown) => fail(connection, id, error),
    );
  }

  return {
    broadcast(message: object): void {
      // the registry already lists every socket: no second per-socket set for native ones
      for (const connection of context.registry.values()) if (connection.kind === 'ws') reply(connection, message);
    },
  };
}

function sameRoles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((tenant) => a[tenant] === b[tenant]);
}

function authenticateNative(context: EndpointContext, request: UpgradeRequest): Promise<Principal> {
  const authenticator = context.gateway.authenticator;
  const fromProtocol = request.offeredProtocols.length === 0 ? undefined : request.offeredProtocols.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  if (fromProtocol && !request.headers.authorization && !request.query.token) {
    return authenticator.authenticateToken(fromProtocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length), request.remoteAddress);
  }
  return authenticator.authenticateRequest(request, false).then(requireTenant);
}

/** A principal without any tenant could see nothing: refused. Reads the (cached) scope, not the claims. */
function requireTenant(principal: Principal): Principal {
  const scope = scopeOf(principal);
  if (!scope.all && scope.tenants.size === 0) throw new CorralError('forbidden', `${principal.subject} has no tenant`);
  return principal;
}

function decodeFrame(encoding: WireEncoding, data: ArrayBuffer, isBinary: boolean): unknown {
  if (encoding === 'msgpack') {
    if (!isBinary) throw new CorralError('bad-request', `text frame on ${NATIVE_MSGPACK}: send binary msgpack frames`);
    try {
      return unpackr.unpack(new Uint8Array(data.slice(0)));
    } catch (error) {
      throw new CorralError('bad-request', `frame is not valid msgpack: ${(error as Error).message}`.slice(0, 200));
    }
  }
  const text = utf8.decode(data);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CorralError('bad-request', `frame is not valid JSON: ${(error as Error).message}`.slice(0, 200));
  }
}

function checkFlag(frame: Record<string, unknown>, flag: 'batch' | 'snapshot' | 'objects'): void {
  if (frame[flag] !== undefined && typeof frame[flag] !== 'boolean') throw new CorralError('bad-request', `field "${flag}" must be true or false`, { field: flag });
}

function requireId(id: unknown): string {
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
    throw new CorralError('bad-request', `field "id" must be a non-empty string of at most ${MAX_ID_LENGTH} characters`, { field: 'id' });
  }
  return id;
}

type From = 'now' | 'start' | number | { time: string };

function parseFrom(from: unknown): From {
  if (from === undefined || from === 'now') return 'now';
  if (from === 'start') return 'start';
  if (typeof from === 'number' && Number.isInteger(from) && from >= 0) return from;
  if (from !== null && typeof from === 'object' && typeof (from as { time?: unknown }).time === 'string') return { time: (from as { time: string }).time };
  throw new CorralError('bad-request', 'field "from" must be "now", "start", a position (integer >= 0) or {"time": ISO 8601}', { field: 'from' });
}

/** The start position when it needs no waiting (`now`, `start`, a position already folded); else null. */
function foldedFrom(engine: ProjectionEngine, from: From): number | null {
  if (from === 'now') return engine.position;
  if (from === 'start') return 0;
  return typeof from === 'number' && from <= engine.position ? from : null;
}

/** The position a subscription starts after; waits for the engine when a client is ahead of this node. */
async function resolveFrom(engine: ProjectionEngine, from: From): Promise<number> {
  if (from === 'now') return engine.position;
  if (from === 'start') return 0;
  if (typeof from === 'number') {
    if (from <= engine.position) return from;
    const head = await engine.store.headPosition();
    if (from > head) throw new CorralError('bad-request', `from ${from} is beyond the head of the log (${head})`, { field: 'from', head });
    if (!(await engine.reached(from, 10_000))) throw new CorralError('unavailable', `this node's projections have not reached position ${from} yet; retry`);
    return from;
  }
  return engine.positionAtTime(from.time);
}
