import { CorralError } from '../../store/index.js';
import { internSpecifier, isFilterSyntaxError } from '../../projections/index.js';
import type { Member } from './fanout.js';
import type { WsConnection } from './connections.js';
import { registerEndpoint, type EndpointContext } from './endpoint.js';
import { DrpEventFormat } from './frames.js';

interface DrpState {
  /** registered specifiers by canonical key: the text as first registered, and how many registers */
  registers: Map<string, { text: string; count: number }>;
  member: Member | null;
}

const FORMAT = new DrpEventFormat();

/**
 * Digital Rebar compatible `/api/v3/ws?token=...` (README "Subscribe from a shell", seeds/002). Text frames
 * `register type.action.key[.filter]` and `deregister ...`; several registers may overlap,
 * and an event matched by several is still sent once. A deregister must match an earlier
 * register (compared in canonical form, so `jobs,tenants.*.*` matches `tenants,jobs.*.*`).
 *
 * All registers of a socket form one delivery group keyed by the set of specifiers, so
 * sockets with the same registers share frames; a register moves the socket to the new
 * group between two live batches (no gap, no duplicate). Errors are sent as Digital Rebar
 * error objects: `{"Model":"websocket","Type":"register","Key":<text>,"Messages":[...],"Code":400}`.
 */
export function registerDrpProtocol(context: EndpointContext): void {
  const { hub, limits } = context;

  registerEndpoint(context, {
    pattern: '/api/v3/ws',
    kind: 'drp',
    refuse: 'http',
    authenticate: (request) =>
      context.gateway.authenticator.authenticateRequest(request, false),
    accept: () => ({ subprotocol: '', state: { registers: new Map(), member: null } satisfies DrpState }),
    message(connection, data, isBinary) {
      const text = Buffer.from(data).toString('utf8').trim();
      const match = /^(register|deregister)\s+(\S+)$/.exec(text);
      if (isBinary || !match) {
        sendError(connection, 'command', text.slice(0, 200), 'expected a text frame "register type.action.key[.filter]" or "deregister ..."');
        return;
      }
      const [, verb, specifier] = match as unknown as [string, 'register' | 'deregister', string];
      try {
        if (verb === 'register') register(connection, specifier);
        else deregister(connection, specifier);
      } catch (error) {
        const position = isFilterSyntaxError(error) ? error.position : undefined;
        sendError(connection, verb, specifier, (error as Error).message, position);
      }
    },
  });

  function register(connection: WsConnection, specifier: string): void {
    const state = connection.protocol as DrpState;
    const key = internSpecifier(specifier).key;
    const existing = state.registers.get(key);
    if (existing) {
      existing.count++;
      return;
    }
    if (state.registers.size >= limits.maxSubscriptionsPerSocket) {
      throw new CorralError('bad-request', `too many registers on this socket (limit ${limits.maxSubscriptionsPerSocket}); deregister some first`);
    }
    state.registers.set(key, { text: specifier, count: 1 });
    applyRegisters(connection, state);
  }

  function deregister(connection: WsConnection, specifier: string): void {
    const state = connection.protocol as DrpState;
    const key = internSpecifier(specifier).key;
    const existing = state.registers.get(key);
    if (!existing) throw new CorralError('not-found', `deregister ${specifier} does not correspond to a previous register`);
    if (--existing.count > 0) return;
    state.registers.delete(key);
    applyRegisters(connection, state);
  }

  function applyRegisters(connection: WsConnection, state: DrpState): void {
    if (state.registers.size === 0) {
      if (state.member) hub.leave(state.member);
      state.member = null;
      return;
    }
    const group = hub.group('drp', [...state.registers.values()].map((entry) => entry.text), FORMAT, connection.scope);
    if (state.member) hub.regroup(state.member, group);
    else state.member = hub.join(connection, group, hub.position);
  }
}

function sendError(connection: WsConnection, type: string, key: string, message: string, position?: number): void {
  const error: Record<string, unknown> = { Model: 'websocket', Type: type, Key: key, Messages: [message], Code: 400 };
  if (position !== undefined) error.Position = position;
  connection.send(JSON.stringify(error), false);
}
