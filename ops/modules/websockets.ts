import { registerWebsocketProtocols } from '../../gateway/index.js';
import type { NodeModule } from '../node-module.js';
import { requireService, type NodeServices } from './shared.js';

/**
 * The websocket protocols of a node (docs/architecture.md "Websocket protocols"): native `/ws`, Digital Rebar's
 * `/api/v3/ws`, Salt's `/all_events` and `/formatted_events`, and `GET /api/v1/connections`,
 * all streaming the projection engine's changes, plus every live CPU/RSS sample. The `cmd` op dispatches to the actors
 * module's command table, so this module starts after projections and actors.
 *
 * On a graceful stop the sockets close with the stop's code after what is already queued:
 * 1012 on a rolling restart (clients resume from their position on the next node), 1001 otherwise.
 */
export function websocketsModule(services: NodeServices): NodeModule {
  return {
    name: 'websockets',
    start(context) {
      const engine = requireService(services, 'engine', 'websockets');
      const protocols = registerWebsocketProtocols(context.gateway, {
        engine,
        ...(services.commands ? { commands: services.commands } : {}),
        ...(services.modelApi$ ? { modelApi$: services.modelApi$ } : {}),
      });
      // CPU/RSS samples arrive every second but are stored at most once a minute per process:
      // publish every sample live (unstored) so consoles and subscribers see them move.
      const samples = services.actors?.stats$.subscribe((sample) =>
        engine.publishEphemeral({
          type: 'processes',
          action: 'stats',
          key: sample.processKey,
          tenant: sample.tenant,
          time: sample.time,
          data: { pid: sample.pid, cpu: sample.cpu, rss: sample.rss },
        }),
      );
      return {
        stop: (info) => {
          samples?.unsubscribe();
          protocols.stop(info.closeCode);
        },
      };
    },
  };
}
