import type { NodeModule } from './node-module.js';
import { projectionsModule } from './modules/projections.js';
import { actorsModule } from './modules/actors.js';
import { websocketsModule } from './modules/websockets.js';
import { consoleModule } from './modules/console.js';
import { createNodeServices, type NodeServices } from './modules/shared.js';

/**
 * The modules every `corral serve` node runs, in start order. Others plug in here with one
 * line each: projections (views, readiness until caught up, model API), the actor runtime,
 * the websocket protocols, the local minion. Returns fresh instances per node.
 *
 * `services` is shared by this node's modules: a module factory takes it, and a module
 * that needs what another provides (the projection engine, the write model API) starts
 * after it. See ops/modules/shared.ts. Tests pass their own `services` to look inside.
 */
export function defaultNodeModules(services: NodeServices = createNodeServices()): NodeModule[] {
  return [
    projectionsModule(services),
    actorsModule(services),
    websocketsModule(services),
    consoleModule(),
  ];
}
