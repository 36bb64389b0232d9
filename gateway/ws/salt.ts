import { CorralError } from '../../store/index.js';
import type { ProjectionEngine } from '../../projections/index.js';
import type { Member } from './fanout.js';
import { registerEndpoint, type EndpointContext } from './endpoint.js';
import { SaltAllEventsFormat, SaltFormattedFormat, saltMinion, type FrameFormat } from './frames.js';

const READY = 'websocket client ready';

interface SaltState {
  member: Member | null;
}

/**
 * Salt compatible `/all_events/{token}` and `/formatted_events/{token}` (README "Subscribe from a shell",
 * seeds/004): a bad token is refused with HTTP 401 before the upgrade; nothing is sent until
 * the client says `websocket client ready`. `/all_events` then streams every visible event;
 * `/formatted_events` first sends the visible minions (`{"minions":{...}}`), then each
 * changed minion and job as Salt's formatted messages.
 */
export function registerSaltProtocols(context: EndpointContext, engine: ProjectionEngine): void {
  const endpoints: { path: string; specifier: string; format: FrameFormat; initialMinions: boolean }[] = [
    { path: '/all_events/:token', specifier: '*.*.*', format: new SaltAllEventsFormat(), initialMinions: false },
    { path: '/formatted_events/:token', specifier: 'jobs,minions.*.*', format: new SaltFormattedFormat(), initialMinions: true },
  ];
  for (const endpoint of endpoints) {
    registerEndpoint(context, {
      pattern: endpoint.path,
      kind: 'salt',
      refuse: 'http',
      authenticate: async (request) => {
        const token = request.parameters[0] ?? '';
        if (!token) throw new CorralError('unauthenticated', 'the token belongs in the path: /all_events/{token}');
        return context.gateway.authenticator.authenticateToken(token, request.remoteAddress);
      },
      accept: () => ({ subprotocol: '', state: { member: null } satisfies SaltState }),
      message(connection, data, isBinary) {
        const state = connection.protocol as SaltState;
        if (state.member || isBinary || Buffer.from(data).toString('utf8').trim() !== READY) return; // Salt ignores anything else
        const position = context.hub.position;
        const group = context.hub.group('native', [endpoint.specifier], endpoint.format, connection.scope);
        if (endpoint.initialMinions) {
          // The views at `position`, then every change after it: nothing missed, nothing twice.
          const minions: Record<string, unknown> = {};
          for (const minion of engine.views.minions.values()) {
            if (!connection.scope.all && !connection.scope.tenants.has(minion.tenant)) continue;
            const formatted = saltMinion(minion as unknown as Record<string, unknown>);
            minions[formatted.id as string] = formatted;
          }
          connection.send(JSON.stringify({ minions }), false);
        }
        state.member = context.hub.join(connection, group, position);
      },
    });
  }
}
