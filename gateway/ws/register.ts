import type { ConnectionView, ProjectionEngine } from '../../projections/index.js';
import type { Gateway } from '../server.js';
import { ConnectionRegistry, type WsConnection } from './connections.js';
import { registerDrpProtocol } from './drp.js';
import { CLOSE, type EndpointContext } from './endpoint.js';
import { FanoutHub } from './fanout.js';
import { resolveLimits, type WsLimits } from './limits.js';
import { createWsMetrics } from './metrics.js';
import { registerNativeProtocol, type CommandTable } from './native.js';
import { registerSaltProtocols } from './salt.js';
import { objectVisible, scopeOf } from './scope.js';

/** Anything with `subscribe(next)`: an RxJS Observable of the system model API works. */
export interface ModelApiSource {
  subscribe(next: (system: number) => void): { unsubscribe(): void };
}

export interface WebsocketProtocolsOptions {
  engine: ProjectionEngine;
  /** the `cmd` op's command table (the actor runtime); without it `cmd` answers `unavailable` */
  commands?: CommandTable;
  /** the system model API; each new value is sent to native clients as `{"op":"modelApi","system":N}` */
  modelApi$?: ModelApiSource;
  limits?: Partial<WsLimits>;
}

export interface WebsocketProtocols {
  /** closes every protocol socket with `code` after what is already queued (1012: reconnect and resume elsewhere) */
  stop(code?: 1001 | 1012): void;
  /** open connections as the connections view shows them */
  connections(): ConnectionView[];
  readonly hub: FanoutHub;
  readonly registry: ConnectionRegistry;
  readonly limits: WsLimits;
}

/**
 * Registers the native (`/ws`), Digital Rebar (`/api/v3/ws`) and Salt (`/all_events/{token}`,
 * `/formatted_events/{token}`) websocket protocols and `GET /api/v1/connections` on a gateway.
 * Call it after the projection engine has started and before the gateway listens.
 */
export function registerWebsocketProtocols(gateway: Gateway, options: WebsocketProtocolsOptions): WebsocketProtocols {
  const { engine } = options;
  const limits = resolveLimits(options.limits);
  const metrics = createWsMetrics(gateway.metrics);
  const log = gateway.log.child({ module: 'ws' });
  const hub = new FanoutHub({
    engine,
    app: gateway.app,
    limits,
    metrics,
    onError: (error, where) => log.error({ err: error, where }, 'websocket fan-out failed'),
  });
  const registry = new ConnectionRegistry(engine, metrics);
  const context: EndpointContext = { gateway, hub, registry, limits, log };

  const native = registerNativeProtocol(context, { engine, commands: options.commands });
  registerDrpProtocol(context);
  registerSaltProtocols(context, engine);
  hub.start();
  const modelApi = options.modelApi$?.subscribe((system) => native.broadcast({ op: 'modelApi', system }));

  gateway.router.get('/api/v1/connections', async (ctx) => {
    const scope = scopeOf(ctx.principal);
    const mine = registry.visibleTo(scope);
    const keys = new Set(mine.map((connection) => connection.key));
    // connections other modules publish (the minion hub) are in the engine's view
    const others = ((await engine.view('connections', { tenants: scope.all ? ['*'] : [...scope.tenants] })) as ConnectionView[]).filter(
      (connection) => !keys.has(connection.key) && objectVisible(scope, 'connections', connection as unknown as Record<string, unknown>),
    );
    return [...mine, ...others];
  });

  for (const capability of ['ws.native', 'ws.native.msgpack', 'ws.drp', 'ws.salt', 'websocket-changed-filter']) gateway.capabilities.add(capability);

  return {
    hub,
    registry,
    limits,
    stop(code = CLOSE.goingAway) {
      modelApi?.unsubscribe();
      const reason = code === CLOSE.restarting ? 'server restarting: reconnect and resume from your last position' : 'server going away';
      for (const connection of registry.all()) (connection as WsConnection).end(code, reason);
      hub.stop();
    },
    connections: () => registry.all().map((connection) => connection.view(engine.position)),
  };
}
