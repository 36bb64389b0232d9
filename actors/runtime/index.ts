// The actor runtime: decide -> append -> act, per-actor mailboxes, recorded timers, the minion sink, the leader lease.
export { ActorRuntime, createActorRuntime } from './runtime.js';
export type { ActorRuntimeOptions, ActorRuntimeStatus } from './runtime.js';
export type { ProcessStatsSample } from './supervisor.js';
// `Clock`/`systemClock` of the job actor have the same shape and are exported from actors/index.ts
export { ManualClock } from './clock.js';
export type { Clock as ActorClock } from './clock.js';
export type { CommandContext } from './engine.js';
export { ACTORS_MODEL_API } from './engine.js';
export { StoreLeaderLease, createLeaderLease } from './lease.js';
export type { LeaderLeaseKeeper, StoreLeaderLeaseOptions } from './lease.js';
export { withCorrelation, currentCorrelation, parseCorrelationId } from './correlation.js';
