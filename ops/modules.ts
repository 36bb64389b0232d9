import type { NodeModule } from './node-module.js';

/**
 * The modules every `corral serve` node runs, in start order. Others plug in here with one
 * line each: projections (views, readiness until caught up, model API), the actor runtime,
 * the websocket protocols, the local minion. Returns fresh instances per node.
 */
export function defaultNodeModules(): NodeModule[] {
  return [];
}
